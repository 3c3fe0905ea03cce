"""A throwaway PostgreSQL server for tests and benchmarks: Debian's ``postgresql`` package, no
external service.

:class:`TempPostgres` runs ``initdb`` in a fresh temporary directory and starts ``postgres``
listening on a unix socket in that directory only (``listen_addresses=''``: no TCP at all);
:meth:`TempPostgres.stop` stops it (fast shutdown) and removes the directory.

Root: ``initdb`` and ``postgres`` refuse to run as root. When this process is root, the server
runs as the unprivileged ``postgres`` user the Debian package creates (``subprocess`` with
``user=``/``group=``, no ``sudo``/``runuser`` needed) and owns the directory (mode 0700); the
root client reaches the socket anyway. Otherwise it runs as the current user. Authentication is
``trust``, safe here because the socket lives in a directory only its owner (and root) can enter.

Missing binaries are a failure with a clear message, never a skip: the PostgreSQL back ends
are part of what ``make test`` checks (``make setup`` installs the package).

Fixtures (tests/e2e/conftest.py makes them available to every end-to-end test):
``postgres_server`` (one per session),
``postgres_url`` (a fresh, empty database per test), ``store_url`` (parametrized: an SQLite
file, then a fresh PostgreSQL database — run a store test against both back ends).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The unprivileged user Debian's postgresql package creates (used only when we are root).
SERVER_USER = "postgres"
#: The superuser role initdb creates (whatever OS user runs the server).
ROLE = "privcloud"
_START_TIMEOUT_S = 60.0


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``postgres``
    (``$PRIVCLOUD_PG_BINDIR`` overrides). Raises :class:`PostgresMissing` naming the fix."""
    override = os.environ.get("PRIVCLOUD_PG_BINDIR")
    candidates = (
        [override]
        if override
        else sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
            reverse=True,
        )
    )
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "postgres").is_file():
            return Path(c)
    raise PostgresMissing(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run "
        "`make setup` (or `apt-get install -y postgresql`); the PostgreSQL store tests "
        "need them and are never skipped"
    )


def _die_with_parent() -> None:
    """In the server's process before exec: stop it (SIGTERM) if the test process dies, even
    by SIGKILL, so that no server outlives a killed test run (Linux ``PR_SET_PDEATHSIG``)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _base_dir() -> str | None:
    """``/tmp`` when usable: a short path (a unix socket's path has at most 107 bytes) that the
    unprivileged server user can traverse (``$TMPDIR`` may be under root's home); else the
    default temporary directory."""
    return "/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else None


class TempPostgres:
    """One throwaway server. ``durable=False`` turns ``fsync`` off (tests); benchmarks keep
    the defaults (``fsync=on``, ``synchronous_commit=on``) so their figures are honest."""

    def __init__(self, *, durable: bool = False, max_connections: int = 200) -> None:
        self.bindir = find_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="privcloud-pg-", dir=_base_dir()))
        self.data = self.dir / "data"
        self.socket_dir = self.dir
        self._as: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._dbs = itertools.count(1)
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise PostgresMissing(
                    f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL "
                    "as (Debian's postgresql package creates it)"
                ) from exc
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        os.chmod(self.dir, 0o700)
        try:
            self._initdb()
            self._start(durable=durable, max_connections=max_connections)
        except BaseException:
            self.stop()
            raise

    def _run(self, *argv: str) -> None:
        done = subprocess.run(argv, capture_output=True, cwd=self.dir, check=False, **self._as)
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {err}")

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", ROLE,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        )  # fmt: skip

    def _start(self, *, durable: bool, max_connections: int) -> None:
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": str(max_connections),
            "shared_buffers": "128MB",
            "fsync": "on" if durable else "off",
            "synchronous_commit": "on" if durable else "off",
            "full_page_writes": "on" if durable else "off",
            "logging_collector": "off",
        }
        argv = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 (the server's whole life)
        with log:
            self._proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                # The signal comes when the creating *thread* ends: only the main thread's.
                preexec_fn=_die_with_parent if _on_main_thread() else None,  # noqa: PLW1509
                **self._as,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        socket = self.socket_dir / ".s.PGSQL.5432"
        while not (socket.exists() and (self.data / "postmaster.pid").exists()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                text = (self.dir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL did not start: {text}")
            time.sleep(0.05)
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        import psycopg

        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, dbname: str) -> str:
        """The libpq URL of database ``dbname`` on this server (unix socket via ``host=``)."""
        return f"postgresql:///{dbname}?host={self.socket_dir}&user={ROLE}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database; return its URL."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._dbs)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (its connections are ended)."""
        import psycopg

        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.url("postgres"), autocommit=True) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown: SIGINT) and remove its directory. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(2)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


#: This process's one test server (``shared_server``), once started.
_SERVER: dict[str, TempPostgres] = {}


def shared_server() -> TempPostgres:
    """This process's one test server, started on first use, stopped at exit."""
    if "server" not in _SERVER:
        server = _SERVER["server"] = TempPostgres()
        atexit.register(server.stop)
    return _SERVER["server"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TempPostgres]:
    """The session's throwaway PostgreSQL server (fails, never skips, without the binaries)."""
    try:
        server = shared_server()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    if _SERVER.get("server") is server:
        del _SERVER["server"]
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: TempPostgres) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server (dropped afterwards)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL of each back end in turn: ``sqlite:///<tmp>/store.sqlite3``, then a fresh
    PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


#: The sessions :func:`end_sessions` ends by default: every client session on the database.
CLIENT_SESSIONS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend'"
)


def end_sessions(url: str, pids: str = CLIENT_SESSIONS) -> None:
    """End the sessions whose pids the query ``pids`` selects (but this one), as a server
    restart or fail-over would, and wait until they are gone: ``pg_terminate_backend`` only
    signals a backend, which then exits (and lets its advisory locks go) when the server gets
    to it, seconds later on a loaded machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        ended = [
            pid
            for (pid,) in admin.execute(
                f"SELECT pid FROM ({pids}) AS p WHERE pid <> pg_backend_pid()"
            ).fetchall()
        ]
        for pid in ended:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 60
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,)
        ).fetchone() != (0,):
            if time.monotonic() > deadline:
                raise AssertionError("terminated sessions did not end in 60 s")
            time.sleep(0.05)
