"""Answers a service holds for a peer, bounded together and in time
(docs/operations.md#logs-and-floods).

The relay reads each document and log page it passes through whole before answering (each is
bounded: ``MAX_RELAYED_LOG_RESPONSE`` and the like), and a peer that asked for one and then read
it slowly, or not at all, made the relay hold it: 48 connections asking for a 6.4 MB log page
and reading nothing took the relay from 50 to 468 MiB for 75 s, and readers taking 16 KiB/s held
theirs for minutes. Two bounds now:

1. **Together.** The bytes are reserved in the service's answer budget
   (``ServiceSettings.answers``: ``limits.MAX_INFLIGHT_ANSWER_BYTES``, of which one peer address
   holds at most ``limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER`` at the relay) as they are read
   upstream (:func:`read_answer`), and given back once the peer has taken them or been dropped.
   A read that does not fit is refused: 503, or 429 for the peer's share.
2. **In time.** The relay writes an answer it holds (:func:`send_answer`) through an
   :class:`AnswerPace`: the time spent waiting for the peer to
   take them may pass ``limits.ANSWER_READ_GRACE_S`` only by what the peer has acknowledged
   divided by ``limits.MIN_ANSWER_READ_RATE_BPS``. Past that the connection is aborted (what
   the service buffered for it is dropped at once) and the request ends with
   :class:`RequestTimeoutError`. OHTTP answers and streams are not paced (a review, 2026-12-07):
   a pace counts the service's own loop delay as waiting, which reset honest streams of many
   small chunks on a loaded service, and cut large answers to slow links after their token was
   spent. They stay bounded by the connection caps; a peer that acknowledges nothing is
   dropped after ``HTTP_IDLE_TIMEOUT_S``, but one reading a trickle holds a stream, and an
   upstream connection, up to the request's deadline (``MAX_REQUEST_DEADLINE_S``), at one
   token a stream.

The pass-through is not streamed from upstream to the peer: a peer that did not read would then
hold one of the relay's upstream connections (``MAX_UPSTREAM_CONNECTIONS``, shared with its
OHTTP forwarding) rather than bytes, and 256 such connections from one address would stall all
of the relay's forwarding for the grace; bytes are bounded by the budget instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
from collections.abc import Coroutine, Mapping
from typing import Any, Final, NoReturn

from aiohttp import StreamReader, web

from privcloud import limits
from privcloud.errors import RequestTimeoutError, TooLargeError
from privcloud.services.http import SERVICE, Reservation

try:  # the socket's send queue, where the system tells it (services.answers._unsent)
    import fcntl
    import termios

    _OUTQ: int | None = getattr(termios, "TIOCOUTQ", None)
except ImportError:  # not a Unix
    _OUTQ = None

#: Bytes written to the transport at a time (aiohttp's own buffer mark): what a peer that stops
#: reading leaves in the service's send buffer, beside what the system took.
_PIECE: Final = 64 * limits.KiB
#: Seconds between looks at what the peer has acknowledged of an answer's tail
#: (:meth:`AnswerPace.settle`): the first soon (a fast peer has it within a round trip), then
#: twice as long each time, up to the last.
_SETTLE_FIRST_POLL_S: Final = 0.01
_SETTLE_LAST_POLL_S: Final = 0.5
#: ``SO_LINGER`` on, for no time: closing resets the connection and drops the send buffer.
_RESET_ON_CLOSE: Final = struct.pack("ii", 1, 0)


def hold_answer(request: web.Request) -> Reservation:
    """An empty reservation for an answer to ``request`` in its service's answer budget
    (counted under the peer's address where the budget has a per-peer share). The caller
    releases it once the answer is sent (``finally``)."""
    service = request.config_dict.get(SERVICE)
    return Reservation.of(request, service.answers if service is not None else None)


async def read_answer(stream: StreamReader, limit: int, held: Reservation) -> bytes:
    """Read an upstream answer to its end, each piece reserved in ``held`` as it comes.

    Raises :class:`TooLargeError` past ``limit`` bytes, and what :meth:`Reservation.grow`
    raises when the budget cannot take a piece (:class:`RateLimitedError`,
    :class:`UnavailableError`); the pieces read so far stay reserved until ``held`` is
    released."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_any():
        size += len(chunk)
        if size > limit:
            raise TooLargeError("peer response too large")
        held.grow(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


def _unsent(transport: asyncio.BaseTransport) -> int:
    """Bytes written to ``transport`` that its peer has not acknowledged: asyncio's buffer and,
    where the system tells (Linux's ``SIOCOUTQ``), the socket's send queue. Elsewhere what the
    system took counts as taken."""
    size = transport.get_write_buffer_size() if isinstance(transport, asyncio.Transport) else 0
    sock = transport.get_extra_info("socket")
    if _OUTQ is not None and sock is not None:
        with contextlib.suppress(OSError, ValueError):
            queued = fcntl.ioctl(sock.fileno(), _OUTQ, bytes(4))
            size += int.from_bytes(queued, sys.byteorder, signed=True)
    return size


class AnswerPace:
    """The pace at which the peer of one request takes what its service writes it.

    Every byte of the response counts (aiohttp's ``output_size``: head, framing, body), and a
    byte is taken once the peer has acknowledged it (:func:`_unsent`), so neither the service's
    send buffer nor the system's hides a peer that reads nothing. While a write waits on the
    peer, the waits of the whole response may add up to ``ANSWER_READ_GRACE_S`` plus what the
    peer has taken at ``MIN_ANSWER_READ_RATE_BPS``; past that the connection is aborted and the
    write raises :class:`RequestTimeoutError`. A peer that has gone raises what aiohttp raises
    (a :class:`ConnectionError`)."""

    def __init__(self, request: web.BaseRequest) -> None:
        self._request = request
        self._loop = asyncio.get_running_loop()
        #: Seconds spent waiting for the peer to take what was written.
        self.waited = 0.0

    def taken(self) -> int:
        """Bytes of the response the peer has acknowledged."""
        written = self._request.writer.output_size
        transport = self._request.transport
        return written if transport is None else max(0, written - _unsent(transport))

    async def write(self, response: web.StreamResponse, data: bytes) -> None:
        """Write ``data`` on the prepared ``response``, a piece at a time, at the pace."""
        view = memoryview(data)
        for start in range(0, len(view), _PIECE):
            await self._paced(response.write(view[start : start + _PIECE]))

    async def write_eof(self, response: web.StreamResponse) -> None:
        """End ``response`` (its last bytes flushed to the system), at the pace."""
        await self._paced(response.write_eof())

    async def settle(self) -> None:
        """Wait, at the pace, until the peer has acknowledged all but a piece of what was
        written: the system's send buffer keeps what it has not (megabytes, charged to the
        service's memory), so a peer taking its answer's tail at a trickle holds that tail, and
        is dropped, as one taking the rest. A last piece is left to the system, as a small
        answer is whole (bounded by the connection caps and ``HTTP_IDLE_TIMEOUT_S``)."""
        began = self._loop.time()
        pause = _SETTLE_FIRST_POLL_S
        try:
            while (taken := self.taken()) + _PIECE < self._request.writer.output_size:
                spent = self.waited + self._loop.time() - began
                left = limits.ANSWER_READ_GRACE_S + taken / limits.MIN_ANSWER_READ_RATE_BPS
                if left <= spent:
                    self._drop()
                await asyncio.sleep(min(pause, left - spent))
                pause = min(2 * pause, _SETTLE_LAST_POLL_S)
        finally:
            self.waited += self._loop.time() - began

    def _drop(self) -> NoReturn:
        """Reset the connection, dropping what asyncio and the system still hold for the peer
        (a plain close would have the system go on sending its buffer), and raise."""
        transport = self._request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            transport.abort()
        raise RequestTimeoutError("answer taken too slowly")

    async def _paced(self, write: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(write)
        began = self._loop.time()
        try:
            while not task.done():
                spent = self.waited + self._loop.time() - began
                left = limits.ANSWER_READ_GRACE_S + self.taken() / limits.MIN_ANSWER_READ_RATE_BPS
                if left <= spent:
                    self._drop()
                # The write goes on at the deadline: what the peer took meanwhile extends it.
                await asyncio.wait([task], timeout=left - spent)
            task.result()
        finally:
            if not task.done():
                task.cancel()
            self.waited += self._loop.time() - began


async def send_answer(
    request: web.Request, body: bytes, *, status: int = 200, headers: Mapping[str, str]
) -> web.StreamResponse:
    """Answer ``request`` with ``body``, which the service holds (and has reserved): at the
    :class:`AnswerPace` when it is larger than what a socket takes in one write, else as an
    ordinary response written once the handler returns. ``headers`` carry its media type.
    Raises :class:`RequestTimeoutError` (the connection aborted) when the peer takes it too
    slowly; a peer that has gone is no error (the answer is dropped)."""
    if len(body) <= _PIECE or request.method == "HEAD":  # (aiohttp leaves a HEAD's body out)
        return web.Response(status=status, body=body, headers=headers)
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(body)
    await response.prepare(request)
    pace = AnswerPace(request)
    with contextlib.suppress(ConnectionError):  # the peer went: nothing is left to send it
        await pace.write(response, body)
        await pace.write_eof(response)
        await pace.settle()
    return response
