"""The outgoing HTTP side shared by the services and the SDK shells: one way to make a client
session (no cookies, no identifying headers, bounded waits) and bounded reads."""

from __future__ import annotations

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


def new_session(*, total: float | None = None) -> aiohttp.ClientSession:
    """A pooled client session for talking to the next hop (or, in the SDK, to the relay).

    Cookies are never stored or sent (``DummyCookieJar``), no ``User-Agent`` is added, bodies
    are not decompressed, connecting is bounded by ``UPSTREAM_CONNECT_TIMEOUT_S`` and every wait
    for more bytes by ``UPSTREAM_READ_IDLE_TIMEOUT_S``; ``total`` optionally bounds a whole
    exchange (leave it ``None`` for streams, which may last as long as they keep moving).
    """
    timeout = aiohttp.ClientTimeout(
        total=total,
        sock_connect=limits.UPSTREAM_CONNECT_TIMEOUT_S,
        sock_read=limits.UPSTREAM_READ_IDLE_TIMEOUT_S,
    )
    return aiohttp.ClientSession(
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),
        connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
        auto_decompress=False,
    )
