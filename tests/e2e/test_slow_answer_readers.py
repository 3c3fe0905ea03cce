"""Answers held for slow readers (a red-team review, 2026-12-07): the relay read a log page whole
(up to ``MAX_RELAYED_LOG_RESPONSE``, 8 MiB) and held it for the device, with no budget, no write
deadline and no minimum read rate. 48 connections asking for a 6.4 MB page and reading nothing
took the relay from 50 to 468 MiB for 75 s (until ``HTTP_IDLE_TIMEOUT_S``); readers taking
16 KiB/s held theirs for minutes.

Now an answer's bytes count in the relay's answer budget, per peer address too
(``MAX_INFLIGHT_ANSWER_BYTES_PER_PEER``: 429 past it), and a peer must take a document or log
read at ``MIN_ANSWER_READ_RATE_BPS`` after ``ANSWER_READ_GRACE_S`` of waiting
(services.answers), or the relay resets the connection and drops what it held; OHTTP streams
are not paced. A relay in this process, on loopback, with
a stand-in log and gateway; the bounds shrunk so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from privcloud import limits
from privcloud.ohttp import MEDIA_CHUNKED_REQUEST, MEDIA_CHUNKED_RESPONSE
from privcloud.services.http import SERVICE, BodyBudget
from privcloud.services.relay import Relay
from privcloud.services.site import start_site

ATTACKER = "127.0.0.2"
DEVICE = "127.0.0.3"
#: The log page the stand-in log serves (the real bound is MAX_RELAYED_LOG_RESPONSE).
PAGE = 3 * limits.MiB
#: The gateway stand-in's stream to a peer that stops reading: more than the buffers on the way.
STREAM = 16 * limits.MiB
#: The grace and the rate in these tests (10 s and 64 KiB/s in service).
GRACE_S = 1.0
RATE = 256 * limits.KiB
#: Seconds within which every exchange of these tests ends.
WAIT_S = 10.0


@pytest.fixture(autouse=True)
def _quick_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ANSWER_READ_GRACE_S", GRACE_S)
    monkeypatch.setattr(limits, "MIN_ANSWER_READ_RATE_BPS", RATE)


@contextlib.asynccontextmanager
async def _relay() -> AsyncIterator[tuple[web.Application, int]]:
    """A relay whose log serves one page of ``PAGE`` bytes and whose gateway answers a chunked
    request with ``STREAM`` bytes (``/v1/ohttp``), or, for a body ``pauses``, three pieces one
    and a half grace periods apart."""

    async def entries(_: web.Request) -> web.Response:
        return web.Response(body=bytes(PAGE), content_type="application/json")

    async def ohttp(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        response = web.StreamResponse(headers={"Content-Type": MEDIA_CHUNKED_RESPONSE})
        await response.prepare(request)
        if body == b"pauses":
            for piece in (b"a", b"b", b"c"):
                await response.write(piece)
                await asyncio.sleep(1.5 * GRACE_S)
        else:
            for _ in range(STREAM // limits.MiB):
                await response.write(bytes(limits.MiB))
        await response.write_eof()
        return response

    upstream = web.Application()
    upstream.router.add_get("/v1/entries", entries)
    upstream.router.add_post("/v1/ohttp", ohttp)
    up_runner, up_port = await start_site(upstream, "127.0.0.1", 0)
    upstream_url = f"http://127.0.0.1:{up_port}"
    app = Relay(upstream_url, log_url=upstream_url).app()
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        yield app, port
    finally:
        await runner.cleanup()
        await up_runner.cleanup()


def _answers(app: web.Application) -> BodyBudget:
    budget = app[SERVICE].answers
    assert budget is not None
    return budget


async def _ask(port: int, source: str, request: bytes) -> socket.socket:
    """A connection from ``source`` with a small receive buffer that has sent ``request``."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((source, 0))
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, request)
    return sock


def _get_page() -> bytes:
    return (
        b"GET /log/v1/entries?start=0&end=80 HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"
    )


def _post_chunked(body: bytes) -> bytes:
    return (
        f"POST /v1/ohttp HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n"
        f"Content-Type: {MEDIA_CHUNKED_REQUEST}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _read(sock: socket.socket, *, rate: int | None = None) -> tuple[bytes, bool]:
    """Read until the relay ends the connection, at ``rate`` bytes a second (None: at once),
    or for at most ``WAIT_S``: what came, and whether the relay reset the connection."""
    loop = asyncio.get_running_loop()
    got = bytearray()
    piece = 4096
    try:
        async with asyncio.timeout(WAIT_S):
            while data := await loop.sock_recv(sock, piece):
                got += data
                if rate is not None:
                    await asyncio.sleep(len(data) / rate)
    except ConnectionResetError:
        return bytes(got), True
    except TimeoutError:
        pass
    finally:
        sock.close()
    return bytes(got), False


def _whole(answer: bytes, size: int) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200 ") and len(body) == size


async def test_a_peer_that_never_reads_a_log_page_is_reset_and_its_bytes_released() -> None:
    async with _relay() as (app, port):
        sock = await _ask(port, ATTACKER, _get_page())
        await asyncio.sleep(GRACE_S + 2.0)  # reads nothing for twice the grace and more
        answer, reset = await _read(sock)
        assert reset and not _whole(answer, PAGE)
        assert _answers(app).in_use == 0


async def test_a_peer_reading_a_log_page_below_the_minimum_rate_is_reset() -> None:
    async with _relay() as (app, port):
        sock = await _ask(port, ATTACKER, _get_page())
        answer, reset = await _read(sock, rate=RATE // 4)
        assert reset and len(answer) < PAGE // 2
        assert _answers(app).in_use == 0
        # A device reading at once gets the whole page.
        answer, reset = await _read(await _ask(port, DEVICE, _get_page()))
        assert _whole(answer, PAGE)


async def test_one_address_is_held_to_its_share_of_the_answer_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "ANSWER_READ_GRACE_S", WAIT_S)  # the attacker's reads are held
    monkeypatch.setattr(limits, "MAX_INFLIGHT_ANSWER_BYTES", 4 * PAGE)
    monkeypatch.setattr(limits, "MAX_INFLIGHT_ANSWER_BYTES_PER_PEER", PAGE + PAGE // 2)
    async with _relay() as (app, port):
        loop = asyncio.get_running_loop()
        held = [await _ask(port, ATTACKER, _get_page()) for _ in range(3)]
        try:
            await asyncio.sleep(1.0)
            firsts = [await loop.sock_recv(sock, 12) for sock in held]
            # One page fits the attacker's share; the others are refused 429.
            assert sorted(firsts) == [b"HTTP/1.1 200", b"HTTP/1.1 429", b"HTTP/1.1 429"]
            assert _answers(app).held_by(ATTACKER) == PAGE
            answer, _ = await _read(await _ask(port, DEVICE, _get_page()))
            assert _whole(answer, PAGE)
        finally:
            for sock in held:
                sock.close()


async def test_an_ohttp_stream_read_slowly_is_not_cut() -> None:
    # A review (2026-12-07): pacing OHTTP streams too reset them when the service's own loop
    # was slow (its delay counted as waiting on the peer) and cut a slow link's large answer
    # after its token was spent. Streams are not paced: a device reading below the pace keeps
    # its stream (for the whole wait here, which the pace would have cut after its grace).
    async with _relay() as (_, port):
        sock = await _ask(port, DEVICE, _post_chunked(b"stream"))
        answer, reset = await _read(sock, rate=RATE // 4)
        assert not reset and answer.startswith(b"HTTP/1.1 200 ")


async def test_a_head_of_a_large_page_carries_no_body() -> None:
    # The review: a HEAD of a page over 64 KiB was answered with its body, which a client
    # reads as its next answer (1 MiB of body before the answer to a pipelined GET).
    async with _relay() as (_, port):
        head = _get_page().replace(b"GET ", b"HEAD ", 1)
        answer, reset = await _read(await _ask(port, DEVICE, head))
        assert not reset and answer.startswith(b"HTTP/1.1 200 ")
        assert answer.partition(b"\r\n\r\n")[2] == b""


async def test_a_stream_whose_source_pauses_past_the_grace_is_not_cut() -> None:
    async with _relay() as (_, port):
        answer, reset = await _read(await _ask(port, DEVICE, _post_chunked(b"pauses")))
        assert not reset and answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b"1\r\nc\r\n0\r\n\r\n")  # the last piece and the stream's end
