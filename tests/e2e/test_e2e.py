"""End to end over real loopback sockets: device -> relay -> gateway -> node and back, with a
recording proxy in front of every hop, so each test reads exactly what a party received.

Each test is named after the property it proves (docs/trust-model.md#parties: who may learn what).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest

from cloudkit import Cloud, start_cloud
from netproxy import Proxy
from nodekit import wait_until
from privcloud import errors, limits
from privcloud.envelope import MEDIA_TYPE_REQUEST
from privcloud.ohttp import MEDIA_REQUEST, decode_key_configs
from privcloud.sdk import Client, SyncClient
from privcloud.sdk.core import build_request
from privcloud.sdk.hybrid import HybridClient
from privcloud.sdk.router import DeviceProfile, Placement, Router, UserSettings
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.directory import decode_directory
from privcloud.wire.message import WorkloadRequest

CANARY = b"CANARY-7f3a9c-the-user-said-this"
TOKEN = b"PrivateToken token=CANARYTOKEN0123456789"
#: The INSECURE development policy: simulated-TEE nodes, admitted through the full procedure
#: (evidence, key binding, logged release, inclusion proof, freshness, policy).
POLICY = ClientPolicy.insecure_local_dev()


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


@pytest.fixture
async def client(cloud: Cloud) -> AsyncIterator[Client]:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        yield c


async def test_echo_round_trip_through_three_hops(cloud: Cloud, client: Client) -> None:
    result = await client.call("echo", {"x": 1}, CANARY)
    assert result.data == CANARY
    assert result.meta == {"params": {"x": 1}, "size": len(CANARY)}
    assert len(client.trail.chosen) == 3
    assert all(p.connections for p in (cloud.relay_proxy, cloud.gateway_proxy))


async def test_streamed_answer_arrives_in_order_with_a_final_event(client: Client) -> None:
    body = bytes(range(256)) * 40
    events = [e async for e in client.stream("echo_stream", {"parts": 7}, body)]
    assert [e.final for e in events] == [False] * 7 + [True]
    assert b"".join(e.data for e in events[:-1]) == body
    assert [e.meta["index"] for e in events[:-1]] == list(range(7))


async def test_sync_client_works_from_plain_code(cloud: Cloud) -> None:
    def run() -> bytes:
        with SyncClient(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as sync:
            sync.refresh()
            parts = list(sync.stream("echo_stream", {"parts": 2}, b"abcd"))
            assert len(parts) == 3
            # Data residency per request reaches the async client (it once got lost here).
            sync.call("echo", None, b"x", regions={"us-east"})
            assert sync.trail.chosen == ["node-3"]
            return sync.call("echo", None, b"hello").data

    assert await asyncio.to_thread(run) == b"hello"


def test_sync_client_has_the_async_clients_signatures() -> None:
    import inspect

    for name in ("refresh", "call", "stream"):
        sync_sig = inspect.signature(getattr(SyncClient, name))
        async_sig = inspect.signature(getattr(Client, name))
        assert sync_sig.parameters == async_sig.parameters, name


async def test_default_policy_refuses_simulated_nodes(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, trust=cloud.client_trust()) as strict:
        assert strict.trail.admitted == []
        assert {code for _, code in strict.trail.refused} == {"TEE type not allowed by policy"}
        with pytest.raises(errors.NoHealthyNodeError):
            await strict.call("echo", None, CANARY)


async def test_region_policy_keeps_data_in_allowed_regions(cloud: Cloud) -> None:
    eu_only = ClientPolicy.insecure_local_dev(
        allowed_regions=frozenset({"eu-west"}),
    )
    async with Client(cloud.relay_url, policy=eu_only, trust=cloud.client_trust()) as c:
        await c.call("echo", None, CANARY)
        assert set(c.trail.chosen) == {"node-1", "node-2"}
    us_node = cloud.node_proxies[2]
    assert CANARY not in us_node.inbound()


async def test_per_request_residency_seals_only_to_nodes_in_those_regions(
    cloud: Cloud, client: Client
) -> None:
    for _ in range(3):
        await client.call("echo", None, CANARY, regions={"eu-west"})
        assert set(client.trail.chosen) <= {"node-1", "node-2"}
    assert CANARY not in cloud.node_proxies[2].inbound()
    with pytest.raises(errors.NoHealthyNodeError):
        await client.call("echo", None, CANARY, regions={"ap-south"})


async def test_hybrid_client_sends_cloud_routes_with_their_residency(
    cloud: Cloud, client: Client
) -> None:
    settings = UserSettings(residency={"echo": frozenset({"us-east"})})
    hybrid = HybridClient(Router(DeviceProfile(), settings), client, models=None)
    routed = await hybrid.call("echo", {}, CANARY)
    assert routed.route.placement is Placement.CLOUD
    assert routed.result.data == CANARY
    assert client.trail.chosen == ["node-3"]
    assert all(CANARY not in p.inbound() for p in cloud.node_proxies[:2])


# --- what each party learns -----------------------------------------------------------------


async def _send_raw(cloud: Cloud, client: Client, headers: dict[str, str]) -> bytes:
    """Send one sealed request carrying CANARY and TOKEN, with extra identifying headers."""
    assert client._key_config is not None
    nodes = [a.descriptor for a in client.trail.admitted]
    body, media, reader = build_request(
        client._key_config, nodes, WorkloadRequest("echo", {}, CANARY), authorization=TOKEN
    )
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as s,
        s.post(
            f"{cloud.relay_url}/v1/ohttp", data=body, headers={"Content-Type": media, **headers}
        ) as resp,
    ):
        assert resp.status == 200
        reader.feed(await resp.read())
    (event,) = reader.close()
    return event.data


IDENTIFYING = {
    "User-Agent": "PhoneOS/17 CANARY-UA",
    "Cookie": "session=CANARY-COOKIE",
    "X-Forwarded-For": "203.0.113.77",
    "Forwarded": "for=203.0.113.77",
    "X-Device-Id": "CANARY-DEVICE",
}


async def test_relay_sees_no_plaintext_and_no_token(cloud: Cloud, client: Client) -> None:
    assert await _send_raw(cloud, client, IDENTIFYING) == CANARY
    seen = cloud.relay_proxy.inbound() + cloud.relay_proxy.outbound()
    assert CANARY not in seen
    assert b"CANARYTOKEN" not in seen
    assert b"PrivateToken" not in seen


async def test_gateway_cannot_read_the_envelope(cloud: Cloud, client: Client) -> None:
    assert await _send_raw(cloud, client, {}) == CANARY
    # Everything the gateway received or sent, in the clear or decapsulated, lacks the content:
    gateway_view = cloud.gateway_proxy.inbound() + cloud.gateway_proxy.outbound()
    sent_to_nodes = b"".join(p.inbound() + p.outbound() for p in cloud.node_proxies)
    assert CANARY not in gateway_view
    assert CANARY not in sent_to_nodes  # the envelope it forwarded is ciphertext to it
    # ... and it holds no node key: it never had one (its state has no private key object).
    assert not any("PrivateKey" in type(v).__name__ for v in vars(cloud.gateway).values())


async def test_gateway_and_node_never_see_client_address_or_identifying_headers(
    cloud: Cloud, client: Client
) -> None:
    assert await _send_raw(cloud, client, IDENTIFYING) == CANARY
    assert any(c.peer[0] == "127.0.0.2" for c in cloud.relay_proxy.connections)
    downstream = [cloud.gateway_proxy, *cloud.node_proxies]
    for proxy in downstream:
        assert all(c.peer[0] != "127.0.0.2" for c in proxy.connections)
        raw = proxy.inbound()
        for marker in (
            b"CANARY-UA",
            b"CANARY-COOKIE",
            b"203.0.113.77",
            b"CANARY-DEVICE",
            b"PhoneOS",
            b"cookie:",
            b"forwarded",
        ):
            assert marker.lower() not in raw.lower()


async def test_gateway_sees_the_token_but_forwards_only_the_envelope(
    cloud: Cloud, client: Client
) -> None:
    await _send_raw(cloud, client, {})
    to_nodes = b"".join(p.inbound() for p in cloud.node_proxies)
    assert b"CANARYTOKEN" not in to_nodes
    assert MEDIA_TYPE_REQUEST.encode() in to_nodes


async def test_node_outside_the_chosen_k_cannot_open(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, k=1, trust=cloud.client_trust()) as c:
        assert c._key_config is not None
        chosen = c.trail.admitted[0].descriptor
        body, _, _ = build_request(c._key_config, [chosen], WorkloadRequest("echo", {}, CANARY))
    # Take the sealed envelope out of the OHTTP layer as the gateway would, and offer it to
    # every other node directly.
    from privcloud.ohttp import decapsulate_request
    from privcloud.wire import bhttp

    inner, _ = decapsulate_request(cloud.gateway.keys, body)
    envelope = bhttp.decode_request(inner).content
    others = [
        u for n, u in zip(cloud.nodes, cloud.node_urls, strict=True) if n.key_id != chosen.key_id
    ]
    async with aiohttp.ClientSession() as s:
        for url in others:
            async with s.post(
                f"{url}/v1/envelope", data=envelope, headers={"Content-Type": MEDIA_TYPE_REQUEST}
            ) as resp:
                assert resp.status == 422
                assert (await resp.json())["error"] == "unknown_key"


# --- tampering and truncation, over the sockets -----------------------------------------------


def _flip_last_byte_of_body(data: bytes, offset: int) -> bytes:
    # Response bodies end the stream of a one-shot answer; flip the last byte of each read
    # that carries body bytes after the headers.
    head_end = data.find(b"\r\n\r\n")
    if head_end != -1 and head_end + 4 >= len(data):
        return data
    return data[:-1] + bytes([data[-1] ^ 0x01])


async def test_tampered_response_is_detected_by_the_client(cloud: Cloud, client: Client) -> None:
    # The client has admitted nodes through the honest path; its private requests now go
    # through a relay-side proxy that flips one bit of every response body it carries.
    tamper = Proxy(int(cloud.relay_proxy.target_port), tamper_outbound=_flip_last_byte_of_body)
    await tamper.start()
    client.relay_url = tamper.url
    try:
        with pytest.raises(errors.CryptoError):
            await client.call("echo", None, CANARY)
        # The flipped bit was in the encapsulated response (OHTTP AEAD), not in HTTP framing.
        assert tamper.outbound()
    finally:
        await tamper.stop()


async def test_truncated_stream_is_detected_by_the_client(cloud: Cloud, client: Client) -> None:
    # Cut the relay's response after the first few hundred bytes of one streamed answer.
    cut = Proxy(0, cut_outbound_after=600)
    cut.target_port = int(cloud.relay_proxy.target_port)
    await cut.start()
    trust = dataclasses.replace(cloud.client_trust(), log_url=f"{cut.url}/log")
    c2 = Client(cut.url, policy=POLICY, trust=trust)
    c2._key_config = client._key_config
    c2.trail = client.trail
    received = []
    try:
        with pytest.raises((errors.TruncatedStreamError, errors.UnavailableError)):
            async for event in c2.stream("echo_stream", {"parts": 16}, bytes(8000)):
                received.append(event)
    finally:
        await c2.close()
        await cut.stop()
    assert not any(e.final for e in received)


# --- bad input at every hop; the services keep serving -----------------------------------------


async def _post(url: str, body: bytes, media: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, data=body, headers={"Content-Type": media}) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_bad_input_gets_our_error_and_status_at_every_hop(
    cloud: Cloud, client: Client
) -> None:
    relay, gateway = cloud.relay_url, cloud.gateway_proxy.url
    node = cloud.node_urls[0]
    # A key id the gateway does not hold (its ids are random: a fixed one was its own 1 in 256).
    unknown = next(i for i in range(256) if i not in cloud.gateway.keys)
    cases = [
        (f"{relay}/v1/ohttp", b"\x00" * 10, "text/plain", 415, "unsupported"),
        (f"{relay}/v1/ohttp", b"\x01", MEDIA_REQUEST, 400, "malformed"),
        (
            f"{gateway}/v1/ohttp",
            bytes([unknown]) + b"\x00\x20\x00\x01\x00\x01" + b"\x00" * 60,
            MEDIA_REQUEST,
            400,
            "unknown_key",
        ),
        (f"{gateway}/v1/ohttp", b"", MEDIA_REQUEST, 400, "malformed"),
        (f"{node}/v1/envelope", b"\x07garbage", MEDIA_TYPE_REQUEST, 415, "unsupported"),
        (f"{node}/v1/envelope", b"", MEDIA_TYPE_REQUEST, 400, "malformed"),
    ]
    for url, body, media, status, code in cases:
        got_status, doc = await _post(url, body, media)
        assert (got_status, doc.get("error")) == (status, code), url
    # A corrupted OHTTP request with a valid key id fails authentication:
    assert client._key_config is not None
    body, media, _ = build_request(
        client._key_config,
        [a.descriptor for a in client.trail.admitted],
        WorkloadRequest("echo", {}, b"x"),
    )
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    assert (await _post(f"{relay}/v1/ohttp", tampered, media))[0] == 400
    # ... and after all that, the path still serves:
    assert (await client.call("echo", None, b"still here")).data == b"still here"


async def test_oversize_body_is_refused_with_413(cloud: Cloud) -> None:
    from privcloud import limits

    status, doc = await _post(
        f"{cloud.relay_url}/v1/ohttp", b"\x00" * (limits.MAX_OHTTP_REQUEST + 1), MEDIA_REQUEST
    )
    assert (status, doc["error"]) == (413, "too_large")


async def test_unknown_feature_is_a_sealed_not_found(client: Client) -> None:
    with pytest.raises(errors.NotFoundError):
        await client.call("no_such_feature_here", None, b"") if False else await _unknown(client)


async def _unknown(client: Client) -> None:
    # Seal to nodes directly (bypassing the SDK's feature filter) to reach the node's registry.
    for admitted in client.trail.admitted:
        object.__setattr__(
            admitted.descriptor, "features", (*admitted.descriptor.features, "nothing")
        )
    await client.call("nothing", None, b"")


async def test_slow_body_gets_408_while_others_are_served(
    cloud: Cloud, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privcloud import limits
    from privcloud.services import http

    monkeypatch.setattr(limits, "BODY_READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(
        http.read_body, "__kwdefaults__", {"limit": limits.MAX_HTTP_BODY, "timeout": 0.5}
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", cloud.relay_proxy.port)
    writer.write(
        b"POST /v1/ohttp HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-req\r\n"
        b"Content-Length: 1000\r\n\r\n" + b"\x00" * 10
    )
    await writer.drain()
    # While the slow client dribbles, another request is served.
    assert (await client.call("echo", None, b"fast")).data == b"fast"
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    assert b" 408 " in status_line
    writer.close()


async def test_trickled_body_below_the_minimum_rate_gets_408(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A peer that keeps sending a byte now and then (never idle long enough for the per-read
    # wait) is still cut off once it falls below the minimum average rate.
    from privcloud import limits
    from privcloud.services import http

    monkeypatch.setattr(
        http.read_body, "__kwdefaults__", {"limit": limits.MAX_HTTP_BODY, "timeout": 0.6}
    )
    monkeypatch.setattr(limits, "BODY_READ_TIMEOUT_S", 0.6)  # the one-shot lane's (ADR 0032)
    started = asyncio.get_running_loop().time()
    status_line = await _trickle_until_answer(cloud.relay_proxy.port, 1000, b"\x00")
    assert b" 408 " in status_line
    assert asyncio.get_running_loop().time() - started < 3


async def test_directory_and_keys_come_through_the_relay(cloud: Cloud) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{cloud.relay_url}/.well-known/ohttp-gateway") as r:
            configs = decode_key_configs(await r.read())
        async with s.get(f"{cloud.relay_url}/v1/directory") as r:
            nodes = decode_directory(await r.read())
    assert [c.key_id for c in configs] == [r.key.key_id for r in cloud.gateway.ring.records]
    assert {n.node_id for n in nodes} == {"node-1", "node-2", "node-3"}


async def test_gateway_skips_an_unhealthy_node(cloud: Cloud, client: Client) -> None:
    await cloud.node_proxies[0].stop()
    cloud.node_proxies[0].target_port = 1  # nothing listens there
    for _ in range(6):
        assert (await client.call("echo", None, b"ok")).data == b"ok"


async def test_stream_cut_before_its_final_chunk_is_detected(
    cloud: Cloud, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gateway (or anyone on the path) that ends the HTTP response cleanly but withholds the
    # final OHTTP chunk: the client must refuse the answer, not take it as complete.
    from privcloud.ohttp import chunked

    original = chunked.ChunkedGatewayContext.seal_chunk

    def drop_final(self: chunked.ChunkedGatewayContext, data: bytes, *, final: bool) -> bytes:
        return b"" if final else original(self, data, final=False)

    monkeypatch.setattr(chunked.ChunkedGatewayContext, "seal_chunk", drop_final)
    received = []
    with pytest.raises(errors.TruncatedStreamError):
        async for event in client.stream("echo_stream", {"parts": 3}, b"abcdef"):
            received.append(event)
    assert not any(e.final for e in received)


async def test_one_shot_requests_take_the_lanes_of_the_relay_and_the_gateway(
    cloud: Cloud, client: Client
) -> None:
    # docs/adr/0032: the SDK posts one-shot requests on its hop client, whose connections carry
    # nothing else, so the relay answers them on its lane; the relay's hop client likewise
    # reaches the gateway's. A stream (chunked OHTTP) goes through aiohttp on both.
    lane = "lane_requests{route=ohttp}"
    for _ in range(3):
        assert (await client.call("echo", None, b"ok")).data == b"ok"
    assert cloud.relay.metrics.counters[lane] == cloud.gateway.metrics.counters[lane] == 3
    async for _ in client.stream("echo_stream", {"parts": 2}, b"abcd"):
        pass
    # A body over the lane's bound goes over aiohttp from the device (a slow upload must not
    # outlast the hop client's idle timer); the relay's hop client still takes it on.
    big = b"b" * (limits.LANE_MAX_BODY_BYTES + 1)
    assert (await client.call("echo", None, big)).data == big
    assert cloud.relay.metrics.counters[lane] == 3
    # Counted when the relay's handler ends: for an answer over 64 KiB, once the device has
    # acknowledged it (services.answers), a moment after the device read it.
    counted = cloud.relay.metrics.counters
    assert await wait_until(lambda: counted["requests{route=ohttp,status=200}"] == 5)
    # ... so the device's hop connection was not handed to aiohttp: the next call is the lane's.
    assert (await client.call("echo", None, b"ok")).data == b"ok"
    assert cloud.relay.metrics.counters[lane] == 4


async def test_content_never_reaches_logs_or_metrics(
    cloud: Cloud, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    await client.call("echo", {"note": CANARY.decode()}, CANARY)
    async for _ in client.stream("echo_stream", {"parts": 2}, CANARY):
        pass
    # A request the node refuses, and one the gateway refuses, also log nothing of the content.
    with pytest.raises(errors.PrivcloudError):
        await client.call("echo_stream", {"parts": CANARY.decode()}, CANARY)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records  # the services did log (allow-listed fields)
    assert CANARY.decode() not in logged
    for service in (cloud.relay.metrics, cloud.gateway.metrics, *(n.metrics for n in cloud.nodes)):
        assert CANARY.decode() not in service.render()


async def test_client_recovers_when_the_gateway_rotates_its_key(
    cloud: Cloud, client: Client
) -> None:
    new_key_id = await cloud.rotate_gateway_key(retire_old=True)
    # The client still holds the old configuration: the gateway answers 400 "ohttp-key"
    # (RFC 9458 §5.3), the client fetches the new, logged configuration and resends under it.
    # Its admission keeps the old key until it admits again, in the background (docs/adr/0009,
    # decision 7): a key fetched after a mismatch the gateway claims seals that resend only.
    assert (await client.call("echo", None, b"after rotation")).data == b"after rotation"
    assert client._key_config is not None and client._key_config.key_id != new_key_id
    await client.refresh()  # (the background's next admission)
    assert client._key_config is not None and client._key_config.key_id == new_key_id
    assert (await client.call("echo", None, b"again")).data == b"again"


async def test_large_streamed_request_and_answer_cross_chunk_limits(client: Client) -> None:
    from privcloud import limits

    body = bytes(range(256)) * ((limits.MAX_OHTTP_CHUNK * 3 // 2) // 256)  # 1.5 chunks
    events = [e async for e in client.stream("echo_stream", {"parts": 2}, body)]
    assert b"".join(e.data for e in events[:-1]) == body
    assert events[-1].final


async def test_device_reads_the_log_only_through_the_relay(cloud: Cloud, client: Client) -> None:
    # The client's log reads (checkpoint, consistency and inclusion proofs) went to the relay,
    # so the log operator learns no device address; the relay saw only public log data.
    seen = cloud.relay_proxy.inbound()
    assert b"GET /log/checkpoint" in seen  # the tlog-tiles checkpoint, then tiles
    assert b"GET /log/" in seen


async def test_large_declared_body_trickled_slowly_gets_408(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Declaring a huge body must not buy a long deadline: the rate counts bytes that arrived.
    from privcloud import limits
    from privcloud.services import http

    monkeypatch.setattr(
        http.read_body, "__kwdefaults__", {"limit": limits.MAX_HTTP_BODY, "timeout": 0.5}
    )
    status_line = await _trickle_until_answer(cloud.relay_proxy.port, 30_000_000, b"\x00" * 10)
    assert b" 408 " in status_line


async def test_request_headers_that_never_finish_are_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slowloris in the header phase: the connection is closed once the idle bound passes.
    from privcloud import limits
    from privcloud.services.relay import Relay
    from privcloud.services.site import start_site

    monkeypatch.setattr(limits, "HTTP_IDLE_TIMEOUT_S", 0.5)
    runner, port = await start_site(Relay("http://127.0.0.1:9").app(), "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /v1/ohttp HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        for _ in range(10):  # keep trickling header bytes
            await asyncio.sleep(0.2)
            if reader.at_eof():
                break
            writer.write(b"X-A: b\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(1), timeout=0.01)
        assert reader.at_eof()
        writer.close()
    finally:
        await runner.cleanup()


async def test_connections_beyond_the_cap_are_closed_and_others_still_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from privcloud import limits
    from privcloud.services.relay import Relay
    from privcloud.services.site import start_site

    monkeypatch.setattr(limits, "MAX_SERVER_CONNECTIONS", 3)
    runner, port = await start_site(Relay("http://127.0.0.1:9").app(), "127.0.0.1", 0)
    held = []
    try:
        for _ in range(3):  # three slow peers hold every allowed connection
            held.append(await asyncio.open_connection("127.0.0.1", port))
            held[-1][1].write(b"GET /healthz HTTP/1.1\r\n")
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(reader.read(100), timeout=2) == b""  # closed unread
        writer.close()
        held.pop()[1].close()  # one slow peer leaves: a new client is served again
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b" 200 " in await asyncio.wait_for(reader.read(200), timeout=2)
        writer.close()
    finally:
        for _, w in held:
            w.close()
        await runner.cleanup()


async def _trickle_until_answer(port: int, content_length: int, piece: bytes) -> bytes:
    """Send request headers, then ``piece`` every 0.2 s until the server answers (or 8 s pass);
    return the status line it sent (empty if none)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/ohttp HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-req\r\n"
        b"Content-Length: %d\r\n\r\n" % content_length
    )
    status_line = b""
    for _ in range(40):
        writer.write(piece)
        await writer.drain()
        try:
            status_line = await asyncio.wait_for(reader.readline(), timeout=0.2)
            break
        except TimeoutError:
            continue
    writer.close()
    return status_line


async def test_echo_size_only_answers_the_size_not_the_body(client: Client) -> None:
    result = await client.call("echo", {"size_only": True}, CANARY)
    assert result.data == b"" and result.meta["size"] == len(CANARY)


async def test_regions_must_be_a_collection_not_one_string(client: Client) -> None:
    with pytest.raises(errors.UsageError):
        await client.call("echo", None, CANARY, regions="eu-west")
