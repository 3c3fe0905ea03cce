"""Attestation: verify that a node runs measured software in a real TEE
(docs/trust-model.md#attestation).

One interface (:class:`Verifier`): parse → verify signatures up to pinned vendor roots at a given
time → check policy → :class:`AttestationResult`. Formats: ``sev-snp`` (:mod:`.sevsnp`), ``tdx``
(:mod:`.tdx`) and the INSECURE ``simulated`` development TEE (:mod:`.simulated`). Producers for
real hardware read evidence through Linux configfs-tsm (:mod:`.configfs`).
"""

from privcloud.attest.base import (
    NODE_CLAIMS_LABEL,
    NODE_KEY_LABEL,
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    AttestationResult,
    Check,
    Evidence,
    NodeClaims,
    Policy,
    Verifier,
    check_binding,
    check_claims,
    check_policy,
    report_data_for,
)
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.attest.registry import TrustRoots, verifier_for, verify_evidence

__all__ = [
    "NODE_CLAIMS_LABEL",
    "NODE_KEY_LABEL",
    "TEE_SEV_SNP",
    "TEE_SIMULATED",
    "TEE_TDX",
    "AttestationResult",
    "Check",
    "Evidence",
    "IntelCollateral",
    "NodeClaims",
    "Policy",
    "TrustRoots",
    "Verifier",
    "check_binding",
    "check_claims",
    "check_policy",
    "report_data_for",
    "verifier_for",
    "verify_evidence",
]
