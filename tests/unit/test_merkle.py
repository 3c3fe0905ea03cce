"""RFC 9162 Merkle tree: reference vectors, known proofs, and properties of every proof.

Vectors used:

* ``../shared/vectors/merkle/reference_tree.json`` — the RFC 6962 reference tree of
  transparency-dev/merkle ``testonly/constants.go``: 8 leaf inputs, the root of every prefix
  size 0..8, and every complete node hash by level.
* ``KNOWN_INCLUSION`` / ``KNOWN_CONSISTENCY`` below — transcribed from transparency-dev/merkle
  ``proof/verify_test.go`` (``inclusionProofs``, ``consistencyProofs``; that file numbers leaves
  from 1, the index here is from 0). The same data is in certificate-transparency-go's tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import UsageError, VerificationError
from privcloud.transparency.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from vectors import shared_vector


def _ref() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(shared_vector("merkle", "reference_tree.json").read_text())
    return doc


def _ref_tree() -> tuple[list[bytes], list[bytes], MerkleTree]:
    doc = _ref()
    leaves = [bytes.fromhex(x) for x in doc["leaf_inputs"]]
    roots = [bytes.fromhex(x) for x in doc["root_hashes"]]
    tree = MerkleTree()
    for leaf in leaves:
        tree.append_leaf(leaf)
    return leaves, roots, tree


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# (index from 0, tree size, proof) — transparency-dev/merkle proof/verify_test.go inclusionProofs
KNOWN_INCLUSION: list[tuple[int, int, list[bytes]]] = [
    (0, 1, []),
    (
        0,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (old size, new size, proof) — transparency-dev/merkle proof/verify_test.go consistencyProofs
KNOWN_CONSISTENCY: list[tuple[int, int, list[bytes]]] = [
    (1, 1, []),
    (
        1,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- the reference tree --------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


def test_root_of_every_prefix_of_the_reference_tree() -> None:
    leaves, roots, tree = _ref_tree()
    assert len(roots) == 9
    hashes = [leaf_hash(x) for x in leaves]
    for n, want in enumerate(roots):
        assert tree.root(n) == want, n
        assert root_from_leaf_hashes(hashes[:n]) == want, n
        assert tree_root(hashes, n) == want, n


def test_cached_subtrees_equal_the_reference_node_hashes() -> None:
    _, _, tree = _ref_tree()
    for level, hexes in enumerate(_ref()["node_hashes_by_level"]):
        for index, want in enumerate(hexes):
            assert tree.perfect_subtree_hash(level, index).hex() == want
        with pytest.raises(UsageError):
            tree.perfect_subtree_hash(level, len(hexes))


@pytest.mark.parametrize(("index", "size", "proof"), KNOWN_INCLUSION)
def test_known_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    leaves, roots, tree = _ref_tree()
    assert tree.inclusion_proof(index, size) == proof
    assert inclusion_proof([leaf_hash(x) for x in leaves], index, size) == proof
    verify_inclusion(leaf_hash(leaves[index]), index, size, proof, roots[size])
    # The corruptions transparency-dev/merkle's verifierCheck tries, all refused.
    lh, root = leaf_hash(leaves[index]), roots[size]
    probes: list[tuple[bytes, int, int, Sequence[bytes], bytes]] = [
        (lh, index - 1, size, proof, root),
        (lh, index + 1, size, proof, root),
        (lh, index ^ 2, size, proof, root),
        (lh, index, size * 2, proof, root),
        (lh, index, size // 2, proof, root),
        (leaf_hash(b"WrongLeaf"), index, size, proof, root),
        (lh, index, size, proof, EMPTY_ROOT),
        (lh, index, size, proof, SOME_HASH),
        (lh, index, size, [*proof, root], root),
        (lh, index, size, [root, *proof], root),
        (lh, index, size, [*proof, b""], root),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((lh, index, size, bad, root))
    if proof:
        probes.append((lh, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append((lh, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    for p_leaf, p_index, p_size, p_proof, p_root in probes:
        if p_index < 0:
            continue
        with pytest.raises(VerificationError):
            verify_inclusion(p_leaf, p_index, p_size, p_proof, p_root)


@pytest.mark.parametrize(("old", "new", "proof"), KNOWN_CONSISTENCY)
def test_known_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    leaves, roots, tree = _ref_tree()
    assert tree.consistency_proof(old, new) == proof
    assert consistency_proof([leaf_hash(x) for x in leaves], old, new) == proof
    verify_consistency(old, new, roots[old], roots[new], proof)
    if not proof:
        return
    r1, r2 = roots[old], roots[new]
    probes: list[tuple[int, int, bytes, bytes, Sequence[bytes]]] = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, SOME_HASH, r2, proof),
        (old, new, r1, SOME_HASH, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((old, new, r1, r2, bad))
    for p_old, p_new, p_r1, p_r2, p_proof in probes:
        with pytest.raises(VerificationError):
            verify_consistency(p_old, p_new, p_r1, p_r2, p_proof)


def test_every_proof_of_every_reference_prefix_verifies() -> None:
    leaves, roots, tree = _ref_tree()
    for n in range(9):
        for i in range(n):
            verify_inclusion(leaf_hash(leaves[i]), i, n, tree.inclusion_proof(i, n), roots[n])
        for m in range(n + 1):
            verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))


# --- edge cases ------------------------------------------------------------------------------


def test_inclusion_edge_cases_are_refused() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)  # a one-leaf tree's root is its leaf hash
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1)]:
        with pytest.raises(VerificationError):
            verify_inclusion(h, index, size, [], h)
    with pytest.raises(VerificationError):
        verify_inclusion(b"", 0, 1, [], b"")  # wrong hash size
    with pytest.raises(VerificationError):
        verify_inclusion(h, -1, 1, [], h)
    with pytest.raises(VerificationError):
        verify_inclusion(h, 0, 2**63, [], h)
    with pytest.raises(VerificationError):
        verify_inclusion(h, 0, 2, [SOME_HASH] * (limits.MAX_TLOG_PROOF_HASHES + 1), h)


def test_consistency_edge_cases() -> None:
    r1, r2 = leaf_hash(b"1"), leaf_hash(b"2")
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, r2, [])
    verify_consistency(3, 3, r1, r1, [])
    refused: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (0, 0, r1, r2, []),  # equal sizes, different roots
        (1, 1, r1, r2, []),
        (0, 5, r1, r2, []),  # the empty tree has one root
        (1, 0, r1, r2, []),  # time travel to the past
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),  # an empty proof proves nothing
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),  # roots match but the proof is not empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 2, r1, r2, [SOME_HASH] * (limits.MAX_TLOG_PROOF_HASHES + 1)),
    ]
    for args in refused:
        with pytest.raises(VerificationError):
            verify_consistency(*args)


def test_proof_generation_rejects_impossible_requests() -> None:
    tree = MerkleTree(leaf_hash(bytes([i])) for i in range(5))
    for index, size in [(0, 0), (5, 5), (-1, 3), (0, 6)]:
        with pytest.raises(UsageError):
            tree.inclusion_proof(index, size)
    for old, new in [(3, 2), (-1, 2), (1, 6)]:
        with pytest.raises(UsageError):
            tree.consistency_proof(old, new)
    with pytest.raises(UsageError):
        tree.append_leaf_hash(b"short")


class _LeafOnlyStore:
    """A store that keeps only leaf hashes: what a minimal database-backed store might do."""

    def __init__(self, hashes: list[bytes]) -> None:
        self._hashes = hashes

    def size(self) -> int:
        return len(self._hashes)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return self._hashes[start:end]

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        start = index << level
        if start + (1 << level) > len(self._hashes):
            raise UsageError("no such complete subtree")
        return root_from_leaf_hashes(self._hashes[start : start + (1 << level)])


def test_another_tree_store_gives_the_same_proofs() -> None:
    hashes = [leaf_hash(b"%d" % i) for i in range(37)]
    tree, store = MerkleTree(hashes), _LeafOnlyStore(hashes)
    assert tree.leaf_hashes(3, 9) == hashes[3:9]
    for n in (1, 2, 13, 32, 37):
        assert tree_root(store, n) == tree.root(n)
        for i in range(0, n, 3):
            assert inclusion_proof(store, i, n) == tree.inclusion_proof(i, n)
        for m in range(0, n + 1, 2):
            assert consistency_proof(store, m, n) == tree.consistency_proof(m, n)


def test_larger_tree_spot_checks() -> None:
    tree = MerkleTree()
    for i in range(4099):
        tree.append_leaf(i.to_bytes(4, "big"))
    for n in (1, 1024, 1025, 4095, 4096, 4099):
        root = tree.root(n)
        assert root == root_from_leaf_hashes(tree.leaf_hashes(0, n))
        for i in {0, n // 3, n - 1}:
            proof = tree.inclusion_proof(i, n)
            assert len(proof) <= (n - 1).bit_length()
            verify_inclusion(leaf_hash(i.to_bytes(4, "big")), i, n, proof, root)
        for m in (1, n // 2, n):
            if m:
                verify_consistency(m, n, tree.root(m), root, tree.consistency_proof(m, n))


# --- properties ------------------------------------------------------------------------------

_TREES: dict[int, MerkleTree] = {}


def _tree(n: int) -> MerkleTree:
    if n not in _TREES:
        _TREES[n] = MerkleTree(leaf_hash(b"leaf %d" % i) for i in range(n))
    return _TREES[n]


def _path_shape(index: int, size: int) -> list[bool] | None:
    """For each proof hash from the leaf up: is the sibling on the left? (RFC 9162 PATH)."""
    if not 0 <= index < size:
        return None
    shape: list[bool] = []
    while size > 1:
        k = 1 << ((size - 1).bit_length() - 1)
        if index < k:
            shape.append(False)
            size = k
        else:
            shape.append(True)
            index, size = index - k, size - k
    return shape[::-1]


def _consistency_trace(old: int, new: int, length: int) -> list[str] | None:
    """The branches RFC 9162 §2.1.4.2 takes for these sizes and proof length; None if it fails."""
    if not 0 < old < new or length == 0:
        return None
    prepend = old & (old - 1) == 0
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    trace = ["prepend" if prepend else "no prepend"]
    for _ in range(length + prepend - 1):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            trace.append("left")
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            trace.append("right")
        fn, sn = fn >> 1, sn >> 1
    return trace if sn == 0 else None


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 300))
    return n, draw(st.integers(0, n - 1))


@st.composite
def _sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 300))
    return draw(st.integers(1, n)), n


@settings(max_examples=300, deadline=None)
@given(_tree_and_index(), st.integers(0, 2**16))
def test_every_inclusion_proof_verifies_and_every_bit_flip_fails(
    case: tuple[int, int], bit: int
) -> None:
    n, i = case
    tree = _tree(n)
    lh, root, proof = leaf_hash(b"leaf %d" % i), tree.root(), tree.inclusion_proof(i)
    assert len(proof) <= (n - 1).bit_length()
    verify_inclusion(lh, i, n, proof, root)
    mutations: list[tuple[bytes, int, int, list[bytes], bytes]] = [
        (_flip(lh, bit), i, n, proof, root),
        (lh, i, n, proof, _flip(root, bit)),
        (lh, i ^ (1 << (bit % 64)), n, proof, root),
    ]
    # A flipped size fails unless the path has the very same shape in both trees (e.g. leaf 0 of
    # 5 and of 7 leaves: three right-hand siblings each). RFC 9162 binds the size only through
    # the (size, root) pair, which a signed checkpoint authenticates.
    other_size = n ^ (1 << (bit % 64))
    if _path_shape(i, other_size) != _path_shape(i, n):
        mutations.append((lh, i, other_size, proof, root))
    if proof:
        j = bit % len(proof)
        mutations.append((lh, i, n, [*proof[:j], _flip(proof[j], bit // 7), *proof[j + 1 :]], root))
    for m_leaf, m_index, m_size, m_proof, m_root in mutations:
        with pytest.raises(VerificationError):
            verify_inclusion(m_leaf, m_index, m_size, m_proof, m_root)


@settings(max_examples=300, deadline=None)
@given(_sizes(), st.integers(0, 2**16))
def test_every_consistency_proof_verifies_and_every_bit_flip_fails(
    sizes: tuple[int, int], bit: int
) -> None:
    m, n = sizes
    tree = _tree(n)
    r1, r2, proof = tree.root(m), tree.root(n), tree.consistency_proof(m, n)
    assert len(proof) <= (n - 1).bit_length() + 1
    verify_consistency(m, n, r1, r2, proof)
    mutations: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (m, n, _flip(r1, bit), r2, proof),
        (m, n, r1, _flip(r2, bit), proof),
    ]
    if proof:
        j = bit % len(proof)
        mutations.append((m, n, r1, r2, [*proof[:j], _flip(proof[j], bit // 7), *proof[j + 1 :]]))
    # As for inclusion: a flipped size fails unless the verifier then does the very same hashing
    # (e.g. 1 -> 5 and 1 -> 7); the (size, root) pairs come from signed checkpoints.
    trace = _consistency_trace(m, n, len(proof))
    for other in ((m ^ (1 << (bit % 64)), n), (m, n ^ (1 << (bit % 64)))):
        if _consistency_trace(*other, len(proof)) != trace:
            mutations.append((*other, r1, r2, proof))
    for m_old, m_new, m_r1, m_r2, m_proof in mutations:
        with pytest.raises(VerificationError):
            verify_consistency(m_old, m_new, m_r1, m_r2, m_proof)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70))
def test_incremental_tree_matches_the_recursive_definition(leaves: list[bytes]) -> None:
    def mth(d: list[bytes]) -> bytes:  # RFC 9162 §2.1.1, literally
        if not d:
            return EMPTY_ROOT
        if len(d) == 1:
            return leaf_hash(d[0])
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return node_hash(mth(d[:k]), mth(d[k:]))

    tree = MerkleTree()
    for x in leaves:
        tree.append_leaf(x)
    for n in range(len(leaves) + 1):
        assert tree.root(n) == mth(leaves[:n])
