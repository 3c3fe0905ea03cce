"""The log audit's decisions, sans-IO (docs/transparency.md §6, ``privcloud log audit``).

The audit command (:mod:`privcloud.cli.tlog_audit`) fetches; this module decides. Its steps:

1. The checkpoint verifies: log signature, witness cosignatures, consistency with the last
   audited checkpoint (:class:`~privcloud.transparency.client_state.TrustedLogState`).
2. Every entry, re-hashed (RFC 9162 leaf hashes), gives the checkpoint's root
   (:func:`check_entries`); when it does not, :class:`FirstBadLeaf` walks the log's own
   inclusion proofs down the tree to name the first entry that does not match.
   (2b. Key statements: no service had more keys valid at once than rotation needs,
   :func:`privcloud.trust.keys.most_valid_at_once`.)
3. The log's inclusion proofs verify for a spread of leaves (:func:`proof_sample`).
4. The log's newest checkpoint is consistent with the audited one.
5. The audited checkpoint is saved for the next audit.
"""

from __future__ import annotations

from collections.abc import Sequence

from privcloud.errors import UsageError, VerificationError
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import root_from_leaf_hashes


def check_entries(leaf_hashes: Sequence[bytes], checkpoint: Checkpoint) -> None:
    """Step 2: the leaf hashes of every entry the log served give the checkpoint's tree.

    Raises :class:`VerificationError` for another count or another root.
    """
    if len(leaf_hashes) != checkpoint.size:
        raise VerificationError("the log served another number of entries than its size")
    if root_from_leaf_hashes(leaf_hashes) != checkpoint.root_hash:
        raise VerificationError("log entries do not match the checkpoint root")


class FirstBadLeaf:
    """Finds the first entry whose leaf hash does not match the log's tree (step 2).

    RFC 9162's tree is walked from the root: the inclusion proofs of the first leaf of each
    half hold, counted from the root end, the hash of the other half, which is compared with
    the hash of the entries the log served. O(log n) proofs. Drive it as::

        search = FirstBadLeaf(leaf_hashes, size)
        while (wanted := search.wanted()) is not None:
            search.feed(*[await log.inclusion_proof(i, size) for i in wanted])
        bad = search.index
    """

    def __init__(self, leaf_hashes: Sequence[bytes], size: int) -> None:
        if len(leaf_hashes) != size or size == 0:
            raise UsageError("a search needs the leaf hash of every entry of a non-empty tree")
        self._ours = leaf_hashes
        self._lo, self._hi, self._depth = 0, size, 0
        self._done = size == 1

    @property
    def _mid(self) -> int:
        return self._lo + (1 << ((self._hi - self._lo - 1).bit_length() - 1))

    def wanted(self) -> tuple[int, int] | None:
        """The two leaves whose inclusion proofs (at the searched size) come next, or ``None``
        once :attr:`index` is known: the first leaf of the left half, then of the right."""
        return None if self._done else (self._lo, self._mid)

    def feed(self, left_first: Sequence[bytes], right_first: Sequence[bytes]) -> None:
        """The log's inclusion proofs of the two leaves :meth:`wanted` named.

        Raises :class:`VerificationError` if a proof is too short to hold the half's hash.
        """
        if self._done:
            raise UsageError("the search is over")
        lo, mid, hi, depth = self._lo, self._mid, self._hi, self._depth
        if min(len(left_first), len(right_first)) <= depth:
            raise VerificationError("the log served a malformed inclusion proof")
        theirs_right = left_first[len(left_first) - 1 - depth]  # MTH(D[mid:hi])
        theirs_left = right_first[len(right_first) - 1 - depth]  # MTH(D[lo:mid])
        if root_from_leaf_hashes(self._ours[lo:mid]) != theirs_left:
            self._hi = mid
        elif root_from_leaf_hashes(self._ours[mid:hi]) != theirs_right:
            self._lo = mid
        else:  # both halves match the log's proofs, yet the root did not: stop at this subtree
            self._done = True
            return
        self._depth += 1
        self._done = self._hi - self._lo <= 1

    @property
    def index(self) -> int:
        """The first entry that does not match (once :meth:`wanted` is ``None``)."""
        if not self._done:
            raise UsageError("the search is not over")
        return self._lo


def proof_sample(size: int, count: int) -> list[int]:
    """Step 3: the leaves whose inclusion proofs the audit checks: all of them when there are
    at most ``count``, else ``count`` spread evenly from the first to the last."""
    if size <= 0 or count <= 0:
        return []
    if size <= count:
        return list(range(size))
    if count == 1:
        return [size - 1]
    return sorted({(size - 1) * i // (count - 1) for i in range(count)})


__all__ = ["FirstBadLeaf", "check_entries", "proof_sample"]
