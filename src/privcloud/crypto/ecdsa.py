"""Raw ECDSA keys (P-256/SHA-256 and P-384/SHA-384 over big-endian ``r || s`` signatures, the form
TEE reports carry), and RSA keys for issuing synthetic vendor chains in tests and tooling.

Re-exported by :mod:`privcloud.crypto.x509`, where attestation code imports them from. A public
key from outside input loads with :class:`~privcloud.errors.DecodeError`, a signature that does
not verify raises :class:`~privcloud.errors.VerificationError`; nothing else escapes (every
``cryptography`` call on outside bytes runs inside
:func:`privcloud.crypto.boundary.foreign_errors`).
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from privcloud.crypto.boundary import foreign_errors
from privcloud.errors import DecodeError, UsageError, VerificationError

__all__ = ["Curve", "EcPrivateKey", "EcPublicKey", "RsaPrivateKey"]


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


class EcPublicKey:
    """An ECDSA public key on a :class:`Curve`."""

    __slots__ = ("_key", "curve")

    def __init__(self, curve: Curve, key: ec.EllipticCurvePublicKey) -> None:
        self.curve = curve
        self._key = key

    @classmethod
    def from_bytes(cls, curve: Curve, data: bytes) -> EcPublicKey:
        """Load SEC1 uncompressed (``04 || x || y``) or raw ``x || y`` coordinates.

        Raises :class:`DecodeError` for a wrong length or a point not on ``curve``.
        """
        if len(data) == 2 * curve.size:
            data = b"\x04" + data
        if len(data) != 1 + 2 * curve.size or data[0] != 4:
            raise DecodeError("EC public key has the wrong length")
        with foreign_errors(DecodeError, "EC public key is not on the curve"):
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve._ec(), data)
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
        with foreign_errors(VerificationError, "ECDSA signature does not verify"):
            self._key.verify(encode_dss_signature(r, s), data, ec.ECDSA(self.curve._hash()))


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
