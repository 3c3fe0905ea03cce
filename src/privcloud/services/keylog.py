"""The operator's side of key consistency: append key statements (and the gateway's directory
statements, docs/adr/0033) to the transparency log and wait until a cosigned checkpoint covers
them (docs/adr/0009-key-consistency.md).

A key is *logged before use*: devices refuse a key whose statement is not in the checkpoint they
trust, so an operator publishes a new key's statement, waits for the witnesses to cosign a
checkpoint that covers it, and only then relies on devices using it (the gateway keeps accepting
the old key meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.logclient import LogClient
from privcloud.trust.statement import LoggedStatement

log = logging.getLogger("privcloud.keylog")


@dataclass
class KeyLog:
    """Publishes key statements to the log at ``log_url`` with the operator's append key."""

    log_url: str
    operator_key: Ed25519PrivateKey = field(repr=False)
    #: Witness cosignatures a covering checkpoint must carry before :meth:`publish` returns.
    min_cosignatures: int = 0
    _published: set[bytes] = field(default_factory=set, repr=False)

    async def publish(
        self, statements: Sequence[LoggedStatement], *, timeout: float = 30.0
    ) -> None:
        """Append each statement not yet published by this object (appends are idempotent at
        the log anyway) and wait for a checkpoint covering all of them.

        Raises the log's errors (:class:`~privcloud.errors.AuthenticationError` for an unknown
        operator key, :class:`~privcloud.errors.UnavailableError` when no covering checkpoint
        appears within ``timeout`` seconds).
        """
        new = [s for s in statements if s.leaf_hash not in self._published]
        if not new:
            return
        async with LogClient(self.log_url) as client:
            last = -1
            for statement in new:
                result = await client.append(statement.encode(), self.operator_key)
                last = max(last, result.index)
            await client.wait_for_checkpoint(
                last + 1, min_cosignatures=self.min_cosignatures, timeout=timeout
            )
        self._published.update(s.leaf_hash for s in new)
        log.info("key statements logged: %d", len(new))


__all__ = ["KeyLog"]
