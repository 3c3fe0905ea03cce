"""The stores behind their interfaces, on SQLite and on PostgreSQL alike (``store_url`` runs each
test on both; ``tests/support/postgres.py`` starts a throwaway server, never skipped), and the
races the shared PostgreSQL deployment must survive: many connections (as many gateway or issuer
processes would have) hitting one token, one quota, one batch, one enrolment code, one witness
record, and a second log sequencer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest

from postgres import PostgresMissing, end_sessions, find_bindir
from privcloud import limits
from privcloud.clock import FixedClock
from privcloud.errors import (
    AuthenticationError,
    ConfigError,
    RateLimitedError,
    ReplayError,
    UnavailableError,
    UsageError,
)
from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.services.redemption import Redemption
from privcloud.storage import postgres as pg_connection
from privcloud.storage.database import LOG_SCHEMA, Database
from privcloud.storage.issuer_store import IssuerStore, StoredKey
from privcloud.storage.pg_spent_tokens import LANES
from privcloud.storage.pg_tlog import PgTlogStore
from privcloud.storage.postgres import lock_key
from privcloud.storage.witness_store import WitnessRecord
from privcloud.transparency.merkle import (
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from privcloud.trust.admission import ClientPolicy
from race import race

KEY = bytes(range(32))
FAR = 2**40
CONNECTIONS = 12


# --- the factory -----------------------------------------------------------------------------


def test_database_urls_select_the_back_end(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path}/a.sqlite3")
    assert (db.backend, db.path) == ("sqlite", tmp_path / "a.sqlite3")
    assert Database.from_url("sqlite:rel/b.sqlite3").path == Path("rel/b.sqlite3")
    pg = Database.from_url("postgresql://u:s3cret@db.example/privcloud?sslmode=require")
    assert pg.backend == "postgresql"
    assert "s3cret" not in pg.label and "privcloud" in pg.label
    for bad in ("", "mysql://x/y", "sqlite://host/file", "sqlite:///dir/", "/plain/path"):
        with pytest.raises(ConfigError):
            Database.from_url(bad)


def test_unreachable_postgresql_is_a_config_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://privcloud:s3cret@/nodb?host={tmp_path}"
    with pytest.raises(ConfigError) as info:
        Database.from_url(url).issuer()
    assert "s3cret" not in str(info.value)
    assert "cannot open the issuer tables" in str(info.value)


# --- spent tokens ----------------------------------------------------------------------------


async def test_a_token_is_spent_once_and_a_held_one_is_refused(store_url: str) -> None:
    store = Database.from_url(store_url).spent_tokens()
    try:
        spent, held = os.urandom(32), os.urandom(32)
        await store.spend(spent, key_id=KEY, expires=FAR)
        with pytest.raises(ReplayError):
            await store.spend(spent, key_id=KEY, expires=FAR)
        await store.reserve(held, key_id=KEY, expires=FAR)
        with pytest.raises(ReplayError):
            await store.reserve(held, key_id=KEY, expires=FAR)
        store.release(held, key_id=KEY)
        await asyncio.sleep(0.05)  # settles never block: they may run on the store's thread
        await store.reserve(held, key_id=KEY, expires=FAR)
        store.consume(held, key_id=KEY)
        await asyncio.sleep(0.05)
        with pytest.raises(ReplayError):
            await store.spend(held, key_id=KEY, expires=FAR)
        with pytest.raises(UsageError):
            await store.spend(b"short", key_id=KEY, expires=FAR)
    finally:
        await store.close()


async def test_many_concurrent_redemptions_are_each_counted_once(store_url: str) -> None:
    store = Database.from_url(store_url).spent_tokens()
    try:
        nonces = [os.urandom(32) for _ in range(1500)]
        first = await asyncio.gather(
            *(store.spend(n, key_id=KEY, expires=FAR) for n in nonces), return_exceptions=True
        )
        assert first == [None] * len(nonces)  # nothing lost
        again = await asyncio.gather(
            *(store.spend(n, key_id=KEY, expires=FAR) for n in nonces[::-1] + nonces[:10]),
            return_exceptions=True,
        )
        assert all(isinstance(r, ReplayError) for r in again)  # nothing counted twice
    finally:
        await store.close()


def test_one_token_redeemed_concurrently_over_separate_connections_succeeds_once(
    store_url: str,
) -> None:
    db = Database.from_url(store_url)
    stores = [db.spent_tokens() for _ in range(CONNECTIONS)]
    try:
        for _ in range(3):
            nonce = os.urandom(32)
            for method in ("spend_sync", "reserve_sync"):
                calls = [getattr(s, method) for s in stores]
                nonce = os.urandom(32)
                results = race(
                    CONNECTIONS,
                    lambda i, c=calls, n=nonce: c[i](n, key_id=KEY, expires=FAR),  # type: ignore[misc]
                )
                assert sum(r is None for r in results) == 1
                assert all(r is None or isinstance(r, ReplayError) for r in results)
    finally:
        for s in stores:
            asyncio.run(s.close())


async def test_reservation_of_a_killed_gateway_lapses_only_after_the_ttl(store_url: str) -> None:
    db = Database.from_url(store_url)
    start = 1_000_000.0
    dead = db.spent_tokens(clock=FixedClock(start))
    alive_clock = FixedClock(start)
    alive = db.spent_tokens(clock=alive_clock)
    try:
        nonce = os.urandom(32)
        await dead.reserve(nonce, key_id=KEY, expires=FAR)
        cast(Any, dead)._stopping.set()  # the dead gateway's heart stops
        with pytest.raises(ReplayError):
            await alive.spend(nonce, key_id=KEY, expires=FAR)
        alive_clock.advance(limits.TOKEN_RESERVATION_TTL_S + 1)
        await alive.spend(nonce, key_id=KEY, expires=FAR)  # taken over, spent once
        with pytest.raises(ReplayError):
            await alive.spend(nonce, key_id=KEY, expires=FAR)
        dead.consume(nonce, key_id=KEY)  # too late: it finds the row not its own any more
        await asyncio.sleep(0.05)
        with pytest.raises(ReplayError):
            await alive.spend(nonce, key_id=KEY, expires=FAR)
    finally:
        await alive.close()
        await dead.close()


async def test_closing_a_gateway_gives_back_the_tokens_it_holds(store_url: str) -> None:
    db = Database.from_url(store_url)
    first = db.spent_tokens()
    nonce = os.urandom(32)
    await first.reserve(nonce, key_id=KEY, expires=FAR)
    await first.close()
    second = db.spent_tokens()
    try:
        await second.spend(nonce, key_id=KEY, expires=FAR)
    finally:
        await second.close()


async def test_purge_drops_only_keys_expired_past_the_margin(store_url: str) -> None:
    store = Database.from_url(store_url).spent_tokens(purge_margin_s=100)
    try:
        old_key, new_key = b"o" * 32, b"n" * 32
        for _ in range(3):
            await store.spend(os.urandom(32), key_id=old_key, expires=1000)
        kept = os.urandom(32)
        await store.spend(kept, key_id=new_key, expires=5000)
        assert await store.purge(1050) == 0  # inside the clock-skew margin
        assert await store.purge(1100) == 3
        with pytest.raises(ReplayError):
            await store.spend(kept, key_id=new_key, expires=5000)
    finally:
        await store.close()


async def test_token_of_a_dropped_key_epoch_is_refused_not_accepted_again(
    postgres_url: str,
) -> None:
    db = Database.from_url(postgres_url)
    purger, other = db.spent_tokens(purge_margin_s=0), db.spent_tokens()
    try:
        nonce, key = os.urandom(32), b"e" * 32
        await other.spend(nonce, key_id=key, expires=1000)  # `other` knows the partition
        assert await purger.purge(2000) == 1  # DROP TABLE of the key's partition
        with pytest.raises(ReplayError):  # a skewed gateway still taking the key for valid
            await other.spend(nonce, key_id=key, expires=1000)
        with pytest.raises(ReplayError):
            await purger.spend(os.urandom(32), key_id=key, expires=1000)
        with psycopg.connect(postgres_url) as conn:
            parts = conn.execute(
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent"
                " WHERE c.relname = 'spent_tokens'"
            ).fetchone()
        assert parts == (0,)
    finally:
        await purger.close()
        await other.close()


async def test_reservation_of_a_cancelled_request_is_given_back(postgres_url: str) -> None:
    db = Database.from_url(postgres_url)
    slow = db.spent_tokens()
    cast(Any, slow).window_s = 0.3  # the batch is still gathering when the caller goes away
    other = db.spent_tokens()
    try:
        nonce = os.urandom(32)
        task = asyncio.create_task(slow.reserve(nonce, key_id=KEY, expires=FAR))
        await asyncio.sleep(0)  # its first step queues the claim; cancelled well inside the window
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):  # the batch commits, then the reservation is released
            await asyncio.sleep(0.05)
            try:
                await other.spend(nonce, key_id=KEY, expires=FAR)
                break
            except ReplayError:
                continue
        else:
            pytest.fail("the cancelled request's reservation was never given back")
        assert cast(Any, slow).held() == 0
    finally:
        await slow.close()
        await other.close()


async def test_unbatched_postgresql_store_keeps_the_same_rules(
    postgres_url: str,
) -> None:
    store = Database.from_url(postgres_url).spent_tokens(batch=False)
    try:
        nonces = [os.urandom(32) for _ in range(50)]
        await asyncio.gather(*(store.spend(n, key_id=KEY, expires=FAR) for n in nonces))
        again = await asyncio.gather(
            *(store.spend(n, key_id=KEY, expires=FAR) for n in nonces), return_exceptions=True
        )
        assert all(isinstance(r, ReplayError) for r in again)
    finally:
        await store.close()


# --- issuer ----------------------------------------------------------------------------------


@pytest.fixture
def issuers(store_url: str) -> Iterator[list[IssuerStore]]:
    db = Database.from_url(store_url)
    stores = [db.issuer() for _ in range(CONNECTIONS)]
    yield stores
    for s in stores:
        s.close()


def _admit(store: IssuerStore, nonce: bytes, *, count: int, quota: int, **kw: Any) -> int:
    return store.admit(
        b"d" * 16, nonce, nonce_expires=FAR, period=7, count=count, quota=quota, **kw
    )


def test_quota_is_never_exceeded_by_concurrent_issuers(issuers: list[IssuerStore]) -> None:
    for _ in range(3):
        results = race(CONNECTIONS, lambda i: _admit(issuers[i], os.urandom(16), count=3, quota=20))
        charged = [r for r in results if isinstance(r, int)]
        assert all(isinstance(r, int | RateLimitedError) for r in results)
        assert sum(charged) == 18  # six charges of 3 fit in 20; never a seventh
        issuers[0].refund(b"d" * 16, 7, 18)


def test_concurrent_retries_of_one_batch_are_charged_once(issuers: list[IssuerStore]) -> None:
    batch = (b"b" * 16, b"h" * 32)
    results = race(
        CONNECTIONS, lambda i: _admit(issuers[i], os.urandom(16), count=5, quota=100, batch=batch)
    )
    assert sorted(results, key=repr) == [0] * (CONNECTIONS - 1) + [5]
    other = (b"b" * 16, b"x" * 32)
    with pytest.raises(ReplayError):
        _admit(issuers[0], os.urandom(16), count=5, quota=100, batch=other)
    assert _admit(issuers[1], os.urandom(16), count=95, quota=100) == 95  # 5 + 95: full


def test_replayed_issuance_nonce_is_refused_and_charges_nothing(
    issuers: list[IssuerStore],
) -> None:
    nonce = os.urandom(16)
    results = race(CONNECTIONS, lambda i: _admit(issuers[i], nonce, count=1, quota=100))
    assert sum(r == 1 for r in results) == 1
    assert all(r == 1 or isinstance(r, ReplayError) for r in results)


def test_over_quota_batch_is_not_recorded_and_can_be_retried_later(
    issuers: list[IssuerStore],
) -> None:
    batch = (b"q" * 16, b"h" * 32)
    with pytest.raises(RateLimitedError):
        _admit(issuers[0], os.urandom(16), count=11, quota=10, batch=batch)
    assert _admit(issuers[0], os.urandom(16), count=10, quota=10, batch=batch) == 10


def test_an_enrolment_code_enrols_one_device_under_concurrency(
    issuers: list[IssuerStore],
) -> None:
    code = os.urandom(32)
    issuers[0].add_enrolment_code(code, FAR)
    results = race(
        CONNECTIONS,
        lambda i: issuers[i].enrol(code, bytes([i]) * 16, bytes([i]) * 32, 1.0),
    )
    assert sum(r is None for r in results) == 1
    assert all(r is None or isinstance(r, AuthenticationError) for r in results)
    winner = results.index(None)
    assert issuers[3].device_key(bytes([winner]) * 16) == bytes([winner]) * 32
    assert issuers[2].remove_device(bytes([winner]) * 16)
    assert issuers[2].device_key(bytes([winner]) * 16) is None


def test_key_schedule_changes_once_under_concurrency(issuers: list[IssuerStore]) -> None:
    results = race(
        CONNECTIONS,
        lambda i: issuers[i].add_key_if_newest(StoredKey(bytes([i]) * 32, b"pk", 100, 200), None),
    )
    assert results.count(True) == 1
    assert [k.not_before for k in issuers[0].keys()] == [100]  # noqa: SIM118 (not a dict)
    assert issuers[1].delete_expired_keys(300) == 1


def test_issuer_purge_drops_old_nonces_codes_quota_and_batches(
    issuers: list[IssuerStore],
) -> None:
    store = issuers[0]
    store.add_enrolment_code(b"c" * 32, 50)
    store.admit(b"d" * 16, b"n" * 16, nonce_expires=50, period=1, count=1, quota=5)
    store.purge(60, period=3)
    store.admit(b"d" * 16, b"n" * 16, nonce_expires=500, period=3, count=5, quota=5)  # not seen
    with pytest.raises(AuthenticationError):
        store.enrol(b"c" * 32, b"d" * 16, b"k" * 32, 10)


# --- the log ---------------------------------------------------------------------------------


def test_log_store_answers_every_proof_like_the_in_memory_tree(store_url: str) -> None:
    db = Database.from_url(store_url)
    store, reference = db.log("test/log"), MerkleTree()
    leaves = [f"entry {i}".encode() for i in range(70)]
    pos = 0
    try:
        for n in [1, 2, 5, 1, 13, 8, 3, 21, 16]:
            store.append(leaves[pos : pos + n])
            for e in leaves[pos : pos + n]:
                reference.append_leaf(e)
            pos += n
            if pos % 2:  # reopen now and then: the store loads its edge, rebuilds nothing
                store.close()
                store = db.log("test/log")
            size = store.size()
            assert size == reference.size() == pos
            assert tree_root(store, size) == reference.root()
            for m in range(0, size + 1, 3):
                assert consistency_proof(store, m, size) == reference.consistency_proof(m, size)
            for i in range(0, size, 3):
                assert inclusion_proof(store, i, size) == reference.inclusion_proof(i, size)
        assert store.entries(0, pos, 1 << 20) == leaves[:pos]
        assert store.index_of(leaf_hash(leaves[9])) == 9
        assert store.append([leaves[5]])[0].existed  # idempotent
        store.save_checkpoint(b"note")
        assert store.load_checkpoint() == b"note"
        assert store.verify_tree() == "all"
        assert store.remember_tag(b"t", 10.0, 1.0, 10)
        assert not store.remember_tag(b"t", 10.0, 1.0, 10)
    finally:
        store.close()


def test_log_store_append_is_all_or_nothing(store_url: str) -> None:
    db = Database.from_url(store_url)
    store = db.log("test/log")
    try:
        store.append([b"a"])
        twice = store.append([b"x", b"x"])  # once in the log, the second is the first
        assert (twice[0].existed, twice[1].existed, twice[1].index) == (False, True, 1)
        store.append([b"a"])
        with pytest.raises(UsageError):
            store.append([b"b", "not bytes"])  # type: ignore[list-item]
        assert store.size() == 2
        store.close()
        store = db.log("test/log")
        assert store.size() == 2
    finally:
        store.close()


def test_log_store_belongs_to_one_origin(store_url: str) -> None:
    db = Database.from_url(store_url)
    db.log("test/log").close()
    with pytest.raises(ConfigError):
        db.log("another/log")


def test_second_log_sequencer_is_refused_and_cannot_fork_the_log(
    postgres_url: str,
) -> None:
    db = Database.from_url(postgres_url)
    first = db.log("test/log")
    try:
        first.append([b"a", b"b"])
        results = race(4, lambda _: db.log("test/log"))
        assert all(isinstance(r, ConfigError) for r in results)
        assert "another sequencer holds the log" in str(results[0])
        reader = db.log("test/log", readonly=True)  # readers: any number, no lock
        assert isinstance(reader, PgTlogStore)
        try:
            assert reader.size() == 2
            first.append([b"c"])
            assert reader.refresh() == 3
            with pytest.raises(UsageError):
                reader.append([b"x"])
        finally:
            reader.close()
    finally:
        first.close()
    second = db.log("test/log")  # the lock went with the first one's connection
    try:
        assert second.size() == 3
    finally:
        second.close()


def test_sequencer_whose_lock_was_taken_over_never_forks_the_log(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "PG_RELOCK_WAIT_S", 0.2)  # the usurper holds it: no use waiting
    db = Database.from_url(postgres_url)
    stale = db.log("test/log")
    assert isinstance(stale, PgTlogStore)
    stale.append([b"a"])
    end_sessions(  # its connection dies, and with it the lock
        postgres_url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    usurper = db.log("test/log")  # the lock is free: another sequencer takes over
    try:
        usurper.append([b"b"])
        with pytest.raises(UnavailableError):  # reconnects, finds the lock held
            stale.append([b"stale"])
    finally:
        usurper.close()
    with pytest.raises(UnavailableError):  # lock free again, but the tree moved: refused
        stale.append([b"stale"])
    with pytest.raises(UnavailableError):  # for good
        stale.append([b"stale"])
    stale.close()
    check = db.log("test/log")
    try:
        assert check.size() == 2
        assert check.entries(0, 2, 10**6) == [b"a", b"b"]
        assert check.verify_tree() == "all"
    finally:
        check.close()


def test_sequencer_retakes_its_lock_once_its_lost_session_lets_it_go(postgres_url: str) -> None:
    """After a lost connection the old session may hold the lock a moment longer (the server
    has not ended it yet): the sequencer's next append waits for it rather than failing."""
    db = Database.from_url(postgres_url)
    sequencer = db.log("test/log")
    lock_id = lock_key("log-sequencer", LOG_SCHEMA, "test/log")
    sequencer.append([b"a"])
    end_sessions(postgres_url)
    # A session holding the lock, as the lost one does until the server has ended it.
    with psycopg.connect(postgres_url, autocommit=True) as lost_session:
        lost_session.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        letting_go = threading.Timer(
            0.5, lambda: lost_session.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
        )
        started = time.monotonic()
        letting_go.start()
        try:
            sequencer.append([b"b"])  # a new connection; the lock once the session lets go
            assert time.monotonic() - started >= 0.4
        finally:
            letting_go.join()
    try:
        assert sequencer.size() == 2
        assert sequencer.verify_tree() == "all"
    finally:
        sequencer.close()


def test_log_reader_of_a_log_not_made_yet_is_refused(postgres_url: str) -> None:
    with pytest.raises(ConfigError):
        Database.from_url(postgres_url).log("test/log", readonly=True)


# --- the witness -----------------------------------------------------------------------------


def test_concurrent_witness_decisions_never_roll_the_size_back(store_url: str) -> None:
    db = Database.from_url(store_url)
    stores = [db.witness() for _ in range(CONNECTIONS)]
    accepted: list[int] = []
    lock = threading.Lock()

    def submit(i: int) -> int:
        size = (i * 7) % CONNECTIONS + 1

        def decide(old: WitnessRecord | None) -> tuple[WitnessRecord, int]:
            if old is not None and old.size >= size:
                raise ReplayError("not newer")
            with lock:
                accepted.append(size)
            return WitnessRecord("o", size, bytes([size]) * 32, b"note", float(size)), size

        return stores[i].update("o", decide)

    try:
        for _ in range(3):
            race(CONNECTIONS, submit)
        assert accepted == sorted(set(accepted))  # every accepted size beat the one before
        record = stores[0].get("o")
        assert record is not None and record.size == CONNECTIONS
        assert stores[1].origins() == ["o"]
    finally:
        for s in stores:
            s.close()


def test_witness_record_survives_reopening(store_url: str) -> None:
    db = Database.from_url(store_url)
    store = db.witness()
    store.update("o", lambda _: (WitnessRecord("o", 5, b"r" * 32, b"n", 1.5), None))
    store.close()
    store = db.witness()
    try:
        assert store.get("o") == WitnessRecord("o", 5, b"r" * 32, b"n", 1.5)
        with pytest.raises(UsageError):  # a decision must keep the origin
            store.update("o", lambda _: (WitnessRecord("p", 6, b"r" * 32, b"n", 2.0), None))
        assert store.get("p") is None
    finally:
        store.close()


# --- across processes ------------------------------------------------------------------------

_RACER = """
import asyncio, sys, time
from privcloud.errors import ReplayError
from privcloud.storage.database import Database

async def main() -> None:
    store = Database.from_url(sys.argv[1]).spent_tokens()
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # every racer starts at once

    async def spend(i: int) -> int:
        try:
            await store.spend(i.to_bytes(32, "big"), key_id=b"k" * 32, expires=2**40)
        except ReplayError:
            return 0
        return 1

    won = sum(await asyncio.gather(*(spend(i) for i in range(int(sys.argv[2])))))
    await store.close()
    print(won)

asyncio.run(main())
"""


def test_gateway_processes_racing_on_the_same_tokens_spend_each_once(store_url: str) -> None:
    count, racers = 1500, 4
    start = str(time.time() + 3.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, store_url, str(count), start], stdout=subprocess.PIPE
        )
        for _ in range(racers)
    ]
    wins = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(wins) == count  # each token accepted by exactly one process: none lost, none twice


def test_second_log_process_on_one_database_is_refused_with_a_clear_error(
    postgres_url: str, tmp_path: Path
) -> None:
    def log_cmd(data: str) -> list[str]:
        return [sys.executable, "-m", "privcloud.cli", "log", "--port", "0",
                "--data-dir", str(tmp_path / data), "--database", postgres_url]  # fmt: skip

    first = subprocess.Popen(log_cmd("a"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert first.stdout is not None
        line = first.stdout.readline()  # blocks until it serves (or exits)
        assert line.startswith(b"listening on"), first.stderr.read() if first.stderr else b""
        second = subprocess.run(log_cmd("b"), capture_output=True, timeout=60, check=False)
        assert second.returncode == 2
        assert b"another sequencer holds the log" in second.stderr
        assert b"only one log process may append" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        try:
            first.wait(timeout=15)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()


# --- a whole local cloud on PostgreSQL ------------------------------------------------------


async def test_local_cloud_on_postgresql_keeps_every_state_there(
    postgres_url: str, tmp_path: Path
) -> None:
    cloud = LocalCloud(
        nodes=[NodeSpec("node-1", "eu-west")], data_dir=str(tmp_path), database=postgres_url
    )
    await cloud.start()
    try:
        wallet = cloud.new_wallet(batch_size=5)  # (one a request: none is fetched on its path)
        trust = cloud.client_trust()
        policy = ClientPolicy.insecure_local_dev()
        async with Client(cloud.relay_url, policy=policy, wallet=wallet, trust=trust) as client:
            for i in range(5):
                assert (await client.call("echo", None, b"%d" % i)).data == b"%d" % i
    finally:
        await cloud.stop()
    with psycopg.connect(postgres_url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            for table in (
                "privcloud_tokens.spent_tokens",
                "privcloud_issuer.devices",
                "privcloud_log.leaves",
                "privcloud_witness.witnessed",
            )
        }
    assert counts["privcloud_tokens.spent_tokens"] == (5,)
    assert counts["privcloud_issuer.devices"] == (1,)
    assert counts["privcloud_log.leaves"] is not None and counts["privcloud_log.leaves"][0] >= 1
    assert counts["privcloud_witness.witnessed"] == (1,)
    assert not list(tmp_path.rglob("*.sqlite3")) and not list(tmp_path.rglob("*.db"))


async def test_stores_serve_the_first_request_after_the_server_closed_their_connections(
    postgres_url: str,
) -> None:
    """A restart or fail-over closes every connection; each store notices its closed, idle
    connection before using it and opens another: no request is answered 503 for it."""
    db = Database.from_url(postgres_url)
    tokens, issuer, witness = db.spent_tokens(), db.issuer(), db.witness()
    log = db.log("test/log")
    try:
        await tokens.spend(os.urandom(32), key_id=KEY, expires=FAR)
        issuer.add_enrolment_code(b"c" * 32, FAR)
        log.append([b"a"])
        assert witness.origins() == []
        end_sessions(postgres_url)
        for lane in range(LANES):
            await tokens.spend(os.urandom(31) + bytes([lane]), key_id=KEY, expires=FAR)
        assert issuer.device_key(b"d" * 16) is None
        issuer.enrol(b"c" * 32, b"d" * 16, b"k" * 32, 1.0)
        assert witness.origins() == []
        log.append([b"b"])  # the sequencer took its lock again on the new connection
        assert log.size() == 2
    finally:
        await tokens.close()
        issuer.close()
        witness.close()
        log.close()


def test_connections_bound_a_silent_network_unless_the_url_says_otherwise(
    postgres_url: str,
) -> None:
    """Over TCP a cut network fails a statement after PG_TCP_USER_TIMEOUT_S and an idle
    connection after its keepalives (libpq applies them on TCP only; this server listens on a
    Unix socket, so only the settings are checked here); a URL's own values win."""
    for url, idle in ((postgres_url, str(limits.PG_KEEPALIVE_IDLE_S)),
                      (f"{postgres_url}&keepalives_idle=7", "7")):  # fmt: skip
        conn = pg_connection.PgConnection(
            url, schema="test_tcp", what="a test table", unavailable="down"
        )
        try:
            given = conn.raw.info.get_parameters()
            assert given["tcp_user_timeout"] == str(limits.PG_TCP_USER_TIMEOUT_S * 1000)
            assert (given["keepalives"], given["keepalives_idle"]) == ("1", idle)
        finally:
            conn.close()


def test_connection_past_descriptor_1024_is_kept(postgres_url: str) -> None:
    """A busy service holds more than 1,024 descriptors; the check for a closed connection
    works past that number too (``select()`` cannot watch it), so no statement reconnects."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, top), hard))
    # Past 1024 wherever the hard limit allows; a machine whose limit does not cannot have such
    # a descriptor, and the connection is then put as high as it can go.
    past = min(1024, top - 32)
    filler: list[int] = []
    try:
        while not filler or filler[-1] < past:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        conn = pg_connection.PgConnection(
            postgres_url, schema="test_descriptors", what="a test table", unavailable="down"
        )
        try:
            assert conn.raw.fileno() > past
            (pid,) = pg_connection.first(conn.execute("SELECT pg_backend_pid()"))
            for _ in range(3):
                assert pg_connection.first(conn.execute("SELECT pg_backend_pid()")) == (pid,)
        finally:
            conn.close()
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_connection_with_something_to_read_but_alive_is_kept(postgres_url: str) -> None:
    """A healthy connection may have something to read while idle (here a notification; with
    TLS, a session ticket): a round trip tells it from one the server closed, and it is kept."""
    conn = pg_connection.PgConnection(
        postgres_url, schema="test_notices", what="a test table", unavailable="down"
    )
    try:
        (pid,) = pg_connection.first(conn.execute("SELECT pg_backend_pid()"))
        conn.execute("LISTEN privcloud_test")
        poller = select.poll()
        poller.register(conn.raw.fileno(), select.POLLIN)
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("NOTIFY privcloud_test")
        deadline = time.monotonic() + 10
        while not poller.poll(50):  # the notification is there to read
            assert time.monotonic() < deadline
        assert pg_connection.first(conn.execute("SELECT pg_backend_pid()")) == (pid,)
    finally:
        conn.close()


async def test_stores_answer_unavailable_then_reconnect_after_a_silent_loss(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection lost without a word (a cut network: nothing to read) is found dead only
    when used: that request is answered 503, and the next use reconnects."""
    monkeypatch.setattr(pg_connection, "_hung_up", lambda conn: conn.closed)
    db = Database.from_url(postgres_url)
    tokens, issuer, witness = db.spent_tokens(), db.issuer(), db.witness()
    try:
        await tokens.spend(os.urandom(32), key_id=KEY, expires=FAR)
        issuer.add_enrolment_code(b"c" * 32, FAR)
        end_sessions(postgres_url)
        for lane in range(LANES):  # each lane's first use may find its dead connection: 503
            with contextlib.suppress(UnavailableError):
                await tokens.spend(os.urandom(31) + bytes([lane]), key_id=KEY, expires=FAR)
        for lane in range(LANES):  # then every lane has reconnected
            await tokens.spend(os.urandom(31) + bytes([lane]), key_id=KEY, expires=FAR)
        with contextlib.suppress(UnavailableError):
            issuer.device_key(b"d" * 16)
        issuer.enrol(b"c" * 32, b"d" * 16, b"k" * 32, 1.0)  # reconnected, code still there
        with contextlib.suppress(UnavailableError):
            witness.origins()
        assert witness.origins() == []
    finally:
        await tokens.close()
        issuer.close()
        witness.close()


def test_gateway_processes_share_the_spent_token_store_given_by_database_url(
    postgres_url: str,
) -> None:
    argv = [sys.executable, "-m", "privcloud.cli", "gateway", "--port", "0",
            "--node", "http://127.0.0.1:9", "--issuer", "http://127.0.0.1:9",
            "--database", postgres_url]  # fmt: skip

    def gateway() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    procs = [gateway(), gateway()]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert b"gateway listening on" in line, proc.stderr.read() if proc.stderr else b""
        with psycopg.connect(postgres_url) as conn:  # each process's heartbeat, one table
            alive = conn.execute("SELECT count(*) FROM privcloud_tokens.token_holders").fetchone()
        assert alive == (2,)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    with psycopg.connect(postgres_url) as conn:  # closed cleanly: heartbeats removed
        alive = conn.execute("SELECT count(*) FROM privcloud_tokens.token_holders").fetchone()
    assert alive == (0,)


_HOLDER = """
import asyncio, sys
from privcloud.storage.database import Database

async def main() -> None:
    store = Database.from_url(sys.argv[1]).spent_tokens(reservation_ttl_s=float(sys.argv[3]))
    await store.reserve(bytes.fromhex(sys.argv[2]), key_id=b"k" * 32, expires=2**40)
    print("held", flush=True)
    await asyncio.sleep(3600)  # SIGKILLed here, between reserve and consume

asyncio.run(main())
"""


async def test_gateway_sigkilled_between_reserve_and_consume_frees_the_token_after_the_ttl(
    store_url: str,
) -> None:
    nonce, ttl = os.urandom(32), 3.0
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, store_url, nonce.hex(), str(ttl)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
    proc.kill()
    proc.wait()
    store = Database.from_url(store_url).spent_tokens()
    try:
        with pytest.raises(ReplayError):  # still held: its holder's last heartbeat is recent
            await store.spend(nonce, key_id=b"k" * 32, expires=FAR)
        for _ in range(400):  # the holder's heartbeat lapses: the token can be spent, once
            await asyncio.sleep(0.05)
            with contextlib.suppress(ReplayError):
                await store.spend(nonce, key_id=b"k" * 32, expires=FAR)
                break
        else:
            pytest.fail("the killed gateway's reservation never lapsed")
        with pytest.raises(ReplayError):
            await store.spend(nonce, key_id=b"k" * 32, expires=FAR)
    finally:
        await store.close()


async def test_consume_returns_only_once_the_spend_is_durable(store_url: str) -> None:
    """A gateway waits on :meth:`consume`'s future before it sends a node's answer on: once
    it is done the row is spent in the database, so a gateway SIGKILLed right after cannot
    leave a reservation that lapses and buys a second answer."""
    store = Database.from_url(store_url).spent_tokens()
    nonce = os.urandom(32)
    try:
        await store.reserve(nonce, key_id=b"k" * 32, expires=FAR)
        assert await asyncio.wrap_future(store.consume(nonce, key_id=b"k" * 32)) is True
    finally:
        await store.close()
    # Another process, whose clock is an hour ahead (every heartbeat has lapsed for it), still
    # finds the token spent: nothing of it was left to a thread or a later batch.
    other = Database.from_url(store_url).spent_tokens(clock=FixedClock(time.time() + 3600))
    try:
        with pytest.raises(ReplayError):
            await other.spend(nonce, key_id=b"k" * 32, expires=FAR)
    finally:
        await other.close()


async def test_answer_is_withheld_when_the_reservation_lapsed_before_the_spend(
    store_url: str,
) -> None:
    """Double spend after a stall: gateway A reserved a token, stalled past its heartbeat, and
    gateway B took the lapsed reservation over and spent it. A's consume reports that its row
    did not become the spend, and A's Redemption refuses to let the node's answer out."""
    slow = Database.from_url(store_url).spent_tokens()
    later = Database.from_url(store_url).spent_tokens(clock=FixedClock(time.time() + 3600))
    nonce, key_id = os.urandom(32), b"k" * 32
    try:
        await slow.reserve(nonce, key_id=key_id, expires=FAR)
        await later.spend(nonce, key_id=key_id, expires=FAR)  # A's heartbeat lapsed for B
        held = Redemption(slow, nonce, key_id, Counter())
        with pytest.raises(UnavailableError):
            await held.consume()
    finally:
        await slow.close()
        await later.close()


def test_missing_postgresql_binaries_are_a_clear_failure_not_a_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVCLOUD_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresMissing, match="make setup"):
        find_bindir()
