"""The transparency log service over loopback, its SQLite store, and ``privcloud log audit``.

Everything runs against a real log (and the witness that cosigns it) on 127.0.0.1; proofs are
checked with :mod:`privcloud.transparency.merkle`, never with the log's own code.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import sqlite3
import stat
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from privcloud import limits
from privcloud.cli import main as cli_main
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    AuthenticationError,
    ConfigError,
    TooLargeError,
    UsageError,
)
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient, publish_entry
from privcloud.sdk.trust_store import pinned_state, refresh_trusted_checkpoint
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.services.tlog import open_log
from privcloud.storage.tlog_store import TlogStore, load_key, load_or_create_key
from privcloud.transparency.append_auth import sign_append
from privcloud.transparency.checkpoint import open_checkpoint
from privcloud.transparency.merkle import (
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from privcloud.transparency.note import Ed25519NoteVerifier

ENTRIES = [f"release manifest {i}".encode() for i in range(11)]


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalTransparency]:
    t = await LocalTransparency.start("127.0.0.1", tmp_path / "data")
    yield t
    await t.stop()


async def _append_all(t: LocalTransparency, entries: list[bytes]) -> list[int]:
    return [await publish_entry(t.log_url, t.operator_key, e) for e in entries]


async def _checkpoint(t: LocalTransparency, size: int) -> tuple[bytes, int, bytes]:
    """Wait for a cosigned checkpoint of ``size``; verify its log signature; (note, size, root)."""
    async with LogClient(t.log_url) as client:
        note = await client.wait_for_checkpoint(size, min_cosignatures=1)
    cp = open_checkpoint(note, [Ed25519NoteVerifier.from_vkey(t.log_vkey)])
    return note, cp.size, cp.root_hash


# --- the HTTP API ------------------------------------------------------------------------------


async def test_append_then_checkpoint_then_inclusion_proofs_verify(
    local: LocalTransparency,
) -> None:
    indexes = await _append_all(local, ENTRIES)
    assert indexes == list(range(len(ENTRIES)))
    _, size, root = await _checkpoint(local, len(ENTRIES))
    assert size == len(ENTRIES)
    assert root == MerkleTree(leaf_hash(e) for e in ENTRIES).root()
    async with LogClient(local.log_url) as client:
        for i, entry in enumerate(ENTRIES):
            proof = await client.inclusion_proof(i, size)
            verify_inclusion(leaf_hash(entry), i, size, proof, root)
            assert await client.leaf_index(leaf_hash(entry)) == i
        # An older tree size is served too (hashes never change once written).
        proof = await client.inclusion_proof(2, 5)
        verify_inclusion(
            leaf_hash(ENTRIES[2]), 2, 5, proof, MerkleTree(leaf_hash(e) for e in ENTRIES[:5]).root()
        )
        assert await client.iter_entries(0, size) == ENTRIES


async def test_consistency_between_successive_checkpoints(local: LocalTransparency) -> None:
    await _append_all(local, ENTRIES[:3])
    note1, size1, root1 = await _checkpoint(local, 3)
    await _append_all(local, ENTRIES[3:])
    _, size2, root2 = await _checkpoint(local, len(ENTRIES))
    async with LogClient(local.log_url) as client:
        proof = await client.consistency_proof(size1, size2)
        verify_consistency(size1, size2, root1, root2, proof)
        # The same through the client's trusted state, which also checks the cosignatures.
        state = pinned_state(local.log_vkey, local.witness_vkeys)
        state = state.update(note1, [], time.time())
        state = await refresh_trusted_checkpoint(client, state)
        assert state.checkpoint.size == size2


async def test_append_is_idempotent(local: LocalTransparency) -> None:
    async with LogClient(local.log_url) as client:
        first = await client.append(b"same manifest", local.operator_key)
        again = await client.append(b"same manifest", local.operator_key)
        other = await client.append(b"other manifest", local.operator_key)
    assert (first.index, first.created) == (0, True)
    assert (again.index, again.created) == (0, False)
    assert again.leaf_hash == first.leaf_hash == leaf_hash(b"same manifest")
    assert other.index == 1


async def test_restarted_log_keeps_its_root_and_its_proofs_verify(tmp_path: Path) -> None:
    data = tmp_path / "data"
    t = await LocalTransparency.start("127.0.0.1", data)
    try:
        await _append_all(t, ENTRIES[:7])
        _, size, root = await _checkpoint(t, 7)
        vkey = t.log_vkey
    finally:
        await t.stop()
    t = await LocalTransparency.start("127.0.0.1", data)  # same SQLite files, new ports
    try:
        assert t.log_vkey == vkey
        _, size_after, root_after = await _checkpoint(t, 7)
        assert (size_after, root_after) == (size, root)
        async with LogClient(t.log_url) as client:
            for i in range(7):
                verify_inclusion(
                    leaf_hash(ENTRIES[i]), i, 7, await client.inclusion_proof(i, 7), root
                )
        # It keeps growing from where it was, consistently, and the witness still cosigns.
        await _append_all(t, ENTRIES[7:])
        _, size2, root2 = await _checkpoint(t, len(ENTRIES))
        async with LogClient(t.log_url) as client:
            verify_consistency(7, size2, root, root2, await client.consistency_proof(7, size2))
    finally:
        await t.stop()


async def _post(url: str, body: bytes, authorization: str | None) -> tuple[int, dict[str, object]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with (
        aiohttp.ClientSession() as s,
        s.post(url + "/v1/entries", data=body, headers=headers) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_unauthorised_append_is_refused_with_401(local: LocalTransparency) -> None:
    now = int(time.time())
    body = b"an entry"
    stranger = Ed25519PrivateKey.generate()
    good = sign_append(local.operator_key, body, now)
    cases = {
        "no header": None,
        "malformed": "Signature nonsense",
        "other scheme": "Bearer abc",
        "unknown key": sign_append(stranger, body, now),
        "signed another body": sign_append(local.operator_key, b"another entry", now),
        "stale": sign_append(local.operator_key, body, now - 10 * 60),
        "from the future": sign_append(local.operator_key, body, now + 10 * 60),
        # A valid signature of this operator key with another key's ID.
        "wrong key id": good.replace(good.split('"')[1], "0" * 16),
    }
    for name, header in cases.items():
        status, doc = await _post(local.log_url, body, header)
        assert (name, status, doc["error"]) == (name, 401, "unauthorized")
    async with LogClient(local.log_url) as client:
        assert await client.checkpoint()  # still serving
        with pytest.raises(AuthenticationError):
            await client.append(body, stranger)
    assert local.log.store.size() == 0


async def test_replayed_append_is_refused(local: LocalTransparency) -> None:
    header = sign_append(local.operator_key, b"entry", int(time.time()))
    assert (await _post(local.log_url, b"entry", header))[0] == 201
    status, doc = await _post(local.log_url, b"entry", header)
    assert (status, doc["error"]) == (400, "replay")


async def test_oversize_entry_is_refused_with_413(local: LocalTransparency) -> None:
    body = b"x" * (limits.MAX_TLOG_TILED_ENTRY_BYTES + 1)  # an entry bundle's bound
    status, doc = await _post(
        local.log_url, body, sign_append(local.operator_key, body, int(time.time()))
    )
    assert (status, doc["error"]) == (413, "too_large")
    with pytest.raises(TooLargeError):
        await publish_entry(local.log_url, local.operator_key, body)
    ok = b"x" * limits.MAX_TLOG_TILED_ENTRY_BYTES
    assert await publish_entry(local.log_url, local.operator_key, ok) == 0


async def test_empty_entry_is_refused(local: LocalTransparency) -> None:
    status, doc = await _post(
        local.log_url, b"", sign_append(local.operator_key, b"", int(time.time()))
    )
    assert (status, doc["error"]) == (400, "malformed")


BAD_QUERIES = [
    "/v1/proof/inclusion?index=0",
    "/v1/proof/inclusion?size=3",
    "/v1/proof/inclusion?index=a&size=3",
    "/v1/proof/inclusion?index=-1&size=3",
    "/v1/proof/inclusion?index=01&size=3",
    "/v1/proof/inclusion?index=+1&size=3",
    "/v1/proof/inclusion?index=1&index=2&size=3",
    "/v1/proof/inclusion?index=3&size=3",
    "/v1/proof/inclusion?index=0&size=0",
    "/v1/proof/inclusion?index=0&size=99999999999999999999",
    "/v1/proof/consistency?old=3",
    "/v1/proof/consistency?old=3&new=2",
    "/v1/proof/consistency?old=1.0&new=2",
    "/v1/entries?start=2&end=2",
    "/v1/entries?start=2&end=1",
    "/v1/entries?start=&end=1",
    "/v1/leaf",
    "/v1/leaf?hash=AAAA",
    "/v1/leaf?hash=" + "A" * 44,
    "/v1/leaf?hash=" + "!" * 43 + "=",
]
NOT_FOUND_QUERIES = [
    "/v1/proof/inclusion?index=0&size=4",
    "/v1/proof/consistency?old=1&new=4",
    "/v1/entries?start=0&end=4",
    "/v1/leaf?hash=" + base64.urlsafe_b64encode(leaf_hash(b"never logged")).decode(),
]


async def test_bad_query_parameters_are_refused_with_400_and_unknown_things_404(
    local: LocalTransparency,
) -> None:
    await _append_all(local, ENTRIES[:3])
    async with aiohttp.ClientSession() as s:
        for path in BAD_QUERIES:
            async with s.get(local.log_url + path) as r:
                doc = await r.json(content_type=None)
                assert (path, r.status) == (path, 400), doc
                assert doc["error"] in ("malformed", "bad_request")
        for path in NOT_FOUND_QUERIES:
            async with s.get(local.log_url + path) as r:
                assert (path, r.status) == (path, 404)
        # A range longer than one page allows is refused before anything is read.
        too_long = f"/v1/entries?start=0&end={limits.MAX_TLOG_ENTRIES_PER_READ + 1}"
        async with s.get(local.log_url + too_long) as r:
            assert r.status in (400, 404)
        async with s.get(local.log_url + "/v1/checkpoint") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_entries_pages_are_bounded_in_bytes(local: LocalTransparency) -> None:
    # 80 entries of 60 KiB (a tiled log's entries stay under 64 KiB): more than one page
    big = [bytes([i]) * (60 * 1024) for i in range(80)]
    await _append_all(local, big)
    async with LogClient(local.log_url) as client:
        page = await client.entries(0, 80)
        assert 0 < len(page) < 80
        assert sum(map(len, page)) <= limits.MAX_TLOG_ENTRIES_READ_BYTES
        assert await client.iter_entries(0, 80) == big


async def test_a_flood_of_public_reads_neither_delays_the_operators_append_nor_queues_unbounded(
    local: LocalTransparency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may read the log. Before, every read queued on the store's one thread in arrival
    order, ahead of the operator's append, without bound: a reader flood delayed a release's
    publication. Now the log's own steps pass the queued reads, the append is one step (its
    replay tag and its entry), and every read route past the bound gets 503 before it is
    queued (services/store_thread.py): overloaded, not a refusal a device could act on."""
    await _append_all(local, ENTRIES[:1])
    store, worker = local.log.store, local.log.store_thread
    monkeypatch.setattr(worker, "max_reads", 8)
    gate, first = threading.Event(), threading.Event()
    order: list[str] = []
    real_index_of, real_append = store.index_of, store.append

    def slow_index_of(h: bytes) -> int | None:
        if not first.is_set():
            first.set()
            gate.wait(10)  # the read in progress holds the thread
        order.append("read")
        return real_index_of(h)

    def append(entries: list[bytes]) -> object:
        order.append("append")
        return real_append(entries)

    monkeypatch.setattr(store, "index_of", slow_index_of)
    monkeypatch.setattr(store, "append", append)
    url = local.log_url + "/v1/leaf?hash=" + base64.b64encode(bytes(32)).decode()
    async with aiohttp.ClientSession() as s:

        async def read(path: str | None = None) -> int:
            async with s.get(url if path is None else local.log_url + path) as r:
                return r.status

        reads = [asyncio.ensure_future(read())]
        async with asyncio.timeout(30):
            while not first.is_set():
                await asyncio.sleep(0.005)
            reads += [asyncio.ensure_future(read()) for _ in range(8)]
            while worker.queued_reads() < 8:
                await asyncio.sleep(0.005)
        # The queue is full: every read route is refused, not queued.
        for path in (
            None,
            "/v1/proof/inclusion?index=0&size=1",
            "/v1/entries?start=0&end=1",
            "/tile/entries/000.p/1",
        ):
            assert (path, await read(path)) == (path, 503)
        append_done = asyncio.ensure_future(
            publish_entry(local.log_url, local.operator_key, b"new")
        )
        await asyncio.sleep(0.2)
        gate.set()
        assert await append_done == 1
        assert sorted(await asyncio.gather(*reads)) == [404] * 9
    assert order[:2] == ["read", "append"]  # only the read in progress came before it


@pytest.mark.parametrize("via", ["log", "relay"])
async def test_reads_sent_and_dropped_do_not_hold_the_read_queue(
    via: str, local: LocalTransparency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp does not cancel a handler whose peer left: a flood of requests sent and their
    connections closed at once held every place of the bound, no connection held, and devices
    got 503 (review of a5ac8e5). The log cancels such handlers: their reads leave the queue.
    Devices read through the relay, which kept its upstream read open for a device gone
    (review of 0c6a309): it stops it now, and the log's handler is cancelled in turn."""
    await _append_all(local, ENTRIES[:1])
    store, worker = local.log.store, local.log.store_thread
    monkeypatch.setattr(worker, "max_reads", 4)
    gate, first = threading.Event(), threading.Event()
    real_index_of = store.index_of

    def slow_index_of(h: bytes) -> int | None:
        if not first.is_set():
            first.set()
            gate.wait(30)
        return real_index_of(h)

    monkeypatch.setattr(store, "index_of", slow_index_of)
    host, port = local.log_url.removeprefix("http://").split(":")
    target = "/v1/leaf?hash=" + base64.b64encode(bytes(32)).decode()
    head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    held = await asyncio.open_connection(host, int(port))
    held[1].write(head)  # this read holds the thread
    relay = Relay("http://127.0.0.1:9", log_url=local.log_url)
    runner, relay_port = await start_site(relay.app(), "127.0.0.1", 0)
    if via == "relay":
        port, head = str(relay_port), head.replace(b"GET /v1/", b"GET /log/v1/")
    try:
        async with asyncio.timeout(30):
            while not first.is_set():
                await asyncio.sleep(0.005)
            dropped = [await asyncio.open_connection(host, int(port)) for _ in range(4)]
            for _, writer in dropped:
                writer.write(head)
            while worker.queued_reads() < 4:
                await asyncio.sleep(0.005)
            for _, writer in dropped:
                writer.close()
        async with asyncio.timeout(5):  # well before the held read lets the thread go on
            while worker.queued_reads() > 0:  # their handlers cancelled, their reads gone
                await asyncio.sleep(0.005)
        async with aiohttp.ClientSession() as s:
            live = asyncio.ensure_future(s.get(local.log_url + target))
            await asyncio.sleep(0.1)
            gate.set()
            async with await live as r:
                assert r.status == 404  # queued and answered, not refused
    finally:
        gate.set()
        held[1].close()
        await runner.cleanup()


async def test_an_append_whose_operator_left_still_lands_and_logs_no_stray_error(
    local: LocalTransparency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log cancels the handler of a peer gone; the append it was making is shielded, so
    it lands (and calls for its checkpoint) all the same, and its outcome, a replay refused
    here, is not left for asyncio to report as "exception was never retrieved" (a review of
    0c6a309)."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "call_exception_handler", lambda ctx: seen.append(ctx["message"]))
    body = b"an entry whose operator left"
    header = sign_append(local.operator_key, body, int(time.time()))
    host, port = local.log_url.removeprefix("http://").split(":")
    request = (
        f"POST /v1/entries HTTP/1.1\r\nHost: {host}\r\nAuthorization: {header}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    assert (await reader.read()).startswith(b"HTTP/1.1 201")
    writer.close()
    gate, first = threading.Event(), threading.Event()
    real_index_of = local.log.store.index_of

    def slow_index_of(h: bytes) -> int | None:
        if not first.is_set():
            first.set()
            gate.wait(10)
        return real_index_of(h)

    monkeypatch.setattr(local.log.store, "index_of", slow_index_of)
    target = "/v1/leaf?hash=" + base64.b64encode(bytes(32)).decode()
    held = await asyncio.open_connection(host, int(port))
    held[1].write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    try:
        async with asyncio.timeout(30):
            while not first.is_set():
                await asyncio.sleep(0.005)
        _, again = await asyncio.open_connection(host, int(port))
        again.write(request)  # the same signed request: a replay, its peer gone at once
        await asyncio.sleep(0.2)
        again.close()
        await asyncio.sleep(0.2)
    finally:
        gate.set()
        held[1].close()
    await asyncio.sleep(0.3)
    gc.collect()  # a task's unretrieved exception is reported when the task is collected
    await asyncio.sleep(0.05)
    assert local.log.store.size() == 1  # the replay refused, the first entry alone
    assert seen == []


# --- the store -----------------------------------------------------------------------------------


def test_store_answers_every_proof_like_the_in_memory_tree(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = TlogStore(path, "test/log")
    leaves = [f"entry {i}".encode() for i in range(70)]
    reference = MerkleTree()
    batches = [1, 2, 5, 1, 13, 8, 3, 21, 16]
    pos = 0
    for n in batches:
        store.append(leaves[pos : pos + n])
        for e in leaves[pos : pos + n]:
            reference.append_leaf(e)
        pos += n
        if pos % 2:  # reopen now and then: the store must load its edge, not rebuild
            store.close()
            store = TlogStore(path, "test/log")
        size = store.size()
        assert size == reference.size() == pos
        assert tree_root(store, size) == reference.root()
        for m in range(size + 1):
            assert consistency_proof(store, m, size) == reference.consistency_proof(m, size)
        for i in range(size):
            assert inclusion_proof(store, i, size) == reference.inclusion_proof(i, size)
    assert store.entries(0, pos, 1 << 20) == leaves[:pos]
    assert store.index_of(leaf_hash(leaves[9])) == 9
    assert store.index_of(leaf_hash(b"absent")) is None
    store.close()


def test_store_append_is_all_or_nothing(tmp_path: Path) -> None:
    store = TlogStore(tmp_path / "log.db", "test/log")
    store.append([b"a", b"b", b"c"])
    root = tree_root(store, 3)
    with pytest.raises(UsageError):
        store.append([b"d", b"e", "not bytes"])  # type: ignore[list-item]
    assert store.size() == 3
    store.close()
    store = TlogStore(tmp_path / "log.db", "test/log")
    assert store.size() == 3 and tree_root(store, 3) == root
    assert [a.index for a in store.append([b"d", b"a"])] == [3, 0]
    store.close()


def test_store_belongs_to_one_origin(tmp_path: Path) -> None:
    TlogStore(tmp_path / "log.db", "test/log").close()
    with pytest.raises(ConfigError):
        TlogStore(tmp_path / "log.db", "another/log")


def test_key_files_are_created_owner_only_and_refused_when_readable(tmp_path: Path) -> None:
    key, created = load_or_create_key(tmp_path / "k.key")
    assert created and stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode) == 0o600
    again, created = load_or_create_key(tmp_path / "k.key")
    assert not created and again.public_bytes() == key.public_bytes()
    os.chmod(tmp_path / "k.key", 0o644)
    with pytest.raises(ConfigError, match=r"the operator key k\.key is readable by others"):
        load_key(tmp_path / "k.key", role="the operator key")
    assert [p.name for p in tmp_path.iterdir()] == ["k.key"]  # no temporary file stays


async def test_log_refuses_a_database_that_lost_entries_it_signed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    t = await LocalTransparency.start("127.0.0.1", data)
    try:
        await _append_all(t, ENTRIES[:5])
        await _checkpoint(t, 5)
    finally:
        await t.stop()
    with sqlite3.connect(data / "log" / "log.db") as db:
        db.execute("DELETE FROM leaves WHERE idx = 4")
    # Serving on would sign a second, different tree of size 5 later: refuse to start.
    with pytest.raises(ConfigError, match=r"log\.db is corrupt \(it does not hold the checkpoint"):
        open_log(data / "log")


# --- privcloud log audit -------------------------------------------------------------------------


def _audit_args(t: LocalTransparency, *extra: str) -> list[str]:
    return [
        "log",
        "audit",
        "--log",
        t.log_url,
        "--log-vkey",
        t.log_vkey,
        "--witness-vkey",
        t.witness_vkeys[0],
        *extra,
    ]


async def test_log_audit_succeeds_on_a_running_local_log(
    local: LocalTransparency, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _append_all(local, ENTRIES)
    await _checkpoint(local, len(ENTRIES))
    state = str(tmp_path / "audit-state")
    assert await asyncio.to_thread(cli_main, _audit_args(local, "--state", state)) == 0
    out = capsys.readouterr().out
    assert "audit OK" in out and f"entries       {len(ENTRIES)} re-hashed" in out
    assert "cosigned by   privcloud.local/witness" in out
    # A second audit starts from the persisted checkpoint and checks consistency with it.
    await publish_entry(local.log_url, local.operator_key, b"one more")
    await _checkpoint(local, len(ENTRIES) + 1)
    assert await asyncio.to_thread(cli_main, _audit_args(local, "--state", state)) == 0
    assert f"consistent with the trusted one (size {len(ENTRIES)})" in capsys.readouterr().out


async def test_log_audit_detects_a_tampered_entry(
    local: LocalTransparency, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _append_all(local, ENTRIES)
    await _checkpoint(local, len(ENTRIES))
    with sqlite3.connect(tmp_path / "data" / "log" / "log.db") as db:
        db.execute("UPDATE leaves SET entry = ? WHERE idx = 6", (b"release manifest EVIL",))
    assert await asyncio.to_thread(cli_main, _audit_args(local)) == 1
    captured = capsys.readouterr()
    assert "MISMATCH      entry 6 does not hash to the log's tree" in captured.out
    assert "VerificationError" in captured.err
    assert "audit OK" not in captured.out


async def test_more_entries_than_one_page_are_read_and_audited(
    local: LocalTransparency, capsys: pytest.CaptureFixture[str]
) -> None:
    many = [b"manifest %d" % i for i in range(limits.MAX_TLOG_ENTRIES_PER_READ * 2 + 5)]
    await asyncio.to_thread(local.log.store.append, many)  # the store's own thread is idle
    await local.log.publish()
    async with LogClient(local.log_url) as client:
        pages = [len(p) async for p in client.entry_pages(0, len(many))]
        assert pages == [limits.MAX_TLOG_ENTRIES_PER_READ] * 2 + [5]
        assert await client.iter_entries(3, len(many)) == many[3:]
    assert await asyncio.to_thread(cli_main, _audit_args(local)) == 0
    assert f"entries       {len(many)} re-hashed; the root matches" in capsys.readouterr().out


async def test_log_init_and_append_commands(
    local: LocalTransparency, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["log", "init", "--data-dir", str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("log vkey      privcloud.local/log+")
    for name in ("log.key", "operator.key"):
        assert stat.S_IMODE(os.stat(tmp_path / "new" / name).st_mode) == 0o600
    entry = tmp_path / "manifest.json"
    entry.write_bytes(b'{"release": "x"}')
    key_file = str(tmp_path / "data" / "log" / "operator.key")
    args = ["log", "append", "--log", local.log_url, "--operator-key", key_file, str(entry)]
    assert await asyncio.to_thread(cli_main, args) == 0
    assert await asyncio.to_thread(cli_main, args) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("(already in the log)")
