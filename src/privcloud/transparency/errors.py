"""Refusals specific to the transparency log, each named after the attack it stops.

All derive from :class:`privcloud.errors.VerificationError` (HTTP 403), so code that handles
"evidence from a peer does not verify" handles these too.
"""

from __future__ import annotations

from privcloud.errors import VerificationError


class RollbackError(VerificationError):
    """A checkpoint is smaller than the one already trusted: the log was rolled back."""

    code = "rollback"


class ForkError(VerificationError):
    """Two validly signed checkpoints of one size have different roots: a split view."""

    code = "fork"


class MissingCosignatureError(VerificationError):
    """Fewer than the required number of witnesses cosigned a checkpoint recently enough."""

    code = "missing_cosignature"
