"""Store benchmark: redemptions/s of the spent-token store and log appends/s, on SQLite and on
PostgreSQL, in one run. Prints ONE JSON line.

    .venv/bin/python bench/stores.py [--seconds 3] [--concurrency 512]

Run alone, it starts a throwaway PostgreSQL (tests/support/postgres.py; ``fsync`` and
``synchronous_commit`` on, as a deployment would run it) and an SQLite file in a temporary
directory. :func:`store_figures` is the importable entry point (``bench/scale.py`` calls it with
its own server).

* ``redemptions_per_s_sqlite`` — :meth:`SqliteSpentTokenStore.spend` (one statement per token,
  WAL, ``synchronous=NORMAL``), ``concurrency`` asyncio tasks spending fresh tokens;
* ``redemptions_per_s_pg_unbatched`` — the PostgreSQL store with ``batch=False``: one
  ``INSERT … ON CONFLICT … RETURNING`` round trip per token, same load;
* ``redemptions_per_s_pg_batched`` — the PostgreSQL store as deployed: concurrent redemptions
  gathered for up to 2 ms into one round trip (``batched_over_unbatched`` is the ratio);
* ``two_phase_per_s_pg_batched`` — reserve then consume (what a gateway does per request);
* ``log_appends_per_s_sqlite`` / ``_pg`` — one entry per transaction (``TlogStore.append``,
  leaf + completed subtree hashes, ``synchronous=FULL`` on SQLite), and
  ``log_entries_per_s_*_batch64`` with 64 entries per transaction;
* baselines measured in the same run: ``baseline_pg_roundtrips_per_s`` (``SELECT 1`` on one
  connection: the ceiling of any unbatched store) and ``baseline_sqlite_inserts_per_s`` (bare
  ``INSERT`` of 64-byte rows into a WAL file, one per transaction).

Target (issue 13): >= 20,000 redemptions/s batched on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import itertools
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from privcloud.errors import ReplayError
from privcloud.storage.database import Database
from privcloud.storage.spent_tokens import SpentTokenStore

KEY = bytes(range(32))
FAR = 2**40
_run_ids = itertools.count()


async def _redemptions(
    store: SpentTokenStore, seconds: float, concurrency: int, *, two_phase: bool = False
) -> float:
    """Fresh tokens spent per second by ``concurrency`` tasks for ``seconds``."""
    prefix = os.urandom(16)
    counter = itertools.count()
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            nonce = prefix + next(counter).to_bytes(16, "big")
            if two_phase:
                await store.reserve(nonce, key_id=KEY, expires=FAR)
                store.consume(nonce, key_id=KEY)
            else:
                await store.spend(nonce, key_id=KEY, expires=FAR)
            done += 1

    # Warm up (connections, the key's partition), then measure.
    await store.spend(os.urandom(32), key_id=KEY, expires=FAR)
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = done / (time.perf_counter() - start)
    try:  # a spent token stays spent (a sanity check, not timed)
        await store.spend(prefix + (0).to_bytes(16, "big"), key_id=KEY, expires=FAR)
    except ReplayError:
        pass
    else:
        raise AssertionError("a spent token was accepted again")
    return rate


def _spend_rate(db: Database, seconds: float, concurrency: int, **options: Any) -> float:
    two_phase = bool(options.pop("two_phase", False))

    async def run() -> float:
        store = db.spent_tokens(**options)
        try:
            return await _redemptions(store, seconds, concurrency, two_phase=two_phase)
        finally:
            await store.close()

    return asyncio.run(run())


def _append_rate(db: Database, seconds: float, batch: int) -> float:
    """Entries appended per second, ``batch`` per transaction."""
    store = db.log("bench/log", schema=f"bench_log_{os.getpid()}_{next(_run_ids)}")
    try:
        prefix = os.urandom(8)
        counter = itertools.count()
        done = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            store.append([prefix + next(counter).to_bytes(8, "big") for _ in range(batch)])
            done += batch
        return done / (time.perf_counter() - start)
    finally:
        store.close()


def _pg_roundtrips(pg_url: str, seconds: float) -> float:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.execute("SELECT 1").fetchone()
            done += 1
        return done / (time.perf_counter() - start)


def _sqlite_inserts(path: Path, seconds: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (k BLOB PRIMARY KEY) WITHOUT ROWID")
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("INSERT INTO t VALUES (?)", (os.urandom(64),))
        done += 1
    conn.close()
    return done / (time.perf_counter() - start)


def store_figures(
    pg_url: str, seconds: float = 3.0, *, concurrency: int = 512, work_dir: Path | None = None
) -> dict[str, float]:
    """Measure every figure of the module docstring against the PostgreSQL database at
    ``pg_url`` (its stores' schemas are created there) and SQLite files in ``work_dir`` (a
    temporary directory if None); ``seconds`` per figure. Returns name -> value."""
    with tempfile.TemporaryDirectory(prefix="privcloud-bench-", dir=work_dir) as tmp:
        sqlite_db = Database.sqlite(Path(tmp) / "spent.sqlite3")
        pg = Database.from_url(pg_url)
        out: dict[str, float] = {}
        out["baseline_pg_roundtrips_per_s"] = _pg_roundtrips(pg_url, seconds / 2)
        out["baseline_sqlite_inserts_per_s"] = _sqlite_inserts(Path(tmp) / "b.db", seconds / 2)
        out["redemptions_per_s_sqlite"] = _spend_rate(sqlite_db, seconds, concurrency)
        out["redemptions_per_s_pg_unbatched"] = _spend_rate(
            pg, seconds, concurrency, batch=False, schema="bench_unbatched"
        )
        out["redemptions_per_s_pg_batched"] = _spend_rate(
            pg, seconds, concurrency, schema="bench_batched"
        )
        out["two_phase_per_s_pg_batched"] = _spend_rate(
            pg, seconds, concurrency, schema="bench_two_phase", two_phase=True
        )
        out["batched_over_unbatched"] = (
            out["redemptions_per_s_pg_batched"] / out["redemptions_per_s_pg_unbatched"]
        )
        out["batched_pg_over_sqlite"] = (
            out["redemptions_per_s_pg_batched"] / out["redemptions_per_s_sqlite"]
        )
        out["log_appends_per_s_sqlite"] = _append_rate(
            Database.sqlite(Path(tmp) / "log1.db"), seconds, 1
        )
        out["log_appends_per_s_pg"] = _append_rate(pg, seconds, 1)
        out["log_entries_per_s_sqlite_batch64"] = _append_rate(
            Database.sqlite(Path(tmp) / "log64.db"), seconds, 64
        )
        out["log_entries_per_s_pg_batch64"] = _append_rate(pg, seconds, 64)
    return {k: round(v, 2) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per figure")
    parser.add_argument("--concurrency", type=int, default=512, help="concurrent redemptions")
    args = parser.parse_args()
    # The test harness's throwaway server (tests/support is not a package: found at run time).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
    server = importlib.import_module("postgres").TempPostgres(durable=True)
    try:
        url = server.create_database("bench")
        figures: dict[str, Any] = store_figures(url, args.seconds, concurrency=args.concurrency)
    finally:
        server.stop()
    figures.update(seconds=args.seconds, concurrency=args.concurrency, cpus=os.cpu_count() or 0)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
