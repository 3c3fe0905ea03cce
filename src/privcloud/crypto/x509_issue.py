"""Issue certificates and CRLs — for tests and development tooling only.

Synthetic vendor chains (a test ARK/ASK/VCEK, a test Intel root/PCK) let tests reach the policy
paths of the attestation verifiers without the vendors' private keys. Nothing on a verification
path imports this module.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509 as _x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID

from privcloud.crypto.x509 import (
    Certificate,
    Crl,
    EcPrivateKey,
    RsaPrivateKey,
    load_certificate,
    load_crl,
)
from privcloud.errors import UsageError

_NAME_OIDS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
}


@dataclass(frozen=True)
class CertificateRequest:
    """What :func:`build_certificate` puts in a certificate."""

    common_name: str
    not_before: float
    not_after: float
    serial: int = 1
    ca: bool = False
    path_length: int | None = None
    organization: str = "privcloud test"
    #: When set, the whole subject name instead of O and CN: ``(("OU", "x"), ("CN", "y"))``.
    name: tuple[tuple[str, str], ...] = ()
    #: Extra non-critical extensions: dotted OID -> raw extnValue bytes.
    extensions: Mapping[str, bytes] | None = None


def build_certificate(
    request: CertificateRequest,
    subject_key: EcPrivateKey | RsaPrivateKey,
    *,
    issuer: Certificate | None,
    issuer_key: EcPrivateKey | RsaPrivateKey,
    rsa_pss: bool = True,
) -> Certificate:
    """Issue a certificate for ``subject_key`` (self-signed when ``issuer`` is ``None``).

    RSA issuers sign with RSASSA-PSS SHA-384 (salt 48, as AMD does) or, with ``rsa_pss=False``,
    PKCS#1 v1.5 SHA-384; EC issuers sign with ECDSA and the curve's hash. For tests and
    development tooling only: a verification path never issues certificates.
    """
    pairs = request.name or (("O", request.organization), ("CN", request.common_name))
    try:
        name = _x509.Name([_x509.NameAttribute(_NAME_OIDS[k], v) for k, v in pairs])
    except KeyError as exc:
        raise UsageError("unknown name attribute") from exc
    utc = datetime.UTC
    builder = (
        _x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer._subject_name if issuer is not None else name)
        .public_key(subject_key._key.public_key())
        .serial_number(request.serial)
        .not_valid_before(datetime.datetime.fromtimestamp(request.not_before, utc))
        .not_valid_after(datetime.datetime.fromtimestamp(request.not_after, utc))
        .add_extension(
            _x509.BasicConstraints(ca=request.ca, path_length=request.path_length), critical=True
        )
    )
    for oid, value in (request.extensions or {}).items():
        ext = _x509.UnrecognizedExtension(_x509.ObjectIdentifier(oid), value)
        builder = builder.add_extension(ext, critical=False)
    if isinstance(issuer_key, RsaPrivateKey):
        pad: padding.PSS | padding.PKCS1v15 = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
            if rsa_pss
            else padding.PKCS1v15()
        )
        cert = builder.sign(issuer_key._key, hashes.SHA384(), rsa_padding=pad)
    else:
        cert = builder.sign(issuer_key._key, issuer_key.curve._hash())
    return load_certificate(cert.public_bytes(serialization.Encoding.DER))


def build_crl(
    issuer: Certificate,
    issuer_key: EcPrivateKey | RsaPrivateKey,
    *,
    revoked_serials: Sequence[int],
    this_update: float,
    next_update: float,
) -> Crl:
    """Issue a CRL (tests and tooling only), signed like :func:`build_certificate` signs."""
    utc = datetime.UTC
    builder = (
        _x509.CertificateRevocationListBuilder()
        .issuer_name(issuer._subject_name)
        .last_update(datetime.datetime.fromtimestamp(this_update, utc))
        .next_update(datetime.datetime.fromtimestamp(next_update, utc))
    )
    for serial in revoked_serials:
        entry = (
            _x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(datetime.datetime.fromtimestamp(this_update, utc))
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    if isinstance(issuer_key, RsaPrivateKey):
        crl = builder.sign(issuer_key._key, hashes.SHA384())
    else:
        crl = builder.sign(issuer_key._key, issuer_key.curve._hash())
    return load_crl(crl.public_bytes(serialization.Encoding.DER))
