"""TDX TCB status from Intel's verified collateral, as Intel's QuoteVerification library
derives it (``TcbLevelCheck.cpp``, ``TdxModuleCheck.cpp``, ``TDRelaunchCheck.cpp``, the
enclave identity check), written from its procedure:

1. **QE identity** (:func:`qe_status`): the QE report's MRSIGNER and ISVPRODID equal the
   identity's, ``MISCSELECT & miscselectMask == miscselect`` and ``ATTRIBUTES & attributesMask
   == attributes``; else the quote was not made by Intel's TD QE. The QE's TCB status is that of
   the first level (highest ISVSVN first) whose ISVSVN the report's reaches.
2. **Platform** (:func:`tdx_status`): the TCB Info is the PCK certificate's FMSPC and PCE id.
3. **TDX module**: with TEE_TCB_SVN[1] (the module's major version) zero, MRSIGNERSEAM and
   SEAM_ATTRIBUTES (masked) match ``tdxModule``; otherwise they match the identity
   ``TDX_<major, 2 hex digits>`` of ``tdxModuleIdentities``, whose status is that of the first
   level whose ISVSVN TEE_TCB_SVN[0] reaches.
4. **TCB level**: the first level (highest first) whose 16 SGX components and PCESVN the PCK
   certificate's reach is the SGX level; the first of those whose TDX components TEE_TCB_SVN
   reaches (from index 2 when the module version is not zero: bytes 0 and 1 are the module's)
   is the TDX level. No such level: the platform is not supported.
5. **Converge**: the TDX level's status with the module's (module OutOfDate makes UpToDate or
   SWHardeningNeeded OutOfDate, and a ConfigurationNeeded one OutOfDateConfigurationNeeded;
   module Revoked makes it Revoked); for a TD report 1.5, TDRelaunchAdvised[ConfigurationNeeded]
   when only the TDX module is out of date and TEE_TCB_SVN2 shows the update is installed; then
   with the QE's (QE OutOfDate as the module's; QE Revoked makes it Revoked).

Mismatches and unsupported platforms are :class:`VerificationError`; the status itself (even
"Revoked") is for the policy to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from privcloud.attest.intel_collateral import (
    IdentityLevel,
    QeIdentity,
    TcbLevel,
    TdxModuleIdentity,
    TdxTcbInfo,
)
from privcloud.errors import VerificationError

UP_TO_DATE: Final = "UpToDate"
SW_HARDENING: Final = "SWHardeningNeeded"
CONFIG_NEEDED: Final = "ConfigurationNeeded"
CONFIG_AND_SW: Final = "ConfigurationAndSWHardeningNeeded"
OUT_OF_DATE: Final = "OutOfDate"
OUT_OF_DATE_CONFIG: Final = "OutOfDateConfigurationNeeded"
REVOKED: Final = "Revoked"
RELAUNCH: Final = "TDRelaunchAdvised"
RELAUNCH_CONFIG: Final = "TDRelaunchAdvisedConfigurationNeeded"
_CONFIG_STATUSES = frozenset({CONFIG_NEEDED, OUT_OF_DATE_CONFIG, CONFIG_AND_SW, RELAUNCH_CONFIG})


@dataclass(frozen=True)
class TcbStatus:
    """A derived TCB status, the advisories behind it, and the levels it came from."""

    status: str
    advisory_ids: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class TdxTcbInput:
    """What the verified quote and PCK certificate say, for :func:`tdx_status`."""

    fmspc: bytes
    pce_id: bytes
    sgx_components: tuple[int, ...]
    pcesvn: int
    tee_tcb_svn: bytes
    mrsignerseam: bytes
    seam_attributes: bytes
    #: TEE_TCB_SVN2 of a TD report 1.5, ``None`` for 1.0.
    tee_tcb_svn2: bytes | None


def _first_reached(levels: tuple[IdentityLevel, ...], svn: int) -> IdentityLevel | None:
    return next((level for level in levels if svn >= level.isvsvn), None)


def qe_status(
    identity: QeIdentity,
    *,
    mrsigner: bytes,
    prod_id: int,
    miscselect: int,
    attributes: bytes,
    isvsvn: int,
) -> IdentityLevel:
    """Step 1: the QE report matches Intel's QE identity; returns the QE's TCB level."""
    masked = bytes(a & m for a, m in zip(attributes, identity.attributes_mask, strict=True))
    if (
        mrsigner != identity.mrsigner
        or prod_id != identity.isv_prod_id
        or miscselect & identity.miscselect_mask != identity.miscselect
        or masked != identity.attributes
    ):
        raise VerificationError("QE report does not match Intel's QE identity")
    level = _first_reached(identity.levels, isvsvn)
    if level is None:
        raise VerificationError("QE ISVSVN not supported by Intel's QE identity")
    return level


def find_module_identity(info: TdxTcbInfo, version: int) -> TdxModuleIdentity | None:
    """The TDX module identity ``TDX_<version as 2 hex digits>`` (case-insensitive)."""
    wanted = f"TDX_{version:02X}"
    return next((m for m in info.module_identities if m.id.upper() == wanted), None)


def _module_level(info: TdxTcbInfo, t: TdxTcbInput) -> IdentityLevel | None:
    """Step 3; ``None`` for a version-0 module (no module status of its own)."""
    version = t.tee_tcb_svn[1]
    module = info.tdx_module if version == 0 else find_module_identity(info, version)
    if module is None:
        raise VerificationError("no TDX module identity in the TCB Info for this module version")
    masked = bytes(a & m for a, m in zip(t.seam_attributes, module.attributes_mask, strict=True))
    if t.mrsignerseam != module.mrsigner or masked != module.attributes:
        raise VerificationError("TDX module does not match Intel's TDX module identity")
    if version == 0:
        return None
    level = _first_reached(module.levels, t.tee_tcb_svn[0])
    if level is None:
        raise VerificationError("TDX module SVN not supported by the TCB Info")
    return level


def _match_levels(info: TdxTcbInfo, t: TdxTcbInput) -> tuple[TcbLevel, TcbLevel]:
    """Step 4: the SGX level and the TDX level."""
    start = 2 if t.tee_tcb_svn[1] > 0 else 0
    sgx_level = None
    for level in info.levels:
        sgx_ok = all(c >= m for c, m in zip(t.sgx_components, level.sgx_components, strict=True))
        if not sgx_ok or t.pcesvn < level.pcesvn:
            continue
        sgx_level = sgx_level or level
        if all(t.tee_tcb_svn[i] >= level.tdx_components[i] for i in range(start, 16)):
            return sgx_level, level
    raise VerificationError("platform TCB not supported by Intel's TCB Info")


def _converge(status: str, other: str | None) -> str:
    """A level's status with an OutOfDate or Revoked module / QE status (step 5)."""
    if other == OUT_OF_DATE:
        if status in (UP_TO_DATE, SW_HARDENING):
            return OUT_OF_DATE
        if status in (CONFIG_NEEDED, CONFIG_AND_SW):
            return OUT_OF_DATE_CONFIG
    if other == REVOKED:
        return REVOKED
    return status


def _relaunch(
    info: TdxTcbInfo, t: TdxTcbInput, sgx: str, tdx: str, module: str | None, qe: str
) -> str:
    """TD report 1.5: relaunch advised when only the module is out of date and TEE_TCB_SVN2
    (the module the TD would get on relaunch) reaches the latest level."""
    svn2 = t.tee_tcb_svn2
    if (
        svn2 is None
        or qe in (OUT_OF_DATE, REVOKED)
        or sgx not in (UP_TO_DATE, SW_HARDENING, CONFIG_NEEDED, CONFIG_AND_SW)
        or tdx not in (OUT_OF_DATE, OUT_OF_DATE_CONFIG)
        or module != OUT_OF_DATE
        or not info.levels
    ):
        return tdx
    latest = info.levels[0]
    if svn2[1] == 0:
        needed = latest.tdx_components[0]
    else:
        identity = find_module_identity(info, svn2[1])
        if identity is None or not identity.levels:
            raise VerificationError("no TDX module identity for the relaunch module version")
        needed = identity.levels[0].isvsvn
    if svn2[0] >= needed and svn2[2] >= latest.tdx_components[2]:
        return RELAUNCH_CONFIG if sgx in _CONFIG_STATUSES or tdx in _CONFIG_STATUSES else RELAUNCH
    return tdx


def tdx_status(info: TdxTcbInfo, t: TdxTcbInput, qe: IdentityLevel) -> TcbStatus:
    """Steps 2 to 5 for a verified quote; ``info`` and the QE level come from verified
    collateral. Raises :class:`VerificationError` for a mismatch or an unsupported TCB."""
    if info.fmspc != t.fmspc or info.pce_id != t.pce_id:
        raise VerificationError("TCB Info is for another platform (FMSPC or PCE id)")
    module = _module_level(info, t)
    sgx_level, tdx_level = _match_levels(info, t)
    module_status = module.status if module is not None else None
    status = _converge(tdx_level.status, module_status)
    if status != REVOKED:
        status = _relaunch(info, t, sgx_level.status, status, module_status, qe.status)
    status = _converge(status, qe.status)
    advisories = tdx_level.advisory_ids + (module.advisory_ids if module else ()) + qe.advisory_ids
    detail = (
        f"TCB level {tdx_level.status} (pcesvn>={tdx_level.pcesvn}), TDX module "
        f"{module_status or 'n/a'}, QE {qe.status} (isvsvn>={qe.isvsvn}), "
        f"TCB eval {info.evaluation_number}"
    )
    return TcbStatus(status, tuple(sorted(set(advisories))), detail)
