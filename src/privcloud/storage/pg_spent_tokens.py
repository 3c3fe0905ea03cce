"""Spent tokens in PostgreSQL, shared by any number of gateway processes on any number of hosts:
the two-phase spend of :mod:`.spent_tokens` (reserve, then consume or release; a reservation
lapses :data:`~privcloud.limits.TOKEN_RESERVATION_TTL_S` after its holder's last heartbeat),
with redemptions batched into one round trip.

The batcher. Claims (reserve or spend) queue up; one thread takes up to
:data:`~privcloud.limits.MAX_SPENT_TOKEN_BATCH` of them — what arrived within
:data:`~privcloud.limits.SPENT_TOKEN_BATCH_WINDOW_S` of the first, plus whatever gathered while
the previous round trip ran — and sends them as arrays in ONE statement::

    INSERT INTO spent_tokens (key_id, nonce, holder) SELECT * FROM unnest($1, $2, $3)
    ON CONFLICT (key_id, nonce) DO UPDATE SET holder = excluded.holder
      WHERE spent_tokens.holder <> 0 AND <the old holder is not alive>
    RETURNING key_id, nonce

Each claim whose row comes back was fresh (or taken over from a dead holder); every other one
is refused with :class:`ReplayError`. A token twice in one batch is claimed once: the second
is refused before the statement. Consumes and releases go through the same thread, batched too,
before the claims of the same round, so a release is seen by a later reserve.

Nothing double-counted, nothing lost: the statement is atomic on each row (the primary key
decides races between processes); a reservation whose round trip failed is released again
(its outcome is unknown); consumes and releases that fail are retried in the next round and at
close; a process killed between phases leaves reservations that lapse after the TTL.

Partitions. ``spent_tokens`` is partitioned by list on the token key id — one partition per
issuer key, i.e. per key epoch — made when the first token of a key arrives and listed in
``token_epochs(key_id, expires, dropped)``. Purging a key's tokens is ``DROP TABLE`` of its
partition (no row-by-row delete, no vacuum debt); the key's row stays as a tombstone, so a token
of a dropped key is refused rather than accepted into a new, empty partition.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.errors import ReplayError, UnavailableError, UsageError
from privcloud.storage.postgres import PgConnection, first, lock_key
from privcloud.storage.spent_tokens import SPENT, settled

log = logging.getLogger("privcloud.redemption")

_UNAVAILABLE: Final = "spent-token store unavailable"
#: Batchers (connections) per store: one batch commits while the next gathers.
LANES: Final = 4

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS spent_tokens ("
    " key_id bytea NOT NULL, nonce bytea NOT NULL, holder bigint NOT NULL DEFAULT 0,"
    " PRIMARY KEY (key_id, nonce)) PARTITION BY LIST (key_id)",
    "CREATE TABLE IF NOT EXISTS token_epochs ("
    " key_id bytea PRIMARY KEY, expires bigint NOT NULL, dropped boolean NOT NULL DEFAULT false)",
    "CREATE TABLE IF NOT EXISTS token_holders ("
    " holder bigint PRIMARY KEY, alive_until double precision NOT NULL)",
)
_CLAIM: Final = """
INSERT INTO spent_tokens (key_id, nonce, holder)
SELECT * FROM unnest(%s::bytea[], %s::bytea[], %s::bigint[])
ON CONFLICT (key_id, nonce) DO UPDATE SET holder = excluded.holder
WHERE spent_tokens.holder <> 0
  AND spent_tokens.holder NOT IN (SELECT holder FROM token_holders WHERE alive_until > %s)
RETURNING key_id, nonce
"""
_CONSUME: Final = """
UPDATE spent_tokens t SET holder = 0 FROM unnest(%s::bytea[], %s::bytea[]) AS u(key_id, nonce)
WHERE t.key_id = u.key_id AND t.nonce = u.nonce AND t.holder = %s
RETURNING t.key_id, t.nonce
"""
_RELEASE: Final = """
DELETE FROM spent_tokens t USING unnest(%s::bytea[], %s::bytea[]) AS u(key_id, nonce)
WHERE t.key_id = u.key_id AND t.nonce = u.nonce AND t.holder = %s
"""
_BEAT: Final = (
    "INSERT INTO token_holders (holder, alive_until) VALUES (?, ?)"
    " ON CONFLICT (holder) DO UPDATE SET alive_until = excluded.alive_until"
)


def _partition(key_id: bytes) -> str:
    """The partition of a key's tokens (the id is 32 bytes; 16 of them name it)."""
    return "spent_" + key_id[:16].hex()


@dataclass(slots=True)
class _Claim:
    key_id: bytes
    nonce: bytes
    expires: int
    holder: int
    #: The asyncio loop of an async caller (its future is an asyncio one), else None.
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[None] | Future[None]


#: A settle waiting for its lane: (consume?, key_id, nonce, the consume's future).
_Settle = tuple[bool, bytes, bytes, Future[bool] | None]


def _check(nonce: bytes, key_id: bytes) -> None:
    if len(nonce) != 32 or len(key_id) != 32:
        raise UsageError("token nonce and key id are 32 bytes")


class _Lane:
    """One batcher: a connection, a thread, the claims and settles queued for it. A token
    always goes to the same lane (by its nonce), so its reserve, release and a later reserve
    are sent in the order they were made."""

    def __init__(self, store: PgSpentTokenStore, conn: PgConnection, name: str) -> None:
        self.store, self.conn = store, conn
        self.cv = threading.Condition()
        self.claims: collections.deque[_Claim] = collections.deque()
        #: Settles waiting for the batcher: (consume?, key_id, nonce, future of a consume).
        self.settles: collections.deque[_Settle] = collections.deque()
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)

    def submit(self, claim: _Claim) -> None:
        with self.cv:
            self.claims.append(claim)
            if len(self.claims) == 1 or len(self.claims) >= self.store.max_batch:
                self.cv.notify()

    def settle(self, consume: bool, key_id: bytes, nonce: bytes, done: Future[bool] | None) -> None:
        with self.cv:
            self.settles.append((consume, key_id, nonce, done))
            self.cv.notify()

    def run(self) -> None:
        store, stopping = self.store, self.store._stopping
        while True:
            with self.cv:
                while not self.claims and not self.settles and not stopping.is_set():
                    self.cv.wait()
                if stopping.is_set() and not self.claims and not self.settles:
                    return
                if store.window_s > 0 and len(self.claims) < store.max_batch:
                    deadline = time.monotonic() + store.window_s
                    while len(self.claims) < store.max_batch and not stopping.is_set():
                        left = deadline - time.monotonic()
                        if left <= 0 or not self.cv.wait(left):
                            break
                n = min(len(self.claims), store.max_batch)
                claims = [self.claims.popleft() for _ in range(n)]
                settles = list(self.settles)
                self.settles.clear()
            if settles:
                self.run_settles(settles)
            if claims:
                store._run_claims(self, claims)

    def run_settles(self, settles: list[_Settle]) -> None:
        holder, stopping = self.store.holder, self.store._stopping
        for consume, statement in ((True, _CONSUME), (False, _RELEASE)):
            mine = [entry for entry in settles if entry[0] is consume]
            if not mine:
                continue
            try:
                keys, nonces = [e[1] for e in mine], [e[2] for e in mine]
                cursor = self.conn.execute(statement, (keys, nonces, holder), binary=True)
                changed = {(bytes(k), bytes(n)) for k, n in cursor.fetchall()} if consume else set()
            except (psycopg.Error, UnavailableError):
                if stopping.is_set():
                    log.warning("gateway: %d token settles failed at close", len(mine))
                    _finish(mine, set())  # reservations lapse after the TTL
                    continue
                log.warning("gateway: %d token settles failed; retrying", len(mine))
                with self.cv:  # tried again next round
                    self.settles.extend(mine)
                time.sleep(0.05)
                continue
            if consume and len(changed) != len(mine):
                log.warning("gateway: %d token reservations lapsed", len(mine) - len(changed))
            _finish(mine, changed)


def _finish(settles: list[_Settle], changed: set[tuple[bytes, bytes]]) -> None:
    """Tell each consume's waiter whether its row became the spend."""
    for _, key_id, nonce, done in settles:
        if done is not None and not done.done():
            done.set_result((key_id, nonce) in changed)


class PgSpentTokenStore:
    """The spent-token store in schema ``schema`` of the PostgreSQL database at ``url``.

    ``lanes`` batchers (each its own connection and thread) work side by side, so one batch's
    commit overlaps the next batch's gathering. ``batch=False`` sends each claim alone, on
    one connection (one round trip per redemption; for comparison). ``reservation_ttl_s``
    and ``clock`` are as in :class:`~privcloud.storage.spent_tokens.SqliteSpentTokenStore`.
    Raises :class:`ConfigError` naming the database and the cause when it cannot be reached.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str,
        purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S,
        reservation_ttl_s: float = limits.TOKEN_RESERVATION_TTL_S,
        clock: Clock | None = None,
        batch: bool = True,
        window_s: float = limits.SPENT_TOKEN_BATCH_WINDOW_S,
        max_batch: int = limits.MAX_SPENT_TOKEN_BATCH,
        lanes: int = LANES,
    ) -> None:
        self.schema = schema
        self.purge_margin_s = purge_margin_s
        self.reservation_ttl_s = reservation_ttl_s
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.window_s = window_s if batch else 0.0
        self.max_batch = max(1, max_batch) if batch else 1
        #: This process's id in ``holder`` (random, never 0).
        self.holder = secrets.randbelow(2**62) + 1

        def setup(conn: PgConnection) -> None:
            conn.executescript(_SCHEMA)

        def connection(**kw: Any) -> PgConnection:
            return PgConnection(
                url, schema=schema, what="the spent-token tables", unavailable=_UNAVAILABLE, **kw
            )

        #: The connection for heartbeats and upkeep (made first: it creates the tables).
        self._aux = connection(setup=setup)
        self._stopping = threading.Event()
        self._lanes: list[_Lane] = []
        try:
            for i in range(max(1, lanes) if batch else 1):
                self._lanes.append(_Lane(self, connection(), f"spent-tokens-pg-{i}"))
        except BaseException:
            for lane in self._lanes:
                lane.conn.close()
            self._aux.close()
            raise
        self._epochs: set[bytes] = set()  # key ids whose partition exists
        self._held: set[tuple[bytes, bytes]] = set()
        self._held_lock = threading.Lock()
        self._closed = False
        self._beat()  # alive before the first reservation
        for lane in self._lanes:
            lane.thread.start()
        self._heart = threading.Thread(
            target=self._beat_loop, name="spent-tokens-heartbeat", daemon=True
        )
        self._heart.start()

    def _lane(self, nonce: bytes) -> _Lane:
        return self._lanes[nonce[-1] % len(self._lanes)]

    # --- liveness ------------------------------------------------------------------------------

    def _beat(self) -> None:
        try:
            self._aux.execute(_BEAT, (self.holder, self.clock.now() + self.reservation_ttl_s))
        except psycopg.Error as exc:
            raise UnavailableError(_UNAVAILABLE) from exc

    def _beat_loop(self) -> None:
        while not self._stopping.wait(self.reservation_ttl_s / 3):
            try:
                self._beat()
            except UnavailableError:
                log.warning("gateway: token reservation heartbeat failed")

    # --- the callers' side ---------------------------------------------------------------------

    def _submit(self, claim: _Claim) -> None:
        if self._closed:
            raise UnavailableError(_UNAVAILABLE)
        self._lane(claim.nonce).submit(claim)

    async def _claim_async(self, nonce: bytes, key_id: bytes, expires: int, holder: int) -> None:
        _check(nonce, key_id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._submit(
            _Claim(bytes(key_id), bytes(nonce), int(expires), holder, future.get_loop(), future)
        )
        # A caller cancelled while waiting cancels ``future``; _set_all then gives back a
        # reservation the batch took for it.
        await future

    def _claim_sync(self, nonce: bytes, key_id: bytes, expires: int, holder: int) -> None:
        _check(nonce, key_id)
        future: Future[None] = Future()
        self._submit(_Claim(bytes(key_id), bytes(nonce), int(expires), holder, None, future))
        future.result()

    async def reserve(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        await self._claim_async(nonce, key_id, expires, self.holder)

    async def spend(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        await self._claim_async(nonce, key_id, expires, SPENT)

    def reserve_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`reserve` (for callers on their own thread, and the benchmark)."""
        self._claim_sync(nonce, key_id, expires, self.holder)

    def spend_sync(self, nonce: bytes, *, key_id: bytes, expires: int) -> None:
        """Blocking :meth:`spend`."""
        self._claim_sync(nonce, key_id, expires, SPENT)

    def _settle(self, consume: bool, nonce: bytes, key_id: bytes) -> Future[bool]:
        entry = (bytes(key_id), bytes(nonce))
        with self._held_lock:
            if entry not in self._held:
                return settled(False)  # not ours, or settled already
            self._held.discard(entry)
        done: Future[bool] = Future()
        self._lane(entry[1]).settle(consume, *entry, done if consume else None)
        return done

    def consume(self, nonce: bytes, *, key_id: bytes) -> Future[bool]:
        return self._settle(True, nonce, key_id)

    def release(self, nonce: bytes, *, key_id: bytes) -> None:
        self._settle(False, nonce, key_id)

    def held(self) -> int:
        """How many tokens this process holds (reserved, neither consumed nor released)."""
        with self._held_lock:
            return len(self._held)

    # --- on a lane's thread ----------------------------------------------------------------------

    def _ensure_epochs(self, conn: PgConnection, claims: list[_Claim]) -> set[bytes]:
        """Make the partitions of the claims' keys that this process has not seen; return the
        key ids whose partition was dropped (their tokens are refused)."""
        dropped: set[bytes] = set()
        for claim in claims:
            if claim.key_id in self._epochs or claim.key_id in dropped:
                continue
            with conn.transaction() as db:
                db.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("epochs", self.schema),))
                (gone,) = first(
                    db.execute(
                        "INSERT INTO token_epochs (key_id, expires) VALUES (?, ?) "
                        "ON CONFLICT (key_id) DO UPDATE "
                        "SET expires = GREATEST(token_epochs.expires, excluded.expires) "
                        "RETURNING dropped",
                        (claim.key_id, claim.expires),
                    )
                )
                if gone:
                    dropped.add(claim.key_id)
                    continue
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {_partition(claim.key_id)} PARTITION OF "
                    f"spent_tokens FOR VALUES IN ('\\x{claim.key_id.hex()}'::bytea)"
                )
            self._epochs.add(claim.key_id)
        return dropped

    def _run_claims(self, lane: _Lane, claims: list[_Claim]) -> None:
        outcome: dict[int, BaseException | None] = {}
        seen: set[tuple[bytes, bytes]] = set()
        batch: list[_Claim] = []
        for claim in claims:  # a token twice in one batch: the later claim loses
            entry = (claim.key_id, claim.nonce)
            if entry in seen:
                outcome[id(claim)] = ReplayError("token already spent")
            else:
                seen.add(entry)
                batch.append(claim)
        try:
            won = self._insert(lane.conn, batch, outcome)
        except (psycopg.Error, UnavailableError) as exc:
            error = UnavailableError(_UNAVAILABLE)
            error.__cause__ = exc
            for claim in batch:
                outcome[id(claim)] = error
                if claim.holder != SPENT:  # it may have been taken: give it back
                    lane.settle(False, claim.key_id, claim.nonce, None)
            won = set()
        with self._held_lock:
            for claim in batch:
                if id(claim) in outcome:
                    continue
                if (claim.key_id, claim.nonce) in won:
                    outcome[id(claim)] = None
                    if claim.holder != SPENT:
                        self._held.add((claim.key_id, claim.nonce))
                else:
                    outcome[id(claim)] = ReplayError("token already spent")
        self._resolve(claims, outcome)

    def _insert(
        self, conn: PgConnection, batch: list[_Claim], outcome: dict[int, BaseException | None]
    ) -> set[tuple[bytes, bytes]]:
        """The one statement (retried once if a partition vanished under a cached key)."""
        for attempt in range(2):
            dropped = self._ensure_epochs(conn, batch)
            live = [c for c in batch if c.key_id not in dropped]
            for claim in batch:
                if claim.key_id in dropped:
                    outcome[id(claim)] = ReplayError("token of an expired key")
            if not live:
                return set()
            try:
                rows = conn.execute(
                    _CLAIM,
                    (
                        [c.key_id for c in live],
                        [c.nonce for c in live],
                        [c.holder for c in live],
                        self.clock.now(),
                    ),
                    binary=True,
                ).fetchall()
            except psycopg.errors.CheckViolation:  # no partition: dropped by another process
                self._epochs.clear()
                if attempt:
                    raise
                continue
            return {(bytes(k), bytes(n)) for k, n in rows}
        return set()  # pragma: no cover (the loop returns or raises)

    def _resolve(self, claims: list[_Claim], outcome: dict[int, BaseException | None]) -> None:
        """Tell each caller its outcome: one hop per event loop, not one per claim."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Claim, BaseException | None]]] = {}
        for claim in claims:
            result = outcome[id(claim)]
            if claim.loop is None:
                sync = claim.future
                assert isinstance(sync, Future)
                if result is None:
                    sync.set_result(None)
                else:
                    sync.set_exception(result)
            else:
                by_loop.setdefault(claim.loop, []).append((claim, result))
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._set_all, items)

    def _set_all(self, items: list[tuple[_Claim, BaseException | None]]) -> None:
        """On the callers' loop: complete their futures; a reservation taken for a caller that
        was cancelled meanwhile is given back."""
        for claim, result in items:
            future = claim.future
            assert isinstance(future, asyncio.Future)
            if future.done():  # cancelled
                if result is None and claim.holder != SPENT:
                    self.release(claim.nonce, key_id=claim.key_id)
            elif result is None:
                future.set_result(None)
            else:
                future.set_exception(result)

    # --- upkeep --------------------------------------------------------------------------------

    def purge_sync(self, now: float) -> int:
        """Drop the partitions of keys that expired at least ``purge_margin_s`` before ``now``
        (``DROP TABLE``; the key stays as a tombstone) and the heartbeats of processes no
        longer alive; returns how many tokens were dropped."""
        cutoff = int(now) - int(self.purge_margin_s)
        dropped = 0
        with self._aux.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("epochs", self.schema),))
            rows = db.execute(
                "SELECT key_id FROM token_epochs WHERE NOT dropped AND expires <= ?", (cutoff,)
            ).fetchall()
            for (key_id,) in rows:
                name = _partition(bytes(key_id))
                (count,) = first(db.execute(f"SELECT count(*) FROM {name}"))  # noqa: S608
                db.execute(f"DROP TABLE {name}")
                db.execute("UPDATE token_epochs SET dropped = true WHERE key_id = ?", (key_id,))
                dropped += int(count)
            db.execute("DELETE FROM token_holders WHERE alive_until <= ?", (self.clock.now(),))
        return dropped

    async def purge(self, now: float) -> int:
        return await asyncio.to_thread(self.purge_sync, now)

    async def close(self) -> None:
        """Give back whatever this process still holds, finish queued work, stop the
        heartbeat, close."""
        if self._closed:
            return
        self._closed = True
        with self._held_lock:
            held = list(self._held)
        for key_id, nonce in held:
            self.release(nonce, key_id=key_id)
        self._stopping.set()
        for lane in self._lanes:
            with lane.cv:
                lane.cv.notify_all()
        for lane in self._lanes:
            await asyncio.to_thread(lane.thread.join)
        await asyncio.to_thread(self._heart.join)
        with contextlib.suppress(psycopg.Error, UnavailableError):
            self._aux.execute("DELETE FROM token_holders WHERE holder = ?", (self.holder,))
        for lane in self._lanes:
            lane.conn.close()
        self._aux.close()


__all__ = ["PgSpentTokenStore"]
