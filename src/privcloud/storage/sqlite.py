"""What the embedded SQLite stores share: one way to open a database for use by several
processes, one start-up integrity check, and one ``BEGIN IMMEDIATE`` transaction.

Start-up failures raise :class:`ConfigError` naming the database's role and file name and
the cause (disk full, permission, corrupt): the operator has to act, and the message says on
what. Failures while serving stay :class:`UnavailableError` (the request is answered 503).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from privcloud import limits
from privcloud.errors import ConfigError, UnavailableError
from privcloud.fileio import os_cause

#: SQLite's primary result codes an operator can act on (https://sqlite.org/rescode.html).
_SQLITE_CAUSES = {
    3: "permission denied",  # SQLITE_PERM
    5: "another process holds it locked",  # SQLITE_BUSY
    8: "the file is read-only",  # SQLITE_READONLY
    10: "input/output error (a failing or full disk?)",  # SQLITE_IOERR
    11: "the database is corrupt",  # SQLITE_CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    14: "it cannot be opened (permission denied, or its directory is missing)",  # CANTOPEN
    26: "the file is not a database (corrupt)",  # SQLITE_NOTADB
}


def corrupt_error(what: str, detail: str) -> ConfigError:
    """The one refusal of a damaged store: ``what`` names it (role and file name), ``detail``
    says what is wrong. Starting empty instead is not offered: an empty spent-token store
    accepts every token again, an empty log forks."""
    return ConfigError(
        f"{what} is corrupt ({detail}): it is not served from; restore the file from a backup"
    )


#: What start-up code catches from SQLite: its errors, and the text of a damaged schema or
#: message, which Python fails to decode.
ERRORS = (sqlite3.Error, UnicodeDecodeError)


def sqlite_cause(exc: sqlite3.Error | UnicodeDecodeError | OSError) -> str:
    """A short, fixed description of why a database operation failed."""
    if isinstance(exc, OSError):
        return os_cause(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "the database is corrupt (text that is not UTF-8)"
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_CAUSES:
        return _SQLITE_CAUSES[code & 0xFF]
    return type(exc).__name__


def connect(
    path: str | os.PathLike[str],
    *,
    busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S,
    what: str = "the database",
) -> sqlite3.Connection:
    """Open (creating, owner-only) an SQLite database for cross-process use: autocommit mode
    (transactions are explicit), WAL journal, ``synchronous=NORMAL``, a busy timeout.

    Raises :class:`ConfigError` naming ``what`` (the database's role), the file's name and the
    cause when the file cannot be opened.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_owner_only(path)
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except (OSError, *ERRORS) as exc:
        raise ConfigError(f"cannot open {what} {path.name}: {sqlite_cause(exc)}") from exc
    try:
        _enter_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    except ERRORS as exc:
        conn.close()
        raise ConfigError(f"cannot open {what} {path.name}: {sqlite_cause(exc)}") from exc
    return conn


#: SQLITE_BUSY and SQLITE_LOCKED: another connection holds a lock this one needs.
_BUSY_CODES = frozenset({5, 6})


def _enter_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Switch a database to the WAL journal, retrying while other connections hold it.

    Turning a new database to WAL needs an exclusive lock. When several processes open the
    same new file at once, each first reads the header under a shared lock; SQLite then answers
    ``SQLITE_BUSY`` at once rather than waiting, because waiting with a shared lock held could
    deadlock, so the busy timeout does not cover it (tests/unit/test_sqlite_open_race.py). The
    switch is retried, with pauses growing from 1 to 50 ms, until ``busy_timeout_s`` has passed.
    """
    deadline = time.monotonic() + busy_timeout_s
    pause = 0.001
    while True:
        # Each attempt may itself wait in SQLite's busy handler: give it only what is left.
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        conn.execute(f"PRAGMA busy_timeout={left_ms}")
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in _BUSY_CODES or time.monotonic() + pause > deadline:
                raise
        else:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _create_owner_only(path: Path) -> None:
    """Create the database file 0600 if it is missing; raise ``OSError`` (with its errno) when an
    existing one may not be read and written.

    An existing file is never opened here. POSIX locks belong to the process, and closing *any*
    descriptor of a file drops every lock the process holds on it: opening and closing the file
    while another connection of this process is up would drop that connection's shared lock,
    which is what tells other processes it is alive. The next connection to close elsewhere
    would then find itself "last" and delete the write-ahead log under the live one, whose
    writes (spent tokens) would vanish (tests/e2e/test_sqlite_shared_locks.py). A file this call
    creates cannot be open in this process yet, so closing it drops nothing.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if not os.access(path, os.R_OK | os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES)) from None
    else:
        os.close(fd)


def check_integrity(conn: sqlite3.Connection, what: str) -> None:
    """Refuse to use a damaged database: run SQLite's own check over the whole file.

    A file of at most :data:`~privcloud.limits.SQLITE_FULL_CHECK_MAX_BYTES` gets
    ``PRAGMA integrity_check``, which also compares every index with its table — the only
    check that sees a flipped byte inside a row of an indexed table (``quick_check`` missed 96
    of 103 such flips in the spent-token table that let a spent token be accepted again); a
    bigger file gets ``PRAGMA quick_check`` (page structure, linear, ~8x faster).
    On failure, closes ``conn`` and raises :class:`ConfigError` naming ``what`` (the role,
    e.g. "the issuer database") and the file's name.
    """
    name = _file_name(conn)
    try:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        full = int(pages) * int(page_size) <= limits.SQLITE_FULL_CHECK_MAX_BYTES
        pragma = "integrity_check" if full else "quick_check"
        rows = conn.execute(f"PRAGMA {pragma}(1)").fetchall()
    except ERRORS as exc:
        conn.close()
        raise corrupt_error(f"{what} {name}", sqlite_cause(exc)) from exc
    if rows != [("ok",)]:
        conn.close()
        raise corrupt_error(f"{what} {name}", f"SQLite's {pragma} failed")


def _file_name(conn: sqlite3.Connection) -> str:
    """The main database's file name (for messages)."""
    with contextlib.suppress(sqlite3.Error):
        for _, schema, file in conn.execute("PRAGMA database_list"):
            if schema == "main" and file:
                return Path(file).name
    return "(in memory)"


def create_schema(conn: sqlite3.Connection, schema: str, what: str) -> None:
    """Run the ``CREATE ... IF NOT EXISTS`` script ``schema``; on failure close ``conn`` and
    raise :class:`ConfigError` naming ``what`` (e.g. "the issuer tables") and the cause."""
    try:
        conn.executescript(schema)
    except ERRORS as exc:
        name = _file_name(conn)
        conn.close()
        raise ConfigError(f"cannot create {what} in {name}: {sqlite_cause(exc)}") from exc


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


__all__ = [
    "check_integrity",
    "connect",
    "corrupt_error",
    "create_schema",
    "immediate",
    "sqlite_cause",
]
