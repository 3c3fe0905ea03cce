"""``services.http.read_body`` on a real loopback server: a body that came in whole with its head
(read without waiting) and one that trickles in (read as it comes) get the same bounds — the
size limit, with or without a declared length — and the same bytes."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from privcloud.services import http
from privcloud.services.http import Metrics, read_body
from privcloud.services.site import new_app, start_site

LIMIT = 16


@pytest.fixture
def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the bodies read without waiting (``http._buffered_body``)."""
    calls: list[int] = []
    real = http._buffered_body

    def counted(*args: Any) -> bytes:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(http, "_buffered_body", counted)
    return calls


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await read_body(request, limit=LIMIT, timeout=5))

    app = new_app("read-body-test", Metrics("read-body-test"))
    app.router.add_post("/echo", echo)
    runner, bound = await start_site(app, "127.0.0.1", 0)
    yield bound
    await runner.cleanup()


async def _exchange(port: int, parts: list[bytes], pause: float = 0.0) -> tuple[int, bytes]:
    """Send ``parts`` (the head first) on one connection: in one write without ``pause``, else
    pausing between them; the answer's status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i, part in enumerate(parts if pause else [b"".join(parts)]):
        if i and pause:
            await asyncio.sleep(pause)
        writer.write(part)
        await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    writer.close()
    return status, body


def _head(headers: str) -> bytes:
    return f"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode()


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"


@pytest.mark.parametrize("pause", [0.0, 0.2], ids=["whole", "trickled"])
async def test_a_body_within_the_limit_is_read_whole(
    port: int, pause: float, whole_reads: list[int]
) -> None:
    data = b"0123456789"
    sent = await _exchange(port, [_head(f"Content-Length: {len(data)}\r\n"), data], pause)
    assert sent == (200, data)
    sent = await _exchange(port, [_head("Transfer-Encoding: chunked\r\n"), _chunked(data)], pause)
    assert sent == (200, data)
    # A body sent with its head is taken without waiting; one that trickles in is waited for.
    assert len(whole_reads) == (0 if pause else 2)


@pytest.mark.parametrize("pause", [0.0, 0.2], ids=["whole", "trickled"])
async def test_a_chunked_body_past_the_limit_is_refused(
    port: int, pause: float, whole_reads: list[int]
) -> None:
    data = b"x" * (LIMIT + 1)
    status, _ = await _exchange(
        port, [_head("Transfer-Encoding: chunked\r\n"), _chunked(data)], pause
    )
    assert status == 413
    assert len(whole_reads) == (0 if pause else 1)


async def test_a_declared_length_past_the_limit_is_refused_before_reading(port: int) -> None:
    status, _ = await _exchange(port, [_head(f"Content-Length: {LIMIT + 1}\r\n")])
    assert status == 413


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_a_compressed_body_is_refused_not_inflated(port: int, encoding: str) -> None:
    # A bomb: 3 MB of zeros in a few kilobytes. Inflated as it arrived, it would pass the
    # declared length and the bytes the body budget counts; the server keeps bodies as sent and
    # refuses it.
    bomb = gzip.compress(bytes(3_000_000))
    status, _ = await _exchange(
        port, [_head(f"Content-Length: {len(bomb)}\r\nContent-Encoding: {encoding}\r\n"), bomb]
    )
    assert status == 415
    data = b"0123456789"  # identity is the one encoding accepted
    head = _head(f"Content-Length: {len(data)}\r\nContent-Encoding: identity\r\n")
    assert await _exchange(port, [head, data]) == (200, data)
