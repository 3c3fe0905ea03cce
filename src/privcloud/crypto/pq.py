"""The hybrid post-quantum HPKE KEM MLKEM768-X25519 (X-Wing), and the HPKE key schedule for the
KEMs pyhpke does not know (docs/adr/0014-post-quantum-hpke.md).

KEM (draft-ietf-hpke-pq, KEM id ``0x647A``; the X-Wing combiner of draft-connolly-cfrg-xwing-kem)::

    sk (32 bytes, Nsk)      expanded = SHAKE256(sk, 96)  (d = [0:32], z = [32:64])
                            (pk_M, sk_M) = ML-KEM-768.KeyGen_internal(d, z)
                            sk_X = expanded[64:96];  pk_X = X25519(sk_X, 9)
    pk  = pk_M (1184) || pk_X (32)                                           Npk = 1216
    enc = ct_M (1088) || ct_X (32)                                           Nenc = 1120
    ss  = SHA3-256(ss_M || ss_X || ct_X || pk_X || "\\./" || "/^\\")        Nsecret = 32
    DeriveKeyPair(ikm): sk = SHAKE256(ikm || "HPKE-v1" || "KEM" || u16(0x647A)
                                      || u16(13) || "DeriveKeyPair" || u16(32), 32)

ML-KEM-768 and X25519 are ``cryptography``'s (OpenSSL); only the combiner and the key
expansion are written here. ML-KEM encapsulation draws its randomness inside OpenSSL, so a
hybrid *sender* cannot be made deterministic; recipients, key derivation and the key schedule
are checked byte for byte against the draft's vectors (tests/vectors/test_hpke_pq.py).

Key schedule: RFC 9180 §5.1 base mode (unchanged by draft-ietf-hpke-pq for the two-stage
HKDF KDFs), over :mod:`privcloud.crypto.symmetric`'s HKDF and AEADs, with the context's
sequence numbers (§5.2) and secret exporter (§5.3) that OHTTP needs.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.mlkem import (
    MLKEM768PrivateKey as _MLKEMPrivate,
)
from cryptography.hazmat.primitives.asymmetric.mlkem import (
    MLKEM768PublicKey as _MLKEMPublic,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey as _X25519Private,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PublicKey as _X25519Public,
)

from privcloud.crypto import Random, system_random
from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.symmetric import Aead, AeadId, KdfId, hkdf_expand, hkdf_extract, xor_bytes
from privcloud.errors import CryptoError, DecodeError, UsageError

#: HPKE KEM id of MLKEM768-X25519 (X-Wing) in draft-ietf-hpke-pq.
XWING_KEM_ID: Final = 0x647A
#: Npk, Nsk, Nenc and Nsecret of X-Wing, in bytes.
XWING_PUBLIC_KEY_SIZE: Final = 1216
XWING_PRIVATE_KEY_SIZE: Final = 32
XWING_ENC_SIZE: Final = 1120
XWING_SECRET_SIZE: Final = 32

_MLKEM_PK: Final = 1184
_MLKEM_CT: Final = 1088
#: X-Wing's combiner label, the six bytes 5c 2e 2f 2f 5e 5c.
_XWING_LABEL: Final = b"\\./" + b"/^\\"
_HPKE_VERSION: Final = b"HPKE-v1"


class XWingPrivateKey:
    """An X-Wing decapsulation key: the 32-byte seed and the component keys it expands to.
    Never printed, never pickled."""

    __slots__ = ("_mlkem", "_seed", "_x25519", "public_bytes")

    def __init__(self, seed: bytes) -> None:
        """Expand ``seed`` (Nsk bytes); raises :class:`DecodeError` for another length."""
        if not isinstance(seed, bytes) or len(seed) != XWING_PRIVATE_KEY_SIZE:
            raise DecodeError("X-Wing private key has the wrong length")
        expanded = hashlib.shake_256(seed).digest(96)
        self._seed = seed
        self._mlkem = _MLKEMPrivate.from_seed_bytes(expanded[:64])
        self._x25519 = _X25519Private.from_private_bytes(expanded[64:])
        self.public_bytes: bytes = (
            self._mlkem.public_key().public_bytes_raw()
            + self._x25519.public_key().public_bytes_raw()
        )

    def seed_bytes(self) -> bytes:
        """SerializePrivateKey: the 32-byte seed. Handle as a secret."""
        return self._seed

    def __repr__(self) -> str:
        return "XWingPrivateKey(<secret>)"

    def __reduce__(self) -> Any:
        raise UsageError("private keys cannot be pickled")


def xwing_derive_keypair(ikm: bytes) -> XWingPrivateKey:
    """DeriveKeyPair (draft-ietf-hpke-pq): SHAKE256 LabeledDerive of ``ikm`` to the seed."""
    label = b"DeriveKeyPair"
    suite_id = b"KEM" + XWING_KEM_ID.to_bytes(2, "big")
    labeled = (
        ikm
        + _HPKE_VERSION
        + suite_id
        + len(label).to_bytes(2, "big")
        + label
        + XWING_PRIVATE_KEY_SIZE.to_bytes(2, "big")
    )
    return XWingPrivateKey(hashlib.shake_256(labeled).digest(XWING_PRIVATE_KEY_SIZE))


def xwing_generate(rand: Random = system_random) -> XWingPrivateKey:
    """GenerateKeyPair: a fresh seed of Nsk random bytes from ``rand``."""
    return XWingPrivateKey(rand(XWING_PRIVATE_KEY_SIZE))


def _split_public(public_key: bytes) -> tuple[_MLKEMPublic, _X25519Public, bytes]:
    return _parse_public(bytes(public_key))


#: Parsed public keys (not secret) are kept: a device encapsulates to the same few gateway and
#: node keys again and again, and parsing an ML-KEM-768 key costs about 20 µs, most of an
#: encapsulation's own cost.
@functools.lru_cache(maxsize=64)
def _parse_public(public_key: bytes) -> tuple[_MLKEMPublic, _X25519Public, bytes]:
    if len(public_key) != XWING_PUBLIC_KEY_SIZE:
        raise DecodeError("X-Wing public key has the wrong length")
    pk_x = public_key[_MLKEM_PK:]
    with foreign_errors(DecodeError, "malformed X-Wing public key"):
        return (
            _MLKEMPublic.from_public_bytes(public_key[:_MLKEM_PK]),
            _X25519Public.from_public_bytes(pk_x),
            pk_x,
        )


def xwing_check_public_key(public_key: bytes) -> None:
    """DeserializePublicKey; raises :class:`DecodeError` for a key ML-KEM or X25519 refuses."""
    _split_public(public_key)


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + _XWING_LABEL).digest()


def xwing_encap(public_key: bytes, rand: Random = system_random) -> tuple[bytes, bytes]:
    """Encap: returns ``(shared_secret, enc)``. The X25519 ephemeral comes from ``rand``, the
    ML-KEM randomness from OpenSSL. Raises :class:`DecodeError` for an unusable public key."""
    pk_m, pk_x_key, pk_x = _split_public(public_key)
    with foreign_errors(CryptoError, "X-Wing encapsulation failed"):
        ss_m, ct_m = pk_m.encapsulate()
        if rand is system_random:
            eph = _X25519Private.generate()
        else:
            eph = _X25519Private.from_private_bytes(rand(32))
        ct_x = eph.public_key().public_bytes_raw()
        ss_x = eph.exchange(pk_x_key)
    return _combine(ss_m, ss_x, ct_x, pk_x), ct_m + ct_x


def xwing_decap(enc: bytes, key: XWingPrivateKey) -> bytes:
    """Decap: the shared secret. Raises :class:`CryptoError` for an unusable ``enc``."""
    if len(enc) != XWING_ENC_SIZE:
        raise CryptoError("X-Wing ciphertext has the wrong length")
    ct_x = bytes(enc[_MLKEM_CT:])
    with foreign_errors(CryptoError, "X-Wing decapsulation failed"):
        ss_m = key._mlkem.decapsulate(bytes(enc[:_MLKEM_CT]))
        ss_x = key._x25519.exchange(_X25519Public.from_public_bytes(ct_x))
    return _combine(ss_m, ss_x, ct_x, key.public_bytes[_MLKEM_PK:])


# --- RFC 9180 key schedule (base mode) -------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _schedule_context(kdf: KdfId, suite_id: bytes, info: bytes) -> bytes:
    """key_schedule_context = mode || psk_id_hash || info_hash (RFC 9180 §5.1, base mode).

    It holds no secret and depends only on the suite and ``info``, which a gateway's OHTTP key
    and suite fix (``info`` = label || 0 || hdr, checked against the held keys before the
    schedule runs): cached, it saves two of the request's ten HMACs. Other callers' ``info``
    only costs a cache entry; the cache is bounded."""
    psk_id_hash = hkdf_extract(kdf, b"", _HPKE_VERSION + suite_id + b"psk_id_hash")
    info_hash = hkdf_extract(kdf, b"", _HPKE_VERSION + suite_id + b"info_hash" + info)
    return b"\x00" + psk_id_hash + info_hash


class KeySchedule:
    """An HPKE context from the RFC 9180 §5.1 key schedule (base mode): ``seal``/``open`` with
    the §5.2 sequence numbers, ``export`` (§5.3). One side only: a sender seals, a recipient
    opens; the other call raises :class:`UsageError`."""

    __slots__ = ("_aead", "_base_nonce", "_exporter", "_kdf", "_sender", "_seq", "_suite_id")

    def __init__(
        self,
        kem_id: int,
        kdf: KdfId,
        aead: AeadId,
        shared_secret: bytes,
        info: bytes,
        *,
        sender: bool,
    ) -> None:
        self._kdf = kdf
        self._suite_id = (
            b"HPKE"
            + kem_id.to_bytes(2, "big")
            + int(kdf).to_bytes(2, "big")
            + int(aead).to_bytes(2, "big")
        )
        # KeySchedule<ROLE>(mode_base, shared_secret, info, psk = "", psk_id = "")
        context = _schedule_context(kdf, self._suite_id, bytes(info))  # (a cache key)
        secret = self._labeled_extract(shared_secret, b"secret", b"")
        self._exporter = self._labeled_expand(secret, b"exp", context, kdf.hash_size)
        if aead == AeadId.EXPORT_ONLY:
            self._aead: Aead | None = None
            self._base_nonce = b""
        else:
            key = self._labeled_expand(secret, b"key", context, aead.key_size)
            self._aead = Aead(aead, key)
            self._base_nonce = self._labeled_expand(secret, b"base_nonce", context, aead.nonce_size)
        self._seq = 0
        self._sender = sender

    def _labeled_extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return hkdf_extract(self._kdf, salt, _HPKE_VERSION + self._suite_id + label + ikm)

    def _labeled_expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        labeled = length.to_bytes(2, "big") + _HPKE_VERSION + self._suite_id + label + info
        return hkdf_expand(self._kdf, prk, labeled, length)

    def _next_nonce(self) -> bytes:
        if self._aead is None:
            raise UsageError("an export-only context cannot encrypt")
        size = len(self._base_nonce)
        if self._seq >= (1 << (8 * size)) - 1:
            raise UsageError("HPKE message limit reached")
        nonce = xor_bytes(self._base_nonce, self._seq.to_bytes(size, "big"))
        self._seq += 1
        return nonce

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """ContextS.Seal."""
        if not self._sender:
            raise UsageError("a recipient context cannot seal")
        nonce = self._next_nonce()
        assert self._aead is not None
        return self._aead.seal(nonce, plaintext, aad)

    def open(self, ciphertext: bytes, aad: bytes = b"") -> bytes:
        """ContextR.Open; :class:`CryptoError` on failure (the sequence number stays)."""
        if self._sender:
            raise UsageError("a sender context cannot open")
        if self._aead is None:
            raise UsageError("an export-only context cannot decrypt")
        size = len(self._base_nonce)
        nonce = xor_bytes(self._base_nonce, self._seq.to_bytes(size, "big"))
        plaintext = self._aead.open(nonce, ciphertext, aad)
        self._seq += 1
        return plaintext

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Context.Export (RFC 9180 §5.3)."""
        if not 0 < length <= 255 * self._kdf.hash_size:
            raise UsageError("HPKE export length out of range")
        return self._labeled_expand(self._exporter, b"sec", exporter_context, length)

    def __repr__(self) -> str:
        return "KeySchedule(<secret>)"

    def __reduce__(self) -> Any:
        raise UsageError("HPKE contexts cannot be pickled")


__all__ = [
    "XWING_ENC_SIZE",
    "XWING_KEM_ID",
    "XWING_PRIVATE_KEY_SIZE",
    "XWING_PUBLIC_KEY_SIZE",
    "KeySchedule",
    "XWingPrivateKey",
    "xwing_check_public_key",
    "xwing_decap",
    "xwing_derive_keypair",
    "xwing_encap",
    "xwing_generate",
]
