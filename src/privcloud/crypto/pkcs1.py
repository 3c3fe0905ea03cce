"""RSA signatures (PKCS #1 v1.5 and PSS, RFC 8017) and web-PKI certificate chains, for Google's
attestation evidence: vTPM attestation keys (TPM 2.0 RSASSA/RSAPSS quotes) and Confidential
Space tokens (JWS RS256 with an ``x5c`` chain).

* :class:`RsaPublicKey` — from a modulus and exponent (a TPMT_PUBLIC) or a certificate; verify
  raises :class:`~privcloud.errors.VerificationError`, never returns a bool.
* :func:`verify_pkcs1_chain` — :func:`privcloud.crypto.x509.verify_chain` for chains signed with
  ``sha256WithRSAEncryption`` / ``sha384WithRSAEncryption`` (which that module classifies as
  ``OTHER``): each certificate's algorithm is checked here against an explicit OID allow-list
  first, so SHA-1, MD5 and unknown algorithms stay refused.
* :func:`rsa_sign` and :func:`rsa_public_numbers` — for minting synthetic evidence in tests.

Every call into ``cryptography`` on outside bytes runs inside
:func:`~privcloud.crypto.boundary.foreign_errors`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from privcloud import limits
from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.ecdsa import RsaPrivateKey
from privcloud.crypto.x509 import Certificate, Crl, SignatureAlgorithm, verify_chain
from privcloud.errors import UsageError, VerificationError

__all__ = [
    "Hash",
    "RsaPublicKey",
    "rsa_public_numbers",
    "rsa_sign",
    "verify_pkcs1_chain",
]


class Hash(enum.Enum):
    """Digest algorithms of RSA signatures we verify."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    def _algorithm(self) -> hashes.HashAlgorithm:
        return {
            Hash.SHA1: hashes.SHA1(),  # noqa: S303 - legacy TPM quotes, allowed only on request
            Hash.SHA256: hashes.SHA256(),
            Hash.SHA384: hashes.SHA384(),
            Hash.SHA512: hashes.SHA512(),
        }[self]


class RsaPublicKey:
    """An RSA public key of 2048 to 8192 bits. Immutable."""

    __slots__ = ("_key", "bits")

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        self._key = key
        #: The modulus size in bits.
        self.bits: int = key.key_size

    @classmethod
    def from_numbers(cls, modulus: bytes, exponent: int) -> RsaPublicKey:
        """From a big-endian modulus and an exponent; :class:`VerificationError` if unusable."""
        n = int.from_bytes(modulus, "big")
        if not limits.MIN_ATTEST_RSA_BITS <= n.bit_length() <= limits.MAX_ATTEST_RSA_BITS:
            raise VerificationError("RSA key size not allowed")
        if exponent < 3 or exponent % 2 == 0 or exponent >= n:
            raise VerificationError("RSA exponent not allowed")
        with foreign_errors(VerificationError, "RSA key is not usable"):
            return cls(rsa.RSAPublicNumbers(exponent, n).public_key())

    @classmethod
    def from_certificate(cls, cert: Certificate) -> RsaPublicKey:
        """The subject key of ``cert``; :class:`VerificationError` unless it is RSA of an
        allowed size."""
        key = cert._public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError("certificate key is not RSA")
        if not limits.MIN_ATTEST_RSA_BITS <= key.key_size <= limits.MAX_ATTEST_RSA_BITS:
            raise VerificationError("RSA key size not allowed")
        return cls(key)

    def numbers(self) -> tuple[int, int]:
        """The modulus and public exponent."""
        numbers = self._key.public_numbers()
        return numbers.n, numbers.e

    def verify_pkcs1v15(self, signature: bytes, data: bytes, digest: Hash) -> None:
        """RSASSA-PKCS1-v1_5 over ``data`` hashed with ``digest``; raises
        :class:`VerificationError`."""
        with foreign_errors(VerificationError, "RSA signature does not verify"):
            self._key.verify(signature, data, padding.PKCS1v15(), digest._algorithm())

    def verify_pss(self, signature: bytes, data: bytes, digest: Hash) -> None:
        """RSASSA-PSS (MGF1 with ``digest``; any salt length, as TPMs differ); raises
        :class:`VerificationError`."""
        pss = padding.PSS(mgf=padding.MGF1(digest._algorithm()), salt_length=padding.PSS.AUTO)
        with foreign_errors(VerificationError, "RSA signature does not verify"):
            self._key.verify(signature, data, pss, digest._algorithm())


#: Certificate signature algorithms :func:`verify_pkcs1_chain` accepts, by OID.
_CHAIN_OIDS = frozenset(
    {
        SignatureAlgorithmOID.RSA_WITH_SHA256,
        SignatureAlgorithmOID.RSA_WITH_SHA384,
        SignatureAlgorithmOID.RSA_WITH_SHA512,
        SignatureAlgorithmOID.ECDSA_WITH_SHA256,
        SignatureAlgorithmOID.ECDSA_WITH_SHA384,
        SignatureAlgorithmOID.RSASSA_PSS,
    }
)


def _check_algorithm(cert: Certificate) -> None:
    with foreign_errors(VerificationError, "certificate signature algorithm not allowed"):
        oid = cert._cert.signature_algorithm_oid
    if oid not in _CHAIN_OIDS:
        raise VerificationError("certificate signature algorithm not allowed")
    if oid == SignatureAlgorithmOID.RSASSA_PSS and (
        cert.signature_algorithm is not SignatureAlgorithm.RSASSA_PSS_SHA384
    ):
        raise VerificationError("certificate signature algorithm not allowed")


def verify_pkcs1_chain(
    chain: Sequence[Certificate],
    anchors: Sequence[Certificate],
    *,
    at: float,
    crls: Sequence[Crl] = (),
) -> tuple[Certificate, ...]:
    """Verify ``chain`` (leaf first) up to a pinned anchor at ``at``, allowing RSA PKCS #1 v1.5
    with SHA-256/384/512, RSASSA-PSS SHA-384 and ECDSA SHA-256/384 signatures.

    1. Every certificate of ``chain`` that is not an anchor has an allowed signature algorithm
       (an explicit OID list; SHA-1 and unknown algorithms are refused).
    2. :func:`~privcloud.crypto.x509.verify_chain` does the rest (validity at ``at``, names, CA
       flags, key usage, path length, critical extensions, signatures, CRLs).

    Returns the path, leaf first, ending with the anchor. Raises :class:`VerificationError`.
    """
    anchor_ders = {a.der for a in anchors}
    for cert in chain:
        if cert.der not in anchor_ders:
            _check_algorithm(cert)
    allowed = frozenset(SignatureAlgorithm)
    return verify_chain(chain, anchors, at=at, allowed_algorithms=allowed, crls=crls)


def rsa_public_numbers(key: RsaPrivateKey) -> tuple[bytes, int]:
    """The public modulus (big-endian, minimal) and exponent of ``key`` (tests and tooling)."""
    numbers = key._key.public_key().public_numbers()
    return numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"), numbers.e


def rsa_sign(key: RsaPrivateKey, data: bytes, digest: Hash, *, pss: bool = False) -> bytes:
    """Sign ``data`` with PKCS #1 v1.5 (or PSS, salt = digest length). Tests and tooling only:
    a verification path never signs."""
    if not isinstance(key, RsaPrivateKey):
        raise UsageError("an RSA private key is required")
    if pss:
        pad: padding.PSS | padding.PKCS1v15 = padding.PSS(
            mgf=padding.MGF1(digest._algorithm()), salt_length=padding.PSS.DIGEST_LENGTH
        )
    else:
        pad = padding.PKCS1v15()
    return key._key.sign(data, pad, digest._algorithm())
