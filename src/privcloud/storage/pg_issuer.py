"""The token issuer's state in PostgreSQL: the tables and the SQL of
:class:`~privcloud.storage.issuer_store.IssuerStore` (what is kept, and what never is, is
written there), shared by any number of issuer processes on any number of hosts.

Concurrency, where SQLite's one file lock did it all:

* the quota charge is one upsert whose ``WHERE used + n <= quota`` PostgreSQL re-checks on the
  row's newest version after waiting for its lock: concurrent charges never pass the limit;
* request nonces, batch ids and device keys are claimed with ``INSERT … ON CONFLICT DO NOTHING
  RETURNING`` (a concurrent insert of the same key waits, then conflicts);
* an enrolment code is used up by one ``DELETE … RETURNING`` (a concurrent delete of the same
  row waits for its lock, then finds it gone; an enrolment refused later in the transaction
  rolls the delete back); the key schedule changes under a transaction-level advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Final

import psycopg

from privcloud.storage.issuer_store import IssuerStore, _Db
from privcloud.storage.postgres import PgConnection, lock_key

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS devices ("
    " device_id bytea PRIMARY KEY, public_key bytea NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS enrolment_codes ("
    " code_hash bytea PRIMARY KEY, expires bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS quota ("
    " device_id bytea NOT NULL, period bigint NOT NULL, used bigint NOT NULL,"
    " PRIMARY KEY (device_id, period))",
    "CREATE TABLE IF NOT EXISTS request_nonces ("
    " device_id bytea NOT NULL, nonce bytea NOT NULL, expires bigint NOT NULL,"
    " PRIMARY KEY (device_id, nonce))",
    "CREATE INDEX IF NOT EXISTS request_nonces_expires ON request_nonces (expires)",
    "CREATE TABLE IF NOT EXISTS issuance_batches ("
    " device_id bytea NOT NULL, batch_id bytea NOT NULL, body_hash bytea NOT NULL,"
    " period bigint NOT NULL, PRIMARY KEY (device_id, batch_id))",
    "CREATE TABLE IF NOT EXISTS used_challenges ("
    " challenge_hash bytea PRIMARY KEY, expires bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS issuer_secrets (name text PRIMARY KEY, value bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS issuer_keys ("
    " key_id bytea PRIMARY KEY, private_key bytea NOT NULL,"
    " not_before bigint NOT NULL, expires bigint NOT NULL)",
)


class PgIssuerStore(IssuerStore):
    """The issuer's tables in schema ``schema`` of the PostgreSQL database at ``url``.

    Raises :class:`ConfigError` naming the database and the cause when it cannot be reached
    or the tables cannot be made."""

    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (psycopg.Error,)

    def __init__(self, url: str, *, schema: str) -> None:  # no SQLite file: no super()
        self._pg = PgConnection(
            url,
            schema=schema,
            what="the issuer tables",
            unavailable="issuer store unavailable",
            setup=lambda conn: conn.executescript(_SCHEMA),
        )
        self.schema = schema

    @contextmanager
    def _transaction(self) -> Iterator[_Db]:
        with self._pg.transaction() as db:
            yield db

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return list(self._pg.execute(sql, args).fetchall())

    def _lock_keys(self, db: _Db) -> None:
        db.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("issuer-keys", self.schema),))

    def close(self) -> None:
        self._pg.close()


__all__ = ["PgIssuerStore"]
