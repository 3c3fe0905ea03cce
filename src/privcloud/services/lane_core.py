"""The one-shot lane's rules, without I/O (docs/adr/0032): which request heads it serves, and
how its answers are framed. :mod:`privcloud.services.lane` is the connection around them.

The lane serves one request shape only, the one a hop client sends (netio.hop): ::

    POST <path> HTTP/1.1
    Host: ...
    Content-Type: <media>
    Content-Length: <n, at most the lane's bound>

with at most ``Connection``, an identity ``Content-Encoding`` and HTTP clients' default
``Accept``, ``Accept-Encoding`` and ``User-Agent`` beside (answers are never compressed). A head
of any other shape — another method, path, version or media type, a chunked or compressed body,
``Expect``, ``Upgrade``, a repeated field, a head llhttp refuses — is not the lane's: it goes to
the aiohttp server, which answers it (and its errors) as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

import httptools

from privcloud import limits

#: The fields a lane head may carry, each at most once (lower case): the hop client's three,
#: ``Connection`` and an identity ``Content-Encoding``, and those that ask nothing of a one-shot
#: answer (HTTP clients' defaults: aiohttp's, curl's), which the route ignores on either path.
_ALLOWED: Final = frozenset(
    {
        b"host",
        b"content-type",
        b"content-length",
        b"connection",
        b"content-encoding",
        b"accept",
        b"accept-encoding",
        b"user-agent",
    }
)


@dataclass(frozen=True, slots=True)
class LaneHead:
    """What the lane needs of a request head it serves."""

    head_size: int  # bytes of the head, its blank line included
    content_length: int
    keep_alive: bool


class _Fields:
    """httptools callbacks gathering one head's URL and fields (bounded by the caller: the
    head is fed whole, at most ``limits.LANE_MAX_HEAD_BYTES``)."""

    __slots__ = ("done", "fields", "url")

    def __init__(self) -> None:
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.done = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.done = True


def head_end(buffer: bytes | bytearray) -> int:
    """The size of the request head at the start of ``buffer`` (through its blank line), or -1
    while it is not all there."""
    end = buffer.find(b"\r\n\r\n", 0, limits.LANE_MAX_HEAD_BYTES)
    return -1 if end < 0 else end + 4


def may_be_lane(buffer: bytes | bytearray, path: bytes) -> bool:
    """Whether what has come of a request so far may still be a lane head for ``path``: its
    request line starts ``POST <path> `` (the rest is checked by :func:`lane_head`)."""
    prefix = b"POST " + path + b" "
    return bytes(buffer[: len(prefix)]) == prefix[: len(buffer)]


def lane_head(head: bytes, path: bytes, media: bytes, max_body: int) -> LaneHead | None:
    """``head`` (a whole request head, :func:`head_end` bytes) parsed by llhttp: a
    :class:`LaneHead` when it is the lane's shape for ``path`` and ``media`` with a body of at
    most ``max_body`` bytes, else None (the aiohttp server takes the connection)."""
    fields = _Fields()
    parser = httptools.HttpRequestParser(fields)
    try:
        parser.feed_data(head)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        # Refused, or an upgrade (not a subclass of the first): aiohttp's to answer.
        return None
    if not fields.done or fields.url != path or parser.get_method() != b"POST":
        return None
    if parser.get_http_version() != "1.1":
        return None
    seen: dict[bytes, bytes] = {}
    for name, value in fields.fields:
        if name not in _ALLOWED or name in seen:
            return None
        seen[name] = value.strip()
    if b"host" not in seen:  # RFC 9112 §3.2: aiohttp answers its 400
        return None
    length = seen.get(b"content-length", b"")
    if not length.isdigit() or len(length) > 12 or int(length) > max_body:
        return None
    if seen.get(b"content-type", b"").split(b";", 1)[0].strip().lower() != media:
        return None
    if seen.get(b"content-encoding", b"identity").lower() != b"identity":
        return None
    connection = seen.get(b"connection", b"keep-alive").lower()
    if connection not in (b"keep-alive", b"close"):
        return None
    return LaneHead(len(head), int(length), connection == b"keep-alive")


class DateField:
    """The ``Date`` field of answers (RFC 9110 §6.6.1), formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def value(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


def framable(status: int) -> bool:
    """Whether an answer with ``status`` carries a body the lane frames: 200-599 but 204 and
    304 (a status a next hop passed on may be any three digits; RFC 9110 §15)."""
    return 200 <= status <= 599 and status not in (204, 304)


def frame_answer(status: int, media: str, body: bytes, *, keep_alive: bool, date: bytes) -> bytes:
    """A whole HTTP/1.1 answer (``status`` :func:`framable`): status line, ``Date``,
    ``Content-Type``, ``Content-Length``, ``Connection: close`` when the connection ends with
    it, and the body. No ``Server`` field (services.site: answers do not name the server
    software). A status without a registered reason phrase gets an empty one (RFC 9112 §4)."""
    try:
        reason = HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        reason = b""
    head = b"HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status,
        reason,
        date,
        media.encode("ascii"),
        len(body),
    )
    if not keep_alive:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body
