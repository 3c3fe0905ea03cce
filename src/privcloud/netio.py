"""Reading from aiohttp streams with a bound: shared by the services and the SDK shells."""

from __future__ import annotations

import aiohttp

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
