"""The client's request path, sans-IO: build the bytes a device sends to the relay, and turn
the bytes that come back into workload events.

    WorkloadRequest -> sealed envelope (to k nodes) -> Binary HTTP request (+ token header)
                    -> OHTTP (one-shot, or chunked for streamed answers) -> relay

and back: OHTTP response -> Binary HTTP response -> sealed stream -> events. Each layer's
integrity check raises our errors; a truncated or reordered stream never yields a final event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from privcloud import limits
from privcloud.clock import SystemClock
from privcloud.crypto import Random, system_random
from privcloud.envelope import (
    MEDIA_TYPE_REQUEST,
    ClientSession,
    PreparedSeal,
    Recipient,
    StreamOpener,
    prepare_seal,
)
from privcloud.errors import (
    DecodeError,
    PrivcloudError,
    TokenRequiredError,
    TooLargeError,
    UsageError,
)
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_REQUEST,
    ChunkedClientContext,
    ChunkedResponseDecoder,
    ClientContext,
    KeyConfig,
    PreparedEncapsulation,
    encapsulate_chunked_request,
    prepare_encapsulation,
)
from privcloud.trust.directory import NodeDescriptor
from privcloud.wire import bhttp
from privcloud.wire.jsonio import decode_error_body
from privcloud.wire.message import (
    ENVELOPE_ROUTE,
    Event,
    EventStreamDecoder,
    WorkloadRequest,
    encode_request,
)

#: Authority of the inner request; the gateway serves one origin.
INNER_AUTHORITY = b"privcloud.gateway"


class ResponseReader(Protocol):
    """Turns the relay's response bytes, in any split, into workload events."""

    def feed(self, data: bytes) -> list[Event]: ...

    def close(self) -> list[Event]: ...


def _remote_error(
    status: int, content: bytes, headers: Sequence[bhttp.Field] = ()
) -> PrivcloudError:
    """The gateway's inner error answer as ours: a 401 with a challenge becomes
    :class:`TokenRequiredError`; anything else what its body names
    (:func:`~privcloud.wire.jsonio.decode_error_body`)."""
    challenge = next((v for n, v in headers if n.lower() == b"www-authenticate"), None)
    if status != 401:
        challenge = None
    error = decode_error_body(content, status, peer="gateway")
    if challenge is not None:
        return TokenRequiredError(str(error), www_authenticate=challenge)
    return error


class OneShotReader:
    """Reads a ``message/ohttp-res`` answer: everything arrives, then it is opened at once."""

    def __init__(self, ohttp: ClientContext, session: ClientSession) -> None:
        self._ohttp = ohttp
        self._session = session
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        if len(self._buffer) > limits.MAX_HTTP_BODY:
            raise TooLargeError("response too large")
        return []

    def close(self) -> list[Event]:
        inner = bhttp.decode_response(self._ohttp.decapsulate_response(bytes(self._buffer)))
        if inner.status != 200:
            raise _remote_error(inner.status, inner.content, inner.headers)
        decoder = EventStreamDecoder()
        events = [
            e for chunk in self._session.open_response(inner.content) for e in decoder.feed(chunk)
        ]
        decoder.close()
        return events


class ChunkedReader:
    """Reads a ``message/ohttp-chunked-res`` answer incrementally, yielding events as the node
    produces them."""

    def __init__(self, ohttp: ChunkedResponseDecoder, session: ClientSession) -> None:
        self._ohttp = ohttp
        self._bhttp = bhttp.ResponseStreamDecoder()
        self._opener: StreamOpener = session.response_opener()
        self._events = EventStreamDecoder()
        self._status: int | None = None
        self._headers: tuple[bhttp.Field, ...] = ()
        self._error_body = bytearray()

    def _inner(self, plaintexts: list[bytes]) -> list[Event]:
        events: list[Event] = []
        for plaintext in plaintexts:
            for item in self._bhttp.feed(plaintext):
                if isinstance(item, bhttp.Head):
                    self._status = item.status
                    self._headers = item.headers
                elif isinstance(item, bhttp.Content):
                    if self._status is None:
                        raise DecodeError("content before response head")
                    if self._status != 200:
                        self._error_body += item.data[
                            : limits.MAX_REMOTE_ERROR_BODY - len(self._error_body)
                        ]
                    else:
                        for chunk in self._opener.feed(item.data):
                            events += self._events.feed(chunk)
                elif isinstance(item, bhttp.End) and self._status not in (None, 200):
                    raise _remote_error(self._status or 0, bytes(self._error_body), self._headers)
        return events

    def feed(self, data: bytes) -> list[Event]:
        return self._inner(self._ohttp.feed(data))

    def close(self) -> list[Event]:
        events = self._inner([self._ohttp.close()])
        self._bhttp.close()
        if self._status is None:
            raise DecodeError("response without a head")
        self._opener.close()
        self._events.close()
        return events


@dataclass(frozen=True, eq=False)
class SealedAhead:
    """The public-key work of one request, done before it is made (:func:`seal_ahead`): its
    CEK wrapped to ``nodes`` and its OHTTP encapsulation to ``key_config`` set up. What is
    left when the request comes is two AEAD seals. Serves one request (each part refuses a
    second use); never logged."""

    key_config: KeyConfig
    nodes: tuple[NodeDescriptor, ...]
    stream: bool
    envelope: PreparedSeal
    oneshot: PreparedEncapsulation | None
    chunked: tuple[bytes, ChunkedClientContext] | None

    @property
    def used(self) -> bool:
        return self.envelope.used

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<secret>)"


def seal_ahead(
    key_config: KeyConfig,
    nodes: Sequence[NodeDescriptor],
    *,
    stream: bool,
    rand: Random = system_random,
) -> SealedAhead:
    """Everything of :func:`build_request` that does not depend on the request: a fresh CEK
    wrapped to ``nodes``, and the OHTTP encapsulation (chunked when ``stream``) to
    ``key_config``. ``rand`` is drawn from in the order :func:`build_request` draws."""
    recipients = [Recipient(n.key_id, n.public_key, n.suite) for n in nodes]
    envelope = prepare_seal(recipients, rand=rand)
    if stream:
        chunked = encapsulate_chunked_request(key_config, rand=rand)
        return SealedAhead(key_config, tuple(nodes), True, envelope, None, chunked)
    oneshot = prepare_encapsulation(key_config, rand=rand)
    return SealedAhead(key_config, tuple(nodes), False, envelope, oneshot, None)


def build_request(
    key_config: KeyConfig,
    nodes: Sequence[NodeDescriptor],
    request: WorkloadRequest,
    *,
    authorization: bytes | None = None,
    rand: Random = system_random,
    now: float | None = None,
    deadline_s: int | None = None,
    ahead: SealedAhead | None = None,
) -> tuple[bytes, str, ResponseReader]:
    """Seal ``request`` to ``nodes`` and wrap it for the relay.

    Returns ``(body, media type, reader)``: POST ``body`` with that media type to the relay and
    feed what comes back to ``reader``. Streamed requests use chunked OHTTP so that events
    arrive while the node works.

    A request without an issue time is stamped with ``now`` and ``deadline_s`` (else its own
    deadline, else the feature's default: :meth:`WorkloadRequest.stamped`), sealed inside the
    envelope (docs/envelope.md §8). Shells pass their clock's ``now``; without it the system
    clock is read here, once.

    ``ahead`` is this request's public-key work done beforehand (:func:`seal_ahead`, with the
    same ``key_config``, ``nodes`` and streaming flag, else :class:`UsageError`); without it
    that work is done here.
    """
    if request.issued_at is None:
        request = request.stamped(SystemClock().now() if now is None else now, deadline_s)
    elif deadline_s is not None:
        raise UsageError("the request is stamped already: set its deadline_s instead")
    if ahead is None:
        ahead = seal_ahead(key_config, nodes, stream=request.stream, rand=rand)
    elif (
        ahead.key_config != key_config
        or ahead.stream != request.stream
        or [(n.key_id, n.public_key) for n in ahead.nodes]
        != [(n.key_id, n.public_key) for n in nodes]
    ):
        raise UsageError("the request was sealed ahead to other keys")
    envelope, session = ahead.envelope.seal(encode_request(request))
    headers: list[bhttp.Field] = [(b"content-type", MEDIA_TYPE_REQUEST.encode())]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    inner = bhttp.encode_request(
        bhttp.Request(
            method=b"POST",
            scheme=b"https",
            authority=INNER_AUTHORITY,
            path=ENVELOPE_ROUTE,
            headers=tuple(headers),
            content=envelope,
        )
    )
    if ahead.chunked is not None:
        header, chunked = ahead.chunked
        # Chunks carry at most MAX_OHTTP_CHUNK bytes: a large request goes as several.
        step = limits.MAX_OHTTP_CHUNK
        pieces = [inner[i : i + step] for i in range(0, len(inner), step)] or [b""]
        sealed = [chunked.seal_chunk(p, final=False) for p in pieces[:-1]]
        sealed.append(chunked.seal_chunk(pieces[-1], final=True))
        body = header + b"".join(sealed)
        return body, MEDIA_CHUNKED_REQUEST, ChunkedReader(chunked.response_decoder(), session)
    assert ahead.oneshot is not None
    body, context = ahead.oneshot.seal(inner)
    return body, MEDIA_REQUEST, OneShotReader(context, session)


__all__ = [
    "ChunkedClientContext",
    "ResponseReader",
    "SealedAhead",
    "TokenRequiredError",
    "build_request",
    "seal_ahead",
]
