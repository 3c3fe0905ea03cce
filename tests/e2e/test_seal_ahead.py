"""Sealing ahead (privcloud.sdk.ahead): after each request the client draws the next one's
nodes and does its public-key work while idle. Each test is named after what it guards: a
request sealed ahead goes only where a request sealed now could go, and only once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cloudkit import Cloud, start_cloud
from privcloud import errors
from privcloud.sdk import Client
from privcloud.sdk.ahead import ahead_key
from privcloud.trust.admission import ClientPolicy

POLICY = ClientPolicy.insecure_local_dev()
ECHO = ahead_key("echo", None, False)


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


async def _idle() -> None:
    """Let the client's sealing ahead (scheduled as its answer came) run."""
    for _ in range(4):
        await asyncio.sleep(0)


async def test_next_request_goes_to_the_nodes_drawn_ahead(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), k=2) as c:
        assert (await c.call("echo", None, b"one")).data == b"one"
        await _idle()
        drawn = c._ahead.drawn(ECHO)
        assert drawn is not None and len(drawn) == 2
        assert (await c.call("echo", None, b"two")).data == b"two"
        assert tuple(c.trail.chosen) == drawn
        await _idle()
        assert c._ahead.drawn(ECHO) is not None  # drawn again for the request after


async def test_a_retry_is_sealed_afresh_not_sent_with_the_draw_sealed_ahead(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request sent with the draw sealed ahead that reached no working node is sent again
    sealed afresh, to a new draw: a sealed-ahead envelope is sent once only."""
    gateway = cloud.gateway
    forward = gateway._to_a_recipient
    envelopes: list[bytes] = []

    async def fail_the_second(envelope: bytes, send: Any) -> Any:
        envelopes.append(envelope)
        if len(envelopes) == 2:
            raise errors.NoHealthyNodeError("no healthy node among the request's recipients")
        return await forward(envelope, send)

    monkeypatch.setattr(gateway, "_to_a_recipient", fail_the_second)
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), k=2) as c:
        await c.call("echo", None, b"one")
        await _idle()
        assert c._ahead.drawn(ECHO) is not None
        assert (await c.call("echo", None, b"two")).data == b"two"  # the draw's send fails
        assert len(envelopes) == 3 and c._ahead.drawn(ECHO) is None
        assert envelopes[2] != envelopes[1]  # sealed afresh, not the one sealed ahead again


async def test_sealed_ahead_draws_are_dropped_when_admission_runs_again(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        await c.call("echo", None, b"one")
        await _idle()
        assert len(c._ahead) == 1
        await c.refresh()
        assert len(c._ahead) == 0
        await c.call("echo", None, b"two")  # sealed afresh, and drawn ahead again after
        await _idle()
        assert len(c._ahead) == 1


async def test_sealed_ahead_request_keeps_to_the_requests_regions(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        for body in (b"one", b"two", b"three"):
            await c.call("echo", None, body, regions={"us-east"})
            assert c.trail.chosen == ["node-3"]
            await _idle()
            assert c._ahead.drawn(ahead_key("echo", {"us-east"}, False)) == ("node-3",)
        # Another kind of request does not take that draw.
        await c.call("echo", None, b"four")
        assert len(c.trail.chosen) == 3


async def test_streamed_and_one_shot_requests_are_sealed_ahead_apart(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        await c.call("echo", None, b"one")
        events = [e async for e in c.stream("echo_stream", {"parts": 2}, b"abcd")]
        assert events[-1].final
        await _idle()
        streamed = ahead_key("echo_stream", None, True)
        assert c._ahead.drawn(ECHO) is not None and c._ahead.drawn(streamed) is not None
        events = [e async for e in c.stream("echo_stream", {"parts": 2}, b"efgh")]
        assert b"".join(e.data for e in events[:-1]) == b"efgh"


async def test_draws_ahead_spread_over_the_nodes_as_draws_now_do(cloud: Cloud) -> None:
    """A draw ahead is the same random draw: with k = 1 the requests do not stick to one
    node."""
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), k=1) as c:
        seen = set()
        for _ in range(40):
            await c.call("echo", None, b"x")
            seen.update(c.trail.chosen)
            await _idle()
        assert seen == {"node-1", "node-2", "node-3"}  # each missed with chance (2/3)^40


async def test_nothing_is_sealed_ahead_when_turned_off(cloud: Cloud) -> None:
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), seal_ahead=False
    ) as c:
        await c.call("echo", None, b"one")
        await _idle()
        assert len(c._ahead) == 0


async def test_sealed_ahead_request_meets_a_rotated_gateway_key_and_is_sealed_again(
    cloud: Cloud,
) -> None:
    """The draw was encapsulated to the old OHTTP key: the gateway refuses it (RFC 9458
    §5.3), the request is sealed afresh under the new logged key (for that resend only: docs/adr/
    0009, decision 7), and draws are sealed to it once the client has admitted again."""
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        await c.call("echo", None, b"one")
        await _idle()
        drawn = c._ahead._drawn[ECHO].sealed
        new_key_id = await cloud.rotate_gateway_key(retire_old=True)
        assert (await c.call("echo", None, b"two")).data == b"two"
        assert drawn.used  # the draw went out once, to the old key, and was refused
        await c.refresh()  # (the background's next admission)
        assert c._key_config is not None and c._key_config.key_id == new_key_id
        assert (await c.call("echo", None, b"three")).data == b"three"
        await _idle()
        assert c._ahead._drawn[ECHO].sealed.key_config.key_id == new_key_id


async def test_a_draw_made_for_another_k_is_not_sent(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        await c.call("echo", None, b"one")
        await _idle()
        assert len(c._ahead.drawn(ECHO) or ()) == 3
        c.k = 1
        await c.call("echo", None, b"two")
        assert len(c.trail.chosen) == 1


async def test_nothing_sealed_ahead_is_sent_once_turned_off(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), k=1) as c:
        await c.call("echo", None, b"one")
        await _idle()
        drawn = c._ahead._drawn[ECHO].sealed
        c.seal_ahead = False
        await c.call("echo", None, b"two")
        await _idle()
        assert not drawn.used and len(c._ahead) == 0


async def test_no_draw_outlives_an_admission_that_ran_beside_a_request(cloud: Cloud) -> None:
    """A request that ends while admission is fetching does not draw from the nodes and key
    being replaced; a failed admission leaves no draw (nor its secrets) behind."""
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        await asyncio.gather(c.call("echo", None, b"one"), c.refresh())
        await _idle()
        admitted = {id(a) for a in c.trail.admitted}
        for key in list(c._ahead._drawn):
            assert {id(a) for a in c._ahead._drawn[key].chosen} <= admitted
        await c.call("echo", None, b"two")
        await _idle()
        assert len(c._ahead) == 1


async def test_a_failed_admission_leaves_no_draw_behind(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:

        async def slow_then_refused() -> None:
            await asyncio.sleep(0.2)  # a request ends meanwhile and asks for a draw
            raise errors.UnavailableError("relay unreachable")

        monkeypatch.setattr(c, "_admit_again", slow_then_refused)
        call = asyncio.create_task(c.call("echo", None, b"one"))
        await asyncio.sleep(0)
        with pytest.raises(errors.UnavailableError):
            await asyncio.gather(c.refresh(), call)
        await _idle()
        assert c.trail.admitted == [] and len(c._ahead) == 0


async def test_a_request_whose_token_came_during_an_admission_chooses_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wallet may take seconds to fetch a token; an admission that ran meanwhile may have
    refused a node of the draw. The request is sealed afresh, with that admission's key, to
    what it admitted (the envelope sealed before is not sent)."""
    cloud = await start_cloud(tokens=True)
    try:
        await _token_during_admission(cloud, monkeypatch)
    finally:
        await cloud.stop()


async def _token_during_admission(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    wallet = cloud.new_wallet(batch_size=16)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
    ) as c:
        await c.call("echo", None, b"one")
        await _idle()
        drawn = c._ahead._drawn[ECHO].sealed
        authorization = wallet.authorization

        async def slow_while_admission_runs(*, fetch: bool = True) -> bytes:
            token = await authorization(fetch=fetch)
            await c.refresh()
            return token

        monkeypatch.setattr(wallet, "authorization", slow_while_admission_runs)
        assert (await c.call("echo", None, b"two")).data == b"two"
        assert not drawn.used and len(c.trail.chosen) == 3
