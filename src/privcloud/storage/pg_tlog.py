"""The transparency log in PostgreSQL: the tables, tree logic and SQL of
:class:`~privcloud.storage.tlog_store.TlogStore`, with one sequencer at a time and any number
of readers.

The sequencer (the one log process that appends and signs checkpoints) holds a session-level
advisory lock keyed by the schema and the origin for as long as its connection lives. A second
sequencer's store fails to open with :class:`ConfigError` ("another sequencer holds the log"),
and so never writes. Were the lock lost (the connection dropped and someone else took over in
the meantime), every append also compares, in its transaction, the stored tree size with the
size it extends — a compare-and-swap on the tree, as Sunlight does on its checkpoint — and the
leaf index is the primary key: two writers cannot both write index n. A store that finds the
log moved under it refuses to append again (:class:`UnavailableError`): the log never forks.

Readers (``readonly=True``) take no lock, refuse every write, and see appends made since they
opened after :meth:`PgTlogStore.refresh`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Final

import psycopg

from privcloud import limits
from privcloud.errors import ConfigError, UnavailableError, UsageError
from privcloud.storage.postgres import PgConnection, first, lock_key, pg_cause
from privcloud.storage.tlog_store import Appended, TlogStore
from privcloud.transparency.merkle import leaf_hash, node_hash

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS leaves ("
    " idx bigint PRIMARY KEY, leaf_hash bytea NOT NULL UNIQUE, entry bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS subtrees ("
    " level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,"
    " PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS auth_seen ("
    " tag bytea PRIMARY KEY, expires double precision NOT NULL)",
)
_UNAVAILABLE: Final = "log database is unavailable"
#: Seconds between two tries to take the lock again after a lost connection.
_RELOCK_POLL_S: Final = 0.05


class PgTlogStore(TlogStore):
    """The log's tables in schema ``schema`` of the PostgreSQL database at ``url``.

    Raises :class:`ConfigError` naming the database and the cause when it cannot be reached,
    belongs to another origin, is damaged (a gap in the leaves, a lost hash), or — for a
    sequencer — another sequencer holds the log; a reader of a log not created yet is refused
    too."""

    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (psycopg.Error,)

    def __init__(self, url: str, origin: str, *, schema: str, readonly: bool = False) -> None:
        if not isinstance(origin, str) or not origin:
            raise UsageError("origin must be a non-empty string")
        self.origin = origin
        self.readonly = readonly
        self.schema = schema
        self._lock_id = lock_key("log-sequencer", schema, origin)
        #: Whether this sequencer held its lock once (a later connection may wait for it).
        self._locked_before = False
        #: Set when the stored tree moved under this sequencer: it never appends again.
        self._moved = False
        self._cache: dict[tuple[int, int], bytes] = {}
        self._pg = PgConnection(
            url,
            schema=schema,
            what="the log tables",
            unavailable=_UNAVAILABLE,
            setup=lambda conn: conn.executescript(_SCHEMA),
            after=None if readonly else self._take_lock,
        )
        self._db = self._pg
        self.name = f"{self._pg.where} (schema {schema})"
        try:
            self._claim_origin()
            self._size = self._count_leaves()
            self._edge = self._read_edge()
        except BaseException:
            self._pg.close()
            raise

    def _take_lock(self, conn: PgConnection) -> None:
        """Take the sequencer's session lock: at once when starting, else refused. On a new
        connection after a lost one, the lost session may still hold it until the server ends
        that session: waited for, up to ``PG_RELOCK_WAIT_S`` (another sequencer that took the
        log meanwhile is still refused, and the stored tree's size is checked on every
        append)."""
        wait = limits.PG_RELOCK_WAIT_S if self._locked_before else 0.0
        deadline = time.monotonic() + wait
        while True:
            (held,) = first(conn.execute("SELECT pg_try_advisory_lock(?)", (self._lock_id,)))
            if held:
                self._locked_before = True
                return
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"another sequencer holds the log {self.origin} in {conn.where} "
                    f"(schema {self.schema}): only one log process may append; run the others "
                    "as readers"
                )
            time.sleep(_RELOCK_POLL_S)

    def _claim_origin(self) -> None:
        if not self.readonly:
            super()._claim_origin()
            return
        stored = self._meta("origin")
        if stored is None:
            raise ConfigError(f"{self._what} holds no log yet: start its sequencer first")
        if stored != self.origin.encode("utf-8"):
            raise ConfigError(f"{self._what} belongs to another origin")

    def _cause(self, exc: BaseException) -> str:
        return pg_cause(exc)

    def _transaction(self) -> AbstractContextManager[Any]:
        return self._pg.transaction()

    def _database_bytes(self) -> int:
        (size,) = self._one(
            "SELECT pg_total_relation_size('leaves') + pg_total_relation_size('subtrees')", ()
        )
        return int(size)

    def close(self) -> None:
        """Close the connection; a sequencer gives its lock back first, so that a successor
        started right after this returns finds it free. (A sequencer that dies loses the lock
        with its session, which the server ends a moment after the connection.)"""
        if self.readonly:
            self._pg.close()
        else:
            self._pg.close(last="SELECT pg_advisory_unlock(?)", args=(self._lock_id,))

    # --- the single sequencer ------------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise UsageError("a read-only log store does not write")
        if self._moved:
            raise UnavailableError("the log was changed by another sequencer: restart this one")

    def append(self, entries: Sequence[bytes]) -> list[Appended]:
        """As :meth:`TlogStore.append`, in a transaction that first checks the stored tree
        still has the size this sequencer extends (else :class:`UnavailableError`, for
        good)."""
        self._writable()
        try:
            with self._transaction() as db:
                self._check_size(db)
                out, size, edge = self._append_in(db, entries)
        except UnavailableError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                self._moved = True  # another writer took the next index first
            raise
        self._size, self._edge = size, edge
        return out

    def _append_in(
        self, db: Any, entries: Sequence[bytes]
    ) -> tuple[list[Appended], int, list[tuple[int, bytes]]]:
        """:meth:`TlogStore._append_in` in three round trips whatever the number of entries:
        one lookup of the entries already present, one insert of the leaves and one of the
        subtree hashes they complete (arrays through ``unnest``)."""
        if not all(isinstance(e, bytes) for e in entries):
            raise UsageError("an entry is bytes")
        hashes = [leaf_hash(e) for e in entries]
        known: dict[bytes, int] = {
            bytes(h): int(i)
            for h, i in db.execute(
                "SELECT leaf_hash, idx FROM leaves WHERE leaf_hash = ANY(?::bytea[])",
                (hashes,),
                binary=True,
            ).fetchall()
        }
        size, edge = self._size, list(self._edge)
        out: list[Appended] = []
        leaves: list[tuple[int, bytes, bytes]] = []
        subtrees: list[tuple[int, int, bytes]] = []
        for entry, h in zip(entries, hashes, strict=True):
            if h in known:  # in the log, or earlier in this batch
                out.append(Appended(known[h], h, existed=True))
                continue
            if size >= limits.MAX_TLOG_TREE_SIZE:
                raise UsageError("tree is full")
            leaves.append((size, h, entry))
            known[h] = size
            out.append(Appended(size, h, existed=False))
            size += 1
            level, node = 0, h  # one completed perfect subtree per trailing one bit
            while edge and edge[-1][0] == level:
                node = node_hash(edge.pop()[1], node)
                level += 1
                subtrees.append((level, (size >> level) - 1, node))
            edge.append((level, node))
        if leaves:
            db.execute(
                "INSERT INTO leaves (idx, leaf_hash, entry)"
                " SELECT * FROM unnest(?::bigint[], ?::bytea[], ?::bytea[])",
                ([r[0] for r in leaves], [r[1] for r in leaves], [r[2] for r in leaves]),
                binary=True,
            )
        if subtrees:
            db.execute(
                "INSERT INTO subtrees (level, idx, hash)"
                " SELECT * FROM unnest(?::integer[], ?::bigint[], ?::bytea[])",
                ([r[0] for r in subtrees], [r[1] for r in subtrees], [r[2] for r in subtrees]),
                binary=True,
            )
        return out, size, edge

    def _check_size(self, db: PgConnection) -> None:
        """The compare of the compare-and-swap: the stored tree is the one this sequencer
        extends (else it is refused for good)."""
        (stored,) = first(db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM leaves"))
        if int(stored) != self._size:
            self._moved = True
            raise UnavailableError("the log was changed by another sequencer: restart this one")

    def save_checkpoint(self, note: bytes) -> None:
        self._writable()
        super().save_checkpoint(note)

    def remember_tag(self, tag: bytes, expires: float, now: float, max_tags: int) -> bool:
        self._writable()
        return super().remember_tag(tag, expires, now, max_tags)

    # --- readers -------------------------------------------------------------------------------

    def refresh(self) -> int:
        """Re-read the tree's size and right edge (a reader following the sequencer); returns
        the size. Raises :class:`UnavailableError`."""
        size = self._count_leaves()
        if size != self._size:
            self._size = size
            self._edge = self._read_edge()
        return size


__all__ = ["PgTlogStore"]
