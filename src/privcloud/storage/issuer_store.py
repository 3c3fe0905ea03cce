"""The token issuer's own state, in one SQLite file (embedded; several issuer processes on one
host may share it).

Everything the issuer keeps, table by table — and, on purpose, nothing more (docs/tokens.md):

``devices(device_id, public_key)``
    enrolled devices: the 16-byte id and the Ed25519 key that signs their requests. No name,
    no time of enrolment.
``enrolment_codes(code_hash, expires)``
    unused one-time enrolment codes and attestation challenges, as (domain-separated) SHA-256
    hashes; a row is deleted, in one statement, when its code or challenge is used.
``quota(device_id, period, used)``
    how many tokens a device was issued in the current quota period (older periods are dropped).
``request_nonces(device_id, nonce, expires)``
    nonces of signed issuance requests, kept while their timestamp window is open, to refuse
    replays. ``expires`` is coarse on purpose: the end of the window rounded *up* to
    ``limits.ISSUANCE_NONCE_EXPIRY_BUCKET_S`` (10 minutes), so a row tells only which bucket a
    request fell in, not when it was made (``services.issuer_core.nonce_expiry``).
``issuance_batches(device_id, batch_id, body_hash, period)``
    batches charged in the current quota period and the one before: the random 16-byte id the
    device chose for the batch, SHA-256 of its body (the blinded token requests) and the period
    number the charge fell in, so that a retry of the same batch is answered again without a
    second charge and a retry with another body is refused (docs/adr/0011). Dropped when the
    period after the charge's ends; no time finer than the period number.
``issuer_keys(key_id, private_key, not_before, expires)``
    the issuer's RSA key pairs (PKCS#8 DER) and their validity; dropped when they expire.

Never stored: blinded messages, blind signatures, token nonces, challenges, precise request
(issuance) times — the only trace of when a request came is its nonce row's coarse expiry, kept
minutes, and the quota period's number. (A batch row's body hash is a hash of blinded messages,
which are independent of the tokens they become: it links nothing to a redemption.)
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol

from privcloud import limits
from privcloud.errors import (
    AuthenticationError,
    RateLimitedError,
    ReplayError,
    UnavailableError,
)
from privcloud.storage.sqlite import check_integrity, connect, create_schema, immediate

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS devices (
    device_id  BLOB PRIMARY KEY,
    public_key BLOB NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash BLOB PRIMARY KEY,
    expires   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota (
    device_id BLOB    NOT NULL,
    period    INTEGER NOT NULL,
    used      INTEGER NOT NULL,
    PRIMARY KEY (device_id, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_nonces (
    device_id BLOB    NOT NULL,
    nonce     BLOB    NOT NULL,
    expires   INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issuance_batches (
    device_id BLOB    NOT NULL,
    batch_id  BLOB    NOT NULL,
    body_hash BLOB    NOT NULL,
    period    INTEGER NOT NULL,
    PRIMARY KEY (device_id, batch_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS used_challenges (
    challenge_hash BLOB PRIMARY KEY,
    expires        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issuer_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issuer_keys (
    key_id      BLOB PRIMARY KEY,
    private_key BLOB    NOT NULL,
    not_before  INTEGER NOT NULL,
    expires     INTEGER NOT NULL
) WITHOUT ROWID;
"""


class _Db(Protocol):
    """What a transaction hands the store's SQL (``sqlite3.Connection`` or the PostgreSQL
    stores' :class:`~privcloud.storage.postgres.PgConnection`): ``?`` placeholders."""

    def execute(self, sql: str, args: Any = ..., /) -> Any: ...


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One issuer key pair as stored: PKCS#8 DER private key and its validity (Unix seconds)."""

    key_id: bytes
    private_key: bytes = field(repr=False)
    not_before: int
    expires: int


class IssuerStore:
    """Blocking access to the issuer's SQLite file; every method is one transaction.

    Store errors other than the refusals below become :class:`UnavailableError` (503). The
    SQL is shared with :class:`~privcloud.storage.pg_issuer.PgIssuerStore`, which overrides
    the plumbing (``_transaction``, ``_read``, ``close``) only.
    """

    #: What the database driver raises.
    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error,)
    #: Use up an enrolment code still valid at ``now``, in one statement: of concurrent uses
    #: exactly one gets the row back (SQLite: the file lock; PostgreSQL: the row lock, after
    #: which the waiting DELETE finds the row gone).
    _USE_CODE: ClassVar[str] = (
        "DELETE FROM enrolment_codes WHERE code_hash = ? AND expires > ? RETURNING 1"
    )
    #: Use up an attestation challenge (the issuer checked its tag and expiry): the first
    #: use inserts its row, every later one finds it (SQLite: the file lock; PostgreSQL: the
    #: primary key's unique check waits for the first transaction).
    _USE_CHALLENGE: ClassVar[str] = (
        "INSERT INTO used_challenges (challenge_hash, expires) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING RETURNING 1"
    )

    def __init__(
        self, path: str | Path, *, busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, busy_timeout_s=busy_timeout_s)
        check_integrity(self._conn, "the issuer database")  # a corrupt store is refused
        self._lock = threading.Lock()
        with self._lock:
            create_schema(self._conn, _SCHEMA, "the issuer tables")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Db]:
        """``BEGIN IMMEDIATE`` (take the write lock first, so checks and writes are atomic
        across processes), commit on success, roll back on any exception."""
        with self._lock, immediate(self._conn, "issuer store unavailable") as conn:
            yield conn

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one read-only statement, outside a transaction."""
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # --- enrolment -----------------------------------------------------------------------------

    def add_enrolment_code(self, code_hash: bytes, expires: int) -> None:
        """Remember a one-time enrolment code (its hash) until ``expires``."""
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO enrolment_codes (code_hash, expires) VALUES (?, ?)",
                    (code_hash, expires),
                )
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def enrol(
        self,
        code_hash: bytes,
        device_id: bytes,
        public_key: bytes,
        now: float,
        *,
        challenge_expires: int | None = None,
    ) -> None:
        """Use up an enrolment code (or, given ``challenge_expires``, an attestation challenge
        the issuer made and checked: :meth:`_use`) and register a device, atomically.

        Raises :class:`AuthenticationError` when the code is unknown, used or expired, and
        :class:`ReplayError` when the device key is already registered (the code is then kept).
        """
        try:
            with self._transaction() as db:
                if not self._use(db, code_hash, now, challenge_expires):
                    raise AuthenticationError("enrolment code unknown, used or expired")
                known = db.execute(
                    "SELECT 1 FROM devices WHERE device_id = ? OR public_key = ?",
                    (device_id, public_key),
                ).fetchone()
                if known is not None:
                    raise ReplayError("device key already enrolled")  # rolls the use back
                added = db.execute(
                    "INSERT INTO devices (device_id, public_key) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING 1",
                    (device_id, public_key),
                ).fetchone()
                if added is None:  # enrolled meanwhile by another process
                    raise ReplayError("device key already enrolled")
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def use_enrolment_code(
        self, code_hash: bytes, now: float, *, challenge_expires: int | None = None
    ) -> bool:
        """Use up an enrolment code (or challenge) without enrolling anything: one atomic
        statement, so that of concurrent uses of one code exactly one returns True. False when
        the code is unknown, used or expired."""
        try:
            with self._transaction() as db:
                return self._use(db, code_hash, now, challenge_expires)
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def _use(self, db: _Db, code_hash: bytes, now: float, challenge_expires: int | None) -> bool:
        """Use up a code (its row goes) or a challenge (its row comes: challenges are made
        without a write, so that asking for them costs the store nothing; a red-team review,
        2026-12-07), in one statement; whether this was its first use."""
        if challenge_expires is None:
            return db.execute(self._USE_CODE, (code_hash, int(now))).fetchone() is not None
        if challenge_expires <= now:
            return False
        used = db.execute(self._USE_CHALLENGE, (code_hash, challenge_expires)).fetchone()
        return used is not None

    def shared_secret(self, name: str, fresh: bytes) -> bytes:
        """The secret ``name`` every process of this store shares: ``fresh`` when it is the
        first to ask, else the one stored first."""
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO issuer_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (name, fresh),
                )
                row = db.execute(
                    "SELECT value FROM issuer_secrets WHERE name = ?", (name,)
                ).fetchone()
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return bytes(row[0])

    def device_key(self, device_id: bytes) -> bytes | None:
        """The public key of an enrolled device, or None."""
        try:
            rows = self._read("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return None if not rows else bytes(rows[0][0])

    def remove_device(self, device_id: bytes) -> bool:
        """Revoke a device (its key stops working at once); returns whether it existed."""
        try:
            with self._transaction() as db:
                gone = db.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))
                db.execute("DELETE FROM quota WHERE device_id = ?", (device_id,))
                db.execute("DELETE FROM issuance_batches WHERE device_id = ?", (device_id,))
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return bool(gone.rowcount)

    # --- replay and quota ------------------------------------------------------------------------

    def admit(
        self,
        device_id: bytes,
        nonce: bytes,
        *,
        nonce_expires: int,
        period: int,
        count: int,
        quota: int,
        batch: tuple[bytes, bytes] | None = None,
    ) -> int:
        """Record an authenticated request's nonce and charge ``count`` tokens to the device's
        quota for ``period``, in one transaction; returns the tokens charged now.

        ``batch`` is ``(batch id, SHA-256 of the body)`` of a retryable request. A batch id is
        charged once: when this device's id is recorded (this period or the one before) with
        the same body hash, the request is a retry and nothing is charged (returns 0: the
        caller answers it again); with another body hash it is refused. A newly charged batch
        is recorded with the charge, in the same transaction, so that no crash can leave a
        charge a retry would not find.

        Raises :class:`ReplayError` when the nonce was seen (nothing recorded) or the batch id
        is recorded with another body, and :class:`RateLimitedError` when the quota would be
        passed; the nonce stays recorded and nothing is charged in both of those cases. Rows
        of older periods and this device's batches of periods before the last are dropped on
        the way.
        """
        batch_id, body_hash = batch if batch is not None else (None, None)
        refusal: ReplayError | RateLimitedError | None = None
        charged = 0
        try:
            with self._transaction() as db:
                fresh = db.execute(
                    "INSERT INTO request_nonces (device_id, nonce, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING 1",
                    (device_id, nonce, nonce_expires),
                ).fetchone()
                if fresh is None:
                    raise ReplayError("issuance request replayed")
                db.execute(
                    "DELETE FROM quota WHERE device_id = ? AND period < ?", (device_id, period)
                )
                db.execute(
                    "DELETE FROM issuance_batches WHERE device_id = ? AND period < ?",
                    (device_id, period - 1),
                )
                new_batch = True
                if batch_id is not None:
                    # Claim the id first: a concurrent request with the same id waits here for
                    # this transaction, then finds the row (charged once, in either order).
                    new_batch = (
                        db.execute(
                            "INSERT INTO issuance_batches (device_id, batch_id, body_hash, period)"
                            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                            (device_id, batch_id, body_hash, period),
                        ).fetchone()
                        is not None
                    )
                if not new_batch:
                    known = db.execute(
                        "SELECT body_hash FROM issuance_batches "
                        "WHERE device_id = ? AND batch_id = ?",
                        (device_id, batch_id),
                    ).fetchone()
                    if known is None or bytes(known[0]) != body_hash:
                        refusal = ReplayError("batch id already used for another request")
                elif self._charge(db, device_id, period, count, quota):
                    charged = count
                else:
                    refusal = RateLimitedError("token quota exceeded for this period")
                    if batch_id is not None:  # not charged: the id stays free for a retry
                        db.execute(
                            "DELETE FROM issuance_batches WHERE device_id = ? AND batch_id = ?",
                            (device_id, batch_id),
                        )
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        if refusal is not None:  # the nonce stays recorded (the request was seen); no charge
            raise refusal
        return charged

    @staticmethod
    def _charge(db: _Db, device_id: bytes, period: int, count: int, quota: int) -> bool:
        """Add ``count`` to the device's use in ``period`` unless that passes ``quota``: one
        atomic upsert (concurrent charges wait on the row's lock and see each other's).
        Returns whether it was charged."""
        if count > quota:
            return False
        row = db.execute(
            "INSERT INTO quota (device_id, period, used) VALUES (?, ?, ?) "
            "ON CONFLICT (device_id, period) DO UPDATE SET used = quota.used + excluded.used "
            "WHERE quota.used + excluded.used <= ? RETURNING used",
            (device_id, period, count, quota),
        ).fetchone()
        return row is not None

    def refund(self, device_id: bytes, period: int, count: int) -> None:
        """Give back ``count`` tokens charged to an un-batched request that then could not be
        answered (a batched one keeps its charge: its retry is answered)."""
        try:
            with self._transaction() as db:
                db.execute(
                    "UPDATE quota SET used = CASE WHEN used > ? THEN used - ? ELSE 0 END "
                    "WHERE device_id = ? AND period = ?",
                    (count, count, device_id, period),
                )
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def purge(self, now: float, *, period: int | None = None) -> None:
        """Drop expired request nonces and enrolment codes, used challenges
        ``limits.ISSUER_CLOCK_SKEW_S`` after they expire, and, given the current quota
        ``period``, the batches and quota rows of periods before the last one (batches) or
        before the current one (quota)."""
        try:
            with self._transaction() as db:
                db.execute("DELETE FROM request_nonces WHERE expires <= ?", (int(now),))
                db.execute("DELETE FROM enrolment_codes WHERE expires <= ?", (int(now),))
                db.execute(
                    "DELETE FROM used_challenges WHERE expires <= ?",
                    (int(now - limits.ISSUER_CLOCK_SKEW_S),),
                )
                if period is not None:
                    db.execute("DELETE FROM quota WHERE period < ?", (period,))
                    db.execute("DELETE FROM issuance_batches WHERE period < ?", (period - 1,))
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    # --- issuer keys ---------------------------------------------------------------------------

    def add_key_if_newest(self, key: StoredKey, newest_not_before: int | None) -> bool:
        """Add a key pair unless another process changed the schedule first: only while the
        newest stored ``not_before`` is still ``newest_not_before`` (None: no key stored).
        Returns whether the key was added."""
        try:
            with self._transaction() as db:
                self._lock_keys(db)
                row = db.execute("SELECT MAX(not_before) FROM issuer_keys").fetchone()
                if (row[0] if row else None) != newest_not_before:
                    return False
                db.execute(
                    "INSERT INTO issuer_keys (key_id, private_key, not_before, expires) "
                    "VALUES (?, ?, ?, ?)",
                    (key.key_id, key.private_key, key.not_before, key.expires),
                )
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return True

    def _lock_keys(self, db: _Db) -> None:
        """Serialise changes of the key schedule (SQLite: the transaction's file lock)."""

    def keys(self) -> list[StoredKey]:
        """Every stored key pair, newest ``not_before`` first."""
        try:
            rows = self._read(
                "SELECT key_id, private_key, not_before, expires FROM issuer_keys "
                "ORDER BY not_before DESC, key_id"
            )
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return [StoredKey(bytes(r[0]), bytes(r[1]), int(r[2]), int(r[3])) for r in rows]

    def delete_keys(self, key_ids: list[bytes]) -> None:
        """Forget these key pairs, private parts included."""
        try:
            with self._transaction() as db:
                self._lock_keys(db)
                for key_id in key_ids:
                    db.execute("DELETE FROM issuer_keys WHERE key_id = ?", (key_id,))
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def delete_expired_keys(self, now: float) -> int:
        try:
            with self._transaction() as db:
                cursor = db.execute("DELETE FROM issuer_keys WHERE expires <= ?", (int(now),))
        except self._ERRORS as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return int(cursor.rowcount)


__all__ = ["IssuerStore", "StoredKey"]
