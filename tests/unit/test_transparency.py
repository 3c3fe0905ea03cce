"""Signed notes, checkpoints, cosignatures and the client's trusted log state.

Independent vectors used (transcribed, with their source):

* golang.org/x/mod ``sumdb/note/note_test.go`` and ``note.go``: the PeterNeumann signer key,
  its vkey and its signature of the Peter Neumann quote; the EnochRoot vkey and signature; the
  malformed notes and mangled vkeys that must be refused.
* C2SP ``tlog-checkpoint.md`` / ``tlog-cosignature.md``: the example checkpoint of
  ``example.com/behind-the-sofa`` with its log signature and the ``witness.example.com/w1``
  cosignature (whose timestamp is the spec's ``time 1679315147``).
* transparency-dev/formats ``note/note_cosigv1_test.go``: a cosignature/v1 vkey
  (``remora.n621.de``), an Ed25519 vkey (``TEST``) and a cosignature whose timestamp is
  1727964367.

The cosignature golden ``OUR_COSIGNATURE_LINE`` is self-generated (a regression pin, not an
independent vector); ``test_cosignature_signs_the_message_the_spec_defines`` checks it
independently with ``cryptography`` over the message built by hand from the spec.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privcloud.crypto.signing import Ed25519PrivateKey, ed25519_verify
from privcloud.errors import (
    CryptoError,
    DecodeError,
    PeerError,
    PrivcloudError,
    TooLargeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.transparency.cosignature import (
    CosignatureVerifier,
    WitnessKey,
    cosign,
    split_cosignature,
    verify_cosignatures,
)
from privcloud.transparency.errors import ForkError, MissingCosignatureError, RollbackError
from privcloud.transparency.merkle import MerkleTree, leaf_hash
from privcloud.transparency.note import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    add_signatures,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

# --- golang.org/x/mod sumdb/note vectors ---------------------------------------------------------

PETER_SKEY_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # from PRIVATE+KEY+PeterNeumann+...
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
QUOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)

# --- C2SP examples -------------------------------------------------------------------------------

SOFA_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SOFA_NOTE = (
    SOFA_TEXT
    + "\n"
    + "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    + "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlr"
    "DJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
).encode()

# --- transparency-dev/formats -------------------------------------------------------------------

REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
TEST_ED25519_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
COSIG_1727964367 = (
    "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJ"
    "XORmnFBOBA=="
)

# --- our own world -------------------------------------------------------------------------------

ORIGIN = "log.privcloud.example/releases"
NOW = 1_750_000_000


def _key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_seed(bytes([n]) * 32)


LOG = Ed25519NoteSigner(ORIGIN, _key(1))
W1, W2, W3 = (WitnessKey(f"witness{i}.example/w", _key(10 + i)) for i in (1, 2, 3))
OUR_COSIGNATURE_LINE = (
    "— witness1.example/w "
    "MQU5UQAAAABoTuGAC4q5Tl9gbJqxGKptbb6SIl4KyGij8dVxEhd26Yje8WR0"
    "80cbFT2l+KPIWtE+VvRnW/hTBNV+eWkpLyMRzD/9CQ==\n"
)


def _tree(n: int, salt: bytes = b"") -> MerkleTree:
    tree = MerkleTree()
    for i in range(n):
        tree.append_leaf(salt + b"release %d" % i)
    return tree


def _signed(
    tree: MerkleTree,
    size: int,
    witnesses: tuple[WitnessKey, ...] = (W1, W2),
    at: int = NOW,
    log: Ed25519NoteSigner = LOG,
) -> bytes:
    checkpoint = Checkpoint(ORIGIN, size, tree.root(size))
    return sign_checkpoint(checkpoint, [log, *(w.at(at) for w in witnesses)])


def _state(required: int = 2) -> TrustedLogState:
    return TrustedLogState(
        origin=ORIGIN,
        log_key=LOG.verifier(),
        witnesses=(W1.verifier(), W2.verifier(), W3.verifier()),
        required_witnesses=required,
    )


def _trusted_at(size: int, tree: MerkleTree | None = None) -> TrustedLogState:
    return _state().update(_signed(tree or _tree(size), size), [], NOW)


# --- Ed25519 -----------------------------------------------------------------------------------


def test_ed25519_wrapper_signs_and_verification_raises() -> None:
    key = _key(7)
    sig = key.sign(b"msg")
    ed25519_verify(key.public_bytes(), b"msg", sig)
    assert Ed25519PrivateKey.from_seed(key.seed_bytes()).public_bytes() == key.public_bytes()
    assert "secret" in repr(key) and key.seed_bytes().hex() not in repr(key)
    with pytest.raises(CryptoError):
        ed25519_verify(key.public_bytes(), b"msh", sig)
    with pytest.raises(CryptoError):
        ed25519_verify(key.public_bytes(), b"msg", sig[:-1])
    with pytest.raises(DecodeError):
        ed25519_verify(b"\x00" * 31, b"msg", sig)
    with pytest.raises(UsageError):
        Ed25519PrivateKey.from_seed(b"short")
    assert len(Ed25519PrivateKey.generate(lambda n: b"\x05" * n).public_bytes()) == 32


# --- signed notes: golden both ways --------------------------------------------------------------


def _peter() -> Ed25519NoteSigner:
    blob = base64.b64decode(PETER_SKEY_B64)
    assert blob[0] == 0x01
    return Ed25519NoteSigner("PeterNeumann", Ed25519PrivateKey.from_seed(blob[1:]))


def test_note_signing_matches_the_go_reference() -> None:
    signer = _peter()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier().vkey() == PETER_VKEY
    assert sign_note(QUOTE, [signer]) == (QUOTE + "\n" + PETER_SIG).encode()


def test_note_opening_matches_the_go_reference() -> None:
    peter = Ed25519NoteVerifier.from_vkey(PETER_VKEY)
    enoch = Ed25519NoteVerifier.from_vkey(ENOCH_VKEY)
    assert enoch.vkey() == ENOCH_VKEY
    note = (QUOTE + "\n" + PETER_SIG + ENOCH_SIG).encode()
    assert open_note(note, [peter]) == (QUOTE, ("PeterNeumann",))
    assert open_note(note, [enoch, peter]) == (QUOTE, ("PeterNeumann", "EnochRoot"))
    assert open_note(note, [peter, enoch], required=["EnochRoot"])[1] == (
        "PeterNeumann",
        "EnochRoot",
    )
    with pytest.raises(VerificationError):
        open_note(note, [])
    with pytest.raises(VerificationError):
        open_note(note, [peter], required=["EnochRoot"])
    # A signature from a known key that does not verify refuses the whole note.
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError):
        open_note((QUOTE + "\n" + bad).encode(), [peter])
    with pytest.raises(TooLargeError):
        open_note((QUOTE + "\n" + PETER_SIG * 101).encode(), [peter])
    with pytest.raises(UsageError):
        open_note(note, [peter, peter])


@pytest.mark.parametrize(
    "note",
    [
        QUOTE,
        QUOTE + "\n",
        QUOTE + "\n" + PETER_SIG[:-1],
        "\x01" + QUOTE + "\n" + PETER_SIG,
        QUOTE
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
        "qfqdngotpRZb6KE6RyyBwJnAM=",
        QUOTE + "\n" + PETER_SIG + "Unexpected line.\n",
        QUOTE + "\n" + "— PeterNeumann\n",
        QUOTE
        + "\n"
        + "— a+b x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
        "RZb6KE6RyyBwJnAM=\n",
        QUOTE + "\n" + "— PeterNeumann AAAA\n",  # shorter than a key ID and one byte
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(DecodeError):
        open_note(note.encode(), [Ed25519NoteVerifier.from_vkey(PETER_VKEY)])


def test_invalid_utf8_note_is_refused() -> None:
    with pytest.raises(DecodeError):
        parse_note(b"\xff" + (QUOTE + "\n" + PETER_SIG).encode())


def test_every_mangled_vkey_is_refused() -> None:
    # golang.org/x/mod TestNewVerifier: every proper substring and every byte + 1 is refused.
    b = PETER_VKEY.encode()
    bad = [b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1)]
    bad = [x for x in bad if x != b]
    bad += [b[:i] + bytes([b[i] + 1]) + b[i + 1 :] for i in range(len(b))]
    for vkey in bad:
        with pytest.raises((DecodeError, UnsupportedError)):
            Ed25519NoteVerifier.from_vkey(vkey.decode("latin-1"))
    with pytest.raises(DecodeError):  # wrong key length, with a matching key ID
        Ed25519NoteVerifier.from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(UnsupportedError):  # unknown algorithm, with a matching key ID
        Ed25519NoteVerifier.from_vkey(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )


def test_vkeys_of_both_signature_types() -> None:
    assert Ed25519NoteVerifier.from_vkey(TEST_ED25519_VKEY).vkey() == TEST_ED25519_VKEY
    remora = CosignatureVerifier.from_vkey(REMORA_VKEY)
    assert remora.name == "remora.n621.de"
    assert remora.key_id.hex() == "da77ade7"
    assert remora.vkey() == REMORA_VKEY
    assert parse_vkey(REMORA_VKEY)[2] == 0x04
    with pytest.raises(UnsupportedError):
        Ed25519NoteVerifier.from_vkey(REMORA_VKEY)
    with pytest.raises(UnsupportedError):
        CosignatureVerifier.from_vkey(TEST_ED25519_VKEY)


def test_sign_note_refuses_bad_text() -> None:
    for text in ["no newline", "tab\there\n", "\ud800\n"]:
        with pytest.raises(UsageError):
            sign_note(text, [LOG])
    with pytest.raises(UsageError):
        sign_note("ok\n", [])


# --- checkpoints: golden both ways ---------------------------------------------------------------


def test_checkpoint_golden_encoding_both_ways() -> None:
    cp = Checkpoint.decode(SOFA_TEXT)
    assert cp == Checkpoint(
        "example.com/behind-the-sofa",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    assert cp.encode() == SOFA_TEXT
    ext = Checkpoint("o", 0, bytes(32), ("ext one", "ext two"))
    text = "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n"
    assert ext.encode() == text
    assert Checkpoint.decode(text) == ext


def test_c2sp_example_note_parses() -> None:
    parsed = parse_note(SOFA_NOTE)
    assert parsed.text.decode() == SOFA_TEXT
    log_line, witness_line = parsed.signatures
    assert log_line.name == "example.com/behind-the-sofa"
    assert len(log_line.signature) == 64
    assert witness_line.name == "witness.example.com/w1"
    assert split_cosignature(witness_line.signature)[0] == 1679315147  # "time 1679315147"
    assert split_cosignature(base64.b64decode(COSIG_1727964367)[4:])[0] == 1727964367


@pytest.mark.parametrize(
    "text",
    [
        "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n\uff11\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # a non-ASCII digit
        "o\n1_0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # > 2**63 - 1
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  # 31 bytes
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # unpadded
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty extension line
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        "o\n1\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(DecodeError):
        Checkpoint.decode(text)


def test_invalid_checkpoints_cannot_be_built() -> None:
    for args in [
        ("", 1, bytes(32)),
        ("o", -1, bytes(32)),
        ("o", 1, bytes(31)),
        ("a\nb", 1, bytes(32)),
    ]:
        with pytest.raises(UsageError):
            Checkpoint(*args)
    with pytest.raises(UsageError):
        Checkpoint("o", 1, bytes(32), ("",))


def test_signed_checkpoint_round_trip() -> None:
    tree = _tree(3)
    note = _signed(tree, 3)
    cp = open_checkpoint(note, [LOG.verifier()], origin=ORIGIN)
    assert (cp.size, cp.root_hash) == (3, tree.root())
    with pytest.raises(VerificationError):
        open_checkpoint(note, [LOG.verifier()], origin="another.example/log")


# --- cosignatures --------------------------------------------------------------------------------


def test_cosignature_golden_line() -> None:
    text = Checkpoint(ORIGIN, 3, _tree(3).root()).encode()
    assert cosign(text, W1, NOW + 0.9) == OUR_COSIGNATURE_LINE.encode()


def test_cosignature_signs_the_message_the_spec_defines() -> None:
    text = Checkpoint(ORIGIN, 3, _tree(3).root()).encode()
    line = cosign(text, W1, NOW)
    (sig,) = parse_note(text.encode() + b"\n" + line).signatures
    pub = W1.private_key.public_bytes()
    # key ID = SHA-256(name || "\n" || 0x04 || public key)[:4]
    assert sig.key_id == hashlib.sha256(W1.name.encode() + b"\n\x04" + pub).digest()[:4]
    assert sig.signature[:8] == NOW.to_bytes(8, "big")
    message = f"cosignature/v1\ntime {NOW}\n{text}".encode()
    Ed25519PublicKey.from_public_bytes(pub).verify(sig.signature[8:], message)


def test_cosignatures_are_verified_per_witness() -> None:
    tree = _tree(5)
    note = _signed(tree, 5, (W1, W2), NOW)
    got = verify_cosignatures(note, [W1.verifier(), W2.verifier(), W3.verifier()])
    assert {(c.name, c.timestamp) for c in got} == {(W1.name, NOW), (W2.name, NOW)}
    # The same note opens with a witness key as a plain note verifier, too.
    assert open_note(note, [W2.verifier()])[1] == (W2.name,)


def test_cosignature_moved_to_another_checkpoint_is_refused() -> None:
    tree = _tree(6)
    line = cosign(Checkpoint(ORIGIN, 5, tree.root(5)).encode(), W1, NOW)
    note = add_signatures(_signed(tree, 6, (W2,)), [line])
    with pytest.raises(VerificationError):
        verify_cosignatures(note, [W1.verifier()])
    with pytest.raises(VerificationError):
        _trusted_at(5, tree).update(note, tree.consistency_proof(5, 6), NOW)


def test_witness_cosignature_lines_can_be_added_to_a_log_signed_note() -> None:
    tree = _tree(4)
    note = sign_checkpoint(Checkpoint(ORIGIN, 4, tree.root()), [LOG])
    text = parse_note(note).text.decode()
    note = add_signatures(note, [cosign(text, W1, NOW), cosign(text, W3, NOW)])
    assert add_signatures(note, [cosign(text, W1, NOW)]) == note  # duplicates dropped
    state = _state().update(note, [], NOW)
    assert state.checkpoint.size == 4


# --- the client state: named attacks -------------------------------------------------------------


def test_consistent_growth_is_accepted_and_inclusion_verifies() -> None:
    tree = _tree(9)
    state = _state().update(_signed(tree, 4), [], NOW)
    state = state.update(_signed(tree, 9), tree.consistency_proof(4, 9), NOW + 60)
    assert (state.checkpoint.size, state.checkpoint.root_hash) == (9, tree.root())
    verify_inclusion_against(state, b"release 7", 7, tree.inclusion_proof(7, 9))
    with pytest.raises(VerificationError):
        verify_inclusion_against(state, b"release 8", 7, tree.inclusion_proof(7, 9))
    # The same checkpoint again (e.g. with fresher cosignatures) is fine.
    assert state.update(_signed(tree, 9, at=NOW + 120), [], NOW + 120).checkpoint.size == 9


def test_rollback_to_older_checkpoint_is_refused() -> None:
    tree = _tree(9)
    state = _trusted_at(9, tree)
    with pytest.raises(RollbackError):
        state.update(_signed(tree, 4), [], NOW)  # validly signed and freshly cosigned
    with pytest.raises(RollbackError):
        state.update(_signed(tree, 0, witnesses=()), [], NOW)


def test_forked_log_is_refused() -> None:
    honest, forked = _tree(7), _tree(7, salt=b"evil ")
    state = _trusted_at(7, honest)
    other = _signed(forked, 7)  # validly signed by the log: same size, different root
    assert open_checkpoint(other, [LOG.verifier()]).root_hash != honest.root()
    with pytest.raises(ForkError):
        state.update(other, [], NOW)
    with pytest.raises(ForkError):  # even without any witness cosignature
        state.update(_signed(forked, 7, witnesses=()), [], NOW)


def test_missing_witness_cosignature_is_refused() -> None:
    tree = _tree(3)
    state = _state(required=2)
    stranger = WitnessKey("stranger.example/w", _key(99))
    impostor = WitnessKey(W2.name, _key(98))  # a known witness's name, another key
    cases = [
        _signed(tree, 3, ()),
        _signed(tree, 3, (W1,)),
        _signed(tree, 3, (W1, stranger)),
        _signed(tree, 3, (W1, impostor)),
        _signed(tree, 3, (W1, W2), at=NOW - 2 * 86400),  # too old
        _signed(tree, 3, (W1, W2), at=NOW + 3600),  # from the future
        sign_checkpoint(Checkpoint(ORIGIN, 3, tree.root()), [LOG, W1.at(NOW), W1.at(NOW - 1)]),
    ]
    for note in cases:
        with pytest.raises(MissingCosignatureError):
            state.update(note, [], NOW)
    assert state.update(_signed(tree, 3, (W3, W1)), [], NOW).checkpoint.size == 3


def test_checkpoint_signed_by_wrong_key_is_refused() -> None:
    tree = _tree(3)
    state = _state()
    other_key = Ed25519NoteSigner(ORIGIN, _key(50))  # the log's name, another key
    with pytest.raises(VerificationError):
        state.update(_signed(tree, 3, log=other_key), [], NOW)

    @dataclasses.dataclass(frozen=True)
    class KeyIdForger:  # claims the log's name and key ID, signs with another key
        name: str = ORIGIN
        key_id: bytes = LOG.key_id

        def sign(self, text: bytes) -> bytes:
            return _key(50).sign(text)

    with pytest.raises(VerificationError):
        state.update(_signed(tree, 3, log=KeyIdForger()), [], NOW)  # type: ignore[arg-type]
    # A witness's signature is no log signature.
    with pytest.raises(VerificationError):
        state.update(
            sign_checkpoint(Checkpoint(ORIGIN, 3, tree.root()), [W1.at(NOW), W2.at(NOW)]), [], NOW
        )


def test_inconsistent_append_is_refused() -> None:
    honest, rewritten = _tree(7), _tree(7, salt=b"x")
    state = _trusted_at(4, honest)
    note = _signed(rewritten, 7)  # the log signs a tree that rewrote history
    for proof in (rewritten.consistency_proof(4, 7), honest.consistency_proof(4, 7), []):
        with pytest.raises(VerificationError):
            state.update(note, proof, NOW)
    with pytest.raises(VerificationError):  # an honest tree with a tampered proof
        proof = honest.consistency_proof(4, 7)
        state.update(_signed(honest, 7), [proof[0], leaf_hash(b"x"), *proof[2:]], NOW)


def test_checkpoint_of_another_log_is_refused() -> None:
    tree = _tree(2)
    other = sign_checkpoint(
        Checkpoint("other.example/log", 2, tree.root()), [LOG, W1.at(NOW), W2.at(NOW)]
    )
    with pytest.raises(VerificationError):
        _state().update(other, [], NOW)


def test_state_round_trips_through_json() -> None:
    tree = _tree(5)
    state = _trusted_at(5, tree)
    data = state.to_json()
    again = TrustedLogState.from_json(data)
    assert again == state
    assert again.checkpoint == state.checkpoint
    assert TrustedLogState.from_json(_state().to_json()).checkpoint.size == 0
    doc = json.loads(data)
    doc["checkpoint"] = doc["checkpoint"].replace("\n5\n", "\n6\n")  # tampered stored state
    with pytest.raises(VerificationError):
        TrustedLogState.from_json(json.dumps(doc).encode())
    doc = json.loads(data)
    doc["required_witnesses"] = 4
    with pytest.raises(DecodeError):
        TrustedLogState.from_json(json.dumps(doc).encode())


def test_state_policy_is_checked() -> None:
    base = _state()
    for change in [
        {"required_witnesses": 0},
        {"required_witnesses": 4},
        {"witnesses": (W1.verifier(), W1.verifier())},
        {"max_cosignature_age_s": float("nan")},
        {"origin": ""},
    ]:
        with pytest.raises(UsageError):
            dataclasses.replace(base, **change)  # type: ignore[arg-type]


# --- fuzz: garbage raises only our errors --------------------------------------------------------

_VALID_NOTE = _signed(_tree(3), 3, (W1, W2, W3))


@st.composite
def _mutated_note(draw: st.DrawFn) -> bytes:
    data = bytearray(_VALID_NOTE)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[i]
        else:
            data[i:i] = draw(st.sampled_from([b"\n", b" ", b"+", b"\xe2\x80\x94 ", b"\x00", b"="]))
    return bytes(data)


_GARBAGE = st.one_of(st.binary(max_size=600), _mutated_note())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_GARBAGE)
def test_garbage_notes_raise_only_privcloud_errors(data: bytes) -> None:
    state = _state()
    for call in (
        lambda: parse_note(data),
        lambda: open_note(data, [LOG.verifier(), W1.verifier()]),
        lambda: open_checkpoint(data, [LOG.verifier()]),
        lambda: verify_cosignatures(data, [W1.verifier(), W2.verifier()]),
        lambda: state.update(data, [], NOW),
        lambda: TrustedLogState.from_json(data),
        lambda: split_cosignature(data),
    ):
        try:
            call()
        except PrivcloudError as exc:
            assert isinstance(exc, PeerError), type(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_garbage_text_raises_only_privcloud_errors(text: str) -> None:
    for call in (
        lambda: Checkpoint.decode(text),
        lambda: parse_vkey(text),
        lambda: Ed25519NoteVerifier.from_vkey(text),
        lambda: CosignatureVerifier.from_vkey(text),
        lambda: TrustedLogState.from_json(text.encode("utf-8", "surrogatepass")),
    ):
        try:
            call()
        except PrivcloudError as exc:
            assert isinstance(exc, PeerError), type(exc)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=40), max_size=70), st.floats(allow_nan=False, allow_infinity=False)
)
def test_garbage_proofs_raise_only_verification_errors(proof: list[bytes], now: float) -> None:
    tree = _tree(5)
    state = _trusted_at(3, tree)
    with contextlib.suppress(VerificationError):
        state.update(_signed(tree, 5), proof, NOW)
    with contextlib.suppress(VerificationError):
        verify_inclusion_against(state, b"release 1", 1, proof)
    try:
        state.update(_signed(tree, 5), tree.consistency_proof(3, 5), now)
    except PrivcloudError as exc:
        assert isinstance(exc, (MissingCosignatureError, UsageError))


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "origin",
                "log_key",
                "witnesses",
                "required_witnesses",
                "checkpoint",
                "max_cosignature_age_s",
                "max_clock_skew_s",
            ]
        ),
        st.one_of(
            st.none(), st.integers(-5, 5), st.text(max_size=20), st.lists(st.text(max_size=5))
        ),
    )
)
def test_garbage_state_documents_raise_only_privcloud_errors(doc: dict[str, object]) -> None:
    base = json.loads(_trusted_at(3).to_json())
    base.update(doc)
    try:
        TrustedLogState.from_json(json.dumps(base).encode())
    except PrivcloudError as exc:
        assert isinstance(exc, PeerError), type(exc)
