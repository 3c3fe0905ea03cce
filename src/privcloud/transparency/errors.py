"""Refusals specific to the transparency log, each named after the attack it stops. They are
defined with every other error in :mod:`privcloud.errors` and named here for the log's callers.

All derive from :class:`privcloud.errors.VerificationError` (HTTP 403), so code that handles
"evidence from a peer does not verify" handles these too.
"""

from __future__ import annotations

from privcloud.errors import ForkError, MissingCosignatureError, RollbackError

__all__ = ["ForkError", "MissingCosignatureError", "RollbackError"]
