"""Log readers on PostgreSQL: one sequencer and two ``privcloud log --read-only`` processes on
one store. Entries appended on the sequencer become visible on the readers; a client follows
the log from a reader's tiles alone (checkpoint, consistency, inclusion); appends to a reader are
refused (405). In-process: a reader refuses a stored checkpoint it cannot vouch for."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    ConfigError,
    NotFoundError,
    ReadOnlyLogError,
    UnavailableError,
    VerificationError,
)
from privcloud.localcloud.cluster import ServiceProcess, free_ports, privcloud_argv
from privcloud.logclient import LogClient, checkpoint_size
from privcloud.sdk.logproofs import refresh_from_tiles, verify_entry_from_tiles
from privcloud.sdk.trust_store import pinned_state
from privcloud.services.site import start_site
from privcloud.services.tlog_reader import LogReader, open_reader
from privcloud.storage.database import Database
from privcloud.storage.tlog_store import TlogStore, load_key
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.merkle import leaf_hash, tree_root
from privcloud.transparency.note import Ed25519NoteSigner, parse_note

ORIGIN = "privcloud.local/log"
HOST = "127.0.0.1"


@dataclass
class Logs:
    sequencer: str
    readers: list[str]
    vkey: str
    witness_vkey: str
    operator: Ed25519PrivateKey


@pytest.fixture
async def logs(postgres_url: str, tmp_path: Path) -> AsyncIterator[Logs]:
    ports = free_ports(4, HOST)
    data = tmp_path / "log"
    db = ["--data-dir", str(data), "--database", postgres_url]
    init = subprocess.run(
        privcloud_argv("log", *db, "init"), capture_output=True, check=True, timeout=60
    )
    vkey = init.stdout.decode().split()[2]  # "log vkey  <vkey>"

    def service(name: str, port: int, *args: str) -> ServiceProcess:
        argv = privcloud_argv(*args, "--host", HOST, "--port", str(port))
        return ServiceProcess(name, argv, port, tmp_path / f"{name}.out", host=HOST)

    witness = service(
        "witness", ports[0], "witness", "--data-dir", str(tmp_path / "witness"), "--log-vkey", vkey
    )
    procs = [witness]
    try:
        witness.spawn()
        witness_url = await witness.wait_listening()
        witness_vkey = witness.banner("witness vkey")
        seq = service(
            "sequencer", ports[1], "log", *db, "--witness", f"{witness_url}={witness_vkey}"
        )
        procs.append(seq)
        seq.spawn()
        seq_url = await seq.wait_listening()
        for i, port in enumerate(ports[2:], start=1):
            reader = service(
                f"reader-{i}", port, "log", "--read-only", "--database", postgres_url,
                "--log-vkey", vkey, "--refresh-s", "0.1",
                "--data-dir", str(tmp_path / f"reader-{i}"),
            )  # fmt: skip
            procs.append(reader)
            reader.spawn()
        urls = [await p.wait_listening() for p in procs[2:]]
        yield Logs(seq_url, urls, vkey, witness_vkey, load_key(data / "operator.key"))
    finally:
        for p in procs:
            p.terminate()


async def _append(url: str, key: Ed25519PrivateKey, entries: list[bytes]) -> None:
    async with LogClient(url) as client:
        for entry in entries:
            await client.append(entry, key)


async def _reader_size(url: str, size: int, timeout: float = 30.0) -> bytes:
    """Poll a reader's ``/checkpoint`` until it serves a cosigned tree of ``size``+ leaves."""
    deadline = time.monotonic() + timeout
    async with LogClient(url, read="tiles") as client:
        while True:
            try:
                note = await client.tiles_checkpoint()
                if checkpoint_size(note) >= size and len(parse_note(note).signatures) > 1:
                    return note
            except UnavailableError:
                pass  # no checkpoint stored yet
            assert time.monotonic() < deadline, f"reader {url} never reached size {size}"
            await asyncio.sleep(0.05)


async def test_readers_follow_the_sequencer_and_serve_tiles(logs: Logs) -> None:
    first = [b"release %d" % i for i in range(5)]
    more = [b"release %d" % i for i in range(5, 270)]  # one full tile and a partial one
    await _append(logs.sequencer, logs.operator, first)
    for url in logs.readers:
        await _reader_size(url, len(first))
    state = pinned_state(logs.vkey, [logs.witness_vkey])
    async with LogClient(logs.readers[0], read="tiles") as reader:
        state = await refresh_from_tiles(reader, state, time.time())
        assert state.checkpoint.size == len(first)
        await verify_entry_from_tiles(reader, state, first[3], 3)

    await _append(logs.sequencer, logs.operator, more)
    total = len(first) + len(more)
    notes = [await _reader_size(url, total) for url in logs.readers]
    async with LogClient(logs.sequencer) as seq:
        assert checkpoint_size(await seq.checkpoint()) == total
    assert notes[0] == notes[1]  # both readers serve the checkpoint the sequencer stored
    # The second reader, from tiles alone: consistency from the first state, then inclusion.
    async with LogClient(logs.readers[1], read="tiles") as reader:
        grown = await refresh_from_tiles(reader, state, time.time())
        assert grown.checkpoint.size == total
        await verify_entry_from_tiles(reader, grown, more[-1], total - 1)
        await verify_entry_from_tiles(reader, grown, first[0], 0)
        tile_proof = await reader.inclusion_proof(200, total)
    # The JSON proof endpoints on a reader give the same proof.
    async with LogClient(logs.readers[1], read="api") as api:
        assert await api.inclusion_proof(200, total) == tile_proof
        assert await api.entries(268, 270) == more[-2:]


async def test_append_to_a_reader_is_refused(logs: Logs) -> None:
    await _append(logs.sequencer, logs.operator, [b"one"])
    await _reader_size(logs.readers[0], 1)
    async with LogClient(logs.readers[0]) as reader:
        with pytest.raises(ReadOnlyLogError):
            await reader.append(b"sneaked in", logs.operator)
    async with (
        aiohttp.ClientSession() as http,
        http.post(logs.readers[1] + "/v1/entries", data=b"x") as resp,
    ):
        assert resp.status == 405
        assert (await resp.json())["error"] == "read_only_log"
    async with LogClient(logs.sequencer) as seq:
        with pytest.raises(NotFoundError):
            await seq.leaf_index(leaf_hash(b"sneaked in"))


# --- in process: what a reader refuses to serve ---------------------------------------------------


def _sequencer_store(url: str) -> tuple[TlogStore, Ed25519NoteSigner]:
    signer = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    return Database.from_url(url).log(ORIGIN), signer


def _note(signer: Ed25519NoteSigner, size: int, root: bytes) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), [signer])


def _reader(url: str, signer: Ed25519NoteSigner) -> LogReader:
    return open_reader(url, log_vkey=signer.verifier().vkey(), refresh_s=0.1)


def test_reader_refuses_a_checkpoint_signed_by_another_key(postgres_url: str) -> None:
    store, signer = _sequencer_store(postgres_url)
    store.append([b"a", b"b"])
    store.save_checkpoint(_note(signer, 2, tree_root(store, 2)))
    reader = _reader(postgres_url, signer)
    try:
        assert reader.refresh()
        forger = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
        store.append([b"c"])
        store.save_checkpoint(_note(forger, 3, tree_root(store, 3)))
        with pytest.raises(VerificationError):
            reader.refresh()
        assert reader.checkpoint is not None and reader.checkpoint.size == 2
    finally:
        reader.store.close()
        store.close()


def test_reader_refuses_a_checkpoint_whose_root_the_tree_lacks(postgres_url: str) -> None:
    store, signer = _sequencer_store(postgres_url)
    store.append([b"a", b"b", b"c"])
    store.save_checkpoint(_note(signer, 2, tree_root(store, 2)))
    reader = _reader(postgres_url, signer)
    try:
        assert reader.refresh()
        # Signed by the log's key, but for another tree than the stored one (a fork).
        store.save_checkpoint(_note(signer, 3, b"\x07" * 32))
        with pytest.raises(UnavailableError, match="root"):
            reader.refresh()
        # A rollback to a smaller checkpoint than the one served is refused too.
        store.save_checkpoint(_note(signer, 1, tree_root(store, 1)))
        with pytest.raises(UnavailableError, match="older"):
            reader.refresh()
        assert reader.checkpoint is not None and reader.checkpoint.size == 2
    finally:
        reader.store.close()
        store.close()


async def test_a_reader_refuses_public_reads_past_its_queue_with_503(postgres_url: str) -> None:
    """A reader serves the same public reads as the sequencer, on its own store thread: past
    the queue's bound each read route is refused before it is queued (services/store_thread)."""
    store, signer = _sequencer_store(postgres_url)
    store.append([b"a"])
    store.save_checkpoint(_note(signer, 1, tree_root(store, 1)))
    reader = _reader(postgres_url, signer)
    reader.store_thread.max_reads = 1
    runner, port = await start_site(reader.app(), HOST, 0)
    gate = threading.Event()
    try:
        held = asyncio.ensure_future(reader.store_thread.write(gate.wait, 10))
        queued = asyncio.ensure_future(reader.store_thread.read(lambda: None))
        while reader.store_thread.queued_reads() < 1:
            await asyncio.sleep(0.005)
        async with aiohttp.ClientSession() as http:
            for path in (
                "/v1/proof/inclusion?index=0&size=1",
                "/v1/entries?start=0&end=1",
                "/tile/entries/000.p/1",
            ):
                async with http.get(f"http://{HOST}:{port}{path}") as resp:
                    assert (path, resp.status) == (path, 503)
        gate.set()
        await asyncio.gather(held, queued)
    finally:
        gate.set()
        await runner.cleanup()
        store.close()


def test_reader_needs_postgresql_and_a_log(postgres_url: str, tmp_path: Path) -> None:
    vkey = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate()).verifier().vkey()
    with pytest.raises(ConfigError, match="PostgreSQL"):
        open_reader(f"sqlite:///{tmp_path}/log.db", log_vkey=vkey)
    with pytest.raises(ConfigError, match="start its sequencer"):
        open_reader(postgres_url, log_vkey=vkey)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--database"),
        (("--database", "postgresql:///x", "--witness", "http://w=k"), "drop those flags"),
    ],
)
def test_reader_command_refuses_a_sequencer_configuration(
    args: tuple[str, ...], message: str
) -> None:
    done = subprocess.run(
        privcloud_argv("log", "--read-only", "--port", "0", *args),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert message in done.stderr.decode()
