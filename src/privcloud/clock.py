"""Time as an argument: protocol cores take a :class:`Clock` (or a plain ``now``) instead of
reading the system time themselves."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """A source of the current time in Unix seconds."""

    def now(self) -> float:
        """Return the current time as Unix seconds."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()


@dataclass
class FixedClock:
    """A clock that stands still until moved; for tests and for verifying old evidence."""

    at: float

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds
