"""The Live tab's WebSocket (``GET /api/live``): the page's microphone in, a live call out.

The page captures its microphone, downsamples it to 16 kHz s16le mono and streams it here over
loopback; the agent, which *is* the device, runs a :class:`~privcloud.sdk.live.LiveCall` through
the private path (relay, gateway, one attested node: docs/adr/0023-live-sessions.md) with its
own client and token wallet, and streams the call's captions, translations and synthesized
speech back to the page. The browser never talks to the relay.

Bounds (:mod:`privcloud.device.livegate`, ``limits.CONSOLE_LIVE_*``): message sizes, messages
per second, audio ahead of real time, the wait for the page's next message, and one live call
at a time in the agent (a second page is refused). A refusal is an ``error`` message, then the
close code ``4000 + http_status`` with the error's code as the reason.

Nothing of the call is logged or kept: the middleware logs the route and its status, this
module logs nothing, and the agent's request history does not record live calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.device.livegate import (
    PageGate,
    Start,
    Stop,
    close_code,
    error_message,
    event_message,
)
from privcloud.errors import (
    DecodeError,
    PolicyError,
    PrivcloudError,
    RateLimitedError,
    RequestTimeoutError,
)
from privcloud.sdk.client import Client
from privcloud.sdk.live import LiveCall

#: Largest message aiohttp reads at all; larger ones it refuses itself (close code 1009).
#: Between the limits and this, the page gets our ``too_large`` refusal.
_READ_LIMIT = 2 * max(limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE, limits.CONSOLE_LIVE_MAX_CONTROL_BYTES)


class LiveConsole:
    """Serves ``/api/live`` with the agent's client (``client_of``: it may not exist yet)."""

    def __init__(
        self, client_of: Callable[[], Client], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client_of = client_of
        self._clock = clock
        self._sockets: set[web.WebSocketResponse] = set()
        #: Live calls running now (content-free).
        self.active = 0

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        # Browsers always send Origin on a WebSocket handshake; the guard checked it is ours.
        if request.headers.get("Origin") is None:
            raise PolicyError("the console answers its own page only")
        client = self._client_of()
        if len(self._sockets) >= limits.MAX_CONSOLE_LIVE_SOCKETS:
            raise RateLimitedError("too many live sockets open")
        ws = web.WebSocketResponse(compress=False, max_msg_size=_READ_LIMIT, autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._call(ws, client)
        except PrivcloudError as exc:
            await _refuse(ws, exc)
        except ConnectionError:
            pass  # the page went away while the agent wrote to it
        finally:
            self._sockets.discard(ws)
            await ws.close()
        return ws

    async def shutdown(self, _: web.Application) -> None:
        """The agent stops: close every page's socket (their calls end with them)."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"the agent stopped")

    async def _call(self, ws: web.WebSocketResponse, client: Client) -> None:
        gate = PageGate(self._clock())
        start = await self._receive_control(ws, gate)
        if not isinstance(start, Start):
            raise DecodeError("the first message starts the call")
        # Checked and counted with no await between: two pages cannot both pass.
        if self.active >= limits.MAX_CONSOLE_LIVE_CALLS:
            raise RateLimitedError("the console runs one live call at a time")
        self.active += 1
        try:
            await self._run(ws, client, start, gate)
        finally:
            self.active -= 1

    async def _run(
        self, ws: web.WebSocketResponse, client: Client, start: Start, gate: PageGate
    ) -> None:
        call = LiveCall(client, languages=(start.language, "auto"), targets=(start.target,) * 2)
        try:
            await call.start()
            gate.restart(self._clock())
            await ws.send_json({"type": "started", "node": call.nodes[0]})
            reader = asyncio.ensure_future(self._read(ws, call, gate))
            writer = asyncio.ensure_future(self._write(ws, call))
            try:
                done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
                # The page's error, or the call's; a page that left needs no answer.
                for task in (reader, writer):
                    if task in done:
                        task.result()
            finally:
                for task in (reader, writer):
                    task.cancel()
                await asyncio.gather(reader, writer, return_exceptions=True)
        finally:
            await call.aclose()

    async def _receive_control(self, ws: web.WebSocketResponse, gate: PageGate) -> Start | Stop:
        msg = await _next(ws)
        if msg is None:
            raise DecodeError("the page left before the call started")
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise DecodeError("the first message starts the call")
        return gate.control(msg.data, self._clock())

    async def _read(self, ws: web.WebSocketResponse, call: LiveCall, gate: PageGate) -> None:
        """Page -> call until the page leaves; after a stop, late audio is dropped."""
        ending: asyncio.Future[None] | None = None
        try:
            while True:
                # After a stop the page may fall silent while the node drains.
                msg = await _next(ws, None if ending is not None else limits.CONSOLE_LIVE_IDLE_S)
                if msg is None:
                    return
                now = self._clock()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    pcm = gate.audio(msg.data, now)
                    if ending is None:
                        call.feed(0, pcm)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    if isinstance(gate.control(msg.data, now), Start):
                        raise RateLimitedError("the console runs one live call at a time")
                    if ending is None:
                        ending = asyncio.ensure_future(call.end())
                else:
                    raise DecodeError("unexpected message")
        finally:
            if ending is not None:
                ending.cancel()

    async def _write(self, ws: web.WebSocketResponse, call: LiveCall) -> None:
        """Call -> page; when the call ends, say why and close."""
        async for event in call.events():
            message = event_message(event)
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_str(message)
        await ws.send_json({"type": "ended", "reason": call.ending, "resumes": len(call.resumes)})
        await ws.close()


async def _next(
    ws: web.WebSocketResponse, timeout: float | None = limits.CONSOLE_LIVE_IDLE_S
) -> aiohttp.WSMessage | None:
    """The page's next data message; None once it closed. Silence past ``timeout`` is
    :class:`RequestTimeoutError`."""
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError as exc:
        raise RequestTimeoutError("the page went silent") from exc
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        return None
    if msg.type == aiohttp.WSMsgType.ERROR:
        return None  # aiohttp refused the message itself (e.g. over the read limit) and closed
    return msg


async def _refuse(ws: web.WebSocketResponse, exc: PrivcloudError) -> None:
    if ws.closed:
        return
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(error_message(exc))
        await ws.close(code=close_code(exc), message=exc.code.encode())


__all__ = ["LiveConsole"]
