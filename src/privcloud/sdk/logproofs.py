"""Log proofs a client fetches: those admission needs for nodes whose bundles prove their
release against another checkpoint than the client's trusted one
(:func:`~privcloud.logclient.fetch_log_proofs`, which the gateway's own check of its nodes uses
too; fetched, never trusted: admission verifies them), and a client that follows a log from its
C2SP tlog-tiles alone (:func:`refresh_from_tiles`, :func:`verify_entry_from_tiles`)."""

from __future__ import annotations

from privcloud.errors import VerificationError
from privcloud.logclient import LogClient, fetch_log_proofs
from privcloud.transparency.checkpoint import open_checkpoint
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.transparency.merkle import consistency_proof, inclusion_proof
from privcloud.transparency.tiles import (
    check_tiles_root,
    tiles_for_consistency,
    tiles_for_inclusion,
)


async def refresh_from_tiles(log: LogClient, state: TrustedLogState, now: float) -> TrustedLogState:
    """Move ``state`` to the log's newest checkpoint reading only ``/checkpoint`` and tiles.

    1. Fetch ``/checkpoint`` and verify the log's signature and origin before fetching any tile
       (C2SP tlog-tiles: no partial tile for a size no verified checkpoint implies).
    2. If the tree grew from a non-empty trusted one, fetch the tiles of the new tree that its
       root and the consistency proof from the trusted size need; they must give the
       checkpoint's root (:class:`VerificationError`). Otherwise no proof is needed.
    3. :meth:`TrustedLogState.update` with the proof computed from them: rollback
       (:class:`RollbackError`), fork (:class:`ForkError`), cosignatures
       (:class:`MissingCosignatureError`), consistency (:class:`VerificationError`).
    """
    # 1.
    note = await log.tiles_checkpoint()
    new = open_checkpoint(note, [state.log_key], origin=state.origin)
    old = state.checkpoint.size
    # 2.
    proof: list[bytes] = []
    if 0 < old < new.size:
        tiles = await log.tile_hashes(new.size, tiles_for_consistency(old, new.size))
        try:
            check_tiles_root(new, tiles)
        except VerificationError:
            log.forget_tiles()
            raise
        proof = consistency_proof(tiles, old, new.size)
    # 3.
    try:
        return state.update(note, proof, now)
    except VerificationError:
        log.forget_tiles()
        raise


async def verify_entry_from_tiles(
    log: LogClient, state: TrustedLogState, entry: bytes, index: int
) -> None:
    """Check that ``entry`` is entry ``index`` of the trusted checkpoint, from tiles alone.

    Fetches the tiles of the inclusion proof at the trusted size, checks they give the trusted
    root, computes the RFC 9162 proof from them and verifies it. Raises
    :class:`VerificationError` (a wrong tile, another entry), :class:`UsageError` for an index
    outside the trusted tree.
    """
    checkpoint = state.checkpoint
    tiles = await log.tile_hashes(checkpoint.size, tiles_for_inclusion(index, checkpoint.size))
    try:
        check_tiles_root(checkpoint, tiles)
        proof = inclusion_proof(tiles, index, checkpoint.size)
        verify_inclusion_against(state, entry, index, proof)
    except VerificationError:
        log.forget_tiles()  # a wrong tile must not stay cached
        raise


__all__ = ["fetch_log_proofs", "refresh_from_tiles", "verify_entry_from_tiles"]
