"""C2SP tlog-tiles (privcloud.transparency.tiles): paths, encodings and proofs from tiles.

Vectors and where they come from:

* C2SP tlog-tiles.md (github.com/C2SP/C2SP, tlog-tiles.md, section "Merkle Tree"): index
  1234067 is encoded ``x001/x234/067``; full tiles are 256 hashes, 8,192 bytes.
* Same file, section "Partial Tiles": a tree of 70,000 leaves is 273 full level-0 tiles, a
  112-wide partial level-0 tile, one full level-1 tile, a 17-wide partial level-1 tile and a
  1-wide partial level-2 tile; a tree of 256 leaves is a full level-0 tile and a 1-wide
  partial level-1 tile.
* Same file, section "Log entries": bundles are big-endian uint16 length-prefixed entries.
* transparency-dev/tessera api/layout/paths.go (doc comment of ParseTileLevelIndexPartial):
  ``tile/0/x001/x234/067.p/8`` is level 0, index 1234067, width 8.

The proofs computed from tiles are checked against :mod:`privcloud.transparency.merkle`
(RFC 9162, itself tested against the RFC's and Go's vectors in test_merkle.py) for every
inclusion and consistency proof of many tree sizes.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError, VerificationError
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import (
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from privcloud.transparency.tiles import (
    FULL_TILE_BYTES,
    TileHashes,
    TileId,
    bundles_for_range,
    check_tiles_root,
    decode_bundle,
    decode_tile,
    encode_bundle,
    encode_index,
    parse_path,
    read_bundle,
    read_tile,
    tiles_for_consistency,
    tiles_for_inclusion,
    tiles_for_root,
    tiles_for_size,
)


def _tree(size: int) -> MerkleTree:
    return MerkleTree(hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size))


class _Entries:
    def __init__(self, entries: list[bytes]) -> None:
        self.items = entries

    def entries(self, start: int, end: int, max_bytes: int) -> list[bytes]:
        return self.items[start:end]


# --- spec vectors --------------------------------------------------------------------------


def test_c2sp_index_encoding_example() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert TileId(0, 1234067, 256).path() == "tile/0/x001/x234/067"
    assert parse_path("tile/0/x001/x234/067") == TileId(0, 1234067, 256)


def test_tessera_partial_tile_path_example() -> None:
    assert parse_path("tile/0/x001/x234/067.p/8") == TileId(0, 1234067, 8)
    assert TileId(0, 1234067, 8).path() == "tile/0/x001/x234/067.p/8"


def test_c2sp_full_tile_is_8192_bytes() -> None:
    assert FULL_TILE_BYTES == 8192 == limits.MAX_TLOG_TILE_BYTES


def test_c2sp_tree_of_70000_leaves_example() -> None:
    tiles = tiles_for_size(70_000, bundles=False)
    by_level: dict[int, list[int]] = {}
    for t in tiles:
        assert t.level is not None
        by_level.setdefault(t.level, []).append(t.width)
    assert by_level[0] == [256] * 273 + [112]
    assert by_level[1] == [256, 17]
    assert by_level[2] == [1]
    assert set(by_level) == {0, 1, 2}


def test_c2sp_tree_of_256_leaves_example() -> None:
    assert tiles_for_size(256, bundles=False) == [TileId(0, 0, 256), TileId(1, 0, 1)]


def test_c2sp_bundle_encoding_is_uint16_length_prefixed() -> None:
    body = encode_bundle([b"ab", b"", b"c" * 300])
    assert body == b"\x00\x02ab" + b"\x00\x00" + b"\x01\x2c" + b"c" * 300
    assert decode_bundle(TileId(None, 0, 3), body) == [b"ab", b"", b"c" * 300]


@pytest.mark.parametrize(
    ("path", "tile"),
    [
        ("tile/entries/000", TileId(None, 0, 256)),
        ("tile/entries/x001/000.p/255", TileId(None, 1000, 255)),
        ("tile/63/000.p/1", TileId(63, 0, 1)),
        ("tile/1/999", TileId(1, 999, 256)),
    ],
)
def test_paths_round_trip(path: str, tile: TileId) -> None:
    assert parse_path(path) == tile
    assert tile.path() == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",  # leading zero in the level
        "tile/64/000",  # level above 63
        "tile/0/x000/001",  # non-canonical leading group
        "tile/0/1",  # group of one digit
        "tile/0/0001",
        "tile/0/x001",  # last group with an x
        "tile/0/001/x234",
        "tile/0/000.p/0",  # width 0
        "tile/0/000.p/256",  # a full tile has no .p
        "tile/0/000.p/08",  # leading zero in the width
        "tile/0/000.p/",
        "tile/-1/000",
        "/tile/0/000",
        "tile/0/000/",
        "tile/entry/000",
        "tile/0/x999/x999/x999/x999/x999/x999/999",  # beyond 2**63 - 1 leaves
        "tile/" + "x001/" * 40 + "000",  # too long
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(DecodeError):
        parse_path(path)


@given(data=st.data(), level=st.one_of(st.none(), st.integers(0, 6)), width=st.integers(1, 256))
def test_path_encoding_round_trips(data: st.DataObject, level: int | None, width: int) -> None:
    top = limits.MAX_TLOG_TREE_SIZE >> (8 * (level or 0) + 8)
    tile = TileId(level, data.draw(st.integers(0, top)), width)
    assert parse_path(tile.path()) == tile


# --- encodings: oversize and malformed -------------------------------------------------------


def test_oversize_tile_is_refused() -> None:
    with pytest.raises(TooLargeError):
        decode_tile(TileId(0, 0, 256), b"\x00" * (FULL_TILE_BYTES + 32))


def test_tile_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_tile(TileId(0, 0, 3), b"\x00" * 64)


def test_oversize_bundle_is_refused() -> None:
    with pytest.raises(TooLargeError):
        decode_bundle(TileId(None, 0, 256), b"\x00" * (limits.MAX_TLOG_BUNDLE_BYTES + 1))


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x01a\x00",  # a truncated length
        b"\x00\x05ab",  # a truncated entry
        b"\x00\x01a\x00\x01b\x00\x01c",  # one entry too many
        b"\x00\x01a",  # one too few
    ],
)
def test_malformed_bundles_are_refused(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_bundle(TileId(None, 0, 2), body)


def test_entry_too_large_for_a_bundle_is_refused() -> None:
    with pytest.raises(UsageError):
        encode_bundle([b"x" * (limits.MAX_TLOG_TILED_ENTRY_BYTES + 1)])


# --- proofs from tiles equal the proofs computed directly ------------------------------------


def _served(tree: MerkleTree, size: int, tiles: list[TileId]) -> TileHashes:
    return TileHashes(size, {t: read_tile(tree, t) for t in tiles if t.level is not None})


_SIZES = [1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 513, 1000, 65535, 65536, 65537, 70_000]


@pytest.mark.parametrize("size", _SIZES)
def test_root_from_tiles_is_the_tree_root(size: int) -> None:
    tree = _tree(size)
    store = _served(tree, size, tiles_for_root(size))
    check_tiles_root(Checkpoint("o", size, tree.root(size)), store)


@pytest.mark.parametrize("size", [*range(1, 40), 255, 256, 257, 511, 512, 513])
def test_every_proof_from_tiles_equals_the_direct_one(size: int) -> None:
    tree = _SMALL
    whole = _served(tree, size, tiles_for_size(size, bundles=False))
    for index in range(size):
        assert whole.perfect_subtree_hash(0, index) == tree.perfect_subtree_hash(0, index)
        needed = _served(tree, size, tiles_for_inclusion(index, size))
        assert needed.size() == size
        proof = tree.inclusion_proof(index, size)
        assert inclusion_proof(needed, index, size) == proof
    for old in range(size + 1):
        needed = _served(tree, size, tiles_for_consistency(old, size))
        assert consistency_proof(needed, old, size) == tree.consistency_proof(old, size)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_proofs_from_tiles_verify_and_equal_the_direct_ones(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, _BIG.size()))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    root = _BIG.root(size)
    store = _served(_BIG, size, tiles_for_inclusion(index, size))
    proof = inclusion_proof(store, index, size)
    assert proof == _BIG.inclusion_proof(index, size)
    verify_inclusion(_BIG.perfect_subtree_hash(0, index), index, size, proof, root)
    store = _served(_BIG, size, tiles_for_consistency(old, size))
    cproof = consistency_proof(store, old, size)
    assert cproof == _BIG.consistency_proof(old, size)
    verify_consistency(old, size, _BIG.root(old), root, cproof)


_BIG = _tree(70_000)
_SMALL = _tree(600)


def test_a_proof_needs_few_tiles() -> None:
    # A proof touches at most two tiles per tile level (the path and the right edge).
    assert len(tiles_for_inclusion(12_345, 70_000)) <= 6
    assert len(tiles_for_consistency(12_345, 70_000)) <= 6


def test_missing_tile_is_a_usage_error() -> None:
    store = TileHashes(70_000)
    with pytest.raises(UsageError):
        store.perfect_subtree_hash(0, 5)


def test_tile_of_another_width_is_refused() -> None:
    store = TileHashes(300)
    with pytest.raises(UsageError):
        store.add(TileId(0, 1, 20), b"\x00" * 640)  # the tree of 300 has a 44-wide tile 1


def test_bundles_hash_to_the_level_0_tile() -> None:
    entries = [f"entry {i}".encode() for i in range(600)]
    tree = MerkleTree()
    for e in entries:
        tree.append_leaf(e)
    bundles = bundles_for_range(250, 600, 600)
    assert [(b.index, b.width) for b in bundles] == [(0, 256), (1, 256), (2, 88)]
    for b in bundles:
        got = decode_bundle(b, read_bundle(_Entries(entries), b))
        level0 = TileId(0, b.index, b.width)
        tile = decode_tile(level0, read_tile(tree, level0))
        assert [leaf_hash(e) for e in got] == tile


# --- attacks ---------------------------------------------------------------------------------


def _flip(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]


def test_tile_served_with_a_wrong_hash_is_detected() -> None:
    """Each hash a proof is computed from, altered, makes the checkpoint check or the proof's
    verification fail: a log (or a CDN) cannot slip a wrong hash into a tile unnoticed."""
    size, index = 70_000, 12_345
    root = _BIG.root(size)
    checkpoint = Checkpoint("o", size, root)
    needed = tiles_for_inclusion(index, size)
    rng = random.Random(13)
    for tile in needed:
        body = read_tile(_BIG, tile)
        for at in rng.sample(range(len(body)), min(len(body), 40)):
            tiles = {t: read_tile(_BIG, t) for t in needed}
            tiles[tile] = _flip(body, at)
            store = TileHashes(size, tiles)
            try:
                check_tiles_root(checkpoint, store)
                proof = inclusion_proof(store, index, size)
                verify_inclusion(_BIG.perfect_subtree_hash(0, index), index, size, proof, root)
            except VerificationError:
                continue
            # The altered hash was not used by this proof: the proof is the honest one.
            assert proof == _BIG.inclusion_proof(index, size)


def test_right_edge_tile_with_a_wrong_hash_fails_the_checkpoint() -> None:
    size = 70_000
    tiles = {t: read_tile(_BIG, t) for t in tiles_for_root(size)}
    last = max(tiles, key=lambda t: (t.level == 0, t.index))
    tiles[last] = _flip(tiles[last], len(tiles[last]) - 1)
    with pytest.raises(VerificationError):
        check_tiles_root(Checkpoint("o", size, _BIG.root(size)), TileHashes(size, tiles))
