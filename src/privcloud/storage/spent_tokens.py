"""Spent Privacy Pass tokens: the gateway's "accepted once" memory (RFC 9578 §6.4, §7.1), spent
in two phases, in the way OpenPCC's nonce locker works (``anonpay.NonceLocker``: check and lock,
then consume or release).

1. :meth:`~SpentTokenStore.reserve` holds the token for one request — one statement, so two
   requests racing with the same token (in any gateway process sharing the store) cannot both
   hold it. A held token is refused like a spent one.
2. :meth:`~SpentTokenStore.consume` marks it spent for good once a node accepted the request.
3. :meth:`~SpentTokenStore.release` gives it back when no node did (no healthy node, connection
   refused, a node's 5xx before any byte): the device is not charged for it.

:meth:`~SpentTokenStore.spend` does 1 and 2 at once (the gateway's default: docs/adr/0029).
A reservation neither consumed nor released (its gateway was killed) lapses
:data:`~privcloud.limits.TOKEN_RESERVATION_TTL_S` after that gateway's last sign of life, and
the token can be spent again.

Back ends:

* :class:`SqliteSpentTokenStore` — embedded, safe across *processes* on one host: each step is
  one statement on a table whose primary key is ``(key_id, nonce)``, in its own transaction
  (SQLite serialises writers; the loser of a race finds the row). WAL journal, a busy timeout,
  ``synchronous=NORMAL`` (a spend survives a process crash; a power cut may lose the last
  commits, which then could be spent again — see docs/tokens.md).
* :class:`MemorySpentTokenStore` — one process only, for tests and single-process tools.

What a row holds: the issuer key id (public, shared by every token of that key), the token nonce,
the key's expiry (when the row may be dropped: a token of an expired key is refused before the
store is asked), and ``holder``: 0 once spent, else the random id of the gateway process that
holds the reservation. No time of spending, no request data. Reservations lapse by *process*,
not by request: each store instance writes ``token_holders(holder, alive_until)`` at start and
every third of the TTL, and a reservation whose holder is not alive any more can be taken over.
So no row ever carries a per-request time (a lease deadline per row would: a redemption time).

Rows outlive their key by a margin (:data:`~privcloud.limits.SPENT_TOKEN_PURGE_SKEW_S`): the
process that purges and the process that checks a token may disagree about the time. Were rows
dropped at the key's expiry by a process whose clock is right, a process sharing the store whose
clock runs behind would still take the key for valid and accept its tokens a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.errors import ReplayError, UnavailableError, UsageError
from privcloud.storage.sqlite import check_integrity, connect, create_schema, immediate

log = logging.getLogger("privcloud.redemption")

#: Expiry stored for tokens of a key the issuer published without one (never purged).
NEVER: Final = 2**62
#: Writes between two WAL checkpoints, which run on the store's thread: SQLite's automatic
#: checkpoint would stall the spend that triggers it for milliseconds.
CHECKPOINT_EVERY: Final = 256
#: ``holder`` of a spent token's row.
SPENT: Final = 0

#: The index on ``expires`` (which holds each row's key too) is not only for the purge: it is
#: the second copy of every (key id, nonce) that lets ``PRAGMA integrity_check`` see a byte
#: flipped inside a spent nonce, which would otherwise let that token be accepted again
#: (tests/e2e/test_start_faults.py). Dropping it saves a B-tree write per spend (about 3 µs
#: p50 here, 2026-12-07) and loses that; kept.
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spent_tokens (
    key_id  BLOB    NOT NULL,
    nonce   BLOB    NOT NULL,
    expires INTEGER NOT NULL,
    holder  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spent_tokens_expires ON spent_tokens (expires);
CREATE TABLE IF NOT EXISTS token_holders (
    holder      INTEGER PRIMARY KEY,
    alive_until REAL    NOT NULL
);
"""

#: Reserve (holder = a live process) or spend (holder = 0): one statement. A new token is an
#: INSERT; a row already there is taken over only when a process that is no longer alive held
#: it (the subquery runs only on that conflict). No row changed: spent, or held by a live one.
_CLAIM: Final = """
INSERT INTO spent_tokens (key_id, nonce, expires, holder) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (key_id, nonce) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE spent_tokens.holder != 0
  AND spent_tokens.holder NOT IN (SELECT holder FROM token_holders WHERE alive_until > ?5)
"""
_CONSUME: Final = "UPDATE spent_tokens SET holder = 0 WHERE key_id = ? AND nonce = ? AND holder = ?"
_RELEASE: Final = "DELETE FROM spent_tokens WHERE key_id = ? AND nonce = ? AND holder = ?"
_BEAT: Final = """
INSERT INTO token_holders (holder, alive_until) VALUES (?, ?)
ON CONFLICT (holder) DO UPDATE SET alive_until = excluded.alive_until
"""


def settled(result: bool) -> Future[bool]:
    """A future already done with ``result`` (a write that needed no thread)."""
    future: Future[bool] = Future()
    future.set_result(result)
    return future


class SpentTokenStore(Protocol):
    """Remembers spent tokens; a ``(key_id, nonce)`` is held by one request at a time and
    spent once."""

    async def reserve(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Hold the token for one request. Raises :class:`ReplayError` if it is spent or held
        (by a live process), and :class:`UnavailableError` when the store cannot answer in
        time. Every reservation must end in :meth:`consume` or :meth:`release`."""
        ...

    def consume(self, nonce: bytes, *, key_id: bytes) -> Future[bool]:
        """Mark a token this store holds as spent. Never blocks: when the database is busy the
        write is left to the store's thread. The future is done once the write is durable:
        ``True`` when this store's reservation became the spend, ``False`` when the write failed
        or the reservation had lapsed (another process may hold the token now). A gateway waits
        for it before it sends a node's answer on (docs/tokens.md#spending)."""
        ...

    def release(self, nonce: bytes, *, key_id: bytes) -> None:
        """Give back a token this store holds (it can be spent again). Never blocks."""
        ...

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Reserve and consume at once. Raises as :meth:`reserve`."""
        ...

    async def purge(self, now: float) -> int:
        """Drop tokens whose key expired more than the store's purge margin (clock skew between
        gateway processes) before ``now``; returns how many were dropped."""
        ...

    async def close(self) -> None:
        """Release the store's resources (and any reservation still held)."""
        ...


def _check(nonce: bytes, key_id: bytes) -> None:
    if len(nonce) != 32 or len(key_id) != 32:
        raise UsageError("token nonce and key id are 32 bytes")


class MemorySpentTokenStore:
    """Spent tokens in a dict: correct within one process only (its reservations die with it,
    so none needs a TTL)."""

    def __init__(self, *, purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S) -> None:
        #: ``(key_id, nonce)`` -> ``(key expiry, held)``.
        self._rows: dict[tuple[bytes, bytes], tuple[int, bool]] = {}
        self.purge_margin_s = purge_margin_s

    def _claim(self, nonce: bytes, key_id: bytes, expires: int, *, held: bool) -> None:
        _check(nonce, key_id)
        entry = (bytes(key_id), bytes(nonce))
        if entry in self._rows:  # no await between the test and the insert: atomic in asyncio
            raise ReplayError("token already spent")
        self._rows[entry] = (expires, held)

    async def reserve(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        self._claim(nonce, key_id, expires, held=True)

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        self._claim(nonce, key_id, expires, held=False)

    def consume(self, nonce: bytes, *, key_id: bytes) -> Future[bool]:
        entry = (bytes(key_id), bytes(nonce))
        row = self._rows.get(entry)
        if row is not None and row[1]:
            self._rows[entry] = (row[0], False)
        return settled(row is not None)

    def release(self, nonce: bytes, *, key_id: bytes) -> None:
        entry = (bytes(key_id), bytes(nonce))
        row = self._rows.get(entry)
        if row is not None and row[1]:
            del self._rows[entry]

    def held(self) -> int:
        """How many tokens are reserved and neither consumed nor released."""
        return sum(1 for _, held in self._rows.values() if held)

    async def purge(self, now: float) -> int:
        cutoff = now - self.purge_margin_s
        old = [entry for entry, (expires, _) in self._rows.items() if expires <= cutoff]
        for entry in old:
            del self._rows[entry]
        return len(old)

    async def close(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        """How many tokens are spent (consumed)."""
        return len(self._rows) - self.held()


class SqliteSpentTokenStore:
    """Spent tokens in an SQLite file shared by every gateway process on the host.

    Each step first tries its statement at once on the caller's thread, on a connection that
    never waits for a lock (SQLite answers "busy" immediately while another process writes);
    only then is it done on the store's private thread, which waits up to the busy timeout. So
    the event loop is never blocked on another process's write lock, and the common case costs
    no thread hop. WAL checkpoints run on that thread too, every :data:`CHECKPOINT_EVERY` writes.

    ``reservation_ttl_s``: how long this process's reservations outlive its last heartbeat
    (written at start and every third of it, on a thread of its own); ``clock`` dates the
    heartbeats and decides whether another process's have lapsed.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S,
        purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S,
        reservation_ttl_s: float = limits.TOKEN_RESERVATION_TTL_S,
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        #: Seconds a row is kept past its key's expiry (clock skew between gateway processes).
        self.purge_margin_s = purge_margin_s
        self.reservation_ttl_s = reservation_ttl_s
        self.clock: Clock = clock if clock is not None else SystemClock()
        #: This process's id in ``holder`` (random, never 0; says nothing but "this process").
        self.holder = secrets.randbelow(2**62) + 1
        self._conn = connect(self.path, busy_timeout_s=busy_timeout_s)
        check_integrity(self._conn, "the spent-token database")  # corrupt: refused
        self._lock = threading.Lock()
        with self._lock:
            create_schema(self._conn, _SCHEMA, "the spent-token table")
            self._migrate()
        self._fast = connect(self.path, busy_timeout_s=busy_timeout_s)
        self._fast.execute("PRAGMA busy_timeout=0")  # never waits: busy means "use the thread"
        self._fast_lock = threading.Lock()
        for conn in (self._conn, self._fast):
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._writes = 0
        self._closed = False
        #: The ``(key_id, nonce)`` this process holds now (given back at close).
        self._held: set[tuple[bytes, bytes]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spent-tokens")
        self._stopping = threading.Event()
        self._beat()  # alive before the first reservation
        self._heart = threading.Thread(
            target=self._beat_loop, name="spent-tokens-heartbeat", daemon=True
        )
        self._heart.start()

    def _migrate(self) -> None:
        """Add ``holder`` to a table made before two-phase spending (its rows are spent)."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(spent_tokens)")}
        if "holder" in columns:
            return
        with immediate(self._conn, "spent-token store unavailable") as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(spent_tokens)")}
            if "holder" not in columns:
                conn.execute(
                    "ALTER TABLE spent_tokens ADD COLUMN holder INTEGER NOT NULL DEFAULT 0"
                )

    # --- liveness -------------------------------------------------------------------------------

    def _beat(self) -> None:
        """Say this process is alive for another TTL. Raises :class:`UnavailableError`."""
        try:
            with self._lock:
                self._conn.execute(_BEAT, (self.holder, self.clock.now() + self.reservation_ttl_s))
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc

    def _beat_loop(self) -> None:
        while not self._stopping.wait(self.reservation_ttl_s / 3):
            try:
                self._beat()
            except UnavailableError:
                log.warning("gateway: token reservation heartbeat failed")

    # --- writes ---------------------------------------------------------------------------------

    def _wrote(self) -> None:
        """Count a write; every CHECKPOINT_EVERY, checkpoint the WAL on the store's thread."""
        self._writes += 1
        if self._writes % CHECKPOINT_EVERY == 0:
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _claim(
        self, conn: sqlite3.Connection, nonce: bytes, key_id: bytes, expires: int, holder: int
    ) -> None:
        """One statement in its own transaction; raises :class:`ReplayError` when the token is
        spent or held by a live process, and lets ``sqlite3.OperationalError`` (busy) through."""
        now = self.clock.now()
        cursor = conn.execute(_CLAIM, (bytes(key_id), bytes(nonce), int(expires), holder, now))
        if cursor.rowcount != 1:
            raise ReplayError("token already spent")
        if holder != SPENT:
            self._held.add((bytes(key_id), bytes(nonce)))

    def _claim_sync(self, nonce: bytes, key_id: bytes, expires: int, holder: int) -> None:
        try:
            with self._lock:
                self._claim(self._conn, nonce, key_id, expires, holder)
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc
        self._wrote()

    def spend_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`spend`, waiting up to the busy timeout (for callers on their own
        thread, and the benchmark)."""
        _check(nonce, key_id)
        self._claim_sync(nonce, key_id, expires, SPENT)

    def reserve_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`reserve`."""
        _check(nonce, key_id)
        self._claim_sync(nonce, key_id, expires, self.holder)

    async def _claim_async(self, nonce: bytes, key_id: bytes, expires: int, holder: int) -> None:
        _check(nonce, key_id)
        if self._fast_lock.acquire(blocking=False):
            try:
                self._claim(self._fast, nonce, key_id, expires, holder)
            except sqlite3.OperationalError:
                pass  # another process is writing: wait for it off the event loop
            except sqlite3.Error as exc:
                raise UnavailableError("spent-token store unavailable") from exc
            else:
                self._wrote()
                return
            finally:
                self._fast_lock.release()
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(
            self._executor, lambda: self._claim_sync(nonce, key_id, expires, holder)
        )
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            if holder != SPENT:  # the caller is gone: give back what the thread may still take
                done.add_done_callback(
                    lambda f: (
                        None
                        if f.cancelled() or f.exception() is not None
                        else self.release(nonce, key_id=key_id)
                    )
                )
            raise

    async def reserve(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        await self._claim_async(nonce, key_id, expires, self.holder)

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        await self._claim_async(nonce, key_id, expires, SPENT)

    def _settle(self, statement: str, nonce: bytes, key_id: bytes, what: str) -> Future[bool]:
        """Run ``statement`` on this process's reservation of the token, now if the database
        is free, else on the store's thread; never raises, never blocks. The future says
        whether the row was this process's and changed (``False`` too when the write failed)."""
        entry = (bytes(key_id), bytes(nonce))
        if entry not in self._held:
            return settled(False)  # not ours, or settled already
        self._held.discard(entry)
        args = (*entry, self.holder)

        def run(conn: sqlite3.Connection) -> bool:
            if conn.execute(statement, args).rowcount != 1:
                log.warning("gateway: token reservation lapsed before it was %s", what)
                return False
            return True

        def on_thread() -> bool:
            try:
                with self._lock:
                    done = run(self._conn)
            except sqlite3.Error:
                log.warning("gateway: token reservation could not be %s", what)
                return False
            self._wrote()
            return done

        if self._fast_lock.acquire(blocking=False):
            try:
                done = run(self._fast)
            except sqlite3.Error:
                pass  # busy (or worse): the thread waits and tries again
            else:
                self._wrote()
                return settled(done)
            finally:
                self._fast_lock.release()
        return self._submit(on_thread)

    def _submit(self, job: Callable[[], bool]) -> Future[bool]:
        try:
            return self._executor.submit(job)
        except RuntimeError:  # closed: the job runs here (close() is giving back the rest)
            return settled(job())

    def consume(self, nonce: bytes, *, key_id: bytes) -> Future[bool]:
        return self._settle(_CONSUME, nonce, key_id, "consumed")

    def release(self, nonce: bytes, *, key_id: bytes) -> None:
        self._settle(_RELEASE, nonce, key_id, "released")

    def held(self) -> int:
        """How many tokens this process holds (reserved, neither consumed nor released)."""
        return len(self._held)

    # --- upkeep ---------------------------------------------------------------------------------

    def purge_sync(self, now: float) -> int:
        """Drop rows whose key expired at least ``purge_margin_s`` before ``now``, and the
        heartbeats of processes no longer alive (by the store's clock)."""
        cutoff = int(now) - int(self.purge_margin_s)
        try:
            with self._lock:
                cursor = self._conn.execute(
                    "DELETE FROM spent_tokens WHERE expires <= ?", (cutoff,)
                )
                self._conn.execute(
                    "DELETE FROM token_holders WHERE alive_until <= ?", (self.clock.now(),)
                )
        except sqlite3.Error as exc:
            raise UnavailableError("spent-token store unavailable") from exc
        return int(cursor.rowcount)

    async def purge(self, now: float) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.purge_sync, now)

    async def close(self) -> None:
        """Stop the heartbeat and give back whatever this process still holds (it will never
        consume it), then close."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        for key_id, nonce in list(self._held):
            self.release(nonce, key_id=key_id)
        self._executor.submit(self._checkpoint)
        self._executor.shutdown(wait=True)
        await asyncio.to_thread(self._heart.join)
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.execute("DELETE FROM token_holders WHERE holder = ?", (self.holder,))
            self._conn.close()
        with self._fast_lock, contextlib.suppress(sqlite3.Error):
            self._fast.close()


__all__ = [
    "NEVER",
    "SPENT",
    "MemorySpentTokenStore",
    "SpentTokenStore",
    "SqliteSpentTokenStore",
    "connect",
]
