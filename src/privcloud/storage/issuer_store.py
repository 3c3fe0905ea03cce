"""The token issuer's own state, in one SQLite file (embedded; several issuer processes on one
host may share it).

Everything the issuer keeps, table by table — and, on purpose, nothing more (docs/tokens.md):

``devices(device_id, public_key)``
    enrolled devices: the 16-byte id and the Ed25519 key that signs their requests. No name,
    no time of enrolment.
``enrolment_codes(code_hash, expires)``
    unused one-time enrolment codes, as SHA-256 hashes; a code's row is deleted when it is used.
``quota(device_id, period, used)``
    how many tokens a device was issued in the current quota period (older periods are dropped).
``request_nonces(device_id, nonce, expires)``
    nonces of signed issuance requests, kept while their timestamp window is open, to refuse
    replays. ``expires`` is coarse on purpose: the end of the window rounded *up* to
    ``limits.ISSUANCE_NONCE_EXPIRY_BUCKET_S`` (10 minutes), so a row tells only which bucket a
    request fell in, not when it was made (``services.issuer.nonce_expiry``).
``issuer_keys(key_id, private_key, not_before, expires)``
    the issuer's RSA key pairs (PKCS#8 DER) and their validity; dropped when they expire.

Never stored: blinded messages, blind signatures, token nonces, challenges, precise request
(issuance) times — the only trace of when a request came is its nonce row's coarse expiry, kept
minutes, and the current quota period's number.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from privcloud import limits
from privcloud.errors import (
    AuthenticationError,
    RateLimitedError,
    ReplayError,
    UnavailableError,
)
from privcloud.storage.sqlite import connect, create_schema, immediate

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
CREATE TABLE IF NOT EXISTS issuer_keys (
    key_id      BLOB PRIMARY KEY,
    private_key BLOB    NOT NULL,
    not_before  INTEGER NOT NULL,
    expires     INTEGER NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One issuer key pair as stored: PKCS#8 DER private key and its validity (Unix seconds)."""

    key_id: bytes
    private_key: bytes = field(repr=False)
    not_before: int
    expires: int


class IssuerStore:
    """Blocking access to the issuer's SQLite file; every method is one transaction.

    Store errors other than the refusals below become :class:`UnavailableError` (503).
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_s: float = limits.SQLITE_BUSY_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, busy_timeout_s=busy_timeout_s)
        self._lock = threading.Lock()
        with self._lock:
            create_schema(self._conn, _SCHEMA, "the issuer tables")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (take the write lock first, so checks and writes are atomic
        across processes), commit on success, roll back on any exception."""
        with self._lock, immediate(self._conn, "issuer store unavailable") as conn:
            yield conn

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
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def enrol(self, code_hash: bytes, device_id: bytes, public_key: bytes, now: float) -> None:
        """Use up an enrolment code and register a device, atomically.

        Raises :class:`AuthenticationError` when the code is unknown, used or expired, and
        :class:`ReplayError` when the device key is already registered (the code is then kept).
        """
        try:
            with self._transaction() as db:
                row = db.execute(
                    "SELECT expires FROM enrolment_codes WHERE code_hash = ?", (code_hash,)
                ).fetchone()
                if row is None or row[0] <= now:
                    raise AuthenticationError("enrolment code unknown, used or expired")
                known = db.execute(
                    "SELECT 1 FROM devices WHERE device_id = ? OR public_key = ?",
                    (device_id, public_key),
                ).fetchone()
                if known is not None:
                    raise ReplayError("device key already enrolled")
                db.execute("DELETE FROM enrolment_codes WHERE code_hash = ?", (code_hash,))
                db.execute(
                    "INSERT INTO devices (device_id, public_key) VALUES (?, ?)",
                    (device_id, public_key),
                )
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc

    def device_key(self, device_id: bytes) -> bytes | None:
        """The public key of an enrolled device, or None."""
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT public_key FROM devices WHERE device_id = ?", (device_id,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return None if row is None else bytes(row[0])

    def remove_device(self, device_id: bytes) -> bool:
        """Revoke a device (its key stops working at once); returns whether it existed."""
        try:
            with self._transaction() as db:
                gone = db.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))
                db.execute("DELETE FROM quota WHERE device_id = ?", (device_id,))
        except sqlite3.Error as exc:
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
    ) -> int:
        """Record an authenticated request's nonce and charge ``count`` tokens to the device's
        quota for ``period``, in one transaction; returns the tokens left in the period.

        Raises :class:`ReplayError` (nothing charged) when the nonce was seen, and
        :class:`RateLimitedError` (nonce kept, nothing charged) when the quota would be passed.
        Rows of older periods and expired nonces of this device are dropped on the way.
        """
        try:
            with self._transaction() as db:
                try:
                    db.execute(
                        "INSERT INTO request_nonces (device_id, nonce, expires) VALUES (?, ?, ?)",
                        (device_id, nonce, nonce_expires),
                    )
                except sqlite3.IntegrityError as exc:
                    raise ReplayError("issuance request replayed") from exc
                db.execute(
                    "DELETE FROM quota WHERE device_id = ? AND period < ?", (device_id, period)
                )
                row = db.execute(
                    "SELECT used FROM quota WHERE device_id = ? AND period = ?",
                    (device_id, period),
                ).fetchone()
                used = 0 if row is None else int(row[0])
                over = used + count > quota
                if not over:
                    db.execute(
                        "INSERT INTO quota (device_id, period, used) VALUES (?, ?, ?) "
                        "ON CONFLICT (device_id, period) DO UPDATE SET used = excluded.used",
                        (device_id, period, used + count),
                    )
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc
        if over:  # the nonce stays recorded (the request was seen); nothing was charged
            raise RateLimitedError("token quota exceeded for this period")
        return quota - used - count

    def purge(self, now: float) -> None:
        """Drop expired request nonces and enrolment codes."""
        try:
            with self._transaction() as db:
                db.execute("DELETE FROM request_nonces WHERE expires <= ?", (int(now),))
                db.execute("DELETE FROM enrolment_codes WHERE expires <= ?", (int(now),))
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc

    # --- issuer keys ---------------------------------------------------------------------------

    def add_key_if_newest(self, key: StoredKey, newest_not_before: int | None) -> bool:
        """Add a key pair unless another process changed the schedule first: only while the
        newest stored ``not_before`` is still ``newest_not_before`` (None: no key stored).
        Returns whether the key was added."""
        try:
            with self._transaction() as db:
                row = db.execute("SELECT MAX(not_before) FROM issuer_keys").fetchone()
                if (row[0] if row else None) != newest_not_before:
                    return False
                db.execute(
                    "INSERT INTO issuer_keys (key_id, private_key, not_before, expires) "
                    "VALUES (?, ?, ?, ?)",
                    (key.key_id, key.private_key, key.not_before, key.expires),
                )
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return True

    def keys(self) -> list[StoredKey]:
        """Every stored key pair, newest ``not_before`` first."""
        try:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT key_id, private_key, not_before, expires FROM issuer_keys "
                    "ORDER BY not_before DESC, key_id"
                ).fetchall()
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return [StoredKey(bytes(r[0]), bytes(r[1]), int(r[2]), int(r[3])) for r in rows]

    def delete_expired_keys(self, now: float) -> int:
        try:
            with self._transaction() as db:
                cursor = db.execute("DELETE FROM issuer_keys WHERE expires <= ?", (int(now),))
        except sqlite3.Error as exc:
            raise UnavailableError("issuer store unavailable") from exc
        return int(cursor.rowcount)


__all__ = ["IssuerStore", "StoredKey"]
