"""HPKE (RFC 9180), base mode, through pyhpke; the hybrid post-quantum KEM MLKEM768-X25519
(draft-ietf-hpke-pq, id 0x647A) through :mod:`privcloud.crypto.pq`.

Why pyhpke: ``cryptography`` 50 ships only single-shot HPKE without the secret exporter, which
Oblivious HTTP needs for its response key (RFC 9458 §4.4). See docs/adr/0002-hpke-library.md.
pyhpke knows only the DHKEMs, so the hybrid KEM (ML-KEM-768 and X25519 from ``cryptography``
under X-Wing's combiner) runs through our RFC 9180 key schedule instead
(docs/adr/0014-post-quantum-hpke.md); the functions below dispatch on the KEM. Single-shot
:func:`seal_base` / :func:`open_base` (the envelope's wraps) run in ``cryptography``'s native HPKE
where it has the suite (docs/adr/0020-native-crypto-on-the-request-path.md).

The wrapper keeps pyhpke's objects inside this module, maps its exceptions to ours (all of them:
:func:`privcloud.crypto.boundary.foreign_errors`), and offers
a test-only seam (``ephemeral=``) to inject the sender's ephemeral key so that worked examples
such as RFC 9458 Appendix A can be reproduced byte for byte.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.bindings._rust import openssl as _rust_openssl
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey as _X25519PrivateKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PublicKey as _X25519PublicKey,
)
from cryptography.hazmat.primitives.hpke import AEAD as _NAEAD
from cryptography.hazmat.primitives.hpke import KDF as _NKDF
from cryptography.hazmat.primitives.hpke import KEM as _NKEM
from cryptography.hazmat.primitives.hpke import Suite as _NSuite
from pyhpke import AEADId as _PAEAD
from pyhpke import CipherSuite as _PSuite
from pyhpke import KDFId as _PKDF
from pyhpke import KEMId as _PKEM
from pyhpke import KEMKey as _PKEMKey
from pyhpke import KEMKeyPair as _PKeyPair

from privcloud.crypto import Random, pq, system_random
from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import CryptoError, DecodeError, UsageError


class KemId(enum.IntEnum):
    """HPKE KEM identifiers (RFC 9180 §7.1)."""

    DHKEM_P256_HKDF_SHA256 = 0x0010
    DHKEM_P384_HKDF_SHA384 = 0x0011
    DHKEM_P521_HKDF_SHA512 = 0x0012
    DHKEM_X25519_HKDF_SHA256 = 0x0020
    DHKEM_X448_HKDF_SHA512 = 0x0021
    #: ML-KEM-768 + X25519 (X-Wing), draft-ietf-hpke-pq: hybrid post-quantum.
    MLKEM768_X25519 = pq.XWING_KEM_ID

    @property
    def enc_size(self) -> int:
        """Nenc: size of an encapsulated key (Npk for DHKEMs; 1120 for the hybrid KEM)."""
        return _KEM_SIZES[self][2]

    @property
    def post_quantum(self) -> bool:
        """Whether the KEM resists a quantum attacker (the hybrid KEM)."""
        return self == KemId.MLKEM768_X25519

    @property
    def public_key_size(self) -> int:
        """Npk."""
        return _KEM_SIZES[self][0]

    @property
    def private_key_size(self) -> int:
        """Nsk."""
        return _KEM_SIZES[self][1]


#: (Npk, Nsk, Nenc) per KEM.
_KEM_SIZES: dict[KemId, tuple[int, int, int]] = {
    KemId.DHKEM_P256_HKDF_SHA256: (65, 32, 65),
    KemId.DHKEM_P384_HKDF_SHA384: (97, 48, 97),
    KemId.DHKEM_P521_HKDF_SHA512: (133, 66, 133),
    KemId.DHKEM_X25519_HKDF_SHA256: (32, 32, 32),
    KemId.DHKEM_X448_HKDF_SHA512: (56, 56, 56),
    KemId.MLKEM768_X25519: (
        pq.XWING_PUBLIC_KEY_SIZE,
        pq.XWING_PRIVATE_KEY_SIZE,
        pq.XWING_ENC_SIZE,
    ),
}


@dataclass(frozen=True)
class Suite:
    """An HPKE cipher suite: (KEM, KDF, AEAD)."""

    kem: KemId
    kdf: KdfId
    aead: AeadId

    def _backend(self) -> _PSuite:
        return _suite_cache(self)


_SUITES: dict[Suite, _PSuite] = {}


def _suite_cache(suite: Suite) -> _PSuite:
    backend = _SUITES.get(suite)
    if backend is None:
        with foreign_errors(UsageError, "unsupported HPKE suite"):
            backend = _PSuite.new(
                _PKEM(int(suite.kem)), _PKDF(int(suite.kdf)), _PAEAD(int(suite.aead))
            )
        _SUITES[suite] = backend
    return backend


#: The suite privcloud uses by default for OHTTP and the envelope.
X25519_SHA256_AES128GCM = Suite(
    KemId.DHKEM_X25519_HKDF_SHA256, KdfId.HKDF_SHA256, AeadId.AES_128_GCM
)
X25519_SHA256_CHACHA20 = Suite(
    KemId.DHKEM_X25519_HKDF_SHA256, KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305
)
#: The hybrid post-quantum suite privcloud uses for OHTTP and the envelope: the one suite with
#: this KEM that draft-ietf-hpke-pq's vectors pin with an HKDF KDF (ADR 0014).
MLKEM768X25519_SHA256_CHACHA20 = Suite(
    KemId.MLKEM768_X25519, KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305
)


class PrivateKey:
    """A KEM private key with its public key. Never printed, never pickled."""

    __slots__ = ("_key", "_native", "_pair", "kem", "public_bytes")

    def __init__(self, kem: KemId, pair: _PKeyPair | pq.XWingPrivateKey) -> None:
        self.kem = kem
        self._native: Any = None  # the key as cryptography's native HPKE takes it, made once
        if isinstance(pair, pq.XWingPrivateKey):
            self._pair: _PKeyPair | None = None
            self._key: Any = pair
            self.public_bytes: bytes = pair.public_bytes
            return
        self._pair = pair
        self._key = pair.private_key
        self.public_bytes = pair.public_key.to_public_bytes()

    def private_bytes(self) -> bytes:
        """Serialize the private key (SerializePrivateKey, RFC 9180 §7.1.2): exactly Nsk bytes."""
        if isinstance(self._key, pq.XWingPrivateKey):
            return self._key.seed_bytes()
        raw = bytes(self._key.to_private_bytes())
        # pyhpke 0.6.5 left-pads NIST-curve scalars to key_size *bits* bytes; keep the last Nsk.
        return raw[-self.kem.private_key_size :]

    def __repr__(self) -> str:
        return f"PrivateKey(kem={self.kem.name}, public={self.public_bytes.hex()[:16]}...)"

    def __reduce__(self) -> Any:
        raise UsageError("private keys cannot be pickled")


def _any_suite_for(kem: KemId) -> _PSuite:
    kdf = {
        KemId.DHKEM_P256_HKDF_SHA256: KdfId.HKDF_SHA256,
        KemId.DHKEM_X25519_HKDF_SHA256: KdfId.HKDF_SHA256,
        KemId.DHKEM_P384_HKDF_SHA384: KdfId.HKDF_SHA384,
        KemId.DHKEM_P521_HKDF_SHA512: KdfId.HKDF_SHA512,
        KemId.DHKEM_X448_HKDF_SHA512: KdfId.HKDF_SHA512,
    }[kem]
    return Suite(kem, kdf, AeadId.AES_128_GCM)._backend()


def derive_keypair(kem: KemId, ikm: bytes) -> PrivateKey:
    """DeriveKeyPair (RFC 9180 §7.1.3): a deterministic key pair from input keying material."""
    if len(ikm) < kem.private_key_size:
        raise UsageError("IKM shorter than Nsk")
    if kem == KemId.MLKEM768_X25519:
        return PrivateKey(kem, pq.xwing_derive_keypair(ikm))
    with foreign_errors(UsageError, "key derivation failed"):
        pair = _any_suite_for(kem).kem.derive_key_pair(ikm)
    return PrivateKey(kem, pair)


def generate_keypair(kem: KemId, rand: Random = system_random) -> PrivateKey:
    """GenerateKeyPair: a fresh key pair from ``rand``.

    With the system CSPRNG, X25519 keys come straight from ``cryptography``'s generator (several
    times faster than DeriveKeyPair's labelled HKDF in Python, which every request pays for
    its ephemeral keys). A supplied ``rand`` — a test seam for deterministic vectors — goes
    through DeriveKeyPair (RFC 9180 §7.1.3), so injected randomness reproduces exact bytes.
    """
    if kem == KemId.MLKEM768_X25519:
        return PrivateKey(kem, pq.xwing_generate(rand))
    if rand is system_random and kem == KemId.DHKEM_X25519_HKDF_SHA256:
        sk = _X25519PrivateKey.generate()
        pair = _PKeyPair(
            _PKEMKey.from_pyca_cryptography_key(sk),
            _PKEMKey.from_pyca_cryptography_key(sk.public_key()),
        )
        return PrivateKey(kem, pair)
    return derive_keypair(kem, rand(max(32, kem.private_key_size)))


def load_private_key(kem: KemId, data: bytes) -> PrivateKey:
    """DeserializePrivateKey; raises :class:`DecodeError` for malformed input."""
    if len(data) != kem.private_key_size:
        raise DecodeError("HPKE private key has the wrong length")
    if kem == KemId.MLKEM768_X25519:
        with foreign_errors(DecodeError, "malformed HPKE private key"):
            return PrivateKey(kem, pq.XWingPrivateKey(bytes(data)))
    backend = _any_suite_for(kem).kem
    with foreign_errors(DecodeError, "malformed HPKE private key"):
        sk = backend.deserialize_private_key(data)
        # pyhpke 0.6.5: to_public_bytes() refuses private keys; derive the public key instead.
        pk = _PKEMKey.from_pyca_cryptography_key(sk.raw.public_key())
    return PrivateKey(kem, _PKeyPair(sk, pk))


def check_public_key(kem: KemId, data: bytes) -> None:
    """Validate a serialized public key; raises :class:`DecodeError` if unusable."""
    if len(data) != kem.public_key_size:
        raise DecodeError("HPKE public key has the wrong length")
    if kem == KemId.MLKEM768_X25519:
        pq.xwing_check_public_key(bytes(data))
        return
    with foreign_errors(DecodeError, "malformed HPKE public key"):
        _any_suite_for(kem).kem.deserialize_public_key(data)


class Context:
    """An HPKE encryption context (sender or recipient side)."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """ContextS.Seal."""
        with foreign_errors(UsageError, "HPKE seal failed"):
            return bytes(self._ctx.seal(plaintext, aad))

    def open(self, ciphertext: bytes, aad: bytes = b"") -> bytes:
        """ContextR.Open; raises :class:`CryptoError` on any authentication failure."""
        with foreign_errors(CryptoError, "HPKE open failed"):
            return bytes(self._ctx.open(ciphertext, aad))

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Context.Export (RFC 9180 §5.3)."""
        with foreign_errors(UsageError, "HPKE export failed"):
            return bytes(self._ctx.export(exporter_context, length))


def setup_base_sender(
    suite: Suite,
    public_key: bytes,
    info: bytes,
    *,
    rand: Random = system_random,
    ephemeral: PrivateKey | None = None,
) -> tuple[bytes, Context]:
    """SetupBaseS: returns ``(enc, context)``.

    ``ephemeral`` is a test-only seam that fixes the sender's ephemeral key pair; production code
    leaves it ``None`` and gets a fresh key from ``rand``. The hybrid KEM takes no ``ephemeral``
    (its ML-KEM randomness is OpenSSL's); ``rand`` gives its X25519 ephemeral.
    """
    if suite.kem == KemId.MLKEM768_X25519:
        if ephemeral is not None:
            raise UsageError("the hybrid KEM takes no injected ephemeral key")
        shared_secret, enc = pq.xwing_encap(bytes(public_key), rand)
        schedule = pq.KeySchedule(
            int(suite.kem), suite.kdf, suite.aead, shared_secret, info, sender=True
        )
        return enc, Context(schedule)
    backend = suite._backend()
    with foreign_errors(DecodeError, "malformed HPKE public key"):
        pkr = backend.kem.deserialize_public_key(public_key)
    eph = ephemeral if ephemeral is not None else generate_keypair(suite.kem, rand)
    with foreign_errors(CryptoError, "HPKE encapsulation failed"):
        enc, ctx = backend.create_sender_context(pkr, info, eks=eph._pair)
    return bytes(enc), Context(ctx)


def setup_base_recipient(suite: Suite, enc: bytes, key: PrivateKey, info: bytes) -> Context:
    """SetupBaseR; raises :class:`CryptoError` if ``enc`` is unusable."""
    if key.kem != suite.kem:
        raise UsageError("private key is for another KEM")
    if len(enc) != suite.kem.enc_size:
        raise DecodeError("encapsulated key has the wrong length")
    if suite.kem == KemId.MLKEM768_X25519:
        shared_secret = pq.xwing_decap(bytes(enc), key._key)
        schedule = pq.KeySchedule(
            int(suite.kem), suite.kdf, suite.aead, shared_secret, info, sender=False
        )
        return Context(schedule)
    with foreign_errors(CryptoError, "HPKE decapsulation failed"):
        ctx = suite._backend().create_recipient_context(enc, key._key, info)
    return Context(ctx)


# --- single-shot HPKE in ``cryptography`` (Rust/OpenSSL) -------------------------------------
#
# Single-shot seal/open need no exporter, so they run in ``cryptography``'s native HPKE where
# it has our suite: 1.4-1.8x faster than pyhpke / our key schedule (bench/request_path.py,
# issue 14). Its public API takes no AAD, which the envelope's wraps need, so we call the
# AAD-taking functions its binding exposes (``_encrypt_with_aad``, ``_decrypt_with_aad``, with
# type stubs in 50.0.2, which pyproject.toml pins). If a later version drops them, everything
# falls back to the path above, with the same bytes. tests/vectors/test_hpke_native.py checks
# the native path against the RFC 9180 and draft-ietf-hpke-pq vectors and against ours.

_NATIVE_ENCRYPT = getattr(_rust_openssl.hpke, "_encrypt_with_aad", None)
_NATIVE_DECRYPT = getattr(_rust_openssl.hpke, "_decrypt_with_aad", None)
_NATIVE_KEMS = {
    KemId.DHKEM_X25519_HKDF_SHA256: _NKEM.X25519,
    KemId.MLKEM768_X25519: _NKEM.MLKEM768_X25519,
}
_NATIVE_KDFS = {KdfId.HKDF_SHA256: _NKDF.HKDF_SHA256}
_NATIVE_AEADS = {
    AeadId.AES_128_GCM: _NAEAD.AES_128_GCM,
    AeadId.AES_256_GCM: _NAEAD.AES_256_GCM,
    AeadId.CHACHA20_POLY1305: _NAEAD.CHACHA20_POLY1305,
}
_NATIVE_SUITES: dict[Suite, _NSuite | None] = {}


def _native_suite(suite: Suite) -> _NSuite | None:
    """``cryptography``'s suite for ``suite``, or ``None`` where it has none (or no AAD)."""
    if suite in _NATIVE_SUITES:
        return _NATIVE_SUITES[suite]
    native = None
    kem, kdf = _NATIVE_KEMS.get(suite.kem), _NATIVE_KDFS.get(suite.kdf)
    aead = _NATIVE_AEADS.get(suite.aead)
    available = _NATIVE_ENCRYPT is not None and _NATIVE_DECRYPT is not None
    if kem is not None and kdf is not None and aead is not None and available:
        native = _NSuite(kem, kdf, aead)
    _NATIVE_SUITES[suite] = native
    return native


def _native_public(kem: KemId, public_key: bytes) -> Any:
    return _parsed_public(kem, bytes(public_key))


#: Parsed recipient public keys (not secret) are kept: clients seal to the same few node keys
#: again and again, and parsing an ML-KEM-768 key costs about a fifth of a seal.
@functools.lru_cache(maxsize=64)
def _parsed_public(kem: KemId, public_key: bytes) -> Any:
    if len(public_key) != kem.public_key_size:
        raise DecodeError("HPKE public key has the wrong length")
    with foreign_errors(DecodeError, "malformed HPKE public key"):
        if kem == KemId.MLKEM768_X25519:
            mlkem_pk, x25519_pk, _ = pq._split_public(public_key)
            return _rust_openssl.hpke.MLKEM768X25519PublicKey(mlkem_pk, x25519_pk)
        return _X25519PublicKey.from_public_bytes(public_key)


def _native_private(key: PrivateKey) -> Any:
    if key._native is None:
        if isinstance(key._key, pq.XWingPrivateKey):
            mlkem_sk, x25519_sk = key._key._mlkem, key._key._x25519
            key._native = _rust_openssl.hpke.MLKEM768X25519PrivateKey(mlkem_sk, x25519_sk)
        else:
            key._native = key._key.raw  # pyhpke's KEMKey wraps the pyca X25519 key
    return key._native


def seal_base(
    suite: Suite,
    public_key: bytes,
    info: bytes,
    aad: bytes,
    plaintext: bytes,
    *,
    rand: Random = system_random,
    native: bool = True,
) -> tuple[bytes, bytes]:
    """Single-shot SealBase: returns ``(enc, ciphertext)``.

    With the system CSPRNG and a suite ``cryptography`` has, it runs there (``native=False``
    forces our path, for tests); an injected ``rand`` takes our path, which uses it.
    """
    backend = _native_suite(suite) if native and rand is system_random else None
    if backend is None or _NATIVE_ENCRYPT is None:
        enc, ctx = setup_base_sender(suite, public_key, info, rand=rand)
        return enc, ctx.seal(plaintext, aad)
    pk = _native_public(suite.kem, public_key)
    with foreign_errors(CryptoError, "HPKE encapsulation failed"):
        sealed = _NATIVE_ENCRYPT(backend, plaintext, pk, info=info, aad=aad)
    return sealed[: suite.kem.enc_size], sealed[suite.kem.enc_size :]


def open_base(
    suite: Suite,
    enc: bytes,
    key: PrivateKey,
    info: bytes,
    aad: bytes,
    ciphertext: bytes,
    *,
    native: bool = True,
) -> bytes:
    """Single-shot OpenBase; raises :class:`CryptoError` on failure.

    Runs in ``cryptography`` where it has the suite (``native=False`` forces our path)."""
    backend = _native_suite(suite) if native else None
    if backend is None or _NATIVE_DECRYPT is None:
        return setup_base_recipient(suite, enc, key, info).open(ciphertext, aad)
    if key.kem != suite.kem:
        raise UsageError("private key is for another KEM")
    if len(enc) != suite.kem.enc_size:
        raise DecodeError("encapsulated key has the wrong length")
    sk = _native_private(key)
    with foreign_errors(CryptoError, "HPKE open failed"):
        return bytes(
            _NATIVE_DECRYPT(backend, bytes(enc) + bytes(ciphertext), sk, info=info, aad=aad)
        )
