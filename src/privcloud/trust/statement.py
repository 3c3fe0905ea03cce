"""What every statement the operator logs for devices shares (key statements, ADR 0009;
directory statements, ADR 0033): the log entry is the statement's canonical JSON, the device
asks the log about its RFC 9162 leaf hash, and it holds from ``not_before`` (up to the clock
skew ahead) until ``not_after``."""

from __future__ import annotations

from abc import ABC, abstractmethod

from privcloud import limits
from privcloud.transparency.merkle import leaf_hash


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


__all__ = ["LoggedStatement"]
