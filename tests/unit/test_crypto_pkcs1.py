"""crypto/pkcs1.py: RSA PKCS #1 v1.5 and PSS verification from numbers and certificates, and
chains signed with sha256/384WithRSAEncryption; refusals raise VerificationError only."""

from __future__ import annotations

import pytest

from privcloud.crypto.ecdsa import Curve, EcPrivateKey, RsaPrivateKey
from privcloud.crypto.pkcs1 import (
    Hash,
    RsaPublicKey,
    rsa_public_numbers,
    rsa_sign,
    verify_pkcs1_chain,
)
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.errors import VerificationError

T = 1_700_000_000.0
KEY = RsaPrivateKey.generate(2048)


def _public() -> RsaPublicKey:
    n, e = rsa_public_numbers(KEY)
    return RsaPublicKey.from_numbers(n, e)


@pytest.mark.parametrize("digest", list(Hash))
def test_pkcs1v15_and_pss_signatures_verify_and_tampering_is_refused(digest: Hash) -> None:
    key = _public()
    for pss in (False, True):
        sig = rsa_sign(KEY, b"quote", digest, pss=pss)
        verify = key.verify_pss if pss else key.verify_pkcs1v15
        verify(sig, b"quote", digest)
        with pytest.raises(VerificationError):
            verify(sig, b"quotf", digest)
        with pytest.raises(VerificationError):
            verify(sig[:-1] + bytes([sig[-1] ^ 1]), b"quote", digest)


@pytest.mark.parametrize(
    ("modulus", "exponent"),
    [(b"\xff" * 128, 65537), (b"\xff" * 1025, 65537), (b"\xff" * 256, 65536), (b"\xff" * 256, 1)],
)
def test_weak_or_malformed_rsa_keys_are_refused(modulus: bytes, exponent: int) -> None:
    with pytest.raises(VerificationError):
        RsaPublicKey.from_numbers(modulus, exponent)


def _cert(name: str, key: RsaPrivateKey | EcPrivateKey, issuer=None, issuer_key=None, ca=True):  # type: ignore[no-untyped-def]
    req = CertificateRequest(name, T - 10, T + 1000, ca=ca)
    return build_certificate(req, key, issuer=issuer, issuer_key=issuer_key or key, rsa_pss=False)


def test_pkcs1_chain_verifies_to_the_pinned_root_only() -> None:
    root_key, leaf_key = RsaPrivateKey.generate(2048), RsaPrivateKey.generate(2048)
    root = _cert("root", root_key)
    leaf = _cert("leaf", leaf_key, root, root_key, ca=False)
    path = verify_pkcs1_chain([leaf, root], [root], at=T)
    assert [c.subject_common_name for c in path] == ["leaf", "root"]
    assert (
        RsaPublicKey.from_certificate(leaf).numbers()
        == RsaPublicKey.from_numbers(*rsa_public_numbers(leaf_key)).numbers()
    )
    other = _cert("root", RsaPrivateKey.generate(2048))
    with pytest.raises(VerificationError):
        verify_pkcs1_chain([leaf], [other], at=T)
    with pytest.raises(VerificationError):
        verify_pkcs1_chain([leaf], [root], at=T + 5000)


def test_ec_certificate_is_not_an_rsa_key() -> None:
    ec = EcPrivateKey.generate(Curve.P256)
    with pytest.raises(VerificationError, match="not RSA"):
        RsaPublicKey.from_certificate(_cert("ec", ec))
