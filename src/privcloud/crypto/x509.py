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
  ``r || s`` signatures (the form TEE reports carry).
* Vendor extensions by OID (:meth:`Certificate.extension`), decoded with
  :mod:`privcloud.crypto.der` (re-exported here: :func:`der_integer`, :func:`der_oid_map`, ...).

Issuing certificates (synthetic chains for tests) lives in :mod:`privcloud.crypto.x509_issue`.

Failures raise :class:`~privcloud.errors.DecodeError` (malformed bytes) or
:class:`~privcloud.errors.VerificationError` (a check failed); both are peer errors.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import itertools
import warnings
from collections.abc import Sequence

from cryptography import x509 as _x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from privcloud import limits
from privcloud.crypto.der import (
    der_header,
    der_ia5_string,
    der_integer,
    der_octet_string,
    der_oid_map,
)
from privcloud.errors import DecodeError, UsageError, VerificationError

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


class Curve(enum.Enum):
    """ECDSA curves, each tied to the hash its TEE vendor uses with it."""

    P256 = "P-256"
    P384 = "P-384"

    @property
    def size(self) -> int:
        """Bytes in a coordinate, a scalar, and each of ``r`` and ``s``."""
        return 32 if self is Curve.P256 else 48

    def _ec(self) -> ec.EllipticCurve:
        return ec.SECP256R1() if self is Curve.P256 else ec.SECP384R1()

    def _hash(self) -> hashes.SHA256 | hashes.SHA384:
        return hashes.SHA256() if self is Curve.P256 else hashes.SHA384()


def _ts(value: datetime.datetime) -> float:
    return value.timestamp()


# --- certificates ----------------------------------------------------------------------------


class Certificate:
    """A parsed X.509 certificate. Immutable; compare with :attr:`der`."""

    __slots__ = ("_cert", "der", "issuer", "non_positive_serial", "subject")

    def __init__(self, cert: _x509.Certificate, der: bytes, non_positive_serial: bool) -> None:
        self._cert = cert
        self.der = der
        #: True for a certificate loaded with ``allow_non_positive_serial`` whose serial is <= 0.
        self.non_positive_serial = non_positive_serial
        #: The subject and issuer names, RFC 4514 text.
        self.subject: str = cert.subject.rfc4514_string()
        self.issuer: str = cert.issuer.rfc4514_string()

    def __repr__(self) -> str:
        return f"Certificate(subject={self.subject!r})"

    @property
    def subject_common_name(self) -> str:
        """The subject's first CN, or ``""``."""
        attrs = self._cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def not_before(self) -> float:
        return _ts(self._cert.not_valid_before_utc)

    @property
    def not_after(self) -> float:
        return _ts(self._cert.not_valid_after_utc)

    @property
    def serial_number(self) -> int:
        """The serial number (may be <= 0 for the AMD VCEK quirk)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
            return self._cert.serial_number

    @property
    def fingerprint_sha256(self) -> bytes:
        return hashlib.sha256(self.der).digest()

    @property
    def signature_algorithm(self) -> SignatureAlgorithm:
        """The algorithm the issuer signed this certificate with."""
        try:
            oid = self._cert.signature_algorithm_oid
            digest = self._cert.signature_hash_algorithm
            params = self._cert.signature_algorithm_parameters
        except (ValueError, UnsupportedAlgorithm):  # parsed lazily by cryptography
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
        return SignatureAlgorithm.OTHER

    def extension(self, oid: str) -> bytes | None:
        """The raw ``extnValue`` bytes of the extension ``oid`` (dotted), or ``None``."""
        for ext in self._cert.extensions:
            if ext.oid.dotted_string == oid:
                value = ext.value
                if isinstance(value, _x509.UnrecognizedExtension):
                    return value.value
                return bytes(value.public_bytes())
        return None

    def ec_public_key(self, curve: Curve) -> EcPublicKey:
        """The subject's EC public key; :class:`VerificationError` if it is not on ``curve``."""
        try:
            key = self._cert.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise VerificationError("certificate key is not usable") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve._ec().name:
            raise VerificationError("certificate key is not on the expected curve")
        return EcPublicKey(curve, key)

    def _basic_constraints(self) -> _x509.BasicConstraints | None:
        try:
            return self._cert.extensions.get_extension_for_class(_x509.BasicConstraints).value
        except _x509.ExtensionNotFound:
            return None

    def _key_usage(self) -> _x509.KeyUsage | None:
        try:
            return self._cert.extensions.get_extension_for_class(_x509.KeyUsage).value
        except _x509.ExtensionNotFound:
            return None


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


def load_certificate(data: bytes, *, allow_non_positive_serial: bool = False) -> Certificate:
    """Parse one DER certificate.

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
    if non_positive and not allow_non_positive_serial:
        raise DecodeError("certificate serial number is not positive")
    try:
        with warnings.catch_warnings():
            if non_positive:
                warnings.filterwarnings(
                    "ignore", category=CryptographyDeprecationWarning, message=".*serial number.*"
                )
            cert = _x509.load_der_x509_certificate(data)
            # Parse the fields we use now, so that malformed input fails here and not later.
            _ = (cert.subject, cert.issuer, cert.extensions, cert.not_valid_after_utc)
            _ = cert.not_valid_before_utc
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError("malformed certificate") from exc
    return Certificate(cert, bytes(data), non_positive)


def load_certificates(data: bytes, *, allow_non_positive_serial: bool = False) -> list[Certificate]:
    """Parse a DER certificate or a PEM bundle (in order) into certificates."""
    if len(data) > limits.MAX_X509_CERTIFICATE_BYTES * limits.MAX_X509_CHAIN_CERTIFICATES:
        raise DecodeError("certificate bundle too large")
    stripped = data.lstrip()
    if not stripped.startswith(b"-----BEGIN"):
        return [load_certificate(data, allow_non_positive_serial=allow_non_positive_serial)]
    if stripped.count(b"-----BEGIN") > limits.MAX_X509_CHAIN_CERTIFICATES:
        raise DecodeError("too many certificates in bundle")
    try:
        ders = [c.public_bytes(serialization.Encoding.DER) for c in _load_pem_quietly(stripped)]
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError("malformed PEM certificate bundle") from exc
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
    """A parsed certificate revocation list."""

    __slots__ = ("_crl", "_signed_by", "der")

    def __init__(self, crl: _x509.CertificateRevocationList, der: bytes) -> None:
        self._crl = crl
        self.der = der
        #: DER of issuers whose signature on this (immutable) CRL has been verified.
        self._signed_by: set[bytes] = set()

    @property
    def issuer(self) -> str:
        return self._crl.issuer.rfc4514_string()


def load_crl(data: bytes) -> Crl:
    """Parse a DER or PEM CRL."""
    if len(data) > limits.MAX_X509_CRL_BYTES:
        raise DecodeError("CRL too large")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            crl = _x509.load_pem_x509_crl(data)
        else:
            crl = _x509.load_der_x509_crl(data)
        der = crl.public_bytes(serialization.Encoding.DER)
        _ = (crl.issuer, crl.last_update_utc, crl.next_update_utc, len(crl))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError("malformed CRL") from exc
    return Crl(crl, der)


def check_not_revoked(cert: Certificate, crl: Crl, issuer: Certificate, *, at: float) -> None:
    """Raise :class:`VerificationError` unless ``crl`` is ``issuer``'s, signed by it, current at
    ``at`` (thisUpdate <= at <= nextUpdate), and does not list ``cert``."""
    inner = crl._crl
    if inner.issuer != issuer._cert.subject or cert._cert.issuer != issuer._cert.subject:
        raise VerificationError("CRL is not from the certificate's issuer")
    if issuer.der not in crl._signed_by:
        try:
            key = issuer._cert.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise VerificationError("CRL issuer key is not usable") from exc
        if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            raise VerificationError("CRL issuer key type not supported")
        try:
            valid = inner.is_signature_valid(key)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise VerificationError("CRL signature does not verify") from exc
        if not valid:
            raise VerificationError("CRL signature does not verify")
        crl._signed_by.add(issuer.der)
    next_update = inner.next_update_utc
    if at < _ts(inner.last_update_utc) or next_update is None or at > _ts(next_update):
        raise VerificationError("CRL is not current at the verification time")
    if inner.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
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
    for ext in cert._cert.extensions:
        if ext.critical and ext.oid.dotted_string not in _HANDLED_CRITICAL:
            raise VerificationError("certificate has an unknown critical extension")


def _check_link(
    child: Certificate,
    parent: Certificate,
    below: int,
    allowed: frozenset[SignatureAlgorithm],
) -> None:
    """``parent`` issued ``child``; ``below`` CA certificates lie between them and the leaf."""
    constraints = parent._basic_constraints()
    if constraints is None or not constraints.ca:
        raise VerificationError("issuer is not a CA")
    if constraints.path_length is not None and below > constraints.path_length:
        raise VerificationError("issuer path length constraint exceeded")
    usage = parent._key_usage()
    if usage is not None and not usage.key_cert_sign:
        raise VerificationError("issuer key may not sign certificates")
    if child.signature_algorithm not in allowed:
        raise VerificationError("certificate signature algorithm not allowed")
    try:
        child._cert.verify_directly_issued_by(parent._cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise VerificationError("certificate signature does not verify") from exc


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
        if candidate._cert.subject == top._cert.issuer:
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
            if crl._crl.issuer == parent._cert.subject:
                check_not_revoked(child, crl, parent, at=at)
    return full


# --- raw ECDSA -------------------------------------------------------------------------------


class EcPublicKey:
    """An ECDSA public key on a :class:`Curve`."""

    __slots__ = ("_key", "curve")

    def __init__(self, curve: Curve, key: ec.EllipticCurvePublicKey) -> None:
        self.curve = curve
        self._key = key

    @classmethod
    def from_bytes(cls, curve: Curve, data: bytes) -> EcPublicKey:
        """Load SEC1 uncompressed (``04 || x || y``) or raw ``x || y`` coordinates."""
        if len(data) == 2 * curve.size:
            data = b"\x04" + data
        if len(data) != 1 + 2 * curve.size or data[0] != 4:
            raise DecodeError("EC public key has the wrong length")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve._ec(), data)
        except ValueError as exc:
            raise DecodeError("EC public key is not on the curve") from exc
        return cls(curve, key)

    def to_bytes(self) -> bytes:
        """SEC1 uncompressed point."""
        return self._key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check a raw big-endian ``r || s`` signature over ``data`` (hash tied to the curve).

        Raises :class:`VerificationError` on any failure, including a malformed signature.
        """
        n = self.curve.size
        if len(signature) != 2 * n:
            raise VerificationError("ECDSA signature has the wrong length")
        r = int.from_bytes(signature[:n], "big")
        s = int.from_bytes(signature[n:], "big")
        if r == 0 or s == 0:
            raise VerificationError("ECDSA signature does not verify")
        try:
            self._key.verify(encode_dss_signature(r, s), data, ec.ECDSA(self.curve._hash()))
        except (InvalidSignature, ValueError) as exc:
            raise VerificationError("ECDSA signature does not verify") from exc


class EcPrivateKey:
    """An ECDSA private key. Never printed, never pickled."""

    __slots__ = ("_key", "curve")

    def __init__(self, curve: Curve, key: ec.EllipticCurvePrivateKey) -> None:
        self.curve = curve
        self._key = key

    def __repr__(self) -> str:
        return f"EcPrivateKey(curve={self.curve.value})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise UsageError("private keys cannot be pickled")

    @classmethod
    def generate(cls, curve: Curve) -> EcPrivateKey:
        return cls(curve, ec.generate_private_key(curve._ec()))

    @classmethod
    def from_bytes(cls, curve: Curve, scalar: bytes) -> EcPrivateKey:
        """Load a big-endian private scalar of :attr:`Curve.size` bytes."""
        if len(scalar) != curve.size:
            raise UsageError("EC private key has the wrong length")
        try:
            key = ec.derive_private_key(int.from_bytes(scalar, "big"), curve._ec())
        except ValueError as exc:
            raise UsageError("EC private key is out of range") from exc
        return cls(curve, key)

    def to_bytes(self) -> bytes:
        """The big-endian private scalar."""
        return self._key.private_numbers().private_value.to_bytes(self.curve.size, "big")

    def public_key(self) -> EcPublicKey:
        return EcPublicKey(self.curve, self._key.public_key())

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``; returns raw big-endian ``r || s``."""
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(self.curve._hash())))
        n = self.curve.size
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")


class RsaPrivateKey:
    """An RSA private key, for issuing synthetic vendor chains in tests and tooling."""

    __slots__ = ("_key",)

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "RsaPrivateKey()"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise UsageError("private keys cannot be pickled")

    @classmethod
    def generate(cls, bits: int = 2048) -> RsaPrivateKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits))
