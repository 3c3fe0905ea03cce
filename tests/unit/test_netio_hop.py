"""The hops' pooled one-shot client (privcloud.netio.hop) against real loopback servers: an
aiohttp service, and scripted servers that answer the ways a broken or hostile next hop can."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvloop
from aiohttp import web

from privcloud import limits
from privcloud.errors import ConfigError, TooLargeError, UpstreamError, UpstreamUnreachableError
from privcloud.netio.hop import HopClient

Got = tuple[int, str, bytes]

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


class Scripted:
    """A raw TCP server: reads each request (head and body) and answers by ``script``;
    remembers every request's bytes and how many connections it accepted."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.eofs = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/envelope"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.eofs += 1
                    return
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                await self.script(reader, writer, request)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.CancelledError):
            return  # the client went away, or the test is over
        finally:
            self.open_now -= 1
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def answer(body: bytes, *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: message/x-test; charset=x\r\n"
        b"Content-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)
    )


def raw(reply: bytes, *, close: bool = False) -> Script:
    """Answer every request with ``reply`` as it stands (then close, with ``close``)."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(reply)
        if close:
            writer.close()

    return script


def echo(extra: bytes = b"") -> Script:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> None:
        writer.write(answer(req.split(b"\r\n\r\n", 1)[1], extra=extra))
        await writer.drain()

    return script


@pytest.fixture
async def hop() -> AsyncIterator[HopClient]:
    client = HopClient()
    yield client
    await client.close()


async def fetch(hop: HopClient, url: str, body: bytes = b"x", *, limit: int = 64) -> Got:
    """One exchange, its body read: (status, media type, body)."""
    answer = await hop.post(url, body, "m/x", limit=limit)
    return answer.status, answer.content_type, await answer.read()


async def serve(script: Script) -> tuple[Scripted, str]:
    server = Scripted(script)
    return server, await server.start()


async def test_round_trip_with_an_aiohttp_service_reuses_one_connection(hop: HopClient) -> None:
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.Response:
        peers.add(request.transport)
        body = await request.read()
        return web.Response(body=body[::-1], content_type="message/x-test", status=201)

    app = web.Application()
    app.router.add_post("/v1/envelope", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/envelope"
    try:
        for i in range(5):
            got = await fetch(hop, url, b"abc%d" % i)
            assert got == (201, "message/x-test", b"%dcba" % i)
        large = bytes(range(256)) * 1024  # written apart from its head
        assert (await fetch(hop, url, large, limit=1 << 20))[2] == large[::-1]
        assert len(peers) == 1
    finally:
        await runner.cleanup()


async def test_request_carries_only_host_type_and_length(hop: HopClient) -> None:
    server, url = await serve(echo())
    answer = await hop.post(url, b"sealed", "message/ohttp-req", limit=64)
    assert answer.content_type == "message/x-test" and await answer.read() == b"sealed"
    port = url.split(":")[2].split("/")[0]
    assert server.requests == [
        b"POST /v1/envelope HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: message/ohttp-req\r\n"
        b"Content-Length: 6\r\n\r\nsealed" % port.encode()
    ]
    await server.stop()


async def test_connection_close_is_not_reused(hop: HopClient) -> None:
    server, url = await serve(echo(b"Connection: close\r\n"))
    for _ in range(3):
        assert (await fetch(hop, url))[2] == b"x"
    assert server.connections == 3
    await server.stop()


async def test_an_answer_dropped_unread_closes_its_connection(hop: HopClient) -> None:
    server, url = await serve(echo())
    answer = await hop.post(url, b"x", "m/x", limit=8)
    answer.close()
    assert (await fetch(hop, url))[2] == b"x"
    assert server.connections == 2
    await server.stop()


async def test_chunked_answer_is_read_whole_and_its_trailer_changes_nothing(
    hop: HopClient,
) -> None:
    server, url = await serve(
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: m/x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\nContent-Type: m/trailer\r\n\r\n"
        )
    )
    assert await fetch(hop, url, b"") == (200, "m/x", b"abcde")
    assert await fetch(hop, url, b"") == (200, "m/x", b"abcde")
    assert server.connections == 1
    await server.stop()


async def test_an_interim_answer_is_skipped_and_never_reaches_the_next_request(
    hop: HopClient,
) -> None:
    """A 100 or 103 before the final answer (allowed unasked): were it taken as the answer,
    the final one would be handed to the next request on the connection."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(req.split(b"\r\n\r\n", 1)[1]))

    server, url = await serve(script)
    assert await fetch(hop, url, b"for A") == (200, "message/x-test", b"for A")
    assert await fetch(hop, url, b"for B") == (200, "message/x-test", b"for B")
    assert server.connections == 1
    await server.stop()


@pytest.mark.parametrize(
    ("reply", "close", "match"),
    [
        (  # a protocol switch: the hop only exchanges whole answers
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nraw",
            False,
            "switched protocols",
        ),
        (  # no length: a body ended by closing cannot be told from one cut off
            b"HTTP/1.1 200 OK\r\nContent-Type: m/x\r\n\r\nwhole, or not?",
            True,
            "closed the connection before its answer ended",
        ),
        (  # two lengths: llhttp refuses what two parsers could read two ways
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
            False,
            "malformed",
        ),
    ],
    ids=["switching-protocols", "no-length", "two-lengths"],
)
async def test_an_answer_that_is_not_one_whole_answer_is_refused(
    hop: HopClient, reply: bytes, close: bool, match: str
) -> None:
    server, url = await serve(raw(reply, close=close))
    with pytest.raises(UpstreamError, match=match):
        await fetch(hop, url)
    await server.stop()


async def test_answer_cut_after_its_head_fails_the_read_and_the_next_request_reconnects(
    hop: HopClient,
) -> None:
    cut = [True]

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        if cut.pop() if cut else False:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            writer.close()
        else:
            writer.write(answer(b"ok"))

    server, url = await serve(script)
    answer_ = await hop.post(url, b"x", "m/x", limit=1000)
    assert answer_.status == 200  # the head came: a node that answered did the work
    with pytest.raises(UpstreamError) as caught:
        await answer_.read()
    assert not isinstance(caught.value, UpstreamUnreachableError)  # it may have been delivered
    assert (await fetch(hop, url, limit=1000))[2] == b"ok"
    assert server.connections == 2
    await server.stop()


async def test_body_over_the_callers_bound_is_too_large(hop: HopClient) -> None:
    server, url = await serve(echo())
    with pytest.raises(TooLargeError):
        await fetch(hop, url, b"x" * 65)
    assert (await fetch(hop, url, b"x" * 64))[2] == b"x" * 64
    assert server.connections == 2  # the connection of the refused answer was not kept
    await server.stop()


async def test_head_over_the_bound_is_too_large(hop: HopClient) -> None:
    filler = b"X-Filler: " + b"a" * 4000 + b"\r\n"
    server, url = await serve(echo(filler * (limits.MAX_UPSTREAM_HEAD_BYTES // 4000 + 1)))
    with pytest.raises(TooLargeError, match="head"):
        await fetch(hop, url)
    await server.stop()


@pytest.mark.parametrize(
    ("opening", "match"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Endless: ", "head"),  # one header value that never ends
        (  # a chunked body's trailer that never ends
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX: ",
            "besides its body",
        ),
    ],
    ids=["header", "trailer"],
)
async def test_an_endless_field_is_cut_by_the_bytes_fed(
    hop: HopClient, opening: bytes, match: str
) -> None:
    """llhttp gathers a field's value whole before calling back, so the bound on parsed
    fields cannot stop one that never ends: the bytes fed meanwhile are bounded."""
    sent = [0]

    async def endless(__: asyncio.StreamReader, writer: asyncio.StreamWriter, ___: bytes) -> None:
        writer.write(opening)
        while sent[0] < 64 * limits.MAX_UPSTREAM_HEAD_BYTES:
            writer.write(b"a" * 16384)
            sent[0] += 16384
            await writer.drain()

    server, url = await serve(endless)
    with pytest.raises(TooLargeError, match=match):
        await fetch(hop, url, limit=1 << 20)
    assert sent[0] < 64 * limits.MAX_UPSTREAM_HEAD_BYTES
    await server.stop()


async def test_a_flood_of_interim_answers_is_cut_at_the_head_bound(hop: HopClient) -> None:
    sent = [0]

    async def flood(__: asyncio.StreamReader, writer: asyncio.StreamWriter, ___: bytes) -> None:
        while sent[0] < 64 * limits.MAX_UPSTREAM_HEAD_BYTES:
            writer.write(b"HTTP/1.1 100 \r\n\r\n" * 1024)
            sent[0] += 17 * 1024
            await writer.drain()

    server, url = await serve(flood)
    with pytest.raises(TooLargeError, match="head"):
        await fetch(hop, url)
    assert sent[0] < 64 * limits.MAX_UPSTREAM_HEAD_BYTES
    await server.stop()


async def test_a_lower_bound_at_read_applies_to_the_body(hop: HopClient) -> None:
    server, url = await serve(echo())
    answer_ = await hop.post(url, b"e" * 100, "m/x", limit=1000)
    with pytest.raises(TooLargeError):
        await answer_.read(64)  # an error's body, say: bounded tighter than an answer's
    assert (await fetch(hop, url, b"e" * 64))[2] == b"e" * 64
    await server.stop()


async def test_chunk_framing_beyond_the_body_is_too_large(hop: HopClient) -> None:
    """One-byte chunks cost six wire bytes per body byte: past twice the bound, refused."""
    body_bytes = 64 * 1024

    async def tiny(__: asyncio.StreamReader, writer: asyncio.StreamWriter, ___: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(body_bytes // 512):
            writer.write(b"1\r\na\r\n" * 512)
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    server, url = await serve(tiny)
    with pytest.raises(TooLargeError):
        await fetch(hop, url, limit=body_bytes)
    await server.stop()


def chunked(count: int, chunk: bytes) -> Script:
    """Answer with ``count`` chunks of ``chunk`` each, written in blocks."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        one = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        for done in range(0, count, 1024):
            writer.write(one * min(1024, count - done))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    return script


async def test_one_byte_chunks_within_every_byte_bound_are_cut_by_their_count(
    hop: HopClient,
) -> None:
    """A hostile next hop's one-byte chunks: within the body and wire bounds (a 32 MiB bound
    allows 11 million of them, 1.5 s of CPU), refused after MAX_UPSTREAM_BODY_CHUNKS."""
    server, url = await serve(chunked(limits.MAX_UPSTREAM_BODY_CHUNKS + 1024, b"a"))
    with pytest.raises(TooLargeError, match="too many chunks"):
        await fetch(hop, url, limit=limits.MAX_UPSTREAM_BODY_CHUNKS * 8)
    await server.stop()


async def test_a_body_with_a_length_in_many_small_reads_is_read_whole(hop: HopClient) -> None:
    """Chunks are counted, not reads: a body with a Content-Length that arrives in more reads
    than MAX_UPSTREAM_BODY_CHUNKS (a slow network, a proxy writing small pieces) is taken."""
    size = 2 * (limits.MAX_UPSTREAM_BODY_CHUNKS + 4096) * 16  # (two writes to a read, here)

    async def dribble(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // 16):
            writer.write(b"d" * 16)
            await asyncio.sleep(0)  # the client reads before many more are written

    server, url = await serve(dribble)
    assert len((await fetch(hop, url, limit=size))[2]) == size
    await server.stop()


async def test_a_streamed_answer_of_many_events_is_read_whole(hop: HopClient) -> None:
    """A node's streamed answer, one chunk per sealed event (a long chat's tokens)."""
    event = b"s" * 40
    server, url = await serve(chunked(8192, event))
    assert (await fetch(hop, url, limit=1 << 20))[2] == event * 8192
    await server.stop()


async def test_unsolicited_bytes_drop_the_idle_connection(hop: HopClient) -> None:
    server, url = await serve(raw(answer(b"ok") + answer(b"smuggled")))
    assert (await fetch(hop, url))[2] == b"ok"
    assert (await fetch(hop, url))[2] == b"ok"  # never "smuggled"
    assert server.connections == 2
    await server.stop()


async def test_an_early_answer_leaves_its_connection_out_of_the_pool(hop: HopClient) -> None:
    """A next hop that answers before it read the body: the connection still holds unsent
    bytes, so the next request is not queued behind them."""
    opened = [0]

    async def early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened[0] += 1
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer(b"early"))
            await writer.drain()
            await asyncio.sleep(0.5)  # reads nothing more
        writer.close()

    server = await asyncio.start_server(early, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
    try:
        assert (await fetch(hop, url, b"b" * (16 << 20)))[2] == b"early"
        assert (await fetch(hop, url))[2] == b"early"
        assert opened[0] == 2
    finally:
        server.close()


async def test_refused_connection_is_unreachable(hop: HopClient) -> None:
    server, url = await serve(echo())
    await server.stop()
    assert server.server is not None
    await server.server.wait_closed()
    with pytest.raises(UpstreamUnreachableError):
        await fetch(hop, url)


async def test_a_next_hop_gone_quiet_times_out_and_one_still_talking_does_not() -> None:
    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        await asyncio.sleep(5)

    async def trickle(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"steady":
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))

    hop = HopClient(idle_timeout=0.3)
    try:
        quiet, url = await serve(silent)
        with pytest.raises(UpstreamError, match="went quiet"):
            await fetch(hop, url)
        talking, url = await serve(trickle)  # 0.6 s in all, never 0.3 s quiet
        assert (await fetch(hop, url))[2] == b"steady"
    finally:
        await hop.close()
    await quiet.stop()
    await talking.stop()


async def test_a_next_hop_dripping_its_answer_is_cut_at_the_total_time() -> None:
    # A byte every 0.1 s is never 0.3 s quiet: without a bound on the whole exchange, a next
    # hop could hold the slot for ever. The head comes at once (post returns), the body drips;
    # the exchange fails at the total time (1 s), its slot is free again, and a next hop that
    # answers at once is served (one slot: it would wait for ever if the slot were held).
    async def drip(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _byte in range(100):
            await asyncio.sleep(0.1)
            writer.write(b"d")

    hop = HopClient(connections=1, idle_timeout=0.3, total_timeout=1.0)
    loop = asyncio.get_running_loop()
    try:
        dripping, url = await serve(drip)
        started = loop.time()
        got = await hop.post(url, b"x", "m/x", limit=1024)
        with pytest.raises(UpstreamError, match="took too long"):
            await got.read()
        assert 0.9 < loop.time() - started < 1.6
        quick, url = await serve(echo())
        assert (await asyncio.wait_for(fetch(hop, url), 2.0))[2] == b"x"
    finally:
        await hop.close()
    await dripping.stop()
    await quick.stop()


async def test_a_next_hop_still_reading_a_large_request_is_not_quiet() -> None:
    # A next hop with a small receive buffer takes a 4 MiB request in small reads, one every
    # 0.05 s: about 2 s in all, never 0.5 s without taking more (most of it waits in our
    # transport, the rest in the socket's send queue). Then it answers. One that takes nothing
    # of the request for 0.5 s is quiet.
    body = b"u" * (4 << 20)
    taken: list[int] = []

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        while sum(taken) < length:
            await asyncio.sleep(0.05)
            taken.append(len(await reader.read(min(256 << 10, length - sum(taken)))))
        writer.write(answer(b"%d" % sum(taken)))
        await writer.drain()
        writer.close()

    async def stalled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        await asyncio.sleep(3)
        writer.close()

    hop = HopClient(idle_timeout=0.5)
    servers = []
    try:
        for handler in (slow_reader, stalled):
            listening = socket.socket()
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # accepted inherit it
            listening.bind(("127.0.0.1", 0))
            servers.append(await asyncio.start_server(handler, sock=listening))
        urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}/v1/envelope" for s in servers]
        started = asyncio.get_running_loop().time()
        got = await hop.post(urls[0], body, "m/x", limit=64)
        assert await got.read() == b"%d" % len(body)
        assert asyncio.get_running_loop().time() - started > 1.0  # twice the idle time
        with pytest.raises(UpstreamError, match="went quiet"):
            await hop.post(urls[1], body, "m/x", limit=64)
    finally:
        await hop.close()
        for server in servers:
            server.close()


async def test_a_cancelled_wait_closes_its_connection(hop: HopClient) -> None:
    ended: list[bytes] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes) -> None:
        with contextlib.suppress(TimeoutError):
            ended.append(await asyncio.wait_for(reader.read(1), 0.5))
        writer.write(answer(b"late"))

    server, url = await serve(slow)
    task = asyncio.create_task(fetch(hop, url))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert ended == [b""]  # the server saw the connection end, not another request
    assert (await fetch(hop, url))[2] == b"late"
    assert server.connections == 2
    await server.stop()


async def test_an_idle_connection_is_not_kept_past_the_pool_idle_time() -> None:
    hop = HopClient(pool_idle=0.1)
    server, url = await serve(echo())
    try:
        await fetch(hop, url)
        await fetch(hop, url)
        assert server.connections == 1
        await asyncio.sleep(0.2)
        await fetch(hop, url)
        assert server.connections == 2
    finally:
        await hop.close()
    await server.stop()


async def test_exchanges_in_flight_are_capped() -> None:
    async def slow(_: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> None:
        await asyncio.sleep(0.05)
        writer.write(answer(req.split(b"\r\n\r\n", 1)[1]))

    hop = HopClient(connections=2)
    server, url = await serve(slow)
    try:
        got = await asyncio.gather(*(fetch(hop, url, b"%d" % i) for i in range(8)))
        assert [g[2] for g in got] == [b"%d" % i for i in range(8)]
        assert server.most_open <= 2
    finally:
        await hop.close()
    await server.stop()


async def test_idle_connections_over_every_origin_are_capped() -> None:
    hop = HopClient(connections=2, pool_idle=0.1)
    servers = [await serve(echo()) for _ in range(4)]
    try:
        for _, url in servers:
            await fetch(hop, url)
        await asyncio.sleep(0.05)
        assert sum(s.open_now for s, _ in servers) <= 2  # the rest closed when given back
        await asyncio.sleep(0.1)
        await fetch(hop, servers[0][1])  # a give-back sweeps what waited past pool_idle
        await asyncio.sleep(0.05)
        assert sum(s.open_now for s, _ in servers) == 1
    finally:
        await hop.close()
    for server, _ in servers:
        await server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x",
        "http:///x",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/x\x7f",
        "http://gate way.example/x",  # a host name no resolver is asked for
        "http://gate\x00way.example/x",
    ],
)
async def test_a_url_that_cannot_be_a_request_line_is_refused(hop: HopClient, url: str) -> None:
    with pytest.raises(ConfigError):
        await fetch(hop, url)


async def test_header_injection_through_the_media_type_is_refused(hop: HopClient) -> None:
    server, url = await serve(echo())
    with pytest.raises(ConfigError):
        await hop.post(url, b"x", "m/x\r\nX-Injected: 1", limit=8)
    assert server.requests == []
    await server.stop()


async def test_a_closed_client_refuses(hop: HopClient) -> None:
    server, url = await serve(echo())
    await fetch(hop, url)
    await hop.close()
    with pytest.raises(UpstreamUnreachableError):
        await fetch(hop, url)
    await asyncio.sleep(0.05)
    assert server.eofs == 1  # the idle connection was closed
    await server.stop()


def test_round_trip_on_uvloop() -> None:
    """The services may run on uvloop (docs/adr/0024), whose transports are its own classes."""

    async def main() -> Got:
        server, url = await serve(echo())
        hop = HopClient()
        try:
            await fetch(hop, url, b"one")
            return await fetch(hop, url, b"two")
        finally:
            await hop.close()
            await server.stop()

    assert uvloop.run(main()) == (200, "message/x-test", b"two")
