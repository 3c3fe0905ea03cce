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
``limits.UPSTREAM_READ_IDLE_TIMEOUT_S`` (neither taking more of the request nor sending its
answer; what it takes is seen as the request's unsent bytes going down), or whose whole answer
is not in ``limits.UPSTREAM_TOTAL_TIMEOUT_S`` after the request was sent (one that drips its
answer a byte at a time is never quiet, and would hold a slot for ever), closes before its
answer ends, answers without a length (a body ended by closing cannot be told from a cut one),
switches protocols, sends bytes nobody asked for or an answer llhttp rejects
(:class:`UpstreamError`: the request may have run);
a head (interim 1xx heads included, which are skipped), or a trailer, over
``limits.MAX_UPSTREAM_HEAD_BYTES``, a body over the caller's bound, twice that on the wire, or
in more than ``limits.MAX_UPSTREAM_BODY_CHUNKS`` chunks (:class:`TooLargeError`). An
``https://`` next hop must show a certificate for its host name that a trusted root signed
(:class:`HopClient`'s ``tls``); a handshake that fails is :class:`UpstreamUnreachableError`,
like a refused connection. The answer comes in two steps:
:meth:`HopClient.post` returns once its head is in (a node's status charges a token:
services.gateway), :meth:`HopAnswer.read` gives its body. A connection is reused only after a
whole answer that allows it, once its request has left whole, never after an error, a dropped
answer or a cancelled wait, and not after ``limits.UPSTREAM_POOL_IDLE_S`` idle (below the
services' own keep-alive, so a hop never writes to a connection the next hop is closing).

Streams (chunked OHTTP), WebSockets (live tunnels) and document fetches stay on aiohttp
(:class:`~privcloud.netio.LazySession`).
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import cast
from urllib.parse import urlsplit

import httptools
from yarl import URL

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
    host = _ascii_host(parts.hostname)
    authority = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        authority += f":{parts.port}"
    return _Target((parts.scheme, host, port), authority.encode("ascii"), path.encode("ascii"))


def _ascii_host(hostname: str) -> str:
    """The host as aiohttp reaches it: yarl's IDNA 2008 (UTS #46) encoding, lower case. The
    relay's other requests go through aiohttp, so both clients connect to, verify the
    certificate of and name in ``Host`` the same host (Python's own ``idna`` codec is IDNA
    2003, which maps ``ß`` to ``ss``: another name). Raises :class:`ConfigError`."""
    try:
        host = URL.build(scheme="http", host=hostname).raw_host
    except (ValueError, UnicodeError) as exc:
        raise ConfigError("a next hop's host name is not valid") from exc
    if not host or not _is_token_text(host):
        raise ConfigError("a next hop's host name is not valid")
    return host


def _is_token_text(text: str) -> bool:
    """Printable ASCII, no space: nothing that could end a request line or a header early."""
    return text.isascii() and text.isprintable() and " " not in text


@lru_cache(maxsize=1024)
def _head_start(url: str, media: str) -> tuple[_Target, bytes]:
    """A POST to ``url`` as ``media``: its target, and its head up to the length's value
    (checked once per pair: a hop posts to few URLs, as few media types)."""
    target = _target(url)
    if not _is_token_text(media.replace(" ", "")):
        raise ConfigError("a media type must be printable ASCII")
    start = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: " % (
        target.path,
        target.host_header,
        media.encode("latin-1"),
    )
    return target, start


if sys.platform == "linux":
    import fcntl
    import termios

    #: Linux's SIOCOUTQ (TIOCOUTQ on a socket): its send queue's unacknowledged bytes.
    _SIOCOUTQ: int | None = termios.TIOCOUTQ
else:  # elsewhere only our transports' buffers are seen
    _SIOCOUTQ = None


def _queued(transport: asyncio.Transport) -> int:
    """Bytes in the kernel's send queue of ``transport``'s socket not yet acknowledged by the
    peer (``SIOCOUTQ``), or 0 where the system has no such call (or it fails)."""
    sock = transport.get_extra_info("socket")
    if sock is None or _SIOCOUTQ is None or transport.is_closing():
        return 0  # (a closed socket's number may be another's by now)
    try:
        out = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int.from_bytes(out, sys.byteorder, signed=True)


class _Connection(asyncio.Protocol):
    """One connection and its parser; at most one exchange on it at a time. An exchange has two
    futures: ``head`` (the final status and media type: a 1xx interim answer is skipped) and
    ``body`` (the whole body)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        #: Under TLS, the TCP transport beneath :attr:`transport` (whose own write buffer
        #: leaves out the encrypted bytes still waiting there).
        self.tcp: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.head: asyncio.Future[tuple[int, str]] | None = None
        self.body: asyncio.Future[bytes] | None = None
        self.usable = True  # False once closed, broken, or told not to keep the connection
        self.idle_since = loop.time()
        self._limit = 0
        self._buffer = bytearray()
        self._in_head = False
        self._head_bytes = 0
        self._fields_bytes = 0
        self._since_body = 0
        self._chunks = 0
        self._wire_bytes = 0
        self._wire_limit = 0
        self._content_type = b""
        self._failure: PrivcloudError | None = None
        self._last_io = 0.0
        self._unsent_seen = 0  # the request's bytes still unsent at the last idle check
        self._idle_s = 0.0
        self._deadline = 0.0  # loop time by which the whole answer must be in
        self._timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.body is None:
            self._fail(UpstreamError("the next hop sent bytes nobody asked for"))
            return
        self._last_io = self.loop.time()
        # llhttp gathers a header line whole before it calls back, so the callbacks alone
        # cannot stop one endless header: the head is also bounded by the bytes fed while it
        # lasts (a read late at most), and the whole answer by its size on the wire.
        if self._in_head:
            if self._head_bytes > limits.MAX_UPSTREAM_HEAD_BYTES:
                self._fail(TooLargeError("the next hop's answer head is too large"))
                return
            self._head_bytes += len(data)
        else:  # trailers and chunk extensions, gathered whole like header values
            if self._since_body > limits.MAX_UPSTREAM_HEAD_BYTES:
                self._fail(TooLargeError("the next hop's answer carries too much besides its body"))
                return
            self._since_body += len(data)
        self._wire_bytes += len(data)
        if self._wire_bytes > self._wire_limit:
            self._fail(TooLargeError("the next hop's answer is too large"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("the next hop switched protocols"))
        except httptools.HttpParserError:
            self._fail(self._failure or UpstreamError("malformed answer from the next hop"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail(UpstreamError("the next hop closed the connection before its answer ended"))

    # --- llhttp callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.body is None or self.body.done():
            self._failure = UpstreamError("the next hop sent an answer nobody asked for")
            raise self._failure
        self._in_head = True
        self._buffer = bytearray()
        self._content_type = b""

    def on_status(self, status: bytes) -> None:
        self._count_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        if self._in_head and name.lower() == b"content-type":  # not a chunked body's trailer
            self._content_type = value

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the final one follows, and the
            # head bound covers every interim head before it together.
            return
        self._in_head = False
        self._since_body = 0
        media = self._content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
        if self.head is not None and not self.head.done():
            self.head.set_result((status, media))

    def on_chunk_header(self) -> None:
        self._chunks += 1
        if self._chunks > limits.MAX_UPSTREAM_BODY_CHUNKS:
            self._failure = TooLargeError("the next hop's answer comes in too many chunks")
            raise self._failure

    def on_body(self, body: bytes) -> None:
        self._since_body = 0
        if len(self._buffer) + len(body) > self._limit:
            self._failure = TooLargeError("the next hop's answer is too large")
            raise self._failure
        self._buffer += body

    def on_message_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:
            return
        waiter, self.body = self.body, None
        self.head = None
        self._stop_timer()
        if not self.parser.should_keep_alive():
            self.usable = False
        body = bytes(self._buffer)
        self._buffer = bytearray()
        if waiter is not None and not waiter.done():
            waiter.set_result(body)

    # --- the exchange -----------------------------------------------------------------------

    def send(self, head: bytes, body: bytes, limit: int, idle_s: float, total_s: float) -> None:
        """Write one request; :attr:`head` and :attr:`body` get its answer, which fails after
        ``idle_s`` of quiet or ``total_s`` in all."""
        assert self.transport is not None and self.body is None
        self.head = self.loop.create_future()
        self.body = self.loop.create_future()
        self._limit = limit
        self._failure = None
        self._in_head = True
        self._head_bytes = 0
        self._fields_bytes = 0
        self._since_body = 0
        self._chunks = 0
        self._wire_bytes = 0
        # Chunked framing may cost as much again as the body; more is not an honest answer.
        self._wire_limit = 2 * limit + 2 * limits.MAX_UPSTREAM_HEAD_BYTES
        self._idle_s = idle_s
        self._last_io = self.loop.time()
        self._deadline = self._last_io + total_s
        self._timer = self.loop.call_at(self._next_check(), self._check_idle)
        if len(body) < _JOIN_BELOW:
            self.transport.write(head + body)
            self._unsent_seen = 0  # (no system call per small request: it fits the socket)
        else:
            self.transport.write(head)
            self.transport.write(body)
            self._unsent_seen = self._unsent()

    @property
    def written(self) -> bool:
        """Whether every byte of the request has left (so the next one is not queued behind
        a body the next hop may never read), through TLS and TCP both."""
        return (
            self.transport is not None
            and self.transport.get_write_buffer_size() == 0
            and (self.tcp is None or self.tcp.get_write_buffer_size() == 0)
        )

    def lower_limit(self, limit: int) -> None:
        """Bound the body of the exchange in progress by ``limit`` from now on."""
        self._limit = min(self._limit, limit)
        if len(self._buffer) > self._limit:
            self._fail(TooLargeError("the next hop's answer is too large"))

    def close(self) -> None:
        self.usable = False
        self._stop_timer()
        if self.transport is not None:
            self.transport.close()

    def _unsent(self) -> int:
        """Bytes of the request not yet taken by the next hop: in our transports (TLS's and
        TCP's) and, where the system tells (Linux), in the socket's send queue."""
        size = sum(t.get_write_buffer_size() for t in (self.transport, self.tcp) if t is not None)
        wire = self.tcp if self.tcp is not None else self.transport  # the one with the socket
        return size + (_queued(wire) if wire is not None else 0)

    def _next_check(self) -> float:
        return min(self._last_io + self._idle_s, self._deadline)

    def _check_idle(self) -> None:
        now = self.loop.time()
        if now >= self._deadline:
            self._timer = None
            self._fail(UpstreamError("the next hop's answer took too long"))
            return
        unsent = self._unsent()
        if unsent < self._unsent_seen:  # the next hop is still reading the request: not quiet
            self._unsent_seen = unsent
            self._last_io = now
        if now - self._last_io >= self._idle_s:
            self._timer = None
            self._fail(UpstreamError("the next hop went quiet before its answer ended"))
        else:
            self._timer = self.loop.call_at(self._next_check(), self._check_idle)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _count_head(self, n: int) -> None:
        """The head's fields, counted as llhttp hands them over (trailers too)."""
        self._fields_bytes += n
        if self._fields_bytes > limits.MAX_UPSTREAM_HEAD_BYTES:
            self._failure = TooLargeError("the next hop's answer head is too large")
            raise self._failure

    def _fail(self, error: PrivcloudError) -> None:
        """End the exchange in progress with ``error`` and close: the connection is not
        reusable after anything unexpected."""
        waiters = (self.head, self.body)
        self.head = self.body = None
        self.close()
        for waiter in waiters:
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # retrieved: an answer dropped unread has no reader


class HopAnswer:
    """An answer whose head is in: :attr:`status` and :attr:`content_type` (lower case,
    without parameters; "" when it names none). Read its body with :meth:`read`, or drop it
    with :meth:`close`; either gives the connection back."""

    __slots__ = ("_body", "_client", "_conn", "_done", "_origin", "content_type", "status")

    def __init__(
        self,
        client: HopClient,
        conn: _Connection,
        origin: tuple[str, str, int],
        body: asyncio.Future[bytes],
        status: int,
        content_type: str,
    ) -> None:
        self._body = body
        self._client = client
        self._conn = conn
        self._origin = origin
        self._done = False
        self.status = status
        self.content_type = content_type

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (errors as :meth:`HopClient.post`'s, after the head); ``limit``
        lowers the bound :meth:`HopClient.post` was given (an error's body, say)."""
        if limit is not None:
            self._conn.lower_limit(limit)
        try:
            body = await self._body
        except BaseException:
            self._finish(keep=False)
            raise
        self._finish(keep=True)
        if limit is not None and len(body) > limit:  # it had come whole already
            raise TooLargeError("the next hop's answer is too large")
        return body

    def close(self) -> None:
        """Drop the answer unread (its connection is closed)."""
        self._finish(keep=False)

    def _finish(self, *, keep: bool) -> None:
        if not self._done:
            self._done = True
            self._client._give_back(self._conn, self._origin, keep=keep)


class HopClient:
    """Pooled keep-alive connections to the next hops, for one-shot POSTs.

    ``connections`` caps the exchanges in flight at once over every origin (more wait for a
    slot), and the idle connections kept. ``tls`` verifies ``https://`` next hops; by default
    :func:`ssl.create_default_context` (made at the first one): the system's roots, or those
    of the file ``SSL_CERT_FILE`` names, with the host name checked. Make one per owner inside
    its event loop; :meth:`close` it on the way out."""

    def __init__(
        self,
        *,
        connections: int = limits.MAX_UPSTREAM_CONNECTIONS,
        connect_timeout: float = limits.UPSTREAM_CONNECT_TIMEOUT_S,
        idle_timeout: float = limits.UPSTREAM_READ_IDLE_TIMEOUT_S,
        total_timeout: float = limits.UPSTREAM_TOTAL_TIMEOUT_S,
        pool_idle: float = limits.UPSTREAM_POOL_IDLE_S,
        tls: ssl.SSLContext | None = None,
        local_address: str | None = None,
    ) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._local = (local_address, 0) if local_address else None
        self._max_idle = connections
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._total_timeout = total_timeout
        self._pool_idle = pool_idle
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_count = 0
        self._swept = 0.0
        self._tls = tls
        self._closed = False

    async def post(self, url: str, body: bytes, media: str, *, limit: int) -> HopAnswer:
        """POST ``body`` as ``media`` to ``url``; the answer once its head is in, its body to
        be read (at most ``limit`` bytes). Raises :class:`UpstreamUnreachableError` when no
        connection could be made (the request was not delivered), :class:`UpstreamError` when
        the exchange failed after it may have been, :class:`TooLargeError` past a bound."""
        target, start = _head_start(url, media)
        head = b"%s%d\r\n\r\n" % (start, len(body))
        await self._slots.acquire()
        conn: _Connection | None = None
        try:
            conn = self._checkout(target.origin) or await self._connect(target.origin)
            conn.send(head, body, limit, self._idle_timeout, self._total_timeout)
            assert conn.head is not None and conn.body is not None
            whole = conn.body  # the connection lets go of it once the answer is complete
            status, content_type = await conn.head
        except BaseException:
            if conn is not None:
                conn.close()
            self._slots.release()
            raise
        return HopAnswer(self, conn, target.origin, whole, status, content_type)

    async def close(self) -> None:
        """Close every idle connection; later posts are refused."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        self._idle_count = 0

    def _give_back(self, conn: _Connection, origin: tuple[str, str, int], *, keep: bool) -> None:
        try:
            now = conn.loop.time()
            if now - self._swept > self._pool_idle or self._idle_count >= self._max_idle:
                self._sweep(now)  # (when full: connections a peer closed count until swept)
            room = self._idle_count < self._max_idle
            if keep and room and conn.usable and conn.written and not self._closed:
                conn.idle_since = now
                self._idle.setdefault(origin, []).append(conn)
                self._idle_count += 1
                return
            conn.close()  # an error, a dropped answer, "Connection: close", or a full pool
        finally:
            self._slots.release()

    def _sweep(self, now: float) -> None:
        """Close the idle connections of every origin that have waited past ``pool_idle``."""
        self._swept = now
        for origin, idle in list(self._idle.items()):
            fresh: list[_Connection] = []
            for conn in idle:
                if conn.usable and now - conn.idle_since < self._pool_idle:
                    fresh.append(conn)
                else:
                    conn.close()
            self._idle_count -= len(idle) - len(fresh)
            if fresh:
                self._idle[origin] = fresh
            else:
                del self._idle[origin]

    def _checkout(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.usable and conn.loop.time() - conn.idle_since < self._pool_idle:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        if self._closed:  # checked after the wait for a slot, which close() may have ended in
            raise UpstreamUnreachableError("the client is closed")
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        if scheme == "https" and self._tls is None:
            self._tls = ssl.create_default_context()
        try:
            async with asyncio.timeout(self._connect_timeout):
                tcp, conn = await loop.create_connection(
                    lambda: _Connection(loop), host, port, local_addr=self._local
                )
                if scheme == "https":
                    try:
                        conn.transport, conn.tcp = await self._start_tls(tcp, conn, host), tcp
                    except BaseException:
                        tcp.close()
                        raise
        except (OSError, TimeoutError) as exc:
            raise UpstreamUnreachableError("the next hop could not be reached") from exc
        return conn

    async def _start_tls(
        self, tcp: asyncio.Transport, conn: _Connection, host: str
    ) -> asyncio.Transport:
        """TLS over the TCP connection ``tcp`` (started here rather than by
        ``create_connection``, so that the TCP transport is kept: its write buffer says
        whether the request has left, :attr:`_Connection.written`)."""
        assert self._tls is not None
        loop = asyncio.get_running_loop()
        tls = await loop.start_tls(tcp, conn, self._tls, server_hostname=host)
        if tls is None:  # (the connection closed during the handshake)
            raise ConnectionResetError("closed during the TLS handshake")
        return tls


class LazyHop:
    """One :class:`HopClient` per owner, made on first use (inside the running event loop) and
    made again after :meth:`close`, as :class:`~privcloud.netio.LazySession` makes sessions."""

    def __init__(self, *, connections: int | None = None, local_address: str | None = None) -> None:
        self._client: HopClient | None = None
        self._connections = connections
        self._local_address = local_address

    def get(self) -> HopClient:
        """The client, made now if there is none (or the last one was closed)."""
        if self._client is None:
            connections = self._connections or limits.MAX_UPSTREAM_CONNECTIONS
            self._client = HopClient(connections=connections, local_address=self._local_address)
        return self._client

    async def close(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            await self._client.close()
            self._client = None


__all__ = ["HopAnswer", "HopClient", "LazyHop"]
