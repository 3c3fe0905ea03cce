"""The SDK's log client, the trusted checkpoint it persists, and the attacks they stop.

A malicious log is played by a small aiohttp server that serves whatever signed notes and proofs a
test gives it; the notes are signed with the real log's key (loaded from its key file), because
that is what a compromised log operator holds.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    DecodeError,
    NotFoundError,
    TooLargeError,
    UnavailableError,
    VerificationError,
)
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient, publish_entry
from privcloud.sdk.trust_store import (
    FileTrustStore,
    MemoryTrustStore,
    pinned_state,
    refresh_trusted_checkpoint,
)
from privcloud.services.site import start_site
from privcloud.services.tlog import WitnessEndpoint, open_log
from privcloud.storage.tlog_store import load_key
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.transparency.cosignature import WitnessKey, cosign
from privcloud.transparency.errors import ForkError, MissingCosignatureError, RollbackError
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner, add_signatures


@dataclass
class EvilLog:
    """Serves a chosen checkpoint note and proofs from a chosen tree; or canned bodies."""

    note: bytes = b""
    tree: MerkleTree = field(default_factory=MerkleTree)
    canned: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()

        async def handle(request: web.Request) -> web.Response:
            if request.path in self.canned:
                status, body = self.canned[request.path]
                return web.Response(status=status, body=body)
            if request.path == "/v1/checkpoint":
                return web.Response(body=self.note, content_type="text/plain")
            if request.path == "/v1/proof/consistency":
                old, new = int(request.query["old"]), int(request.query["new"])
                proof = self.tree.consistency_proof(old, new)
                hashes = [base64.b64encode(h).decode() for h in proof]
                return web.json_response({"old": old, "new": new, "hashes": hashes})
            return web.Response(status=404)

        app.router.add_route("*", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def evil() -> AsyncIterator[EvilLog]:
    e = EvilLog()
    runner, port = await start_site(e.app(), "127.0.0.1", 0)
    e.url = f"http://127.0.0.1:{port}"
    yield e
    await runner.cleanup()


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalTransparency]:
    t = await LocalTransparency.start("127.0.0.1", tmp_path / "data")
    yield t
    await t.stop()


async def _grow(t: LocalTransparency, entries: list[bytes]) -> bytes:
    """Append ``entries``; return the cosigned checkpoint note that covers them."""
    for e in entries:
        await publish_entry(t.log_url, t.operator_key, e)
    async with LogClient(t.log_url) as client:
        size = t.log.store.size()
        return await client.wait_for_checkpoint(size, min_cosignatures=1)


def _log_signer(data: Path) -> Ed25519NoteSigner:
    """The real log's signing key, as a compromised operator would use it."""
    return Ed25519NoteSigner("privcloud.local/log", load_key(data / "log" / "log.key"))


def _entries(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix} {i}".encode() for i in range(n)]


# --- the named attacks ---------------------------------------------------------------------------


async def test_rollback_to_older_checkpoint_is_refused(
    local: LocalTransparency, evil: EvilLog
) -> None:
    old_note = await _grow(local, _entries("release", 3))
    await _grow(local, _entries("later release", 3))
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(local.log_url) as client:
        state = await refresh_trusted_checkpoint(client, state)
    assert state.checkpoint.size == 6
    # The log (or anyone in between) now serves the older, validly signed and cosigned note.
    evil.note = old_note
    async with LogClient(evil.url) as client:
        with pytest.raises(RollbackError):
            await refresh_trusted_checkpoint(client, state)
    with pytest.raises(RollbackError):
        state.update(old_note, [], time.time())
    assert state.checkpoint.size == 6


async def test_forked_log_is_refused_by_client(
    local: LocalTransparency, evil: EvilLog, tmp_path: Path
) -> None:
    honest = _entries("release", 4)
    await _grow(local, honest)
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(local.log_url) as client:
        state = await refresh_trusted_checkpoint(client, state)
    signer = _log_signer(tmp_path / "data")
    # 1. Another tree of the same size, signed with the log's key: a split view.
    fork = MerkleTree()
    for e in _entries("backdoored release", 4):
        fork.append_leaf(e)
    evil.note, evil.tree = sign_checkpoint(Checkpoint(signer.name, 4, fork.root()), [signer]), fork
    async with LogClient(evil.url) as client:
        with pytest.raises(ForkError):
            await refresh_trusted_checkpoint(client, state)
    # 2. A bigger tree that rewrites history, even cosigned by a *colluding* pinned witness:
    #    the consistency proof from the trusted checkpoint cannot verify.
    for e in _entries("more", 3):
        fork.append_leaf(e)
    note = sign_checkpoint(Checkpoint(signer.name, 7, fork.root()), [signer])
    colluder = WitnessKey(
        "privcloud.local/witness", load_key(tmp_path / "data/witness/witness.key")
    )
    evil.note = add_signatures(
        note, [cosign(note.split(b"\n\n")[0].decode() + "\n", colluder, time.time())]
    )
    evil.tree = fork
    async with LogClient(evil.url) as client:
        with pytest.raises(VerificationError) as caught:
            await refresh_trusted_checkpoint(client, state)
    assert not isinstance(caught.value, MissingCosignatureError)
    # The honest witness never cosigned either fork.
    record = local.witness.store.get("privcloud.local/log")
    assert record is not None and record.root_hash == state.checkpoint.root_hash


async def test_missing_witness_cosignature_is_refused(tmp_path: Path, evil: EvilLog) -> None:
    witness = WitnessKey("privcloud.local/witness", Ed25519PrivateKey.generate())
    # The pinned witness is down: the log publishes checkpoints without its cosignature.
    dead = WitnessEndpoint("http://127.0.0.1:9", witness.verifier())
    tlog = open_log(tmp_path / "log", witnesses=[dead], witness_timeout_s=0.5)
    runner, port = await start_site(tlog.app(), "127.0.0.1", 0)
    try:
        assert tlog.operator_key is not None
        await publish_entry(f"http://127.0.0.1:{port}", tlog.operator_key, b"release")
        note = await tlog.publish()
        state = pinned_state(tlog.vkey, [witness.verifier().vkey()])
        async with LogClient(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(MissingCosignatureError):
                await refresh_trusted_checkpoint(client, state)
    finally:
        await runner.cleanup()
    # A cosignature that is too old, or from a witness the client does not pin, counts for nothing.
    text = note.split(b"\n\n")[0].decode() + "\n"
    stale = add_signatures(note, [cosign(text, witness, time.time() - 3 * 86400)])
    with pytest.raises(MissingCosignatureError):
        state.update(stale, [], time.time())
    stranger = WitnessKey("someone.else/witness", Ed25519PrivateKey.generate())
    unpinned = add_signatures(note, [cosign(text, stranger, time.time())])
    with pytest.raises(MissingCosignatureError):
        state.update(unpinned, [], time.time())
    fresh = add_signatures(note, [cosign(text, witness, time.time())])
    assert state.update(fresh, [], time.time()).checkpoint.size == 1


async def test_trust_store_survives_restart_and_refuses_rollback(
    local: LocalTransparency, evil: EvilLog, tmp_path: Path
) -> None:
    old_note = await _grow(local, _entries("release", 1))
    await _grow(local, _entries("later release", 2))
    directory = tmp_path / "trust"
    pinned = pinned_state(local.log_vkey, local.witness_vkeys)
    store = FileTrustStore(directory)
    async with LogClient(local.log_url) as client:
        state = await refresh_trusted_checkpoint(client, store.load(pinned), store=store)
    assert state.checkpoint.size == 3
    path = store.path_for(pinned)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    # "Restart": a new store object on the same directory, the same pinned policy.
    reloaded = FileTrustStore(directory).load(pinned)
    assert reloaded.checkpoint == state.checkpoint
    # The log rolls back: refused, and the stored state does not move.
    evil.note = old_note
    async with LogClient(evil.url) as client:
        with pytest.raises(RollbackError):
            await refresh_trusted_checkpoint(client, reloaded, store=store)
    older = pinned.update(old_note, [], time.time())
    with pytest.raises(RollbackError):
        FileTrustStore(directory).save(older)
    assert FileTrustStore(directory).load(pinned).checkpoint.size == 3
    assert sorted(p.name for p in directory.iterdir() if p.name != ".lock") == [
        store.path_for(pinned).name
    ]  # no temporary file left behind


async def test_trust_stores_refuse_a_fork_and_keep_the_pinned_policy(
    local: LocalTransparency, tmp_path: Path
) -> None:
    note = await _grow(local, _entries("release", 2))
    pinned = pinned_state(local.log_vkey, local.witness_vkeys)
    state = pinned.update(note, [], time.time())
    signer = _log_signer(tmp_path / "data")
    witness = WitnessKey("privcloud.local/witness", load_key(tmp_path / "data/witness/witness.key"))
    forked_note = sign_checkpoint(
        Checkpoint(signer.name, 2, MerkleTree([b"\1" * 32] * 2).root()), [signer]
    )
    text = forked_note.split(b"\n\n")[0].decode() + "\n"
    forked = pinned.update(
        add_signatures(forked_note, [cosign(text, witness, time.time())]), [], time.time()
    )
    for store in (MemoryTrustStore(), FileTrustStore(tmp_path / "trust")):
        assert store.load(pinned).checkpoint.size == 0
        store.save(state)
        with pytest.raises(ForkError):
            store.save(forked)
        assert store.load(pinned).checkpoint == state.checkpoint
    # A state file whose pins were edited (another log key) no longer loads under the real pins.
    other = Ed25519NoteSigner("privcloud.local/log", Ed25519PrivateKey.generate())
    evil_note = sign_checkpoint(Checkpoint(other.name, 9, MerkleTree().root()), [other])
    edited = TrustedLogState(other.name, other.verifier(), pinned.witnesses, 1, evil_note)
    path = FileTrustStore(tmp_path / "trust").path_for(pinned)
    path.write_bytes(edited.to_json())
    with pytest.raises(VerificationError):
        FileTrustStore(tmp_path / "trust").load(pinned)


async def test_inclusion_of_a_published_entry_verifies_against_the_trusted_checkpoint(
    local: LocalTransparency,
) -> None:
    manifest = b'{"release": "node-1.0", "measurement": "00ff"}'
    await _grow(local, _entries("release", 5))
    index = await publish_entry(local.log_url, local.operator_key, manifest)
    async with LogClient(local.log_url) as client:
        proof = await client.prove_entry(manifest, min_cosignatures=1)
        state = pinned_state(local.log_vkey, local.witness_vkeys)
        state = state.update(proof.checkpoint_note, [], time.time())
    assert proof.index == index == 5
    verify_inclusion_against(state, manifest, proof.index, proof.proof)
    with pytest.raises(VerificationError):
        verify_inclusion_against(state, manifest + b" ", proof.index, proof.proof)


# --- the client against bad answers --------------------------------------------------------------


BAD_ANSWERS: list[tuple[str, int, bytes, Callable[[LogClient], object], type[Exception]]] = [
    ("/v1/proof/inclusion", 200, b"not json", lambda c: c.inclusion_proof(0, 1), DecodeError),
    ("/v1/proof/inclusion", 200, b"[]", lambda c: c.inclusion_proof(0, 1), DecodeError),
    (
        "/v1/proof/inclusion",
        200,
        json.dumps({"index": 1, "size": 2, "hashes": []}).encode(),
        lambda c: c.inclusion_proof(0, 2),
        DecodeError,
    ),
    (
        "/v1/proof/inclusion",
        200,
        json.dumps({"index": 0, "size": 2, "hashes": ["AAAA"]}).encode(),
        lambda c: c.inclusion_proof(0, 2),
        DecodeError,
    ),
    (
        "/v1/proof/consistency",
        200,
        json.dumps({"old": 1, "new": 2, "hashes": ["A" * 43 + "="] * 65}).encode(),
        lambda c: c.consistency_proof(1, 2),
        DecodeError,
    ),
    (
        "/v1/entries",
        200,
        json.dumps({"entries": []}).encode(),
        lambda c: c.entries(0, 1),
        DecodeError,
    ),
    (
        "/v1/entries",
        200,
        json.dumps({"entries": ["!!"]}).encode(),
        lambda c: c.entries(0, 1),
        DecodeError,
    ),
    (
        "/v1/leaf",
        200,
        json.dumps({"index": -1}).encode(),
        lambda c: c.leaf_index(b"\0" * 32),
        DecodeError,
    ),
    (
        "/v1/leaf",
        404,
        json.dumps({"error": "not_found", "message": "no such leaf"}).encode(),
        lambda c: c.leaf_index(b"\0" * 32),
        NotFoundError,
    ),
    ("/v1/checkpoint", 200, b"not a note", lambda c: c.checkpoint(), DecodeError),
    ("/v1/checkpoint", 200, b"x" * (2 << 20), lambda c: c.checkpoint(), TooLargeError),
    ("/v1/checkpoint", 500, b"<html>", lambda c: c.checkpoint(), UnavailableError),
]


@pytest.mark.parametrize(("path", "status", "body", "call", "error"), BAD_ANSWERS)
async def test_client_refuses_bad_answers_with_our_errors(
    evil: EvilLog,
    path: str,
    status: int,
    body: bytes,
    call: Callable[[LogClient], object],
    error: type[Exception],
) -> None:
    evil.canned[path] = (status, body)
    async with LogClient(evil.url) as client:
        with pytest.raises(error):
            await call(client)  # type: ignore[misc]


async def test_unreachable_log_is_unavailable() -> None:
    async with LogClient("http://127.0.0.1:9") as client:
        with pytest.raises(UnavailableError):
            await client.checkpoint()


def test_a_log_restarted_with_a_new_key_gets_its_own_trust_state(tmp_path: Path) -> None:
    # `privcloud up` run twice makes two logs under one origin with different keys: the state
    # kept for the first must neither block nor be overwritten by the second.
    from privcloud.crypto.signing import Ed25519PrivateKey
    from privcloud.sdk.trust_store import FileTrustStore, pinned_state
    from privcloud.transparency.note import Ed25519NoteSigner

    def vkey() -> str:
        return Ed25519NoteSigner("example.org/log", Ed25519PrivateKey.generate()).verifier().vkey()

    store = FileTrustStore(tmp_path / "trust")
    witness = WitnessKey("example.org/witness", Ed25519PrivateKey.generate()).verifier().vkey()
    first = pinned_state(vkey(), [witness])
    second = pinned_state(vkey(), [witness])
    assert store.path_for(first) != store.path_for(second)
    assert store.load(second).checkpoint_note == second.checkpoint_note


async def test_the_console_log_view_reads_nothing_at_the_devices_trusted_size(
    local: LocalTransparency,
) -> None:
    # The device's trusted size is what its last admission left. The console's Log view (on
    # the user's click) read its entries up to that size and proved the nodes' release at it,
    # in a partial tile of that width or a proof endpoint's parameter: the log saw which
    # admission the device last made. Now it reads both at the latest checkpoint, once that is
    # proven to extend the trusted one (docs/adr/0009, decision 7).
    from privcloud.device.views import log_view
    from privcloud.trust.release_manifest import ReleaseManifest

    release = ReleaseManifest(
        package_name="privcloud",
        package_version="1.0.0",
        code_digest=bytes(range(32)),
        code_files=1,
        dependencies=(),
        config={"features": ["echo"]},
        hardware_measurements={},
    )
    index = await publish_entry(local.log_url, local.operator_key, release.encode())
    await _grow(local, _entries("release", 4))
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(local.log_url) as client:
        state = await refresh_trusted_checkpoint(client, state)
    trusted = state.checkpoint.size
    await _grow(local, _entries("later release", 3))
    async with LogClient(local.log_url, read="tiles") as client:
        view = await log_view(client, state, {index: release}, now=time.time())
    latest = trusted + 3
    assert view["trusted"]["size"] == trusted and view["latest"]["size"] == latest
    assert view["latest"]["verified"] is True
    assert view["entries"][0]["index"] == latest - 1
    (proof,) = view["proofs"]
    assert proof["verified"] is True and proof["tree_size"] == latest
