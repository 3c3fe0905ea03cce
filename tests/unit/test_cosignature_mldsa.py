"""ML-DSA-44 witness cosignatures (C2SP tlog-cosignature, type 0x06, ``subtree/v1``) beside
Ed25519 ones.

The spec (C2SP/C2SP ``tlog-cosignature.md`` @5ba5ee83) ships no test vector for the ML-DSA-44
type; these tests rebuild the key ID and the ``cosigned_message`` by hand from the spec's text
and verify with ``cryptography``'s ML-DSA-44 directly. ML-DSA-44 itself is pinned by the FIPS 204
known-answer tests in tests/vectors/test_hpke_pq.py.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PublicKey

from privcloud.crypto.signing import Ed25519PrivateKey, MLDSA44PrivateKey
from privcloud.errors import UsageError, VerificationError
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import (
    ALG_COSIGNATURE_MLDSA44,
    CosignatureVerifier,
    MLDSACosignatureVerifier,
    WitnessKey,
    cosign,
    mldsa_cosignature_message,
    verify_cosignatures,
)
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner, add_signatures, parse_note
from privcloud.transparency.witness import (
    MemoryLedger,
    add_checkpoint,
    cosignature_line,
    encode_add_checkpoint,
)

ORIGIN = "log.privcloud.example/releases"
NOW = 1_750_000_000
LOG = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x01" * 32))
PQ = WitnessKey("pq-witness.example/w", MLDSA44PrivateKey.from_seed(b"\x21" * 32))
ED = WitnessKey("ed-witness.example/w", Ed25519PrivateKey.from_seed(b"\x22" * 32))
PQ2 = WitnessKey("pq-witness-2.example/w", MLDSA44PrivateKey.from_seed(b"\x23" * 32))


def _tree(n: int) -> MerkleTree:
    tree = MerkleTree()
    for i in range(n):
        tree.append_leaf(b"release %d" % i)
    return tree


def _text(size: int, tree: MerkleTree, extensions: tuple[str, ...] = ()) -> str:
    return Checkpoint(ORIGIN, size, tree.root(size), extensions).encode()


def test_mldsa44_cosignature_signs_the_message_the_spec_defines() -> None:
    tree = _tree(3)
    text = _text(3, tree)
    line = cosign(text, PQ, NOW + 0.7)
    (sig,) = parse_note(text.encode() + b"\n" + line).signatures
    pub = PQ.private_key.public_bytes()
    assert len(pub) == 1312 and PQ.algorithm == ALG_COSIGNATURE_MLDSA44 == 0x06
    # key ID = SHA-256(<name> || "\n" || 0x06 || 1312-byte public key)[:4]
    assert sig.key_id == hashlib.sha256(PQ.name.encode() + b"\n\x06" + pub).digest()[:4]
    # timestamped_signature = u64 timestamp || ml_dsa_44_signature[2420]
    assert len(sig.signature) == 8 + 2420
    assert sig.signature[:8] == NOW.to_bytes(8, "big")
    name, origin = PQ.name.encode(), ORIGIN.encode()
    message = (
        b"subtree/v1\n\x00"
        + bytes([len(name)]) + name
        + NOW.to_bytes(8, "big")
        + bytes([len(origin)]) + origin
        + (0).to_bytes(8, "big")  # start: a checkpoint
        + (3).to_bytes(8, "big")  # end: the tree size
        + tree.root(3)
    )  # fmt: skip
    assert mldsa_cosignature_message(PQ.name, text.encode(), NOW) == message
    MLDSA44PublicKey.from_public_bytes(pub).verify(sig.signature[8:], message)


def test_mldsa44_cosignature_round_trip() -> None:
    tree = _tree(5)
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, tree.root()), [LOG, PQ.at(NOW), ED.at(NOW)])
    got = verify_cosignatures(note, [PQ.verifier(), ED.verifier()])
    assert {(c.name, c.timestamp) for c in got} == {(PQ.name, NOW), (ED.name, NOW)}


def test_mldsa_vkey_round_trip_gives_an_mldsa_verifier() -> None:
    vkey = PQ.verifier().vkey()
    verifier = CosignatureVerifier.from_vkey(vkey)
    assert isinstance(verifier, MLDSACosignatureVerifier)
    assert verifier == PQ.verifier() and verifier.key_id == PQ.key_id
    assert isinstance(CosignatureVerifier.from_vkey(ED.verifier().vkey()), CosignatureVerifier)


def test_device_policy_accepts_a_quorum_of_mixed_ed25519_and_mldsa_witnesses() -> None:
    tree = _tree(4)
    state = TrustedLogState(
        origin=ORIGIN,
        log_key=LOG.verifier(),
        witnesses=(ED.verifier(), PQ.verifier(), PQ2.verifier()),
        required_witnesses=2,
    )
    note = sign_checkpoint(Checkpoint(ORIGIN, 4, tree.root()), [LOG, ED.at(NOW), PQ.at(NOW)])
    trusted = state.update(note, [], NOW)
    assert trusted.checkpoint.size == 4
    again = TrustedLogState.from_json(trusted.to_json())
    assert again.witnesses == trusted.witnesses


def test_mldsa_cosignature_moved_to_another_checkpoint_is_refused() -> None:
    tree = _tree(6)
    line = cosign(_text(5, tree), PQ, NOW)
    note = add_signatures(sign_checkpoint(Checkpoint(ORIGIN, 6, tree.root()), [LOG]), [line])
    with pytest.raises(VerificationError):
        verify_cosignatures(note, [PQ.verifier()])


def test_mldsa_cosignature_replayed_under_another_witness_name_is_refused() -> None:
    # The name is signed (unlike Ed25519 cosignature/v1): one key cannot vouch as two witnesses.
    text = _text(3, _tree(3))
    (sig,) = parse_note(text.encode() + b"\n" + cosign(text, PQ, NOW)).signatures
    other = MLDSACosignatureVerifier("other.example/w", PQ.private_key.public_bytes())
    with pytest.raises(VerificationError):
        other.verify_timestamped(text.encode(), sig.signature)


def test_truncated_or_forged_mldsa_cosignature_is_refused() -> None:
    text = _text(3, _tree(3)).encode()
    good = PQ.at(NOW).sign(text)
    verifier = PQ.verifier()
    assert verifier.verify_timestamped(text, good) == NOW
    for bad in (good[:-1], good + b"\x00", good[:8] + bytes(2420), (2**63).to_bytes(8, "big")
                + good[8:]):  # fmt: skip
        with pytest.raises(VerificationError):
            verifier.verify_timestamped(text, bad)
    forged = bytearray(good)
    forged[100] ^= 1
    with pytest.raises(VerificationError):
        verifier.verify_timestamped(text, bytes(forged))


def test_extension_lines_are_not_part_of_the_mldsa_message() -> None:
    tree = _tree(2)
    plain, extended = _text(2, tree), _text(2, tree, ("ext line",))
    assert mldsa_cosignature_message(PQ.name, plain.encode(), NOW) == mldsa_cosignature_message(
        PQ.name, extended.encode(), NOW
    )


def test_mldsa_verifier_refuses_a_key_of_the_wrong_size() -> None:
    with pytest.raises(UsageError):
        MLDSACosignatureVerifier(PQ.name, b"\x00" * 32)


def test_witness_procedure_cosigns_with_an_mldsa_key_and_the_log_accepts_it() -> None:
    tree = _tree(7)
    signed = sign_checkpoint(Checkpoint(ORIGIN, 7, tree.root()), [LOG])
    ledger = MemoryLedger()
    body = encode_add_checkpoint(0, [], signed)
    line = add_checkpoint(body, logs={ORIGIN: [LOG.verifier()]}, key=PQ, ledger=ledger, now=NOW)
    assert cosignature_line(PQ.verifier(), signed, signed + line) == line
    (cosig,) = verify_cosignatures(signed + line, [PQ.verifier()])
    assert cosig.timestamp == NOW
