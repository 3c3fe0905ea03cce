"""The pieces that keep a peer from flooding the logs or locking others out, in memory
(issue "Hardening: ... no peer can flood or lock out"); the attacks themselves run against
real services in tests/e2e/test_log_flood.py, test_body_budget.py and
test_peer_connection_cap.py."""

from __future__ import annotations

import logging
import sys

import pytest

from privcloud import limits
from privcloud.cli.runtime import BoundedFormatter, RepeatLimiter
from privcloud.errors import (
    InternalError,
    NotFoundError,
    PeerError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
)
from privcloud.services.http import BodyBudget, Metrics, Reservation, error_for_status, peer_key
from privcloud.services.site import ConnectionGuard, WithholdPeerData


def _record(msg: str, *args: object, name: str = "privcloud.http") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_record_is_written_n_times_per_window_then_summarised_once() -> None:
    clock, written = _Clock(), []
    limiter = RepeatLimiter(written.append, max_repeats=3, window_s=10, clock=clock)
    passed = [limiter.filter(_record("%s malformed: %s", "relay", i)) for i in range(1000)]
    assert passed.count(True) == 3  # the arguments differ: still one kind
    assert written == []
    clock.now = 10.0
    assert limiter.filter(_record("%s malformed: %s", "relay", "again"))
    [summary] = written
    assert summary.getMessage().startswith("suppressed 997 records of privcloud.http like")
    assert limiter.filter(summary)  # its own line is never held back


def test_other_kinds_pass_while_one_is_limited_and_flush_reports_the_rest() -> None:
    clock, written = _Clock(), []
    limiter = RepeatLimiter(written.append, max_repeats=1, window_s=10, clock=clock)
    for _ in range(5):
        limiter.filter(_record("noisy %s", 1))
    assert limiter.filter(_record("quiet"))
    assert limiter.filter(_record("noisy %s", 1, name="privcloud.node"))  # another logger
    limiter.flush()
    assert [r.getMessage()[:13] for r in written] == ["suppressed 4 "]


def test_the_repeat_table_is_bounded() -> None:
    clock, written = _Clock(), []
    limiter = RepeatLimiter(written.append, max_repeats=1, window_s=10, max_keys=8, clock=clock)
    for i in range(100):
        clock.now = i * 0.01
        limiter.filter(_record(f"kind {i}"))  # an f-string: every record its own kind
        limiter.filter(_record(f"kind {i}"))
    assert len(limiter._kinds) <= 8
    assert all("suppressed 1 " in r.getMessage() for r in written)


def test_records_of_aiohttp_and_asyncio_are_reduced_to_their_type() -> None:
    try:
        raise ValueError("b'GET /CANARY' from 198.51.100.7")
    except ValueError:
        exc_info = sys.exc_info()
    for name in ("aiohttp.server", "aiohttp.access", "asyncio", "aiohttp.future_logger"):
        record = logging.LogRecord(
            name, logging.ERROR, __file__, 1, "from %s: %s", ("198.51.100.7", "CANARY"), exc_info
        )
        assert WithholdPeerData().filter(record)
        text = logging.Formatter().format(record)
        assert "CANARY" not in text and "198.51.100.7" not in text
        assert name in text and "ValueError" in text
    ours = _record("relay %s", "ohttp")
    assert WithholdPeerData().filter(ours) and ours.getMessage() == "relay ohttp"


def test_a_record_is_cut_at_its_bound() -> None:
    text = BoundedFormatter("%(message)s").format(_record("x" * 10 * limits.MAX_LOG_RECORD_CHARS))
    assert len(text) <= limits.MAX_LOG_RECORD_CHARS + 8 and text.endswith("[cut]")


def test_the_body_budget_refuses_past_its_capacity_and_takes_nothing() -> None:
    budget = BodyBudget(100)
    assert budget.reserve(60) and not budget.reserve(41) and budget.in_use == 60
    assert budget.reserve(40) and not budget.reserve(1)
    budget.release(100)
    assert budget.in_use == 0 and not budget.reserve(-1)


def test_one_address_filling_its_share_of_the_budget_is_refused_429_and_others_still_fit() -> None:
    budget = BodyBudget(100, per_peer=40)
    attacker = Reservation(budget, "192.0.2.1")
    attacker.grow(30)
    with pytest.raises(RateLimitedError):
        attacker.grow(11)  # past its share: 429, nothing more taken
    assert attacker.held == 30 and budget.held_by("192.0.2.1") == 30
    device = Reservation(budget, "192.0.2.2")
    device.grow(40)
    another = Reservation(budget, "192.0.2.3")
    with pytest.raises(UnavailableError):
        another.grow(31)  # within its share, past the total: 503
    attacker.release()
    attacker.release()  # once only
    another.grow(31)
    assert budget.in_use == 71 and budget.held_by("192.0.2.1") == 0
    device.release()
    another.release()
    assert budget.in_use == 0 and budget.held_by("192.0.2.3") == 0
    # Without a peer (the lane: services.lane) or a per-peer share, only the total counts.
    assert BodyBudget(100).reserve(100, "192.0.2.1") and budget.reserve(100)


def test_the_inflight_budget_holds_at_least_one_body_of_every_size() -> None:
    assert limits.MAX_INFLIGHT_BODY_BYTES >= limits.MAX_HTTP_BODY >= limits.MAX_OHTTP_REQUEST
    assert limits.MAX_RELAY_CONNECTIONS_PER_PEER < limits.MAX_SERVER_CONNECTIONS
    # One address can always send the largest body and read the largest log page; it never
    # holds a whole budget.
    assert limits.MAX_HTTP_BODY <= limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER
    assert limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER < limits.MAX_INFLIGHT_BODY_BYTES
    assert limits.MAX_RELAYED_LOG_RESPONSE <= limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER
    assert limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER < limits.MAX_INFLIGHT_ANSWER_BYTES


@pytest.mark.parametrize(
    ("peername", "key"),
    [
        (("192.0.2.7", 5000), "192.0.2.7"),
        (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:bbbb::9%eth0", 1, 0, 3), "2001:db8:1:2::/64"),  # one subscriber's /64
        (("::ffff:192.0.2.7", 5000, 0, 0), "192.0.2.7"),
        (None, None),
        ("/run/relay.sock", None),
        (("not an address", 1), None),
    ],
)
def test_a_peer_is_counted_by_its_address_or_its_ipv6_64(peername: object, key: str) -> None:
    assert peer_key(peername) == key


def test_one_peer_at_its_cap_does_not_stop_another_and_the_total_still_holds() -> None:
    guard = ConnectionGuard("relay", total=5, per_peer=2)
    a = [object() for _ in range(3)]
    assert guard.admit(a[0], ("192.0.2.1", 1)) and guard.admit(a[1], ("192.0.2.1", 2))
    assert not guard.admit(a[2], ("192.0.2.1", 3))
    guard.release(a[2])  # never admitted: nothing to give back
    others = [object() for _ in range(4)]
    assert all(guard.admit(c, (f"192.0.2.{i + 2}", 1)) for i, c in enumerate(others[:3]))
    assert not guard.admit(others[3], ("192.0.2.9", 1))  # 5 open: the global cap
    guard.release(a[0])
    assert guard.admit(a[2], ("192.0.2.1", 3)) and guard.peers() == 4
    for conn in (a[1], a[2], *others[:3]):
        guard.release(conn)
    assert guard.count == 0 and guard.peers() == 0


def test_answers_inside_ohttp_are_counted_by_their_inner_status() -> None:
    metrics = Metrics("gateway")
    metrics.observe("ohttp", 200, 10, 10)
    metrics.count_inner(404)
    metrics.count_inner(404)
    metrics.count_inner(999)
    text = metrics.render()
    assert "privcloud_requests{route=ohttp,status=200} 1" in text
    assert "privcloud_inner_requests{route=ohttp,status=404} 2" in text
    assert "privcloud_inner_requests{route=ohttp,status=other} 1" in text


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, PeerError), (404, NotFoundError), (405, PeerError), (413, TooLargeError)],
)
def test_aiohttp_statuses_become_our_errors(status: int, cls: type[Exception]) -> None:
    assert type(error_for_status(status)) is cls
    assert isinstance(error_for_status(500), InternalError)
