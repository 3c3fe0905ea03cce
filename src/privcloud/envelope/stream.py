"""The sealed response stream (docs/envelope.md §4).

A response is a stream header followed by one or more chunks; the last chunk, and only it, carries
the final flag. A non-streaming response is a stream of a single final chunk::

    stream = stream_header || chunk+
    stream_header = version (u8, = 1) || response_nonce (32 random bytes)
    chunk  = flags (u8: 0x00 more, 0x01 final) || length (u32) || ciphertext (length bytes)

Key schedule (``Extract``/``Expand`` are HKDF with the suite's KDF)::

    prk        = Extract(salt = response_nonce, ikm = response_secret)
    key        = Expand(prk, "privcloud envelope v1 response key"   || request_hash, Nk)
    base_nonce = Expand(prk, "privcloud envelope v1 response nonce" || request_hash, Nn)

    ciphertext_i = AEAD.Seal(key, base_nonce XOR I2OSP(i, Nn),
                             padded(data_i), aad = stream_header || u64(i) || flags_i)

``response_secret`` comes from the request's CEK and ``request_hash`` is SHA-256 of the whole
request envelope, so only the client that sealed exactly that request can open the stream.
A dropped, reordered or replayed chunk is opened under the wrong sequence number; a flipped
final flag changes the AAD; a stream that ends before its final chunk raises
:class:`TruncatedStreamError`.
"""

from __future__ import annotations

from typing import Final

from privcloud.crypto import Random, system_random
from privcloud.crypto.hpke import Suite
from privcloud.crypto.symmetric import Aead, hkdf_expand, hkdf_extract, xor_bytes
from privcloud.envelope.format import (
    LABEL_RESPONSE_KEY,
    LABEL_RESPONSE_NONCE,
    RESPONSE_NONCE_SIZE,
    VERSION,
)
from privcloud.envelope.padding import FRAMING, capped_size, pad, unpad
from privcloud.errors import (
    DecodeError,
    PrivcloudError,
    TooLargeError,
    TruncatedStreamError,
    UnsupportedError,
    UsageError,
)
from privcloud.limits import MAX_ENVELOPE_CHUNK, MAX_ENVELOPE_CHUNK_CIPHERTEXT, MAX_ENVELOPE_CHUNKS

#: Bytes of the stream header: version and response nonce.
STREAM_HEADER_SIZE: Final = 1 + RESPONSE_NONCE_SIZE
#: Bytes in front of each chunk's ciphertext: flags and length.
CHUNK_HEADER_SIZE: Final = 5
FLAG_MORE: Final = 0x00
FLAG_FINAL: Final = 0x01


#: The top bucket of a chunk: the largest chunk, framed (a multiple of 64 KiB; under it chunks
#: take powers of two).
TOP_CHUNK_BUCKET: Final = FRAMING + MAX_ENVELOPE_CHUNK


def max_chunk_ciphertext(suite: Suite) -> int:
    """Largest chunk ciphertext an opener accepts: the top bucket + a tag."""
    return TOP_CHUNK_BUCKET + suite.aead.tag_size


def _response_aead(
    suite: Suite, response_secret: bytes, request_hash: bytes, response_nonce: bytes
) -> tuple[Aead, bytes]:
    kdf = suite.kdf
    prk = hkdf_extract(kdf, response_nonce, response_secret)
    key = hkdf_expand(kdf, prk, LABEL_RESPONSE_KEY + request_hash, suite.aead.key_size)
    base_nonce = hkdf_expand(kdf, prk, LABEL_RESPONSE_NONCE + request_hash, suite.aead.nonce_size)
    return Aead(suite.aead, key), base_nonce


def _chunk_nonce(base_nonce: bytes, seq: int) -> bytes:
    return xor_bytes(base_nonce, seq.to_bytes(len(base_nonce), "big"))


def _chunk_aad(stream_header: bytes, seq: int, flags: int) -> bytes:
    return stream_header + seq.to_bytes(8, "big") + bytes([flags])


class StreamSealer:
    """Node side: seals one response stream. Get one from ``NodeSession.stream_sealer()``.

    Send :meth:`header` first, then the output of :meth:`seal_chunk` for each chunk in order,
    the last one with ``final=True``.
    """

    __slots__ = ("_aead", "_base_nonce", "_done", "_header", "_pad", "_seq")

    def __init__(
        self,
        suite: Suite,
        response_secret: bytes,
        request_hash: bytes,
        *,
        rand: Random = system_random,
        pad: bool = True,
    ) -> None:
        response_nonce = rand(RESPONSE_NONCE_SIZE)
        if len(response_nonce) != RESPONSE_NONCE_SIZE:
            raise UsageError("random source returned the wrong length")
        self._header = bytes([VERSION]) + response_nonce
        self._aead, self._base_nonce = _response_aead(
            suite, response_secret, request_hash, response_nonce
        )
        self._pad = pad
        self._seq = 0
        self._done = False

    def header(self) -> bytes:
        """The stream header (version and the fresh response nonce); must be sent first."""
        return self._header

    def seal_chunk(self, data: bytes, *, final: bool) -> bytes:
        """Seal one chunk; returns its framed bytes (flags || length || ciphertext).

        Raises :class:`UsageError` after the final chunk, for ``data`` over
        ``limits.MAX_ENVELOPE_CHUNK``, or when the stream would exceed
        ``limits.MAX_ENVELOPE_CHUNKS`` chunks (the last allowed chunk must be final).
        """
        if self._done:
            raise UsageError("stream already finished")
        if len(data) > MAX_ENVELOPE_CHUNK:
            raise UsageError("chunk too large")
        seq = self._seq
        if seq >= MAX_ENVELOPE_CHUNKS - 1 and not final:
            raise UsageError("too many chunks in one stream")
        flags = FLAG_FINAL if final else FLAG_MORE
        padded = pad(data, capped_size(len(data), TOP_CHUNK_BUCKET, pad=self._pad))
        ciphertext = self._aead.seal(
            _chunk_nonce(self._base_nonce, seq), padded, _chunk_aad(self._header, seq, flags)
        )
        self._seq = seq + 1
        self._done = final
        return bytes([flags]) + len(ciphertext).to_bytes(4, "big") + ciphertext

    @property
    def finished(self) -> bool:
        """Whether the final chunk has been sealed."""
        return self._done

    def __repr__(self) -> str:
        return f"StreamSealer(chunks={self._seq}, finished={self._done})"


class StreamFramer:
    """Splits a response stream into its frames without opening them (no key needed): first the
    stream header, then each chunk with its 5-byte header. The gateway uses it to forward each
    of the node's chunks as one chunked-OHTTP chunk as soon as it is whole.

    It checks only the public framing (version, flags, bounded lengths, nothing after the final
    chunk); authenticity is the client's to check. Raises our :class:`DecodeError`,
    :class:`UnsupportedError` or :class:`TooLargeError`; after an error it is dead.
    """

    __slots__ = ("_buf", "_chunks", "_failed", "_finished", "_header_seen")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._failed = False
        self._header_seen = False
        self._finished = False
        self._chunks = 0

    @property
    def finished(self) -> bool:
        """Whether the chunk flagged final has been framed."""
        return self._finished

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; returns the frames they complete, in order."""
        if self._failed:
            raise UsageError("stream framer already failed")
        self._buf += data
        try:
            return self._frames()
        except PrivcloudError:
            self._failed = True
            self._buf.clear()
            raise

    def _frames(self) -> list[bytes]:
        out: list[bytes] = []
        buf = self._buf
        while buf:
            if self._finished:
                raise DecodeError("bytes after the final chunk")
            if not self._header_seen:
                if len(buf) < STREAM_HEADER_SIZE:
                    break
                if buf[0] != VERSION:
                    raise UnsupportedError("unsupported envelope stream version")
                size, self._header_seen = STREAM_HEADER_SIZE, True
            else:
                if len(buf) < CHUNK_HEADER_SIZE:
                    break
                if buf[0] not in (FLAG_MORE, FLAG_FINAL):
                    raise DecodeError("bad chunk flags")
                length = int.from_bytes(buf[1:CHUNK_HEADER_SIZE], "big")
                if length > MAX_ENVELOPE_CHUNK_CIPHERTEXT:
                    raise TooLargeError("chunk too large")
                size = CHUNK_HEADER_SIZE + length
                if len(buf) < size:
                    break
                self._chunks += 1
                if self._chunks > MAX_ENVELOPE_CHUNKS:
                    raise TooLargeError("too many chunks in one stream")
                self._finished = buf[0] == FLAG_FINAL
            out.append(bytes(buf[:size]))
            del buf[:size]
        return out

    def close(self) -> None:
        """Declare the end of the stream; :class:`TruncatedStreamError` before the final chunk."""
        if self._failed:
            raise UsageError("stream framer already failed")
        if not self._finished or self._buf:
            self._failed = True
            raise TruncatedStreamError("stream ended before its final chunk")


class StreamOpener:
    """Client side: opens one response stream incrementally. Get one from
    ``ClientSession.response_opener()``.

    Feed the bytes as they arrive, split anywhere. Each chunk returned by :meth:`feed` is
    authentic and in order, but the *response* is complete only once :meth:`close` returns:
    until then an attacker may still cut the stream short. After any error the opener is dead.
    """

    __slots__ = (
        "_aead",
        "_base_nonce",
        "_buf",
        "_failed",
        "_finished",
        "_header",
        "_max_ct",
        "_min_ct",
        "_pending",
        "_request_hash",
        "_response_secret",
        "_seq",
        "_suite",
    )

    def __init__(self, suite: Suite, response_secret: bytes, request_hash: bytes) -> None:
        self._suite = suite
        self._response_secret = response_secret
        self._request_hash = request_hash
        self._buf = bytearray()
        self._header = b""
        self._aead: Aead | None = None
        self._base_nonce = b""
        self._pending: tuple[int, int] | None = None
        self._seq = 0
        self._finished = False
        self._failed = False
        self._max_ct = max_chunk_ciphertext(suite)
        self._min_ct = FRAMING + suite.aead.tag_size

    @property
    def finished(self) -> bool:
        """Whether the authenticated final chunk has been opened."""
        return self._finished

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the stream; returns the plaintext chunks completed by them, in order.

        Raises :class:`UnsupportedError` (stream version), :class:`DecodeError` (bad flags,
        a chunk shorter than a tag, bytes after the final chunk), :class:`TooLargeError` (a chunk
        length over the bound, too many chunks) or :class:`CryptoError` (a forged, reordered,
        dropped or replayed chunk, or a stream for another request).
        """
        if self._failed:
            raise UsageError("stream opener already failed")
        if self._finished:
            if data:
                self._failed = True
                raise DecodeError("bytes after the final chunk")
            return []
        self._buf += data
        try:
            return self._drain()
        except PrivcloudError:
            self._failed = True
            self._buf.clear()
            raise

    def _drain(self) -> list[bytes]:
        buf = self._buf
        pos = 0
        out: list[bytes] = []
        while True:
            # 1. The stream header: version, then derive the keys from the response nonce.
            if self._aead is None:
                if len(buf) - pos < STREAM_HEADER_SIZE:
                    break
                if buf[pos] != VERSION:
                    raise UnsupportedError("unsupported envelope stream version")
                self._header = bytes(buf[pos : pos + STREAM_HEADER_SIZE])
                self._aead, self._base_nonce = _response_aead(
                    self._suite, self._response_secret, self._request_hash, self._header[1:]
                )
                pos += STREAM_HEADER_SIZE
            # 2. A chunk header: flags and a bounded length.
            if self._pending is None:
                if len(buf) - pos < CHUNK_HEADER_SIZE:
                    break
                flags = buf[pos]
                if flags not in (FLAG_MORE, FLAG_FINAL):
                    raise DecodeError("bad chunk flags")
                length = int.from_bytes(buf[pos + 1 : pos + CHUNK_HEADER_SIZE], "big")
                if length > self._max_ct:
                    raise TooLargeError("chunk too large")
                if length < self._min_ct:
                    raise DecodeError("chunk too short")
                if self._seq >= MAX_ENVELOPE_CHUNKS - 1 and flags != FLAG_FINAL:
                    raise TooLargeError("too many chunks in one stream")
                self._pending = (flags, length)
                pos += CHUNK_HEADER_SIZE
            # 3. The ciphertext, opened under this sequence number and flags.
            flags, length = self._pending
            if len(buf) - pos < length:
                break
            ciphertext = bytes(buf[pos : pos + length])
            pos += length
            padded = self._aead.open(
                _chunk_nonce(self._base_nonce, self._seq),
                ciphertext,
                _chunk_aad(self._header, self._seq, flags),
            )
            out.append(unpad(padded))
            self._seq += 1
            self._pending = None
            # 4. After the final chunk nothing may follow.
            if flags == FLAG_FINAL:
                self._finished = True
                if len(buf) > pos:
                    raise DecodeError("bytes after the final chunk")
                break
        del buf[:pos]
        return out

    def close(self) -> None:
        """Declare the end of the byte stream.

        Raises :class:`TruncatedStreamError` if the final chunk was not seen and
        :class:`DecodeError` if bytes follow it.
        """
        if self._failed:
            raise UsageError("stream opener already failed")
        if not self._finished:
            self._failed = True
            raise TruncatedStreamError("stream ended before its final chunk")
        if self._buf:
            self._failed = True
            raise DecodeError("bytes after the final chunk")

    def __repr__(self) -> str:
        return f"StreamOpener(chunks={self._seq}, finished={self._finished})"
