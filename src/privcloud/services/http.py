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
bodies in flight share one byte budget (:class:`BodyBudget`, reserved as the bytes arrive; over
it, 503), of which, at the relay, one peer address holds at most a share (429); connections are
capped in total and, at the relay, per peer address (:class:`ConnectionGuard`), so one peer
cannot take every slot. A peer that stops taking what a service sends it is dropped by the
system after ``HTTP_IDLE_TIMEOUT_S`` (:func:`drop_when_unread`); one that takes a large
document or log read too slowly, by the relay (:mod:`privcloud.services.answers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
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
    RateLimitedError,
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
#: And the model libraries that quote a request, whose records reach the process's handlers
#: (``privcloud.workloads.model_loaders.PROMPT_LOGGERS``): diffusers, the part of a prompt CLIP
#: cut; transformers, a prompt's token count. Each name covers the loggers below it too.
PEER_DATA_LOGGERS: Final = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
    "diffusers",
    "py.warnings",
    "transformers",
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


def peer_key(peername: object) -> str | None:
    """The address a per-peer bound counts a connection under: the IPv4 address, or the /64 of
    an IPv6 one (one subscriber's prefix); None when there is none (a Unix socket). Kept in
    memory for the life of the connection only; never logged or stored."""
    if not isinstance(peername, tuple) or not peername or not isinstance(peername[0], str):
        return None
    try:
        address = ipaddress.ip_address(peername[0].split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class BodyBudget:
    """The bytes of one kind one service holds at once — the request bodies it reads
    (:func:`read_body`), or the answers the relay passes through
    (:mod:`privcloud.services.answers`) — all requests together and, with ``per_peer``, each
    peer address's (:func:`peer_key`) together.

    Bytes are reserved as they arrive, never for what a peer only declares, and given back when
    the request ends or has passed them on (:class:`Reservation`): a peer holds in the budget
    what it really made the service hold. A reservation past ``per_peer`` fails with
    :class:`RateLimitedError` (429), one past ``capacity`` with :class:`UnavailableError`
    (503); nothing is taken then.
    """

    capacity: int
    per_peer: int | None = None
    #: What the budget counts, for the refusal's fixed text ("too many ... in flight").
    what: str = "request bodies"
    in_use: int = 0
    _by_peer: Counter[str] = field(default_factory=Counter)

    def take(self, size: int, peer: str | None = None) -> None:
        """Take ``size`` bytes for ``peer`` (None: counted in the total only); raises (and
        takes nothing) when that would pass the peer's share or the capacity."""
        if size < 0:
            raise InternalError("a negative reservation")
        key = peer if self.per_peer is not None else None
        if key is not None and self._by_peer[key] + size > (self.per_peer or 0):
            raise RateLimitedError(f"this address holds its most {self.what}: try again shortly")
        if self.in_use + size > self.capacity:
            raise UnavailableError(f"too many {self.what} in flight: try again shortly")
        self.in_use += size
        if key is not None and size:
            self._by_peer[key] += size

    def reserve(self, size: int, peer: str | None = None) -> bool:
        """:meth:`take`, answered as True, or False when refused (nothing taken)."""
        try:
            self.take(size, peer)
        except PrivcloudError:
            return False
        return True

    def release(self, size: int, peer: str | None = None) -> None:
        """Give back ``size`` bytes taken for ``peer``."""
        self.in_use = max(0, self.in_use - size)
        if peer is not None and peer in self._by_peer:
            self._by_peer[peer] -= size
            if self._by_peer[peer] <= 0:
                del self._by_peer[peer]

    def held_by(self, peer: str) -> int:
        """The bytes ``peer`` holds now (tests; nothing else reads them)."""
        return self._by_peer.get(peer, 0)


@dataclass
class Reservation:
    """The bytes one request holds in a :class:`BodyBudget` (none without a budget): grown as
    they arrive (:meth:`grow`), given back once (:meth:`release`)."""

    budget: BodyBudget | None
    peer: str | None = None
    held: int = 0

    @classmethod
    def of(cls, request: web.Request, budget: BodyBudget | None) -> Reservation:
        """An empty reservation in ``budget`` for ``request``'s peer (counted by its address
        where the budget has a per-peer share)."""
        peer = None
        if budget is not None and budget.per_peer is not None:
            transport = request.transport
            peer = peer_key(transport.get_extra_info("peername")) if transport else None
        return cls(budget, peer)

    def grow(self, size: int) -> None:
        """Hold ``size`` more bytes; raises as :meth:`BodyBudget.take` (then nothing more is
        held)."""
        if self.budget is not None:
            self.budget.take(size, self.peer)
            self.held += size

    def release(self) -> None:
        """Give every held byte back (idempotent)."""
        if self.budget is not None and self.held:
            self.budget.release(self.held, self.peer)
        self.held = 0


#: The request's body's reservation in its service's budget (a request's own key).
_RESERVED: Final = web.RequestKey("privcloud.body_reserved", Reservation)


@dataclass(frozen=True)
class ServiceSettings:
    """What :func:`start_site` needs to know of a service's application (:func:`new_app`):
    its request-body budget and, where it passes answers through (the relay), its answer
    budget (:mod:`privcloud.services.answers`)."""

    service: str
    metrics: Metrics | None
    budget: BodyBudget | None
    per_peer_connections: int | None = None
    answers: BodyBudget | None = None
    #: Cancel a request's handler when its peer disconnects (aiohttp's ``handler_cancellation``;
    #: off by default): for a service whose queued work a peer could otherwise leave behind
    #: (the log's bounded reads, ``services.store_thread``).
    cancel_on_disconnect: bool = False


#: Where :func:`new_app` keeps a service's settings in its application.
SERVICE: Final = web.AppKey("privcloud.service", ServiceSettings)


def release_body(request: web.Request) -> None:
    """Give the bytes :func:`read_body` reserved for ``request`` back to its service's budget.
    The middleware does this when the request ends; a handler that has passed the body on (the
    relay's and the gateway's streams, whose answers can last minutes) does it then, and drops
    its own references to the body. Idempotent."""
    reservation = request.pop(_RESERVED, None)
    if reservation is not None:
        reservation.release()


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
    and no single wait for more bytes may exceed ``timeout``. Its bytes are reserved in the
    budget as they arrive, not as declared: a peer that declares 32 MiB and sends a trickle
    holds what it sent, not 32 MiB for the ~9 minutes the rate allows it. Raises
    :class:`TooLargeError` (413) past ``limit``, :class:`RequestTimeoutError` (408) when the
    body is too slow, :class:`DecodeError` (400) when the peer cuts it off or frames it wrongly,
    and, when the budget cannot take the bytes that came, :class:`RateLimitedError` (429: the
    peer's address holds its share) or :class:`UnavailableError` (503: the service holds its
    most bodies).
    """
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
        # Bodies are read as sent (services.site: no decompression), so a compressed one
        # could only be misread: refused before a byte of it is.
        raise UnsupportedError("compressed request bodies are not accepted")
    length = request.content_length
    if length is not None and length > limit:
        raise TooLargeError("request body too large")
    service = request.config_dict.get(SERVICE)
    reservation = Reservation.of(request, service.budget if service is not None else None)
    request[_RESERVED] = reservation
    if request.content.is_eof():
        # The whole body came in with the request's head (a small one always does): take it
        # without a wait, which would cost a task and a turn of the event loop per read.
        return _buffered_body(request, reservation, limit)
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
                reservation.grow(len(chunk))
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


def _buffered_body(request: web.Request, reservation: Reservation, limit: int) -> bytes:
    """:func:`read_body` of a body already received whole: the same bounds and errors."""
    try:
        body = request.content.read_nowait()
    except (ConnectionError, HttpProcessingError) as exc:
        raise DecodeError("request body cut off or malformed") from exc
    if len(body) > limit:
        raise TooLargeError("request body too large")
    reservation.grow(len(body))
    return body


def require_media_type(request: web.Request, *allowed: str) -> str:
    """Return the request's media type if it is one of ``allowed``; else 415."""
    media = request.content_type
    if media not in allowed:
        raise UnsupportedError("unsupported media type")
    return media
