"""Spent Privacy Pass tokens: the gateway's "accepted once" memory (RFC 9578 §6.4, §7.1).

:class:`SpentTokenStore` is the interface the gateway's authorizer uses; back ends behind it:

* :class:`SqliteSpentTokenStore` — embedded, safe across *processes* on one host: each spend is
  one ``INSERT`` into a table whose primary key is ``(key_id, nonce)``, in its own transaction,
  so two processes racing to spend the same token cannot both succeed (SQLite serialises
  writers; the loser's insert violates the key). WAL journal, a busy timeout, and
  ``synchronous=NORMAL`` (a spend survives a process crash; a power cut may lose the last
  commits, which then could be spent again — see docs/tokens.md).
* :class:`MemorySpentTokenStore` — one process only, for tests and single-process tools.

What a row holds: the issuer key id (public, shared by every token of that key), the token nonce
and the key's expiry (when the row may be dropped: a token of an expired key is refused before
the store is asked). Nothing else: no time of spending, no request data.

Rows outlive their key by a margin (:data:`~privcloud.limits.SPENT_TOKEN_PURGE_SKEW_S`): the
process that purges and the process that checks a token may disagree about the time. Were rows
dropped at the key's expiry by a process whose clock is right, a process sharing the store whose
clock runs behind would still take the key for valid and accept its tokens a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol

from privcloud import limits
from privcloud.errors import ReplayError, UnavailableError, UsageError
from privcloud.storage.sqlite import connect, create_schema

#: Expiry stored for tokens of a key the issuer published without one (never purged).
NEVER: Final = 2**62
#: Spends between two WAL checkpoints, which run on the store's thread: SQLite's automatic
#: checkpoint would stall the spend that triggers it for milliseconds.
CHECKPOINT_EVERY: Final = 256

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spent_tokens (
    key_id  BLOB    NOT NULL,
    nonce   BLOB    NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spent_tokens_expires ON spent_tokens (expires);
"""


class SpentTokenStore(Protocol):
    """Remembers spent tokens; :meth:`spend` succeeds once per ``(key_id, nonce)``."""

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Record the token as spent. Raises :class:`ReplayError` if it already was, and
        :class:`UnavailableError` when the store cannot answer in time."""
        ...

    async def purge(self, now: float) -> int:
        """Drop tokens whose key expired more than the store's purge margin (clock skew between
        gateway processes) before ``now``; returns how many were dropped."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...


def _check(nonce: bytes, key_id: bytes) -> None:
    if len(nonce) != 32 or len(key_id) != 32:
        raise UsageError("token nonce and key id are 32 bytes")


class MemorySpentTokenStore:
    """Spent tokens in a set: correct within one process only."""

    def __init__(self, *, purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S) -> None:
        self._spent: dict[tuple[bytes, bytes], int] = {}
        self.purge_margin_s = purge_margin_s

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        _check(nonce, key_id)
        entry = (bytes(key_id), bytes(nonce))
        if entry in self._spent:  # no await between the test and the insert: atomic in asyncio
            raise ReplayError("token already spent")
        self._spent[entry] = expires

    async def purge(self, now: float) -> int:
        cutoff = now - self.purge_margin_s
        old = [entry for entry, expires in self._spent.items() if expires <= cutoff]
        for entry in old:
            del self._spent[entry]
        return len(old)

    async def close(self) -> None:
        self._spent.clear()

    def __len__(self) -> int:
        return len(self._spent)


class SqliteSpentTokenStore:
    """Spent tokens in an SQLite file shared by every gateway process on the host.

    A spend first tries its insert at once on the caller's thread, on a connection that never
    waits for a lock (SQLite answers "busy" immediately while another process writes); only then
    does it wait, on the store's private thread, up to the busy timeout. So the event loop is
    never blocked on another process's write lock, and the common case costs no thread hop.
    WAL checkpoints run on that thread too, every :data:`CHECKPOINT_EVERY` spends.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S,
        purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S,
    ) -> None:
        self.path = Path(path)
        #: Seconds a row is kept past its key's expiry (clock skew between gateway processes).
        self.purge_margin_s = purge_margin_s
        self._conn = connect(self.path, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()
        with self._lock:
            create_schema(self._conn, _SCHEMA, "the spent-token table")
        self._fast = connect(self.path, busy_timeout_s=busy_timeout_s)
        self._fast.execute("PRAGMA busy_timeout=0")  # never waits: busy means "use the thread"
        self._fast_lock = threading.Lock()
        for conn in (self._conn, self._fast):
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._spends = 0
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spent-tokens")

    def _spent(self) -> None:
        """Count a spend; every CHECKPOINT_EVERY, checkpoint the WAL on the store's thread."""
        self._spends += 1
        if self._spends % CHECKPOINT_EVERY == 0:
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @staticmethod
    def _insert(conn: sqlite3.Connection, nonce: bytes, key_id: bytes, expires: int) -> None:
        """One INSERT in its own transaction; raises :class:`ReplayError` on a duplicate and
        lets ``sqlite3.OperationalError`` (busy) through."""
        try:
            conn.execute(
                "INSERT INTO spent_tokens (key_id, nonce, expires) VALUES (?, ?, ?)",
                (bytes(key_id), bytes(nonce), int(expires)),
            )
        except sqlite3.IntegrityError as exc:
            raise ReplayError("token already spent") from exc

    def spend_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`spend`, waiting up to the busy timeout (for callers on their own
        thread, and the benchmark)."""
        _check(nonce, key_id)
        try:
            with self._lock:
                self._insert(self._conn, nonce, key_id, expires)
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc
        self._spent()

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        _check(nonce, key_id)
        if self._fast_lock.acquire(blocking=False):
            try:
                self._insert(self._fast, nonce, key_id, expires)
            except sqlite3.OperationalError:
                pass  # another process is writing: wait for it off the event loop
            except sqlite3.Error as exc:
                raise UnavailableError("spent-token store unavailable") from exc
            else:
                self._spent()
                return
            finally:
                self._fast_lock.release()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, lambda: self.spend_sync(nonce, key_id=key_id, expires=expires)
        )

    def purge_sync(self, now: float) -> int:
        """Drop rows whose key expired at least ``purge_margin_s`` before ``now``."""
        cutoff = int(now) - int(self.purge_margin_s)
        try:
            with self._lock:
                cursor = self._conn.execute(
                    "DELETE FROM spent_tokens WHERE expires <= ?", (cutoff,)
                )
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc
        return int(cursor.rowcount)

    async def purge(self, now: float) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.purge_sync, now)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._checkpoint)
        self._executor.shutdown(wait=True)
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()
        with self._fast_lock, contextlib.suppress(sqlite3.Error):
            self._fast.close()


__all__ = [
    "MemorySpentTokenStore",
    "SpentTokenStore",
    "SqliteSpentTokenStore",
    "connect",
]
