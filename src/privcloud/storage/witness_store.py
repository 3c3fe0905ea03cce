"""SQLite storage of a witness: per log origin, the latest checkpoint it cosigned.

C2SP tlog-witness requires that checking a submission against the recorded checkpoint and
recording the new one happen atomically, or two concurrent submissions could roll the record
back. :meth:`WitnessStore.update` therefore runs the caller's whole decision inside one
``BEGIN IMMEDIATE`` transaction: the decision sees the record, and what it returns is written
before anyone else can read it (also across processes sharing the file).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from privcloud.errors import UnavailableError, UsageError
from privcloud.storage.sqlite import check_integrity, connect, create_schema, immediate

T = TypeVar("T")

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS witnessed ("
    " origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,"
    " note BLOB NOT NULL, updated REAL NOT NULL) WITHOUT ROWID"
)


@dataclass(frozen=True)
class WitnessRecord:
    """The latest checkpoint a witness cosigned for one origin."""

    origin: str
    size: int
    root_hash: bytes
    #: The signed note as submitted (kept as evidence).
    note: bytes
    updated: float


class WitnessStore:
    """The witness's SQLite file. The SQL is shared with
    :class:`~privcloud.storage.pg_witness.PgWitnessStore`, which overrides the plumbing."""

    #: What the database driver raises.
    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error,)
    _db: Any

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (or create) the database at ``path``, after SQLite's integrity check.

        Raises :class:`ConfigError` naming the file and the cause (disk full, permission,
        corrupt). The records' contents are checked by the witness against the logs' keys
        (:meth:`privcloud.services.witness.Witness.check_records`).
        """
        self.name = os.path.basename(os.fspath(path))
        self._db = connect(path, what="the witness database")
        self._db.execute("PRAGMA synchronous=FULL")
        check_integrity(self._db, "the witness database")
        create_schema(self._db, _SCHEMA, "the witness table")

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def origins(self) -> list[str]:
        """Every origin the witness holds a record for."""
        try:
            rows = self._db.execute("SELECT origin FROM witnessed ORDER BY origin").fetchall()
        except self._ERRORS as exc:
            raise UnavailableError("witness database is unavailable") from exc
        return [str(r[0]) for r in rows]

    def get(self, origin: str) -> WitnessRecord | None:
        """The record for ``origin``, or ``None`` if the witness never cosigned for it."""
        try:
            row = self._db.execute(
                "SELECT size, root, note, updated FROM witnessed WHERE origin = ?", (origin,)
            ).fetchone()
        except self._ERRORS as exc:
            raise UnavailableError("witness database is unavailable") from exc
        if row is None:
            return None
        size, root, note, updated = row
        if not (isinstance(size, int) and isinstance(root, bytes) and isinstance(note, bytes)):
            raise UnavailableError("witness database holds a malformed record")
        if not isinstance(updated, int | float):
            raise UnavailableError("witness database holds a malformed record")
        return WitnessRecord(origin, size, root, note, float(updated))

    def update(
        self,
        origin: str,
        decide: Callable[[WitnessRecord | None], tuple[WitnessRecord, T]],
    ) -> T:
        """Atomically: read ``origin``'s record, call ``decide(record)``, store what it returns.

        ``decide`` returns ``(new record, result)``; ``result`` is returned. If ``decide``
        raises, nothing is written and the exception propagates. Raises
        :class:`UnavailableError` if the database fails.
        """
        with self._transaction():
            self._lock_origin(origin)
            record, result = decide(self.get(origin))
            _check_origin(record, origin)
            self._db.execute(
                "INSERT INTO witnessed (origin, size, root, note, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,"
                " note = excluded.note, updated = excluded.updated",
                (origin, record.size, record.root_hash, record.note, record.updated),
            )
        return result

    def _transaction(self) -> AbstractContextManager[Any]:
        """``BEGIN IMMEDIATE``: the decision and the write hold the file's write lock."""
        return immediate(self._db, "witness database is unavailable")

    def _lock_origin(self, origin: str) -> None:
        """Serialise decisions on ``origin`` (SQLite: the transaction's file lock does)."""


def _check_origin(record: WitnessRecord, origin: str) -> None:
    if record.origin != origin:
        raise UsageError("a decision must keep the record's origin")
