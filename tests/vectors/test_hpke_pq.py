"""The hybrid post-quantum HPKE KEM MLKEM768-X25519 (X-Wing, 0x647A) and our RFC 9180 key
schedule, against official vectors and an independent implementation.

Provenance:

* ``HPKE/hpke-pq-test-vectors.json`` shipped in the ``cryptography_vectors`` package 50.0.2
  (pinned in pyproject.toml, dev extra): the test vectors of draft-ietf-hpke-pq as pyca copied
  them. We use the one vector of the suite privcloud uses, (KEM 0x647A, HKDF-SHA256,
  ChaCha20-Poly1305); the others name KEMs or one-stage KDFs (SHAKE, TurboSHAKE) we do not use.
* ``HPKE/test-vectors.json`` from the same package (RFC 9180 Appendix A): every base-mode vector,
  fed its ``shared_secret``, checks our key schedule for every HKDF KDF and AEAD.
* ``asymmetric/MLDSA/kat_MLDSA_44_det_pure.rsp`` from the same package: FIPS 204 ML-DSA-44
  known-answer tests (key generation from ξ; signatures with a context string).
* ``cryptography``'s own hybrid HPKE (``hazmat.primitives.hpke``, single-shot, Rust/OpenSSL) is
  the independent implementation our sender and recipient must interoperate with.

What cannot be byte-exact: a hybrid *sender*'s ``enc``, since ML-KEM encapsulation draws its
randomness inside OpenSSL (no seam). The vector's ``enc`` is decapsulated byte-exactly instead,
and sealing is checked byte-exactly from the vector's shared secret.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cryptography_vectors
import pytest
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from privcloud.crypto import hpke, pq
from privcloud.crypto.signing import MLDSA44PrivateKey, mldsa44_verify
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import CryptoError, DecodeError, UsageError

_ROOT = Path(cryptography_vectors.__file__).resolve().parent
_PQ = json.loads((_ROOT / "HPKE" / "hpke-pq-test-vectors.json").read_text())
_RFC9180 = json.loads((_ROOT / "HPKE" / "test-vectors.json").read_text())
_SUITE = hpke.MLKEM768X25519_SHA256_CHACHA20


def _vector() -> dict[str, Any]:
    found = [
        v for v in _PQ if (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 0x647A, 1, 3)
    ]
    assert len(found) == 1
    return found[0]


V = _vector()


def _b(name: str, v: dict[str, Any] = V) -> bytes:
    return bytes.fromhex(v[name])


def test_the_suite_we_use_is_the_vectors_suite() -> None:
    assert (int(_SUITE.kem), int(_SUITE.kdf), int(_SUITE.aead)) == (0x647A, 1, 3)
    assert _b("suite_id") == b"HPKE" + bytes.fromhex("647a00010003")
    kem = hpke.KemId.MLKEM768_X25519
    assert (kem.public_key_size, kem.private_key_size, kem.enc_size) == (1216, 32, 1120)
    assert kem.post_quantum and not hpke.KemId.DHKEM_X25519_HKDF_SHA256.post_quantum


def test_derive_keypair_matches_the_vector() -> None:
    key = hpke.derive_keypair(hpke.KemId.MLKEM768_X25519, _b("ikmR"))
    assert key.private_bytes() == _b("skRm")
    assert key.public_bytes == _b("pkRm")
    loaded = hpke.load_private_key(hpke.KemId.MLKEM768_X25519, _b("skRm"))
    assert loaded.public_bytes == _b("pkRm")


def test_decap_gives_the_vectors_shared_secret() -> None:
    key = pq.XWingPrivateKey(_b("skRm"))
    assert pq.xwing_decap(_b("enc"), key) == _b("shared_secret")


def test_recipient_opens_every_vector_ciphertext_and_exports_byte_exact() -> None:
    key = hpke.load_private_key(hpke.KemId.MLKEM768_X25519, _b("skRm"))
    ctx = hpke.setup_base_recipient(_SUITE, _b("enc"), key, _b("info"))
    for e in V["encryptions"]:
        assert ctx.open(bytes.fromhex(e["ct"]), bytes.fromhex(e["aad"])) == bytes.fromhex(e["pt"])
    for x in V["exports"]:
        got = ctx.export(bytes.fromhex(x["exporter_context"]), x["L"])
        assert got == bytes.fromhex(x["exported_value"])


def test_key_schedule_seals_the_vector_ciphertexts_byte_exact() -> None:
    schedule = pq.KeySchedule(
        0x647A,
        KdfId.HKDF_SHA256,
        AeadId.CHACHA20_POLY1305,
        _b("shared_secret"),
        _b("info"),
        sender=True,
    )
    assert schedule._exporter == _b("exporter_secret")
    assert schedule._base_nonce == _b("base_nonce")
    for e in V["encryptions"]:
        ct = schedule.seal(bytes.fromhex(e["pt"]), bytes.fromhex(e["aad"]))
        assert ct == bytes.fromhex(e["ct"])


def _rfc9180_base() -> list[dict[str, Any]]:
    kdfs = {int(k) for k in KdfId}
    aeads = {int(a) for a in AeadId}
    return [v for v in _RFC9180 if v["mode"] == 0 and v["kdf_id"] in kdfs and v["aead_id"] in aeads]


@pytest.mark.parametrize(
    "v", _rfc9180_base(), ids=lambda v: f"kem{v['kem_id']:#06x}-kdf{v['kdf_id']}-aead{v['aead_id']}"
)
def test_our_key_schedule_matches_every_rfc9180_base_vector(v: dict[str, Any]) -> None:
    kdf, aead = KdfId(v["kdf_id"]), AeadId(v["aead_id"])
    sender = pq.KeySchedule(
        v["kem_id"], kdf, aead, _b("shared_secret", v), _b("info", v), sender=True
    )
    recipient = pq.KeySchedule(
        v["kem_id"], kdf, aead, _b("shared_secret", v), _b("info", v), sender=False
    )
    assert sender._exporter == _b("exporter_secret", v)
    for e in v["encryptions"] if aead != AeadId.EXPORT_ONLY else []:
        pt, aad, ct = (bytes.fromhex(e[k]) for k in ("pt", "aad", "ct"))
        assert sender.seal(pt, aad) == ct
        assert recipient.open(ct, aad) == pt
    for x in v["exports"]:
        got = recipient.export(bytes.fromhex(x["exporter_context"]), x["L"])
        assert got == bytes.fromhex(x["exported_value"])


def test_rfc9180_file_covers_every_kdf_and_aead_we_accept() -> None:
    seen = {(v["kdf_id"], v["aead_id"]) for v in _rfc9180_base()}
    # RFC 9180 Appendix A has no HKDF-SHA384 vectors; SHA-256 and SHA-512 with every AEAD.
    assert seen == {
        (int(k), int(a)) for k in (KdfId.HKDF_SHA256, KdfId.HKDF_SHA512) for a in AeadId
    }


# --- interoperation with cryptography's own hybrid HPKE --------------------------------------


def _pyca_private(seed: bytes) -> pyca_hpke.MLKEM768X25519PrivateKey:
    expanded = hashlib.shake_256(seed).digest(96)
    return pyca_hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )


_PYCA_SUITE = pyca_hpke.Suite(
    pyca_hpke.KEM.MLKEM768_X25519, pyca_hpke.KDF.HKDF_SHA256, pyca_hpke.AEAD.CHACHA20_POLY1305
)


def test_pyca_hybrid_hpke_opens_what_we_seal() -> None:
    key = hpke.generate_keypair(hpke.KemId.MLKEM768_X25519)
    enc, ct = hpke.seal_base(
        _SUITE, key.public_bytes, b"info", b"", b"sealed by privcloud", native=False
    )
    assert len(enc) == 1120
    opened = _PYCA_SUITE.decrypt(enc + ct, _pyca_private(key.private_bytes()), b"info")
    assert opened == b"sealed by privcloud"


def test_we_open_what_pyca_hybrid_hpke_seals() -> None:
    key = hpke.generate_keypair(hpke.KemId.MLKEM768_X25519)
    sealed = _PYCA_SUITE.encrypt(
        b"sealed by pyca", _pyca_private(key.private_bytes()).public_key(), b"info"
    )
    opened = hpke.open_base(_SUITE, sealed[:1120], key, b"info", b"", sealed[1120:], native=False)
    assert opened == b"sealed by pyca"


# --- refusals --------------------------------------------------------------------------------


def test_flipped_byte_in_either_half_of_enc_is_refused() -> None:
    key = hpke.load_private_key(hpke.KemId.MLKEM768_X25519, _b("skRm"))
    ct = bytes.fromhex(V["encryptions"][0]["ct"])
    aad = bytes.fromhex(V["encryptions"][0]["aad"])
    for pos in (0, 1087, 1088, 1119):
        enc = bytearray(_b("enc"))
        enc[pos] ^= 1
        with pytest.raises(CryptoError):
            hpke.open_base(_SUITE, bytes(enc), key, _b("info"), aad, ct)


def test_malformed_hybrid_keys_and_enc_are_refused() -> None:
    kem = hpke.KemId.MLKEM768_X25519
    with pytest.raises(DecodeError):
        hpke.check_public_key(kem, _b("pkRm")[:-1])
    with pytest.raises(DecodeError):
        hpke.load_private_key(kem, _b("skRm") + b"\x00")
    key = hpke.load_private_key(kem, _b("skRm"))
    with pytest.raises(DecodeError):
        hpke.setup_base_recipient(_SUITE, _b("enc")[:-1], key, b"")
    with pytest.raises(UsageError):
        hpke.setup_base_sender(_SUITE, key.public_bytes, b"", ephemeral=key)


def test_recipient_context_cannot_seal_and_sender_cannot_open() -> None:
    key = hpke.generate_keypair(hpke.KemId.MLKEM768_X25519)
    enc, sender = hpke.setup_base_sender(_SUITE, key.public_bytes, b"")
    recipient = hpke.setup_base_recipient(_SUITE, enc, key, b"")
    with pytest.raises(UsageError):
        recipient.seal(b"x")
    with pytest.raises(UsageError):
        sender.open(b"x" * 32)
    assert recipient.open(sender.seal(b"one")) == b"one"
    assert recipient.open(sender.seal(b"two")) == b"two"
    assert sender.export(b"c", 32) == recipient.export(b"c", 32)


# --- ML-DSA-44 (FIPS 204) --------------------------------------------------------------------


def _mldsa44_kats() -> list[dict[str, str]]:
    text = (_ROOT / "asymmetric" / "MLDSA" / "kat_MLDSA_44_det_pure.rsp").read_text()
    records: list[dict[str, str]] = []
    for line in text.splitlines():
        if line.startswith("count = "):
            records.append({})
        if " = " in line and records:
            name, value = line.split(" = ", 1)
            records[-1][name] = value
    return records


_KATS = _mldsa44_kats()


def test_mldsa44_kat_file_is_what_we_expect() -> None:
    assert len(_KATS) == 100


@pytest.mark.parametrize("kat", _KATS[:10], ids=lambda k: f"count{k['count']}")
def test_mldsa44_keygen_and_verify_match_the_fips204_kat(kat: dict[str, str]) -> None:
    key = MLDSA44PrivateKey.from_seed(bytes.fromhex(kat["xi"]))
    pk = bytes.fromhex(kat["pk"])
    assert key.public_bytes() == pk
    sm, msg, ctx = (bytes.fromhex(kat[k]) for k in ("sm", "msg", "ctx"))
    signature = sm[:2420]
    assert sm[2420:] == msg
    mldsa44_verify(pk, msg, signature, ctx)
    with pytest.raises(CryptoError):
        mldsa44_verify(pk, msg + b"\x00", signature, ctx)
    with pytest.raises(CryptoError):
        mldsa44_verify(pk, msg, signature, b"")  # the context is part of what is signed
    ours = key.sign(msg, ctx)  # hedged: not the KAT's bytes, but it verifies
    mldsa44_verify(pk, msg, ours, ctx)
