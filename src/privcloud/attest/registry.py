"""One entry point for clients: :func:`verify_evidence` picks the verifier by ``tee_type``.

The trust material (pinned vendor roots, configured dev keys, current CRLs) is an argument, so
that the same evidence verifies the same way anywhere, at the time the caller passes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privcloud import limits
from privcloud.attest.base import (
    TEE_GCP_CONFIDENTIAL_SPACE,
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    TEE_VTPM,
    AttestationResult,
    Evidence,
    Policy,
    Verifier,
)
from privcloud.attest.gcp import ConfidentialSpaceTrust, ConfidentialSpaceVerifier
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.attest.nvidia.gpu import NvidiaGpuVerifier, pinned_nvidia_roots
from privcloud.attest.sevsnp import AmdRootChain, SevSnpVerifier, pinned_amd_roots
from privcloud.attest.simulated import InsecureSimulatedVerifier
from privcloud.attest.tdx import TdxVerifier, pinned_intel_root
from privcloud.attest.tpm.verifier import VtpmTrust, VtpmVerifier
from privcloud.crypto.x509 import Certificate, Crl, load_crl
from privcloud.errors import PolicyError, TooLargeError, UnsupportedError


@dataclass(frozen=True)
class TrustRoots:
    """What verifiers trust. Build it with :meth:`pinned` unless a test needs synthetic roots."""

    #: AMD ARK/ASK pairs (SEV-SNP).
    amd: tuple[AmdRootChain, ...] = ()
    #: Intel SGX Root CA (TDX).
    intel: tuple[Certificate, ...] = ()
    #: SEC1 public keys of local dev roots for the INSECURE simulated TEE.
    insecure_simulated_keys: tuple[bytes, ...] = ()
    #: CRLs checked against the chains they cover (optional; checked at the verification time).
    crls: tuple[Crl, ...] = ()
    #: Intel TCB Info and QE Identity the operator supplies (TDX TCB status); verified at use.
    intel_collateral: IntelCollateral | None = None
    #: vTPM AK roots, pinned AKs and boot policy (none: vTPM evidence is refused).
    vtpm: VtpmTrust | None = None
    #: Google Confidential Space root and audience (none: tokens are refused).
    confidential_space: ConfidentialSpaceTrust | None = None
    #: NVIDIA GPU evidence: pinned device and RIM roots and the RIMs the operator published
    #: (none: a node that names a GPU is refused).
    nvidia_gpu: NvidiaGpuVerifier | None = None

    @classmethod
    def pinned(
        cls,
        *,
        insecure_simulated_keys: Sequence[bytes] = (),
        crls: Sequence[bytes] = (),
        intel_collateral: IntelCollateral | None = None,
        vtpm: VtpmTrust | None = None,
        confidential_space: ConfidentialSpaceTrust | None = None,
        nvidia_rims: Sequence[bytes] = (),
    ) -> TrustRoots:
        """The vendor roots shipped in ``privcloud/attest/roots`` plus the given extras
        (``nvidia_rims``: signed NVIDIA driver and VBIOS RIMs, verified at use)."""
        nvidia_device, nvidia_rim = pinned_nvidia_roots()
        crl_list = tuple(load_crl(c) for c in crls)
        return cls(
            amd=pinned_amd_roots(),
            intel=(pinned_intel_root(),),
            insecure_simulated_keys=tuple(insecure_simulated_keys),
            crls=crl_list,
            intel_collateral=intel_collateral,
            vtpm=vtpm,
            confidential_space=confidential_space,
            nvidia_gpu=NvidiaGpuVerifier(
                (nvidia_device,), (nvidia_rim,), rim_documents=tuple(nvidia_rims), crls=crl_list
            ),
        )


def verifier_for(tee_type: str, roots: TrustRoots) -> Verifier:
    """The verifier of ``tee_type`` holding ``roots``; :class:`UnsupportedError` if unknown."""
    if tee_type == TEE_SEV_SNP:
        return SevSnpVerifier(roots.amd, crls=roots.crls)
    if tee_type == TEE_TDX:
        return TdxVerifier(roots.intel, crls=roots.crls, collateral=roots.intel_collateral)
    if tee_type == TEE_VTPM:
        snp = SevSnpVerifier(roots.amd, crls=roots.crls)
        return VtpmVerifier(roots.vtpm, snp=snp, crls=roots.crls)
    if tee_type == TEE_GCP_CONFIDENTIAL_SPACE:
        return ConfidentialSpaceVerifier(roots.confidential_space, crls=roots.crls)
    if tee_type == TEE_SIMULATED:
        return InsecureSimulatedVerifier(roots.insecure_simulated_keys)
    raise UnsupportedError("unknown TEE type")


def verify_evidence(
    evidence: Evidence, *, now: float, policy: Policy, roots: TrustRoots
) -> AttestationResult:
    """Verify ``evidence`` at time ``now`` against ``roots`` and ``policy``.

    Refuses before parsing when the sizes exceed the bounds or the policy does not allow the TEE
    type; otherwise runs the type's verifier (parse → signatures → policy). Raises
    :class:`~privcloud.errors.PeerError` subclasses only: DecodeError, TooLargeError,
    UnsupportedError, VerificationError, PolicyError.
    """
    if len(evidence.raw) > limits.MAX_ATTEST_EVIDENCE_BYTES:
        raise TooLargeError("evidence too large")
    if len(evidence.certificates) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
        raise TooLargeError("evidence certificates too large")
    if evidence.tee_type not in policy.allowed_tee_types:
        raise PolicyError("TEE type not allowed by policy")
    return verifier_for(evidence.tee_type, roots).verify(evidence, now=now, policy=policy)
