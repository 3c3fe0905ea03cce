"""The hops' pooled one-shot client (privcloud.netio.hop) against real loopback servers: an
aiohttp service, and scripted servers that answer the ways a broken or hostile next hop can."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from privcloud import limits
from privcloud.errors import ConfigError, TooLargeError, UpstreamError, UpstreamUnreachableError
from privcloud.netio.hop import HopClient

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
    port = runner.addresses[0][1]
    try:
        for i in range(5):
            got = await hop.post(
                f"http://127.0.0.1:{port}/v1/envelope", b"abc%d" % i, "message/x", limit=64
            )
            assert (got.status, got.content_type, got.body) == (201, "message/x-test", b"%dcba" % i)
        large = bytes(range(256)) * 1024  # written apart from its head
        got = await hop.post(f"http://127.0.0.1:{port}/v1/envelope", large, "m/x", limit=1 << 20)
        assert got.body == large[::-1]
        assert len(peers) == 1
    finally:
        await runner.cleanup()


async def test_request_carries_only_host_type_and_length(hop: HopClient) -> None:
    server, url = await serve(echo())
    got = await hop.post(url, b"sealed", "message/ohttp-req", limit=64)
    assert got.content_type == "message/x-test" and got.body == b"sealed"
    port = url.split(":")[2].split("/")[0]
    assert server.requests == [
        b"POST /v1/envelope HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: message/ohttp-req\r\n"
        b"Content-Length: 6\r\n\r\nsealed" % port.encode()
    ]
    await server.stop()


async def test_connection_close_is_not_reused(hop: HopClient) -> None:
    server, url = await serve(echo(b"Connection: close\r\n"))
    for _ in range(3):
        assert (await hop.post(url, b"x", "m/x", limit=8)).body == b"x"
    assert server.connections == 3
    await server.stop()


async def test_chunked_answer_is_read_whole(hop: HopClient) -> None:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )

    server, url = await serve(script)
    got = await hop.post(url, b"", "m/x", limit=8)
    assert (got.body, got.content_type) == (b"abcde", "")
    assert (await hop.post(url, b"", "m/x", limit=8)).body == b"abcde"
    assert server.connections == 1
    await server.stop()


async def test_answer_without_a_length_is_refused(hop: HopClient) -> None:
    """A body ended by closing the connection cannot be told from one cut off."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: m/x\r\n\r\nwhole, or not?")
        writer.close()

    server, url = await serve(script)
    with pytest.raises(UpstreamError, match="closed the connection before its answer ended"):
        await hop.post(url, b"x", "m/x", limit=64)
    await server.stop()


async def test_answer_cut_short_is_refused_and_the_next_request_reconnects(
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
    with pytest.raises(UpstreamError) as caught:
        await hop.post(url, b"x", "m/x", limit=1000)
    assert not isinstance(caught.value, UpstreamUnreachableError)  # it may have been delivered
    assert (await hop.post(url, b"x", "m/x", limit=1000)).body == b"ok"
    assert server.connections == 2
    await server.stop()


async def test_body_over_the_callers_bound_is_too_large(hop: HopClient) -> None:
    server, url = await serve(echo())
    with pytest.raises(TooLargeError):
        await hop.post(url, b"x" * 65, "m/x", limit=64)
    assert (await hop.post(url, b"x" * 64, "m/x", limit=64)).body == b"x" * 64
    assert server.connections == 2  # the connection of the refused answer was not kept
    await server.stop()


async def test_head_over_the_bound_is_too_large(hop: HopClient) -> None:
    filler = b"X-Filler: " + b"a" * 4000 + b"\r\n"
    server, url = await serve(echo(filler * (limits.MAX_UPSTREAM_HEAD_BYTES // 4000 + 1)))
    with pytest.raises(TooLargeError, match="head"):
        await hop.post(url, b"x", "m/x", limit=64)
    await server.stop()


async def test_malformed_answer_is_refused(hop: HopClient) -> None:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc")

    server, url = await serve(script)
    with pytest.raises(UpstreamError, match="malformed"):
        await hop.post(url, b"x", "m/x", limit=64)
    await server.stop()


async def test_unsolicited_bytes_drop_the_idle_connection(hop: HopClient) -> None:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(answer(b"ok") + answer(b"smuggled"))

    server, url = await serve(script)
    assert (await hop.post(url, b"x", "m/x", limit=64)).body == b"ok"
    assert (await hop.post(url, b"x", "m/x", limit=64)).body == b"ok"  # never "smuggled"
    assert server.connections == 2
    await server.stop()


async def test_refused_connection_is_unreachable(hop: HopClient) -> None:
    server, url = await serve(echo())
    await server.stop()
    assert server.server is not None
    await server.server.wait_closed()
    with pytest.raises(UpstreamUnreachableError):
        await hop.post(url, b"x", "m/x", limit=64)


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
            await hop.post(url, b"x", "m/x", limit=64)
        talking, url = await serve(trickle)  # 0.6 s in all, never 0.3 s quiet
        assert (await hop.post(url, b"x", "m/x", limit=64)).body == b"steady"
    finally:
        await hop.close()
    await quiet.stop()
    await talking.stop()


async def test_total_bound_covers_the_whole_exchange() -> None:
    async def trickle(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"steady":
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))

    hop = HopClient(total=0.3)
    server, url = await serve(trickle)
    try:
        with pytest.raises(UpstreamError, match="too long"):
            await hop.post(url, b"x", "m/x", limit=64)
    finally:
        await hop.close()
    await server.stop()


async def test_a_cancelled_wait_closes_its_connection(hop: HopClient) -> None:
    ended: list[bytes] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes) -> None:
        with contextlib.suppress(TimeoutError):
            ended.append(await asyncio.wait_for(reader.read(1), 0.5))
        writer.write(answer(b"late"))

    server, url = await serve(slow)
    task = asyncio.create_task(hop.post(url, b"x", "m/x", limit=64))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert ended == [b""]  # the server saw the connection end, not another request
    assert (await hop.post(url, b"x", "m/x", limit=64)).body == b"late"
    assert server.connections == 2
    await server.stop()


async def test_an_idle_connection_is_not_kept_past_the_pool_idle_time() -> None:
    hop = HopClient(pool_idle=0.1)
    server, url = await serve(echo())
    try:
        await hop.post(url, b"x", "m/x", limit=64)
        await hop.post(url, b"x", "m/x", limit=64)
        assert server.connections == 1
        await asyncio.sleep(0.2)
        await hop.post(url, b"x", "m/x", limit=64)
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
        got = await asyncio.gather(*(hop.post(url, b"%d" % i, "m/x", limit=8) for i in range(8)))
        assert [g.body for g in got] == [b"%d" % i for i in range(8)]
        assert server.most_open <= 2
    finally:
        await hop.close()
    await server.stop()


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/x", "http:///x", "http://127.0.0.1/a b", "http://127.0.0.1/x\x7f"],
)
async def test_a_url_that_cannot_be_a_request_line_is_refused(hop: HopClient, url: str) -> None:
    with pytest.raises(ConfigError):
        await hop.post(url, b"x", "m/x", limit=8)


async def test_header_injection_through_the_media_type_is_refused(hop: HopClient) -> None:
    server, url = await serve(echo())
    with pytest.raises(ConfigError):
        await hop.post(url, b"x", "m/x\r\nX-Injected: 1", limit=8)
    assert server.requests == []
    await server.stop()


async def test_a_closed_client_refuses(hop: HopClient) -> None:
    server, url = await serve(echo())
    await hop.post(url, b"x", "m/x", limit=8)
    await hop.close()
    with pytest.raises(UpstreamUnreachableError):
        await hop.post(url, b"x", "m/x", limit=8)
    await asyncio.sleep(0.05)
    assert server.eofs == 1  # the idle connection was closed
    await server.stop()
