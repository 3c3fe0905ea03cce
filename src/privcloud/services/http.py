"""What every service shares: error mapping, bounded body reads, content-free logging and
metrics, and starting an aiohttp site on an address.

Logging is an allow-list: a service logs its name, the route's *name*, the status, the duration
and byte counts — never addresses, headers, bodies or exception text from a peer
(docs/trust-model.md#no-privileged-runtime-access). aiohttp's own access log is switched off
because it records client addresses and user agents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    PeerError,
    PrivcloudError,
    RequestTimeoutError,
    TooLargeError,
    UnsupportedError,
)
from privcloud.wire.jsonio import encode_error_body

log = logging.getLogger("privcloud.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Metrics:
    """Content-free counters: route names, status classes and byte totals only."""

    service: str
    counters: Counter[str] = field(default_factory=Counter)

    def observe(self, route: str, status: int, bytes_in: int, bytes_out: int) -> None:
        self.counters[f"requests{{route={route},status={status}}}"] += 1
        self.counters[f"bytes_in{{route={route}}}"] += bytes_in
        self.counters[f"bytes_out{{route={route}}}"] += bytes_out

    def render(self) -> str:
        lines = [f"# privcloud {self.service} metrics (allow-listed, content-free)"]
        lines += [f"privcloud_{name} {value}" for name, value in sorted(self.counters.items())]
        return "\n".join(lines) + "\n"


def error_response(exc: PrivcloudError) -> web.Response:
    """The HTTP answer for one of our errors: its status and its fixed, content-free text."""
    body = encode_error_body(exc)
    resp = web.Response(status=exc.http_status, body=body, content_type="application/json")
    if isinstance(exc, (RequestTimeoutError, TooLargeError)):
        resp.force_close()
    return resp


def make_middleware(service: str, metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Map our errors to statuses, turn anything unexpected into a 500, log allow-listed fields."""

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
            response = web.Response(status=exc.status, text=exc.reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence keeps serving
            # Only the exception type: its text or traceback could carry request content.
            log.error(  # noqa: TRY400
                "%s %s internal error: %s", service, route, type(exc).__name__
            )
            response = web.Response(status=500, text="internal error")
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


async def read_body(
    request: web.Request,
    *,
    limit: int = limits.MAX_HTTP_BODY,
    timeout: float = limits.BODY_READ_TIMEOUT_S,
) -> bytes:
    """Read a whole request body, bounded in size and in time (slowloris protection).

    The body must arrive at ``limits.MIN_BODY_RATE_BPS`` on average after a grace of
    ``timeout`` seconds (so a large upload on a slow phone link passes and a trickle does not),
    and no single wait for more bytes may exceed ``timeout``. Raises :class:`TooLargeError`
    (413) past ``limit`` and :class:`RequestTimeoutError` (408) when the body is too slow.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise TooLargeError("request body too large")
    expected = length if length is not None else limit
    loop = asyncio.get_running_loop()
    started = loop.time()
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout + expected / limits.MIN_BODY_RATE_BPS):
            while chunk := await asyncio.wait_for(request.content.readany(), timeout):
                buf += chunk
                if len(buf) > limit:
                    raise TooLargeError("request body too large")
                # The rate counts bytes that actually arrived, not what the peer declared.
                late = loop.time() - started - timeout
                if late > 0 and len(buf) < late * limits.MIN_BODY_RATE_BPS:
                    raise RequestTimeoutError("request body too slow")
    except TimeoutError:
        raise RequestTimeoutError("request body too slow") from None
    return bytes(buf)


def require_media_type(request: web.Request, *allowed: str) -> str:
    """Return the request's media type if it is one of ``allowed``; else 415."""
    media = request.content_type
    if media not in allowed:
        raise UnsupportedError("unsupported media type")
    return media


def new_app(service: str, metrics: Metrics) -> web.Application:
    """An application with our middleware and a ``/metrics`` route."""
    app = web.Application(
        middlewares=[make_middleware(service, metrics)], client_max_size=limits.MAX_HTTP_BODY
    )

    async def metrics_handler(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain")

    app.router.add_get("/metrics", metrics_handler, name="metrics")
    return app


async def start_site(
    app: web.Application, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, int]:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one); returns the runner and
    the bound port. ``reuse_port`` lets several processes share one port (SO_REUSEPORT), the
    kernel spreading connections among them."""
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        max_line_size=limits.MAX_HTTP_LINE_SIZE,
        max_field_size=limits.MAX_HTTP_FIELD_SIZE,
        # aiohttp arms this timer when a connection opens and re-arms it after each response,
        # so it also closes a connection that never completes its request headers.
        keepalive_timeout=limits.HTTP_IDLE_TIMEOUT_S,
        shutdown_timeout=2.0,
    )
    await runner.setup()
    assert runner.server is not None
    _cap_connections(runner.server, limits.MAX_SERVER_CONNECTIONS)
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


def _cap_connections(server: web.Server, cap: int) -> None:
    """Close, at once and unread, every connection beyond ``cap`` open ones: many slow peers
    cannot take all of a service's sockets (each also ends after ``HTTP_IDLE_TIMEOUT_S``)."""
    admit = server.connection_made

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        if len(server.connections) >= cap:
            log.warning("connection refused: %d connections open", cap)
            transport.close()
            return
        admit(handler, transport)

    server.connection_made = connection_made  # type: ignore[method-assign]
