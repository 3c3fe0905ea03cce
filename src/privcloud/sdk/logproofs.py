"""The log proofs admission needs for nodes whose bundles prove their release against another
checkpoint than the client's trusted one (fetched, never trusted: admission verifies them)."""

from __future__ import annotations

from privcloud.errors import PrivcloudError
from privcloud.logclient import LogClient, checkpoint_size
from privcloud.transparency.client_state import TrustedLogState
from privcloud.trust.admission import LogProofs
from privcloud.trust.directory import NodeDescriptor


async def fetch_log_proofs(
    log: LogClient, state: TrustedLogState, nodes: list[NodeDescriptor]
) -> dict[str, LogProofs]:
    """For each node whose bundle proves its release against another checkpoint than the
    trusted one, fetch from the log the inclusion proof at the trusted size (or, for a newer
    checkpoint, the consistency proof to it). Nothing fetched is trusted: admission verifies it.
    A node whose proofs cannot be fetched gets none, and admission refuses it."""
    trusted = state.checkpoint.size
    inclusion: dict[int, tuple[bytes, ...]] = {}
    out: dict[str, LogProofs] = {}
    for node in nodes:
        bundle = node.bundle
        if bundle is None:
            continue
        try:
            size = checkpoint_size(bundle.checkpoint)
            if size > trusted:
                proof = await log.consistency_proof(trusted, size) if trusted else []
                out[node.node_id] = LogProofs(consistency=tuple(proof))
            elif size < trusted and bundle.log_index < trusted:
                if bundle.log_index not in inclusion:
                    hashes = await log.inclusion_proof(bundle.log_index, trusted)
                    inclusion[bundle.log_index] = tuple(hashes)
                out[node.node_id] = LogProofs(inclusion=inclusion[bundle.log_index])
        except PrivcloudError:
            continue
    return out


__all__ = ["fetch_log_proofs"]
