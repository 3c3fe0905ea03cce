"""What every service shares: error mapping, bounded body reads, content-free logging and
metrics, and starting an aiohttp site on an address.

Logging is an allow-list: a service logs its name, the route's *name*, the status, the duration
and byte counts — never addresses, headers, bodies or exception text from a peer
(docs/trust-model.md#no-privileged-runtime-access). aiohttp's own access log is switched off
because it records client addresses and user agents; its connection handler is replaced by
:class:`_ServiceProtocol`, whose answers to malformed HTTP are our JSON error bodies and whose
log records name only the kind of error; and records of aiohttp's and asyncio's loggers (and
captured Python warnings) are reduced to their logger and exception type
(:class:`WithholdPeerData`), since their text and tracebacks can carry a peer's address and
bytes (docs/operations.md#logs-and-floods).

What a peer can make a service hold is bounded per service, not only per request: request
bodies in flight share one byte budget (:class:`BodyBudget`; over it, 503 at once and nothing
read), and connections are capped in total and, at the relay, per peer address
(:class:`ConnectionGuard`), so one peer cannot take every slot. A peer that stops taking what a
service sends it is dropped by the system after ``HTTP_IDLE_TIMEOUT_S``
(:func:`drop_when_unread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    InternalError,
    NotFoundError,
    PeerError,
    PrivcloudError,
    RequestTimeoutError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.wire.jsonio import encode_error_body

log = logging.getLogger("privcloud.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Loggers of libraries that serve our sockets: their messages and tracebacks can hold a peer's
#: address and raw bytes (aiohttp's parser errors quote the bad line; asyncio's handler reprs).
#: And ``py.warnings``, where Python warnings go once the CLI captures them
#: (``logging.captureWarnings``): a library's warning can quote what a request made it read
#: (PIL's "Image size (90000000 pixels) exceeds limit", an EXIF tag's entry count).
PEER_DATA_LOGGERS: Final = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
    "py.warnings",
)
#: Metrics route label of requests aiohttp's parser refused before any route saw them.
MALFORMED_ROUTE: Final = "malformed"


def drop_when_unread(transport: asyncio.BaseTransport) -> None:
    """Have the system drop an accepted connection once bytes sent on it stay unacknowledged
    for ``limits.HTTP_IDLE_TIMEOUT_S``: a peer that stops reading (its window stays shut) or
    is gone. Without it a peer that never reads holds its connection, and its place under the
    connection caps, for ever: a handler waits on the write buffer, and a close waits for the
    buffer to be sent. Linux's ``TCP_USER_TIMEOUT`` (it covers zero-window probes); where the
    system has no such option, nothing."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    sock = transport.get_extra_info("socket")
    if option is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # a socket already closed by its peer
        sock.setsockopt(socket.IPPROTO_TCP, option, round(limits.HTTP_IDLE_TIMEOUT_S * 1000))


@dataclass
class Metrics:
    """Content-free counters: route names, status classes and byte totals only."""

    service: str
    counters: Counter[str] = field(default_factory=Counter)

    def observe(self, route: str, status: int, bytes_in: int, bytes_out: int) -> None:
        self.counters[f"requests{{route={route},status={status}}}"] += 1
        self.counters[f"bytes_in{{route={route}}}"] += bytes_in
        self.counters[f"bytes_out{{route={route}}}"] += bytes_out

    def count_inner(self, status: int, route: str = "ohttp") -> None:
        """Count one answer sent *inside* an encapsulated response by its inner status.

        Such an answer travels as HTTP 200 whatever happened (RFC 9458 §5.2: errors after
        decapsulation are encapsulated), so :meth:`observe` counts it as 200; the gateway
        reports the inner status here. Statuses outside 100..599 count as ``other``.
        """
        label = str(status) if isinstance(status, int) and 100 <= status <= 599 else "other"
        self.counters[f"inner_requests{{route={route},status={label}}}"] += 1

    def render(self) -> str:
        lines = [f"# privcloud {self.service} metrics (allow-listed, content-free)"]
        lines += [f"privcloud_{name} {value}" for name, value in sorted(self.counters.items())]
        return "\n".join(lines) + "\n"


# --- error bodies ----------------------------------------------------------------------------


def error_response(exc: PrivcloudError, *, status: int | None = None) -> web.Response:
    """The HTTP answer for one of our errors: its status (or ``status``) and its fixed,
    content-free text as our JSON error body."""
    body = encode_error_body(exc)
    resp = web.Response(
        status=status or exc.http_status, body=body, content_type="application/json"
    )
    if isinstance(exc, (RequestTimeoutError, TooLargeError)):
        resp.force_close()
    return resp


def error_for_status(status: int) -> PrivcloudError:
    """Our error, with fixed text, for a status aiohttp chose (its router's 404 and 405, its
    parser's 400, a body over ``client_max_size``): never aiohttp's own text, which can quote
    the peer's bytes and names aiohttp's version."""
    match status:
        case 404:
            return NotFoundError("not found")
        case 405:
            return PeerError("method not allowed")
        case 408:
            return RequestTimeoutError("request too slow")
        case 413 | 431:
            return TooLargeError("request too large")
        case 415:
            return UnsupportedError("unsupported media type")
        case 503 | 504:
            return UnavailableError("service unavailable")
    if 400 <= status < 500:
        return PeerError("bad request")
    return InternalError("internal error")


def _http_exception_response(exc: web.HTTPException) -> web.Response:
    if exc.status < 400:  # a redirect or "not modified": no body, only where to go
        headers = {k: v for k, v in exc.headers.items() if k in (hdrs.LOCATION,)}
        return web.Response(status=exc.status, headers=headers)
    response = error_response(error_for_status(exc.status), status=exc.status)
    if hdrs.ALLOW in exc.headers:
        response.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
    return response


def make_middleware(service: str, metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Map our errors to statuses and JSON bodies, turn anything unexpected into a 500, log
    allow-listed fields, and give the request's reserved body bytes back to the budget."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = request.match_info.route.name or "unmatched"
        try:
            response = await handler(request)
        except PrivcloudError as exc:
            response = error_response(exc)
            level = logging.INFO if isinstance(exc, PeerError) else logging.WARNING
            log.log(level, "%s %s refused: %s", service, route, exc.code)
        except web.HTTPException as exc:
            response = _http_exception_response(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence keeps serving
            # Only the exception type: its text or traceback could carry request content.
            log.error(  # noqa: TRY400
                "%s %s internal error: %s", service, route, type(exc).__name__
            )
            response = error_response(InternalError("internal error"))
        finally:
            release_body(request)
        metrics.observe(
            route, response.status, request.content_length or 0, response.content_length or 0
        )
        log.debug(
            "%s route=%s status=%d ms=%.2f",
            service,
            route,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return middleware


# --- request bodies: bounded one by one and together -------------------------------------------


@dataclass
class BodyBudget:
    """The request-body bytes one service holds at once, all requests together.

    :func:`read_body` reserves a body's bytes *before* it reads them (the declared length, or
    chunk by chunk when none is declared) and the service's middleware gives them back when the
    request ends. A reservation past ``capacity`` fails: the request gets 503 at once and its
    body is not read into memory.
    """

    capacity: int
    in_use: int = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes; False (and nothing taken) when that would pass ``capacity``."""
        if size < 0 or self.in_use + size > self.capacity:
            return False
        self.in_use += size
        return True

    def release(self, size: int) -> None:
        self.in_use = max(0, self.in_use - size)


#: Bytes of the request's body it holds in its service's budget (a request's own key).
_RESERVED: Final = web.RequestKey("privcloud.body_reserved", int)


@dataclass(frozen=True)
class ServiceSettings:
    """What :func:`start_site` needs to know of a service's application (:func:`new_app`)."""

    service: str
    metrics: Metrics | None
    budget: BodyBudget | None
    per_peer_connections: int | None = None


#: Where :func:`new_app` keeps a service's settings in its application.
SERVICE: Final = web.AppKey("privcloud.service", ServiceSettings)


def _reserve(request: web.Request, budget: BodyBudget | None, size: int) -> None:
    if budget is None:
        return
    if not budget.reserve(size):
        raise UnavailableError("too many request bodies in flight: try again shortly")
    request[_RESERVED] = request.get(_RESERVED, 0) + size


def release_body(request: web.Request) -> None:
    """Give the bytes :func:`read_body` reserved for ``request`` back to its service's budget
    (the middleware does this when the request ends; a handler that has passed the body on may
    do it earlier). Idempotent."""
    reserved = request.pop(_RESERVED, 0)
    service = request.config_dict.get(SERVICE)
    if reserved and service is not None and service.budget is not None:
        service.budget.release(reserved)


async def read_body(
    request: web.Request,
    *,
    limit: int = limits.MAX_HTTP_BODY,
    timeout: float = limits.BODY_READ_TIMEOUT_S,
) -> bytes:
    """Read a whole request body, bounded in size, in time (slowloris protection) and, with
    the other bodies the service holds, by its :class:`BodyBudget`.

    The body must arrive at ``limits.MIN_BODY_RATE_BPS`` on average after a grace of
    ``timeout`` seconds (so a large upload on a slow phone link passes and a trickle does not),
    and no single wait for more bytes may exceed ``timeout``. Raises :class:`TooLargeError`
    (413) past ``limit``, :class:`RequestTimeoutError` (408) when the body is too slow,
    :class:`DecodeError` (400) when the peer cuts it off or frames it wrongly, and
    :class:`UnavailableError` (503, before reading) when the service's budget is spent.
    """
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
        # Bodies are read as sent (services.site: no decompression), so a compressed one
        # could only be misread: refused before a byte of it is.
        raise UnsupportedError("compressed request bodies are not accepted")
    length = request.content_length
    if length is not None and length > limit:
        raise TooLargeError("request body too large")
    service = request.config_dict.get(SERVICE)
    budget = service.budget if service is not None else None
    if length is not None:
        _reserve(request, budget, length)
    if request.content.is_eof():
        # The whole body came in with the request's head (a small one always does): take it
        # without a wait, which would cost a task and a turn of the event loop per read.
        return _buffered_body(request, budget, limit, length)
    expected = length if length is not None else limit
    loop = asyncio.get_running_loop()
    started = loop.time()
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(timeout + expected / limits.MIN_BODY_RATE_BPS):
            while chunk := await _within(request.content.readany(), timeout):
                received += len(chunk)
                if received > limit:
                    raise TooLargeError("request body too large")
                if length is None:
                    _reserve(request, budget, len(chunk))
                chunks.append(chunk)
                # The rate counts bytes that actually arrived, not what the peer declared.
                late = loop.time() - started - timeout
                if late > 0 and received < late * limits.MIN_BODY_RATE_BPS:
                    raise RequestTimeoutError("request body too slow")
    except TimeoutError:
        raise RequestTimeoutError("request body too slow") from None
    except (ConnectionError, HttpProcessingError) as exc:
        # The peer cut its body off or framed it wrongly (a bad chunk): its fault, not ours.
        raise DecodeError("request body cut off or malformed") from exc
    return b"".join(chunks)


async def _within(read: Awaitable[bytes], seconds: float) -> bytes:
    """``read`` awaited for at most ``seconds`` (:class:`TimeoutError` after). Not
    ``asyncio.wait_for``, which on Python 3.11 may swallow a cancel that comes in the same turn
    as the result."""
    async with asyncio.timeout(seconds):
        return await read


def _buffered_body(
    request: web.Request, budget: BodyBudget | None, limit: int, length: int | None
) -> bytes:
    """:func:`read_body` of a body already received whole: the same bounds and errors."""
    try:
        body = request.content.read_nowait()
    except (ConnectionError, HttpProcessingError) as exc:
        raise DecodeError("request body cut off or malformed") from exc
    if len(body) > limit:
        raise TooLargeError("request body too large")
    if length is None:
        _reserve(request, budget, len(body))
    return body


def require_media_type(request: web.Request, *allowed: str) -> str:
    """Return the request's media type if it is one of ``allowed``; else 415."""
    media = request.content_type
    if media not in allowed:
        raise UnsupportedError("unsupported media type")
    return media
