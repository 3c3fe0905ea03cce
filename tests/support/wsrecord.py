"""What a network observer in front of the relay sees of a live tunnel: each WebSocket message's
size and the time its last byte passed, read from a recording proxy (netproxy.Proxy) whose
tamper hooks only timestamp the bytes (tests/e2e/test_live_session.py, bench/live_session.py).
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Callable

from netproxy import Proxy

Chunk = tuple[float, int, bytes]


class Recorder:
    """Timestamps every chunk that crosses a proxy, each way."""

    def __init__(self) -> None:
        self.chunks: dict[bool, list[Chunk]] = {True: [], False: []}

    def tap(self, inbound: bool) -> Callable[[bytes, int], bytes]:
        def record(data: bytes, offset: int) -> bytes:
            self.chunks[inbound].append((time.monotonic(), offset, bytes(data)))
            return data

        return record

    def proxy(self) -> Proxy:
        """A proxy (its target set later, e.g. by ``start_cloud(relay_proxy=...)``)."""
        return Proxy(0, tamper_inbound=self.tap(True), tamper_outbound=self.tap(False))

    def tunnel(self, proxy: Proxy, path: bytes = b"GET /v1/live") -> tuple[Messages, Messages]:
        """(device -> relay, relay -> device) messages of the first tunnel through ``proxy``."""
        conn = next(c for c in proxy.connections if path in c.inbound)
        up = ws_messages(bytes(conn.inbound), path, self.chunks[True])
        down = ws_messages(bytes(conn.outbound), b"HTTP/1.1 101", self.chunks[False])
        return up, down


Messages = list[tuple[float, int]]


def ws_messages(buf: bytes, upgrade: bytes, chunks: list[Chunk]) -> Messages:
    """(time, payload size) of each binary WebSocket message (RFC 6455 §5.2) in one
    direction's bytes after the HTTP message that starts with ``upgrade``, the time being when
    its last byte passed the proxy."""
    start = buf.index(b"\r\n\r\n", buf.index(upgrade)) + 4
    ours = sorted((off, t) for t, off, data in chunks if buf[off : off + len(data)] == data)
    ours = ours or [(0, 0.0)]  # no timestamps: sizes only
    offsets = [off for off, _ in ours]
    out = []
    pos = start
    while pos + 2 <= len(buf):
        opcode, b1 = buf[pos] & 0x0F, buf[pos + 1]
        size, head = b1 & 0x7F, 2
        if size == 126:
            size, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
        elif size == 127:
            size, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
        if b1 & 0x80:
            head += 4
        end = pos + head + size
        if end > len(buf):
            break
        if opcode == 2:
            when = ours[max(0, bisect.bisect_right(offsets, end - 1) - 1)][1]
            out.append((when, size))
        pos = end
    return out


def rate(messages: Messages, start: float, end: float, margin: float = 0.3) -> float:
    """Messages per second in [start + margin, end - margin)."""
    span = end - start - 2 * margin
    return sum(1 for t, _ in messages if start + margin <= t < end - margin) / span


def intervals(messages: Messages, start: float, end: float) -> list[float]:
    """Seconds between consecutive messages within [start, end)."""
    times = [t for t, _ in messages if start <= t < end]
    return [b - a for a, b in itertools.pairwise(times)]
