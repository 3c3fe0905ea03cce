"""A witness's records in PostgreSQL (the table and SQL of
:class:`~privcloud.storage.witness_store.WitnessStore`).

C2SP tlog-witness needs the check of a submission against the record and the write of the new
one to be atomic. Here each :meth:`~WitnessStore.update` is one transaction that first takes a
transaction-level advisory lock on the origin — held also when no row exists yet, which a row
lock (``FOR UPDATE``) would not cover — so two witness processes deciding on the same log run
one after the other, and a cosigned size never goes backwards.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar, Final

import psycopg

from privcloud.storage.postgres import PgConnection, lock_key
from privcloud.storage.witness_store import WitnessStore

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS witnessed ("
    " origin text PRIMARY KEY, size bigint NOT NULL, root bytea NOT NULL,"
    " note bytea NOT NULL, updated double precision NOT NULL)",
)


class PgWitnessStore(WitnessStore):
    """The witness's table in schema ``schema`` of the PostgreSQL database at ``url`` (one
    schema per witness). Raises :class:`ConfigError` naming the database and the cause."""

    _ERRORS: ClassVar[tuple[type[Exception], ...]] = (psycopg.Error,)

    def __init__(self, url: str, *, schema: str) -> None:  # no SQLite file: no super()
        self._pg = PgConnection(
            url,
            schema=schema,
            what="the witness table",
            unavailable="witness database is unavailable",
            setup=lambda conn: conn.executescript(_SCHEMA),
        )
        self._db = self._pg
        self.schema = schema
        self.name = f"{self._pg.where} (schema {schema})"

    def _transaction(self) -> AbstractContextManager[Any]:
        return self._pg.transaction()

    def _lock_origin(self, origin: str) -> None:
        self._pg.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("witness", origin),))

    def close(self) -> None:
        self._pg.close()


__all__ = ["PgWitnessStore"]
