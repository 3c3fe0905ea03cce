"""Double spend is impossible under concurrency, across gateway *processes* sharing one
SQLite spent-token store (issue 3), and a gateway killed while it holds a token gives it back
after the reservation TTL (issue "Hardening").

Three gateways run as separate OS processes (``python -m privcloud.cli gateway --issuer ...
--spent-tokens FILE``), on loopback, in front of one node. One token is redeemed by 36
concurrent requests spread over the three gateways, each request in its own OHTTP
encapsulation: exactly one is served, the other 35 get 401 "token already spent", and the store
holds exactly one row. Other tests race raw spends and reservations of the same nonces from
several processes straight at the store, and SIGKILL a gateway between reserve and consume.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from netproxy import Proxy
from privcloud import limits
from privcloud.clock import FixedClock
from privcloud.errors import ReplayError
from privcloud.ohttp import MEDIA_REQUEST, KeyConfig, decode_key_configs
from privcloud.sdk.core import TokenRequiredError, build_request
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.node import Node
from privcloud.services.site import start_site
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
from privcloud.wire.message import WorkloadRequest

GATEWAYS = 3
REQUESTS_PER_GATEWAY = 12
START_TIMEOUT_S = 30.0
_LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")


async def _spawn_gateway(
    node_url: str, issuer_url: str, store: Path
) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "privcloud.cli",
            "gateway",
            "--node",
            node_url,
            "--issuer",
            issuer_url,
            "--spent-tokens",
            str(store),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), START_TIMEOUT_S)
    match = _LISTENING.search(line)
    if match is None:
        proc.kill()
        raise AssertionError("gateway process did not start")
    return proc, match.group(1).decode()


async def _wait_ready(session: aiohttp.ClientSession, url: str) -> KeyConfig:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(url + "/healthz") as r:
            if (await r.json()).get("healthy_nodes", 0) >= 1:
                break
        await asyncio.sleep(0.1)
    async with session.get(url + "/.well-known/ohttp-gateway") as r:
        return decode_key_configs(await r.read())[0]


@pytest.fixture
async def node_and_issuer(tmp_path: Path) -> AsyncIterator[tuple[Node, str, str, Issuer]]:
    node = Node("node-1")
    nrunner, nport = await start_site(node.app(), "127.0.0.1", 0)
    issuer = Issuer(tmp_path / "issuer", IssuerConfig(insecure_operator_codes=True, quota=100))
    irunner, iport = await start_site(issuer.app(), "127.0.0.1", 0)
    yield node, f"http://127.0.0.1:{nport}", f"http://127.0.0.1:{iport}", issuer
    await irunner.cleanup()
    await nrunner.cleanup()
    issuer.core.store.close()


def _one_token_wallet(issuer_url: str, issuer: Issuer) -> Wallet:
    return Wallet(
        issuer_url,
        enrolment_code=issuer.core.new_enrolment_code(),
        config=WalletConfig(batch_size=1, insecure_unlogged_keys=True),
    )


def _redeemer(
    session: aiohttp.ClientSession,
    configs: dict[str, KeyConfig],
    node: Node,
    authorization: bytes,
) -> Callable[[str], Coroutine[Any, Any, str]]:
    """Sends an echo request paid with ``authorization`` to a gateway URL: the echoed text, or
    the refusal's message."""

    async def redeem(url: str) -> str:
        body, _, reader = build_request(
            configs[url],
            [node.descriptor],
            WorkloadRequest("echo", {}, b"paid"),
            authorization=authorization,
        )
        async with session.post(
            url + "/v1/ohttp", data=body, headers={"Content-Type": MEDIA_REQUEST}
        ) as r:
            assert r.status == 200  # a refusal travels inside the encapsulation
            reader.feed(await r.read())
        try:
            (event,) = reader.close()
        except TokenRequiredError as exc:
            return str(exc)
        return event.data.decode()

    return redeem


@pytest.mark.slow
async def test_one_token_redeemed_concurrently_across_gateway_processes_succeeds_once(
    node_and_issuer: tuple[Node, str, str, Issuer], tmp_path: Path
) -> None:
    node, node_url, issuer_url, issuer = node_and_issuer
    store = tmp_path / "spent-tokens.sqlite3"
    procs: list[subprocess.Popen[bytes]] = []
    wallet = _one_token_wallet(issuer_url, issuer)
    try:
        urls = []
        for _ in range(GATEWAYS):
            proc, url = await _spawn_gateway(node_url, issuer_url, store)
            procs.append(proc)
            urls.append(url)
        authorization = await wallet.authorization()  # ONE token
        async with aiohttp.ClientSession() as session:
            configs = {url: await _wait_ready(session, url) for url in urls}
            redeem = _redeemer(session, configs, node, authorization)
            jobs = [redeem(url) for _ in range(REQUESTS_PER_GATEWAY) for url in urls]
            outcomes = await asyncio.wait_for(asyncio.gather(*jobs), 60)
        assert outcomes.count("paid") == 1
        assert outcomes.count("token already spent") == len(jobs) - 1
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT COUNT(*) FROM spent_tokens").fetchone() == (1,)
        assert all(p.poll() is None for p in procs)  # every gateway still serving
    finally:
        await wallet.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


_RACER = """
import sys, time
from privcloud.errors import ReplayError
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
store = SqliteSpentTokenStore(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # every racer starts at once
began, won = time.time(), 0
for i in range(int(sys.argv[2])):
    try:
        store.spend_sync(i.to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
        won += 1
    except ReplayError:
        pass
print(won, began, time.time())
"""


@pytest.mark.slow
def test_processes_racing_on_the_same_nonces_spend_each_once(tmp_path: Path) -> None:
    store, count, racers = tmp_path / "spent.sqlite3", 2000, 4
    start = str(time.time() + 3.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(store), str(count), start], stdout=subprocess.PIPE
        )
        for _ in range(racers)
    ]
    reports = [p.communicate(timeout=60)[0].split() for p in procs]
    wins = [int(r[0]) for r in reports]
    assert sum(wins) == count
    # The racers' spending overlapped in time: they did race for the same nonces.
    assert max(float(r[1]) for r in reports) < min(float(r[2]) for r in reports)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM spent_tokens").fetchone() == (count,)


_RESERVER = """
import sys, time
from privcloud.errors import ReplayError
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
store = SqliteSpentTokenStore(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # every racer starts at once
held = 0
for i in range(int(sys.argv[2])):
    try:
        store.reserve_sync(i.to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
        held += 1
    except ReplayError:
        pass
print(held, store.holder)
sys.stdout.flush()
import os; os._exit(0)  # die holding them all: no release, no goodbye to the store
"""


@pytest.mark.slow
def test_processes_racing_to_reserve_the_same_nonces_hold_each_once(tmp_path: Path) -> None:
    store, count, racers = tmp_path / "spent.sqlite3", 1000, 4
    start = str(time.time() + 3.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RESERVER, str(store), str(count), start],
            stdout=subprocess.PIPE,
        )
        for _ in range(racers)
    ]
    reports = [p.communicate(timeout=60)[0].split() for p in procs]
    assert sum(int(r[0]) for r in reports) == count  # each nonce held by exactly one racer
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT holder, COUNT(*) FROM spent_tokens GROUP BY holder").fetchall()
    assert {holder: n for holder, n in rows} == {int(r[1]): int(r[0]) for r in reports if int(r[0])}
    # The racers died holding every nonce. Until their heartbeats lapse, nobody gets one ...
    now = time.time()
    late = SqliteSpentTokenStore(store, clock=FixedClock(now))
    later = SqliteSpentTokenStore(store, clock=FixedClock(now + limits.TOKEN_RESERVATION_TTL_S + 1))
    try:
        with pytest.raises(ReplayError):
            late.reserve_sync((7).to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
        # ... and then each can be spent again, once.
        later.spend_sync((7).to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
        with pytest.raises(ReplayError):
            later.reserve_sync((7).to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
    finally:
        asyncio.run(_close(late, later))


async def _close(*stores: SqliteSpentTokenStore) -> None:
    for store in stores:
        await store.close()


#: A gateway process with a reservation TTL of its own (``argv``: node URL, issuer URL, store
#: path, TTL in seconds, spend policy), as ``privcloud gateway`` would run it.
_GATEWAY = """
import asyncio, sys
from privcloud.services.gateway import Gateway
from privcloud.services.site import start_site
from privcloud.services.redemption import TokenAuthorizer
from privcloud.storage.spent_tokens import SqliteSpentTokenStore

async def main() -> None:
    store = SqliteSpentTokenStore(sys.argv[3], reservation_ttl_s=float(sys.argv[4]))
    authorizer = TokenAuthorizer(store, issuer_url=sys.argv[2], spend=sys.argv[5])
    gateway = Gateway([sys.argv[1]], authorizer=authorizer)
    _, port = await start_site(gateway.app(), "127.0.0.1", 0)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
#: Reservation TTL of the gateways in the SIGKILL test, in seconds.
SHORT_TTL_S = 4.0


async def _spawn_ttl_gateway(
    node_url: str, issuer_url: str, store: Path, spend: str
) -> tuple[subprocess.Popen[bytes], str]:
    args = [node_url, issuer_url, str(store), str(SHORT_TTL_S), spend]
    proc = subprocess.Popen(
        [sys.executable, "-c", _GATEWAY, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), START_TIMEOUT_S)
    match = _LISTENING.search(line)
    if match is None:
        proc.kill()
        raise AssertionError("gateway process did not start")
    return proc, match.group(1).decode()


def _holders(store: Path) -> list[int]:
    with sqlite3.connect(store) as db:
        return [row[0] for row in db.execute("SELECT holder FROM spent_tokens")]


@contextlib.contextmanager
def _reaped(procs: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


async def _black_hole(node_url: str) -> tuple[Proxy, asyncio.Event]:
    """A proxy before the node that swallows the first envelope and everything after it (the
    node never answers), and the event set once it has."""
    swallowed = asyncio.Event()

    def swallow(data: bytes, _: int) -> bytes:
        if swallowed.is_set() or b"POST /v1/envelope" in data:
            swallowed.set()
            return b""
        return data

    proxy = await Proxy(int(node_url.rsplit(":", 1)[1]), tamper_inbound=swallow).start()
    return proxy, swallowed


@pytest.mark.slow
@pytest.mark.parametrize(
    "spend",
    ["when-accepted", "at-check"],
    ids=["reservation frees the token after the ttl", "token spent at the check stays spent"],
)
async def test_gateway_killed_between_the_check_and_the_nodes_answer(
    node_and_issuer: tuple[Node, str, str, Issuer], tmp_path: Path, spend: str
) -> None:
    """A gateway SIGKILLed while the node works. In two phases it held the token: it stays
    held for the TTL, then can be spent once (the device was not charged). Spent at the check
    (the default), no reservation is left to lapse: the token stays spent for every gateway
    sharing the store."""
    node, node_url, issuer_url, issuer = node_and_issuer
    store = tmp_path / "spent-tokens.sqlite3"
    # The first gateway reaches the node through a proxy that swallows the envelope: the node
    # never answers, so the gateway never hears from a node.
    black_hole, swallowed = await _black_hole(node_url)
    wallet = _one_token_wallet(issuer_url, issuer)
    procs: list[subprocess.Popen[bytes]] = []
    with _reaped(procs):
        doomed, doomed_url = await _spawn_ttl_gateway(black_hole.url, issuer_url, store, spend)
        other, other_url = await _spawn_ttl_gateway(node_url, issuer_url, store, spend)
        procs += [doomed, other]
        authorization = await wallet.authorization()
        async with aiohttp.ClientSession() as session:
            configs = {u: await _wait_ready(session, u) for u in (doomed_url, other_url)}
            redeem = _redeemer(session, configs, node, authorization)
            stuck = asyncio.create_task(redeem(doomed_url))
            await asyncio.wait_for(swallowed.wait(), 10)
            (held,) = _holders(store)
            assert (held == 0) == (spend == "at-check")  # spent, or reserved by the doomed one
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed_at = time.monotonic()
            with pytest.raises(aiohttp.ClientError):
                await stuck
            # Its last heartbeat is at most a third of the TTL old: the token is still held.
            assert await redeem(other_url) == "token already spent"
            assert time.monotonic() - killed_at < SHORT_TTL_S * 2 / 3  # (so that check held)
            assert _holders(store) == [held]
            # Restart the killed gateway and wait past the TTL: a reservation has lapsed, and
            # the token is spent once, through the restarted gateway, and never again; a spent
            # token stays spent.
            restarted, restarted_url = await _spawn_ttl_gateway(node_url, issuer_url, store, spend)
            procs.append(restarted)
            configs[restarted_url] = await _wait_ready(session, restarted_url)
            await asyncio.sleep(max(0.0, killed_at + SHORT_TTL_S + 0.2 - time.monotonic()))
            lapsed = spend == "when-accepted"
            assert await redeem(restarted_url) == ("paid" if lapsed else "token already spent")
            assert _holders(store) == [0]
            assert await redeem(other_url) == "token already spent"
    await wallet.close()
    await black_hole.stop()
