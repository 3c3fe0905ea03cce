"""Keep-alive HTTP/1.1 for the one-shot exchange between two services (docs/adr/0030).

Every private request crosses two hops the same way: the relay posts the encapsulated request to
the gateway, the gateway posts the envelope to a node, and each reads the whole answer, bounded.
aiohttp's client spends about as much CPU on that exchange as the rest of a forwarding hop
together (its request and response objects, URL handling, timers, the connector's bookkeeping),
so this module does that one exchange itself: a pool of kept-alive connections per origin,
requests framed here (``Host``, ``Content-Type``, ``Content-Length``: nothing else about the
request or its client), answers parsed by llhttp through ``httptools`` — the parser aiohttp
itself and uvicorn use.

What it refuses, each with an error of :mod:`privcloud.errors`: a connection that cannot be
made in ``limits.UPSTREAM_CONNECT_TIMEOUT_S`` (:class:`UpstreamUnreachableError`: nothing was
delivered, so the request may go elsewhere); a next hop that goes quiet for
``limits.UPSTREAM_READ_IDLE_TIMEOUT_S``, closes before its answer ends, answers without a
length (a body ended by closing cannot be told from a cut one), sends bytes nobody asked for or
an answer llhttp rejects (:class:`UpstreamError`: the request may have run); a head over
``limits.MAX_UPSTREAM_HEAD_BYTES`` or a body over the caller's bound (:class:`TooLargeError`).
A connection is reused only after a whole answer that allows it, never after an error or a
cancelled wait, and not after ``limits.UPSTREAM_POOL_IDLE_S`` idle (below the services' own
keep-alive, so a hop never writes to a connection the next hop is closing).

Streams (chunked OHTTP), WebSockets (live tunnels) and document fetches stay on aiohttp
(:class:`~privcloud.netio.LazySession`).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import httptools

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    PrivcloudError,
    TooLargeError,
    UpstreamError,
    UpstreamUnreachableError,
)

#: Bodies up to this size are written with their head in one call (one segment, one syscall).
_JOIN_BELOW = 64 * limits.KiB


@dataclass(frozen=True, slots=True)
class HopResponse:
    """A whole answer: its status, its media type (lower case, without parameters; "" when it
    names none) and its body."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host, port
    host_header: bytes
    path: bytes


@lru_cache(maxsize=1024)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("a next hop's URL must be http:// or https:// with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not _is_token_text(path):
        raise ConfigError("a next hop's URL path must be printable ASCII without spaces")
    return _Target(
        (parts.scheme, parts.hostname, port),
        parts.netloc.rsplit("@", 1)[-1].encode("idna"),
        path.encode("ascii"),
    )


def _is_token_text(text: str) -> bool:
    """Printable ASCII, no space: nothing that could end a request line or a header early."""
    return text.isascii() and all(" " < c < "\x7f" for c in text)


class _Connection(asyncio.Protocol):
    """One connection and its parser; at most one exchange on it at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[HopResponse] | None = None
        self.usable = True  # False once closed, broken, or told not to keep the connection
        self.idle_since = loop.time()
        self._limit = 0
        self._body: list[bytes] = []
        self._size = 0
        self._head = 0
        self._content_type = b""
        self._failure: PrivcloudError | None = None
        self._last_io = 0.0
        self._idle_s = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:
            self._fail(UpstreamError("the next hop sent bytes nobody asked for"))
            return
        self._last_io = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(self._failure or UpstreamError("malformed answer from the next hop"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail(UpstreamError("the next hop closed the connection before its answer ended"))

    # --- llhttp callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.waiter is None or self.waiter.done():
            self._failure = UpstreamError("the next hop sent an answer nobody asked for")
            raise self._failure
        self._body = []
        self._size = 0
        self._head = 0
        self._content_type = b""

    def on_status(self, status: bytes) -> None:
        self._count_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        if name.lower() == b"content-type":
            self._content_type = value

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._limit:
            self._failure = TooLargeError("the next hop's answer is too large")
            raise self._failure
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        self._stop_timer()
        if not self.parser.should_keep_alive():
            self.usable = False
        media = self._content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        if waiter is not None and not waiter.done():
            waiter.set_result(HopResponse(self.parser.get_status_code(), media, body))

    # --- the exchange -----------------------------------------------------------------------

    def send(
        self, head: bytes, body: bytes, limit: int, idle_s: float
    ) -> asyncio.Future[HopResponse]:
        """Write one request; the future gets its whole answer."""
        assert self.transport is not None and self.waiter is None
        self.waiter = self.loop.create_future()
        self._limit = limit
        self._failure = None
        self._idle_s = idle_s
        self._last_io = self.loop.time()
        self._timer = self.loop.call_at(self._last_io + idle_s, self._check_idle)
        if len(body) < _JOIN_BELOW:
            self.transport.write(head + body)
        else:
            self.transport.write(head)
            self.transport.write(body)
        return self.waiter

    def close(self) -> None:
        self.usable = False
        self._stop_timer()
        if self.transport is not None:
            self.transport.close()

    def _check_idle(self) -> None:
        quiet = self.loop.time() - self._last_io
        if quiet >= self._idle_s:
            self._timer = None
            self._fail(UpstreamError("the next hop went quiet before its answer ended"))
        else:
            self._timer = self.loop.call_at(self._last_io + self._idle_s, self._check_idle)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _count_head(self, n: int) -> None:
        self._head += n
        if self._head > limits.MAX_UPSTREAM_HEAD_BYTES:
            self._failure = TooLargeError("the next hop's answer head is too large")
            raise self._failure

    def _fail(self, error: PrivcloudError) -> None:
        """End the exchange in progress with ``error`` and close: the connection is not
        reusable after anything unexpected."""
        waiter, self.waiter = self.waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class HopClient:
    """Pooled keep-alive connections to the next hops, for one-shot POSTs.

    ``connections`` caps the exchanges in flight at once over every origin (more wait for a
    slot), which also caps the connections kept; ``total`` optionally bounds a whole exchange,
    the wait for a slot included. Make one per owner inside its event loop; :meth:`close` it on
    the way out."""

    def __init__(
        self,
        *,
        connections: int = limits.MAX_UPSTREAM_CONNECTIONS,
        total: float | None = None,
        connect_timeout: float = limits.UPSTREAM_CONNECT_TIMEOUT_S,
        idle_timeout: float = limits.UPSTREAM_READ_IDLE_TIMEOUT_S,
        pool_idle: float = limits.UPSTREAM_POOL_IDLE_S,
    ) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._total = total
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._pool_idle = pool_idle
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def post(self, url: str, body: bytes, media: str, *, limit: int) -> HopResponse:
        """POST ``body`` as ``media`` to ``url``; the whole answer, its body at most ``limit``
        bytes. Raises :class:`UpstreamUnreachableError` when no connection could be made (the
        request was not delivered), :class:`UpstreamError` when the exchange failed after it
        may have been, :class:`TooLargeError` past a bound."""
        if self._closed:
            raise UpstreamUnreachableError("the client is closed")
        if self._total is None:
            return await self._post(url, body, media, limit)
        try:
            async with asyncio.timeout(self._total):
                return await self._post(url, body, media, limit)
        except TimeoutError as exc:
            raise UpstreamError("the next hop took too long to answer") from exc

    async def close(self) -> None:
        """Close every idle connection; later posts are refused."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    async def _post(self, url: str, body: bytes, media: str, limit: int) -> HopResponse:
        target = _target(url)
        if not _is_token_text(media.replace(" ", "")):
            raise ConfigError("a media type must be printable ASCII")
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
            target.path,
            target.host_header,
            media.encode("latin-1"),
            len(body),
        )
        async with self._slots:
            conn = self._checkout(target.origin) or await self._connect(target.origin)
            keep = False
            try:
                answer = await conn.send(head, body, limit, self._idle_timeout)
                keep = conn.usable and not self._closed
                return answer
            finally:
                if keep:
                    conn.idle_since = conn.loop.time()
                    self._idle.setdefault(target.origin, []).append(conn)
                else:
                    conn.close()  # an error, a cancelled wait, or "Connection: close"

    def _checkout(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable and conn.loop.time() - conn.idle_since < self._pool_idle:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop), host, port, ssl=tls
                )
        except (OSError, TimeoutError) as exc:
            raise UpstreamUnreachableError("the next hop could not be reached") from exc
        return conn


__all__ = ["HopClient", "HopResponse"]
