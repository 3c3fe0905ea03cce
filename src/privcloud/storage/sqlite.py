"""What the embedded SQLite stores share: one way to open a database for use by several
processes, and one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from privcloud import limits
from privcloud.errors import ConfigError, UnavailableError


def connect(
    path: str | Path, *, busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S
) -> sqlite3.Connection:
    """Open (creating, owner-only) an SQLite database for cross-process use: autocommit mode
    (transactions are explicit), WAL journal, ``synchronous=NORMAL``, a busy timeout.

    Raises :class:`ConfigError` when the file cannot be opened.
    """
    path = Path(path)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError("cannot open the SQLite store") from exc
    return conn


def create_schema(conn: sqlite3.Connection, schema: str, what: str) -> None:
    """Run the ``CREATE ... IF NOT EXISTS`` script ``schema``; on failure close ``conn`` and
    raise :class:`ConfigError` naming ``what`` (e.g. "the issuer tables")."""
    try:
        conn.executescript(schema)
    except sqlite3.Error as exc:
        conn.close()
        raise ConfigError(f"cannot create {what}") from exc


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection, unavailable: str) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (take the write lock first, so checks and writes are atomic across
    processes), ``COMMIT`` on success, ``ROLLBACK`` on any exception. A database failure raises
    :class:`UnavailableError` with the fixed text ``unavailable``; other exceptions propagate
    after the rollback."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise UnavailableError(unavailable) from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        raise UnavailableError(unavailable) from exc
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


__all__ = ["connect", "create_schema", "immediate"]
