"""Chunked Oblivious HTTP messages, sans-IO and incremental.

Implements draft-ietf-ohai-chunked-ohttp-08 (T. Pauly, M. Thomson, 18 February 2026;
https://datatracker.ietf.org/doc/draft-ietf-ohai-chunked-ohttp/08/), the text at tag
``draft-ietf-ohai-chunked-ohttp-08`` of ietf-wg-ohai/draft-ohai-chunked-ohttp. Its Appendix A
("Example") is reproduced byte for byte, both ways, by tests/vectors/test_ohttp_chunked_vectors.py.
Section numbers below are that version's. The rules this module follows, exactly:

Media types (§3, §8): ``message/ohttp-chunked-req`` and ``message/ohttp-chunked-res``.

Request (client to gateway), §4::

    Chunked Encapsulated Request = hdr || enc || Non-Final Chunk ... || Final Chunk
    Non-Final Chunk = Length (varint, >= 1) || HPKE-Protected Chunk (Length bytes)
    Final Chunk     = Length (varint) = 0   || HPKE-Protected Final Chunk (to the end)

1. ``hdr`` is RFC 9458's (key id, KEM, KDF, AEAD); HPKE info is
   ``"message/bhttp chunked request" || 0x00 || hdr`` (§6.1).
2. Each chunk is sealed with the one HPKE sender context, in order, so its nonce is HPKE's
   ``base_nonce XOR seq`` (RFC 9180 §5.2) with ``seq`` the chunk counter from 0 (§6.1).
3. AAD is empty for non-final chunks and the 5 ASCII bytes ``"final"`` (0x66696e616c) for the
   final chunk (§6.1, §6.2).
4. The length prefix is a QUIC varint (RFC 9000 §16) counting the sealed bytes (ciphertext and
   tag); we write the shortest encoding and accept any (§6: the prefix is not authenticated).
   Zero marks the final chunk, which runs to the end of the stream (§4, §5).
5. A non-final chunk never has an empty plaintext: we refuse to seal one (:class:`UsageError`)
   and a decoder treats one as a decryption error (:class:`CryptoError`), as §6 requires. The
   final chunk's plaintext may be empty (the draft's example ends with one).

Response (gateway to client), §5::

    Chunked Encapsulated Response = response_nonce (max(Nn, Nk)) || Non-Final Chunk ...
                                    || Final Chunk

6. ``secret = Export("message/bhttp chunked response", max(Nn, Nk))``;
   ``prk = Extract(enc || response_nonce, secret)``; ``aead_key = Expand(prk, "key", Nk)``;
   ``aead_nonce = Expand(prk, "nonce", Nn)`` (§6.2, as RFC 9458 §4.4 with the chunked label).
7. Chunk ``i`` (from 0) uses nonce ``aead_nonce XOR I2OSP(i, Nn)``, the framing of rule 4, the
   AAD of rule 3 and rule 5 on empty chunks (§6.2).
8. Chunk counts: the draft bounds requests by HPKE's sequence limit (§6.1; RFC 9180 §5.2:
   fewer than 2^(8*Nn) - 1 chunks) and responses to fewer than 256^Nn chunks (§6.2, §7.3),
   neither reachable in practice. A receiver may bound both further (§7.3: chunks cost it
   more than their size); ours take at most ``MAX_OHTTP_REQUEST_CHUNKS`` request chunks and
   ``MAX_OHTTP_RESPONSE_CHUNKS`` response chunks, the final one counted, and refuse the chunk
   past that (:class:`TooLargeError`, 413) as soon as its length prefix is read, before any
   more is opened: a request of one-byte chunks held a gateway's event loop for seconds. Past
   its first ``OHTTP_REQUEST_SMALL_CHUNKS``, a request's chunks must average
   ``MIN_OHTTP_REQUEST_CHUNK_AVERAGE`` bytes on the wire, or the chunk that brings them under
   is refused the same way. Senders keep to the count (:class:`UsageError`).
9. Chunk size (§3, §7.3): receivers must accept 2^14-byte plaintext chunks; ours accept up to
   ``MAX_OHTTP_CHUNK`` (1 MiB). Senders should keep to :data:`RECOMMENDED_CHUNK_SIZE` unless
   they know the receiver takes more; :meth:`seal_chunk` allows up to ``MAX_OHTTP_CHUNK``,
   which a privcloud peer accepts.

Since the final chunk has no length, a decoder can open it only at ``close()``, when the caller
says the stream ended; until then its bytes are buffered (at most ``MAX_OHTTP_CHUNK`` plaintext
plus the tag). A stream that ends without a final chunk raises :class:`TruncatedStreamError`:
a message is complete only after a zero-length-prefixed chunk opened with AAD ``"final"``
(§7.1). Chunks returned by ``feed()`` before that are not yet a whole message; a caller that
acts on them must accept that the stream may still be cut (§7.1).

Left to the HTTP shells that carry these bytes (not this module): the outer Content-Type, a
chunked response to every successful chunked request (§3), ``Incremental: ?1`` on both
messages (§3, SHOULD), and no fallback from chunked to one-shot OHTTP (§7, SHOULD NOT).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

from privcloud import limits
from privcloud.crypto import Random, hpke, system_random
from privcloud.crypto.hpke import PrivateKey
from privcloud.crypto.symmetric import Aead
from privcloud.errors import CryptoError, TooLargeError, TruncatedStreamError, UsageError
from privcloud.limits import MAX_OHTTP_CHUNK
from privcloud.ohttp.keyconfig import GatewayKey, KeyConfig, SymmetricSuite
from privcloud.ohttp.protocol import (
    HEADER_SIZE,
    _check_header,
    _make_response_nonce,
    _open_header,
    _response_aead,
    _seal_header,
)
from privcloud.wire import varint

#: Media types of a chunked request and response (§3, §8.1, §8.2).
MEDIA_CHUNKED_REQUEST = "message/ohttp-chunked-req"
MEDIA_CHUNKED_RESPONSE = "message/ohttp-chunked-res"

#: HPKE info label of a chunked request (§6.1).
CHUNKED_REQUEST_LABEL = b"message/bhttp chunked request"
#: HPKE exporter context of the chunked response secret (§6.2).
CHUNKED_RESPONSE_LABEL = b"message/bhttp chunked response"
#: Plaintext size a sender should keep each chunk to unless it knows the receiver accepts more
#: (§3: every implementation must accept chunks of 2^14 octets).
RECOMMENDED_CHUNK_SIZE = 1 << 14
#: AAD of the final chunk, the ASCII string "final" (§6.1, §6.2).
_AAD_FINAL = b"final"
_AAD_NON_FINAL = b""


def _aad(final: bool) -> bytes:
    return _AAD_FINAL if final else _AAD_NON_FINAL


def _frame(sealed: bytes, final: bool) -> bytes:
    """Rule 4: ``varint(len) || sealed`` for a non-final chunk, ``0x00 || sealed`` for the final
    (§6.1, §6.2)."""
    return (b"\x00" if final else varint.encode(len(sealed))) + sealed


def _check_plaintext(data: bytes, final: bool) -> None:
    """Rule 5, sender side: a non-final chunk MUST NOT be empty (§6)."""
    if not final and not data:
        raise UsageError("a non-final chunk may not be empty")
    if len(data) > MAX_OHTTP_CHUNK:
        raise UsageError("chunk larger than MAX_OHTTP_CHUNK")


class _Framer:
    """Splits a byte stream into sealed chunks (rule 4), bounding every buffered size and the
    number of chunks (rule 8)."""

    __slots__ = (
        "_buf",
        "_chunks",
        "_in_final",
        "_max_chunks",
        "_max_sealed",
        "_min_average",
        "_wire",
    )

    def __init__(self, tag_size: int, max_chunks: int, min_average: int = 0) -> None:
        self._buf = bytearray()
        self._in_final = False
        self._max_sealed = MAX_OHTTP_CHUNK + tag_size
        self._max_chunks = max_chunks
        self._chunks = 0  # non-final chunks framed so far
        self._min_average = min_average  # bytes on the wire each, past the small ones
        self._wire = 0  # bytes of the non-final chunks framed so far, prefixes counted

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data``; return the sealed non-final chunks it completed, in order.

        Raises :class:`TooLargeError` for a chunk over ``MAX_OHTTP_CHUNK`` and for a non-final
        chunk that would leave no room for the final one within ``max_chunks`` (rule 8).
        """
        self._buf += data
        out: list[bytes] = []
        while not self._in_final and self._buf:
            if len(self._buf) < varint.peek_length(self._buf[0]):
                break
            length, start = varint.decode(bytes(self._buf[:8]))
            if length == 0:
                self._in_final = True
                del self._buf[:start]
                break
            if length > self._max_sealed:
                raise TooLargeError("chunk larger than MAX_OHTTP_CHUNK")
            if self._chunks + 1 >= self._max_chunks:  # it and the final chunk: one too many
                raise TooLargeError("more chunks than one message may have")
            small = self._chunks + 1 - limits.OHTTP_REQUEST_SMALL_CHUNKS
            if small > 0 and self._wire + start + length < small * self._min_average:
                raise TooLargeError("chunks too small for their number")
            if len(self._buf) < start + length:
                break
            out.append(bytes(self._buf[start : start + length]))
            del self._buf[: start + length]
            self._chunks += 1
            self._wire += start + length
        if self._in_final and len(self._buf) > self._max_sealed:
            raise TooLargeError("final chunk larger than MAX_OHTTP_CHUNK")
        return out

    def close(self) -> bytes:
        """The sealed final chunk; :class:`TruncatedStreamError` if there is none."""
        if not self._in_final:
            raise TruncatedStreamError("stream ended before its final chunk")
        sealed = bytes(self._buf)
        self._buf.clear()
        return sealed


class _Decoder(abc.ABC):
    """Common state machine of the two decoders: prefix, then chunks, then close."""

    __slots__ = ("_closed", "_failed", "_framer", "_max_chunks", "_min_average", "_prefix")

    def __init__(self, max_chunks: int, min_average: int = 0) -> None:
        self._max_chunks = max_chunks  # rule 8, the final chunk counted
        self._min_average = min_average  # rule 8, requests only
        self._prefix = bytearray()
        self._framer: _Framer | None = None
        self._closed = False
        self._failed = False

    @abc.abstractmethod
    def _take_prefix(self, buffered: bytearray) -> int | None:
        """Consume a prefix from ``buffered``; return the tag size once chunks may follow."""

    @abc.abstractmethod
    def _open(self, sealed: bytes, final: bool) -> bytes:
        """Open one sealed chunk (the request or the response direction)."""

    def _open_chunk(self, sealed: bytes, final: bool) -> bytes:
        """Open one chunk, then rule 5, receiver side: an empty non-final chunk is treated as a
        decryption error (§6)."""
        plaintext = self._open(sealed, final)
        if not final and not plaintext:
            raise CryptoError("empty non-final chunk")
        return plaintext

    def feed(self, data: bytes) -> list[bytes]:
        """Process more of the stream; return the plaintext of every chunk it completed.

        Raises :class:`CryptoError` for a chunk that fails to open (tampered, reordered,
        replayed or dropped chunks all end here) or a non-final chunk with an empty plaintext
        (§6), :class:`TooLargeError` for an oversize chunk or one chunk too many (rule 8),
        and :class:`UsageError` after ``close()`` or after an earlier error.
        """
        self._check_usable()
        try:
            if self._framer is None:
                self._prefix += data
                tag_size = self._take_prefix(self._prefix)
                if tag_size is None:
                    return []
                self._framer = _Framer(tag_size, self._max_chunks, self._min_average)
                data, self._prefix = bytes(self._prefix), bytearray()
            return [self._open_chunk(sealed, False) for sealed in self._framer.feed(bytes(data))]
        except BaseException:
            self._failed = True
            raise

    def close(self) -> bytes:
        """End of stream: open and return the final chunk's plaintext.

        Raises :class:`TruncatedStreamError` if the stream had no complete final chunk and
        :class:`CryptoError` if the final chunk fails to open.
        """
        self._check_usable()
        self._closed = True
        if self._framer is None:
            raise TruncatedStreamError("stream ended inside its header")
        return self._open_chunk(self._framer.close(), True)

    def _check_usable(self) -> None:
        if self._closed:
            raise UsageError("decoder already closed")
        if self._failed:
            raise UsageError("decoder failed earlier")


def _counter_limit(suite: SymmetricSuite, max_chunks: int) -> int:
    """Rule 8: how many chunks one message may have: ``max_chunks`` (our bound), and in any
    case fewer than 2^(8*Nn) - 1, the HPKE sequence limit (RFC 9180 §5.2, draft §6.1), in both
    directions (one below the response bound of §6.2)."""
    return min((1 << (8 * suite.aead.nonce_size)) - 1, max_chunks)


def _check_count(sealed: int, final: bool, limit: int) -> None:
    """Rule 8, sender side: the chunk after ``sealed`` others must leave room for the final
    one within ``limit`` (:class:`UsageError`)."""
    if sealed + (1 if final else 2) > limit:
        raise UsageError("too many chunks")


class _ResponseKeys:
    """The response direction of one exchange (§6.2): its AEAD and base nonce, derived from the
    response nonce, and the chunk counter (rule 8)."""

    __slots__ = ("_context", "_enc", "_nonce", "aead", "counter", "limit", "suite")

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._context = context
        self._enc = enc
        self.suite = suite
        self.aead: Aead | None = None
        self._nonce = b""
        self.counter = 0
        self.limit = _counter_limit(suite, limits.MAX_OHTTP_RESPONSE_CHUNKS)

    def derive(self, response_nonce: bytes) -> None:
        self.aead, self._nonce = _response_aead(
            self._context, CHUNKED_RESPONSE_LABEL, self.suite, self._enc, response_nonce
        )

    def next_nonce(self) -> bytes | None:
        """The next chunk's nonce, or None at the counter limit."""
        if self.counter >= self.limit:
            return None
        nonce = _chunk_nonce(self._nonce, self.counter)
        self.counter += 1
        return nonce


# --- client ----------------------------------------------------------------------------------


class ChunkedResponseDecoder(_Decoder):
    """Client side: opens a chunked response stream (rules 3-8, §6.2), fed in arbitrary pieces."""

    __slots__ = ("_keys",)

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._keys = _ResponseKeys(context, enc, suite)
        super().__init__(self._keys.limit)

    def _take_prefix(self, buffered: bytearray) -> int | None:
        size = self._keys.suite.response_nonce_size
        if len(buffered) < size:
            return None
        self._keys.derive(bytes(buffered[:size]))
        del buffered[:size]
        return self._keys.suite.aead.tag_size

    def _open(self, sealed: bytes, final: bool) -> bytes:
        aead = self._keys.aead
        if aead is None:
            raise TruncatedStreamError("stream ended inside its response nonce")
        nonce = self._keys.next_nonce()
        if nonce is None:
            raise TooLargeError("too many chunks")
        return aead.open(nonce, sealed, _aad(final))


class ChunkedClientContext:
    """A client's side of one chunked request: seals request chunks, opens the response."""

    __slots__ = ("_context", "_counter", "_done", "_enc", "_suite")

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._context = context
        self._enc = enc
        self._suite = suite
        self._counter = 0
        self._done = False

    @property
    def suite(self) -> SymmetricSuite:
        return self._suite

    def seal_chunk(self, data: bytes, *, final: bool) -> bytes:
        """Seal and frame the next request chunk (rules 2-5, §6.1); returns the bytes to send.

        Raises :class:`UsageError` after the final chunk, for an empty non-final chunk, one
        over ``MAX_OHTTP_CHUNK`` and one that leaves no room for the final chunk within
        ``MAX_OHTTP_REQUEST_CHUNKS`` (rule 8).
        """
        if self._done:
            raise UsageError("the final chunk was already sealed")
        _check_plaintext(data, final)
        limit = _counter_limit(self._suite, limits.MAX_OHTTP_REQUEST_CHUNKS)
        _check_count(self._counter, final, limit)
        sealed = self._context.seal(bytes(data), _aad(final))
        self._counter += 1
        self._done = final
        return _frame(sealed, final)

    def response_decoder(self) -> ChunkedResponseDecoder:
        """A decoder for the chunked response to this request."""
        return ChunkedResponseDecoder(self._context, self._enc, self._suite)


def encapsulate_chunked_request(
    config: KeyConfig,
    *,
    suite: SymmetricSuite | None = None,
    rand: Random = system_random,
    ephemeral: PrivateKey | None = None,
) -> tuple[bytes, ChunkedClientContext]:
    """Start a chunked request to ``config`` (rule 1, §6.1); returns ``(hdr || enc, context)``.

    ``ephemeral`` is a test-only seam. Raises :class:`UsageError` for a suite the configuration
    does not offer.
    """
    head, enc, chosen, context = _seal_header(config, CHUNKED_REQUEST_LABEL, suite, rand, ephemeral)
    return head, ChunkedClientContext(context, enc, chosen)


# --- gateway ---------------------------------------------------------------------------------


class ChunkedGatewayContext:
    """A gateway's side of one chunked exchange: seals the response chunks (rules 3-8, §6.2)."""

    __slots__ = ("_context", "_done", "_keys")

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._context = context
        self._keys = _ResponseKeys(context, enc, suite)
        self._done = False

    @property
    def suite(self) -> SymmetricSuite:
        return self._keys.suite

    def _open_request_chunk(self, sealed: bytes, final: bool) -> bytes:
        """Rules 2-3 on the gateway side: the HPKE recipient context opens chunks in order."""
        return self._context.open(sealed, _aad(final))

    def response_header(
        self, *, rand: Random = system_random, response_nonce: bytes | None = None
    ) -> bytes:
        """The response nonce, ``random(max(Nn, Nk))``, that starts the response stream (§5,
        §6.2); call once, before any chunk.

        ``response_nonce`` is a test-only seam. Raises :class:`UsageError` on a second call.
        """
        if self._keys.aead is not None:
            raise UsageError("the response header was already made")
        nonce_bytes = _make_response_nonce(self._keys.suite, rand, response_nonce)
        self._keys.derive(nonce_bytes)
        return nonce_bytes

    def seal_chunk(self, data: bytes, *, final: bool) -> bytes:
        """Seal and frame the next response chunk; returns the bytes to send.

        Raises :class:`UsageError` before :meth:`response_header`, after the final chunk, for
        an empty non-final chunk, one over ``MAX_OHTTP_CHUNK`` and one that leaves no room for
        the final chunk within ``MAX_OHTTP_RESPONSE_CHUNKS`` (rule 8).
        """
        aead = self._keys.aead
        if aead is None:
            raise UsageError("response_header() must come first")
        if self._done:
            raise UsageError("the final chunk was already sealed")
        _check_plaintext(data, final)
        _check_count(self._keys.counter, final, self._keys.limit)
        nonce = self._keys.next_nonce()
        if nonce is None:
            raise UsageError("too many chunks")
        sealed = aead.seal(nonce, bytes(data), _aad(final))
        self._done = final
        return _frame(sealed, final)


class ChunkedRequestDecoder(_Decoder):
    """Gateway side: opens a chunked request stream with one of ``keys``, fed in pieces.

    Header errors surface from :meth:`feed` as for :func:`decapsulate_request`:
    :class:`UnknownKeyError`, :class:`UnsupportedError`, :class:`CryptoError`.
    """

    __slots__ = ("_context", "_keys")

    def __init__(self, keys: Mapping[int, GatewayKey]) -> None:
        super().__init__(limits.MAX_OHTTP_REQUEST_CHUNKS, limits.MIN_OHTTP_REQUEST_CHUNK_AVERAGE)
        self._keys = keys
        self._context: ChunkedGatewayContext | None = None

    @property
    def context(self) -> ChunkedGatewayContext:
        """The gateway context; :class:`UsageError` until the header was parsed."""
        if self._context is None:
            raise UsageError("the request header has not been received yet")
        return self._context

    def _take_prefix(self, buffered: bytearray) -> int | None:
        # 1. hdr: key id, KEM and suite must be ours (§6.1; errors as in RFC 9458 §4.3).
        if len(buffered) < HEADER_SIZE:
            return None
        key, suite = _check_header(self._keys, bytes(buffered[:HEADER_SIZE]))
        # 2. enc, then SetupBaseR with the chunked label.
        head_size = HEADER_SIZE + key.config.kem.enc_size
        if len(buffered) < head_size:
            return None
        head = bytes(buffered[:head_size])
        del buffered[:head_size]
        context = _open_header(key, suite, CHUNKED_REQUEST_LABEL, head)
        self._context = ChunkedGatewayContext(context, head[HEADER_SIZE:], suite)
        return suite.aead.tag_size

    def _open(self, sealed: bytes, final: bool) -> bytes:
        if self._context is None:
            raise TruncatedStreamError("stream ended inside its header")
        return self._context._open_request_chunk(sealed, final)


def _chunk_nonce(base: bytes, counter: int) -> bytes:
    """Rule 7: ``chunk_nonce = aead_nonce XOR encode(Nn, counter)`` (§6.2)."""
    return (int.from_bytes(base, "big") ^ counter).to_bytes(len(base), "big")
