"""Fuzz target: the C2SP tlog-tiles formats a client reads (:mod:`privcloud.transparency.tiles`).

Operations:

* ``tile_path``: a tile or entry-bundle path (:func:`parse_path`);
* ``tile``: a hash tile's body, the first byte giving its width (``byte + 1``);
* ``bundle``: an entry bundle's body, the first byte giving its width (``byte + 1``);
* ``proof_from_tiles``: the bodies of the tiles an inclusion proof of leaf 700 in a tree of
  :data:`SIZE` leaves needs (split in order, each the length its tile should have), checked
  against a fixed checkpoint and the proof computed from them verified.
"""

from __future__ import annotations

import hashlib

from fuzz import harness
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import MerkleTree, inclusion_proof, verify_inclusion
from privcloud.transparency.tiles import (
    TileHashes,
    TileId,
    check_tiles_root,
    decode_bundle,
    decode_tile,
    parse_path,
    tiles_for_inclusion,
)

#: The fixed tree the ``proof_from_tiles`` operation checks tiles against.
SIZE = 70_000
INDEX = 700
TREE = MerkleTree(hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(SIZE))
CHECKPOINT = Checkpoint("fuzz.test/log", SIZE, TREE.root())
NEEDED = tiles_for_inclusion(INDEX, SIZE)


def _width(data: bytes) -> tuple[int, bytes]:
    return (data[0] + 1, data[1:]) if data else (1, b"")


def _tile(data: bytes) -> object:
    width, body = _width(data)
    return decode_tile(TileId(0, 0, width), body)


def _bundle(data: bytes) -> object:
    width, body = _width(data)
    return decode_bundle(TileId(None, 0, width), body)


def _proof_from_tiles(data: bytes) -> None:
    tiles: dict[TileId, bytes] = {}
    pos = 0
    for tile in NEEDED:
        size = tile.width * 32
        tiles[tile] = data[pos : pos + size]
        pos += size
    store = TileHashes(SIZE, tiles)
    check_tiles_root(CHECKPOINT, store)
    proof = inclusion_proof(store, INDEX, SIZE)
    verify_inclusion(TREE.perfect_subtree_hash(0, INDEX), INDEX, SIZE, proof, CHECKPOINT.root_hash)


OPS: harness.Ops = (
    ("tile_path", lambda data: parse_path(data.decode("utf-8", "surrogateescape"))),
    ("tile", _tile),
    ("bundle", _bundle),
    ("proof_from_tiles", _proof_from_tiles),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
