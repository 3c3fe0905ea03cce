"""The device's key proofs against what the operator's log answers (docs/adr/0009; a review of
every value the operator gives a device).

Which OHTTP key a device chooses among those a directory statement names is decided by the
logged bytes alone.
The attack: a log that holds one key statement twice (an honest append is idempotent, an
operator's need not be; the witnesses cosign any append-only growth) answers either index to
``GET /v1/leaf?hash=``. The device broke ties between named keys of one ``not_before`` by that
index, so the log chose each background admission's key, under one logged directory statement,
without a key more valid at once in any KEM group for the audit to count.

And an issuer key whose proof the log broke for one read fails that read (the wallet keeps
the keys it held) rather than leave that key out of the wallet's choice.

Sans network: the log is a Merkle tree with a signed, cosigned checkpoint, read through a
stand-in for ``LogClient`` that answers leaf lookups as the operator likes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from privcloud import limits
from privcloud.crypto import blindrsa
from privcloud.crypto.hpke import KemId
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    DecodeError,
    InternalError,
    KeyConsistencyError,
    NotFoundError,
    PrivcloudError,
    RateLimitedError,
    RequestTimeoutError,
    UnavailableError,
)
from privcloud.logclient import fetch_log_proofs
from privcloud.ohttp import GatewayKey
from privcloud.privacypass import IssuerKey
from privcloud.privacypass.issuance import PublishedKey
from privcloud.sdk import keyproofs
from privcloud.sdk.keyproofs import KeyProofs
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.trust.directory_statement import DirectoryStatement, named_keys
from privcloud.trust.keys import KeyKind, KeyStatement, issuer_step

ORIGIN = "log.example/releases"
NOW = 1_800_000_000
SERVICE = "privcloud.gateway"
LOG = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x01" * 32))
WITNESS = WitnessKey("w1.example/w", Ed25519PrivateKey.from_seed(b"\x02" * 32))
A_FIRST, B_INDEX, A_AGAIN = 10, 11, 12


def _statement(kem: KemId, key_id: int) -> KeyStatement:
    config = GatewayKey.generate(key_id, kem=kem).config
    return KeyStatement.for_ohttp(SERVICE, config, NOW - 600, NOW + 7 * 86400)  # one not_before


A = _statement(KemId.DHKEM_X25519_HKDF_SHA256, 1)
B = _statement(KemId.DHKEM_P256_HKDF_SHA256, 2)


class _OperatorLog:
    """The log as the device reads it: leaf lookups answered with the index the operator picks
    for this fetch, inclusion proofs from the real tree."""

    def __init__(self, tree: MerkleTree, answer: dict[bytes, int]) -> None:
        self.tree, self.answer = tree, answer

    def __call__(self, *_: object, **__: object) -> _OperatorLog:  # (stands in for LogClient)
        return self

    async def __aenter__(self) -> _OperatorLog:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def leaf_index(self, leaf: bytes) -> int:
        return self.answer[leaf]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)


async def _admission_key(index_of_a: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """One background admission's choice, as ``Client._admit_again`` makes it: prove the served
    statements, keep those the directory statement names, ``choose_ohttp(remember=False)``;
    the chosen key id."""
    a, b = A, B
    tree = MerkleTree()
    for i in range(A_FIRST):
        tree.append_leaf(b"release %d" % i)
    for statement in (a, b, a):  # A at 10 and again at 12, B at 11
        tree.append_leaf(statement.encode())
    size = tree.size()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), [LOG, WITNESS.at(NOW)])
    state = TrustedLogState(ORIGIN, LOG.verifier(), (WITNESS.verifier(),), 1).update(note, [], NOW)
    log = _OperatorLog(tree, {a.leaf_hash: index_of_a, b.leaf_hash: B_INDEX})
    monkeypatch.setattr(keyproofs, "LogClient", log)
    proofs = KeyProofs("http://relay.example/log", session=lambda: None, state=lambda: state)  # type: ignore[arg-type, return-value]
    report = await proofs.prove([a, b], kind=KeyKind.OHTTP, service=SERVICE, now=NOW)
    step = NOW - NOW % 1800
    directory = DirectoryStatement(
        SERVICE, (), step, step + 3600, tuple(sorted([a.leaf_hash, b.leaf_hash]))
    )
    named = named_keys(directory, report.served, report.proven, NOW)
    chosen = proofs.choose_ohttp(dataclasses.replace(report, proven=named), now=NOW, remember=False)
    assert chosen in (a, b)
    return chosen.key_config.key_id


async def test_a_log_holding_a_key_statement_twice_cannot_choose_each_admissions_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every other device is answered A's first leaf; one background fetch the operator picked
    # is answered its duplicate. Both leaves verify; the device must choose the same key.
    assert await _admission_key(A_FIRST, monkeypatch) == await _admission_key(A_AGAIN, monkeypatch)


# --- an issuer key whose proof the log broke for one read -----------------------------------


class _IssuerKeyLog(_OperatorLog):
    """The log as the wallet reads it for the issuer's keys: the newest checkpoint from the
    pinned state, and a 404 for the leaf lookups the operator chose to break on this read."""

    def __init__(
        self, tree: MerkleTree, leaves: dict[bytes, int], note: bytes, refuse: set[bytes]
    ) -> None:
        super().__init__(tree, leaves)
        self.note, self.refuse = note, refuse

    async def checkpoint(self) -> bytes:
        return self.note

    async def reads_tiles(self) -> bool:
        return True

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.tree.consistency_proof(old, new)

    async def leaf_index(self, leaf: bytes) -> int:
        if leaf in self.refuse:
            raise NotFoundError("not found")  # the operator's answer to this one read
        return await super().leaf_index(leaf)


async def test_an_issuer_key_proof_broken_for_one_read_fails_that_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The wallet's read of the issuer's keys comes between its direct directory read and its
    # signed batch: the operator can tie it to the device. A 404 for the successor's leaf on
    # that read alone left the wallet on the old key, the one device still fetching under it,
    # which the batch then showed the issuer. Now the whole read fails (the wallet keeps the
    # keys it held and reads again later), as a named gateway key's failed proof does.
    issuer = "issuer.example"
    keys = []
    now = issuer_step(NOW) + 3600  # the first day of a step: its key and the one before valid
    for not_before in (issuer_step(now) - limits.ISSUER_KEY_STEP_S, issuer_step(now)):
        expires = not_before + limits.ISSUER_KEY_LIFETIME_S
        private = blindrsa.generate_private_key(2048)
        keys.append(
            PublishedKey(IssuerKey.from_public_key(private.public_key()), not_before, expires)
        )
    statements = [
        KeyStatement.for_token_key(issuer, k.key.spki, k.not_before or 0, k.expires or 0)
        for k in keys
    ]
    tree = MerkleTree()
    tree.append_leaf(b"release 0")
    leaves = {s.leaf_hash: tree.append_leaf(s.encode()) for s in statements}
    size = tree.size()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), [LOG, WITNESS.at(now)])
    pinned = TrustedLogState(ORIGIN, LOG.verifier(), (WITNESS.verifier(),), 1)
    trusted = pinned.update(note, [], now)

    async def read(refuse: set[bytes], listed: list[PublishedKey] = keys) -> list[PublishedKey]:
        monkeypatch.setattr(keyproofs, "LogClient", _IssuerKeyLog(tree, leaves, note, refuse))
        proofs = KeyProofs(
            "http://relay.example/log", session=lambda: None, state=lambda: trusted, pinned=pinned
        )  # type: ignore[arg-type, return-value]
        return await proofs.prove_issuer_keys(listed, issuer, now=now)

    assert await read(set()) == keys
    with pytest.raises(KeyConsistencyError):
        await read({statements[1].leaf_hash})
    # A key off the issuer key schedule (an issuer's last from before it) is never chosen: it
    # is left out unproven and fails nothing (ADR 0009, decision 8).
    another = IssuerKey.from_public_key(blindrsa.generate_private_key(2048).public_key())
    old = PublishedKey(another, now - 600, now + 6 * 86400)
    assert await read(set(), [*keys, old]) == keys


# --- a log that could not answer now ----------------------------------------------------------


def _proofs_of_a(
    monkeypatch: pytest.MonkeyPatch, log: Callable[[MerkleTree, dict[bytes, int]], _OperatorLog]
) -> KeyProofs:
    """Key proofs against a checkpoint whose tree holds statement A, read through ``log``."""
    tree = MerkleTree()
    tree.append_leaf(b"release 0")
    index = tree.append_leaf(A.encode())
    size = tree.size()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), [LOG, WITNESS.at(NOW)])
    state = TrustedLogState(ORIGIN, LOG.verifier(), (WITNESS.verifier(),), 1).update(note, [], NOW)
    monkeypatch.setattr(keyproofs, "LogClient", log(tree, {A.leaf_hash: index}))
    return KeyProofs("http://relay.example/log", session=lambda: None, state=lambda: state)  # type: ignore[arg-type, return-value]


class _BusyLog(_OperatorLog):
    """The log, or the relay before it, answering a leaf lookup with a transient error."""

    def __init__(self, tree: MerkleTree, answer: dict[bytes, int], error: Exception) -> None:
        super().__init__(tree, answer)
        self.error = error

    async def leaf_index(self, leaf: bytes) -> int:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        RateLimitedError("busy"),
        RequestTimeoutError("slow"),
        InternalError("broken"),
        UnavailableError("unreachable"),
        NotFoundError("not in the log"),
    ],
    ids=["429", "408", "500", "503", "404"],
)
async def test_a_flood_of_the_log_cannot_make_a_device_refuse_a_logged_key(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone can fill the log's or the relay's read bounds. A 429 (the relay's share of an
    address, which devices behind one CGNAT share) taken for an answer made the device raise
    KeyConsistencyError, "no key the service offered is proven in the log", for a key the log
    holds. An answer that says the log could not answer now decides nothing: the device's
    admission fails as when the log is unreachable, and is tried again; only a 404 (the log's
    answer about the statement) refuses it."""
    proofs = _proofs_of_a(monkeypatch, lambda tree, leaves: _BusyLog(tree, leaves, error))
    expected = KeyConsistencyError if isinstance(error, NotFoundError) else UnavailableError
    with pytest.raises(PrivcloudError) as raised:
        await proofs.prove([A], kind=KeyKind.OHTTP, service=SERVICE, now=NOW)
    assert type(raised.value) is expected


class _ProofLog:
    """The log as node admission reads it: an inclusion proof answered with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        RateLimitedError("busy"),
        UnavailableError("unreachable"),
        NotFoundError("no such size"),
        DecodeError("malformed proof"),
    ],
    ids=["429", "503", "404", "malformed"],
)
async def test_a_flood_of_the_log_cannot_narrow_the_nodes_a_device_admits(
    error: Exception,
) -> None:
    """Without a logged directory a node whose proofs the log does not give is refused alone.
    A log (or relay) too busy to answer refused so exactly the nodes whose proofs a flood
    delayed, leaving the device the others: an operator's lever on which nodes a device uses.
    Now an answer that says the log could not answer now, or a 404 for a proof at the size
    the device trusts (a reader behind), fails the admission whole (tried again); a malformed
    answer leaves the node without proofs."""
    tree = MerkleTree()
    for i in range(3):
        tree.append_leaf(b"release %d" % i)
    older = sign_checkpoint(Checkpoint(ORIGIN, 2, tree.root(2)), [LOG, WITNESS.at(NOW)])
    newest = sign_checkpoint(Checkpoint(ORIGIN, 3, tree.root(3)), [LOG, WITNESS.at(NOW)])
    state = TrustedLogState(ORIGIN, LOG.verifier(), (WITNESS.verifier(),), 1).update(
        newest, [], NOW
    )
    node = SimpleNamespace(bundle=SimpleNamespace(checkpoint=older, log_index=1))
    fetch = fetch_log_proofs(_ProofLog(error), state, [node])  # type: ignore[arg-type, list-item]
    if isinstance(error, DecodeError):
        assert await fetch == {}  # no proofs: admission refuses this node
    else:
        with pytest.raises(UnavailableError):  # as when the log is out of reach
            await fetch


class _BehindLog(_OperatorLog):
    """A log reader behind the checkpoint the device trusts: it finds the leaf, but has no
    tile or tree of that size yet (404)."""

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        raise NotFoundError("the log has not reached this tree size")


async def test_a_log_reader_behind_the_trusted_checkpoint_decides_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Readers follow the sequencer a moment behind; a device that trusts a newer checkpoint
    than the reader the relay reached got a 404 for the proof and refused a logged key."""
    proofs = _proofs_of_a(monkeypatch, _BehindLog)
    with pytest.raises(PrivcloudError) as raised:
        await proofs.prove([A], kind=KeyKind.OHTTP, service=SERVICE, now=NOW)
    assert type(raised.value) is UnavailableError
