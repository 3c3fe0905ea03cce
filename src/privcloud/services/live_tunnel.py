"""WebSocket plumbing of the live tunnel, shared by the relay, the gateway and the node
(docs/adr/0023-live-sessions.md).

A tunnel hop accepts a WebSocket without compression (per-message deflate would make sizes
depend on content) and without pings of its own, and passes binary messages through
unchanged. Message boundaries are kept: one message, one sealed frame. Each hop enforces the
public shape of the protocol — the first message each way at most ``MAX_LIVE_OPEN_BYTES``,
every later one exactly one frame (:data:`WIRE_FRAME`), no faster than the cadence allows
(:class:`~privcloud.live.protocol.RateBound`) — and the session's longest life; anything else
closes the tunnel. Refusals travel as close codes ``4000 + HTTP status`` with
our error code as the reason (fixed strings, no content).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    PrivcloudError,
    RequestTimeoutError,
    UpstreamError,
    error_from_code,
)
from privcloud.live.protocol import RateBound

#: Bytes of every frame after the opening messages (all our suites' AEADs have 16-byte tags).
WIRE_FRAME: Final = limits.LIVE_FRAME_PLAINTEXT + 16
#: Largest WebSocket message any hop accepts.
MESSAGE_LIMIT: Final = max(limits.MAX_LIVE_OPEN_BYTES, WIRE_FRAME)
#: Seconds a tunnel may stay open at any hop: the longest session, its opening and its drain.
TUNNEL_LIFETIME_S: Final = (
    limits.MAX_LIVE_SESSION_S
    + limits.LIVE_OPEN_TIMEOUT_S
    + limits.LIVE_DRAIN_S
    + limits.LIVE_TUNNEL_GRACE_S
)
#: Seconds of frames a hop holds for a side that does not take them.
_HELD_S: Final = limits.LIVE_TUNNEL_QUEUE_FRAMES * limits.LIVE_FRAME_INTERVAL_MS / 1000
#: First close code that carries a refusal (4000 + HTTP status).
_REFUSAL_BASE: Final = 4000


async def accept(request: web.Request) -> web.WebSocketResponse:
    """Accept the tunnel's WebSocket: no compression, no pings, bounded messages."""
    ws = web.WebSocketResponse(compress=False, max_msg_size=MESSAGE_LIMIT, autoping=True)
    await ws.prepare(request)
    return ws


async def connect(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """Open the tunnel's next hop. Raises :class:`UpstreamError` when it cannot."""
    try:
        return await session.ws_connect(
            url,
            compress=0,
            max_msg_size=MESSAGE_LIMIT,
            autoping=True,
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UpstreamError("next tunnel hop unreachable") from exc


Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


@dataclass(frozen=True)
class Refused:
    """A refusal close: the error its code names, its HTTP status, and the node's proof of a
    refusal of its own when the reason carries one (unchecked here: only the device can)."""

    error: PrivcloudError
    status: int
    proof: bytes | None = None


async def receive(ws: Socket, timeout: float, *, size: int | None = None) -> bytes:
    """The next binary message (of exactly ``size`` bytes when given). A close with a refusal
    code raises the error it names; other ends raise :class:`UpstreamError`; a wait past
    ``timeout`` raises :class:`RequestTimeoutError`."""
    got = await receive_or_refusal(ws, timeout, size=size)
    if isinstance(got, Refused):
        raise got.error
    return got


async def receive_or_refusal(
    ws: Socket, timeout: float, *, size: int | None = None
) -> bytes | Refused:
    """As :func:`receive`, but a refusal close is returned (:class:`Refused`), not raised."""
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError as exc:
        raise RequestTimeoutError("the tunnel's peer did not answer in time") from exc
    if msg.type == aiohttp.WSMsgType.BINARY:
        data: bytes = msg.data
        if size is not None and len(data) != size:
            raise DecodeError("live frame of the wrong size")
        return data
    status = refusal_status(msg.data if msg.type == aiohttp.WSMsgType.CLOSE else None)
    if status is None:
        raise UpstreamError("the tunnel closed")
    code, _, proof = (msg.extra if isinstance(msg.extra, str) else "").partition(" ")
    error = error_from_code(code, "the live session was refused")
    if error.http_status != status:  # a close code and a reason that disagree
        return Refused(UpstreamError("malformed live refusal"), status)
    return Refused(error, status, _hex(proof))


def _hex(text: str) -> bytes | None:
    if not text or len(text) > 64:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


async def refuse(ws: Socket, exc: PrivcloudError, *, proof: bytes | None = None) -> None:
    """Close ``ws`` with ``exc`` as a refusal code (its fixed error code as the reason, then the
    node's ``proof`` of its own refusal, when it gives one)."""
    reason = exc.code if proof is None else f"{exc.code} {proof.hex()}"
    await ws.close(code=_REFUSAL_BASE + exc.http_status, message=reason.encode())


def refusal_status(code: int | None) -> int | None:
    """The HTTP status a close code carries, if it is a refusal."""
    if code is None or code < _REFUSAL_BASE:
        return None
    return code - _REFUSAL_BASE


async def pipe(
    a: Socket, b: Socket, *, answer: bool = False, lifetime_s: float = TUNNEL_LIFETIME_S
) -> None:
    """Pass messages both ways until either side ends or ``lifetime_s`` passes; then close
    both. Every message must be one frame (:data:`WIRE_FRAME` bytes) — with ``answer`` (the
    relay, which has passed the device's opening on itself), except the first from ``b`` to
    ``a``, the OHTTP answer to the opening. Anything else ends the tunnel. A refusal close code
    is passed on. A side that went away ends the tunnel like a close (never raises for it), and
    so does a side sending frames faster than the cadence allows (:class:`RateBound`).
    Each side is read on its own: a side that takes no frames has up to
    ``LIVE_TUNNEL_QUEUE_FRAMES`` of the other's held for it, then the tunnel ends (a side
    that stopped reading would otherwise close the other's TCP window, and time its
    reopening)."""

    async def forward(src: Socket, dst: Socket, first: bool) -> None:
        held: asyncio.Queue[bytes] = asyncio.Queue(limits.LIVE_TUNNEL_QUEUE_FRAMES)

        async def write() -> None:
            while True:
                await dst.send_bytes(await held.get())
                held.task_done()

        writer = asyncio.ensure_future(write())
        loop = asyncio.get_running_loop()
        rate = RateBound(loop.time())
        try:
            while True:
                msg = await src.receive()
                binary = msg.type == aiohttp.WSMsgType.BINARY
                if binary and (first or len(msg.data) == WIRE_FRAME) and not writer.done():
                    first = False
                    if not rate.take(loop.time()):
                        return  # faster than the cadence allows: the tunnel ends
                    if held.full():
                        return  # the other side fell a burst behind: the tunnel ends
                    held.put_nowait(msg.data)
                    continue
                break
            if not writer.done():
                # The frames before the end go first (an answer, then its close), for as long
                # as held frames may wait.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(held.join(), _HELD_S)
            if msg.type == aiohttp.WSMsgType.CLOSE and refusal_status(msg.data) is not None:
                reason = msg.extra.encode()[:64] if isinstance(msg.extra, str) else b""
                with contextlib.suppress(Exception):
                    await dst.close(code=msg.data, message=reason)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    tasks = [
        asyncio.ensure_future(forward(a, b, False)),
        asyncio.ensure_future(forward(b, a, answer)),
    ]
    try:
        await asyncio.wait(tasks, timeout=lifetime_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in (a, b):
            with contextlib.suppress(Exception):
                await ws.close()


__all__ = [
    "MESSAGE_LIMIT",
    "Refused",
    "TUNNEL_LIFETIME_S",
    "WIRE_FRAME",
    "accept",
    "connect",
    "pipe",
    "receive",
    "receive_or_refusal",
    "refusal_status",
    "refuse",
]
