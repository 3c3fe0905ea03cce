"""Log readers (``privcloud log --read-only``): the log's read API served from its PostgreSQL
store by any number of processes beside the one sequencer (:mod:`privcloud.services.tlog`).

A reader takes no sequencer lock and never writes (its store is opened ``readonly``). It serves
the checkpoint the sequencer last stored, with its cosignatures, and the tiles, entry bundles and
JSON proofs of the stored tree: the same routes and bytes as the sequencer, less the operator's
append, which it refuses with :class:`ReadOnlyLogError` (405). Every ``refresh_s`` seconds it
reads the stored checkpoint (one point query); only when that changed does it re-read the tree's
size and right edge and compute two O(log n) tree roots. It serves a new checkpoint only when

1. the log's key signed it, for the log's origin (the reader holds the verifier key only);
2. the stored tree has that checkpoint's root at its size;
3. the stored tree still has, at the old size, the root of the checkpoint served before, and the
   new one is not smaller (a database restored from an old backup, or rewritten, is not served).

Otherwise it keeps serving the last good checkpoint and logs the refusal (its error code).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    PrivcloudError,
    ReadOnlyLogError,
    UnavailableError,
    UsageError,
)
from privcloud.services.http import Metrics
from privcloud.services.site import new_app
from privcloud.services.store_thread import StoreThread
from privcloud.services.tlog import LOG_KEY_FILE, LogReads
from privcloud.services.tlog_tiles import TileServer
from privcloud.storage.database import Database
from privcloud.storage.pg_tlog import PgTlogStore
from privcloud.storage.tlog_store import load_key
from privcloud.transparency.append_auth import ENTRIES_PATH
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.merkle import tree_root
from privcloud.transparency.note import Ed25519NoteSigner, Ed25519NoteVerifier

log = logging.getLogger("privcloud.tlog.reader")

T = TypeVar("T")

#: Seconds between a reader's reads of the stored tree size and checkpoint.
DEFAULT_REFRESH_S: Final = 1.0
#: The shortest refresh interval a reader accepts (each refresh queries the database).


class LogReader:
    """One reader of the log in ``store`` (read-only), whose checkpoints ``verifier`` checks."""

    def __init__(
        self,
        store: PgTlogStore,
        verifier: Ed25519NoteVerifier,
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        """Raises :class:`ConfigError` for a writable store, a key of another origin or a
        refresh interval under :data:`~privcloud.limits.LOG_READER_MIN_REFRESH_S`."""
        if not store.readonly:
            raise ConfigError("a log reader opens the log's store read-only")
        if verifier.name != store.origin:
            raise ConfigError("the log key's name must be the log's origin")
        low, high = limits.LOG_READER_MIN_REFRESH_S, limits.LOG_READER_MAX_REFRESH_S
        if not low <= refresh_s <= high:
            raise ConfigError(f"a reader's refresh interval is {low} s to {high} s")
        self.store = store
        self.verifier = verifier
        self.origin = store.origin
        self.metrics = Metrics("log")
        self._refresh_s = refresh_s
        self._note: bytes | None = None
        self._checkpoint: Checkpoint | None = None
        #: Where every store step runs: following the sequencer first, public reads bounded.
        self.store_thread = StoreThread("tlog-reader-db")
        self._task: asyncio.Task[None] | None = None

    @property
    def checkpoint_note(self) -> bytes:
        """The checkpoint note served now; :class:`UnavailableError` before the first one."""
        if self._note is None:
            raise UnavailableError("the log has not published a checkpoint yet")
        return self._note

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The checkpoint served now (``None`` before the sequencer stored one)."""
        return self._checkpoint

    # --- following the sequencer -----------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read the stored checkpoint and, when it changed, the tree (on the worker thread);
        whether a new checkpoint is served. Raises :class:`UnavailableError` (database), or a
        :class:`VerificationError` / :class:`UnavailableError` for a checkpoint it refuses."""
        note = self.store.load_checkpoint()  # one point query while nothing changed
        if note is None or note == self._note:
            return False
        new = open_checkpoint(note, [self.verifier], origin=self.origin)
        if new.size > self.store.size():
            self.store.refresh()  # the tree's size and edge, only when a checkpoint needs them
            if new.size > self.store.size():
                raise UnavailableError("the stored checkpoint is ahead of the stored tree")
        old = self._checkpoint
        if old is not None:
            if new.size < old.size:
                raise UnavailableError("the stored checkpoint is older than the one served")
            if tree_root(self.store, old.size) != old.root_hash:
                raise UnavailableError("the stored tree forks from the checkpoint served")
        if tree_root(self.store, new.size) != new.root_hash:
            raise UnavailableError("the stored tree does not have the stored checkpoint's root")
        self._note, self._checkpoint = note, new
        return True

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            await self._refresh_logged()

    async def _refresh_logged(self) -> None:
        try:
            await self._run(self.refresh)
        except PrivcloudError as exc:
            log.warning("log reader kept its checkpoint: %s (%s)", exc.code, exc)

    # --- lifecycle -------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """The reader's own steps (following the sequencer): before the queued public reads."""
        return await self.store_thread.write(fn, *args)

    def app(self) -> web.Application:
        """The aiohttp application (one per reader; stopping it closes the store)."""
        # A peer gone cancels its handler: its queued read leaves the store thread's bound.
        app = new_app("log", self.metrics, cancel_on_disconnect=True)
        r = app.router
        r.add_post(ENTRIES_PATH, self.handle_append, name="append")
        r.add_get("/v1/checkpoint", self.handle_checkpoint, name="checkpoint")
        LogReads(self.store, self.store_thread.read).add_routes(r)
        TileServer(self.store, self.store_thread.read, lambda: self.checkpoint_note).add_routes(r)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        await self._refresh_logged()
        self._task = asyncio.create_task(self._follow())

    async def _stop(self, _: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._run(self.store.close)
        self.store_thread.shutdown()

    # --- handlers ----------------------------------------------------------------------------

    async def handle_append(self, _: web.Request) -> web.Response:
        """Refused before the body is read: a reader never writes."""
        raise ReadOnlyLogError("this is a read-only log reader: send appends to the sequencer")

    async def handle_checkpoint(self, _: web.Request) -> web.Response:
        return web.Response(
            body=self.checkpoint_note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )


def open_reader(
    database: str,
    *,
    log_vkey: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    origin: str | None = None,
    refresh_s: float = DEFAULT_REFRESH_S,
) -> LogReader:
    """A reader of the log in the PostgreSQL database at ``database``.

    The log's verifier key is ``log_vkey`` (its name is the origin), else the one of
    ``log.key`` in ``data_dir`` with ``origin`` (read, never created). Raises
    :class:`ConfigError` for another back end than PostgreSQL (SQLite has one process), a
    malformed key, a log not created yet, an unreachable database.
    """
    db = Database.from_url(database)
    if db.backend != "postgresql":
        raise ConfigError("a log reader reads a PostgreSQL log store (--database postgresql://)")
    if log_vkey is not None:
        try:
            verifier = Ed25519NoteVerifier.from_vkey(log_vkey)
        except PrivcloudError as exc:
            raise ConfigError("invalid log vkey") from exc
    elif data_dir is not None and origin is not None:
        key = load_key(Path(data_dir) / LOG_KEY_FILE, role="the log key")
        try:
            verifier = Ed25519NoteSigner(origin, key).verifier()
        except UsageError as exc:
            raise ConfigError("a log origin must be a valid note key name") from exc
    else:
        raise ConfigError("a log reader needs the log's vkey (--log-vkey)")
    if origin is not None and verifier.name != origin:
        raise ConfigError("the log vkey's name is not the log's origin")
    store = db.log(verifier.name, readonly=True)
    assert isinstance(store, PgTlogStore)
    try:
        return LogReader(store, verifier, refresh_s=refresh_s)
    except BaseException:
        store.close()
        raise


__all__ = ["DEFAULT_REFRESH_S", "LogReader", "open_reader"]
