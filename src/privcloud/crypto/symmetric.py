"""AEADs and HKDF (RFC 5869) by identifier, for protocols that key them from an HPKE exporter
(OHTTP responses, the sealed envelope)."""

from __future__ import annotations

import enum
import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from privcloud.crypto.boundary import foreign_errors
from privcloud.errors import CryptoError, UsageError


class AeadId(enum.IntEnum):
    """HPKE AEAD identifiers (RFC 9180 §7.3)."""

    AES_128_GCM = 0x0001
    AES_256_GCM = 0x0002
    CHACHA20_POLY1305 = 0x0003
    EXPORT_ONLY = 0xFFFF

    @property
    def key_size(self) -> int:
        """Nk, in bytes."""
        return _AEAD_SIZES[self][0]

    @property
    def nonce_size(self) -> int:
        """Nn, in bytes."""
        return _AEAD_SIZES[self][1]

    @property
    def tag_size(self) -> int:
        """Nt, in bytes."""
        return _AEAD_SIZES[self][2]


_AEAD_SIZES: dict[AeadId, tuple[int, int, int]] = {
    AeadId.AES_128_GCM: (16, 12, 16),
    AeadId.AES_256_GCM: (32, 12, 16),
    AeadId.CHACHA20_POLY1305: (32, 12, 16),
    AeadId.EXPORT_ONLY: (0, 0, 0),
}


class KdfId(enum.IntEnum):
    """HPKE KDF identifiers (RFC 9180 §7.2)."""

    HKDF_SHA256 = 0x0001
    HKDF_SHA384 = 0x0002
    HKDF_SHA512 = 0x0003

    @property
    def hash_name(self) -> str:
        return _HASH_NAMES[self]

    @property
    def hash_size(self) -> int:
        """Nh, in bytes."""
        return _HASH_SIZES[self]


# Looked up on every HKDF step of every request: built once (a dict literal per call cost the
# gateway about a microsecond per request; bench/request_path.py --parts core).
_HASH_NAMES: Final[dict[int, str]] = {1: "sha256", 2: "sha384", 3: "sha512"}
_HASH_SIZES: Final[dict[int, int]] = {1: 32, 2: 48, 3: 64}


class Aead:
    """An AEAD bound to one key. ``seal``/``open`` take the nonce explicitly."""

    __slots__ = ("_cipher", "aead_id")

    def __init__(self, aead_id: AeadId, key: bytes) -> None:
        if aead_id == AeadId.EXPORT_ONLY:
            raise UsageError("the export-only AEAD cannot encrypt")
        if len(key) != aead_id.key_size:
            raise UsageError("AEAD key has the wrong length")
        self.aead_id = aead_id
        self._cipher: AESGCM | ChaCha20Poly1305 = (
            ChaCha20Poly1305(key) if aead_id == AeadId.CHACHA20_POLY1305 else AESGCM(key)
        )

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Encrypt and authenticate; returns ciphertext || tag."""
        return self._cipher.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
        """Decrypt and check; raises :class:`CryptoError` if anything was altered (or the
        ciphertext is shorter than a tag, or anything else ``cryptography`` refuses)."""
        with foreign_errors(CryptoError, "authenticated decryption failed"):
            return self._cipher.decrypt(nonce, ciphertext, aad)


def hkdf_extract(kdf: KdfId, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2)."""
    if not salt:
        salt = bytes(kdf.hash_size)
    return hmac.digest(salt, ikm, kdf.hash_name)


def hkdf_expand(kdf: KdfId, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3)."""
    if length < 0:
        raise UsageError("HKDF output length is negative")
    if length <= kdf.hash_size:  # one block: every key, nonce and secret of ours
        return hmac.digest(prk, info + b"\x01", kdf.hash_name)[:length]
    if length > 255 * kdf.hash_size:
        raise UsageError("HKDF output too long")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), kdf.hash_name)
        out += block
        counter += 1
    return out[:length]


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()


def xor_bytes(a: bytes, b: bytes) -> bytes:
    """Byte-wise XOR of two equal-length strings."""
    if len(a) != len(b):
        raise UsageError("xor of unequal lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two byte strings in time independent of where they differ."""
    return hmac.compare_digest(a, b)
