"""Ed25519 signatures (RFC 8032) for the transparency log, its witnesses and release signing;
ML-DSA-44 signatures (FIPS 204) for post-quantum witness cosignatures (C2SP tlog-cosignature).

The wrapper keeps ``cryptography``'s key objects inside :mod:`privcloud.crypto` and maps its
exceptions to ours (all of them: :func:`privcloud.crypto.boundary.foreign_errors`). Verification
raises; it never returns a bool (STYLE.md §4).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey as _CEd25519PrivateKey,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey as _CEd25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.mldsa import (
    MLDSA44PrivateKey as _CMLDSA44PrivateKey,
)
from cryptography.hazmat.primitives.asymmetric.mldsa import (
    MLDSA44PublicKey as _CMLDSA44PublicKey,
)

from privcloud.crypto import Random, system_random
from privcloud.crypto.boundary import foreign_errors
from privcloud.errors import CryptoError, DecodeError, UsageError

#: Size of an Ed25519 seed (the private key as RFC 8032 defines it), in bytes.
ED25519_SEED_SIZE = 32
#: Size of an Ed25519 public key, in bytes.
ED25519_PUBLIC_KEY_SIZE = 32
#: Size of an Ed25519 signature, in bytes.
ED25519_SIGNATURE_SIZE = 64


class Ed25519PrivateKey:
    """An Ed25519 signing key. Its ``repr`` never shows key material."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: _CEd25519PrivateKey) -> None:
        """Wrap a ``cryptography`` key; use :meth:`generate` or :meth:`from_seed` instead."""
        self._key = key
        self._public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls, rand: Random = system_random) -> Ed25519PrivateKey:
        """Make a fresh key from 32 bytes of ``rand``."""
        return cls.from_seed(rand(ED25519_SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519PrivateKey:
        """Load the key whose RFC 8032 private key (seed) is ``seed``.

        Raises :class:`UsageError` unless ``seed`` is 32 bytes.
        """
        if not isinstance(seed, bytes) or len(seed) != ED25519_SEED_SIZE:
            raise UsageError("an Ed25519 seed is 32 bytes")
        return cls(_CEd25519PrivateKey.from_private_bytes(seed))

    def seed_bytes(self) -> bytes:
        """The 32-byte seed, for storing the key. Handle as a secret."""
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def public_bytes(self) -> bytes:
        """The 32-byte RFC 8032 encoding of the public key."""
        return self._public

    def sign(self, msg: bytes) -> bytes:
        """A 64-byte Ed25519 signature of ``msg`` (deterministic, RFC 8032 §5.1.6)."""
        return self._key.sign(msg)

    def __repr__(self) -> str:
        return "Ed25519PrivateKey(<secret>)"


def ed25519_verify(public_key: bytes, msg: bytes, sig: bytes) -> None:
    """Check an Ed25519 signature; return only if ``sig`` is valid for ``msg``.

    Raises :class:`DecodeError` if ``public_key`` is not a 32-byte Ed25519 public key, and
    :class:`CryptoError` if the signature does not verify (including a signature of the wrong
    length).
    """
    if not isinstance(public_key, bytes) or len(public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise DecodeError("an Ed25519 public key is 32 bytes")
    with foreign_errors(DecodeError, "malformed Ed25519 public key"):
        key = _CEd25519PublicKey.from_public_bytes(public_key)
    if not isinstance(sig, bytes) or len(sig) != ED25519_SIGNATURE_SIZE:
        raise CryptoError("Ed25519 signature does not verify")
    with foreign_errors(CryptoError, "Ed25519 signature does not verify"):
        key.verify(sig, msg)


# --- ML-DSA-44 (FIPS 204) ----------------------------------------------------------------------

#: Size of an ML-DSA-44 seed (the FIPS 204 key-generation seed ξ), in bytes.
MLDSA44_SEED_SIZE = 32
#: Size of an ML-DSA-44 public key, in bytes.
MLDSA44_PUBLIC_KEY_SIZE = 1312
#: Size of an ML-DSA-44 signature, in bytes.
MLDSA44_SIGNATURE_SIZE = 2420
#: Longest FIPS 204 context string.
_MLDSA_MAX_CONTEXT = 255


class MLDSA44PrivateKey:
    """An ML-DSA-44 signing key (FIPS 204, pure, hedged signing). Its ``repr`` never shows key
    material."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: _CMLDSA44PrivateKey) -> None:
        """Wrap a ``cryptography`` key; use :meth:`generate` or :meth:`from_seed` instead."""
        self._key = key
        self._public = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls, rand: Random = system_random) -> MLDSA44PrivateKey:
        """Make a fresh key from 32 bytes of ``rand``."""
        return cls.from_seed(rand(MLDSA44_SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> MLDSA44PrivateKey:
        """Load the key whose FIPS 204 seed ξ is ``seed``; :class:`UsageError` unless 32 bytes."""
        if not isinstance(seed, bytes) or len(seed) != MLDSA44_SEED_SIZE:
            raise UsageError("an ML-DSA-44 seed is 32 bytes")
        with foreign_errors(UsageError, "ML-DSA-44 key generation failed"):
            return cls(_CMLDSA44PrivateKey.from_seed_bytes(seed))

    def seed_bytes(self) -> bytes:
        """The 32-byte seed, for storing the key. Handle as a secret."""
        return self._key.private_bytes_raw()

    def public_bytes(self) -> bytes:
        """The 1312-byte FIPS 204 encoding of the public key."""
        return self._public

    def sign(self, msg: bytes, context: bytes = b"") -> bytes:
        """A 2420-byte ML-DSA-44 signature of ``msg`` under ``context`` (hedged: randomized)."""
        if len(context) > _MLDSA_MAX_CONTEXT:
            raise UsageError("ML-DSA context longer than 255 bytes")
        return self._key.sign(msg, context if context else None)

    def __repr__(self) -> str:
        return "MLDSA44PrivateKey(<secret>)"


def mldsa44_verify(public_key: bytes, msg: bytes, sig: bytes, context: bytes = b"") -> None:
    """Check an ML-DSA-44 signature (FIPS 204 ML-DSA.Verify, pure); return only if valid.

    Raises :class:`DecodeError` if ``public_key`` is not a 1312-byte ML-DSA-44 public key, and
    :class:`CryptoError` if the signature does not verify (including one of the wrong length).
    """
    if not isinstance(public_key, bytes) or len(public_key) != MLDSA44_PUBLIC_KEY_SIZE:
        raise DecodeError("an ML-DSA-44 public key is 1312 bytes")
    with foreign_errors(DecodeError, "malformed ML-DSA-44 public key"):
        key = _CMLDSA44PublicKey.from_public_bytes(public_key)
    if not isinstance(sig, bytes) or len(sig) != MLDSA44_SIGNATURE_SIZE:
        raise CryptoError("ML-DSA-44 signature does not verify")
    if len(context) > _MLDSA_MAX_CONTEXT:
        raise CryptoError("ML-DSA-44 signature does not verify")
    with foreign_errors(CryptoError, "ML-DSA-44 signature does not verify"):
        key.verify(sig, msg, context if context else None)
