"""Single-shot HPKE in ``cryptography`` (Rust/OpenSSL), which :func:`hpke.seal_base` and
:func:`hpke.open_base` use for the suites it has (the envelope's CEK wraps), against official
vectors and against our own path (pyhpke; our key schedule for the hybrid KEM).

Provenance (``cryptography_vectors`` 50.0.2, pinned in pyproject.toml, dev extra):

* ``HPKE/test-vectors.json``: RFC 9180 Appendix A, from https://github.com/cfrg/draft-irtf-cfrg-hpke.
  Every base-mode vector of a suite that runs natively (X25519, HKDF-SHA256, each AEAD) is
  opened through both paths: its first encryption is a single-shot one (sequence number 0).
* ``HPKE/hpke-pq-test-vectors.json``: draft-ietf-hpke-pq, the vector of our hybrid suite
  (KEM 0x647A, HKDF-SHA256, ChaCha20-Poly1305), opened the same way.

A sender cannot be byte-exact here (neither path takes an injected ephemeral key natively), so
each path's seal is opened by the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cryptography_vectors
import pytest

from privcloud.crypto import hpke
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import CryptoError, DecodeError

_ROOT = Path(cryptography_vectors.__file__).resolve().parent / "HPKE"
_RFC9180 = [
    v
    for v in json.loads((_ROOT / "test-vectors.json").read_text())
    if (v["mode"], v["kem_id"], v["kdf_id"]) == (0, 0x20, 1) and v["aead_id"] in (1, 2, 3)
]
_PQ = [
    v
    for v in json.loads((_ROOT / "hpke-pq-test-vectors.json").read_text())
    if (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 0x647A, 1, 3)
]
_SUITES = (hpke.X25519_SHA256_AES128GCM, hpke.MLKEM768X25519_SHA256_CHACHA20)
_INFO, _AAD = b"privcloud envelope v1 cek wrap", b"an envelope header"


def _suite(v: dict[str, Any]) -> hpke.Suite:
    return hpke.Suite(hpke.KemId(v["kem_id"]), KdfId(v["kdf_id"]), AeadId(v["aead_id"]))


def _h(v: dict[str, Any], name: str) -> bytes:
    return bytes.fromhex(v[name])


def test_the_native_path_exists_for_our_suites() -> None:
    # A cryptography without the AAD-taking single-shot functions would silently fall back:
    # fail here instead, so the pin is revisited.
    assert len(_RFC9180) == 3 and len(_PQ) == 1
    for suite in (*_SUITES, *(_suite(v) for v in _RFC9180)):
        assert hpke._native_suite(suite) is not None
    other = hpke.Suite(hpke.KemId.DHKEM_X448_HKDF_SHA512, KdfId.HKDF_SHA512, AeadId.AES_256_GCM)
    assert hpke._native_suite(other) is None


@pytest.mark.parametrize("native", [True, False], ids=["native", "ours"])
@pytest.mark.parametrize("v", _RFC9180, ids=lambda v: f"aead{v['aead_id']}")
def test_rfc9180_vector_opens_on_both_paths(v: dict[str, Any], native: bool) -> None:
    suite = _suite(v)
    key = hpke.derive_keypair(suite.kem, _h(v, "ikmR"))
    assert key.public_bytes == _h(v, "pkRm")
    first = v["encryptions"][0]
    opened = hpke.open_base(
        suite, _h(v, "enc"), key, _h(v, "info"), _h(first, "aad"), _h(first, "ct"), native=native
    )
    assert opened == _h(first, "pt")


@pytest.mark.parametrize("native", [True, False], ids=["native", "ours"])
def test_hybrid_vector_opens_on_both_paths(native: bool) -> None:
    v = _PQ[0]
    key = hpke.load_private_key(hpke.KemId.MLKEM768_X25519, _h(v, "skRm"))
    first = v["encryptions"][0]
    opened = hpke.open_base(
        _suite(v), _h(v, "enc"), key, _h(v, "info"), _h(first, "aad"), _h(first, "ct"),
        native=native,
    )  # fmt: skip
    assert opened == _h(first, "pt")


@pytest.mark.parametrize("suite", _SUITES, ids=lambda s: s.kem.name)
def test_each_path_opens_what_the_other_seals(suite: hpke.Suite) -> None:
    key = hpke.generate_keypair(suite.kem)
    for seal_native in (True, False):
        enc, ct = hpke.seal_base(
            suite, key.public_bytes, _INFO, _AAD, b"a content key", native=seal_native
        )
        assert len(enc) == suite.kem.enc_size
        opened = hpke.open_base(suite, enc, key, _INFO, _AAD, ct, native=not seal_native)
        assert opened == b"a content key"


@pytest.mark.parametrize("suite", _SUITES, ids=lambda s: s.kem.name)
def test_native_open_refuses_a_changed_header_enc_or_ciphertext(suite: hpke.Suite) -> None:
    key = hpke.generate_keypair(suite.kem)
    enc, ct = hpke.seal_base(suite, key.public_bytes, _INFO, _AAD, b"a content key")
    flipped_enc = bytes([enc[0] ^ 1]) + enc[1:]
    flipped_ct = ct[:-1] + bytes([ct[-1] ^ 1])
    for e, a, c in ((enc, _AAD + b"!", ct), (flipped_enc, _AAD, ct), (enc, _AAD, flipped_ct)):
        with pytest.raises(CryptoError):
            hpke.open_base(suite, e, key, _INFO, a, c)
    with pytest.raises(DecodeError):
        hpke.open_base(suite, enc[1:], key, _INFO, _AAD, ct)


@pytest.mark.parametrize("suite", _SUITES, ids=lambda s: s.kem.name)
def test_native_seal_refuses_a_malformed_public_key(suite: hpke.Suite) -> None:
    key = hpke.generate_keypair(suite.kem)
    with pytest.raises(DecodeError):
        hpke.seal_base(suite, key.public_bytes[1:], _INFO, _AAD, b"k")
    if suite.kem == hpke.KemId.MLKEM768_X25519:
        with pytest.raises(DecodeError):  # an ML-KEM key whose coefficients exceed q
            hpke.seal_base(suite, b"\xff" * 1184 + key.public_bytes[1184:], _INFO, _AAD, b"k")


def test_seal_to_a_low_order_x25519_point_is_refused_on_both_paths() -> None:
    # The all-zero point gives an all-zero shared secret (RFC 7748 §6.1): a wrap to it would be
    # readable by anyone.
    suite = hpke.X25519_SHA256_AES128GCM
    for native in (True, False):
        with pytest.raises(CryptoError):
            hpke.seal_base(suite, bytes(32), _INFO, _AAD, b"k", native=native)
