"""The one-shot lane (services.lane, ADR 0032) on a real loopback server: it answers its one
request shape itself, gives every other request to aiohttp with every byte not yet answered,
and keeps the services' bounds (idle and body time, body budget, connection caps, shutdown).

The application here has one route served both ways: the lane answers ``lane:<body>`` and the
aiohttp handler ``aiohttp:<body>``, so each test sees which of the two answered.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from privcloud import errors, limits
from privcloud.services.http import SERVICE, Metrics, read_body
from privcloud.services.lane import LANE, Lane, LaneAnswer
from privcloud.services.lane_core import lane_head
from privcloud.services.site import new_app, start_site

PATH = "/v1/ohttp"
MEDIA = "message/ohttp-req"


@dataclass
class Served:
    runner: web.AppRunner
    port: int
    metrics: Metrics
    lane_seen: list[bytes]
    aiohttp_seen: list[bytes]

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    @property
    def guard_count(self) -> int:
        return int(self.runner.server.guard.count)  # type: ignore[union-attr]


async def _answer_with(body: bytes) -> LaneAnswer:
    if body == b"peer-error":
        raise errors.DecodeError("request malformed")
    if body == b"crash":
        raise RuntimeError("secret text that must not be logged")
    if body.startswith(b"status:"):  # a next hop's status passed on (the relay's)
        return LaneAnswer(int(body[7:]), "application/json", b"{}")
    if body.startswith(b"slow"):
        await asyncio.sleep(float(body[4:] or b"0.3"))
    return LaneAnswer(200, "message/ohttp-res", b"lane:" + body)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    metrics = Metrics("lane-test")
    app = new_app("lane-test", metrics)
    lane_seen: list[bytes] = []
    aiohttp_seen: list[bytes] = []

    async def lane_answer(body: bytes) -> LaneAnswer:
        lane_seen.append(body)
        return await _answer_with(body)

    async def route(request: web.Request) -> web.Response:
        body = await read_body(request, limit=limits.MAX_OHTTP_REQUEST)
        aiohttp_seen.append(body)
        return web.Response(body=b"aiohttp:" + body, content_type="message/ohttp-res")

    app.router.add_post(PATH, route, name="ohttp")
    app[LANE] = Lane(PATH.encode(), MEDIA.encode(), "ohttp", lane_answer)
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        yield Served(runner, port, metrics, lane_seen, aiohttp_seen)
    finally:
        await runner.cleanup()


def _request(body: bytes, *, extra: bytes = b"", media: bytes = MEDIA.encode()) -> bytes:
    return (
        b"POST /v1/ohttp HTTP/1.1\r\nHost: gw\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
        % (media, len(body), extra)
        + body
    )


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    while head.startswith(b"HTTP/1.1 1"):  # an interim answer (100 Continue): skipped
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(fields["content-length"])), 5)
    return status, fields, body


async def test_the_lane_answers_its_route_on_one_kept_alive_connection(served: Served) -> None:
    reader, writer = await served.connect()
    for body in (b"one", b"two"):
        writer.write(_request(body))
        status, fields, answer = await _read_answer(reader)
        assert (status, answer) == (200, b"lane:" + body)
        assert fields["content-type"] == "message/ohttp-res"
        assert "date" in fields and "server" not in fields and "connection" not in fields
    assert served.lane_seen == [b"one", b"two"] and served.aiohttp_seen == []
    budget = served.runner.app[SERVICE].budget
    assert budget is not None and budget.in_use == 0  # each body given back
    assert served.metrics.counters["lane_requests{route=ohttp}"] == 2
    assert served.metrics.counters["requests{route=ohttp,status=200}"] == 2
    writer.close()


async def test_another_request_makes_the_connection_aiohttps_with_its_bytes(
    served: Served,
) -> None:
    reader, writer = await served.connect()
    writer.write(_request(b"first"))
    assert (await _read_answer(reader))[2] == b"lane:first"
    # A liveness probe and then a lane-shaped request, sent together: aiohttp answers both.
    writer.write(b"GET /livez HTTP/1.1\r\nHost: gw\r\n\r\n" + _request(b"after"))
    status, _, answer = await _read_answer(reader)
    assert status == 200 and json.loads(answer)["ok"] is True
    assert (await _read_answer(reader))[2] == b"aiohttp:after"
    assert served.guard_count == 1  # counted once, by whichever serves it
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.05)
    assert served.guard_count == 0


@pytest.mark.parametrize(
    "raw",
    [
        _request(b"x", media=b"message/ohttp-chunked-req"),  # a stream: aiohttp's
        _request(b"x", extra=b"Expect: 100-continue\r\n"),
        _request(b"x", extra=b"Authorization: Basic eA==\r\n"),  # a field the lane does not know
        _request(b"x", extra=b"Content-Length: 1\r\n"),  # repeated
        _request(b"x", extra=b"Content-Type: message/ohttp-req\r\n"),  # repeated, same value
        _request(b"x", extra=b"Content-Encoding: gzip\r\n"),
        _request(b"x", extra=b"Connection: upgrade\r\nUpgrade: websocket\r\n"),
        _request(b"x", extra=b"Connection: upgrade\r\nUpgrade: h2c\r\n"),
        _request(b"x").replace(b"Host: gw\r\n", b""),
        _request(b"x").replace(b"HTTP/1.1", b"HTTP/1.0"),
        _request(b"x").replace(b"/v1/ohttp", b"/v1/ohttp?a=1"),
        _request(b"x" * (limits.LANE_MAX_BODY_BYTES + 1)),
        b"POST /v1/ohttp HTTP/1.1\r\nHost: gw\r\nContent-Type: message/ohttp-req\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    ],
    ids=[
        "chunked-media",
        "expect",
        "extra-field",
        "two-lengths",
        "two-media-types",
        "compressed",
        "upgrade",
        "h2c",
        "no-host",
        "http-1.0",
        "query",
        "body-over-the-lane-bound",
        "chunked-body",
    ],
)
async def test_every_other_shape_is_aiohttps(
    served: Served, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await served.connect()
    writer.write(raw)
    status, _, answer = await _read_answer(reader)
    assert served.lane_seen == []
    assert status >= 400 or answer.startswith(b"aiohttp:")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    writer.close()


async def test_a_malformed_head_gets_aiohttps_answer_our_json_error(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(b"POST /v1/ohttp HTTP/1.1\r\nContent-Length: nine\r\nContent-Type: x\r\n\r\n")
    status, fields, answer = await _read_answer(reader)
    assert status == 400 and "server" not in fields
    assert json.loads(answer)["error"] == "bad_request"
    assert served.lane_seen == []


async def test_pipelined_requests_are_answered_in_order(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(_request(b"slow0.2") + _request(b"slow0") + _request(b"three"))
    answers = [(await _read_answer(reader))[2] for _ in range(3)]
    assert answers == [b"lane:slow0.2", b"lane:slow0", b"lane:three"]
    writer.close()


async def test_route_errors_are_our_json_errors_and_the_lane_keeps_serving(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await served.connect()
    writer.write(_request(b"peer-error"))
    status, _, answer = await _read_answer(reader)
    assert status == 400 and json.loads(answer)["error"] == "malformed"
    writer.write(_request(b"crash"))
    status, _, answer = await _read_answer(reader)
    assert status == 500 and json.loads(answer)["error"] == "internal_error"
    writer.write(_request(b"still here"))
    assert (await _read_answer(reader))[2] == b"lane:still here"
    assert "secret text" not in caplog.text
    writer.close()


async def test_a_slow_body_is_answered_408_and_closed(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "BODY_READ_TIMEOUT_S", 0.2)
    reader, writer = await served.connect()
    writer.write(_request(b"y" * 1000)[:-900])  # the head and 100 bytes of 1,000
    status, fields, answer = await _read_answer(reader)
    assert status == 408 and fields["connection"] == "close"
    assert json.loads(answer)["error"] == "timeout"
    assert served.metrics.counters["requests{route=ohttp,status=408}"] == 1
    assert served.metrics.counters["bytes_out{route=ohttp}"] == len(answer)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed
    assert served.lane_seen == []


async def test_a_head_that_never_ends_is_closed_after_the_idle_time(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "HTTP_IDLE_TIMEOUT_S", 0.2)
    reader, writer = await served.connect()
    writer.write(b"POST /v1/ohttp HTTP/1.1\r\nHost: gw\r\n")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    await asyncio.sleep(0.05)
    assert served.guard_count == 0


async def test_connection_close_is_honoured(served: Served) -> None:
    reader, writer = await served.connect()
    writer.write(_request(b"bye", extra=b"Connection: close\r\n"))
    status, fields, answer = await _read_answer(reader)
    assert (status, answer, fields["connection"]) == (200, b"lane:bye", "close")
    assert await asyncio.wait_for(reader.read(), 5) == b""


async def test_a_body_over_the_services_budget_is_refused_by_aiohttp_with_503(
    served: Served,
) -> None:
    budget = served.runner.app[SERVICE].budget
    assert budget is not None
    budget.in_use = budget.capacity - 3  # the service holds other bodies
    reader, writer = await served.connect()
    writer.write(_request(b"four"))
    status, _, answer = await _read_answer(reader)
    assert status == 503 and json.loads(answer)["error"] == "unavailable"
    assert served.lane_seen == [] and budget.in_use == budget.capacity - 3
    writer.close()


async def test_shutdown_lets_the_answer_being_made_finish_then_closes(served: Served) -> None:
    reader, writer = await served.connect()
    idle_reader, idle_writer = await served.connect()
    writer.write(_request(b"slow0.3"))
    await asyncio.sleep(0.1)
    await served.runner.cleanup()
    status, fields, answer = await _read_answer(reader)
    assert (status, answer, fields["connection"]) == (200, b"lane:slow0.3", "close")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert await asyncio.wait_for(idle_reader.read(), 5) == b""
    writer.close()
    idle_writer.close()


async def test_a_peer_sending_ahead_while_an_answer_is_made_is_not_read_past_the_bound(
    served: Served,
) -> None:
    reader, writer = await served.connect()
    body = b"z" * limits.LANE_MAX_BODY_BYTES
    writer.write(_request(b"slow0.3") + _request(body) * 8)  # 8 more, far past the bound
    await asyncio.sleep(0.15)
    (conn,) = served.runner.server._lanes  # type: ignore[union-attr]
    # Reading stops at the read that passed the bound (asyncio reads up to 256 KiB at once),
    # the one that started the answer included: not all 520 KiB, nor two reads' worth.
    assert conn._read_paused and len(conn._buffer) <= 256 * 1024
    answers = [(await _read_answer(reader))[2] for _ in range(9)]
    assert answers[0] == b"lane:slow0.3" and answers[1:] == [b"lane:" + body] * 8
    assert not conn._read_paused
    writer.close()


async def _small_buffered_peer(
    port: int, *, reading: bool = False, limit: int = 2**16
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A peer whose socket takes 4 KiB at a time; unless ``reading``, its stream reads nothing
    (the stream reader would read up to 128 KiB itself)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
    if not reading:
        writer.transport.pause_reading()
    await asyncio.sleep(0.05)
    return reader, writer


def _small_send_buffer(transport: asyncio.BaseTransport) -> None:
    """The service's side of the connection sends 4 KiB at a time."""
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


async def test_a_peer_that_does_not_read_its_answers_gets_no_more_made_until_it_reads(
    served: Served,
) -> None:
    # Small socket buffers both ways, and a peer that sends 40 requests and reads nothing:
    # once the answers fill the kernel's buffers and the transport's, the lane makes no more
    # (pause_writing) and, past its bound, reads no more; when the peer reads, every answer
    # comes, in order, and the lane reads and answers again.
    reader, writer = await _small_buffered_peer(served.port)
    (conn,) = served.runner.server._lanes  # type: ignore[union-attr]
    _small_send_buffer(conn._transport)
    body = b"w" * limits.LANE_MAX_BODY_BYTES
    count = 40
    writer.write(_request(body) * count)
    for _ in range(250):
        if conn._write_paused and conn._read_paused:
            break
        await asyncio.sleep(0.02)
    assert conn._write_paused and conn._read_paused
    made = len(served.lane_seen)
    await asyncio.sleep(0.2)
    assert len(served.lane_seen) == made < count  # none made while the peer does not read
    assert len(conn._buffer) <= limits.LANE_MAX_BUFFERED_BYTES + 256 * 1024
    writer.transport.resume_reading()
    answers = [(await _read_answer(reader))[2] for _ in range(count)]
    assert answers == [b"lane:" + body] * count
    assert not conn._write_paused and not conn._read_paused
    assert served.aiohttp_seen == []
    writer.close()


async def test_a_peer_that_never_reads_its_answers_is_dropped_at_the_idle_time(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A peer that sends requests and reads no answer: once the answers fill the buffers, the
    # lane makes no more. When the idle time runs out with answers still unsent, a close
    # waits for the peer to take them: without more, it would hold the connection and its
    # place under the guard's caps for ever. The system drops it (TCP_USER_TIMEOUT).
    monkeypatch.setattr(limits, "HTTP_IDLE_TIMEOUT_S", 0.3)
    _reader, writer = await _small_buffered_peer(served.port)
    (conn,) = served.runner.server._lanes  # type: ignore[union-attr]
    _small_send_buffer(conn._transport)
    writer.write(_request(b"n" * limits.LANE_MAX_BODY_BYTES) * 8)
    for _ in range(100):
        if served.guard_count == 0:
            break
        await asyncio.sleep(0.05)
    assert served.guard_count == 0 and not served.runner.server._lanes  # type: ignore[union-attr]
    writer.close()


async def test_a_peer_that_never_reads_aiohttps_answers_is_dropped_by_the_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same peer at a service without a lane (aiohttp's connections): its handler waits for
    # the write buffer to drain, with no timer of aiohttp's running. The system drops the
    # connection once what was sent stays unacknowledged for the idle time (TCP_USER_TIMEOUT).
    monkeypatch.setattr(limits, "HTTP_IDLE_TIMEOUT_S", 0.5)
    seen: list[int] = []

    async def route(request: web.Request) -> web.Response:
        seen.append(len(await read_body(request, limit=limits.MAX_OHTTP_REQUEST)))
        return web.Response(body=b"b" * (1 << 20), content_type="message/ohttp-res")

    app = new_app("no-lane-test", Metrics("no-lane-test"))
    app.router.add_post(PATH, route, name="ohttp")
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        _reader, writer = await _small_buffered_peer(port)
        (handler,) = runner.server.connections  # type: ignore[union-attr]
        _small_send_buffer(handler.transport)
        writer.write(_request(b"x") * 4)
        guard = runner.server.guard  # type: ignore[union-attr]
        for _ in range(100):
            if seen and guard.count == 0:
                break
            await asyncio.sleep(0.05)
        assert seen and guard.count == 0
        writer.close()
    finally:
        await runner.cleanup()


async def test_a_peer_taking_a_large_answer_slowly_keeps_it_past_the_idle_time(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An answer of 64 KiB taken 4 KiB at a time, about 80 KiB/s, outlasts an idle time of
    # 0.3 s: a peer that reads slowly is not one that does not read, and gets it whole.
    monkeypatch.setattr(limits, "HTTP_IDLE_TIMEOUT_S", 0.3)
    reader, writer = await _small_buffered_peer(served.port, reading=True, limit=4096)
    (conn,) = served.runner.server._lanes  # type: ignore[union-attr]
    _small_send_buffer(conn._transport)
    body = b"s" * (limits.LANE_MAX_BODY_BYTES - 8)
    writer.write(_request(body))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    got = b""
    while len(got) < length:
        await asyncio.sleep(0.05)
        piece = await asyncio.wait_for(reader.read(4096), 5)
        assert piece, "dropped before the answer was taken"
        got += piece
    assert got == b"lane:" + body
    writer.close()


@pytest.mark.parametrize(
    "path", [b"/v1/ohttp?a=1", b"/v1/ohttp/", b"/V1/ohttp", b"http://gw/v1/ohttp", b"*"]
)
def test_a_head_for_another_target_is_not_the_lanes(path: bytes) -> None:
    head = _request(b"").replace(b"/v1/ohttp", path, 1)
    assert lane_head(head, PATH.encode(), MEDIA.encode(), 100) is None
    assert lane_head(_request(b""), PATH.encode(), MEDIA.encode(), 100) is not None


@pytest.mark.parametrize(
    ("passed_on", "answered"), [(520, 520), (299, 299), (204, 502), (304, 502), (101, 502)]
)
async def test_a_next_hops_status_is_passed_on_when_it_can_be_framed_else_502(
    served: Served, passed_on: int, answered: int
) -> None:
    reader, writer = await served.connect()
    writer.write(_request(b"status:%d" % passed_on))
    status, _, answer = await _read_answer(reader)
    assert status == answered
    if answered == 502:
        assert json.loads(answer)["error"] == "upstream"
    writer.write(_request(b"next"))
    assert (await _read_answer(reader))[2] == b"lane:next"  # the connection goes on
    writer.close()


class _Transport(asyncio.Transport):
    """A transport that records what the lane does with it (no socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.written = b""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def get_write_buffer_size(self) -> int:
        return 0  # every write is taken at once

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def test_the_read_that_starts_an_answer_counts_against_the_bound(served: Served) -> None:
    # One read holding a whole request and, behind it, more than the bound: reading stops
    # at once, not one read later.
    server = served.runner.server
    assert server is not None
    conn = server()
    transport = _Transport()
    conn.connection_made(transport)
    ahead = _request(b"z" * limits.LANE_MAX_BODY_BYTES) * 2
    conn.data_received(_request(b"slow0.1") + ahead)
    assert transport.paused
    await asyncio.sleep(0.3)  # answered, then the two ahead
    assert not transport.paused and transport.written.count(b"HTTP/1.1 200") == 3
    conn.connection_lost(None)


def test_an_observed_service_serves_without_its_lane() -> None:
    # The console's inspector taps services by middleware, which the lane does not pass.
    from privcloud.services.observe import Observer

    app = new_app("relay", Metrics("relay"))
    app[LANE] = Lane(PATH.encode(), MEDIA.encode(), "ohttp", _answer_with)
    Observer().install(app, "relay")
    assert LANE not in app


async def test_the_device_agents_one_shot_requests_leave_from_its_own_address() -> None:
    # The console's device agent sends from DEVICE_LOOPBACK so that the relay is seen to learn
    # the device's address: its hop client (one-shot requests) as well as its aiohttp session.
    from privcloud.device.netaddr import DEVICE_LOOPBACK, DeviceClient, usable_source_address

    peers: list[str] = []

    async def answer(body: bytes) -> LaneAnswer:
        return LaneAnswer(200, "message/ohttp-res", body)

    async def route(request: web.Request) -> web.Response:
        peers.append(str(request.remote))
        return web.Response(body=await request.read(), content_type="message/ohttp-res")

    app = new_app("relay", Metrics("relay"))
    app.router.add_post(PATH, route, name="ohttp")
    app[LANE] = Lane(PATH.encode(), MEDIA.encode(), "ohttp", answer)
    from privcloud.services.observe import Observer

    Observer().install(app, "relay")  # as the console taps it: the route sees the peer
    runner, port = await start_site(app, "127.0.0.1", 0)
    client = DeviceClient(f"http://127.0.0.1:{port}", local_address=DEVICE_LOOPBACK)
    try:
        answer_ = await client.hop.post(f"{client.relay_url}{PATH}", b"x", MEDIA, limit=100)
        assert await answer_.read() == b"x"
        # Linux routes all of 127/8 to loopback; elsewhere the agent sends from the default.
        assert peers == [DEVICE_LOOPBACK if usable_source_address(DEVICE_LOOPBACK) else "127.0.0.1"]
    finally:
        await client.close()
        await runner.cleanup()


async def test_the_sdks_two_pools_to_the_relay_stay_within_its_per_peer_cap() -> None:
    # One-shot requests (hop client) and streams, tunnels and documents (aiohttp) together:
    # a busy device waits for a connection of its own rather than being refused one.
    from privcloud.sdk import Client

    client = Client("http://127.0.0.1:9")
    try:
        connector = client.session.connector
        assert connector is not None
        held = connector.limit + client.hop._max_idle
        assert held <= limits.MAX_RELAY_CONNECTIONS_PER_PEER
    finally:
        await client.close()
