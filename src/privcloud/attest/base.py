"""The one attestation interface (docs/trust-model.md#attestation): evidence in, a verified
result or an exception out.

Every verifier runs the same stages, in order, and raises at the first failure:

1. **parse** the evidence (bounded sizes; :class:`~privcloud.errors.DecodeError`,
   :class:`~privcloud.errors.TooLargeError`, :class:`~privcloud.errors.UnsupportedError`);
2. **verify signatures** up to a *pinned* vendor root at the time ``now`` passed in
   (:class:`~privcloud.errors.VerificationError`);
3. **check policy** (:class:`~privcloud.errors.PolicyError`), the common part in
   :func:`check_policy`, vendor-specific parts in the verifier;
4. return an :class:`AttestationResult`.

Binding a node's key and claims: a node puts ``NodeClaims(...).report_data()`` — SHA-512 over a
domain label and the canonical encoding of its fresh HPKE public key, the time it issued its
bundle, its region, its provider and its HPKE suite — into the evidence's 64-byte report data; a
client calls :func:`check_claims` with the values it was shown before it encrypts to that key.
Hardware reports carry no time of their own, so this is what makes the bundle's ``issued_at``
(and the region, provider and suite labels) signed by the TEE rather than the node's or the
gateway's word. :func:`report_data_for` / :func:`check_binding` are the key-only primitive.

Verifiers never return a bool; a result exists only for evidence that passed every check.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Generic, Protocol, TypeVar

from privcloud import limits
from privcloud.crypto.x509 import Crl
from privcloud.errors import PolicyError, UsageError, VerificationError

#: The logger every attestation module writes to (insecure paths warn here on every use).
logger = logging.getLogger("privcloud.attest")

#: Evidence types (``Evidence.tee_type``).
TEE_SIMULATED: Final = "simulated"
TEE_SEV_SNP: Final = "sev-snp"
TEE_TDX: Final = "tdx"
#: vTPM quotes with an event log (attest/tpm), e.g. a GCE Shielded or Confidential VM.
TEE_VTPM: Final = "vtpm"
#: Google Confidential Space attestation tokens (attest/gcp.py).
TEE_GCP_CONFIDENTIAL_SPACE: Final = "gcp-confidential-space"

#: Size of the report data every supported TEE carries.
REPORT_DATA_SIZE: Final = 64

#: Domain label of :func:`report_data_for` for a node's HPKE key.
NODE_KEY_LABEL: Final = b"privcloud node key v1"
#: Domain label of :meth:`NodeClaims.report_data` (key, issue time, region, provider, suite).
NODE_CLAIMS_LABEL: Final = b"privcloud node claims v1"
#: Domain label of :meth:`NodeClaims.report_data` for claims that add a hybrid post-quantum key.
NODE_CLAIMS_LABEL_V2: Final = b"privcloud node claims v2"


@dataclass(frozen=True)
class Evidence:
    """Attestation evidence as a node publishes it.

    ``raw`` is the signed report or quote; ``certificates`` is the vendor certificate material the
    node sends along (AMD: the VCEK, as DER, PEM or the SNP extended-report certificate table;
    Intel: empty, since the PCK chain travels inside the quote). Neither is trusted.
    """

    tee_type: str
    raw: bytes
    certificates: bytes = b""


@dataclass(frozen=True)
class Check:
    """One check a verifier ran and passed: a short name and what it found (for the trail)."""

    name: str
    detail: str


@dataclass(frozen=True)
class AttestationResult:
    """What verified evidence says. Only a verifier creates one, after every check passed."""

    tee_type: str
    #: The launch measurement (SEV-SNP MEASUREMENT, TDX MRTD, simulated measurement).
    measurement: bytes
    #: The 64 bytes the guest chose; see :func:`check_binding`.
    report_data: bytes
    #: True when the TEE's debug mode was on (memory readable by the host).
    debug: bool
    #: Security version numbers by component name, e.g. ``{"snp": 8, "microcode": 115}``.
    tcb: Mapping[str, int]
    #: The chip or platform identity (SEV-SNP CHIP_ID, Intel PPID), empty when unknown.
    platform_id: bytes
    #: Subjects of the verified signer chain, signer first, pinned root last.
    signer_chain: tuple[str, ...]
    #: Further named measurement registers (TDX RTMRs, SEV-SNP HOST_DATA, ...).
    registers: Mapping[str, bytes] = field(default_factory=dict)
    #: Processor product line, when known ("Milan", "Genoa", "Turin", "TDX").
    product: str = ""
    #: Unix time the evidence says it was made, for evidence that carries one.
    issued_at: float | None = None
    #: True only for the software-simulated TEE: no hardware protects this node.
    insecure: bool = False
    #: The vendor's TCB status from signed collateral (Intel: "UpToDate", "OutOfDate", ...);
    #: ``None`` when the verifier derived none.
    tcb_status: str | None = None
    #: The vendor's security advisories for that TCB level ("INTEL-SA-00837", ...).
    advisory_ids: tuple[str, ...] = ()
    #: The checks the verifier passed, in order (shown in the admission trail and console).
    checks: tuple[Check, ...] = ()

    def __post_init__(self) -> None:
        if len(self.report_data) != REPORT_DATA_SIZE:
            raise UsageError("report data must be 64 bytes")
        object.__setattr__(self, "tcb", MappingProxyType(dict(self.tcb)))
        object.__setattr__(self, "registers", MappingProxyType(dict(self.registers)))


def _default_tee_types() -> frozenset[str]:
    return frozenset({TEE_SEV_SNP, TEE_TDX})


@dataclass(frozen=True)
class Policy:
    """What a client accepts. The defaults are the production client's: hardware TEEs only,
    debug off, the simulated TEE refused."""

    allowed_tee_types: frozenset[str] = field(default_factory=_default_tee_types)
    #: Accept the software-simulated TEE (development only; also needs "simulated" allowed).
    allow_insecure_simulated: bool = False
    #: Accept evidence from a TEE in debug mode (never in production).
    allow_debug: bool = False
    #: Minimum security version per TEE type and component: ``{"sev-snp": {"snp": 8}}``.
    #: A component the evidence does not report fails the check (fail closed).
    min_tcb: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: When set, the measurement must be one of these (the trust layer also checks the log).
    allowed_measurements: frozenset[bytes] | None = None
    #: When set, each named register must hold one of the given values: ``{"rtmr1": {...}}``.
    allowed_registers: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    #: Oldest evidence accepted, in seconds, for evidence that carries its own time. Hardware
    #: reports carry none: their freshness comes from the per-boot key bound in report data.
    max_age_s: float | None = None
    #: Allowed clock skew for evidence that says when it was made.
    max_clock_skew_s: float = 300.0
    #: SEV-SNP: the VMPL the report must come from; 0, the most privileged level, by default, so
    #: that a less privileged guest component (say, under an SVSM) cannot have its own key bound.
    #: ``None`` accepts any VMPL (never in production).
    sev_snp_required_vmpl: int | None = 0
    #: SEV-SNP: accept a guest whose policy allows a migration agent (MIGRATE_MA, bit 18), which
    #: can export the guest's memory. Off by default.
    allow_sev_snp_migration_agent: bool = False
    #: Vendor TCB statuses accepted when the verifier derived one (Intel: "UpToDate",
    #: "SWHardeningNeeded", "ConfigurationNeeded", "OutOfDate", "Revoked", ...). Only "UpToDate"
    #: by default; an operator may add "SWHardeningNeeded" (mitigations in software).
    allowed_tcb_statuses: frozenset[str] = frozenset({"UpToDate"})
    #: TEE types whose evidence must come with a TCB status (Intel: collateral supplied).
    require_tcb_status: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_tee_types", frozenset(self.allowed_tee_types))
        object.__setattr__(self, "allowed_tcb_statuses", frozenset(self.allowed_tcb_statuses))
        object.__setattr__(self, "require_tcb_status", frozenset(self.require_tcb_status))
        frozen_tcb = {k: MappingProxyType(dict(v)) for k, v in self.min_tcb.items()}
        object.__setattr__(self, "min_tcb", MappingProxyType(frozen_tcb))
        frozen_regs = {k: frozenset(v) for k, v in self.allowed_registers.items()}
        object.__setattr__(self, "allowed_registers", MappingProxyType(frozen_regs))
        if self.allowed_measurements is not None:
            object.__setattr__(self, "allowed_measurements", frozenset(self.allowed_measurements))

    @classmethod
    def insecure_for_development(cls) -> Policy:
        """A policy that accepts the simulated TEE besides hardware TEEs. Logs a warning."""
        logger.warning("INSECURE: policy accepts simulated TEE evidence (development only)")
        return cls(
            allowed_tee_types=frozenset({TEE_SIMULATED, TEE_SEV_SNP, TEE_TDX}),
            allow_insecure_simulated=True,
        )


class Verifier(Protocol):
    """One evidence format's verifier. Holds its pinned roots; takes time as an argument."""

    tee_type: str

    def verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """Parse, verify up to pinned roots at ``now``, check ``policy``; raise on any failure."""
        ...


R = TypeVar("R")


class PinnedVerifier(abc.ABC, Generic[R]):
    """Base of the hardware verifiers: the vendor roots they pin and the CRLs they are given.

    A subclass's ``verify`` runs its format's numbered steps and raises, for bad evidence,
    :class:`~privcloud.errors.DecodeError`, :class:`~privcloud.errors.TooLargeError`,
    :class:`~privcloud.errors.UnsupportedError`, :class:`VerificationError` or
    :class:`PolicyError` — and nothing foreign (tests/unit/test_crypto_boundary_fuzz.py) — and
    :class:`UsageError` for evidence of another TEE type.
    """

    tee_type: str

    def __init__(self, roots: Sequence[R], *, crls: Sequence[Crl] = ()) -> None:
        self._roots = tuple(roots)
        self._crls = tuple(crls)

    def verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """Verify ``evidence`` of this verifier's TEE type (:class:`UsageError` for another)."""
        if evidence.tee_type != self.tee_type:
            raise UsageError("evidence is for another TEE type")
        return self._verify(evidence, now=now, policy=policy)

    @abc.abstractmethod
    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """The format's numbered steps, for evidence of this verifier's TEE type."""


def check_policy(result: AttestationResult, policy: Policy, *, now: float) -> None:
    """The checks every TEE type shares; raises :class:`PolicyError` at the first failure.

    1. The TEE type is allowed (the simulated TEE also needs ``allow_insecure_simulated``).
    2. Debug mode is off unless ``allow_debug``.
    3. Every component in ``min_tcb[tee_type]`` is reported and at least the minimum.
    4. The measurement is allowed, when an allow-list is set.
    5. Every register in ``allowed_registers`` is reported and allowed.
    6. Evidence that says when it was made is not older than ``max_age_s`` and not from the
       future beyond ``max_clock_skew_s``.
    7. A TCB status, when derived, is in ``allowed_tcb_statuses``; one is required for the TEE
       types in ``require_tcb_status``.
    """
    if result.tee_type not in policy.allowed_tee_types:
        raise PolicyError("TEE type not allowed by policy")
    if result.insecure and not policy.allow_insecure_simulated:
        raise PolicyError("insecure simulated evidence refused by policy")
    if result.debug and not policy.allow_debug:
        raise PolicyError("TEE debug mode is on")
    for component, minimum in policy.min_tcb.get(result.tee_type, {}).items():
        value = result.tcb.get(component)
        if value is None or value < minimum:
            raise PolicyError("TCB below policy minimum")
    if policy.allowed_measurements is not None and not any(
        hmac.compare_digest(result.measurement, m) for m in policy.allowed_measurements
    ):
        raise PolicyError("measurement not allowed by policy")
    for name, values in policy.allowed_registers.items():
        reg = result.registers.get(name)
        if reg is None or not any(hmac.compare_digest(reg, v) for v in values):
            raise PolicyError("register value not allowed by policy")
    if result.issued_at is not None:
        if result.issued_at > now + policy.max_clock_skew_s:
            raise PolicyError("evidence is from the future")
        if policy.max_age_s is not None and now - result.issued_at > policy.max_age_s:
            raise PolicyError("evidence is too old")
    if result.tcb_status is None:
        if result.tee_type in policy.require_tcb_status:
            raise PolicyError("no TCB status: policy requires vendor TCB collateral")
    elif result.tcb_status not in policy.allowed_tcb_statuses:
        raise PolicyError("TCB status not allowed by policy")


def report_data_for(public_key: bytes, label: bytes = NODE_KEY_LABEL) -> bytes:
    """The 64 report-data bytes that bind ``public_key``: ``SHA-512(label || 0x00 || public_key)``.

    SHA-512 fills the 64 bytes every supported TEE offers exactly; the label separates this use
    from any other use of report data, and the zero byte (forbidden inside the label) ends it, so
    no two (label, key) pairs hash the same input.
    """
    if b"\x00" in label or not label:
        raise UsageError("label must be non-empty and free of zero bytes")
    return hashlib.sha512(label + b"\x00" + public_key).digest()


def check_binding(
    result: AttestationResult, public_key: bytes, label: bytes = NODE_KEY_LABEL
) -> None:
    """Raise :class:`VerificationError` unless ``result``'s report data binds ``public_key``.

    This stops a key swapped after attestation: evidence for one key cannot vouch for another.
    """
    if not hmac.compare_digest(result.report_data, report_data_for(public_key, label)):
        raise VerificationError("report data does not bind the node key")


_U16_MAX: Final = 0xFFFF
#: Size of a GPU identity in :class:`NodeClaims` (SHA-256).
GPU_ID_SIZE: Final = 32
_U64_MAX: Final = 2**64 - 1


@dataclass(frozen=True)
class NodeClaims:
    """What a node asserts about itself, bound into its evidence's report data.

    Canonical encoding (:meth:`encode`, all integers big-endian)::

        u16 len || public_key        the node's HPKE public key
        u64      issued_at           Unix seconds when the node issued its bundle
        u8  len || region            ASCII
        u8  len || provider          ASCII
        u16 kem || u16 kdf || u16 aead   the HPKE suite ids (RFC 9180 §7)
      and, only for a node with a hybrid post-quantum key (report data label v2):
        u16 len || pq_public_key     its ML-KEM-768 + X25519 HPKE public key (docs/adr/0014)
        u16 kem || u16 kdf || u16 aead   that key's suite ids
      and, only for a node that names GPUs (docs/trust-model.md#gpu-evidence):
        u8 0x01 || u8 n || n x 32 bytes  the identities of the GPUs it uses

    Every field is length-prefixed or fixed-size, so two different claims never encode the same
    (claims without GPUs encode exactly as before). Each GPU named must come with valid GPU
    evidence bound to these claims (``privcloud.attest.nvidia``). Raises :class:`UsageError`
    for a value outside these bounds.
    """

    public_key: bytes
    issued_at: int
    region: str
    provider: str
    suite: tuple[int, int, int]
    pq_public_key: bytes = b""
    pq_suite: tuple[int, int, int] | None = None
    #: Identities of the GPUs the node uses (``privcloud.attest.nvidia.gpu_id``).
    gpus: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or not 0 < len(self.public_key) <= _U16_MAX:
            raise UsageError("public key must be 1 to 65535 bytes")
        if isinstance(self.issued_at, bool) or not isinstance(self.issued_at, int):
            raise UsageError("issued_at must be an int")
        if not 0 <= self.issued_at <= _U64_MAX:
            raise UsageError("issued_at out of range")
        for label in (self.region, self.provider):
            if not isinstance(label, str) or not label.isascii():
                raise UsageError("region and provider must be ASCII text")
            if not 0 < len(label) <= limits.MAX_NODE_CLAIM_LABEL_BYTES:
                raise UsageError("region and provider must be 1 to 255 characters")
        suite = tuple(self.suite)
        if len(suite) != 3 or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= _U16_MAX for i in suite
        ):
            raise UsageError("suite must be three 16-bit ids (kem, kdf, aead)")
        object.__setattr__(self, "suite", (int(suite[0]), int(suite[1]), int(suite[2])))
        if (self.pq_suite is None) != (self.pq_public_key == b""):
            raise UsageError("a post-quantum key needs its suite, and a suite its key")
        if self.pq_suite is not None:
            pq_suite = tuple(self.pq_suite)
            if not isinstance(self.pq_public_key, bytes) or len(self.pq_public_key) > _U16_MAX:
                raise UsageError("post-quantum public key must be 1 to 65535 bytes")
            if len(pq_suite) != 3 or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= _U16_MAX
                for i in pq_suite
            ):
                raise UsageError("suite must be three 16-bit ids (kem, kdf, aead)")
            object.__setattr__(self, "pq_suite", (pq_suite[0], pq_suite[1], pq_suite[2]))
        gpus = tuple(self.gpus)
        if len(gpus) > limits.MAX_NODE_GPUS or len(set(gpus)) != len(gpus):
            raise UsageError("GPUs must be distinct and at most MAX_NODE_GPUS")
        if not all(isinstance(g, bytes) and len(g) == GPU_ID_SIZE for g in gpus):
            raise UsageError("a GPU identity is 32 bytes")
        object.__setattr__(self, "gpus", gpus)

    def encode(self) -> bytes:
        """The canonical bytes (class docstring)."""
        region, provider = self.region.encode("ascii"), self.provider.encode("ascii")
        return b"".join(
            (
                len(self.public_key).to_bytes(2, "big"),
                self.public_key,
                self.issued_at.to_bytes(8, "big"),
                bytes([len(region)]),
                region,
                bytes([len(provider)]),
                provider,
                b"".join(i.to_bytes(2, "big") for i in self.suite),
                self._encode_pq(),
                b"\x01" + bytes([len(self.gpus)]) + b"".join(self.gpus) if self.gpus else b"",
            )
        )

    def _encode_pq(self) -> bytes:
        if self.pq_suite is None:
            return b""
        suite = b"".join(i.to_bytes(2, "big") for i in self.pq_suite)
        return len(self.pq_public_key).to_bytes(2, "big") + self.pq_public_key + suite

    def report_data(self) -> bytes:
        """``SHA-512(label || 0x00 || encode())``: the 64 bytes a node attests; the label is
        ``NODE_CLAIMS_LABEL``, or ``NODE_CLAIMS_LABEL_V2`` when a post-quantum key is claimed
        (so stripping that key from the claims changes the report data)."""
        label = NODE_CLAIMS_LABEL if self.pq_suite is None else NODE_CLAIMS_LABEL_V2
        return report_data_for(self.encode(), label)


def check_claims(result: AttestationResult, claims: NodeClaims) -> None:
    """Raise :class:`VerificationError` unless ``result``'s report data binds ``claims``.

    Stops a key swapped after attestation, and old evidence re-served with a rewritten issue
    time, region, provider or suite: any of them changes the report data the TEE signed.
    """
    if not hmac.compare_digest(result.report_data, claims.report_data()):
        raise VerificationError("report data does not bind the node key and claims")
