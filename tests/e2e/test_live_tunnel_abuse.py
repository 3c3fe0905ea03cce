"""Live tunnels against misbehaving peers (red-team review of the live tunnel, 2026-12-04;
docs/adr/0023-live-sessions.md, "Hardening the tunnel's opening"):

* an address that opens live sockets and sends nothing held one connection each in the
  relay's only client pool (the relay connected to the gateway before any message came): 256 of
  them stalled all the relay's traffic. The relay now waits for the device's opening first,
  caps the live tunnels of one address, and keeps tunnels in a pool of their own;
* the answers to an opening differed in size by refusal, so the relay could tell them apart;
* a device or node that left mid-opening raised aiohttp's own errors out of the gateway.

Loopback only; each test bounded by a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from cloudkit import Cloud, start_cloud
from privcloud import errors, limits
from privcloud.envelope import Recipient
from privcloud.live.output import LiveOutput
from privcloud.live.session import SessionKeys, SessionParams, start_session
from privcloud.live.tunnel import build_open, read_open_answer
from privcloud.ohttp import ClientContext
from privcloud.sdk import Client
from privcloud.sdk.live import LiveCall
from privcloud.services import live_gateway
from privcloud.trust.admission import ClientPolicy

POLICY = ClientPolicy.insecure_local_dev()
ATTACKER = "127.0.0.2"


class QuietPipeline:
    """A pipeline (test only) that says nothing."""

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        return []

    def flush(self) -> list[LiveOutput]:
        return []


def quiet(languages: tuple[str, str], targets: tuple[str, str]) -> QuietPipeline:
    return QuietPipeline()


def slow_quiet(languages: tuple[str, str], targets: tuple[str, str]) -> QuietPipeline:
    time.sleep(0.6)  # the node's ACCEPT comes this much later (pipelines build in a thread)
    return QuietPipeline()


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud(tokens=True)
    for node in c.nodes:
        node.live.pipelines = quiet
        node.live.drain_s = 0.2
    yield c
    await c.stop()


def client(cloud: Cloud) -> Client:
    return Client(
        cloud.relay_url,
        policy=POLICY,
        wallet=cloud.new_wallet(batch_size=8),
        trust=cloud.client_trust(),
    )


async def opening(
    c: Client, authorization: bytes | None, node_id: str = "node-1"
) -> tuple[bytes, ClientContext, SessionKeys]:
    """A device's first message to one admitted node, the context that opens its answer, and
    the session's keys."""
    admitted = next(a.descriptor for a in c.trail.admitted if a.descriptor.node_id == node_id)
    statement = c.trail.key_statement
    assert statement is not None
    hello, keys = start_session(
        Recipient(admitted.key_id, admitted.public_key, admitted.suite),
        SessionParams(int(time.time()), 30, ("en", "es"), ("es", "en")),
    )
    message, context = build_open(statement.key_config, hello, authorization=authorization)
    return message, context, keys


def acquired(session: aiohttp.ClientSession) -> int:
    """Connections a client pool has handed out now (aiohttp keeps no public count)."""
    connector: Any = session.connector
    return len(connector._acquired)


async def _keys_fetch_s(url: str) -> float:
    """Seconds a key-configuration fetch through the relay takes (fails past 3 s)."""
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/.well-known/ohttp-gateway", timeout=aiohttp.ClientTimeout(total=3)) as r,
    ):
        await r.read()
        assert r.status == 200
    return time.monotonic() - started


async def test_idle_live_sockets_from_one_address_do_not_starve_the_relay(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    relay_direct = f"http://127.0.0.1:{cloud.relay_proxy.target_port}"
    async with client(cloud) as device:
        await device.refresh()
        connector = aiohttp.TCPConnector(limit=0, local_addr=(ATTACKER, 0))
        async with aiohttp.ClientSession(connector=connector) as attacker:
            held: list[aiohttp.ClientWebSocketResponse] = []
            refused: list[int] = []
            # As many as the relay lets one address hold connections: no token, no message.
            for _ in range(limits.MAX_RELAY_CONNECTIONS_PER_PEER):
                try:
                    held.append(await attacker.ws_connect(f"{relay_direct}/v1/live"))
                except aiohttp.WSServerHandshakeError as exc:
                    refused.append(exc.status)
            try:
                # Everything else the relay does goes on at once, live calls included.
                assert await _keys_fetch_s(cloud.relay_url) < 1.0
                async with LiveCall(device, deadline_s=10) as call:
                    await call.end()
                assert call.ending == "done"
                assert len(held) == limits.MAX_RELAY_LIVE_TUNNELS_PER_PEER
                assert set(refused) == {429}
                # Nothing of the idle sockets reached the gateway.
                assert b"GET /v1/live" in cloud.gateway_proxy.inbound()  # the call's tunnel
                assert cloud.relay.live_tunnels == len(held)
                # Without an opening, the relay closes them itself, and the address may again.
                closes = await asyncio.gather(
                    *(
                        ws.receive(timeout=limits.LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S + 5)
                        for ws in held
                    )
                )
                assert {msg.type for msg in closes} == {aiohttp.WSMsgType.CLOSE}
                assert {msg.data for msg in closes} == {4000 + 408}
                again = await attacker.ws_connect(f"{relay_direct}/v1/live")
                await again.close()
            finally:
                for ws in held:
                    await ws.close()
    tunnels_at_gateway = cloud.gateway_proxy.inbound().count(b"GET /v1/live")
    assert tunnels_at_gateway == 1  # the device's call alone
    assert ATTACKER not in caplog.text


async def test_live_tunnels_do_not_hold_the_connections_requests_need(cloud: Cloud) -> None:
    """The relay's and the gateway's tunnels (minutes each) live in pools of their own: the
    pools that carry requests, key and directory fetches hand none of them out."""
    async with client(cloud) as device:
        calls = [LiveCall(device, deadline_s=30, node_id=f"node-{i}") for i in (1, 2)]
        for call in calls:
            await call.start()
        try:
            relay_pool, gateway_pool = [], []
            for _ in range(5):
                relay_pool.append(acquired(cloud.relay.session))
                gateway_pool.append(acquired(cloud.gateway.session))
                await asyncio.sleep(0.05)
            assert min(relay_pool) == 0 and min(gateway_pool) == 0
            assert cloud.relay.live_tunnels == 2 and cloud.gateway.live.node_tunnels == 2
            assert await _keys_fetch_s(cloud.relay_url) < 1.0
        finally:
            for call in calls:
                await call.end()


async def test_relay_cannot_tell_live_refusals_apart_by_size(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer to an opening (the ACCEPT, a 401 with its challenge, the node's refusals,
    the gateway's) crosses the relay at one size; inside, each still says what it is."""
    async with client(cloud) as device:
        wallet = device.wallet
        assert wallet is not None

        await device.refresh()

        async def answer(authorization: bytes | None) -> tuple[int, object]:
            message, context, _ = await opening(device, authorization)
            async with device.session.ws_connect(
                f"{device.relay_url}/v1/live", max_msg_size=8192
            ) as ws:
                await ws.send_bytes(message)
                msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY
            try:
                read_open_answer(context, msg.data)
            except errors.PrivcloudError as exc:
                return len(msg.data), type(exc)
            return len(msg.data), "accept"

        seen = [await answer(await wallet.authorization())]  # accepted
        seen.append(await answer(None))  # no token: 401 and a challenge
        cloud.nodes[0].live.pipelines = None  # a node without the models
        seen.append(await answer(await wallet.authorization()))
        monkeypatch.setattr(limits, "MAX_LIVE_SESSIONS_PER_NODE", 0)  # a full node
        seen.append(await answer(await wallet.authorization()))
        monkeypatch.undo()
        cloud.gateway.nodes[0].healthy = False  # the gateway's own refusal
        seen.append(await answer(await wallet.authorization()))
    kinds = [kind for _, kind in seen]
    # Five different answers (the node's refusal for want of a pipeline is its own to name)...
    assert kinds[:2] == ["accept", errors.TokenRequiredError] and len(set(kinds)) == 5, kinds
    assert kinds[3:] == [errors.RateLimitedError, errors.NoHealthyNodeError], kinds
    # ... and one size on the wire.
    assert len({size for size, _ in seen}) == 1, seen


async def _open_at_gateway(
    cloud: Cloud, device: Client
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse, ClientContext]:
    """A tunnel opened straight at the gateway (as the relay opens it), its opening sent."""
    assert device.wallet is not None
    message, context, _ = await opening(device, await device.wallet.authorization())
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(f"{cloud.gateway_proxy.url}/v1/live", max_msg_size=8192)
    await ws.send_bytes(message)
    return http, ws, context


async def _idle(cloud: Cloud) -> bool:
    for _ in range(50):
        live = cloud.gateway.live
        nodes_idle = all(node.live.active == 0 for node in cloud.nodes)
        if live.open_tunnels == 0 and live.node_tunnels == 0 and nodes_idle:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_device_leaving_before_its_answer_ends_the_gateway_tunnel_cleanly(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for node in cloud.nodes:
        node.live.pipelines = slow_quiet
    async with client(cloud) as device:
        await device.refresh()
        http, _ws, _ = await _open_at_gateway(cloud, device)
        await http.close()  # gone, mid-opening: its connection closed under the socket
        # The node accepts (0.6 s later, ~0.62 s in all); the gateway writes to a closed
        # tunnel. Waited for, not slept: a fixed 1 s left only 0.4 s for a loaded machine.
        for _ in range(300):
            if "live tunnel left before its answer" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert "internal error" not in caplog.text
        assert "live tunnel left before its answer" in caplog.text
        assert await _idle(cloud)  # the node's session ended with the tunnel


async def test_node_leaving_before_the_hello_is_refused_inside_the_encapsulation(
    cloud: Cloud, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    real_connect = live_gateway.tunnel.connect

    async def connect_then_node_leaves(
        session: aiohttp.ClientSession, url: str
    ) -> aiohttp.ClientWebSocketResponse:
        ws = await real_connect(session, url)
        for proxy in cloud.node_proxies:  # the node's host goes, just after the handshake
            await proxy.stop()
        await asyncio.sleep(0.3)
        return ws

    monkeypatch.setattr(live_gateway.tunnel, "connect", connect_then_node_leaves)
    async with client(cloud) as device:
        await device.refresh()
        http, ws, context = await _open_at_gateway(cloud, device)
        try:
            msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY
            with pytest.raises(errors.UpstreamError):
                read_open_answer(context, msg.data)
        finally:
            await http.close()
        assert await _idle(cloud)
    assert "internal error" not in caplog.text
    assert "live node left before the hello" in caplog.text
