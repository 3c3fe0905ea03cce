"""The witness (C2SP tlog-witness ``add-checkpoint``): request codec, procedure, service.

The forks and rollbacks here are built by hand: two Merkle trees and a log key that signs both,
which is exactly what a compromised log could do. The witness must cosign only one history.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from privcloud import limits
from privcloud.clock import FixedClock
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    DecodeError,
    NotFoundError,
    PeerError,
    TooLargeError,
    UpstreamError,
    VerificationError,
)
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient, publish_entry
from privcloud.services.site import start_site
from privcloud.services.witness import Witness
from privcloud.storage.database import Database
from privcloud.storage.witness_store import WitnessStore
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.cosignature import WitnessKey, verify_cosignatures
from privcloud.transparency.errors import ForkError
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner, add_signatures, parse_note
from privcloud.transparency.witness import (
    MEDIA_TLOG_SIZE,
    AddCheckpoint,
    InconsistentCheckpointError,
    MemoryLedger,
    SizeConflictError,
    add_checkpoint,
    cosignature_line,
    decode_add_checkpoint,
    decode_size_body,
    encode_add_checkpoint,
    encode_size_body,
)

ORIGIN = "example.test/log"
T0 = 1_750_000_000.0

# The example request body of C2SP tlog-witness ("Example request body"), transcribed.
SPEC_EXAMPLE = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49"
    "/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()


@dataclass
class History:
    """One history of a log: its leaves, signed by ``signer``."""

    signer: Ed25519NoteSigner
    tree: MerkleTree

    @classmethod
    def of(cls, signer: Ed25519NoteSigner, leaves: list[bytes]) -> History:
        tree = MerkleTree()
        for leaf in leaves:
            tree.append_leaf(leaf)
        return cls(signer, tree)

    def note(self, size: int) -> bytes:
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(size)), [self.signer])

    def body(self, old: int, size: int) -> bytes:
        proof = self.tree.consistency_proof(old, size) if old else []
        return encode_add_checkpoint(old, proof, self.note(size))


LOG_SIGNER = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x01" * 32))
WITNESS_KEY = WitnessKey("witness.test/w1", Ed25519PrivateKey.from_seed(b"\x02" * 32))
HONEST = History.of(LOG_SIGNER, [f"release {i}".encode() for i in range(8)])
FORK = History.of(LOG_SIGNER, [f"evil release {i}".encode() for i in range(8)])


@dataclass
class Served:
    url: str
    witness: Witness
    path: Path

    async def submit(self, body: bytes) -> tuple[int, str, bytes]:
        async with (
            aiohttp.ClientSession() as s,
            s.post(self.url + "/add-checkpoint", data=body) as r,
        ):
            return r.status, r.content_type, await r.read()


async def _serve(path: Path, url: str | None = None) -> tuple[Served, aiohttp.web.AppRunner]:
    """A witness on the SQLite file ``path``, or on the store at ``url`` when given."""
    store = WitnessStore(path) if url is None else Database.from_url(url).witness()
    witness = Witness(WITNESS_KEY, [LOG_SIGNER.verifier()], store, clock=FixedClock(T0))
    runner, port = await start_site(witness.app(), "127.0.0.1", 0)
    return Served(f"http://127.0.0.1:{port}", witness, path), runner


@pytest.fixture
async def served(tmp_path: Path, store_url: str) -> AsyncIterator[Served]:
    s, runner = await _serve(tmp_path / "witness.db", store_url)  # SQLite, then PostgreSQL
    yield s
    await runner.cleanup()


def _error(body: bytes) -> str:
    return str(json.loads(body)["error"])


# --- the request body ----------------------------------------------------------------------------


def test_decodes_the_spec_example_request() -> None:
    req = decode_add_checkpoint(SPEC_EXAMPLE)
    assert req.old_size == 20852014
    assert len(req.proof) == 4 and all(len(h) == 32 for h in req.proof)
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert len(parse_note(req.note).signatures) == 2
    assert encode_add_checkpoint(req.old_size, req.proof, req.note) == SPEC_EXAMPLE


def test_encodes_what_it_decodes() -> None:
    body = HONEST.body(3, 8)
    assert decode_add_checkpoint(body) == AddCheckpoint(
        3, tuple(HONEST.tree.consistency_proof(3, 8)), HONEST.note(8)
    )
    assert body.startswith(b"old 3\n")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 1\n",  # no empty line
        b"old 01\n\nnote",
        b"old -1\n\nnote",
        b"old  1\n\nnote",
        b"Old 1\n\nnote",
        b"old 1\nnot base64!\n\nnote",
        b"old 1\n" + base64.b64encode(b"short") + b"\n\nnote",
        b"old 1\n" + (base64.b64encode(b"\0" * 32) + b"\n") * 64 + b"\nnote",
        b"old 99999999999999999999\n\nnote",
    ],
)
def test_malformed_requests_are_refused(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_add_checkpoint(body)


def test_oversize_request_is_refused() -> None:
    with pytest.raises(TooLargeError):
        decode_add_checkpoint(b"old 0\n\n" + b"x" * limits.MAX_WITNESS_REQUEST_BYTES)


def test_size_body_golden_both_ways() -> None:
    assert encode_size_body(6) == b"6\n"
    assert decode_size_body(b"6\n") == 6
    assert decode_size_body(encode_size_body(0)) == 0
    for bad in (b"", b"6", b"06\n", b"-1\n", b"6\n\n", b"99999999999999999999\n"):
        with pytest.raises(DecodeError):
            decode_size_body(bad)


# --- the procedure in memory (no HTTP, no SQLite) ----------------------------------------------


class MemoryWitness:
    """The procedure over a :class:`MemoryLedger`, at a fixed time."""

    def __init__(self) -> None:
        self.ledger = MemoryLedger()

    def submit(self, body: bytes, now: float = T0) -> bytes:
        logs = {ORIGIN: [LOG_SIGNER.verifier()]}
        return add_checkpoint(body, logs=logs, key=WITNESS_KEY, ledger=self.ledger, now=now)

    def size(self) -> int | None:
        record = self.ledger.records.get(ORIGIN)
        return None if record is None else record.size


def test_in_memory_first_checkpoint_and_extensions_are_cosigned() -> None:
    w = MemoryWitness()
    line = w.submit(HONEST.body(0, 3))
    cosigs = verify_cosignatures(add_signatures(HONEST.note(3), [line]), [WITNESS_KEY.verifier()])
    assert [(c.name, c.timestamp) for c in cosigs] == [("witness.test/w1", int(T0))]
    assert cosignature_line(WITNESS_KEY.verifier(), HONEST.note(3), HONEST.note(3) + line) == line
    w.submit(HONEST.body(3, 8), now=T0 + 1)
    w.submit(HONEST.body(8, 8), now=T0 + 2)  # the same checkpoint again: cosigned anew
    record = w.ledger.records[ORIGIN]
    assert (record.size, record.root_hash, record.updated) == (8, HONEST.tree.root(8), T0 + 2)


def test_in_memory_fork_at_the_recorded_size_is_refused_and_not_recorded() -> None:
    w = MemoryWitness()
    w.submit(HONEST.body(0, 5))
    with pytest.raises(ForkError):
        w.submit(encode_add_checkpoint(5, [], FORK.note(5)))
    assert w.ledger.records[ORIGIN].root_hash == HONEST.tree.root(5)


def test_in_memory_grown_fork_is_refused_whatever_the_proof() -> None:
    w = MemoryWitness()
    w.submit(HONEST.body(0, 3))
    for proof in (FORK.tree.consistency_proof(3, 8), HONEST.tree.consistency_proof(3, 8), []):
        with pytest.raises(InconsistentCheckpointError):
            w.submit(encode_add_checkpoint(3, proof, FORK.note(8)))
    assert w.size() == 3


def test_in_memory_rollback_to_older_checkpoint_is_refused() -> None:
    """C2SP: a rollback's old size cannot be the recorded one (it is at most its own size), so
    it gets the 409 with the recorded size, or a 400 for an old size beyond the checkpoint."""
    w = MemoryWitness()
    w.submit(HONEST.body(0, 6))
    for old in (4, 0):
        with pytest.raises(SizeConflictError) as caught:
            w.submit(encode_add_checkpoint(old, [], HONEST.note(4)))
        assert caught.value.recorded_size == 6
    with pytest.raises(PeerError):
        w.submit(encode_add_checkpoint(6, [], HONEST.note(4)))
    assert w.size() == 6


def test_in_memory_stale_old_size_names_the_recorded_size() -> None:
    w = MemoryWitness()
    w.submit(HONEST.body(0, 6))
    with pytest.raises(SizeConflictError) as caught:
        w.submit(HONEST.body(3, 8))
    assert caught.value.recorded_size == 6 and caught.value.http_status == 409
    with pytest.raises(PeerError):  # old size beyond the checkpoint: no resend can fix it
        w.submit(encode_add_checkpoint(9, [], HONEST.note(8)))
    w.submit(HONEST.body(6, 8))
    assert w.size() == 8


def test_in_memory_unknown_origin_and_impostor_log_key_are_refused() -> None:
    w = MemoryWitness()
    other = Ed25519NoteSigner("other.test/log", Ed25519PrivateKey.from_seed(b"\x03" * 32))
    note = sign_checkpoint(Checkpoint("other.test/log", 0, MerkleTree().root()), [other])
    with pytest.raises(NotFoundError):
        w.submit(encode_add_checkpoint(0, [], note))
    impostor = History.of(
        Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x04" * 32)), [b"x"]
    )
    with pytest.raises(VerificationError):
        w.submit(impostor.body(0, 1))
    assert w.ledger.records == {}


def test_log_refuses_a_cosignature_for_another_checkpoint_or_from_another_key() -> None:
    w = MemoryWitness()
    line = w.submit(HONEST.body(0, 3))
    with pytest.raises(UpstreamError):  # the witness's line, but the note is of size 4
        cosignature_line(WITNESS_KEY.verifier(), HONEST.note(3), HONEST.note(4) + line)
    stranger = WitnessKey("witness.test/w1", Ed25519PrivateKey.from_seed(b"\x09" * 32))
    with pytest.raises(UpstreamError):  # no line of the pinned key (another key id)
        cosignature_line(stranger.verifier(), HONEST.note(3), HONEST.note(3) + line)
    head, _, sig = line.rstrip(b"\n").rpartition(b" ")
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1  # one bit of the Ed25519 signature
    forged = head + b" " + base64.b64encode(bytes(raw)) + b"\n"
    with pytest.raises(VerificationError):
        cosignature_line(WITNESS_KEY.verifier(), HONEST.note(3), HONEST.note(3) + forged)


# --- the procedure over HTTP ---------------------------------------------------------------------


async def test_first_checkpoint_is_cosigned_and_recorded(served: Served) -> None:
    status, media, line = await served.submit(HONEST.body(0, 3))
    assert (status, media) == (200, "text/plain")
    cosigs = verify_cosignatures(add_signatures(HONEST.note(3), [line]), [WITNESS_KEY.verifier()])
    assert [(c.name, c.timestamp) for c in cosigs] == [("witness.test/w1", int(T0))]
    record = served.witness.store.get(ORIGIN)
    assert record is not None and (record.size, record.root_hash) == (3, HONEST.tree.root(3))
    # An append-only extension is cosigned too, and the same checkpoint again as well.
    assert (await served.submit(HONEST.body(3, 8)))[0] == 200
    assert (await served.submit(HONEST.body(8, 8)))[0] == 200


async def test_forked_log_is_refused_by_witness(served: Served) -> None:
    """Two validly signed checkpoints of one size with different roots: only one is cosigned."""
    assert (await served.submit(HONEST.body(0, 5)))[0] == 200
    status, media, body = await served.submit(encode_add_checkpoint(5, [], FORK.note(5)))
    assert (status, media, _error(body)) == (422, "application/json", "fork")  # C2SP: 422
    record = served.witness.store.get(ORIGIN)
    assert record is not None and record.root_hash == HONEST.tree.root(5)


async def test_witness_refuses_inconsistent_checkpoint(served: Served) -> None:
    """A bigger tree that does not extend the cosigned one (a fork that grew) gets no cosignature,
    whatever proof comes with it."""
    assert (await served.submit(HONEST.body(0, 3)))[0] == 200
    for proof in (FORK.tree.consistency_proof(3, 8), HONEST.tree.consistency_proof(3, 8), []):
        status, _, body = await served.submit(encode_add_checkpoint(3, proof, FORK.note(8)))
        assert (status, _error(body)) == (422, "inconsistent")
    record = served.witness.store.get(ORIGIN)
    assert record is not None and record.size == 3


async def test_rollback_is_refused_by_witness(served: Served) -> None:
    """A witness asked to cosign a rollback answers C2SP's 409 with the size it recorded."""
    assert (await served.submit(HONEST.body(0, 6)))[0] == 200
    for old in (4, 0):
        status, media, body = await served.submit(encode_add_checkpoint(old, [], HONEST.note(4)))
        assert (status, media, body) == (409, MEDIA_TLOG_SIZE, b"6\n")
    status, _, body = await served.submit(encode_add_checkpoint(6, [], HONEST.note(4)))
    assert (status, _error(body)) == (400, "bad_request")  # old size beyond the checkpoint
    record = served.witness.store.get(ORIGIN)
    assert record is not None and record.size == 6


async def test_stale_old_size_gets_409_with_the_recorded_size(served: Served) -> None:
    assert (await served.submit(HONEST.body(0, 6)))[0] == 200
    status, media, body = await served.submit(HONEST.body(3, 8))
    assert (status, media, body) == (409, MEDIA_TLOG_SIZE, b"6\n")
    assert (await served.submit(HONEST.body(6, 8)))[0] == 200


async def test_unknown_origin_bad_signature_and_bad_sizes_are_refused(served: Served) -> None:
    other = Ed25519NoteSigner("other.test/log", Ed25519PrivateKey.from_seed(b"\x03" * 32))
    note = sign_checkpoint(Checkpoint("other.test/log", 0, MerkleTree().root()), [other])
    status, _, body = await served.submit(encode_add_checkpoint(0, [], note))
    assert (status, _error(body)) == (404, "not_found")
    impostor = History.of(
        Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x04" * 32)), [b"x"]
    )
    status, _, body = await served.submit(impostor.body(0, 1))
    assert (status, _error(body)) == (403, "verification")
    status, _, body = await served.submit(encode_add_checkpoint(5, [], HONEST.note(3)))
    assert (status, _error(body)) == (400, "bad_request")
    status, _, body = await served.submit(b"old 0\n\nnot a note")
    assert status == 400
    assert served.witness.store.get(ORIGIN) is None


async def test_witness_remembers_across_restarts(tmp_path: Path, store_url: str) -> None:
    first, runner = await _serve(tmp_path / "w.db", store_url)
    assert (await first.submit(HONEST.body(0, 5)))[0] == 200
    await runner.cleanup()
    second, runner = await _serve(tmp_path / "w.db", store_url)
    try:
        status, _, body = await second.submit(encode_add_checkpoint(5, [], FORK.note(5)))
        assert (status, _error(body)) == (422, "fork")
        status, _, body = await second.submit(HONEST.body(0, 7))
        assert (status, body) == (409, b"5\n")
    finally:
        await runner.cleanup()


async def test_concurrent_submissions_cannot_roll_the_record_back(served: Served) -> None:
    """Eight logs' worth of "old 0" submissions at once: exactly one is cosigned and recorded;
    the rest see the recorded size (C2SP: check and record are one atomic step)."""
    results = await asyncio.gather(*(served.submit(HONEST.body(0, n)) for n in range(1, 9)))
    won = [n for n, (status, _, _) in zip(range(1, 9), results, strict=True) if status == 200]
    assert len(won) == 1
    assert all(status == 409 for status, _, _ in results if status != 200)
    record = served.witness.store.get(ORIGIN)
    assert record is not None and record.size == won[0]


# --- with a real log -----------------------------------------------------------------------------


async def test_log_resends_with_the_witness_size_after_a_409(tmp_path: Path) -> None:
    """A witness that lost its state (or never saw this log) answers 409 with its size; the log
    resends with a proof from that size and gets its cosignature."""
    data = tmp_path / "data"
    t = await LocalTransparency.start("127.0.0.1", data)
    try:
        for i in range(4):
            await publish_entry(t.log_url, t.operator_key, b"entry %d" % i)
        async with LogClient(t.log_url) as client:
            await client.wait_for_checkpoint(4, min_cosignatures=1)
    finally:
        await t.stop()
    for f in (data / "witness").glob("witness.db*"):  # the database, its WAL and index
        f.unlink()
    t = await LocalTransparency.start("127.0.0.1", data)
    try:
        note = t.log.checkpoint_note
        assert len(parse_note(note).signatures) == 2  # the log's own and the witness's
        record = t.witness.store.get(t.log.origin)
        assert record is not None and record.size == 4
    finally:
        await t.stop()


# --- C2SP tlog-witness statuses not covered above, and monitor retrieval ------------------------


async def test_empty_checkpoint_with_another_root_gets_422(served: Served) -> None:
    """C2SP: a checkpoint of size zero must have the empty tree's root, else 422."""
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, HONEST.tree.root(3)), [LOG_SIGNER])
    status, _, _ = await served.submit(encode_add_checkpoint(0, [], note))
    assert status == 422
    assert served.witness.store.get(ORIGIN) is None


async def test_proof_from_old_size_zero_must_be_empty(served: Served) -> None:
    """C2SP: from old size 0 the proof must be empty (422 otherwise)."""
    body = encode_add_checkpoint(0, HONEST.tree.consistency_proof(3, 8), HONEST.note(8))
    status, _, body_ = await served.submit(body)
    assert (status, _error(body_)) == (422, "inconsistent")


async def test_cosignature_answer_concatenates_onto_the_checkpoint(served: Served) -> None:
    """C2SP: the 200 body is note signature lines ("—" ... newline) a client can append to the
    checkpoint and verify as a note."""
    status, _, lines = await served.submit(HONEST.body(0, 5))
    assert status == 200 and lines.startswith("\u2014 ".encode()) and lines.endswith(b"\n")
    cosigs = verify_cosignatures(HONEST.note(5) + lines, [WITNESS_KEY.verifier()])
    assert [c.timestamp for c in cosigs] == [int(T0)]


async def test_monitor_retrieval_serves_the_last_cosigned_checkpoint(served: Served) -> None:
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    url = f"{served.url}/{origin_hash}/checkpoint"
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            assert r.status == 404  # nothing cosigned yet
        _, _, line = await served.submit(HONEST.body(0, 5))
        async with s.get(url) as r:
            assert r.status == 200
            note = await r.read()
        async with s.get(f"{served.url}/{'0' * 64}/checkpoint") as r:
            assert r.status == 404  # a log this witness does not watch
    assert note == HONEST.note(5) + line
    verify_cosignatures(note, [WITNESS_KEY.verifier()])
