"""The one place a store is chosen: a database URL in, the right store out.

* ``sqlite:///abs/path/file.sqlite3`` (or ``sqlite:relative/file.sqlite3``) — the embedded
  SQLite store in that file (the default of every service: its usual file in its data
  directory);
* ``postgresql://[user[:password]@][host][:port]/dbname[?param=value...]`` (also
  ``postgres://``) — a libpq URL; a unix-socket directory is ``?host=/path/to/dir``. Each
  store keeps its tables in its own PostgreSQL schema (:mod:`.postgres`), so one database can
  hold every store of a deployment.

Services take it as ``--database URL``; the local cloud as ``[storage] url`` in
``privcloud.toml``. Messages name the database (:attr:`Database.label`), never a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from privcloud import limits
from privcloud.clock import Clock
from privcloud.errors import ConfigError
from privcloud.storage.issuer_store import IssuerStore
from privcloud.storage.pg_issuer import PgIssuerStore
from privcloud.storage.pg_spent_tokens import PgSpentTokenStore
from privcloud.storage.pg_tlog import PgTlogStore
from privcloud.storage.pg_witness import PgWitnessStore
from privcloud.storage.postgres import describe
from privcloud.storage.spent_tokens import SpentTokenStore, SqliteSpentTokenStore
from privcloud.storage.tlog_store import TlogStore
from privcloud.storage.witness_store import WitnessStore

#: Default PostgreSQL schema of each store.
TOKENS_SCHEMA: Final = "privcloud_tokens"
ISSUER_SCHEMA: Final = "privcloud_issuer"
LOG_SCHEMA: Final = "privcloud_log"
WITNESS_SCHEMA: Final = "privcloud_witness"

#: Prefix of a ``--database`` value naming the environment variable that holds the URL
#: (``privcloud.cli.database_url``: a command line is readable by every process of the host).
ENV_PREFIX: Final = "env:"
#: The variable the services' own child processes read their database URL from.
CHILD_DATABASE_ENV: Final = "PRIVCLOUD_DATABASE_URL"

_SQLITE: Final = "sqlite:"
_POSTGRES: Final = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Database:
    """A parsed database URL; its methods open the stores the services need."""

    url: str
    backend: Literal["sqlite", "postgresql"]
    #: The SQLite file (``None`` for PostgreSQL).
    path: Path | None = None

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Parse ``url``; :class:`ConfigError` names the accepted forms."""
        if not isinstance(url, str) or not url or len(url) > 4096:
            raise ConfigError("a database URL is sqlite:///path/to/file or postgresql://...")
        if url.startswith(_POSTGRES):
            return cls(url, "postgresql")
        if url.startswith(_SQLITE):
            rest = url[len(_SQLITE) :]
            path = "/" + rest[3:].lstrip("/") if rest.startswith("///") else rest
            if rest.startswith("//") and not rest.startswith("///"):
                raise ConfigError("an SQLite URL has no host: sqlite:///absolute/path/file")
            if not path or path.endswith("/"):
                raise ConfigError("an SQLite URL names a file: sqlite:///path/to/file")
            return cls(url, "sqlite", Path(path))
        raise ConfigError(
            "unknown database URL scheme: use sqlite:///path/to/file or postgresql://..."
        )

    @classmethod
    def sqlite(cls, path: str | Path) -> Database:
        """The embedded SQLite database in ``path``."""
        p = Path(path)
        return cls(f"sqlite://{p}" if p.is_absolute() else f"sqlite:{p}", "sqlite", p)

    @property
    def label(self) -> str:
        """What to call it in messages (no credentials)."""
        if self.path is not None:
            return f"SQLite file {self.path.name}"
        return describe(self.url)

    def _sqlite_path(self) -> Path:
        assert self.path is not None
        return self.path

    # --- the stores ---------------------------------------------------------------------------

    def spent_tokens(
        self,
        *,
        reservation_ttl_s: float = limits.TOKEN_RESERVATION_TTL_S,
        purge_margin_s: int = limits.SPENT_TOKEN_PURGE_SKEW_S,
        clock: Clock | None = None,
        batch: bool = True,
        schema: str = TOKENS_SCHEMA,
    ) -> SpentTokenStore:
        """The gateways' spent-token store. ``batch=False``: one round trip per redemption
        (PostgreSQL only; for comparison)."""
        if self.backend == "sqlite":
            return SqliteSpentTokenStore(
                self._sqlite_path(),
                purge_margin_s=purge_margin_s,
                reservation_ttl_s=reservation_ttl_s,
                clock=clock,
            )
        return PgSpentTokenStore(
            self.url,
            schema=schema,
            purge_margin_s=purge_margin_s,
            reservation_ttl_s=reservation_ttl_s,
            clock=clock,
            batch=batch,
        )

    def issuer(self, *, schema: str = ISSUER_SCHEMA) -> IssuerStore:
        """The token issuer's store (shared by every issuer process)."""
        if self.backend == "sqlite":
            return IssuerStore(self._sqlite_path())
        return PgIssuerStore(self.url, schema=schema)

    def log(self, origin: str, *, schema: str = LOG_SCHEMA, readonly: bool = False) -> TlogStore:
        """The transparency log's store. On PostgreSQL the (one) sequencer holds the log's
        lock for its life — a second one is refused with :class:`ConfigError`; ``readonly``
        stores (any number) take no lock and refuse appends."""
        if self.backend == "sqlite":
            return TlogStore(self._sqlite_path(), origin)
        return PgTlogStore(self.url, origin, schema=schema, readonly=readonly)

    def witness(self, *, schema: str = WITNESS_SCHEMA) -> WitnessStore:
        """A witness's store (one schema per witness)."""
        if self.backend == "sqlite":
            return WitnessStore(self._sqlite_path())
        return PgWitnessStore(self.url, schema=schema)


def open_database(url: str | None, default_file: str | Path) -> Database:
    """``Database.from_url(url)``, or the SQLite file ``default_file`` when no URL is given
    (what a service's ``--database`` flag means when left out)."""
    return Database.sqlite(default_file) if url is None else Database.from_url(url)


def child_database(url: str | None) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment that give a child process of ours (a gateway worker, a
    loopback cluster's service) the store ``url`` (none when ``url`` is None): the URL in its
    environment, never on its command line."""
    if url is None:
        return [], {}
    return ["--database", ENV_PREFIX + CHILD_DATABASE_ENV], {CHILD_DATABASE_ENV: url}


__all__ = [
    "CHILD_DATABASE_ENV",
    "ENV_PREFIX",
    "ISSUER_SCHEMA",
    "LOG_SCHEMA",
    "TOKENS_SCHEMA",
    "WITNESS_SCHEMA",
    "Database",
    "child_database",
    "open_database",
]
