"""Binary HTTP messages (RFC 9292): whole requests and responses, both framings.

Pure functions over bytes. Decoders accept known-length and indeterminate-length framing
(RFC 9292 §3.2, §3.3), truncation of empty trailing parts and zero padding (§3.8); anything else
raises :class:`DecodeError`, and a size beyond a bound of :mod:`privcloud.limits` raises
:class:`TooLargeError`. Field names travel lower-case; encoders lower-case them, decoders refuse
upper case. The streaming response codec (framing 3) lives in :mod:`privcloud.wire.bhttp_stream`
and is re-exported here.

Construction validates (:class:`UsageError`), so every :class:`Request` and :class:`Response` in
memory is one the decoders would accept, up to the case of names; the encoders still refuse an
encoding larger than ``MAX_BHTTP_MESSAGE`` (:class:`UsageError`).
"""

from __future__ import annotations

from dataclasses import dataclass

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError
from privcloud.wire import varint
from privcloud.wire.bhttp_stream import (
    INDETERMINATE_REQUEST,
    INDETERMINATE_RESPONSE,
    KNOWN_LENGTH_REQUEST,
    KNOWN_LENGTH_RESPONSE,
    Content,
    End,
    Field,
    Head,
    Informational,
    ResponseEvent,
    ResponseStreamDecoder,
    Section,
    control_problem,
    encode_content_chunk,
    encode_response_head,
    encode_response_tail,
    encode_section,
    fields_problem,
    first_value,
    read_field_line,
    read_varint,
)

__all__ = [
    "Content",
    "End",
    "Field",
    "Head",
    "Informational",
    "InformationalResponse",
    "Request",
    "Response",
    "ResponseEvent",
    "ResponseStreamDecoder",
    "decode_request",
    "decode_response",
    "encode_content_chunk",
    "encode_request",
    "encode_request_indeterminate",
    "encode_response",
    "encode_response_head",
    "encode_response_indeterminate",
    "encode_response_tail",
]

# --- messages --------------------------------------------------------------------------------


def _check_message(
    problem: str | None, headers: tuple[Field, ...], content: bytes, trailers: tuple[Field, ...]
) -> None:
    """Refuse a message the codec could not carry (:class:`UsageError`)."""
    problem = problem or fields_problem(headers) or fields_problem(trailers)
    if problem:
        raise UsageError(problem)
    if len(content) > limits.MAX_BHTTP_MESSAGE:
        raise UsageError("content too large")


class _WithHeaders:
    headers: tuple[Field, ...]

    def header(self, name: bytes) -> bytes | None:
        """The value of the first header field called ``name`` (any case), or None."""
        return first_value(self.headers, name)


@dataclass(frozen=True)
class Request(_WithHeaders):
    """A request: control data (RFC 9292 §3.4), header fields, content and trailer fields.

    Raises :class:`UsageError` when built with values the codec refuses (see
    :func:`~privcloud.wire.bhttp_stream.control_problem`, field rules of RFC 9113 §8.2.1, the
    bounds of :mod:`privcloud.limits`). Field names may be given in any case.
    """

    method: bytes
    scheme: bytes
    authority: bytes
    path: bytes
    headers: tuple[Field, ...] = ()
    content: bytes = b""
    trailers: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        problem = control_problem(self.method, self.scheme, self.authority, self.path)
        _check_message(problem, self.headers, self.content, self.trailers)


@dataclass(frozen=True)
class InformationalResponse:
    """An interim response (status 100..199) and its header fields (RFC 9292 §3.5.1)."""

    status: int
    headers: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 199:
            raise UsageError("invalid informational status code")
        problem = fields_problem(self.headers)
        if problem:
            raise UsageError(problem)


@dataclass(frozen=True)
class Response(_WithHeaders):
    """A final response (status 200..599), preceded by any informational responses."""

    status: int
    headers: tuple[Field, ...] = ()
    content: bytes = b""
    trailers: tuple[Field, ...] = ()
    informational: tuple[InformationalResponse, ...] = ()

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise UsageError("invalid final status code")
        if len(self.informational) > limits.MAX_BHTTP_INFORMATIONAL:
            raise UsageError("too many informational responses")
        _check_message(None, self.headers, self.content, self.trailers)


# --- encoding --------------------------------------------------------------------------------


def encode_request(req: Request, *, padding: int = 0) -> bytes:
    """``req`` with known-length framing (0), followed by ``padding`` zero bytes.

    Nothing is truncated. Raises :class:`UsageError` for negative padding or an encoding larger
    than ``MAX_BHTTP_MESSAGE``.
    """
    return _encode_request(req, known_length=True, padding=padding)


def encode_request_indeterminate(req: Request, *, padding: int = 0) -> bytes:
    """``req`` with indeterminate-length framing (2): content in one chunk, then padding."""
    return _encode_request(req, known_length=False, padding=padding)


def encode_response(resp: Response, *, padding: int = 0) -> bytes:
    """``resp`` with known-length framing (1), followed by ``padding`` zero bytes."""
    return _encode_response(resp, known_length=True, padding=padding)


def encode_response_indeterminate(resp: Response, *, padding: int = 0) -> bytes:
    """``resp`` with indeterminate-length framing (3): content in one chunk, then padding."""
    return _encode_response(resp, known_length=False, padding=padding)


def _encode_request(req: Request, *, known_length: bool, padding: int) -> bytes:
    parts = [varint.encode(KNOWN_LENGTH_REQUEST if known_length else INDETERMINATE_REQUEST)]
    for item in (req.method, req.scheme, req.authority, req.path):
        parts += (varint.encode(len(item)), item)
    parts.append(encode_section(req.headers, known_length=known_length))
    parts.append(_encode_content(req.content, known_length=known_length))
    parts.append(encode_section(req.trailers, known_length=known_length))
    return _finish(parts, padding)


def _encode_response(resp: Response, *, known_length: bool, padding: int) -> bytes:
    parts = [varint.encode(KNOWN_LENGTH_RESPONSE if known_length else INDETERMINATE_RESPONSE)]
    for interim in resp.informational:
        parts.append(varint.encode(interim.status))
        parts.append(encode_section(interim.headers, known_length=known_length))
    parts.append(varint.encode(resp.status))
    parts.append(encode_section(resp.headers, known_length=known_length))
    parts.append(_encode_content(resp.content, known_length=known_length))
    parts.append(encode_section(resp.trailers, known_length=known_length))
    return _finish(parts, padding)


def _encode_content(content: bytes, *, known_length: bool) -> bytes:
    if known_length:
        return varint.encode(len(content)) + content
    chunk = varint.encode(len(content)) + content if content else b""
    return chunk + b"\x00"


def _finish(parts: list[bytes], padding: int) -> bytes:
    if padding < 0:
        raise UsageError("negative padding")
    encoded = b"".join(parts)
    if len(encoded) + padding > limits.MAX_BHTTP_MESSAGE:
        raise UsageError("binary HTTP message too large")
    return encoded + bytes(padding)


# --- decoding --------------------------------------------------------------------------------


class _Reader:
    """A cursor over a whole message; every overrun is a :class:`DecodeError`."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        if len(data) > limits.MAX_BHTTP_MESSAGE:
            raise TooLargeError("binary HTTP message too large")
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def varint(self) -> int:
        value, self.pos = varint.decode(self.data, self.pos)
        return value

    def take(self, length: int) -> bytes:
        end = self.pos + length
        if end > len(self.data):
            raise DecodeError("length past end")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def control(self) -> bytes:
        length = self.varint()
        if length > limits.MAX_BHTTP_CONTROL:
            raise TooLargeError("request control data too large")
        return self.take(length)

    def section(self, *, known_length: bool) -> tuple[Field, ...]:
        """A field section (RFC 9292 §3.2, §3.3, §3.6)."""
        section = Section()
        data = self.data
        if known_length:
            length = self.varint()
            if length > limits.MAX_BHTTP_FIELD_SECTION:
                raise TooLargeError("field section too large")
            end = self.pos + length
            if end > len(data):
                raise DecodeError("length past end")
        else:
            end = len(data)
        while not known_length or self.pos < end:
            got = read_field_line(data, self.pos, end)
            if got is None:
                raise DecodeError("truncated field line")
            field, after = got
            if field is None:
                self.pos = after
                if known_length:
                    raise DecodeError("empty field name")
                break
            section.add(field, after - self.pos)
            self.pos = after
        return tuple(section.fields)

    def content(self, *, known_length: bool) -> bytes:
        """Known-length content, or indeterminate-length chunks up to the terminator."""
        if known_length:
            length = self.varint()
            if length > limits.MAX_BHTTP_MESSAGE:
                raise TooLargeError("content too large")
            return self.take(length)
        # Chunks up to the terminator, in a tight loop: a peer may send many tiny ones.
        data, pos, end = self.data, self.pos, len(self.data)
        content = bytearray()
        chunks = 0
        while True:
            got = read_varint(data, pos, end)
            if got is None:
                raise DecodeError("truncated varint")
            length, pos = got
            if length == 0:
                break
            if pos + length > end:
                raise DecodeError("length past end")
            chunks += 1
            if chunks > limits.MAX_BHTTP_CHUNKS:
                raise TooLargeError("too many content chunks")
            content += data[pos : pos + length]
            pos += length
        self.pos = pos
        return bytes(content)

    def content_and_trailers(self, *, known_length: bool) -> tuple[bytes, tuple[Field, ...]]:
        """RFC 9292 §3.8: empty content and trailers may be truncated, reading as empty."""
        if self.at_end():
            return b"", ()
        content = self.content(known_length=known_length)
        if self.at_end():
            return content, ()
        return content, self.section(known_length=known_length)

    def finish(self) -> None:
        """RFC 9292 §3.8: only zero-valued padding may follow the message."""
        if self.data.count(0, self.pos) != len(self.data) - self.pos:
            raise DecodeError("nonzero padding")


def decode_request(data: bytes) -> Request:
    """Decode a Binary HTTP request with framing indicator 0 or 2.

    Steps (RFC 9292 §3): 1. framing indicator; 2. control data (method, scheme, authority,
    path); 3. header section; 4. content and 5. trailer section, either of which may be
    truncated (§3.8); 6. zero padding.
    Raises :class:`DecodeError` for malformed input and :class:`TooLargeError` past a bound.
    """
    reader = _Reader(bytes(data))
    framing = reader.varint()
    if framing not in (KNOWN_LENGTH_REQUEST, INDETERMINATE_REQUEST):
        raise DecodeError("not a binary HTTP request")
    known_length = framing == KNOWN_LENGTH_REQUEST
    method, scheme, authority, path = (reader.control() for _ in range(4))
    problem = control_problem(method, scheme, authority, path)
    if problem:
        raise DecodeError(problem)
    headers = reader.section(known_length=known_length)
    content, trailers = reader.content_and_trailers(known_length=known_length)
    reader.finish()
    return Request(method, scheme, authority, path, headers, content, trailers)


def decode_response(data: bytes) -> Response:
    """Decode a Binary HTTP response with framing indicator 1 or 3.

    Steps (RFC 9292 §3): 1. framing indicator; 2. informational responses (status 100..199 and
    a header section each, at most ``MAX_BHTTP_INFORMATIONAL``); 3. final status 200..599;
    4. header section; 5. content and 6. trailer section, either of which may be truncated
    (§3.8); 7. zero padding.
    Raises :class:`DecodeError` for malformed input and :class:`TooLargeError` past a bound.
    """
    reader = _Reader(bytes(data))
    framing = reader.varint()
    if framing not in (KNOWN_LENGTH_RESPONSE, INDETERMINATE_RESPONSE):
        raise DecodeError("not a binary HTTP response")
    known_length = framing == KNOWN_LENGTH_RESPONSE
    informational: list[InformationalResponse] = []
    while True:
        status = reader.varint()
        if 200 <= status <= 599:
            break
        if not 100 <= status <= 199:
            raise DecodeError("invalid status code")
        if len(informational) >= limits.MAX_BHTTP_INFORMATIONAL:
            raise TooLargeError("too many informational responses")
        headers = reader.section(known_length=known_length)
        informational.append(InformationalResponse(status, headers))
    headers = reader.section(known_length=known_length)
    content, trailers = reader.content_and_trailers(known_length=known_length)
    reader.finish()
    return Response(status, headers, content, trailers, tuple(informational))
