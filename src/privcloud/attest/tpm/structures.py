"""TPM 2.0 structures of a quote (TPM 2.0 Library, Part 2 "Structures"), parsed and encoded.

* :func:`parse_public` / :func:`encode_public` — ``TPMT_PUBLIC`` of an attestation key (RSA or
  ECC; §12.2.4), and :meth:`TpmPublic.name` (nameAlg ‖ H(TPMT_PUBLIC), §16).
* :func:`parse_attest` / :func:`encode_attest` — ``TPMS_ATTEST`` of a quote (§10.12.12) with its
  ``TPMS_QUOTE_INFO`` (§10.12.4): magic, type, extraData, clock, PCR selection and digest.
* :func:`parse_signature` / :func:`encode_signature` — ``TPMT_SIGNATURE`` (§11.3.4): RSASSA,
  RSAPSS, ECDSA.

All integers are big-endian. Every length is checked against the bytes left and against
:mod:`privcloud.limits`; each parser consumes its whole input. Raises
:class:`~privcloud.errors.DecodeError` for malformed bytes and
:class:`~privcloud.errors.UnsupportedError` for algorithms we do not verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, UnsupportedError
from privcloud.wire.cursor import ByteCursor

#: TPM_GENERATED_VALUE: every TPMS_ATTEST the TPM makes starts with it (Part 2 §6.2).
TPM_GENERATED: Final = 0xFF544347
#: TPM_ST_ATTEST_QUOTE (Part 2 §6.9).
TPM_ST_ATTEST_QUOTE: Final = 0x8018

ALG_RSA: Final = 0x0001
ALG_SHA1: Final = 0x0004
ALG_SHA256: Final = 0x000B
ALG_SHA384: Final = 0x000C
ALG_SHA512: Final = 0x000D
ALG_NULL: Final = 0x0010
ALG_RSASSA: Final = 0x0014
ALG_RSAPSS: Final = 0x0016
ALG_ECDSA: Final = 0x0018
ALG_ECC: Final = 0x0023
ECC_NIST_P256: Final = 0x0003
ECC_NIST_P384: Final = 0x0004

#: Digest size and name of each hash algorithm we know (TCG Algorithm Registry).
HASH_SIZES: Final = {ALG_SHA1: 20, ALG_SHA256: 32, ALG_SHA384: 48, ALG_SHA512: 64}
HASH_NAMES: Final = {
    ALG_SHA1: "sha1",
    ALG_SHA256: "sha256",
    ALG_SHA384: "sha384",
    ALG_SHA512: "sha512",
}

#: TPMA_OBJECT bits an attestation key must have (Part 2 §8.3): fixedTPM, fixedParent,
#: sensitiveDataOrigin, restricted, sign.
ATTR_FIXED_TPM: Final = 1 << 1
ATTR_FIXED_PARENT: Final = 1 << 4
ATTR_SENSITIVE_DATA_ORIGIN: Final = 1 << 5
ATTR_RESTRICTED: Final = 1 << 16
ATTR_DECRYPT: Final = 1 << 17
ATTR_SIGN: Final = 1 << 18
AK_ATTRIBUTES: Final = (
    ATTR_FIXED_TPM | ATTR_FIXED_PARENT | ATTR_SENSITIVE_DATA_ORIGIN | ATTR_RESTRICTED | ATTR_SIGN
)


def digest(alg: int, data: bytes) -> bytes:
    """``H_alg(data)`` for a TPM hash algorithm id; :class:`UnsupportedError` if unknown."""
    name = HASH_NAMES.get(alg)
    if name is None:
        raise UnsupportedError("TPM hash algorithm not supported")
    return hashlib.new(name, data).digest()


class Reader(ByteCursor):
    """A bounded big-endian cursor over ``data``; :class:`DecodeError` past the end."""

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        super().__init__(data, order="big", truncated="TPM structure is truncated")

    def tpm2b(self, maximum: int) -> bytes:
        size = self.u16()
        if size > maximum:
            raise DecodeError("TPM2B too large")
        return self.take(size)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError("trailing bytes after TPM structure")


def _b(value: bytes) -> bytes:
    """A TPM2B: u16 size ‖ bytes."""
    return len(value).to_bytes(2, "big") + value


# --- TPMT_PUBLIC --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TpmPublic:
    """An attestation key's public area. RSA: ``modulus``/``exponent``; ECC: ``curve``/``x``/``y``.

    ``raw`` is the exact TPMT_PUBLIC bytes (what :meth:`name` hashes and what a TEE report binds).
    """

    type: int
    name_alg: int
    attributes: int
    scheme: int
    scheme_hash: int
    raw: bytes
    modulus: bytes = b""
    exponent: int = 0
    curve: int = 0
    x: bytes = b""
    y: bytes = b""

    def name(self) -> bytes:
        """The key's TPM name: nameAlg (u16) ‖ H_nameAlg(TPMT_PUBLIC)."""
        return self.name_alg.to_bytes(2, "big") + digest(self.name_alg, self.raw)


def _sym_def(r: Reader) -> None:
    """TPMT_SYM_DEF_OBJECT: a signing key has none (TPM_ALG_NULL)."""
    if r.u16() != ALG_NULL:
        raise UnsupportedError("attestation key with a symmetric algorithm")


def _scheme(r: Reader) -> tuple[int, int]:
    scheme = r.u16()
    return (scheme, 0) if scheme == ALG_NULL else (scheme, r.u16())


def parse_public(data: bytes) -> TpmPublic:
    """Parse a TPMT_PUBLIC (RSA or ECC, NULL symmetric, NULL kdf)."""
    if len(data) > limits.MAX_TPM_PUBLIC_BYTES:
        raise DecodeError("TPMT_PUBLIC too large")
    r = Reader(data)
    key_type, name_alg, attributes = r.u16(), r.u16(), r.u32()
    if name_alg not in HASH_SIZES:
        raise UnsupportedError("TPM name algorithm not supported")
    r.tpm2b(64)  # authPolicy: not used by the verifier
    _sym_def(r)
    scheme, scheme_hash = _scheme(r)
    if key_type == ALG_RSA:
        r.u16()  # keyBits: the modulus says it
        exponent = r.u32() or 65537
        modulus = r.tpm2b(limits.MAX_TPM_RSA_MODULUS_BYTES)
        r.end()
        return TpmPublic(
            key_type, name_alg, attributes, scheme, scheme_hash, data, modulus, exponent
        )
    if key_type == ALG_ECC:
        curve = r.u16()
        if _scheme(r)[0] != ALG_NULL:
            raise UnsupportedError("attestation key with a KDF")
        x, y = r.tpm2b(66), r.tpm2b(66)
        r.end()
        return TpmPublic(
            key_type, name_alg, attributes, scheme, scheme_hash, data, curve=curve, x=x, y=y
        )
    raise UnsupportedError("TPM key type not supported")


def encode_public(
    *,
    key_type: int,
    name_alg: int,
    attributes: int,
    scheme: int,
    scheme_hash: int,
    modulus: bytes = b"",
    exponent: int = 0,
    curve: int = 0,
    x: bytes = b"",
    y: bytes = b"",
) -> bytes:
    """Encode a TPMT_PUBLIC (the inverse of :func:`parse_public`; for tests and tooling)."""
    head = key_type.to_bytes(2, "big") + name_alg.to_bytes(2, "big") + attributes.to_bytes(4, "big")
    sch = scheme.to_bytes(2, "big") + (
        b"" if scheme == ALG_NULL else scheme_hash.to_bytes(2, "big")
    )
    body = _b(b"") + ALG_NULL.to_bytes(2, "big") + sch
    if key_type == ALG_RSA:
        bits = (len(modulus) * 8).to_bytes(2, "big")
        exp = 0 if exponent == 65537 else exponent
        return head + body + bits + exp.to_bytes(4, "big") + _b(modulus)
    kdf = ALG_NULL.to_bytes(2, "big")
    return head + body + curve.to_bytes(2, "big") + kdf + _b(x) + _b(y)


# --- TPMS_ATTEST (quote) ------------------------------------------------------------------------


@dataclass(frozen=True)
class PcrSelection:
    """One TPMS_PCR_SELECTION: a bank and the PCR indices selected in it, ascending."""

    hash_alg: int
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Attest:
    """A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE; ``raw`` is what the AK signed."""

    qualified_signer: bytes
    extra_data: bytes
    clock: int
    reset_count: int
    restart_count: int
    safe: bool
    firmware_version: int
    selections: tuple[PcrSelection, ...]
    pcr_digest: bytes
    raw: bytes


def _selection(r: Reader) -> PcrSelection:
    hash_alg, size = r.u16(), r.u8()
    if size > 4:
        raise DecodeError("PCR selection too large")
    bitmap = r.take(size)
    indices = tuple(i * 8 + b for i, byte in enumerate(bitmap) for b in range(8) if byte >> b & 1)
    return PcrSelection(hash_alg, indices)


def parse_attest(data: bytes) -> Attest:
    """Parse a quote's TPMS_ATTEST; :class:`DecodeError` unless the magic is TPM_GENERATED and
    the type TPM_ST_ATTEST_QUOTE (so a TPM-signed structure of another kind is never read as a
    quote)."""
    if len(data) > limits.MAX_TPM_ATTEST_BYTES:
        raise DecodeError("TPMS_ATTEST too large")
    r = Reader(data)
    if r.u32() != TPM_GENERATED:
        raise DecodeError("TPMS_ATTEST magic is not TPM_GENERATED_VALUE")
    if r.u16() != TPM_ST_ATTEST_QUOTE:
        raise DecodeError("TPMS_ATTEST is not a quote")
    signer = r.tpm2b(2 + 64)
    extra = r.tpm2b(64)
    clock, resets, restarts, safe = r.u64(), r.u32(), r.u32(), r.u8()
    if safe > 1:
        raise DecodeError("TPMS_CLOCK_INFO safe is not a boolean")
    firmware = r.u64()
    count = r.u32()
    if count > limits.MAX_TPM_PCR_BANKS:
        raise DecodeError("too many PCR selections")
    selections = tuple(_selection(r) for _ in range(count))
    pcr_digest = r.tpm2b(64)
    r.end()
    return Attest(
        signer, extra, clock, resets, restarts, bool(safe), firmware, selections, pcr_digest, data
    )


def encode_attest(
    *,
    extra_data: bytes,
    selections: tuple[PcrSelection, ...],
    pcr_digest: bytes,
    qualified_signer: bytes = b"",
    clock: int = 0,
    reset_count: int = 0,
    restart_count: int = 0,
    firmware_version: int = 0,
    magic: int = TPM_GENERATED,
    st: int = TPM_ST_ATTEST_QUOTE,
) -> bytes:
    """Encode a quote's TPMS_ATTEST (the inverse of :func:`parse_attest`; tests and tooling)."""
    out = [magic.to_bytes(4, "big"), st.to_bytes(2, "big"), _b(qualified_signer), _b(extra_data)]
    out += [clock.to_bytes(8, "big"), reset_count.to_bytes(4, "big")]
    out += [restart_count.to_bytes(4, "big"), b"\x01", firmware_version.to_bytes(8, "big")]
    out.append(len(selections).to_bytes(4, "big"))
    for sel in selections:
        bitmap = bytearray(3)
        for i in sel.indices:
            bitmap[i // 8] |= 1 << (i % 8)
        out.append(sel.hash_alg.to_bytes(2, "big") + b"\x03" + bytes(bitmap))
    out.append(_b(pcr_digest))
    return b"".join(out)


# --- TPMT_SIGNATURE -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A TPMT_SIGNATURE: ``sig`` for RSA schemes, ``r``/``s`` for ECDSA."""

    alg: int
    hash_alg: int
    sig: bytes = b""
    r: bytes = b""
    s: bytes = b""


def parse_signature(data: bytes) -> Signature:
    """Parse a TPMT_SIGNATURE of scheme RSASSA, RSAPSS or ECDSA."""
    if len(data) > limits.MAX_TPM_SIGNATURE_BYTES:
        raise DecodeError("TPMT_SIGNATURE too large")
    r = Reader(data)
    alg, hash_alg = r.u16(), r.u16()
    if alg in (ALG_RSASSA, ALG_RSAPSS):
        sig = r.tpm2b(limits.MAX_TPM_RSA_MODULUS_BYTES)
        r.end()
        return Signature(alg, hash_alg, sig=sig)
    if alg == ALG_ECDSA:
        sr, ss = r.tpm2b(66), r.tpm2b(66)
        r.end()
        return Signature(alg, hash_alg, r=sr, s=ss)
    raise UnsupportedError("TPM signature scheme not supported")


def encode_signature(sig: Signature) -> bytes:
    """Encode a TPMT_SIGNATURE (the inverse of :func:`parse_signature`; tests and tooling)."""
    head = sig.alg.to_bytes(2, "big") + sig.hash_alg.to_bytes(2, "big")
    if sig.alg == ALG_ECDSA:
        return head + _b(sig.r) + _b(sig.s)
    return head + _b(sig.sig)
