"""The log's C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles), and its static export.

Routes (under the log's base URL, which is the tiles *prefix*)::

    GET /checkpoint                  text/plain; charset=utf-8: the signed note, cosignatures
    GET /tile/<L>/<N>[.p/<W>]        application/octet-stream: W (or 256) hashes of 32 bytes
    GET /tile/entries/<N>[.p/<W>]    application/octet-stream: entry bundle (uint16-prefixed)

Caching: full tiles and bundles never change, so they are ``public, max-age=31536000,
immutable``; the checkpoint, partial tiles and partial bundles get
``max-age=TLOG_MUTABLE_MAX_AGE_S`` (the spec: the checkpoint must not be cached beyond a few
seconds; a partial tile is replaced by a wider one). A CDN or object store can serve every
resource as it is: :func:`export_tiles` writes the same files to a directory.

A tile exists once the tree holds every hash in it: a partial tile of width ``W`` is served as
long as the tree's tile at that index is at least ``W`` wide (its first ``W`` hashes never
change). The math and encodings are :mod:`privcloud.transparency.tiles`'; this module reads the
store (on the caller's worker thread) and keeps recently read hash tiles in memory.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, Protocol

from aiohttp import web

from privcloud import limits
from privcloud.errors import InternalError, NotFoundError, UsageError
from privcloud.fileio import file_error, write_atomic
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import TreeStore
from privcloud.transparency.note import parse_note
from privcloud.transparency.tiles import (
    CHECKPOINT_PATH,
    EntrySource,
    TileId,
    parse_path,
    read_bundle,
    read_tile,
    tile_width,
    tiles_for_size,
)

#: Cache-Control of a full tile or bundle: immutable.
IMMUTABLE: Final = "public, max-age=31536000, immutable"
#: Cache-Control of the checkpoint and of partial tiles and bundles.
SHORT_LIVED: Final = f"public, max-age={limits.TLOG_MUTABLE_MAX_AGE_S}"
OCTETS: Final = "application/octet-stream"


class LogTree(TreeStore, EntrySource, Protocol):
    """What the tile API reads: the tree's hashes and the entries (the log's store)."""


def read_resource(store: LogTree, tile: TileId) -> bytes:
    """The body of ``tile`` from the store, if the tree already holds all of it.

    Raises :class:`NotFoundError` for a tile the tree does not (yet) have at that width, and
    :class:`InternalError` for a bundle holding an entry too large for the format (an entry
    appended before the log refused them).
    """
    have = tile_width(0 if tile.level is None else tile.level, tile.index, store.size())
    if have < tile.width:
        raise NotFoundError("the log has no such tile")
    if tile.level is not None:
        return read_tile(store, tile)
    try:
        return read_bundle(store, tile)
    except UsageError as exc:
        raise InternalError("an entry is too large for an entry bundle") from exc


class TileServer:
    """Answers the tile routes from a store, on the log's worker via ``run``."""

    def __init__(
        self, store: LogTree, run: Callable[..., Awaitable[bytes]], note: Callable[[], bytes]
    ) -> None:
        self._store = store
        self._run = run
        self._note = note
        self._cache: OrderedDict[TileId, bytes] = OrderedDict()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register ``/checkpoint`` and ``/tile/...``."""
        router.add_get("/" + CHECKPOINT_PATH, self.handle_checkpoint, name="tiles_checkpoint")
        router.add_get("/tile/{path:.+}", self.handle_tile, name="tile")

    async def handle_checkpoint(self, _: web.Request) -> web.Response:
        return web.Response(
            body=self._note(),
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": SHORT_LIVED},
        )

    async def handle_tile(self, request: web.Request) -> web.Response:
        # The raw path: a percent-encoded spelling is another URL for a cache, so it is refused.
        tile = parse_path(request.rel_url.raw_path.removeprefix("/"))
        body = self._cache.get(tile)
        if body is None:
            body = await self._run(read_resource, self._store, tile)
            if tile.level is not None:  # the URL names the width: the bytes never change
                self._cache[tile] = body
                if len(self._cache) > limits.TLOG_TILE_CACHE:
                    self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(tile)
        response = web.Response(
            body=body,
            content_type=OCTETS,
            headers={"Cache-Control": IMMUTABLE if tile.full else SHORT_LIVED},
        )
        if tile.level is None and "gzip" in request.headers.get("Accept-Encoding", ""):
            response.enable_compression(web.ContentCoding.gzip)  # C2SP: bundles SHOULD be
        return response


def export_tiles(store: LogTree, note: bytes, directory: str | os.PathLike[str]) -> int:
    """Write the tile API of the tree ``note`` signs into ``directory`` for static hosting.

    Full tiles and bundles already there are kept (they are immutable); partial ones are
    (re)written; the checkpoint is written last, so a reader never sees a checkpoint whose
    tiles are missing. ``note`` must be a checkpoint of a size the store holds. Returns the
    number of files written. Raises :class:`ConfigError` naming a file that cannot be written.
    """
    size = Checkpoint.decode(parse_note(note).text.decode("utf-8")).size
    if size > store.size():
        raise UsageError("the checkpoint is ahead of the store")
    root = Path(directory)
    written = 0
    for tile in tiles_for_size(size):
        path = root / tile.path()
        if tile.full and path.is_file():
            continue
        _write(path, read_resource(store, tile))
        written += 1
    _write(root / CHECKPOINT_PATH, note)
    return written + 1


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        path.chmod(0o644)  # public data, for a web server to read
    except OSError as exc:
        raise file_error("write", f"the tile file {path}", exc) from exc


__all__ = ["IMMUTABLE", "SHORT_LIVED", "LogTree", "TileServer", "export_tiles", "read_resource"]
