"""The outgoing side of a hop: one pooled aiohttp client session per service, with bounded
timeouts, no cookies, no automatic identifying headers, and errors mapped to ours."""

from __future__ import annotations

import aiohttp

from privcloud import limits


def new_session() -> aiohttp.ClientSession:
    """A client session for talking to the next hop.

    Cookies are never stored or sent (``DummyCookieJar``), no ``User-Agent`` is added, and the
    connect and total times are bounded by :mod:`privcloud.limits`.
    """
    timeout = aiohttp.ClientTimeout(
        total=None,
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
