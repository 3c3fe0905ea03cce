"""Starting a service: the aiohttp server with our error answers and logging, the bounds on a
request head (its fields, its bytes together) and the caps on connections (in total and, where
peers are devices, per peer). :func:`new_app` makes a service's application, :func:`start_site`
serves it (split from :mod:`privcloud.services.http`, which holds what a request's handling
shares)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import hdrs, web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import _ErrInfo

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    TooLargeError,
)
from privcloud.services.http import (
    MALFORMED_ROUTE,
    PEER_DATA_LOGGERS,
    SERVICE,
    BodyBudget,
    Metrics,
    ServiceSettings,
    drop_when_unread,
    error_for_status,
    error_response,
    make_middleware,
    peer_key,
)
from privcloud.services.lane import LANE, Lane, LaneConnection
from privcloud.services.lane_core import DateField

log = logging.getLogger("privcloud.http")

#: Every service's liveness route (Kubernetes liveness probes, deploy/k8s).
LIVENESS_PATH = "/livez"


# --- connections: a cap in total and, where peers are devices, per peer ----------------------


@dataclass
class ConnectionGuard:
    """Admits a new connection only under ``total`` open ones and, with ``per_peer``, under
    that many from its peer's address (:func:`peer_key`): one peer holding idle connections
    cannot lock the others out (each also ends after ``HTTP_IDLE_TIMEOUT_S``)."""

    service: str
    total: int
    per_peer: int | None = None
    count: int = 0
    _by_peer: Counter[str] = field(default_factory=Counter)
    _peer_of: dict[object, str | None] = field(default_factory=dict)

    def admit(self, conn: object, peername: object) -> bool:
        if self.count >= self.total:
            log.warning("%s connection refused: %d connections open", self.service, self.total)
            return False
        key = peer_key(peername) if self.per_peer is not None else None
        if key is not None and self.per_peer is not None and self._by_peer[key] >= self.per_peer:
            # The peer's address stays out of the record (it is only a key in memory).
            log.warning(
                "%s connection refused: a peer holds %d connections", self.service, self.per_peer
            )
            return False
        self.count += 1
        self._peer_of[conn] = key
        if key is not None:
            self._by_peer[key] += 1
        return True

    def release(self, conn: object) -> None:
        if conn not in self._peer_of:
            return  # never admitted
        key = self._peer_of.pop(conn)
        self.count -= 1
        if key is not None:
            self._by_peer[key] -= 1
            if self._by_peer[key] <= 0:
                del self._by_peer[key]

    def peers(self) -> int:
        """How many peer addresses hold a connection now (tests; nothing else reads them)."""
        return len(self._by_peer)


# --- the aiohttp server, with our error answers and logging ------------------------------------


class _Request(web.Request):
    """A request whose responses do not name the server software (aiohttp's ``Server:``
    header names itself and its version)."""

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        response.headers.popall(hdrs.SERVER, None)
        await super()._prepare_hook(response)


class _ServiceProtocol(web.RequestHandler):
    """aiohttp's connection handler with our answer to what never reaches a route (a request
    the HTTP parser refused, an exception that escaped the middleware), our log records, a
    bound on a whole request head and, for a connection the lane gave it, the lane's deadline
    for its head (:attr:`head_deadline`)."""

    settings: ServiceSettings
    #: Bytes of a request head not yet whole (``MAX_HTTP_HEAD_BYTES``).
    _head_bytes: int = 0
    #: The body of the last request the parser read: while it is not all in, what arrives is
    #: body, not head.
    _last_body: StreamReader = EMPTY_PAYLOAD
    #: A head went over the bound: nothing more is read from this connection.
    _head_refused: bool = False
    #: Loop time by which the first request must be whole, for a connection the lane gave
    #: (the lane's own deadline: a head it held to just before the idle time is not given as
    #: long again); None: ``HTTP_IDLE_TIMEOUT_S`` after it opens, as aiohttp's.
    head_deadline: float | None = None
    #: Futures done once the peer's connection is lost (:func:`peer_gone`).
    _gone: list[asyncio.Future[None]] | None = None

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        for waiter in self._gone or ():
            if not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        """aiohttp's, then the bound on a whole head, which its parser bounds only field by
        field (``MAX_HTTP_FIELD_SIZE``, ``MAX_HTTP_HEADERS`` of them):

        1. Bytes that arrive while no body is being read and complete no head count as head
           (a read that finishes a body and starts a head is not counted: at most one read
           under, never over).
        2. A head that completes starts the count again: at the whole read when none of the
           requests it completed carried a body (its tail may begin the next, pipelined head:
           uncounted, it held its connection past the bound for 75 s; a review, 2026-12-07;
           the heads it completed count too: at most one read over, so a thousand pipelined
           GETs arriving in one read of over 64 KiB are refused), else at 0 (its bytes may be
           a body's: at most one read under).
        3. Past ``MAX_HTTP_HEAD_BYTES`` the connection reads no more: the unfinished head is
           answered 431 with our error (``error_for_status``, through :meth:`handle_error`, as
           aiohttp answers a head its parser refuses), then closed.
        """
        if self._head_refused:
            return
        in_head = self._payload_parser is None and not self._upgraded and self._last_body.is_eof()
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            completed = list(self._messages)[parsed - self._request_count :]
            self._last_body = self._messages[-1][1] if self._messages else EMPTY_PAYLOAD
            bodiless = all(payload is EMPTY_PAYLOAD for _, payload in completed)
            idle = self._payload_parser is None and self._last_body.is_eof()
            self._head_bytes = len(data) if idle and bodiless else 0
            if self._head_bytes > limits.MAX_HTTP_HEAD_BYTES:
                self._refuse_head()
        elif in_head:
            self._head_bytes += len(data)
            if self._head_bytes > limits.MAX_HTTP_HEAD_BYTES:
                self._refuse_head()

    def _refuse_head(self) -> None:
        # Queued as aiohttp queues a head its parser refuses (RequestHandler.data_received):
        # these are its handler's internals, as the keep-alive timer's below (aiohttp is pinned,
        # and tests/e2e/test_request_heads.py fails if they change).
        self._head_refused = True
        error = TooLargeError("request head too large")
        self._messages.append((_ErrInfo(status=431, exc=error, message=str(error)), EMPTY_PAYLOAD))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """aiohttp's, whose timer closes the connection ``HTTP_IDLE_TIMEOUT_S`` from now if no
        whole request has come; for a connection the lane gave, at its ``head_deadline``."""
        super().connection_made(transport)
        if self.head_deadline is not None:
            if self._keepalive_handle is not None:
                self._keepalive_handle.cancel()
            self._next_keepalive_close_time = self.head_deadline
            self._keepalive_handle = self._loop.call_at(self.head_deadline, self._process_keepalive)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer with our JSON error body and close the connection.

        1. Log the service, the status and the *type* of the parser's error, at INFO: never
           ``request.remote``, ``message`` or the exception's text, which quote the peer.
        2. If part of a response was sent already, the connection is broken (as aiohttp).
        3. Answer ``error_for_status(status)``'s body, without ``Server:``, and close.
        """
        del message  # aiohttp's text: it quotes the peer's bytes
        kind = type(exc).__name__ if exc is not None else "none"
        route = MALFORMED_ROUTE if status < 500 else "unhandled"
        level = logging.INFO if status < 500 else logging.ERROR
        log.log(level, "%s %s request answered %d: %s", self.settings.service, route, status, kind)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        response = error_response(error_for_status(status), status=status)
        response.force_close()
        if self.settings.metrics is not None:
            self.settings.metrics.observe(route, status, 0, response.content_length or 0)
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's "Unhandled exception" record, reduced to the exception's type."""
        exc = kw.get("exc_info")
        kind = type(exc).__name__ if isinstance(exc, BaseException) else "unknown"
        log.error("%s connection error: %s", self.settings.service, kind)


@contextlib.contextmanager
def peer_gone(request: web.Request) -> Iterator[asyncio.Future[None]]:
    """For the ``with`` block, a future done once ``request``'s peer has disconnected (at once
    if it has): for a handler that waits on work of its own for the peer (the relay's
    pass-through reads upstream) and should stop it when nobody will read the answer. A
    connection not of :func:`start_site` (a test's plain server) gives a future never done."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    protocol = request.protocol
    if not isinstance(protocol, _ServiceProtocol):
        yield waiter
        return
    if protocol.transport is None:
        waiter.set_result(None)
    if protocol._gone is None:
        protocol._gone = []
    protocol._gone.append(waiter)
    try:
        yield waiter
    finally:
        protocol._gone.remove(waiter)


class _ServiceServer(web.Server):
    """aiohttp's server (a protocol factory) making :class:`_ServiceProtocol` handlers, or
    lane connections where the service has a lane (services.lane, ADR 0032), and admitting
    connections through a :class:`ConnectionGuard`."""

    def __init__(
        self,
        *args: Any,
        settings: ServiceSettings,
        guard: ConnectionGuard,
        lane: Lane | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.guard = guard
        self.lane = lane
        self.date = DateField()
        self._lanes: set[LaneConnection] = set()

    def __call__(self) -> asyncio.Protocol:  # type: ignore[override]  # a lane or aiohttp's
        if self.lane is not None:
            return LaneConnection(self, self.lane)
        return self.aiohttp_handler()

    def aiohttp_handler(self, head_deadline: float | None = None) -> _ServiceProtocol:
        """A connection handler of aiohttp's (a lane connection gives its connection to one,
        with the loop time its head must be whole by)."""
        handler = _ServiceProtocol(self, loop=self._loop, **self._kwargs)
        handler.settings = self.settings
        handler.head_deadline = head_deadline
        return handler

    def lane_opened(self, conn: LaneConnection) -> None:
        self._lanes.add(conn)

    def lane_closed(self, conn: LaneConnection) -> None:
        self._lanes.discard(conn)

    def pre_shutdown(self) -> None:
        super().pre_shutdown()
        for conn in list(self._lanes):
            conn.close_when_idle()

    async def shutdown(self, timeout: float | None = None) -> None:
        wait = timeout if timeout is not None else 0.0
        lanes = [conn.shutdown(wait) for conn in list(self._lanes)]
        await asyncio.gather(super().shutdown(timeout), *lanes)

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        # Closed at once and unread when over a cap.
        if not self.guard.admit(handler, transport.get_extra_info("peername")):
            transport.close()
            return
        drop_when_unread(transport)
        super().connection_made(handler, transport)

    def connection_lost(
        self, handler: web.RequestHandler, exc: BaseException | None = None
    ) -> None:
        self.guard.release(handler)
        super().connection_lost(handler, exc)


class _ServiceRunner(web.AppRunner):
    """An application runner whose server is a :class:`_ServiceServer`."""

    def __init__(
        self, app: web.Application, *, settings: ServiceSettings, guard: ConnectionGuard, **kw: Any
    ) -> None:
        super().__init__(app, **kw)
        self._settings = settings
        self._guard = guard

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the application, as aiohttp does
        return _ServiceServer(
            plain.request_handler,
            request_factory=functools.partial(self.app._make_request, _cls=_Request),
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            settings=self._settings,
            guard=self._guard,
            lane=self.app.get(LANE),
            **plain._kwargs,
        )


#: The loggers below those of :data:`PEER_DATA_LOGGERS` (diffusers logs on
#: ``diffusers.pipelines.<module>``), and every aiohttp logger.
_PEER_DATA_SUBTREES = ("aiohttp.", *(f"{name}." for name in PEER_DATA_LOGGERS))


class WithholdPeerData(logging.Filter):
    """Reduce a record of a logger in :data:`PEER_DATA_LOGGERS`, or below one, to its logger,
    level and exception type: their messages, arguments and tracebacks can hold a peer's
    address and bytes, or a request's text. Records of every other logger pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in PEER_DATA_LOGGERS or record.name.startswith(_PEER_DATA_SUBTREES):
            exc = record.exc_info[1] if record.exc_info else None
            record.msg = "%s record withheld (it may carry peer data): %s"
            record.args = (record.name, type(exc).__name__ if exc is not None else "-")
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def withhold_peer_data() -> None:
    """Put :class:`WithholdPeerData` on each logger of :data:`PEER_DATA_LOGGERS` (once)."""
    for name in PEER_DATA_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdPeerData) for f in logger.filters):
            logger.addFilter(WithholdPeerData())


def new_app(
    service: str,
    metrics: Metrics,
    *,
    per_peer_connections: int | None = None,
    cancel_on_disconnect: bool = False,
) -> web.Application:
    """An application with our middleware, a ``/metrics`` route, a ``/livez`` route (the
    process serves HTTP: a liveness probe; readiness is each service's own ``/healthz``) and a
    :class:`BodyBudget` of ``limits.MAX_INFLIGHT_BODY_BYTES`` for request bodies and one of
    ``limits.MAX_INFLIGHT_ANSWER_BYTES`` for the answers it passes through
    (services.answers). ``per_peer_connections`` caps the connections one peer address may hold
    (the services whose peers are devices: the relay and the issuer); such a service's budgets
    are shared per peer address too (``limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER``,
    ``limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER``). ``cancel_on_disconnect``: a request's handler
    is cancelled when its peer disconnects (``ServiceSettings.cancel_on_disconnect``)."""
    app = web.Application(
        middlewares=[make_middleware(service, metrics)], client_max_size=limits.MAX_HTTP_BODY
    )
    per_peer = per_peer_connections is not None
    app[SERVICE] = ServiceSettings(
        service,
        metrics,
        BodyBudget(
            limits.MAX_INFLIGHT_BODY_BYTES,
            limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER if per_peer else None,
        ),
        per_peer_connections,
        BodyBudget(
            limits.MAX_INFLIGHT_ANSWER_BYTES,
            limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER if per_peer else None,
            what="answers",
        ),
        cancel_on_disconnect,
    )

    async def metrics_handler(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain")

    async def live_handler(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": service})

    app.router.add_get("/metrics", metrics_handler, name="metrics")
    app.router.add_get(LIVENESS_PATH, live_handler, name="liveness")
    return app


async def start_site(
    app: web.Application, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, int]:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one); returns the runner and
    the bound port. ``reuse_port`` lets several processes share one port (SO_REUSEPORT), the
    kernel spreading connections among them. Connections are capped at
    ``limits.MAX_SERVER_CONNECTIONS`` (and per peer, as the app's settings say)."""
    withhold_peer_data()
    settings = app.get(SERVICE) or ServiceSettings("service", None, None)
    guard = ConnectionGuard(
        settings.service, limits.MAX_SERVER_CONNECTIONS, settings.per_peer_connections
    )
    runner = _ServiceRunner(
        app,
        settings=settings,
        guard=guard,
        access_log=None,
        handle_signals=False,
        handler_cancellation=settings.cancel_on_disconnect,
        max_line_size=limits.MAX_HTTP_LINE_SIZE,
        max_field_size=limits.MAX_HTTP_FIELD_SIZE,
        max_headers=limits.MAX_HTTP_HEADERS,
        # aiohttp arms this timer when a connection opens and re-arms it after each response,
        # so it also closes a connection that never completes its request headers.
        keepalive_timeout=limits.HTTP_IDLE_TIMEOUT_S,
        shutdown_timeout=2.0,
        # Request bodies stay as sent: aiohttp would inflate a compressed one as it arrives,
        # past the size its Content-Length declared and the body budget reserved (read_body
        # refuses them: nothing of ours sends one).
        auto_decompress=False,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, reuse_port=reuse_port or None)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {host}:{port}: the port is in use or not allowed; "
            "stop what uses it, or choose another port (--port; for `privcloud up`: --relay-port "
            "or cloud.relay_port in privcloud.toml)"
        ) from exc
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
