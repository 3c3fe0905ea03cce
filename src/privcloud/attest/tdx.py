"""Intel TDX quotes (version 4), verified up to Intel's pinned SGX Root CA.

References: Intel *TDX DCAP Quoting Library API* (2023), Appendix A "Quote Format" (TD quote
header, TD quote body v4, ECDSA quote signature data, QE certification data types 5 and 6); Intel
*SGX PCK Certificate and CRL Profile* (SGX extensions, OID 1.2.840.113741.1.13.1); Intel
*TDX Module Base Architecture Specification* §TDATTRIBUTES (bit 0 = DEBUG).

Verification procedure (:meth:`TdxVerifier.verify`):

1. Parse: version 4, attestation key type 2 (ECDSA P-256), TEE type 0x81 (TDX), Intel's QE
   vendor id; certification data type 6 (QE report) nesting type 5 (PCK chain, PEM); every
   length consistent; nothing but zero padding after the quote.
2. Verify the PCK chain (PCK → PCK Platform/Processor CA → pinned Intel SGX Root CA) at ``now``:
   validity windows, CA flags, ECDSA-SHA256 signatures, CRLs when given. A certificate of the
   chain that does not parse (bad version, duplicated extension, ...) is a
   :class:`~privcloud.errors.DecodeError`.
3. The QE report is signed by the PCK key (ECDSA P-256 over the 384-byte report).
4. The QE report binds the attestation key: REPORTDATA[0:32] = SHA-256(attestation key ||
   QE authentication data) and REPORTDATA[32:64] is zero.
5. The QE is Intel's TD quoting enclave: MRSIGNER is Intel's QE signer, ISVPRODID 2, and the
   enclave is not in debug mode. (These values come from Intel's QE Identity; the signed QE
   Identity document itself is not verified, see "Not verified".)
6. The quote signature (header || TD report body) verifies with the attestation key.
7. The TDX module is Intel's (MRSIGNERSEAM zero).
8. Policy: TD debug (TDATTRIBUTES bit 0) off, TCB minimums over TEE_TCB_SVN, the PCK's SGX TCB
   components, PCESVN and the QE's ISVSVN, MRTD and register allow-lists.

Not verified: Intel's signed TCB Info and QE Identity collateral (its TCB Signing chain is not
part of this verifier's inputs), so no TCB *status* (UpToDate / OutOfDate) is derived; callers
enforce TCB minimums through :class:`~privcloud.attest.base.Policy` instead.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Final

from privcloud import limits
from privcloud.attest import base
from privcloud.attest.base import (
    TEE_TDX,
    AttestationResult,
    Evidence,
    PinnedVerifier,
    Policy,
)
from privcloud.crypto.x509 import (
    Certificate,
    Curve,
    EcPublicKey,
    SignatureAlgorithm,
    der_integer,
    der_octet_string,
    der_oid_map,
    load_certificates,
    verify_chain,
)
from privcloud.errors import (
    DecodeError,
    TooLargeError,
    UnsupportedError,
    VerificationError,
)

HEADER_SIZE: Final = 48
BODY_SIZE: Final = 584
QE_REPORT_SIZE: Final = 384
QUOTE_VERSION: Final = 4
ATT_KEY_TYPE_ECDSA_P256: Final = 2
TEE_TYPE_TDX: Final = 0x81
CERT_TYPE_QE_REPORT: Final = 6
CERT_TYPE_PCK_CHAIN: Final = 5
INTEL_QE_VENDOR_ID: Final = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
#: MRSIGNER of Intel's TD quoting enclave (Intel PCS QE Identity, id "TD_QE").
INTEL_TD_QE_MRSIGNER: Final = bytes.fromhex(
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"
)
INTEL_TD_QE_PRODID: Final = 2
TD_ATTRIBUTES_DEBUG: Final = 1 << 0
_SGX_ATTRIBUTES_DEBUG = 1 << 1

OID_SGX_EXTENSIONS: Final = "1.2.840.113741.1.13.1"
_OID_PPID = OID_SGX_EXTENSIONS + ".1"
_OID_TCB = OID_SGX_EXTENSIONS + ".2"
_OID_PCEID = OID_SGX_EXTENSIONS + ".3"
_OID_FMSPC = OID_SGX_EXTENSIONS + ".4"

_PCK_LEAF_CN = "Intel SGX PCK Certificate"
_PCK_CA_CNS = frozenset({"Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA"})
_ECDSA_SHA256 = frozenset({SignatureAlgorithm.ECDSA_SHA256})

_HEADER = struct.Struct("<HHIHH16s20s")
_BODY_FIELDS: Final = (
    ("tee_tcb_svn", 16),
    ("mrseam", 48),
    ("mrsignerseam", 48),
    ("seam_attributes", 8),
    ("td_attributes", 8),
    ("xfam", 8),
    ("mrtd", 48),
    ("mrconfigid", 48),
    ("mrowner", 48),
    ("mrownerconfig", 48),
    ("rtmr0", 48),
    ("rtmr1", 48),
    ("rtmr2", 48),
    ("rtmr3", 48),
    ("report_data", 64),
)


@dataclass(frozen=True)
class QeReport:
    """The fields of the QE's SGX REPORT body this verifier uses."""

    cpusvn: bytes
    attributes: bytes
    mrenclave: bytes
    mrsigner: bytes
    isv_prod_id: int
    isv_svn: int
    report_data: bytes
    raw: bytes

    @classmethod
    def decode(cls, raw: bytes) -> QeReport:
        prod_id, svn = struct.unpack_from("<HH", raw, 256)
        return cls(
            cpusvn=raw[0:16],
            attributes=raw[48:64],
            mrenclave=raw[64:96],
            mrsigner=raw[128:160],
            isv_prod_id=prod_id,
            isv_svn=svn,
            report_data=raw[320:384],
            raw=raw,
        )


@dataclass(frozen=True)
class TdxQuote:
    """A parsed TDX quote v4."""

    header: bytes
    body: bytes
    fields: dict[str, bytes]
    signature: bytes
    attestation_key: bytes
    qe_report: QeReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes

    @property
    def signed_bytes(self) -> bytes:
        return self.header + self.body

    @property
    def debug(self) -> bool:
        return bool(int.from_bytes(self.fields["td_attributes"], "little") & TD_ATTRIBUTES_DEBUG)


class _Reader:
    """Bounded little-endian reader; every overrun is a :class:`DecodeError`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError("TDX quote truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")


def parse_quote(raw: bytes) -> TdxQuote:
    """Decode a TDX quote v4 (step 1); checks structure and lengths, nothing cryptographic."""
    if len(raw) > limits.MAX_TDX_QUOTE_BYTES:
        raise TooLargeError("TDX quote too large")
    r = _Reader(raw)
    header = r.take(HEADER_SIZE)
    version, key_type, tee_type, _, _, vendor, _ = _HEADER.unpack(header)
    if version != QUOTE_VERSION:
        raise UnsupportedError("unsupported TDX quote version")
    if key_type != ATT_KEY_TYPE_ECDSA_P256:
        raise UnsupportedError("unsupported TDX attestation key type")
    if tee_type != TEE_TYPE_TDX:
        raise UnsupportedError("quote is not a TDX quote")
    if vendor != INTEL_QE_VENDOR_ID:
        raise UnsupportedError("quote is not from Intel's quoting enclave")
    body = r.take(BODY_SIZE)
    fields: dict[str, bytes] = {}
    pos = 0
    for name, size in _BODY_FIELDS:
        fields[name] = body[pos : pos + size]
        pos += size
    sig_len = r.u32()
    sig = _Reader(r.take(sig_len))
    if any(raw[r.pos :]):
        raise TooLargeError("unsigned data after the TDX quote")
    signature = sig.take(64)
    attestation_key = sig.take(64)
    if sig.u16() != CERT_TYPE_QE_REPORT:
        raise UnsupportedError("unsupported TDX certification data type")
    outer = _Reader(sig.take(sig.u32()))
    if sig.pos != len(sig.data):
        raise DecodeError("TDX signature data length mismatch")
    qe_report = QeReport.decode(outer.take(QE_REPORT_SIZE))
    qe_report_signature = outer.take(64)
    qe_auth_data = outer.take(outer.u16())
    if outer.u16() != CERT_TYPE_PCK_CHAIN:
        raise UnsupportedError("unsupported QE certification data type")
    pck_chain = outer.take(outer.u32())
    if outer.pos != len(outer.data):
        raise DecodeError("TDX certification data length mismatch")
    return TdxQuote(
        header=header,
        body=body,
        fields=fields,
        signature=signature,
        attestation_key=attestation_key,
        qe_report=qe_report,
        qe_report_signature=qe_report_signature,
        qe_auth_data=qe_auth_data,
        pck_chain_pem=pck_chain.rstrip(b"\x00"),
    )


@functools.cache
def pinned_intel_root() -> Certificate:
    """Intel's SGX Root CA, from the package data in ``roots/intel``."""
    data = resources.files("privcloud.attest").joinpath("roots", "intel", "sgx_root_ca.pem")
    (root,) = load_certificates(data.read_bytes())
    return root


@dataclass(frozen=True)
class PckInfo:
    """What the PCK certificate's SGX extensions say about the platform."""

    ppid: bytes
    fmspc: bytes
    pce_id: bytes
    pcesvn: int
    sgx_tcb: tuple[int, ...]


def parse_pck_extensions(pck: Certificate) -> PckInfo:
    """Read the SGX extensions (OID 1.2.840.113741.1.13.1) of a PCK certificate.

    Raises :class:`VerificationError` when they are absent or malformed.
    """
    value = pck.extension(OID_SGX_EXTENSIONS)
    if value is None:
        raise VerificationError("PCK certificate lacks the SGX extensions")
    try:
        ext = der_oid_map(value)
        comps = tuple(der_integer(ext[f"{_OID_TCB}.{i}"]) for i in range(1, 17))
        return PckInfo(
            ppid=der_octet_string(ext[_OID_PPID]),
            fmspc=der_octet_string(ext[_OID_FMSPC]),
            pce_id=der_octet_string(ext[_OID_PCEID]),
            pcesvn=der_integer(ext[f"{_OID_TCB}.17"]),
            sgx_tcb=comps,
        )
    except (KeyError, DecodeError) as exc:
        raise VerificationError("PCK certificate SGX extensions are malformed") from exc


class TdxVerifier(PinnedVerifier[Certificate]):
    """Verifies TDX quotes against the pinned Intel SGX Root CA (see the module docstring)."""

    tee_type = TEE_TDX

    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """Steps 1 to 8 of the module docstring, raising at the first failure."""
        # 1. Parse.
        quote = parse_quote(evidence.raw)
        # 2. PCK chain up to the pinned root.
        chain = load_certificates(quote.pck_chain_pem)
        path = verify_chain(
            chain, self._roots, at=now, allowed_algorithms=_ECDSA_SHA256, crls=self._crls
        )
        if (
            len(path) != 3
            or path[0].subject_common_name != _PCK_LEAF_CN
            or path[1].subject_common_name not in _PCK_CA_CNS
        ):
            raise VerificationError("certificate chain is not an Intel PCK chain")
        pck = path[0]
        info = parse_pck_extensions(pck)
        # 3. The QE report is signed by the PCK key.
        qe = quote.qe_report
        pck.ec_public_key(Curve.P256).verify(quote.qe_report_signature, qe.raw)
        # 4. The QE report binds the attestation key.
        expected = hashlib.sha256(quote.attestation_key + quote.qe_auth_data).digest()
        if qe.report_data[:32] != expected or any(qe.report_data[32:]):
            raise VerificationError("QE report does not bind the attestation key")
        # 5. The QE is Intel's TD quoting enclave, not in debug mode.
        if qe.mrsigner != INTEL_TD_QE_MRSIGNER or qe.isv_prod_id != INTEL_TD_QE_PRODID:
            raise VerificationError("quote not made by Intel's TD quoting enclave")
        if int.from_bytes(qe.attributes[:8], "little") & _SGX_ATTRIBUTES_DEBUG:
            raise VerificationError("quoting enclave runs in debug mode")
        # 6. The quote signature.
        att_key = EcPublicKey.from_bytes(Curve.P256, quote.attestation_key)
        att_key.verify(quote.signature, quote.signed_bytes)
        # 7. The TDX module is Intel's.
        if any(quote.fields["mrsignerseam"]):
            raise VerificationError("TDX module not signed by Intel")
        # 8. Policy.
        tcb = {f"tdx_tcb_{i}": v for i, v in enumerate(quote.fields["tee_tcb_svn"])}
        tcb.update({f"sgx_tcb_{i}": v for i, v in enumerate(info.sgx_tcb)})
        tcb["pcesvn"] = info.pcesvn
        tcb["qe_isvsvn"] = qe.isv_svn
        registers = {
            name: value
            for name, value in quote.fields.items()
            if name not in ("report_data", "tee_tcb_svn")
        }
        registers["fmspc"] = info.fmspc
        result = AttestationResult(
            tee_type=TEE_TDX,
            measurement=quote.fields["mrtd"],
            report_data=quote.fields["report_data"],
            debug=quote.debug,
            tcb=tcb,
            platform_id=info.ppid,
            signer_chain=tuple(c.subject for c in path),
            registers=registers,
            product="TDX",
        )
        base.check_policy(result, policy, now=now)
        return result
