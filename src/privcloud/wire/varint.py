"""Variable-length integers of QUIC (RFC 9000 §16), as used by Binary HTTP (RFC 9292 §3) and
chunked Oblivious HTTP."""

from __future__ import annotations

from privcloud.errors import DecodeError, UsageError

#: Largest value a variable-length integer can carry (2^62 - 1).
MAX_VARINT = (1 << 62) - 1


def encode(value: int) -> bytes:
    """Encode ``value`` in the shortest form; raises :class:`UsageError` if out of range."""
    if value < 0 or value > MAX_VARINT:
        raise UsageError("varint out of range")
    if value < 1 << 6:
        return value.to_bytes(1, "big")
    if value < 1 << 14:
        return (value | 0x4000).to_bytes(2, "big")
    if value < 1 << 30:
        return (value | 0x8000_0000).to_bytes(4, "big")
    return (value | 0xC000_0000_0000_0000).to_bytes(8, "big")


def decode(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode one varint at ``offset``; returns ``(value, offset_after)``.

    Raises :class:`DecodeError` when the input ends inside the integer. Non-shortest encodings
    are accepted, as RFC 9000 §16 allows.
    """
    if offset >= len(data):
        raise DecodeError("truncated varint")
    first = data[offset]
    length = 1 << (first >> 6)
    end = offset + length
    if end > len(data):
        raise DecodeError("truncated varint")
    value = first & 0x3F
    for i in range(offset + 1, end):
        value = (value << 8) | data[i]
    return value, end


def peek_length(first_byte: int) -> int:
    """Number of bytes of a varint whose first byte is ``first_byte``."""
    return 1 << (first_byte >> 6)
