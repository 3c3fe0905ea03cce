"""Request bodies bounded together (issue "Hardening: ... no peer can flood or lock out"): each
body was bounded (32 MiB) but not all of them together, so 48 concurrent 32 MiB bodies took the
relay to 2.8 GiB.

The relay runs in a process of its own (``privcloud relay``), so its resident memory is its
own; its gateway, here, holds each request two seconds so that the bodies the relay admits stay
in flight together. 48 peers on 8 addresses each send a 32 MiB body at once. The relay reserves
each body's bytes as they arrive (``limits.MAX_INFLIGHT_BODY_BYTES`` in all, at most
``limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER`` per address), refuses a body whose next bytes do not
fit (503, or 429 past its address's share) and reads no more of it, and its peak resident
memory stays under the bound docs/operations.md gives:
resident memory at start + 2 x MAX_INFLIGHT_BODY_BYTES + 128 MiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from privcloud import limits
from privcloud.ohttp import MEDIA_REQUEST, MEDIA_RESPONSE
from privcloud.services.site import start_site

#: Concurrent bodies, the size of each (just under the relay's bound on one), and the addresses
#: they come from (127.0.0.2 and on; six bodies each).
BODIES = 48
ADDRESSES = 8
BODY_SIZE = limits.MAX_OHTTP_REQUEST - limits.KiB
#: Seconds the stand-in gateway holds each request it gets.
GATEWAY_HOLD_S = 2.0
#: What the relay may add to its resident memory: the budget, twice (a body is joined from its
#: chunks once, and asyncio copies what the gateway's socket does not take at once into its
#: send buffer), and room for aiohttp's per-connection buffers and the heap's slack.
ALLOWED_GROWTH = 2 * limits.MAX_INFLIGHT_BODY_BYTES + 128 * limits.MiB
#: Seconds within which a refused body's sender must have its 503.
QUICK_S = 5.0


def _memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+) kB", status).group(1)) for k in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def _holding_gateway() -> AsyncIterator[int]:
    async def ohttp(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(GATEWAY_HOLD_S)
        return web.Response(body=b"answer", content_type=MEDIA_RESPONSE)

    app = web.Application(client_max_size=2 * limits.MAX_HTTP_BODY)
    app.router.add_post("/v1/ohttp", ohttp)
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        yield port
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _relay_process(gateway_port: int) -> AsyncIterator[tuple[int, int]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "privcloud.cli",
        "relay",
        "--gateway",
        f"http://127.0.0.1:{gateway_port}",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        match = re.search(r":(\d+)\s*$", line)
        assert match, line
        yield proc.pid, int(match.group(1))
    finally:
        proc.terminate()
        await proc.wait()


async def _send_body(port: int, source: str, body: memoryview) -> tuple[int, float]:
    """Send one body from ``source`` while watching for the answer; stop sending once it comes.
    Returns the status and the seconds it took."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(
        b"POST /v1/ohttp HTTP/1.1\r\nHost: relay\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\n\r\n" % (MEDIA_REQUEST.encode(), len(body))
    )
    head = asyncio.ensure_future(reader.readline())
    try:
        for offset in range(0, len(body), limits.MiB):
            if head.done():
                break
            writer.write(body[offset : offset + limits.MiB])
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        status_line = await asyncio.wait_for(head, 120)
    finally:
        head.cancel()
        writer.close()
    return int(status_line.split(b" ")[1]), time.monotonic() - started


@pytest.mark.slow
async def test_48_concurrent_32mib_bodies_past_the_budget_are_refused_and_the_relay_bounded() -> (
    None
):
    body = memoryview(bytes(BODY_SIZE))
    async with _holding_gateway() as gateway_port, _relay_process(gateway_port) as (pid, port):
        at_start = _memory_kib(pid)["VmRSS"] * limits.KiB
        started = time.monotonic()
        answers = await asyncio.gather(
            *(_send_body(port, f"127.0.0.{2 + i % ADDRESSES}", body) for i in range(BODIES))
        )
        took = time.monotonic() - started
        peak = _memory_kib(pid)["VmHWM"] * limits.KiB

    statuses = sorted(status for status, _ in answers)
    refused = [seconds for status, seconds in answers if status in (429, 503)]
    admitted = BODIES - len(refused)
    print(
        f"\n{BODIES} x {BODY_SIZE // limits.MiB} MiB bodies in {took:.1f} s: {admitted} "
        f"admitted, {statuses.count(503)} refused 503 and {statuses.count(429)} 429 (slowest "
        f"refusal {max(refused):.2f} s); relay resident {at_start // limits.MiB} MiB at start, "
        f"peak {peak // limits.MiB} MiB (bound {(at_start + ALLOWED_GROWTH) // limits.MiB} MiB)"
    )
    assert set(statuses) <= {200, 429, 503}
    # Some went through (a refusal gives its bytes back, so the others go on); no more than
    # fit the budget at a time, a few times over while the first pass; the rest was refused
    # once over the budget, and quickly.
    fits = limits.MAX_INFLIGHT_BODY_BYTES // BODY_SIZE
    assert 1 <= admitted <= 2 * fits
    assert all(seconds < QUICK_S for seconds in refused)
    assert peak <= at_start + ALLOWED_GROWTH
