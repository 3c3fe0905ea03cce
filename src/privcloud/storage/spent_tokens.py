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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol

from privcloud import limits
from privcloud.errors import ConfigError, ReplayError, UnavailableError, UsageError

#: Expiry stored for tokens of a key the issuer published without one (never purged).
NEVER: Final = 2**62

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
        """Drop tokens whose key expired before ``now``; returns how many were dropped."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...


def _check(nonce: bytes, key_id: bytes) -> None:
    if len(nonce) != 32 or len(key_id) != 32:
        raise UsageError("token nonce and key id are 32 bytes")


class MemorySpentTokenStore:
    """Spent tokens in a set: correct within one process only."""

    def __init__(self) -> None:
        self._spent: dict[tuple[bytes, bytes], int] = {}

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        _check(nonce, key_id)
        entry = (bytes(key_id), bytes(nonce))
        if entry in self._spent:  # no await between the test and the insert: atomic in asyncio
            raise ReplayError("token already spent")
        self._spent[entry] = expires

    async def purge(self, now: float) -> int:
        old = [entry for entry, expires in self._spent.items() if expires <= now]
        for entry in old:
            del self._spent[entry]
        return len(old)

    async def close(self) -> None:
        self._spent.clear()

    def __len__(self) -> int:
        return len(self._spent)


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


class SqliteSpentTokenStore:
    """Spent tokens in an SQLite file shared by every gateway process on the host.

    Spends run on one private thread per store (SQLite calls block), so the event loop never
    waits on another process's write lock.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()
        try:
            with self._lock:
                self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise ConfigError("cannot create the spent-token table") from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spent-tokens")

    def spend_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`spend`, for callers on their own thread (and the benchmark)."""
        _check(nonce, key_id)
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO spent_tokens (key_id, nonce, expires) VALUES (?, ?, ?)",
                    (bytes(key_id), bytes(nonce), int(expires)),
                )
        except sqlite3.IntegrityError as exc:
            raise ReplayError("token already spent") from exc
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._executor, lambda: self.spend_sync(nonce, key_id=key_id, expires=expires)
        )

    def purge_sync(self, now: float) -> int:
        try:
            with self._lock:
                cursor = self._conn.execute(
                    "DELETE FROM spent_tokens WHERE expires <= ?", (int(now),)
                )
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc
        return int(cursor.rowcount)

    async def purge(self, now: float) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.purge_sync, now)

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


__all__ = [
    "MemorySpentTokenStore",
    "SpentTokenStore",
    "SqliteSpentTokenStore",
    "connect",
]
