"""An ML-DSA-44 witness made and run from the command line (``privcloud witness --key-type
ml-dsa-44``, its own process) cosigns a log over HTTP (C2SP tlog-witness ``add-checkpoint``);
a device that requires that witness accepts the cosigned checkpoint and refuses a forged
ML-DSA-44 cosignature (C2SP tlog-cosignature type 0x06)."""

from __future__ import annotations

import base64
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from privcloud.errors import MissingCosignatureError, VerificationError
from privcloud.localcloud.cluster import ServiceProcess, free_ports, privcloud_argv
from privcloud.localcloud.transparency import WITNESS_KEY_FILE, LocalTransparency
from privcloud.logclient import LogClient, publish_entry
from privcloud.sdk.trust_store import FileTrustStore, pinned_state, refresh_trusted_checkpoint
from privcloud.services.site import start_site
from privcloud.services.tlog import TransparencyLog, WitnessEndpoint, open_log
from privcloud.transparency.cosignature import (
    ALG_COSIGNATURE_MLDSA44,
    CosignatureVerifier,
)
from privcloud.transparency.note import NoteSignature, parse_note, parse_vkey

WITNESS_NAME = "witness.test/pq"


@dataclass
class PqLog:
    log: TransparencyLog
    log_url: str
    witness: ServiceProcess
    witness_vkey: str
    data: Path


@pytest.fixture
async def pq_log(tmp_path: Path, store_url: str) -> AsyncIterator[PqLog]:
    """A log (in process) and an ML-DSA-44 witness process whose store is ``store_url``
    (SQLite, then PostgreSQL); the witness key is a file in its data directory either way."""
    log_dir = tmp_path / "log"
    tlog_vkey = open_log(log_dir).vkey  # makes the log key; the witness pins it
    (port,) = free_ports(1)
    args = ["--port", str(port), "--data-dir", str(tmp_path / "witness"), "--name", WITNESS_NAME]
    args += ["--log-vkey", tlog_vkey, "--key-type", "ml-dsa-44", "--database", store_url]
    witness = ServiceProcess(
        "witness", privcloud_argv("witness", *args), port, tmp_path / "witness.out"
    )
    witness.spawn()
    try:
        await witness.wait_listening()
        vkey = witness.banner("witness vkey")
        endpoint = WitnessEndpoint(witness.url, CosignatureVerifier.from_vkey(vkey))
        log = open_log(log_dir, witnesses=[endpoint], checkpoint_interval_s=0.05)
        runner, log_port = await start_site(log.app(), "127.0.0.1", 0)
        try:
            yield PqLog(log, f"http://127.0.0.1:{log_port}", witness, vkey, tmp_path)
        finally:
            await runner.cleanup()
    finally:
        witness.terminate()


async def _publish(pq: PqLog, entry: bytes) -> bytes:
    assert pq.log.operator_key is not None
    await publish_entry(pq.log_url, pq.log.operator_key, entry)
    return await pq.log.publish()


async def test_mldsa_witness_process_cosigns_and_device_requiring_it_accepts(
    pq_log: PqLog,
) -> None:
    # The printed vkey is a C2SP type-0x06 key of 1312 bytes, and the key file is owner-only.
    name, _, alg, public_key = parse_vkey(pq_log.witness_vkey)
    assert (name, alg, len(public_key)) == (WITNESS_NAME, ALG_COSIGNATURE_MLDSA44, 1312)
    key_file = pq_log.data / "witness" / WITNESS_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"privcloud-ml-dsa-44-seed-v1 ")

    note = await _publish(pq_log, b"release 1")
    verifier = CosignatureVerifier.from_vkey(pq_log.witness_vkey)
    assert any(s.key_id == verifier.key_id for s in parse_note(note).signatures)

    # A device that requires that witness (its only pinned one, quorum 1).
    store = FileTrustStore(pq_log.data / "device-trust")
    state = store.load(pinned_state(pq_log.log.vkey, [pq_log.witness_vkey]))
    assert state.required_witnesses == 1
    async with LogClient(pq_log.log_url) as log:
        state = await refresh_trusted_checkpoint(log, state, store=store)
        assert state.checkpoint.size >= 1
        await _publish(pq_log, b"release 2")
        grown = await refresh_trusted_checkpoint(log, state, store=store)
    assert grown.checkpoint.size > state.checkpoint.size


async def test_forged_mldsa_cosignature_is_refused_by_device(pq_log: PqLog) -> None:
    note = await _publish(pq_log, b"release 1")
    verifier = CosignatureVerifier.from_vkey(pq_log.witness_vkey)
    parsed = parse_note(note)
    others = [s for s in parsed.signatures if s.key_id != verifier.key_id]
    (real,) = [s for s in parsed.signatures if s.key_id == verifier.key_id]
    # Keep the timestamp and key ID, flip one byte of the ML-DSA-44 signature.
    forged_sig = bytearray(real.signature)
    forged_sig[100] ^= 0x01
    forged = NoteSignature(real.name, real.key_id, bytes(forged_sig))
    forged_note = parsed.text + b"\n" + b"".join(s.line() for s in [*others, forged])
    state = pinned_state(pq_log.log.vkey, [pq_log.witness_vkey])
    now = time.time()
    with pytest.raises(VerificationError):
        state.update(forged_note, [], now)
    # The note without the witness's line is refused too: the device requires that witness.
    bare = parsed.text + b"\n" + b"".join(s.line() for s in others)
    with pytest.raises(MissingCosignatureError):
        state.update(bare, [], now)
    # The genuine note is accepted under the same policy.
    assert state.update(note, [], now).checkpoint.size >= 1
    assert base64.b64encode(forged_sig) not in note


async def test_local_transparency_runs_an_mldsa_witness(tmp_path: Path) -> None:
    t = await LocalTransparency.start("127.0.0.1", tmp_path, witness_key_type="ml-dsa-44")
    try:
        (vkey,) = t.witness_vkeys
        assert parse_vkey(vkey)[2] == ALG_COSIGNATURE_MLDSA44
        store = FileTrustStore(tmp_path / "device-trust")
        state = store.load(pinned_state(t.log_vkey, t.witness_vkeys))
        async with LogClient(t.log_url) as log:
            await refresh_trusted_checkpoint(log, state, store=store)
    finally:
        await t.stop()
    # Started again with no type asked, it keeps its ML-DSA-44 key (clients pinned it).
    again = await LocalTransparency.start("127.0.0.1", tmp_path)
    try:
        assert again.witness_vkeys == [vkey]
    finally:
        await again.stop()
