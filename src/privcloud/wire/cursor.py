"""A bounded cursor over bytes, for the fixed-layout binary formats the verifiers parse (TDX
quotes, TPM structures, TCG event logs): every read past the end is a
:class:`~privcloud.errors.DecodeError` naming the format, never an ``IndexError``."""

from __future__ import annotations

from typing import Literal

from privcloud.errors import DecodeError


class ByteCursor:
    """Reads ``data`` front to back in ``order`` byte order; ``truncated`` is the message of
    the :class:`DecodeError` raised by any read past the end."""

    __slots__ = ("data", "order", "pos", "truncated")

    def __init__(self, data: bytes, *, order: Literal["little", "big"], truncated: str) -> None:
        self.data = data
        self.pos = 0
        self.order: Literal["little", "big"] = order
        self.truncated = truncated

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(self.truncated)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), self.order)

    def u32(self) -> int:
        return int.from_bytes(self.take(4), self.order)

    def u64(self) -> int:
        return int.from_bytes(self.take(8), self.order)

    def more(self) -> bool:
        """Whether any byte is left."""
        return self.pos < len(self.data)
