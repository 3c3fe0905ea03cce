"""Intel TDX quotes (versions 4 and 5), verified up to Intel's pinned SGX Root CA, with the TCB
status from Intel's signed collateral when the operator supplies it.

References: Intel *TDX DCAP Quoting Library API* (2023), Appendix A "Quote Format" (layout in
:mod:`privcloud.attest.tdx_quote`); Intel *SGX PCK Certificate and CRL Profile* (SGX extensions,
OID 1.2.840.113741.1.13.1); Intel *TDX Module Base Architecture Specification* §TDATTRIBUTES
(bit 0 = DEBUG); Intel's QuoteVerification library for the collateral checks
(:mod:`privcloud.attest.intel_collateral`, :mod:`privcloud.attest.tdx_tcb`).

Verification procedure (:meth:`TdxVerifier.verify`):

1. Parse: version 4, or 5 with a TD report 1.0 (body type 2) or 1.5 (type 3) body; attestation
   key type 2 (ECDSA P-256), TEE type 0x81 (TDX), Intel's QE vendor id; certification data type
   6 (QE report) nesting type 5 (PCK chain, PEM); every length consistent; nothing but zero
   padding after the quote.
2. Verify the PCK chain (PCK → PCK Platform/Processor CA → pinned Intel SGX Root CA) at ``now``:
   validity windows, CA flags, ECDSA-SHA256 signatures, CRLs when given. A certificate of the
   chain that does not parse (bad version, duplicated extension, ...) is a
   :class:`~privcloud.errors.DecodeError`.
3. The QE report is signed by the PCK key (ECDSA P-256 over the 384-byte report).
4. The QE report binds the attestation key: REPORTDATA[0:32] = SHA-256(attestation key ||
   QE authentication data) and REPORTDATA[32:64] is zero.
5. The QE is Intel's TD quoting enclave: MRSIGNER is Intel's QE signer, ISVPRODID 2, and the
   enclave is not in debug mode.
6. The quote signature (header || v5 body descriptor || TD report body) verifies with the
   attestation key.
7. The TDX module is Intel's (MRSIGNERSEAM zero).
8. With collateral (:class:`~privcloud.attest.intel_collateral.IntelCollateral`): the QE
   Identity and the TCB Info of the PCK's FMSPC verify up to the same pinned root and are current
   at ``now``; the QE report matches the QE Identity; the TCB status and advisories are derived
   as Intel's QVL does (:mod:`privcloud.attest.tdx_tcb`).
9. Policy: TD debug (TDATTRIBUTES bit 0) off, the TCB status allowed (only UpToDate by default;
   a status is required where ``Policy.require_tcb_status`` names TDX), TCB minimums over
   TEE_TCB_SVN, the PCK's SGX TCB components, PCESVN and the QE's ISVSVN, MRTD and register
   allow-lists.

Without collateral no TCB *status* is derived (``AttestationResult.tcb_status`` is ``None``);
callers then rely on TCB minimums, or require a status through the policy.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final

from privcloud.attest import base
from privcloud.attest.base import (
    TEE_TDX,
    AttestationResult,
    Check,
    Evidence,
    PinnedVerifier,
    Policy,
)
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.attest.tdx_quote import (
    BODY_FIELDS,
    BODY_SIZE,
    CERT_TYPE_PCK_CHAIN,
    CERT_TYPE_QE_REPORT,
    INTEL_QE_VENDOR_ID,
    QE_REPORT_SIZE,
    QeReport,
    TdxQuote,
    parse_quote,
)
from privcloud.attest.tdx_tcb import TcbStatus, TdxTcbInput, qe_status, tdx_status
from privcloud.crypto.x509 import (
    Certificate,
    Crl,
    Curve,
    EcPublicKey,
    SignatureAlgorithm,
    der_integer,
    der_octet_string,
    der_oid_map,
    load_certificates,
    verify_chain,
)
from privcloud.errors import DecodeError, VerificationError

__all__ = [
    "BODY_SIZE",
    "CERT_TYPE_PCK_CHAIN",
    "CERT_TYPE_QE_REPORT",
    "INTEL_QE_VENDOR_ID",
    "QE_REPORT_SIZE",
    "PckInfo",
    "QeReport",
    "TdxQuote",
    "TdxVerifier",
    "parse_pck_extensions",
    "parse_quote",
    "pinned_intel_root",
]

#: MRSIGNER of Intel's TD quoting enclave (Intel PCS QE Identity, id "TD_QE").
INTEL_TD_QE_MRSIGNER: Final = bytes.fromhex(
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"
)
INTEL_TD_QE_PRODID: Final = 2
_SGX_ATTRIBUTES_DEBUG = 1 << 1
#: The TD report 1.0 layout (kept under this name for the test helpers).
_BODY_FIELDS: Final = BODY_FIELDS

OID_SGX_EXTENSIONS: Final = "1.2.840.113741.1.13.1"
_OID_PPID = OID_SGX_EXTENSIONS + ".1"
_OID_TCB = OID_SGX_EXTENSIONS + ".2"
_OID_PCEID = OID_SGX_EXTENSIONS + ".3"
_OID_FMSPC = OID_SGX_EXTENSIONS + ".4"

_PCK_LEAF_CN = "Intel SGX PCK Certificate"
_PCK_CA_CNS = frozenset({"Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA"})
_ECDSA_SHA256 = frozenset({SignatureAlgorithm.ECDSA_SHA256})


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

    def __init__(
        self,
        roots: Sequence[Certificate],
        *,
        crls: Sequence[Crl] = (),
        collateral: IntelCollateral | None = None,
    ) -> None:
        super().__init__(roots, crls=crls)
        self._collateral = collateral

    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """Steps 1 to 9 of the module docstring, raising at the first failure."""
        checks: list[Check] = []
        # 1. Parse.
        quote = parse_quote(evidence.raw)
        checks.append(Check("quote-parsed", f"TDX quote v{quote.version}, {_body_name(quote)}"))
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
        revocation = "checked" if self._crls else "no CRL given"
        checks.append(Check("pck-chain", f"PCK to pinned Intel SGX Root CA, CRLs {revocation}"))
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
        checks.append(Check("qe-report", "signed by the PCK, binds the attestation key, TD QE"))
        # 6. The quote signature.
        att_key = EcPublicKey.from_bytes(Curve.P256, quote.attestation_key)
        att_key.verify(quote.signature, quote.signed_bytes)
        checks.append(Check("quote-signature", "ECDSA P-256 by the QE's attestation key"))
        # 7. The TDX module is Intel's.
        if any(quote.fields["mrsignerseam"]):
            raise VerificationError("TDX module not signed by Intel")
        # 8. Collateral: TCB status.
        status = self._tcb_status(quote, info, now=now)
        if status is not None:
            checks.append(Check("tcb-status", f"{status.status}: {status.detail}"))
        # 9. Policy.
        result = _result(quote, info, path, status, tuple(checks))
        base.check_policy(result, policy, now=now)
        return result

    def _tcb_status(self, quote: TdxQuote, info: PckInfo, *, now: float) -> TcbStatus | None:
        """Step 8; ``None`` without collateral."""
        if self._collateral is None:
            return None
        qe_doc, qe_identity = self._collateral.qe_identity
        qe_doc.verify(self._roots, now=now, crls=self._crls)
        tcb_doc, tcb_info = self._collateral.tcb_info_for(info.fmspc)
        tcb_doc.verify(self._roots, now=now, crls=self._crls)
        qe = quote.qe_report
        qe_level = qe_status(
            qe_identity,
            mrsigner=qe.mrsigner,
            prod_id=qe.isv_prod_id,
            miscselect=qe.miscselect,
            attributes=qe.attributes,
            isvsvn=qe.isv_svn,
        )
        fields = quote.fields
        return tdx_status(
            tcb_info,
            TdxTcbInput(
                fmspc=info.fmspc,
                pce_id=info.pce_id,
                sgx_components=info.sgx_tcb,
                pcesvn=info.pcesvn,
                tee_tcb_svn=fields["tee_tcb_svn"],
                mrsignerseam=fields["mrsignerseam"],
                seam_attributes=fields["seam_attributes"],
                tee_tcb_svn2=fields.get("tee_tcb_svn2"),
            ),
            qe_level,
        )


def _body_name(quote: TdxQuote) -> str:
    return "TD report 1.5" if "tee_tcb_svn2" in quote.fields else "TD report 1.0"


def _result(
    quote: TdxQuote,
    info: PckInfo,
    path: Sequence[Certificate],
    status: TcbStatus | None,
    checks: tuple[Check, ...],
) -> AttestationResult:
    tcb = {f"tdx_tcb_{i}": v for i, v in enumerate(quote.fields["tee_tcb_svn"])}
    tcb.update({f"sgx_tcb_{i}": v for i, v in enumerate(info.sgx_tcb)})
    tcb["pcesvn"] = info.pcesvn
    tcb["qe_isvsvn"] = quote.qe_report.isv_svn
    registers = {
        name: value
        for name, value in quote.fields.items()
        if name not in ("report_data", "tee_tcb_svn", "tee_tcb_svn2")
    }
    registers["fmspc"] = info.fmspc
    return AttestationResult(
        tee_type=TEE_TDX,
        measurement=quote.fields["mrtd"],
        report_data=quote.fields["report_data"],
        debug=quote.debug,
        tcb=tcb,
        platform_id=info.ppid,
        signer_chain=tuple(c.subject for c in path),
        registers=registers,
        product="TDX 1.5" if "tee_tcb_svn2" in quote.fields else "TDX",
        tcb_status=None if status is None else status.status,
        advisory_ids=() if status is None else status.advisory_ids,
        checks=checks,
    )
