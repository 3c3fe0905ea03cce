"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs (SHA-256).

``MTH({}) = SHA-256()``, ``MTH({d}) = SHA-256(0x00 || d)`` and, for ``n > 1`` with ``k`` the
largest power of two smaller than ``n``, ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) ||
MTH(D[k:n]))``. This is the RFC 6962 tree that Certificate Transparency, the Go checksum
database and C2SP tlog checkpoints use.

Proof generation works on a :class:`TreeStore`: something that knows its size and the hash of
every *perfect* subtree (``2**level`` leaves starting at a multiple of ``2**level``) that is
complete. :class:`MerkleTree` is the in-memory store: it keeps one flat ``bytearray`` per level,
appends in amortised O(1) hashing, and answers any proof for any past size with O(log n) hashes.
A SQLite-backed store only has to implement the same three methods.

Every subtree that RFC 9162's ``PATH`` and ``SUBPROOF`` recurse into is either perfect or ends at
the tree size being proven (a left child is always perfect; a right child of a perfect subtree is
perfect; a right child of a subtree ending at ``n`` ends at ``n``). A subtree ending at ``n``
always starts on the boundary of one of the perfect subtrees that ``n``'s binary digits split
``[0, n)`` into, so its hash is a suffix fold of those. Hence the O(log n) bound.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, and raises
:class:`~privcloud.errors.VerificationError`; it never returns a bool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Protocol

from privcloud import limits
from privcloud.errors import UsageError, VerificationError

#: Size of every hash in the tree (SHA-256), in bytes.
HASH_SIZE: Final = 32

#: ``MTH({})``: the root of the empty tree, SHA-256 of the empty string.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf (RFC 9162 §2.1.1)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node (RFC 9162 §2.1.1)."""
    return _sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a tree given its leaf hashes, for any size including 0, in O(n) hashes.

    Pairs are hashed level by level, an unpaired last node moving up unchanged; for RFC 9162's
    "largest power of two smaller than n" split this gives the same tree.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = [_checked_hash(h) for h in leaf_hashes]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class TreeStore(Protocol):
    """Read side of an append-only log's hashes, enough to answer any proof.

    Hashes for a given position never change once they exist (the log is append-only), so a
    proof for an older size can be served from a store that has since grown.
    """

    def size(self) -> int:
        """Number of leaves."""
        ...

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf hashes ``start`` (inclusive) to ``end`` (exclusive)."""
        ...

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of ``2**level`` leaves starting at ``index * 2**level``.

        Level 0 is the leaf hashes. Raises :class:`UsageError` if that subtree is not complete.
        """
        ...


class MerkleTree:
    """An in-memory append-only Merkle tree that caches every complete perfect subtree.

    ``levels[l]`` holds, back to back, the 32-byte hashes of the ``size >> l`` complete
    subtrees of ``2**l`` leaves: about ``2 * 32 * size`` bytes in all (64 MiB at 1M leaves).
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Start a tree holding ``leaf_hashes`` (each 32 bytes)."""
        self._levels: list[bytearray] = [bytearray()]
        for h in leaf_hashes:
            self.append_leaf_hash(h)

    # --- writing -------------------------------------------------------------------------

    def append_leaf(self, data: bytes) -> int:
        """Append a leaf with contents ``data``; return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, h: bytes) -> int:
        """Append a leaf given its leaf hash; return its index.

        Amortised one node hash per append: each new leaf completes the perfect subtrees that
        its index's trailing one bits say it closes.
        """
        h = _checked_hash(h)
        levels = self._levels
        index = len(levels[0]) // HASH_SIZE
        if index >= limits.MAX_TLOG_TREE_SIZE:
            raise UsageError("tree is full")
        levels[0] += h
        count = index + 1
        level = 0
        node = h
        while count % 2 == 0:  # the new node closes a pair on this level
            left = bytes(levels[level][-2 * HASH_SIZE : -HASH_SIZE])
            node = node_hash(left, node)
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
            count //= 2
        return index

    # --- TreeStore -----------------------------------------------------------------------

    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Leaf hashes ``start`` (inclusive) to ``end`` (exclusive)."""
        if not 0 <= start <= end <= self.size():
            raise UsageError("leaf range outside the tree")
        raw = self._levels[0]
        return [bytes(raw[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i in range(start, end)]

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of ``2**level`` leaves starting at ``index * 2**level``."""
        if level < 0 or level >= len(self._levels) or index < 0:
            raise UsageError("no such complete subtree")
        raw = self._levels[level]
        off = index * HASH_SIZE
        if off + HASH_SIZE > len(raw):
            raise UsageError("no such complete subtree")
        return bytes(raw[off : off + HASH_SIZE])

    # --- conveniences --------------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        """``MTH`` of the first ``size`` leaves (default: all of them)."""
        return tree_root(self, self.size() if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 ``PATH(index, D[size])`` (default size: the whole tree)."""
        return inclusion_proof(self, index, self.size() if size is None else size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 ``PROOF(old_size, D[new_size])`` (default: the whole tree)."""
        return consistency_proof(self, old_size, self.size() if new_size is None else new_size)


# --- proof generation ------------------------------------------------------------------------


def _as_store(tree: TreeStore | Sequence[bytes]) -> TreeStore:
    if isinstance(tree, Sequence):
        return MerkleTree(tree)
    return tree


def perfect_subtrees(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, start)`` that the binary digits of ``size`` cut it into."""
    out: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start))
            start += 1 << level
    return out


def _range_hasher(store: TreeStore, size: int) -> Callable[[int, int], bytes]:
    """A function giving ``MTH(D[a:b])`` for every subtree that RFC 9162 proofs for ``size`` use.

    Perfect ranges come straight from the store; ranges ending at ``size`` are suffix folds of
    ``size``'s pieces, computed once here (at most 64 hashes).
    """
    if not 0 <= size <= store.size():
        raise UsageError("tree size beyond the tree")
    suffix: dict[int, bytes] = {}
    acc: bytes | None = None
    for level, start in reversed(perfect_subtrees(size)):
        h = store.perfect_subtree_hash(level, start >> level)
        acc = h if acc is None else node_hash(h, acc)
        suffix[start] = acc

    def range_hash(a: int, b: int) -> bytes:
        width = b - a
        if width > 0 and width & (width - 1) == 0 and a % width == 0:
            level = width.bit_length() - 1
            return store.perfect_subtree_hash(level, a >> level)
        h = suffix.get(a) if b == size else None
        if h is None:
            raise UsageError("range is not a subtree of this tree")
        return h

    return range_hash


def _largest_power_of_two_below(n: int) -> int:
    """``k``: the largest power of two with ``k < n`` (for ``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_root(tree: TreeStore | Sequence[bytes], size: int) -> bytes:
    """``MTH(D[size])`` of the first ``size`` leaves of ``tree``, in O(log n) hashes on a store."""
    store = _as_store(tree)
    range_hash = _range_hasher(store, size)
    return EMPTY_ROOT if size == 0 else range_hash(0, size)


def inclusion_proof(tree: TreeStore | Sequence[bytes], index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 ``PATH(index, D[size])``: sibling hashes from the leaf up to the root.

    ``tree`` is a :class:`TreeStore` (O(log n) hashes) or a plain sequence of leaf hashes (O(n)).
    Raises :class:`UsageError` unless ``0 <= index < size <= tree size``; a service checks a
    peer's request against the tree size first.
    """
    store = _as_store(tree)
    if not 0 <= index < size:
        raise UsageError("leaf index outside the tree size")
    range_hash = _range_hasher(store, size)
    path: list[bytes] = []
    start, width, m = 0, size, index
    # Walk PATH's recursion from the root down; each level adds the sibling subtree's hash.
    while width > 1:
        k = _largest_power_of_two_below(width)
        if m < k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(range_hash(start + k, start + width))
            width = k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(range_hash(start, start + k))
            start, width, m = start + k, width - k, m - k
    path.reverse()  # the recursion emits the deepest sibling first
    return path


def consistency_proof(
    tree: TreeStore | Sequence[bytes], old_size: int, new_size: int
) -> list[bytes]:
    """RFC 9162 §2.1.4.1 ``PROOF(old_size, D[new_size])``; empty when old is 0 or equals new.

    Raises :class:`UsageError` unless ``0 <= old_size <= new_size <= tree size``.
    """
    store = _as_store(tree)
    if not 0 <= old_size <= new_size:
        raise UsageError("old size must not exceed the new size")
    range_hash = _range_hasher(store, new_size)
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, width, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:start+width], whole), unrolled from the root down.
    while m != width:
        k = _largest_power_of_two_below(width)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.append(range_hash(start + k, start + width))
            width = k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            proof.append(range_hash(start, start + k))
            start, width, m, whole = start + k, width - k, m - k, False
    if not whole:  # m == n and b is false: the subtree itself is part of the proof
        proof.append(range_hash(start, start + width))
    proof.reverse()
    return proof


# --- verification ----------------------------------------------------------------------------


def _checked_hash(h: bytes) -> bytes:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise UsageError("a tree hash is 32 bytes")
    return h


def _check_peer_inputs(
    sizes: Sequence[int], hashes: Sequence[bytes], proof: Sequence[bytes]
) -> None:
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= limits.MAX_TLOG_TREE_SIZE:
            raise VerificationError("tree size or index out of range")
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise VerificationError("a tree hash is 32 bytes")
    if len(proof) > limits.MAX_TLOG_PROOF_HASHES:
        raise VerificationError("proof is too long")
    for p in proof:
        if not isinstance(p, bytes) or len(p) != HASH_SIZE:
            raise VerificationError("a proof hash is 32 bytes")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    RFC 9162 §2.1.3.2. Returns only if the proof verifies; otherwise raises
    :class:`VerificationError` (also for out-of-range sizes, a wrong hash length, or a proof
    longer than ``limits.MAX_TLOG_PROOF_HASHES``).
    """
    _check_peer_inputs((index, size), (leaf_hash, root), proof)
    # 1. Compare leaf_index against tree_size. If leaf_index is greater than or equal to
    #    tree_size, then fail the proof verification.
    if index >= size:
        raise VerificationError("leaf index outside the tree")
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, size - 1
    # 3. Set r to hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError("inclusion proof does not verify")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = _sha256(b"\x01" + p + r).digest()
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
            #     LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        # Otherwise:
        else:
            # i. Set r to HASH(0x01 || r || p).
            r = _sha256(b"\x01" + r + p).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the
    #    root_hash are equal, then the log has proven the inclusion of hash. Otherwise, fail.
    if sn != 0 or r != root:
        raise VerificationError("inclusion proof does not verify")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. The cases the RFC leaves out are decided
    strictly: equal sizes need equal roots and an empty proof; an old size of 0 needs the empty
    tree's root and an empty proof; a smaller new size never verifies. Raises
    :class:`VerificationError`.
    """
    _check_peer_inputs((old_size, new_size), (old_root, new_root), proof)
    if old_size > new_size:
        raise VerificationError("new tree is smaller than the old one")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise VerificationError("consistency proof does not verify")
        return
    if old_size == 0:
        if proof or old_root != EMPTY_ROOT:
            raise VerificationError("consistency proof does not verify")
        return
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not proof:
        raise VerificationError("consistency proof does not verify")
    path = list(proof)
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError("consistency proof does not verify")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).
            fr = _sha256(b"\x01" + c + fr).digest()
            # ii. Set sr to HASH(0x01 || c || sr).
            sr = _sha256(b"\x01" + c + sr).digest()
            # iii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
            #      LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        # Otherwise:
        else:
            # i. Set sr to HASH(0x01 || sr || c).
            sr = _sha256(b"\x01" + sr + c).digest()
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, that sr equals second_hash, and that sn is 0.
    if fr != old_root or sr != new_root or sn != 0:
        raise VerificationError("consistency proof does not verify")
