"""RSA blind signatures, RFC 9474: the four RSABSSA-SHA384 variants.

The protocol (RFC 9474 §4) in four calls::

    input_msg = prepare(msg, randomized=..., rand=rand)                 # client, §4.1
    blinded_msg, inv = blind(pk, input_msg, variant=..., rand=rand)     # client, §4.2
    blind_sig = blind_sign(sk, blinded_msg)                             # signer, §4.3
    sig = finalize(pk, input_msg, blind_sig, inv, variant=...)          # client, §4.4
    verify(pk, input_msg, sig, variant=...)                             # anyone, §4.5

``cryptography`` holds the keys and does the final RSASSA-PSS verification (RFC 8017 §8.1.2).
Only the blinding arithmetic is written here: EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with the salt as
a test seam, RSAVP1 (``pow(x, e, n)``), RSASP1 (CRT from the key's private numbers) and the
blind/unblind products.

What Python can and cannot promise about side channels
------------------------------------------------------
CPython integers are not constant time: ``pow``, ``*`` and ``%`` take time that depends on the
sizes and values of their operands, and ``pow`` walks the exponent with a sliding window whose
table look-ups follow the exponent's bits. So the private-key operation of :func:`blind_sign`
(the only place a secret meets peer-chosen input) does not use ``pow``. It runs in the system's
OpenSSL 3 (:mod:`privcloud.crypto.openssl_rsa`: CRT, constant-time Montgomery exponentiation,
base blinding; about as fast as OpenSSL's own RSA-PSS signing, docs/adr/0020), and where that
library does not load, in GMP's ``mpz_powm_sec`` (via ``gmpy2.powmod_sec``), which is written to
take the same time and touch the same memory whatever the exponent's bits, and is about six
times faster than ``pow`` (docs/adr/0004-anonymous-tokens.md). Around the GMP path, for the
arithmetic that stays variable-time:

* **base blinding** — the peer's value ``m`` is multiplied by ``u^e`` for a fresh random ``u``
  before the private exponentiation and the result by ``u^-1`` after, so the value the CRT
  halves see is uniformly random and unknown to the peer (this stops chosen-input timing attacks
  on the CRT reductions, of the Brumley-Boneh kind);
* **exponent blinding** — each CRT exponent ``d mod (p-1)`` becomes ``d_p + k (p-1)`` for a fresh
  64-bit ``k`` (defence in depth: even the exponent's bit length differs on every call);
* **fault check** — on both paths the result is verified, ``s^e == m mod n``, before it is
  returned, as RFC 9474 §4.3 requires; a CRT fault would otherwise leak a factor of ``n`` (the
  Bellcore attack).

The client-side blind ``r`` is secret too (it would link a token to its issuance); it is only
ever combined with values the client itself chose. Comparisons of secrets use
:func:`hmac.compare_digest`. Keys live in ``cryptography`` objects; the private numbers are read
out for each signature and not kept.

Errors: input from a peer that does not parse raises :class:`DecodeError`, a signature that does
not verify raises :class:`CryptoError`; verifiers never return a bool. Every call into
``cryptography`` or ``gmpy2`` runs inside :func:`privcloud.crypto.boundary.foreign_errors`, so no
foreign exception escapes.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
from typing import Final

import gmpy2  # type: ignore[import-untyped]  # GMP, for mpz_powm_sec (no type stubs)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from privcloud import limits
from privcloud.crypto import Random, openssl_rsa, system_random
from privcloud.crypto.boundary import foreign_errors
from privcloud.errors import ConfigError, CryptoError, DecodeError, InternalError, UsageError

__all__ = [
    "PrivateKey",
    "PublicKey",
    "Variant",
    "blind",
    "blind_sign",
    "emsa_pss_encode",
    "finalize",
    "generate_private_key",
    "prepare",
    "private_key_from_der",
    "private_key_from_pem",
    "private_key_to_der",
    "private_key_to_pem",
    "rsa_pss_public_key_from_spki",
    "rsa_pss_public_key_to_spki",
    "rsa_public_key_from_spki",
    "rsa_public_key_to_spki",
    "verify",
]

#: The key types callers outside :mod:`privcloud.crypto` name in annotations.
PublicKey = RSAPublicKey
PrivateKey = RSAPrivateKey

_HASH_LEN: Final = 48  # SHA-384
_PREFIX_LEN: Final = 32  # RFC 9474 §4.1, msg_prefix
_EXPONENT_BLIND_BYTES: Final = 8


class Variant(enum.Enum):
    """The RSABSSA variants of RFC 9474 §5 (all with SHA-384 and MGF1-SHA-384)."""

    SHA384_PSS_RANDOMIZED = "RSABSSA-SHA384-PSS-Randomized"
    SHA384_PSSZERO_RANDOMIZED = "RSABSSA-SHA384-PSSZERO-Randomized"
    SHA384_PSS_DETERMINISTIC = "RSABSSA-SHA384-PSS-Deterministic"
    SHA384_PSSZERO_DETERMINISTIC = "RSABSSA-SHA384-PSSZERO-Deterministic"

    @property
    def salt_length(self) -> int:
        """sLen in bytes: 48 for the PSS variants, 0 for PSSZERO."""
        return 0 if "PSSZERO" in self.value else _HASH_LEN

    @property
    def randomized(self) -> bool:
        """Whether the message is prefixed with 32 random bytes (PrepareRandomize)."""
        return self.value.endswith("Randomized")


# --- helpers ---------------------------------------------------------------------------------


def _modulus_len(n: int) -> int:
    return (n.bit_length() + 7) // 8


def _i2osp(x: int, length: int) -> bytes:
    return x.to_bytes(length, "big")


def _os2ip(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _random_unit(n: int, rand: Random) -> int:
    """A uniformly random integer in [1, n) that is invertible mod n (rejection sampling)."""
    bits = n.bit_length()
    nbytes = (bits + 7) // 8
    excess = nbytes * 8 - bits
    for _ in range(1000):
        candidate = _os2ip(rand(nbytes)) >> excess
        if 0 < candidate < n and math.gcd(candidate, n) == 1:
            return candidate
    raise UsageError("random source does not produce usable values")


def _pss(variant: Variant) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=variant.salt_length)


def _mgf1_sha384(seed: bytes, length: int) -> bytes:
    """MGF1 with SHA-384 (RFC 8017 §B.2.1)."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha384(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes) -> bytes:
    """EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384 and MGF1-SHA-384 and the given salt.

    Raises :class:`UsageError` when ``em_bits`` is too small for the hash and salt ("encoding
    error" in the RFC).
    """
    # 1-2. mHash = Hash(M); the hash input limit of SHA-384 cannot be reached.
    m_hash = hashlib.sha384(msg).digest()
    # 3. emLen = ceil(emBits / 8); refuse when too short.
    em_len = (em_bits + 7) // 8
    if em_len < _HASH_LEN + len(salt) + 2:
        raise UsageError("encoding error: modulus too small for PSS")
    # 4-6. M' = 0x00 * 8 || mHash || salt; H = Hash(M').
    h = hashlib.sha384(bytes(8) + m_hash + salt).digest()
    # 7-8. DB = PS || 0x01 || salt.
    db = bytes(em_len - len(salt) - _HASH_LEN - 2) + b"\x01" + salt
    # 9-10. maskedDB = DB xor MGF(H, emLen - hLen - 1).
    mask = _mgf1_sha384(h, em_len - _HASH_LEN - 1)
    masked = bytearray(a ^ b for a, b in zip(db, mask, strict=True))
    # 11. Clear the leftmost 8 * emLen - emBits bits.
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    # 12. EM = maskedDB || H || 0xbc.
    return bytes(masked) + h + b"\xbc"


# --- RFC 9474 §4 -----------------------------------------------------------------------------


def prepare(msg: bytes, *, randomized: bool, rand: Random = system_random) -> bytes:
    """Prepare (RFC 9474 §4.1): ``random(32) || msg`` when randomized, else ``msg`` itself."""
    if not randomized:
        return msg
    prefix = rand(_PREFIX_LEN)
    if len(prefix) != _PREFIX_LEN:
        raise UsageError("random source returned the wrong length")
    return prefix + msg


def blind(
    public_key: RSAPublicKey,
    msg: bytes,
    *,
    variant: Variant,
    rand: Random = system_random,
    r: int | None = None,
    salt: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Blind (RFC 9474 §4.2) the prepared message ``msg``; returns ``(blinded_msg, inv)``.

    ``inv`` is secret: keep it for :func:`finalize` and never send it. ``r`` and ``salt`` are
    test seams for the RFC vectors; leave them ``None``. Raises :class:`UsageError` when the key
    is too small for the encoding, :class:`CryptoError` when the encoded message is not
    invertible mod n (a negligible event that reveals a factor of n).
    """
    numbers = public_key.public_numbers()
    n, e = numbers.n, numbers.e
    k_len = _modulus_len(n)
    if salt is None:
        salt = rand(variant.salt_length)
    if len(salt) != variant.salt_length:
        raise UsageError("salt has the wrong length for this variant")
    # 1-2. encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1).
    encoded = emsa_pss_encode(msg, n.bit_length() - 1, salt)
    # 3-5. m = bytes_to_int(encoded_msg); m must be coprime to n.
    m = _os2ip(encoded)
    if math.gcd(m, n) != 1:
        raise CryptoError("message is not invertible modulo n")
    # 6-8. r = random_integer_uniform(1, n); inv = inverse_mod(r, n).
    if r is None:
        r = _random_unit(n, rand)
    if not 0 < r < n:
        raise UsageError("blind out of range")
    with foreign_errors(CryptoError, "blind is not invertible"):
        inv = pow(r, -1, n)
    # 9-11. x = RSAVP1(pk, r); z = m * x mod n.
    z = (m * pow(r, e, n)) % n
    # 12-13. blinded_msg = int_to_bytes(z, modulus_len); inv = int_to_bytes(inv, modulus_len).
    return _i2osp(z, k_len), _i2osp(inv, k_len)


def blind_sign(
    private_key: RSAPrivateKey, blinded_msg: bytes, *, rand: Random = system_random
) -> bytes:
    """BlindSign (RFC 9474 §4.3): the raw RSA signature of a peer's blinded message.

    ``rand`` feeds the GMP path's side-channel blinding (see the module docstring; OpenSSL
    blinds with its own generator); it does not change the result. Raises
    :class:`DecodeError` when ``blinded_msg`` is not ``modulus_len`` bytes or is not below n,
    and :class:`InternalError` when the fault check fails.
    """
    pub = private_key.public_key().public_numbers()
    n, e = pub.n, pub.e
    k_len = _modulus_len(n)
    # 1. m = bytes_to_int(blinded_msg), of exactly modulus_len bytes.
    if len(blinded_msg) != k_len:
        raise DecodeError("blinded message has the wrong length")
    m = _os2ip(blinded_msg)
    # 2. s = RSASP1(sk, m); RSASP1 refuses m >= n ("message representative out of range").
    if m >= n:
        raise DecodeError("blinded message out of range")
    with foreign_errors(InternalError, "signing failure"):
        s = _rsasp1_blinded(private_key, m, rand)
        # 3-4. m' = RSAVP1(pk, s) (public values: GMP's variable-time powm, ~8x CPython's pow);
        #      refuse to answer unless m' == m ("signing failure").
        check = _i2osp(int(gmpy2.powmod(s, e, n)), k_len)
    if not hmac.compare_digest(check, blinded_msg):
        raise InternalError("signing failure")
    # 5. blind_sig = int_to_bytes(s, modulus_len).
    return _i2osp(s, k_len)


def _rsasp1_blinded(private_key: RSAPrivateKey, m: int, rand: Random) -> int:
    """RSASP1 by CRT with blinding: in OpenSSL (:mod:`privcloud.crypto.openssl_rsa`) where its
    libcrypto 3 loads, else in GMP (:func:`_rsasp1_gmp`)."""
    if openssl_rsa.available():
        k_len = (private_key.key_size + 7) // 8
        return _os2ip(openssl_rsa.rsasp1(private_key, _i2osp(m, k_len)))
    return _rsasp1_gmp(private_key.private_numbers(), m, rand)


def _rsasp1_gmp(priv: rsa.RSAPrivateNumbers, m: int, rand: Random) -> int:
    """RSASP1 by CRT (RFC 8017 §5.2.1, case 2.b) with base and exponent blinding; the two
    private exponentiations run in GMP's constant-time ``mpz_powm_sec``."""
    p, q = gmpy2.mpz(priv.p), gmpy2.mpz(priv.q)
    n, e = gmpy2.mpz(priv.public_numbers.n), priv.public_numbers.e
    u = gmpy2.mpz(_random_unit(priv.public_numbers.n, rand))
    u_inv = gmpy2.invert(u, n)
    mb = (m * gmpy2.powmod(u, e, n)) % n
    k1 = _os2ip(rand(_EXPONENT_BLIND_BYTES))
    k2 = _os2ip(rand(_EXPONENT_BLIND_BYTES))
    s1 = gmpy2.powmod_sec(mb % p, priv.dmp1 + k1 * (p - 1), p)
    s2 = gmpy2.powmod_sec(mb % q, priv.dmq1 + k2 * (q - 1), q)
    h = (priv.iqmp * (s1 - s2)) % p
    return int(((s2 + h * q) * u_inv) % n)


def finalize(
    public_key: RSAPublicKey, msg: bytes, blind_sig: bytes, inv: bytes, *, variant: Variant
) -> bytes:
    """Finalize (RFC 9474 §4.4): unblind ``blind_sig`` and check it; returns the signature.

    ``msg`` is the prepared message given to :func:`blind`. Raises :class:`DecodeError` when
    ``blind_sig`` has the wrong length and :class:`CryptoError` when the result does not verify
    (a wrong key, or a signer that cheated).
    """
    n = public_key.public_numbers().n
    k_len = _modulus_len(n)
    # 1. len(blind_sig) must be modulus_len.
    if len(blind_sig) != k_len:
        raise DecodeError("blind signature has the wrong length")
    if len(inv) != k_len:
        raise UsageError("inverse has the wrong length")
    # 2-5. z = bytes_to_int(blind_sig); s = z * inv mod n; sig = int_to_bytes(s, modulus_len).
    sig = _i2osp((_os2ip(blind_sig) * _os2ip(inv)) % n, k_len)
    # 6-7. RSASSA-PSS-VERIFY(pk, msg, sig) must accept.
    verify(public_key, msg, sig, variant=variant)
    return sig


def verify(public_key: RSAPublicKey, msg: bytes, sig: bytes, *, variant: Variant) -> None:
    """RSASSA-PSS-VERIFY (RFC 9474 §4.5) of ``sig`` over the prepared ``msg``.

    Returns nothing; raises :class:`CryptoError` when the signature does not verify.
    """
    with foreign_errors(CryptoError, "signature does not verify"):
        public_key.verify(sig, msg, _pss(variant), hashes.SHA384())


# --- keys ------------------------------------------------------------------------------------


def generate_private_key(bits: int = 2048) -> RSAPrivateKey:
    """A fresh RSA key with e = 65537; raises :class:`UsageError` for a size out of bounds."""
    if not limits.MIN_BLINDRSA_MODULUS_BITS <= bits <= limits.MAX_BLINDRSA_MODULUS_BITS:
        raise UsageError("unsupported RSA key size")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _checked_private(key: object) -> RSAPrivateKey:
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError("private key is not an RSA key")
    if not limits.MIN_BLINDRSA_MODULUS_BITS <= key.key_size <= limits.MAX_BLINDRSA_MODULUS_BITS:
        raise ConfigError("unsupported RSA key size")
    return key


def private_key_from_pem(data: bytes) -> RSAPrivateKey:
    """Load an unencrypted RSA private key (PKCS#8 or PKCS#1 PEM); raises :class:`ConfigError`."""
    with foreign_errors(ConfigError, "private key does not load"):
        key = serialization.load_pem_private_key(data, password=None)
    return _checked_private(key)


def private_key_from_der(data: bytes) -> RSAPrivateKey:
    """Load an unencrypted RSA private key (PKCS#8 or PKCS#1 DER); raises :class:`ConfigError`."""
    with foreign_errors(ConfigError, "private key does not load"):
        key = serialization.load_der_private_key(data, password=None)
    return _checked_private(key)


def private_key_to_pem(key: RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM; keep it out of logs."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_to_der(key: RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER; keep it out of logs."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _check_public_numbers(n: int, e: int) -> None:
    if not limits.MIN_BLINDRSA_MODULUS_BITS <= n.bit_length() <= limits.MAX_BLINDRSA_MODULUS_BITS:
        raise DecodeError("unsupported RSA modulus size")
    if e.bit_length() > limits.MAX_BLINDRSA_PUBLIC_EXPONENT_BITS or e < 3 or e % 2 == 0:
        raise DecodeError("unsupported RSA public exponent")


def rsa_public_key_from_spki(der: bytes) -> RSAPublicKey:
    """Load an RSA public key from a DER SubjectPublicKeyInfo (rsaEncryption or RSASSA-PSS).

    PSS parameters, if any, are not checked here; use :func:`rsa_pss_public_key_from_spki` for the
    exact Privacy Pass form. Raises :class:`DecodeError`.
    """
    with foreign_errors(DecodeError, "public key does not parse"):
        key = serialization.load_der_public_key(der)
    if not isinstance(key, RSAPublicKey):
        raise DecodeError("public key is not an RSA key")
    numbers = key.public_numbers()
    _check_public_numbers(numbers.n, numbers.e)
    return key


def rsa_public_key_to_spki(key: RSAPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo with the rsaEncryption OID."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- the RSASSA-PSS SubjectPublicKeyInfo of RFC 9578 §6.5 ------------------------------------
#
# SEQUENCE {
#   SEQUENCE {                                   -- AlgorithmIdentifier
#     OID 1.2.840.113549.1.1.10                  -- id-RSASSA-PSS
#     SEQUENCE {                                 -- RSASSA-PSS-params (RFC 4055 §3.1)
#       [0] SEQUENCE { OID 2.16.840.1.101.3.4.2.2 }                    -- hashAlgorithm SHA-384
#       [1] SEQUENCE { OID 1.2.840.113549.1.1.8,                       -- maskGenAlgorithm MGF1
#                      SEQUENCE { OID 2.16.840.1.101.3.4.2.2 } }       --   with SHA-384
#       [2] INTEGER 48 } }                                             -- saltLength
#   BIT STRING { RSAPublicKey } }                -- SEQUENCE { INTEGER n, INTEGER e }

_PSS_ALGORITHM_IDENTIFIER: Final = bytes.fromhex(
    "303d"
    "06092a864886f70d01010a"
    "3030"
    "a00d300b0609608648016503040202"
    "a11a301806092a864886f70d010108300b0609608648016503040202"
    "a203020130"
)
_SEQUENCE, _INTEGER, _BIT_STRING = 0x30, 0x02, 0x03


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(value)) + value


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # room for a leading 0 bit
    return _der_tlv(_INTEGER, body)


def _der_read(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """Read one DER TLV with ``tag`` at ``offset``; returns ``(value, offset_after)``.

    Definite, minimal lengths only; raises :class:`DecodeError`.
    """
    if offset + 2 > len(data) or data[offset] != tag:
        raise DecodeError("unexpected DER tag")
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise DecodeError("bad DER length")
        length = _os2ip(data[offset : offset + count])
        if length < 0x80 or data[offset] == 0:
            raise DecodeError("non-minimal DER length")
        offset += count
    end = offset + length
    if end > len(data):
        raise DecodeError("truncated DER value")
    return data[offset:end], end


def _der_read_positive_integer(data: bytes, offset: int) -> tuple[int, int]:
    body, offset = _der_read(data, offset, _INTEGER)
    if not body or body[0] & 0x80:
        raise DecodeError("DER integer is not positive")
    if len(body) > 1 and body[0] == 0 and not body[1] & 0x80:
        raise DecodeError("non-minimal DER integer")
    return _os2ip(body), offset


def rsa_pss_public_key_to_spki(key: RSAPublicKey) -> bytes:
    """The RSASSA-PSS SubjectPublicKeyInfo of RFC 9578 §6.5 (SHA-384, MGF1-SHA-384, salt 48).

    These exact bytes are what Privacy Pass hashes into the token key identifier.
    """
    numbers = key.public_numbers()
    rsa_public_key = _der_tlv(_SEQUENCE, _der_integer(numbers.n) + _der_integer(numbers.e))
    bit_string = _der_tlv(_BIT_STRING, b"\x00" + rsa_public_key)
    return _der_tlv(_SEQUENCE, _PSS_ALGORITHM_IDENTIFIER + bit_string)


def rsa_pss_public_key_from_spki(der: bytes) -> RSAPublicKey:
    """Parse the exact RSASSA-PSS SubjectPublicKeyInfo of RFC 9578 §6.5.

    Any other algorithm or parameter set, trailing bytes, or a non-DER encoding raises
    :class:`DecodeError`; so does a modulus or exponent out of bounds.
    """
    outer, end = _der_read(der, 0, _SEQUENCE)
    if end != len(der):
        raise DecodeError("trailing bytes after public key")
    if not outer.startswith(_PSS_ALGORITHM_IDENTIFIER):
        raise DecodeError("public key is not RSASSA-PSS with SHA-384 and salt 48")
    bits, end = _der_read(outer, len(_PSS_ALGORITHM_IDENTIFIER), _BIT_STRING)
    if end != len(outer) or not bits or bits[0] != 0:
        raise DecodeError("bad public key bit string")
    body, end = _der_read(bits, 1, _SEQUENCE)
    if end != len(bits):
        raise DecodeError("trailing bytes in public key")
    n, offset = _der_read_positive_integer(body, 0)
    e, offset = _der_read_positive_integer(body, offset)
    if offset != len(body):
        raise DecodeError("trailing bytes in RSA public key")
    _check_public_numbers(n, e)
    with foreign_errors(DecodeError, "invalid RSA public key"):
        return rsa.RSAPublicNumbers(e, n).public_key()
