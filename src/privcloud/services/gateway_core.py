"""The gateway's I/O-free core (RFC 9458 Oblivious Gateway Resource + load balancer): bytes and
time in, bytes and decisions out; no sockets, no event loop.

One exchange per request:

* :class:`OneShotExchange` (``message/ohttp-req``): decapsulate; :meth:`~OneShotExchange.inner`
  checks the inner Binary HTTP request (route, media type) and gives the envelope; then
  :meth:`~OneShotExchange.answer` or :meth:`~OneShotExchange.refuse` seals the inner response.
* :class:`ChunkedExchange` (``message/ohttp-chunked-req``): the same checks; the answer is the
  response header, then one chunked-OHTTP chunk per frame of the node's sealed stream (each
  node chunk fits one OHTTP chunk: ``limits.MAX_ENVELOPE_CHUNK``), then the Binary HTTP tail
  in the final chunk — or an error in one final chunk.

Errors before decapsulation are plain HTTP errors (RFC 9458 §5.2): a key configuration the
gateway does not hold is the ``ohttp-key`` problem (§5.3, :func:`key_mismatch_problem`). Errors
after it are answered inside the encapsulation (:func:`error_response`), so the relay learns
nothing from them. The token check (I/O: the spent-token store) and the forwarding to a node
stay in the aiohttp shell, :mod:`privcloud.services.gateway`; the choice of node is here
(:class:`NodeTable`), and so is whether a node's answer charges the request's token
(:func:`node_accepted`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.envelope import MEDIA_TYPE_REQUEST, MEDIA_TYPE_STREAM, StreamFramer, parse_header
from privcloud.errors import NotFoundError, PrivcloudError, UnknownKeyError, UnsupportedError
from privcloud.ohttp import (
    ChunkedRequestDecoder,
    GatewayKey,
    decapsulate_request,
)
from privcloud.services.redemption import TokenRefusedError
from privcloud.trust.directory import NodeDescriptor, decode_descriptor, encode_directory
from privcloud.wire import bhttp
from privcloud.wire.jsonio import encode_error_body
from privcloud.wire.message import ENVELOPE_ROUTE

#: RFC 9458 §5.3 problem type for a request to an unknown or outdated key configuration.
OHTTP_KEY_PROBLEM: Final = "https://iana.org/assignments/http-problem-types#ohttp-key"
#: Bytes of Binary HTTP framing around one content chunk: its varint length (at most 8).
_CONTENT_FRAMING: Final = 8


def key_mismatch_problem() -> dict[str, str]:
    """The body of RFC 9458 §5.3's answer (status 400, ``application/problem+json``), with our
    error code so that a client knows to fetch the current key configuration."""
    return {
        "type": OHTTP_KEY_PROBLEM,
        "title": "unknown key configuration",
        "error": UnknownKeyError.code,
        "message": "unknown key configuration",
    }


def error_response(exc: PrivcloudError) -> bhttp.Response:
    """An inner (encapsulated) error response carrying only our fixed code and text, and for a
    refused token the ``WWW-Authenticate: PrivateToken`` challenge (RFC 9577 §2.1)."""
    headers: tuple[bhttp.Field, ...] = ((b"content-type", b"application/json"),)
    if isinstance(exc, TokenRefusedError):
        headers += ((b"www-authenticate", exc.www_authenticate.encode("ascii")),)
    return bhttp.Response(status=exc.http_status, headers=headers, content=encode_error_body(exc))


#: Statuses a node answers for a failure of its own, not of the request: the token is released.
_NODE_SIDE_4XX: Final = frozenset({408, 429})


def node_accepted(status: int) -> bool:
    """Whether a node's response head with ``status`` means the node took the request, so that
    its token is consumed (docs/tokens.md, redemption step 7) — even if the stream breaks later:
    the node did work.

    A 200, and a 4xx: the node judged the request as sent and refused it (a bad envelope fails
    on every node; releasing would let one token buy unlimited attempts). Not a 5xx, 408 or 429:
    the node, not the request, failed before any byte, and the token is released (step 8).
    """
    return status < 500 and status not in _NODE_SIDE_4XX


def check_inner(inner_bytes: bytes) -> bhttp.Request:
    """Decode the inner request and check its route and media type (not its credentials).

    Raises :class:`~privcloud.errors.DecodeError` (malformed Binary HTTP),
    :class:`NotFoundError` (another route), :class:`UnsupportedError` (not an envelope).
    """
    inner = bhttp.decode_request(inner_bytes)
    if inner.method != b"POST" or inner.path != ENVELOPE_ROUTE:
        raise NotFoundError("unknown inner route")
    if inner.header(b"content-type") != MEDIA_TYPE_REQUEST.encode():
        raise UnsupportedError("inner request is not an envelope")
    return inner


def _content_type(status: int) -> bytes:
    return (MEDIA_TYPE_STREAM if status == 200 else "application/json").encode()


class OneShotExchange:
    """One ``message/ohttp-req`` request and its ``message/ohttp-res`` answer."""

    def __init__(self, keys: dict[int, GatewayKey], body: bytes) -> None:
        """Decapsulate ``body``. Raises :class:`UnknownKeyError` for a key configuration the
        gateway does not hold, and our decode/crypto errors (plain HTTP errors)."""
        self._inner_bytes, self._context = decapsulate_request(keys, body)

    def inner(self) -> bhttp.Request:
        """The checked inner request (:func:`check_inner`)."""
        return check_inner(self._inner_bytes)

    def answer(self, status: int, payload: bytes) -> bytes:
        """The encapsulated response carrying the node's ``status`` and body."""
        inner = bhttp.Response(
            status=status, headers=((b"content-type", _content_type(status)),), content=payload
        )
        return self._context.encapsulate_response(bhttp.encode_response(inner))

    def refuse(self, exc: PrivcloudError) -> bytes:
        """The encapsulated error response (:func:`error_response`)."""
        return self._context.encapsulate_response(bhttp.encode_response(error_response(exc)))


class ChunkedExchange:
    """One ``message/ohttp-chunked-req`` request and its chunked answer.

    Call :meth:`response_header` first; then either :meth:`refuse` (one final chunk), or
    :meth:`head`, :meth:`content` for each piece of the node's answer as it arrives, and
    :meth:`end`. A node stream cut short is left without its final chunk: the client detects
    it (the shell just stops).
    """

    def __init__(self, keys: dict[int, GatewayKey], body: bytes) -> None:
        """Decapsulate the whole chunked request in ``body`` (requests are bounded and read
        whole). Raises :class:`UnknownKeyError` and our decode/crypto errors."""
        decoder = ChunkedRequestDecoder(keys)
        parts = decoder.feed(body)
        parts.append(decoder.close())
        self._inner_bytes = b"".join(parts)
        self._context = decoder.context
        self._framer: StreamFramer | None = None
        self._status: int | None = None

    def inner(self) -> bhttp.Request:
        """The checked inner request (:func:`check_inner`)."""
        return check_inner(self._inner_bytes)

    def forwarded(self) -> None:
        """The inner request has been passed on: drop it (the answer's stream may last
        minutes; :meth:`inner` is empty from now on)."""
        self._inner_bytes = b""

    def response_header(self) -> bytes:
        """The chunked response's header (its nonce): the first bytes of the answer."""
        return self._context.response_header()

    def refuse(self, exc: PrivcloudError) -> bytes:
        """The whole inner error response as one final chunk (indeterminate-length framing:
        the client reads this path as a stream)."""
        error = bhttp.encode_response_indeterminate(error_response(exc))
        return self._context.seal_chunk(error, final=True)

    def head(self, status: int) -> bytes:
        """The inner response head for the node's ``status``, as one chunk."""
        self._status = status
        self._framer = StreamFramer() if status == 200 else None
        head = bhttp.encode_response_head(status, [(b"content-type", _content_type(status))])
        return self._context.seal_chunk(head, final=False)

    def content(self, data: bytes) -> list[bytes]:
        """Chunks for the next bytes of the node's body.

        A 200 body is the node's sealed stream: each of its frames becomes one chunk as soon as
        it is whole, so chunks line up with the node's. An error body (small, bounded) is cut
        into chunks that fit. Raises our errors for a stream whose public framing is broken.
        """
        if self._status is None:
            raise PrivcloudError("content before the response head")
        if self._framer is not None:
            pieces = self._framer.feed(data)
        else:
            step = limits.MAX_OHTTP_CHUNK - _CONTENT_FRAMING
            pieces = [data[i : i + step] for i in range(0, len(data), step)]
        return [
            self._context.seal_chunk(bhttp.encode_content_chunk(p), final=False) for p in pieces
        ]

    def end(self) -> bytes:
        """The final chunk: the Binary HTTP tail. Raises
        :class:`~privcloud.errors.TruncatedStreamError` if the node's stream is incomplete."""
        if self._framer is not None:
            self._framer.close()
        return self._context.seal_chunk(bhttp.encode_response_tail(), final=True)


# --- nodes -----------------------------------------------------------------------------------


@dataclass
class NodeRecord:
    """What the gateway knows of one node: where it is and what it published."""

    url: str
    descriptor: NodeDescriptor | None = None
    healthy: bool = False


class NodeTable:
    """The nodes behind the gateway, their health, and the choice among a request's recipients."""

    def __init__(self, urls: list[str], *, rand: random.Random | None = None) -> None:
        self.records = [NodeRecord(url.rstrip("/")) for url in urls]
        self._random = rand if rand is not None else random.SystemRandom()

    def update(self, record: NodeRecord, descriptor: bytes | None) -> bool:
        """Record a health check: the node's descriptor, or ``None`` when it did not answer (or
        answered an error). A descriptor that does not decode counts as no answer. Returns
        whether the node just became unhealthy."""
        was = record.healthy
        decoded = None
        if descriptor is not None:
            try:
                decoded = decode_descriptor(descriptor)
            except PrivcloudError:
                decoded = None
        if decoded is None:
            record.healthy = False  # the last descriptor stays, unused while unhealthy
        else:
            record.descriptor, record.healthy = decoded, True
        return was and not record.healthy

    def healthy(self) -> list[NodeDescriptor]:
        return [r.descriptor for r in self.records if r.healthy and r.descriptor is not None]

    def directory(self) -> bytes:
        """The node directory (healthy nodes) as served to devices."""
        return encode_directory(self.healthy())

    def candidates(self, envelope: bytes) -> list[NodeRecord]:
        """The healthy nodes among the envelope's recipients, in random order (the gateway
        learns the k key ids from the envelope's cleartext header, nothing else).

        Raises our decode errors for a malformed envelope header."""
        wanted = set(parse_header(envelope).key_ids)
        found = [
            r
            for r in self.records
            if r.healthy and r.descriptor is not None and wanted.intersection(r.descriptor.key_ids)
        ]
        self._random.shuffle(found)
        return found


__all__ = [
    "OHTTP_KEY_PROBLEM",
    "ChunkedExchange",
    "NodeRecord",
    "NodeTable",
    "OneShotExchange",
    "check_inner",
    "error_response",
    "key_mismatch_problem",
    "node_accepted",
]
