"""What the PostgreSQL stores share: one way to connect (psycopg 3, docs/adr/0012), a schema per
store, the causes an operator can act on, and a connection that comes back after a loss.

Each store keeps its tables in a PostgreSQL schema of its own (``privcloud_tokens``,
``privcloud_issuer``, ``privcloud_log``, ``privcloud_witness`` unless told otherwise), so that
one database can hold them all; the connection's ``search_path`` is that schema, and the
stores' SQL names tables without a schema (it is shared with the SQLite stores, ``?``
placeholders and all: :class:`PgConnection` turns them into psycopg's ``%s``).

Start-up failures raise :class:`ConfigError` naming the store's role, the database (name and
host, never a password) and the cause; failures while serving raise :class:`UnavailableError`
(503), and the next use reconnects. A connection the server has closed while it was idle (a
restart, a fail-over, a terminated session) is noticed before it is used, and replaced: the
first request after such a loss is served, not answered 503.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import select
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import psycopg
from psycopg import conninfo, errors, pq

from privcloud import limits
from privcloud.errors import ConfigError, UnavailableError

#: What the stores catch from the driver.
ERRORS: Final = (psycopg.Error,)

_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: SQLSTATE classes an operator can act on (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_CAUSES: Final = {
    "28": "authentication failed (check the user and password)",
    "3D": "the database does not exist",
    "42501": "permission denied",
    "53": "the server is out of resources (disk full, too many connections?)",
    "57P03": "the server is starting up or shutting down",
    "XX001": "the database is corrupt",
    "XX002": "an index is corrupt",
}


def check_schema(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier, else raise ConfigError."""
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError("a PostgreSQL schema name is [a-z_][a-z0-9_]*, at most 63 characters")
    return schema


def describe(url: str) -> str:
    """``PostgreSQL database NAME on HOST`` for messages: no user, no password."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL database (malformed URL)"
    name = params.get("dbname") or "(default)"
    host = params.get("host") or "localhost"
    return f"PostgreSQL database {name} on {host}"


def pg_cause(exc: BaseException) -> str:
    """A short, fixed description of why a PostgreSQL operation failed (no server text: it
    may quote values)."""
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        for prefix in (state, state[:2]):
            if prefix in _CAUSES:
                return _CAUSES[prefix]
    if isinstance(exc, psycopg.OperationalError):
        return "cannot reach the server (is it running? is the URL right?)"
    return type(exc).__name__


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for ``parts`` (stable across processes)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: How a TCP connection to the server bounds a silent network (libpq ignores them on a Unix
#: socket): unacknowledged data, and an idle connection's keepalive probes.
_TCP_BOUNDS: Final = {
    "tcp_user_timeout": str(limits.PG_TCP_USER_TIMEOUT_S * 1000),
    "keepalives": "1",
    "keepalives_idle": str(limits.PG_KEEPALIVE_IDLE_S),
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


class PgConnection:
    """One psycopg connection in autocommit mode (transactions are explicit), its
    ``search_path`` the store's schema (created if missing), statements bounded by
    :data:`~privcloud.limits.PG_STATEMENT_TIMEOUT_S`; safe to share between threads (one
    statement or transaction at a time).

    ``setup(conn)`` runs on every (re)connection, inside a transaction holding the schema's
    advisory lock (so that processes starting together create tables once); ``after(conn)``
    runs after it, outside any transaction (e.g. to take a session lock). A failure while
    serving closes the connection; the next call opens a new one.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str,
        what: str,
        unavailable: str,
        setup: Callable[[PgConnection], None] | None = None,
        after: Callable[[PgConnection], None] | None = None,
    ) -> None:
        self.url = url
        self.schema = check_schema(schema)
        self.what = what
        self.where = describe(url)
        self.unavailable = unavailable
        self._setup, self._after = setup, after
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        try:
            self._connect()
        except ConfigError:
            raise
        except ERRORS as exc:
            raise ConfigError(f"cannot open {what} in {self.where}: {pg_cause(exc)}") from exc

    def _connect(self) -> psycopg.Connection[Any]:
        given = conninfo.conninfo_to_dict(self.url)
        tcp = {k: v for k, v in _TCP_BOUNDS.items() if k not in given}  # the URL's win
        conn = psycopg.connect(
            conninfo.make_conninfo(self.url, **tcp),
            autocommit=True,
            connect_timeout=limits.PG_CONNECT_TIMEOUT_S,
        )
        try:
            self._conn = conn
            timeout_ms = int(limits.PG_STATEMENT_TIMEOUT_S * 1000)
            conn.execute(f"SET statement_timeout = {timeout_ms}")
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("schema", self.schema),))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                conn.execute(f"SET search_path TO {self.schema}")
                if self._setup is not None:
                    self._setup(self)
            if self._after is not None:
                self._after(self)
        except BaseException:
            self._conn = None
            conn.close()
            raise
        return conn

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The open psycopg connection (reconnecting if it was lost). Raises
        :class:`UnavailableError`."""
        with self._lock:
            if self._conn is not None and _hung_up(self._conn):
                self._drop()
            if self._conn is None or self._conn.closed:
                try:
                    return self._connect()
                except (ConfigError, *ERRORS) as exc:  # e.g. a session lock now held by another
                    raise UnavailableError(self.unavailable) from exc
            return self._conn

    def execute(
        self, sql: str, args: Sequence[Any] = (), *, binary: bool = False
    ) -> psycopg.Cursor[Any]:
        """Run one statement (``?`` placeholders; ``binary``: parameters and results in
        PostgreSQL's binary format); driver errors propagate (callers map them)."""
        with self._lock:
            conn = self.raw
            try:
                return conn.execute(sql.replace("?", "%s"), tuple(args), binary=binary)
            except psycopg.OperationalError:
                self._drop()
                raise

    def executescript(self, statements: Sequence[str]) -> None:
        """Run DDL statements one by one (inside :meth:`setup`'s transaction)."""
        for statement in statements:
            self.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """A transaction (READ COMMITTED): commit on success, roll back on any exception.
        A driver error raises :class:`UnavailableError` with the fixed text; other exceptions
        propagate after the rollback."""
        with self._lock:
            try:
                conn = self.raw
                with conn.transaction():
                    yield self
            except ERRORS as exc:
                if isinstance(exc, psycopg.OperationalError):
                    self._drop()
                raise UnavailableError(self.unavailable) from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self, *, last: str | None = None, args: Sequence[Any] = ()) -> None:
        """Close the connection. ``last`` (``?`` placeholders) runs first on the connection
        if it is still open — never on a new one — e.g. to give back a session lock at once:
        the server ends a closed client's session, and frees its locks, only a moment later."""
        with self._lock:
            conn = self._conn
            if last is not None and conn is not None and not conn.closed:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(last.replace("?", "%s"), tuple(args))
            self._drop()


def _hung_up(conn: psycopg.Connection[Any]) -> bool:
    """Whether the server has closed this idle connection (a restart, a fail-over, a terminated
    session). An idle connection has nothing to read (no LISTEN here), so a healthy one costs
    one poll of its socket, no round trip. When there is something — the server's last message
    and the end, or a record of its own such as a TLS session ticket — one round trip tells
    which. A connection in a transaction is not checked."""
    status = conn.info.transaction_status
    if conn.closed or status == pq.TransactionStatus.UNKNOWN:
        return True
    if status != pq.TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()  # not select(): a busy service's descriptors pass 1024
        poller.register(conn.fileno(), select.POLLIN)
        if not poller.poll(0):
            return False
        conn.execute("SELECT 1")
    except (OSError, ValueError, psycopg.Error):
        return True
    return False


def first(cursor: psycopg.Cursor[Any]) -> Any:
    """The first row of a statement that always returns one (an aggregate, ``RETURNING``)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.DataError("a statement returned no row")
    return row


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL's unique-constraint violation."""
    return isinstance(exc, errors.UniqueViolation)


__all__ = [
    "ERRORS",
    "PgConnection",
    "check_schema",
    "describe",
    "first",
    "is_unique_violation",
    "lock_key",
    "pg_cause",
]
