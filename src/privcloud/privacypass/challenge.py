"""The TokenChallenge structure of RFC 9577 §2.1 and its digest.

::

    struct {
        uint16_t token_type;
        opaque issuer_name<1..2^16-1>;
        opaque redemption_context<0..32>;   -- 0 or 32 bytes
        opaque origin_info<0..2^16-1>;
    } TokenChallenge;
"""

from __future__ import annotations

from dataclasses import dataclass

from privcloud.crypto.symmetric import sha256
from privcloud.errors import DecodeError, UsageError

#: Size of a non-empty redemption context (RFC 9577 §2.1).
REDEMPTION_CONTEXT_SIZE = 32
_U16_MAX = 0xFFFF


@dataclass(frozen=True, slots=True)
class TokenChallenge:
    """A token challenge as an origin sends it (RFC 9577 §2.1); valid by construction.

    ``origin_info`` is empty (any origin) or one or more names joined by ``,``.
    Construction raises :class:`UsageError` for values that cannot be encoded.
    """

    token_type: int
    issuer_name: bytes
    redemption_context: bytes = b""
    origin_info: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.token_type <= _U16_MAX:
            raise UsageError("token type out of range")
        if not 1 <= len(self.issuer_name) <= _U16_MAX:
            raise UsageError("issuer name must be 1..65535 bytes")
        if len(self.redemption_context) not in (0, REDEMPTION_CONTEXT_SIZE):
            raise UsageError("redemption context must be 0 or 32 bytes")
        if len(self.origin_info) > _U16_MAX:
            raise UsageError("origin info too long")

    def encode(self) -> bytes:
        """The wire bytes (the input of :func:`challenge_digest`)."""
        return b"".join(
            (
                self.token_type.to_bytes(2, "big"),
                len(self.issuer_name).to_bytes(2, "big"),
                self.issuer_name,
                len(self.redemption_context).to_bytes(1, "big"),
                self.redemption_context,
                len(self.origin_info).to_bytes(2, "big"),
                self.origin_info,
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> TokenChallenge:
        """Parse exactly one TokenChallenge; raises :class:`DecodeError` on any malformation.

        Any token type parses; callers that implement one check it.
        """
        data = bytes(data)
        reader = _Reader(data)
        token_type = reader.u16()
        issuer_name = reader.opaque(2)
        redemption_context = reader.opaque(1)
        origin_info = reader.opaque(2)
        if reader.offset != len(data):
            raise DecodeError("trailing bytes after token challenge")
        if not issuer_name:
            raise DecodeError("empty issuer name")
        if len(redemption_context) not in (0, REDEMPTION_CONTEXT_SIZE):
            raise DecodeError("redemption context must be 0 or 32 bytes")
        return cls(token_type, issuer_name, redemption_context, origin_info)

    def origin_names(self) -> tuple[bytes, ...]:
        """The origin names of ``origin_info`` (empty when the challenge is for any origin)."""
        return tuple(self.origin_info.split(b",")) if self.origin_info else ()


def challenge_digest(challenge_bytes: bytes) -> bytes:
    """SHA-256 of the challenge exactly as sent (RFC 9577 §2.2, ``challenge_digest``)."""
    return sha256(bytes(challenge_bytes))


class _Reader:
    """Bounds-checked big-endian reader; raises :class:`DecodeError` when input runs out."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int) -> bytes:
        end = self.offset + count
        if end > len(self.data):
            raise DecodeError("truncated input")
        out = self.data[self.offset : end]
        self.offset = end
        return out

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def opaque(self, length_bytes: int) -> bytes:
        return self.take(int.from_bytes(self.take(length_bytes), "big"))
