"""The workload messages carried inside the sealed envelope (docs/envelope.md §Payload).

A request names a feature, carries JSON parameters and an opaque body (audio, text). A response
is a sequence of events, one per sealed chunk: zero or more ``partial`` events, then exactly one
``result`` or ``error`` event in the final chunk.

Layout (all integers QUIC varints, RFC 9000 §16)::

    request  = version(1) flags(1) len(feature) feature len(params) params-json body...
    event    = version(1) kind(1)  len(meta) meta-json data...

``flags`` bit 0 asks for a streamed answer. ``params``/``meta`` are UTF-8 JSON objects.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.wire import jsonio, varint

MESSAGE_VERSION = 1
#: The inner (Binary HTTP) route a client posts its sealed envelope to, inside OHTTP.
ENVELOPE_ROUTE = b"/v1/envelope"
_FLAG_STREAM = 0x01
_FEATURE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")

JSONObject = dict[str, Any]


class EventKind(enum.IntEnum):
    """What one response event is."""

    PARTIAL = 1
    RESULT = 2
    ERROR = 3


@dataclass(frozen=True)
class WorkloadRequest:
    """A plaintext request for one feature, as a node's workload sees it."""

    feature: str
    params: JSONObject = field(default_factory=dict)
    body: bytes = b""
    stream: bool = False

    def __post_init__(self) -> None:
        if not _FEATURE_RE.match(self.feature):
            raise UsageError("feature names are lower-case identifiers")


@dataclass(frozen=True)
class Event:
    """One event of a workload's answer."""

    kind: EventKind
    meta: JSONObject = field(default_factory=dict)
    data: bytes = b""

    @property
    def final(self) -> bool:
        return self.kind != EventKind.PARTIAL


def _dump(obj: JSONObject) -> bytes:
    """The pair of :func:`_load`: raises :class:`UsageError` for what it would refuse."""
    try:
        raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, RecursionError) as exc:
        raise UsageError("JSON object has no finite, bounded JSON form") from exc
    if len(raw) > limits.MAX_WORKLOAD_JSON:
        raise UsageError("JSON object too large")
    if jsonio.nesting_depth_exceeds(raw, limits.MAX_JSON_DEPTH):
        raise UsageError("JSON object nested too deeply")
    return raw


def _load(raw: bytes) -> JSONObject:
    if len(raw) > limits.MAX_WORKLOAD_JSON:
        raise TooLargeError("JSON object too large")
    obj = jsonio.loads(raw, max_bytes=limits.MAX_WORKLOAD_JSON)
    if not isinstance(obj, dict):
        raise DecodeError("message JSON is not an object")
    return obj


def _read_prefixed(data: bytes, offset: int, bound: int) -> tuple[bytes, int]:
    length, offset = varint.decode(data, offset)
    if length > bound:
        raise TooLargeError("length prefix too large")
    end = offset + length
    if end > len(data):
        raise DecodeError("length prefix past end of message")
    return data[offset:end], end


def encode_request(req: WorkloadRequest) -> bytes:
    """Serialize a workload request; raises :class:`UsageError` when the encoding would exceed
    ``limits.MAX_WORKLOAD_INPUT`` (which :func:`decode_request` would refuse)."""
    feature = req.feature.encode("ascii")
    params = _dump(req.params)
    flags = _FLAG_STREAM if req.stream else 0
    encoded = b"".join(
        (
            bytes((MESSAGE_VERSION, flags)),
            varint.encode(len(feature)),
            feature,
            varint.encode(len(params)),
            params,
            req.body,
        )
    )
    if len(encoded) > limits.MAX_WORKLOAD_INPUT:
        raise UsageError("workload request too large")
    return encoded


def decode_request(data: bytes) -> WorkloadRequest:
    """Parse a workload request; raises :class:`DecodeError`/:class:`TooLargeError`.

    The whole encoded request is bounded by ``limits.MAX_WORKLOAD_INPUT``, as in
    :func:`encode_request`, so that anything a sender encodes fits one request envelope.
    """
    if len(data) > limits.MAX_WORKLOAD_INPUT:
        raise TooLargeError("workload request too large")
    if len(data) < 2:
        raise DecodeError("workload request too short")
    if data[0] != MESSAGE_VERSION:
        raise UnsupportedError("unknown workload message version")
    if data[1] & ~_FLAG_STREAM:
        raise DecodeError("unknown workload request flags")
    feature_raw, offset = _read_prefixed(data, 2, limits.MAX_FEATURE_NAME)
    try:
        feature = feature_raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("feature name is not ASCII") from exc
    if not _FEATURE_RE.match(feature):
        raise DecodeError("malformed feature name")
    params_raw, offset = _read_prefixed(data, offset, limits.MAX_WORKLOAD_JSON)
    return WorkloadRequest(
        feature=feature,
        params=_load(params_raw),
        body=data[offset:],
        stream=bool(data[1] & _FLAG_STREAM),
    )


def encode_event(event: Event) -> bytes:
    """Serialize one response event."""
    meta = _dump(event.meta)
    return b"".join(
        (bytes((MESSAGE_VERSION, int(event.kind))), varint.encode(len(meta)), meta, event.data)
    )


def decode_event(data: bytes) -> Event:
    """Parse one response event; raises :class:`DecodeError`."""
    if len(data) < 2:
        raise DecodeError("event too short")
    if data[0] != MESSAGE_VERSION:
        raise UnsupportedError("unknown event version")
    try:
        kind = EventKind(data[1])
    except ValueError as exc:
        raise DecodeError("unknown event kind") from exc
    meta_raw, offset = _read_prefixed(data, 2, limits.MAX_WORKLOAD_JSON)
    return Event(kind=kind, meta=_load(meta_raw), data=data[offset:])


def frame_event(event: Event) -> bytes:
    """One event as it travels in a sealed response stream: ``varint(len) || event``.

    Framing events inside the stream (instead of one event per sealed chunk) lets an event be
    larger than one chunk, and lets the sealing layer cut the stream wherever it likes.
    """
    data = encode_event(event)
    if len(data) > limits.MAX_WORKLOAD_EVENT:
        raise UsageError("event too large")
    return varint.encode(len(data)) + data


class EventStreamDecoder:
    """Incremental decoder of framed events (:func:`frame_event`) from a response stream's
    plaintext, fed in any split. Bounded by ``limits.MAX_WORKLOAD_EVENT`` per event."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        """Return every event completed by ``data``; raises :class:`DecodeError`/TooLargeError."""
        self._buffer += data
        events: list[Event] = []
        while self._buffer:
            first = self._buffer[0]
            if len(self._buffer) < varint.peek_length(first):
                break
            length, offset = varint.decode(self._buffer)
            if length > limits.MAX_WORKLOAD_EVENT:
                raise TooLargeError("event too large")
            if len(self._buffer) < offset + length:
                break
            events.append(decode_event(bytes(self._buffer[offset : offset + length])))
            del self._buffer[: offset + length]
        return events

    def close(self) -> None:
        """Raise :class:`DecodeError` if the stream ended inside an event."""
        if self._buffer:
            raise DecodeError("response stream ended inside an event")
