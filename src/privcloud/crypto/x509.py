"""X.509 certificates, CRLs and raw ECDSA, for attestation (AMD SEV-SNP, Intel TDX).

Small typed wrappers around ``cryptography`` so that :mod:`privcloud.attest` never sees a foreign
object or exception:

* :func:`load_certificate` / :func:`load_certificates` — DER or PEM; the AMD VCEK's non-positive
  serial number is accepted only when the caller asks for it (see :func:`load_certificate`).
* :func:`verify_chain` — a leaf up to a *pinned* anchor at a *given* time (RFC 5280 §6 reduced to
  what vendor attestation PKIs need): validity windows, issuer/subject names, CA flags, key usage,
  path lengths, unknown critical extensions, allowed signature algorithms (RSASSA-PSS SHA-384 for
  AMD's ARK/ASK, ECDSA for Intel), and CRLs when given.
* :class:`EcPublicKey` / :class:`EcPrivateKey` — ECDSA P-256/SHA-256 and P-384/SHA-384 over raw
  ``r || s`` signatures (the form TEE reports carry), from :mod:`privcloud.crypto.ecdsa`.
* Vendor extensions by OID (:meth:`Certificate.extension`), decoded with
  :mod:`privcloud.crypto.der` (re-exported here: :func:`der_integer`, :func:`der_oid_map`, ...).

Issuing certificates (synthetic chains for tests) lives in :mod:`privcloud.crypto.x509_issue`.

Failures raise :class:`~privcloud.errors.DecodeError` (malformed bytes) or
:class:`~privcloud.errors.VerificationError` (a check failed); both are peer errors. Nothing
else escapes on hostile input: every ``cryptography`` call on outside bytes runs inside
:func:`privcloud.crypto.boundary.foreign_errors`, and since ``cryptography`` parses certificates
lazily, :func:`load_certificate` and :func:`load_crl` read every field used here at load time.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import itertools
import warnings
from collections.abc import Sequence

from cryptography import x509 as _x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from privcloud import limits
from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.der import (
    der_header,
    der_ia5_string,
    der_integer,
    der_octet_string,
    der_oid_map,
)
from privcloud.crypto.ecdsa import Curve, EcPrivateKey, EcPublicKey, RsaPrivateKey
from privcloud.errors import DecodeError, VerificationError

__all__ = [
    "Certificate",
    "Crl",
    "Curve",
    "EcPrivateKey",
    "EcPublicKey",
    "RsaPrivateKey",
    "SignatureAlgorithm",
    "check_not_revoked",
    "der_ia5_string",
    "der_integer",
    "der_octet_string",
    "der_oid_map",
    "load_certificate",
    "load_certificates",
    "load_crl",
    "verify_chain",
]


class SignatureAlgorithm(enum.Enum):
    """Certificate signature algorithms a caller may allow in :func:`verify_chain`."""

    RSASSA_PSS_SHA384 = "rsassa-pss-sha384"
    ECDSA_SHA256 = "ecdsa-sha256"
    ECDSA_SHA384 = "ecdsa-sha384"
    OTHER = "other"
    #: sha256WithRSAEncryption (Google's RSA hardware attestation root and its chains).
    RSA_PKCS1V15_SHA256 = "rsa-pkcs1v15-sha256"


def _ts(value: datetime.datetime) -> float:
    return value.timestamp()


def _ignore_name_length_warnings() -> None:
    """Inside ``warnings.catch_warnings()``: silence ``cryptography``'s warning about a name
    attribute of an unexpected length (a country name that is not two letters, say). A peer's
    certificate would otherwise write to our warnings on demand; such names are only compared."""
    warnings.filterwarnings("ignore", category=UserWarning, message="Attribute's length must be")


# --- certificates ----------------------------------------------------------------------------


class Certificate:
    """A parsed X.509 certificate. Immutable; compare with :attr:`der`.

    ``cryptography`` parses lazily (names, validity, extensions, serial and signature algorithm
    on first access), so the constructor reads every field used here at once: a malformed field
    is a :class:`DecodeError` at load time, never a foreign exception later. Only the public key
    (:meth:`ec_public_key`) and re-encoded recognised extensions (:meth:`extension`) are read on
    demand, and both map any failure to our errors.
    """

    __slots__ = (
        "_basic_constraints",
        "_cert",
        "_critical_oids",
        "_extensions",
        "_issuer_name",
        "_key_usage",
        "_subject_name",
        "der",
        "issuer",
        "non_positive_serial",
        "not_after",
        "not_before",
        "serial_number",
        "signature_algorithm",
        "subject",
        "subject_common_name",
    )

    def __init__(self, cert: _x509.Certificate, der: bytes, non_positive_serial: bool) -> None:
        """Read every field now; raises :class:`DecodeError` if any does not parse."""
        self._cert = cert
        self.der = der
        #: True for a certificate loaded with ``allow_non_positive_serial`` whose serial is <= 0.
        self.non_positive_serial = non_positive_serial
        with foreign_errors(DecodeError, "malformed certificate"), warnings.catch_warnings():
            if non_positive_serial:
                warnings.filterwarnings(
                    "ignore", category=CryptographyDeprecationWarning, message=".*serial number.*"
                )
            _ignore_name_length_warnings()
            self._subject_name = cert.subject
            self._issuer_name = cert.issuer
            #: The subject and issuer names, RFC 4514 text.
            self.subject: str = self._subject_name.rfc4514_string()
            self.issuer: str = self._issuer_name.rfc4514_string()
            cns = self._subject_name.get_attributes_for_oid(NameOID.COMMON_NAME)
            #: The subject's first CN, or ``""``.
            self.subject_common_name: str = str(cns[0].value) if cns else ""
            #: The validity window, Unix seconds.
            self.not_before: float = _ts(cert.not_valid_before_utc)
            self.not_after: float = _ts(cert.not_valid_after_utc)
            #: The serial number (may be <= 0 for the AMD VCEK quirk).
            self.serial_number: int = cert.serial_number
            #: The algorithm the issuer signed this certificate with.
            self.signature_algorithm: SignatureAlgorithm = _signature_algorithm(cert)
            self._extensions: tuple[_x509.Extension[_x509.ExtensionType], ...] = tuple(
                cert.extensions
            )
            self._critical_oids = frozenset(
                e.oid.dotted_string for e in self._extensions if e.critical
            )
            self._basic_constraints: _x509.BasicConstraints | None = None
            self._key_usage: _x509.KeyUsage | None = None
            for ext in self._extensions:
                if isinstance(ext.value, _x509.BasicConstraints):
                    self._basic_constraints = ext.value
                elif isinstance(ext.value, _x509.KeyUsage):
                    self._key_usage = ext.value

    def __repr__(self) -> str:
        return f"Certificate(subject={self.subject!r})"

    @property
    def fingerprint_sha256(self) -> bytes:
        return hashlib.sha256(self.der).digest()

    def extension(self, oid: str) -> bytes | None:
        """The raw ``extnValue`` bytes of the extension ``oid`` (dotted), or ``None``.

        Raises :class:`DecodeError` if a recognised extension cannot be re-encoded.
        """
        for ext in self._extensions:
            if ext.oid.dotted_string == oid:
                value = ext.value
                if isinstance(value, _x509.UnrecognizedExtension):
                    return bytes(value.value)
                with foreign_errors(DecodeError, "malformed certificate extension"):
                    return bytes(value.public_bytes())
        return None

    def ec_public_key(self, curve: Curve) -> EcPublicKey:
        """The subject's EC public key; :class:`VerificationError` if it is unusable or not on
        ``curve``."""
        with foreign_errors(VerificationError, "certificate key is not usable"):
            key = self._cert.public_key()
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve._ec().name:
                raise VerificationError("certificate key is not on the expected curve")
        return EcPublicKey(curve, key)

    def public_key_info(self) -> bytes:
        """The subject's SubjectPublicKeyInfo, DER; :class:`VerificationError` if unusable."""
        with foreign_errors(VerificationError, "certificate key is not usable"):
            return self._cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )

    def verify_signature(self, signature: bytes, data: bytes) -> None:
        """Check a SHA-256 signature by the subject's key over ``data``: ECDSA (X9.62 DER, as
        Android Keystore signs) or RSA PKCS#1 v1.5. Raises :class:`VerificationError`."""
        key = self._public_key()
        with foreign_errors(VerificationError, "signature does not verify"):
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            else:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())

    def _public_key(self) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        """An EC or RSA subject key, for checking what this certificate signed."""
        with foreign_errors(VerificationError, "certificate key is not usable"):
            key = self._cert.public_key()
        if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            raise VerificationError("certificate key type not supported")
        return key


def _signature_algorithm(cert: _x509.Certificate) -> SignatureAlgorithm:
    """Classify the signature algorithm; one this module cannot use is ``OTHER``."""
    try:
        oid = cert.signature_algorithm_oid
        digest = cert.signature_hash_algorithm
        params = cert.signature_algorithm_parameters
    except (ValueError, UnsupportedAlgorithm):  # unknown or malformed: refused by verify_chain
        return SignatureAlgorithm.OTHER
    if (
        oid == SignatureAlgorithmOID.RSASSA_PSS
        and isinstance(digest, hashes.SHA384)
        and isinstance(params, padding.PSS)
    ):
        return SignatureAlgorithm.RSASSA_PSS_SHA384
    if oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        return SignatureAlgorithm.ECDSA_SHA256
    if oid == SignatureAlgorithmOID.ECDSA_WITH_SHA384:
        return SignatureAlgorithm.ECDSA_SHA384
    if oid == SignatureAlgorithmOID.RSA_WITH_SHA256:
        return SignatureAlgorithm.RSA_PKCS1V15_SHA256
    return SignatureAlgorithm.OTHER


def _serial_is_non_positive(der: bytes) -> bool:
    """Read the serial straight from the DER (Certificate → TBSCertificate → [0]? → INTEGER)."""
    tag, start, _ = der_header(der, 0)
    if tag != 0x30:
        raise DecodeError("certificate is not a DER SEQUENCE")
    tag, pos, _ = der_header(der, start)
    if tag != 0x30:
        raise DecodeError("certificate has no TBSCertificate")
    tag, vstart, vend = der_header(der, pos)
    if tag == 0xA0:  # explicit version
        tag, vstart, vend = der_header(der, vend)
    if tag != 0x02 or vend == vstart:
        raise DecodeError("certificate has no serial number")
    value = der[vstart:vend]
    return bool(value[0] & 0x80) or not any(value)


def _check_signature_bits(der: bytes) -> None:
    """The signatureValue BIT STRING (after TBSCertificate and signatureAlgorithm) must have
    zero unused bits: ``cryptography`` 50 accepts a non-zero count whose padding bits are zero,
    and with it one certificate would have two encodings (two fingerprints), one signature."""
    _, start, end = der_header(der, 0)
    _, _, pos = der_header(der, start)  # TBSCertificate
    _, _, pos = der_header(der, pos)  # signatureAlgorithm
    tag, vstart, vend = der_header(der, pos)
    if tag != 0x03 or vend != end or vend == vstart:
        raise DecodeError("certificate has no signature BIT STRING")
    if der[vstart] != 0:
        raise DecodeError("certificate signature has unused bits")


def load_certificate(data: bytes, *, allow_non_positive_serial: bool = False) -> Certificate:
    """Parse one DER certificate; raises :class:`DecodeError` (and only that) if it is malformed.

    Every field this module uses is parsed here (see :class:`Certificate`), so that malformed
    input — a bad X.509 version, a duplicated extension, an unparsable name, time or extension —
    fails here, with our error, and not later with ``cryptography``'s.

    The AMD VCEK quirk: AMD's KDS issues VCEKs with serial number 0, which RFC 5280 forbids.
    ``cryptography`` 50.0.2 (the pinned release) still loads such certificates but emits a
    ``CryptographyDeprecationWarning`` and announces that a future release will refuse them.
    We decide instead of letting the warning decide: a non-positive serial is a
    :class:`DecodeError` unless the caller passes ``allow_non_positive_serial=True`` (only the
    SEV-SNP verifier does, for the VCEK leaf), in which case exactly that warning is silenced
    for this load. If a later ``cryptography`` refuses to parse it, the result is a
    :class:`DecodeError` as well: upgrading past that point needs a DER-level workaround.
    """
    if len(data) > limits.MAX_X509_CERTIFICATE_BYTES:
        raise DecodeError("certificate too large")
    non_positive = _serial_is_non_positive(data)
    _check_signature_bits(data)
    if non_positive and not allow_non_positive_serial:
        raise DecodeError("certificate serial number is not positive")
    with foreign_errors(DecodeError, "malformed certificate"), warnings.catch_warnings():
        if non_positive:
            warnings.filterwarnings(
                "ignore", category=CryptographyDeprecationWarning, message=".*serial number.*"
            )
        cert = _x509.load_der_x509_certificate(data)
    return Certificate(cert, bytes(data), non_positive)


def load_certificates(data: bytes, *, allow_non_positive_serial: bool = False) -> list[Certificate]:
    """Parse a DER certificate or a PEM bundle (in order) into at least one certificate.

    Raises :class:`DecodeError` (and only that) for malformed input or a bundle without one.
    """
    if len(data) > limits.MAX_X509_CERTIFICATE_BYTES * limits.MAX_X509_CHAIN_CERTIFICATES:
        raise DecodeError("certificate bundle too large")
    stripped = data.lstrip()
    if not stripped.startswith(b"-----BEGIN"):
        return [load_certificate(data, allow_non_positive_serial=allow_non_positive_serial)]
    if stripped.count(b"-----BEGIN") > limits.MAX_X509_CHAIN_CERTIFICATES:
        raise DecodeError("too many certificates in bundle")
    with foreign_errors(DecodeError, "malformed PEM certificate bundle"):
        ders = [c.public_bytes(serialization.Encoding.DER) for c in _load_pem_quietly(stripped)]
    if not ders:
        raise DecodeError("PEM bundle holds no certificate")
    return [load_certificate(d, allow_non_positive_serial=allow_non_positive_serial) for d in ders]


def _load_pem_quietly(data: bytes) -> list[_x509.Certificate]:
    """PEM to certificates; the serial-number policy is applied afterwards, per DER."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=CryptographyDeprecationWarning, message=".*serial number.*"
        )
        return _x509.load_pem_x509_certificates(data)


# --- CRLs ------------------------------------------------------------------------------------


class Crl:
    """A parsed certificate revocation list; every field used is read at load time."""

    __slots__ = (
        "_crl",
        "_issuer_name",
        "_revoked",
        "_signed_by",
        "der",
        "next_update",
        "this_update",
    )

    def __init__(self, crl: _x509.CertificateRevocationList, der: bytes) -> None:
        """Read every field now; raises :class:`DecodeError` if any does not parse."""
        self._crl = crl
        self.der = der
        with foreign_errors(DecodeError, "malformed CRL"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
            _ignore_name_length_warnings()
            self._issuer_name = crl.issuer
            #: thisUpdate and nextUpdate (``None`` when absent), Unix seconds.
            self.this_update: float = _ts(crl.last_update_utc)
            next_update = crl.next_update_utc
            self.next_update: float | None = None if next_update is None else _ts(next_update)
            self._revoked = frozenset(entry.serial_number for entry in crl)
        #: DER of issuers whose signature on this (immutable) CRL has been verified.
        self._signed_by: set[bytes] = set()

    @property
    def issuer(self) -> str:
        return self._issuer_name.rfc4514_string()


def load_crl(data: bytes) -> Crl:
    """Parse a DER or PEM CRL; raises :class:`DecodeError` (and only that) if it is malformed."""
    if len(data) > limits.MAX_X509_CRL_BYTES:
        raise DecodeError("CRL too large")
    with foreign_errors(DecodeError, "malformed CRL"):
        if data.lstrip().startswith(b"-----BEGIN"):
            crl = _x509.load_pem_x509_crl(data)
        else:
            crl = _x509.load_der_x509_crl(data)
        der = crl.public_bytes(serialization.Encoding.DER)
    return Crl(crl, der)


def check_not_revoked(cert: Certificate, crl: Crl, issuer: Certificate, *, at: float) -> None:
    """Raise :class:`VerificationError` unless ``crl`` is ``issuer``'s, signed by it, current at
    ``at`` (thisUpdate <= at <= nextUpdate), and does not list ``cert``."""
    if crl._issuer_name != issuer._subject_name or cert._issuer_name != issuer._subject_name:
        raise VerificationError("CRL is not from the certificate's issuer")
    if issuer.der not in crl._signed_by:
        key = issuer._public_key()
        with foreign_errors(VerificationError, "CRL signature does not verify"):
            valid = crl._crl.is_signature_valid(key)
        if not valid:
            raise VerificationError("CRL signature does not verify")
        crl._signed_by.add(issuer.der)
    if at < crl.this_update or crl.next_update is None or at > crl.next_update:
        raise VerificationError("CRL is not current at the verification time")
    if cert.serial_number in crl._revoked:
        raise VerificationError("certificate is revoked")


# --- chains ----------------------------------------------------------------------------------

#: Critical extensions :func:`verify_chain` processes; any other critical extension is refused.
_HANDLED_CRITICAL = frozenset(
    {ExtensionOID.BASIC_CONSTRAINTS.dotted_string, ExtensionOID.KEY_USAGE.dotted_string}
)


def _check_validity(cert: Certificate, at: float) -> None:
    if not cert.not_before <= at <= cert.not_after:
        raise VerificationError("certificate is not valid at the verification time")


def _check_critical(cert: Certificate) -> None:
    if not cert._critical_oids <= _HANDLED_CRITICAL:
        raise VerificationError("certificate has an unknown critical extension")


def _check_link(
    child: Certificate,
    parent: Certificate,
    below: int,
    allowed: frozenset[SignatureAlgorithm],
) -> None:
    """``parent`` issued ``child``; ``below`` CA certificates lie between them and the leaf."""
    constraints = parent._basic_constraints
    if constraints is None or not constraints.ca:
        raise VerificationError("issuer is not a CA")
    if constraints.path_length is not None and below > constraints.path_length:
        raise VerificationError("issuer path length constraint exceeded")
    usage = parent._key_usage
    if usage is not None and not usage.key_cert_sign:
        raise VerificationError("issuer key may not sign certificates")
    if child.signature_algorithm not in allowed:
        raise VerificationError("certificate signature algorithm not allowed")
    with foreign_errors(VerificationError, "certificate signature does not verify"):
        child._cert.verify_directly_issued_by(parent._cert)


def verify_chain(
    chain: Sequence[Certificate],
    anchors: Sequence[Certificate],
    *,
    at: float,
    allowed_algorithms: frozenset[SignatureAlgorithm],
    crls: Sequence[Crl] = (),
) -> tuple[Certificate, ...]:
    """Verify ``chain`` (leaf first, each issued by the next) up to one of the pinned ``anchors``.

    Steps:

    1. Drop trailing certificates byte-equal to an anchor (chains often carry the root).
    2. Every certificate on the path, anchor included, is valid at ``at`` and has no critical
       extension we do not process.
    3. Each link: the issuer is a CA (basicConstraints, path length), may sign certificates
       (keyUsage, when present), the child's signature algorithm is in ``allowed_algorithms``,
       the names chain and the signature verifies.
    4. The top certificate is issued by an anchor (same checks). Anchors are trusted as given:
       their own self-signature is not what makes them trusted.
    5. Every CRL in ``crls`` whose issuer is on the path is checked for the certificate that
       issuer signed (:func:`check_not_revoked`). CRLs are checked when given, not required.

    Returns the path, leaf first, ending with the anchor. Raises :class:`VerificationError`.
    """
    if not chain:
        raise VerificationError("empty certificate chain")
    if len(chain) > limits.MAX_X509_CHAIN_CERTIFICATES or not anchors:
        raise VerificationError("certificate chain length not allowed")
    anchor_ders = {a.der for a in anchors}
    path = list(chain)
    while len(path) > 1 and path[-1].der in anchor_ders:
        path.pop()
    if path[-1].der in anchor_ders:
        raise VerificationError("the leaf certificate is a trust anchor")
    for below, (child, parent) in enumerate(itertools.pairwise(path)):
        _check_link(child, parent, below, allowed_algorithms)
    top = path[-1]
    anchor = None
    for candidate in anchors:
        if candidate._subject_name == top._issuer_name:
            try:
                _check_link(top, candidate, len(path) - 1, allowed_algorithms)
            except VerificationError:
                continue
            anchor = candidate
            break
    if anchor is None:
        raise VerificationError("certificate chain does not lead to a pinned root")
    full = (*path, anchor)
    for cert in full:
        _check_validity(cert, at)
        _check_critical(cert)
    for crl in crls:
        for child, parent in itertools.pairwise(full):
            if crl._issuer_name == parent._subject_name:
                check_not_revoked(child, crl, parent, at=at)
    return full
