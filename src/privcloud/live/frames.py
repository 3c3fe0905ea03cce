"""Sealed fixed-size frames of a live session, one direction each (docs/adr/0023-live-sessions.md).

Every frame on the wire is exactly :func:`wire_size` bytes: the AEAD ciphertext of a
``limits.LIVE_FRAME_PLAINTEXT``-byte plaintext, nothing in the clear::

    plaintext = type (u8) || length (u16) || content (length bytes) || zeros
    frame_i   = AEAD.Seal(key, base_nonce XOR I2OSP(i, Nn), plaintext_i, aad = "")

``key`` and ``base_nonce`` are the direction's, exported from the session's HPKE context
(:mod:`privcloud.live.session`); ``i`` counts the direction's frames from 0 and is never sent.
So a dropped, reordered, replayed or cross-direction frame is opened under the wrong sequence
number or key and fails (:class:`CryptoError`); the type, the length and the padding are
inside the encryption, so the relay and the gateway see only equal-sized blobs.

Order of types, checked by :class:`FrameOpener`: the node's first frame is ``ACCEPT`` and no
other frame is; then ``DATA`` frames; the last frame of a direction is ``FINAL``. A byte stream
that ends before ``FINAL`` is truncated (:meth:`FrameOpener.close`), and nothing may follow it.
Sans-IO: bytes in, bytes out.
"""

from __future__ import annotations

import enum
from typing import Final

from privcloud import limits
from privcloud.crypto.hpke import Suite
from privcloud.crypto.symmetric import Aead, xor_bytes
from privcloud.errors import DecodeError, TruncatedStreamError, UsageError

#: Bytes in front of a frame's content: its type and the content length.
FRAME_HEADER_SIZE: Final = 3
#: Most content bytes one frame carries.
FRAME_CAPACITY: Final = limits.LIVE_FRAME_PLAINTEXT - FRAME_HEADER_SIZE
#: A direction carries fewer frames than this (a u32 counter; ~5.5 years at 25 frames/s).
_SEQ_LIMIT: Final = 1 << 32


class FrameType(enum.IntEnum):
    """What a frame's content is (inside the encryption)."""

    ACCEPT = 1  #: the node's first frame: it opened the hello (key confirmation, parameters)
    DATA = 2  #: audio (device) or output records (node); may be empty (padding only)
    FINAL = 3  #: the last frame of a direction


def wire_size(suite: Suite) -> int:
    """Bytes of every frame of a session in ``suite``: plaintext plus the AEAD tag."""
    return limits.LIVE_FRAME_PLAINTEXT + suite.aead.tag_size


def _nonce(base_nonce: bytes, seq: int) -> bytes:
    return xor_bytes(base_nonce, seq.to_bytes(len(base_nonce), "big"))


class FrameSealer:
    """Seals one direction's frames in order. Built by :mod:`privcloud.live.session`."""

    __slots__ = ("_aead", "_base_nonce", "_finished", "_seq")

    def __init__(self, aead: Aead, base_nonce: bytes) -> None:
        self._aead = aead
        self._base_nonce = base_nonce
        self._seq = 0
        self._finished = False

    @property
    def sent(self) -> int:
        """Frames sealed so far."""
        return self._seq

    @property
    def finished(self) -> bool:
        """Whether the FINAL frame was sealed."""
        return self._finished

    def seal(self, kind: FrameType, content: bytes = b"") -> bytes:
        """One frame of ``kind`` carrying ``content`` (at most :data:`FRAME_CAPACITY` bytes),
        zero-padded to the fixed size. Raises :class:`UsageError` after FINAL, for oversize
        content, or past the counter's range."""
        if self._finished:
            raise UsageError("the direction already ended")
        if len(content) > FRAME_CAPACITY:
            raise UsageError("frame content too large")
        if self._seq >= _SEQ_LIMIT:
            raise UsageError("too many frames in one direction")
        plaintext = bytes([kind]) + len(content).to_bytes(2, "big") + content
        plaintext += bytes(limits.LIVE_FRAME_PLAINTEXT - len(plaintext))
        frame = self._aead.seal(_nonce(self._base_nonce, self._seq), plaintext)
        self._seq += 1
        self._finished = kind == FrameType.FINAL
        return frame

    def __repr__(self) -> str:
        return f"FrameSealer(sent={self._seq}, finished={self._finished})"


class FrameOpener:
    """Opens one direction's frames in order; ``expect_accept`` for the node's direction.

    Each call of :meth:`open` takes exactly one wire frame (the tunnel keeps message
    boundaries). After any error the opener is dead: a session never skips a frame.
    """

    __slots__ = ("_aead", "_base_nonce", "_expect_accept", "_failed", "_finished", "_seq", "_size")

    def __init__(self, aead: Aead, base_nonce: bytes, wire: int, *, expect_accept: bool) -> None:
        self._aead = aead
        self._base_nonce = base_nonce
        self._size = wire
        self._expect_accept = expect_accept
        self._seq = 0
        self._finished = False
        self._failed = False

    @property
    def received(self) -> int:
        """Frames opened so far."""
        return self._seq

    @property
    def finished(self) -> bool:
        """Whether the authenticated FINAL frame was opened."""
        return self._finished

    def open(self, frame: bytes) -> tuple[FrameType, bytes]:
        """Open the next frame; returns its type and content.

        Raises :class:`DecodeError` for a frame of another size, a bad type or length, nonzero
        padding, a frame out of the type order or after FINAL, and :class:`CryptoError` for a
        forged, reordered, dropped or replayed frame.
        """
        if self._failed:
            raise UsageError("frame opener already failed")
        self._failed = True  # until this frame is through
        if self._finished:
            raise DecodeError("frame after the final frame")
        if len(frame) != self._size:
            raise DecodeError("live frame of the wrong size")
        if self._seq >= _SEQ_LIMIT:
            raise DecodeError("too many frames in one direction")
        plaintext = self._aead.open(_nonce(self._base_nonce, self._seq), bytes(frame))
        try:
            kind = FrameType(plaintext[0])
        except ValueError as exc:
            raise DecodeError("unknown live frame type") from exc
        length = int.from_bytes(plaintext[1:FRAME_HEADER_SIZE], "big")
        if length > FRAME_CAPACITY:
            raise DecodeError("live frame length out of range")
        end = FRAME_HEADER_SIZE + length
        if any(plaintext[end:]):
            raise DecodeError("live frame padding is not zero")
        first = self._seq == 0
        if self._expect_accept and first != (kind == FrameType.ACCEPT):
            raise DecodeError("the node's first frame, and only it, is an accept")
        if not self._expect_accept and kind == FrameType.ACCEPT:
            raise DecodeError("an accept frame from the device")
        self._seq += 1
        self._finished = kind == FrameType.FINAL
        self._failed = False
        return kind, plaintext[FRAME_HEADER_SIZE:end]

    def close(self) -> None:
        """Declare the end of the direction: :class:`TruncatedStreamError` before FINAL."""
        if not self._finished:
            self._failed = True
            raise TruncatedStreamError("live session ended before its final frame")

    def __repr__(self) -> str:
        return f"FrameOpener(received={self._seq}, finished={self._finished})"


__all__ = [
    "FRAME_CAPACITY",
    "FRAME_HEADER_SIZE",
    "FrameOpener",
    "FrameSealer",
    "FrameType",
    "wire_size",
]
