"""Binary HTTP (RFC 9292) field lines, and responses streamed with indeterminate length.

This module holds the pieces that the whole-message codec (:mod:`privcloud.wire.bhttp`, which
re-exports the public names below) shares with streaming: validation of names, values and control
data, the field-line parser, and field-section encoding. On top of them it offers

* encoders for a response written as it is produced (framing indicator 3, RFC 9292 §3.3):
  :func:`encode_response_head`, then :func:`encode_content_chunk` any number of times, then
  :func:`encode_response_tail`;
* :class:`ResponseStreamDecoder`, which turns such a stream, fed in pieces of any size, into
  :class:`Informational`, :class:`Head`, :class:`Content` and :class:`End` events.

Every size from the peer is bounded by :mod:`privcloud.limits` (:class:`TooLargeError`); every
malformation raises :class:`DecodeError`, with fixed messages that carry no input bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, PeerError, TooLargeError, UsageError
from privcloud.wire import varint

#: One field line, ``(name, value)``.
Field = tuple[bytes, bytes]

# Framing indicators (RFC 9292 §3.3).
KNOWN_LENGTH_REQUEST: Final = 0
KNOWN_LENGTH_RESPONSE: Final = 1
INDETERMINATE_REQUEST: Final = 2
INDETERMINATE_RESPONSE: Final = 3

# --- validation (RFC 9110 §5.1, §5.5, §9.1; RFC 9113 §8.2.1, §8.3.1; RFC 9292 §3.6) ----------

_DIGIT = b"0123456789"
_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
#: tchar of RFC 9110 §5.6.2 without upper case: the bytes of a field name in Binary HTTP.
_TCHAR_LOWER = b"!#$%&'*+-.^_`|~" + _DIGIT + _LOWER
_TCHAR = _TCHAR_LOWER + _UPPER
_SCHEME_CHARS = _LOWER + _UPPER + _DIGIT + b"+-."
#: Visible ASCII: what authority and path may hold (stricter than RFC 9292, so that a request
#: cannot be split or smuggled when a gateway replays it over HTTP/1.1).
_VCHAR = bytes(range(0x21, 0x7F))


def is_token(data: bytes) -> bool:
    """True when ``data`` is a non-empty RFC 9110 token (any case)."""
    return bool(data) and not data.translate(None, _TCHAR)


def name_problem(name: bytes, *, lower_only: bool) -> str | None:
    """Fixed text saying what is wrong with a field name, or None when it is valid."""
    if not name:
        return "empty field name"
    if len(name) > limits.MAX_BHTTP_NAME:
        return "field name too large"
    if name.translate(None, _TCHAR_LOWER if lower_only else _TCHAR):
        if lower_only and not name.translate(None, _TCHAR):
            return "uppercase field name"
        return "invalid field name"
    return None


def value_problem(value: bytes) -> str | None:
    """Fixed text saying what is wrong with a field value (RFC 9113 §8.2.1), or None."""
    if len(value) > limits.MAX_BHTTP_VALUE:
        return "field value too large"
    if b"\r" in value or b"\n" in value or b"\x00" in value:
        return "invalid field value"
    if value and (value[0] in b" \t" or value[-1] in b" \t"):
        return "invalid field value"
    return None


def fields_problem(fields: Sequence[Field]) -> str | None:
    """Fixed text saying why ``fields`` cannot form a field section, or None (any-case names)."""
    if len(fields) > limits.MAX_BHTTP_FIELDS:
        return "too many fields"
    size = 0
    for name, value in fields:
        problem = name_problem(name, lower_only=False) or value_problem(value)
        if problem:
            return problem
        size += line_size(name, value)
    if size > limits.MAX_BHTTP_FIELD_SECTION:
        return "field section too large"
    return None


def control_problem(method: bytes, scheme: bytes, authority: bytes, path: bytes) -> str | None:
    """Fixed text saying what is wrong with request control data (RFC 9292 §3.4), or None.

    The method is a token; the scheme is empty or ``ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )``
    (RFC 3986 §3.1); authority and path hold visible ASCII only (either may be empty).
    """
    if any(len(item) > limits.MAX_BHTTP_CONTROL for item in (method, scheme, authority, path)):
        return "request control data too large"
    if not is_token(method):
        return "invalid method"
    if scheme and (scheme[0] not in _LOWER + _UPPER or scheme.translate(None, _SCHEME_CHARS)):
        return "invalid scheme"
    if authority.translate(None, _VCHAR) or path.translate(None, _VCHAR):
        return "invalid request target"
    return None


def first_value(fields: Sequence[Field], name: bytes) -> bytes | None:
    """The value of the first field named ``name`` (ASCII case-insensitive), or None."""
    wanted = name.lower()
    for field_name, value in fields:
        if field_name.lower() == wanted:
            return value
    return None


# --- field lines (RFC 9292 §3.6) -------------------------------------------------------------


def varint_size(value: int) -> int:
    """Bytes of the shortest varint for ``value``."""
    return 1 if value < 1 << 6 else 2 if value < 1 << 14 else 4 if value < 1 << 30 else 8


def line_size(name: bytes, value: bytes) -> int:
    """Bytes of one encoded field line."""
    return varint_size(len(name)) + len(name) + varint_size(len(value)) + len(value)


def encode_lines(fields: Sequence[Field]) -> bytes:
    """The field lines of ``fields``, names lower-cased (callers have validated them)."""
    return b"".join(
        varint.encode(len(name)) + name.lower() + varint.encode(len(value)) + value
        for name, value in fields
    )


def encode_section(fields: Sequence[Field], *, known_length: bool) -> bytes:
    """A known-length (length-prefixed) or indeterminate-length (0-terminated) field section."""
    lines = encode_lines(fields)
    if known_length:
        return varint.encode(len(lines)) + lines
    return lines + b"\x00"


def read_varint(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int] | None:
    """Decode the varint at ``pos``; None when it does not end by ``end``."""
    if pos >= end:
        return None
    first = buf[pos]
    if first < 0x40:  # the one-byte form: most lengths
        return first, pos + 1
    after = pos + varint.peek_length(first)
    if after > end:
        return None
    return varint.decode(bytes(buf[pos:after]))[0], after


def read_field_line(buf: bytes | bytearray, pos: int, end: int) -> tuple[Field | None, int] | None:
    """Parse the field line at ``pos``, which must end by ``end``.

    Returns ``(field, after)``; ``field`` is None when the name length is zero (the end of an
    indeterminate-length section). Returns None when the line is incomplete. Raises
    :class:`TooLargeError` for a name or value over its bound (as soon as its length is read)
    and :class:`DecodeError` for an invalid name or value.
    """
    got = read_varint(buf, pos, end)
    if got is None:
        return None
    name_len, name_start = got
    if name_len == 0:
        return None, name_start
    if name_len > limits.MAX_BHTTP_NAME:
        raise TooLargeError("field name too large")
    got = read_varint(buf, name_start + name_len, end)
    if got is None:
        return None
    value_len, value_start = got
    if value_len > limits.MAX_BHTTP_VALUE:
        raise TooLargeError("field value too large")
    value_end = value_start + value_len
    if value_end > end:
        return None
    name = bytes(buf[name_start : name_start + name_len])
    value = bytes(buf[value_start:value_end])
    problem = name_problem(name, lower_only=True) or value_problem(value)
    if problem:
        raise DecodeError(problem)
    return (name, value), value_end


class Section:
    """Field lines of one section being decoded, with its count and size bounded."""

    __slots__ = ("fields", "size")

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.size = 0

    def add(self, field: Field, size: int) -> None:
        """Append a field line of ``size`` bytes; raises :class:`TooLargeError` past a bound."""
        if len(self.fields) >= limits.MAX_BHTTP_FIELDS:
            raise TooLargeError("too many fields")
        self.size += size
        if self.size > limits.MAX_BHTTP_FIELD_SECTION:
            raise TooLargeError("field section too large")
        self.fields.append(field)


# --- streaming encoder (RFC 9292 §3.3) -------------------------------------------------------


def encode_response_head(status: int, headers: Sequence[Field]) -> bytes:
    """Framing indicator 3, the final status and the terminated header section.

    Raises :class:`UsageError` for a status outside 200..599 or invalid headers. Header names
    are lower-cased.
    """
    if not 200 <= status <= 599:
        raise UsageError("invalid final status code")
    problem = fields_problem(headers)
    if problem:
        raise UsageError(problem)
    return (
        varint.encode(INDETERMINATE_RESPONSE)
        + varint.encode(status)
        + encode_section(headers, known_length=False)
    )


def encode_content_chunk(data: bytes) -> bytes:
    """``data`` as length-prefixed content chunks; ``b""`` for empty data.

    A zero length would end the content, so empty data encodes to nothing. Data longer than
    ``limits.MAX_BHTTP_CHUNK`` is split into chunks of at most that size, which a
    :class:`ResponseStreamDecoder` accepts.
    """
    size = limits.MAX_BHTTP_CHUNK
    return b"".join(
        varint.encode(len(piece)) + piece
        for piece in (data[i : i + size] for i in range(0, len(data), size))
    )


def encode_response_tail(trailers: Sequence[Field] = ()) -> bytes:
    """The content terminator and the terminated trailer section; :class:`UsageError` if invalid."""
    problem = fields_problem(trailers)
    if problem:
        raise UsageError(problem)
    return b"\x00" + encode_section(trailers, known_length=False)


# --- streaming decoder -----------------------------------------------------------------------


@dataclass(frozen=True)
class Informational:
    """An informational (1xx) response that precedes the final one."""

    status: int
    headers: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Head:
    """The final status and header section; content follows."""

    status: int
    headers: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Content:
    """One content chunk, as the sender framed it (never empty)."""

    data: bytes


@dataclass(frozen=True)
class End:
    """The end of the message, with its trailer section."""

    trailers: tuple[Field, ...] = ()


ResponseEvent = Informational | Head | Content | End


class _State(Enum):
    FRAMING = auto()
    STATUS = auto()
    INFORMATIONAL_FIELDS = auto()
    HEADER_FIELDS = auto()
    CONTENT = auto()
    TRAILER_FIELDS = auto()
    DONE = auto()
    FAILED = auto()


class ResponseStreamDecoder:
    """Incremental decoder of one indeterminate-length (framing 3) Binary HTTP response.

    Feed bytes as they arrive; each :meth:`feed` returns the events completed so far, in order:
    any :class:`Informational`, one :class:`Head`, any :class:`Content`, then one :class:`End`.
    Call :meth:`close` when the input ends. After :class:`End`, only zero padding may follow.

    Memory is bounded: at most one field line (``MAX_BHTTP_NAME + MAX_BHTTP_VALUE`` plus length
    prefixes) or one content chunk (``MAX_BHTTP_CHUNK``) is kept beyond the current ``feed``, and
    the whole stream is bounded by ``MAX_BHTTP_MESSAGE`` (all in :mod:`privcloud.limits`). After
    an error the decoder refuses all further input.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # bytes of _buf already decoded
        self._state = _State.FRAMING
        self._section = Section()
        self._status = 0
        self._informational = 0
        self._chunks = 0
        self._total = 0

    def feed(self, data: bytes) -> list[ResponseEvent]:
        """Consume ``data``; returns the events it completes.

        Raises :class:`DecodeError` for malformed input, :class:`TooLargeError` past a bound.
        """
        if self._state is _State.FAILED:
            raise DecodeError("binary HTTP stream already failed")
        events: list[ResponseEvent] = []
        try:
            self._total += len(data)
            if self._total > limits.MAX_BHTTP_MESSAGE:
                raise TooLargeError("binary HTTP message too large")
            self._buf += data
            while self._step(events):
                pass
        except PeerError:
            self._state = _State.FAILED
            self._buf.clear()
            raise
        del self._buf[: self._pos]
        self._pos = 0
        return events

    def close(self) -> list[ResponseEvent]:
        """Mark the end of input; returns ``[End(())]`` when the message was validly truncated.

        RFC 9292 §3.8 lets a sender omit empty content and empty trailers, so input that stops
        right after the header section, or right after the content terminator, is complete.
        Raises :class:`DecodeError` ("truncated binary HTTP stream") when it ends anywhere else.
        """
        state = self._state
        if state is _State.DONE:
            return []
        if not self._buf and (
            (state is _State.CONTENT and not self._chunks)
            or (state is _State.TRAILER_FIELDS and not self._section.fields)
        ):
            self._state = _State.DONE
            return [End(())]
        self._state = _State.FAILED
        raise DecodeError("truncated binary HTTP stream")

    def _step(self, events: list[ResponseEvent]) -> bool:
        """Decode what the buffer holds in the current state; False when more input is needed."""
        state = self._state
        if state is _State.CONTENT:
            return self._step_content(events)
        if state in (_State.FRAMING, _State.STATUS):
            got = read_varint(self._buf, self._pos, len(self._buf))
            if got is None:
                return False
            value, self._pos = got
            if state is _State.STATUS:
                self._state = self._on_status(value)
            elif value == INDETERMINATE_RESPONSE:
                self._state = _State.STATUS
            else:
                raise DecodeError("not an indeterminate-length binary HTTP response")
            return True
        if state is _State.DONE:
            # RFC 9292 §3.8: only zero-valued padding may follow the message.
            if self._buf.count(0, self._pos) != len(self._buf) - self._pos:
                raise DecodeError("nonzero padding")
            self._pos = len(self._buf)
            return False
        return self._step_field_line(events)

    def _on_status(self, status: int) -> _State:
        """RFC 9292 §3.5: a 1xx status starts an informational response, 200..599 the final one."""
        self._status = status
        if 100 <= status <= 199:
            if self._informational >= limits.MAX_BHTTP_INFORMATIONAL:
                raise TooLargeError("too many informational responses")
            self._informational += 1
            return _State.INFORMATIONAL_FIELDS
        if 200 <= status <= 599:
            return _State.HEADER_FIELDS
        raise DecodeError("invalid status code")

    def _step_content(self, events: list[ResponseEvent]) -> bool:
        """Content chunks (RFC 9292 §3.3), as many as the buffer holds, up to the terminator."""
        buf, pos, end = self._buf, self._pos, len(self._buf)
        try:
            while (got := read_varint(buf, pos, end)) is not None:
                length, start = got
                if length == 0:
                    pos = start
                    self._state = _State.TRAILER_FIELDS
                    return True
                if length > limits.MAX_BHTTP_CHUNK:
                    raise TooLargeError("content chunk too large")
                if start + length > end:
                    return False
                self._chunks += 1
                if self._chunks > limits.MAX_BHTTP_CHUNKS:
                    raise TooLargeError("too many content chunks")
                events.append(Content(bytes(buf[start : start + length])))
                pos = start + length
            return False
        finally:
            self._pos = pos

    def _step_field_line(self, events: list[ResponseEvent]) -> bool:
        got = read_field_line(self._buf, self._pos, len(self._buf))
        if got is None:
            return False
        field, after = got
        size, self._pos = after - self._pos, after
        if field is not None:
            self._section.add(field, size)
            return True
        fields = tuple(self._section.fields)
        self._section = Section()
        if self._state is _State.INFORMATIONAL_FIELDS:
            events.append(Informational(self._status, fields))
            self._state = _State.STATUS
        elif self._state is _State.HEADER_FIELDS:
            events.append(Head(self._status, fields))
            self._state = _State.CONTENT
        else:
            events.append(End(fields))
            self._state = _State.DONE
        return True
