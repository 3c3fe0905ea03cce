"""The one-shot lane: a connection that answers a service's busiest one-shot route itself and
gives every other request to the aiohttp server (docs/adr/0032).

The gateway answers most requests on one route: a relay's hop client posting an encapsulated
request (``POST /v1/ohttp``, ``message/ohttp-req``, a few KiB). aiohttp's server costs about as
much CPU per request as the gateway's decapsulation (ADR 0030's table: 127-141 µs a hop against
52-80 µs for a bare asyncio server), so for that one shape a connection does the HTTP itself:
llhttp (``httptools``) parses the head, the body is taken from the buffer, the answer is framed
by :func:`~privcloud.services.lane_core.frame_answer`. Its rules are in
:mod:`privcloud.services.lane_core`.

Anything else — another route or media type, a streamed or large body, a head llhttp refuses,
one too long — makes the connection the aiohttp server's, at a request boundary with every byte
not yet answered: from then on aiohttp serves it as it serves every connection (its parser,
bounds, error answers, middleware). So the lane never answers a malformed request; its own
answers are the route's answer, the route's error (our JSON error body, as the middleware), a
500, or a 408 for a body slower than ``BODY_READ_TIMEOUT_S`` and ``MIN_BODY_RATE_BPS``.

Like aiohttp's connections, a lane connection counts in the service's :class:`ConnectionGuard`,
closes after ``HTTP_IDLE_TIMEOUT_S`` without a whole head (a connection given to aiohttp keeps
that deadline), reserves its body in the service's
:class:`~privcloud.services.http.BodyBudget` (a refused reservation goes to aiohttp, which
answers 503), answers one request at a time in order, reads no further while an answer waits or
the peer does not read its answers, and is not cancelled when the peer goes (the route decides
what a request it took costs: services.gateway). A peer that stops reading its answers is
dropped by the system after ``HTTP_IDLE_TIMEOUT_S``, as aiohttp's connections are
(:func:`~privcloud.services.http.drop_when_unread`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, cast

from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    InternalError,
    PeerError,
    PrivcloudError,
    RequestTimeoutError,
    TooLargeError,
    UpstreamError,
)
from privcloud.services.http import drop_when_unread
from privcloud.services.lane_core import (
    DateField,
    LaneHead,
    framable,
    frame_answer,
    head_end,
    lane_head,
    may_be_lane,
)
from privcloud.wire.jsonio import encode_error_body

if TYPE_CHECKING:
    from privcloud.services.http import ServiceSettings
    from privcloud.services.site import ConnectionGuard

log = logging.getLogger("privcloud.http")

_ERROR_MEDIA: Final = "application/json"


@dataclass(frozen=True, slots=True)
class LaneAnswer:
    """A route's answer on the lane: status, media type and body."""

    status: int
    media: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Lane:
    """The route a service serves on its lane: ``POST path`` with a body of ``media``, at most
    ``max_body`` bytes, answered by ``answer`` (which may raise our errors); ``route`` is the
    aiohttp route's name, so both paths count under one name in the metrics."""

    path: bytes
    media: bytes
    route: str
    answer: Callable[[bytes], Awaitable[LaneAnswer]]
    max_body: int = limits.LANE_MAX_BODY_BYTES


#: Where a service's application keeps its lane (services.site serves it).
LANE: Final = web.AppKey("privcloud.lane", Lane)


class LaneHost(Protocol):
    """What a lane connection needs of the server that made it (services.site)."""

    settings: ServiceSettings
    guard: ConnectionGuard
    date: DateField

    def aiohttp_handler(self, head_deadline: float | None = None) -> asyncio.Protocol: ...

    def lane_opened(self, conn: LaneConnection) -> None: ...

    def lane_closed(self, conn: LaneConnection) -> None: ...


class LaneConnection(asyncio.Protocol):
    """One connection on the lane until a request that is not the lane's (then aiohttp's)."""

    def __init__(self, host: LaneHost, lane: Lane) -> None:
        self._host = host
        self._lane = lane
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None  # while the lane holds it
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._head: LaneHead | None = None  # a whole head whose body is not all in
        self._task: asyncio.Task[None] | None = None  # the answer being made
        self._read_paused = False
        self._write_paused = False
        self._close_after = False  # the server is shutting down

    # --- asyncio's calls -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        conn = cast(asyncio.Transport, transport)
        if not self._host.guard.admit(self, conn.get_extra_info("peername")):
            conn.close()  # over a cap: closed at once, unread
            return
        drop_when_unread(conn)
        self._transport = conn
        self._host.lane_opened(self)
        self._arm(limits.HTTP_IDLE_TIMEOUT_S)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._transport is not None:
            self._transport = None
            self._host.guard.release(self)
            self._host.lane_closed(self)
        # An answer being made runs on (as aiohttp's handlers do) and is dropped when ready.

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._task is None and not self._write_paused:
            self._next()  # may start an answer: then what is left counts against the bound
        waiting = self._task is not None or self._write_paused
        if waiting and len(self._buffer) > limits.LANE_MAX_BUFFERED_BYTES and self._transport:
            self._transport.pause_reading()
            self._read_paused = True

    def pause_writing(self) -> None:
        self._write_paused = True  # the peer is not reading its answers: answer no more

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._task is None:
            self._resume()

    # --- requests ----------------------------------------------------------------------------

    def _next(self) -> None:
        """Take the next request from the buffer: answer it on the lane, wait for more of it,
        or give the connection to aiohttp."""
        if self._transport is None or not self._buffer or self._close_after:
            return
        lane = self._lane
        if not may_be_lane(self._buffer, lane.path):
            self._hand_over()
            return
        head = self._head
        if head is None:
            size = head_end(self._buffer)
            if size < 0:
                if len(self._buffer) >= limits.LANE_MAX_HEAD_BYTES:
                    self._hand_over()
                return  # the idle timer bounds a head that never ends
            head = lane_head(bytes(self._buffer[:size]), lane.path, lane.media, lane.max_body)
            if head is None:
                self._hand_over()
                return
        size = head.head_size
        end = size + head.content_length
        if len(self._buffer) < end:
            if self._head is None:  # the head is whole: its body has a time of its own
                self._head = head
                wait = limits.BODY_READ_TIMEOUT_S + head.content_length / limits.MIN_BODY_RATE_BPS
                self._arm(wait)
            return
        budget = self._host.settings.budget
        if budget is not None and not budget.reserve(head.content_length):
            self._hand_over()  # aiohttp's read_body answers 503 for the same refusal
            return
        body = bytes(self._buffer[size:end])
        del self._buffer[:end]
        self._head = None
        self._disarm()
        self._task = self._loop.create_task(self._serve(body, head.keep_alive))

    async def _serve(self, body: bytes, keep_alive: bool) -> None:
        settings, route = self._host.settings, self._lane.route
        started = time.perf_counter()
        try:
            answer = await self._lane.answer(body)
        except PrivcloudError as exc:
            answer = LaneAnswer(exc.http_status, _ERROR_MEDIA, encode_error_body(exc))
            keep_alive = keep_alive and not isinstance(exc, (RequestTimeoutError, TooLargeError))
            level = logging.INFO if isinstance(exc, PeerError) else logging.WARNING
            log.log(level, "%s %s refused: %s", settings.service, route, exc.code)
        except Exception as exc:  # noqa: BLE001 - the last line of defence keeps serving
            log.error(  # noqa: TRY400 - only the type: its text could carry request content
                "%s %s internal error: %s", settings.service, route, type(exc).__name__
            )
            error = InternalError("internal error")
            answer = LaneAnswer(error.http_status, _ERROR_MEDIA, encode_error_body(error))
        finally:
            if settings.budget is not None:
                settings.budget.release(len(body))
            self._task = None
        if not framable(answer.status):  # a next hop's 1xx, 204, 304 or out of range
            log.warning("%s %s next hop's status not passed on", settings.service, route)
            bad = UpstreamError("next hop answered badly")
            answer = LaneAnswer(bad.http_status, _ERROR_MEDIA, encode_error_body(bad))
        if settings.metrics is not None:
            settings.metrics.observe(route, answer.status, len(body), len(answer.body))
            settings.metrics.counters[f"lane_requests{{route={route}}}"] += 1
        log.debug(
            "%s route=%s status=%d ms=%.2f lane",
            settings.service,
            route,
            answer.status,
            (time.perf_counter() - started) * 1000,
        )
        self._send(answer, keep_alive=keep_alive and not self._close_after)

    def _send(self, answer: LaneAnswer, *, keep_alive: bool) -> None:
        conn = self._transport
        if conn is None or conn.is_closing():
            return  # the peer went: the answer is dropped
        try:
            self._write(conn, answer, keep_alive=keep_alive)
        except Exception as exc:  # noqa: BLE001 - a fault of ours ends the connection, not more
            service = self._host.settings.service
            log.error("%s lane answer failed: %s", service, type(exc).__name__)  # noqa: TRY400
            conn.abort()

    def _write(self, conn: asyncio.Transport, answer: LaneAnswer, *, keep_alive: bool) -> None:
        conn.write(
            frame_answer(
                answer.status,
                answer.media,
                answer.body,
                keep_alive=keep_alive,
                date=self._host.date.value(),
            )
        )
        if not keep_alive:
            conn.close()
            return
        self._arm(limits.HTTP_IDLE_TIMEOUT_S)
        if not self._write_paused:
            self._resume()

    def _resume(self) -> None:
        if self._read_paused and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        self._next()

    def _hand_over(self) -> None:
        """Give the connection, with every byte not yet answered and the deadline of its timer,
        to the aiohttp server: a head trickled to just before the idle time and then grown past
        ``LANE_MAX_HEAD_BYTES`` must not get the idle time afresh (it held its connection twice
        as long, a red-team review)."""
        conn = self._transport
        if conn is None:
            return
        deadline = self._timer.when() if self._timer is not None else None
        self._disarm()
        self._transport = None
        self._head = None
        self._host.guard.release(self)
        self._host.lane_closed(self)
        handler = self._host.aiohttp_handler(deadline)
        conn.set_protocol(handler)
        handler.connection_made(conn)  # admitted by the guard again, or closed
        data, self._buffer = bytes(self._buffer), bytearray()
        if data and not conn.is_closing():
            handler.data_received(data)

    # --- timers and shutdown -------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self._loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        """No whole head within the idle time (closed, as aiohttp does), or a body too slow
        (408, then closed)."""
        self._timer = None
        conn = self._transport
        if conn is None:
            return
        if self._head is not None:
            error = RequestTimeoutError("request body too slow")
            settings, route = self._host.settings, self._lane.route
            body = encode_error_body(error)
            log.info("%s %s refused: %s", settings.service, route, error.code)
            if settings.metrics is not None:
                settings.metrics.observe(route, error.http_status, 0, len(body))
            date = self._host.date.value()
            status = error.http_status
            conn.write(frame_answer(status, _ERROR_MEDIA, body, keep_alive=False, date=date))
        conn.close()

    def close_when_idle(self) -> None:
        """The server stops: close now if no answer is being made, else after it."""
        self._close_after = True
        if self._task is None and self._transport is not None:
            self._transport.close()

    async def shutdown(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the answer being made, then close."""
        self._close_after = True
        task = self._task
        if task is not None:
            await asyncio.wait([task], timeout=timeout)
        if self._transport is not None:
            self._transport.close()
