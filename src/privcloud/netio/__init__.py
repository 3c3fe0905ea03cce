"""The outgoing HTTP side shared by the services and the SDK shells: one way to make a client
session (no cookies, no identifying headers, bounded waits), one lazily made session per
object (:class:`LazySession`), bounded reads, and the one loopback check."""

from __future__ import annotations

import ipaddress

import aiohttp

from privcloud import limits
from privcloud.errors import TooLargeError


async def read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Read ``stream`` to its end; raises :class:`TooLargeError` past ``limit`` bytes.

    (``StreamReader.read(n)`` returns whatever is buffered, not ``n`` bytes, so a single call is
    not a whole body.)
    """
    buf = bytearray()
    async for chunk in stream.iter_any():
        buf += chunk
        if len(buf) > limit:
            raise TooLargeError("peer response too large")
    return bytes(buf)


def new_session(
    *, total: float | None = None, local_address: str | None = None, limit: int | None = None
) -> aiohttp.ClientSession:
    """A pooled client session for talking to the next hop (or, in the SDK, to the relay).

    Cookies are never stored or sent (``DummyCookieJar``), no ``User-Agent`` is added, bodies
    are not decompressed, connecting is bounded by ``UPSTREAM_CONNECT_TIMEOUT_S`` and every wait
    for more bytes by ``UPSTREAM_READ_IDLE_TIMEOUT_S``; ``total`` optionally bounds a whole
    exchange (leave it ``None`` for streams, which may last as long as they keep moving).
    ``local_address`` is the address connections leave from (None: the system's choice).
    ``limit`` caps the connections the pool holds at once (None:
    ``limits.MAX_UPSTREAM_CONNECTIONS``; more wait for one to come free).
    """
    timeout = aiohttp.ClientTimeout(
        total=total,
        sock_connect=limits.UPSTREAM_CONNECT_TIMEOUT_S,
        sock_read=limits.UPSTREAM_READ_IDLE_TIMEOUT_S,
    )
    local = (local_address, 0) if local_address else None
    return aiohttp.ClientSession(
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),
        connector=aiohttp.TCPConnector(
            limit=limits.MAX_UPSTREAM_CONNECTIONS if limit is None else limit,
            ttl_dns_cache=300,
            local_addr=local,
        ),
        auto_decompress=False,
    )


class LazySession:
    """One :func:`new_session` per owner, made on first use (inside the running event loop, as
    aiohttp wants) and made again after :meth:`close`. ``limit`` as :func:`new_session`'s: an
    owner whose connections last for minutes (live tunnels) keeps them in a session of their
    own, so they never hold the connections its requests need."""

    def __init__(
        self,
        *,
        total: float | None = None,
        local_address: str | None = None,
        limit: int | None = None,
    ) -> None:
        self._total = total
        self._local_address = local_address
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        """The session, made now if there is none (or the last one was closed)."""
        if self._session is None or self._session.closed:
            self._session = new_session(
                total=self._total, local_address=self._local_address, limit=self._limit
            )
        return self._session

    async def close(self) -> None:
        """Close the session, if one was made."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def is_loopback(host: str, *, allow_localhost: bool = False) -> bool:
    """Whether ``host`` is a loopback *address* (127.0.0.0/8, ::1). A name is not ("127.0.0.1.
    example" resolves anywhere), except "localhost" when ``allow_localhost`` (a listener binding
    it binds loopback only)."""
    if allow_localhost and host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["LazySession", "is_loopback", "new_session", "read_bounded"]
