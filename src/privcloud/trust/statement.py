"""What every statement the operator logs for devices shares (key statements, ADR 0009;
directory statements, ADR 0033): the log entry is the statement's canonical JSON, the device
asks the log about its RFC 9162 leaf hash, and it holds from ``not_before`` (up to the clock
skew ahead) until ``not_after``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.transparency.merkle import leaf_hash

#: Statement times are unix seconds below this (2^62): the range of the format.
_MAX_TIME: Final = 2**62


class LoggedStatement(ABC):
    """A statement a device uses only once it is proven in the log."""

    not_before: int
    not_after: int

    @abstractmethod
    def encode(self) -> bytes:
        """The log entry: canonical JSON."""

    @property
    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash of the entry (what the log is asked about)."""
        return leaf_hash(self.encode())

    def valid_at(self, now: float) -> bool:
        """Whether the statement holds at ``now`` (``not_before`` up to the skew ahead)."""
        return self.not_before - limits.KEY_STATEMENT_SKEW_S <= now < self.not_after

    def _check_names(self, what: str, service: object) -> None:
        """The fields every statement has: ``service`` (1..255 printable ASCII) and the
        validity (integer unix seconds, not empty). Raises :class:`DecodeError` naming
        ``what``."""
        if not isinstance(service, str) or not 1 <= len(service) <= 255:
            raise DecodeError(f"{what} service must be 1..255 characters")
        if not service.isascii() or not service.isprintable():
            raise DecodeError(f"{what} service must be printable ASCII")
        for value in (self.not_before, self.not_after):
            if isinstance(value, bool) or not isinstance(value, int):
                raise DecodeError(f"{what} times are integers")
            if not 0 <= value < _MAX_TIME:
                raise DecodeError(f"{what} time out of range")
        if self.not_after <= self.not_before:
            raise DecodeError(f"{what} validity is empty")


__all__ = ["LoggedStatement"]
