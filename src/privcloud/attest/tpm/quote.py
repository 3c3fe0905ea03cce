"""TPM 2.0 quote verification: the attestation key's signature over TPMS_ATTEST and the PCR
digest against the PCR values presented (TPM 2.0 Library Part 3 §18.4 TPM2_Quote).

:func:`verify_quote` raises :class:`~privcloud.errors.VerificationError` (or a parse error from
:mod:`.structures`); it returns the parsed quote only when every check passed.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final

from privcloud.attest.tpm.structures import (
    AK_ATTRIBUTES,
    ALG_ECC,
    ALG_ECDSA,
    ALG_NULL,
    ALG_RSA,
    ALG_RSAPSS,
    ALG_RSASSA,
    ALG_SHA1,
    ALG_SHA256,
    ALG_SHA384,
    ALG_SHA512,
    ATTR_DECRYPT,
    ECC_NIST_P256,
    ECC_NIST_P384,
    HASH_SIZES,
    Attest,
    TpmPublic,
    digest,
    parse_attest,
    parse_signature,
)
from privcloud.crypto.ecdsa import Curve, EcPublicKey
from privcloud.crypto.pkcs1 import Hash, RsaPublicKey
from privcloud.errors import UnsupportedError, VerificationError

_HASHES: Final = {
    ALG_SHA1: Hash.SHA1,
    ALG_SHA256: Hash.SHA256,
    ALG_SHA384: Hash.SHA384,
    ALG_SHA512: Hash.SHA512,
}
#: ECDSA curves and the hash each signs with (ours verifies P-256/SHA-256 and P-384/SHA-384).
_CURVES: Final = {ECC_NIST_P256: (Curve.P256, ALG_SHA256), ECC_NIST_P384: (Curve.P384, ALG_SHA384)}

#: PCR values presented with a quote: ``{bank algorithm id: {pcr index: value}}``.
PcrValues = Mapping[int, Mapping[int, bytes]]


def check_attestation_key(ak: TpmPublic) -> None:
    """The key is a TPM-resident restricted signing key (fixedTPM, fixedParent,
    sensitiveDataOrigin, restricted, sign; not decrypt): only such a key signs nothing but
    structures the TPM made itself, so its TPMS_ATTEST cannot be forged by its user."""
    if ak.attributes & AK_ATTRIBUTES != AK_ATTRIBUTES or ak.attributes & ATTR_DECRYPT:
        raise VerificationError("attestation key is not a restricted TPM signing key")


def _verify_signature(ak: TpmPublic, raw: bytes, sig_bytes: bytes, allow_sha1: bool) -> int:
    """Verify the TPMT_SIGNATURE over ``raw``; returns the signature's hash algorithm."""
    sig = parse_signature(sig_bytes)
    if sig.hash_alg not in _HASHES or (sig.hash_alg == ALG_SHA1 and not allow_sha1):
        raise VerificationError("quote signature hash not allowed")
    if ak.scheme != ALG_NULL and (ak.scheme, ak.scheme_hash) != (sig.alg, sig.hash_alg):
        raise VerificationError("quote signature scheme differs from the key's")
    if ak.type == ALG_RSA and sig.alg in (ALG_RSASSA, ALG_RSAPSS):
        key = RsaPublicKey.from_numbers(ak.modulus, ak.exponent)
        if sig.alg == ALG_RSASSA:
            key.verify_pkcs1v15(sig.sig, raw, _HASHES[sig.hash_alg])
        else:
            key.verify_pss(sig.sig, raw, _HASHES[sig.hash_alg])
        return sig.hash_alg
    if ak.type == ALG_ECC and sig.alg == ALG_ECDSA:
        if ak.curve not in _CURVES:
            raise UnsupportedError("attestation key curve not supported")
        curve, hash_alg = _CURVES[ak.curve]
        if sig.hash_alg != hash_alg:
            raise VerificationError("ECDSA quote hash does not match the curve")
        n = curve.size
        if max(len(ak.x), len(ak.y), len(sig.r), len(sig.s)) > n:
            raise VerificationError("ECDSA value too long for the curve")
        point = b"\x04" + ak.x.rjust(n, b"\x00") + ak.y.rjust(n, b"\x00")
        EcPublicKey.from_bytes(curve, point).verify(
            sig.r.rjust(n, b"\x00") + sig.s.rjust(n, b"\x00"), raw
        )
        return sig.hash_alg
    raise VerificationError("quote signature scheme does not fit the key")


def pcr_composite(attest: Attest, pcrs: PcrValues, hash_alg: int) -> bytes:
    """H_hash_alg of the selected PCR values, concatenated in selection order (Part 3 §18.4):
    what the quote's pcrDigest must be. :class:`VerificationError` if a selected PCR is not
    presented or has the wrong size."""
    parts = []
    for sel in attest.selections:
        bank = pcrs.get(sel.hash_alg)
        size = HASH_SIZES.get(sel.hash_alg)
        if bank is None or size is None:
            raise VerificationError("quoted PCR bank not presented")
        for index in sel.indices:
            value = bank.get(index)
            if value is None or len(value) != size:
                raise VerificationError("quoted PCR value not presented")
            parts.append(value)
    return digest(hash_alg, b"".join(parts))


def verify_quote(
    ak: TpmPublic, quote: bytes, signature: bytes, pcrs: PcrValues, *, allow_sha1: bool = False
) -> Attest:
    """Verify one quote by ``ak`` over the presented ``pcrs``.

    1. The AK is a restricted TPM signing key (:func:`check_attestation_key`).
    2. ``quote`` is a TPMS_ATTEST with TPM_GENERATED magic and type ATTEST_QUOTE.
    3. The TPMT_SIGNATURE verifies over the exact quote bytes with the AK (RSASSA, RSAPSS or
       ECDSA; SHA-1 only when ``allow_sha1``).
    4. The quote selects at least one PCR, and its pcrDigest equals the hash (with the
       signature's hash algorithm) of the presented values of every selected PCR.

    Returns the parsed quote; its extraData is for the caller to bind.
    """
    check_attestation_key(ak)
    attest = parse_attest(quote)
    hash_alg = _verify_signature(ak, attest.raw, signature, allow_sha1)
    if not any(sel.indices for sel in attest.selections):
        raise VerificationError("quote selects no PCR")
    if not hmac.compare_digest(pcr_composite(attest, pcrs, hash_alg), attest.pcr_digest):
        raise VerificationError("quote PCR digest differs from the presented PCR values")
    return attest
