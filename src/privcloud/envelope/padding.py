"""Padding of envelope plaintexts to size buckets (docs/envelope.md §5).

Every plaintext the envelope encrypts (the request, and each response chunk) is framed and padded
before encryption::

    padded = length (u32, big-endian) || data || zero bytes

The padded size is a *bucket* chosen from the framed size ``n = 4 + len(data)``:

* ``n <= 256``: 256 bytes;
* ``n > 256``: the next power of two ``>= n`` (512, 1024, ..., 1 MiB, ...), up to the
  largest size the caller allows (the top bucket: :func:`capped_size`).

Above 64 KiB buckets were 64 KiB wide, a bucket of hundreds: a body a device sends again (a
search's item set, a photo edited again) or an answer sent back (an edited photo) marked each
request of its user, and a rule for some features only marked the feature (red-team reviews,
2026-12-07). Powers of two all the way cost up to twice the bytes of a large upload (1.44
times on average over sizes spread evenly on a log scale) and leave 9 buckets between 64 KiB
and the largest request.

An observer (the relay, the gateway) learns the bucket, never the exact length within it.
Unpadded framing (``pad=False``) is the same format with no zero bytes; the opener accepts any
amount of zero padding, so the bucket rule is a sender policy, not a wire rule.

Pure functions over bytes; no crypto, no IO.
"""

from __future__ import annotations

from typing import Final

from privcloud.errors import DecodeError, UsageError

#: Bytes of the length prefix in front of the data.
FRAMING: Final = 4
#: Smallest bucket.
MIN_BUCKET: Final = 256

_MAX_LENGTH: Final = (1 << 32) - 1


def padded_size(data_len: int, *, pad: bool = True) -> int:
    """Size of the padded plaintext for ``data_len`` bytes of data (the bucket rule above,
    uncapped).

    With ``pad=False`` the result is only the framed size ``4 + data_len``. Raises
    :class:`UsageError` for a negative length or one the u32 prefix cannot carry.
    """
    if data_len < 0 or data_len > _MAX_LENGTH - FRAMING:
        raise UsageError("plaintext length out of range")
    need = FRAMING + data_len
    if not pad:
        return need
    if need <= MIN_BUCKET:
        return MIN_BUCKET
    return 1 << (need - 1).bit_length()


def capped_size(data_len: int, top: int, *, pad: bool = True) -> int:
    """:func:`padded_size`, but at most ``top`` (the top bucket: the largest padded size the
    caller's message may take). Raises :class:`UsageError` when even the framed data exceeds
    ``top``."""
    need = padded_size(data_len, pad=False)
    if need > top:
        raise UsageError("data too large for its top bucket")
    return min(padded_size(data_len, pad=pad), top)


def pad(data: bytes, size: int) -> bytes:
    """Frame ``data`` and pad it with zeros to exactly ``size`` bytes.

    ``size`` is normally :func:`padded_size`; raises :class:`UsageError` if it is too small.
    """
    need = FRAMING + len(data)
    if len(data) > _MAX_LENGTH - FRAMING or size < need:
        raise UsageError("padded size too small for the data")
    return len(data).to_bytes(FRAMING, "big") + data + bytes(size - need)


def unpad(padded: bytes) -> bytes:
    """Recover the data from a padded plaintext.

    Raises :class:`DecodeError` if the prefix is missing, the length overruns, or any padding
    byte is not zero (strict: there is exactly one encoding of each data within a size).
    """
    if len(padded) < FRAMING:
        raise DecodeError("padded plaintext too short")
    length = int.from_bytes(padded[:FRAMING], "big")
    end = FRAMING + length
    if end > len(padded):
        raise DecodeError("padded plaintext length overruns")
    tail = padded[end:]
    if tail.count(0) != len(tail):
        raise DecodeError("nonzero padding")
    return padded[FRAMING:end]
