"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles), sans-IO: paths, encodings, proofs from tiles.

A tiled log serves its RFC 6962 Merkle tree as static resources instead of proof endpoints:

* ``tile/<L>/<N>[.p/<W>]``: the ``N``-th tile of level ``L``, ``W`` (1 to 255 for a partial
  tile, else 256) consecutive 32-byte hashes. Hash ``i`` of tile ``(L, N)`` is
  ``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``: the perfect subtree of
  ``256**L`` leaves, which is Merkle level ``8*L`` in :mod:`.merkle`'s terms.
* ``tile/entries/<N>[.p/<W>]``: entry bundle ``N``, the entries of level-0 tile ``N``, each as
  a big-endian uint16 length and the entry's bytes.
* ``N`` is written in 3-digit groups, all but the last prefixed with ``x``
  (``1234067`` -> ``x001/x234/067``). ``L`` and ``W`` are decimal without leading zeroes.

For a tree of size ``s`` the tile ``(L, N)`` has width ``min(256, s // 256**L - N*256)``
(:func:`tile_width`); a client only asks for the widths a checkpoint it verified implies.

Proofs from tiles: :func:`tiles_for_inclusion`, :func:`tiles_for_consistency` and
:func:`tiles_for_root` say which tiles a client must fetch; :class:`TileHashes` (a
:class:`~privcloud.transparency.merkle.TreeStore` over the fetched tiles) then lets the
proof code of :mod:`.merkle` produce the same RFC 9162 proofs the log would serve, and
:func:`check_tiles_root` checks the fetched tiles against the checkpoint's root. Tiles are
unauthenticated bytes: nothing computed from them is trusted until a proof built from them
verifies against a signed root (a wrong hash on the path changes the proof, RFC 9162 §2.1.3.2).

Stricter than the spec: a path must be in its one canonical spelling (no ``x000`` leading
group), so one resource has one URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError, VerificationError
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    TreeStore,
    consistency_proof,
    inclusion_proof,
    node_hash,
    tree_root,
)

#: Merkle levels one tile spans (tiles of 2**8 = 256 hashes).
TILE_HEIGHT: Final = 8
#: Hashes (or entries) in a full tile (or bundle).
TILE_WIDTH: Final = 1 << TILE_HEIGHT
#: Bytes of a full hash tile.
FULL_TILE_BYTES: Final = limits.MAX_TLOG_TILE_BYTES
#: Highest tile level a path may name (C2SP: 0 to 63).
LAST_TILE_LEVEL: Final = 63
#: The checkpoint's path under the log's prefix.
CHECKPOINT_PATH: Final = "checkpoint"

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")
#: A path of the tile API: the level (or ``entries``), the index groups, the partial width.
_PATH = re.compile(r"tile/(entries|[0-9]{1,2})/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([0-9]{1,3}))?")


# --- coordinates and paths --------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class TileId:
    """One resource of the tile API: hash tile ``(level, index)`` of ``width`` hashes, or
    (``level`` ``None``) entry bundle ``index`` of ``width`` entries.

    Valid by construction (:class:`UsageError` otherwise): level 0..63 or ``None``, width 1..256,
    and the tile starts inside ``limits.MAX_TLOG_TREE_SIZE``.
    """

    level: int | None
    index: int
    width: int

    def __post_init__(self) -> None:
        level = 0 if self.level is None else self.level
        if isinstance(level, bool) or not isinstance(level, int):
            raise UsageError("tile level must be an int")
        if not 0 <= level <= LAST_TILE_LEVEL:
            raise UsageError("tile level out of range")
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise UsageError("tile index out of range")
        if isinstance(self.width, bool) or not isinstance(self.width, int):
            raise UsageError("tile width must be an int")
        if not 1 <= self.width <= TILE_WIDTH:
            raise UsageError("tile width out of range")
        if self.index * TILE_WIDTH << (TILE_HEIGHT * level) > limits.MAX_TLOG_TREE_SIZE:
            raise UsageError("tile beyond the largest tree")

    @property
    def full(self) -> bool:
        """Whether the tile (bundle) is full: immutable and never replaced by a wider one."""
        return self.width == TILE_WIDTH

    @property
    def is_bundle(self) -> bool:
        """Whether this is an entry bundle rather than a hash tile."""
        return self.level is None

    def path(self) -> str:
        """The resource's path under the log's prefix, e.g. ``tile/0/x001/x234/067.p/8``."""
        head = "entries" if self.level is None else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{head}/{encode_index(self.index)}{suffix}"

    def hash_bytes(self) -> int:
        """Exact size of a hash tile's body (:class:`UsageError` for a bundle)."""
        if self.level is None:
            raise UsageError("an entry bundle has no fixed size")
        return self.width * HASH_SIZE


def encode_index(index: int) -> str:
    """``index`` as 3-digit groups, all but the last prefixed ``x`` (C2SP: ``x001/x234/067``)."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise UsageError("tile index out of range")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_path(path: str) -> TileId:
    """Parse a tile or bundle path (without the prefix and leading slash); strict.

    Raises :class:`DecodeError` for anything but the canonical spelling of a valid resource:
    level 0..63 without leading zeroes, index groups of exactly three digits with ``x`` on all
    but the last and no leading ``x000`` group, width 1..255 without leading zeroes.
    """
    if not isinstance(path, str) or len(path) > limits.MAX_TILE_PATH_CHARS:
        raise DecodeError("malformed tile path")
    match = _PATH.fullmatch(path)
    if match is None:
        raise DecodeError("malformed tile path")
    head, index_s, width_s = match.groups()
    level: int | None = None
    if head != "entries":
        if not _LEVEL.fullmatch(head) or int(head) > LAST_TILE_LEVEL:
            raise DecodeError("malformed tile level")
        level = int(head)
    groups = index_s.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise DecodeError("non-canonical tile index")
    if not all(_GROUP.fullmatch(g.removeprefix("x")) for g in groups):
        raise DecodeError("malformed tile index")
    index = int("".join(g.removeprefix("x") for g in groups))
    width = TILE_WIDTH
    if width_s is not None:
        if not _WIDTH.fullmatch(width_s) or int(width_s) >= TILE_WIDTH:
            raise DecodeError("malformed partial tile width")
        width = int(width_s)
    try:
        return TileId(level, index, width)
    except UsageError as exc:
        raise DecodeError("tile out of range") from exc


# --- which tiles a tree has -------------------------------------------------------------------


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int):
        raise UsageError("tree size must be an int")
    if not 0 <= size <= limits.MAX_TLOG_TREE_SIZE:
        raise UsageError("tree size out of range")


def tile_width(level: int, index: int, size: int) -> int:
    """Width of tile ``(level, index)`` in the tree of ``size`` leaves: 256 if full, 0 if the
    tree has no such tile yet. Level ``None`` (bundles) is level 0."""
    _check_size(size)
    hashes = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, hashes - index * TILE_WIDTH))


def tile_at(level: int | None, index: int, size: int) -> TileId:
    """The tile (bundle) ``(level, index)`` as a tree of ``size`` leaves has it.

    Raises :class:`UsageError` if that tree has no such tile.
    """
    width = tile_width(0 if level is None else level, index, size)
    if width == 0:
        raise UsageError("the tree has no such tile")
    return TileId(level, index, width)


def tiles_for_size(size: int, *, bundles: bool = True) -> list[TileId]:
    """Every tile (and, with ``bundles``, every entry bundle) of the tree of ``size`` leaves:
    the full ones and the partial rightmost one of each level (C2SP: 70,000 leaves are 273
    full and one 112-wide level-0 tiles, a full and a 17-wide level-1 one, a 1-wide level-2 one).
    """
    _check_size(size)
    out: list[TileId] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        out += [tile_at(level, n, size) for n in range((hashes + TILE_WIDTH - 1) // TILE_WIDTH)]
        level += 1
    if bundles:
        out += [tile_at(None, n, size) for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH)]
    return out


def bundles_for_range(start: int, end: int, size: int) -> list[TileId]:
    """The entry bundles that hold entries ``start`` to ``end`` (exclusive) of the tree of
    ``size`` leaves. Raises :class:`UsageError` unless ``0 <= start <= end <= size``."""
    _check_size(size)
    if not 0 <= start <= end <= size:
        raise UsageError("entry range outside the tree")
    if start == end:
        return []
    first, last = start // TILE_WIDTH, (end - 1) // TILE_WIDTH
    return [tile_at(None, n, size) for n in range(first, last + 1)]


def _node_tile(level: int, index: int, size: int) -> TileId:
    """The tile holding the hashes perfect subtree ``(level, index)`` is computed from."""
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest  # the subtree's first hash at the tile level
    return tile_at(tile_level, first // TILE_WIDTH, size)


class _Recorder:
    """A :class:`TreeStore` of ``size`` leaves that answers placeholder hashes and notes which
    perfect subtrees were asked for: the proof code's access pattern does not depend on the
    hashes, so this names the tiles a proof needs."""

    def __init__(self, size: int) -> None:
        self._size = size
        self.tiles: set[TileId] = set()

    def size(self) -> int:
        return self._size

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        for i in range(start, end):
            self.perfect_subtree_hash(0, i)
        return [EMPTY_ROOT] * (end - start)

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        self.tiles.add(_node_tile(level, index, self._size))
        return EMPTY_ROOT


def _needed(size: int, run: Callable[[TreeStore], object]) -> list[TileId]:
    _check_size(size)
    recorder = _Recorder(size)
    run(recorder)
    return sorted(recorder.tiles, key=lambda t: (t.level or 0, t.index))


def tiles_for_root(size: int) -> list[TileId]:
    """The tiles from which the root of the tree of ``size`` leaves is computed."""
    return _needed(size, lambda s: tree_root(s, size))


def tiles_for_inclusion(index: int, size: int) -> list[TileId]:
    """The tiles an inclusion proof of leaf ``index`` in the tree of ``size`` leaves, and that
    tree's root, are computed from. Raises :class:`UsageError` unless ``0 <= index < size``."""
    return _needed(size, lambda s: (tree_root(s, size), inclusion_proof(s, index, size)))


def tiles_for_consistency(old_size: int, new_size: int) -> list[TileId]:
    """The tiles (all of the tree of ``new_size`` leaves) a consistency proof from ``old_size``
    and the new tree's root are computed from. :class:`UsageError` unless ``old <= new``."""
    return _needed(
        new_size, lambda s: (tree_root(s, new_size), consistency_proof(s, old_size, new_size))
    )


# --- encodings ---------------------------------------------------------------------------------


def decode_tile(tile: TileId, data: bytes) -> list[bytes]:
    """The hashes of hash tile ``tile`` from its body: exactly ``32 * width`` bytes.

    Raises :class:`TooLargeError` past a full tile, :class:`DecodeError` for another length.
    """
    if len(data) > FULL_TILE_BYTES:
        raise TooLargeError("tile too large")
    if len(data) != tile.hash_bytes():
        raise DecodeError("tile has the wrong length")
    return [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]


def encode_tile(hashes: Sequence[bytes]) -> bytes:
    """A hash tile's body: the hashes back to back (1 to 256 hashes of 32 bytes)."""
    if not 1 <= len(hashes) <= TILE_WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise UsageError("a tile is 1 to 256 hashes of 32 bytes")
    return b"".join(hashes)


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle's body: each entry as a big-endian uint16 length and its bytes.

    Raises :class:`UsageError` for more than 256 entries or an entry above 65,535 bytes (a
    tiled log cannot serve it; the log refuses such appends).
    """
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise UsageError("a bundle is 1 to 256 entries")
    out = bytearray()
    for entry in entries:
        if len(entry) > limits.MAX_TLOG_TILED_ENTRY_BYTES:
            raise UsageError("entry too large for an entry bundle")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(bundle: TileId, data: bytes) -> list[bytes]:
    """The entries of entry bundle ``bundle``: exactly ``width`` length-prefixed entries and
    nothing after them. Raises :class:`TooLargeError` past ``limits.MAX_TLOG_BUNDLE_BYTES``,
    :class:`DecodeError` if malformed."""
    if bundle.level is not None:
        raise UsageError("not an entry bundle")
    if len(data) > limits.MAX_TLOG_BUNDLE_BYTES:
        raise TooLargeError("entry bundle too large")
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if len(entries) == bundle.width or pos + 2 > len(data):
            raise DecodeError("malformed entry bundle")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + length > len(data):
            raise DecodeError("truncated entry bundle")
        entries.append(bytes(data[pos + 2 : pos + 2 + length]))
        pos += 2 + length
    if len(entries) != bundle.width:
        raise DecodeError("entry bundle has the wrong number of entries")
    return entries


# --- the log's side: tiles from its tree ---------------------------------------------------------


class EntrySource(Protocol):
    """The log's entries, read by index range (a prefix if they exceed ``max_bytes``)."""

    def entries(self, start: int, end: int, max_bytes: int) -> list[bytes]: ...


def read_tile(store: TreeStore, tile: TileId) -> bytes:
    """The body of hash tile ``tile`` from the log's tree: the hashes of its perfect subtrees
    of Merkle level ``8 * level``. Raises :class:`UsageError` if the tree lacks them."""
    if tile.level is None:
        raise UsageError("not a hash tile")
    first = tile.index * TILE_WIDTH
    if tile.level == 0:
        return encode_tile(list(store.leaf_hashes(first, first + tile.width)))
    level = TILE_HEIGHT * tile.level
    return encode_tile([store.perfect_subtree_hash(level, first + i) for i in range(tile.width)])


def read_bundle(source: EntrySource, bundle: TileId) -> bytes:
    """The body of entry bundle ``bundle`` from the log's entries (:func:`encode_bundle`)."""
    if bundle.level is not None:
        raise UsageError("not an entry bundle")
    first = bundle.index * TILE_WIDTH
    entries = source.entries(first, first + bundle.width, limits.MAX_TLOG_BUNDLE_BYTES)
    if len(entries) != bundle.width:
        raise UsageError("the log returned another number of entries")
    return encode_bundle(entries)


# --- the client's side: proofs from tiles --------------------------------------------------------


class TileHashes:
    """A :class:`TreeStore` of the tree of ``size`` leaves over tiles fetched for it.

    Each perfect subtree is hashed up from the highest tile level that holds it (RFC 6962: the
    hashes of a tile are the leaves of a height-8 subtree). Asking for a subtree whose tile was
    not added raises :class:`UsageError` (a caller that fetched too little). Nothing here is
    verified: :func:`check_tiles_root` and proof verification do that.
    """

    def __init__(self, size: int, tiles: Mapping[TileId, bytes] | None = None) -> None:
        _check_size(size)
        self._size = size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        for tile, data in (tiles or {}).items():
            self.add(tile, data)

    def add(self, tile: TileId, data: bytes) -> None:
        """Add a fetched tile's body. Raises :class:`DecodeError` if it has the wrong length,
        :class:`UsageError` if the tree of this size has no tile of that width."""
        if tile.level is None:
            raise UsageError("not a hash tile")
        if tile != tile_at(tile.level, tile.index, self._size):
            raise UsageError("tile of another width than this tree's")
        self._tiles[(tile.level, tile.index)] = decode_tile(tile, data)

    def size(self) -> int:
        return self._size

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        return [self.perfect_subtree_hash(0, i) for i in range(start, end)]

    def perfect_subtree_hash(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self._size:
            raise UsageError("no such complete subtree")
        tile = _node_tile(level, index, self._size)
        hashes = self._tiles.get((tile.level or 0, tile.index))
        if hashes is None:
            raise UsageError("a tile the proof needs was not fetched")
        rest = level % TILE_HEIGHT
        first = (index << rest) % TILE_WIDTH
        nodes = hashes[first : first + (1 << rest)]
        while len(nodes) > 1:
            nodes = [node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
        return nodes[0]


def check_tiles_root(checkpoint: Checkpoint, store: TileHashes) -> None:
    """The fetched tiles give the checkpoint's root: the right edge of the tree they describe
    is the one the log signed. Raises :class:`VerificationError` (e.g. a tile served with a
    wrong hash on the right edge)."""
    if store.size() != checkpoint.size:
        raise UsageError("tiles of another tree size than the checkpoint's")
    try:
        root = tree_root(store, checkpoint.size)
    except UsageError as exc:
        raise UsageError("the tiles of the tree's right edge were not fetched") from exc
    if root != checkpoint.root_hash:
        raise VerificationError("the log's tiles do not match its checkpoint")


def hashes_of(tiles: Iterable[tuple[TileId, bytes]], size: int) -> TileHashes:
    """A :class:`TileHashes` of the tree of ``size`` leaves from ``(tile, body)`` pairs."""
    return TileHashes(size, dict(tiles))


__all__ = [
    "CHECKPOINT_PATH",
    "FULL_TILE_BYTES",
    "LAST_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "EntrySource",
    "TileHashes",
    "TileId",
    "bundles_for_range",
    "check_tiles_root",
    "decode_bundle",
    "decode_tile",
    "encode_bundle",
    "encode_index",
    "encode_tile",
    "hashes_of",
    "parse_path",
    "read_bundle",
    "read_tile",
    "tile_at",
    "tile_width",
    "tiles_for_consistency",
    "tiles_for_inclusion",
    "tiles_for_root",
    "tiles_for_size",
]
