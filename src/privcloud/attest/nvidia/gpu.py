"""NVIDIA GPU confidential-computing evidence, verified offline (docs/trust-model.md#gpu-evidence).

Evidence (``Evidence.tee_type`` ``"nvidia-gpu"``): ``raw`` is the NVML attestation report (SPDM
GET_MEASUREMENTS request ‖ signed MEASUREMENTS response, :mod:`.spdm`), ``certificates`` the
GPU's device certificate chain as PEM, leaf first. Reference values come from NVIDIA's signed
RIMs (:mod:`.rim`) that the operator publishes; nothing here calls NVIDIA's services.

:meth:`NvidiaGpuVerifier.verify` — the checks of NVIDIA's local GPU verifier, offline:

1. **Parse** the report (bounded); the request asked for a signature over all measurements.
2. **Device chain**: exactly ``policy.device_chain_length`` certificates (5 on Hopper: attestation
   key, device identity, provisioner, GH100 identity, root), verified up to the *pinned* NVIDIA
   device identity root at ``now`` (ECDSA, validity, CA flags, path lengths; CRLs when given);
   the leaf may sign data and has a P-384 key.
3. **FWID**: the report's FWID equals the last 48 bytes of the leaf's TCG DICE FWID extension
   (OID 2.23.133.5.4.1): the key that signs is the one the measured firmware was issued.
4. **Signature**: ECDSA P-384/SHA-384 by the leaf over ``request ‖ response`` minus the signature.
5. **CC mode**: the report's feature flag, when it carries one (opaque data version >= 1), is a
   confidential-computing mode in ``policy.allowed_modes`` (SPT, MPT; not PPCIE, where the GPU
   runs with CC off behind protected PCIe); a Hopper report without the flag is in CC mode as
   far as its measurements equal NVIDIA's golden values for the CC firmware (step 7; NVIDIA's
   SDK concludes no more) unless ``policy.require_mode``.
6. **RIMs**: a signed driver RIM whose version is the report's driver version and a signed VBIOS
   RIM whose version is its VBIOS version, each verified up to the *pinned* RIM root at ``now``
   (a version may have RIMs for several boards: the first pair the report meets is used).
7. **Measurements**: every active golden measurement (driver and VBIOS; an index in both is
   refused) equals one of its alternatives in the report; index 35 is skipped when NVDEC0 is
   disabled, as NVIDIA's verifier does.
8. **Policy**: driver and VBIOS versions allowed.

Binding (separate, as :func:`privcloud.attest.check_claims` is): the request nonce must be
:func:`gpu_nonce_for` the node's claims (:func:`check_gpu_binding`), and the node's claims must
name this GPU (:func:`gpu_id` of the leaf).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Final

from privcloud import limits
from privcloud.attest.base import Check, Evidence, NodeClaims
from privcloud.attest.nvidia.rim import Rim, check_signer, verify_rim
from privcloud.attest.nvidia.spdm import SIGNATURE_REQUESTED, SpdmReport, parse_report
from privcloud.crypto.x509 import (
    Certificate,
    Crl,
    Curve,
    SignatureAlgorithm,
    load_certificates,
    verify_chain,
)
from privcloud.errors import (
    DecodeError,
    PolicyError,
    PrivcloudError,
    TooLargeError,
    UsageError,
    VerificationError,
)

#: ``Evidence.tee_type`` of NVIDIA GPU evidence.
TEE_NVIDIA_GPU: Final = "nvidia-gpu"
#: Domain label of :func:`gpu_nonce_for`.
GPU_NONCE_LABEL: Final = b"privcloud gpu nonce v1"
#: TCG DICE FWID / TcbInfo extension OIDs.
OID_DICE_FWID: Final = ("2.23.133.5.4.1", "2.23.133.5.4.1.1")
FWID_SIZE: Final = 48
MEASUREMENT_ALL: Final = 0xFF
#: NVIDIA's verifier skips this index when NVDEC0 is disabled.
NVDEC_MEASUREMENT_INDEX: Final = 35
_ECDSA = frozenset({SignatureAlgorithm.ECDSA_SHA384})


def gpu_nonce_for(claims: NodeClaims) -> bytes:
    """The 32-byte SPDM nonce a node asks its GPUs to sign:
    ``SHA-256(GPU_NONCE_LABEL || 0x00 || claims.report_data())`` — the same claims (HPKE key,
    issue time, region, provider, suite, GPU identities) its CPU TEE report binds."""
    return hashlib.sha256(GPU_NONCE_LABEL + b"\x00" + claims.report_data()).digest()


def load_device_chain(certificates: bytes) -> list[Certificate]:
    """The PEM (or single DER) device chain, leaf first; :class:`DecodeError`."""
    if len(certificates) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
        raise TooLargeError("GPU certificate chain too large")
    if not certificates:
        raise DecodeError("GPU evidence carries no certificate chain")
    return load_certificates(certificates)


def gpu_id(certificates: bytes) -> bytes:
    """A GPU's identity in :class:`NodeClaims`: SHA-256 of the DER of its attestation-key
    (leaf) certificate, the one that signs its reports. :class:`DecodeError` if unparsable."""
    return hashlib.sha256(load_device_chain(certificates)[0].der).digest()


@dataclass(frozen=True)
class GpuPolicy:
    """What a client accepts from a GPU. The defaults are the production client's."""

    #: Confidential-computing modes accepted when the report names its mode.
    allowed_modes: frozenset[str] = frozenset({"SPT", "MPT"})
    #: Refuse reports that do not name their mode (Hopper reports of opaque data version 0).
    require_mode: bool = False
    #: Device chain length NVIDIA's verifier requires (Hopper and Blackwell: 5).
    device_chain_length: int = 5
    #: When set, the driver / VBIOS versions accepted (lower case, as NVIDIA prints them).
    allowed_driver_versions: frozenset[str] | None = None
    allowed_vbios_versions: frozenset[str] | None = None


@dataclass(frozen=True)
class GpuAttestation:
    """What verified GPU evidence says. Only :class:`NvidiaGpuVerifier` creates one."""

    gpu_id: bytes
    #: The nonce of the SPDM request the GPU signed (see :func:`check_gpu_binding`).
    nonce: bytes
    #: The device identity certificate's common name (e.g. "GH100 A01 GSP BROM").
    product: str
    driver_version: str
    vbios_version: str
    #: "SPT", "MPT", or "CC (by measurements)" for a report that names no mode.
    mode: str
    measurements: Mapping[int, bytes]
    signer_chain: tuple[str, ...]
    #: The RIMs the measurements were compared with: (kind, version, SHA-384 of the RIM).
    rims: tuple[tuple[str, str, bytes], ...]
    checks: tuple[Check, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "measurements", MappingProxyType(dict(self.measurements)))


def check_gpu_binding(result: GpuAttestation, claims: NodeClaims) -> None:
    """Raise :class:`VerificationError` unless the GPU signed :func:`gpu_nonce_for` ``claims``
    and ``claims`` name this GPU. Stops a GPU report made for another node, another key or
    another issue time, and one GPU's report shown for another GPU."""
    if not hmac.compare_digest(result.nonce, gpu_nonce_for(claims)):
        raise VerificationError("GPU nonce does not bind the node key and claims")
    if result.gpu_id not in claims.gpus:
        raise VerificationError("GPU is not named in the node's claims")


@dataclass
class _RimCache:
    """RIMs verified at one ``now``, by SHA-384 of the document (``None``: refused)."""

    now: float
    by_digest: dict[bytes, Rim | None] = field(default_factory=dict)


@dataclass
class NvidiaGpuVerifier:
    """Verifies NVIDIA GPU evidence against pinned roots and operator-published RIMs."""

    device_roots: Sequence[Certificate]
    rim_roots: Sequence[Certificate]
    #: Signed RIM documents (driver and VBIOS), as the operator published them.
    rim_documents: Sequence[bytes] = ()
    crls: Sequence[Crl] = ()
    _cache: _RimCache | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.rim_documents) > limits.MAX_NVIDIA_RIMS:
            raise UsageError("too many RIMs")
        self.device_roots = tuple(self.device_roots)
        self.rim_roots = tuple(self.rim_roots)
        self.rim_documents = tuple(self.rim_documents)
        self.crls = tuple(self.crls)

    def rims(self, now: float, extra: Sequence[bytes] = ()) -> tuple[Rim, ...]:
        """The RIMs (configured, then ``extra``) that verify at ``now``; others are left out.
        Results are cached for one ``now`` (admission runs every node at one time)."""
        if len(extra) > limits.MAX_NVIDIA_RIMS:
            raise TooLargeError("too many RIMs")
        if self._cache is None or self._cache.now != now:
            self._cache = _RimCache(now=now)
        cache = self._cache.by_digest
        good: list[Rim] = []
        seen: set[bytes] = set()
        for document in (*self.rim_documents, *extra):
            digest = hashlib.sha384(document).digest()
            if digest in seen:
                continue
            seen.add(digest)
            if digest not in cache:
                if len(cache) >= 4 * limits.MAX_NVIDIA_RIMS:
                    cache.clear()
                try:
                    cache[digest] = verify_rim(document, self.rim_roots, now=now, crls=self.crls)
                except PrivcloudError:
                    cache[digest] = None
            rim = cache[digest]
            if rim is not None:
                good.append(rim)
        return tuple(good)

    def verify_report(
        self, evidence: Evidence, *, now: float, policy: GpuPolicy
    ) -> tuple[SpdmReport, tuple[Certificate, ...], list[Check]]:
        """Steps 1 to 5 (no RIMs): the report, its verified chain (leaf first, root last) and
        the checks passed. Raises as :meth:`verify` does."""
        if evidence.tee_type != TEE_NVIDIA_GPU:
            raise UsageError("evidence is not NVIDIA GPU evidence")
        checks: list[Check] = []
        # 1. Parse.
        report = parse_report(evidence.raw)
        if not report.request.param1 & SIGNATURE_REQUESTED:
            raise VerificationError("GPU report request did not ask for a signature")
        if report.request.param2 != MEASUREMENT_ALL:
            raise VerificationError("GPU report does not cover all measurements")
        chain = load_device_chain(evidence.certificates)
        # 2. Device chain up to the pinned device identity root.
        if len(chain) != policy.device_chain_length:
            raise VerificationError("GPU certificate chain has an unexpected length")
        path = verify_chain(
            chain, self.device_roots, at=now, allowed_algorithms=_ECDSA, crls=self.crls
        )
        leaf = chain[0]
        check_signer(leaf)
        names = " <- ".join(c.subject_common_name for c in path)
        checks.append(Check("gpu-device-chain", f"{names} (pinned root)"))
        # 3. FWID.
        _check_fwid(leaf, report)
        checks.append(Check("gpu-fwid", f"FWID {report.fwid.hex()[:16]} matches the leaf"))
        # 4. Signature over the request and response.
        leaf.ec_public_key(Curve.P384).verify(report.signature, report.signed_bytes)
        checks.append(Check("gpu-report-signature", "ECDSA P-384 over SPDM request+response"))
        # 5. Confidential-computing mode.
        checks.append(Check("gpu-cc-mode", _check_mode(report, policy)))
        return report, path, checks

    def verify(
        self,
        evidence: Evidence,
        *,
        now: float,
        policy: GpuPolicy,
        extra_rims: Sequence[bytes] = (),
        allowed_rims: frozenset[bytes] | None = None,
    ) -> GpuAttestation:
        """Steps 1 to 8 of the module docstring; raises :class:`DecodeError`,
        :class:`TooLargeError`, :class:`UnsupportedError`, :class:`VerificationError` or
        :class:`PolicyError`, and :class:`UsageError` for evidence of another type.

        ``extra_rims``: RIM documents that came with the evidence (verified like the configured
        ones); ``allowed_rims``: when set, only RIMs whose SHA-384 is in it are used (a release
        manifest's list, so that which RIMs count is logged)."""
        report, path, checks = self.verify_report(evidence, now=now, policy=policy)
        # 6. and 7. Signed RIMs for this driver and VBIOS; measurements.
        drivers, vbioses = self._rims_for(report, now, extra_rims, allowed_rims)
        driver, vbios, compared = _match(report, drivers, vbioses)
        checks.append(
            Check("gpu-rims", f"driver {driver.version}, VBIOS {vbios.version}: signed RIMs")
        )
        checks.append(Check("gpu-measurements", f"{compared} golden measurements match"))
        # 8. Policy: versions.
        _check_versions(report, policy)
        return GpuAttestation(
            gpu_id=hashlib.sha256(path[0].der).digest(),
            nonce=report.request.nonce,
            product=path[1].subject_common_name,
            driver_version=report.driver_version,
            vbios_version=report.vbios_version,
            mode=next(c.detail for c in checks if c.name == "gpu-cc-mode"),
            measurements=report.response.measurements(),
            signer_chain=tuple(c.subject for c in path),
            rims=(
                ("driver", driver.version, driver.digest),
                ("vbios", vbios.version, vbios.digest),
            ),
            checks=tuple(checks),
        )

    def _rims_for(
        self,
        report: SpdmReport,
        now: float,
        extra: Sequence[bytes],
        allowed: frozenset[bytes] | None,
    ) -> tuple[tuple[Rim, ...], tuple[Rim, ...]]:
        """The verified (and allowed) RIMs of the report's driver and VBIOS versions."""
        driver_version = report.driver_version.lower()
        vbios_version = report.vbios_version.lower()
        if not driver_version or not vbios_version:
            raise VerificationError("GPU report names no driver or VBIOS version")
        rims = tuple(r for r in self.rims(now, extra) if allowed is None or r.digest in allowed)
        driver = tuple(r for r in rims if r.version == driver_version)
        vbios = tuple(r for r in rims if r.version == vbios_version)
        if not driver:
            raise VerificationError("no valid signed RIM for the GPU's driver version")
        if not vbios:
            raise VerificationError("no valid signed RIM for the GPU's VBIOS version")
        return driver, vbios


def _match(
    report: SpdmReport, drivers: tuple[Rim, ...], vbioses: tuple[Rim, ...]
) -> tuple[Rim, Rim, int]:
    """The first (driver, VBIOS) RIM pair whose golden measurements the report meets (one
    VBIOS version may have RIMs for several boards); raises the last pair's refusal."""
    error: VerificationError | None = None
    for driver in drivers:
        for vbios in vbioses:
            try:
                return driver, vbios, _compare(report, driver, vbios)
            except VerificationError as exc:
                error = exc
    raise error or VerificationError("GPU measurement not in the signed RIM")


def _check_fwid(leaf: Certificate, report: SpdmReport) -> None:
    if len(report.fwid) != FWID_SIZE:
        raise VerificationError("GPU report carries no FWID")
    for oid in OID_DICE_FWID:
        value = leaf.extension(oid)
        if value is not None:
            if len(value) < FWID_SIZE or not hmac.compare_digest(value[-FWID_SIZE:], report.fwid):
                raise VerificationError("GPU FWID differs from the attestation certificate's")
            return
    raise VerificationError("GPU attestation certificate carries no FWID")


def _compare(report: SpdmReport, driver: Rim, vbios: Rim) -> int:
    golden = driver.active()
    for index, measurement in vbios.active().items():
        if index in golden:
            raise VerificationError("driver and VBIOS RIMs measure the same index")
        golden[index] = measurement
    runtime = report.response.measurements()
    if len(golden) > len(runtime):
        raise VerificationError("GPU report has fewer measurements than the RIMs")
    compared = 0
    for index, measurement in sorted(golden.items()):
        if index == NVDEC_MEASUREMENT_INDEX and report.nvdec0_disabled:
            continue
        value = runtime.get(index)
        if value is None or not any(hmac.compare_digest(value, v) for v in measurement.values):
            raise VerificationError("GPU measurement not in the signed RIM")
        compared += 1
    return compared


def _check_mode(report: SpdmReport, policy: GpuPolicy) -> str:
    flag = report.feature_flag
    if flag is None:
        if policy.require_mode:
            raise PolicyError("GPU report does not name its confidential-computing mode")
        return "CC (by measurements)"
    if flag not in policy.allowed_modes:
        raise PolicyError("GPU is not in confidential-computing mode")
    return flag


def _check_versions(report: SpdmReport, policy: GpuPolicy) -> None:
    allowed = policy.allowed_driver_versions
    if allowed is not None and report.driver_version.lower() not in allowed:
        raise PolicyError("GPU driver version not allowed by policy")
    allowed = policy.allowed_vbios_versions
    if allowed is not None and report.vbios_version.lower() not in allowed:
        raise PolicyError("GPU VBIOS version not allowed by policy")


def pinned_nvidia_roots() -> tuple[Certificate, Certificate]:
    """NVIDIA's device identity root and RIM signing root, from ``roots/nvidia``."""
    base = resources.files("privcloud.attest").joinpath("roots", "nvidia")
    device = load_certificates(base.joinpath("device_identity_root.pem").read_bytes())[0]
    rim = load_certificates(base.joinpath("rim_root.pem").read_bytes())[0]
    return device, rim


@dataclass(frozen=True)
class GpuEvidence:
    """One GPU a node names in its bundle: its identity (bound in the node's claims) and its
    evidence (``Evidence.raw`` empty when the node sent none: refused)."""

    gpu_id: bytes
    evidence: Evidence

    def __post_init__(self) -> None:
        if not isinstance(self.gpu_id, bytes) or len(self.gpu_id) != 32:
            raise UsageError("a GPU identity is 32 bytes")
        if not isinstance(self.evidence, Evidence) or self.evidence.tee_type != TEE_NVIDIA_GPU:
            raise UsageError("GPU evidence must be NVIDIA GPU evidence")


def verify_node_gpus(
    gpus: Sequence[GpuEvidence],
    claims: NodeClaims,
    verifier: NvidiaGpuVerifier | None,
    *,
    now: float,
    policy: GpuPolicy,
    rims: Sequence[bytes] = (),
    allowed_rims: frozenset[bytes] | None = None,
) -> tuple[GpuAttestation, ...]:
    """Every GPU ``claims`` name has valid evidence bound to ``claims``; raises otherwise.

    1. The GPUs listed are exactly those the claims name, in order.
    2. Each has evidence (a GPU named without evidence is refused), and trust material for
       NVIDIA evidence is configured.
    3. The evidence verifies (:meth:`NvidiaGpuVerifier.verify`), is signed by the GPU named
       (its :func:`gpu_id`), and its nonce binds ``claims`` (:func:`check_gpu_binding`).
       ``rims`` came with the node's bundle; ``allowed_rims`` are the SHA-384 digests of the
       RIMs the node's release lists (required when the node names a GPU: which NVIDIA RIMs
       count is then in the transparency log, the same for every device).
    """
    if tuple(g.gpu_id for g in gpus) != claims.gpus:
        raise VerificationError("GPU list differs from the node's claims")
    results: list[GpuAttestation] = []
    for gpu in gpus:
        if not gpu.evidence.raw:
            raise VerificationError("GPU named in the node's claims has no evidence")
        if verifier is None:
            raise VerificationError("no NVIDIA trust material configured for GPU evidence")
        if allowed_rims is None:
            raise VerificationError("the node's release lists no NVIDIA RIMs")
        result = verifier.verify(
            gpu.evidence, now=now, policy=policy, extra_rims=rims, allowed_rims=allowed_rims
        )
        if not hmac.compare_digest(result.gpu_id, gpu.gpu_id):
            raise VerificationError("GPU evidence is signed by another GPU")
        check_gpu_binding(result, claims)
        results.append(result)
    return tuple(results)
