"""The workload messages carried inside the sealed envelope (docs/envelope.md §8).

A request names a feature, carries its issue time and deadline, JSON parameters and an opaque
body (audio, text). A response is a sequence of events, one per sealed chunk: zero or more
``partial`` events, then exactly one ``result`` or ``error`` event in the final chunk.

Layout (all integers QUIC varints, RFC 9000 §16)::

    request v2 = version(2) flags(1) issued_at deadline_s len(feature) feature
                 len(params) params-json body...
    event      = version(1) kind(1) len(meta) meta-json data...

``flags`` bit 0 asks for a streamed answer. ``issued_at`` is the client's clock at sealing, in
whole Unix seconds; ``deadline_s`` the seconds from then after which the answer is no longer
wanted. A zero in either means absent (a node refuses a request without an issue time, and
applies the feature's default deadline). ``params``/``meta`` are UTF-8 JSON objects. Request
version 1 (no issue time, no deadline) is refused with :class:`UnsupportedError`: a node cannot
bound its replay cache in time without the issue time. Events are still version 1.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.wire import jsonio, varint

#: Version of the workload request encoding: 2 carries the issue time and the deadline.
REQUEST_VERSION = 2
#: The first request version, without issue time or deadline; refused (UnsupportedError).
REQUEST_VERSION_1 = 1
#: Version of the response event encoding (unchanged since the first).
EVENT_VERSION = 1
#: The first byte of an event (the name from before requests and events had their own).
MESSAGE_VERSION = EVENT_VERSION
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
    """A plaintext request for one feature, as a node's workload sees it.

    ``issued_at`` (whole Unix seconds) and ``deadline_s`` (seconds from then) are set by the
    sender when it seals the request (:meth:`stamped`); ``None`` means absent. Raises
    :class:`UsageError` for a malformed feature name or a value out of range.
    """

    feature: str
    params: JSONObject = field(default_factory=dict)
    body: bytes = b""
    stream: bool = False
    issued_at: int | None = None
    deadline_s: int | None = None

    def __post_init__(self) -> None:
        if not _FEATURE_RE.match(self.feature):
            raise UsageError("feature names are lower-case identifiers")
        if self.issued_at is not None and (
            isinstance(self.issued_at, bool)
            or not isinstance(self.issued_at, int)
            or not 0 < self.issued_at <= varint.MAX_VARINT
        ):
            raise UsageError("issued_at must be a positive whole number of Unix seconds")
        if self.deadline_s is not None and (
            isinstance(self.deadline_s, bool)
            or not isinstance(self.deadline_s, int)
            or not 0 < self.deadline_s <= limits.MAX_REQUEST_DEADLINE_S
        ):
            raise UsageError("deadline_s must be 1 to MAX_REQUEST_DEADLINE_S seconds")

    def stamped(self, now: float, deadline_s: int | None = None) -> WorkloadRequest:
        """This request with its issue time set to ``now`` (rounded down to whole seconds) and
        its deadline to ``deadline_s``, else the one it has, else the feature's default
        (:func:`default_deadline_s`)."""
        chosen = deadline_s if deadline_s is not None else self.deadline_s
        return replace(
            self,
            issued_at=int(now),
            deadline_s=chosen if chosen is not None else default_deadline_s(self.feature),
        )


def default_deadline_s(feature: str) -> int:
    """The deadline a request for ``feature`` gets when it names none, in seconds from its issue
    time (``limits.REQUEST_DEADLINES_S``, else ``limits.DEFAULT_REQUEST_DEADLINE_S``)."""
    return limits.REQUEST_DEADLINES_S.get(feature, limits.DEFAULT_REQUEST_DEADLINE_S)


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
    """Serialize a workload request (version 2); raises :class:`UsageError` when the encoding
    would exceed ``limits.MAX_WORKLOAD_INPUT`` (which :func:`decode_request` would refuse). An
    absent issue time or deadline is encoded as zero."""
    feature = req.feature.encode("ascii")
    params = _dump(req.params)
    flags = _FLAG_STREAM if req.stream else 0
    encoded = b"".join(
        (
            bytes((REQUEST_VERSION, flags)),
            varint.encode(req.issued_at or 0),
            varint.encode(req.deadline_s or 0),
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
    """Parse a workload request (version 2).

    Raises :class:`DecodeError`/:class:`TooLargeError` for malformed bytes or a deadline past
    ``limits.MAX_REQUEST_DEADLINE_S``, and :class:`UnsupportedError` for any other version
    (version 1 included: it carries no issue time). The whole encoded request is bounded by
    ``limits.MAX_WORKLOAD_INPUT``, as in :func:`encode_request`, so that anything a sender
    encodes fits one request envelope.
    """
    if len(data) > limits.MAX_WORKLOAD_INPUT:
        raise TooLargeError("workload request too large")
    if len(data) < 2:
        raise DecodeError("workload request too short")
    if data[0] == REQUEST_VERSION_1:
        raise UnsupportedError("workload request version 1 carries no issue time")
    if data[0] != REQUEST_VERSION:
        raise UnsupportedError("unknown workload message version")
    if data[1] & ~_FLAG_STREAM:
        raise DecodeError("unknown workload request flags")
    issued_at, offset = varint.decode(data, 2)
    deadline_s, offset = varint.decode(data, offset)
    if deadline_s > limits.MAX_REQUEST_DEADLINE_S:
        raise TooLargeError("request deadline too long")
    feature_raw, offset = _read_prefixed(data, offset, limits.MAX_FEATURE_NAME)
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
        issued_at=issued_at or None,
        deadline_s=deadline_s or None,
    )


def encode_event(event: Event) -> bytes:
    """Serialize one response event."""
    meta = _dump(event.meta)
    return b"".join(
        (bytes((EVENT_VERSION, int(event.kind))), varint.encode(len(meta)), meta, event.data)
    )


def decode_event(data: bytes) -> Event:
    """Parse one response event; raises :class:`DecodeError`."""
    if len(data) < 2:
        raise DecodeError("event too short")
    if data[0] != EVENT_VERSION:
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
