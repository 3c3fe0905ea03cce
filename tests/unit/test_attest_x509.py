"""privcloud.crypto.x509: chain rules, CRLs, raw ECDSA and the DER reader, on synthetic PKIs."""

from __future__ import annotations

import pickle

import pytest

from attest_synthetic import T0, der_int, der_oid, der_seq, der_tlv
from privcloud.crypto.der import der_ia5_string, der_integer, der_octet_string, der_oid_map
from privcloud.crypto.x509 import (
    Certificate,
    Curve,
    EcPrivateKey,
    EcPublicKey,
    SignatureAlgorithm,
    check_not_revoked,
    load_certificate,
    load_certificates,
    load_crl,
    verify_chain,
)
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate, build_crl
from privcloud.errors import DecodeError, UsageError, VerificationError

ECDSA = frozenset({SignatureAlgorithm.ECDSA_SHA256})
DAY = 86400.0


def _cert(
    cn: str,
    key: EcPrivateKey,
    issuer: Certificate | None,
    issuer_key: EcPrivateKey,
    **kw: object,
) -> Certificate:
    req = CertificateRequest(cn, T0 - DAY, T0 + DAY, **kw)  # type: ignore[arg-type]
    return build_certificate(req, key, issuer=issuer, issuer_key=issuer_key)


@pytest.fixture(scope="module")
def pki() -> dict[str, object]:
    keys = {n: EcPrivateKey.generate(Curve.P256) for n in ("root", "ca", "leaf", "rogue")}
    root = _cert("root", keys["root"], None, keys["root"], ca=True, serial=1)
    ca = _cert("ca", keys["ca"], root, keys["root"], ca=True, path_length=0, serial=2)
    leaf = _cert("leaf", keys["leaf"], ca, keys["ca"], serial=3)
    return {"keys": keys, "root": root, "ca": ca, "leaf": leaf}


def test_chain_verifies_and_returns_the_path(pki: dict) -> None:  # type: ignore[type-arg]
    path = verify_chain([pki["leaf"], pki["ca"]], [pki["root"]], at=T0, allowed_algorithms=ECDSA)
    assert [c.subject_common_name for c in path] == ["leaf", "ca", "root"]
    # A copy of the root at the end of the chain is dropped, not trusted by itself.
    path = verify_chain(
        [pki["leaf"], pki["ca"], pki["root"]], [pki["root"]], at=T0, allowed_algorithms=ECDSA
    )
    assert len(path) == 3


def test_expired_chain_is_refused(pki: dict) -> None:  # type: ignore[type-arg]
    for at in (T0 - 2 * DAY, T0 + 2 * DAY):
        with pytest.raises(VerificationError):
            verify_chain([pki["leaf"], pki["ca"]], [pki["root"]], at=at, allowed_algorithms=ECDSA)


def test_leaf_cannot_act_as_ca(pki: dict) -> None:  # type: ignore[type-arg]
    keys = pki["keys"]
    child = _cert("child", keys["rogue"], pki["leaf"], keys["leaf"], serial=4)
    with pytest.raises(VerificationError):
        verify_chain(
            [child, pki["leaf"], pki["ca"]], [pki["root"]], at=T0, allowed_algorithms=ECDSA
        )


def test_path_length_constraint_is_enforced(pki: dict) -> None:  # type: ignore[type-arg]
    keys = pki["keys"]
    sub = _cert("sub", keys["rogue"], pki["ca"], keys["ca"], ca=True, serial=5)
    leaf = _cert("leaf2", keys["leaf"], sub, keys["rogue"], serial=6)
    with pytest.raises(VerificationError):
        verify_chain([leaf, sub, pki["ca"]], [pki["root"]], at=T0, allowed_algorithms=ECDSA)


def test_wrong_algorithm_and_foreign_root_are_refused(pki: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(VerificationError):
        verify_chain(
            [pki["leaf"], pki["ca"]],
            [pki["root"]],
            at=T0,
            allowed_algorithms=frozenset({SignatureAlgorithm.ECDSA_SHA384}),
        )
    keys = pki["keys"]
    other_root = _cert("root", keys["rogue"], None, keys["rogue"], ca=True, serial=1)
    with pytest.raises(VerificationError):
        verify_chain([pki["leaf"], pki["ca"]], [other_root], at=T0, allowed_algorithms=ECDSA)
    with pytest.raises(VerificationError):
        verify_chain([pki["root"]], [pki["root"]], at=T0, allowed_algorithms=ECDSA)
    with pytest.raises(VerificationError):
        verify_chain([], [pki["root"]], at=T0, allowed_algorithms=ECDSA)


def test_crl_rules(pki: dict) -> None:  # type: ignore[type-arg]
    keys = pki["keys"]
    chain, anchors = [pki["leaf"], pki["ca"]], [pki["root"]]
    revoked = build_crl(
        pki["ca"], keys["ca"], revoked_serials=[3], this_update=T0 - 1, next_update=T0 + 1
    )
    with pytest.raises(VerificationError):
        verify_chain(chain, anchors, at=T0, allowed_algorithms=ECDSA, crls=[revoked])
    # Same issuer name, signed by someone else: refused, not ignored.
    forged = build_crl(
        pki["ca"], keys["rogue"], revoked_serials=[], this_update=T0 - 1, next_update=T0 + 1
    )
    with pytest.raises(VerificationError):
        verify_chain(chain, anchors, at=T0, allowed_algorithms=ECDSA, crls=[forged])
    fine = build_crl(
        pki["ca"], keys["ca"], revoked_serials=[], this_update=T0 - 1, next_update=T0 + 1
    )
    verify_chain(chain, anchors, at=T0, allowed_algorithms=ECDSA, crls=[load_crl(fine.der)])
    with pytest.raises(VerificationError):
        check_not_revoked(pki["leaf"], fine, pki["ca"], at=T0 + 2)
    with pytest.raises(VerificationError):
        check_not_revoked(pki["leaf"], fine, pki["root"], at=T0)


def test_raw_ecdsa() -> None:
    for curve in Curve:
        key = EcPrivateKey.generate(curve)
        pub = EcPublicKey.from_bytes(curve, key.public_key().to_bytes())
        sig = key.sign(b"msg")
        assert len(sig) == 2 * curve.size
        pub.verify(sig, b"msg")
        EcPublicKey.from_bytes(curve, key.public_key().to_bytes()[1:]).verify(sig, b"msg")
        for bad in (sig[:-1], bytes(len(sig)), sig[: curve.size] + bytes(curve.size)):
            with pytest.raises(VerificationError):
                pub.verify(bad, b"msg")
        with pytest.raises(VerificationError):
            pub.verify(sig, b"other")
    with pytest.raises(DecodeError):
        EcPublicKey.from_bytes(Curve.P256, b"\x04" + bytes(64))
    with pytest.raises(UsageError):
        pickle.dumps(EcPrivateKey.generate(Curve.P256))


def test_der_reader() -> None:
    assert der_integer(der_int(68)) == 68
    assert der_integer(der_int(200)) == 200
    assert der_integer(b"\x0a\x01\x01") == 1
    assert der_octet_string(der_tlv(0x04, b"ab")) == b"ab"
    assert der_ia5_string(der_tlv(0x16, b"Milan-B0")) == "Milan-B0"
    nested = der_seq(
        der_seq(der_oid("1.2.3.1"), der_int(5)),
        der_seq(der_oid("1.2.3.2"), der_seq(der_seq(der_oid("1.2.3.2.1"), der_int(7)))),
    )
    flat = der_oid_map(nested)
    assert der_integer(flat["1.2.3.1"]) == 5
    assert der_integer(flat["1.2.3.2.1"]) == 7
    for bad in (b"", b"\x02", b"\x02\x05\x01", b"\x02\x00", b"\x1f\x01\x00", b"\x02\x85\x01"):
        with pytest.raises(DecodeError):
            der_integer(bad)
    with pytest.raises(DecodeError):
        der_oid_map(der_seq(der_seq(der_oid("1.2.3"), der_int(1)), der_seq(der_oid("1.2.3"))))


def test_malformed_certificates_are_decode_errors() -> None:
    for bad in (b"", b"\x30\x03\x02\x01\x01", b"-----BEGIN CERTIFICATE-----\nAAAA\n"):
        with pytest.raises(DecodeError):
            load_certificates(bad)
    with pytest.raises(DecodeError):
        load_certificate(bytes(70_000))
