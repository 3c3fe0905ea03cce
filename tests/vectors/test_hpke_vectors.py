"""RFC 9180 HPKE test vectors against privcloud.crypto.hpke.

Provenance: ``HPKE/test-vectors.json`` shipped in the ``cryptography_vectors`` package (pinned
in pyproject.toml, dev extra), which copies the official vectors of RFC 9180 Appendix A from
https://github.com/cfrg/draft-irtf-cfrg-hpke (``test-vectors.json``). We check every base-mode
(mode 0) vector whose suite we support: KEMs P-256 (0x10), P-521 (0x12), X25519 (0x20) and
X448 (0x21); KDFs HKDF-SHA256 and HKDF-SHA512; AEADs AES-128-GCM, AES-256-GCM,
ChaCha20-Poly1305 and export-only (0xFFFF, exports only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cryptography_vectors
import pytest

from privcloud.crypto import hpke
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import CryptoError

_PATH = Path(cryptography_vectors.__file__).resolve().parent / "HPKE" / "test-vectors.json"
_SUPPORTED_KEMS = {int(k) for k in hpke.KemId}
_SUPPORTED_KDFS = {int(k) for k in KdfId}
_SUPPORTED_AEADS = {int(a) for a in AeadId}


def _base_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(_PATH.read_text())
    return [
        v
        for v in vectors
        if v["mode"] == 0
        and v["kem_id"] in _SUPPORTED_KEMS
        and v["kdf_id"] in _SUPPORTED_KDFS
        and v["aead_id"] in _SUPPORTED_AEADS
    ]


_VECTORS = _base_vectors()


def _vid(v: dict[str, Any]) -> str:
    return f"kem{v['kem_id']:#06x}-kdf{v['kdf_id']}-aead{v['aead_id']:#06x}"


def _suite(v: dict[str, Any]) -> hpke.Suite:
    return hpke.Suite(hpke.KemId(v["kem_id"]), KdfId(v["kdf_id"]), AeadId(v["aead_id"]))


def test_vector_file_has_the_expected_base_suites() -> None:
    # 4 KEMs x 2 KDFs x 4 AEADs in base mode, as in RFC 9180 Appendix A.
    assert len(_VECTORS) == 32
    assert {v["kem_id"] for v in _VECTORS} == {0x10, 0x12, 0x20, 0x21}


@pytest.mark.parametrize("v", _VECTORS, ids=_vid)
def test_rfc9180_base_vector(v: dict[str, Any]) -> None:
    suite = _suite(v)
    info = bytes.fromhex(v["info"])

    # DeriveKeyPair(ikmR) gives the recipient's key pair.
    recipient = hpke.derive_keypair(suite.kem, bytes.fromhex(v["ikmR"]))
    assert recipient.public_bytes.hex() == v["pkRm"]
    assert recipient.private_bytes().hex() == v["skRm"]
    # DeriveKeyPair(ikmE), injected, gives the vector's enc.
    ephemeral = hpke.derive_keypair(suite.kem, bytes.fromhex(v["ikmE"]))
    assert ephemeral.public_bytes.hex() == v["pkEm"]
    enc, sender = hpke.setup_base_sender(suite, recipient.public_bytes, info, ephemeral=ephemeral)
    assert enc.hex() == v["enc"]
    receiver = hpke.setup_base_recipient(suite, enc, recipient, info)

    # Every encryption, in sequence order, both ways.
    for e in v["encryptions"]:
        aad, pt = bytes.fromhex(e["aad"]), bytes.fromhex(e["pt"])
        ct = sender.seal(pt, aad)
        assert ct.hex() == e["ct"]
        assert receiver.open(ct, aad) == pt

    # Every export, from both contexts.
    for x in v["exports"]:
        exporter_context = bytes.fromhex(x["exporter_context"])
        assert sender.export(exporter_context, x["L"]).hex() == x["exported_value"]
        assert receiver.export(exporter_context, x["L"]).hex() == x["exported_value"]


def test_private_key_round_trips_through_serialization() -> None:
    for v in _VECTORS[::4]:
        key = hpke.derive_keypair(hpke.KemId(v["kem_id"]), bytes.fromhex(v["ikmR"]))
        loaded = hpke.load_private_key(key.kem, key.private_bytes())
        assert loaded.public_bytes == key.public_bytes


def test_flipped_ciphertext_bit_is_detected() -> None:
    v = next(v for v in _VECTORS if v["aead_id"] != 0xFFFF)
    suite = _suite(v)
    info = bytes.fromhex(v["info"])
    recipient = hpke.derive_keypair(suite.kem, bytes.fromhex(v["ikmR"]))
    first = v["encryptions"][0]
    ct = bytearray(bytes.fromhex(first["ct"]))
    ct[0] ^= 0x01
    receiver = hpke.setup_base_recipient(suite, bytes.fromhex(v["enc"]), recipient, info)
    with pytest.raises(CryptoError):
        receiver.open(bytes(ct), bytes.fromhex(first["aad"]))
