"""Node admission, client side: the one place that decides whether a node may get user data.

docs/trust-model.md#node-admission: *evidence valid, report data binds the key, measurement equals a
logged release, proof verifies against a trusted checkpoint, policy (region, TEE types, TCB,
debug) holds. Only admitted nodes get data.* :func:`admit` runs these steps, in this order, on one
node descriptor and the bundle it carries (:mod:`privcloud.trust.bundle`). Each step raises at
the first failure; nothing here returns a bool. Time and every piece of trust material (pinned
vendor roots, the trusted log state, proofs the caller fetched) are arguments: sans-IO.

0. **Well-formed**: the key id commits to the node's HPKE public key, the key is valid for its
   KEM, the node published a bundle, and its TEE label names the evidence's type.
1. **Evidence valid** (§3 "evidence valid"): :func:`privcloud.attest.verify_evidence` with the
   client's attestation policy and *pinned* roots — parse, signatures up to a vendor root at
   ``now``, TEE policy. The INSECURE simulated TEE is refused unless the policy is the explicit
   development policy (:meth:`ClientPolicy.insecure_local_dev`).
2. **Report data binds the key and the node's claims** (§3 "report data binds the key"): the
   evidence's report data is ``NodeClaims(...).report_data()`` of the very key the client will
   encrypt to, the bundle's ``issued_at``, and the descriptor's region, provider and HPKE suite
   (:func:`privcloud.attest.check_claims`). A key swapped after attestation fails here, and so
   does old hardware evidence re-served with a rewritten ``issued_at`` (hardware reports carry
   no time: this is what makes step 5 mean anything for them) or labels relabelled by the
   gateway. **GPUs**: each GPU the claims name has NVIDIA evidence that verifies up to the pinned
   NVIDIA roots, matches the operator-published signed RIMs, shows CC mode, and whose nonce binds
   the same claims (:func:`privcloud.attest.nvidia.verify_node_gpus`;
   docs/trust-model.md#gpu-evidence); a GPU named without valid evidence refuses the node.
   Only RIMs whose SHA-384 the release lists (``config.nvidia_rims``, :func:`release_rims`)
   count, so which reference values are accepted is in the log (proven at step 4).
3. **Measurement equals the release's** (§3 "measurement equals a logged release"): the
   measured launch value equals the release manifest's measurement for that TEE type; a release
   that records none for the type is refused. For TDX the release records MRTD and RTMR0-3 and
   all five must equal the quote's (:func:`check_release_measurement`); a release that records
   the MRTD alone admits no TDX node (the kernel, initrd and application live in the RTMRs).
4. **The release is in the log** (§3 "proof verifies against a trusted checkpoint"; RFC 9162
   §2.1.3.2): the manifest's leaf is proven at its index against a checkpoint the client trusts
   (:class:`~privcloud.transparency.client_state.TrustedLogState`: signed by the log, cosigned
   by enough witnesses when it was accepted, append-only since). The bundle's checkpoint must be
   signed by the log; one of the trusted size with another root is a fork (:class:`ForkError`);
   an older one is a rollback (:class:`RollbackError`) unless the caller fetched an inclusion
   proof at the trusted size; a newer one must extend the trusted one (consistency proof and
   fresh witness cosignatures, :meth:`TrustedLogState.update`).
5. **Fresh** (≤ 24 h): the bundle, and evidence that carries its own time, are no older than
   ``policy.max_bundle_age_s`` and not from the future beyond ``policy.max_clock_skew_s``.
6. **Policy**: region and provider allowed (docs/trust-model.md#data-residency), and the attestation
   policy (TEE types, debug off, TCB minimums) holds — run by the verifier inside step 1 and
   again here, so that this procedure does not rest on every verifier remembering it.

A whole directory: :func:`admit_listed` for a logged one (docs/adr/0033: entries the policy
excludes on their logged labels set aside, and any other failure refuses the directory, so a
gateway cannot make a device seal to a subset by breaking bundles), :func:`admit_all` entry by
entry otherwise (and for the gateway's own check of the nodes it lists).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from privcloud import limits
from privcloud.attest import (
    TEE_SIMULATED,
    TEE_TDX,
    AttestationResult,
    NodeClaims,
    Policy,
    TrustRoots,
    check_claims,
    check_policy,
    verify_evidence,
)
from privcloud.attest.nvidia import GpuAttestation, GpuPolicy, verify_node_gpus
from privcloud.crypto.hpke import Suite, check_public_key
from privcloud.crypto.symmetric import constant_time_equal
from privcloud.envelope import key_id_for
from privcloud.errors import (
    DirectoryConsistencyError,
    PolicyError,
    PrivcloudError,
    UsageError,
    VerificationError,
)
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.errors import ForkError, RollbackError
from privcloud.transparency.merkle import verify_inclusion
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import NodeDescriptor
from privcloud.trust.release_manifest import (
    ReleaseManifest,
    measurement_hex,
    tdx_expected_registers,
)

log = logging.getLogger("privcloud.trust")

#: The TEE label of the software-simulated TEE (it protects nothing).
SIMULATED_TEE = TEE_SIMULATED


@dataclass(frozen=True)
class ClientPolicy:
    """What a client accepts. The default is the production policy: hardware TEEs only (SEV-SNP,
    TDX), debug off, the simulated TEE refused, any region, bundles at most a day old.

    ``attestation`` is the evidence policy of :mod:`privcloud.attest` (TEE types, debug, TCB
    minimums, registers); the rest is what only the trust layer can judge.
    """

    attestation: Policy = field(default_factory=Policy)
    #: Regions that may see the user's data; ``None`` allows every region.
    allowed_regions: frozenset[str] | None = None
    #: Providers that may see the user's data; ``None`` allows every provider.
    allowed_providers: frozenset[str] | None = None
    #: Oldest bundle admitted, in seconds (docs/trust-model.md#node-admission: 24 h).
    max_bundle_age_s: float = limits.MAX_NODE_BUNDLE_AGE_S
    #: Tolerance for a node clock ahead of ours, in seconds.
    max_clock_skew_s: float = limits.NODE_BUNDLE_CLOCK_SKEW_S
    #: Tags recorded in the trail (e.g. "insecure-local-dev").
    notes: tuple[str, ...] = ()
    #: What the client accepts from the GPUs a node names (CC modes, versions).
    gpu: GpuPolicy = field(default_factory=GpuPolicy)

    def __post_init__(self) -> None:
        if not isinstance(self.attestation, Policy):
            raise UsageError("attestation policy must be a privcloud.attest.Policy")
        for limit in (self.max_bundle_age_s, self.max_clock_skew_s):
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise UsageError("time limits must be numbers")
            if not math.isfinite(limit) or limit < 0:
                raise UsageError("time limits must be finite and not negative")
        for name in ("allowed_regions", "allowed_providers"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset(value))

    @property
    def allowed_tees(self) -> frozenset[str]:
        """TEE types the attestation policy accepts."""
        return self.attestation.allowed_tee_types

    @property
    def allow_insecure_simulated(self) -> bool:
        """True only for the INSECURE development policy."""
        return self.attestation.allow_insecure_simulated

    @classmethod
    def insecure_local_dev(
        cls,
        *,
        allowed_regions: frozenset[str] | None = None,
        allowed_providers: frozenset[str] | None = None,
    ) -> ClientPolicy:
        """A policy that also admits simulated-TEE nodes. INSECURE: for the local cloud only.

        Every other step of admission still runs: the simulated evidence must verify under a
        configured dev root, bind the key, match a logged release, and so on.
        """
        log.warning("INSECURE client policy: simulated TEE nodes will be admitted")
        return cls(
            attestation=Policy.insecure_for_development(),
            allowed_regions=allowed_regions,
            allowed_providers=allowed_providers,
            notes=("insecure-local-dev",),
        )


@dataclass(frozen=True)
class LogProofs:
    """Proofs the client fetched from the log for one node's release (input to step 4).

    ``inclusion``: the release's inclusion proof at the *trusted* checkpoint's size, for when the
    node proved it against another checkpoint. ``consistency``: the proof from the trusted
    checkpoint to the node's newer one, for a client whose trusted checkpoint lags.
    """

    inclusion: tuple[bytes, ...] | None = None
    consistency: tuple[bytes, ...] | None = None


@dataclass(frozen=True)
class AdmissionStep:
    """One check that passed: its number in the procedure, a short name and what it found."""

    step: int
    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.step}. {self.name}: {self.detail}"


@dataclass(frozen=True)
class AdmittedNode:
    """A node that passed admission, with what it was admitted on and the trail of checks."""

    descriptor: NodeDescriptor
    attestation: AttestationResult
    manifest: ReleaseManifest
    log_index: int
    #: The checkpoint the release's inclusion was proven against (trusted, or extending it).
    checkpoint: Checkpoint
    trail: tuple[AdmissionStep, ...]
    #: The node's verified GPUs (none for a CPU-only node).
    gpus: tuple[GpuAttestation, ...] = ()

    @property
    def checks(self) -> tuple[str, ...]:
        """The names of the checks that passed, in order."""
        return tuple(s.name for s in self.trail)

    @property
    def insecure(self) -> bool:
        """True when the node attested with the INSECURE simulated TEE."""
        return self.attestation.insecure


def admit(
    node: NodeDescriptor,
    *,
    policy: ClientPolicy,
    roots: TrustRoots,
    log_state: TrustedLogState,
    now: float,
    proofs: LogProofs | None = None,
    on_step: Callable[[AdmissionStep], None] | None = None,
) -> AdmittedNode:
    """Run the admission procedure (module docstring) on ``node`` at time ``now``.

    Returns an :class:`AdmittedNode` only when every step passed; otherwise raises a
    :class:`~privcloud.errors.PeerError` subclass: :class:`VerificationError` (and its
    :class:`PolicyError`, :class:`RollbackError`, :class:`ForkError`,
    ``MissingCosignatureError``), :class:`~privcloud.errors.DecodeError`,
    :class:`~privcloud.errors.TooLargeError`, :class:`~privcloud.errors.UnsupportedError`.
    ``on_step`` sees each passed step as it passes (the researcher tool prints them).
    """
    if not isinstance(now, int | float) or not math.isfinite(now):
        raise UsageError("invalid time")
    trail: list[AdmissionStep] = []

    def passed(step: int, name: str, detail: str) -> None:
        record = AdmissionStep(step, name, detail)
        trail.append(record)
        if on_step is not None:
            on_step(record)

    # 0. Well-formed.
    expected_id = key_id_for(node.suite.kem, node.public_key)
    if not constant_time_equal(expected_id, node.key_id):
        raise VerificationError("node key id does not commit to its public key")
    check_public_key(node.suite.kem, node.public_key)
    bundle = node.bundle
    if bundle is None:
        raise VerificationError("node published no attestation bundle")
    if node.tee != bundle.evidence.tee_type:
        raise VerificationError("node TEE label differs from its evidence")
    passed(0, "well-formed", f"key id {node.key_id.hex()[:16]} commits to the HPKE key")

    # 1. Evidence valid, up to pinned roots, under the client's attestation policy.
    result = verify_evidence(bundle.evidence, now=now, policy=policy.attestation, roots=roots)
    chain = " <- ".join(s.split(",")[0] for s in result.signer_chain)
    if result.insecure:
        log.warning("INSECURE: admitting a node that attests with the simulated TEE")
        passed(1, "evidence-valid", f"{result.tee_type} (INSECURE, no hardware) signed by {chain}")
    else:
        summary = evidence_summary(result)
        passed(1, "evidence-valid", f"{result.tee_type} {result.product} chain {chain}{summary}")

    # 2. The report data binds the HPKE key the client will encrypt to, and the node's claims.
    claims = node_claims(node, bundle)
    check_claims(result, claims)
    passed(
        2,
        "report-data-binds-key",
        "report data = SHA-512(label || 0 || HPKE key, issued_at, region, provider, suite)",
    )
    gpus = verify_node_gpus(
        bundle.gpus,
        claims,
        roots.nvidia_gpu,
        now=now,
        policy=policy.gpu,
        rims=bundle.rims,
        allowed_rims=release_rims(bundle.manifest),
    )
    for gpu in gpus:
        passed(
            2,
            "gpu-evidence-valid",
            f"{gpu.product} ({gpu.mode}) driver {gpu.driver_version} VBIOS {gpu.vbios_version}: "
            + ", ".join(c.name for c in gpu.checks)
            + "; nonce binds the claims",
        )

    # 3. The measurement is the release manifest's measurement for this TEE type.
    manifest = bundle.manifest
    expected = manifest.measurement_for(result.tee_type)
    if expected is None:
        raise VerificationError("the release records no measurement for this TEE type")
    check_release_measurement(expected, result)
    passed(3, "measurement-matches-release", f"{result.tee_type} {measurement_hex(expected)}")

    # 4. The manifest is in the log, proven against a trusted checkpoint.
    checkpoint, hashes = _prove_in_log(bundle, log_state, now, proofs)
    passed(
        4,
        "release-in-log",
        f"entry {bundle.log_index} (leaf {manifest.leaf_hash().hex()[:16]}), inclusion proof of "
        f"{hashes} hashes, in {checkpoint.origin} size {checkpoint.size} root "
        f"{checkpoint.root_hash.hex()[:16]}",
    )

    # 5. Fresh.
    _check_fresh(float(bundle.issued_at), policy, now, "node bundle")
    if result.issued_at is not None:
        _check_fresh(result.issued_at, policy, now, "evidence")
    age = max(0.0, now - bundle.issued_at)
    passed(5, "fresh", f"bundle issued {age:.0f} s ago (limit {policy.max_bundle_age_s:.0f} s)")

    # 6. Policy: data residency, and the attestation policy once more.
    if policy.allowed_regions is not None and node.region not in policy.allowed_regions:
        raise PolicyError("node region not allowed by policy")
    if policy.allowed_providers is not None and node.provider not in policy.allowed_providers:
        raise PolicyError("node provider not allowed by policy")
    check_policy(result, policy.attestation, now=now)
    tcb = ", ".join(f"{k}={v}" for k, v in sorted(result.tcb.items())) or "none reported"
    if result.tcb_status is not None:
        tcb = f"status {result.tcb_status} (allowed), {tcb}"
    passed(
        6,
        "policy",
        f"region {node.region}, provider {node.provider}, debug "
        f"{'on (allowed)' if result.debug else 'off'}, TCB {tcb}",
    )
    return AdmittedNode(node, result, manifest, bundle.log_index, checkpoint, tuple(trail), gpus)


def evidence_summary(result: AttestationResult) -> str:
    """What the verifier checked, for the trail: its checks and the vendor TCB status."""
    parts = []
    if result.checks:
        parts.append("checks " + ", ".join(c.name for c in result.checks))
    if result.tcb_status is not None:
        advisories = ", ".join(result.advisory_ids) or "none"
        parts.append(f"TCB status {result.tcb_status} (advisories: {advisories})")
    return "".join(f"; {p}" for p in parts)


def node_claims(node: NodeDescriptor, bundle: NodeBundle) -> NodeClaims:
    """What the node's evidence must bind (step 2): its key, its bundle's issue time, and the
    region, provider and suite the client was shown. A label that cannot be encoded refuses."""
    try:
        return NodeClaims(
            public_key=node.public_key,
            issued_at=bundle.issued_at,
            region=node.region,
            provider=node.provider,
            suite=(int(node.suite.kem), int(node.suite.kdf), int(node.suite.aead)),
            pq_public_key=b"" if node.pq_key is None else node.pq_key.public_key,
            pq_suite=None if node.pq_key is None else _ids(node.pq_key.suite),
            gpus=tuple(g.gpu_id for g in bundle.gpus),
        )
    except UsageError as exc:
        raise VerificationError("node claims cannot be bound") from exc


def _ids(suite: Suite) -> tuple[int, int, int]:
    """A suite's (kem, kdf, aead) ids, as NodeClaims binds them (the hybrid key: ADR 0014)."""
    return (int(suite.kem), int(suite.kdf), int(suite.aead))


def release_rims(manifest: ReleaseManifest) -> frozenset[bytes] | None:
    """SHA-384 digests of the NVIDIA RIMs a release accepts (``config.nvidia_rims``, hex), or
    ``None`` when it lists none (its nodes then name no GPU). :class:`VerificationError` if
    malformed. The manifest is proven in the log at step 4, before admission succeeds."""
    listed = manifest.config.get("nvidia_rims")
    if listed is None:
        return None
    if not isinstance(listed, list) or len(listed) > limits.MAX_NVIDIA_RIMS:
        raise VerificationError("the release's NVIDIA RIM list is malformed")
    try:
        digests = frozenset(bytes.fromhex(d) for d in listed if isinstance(d, str))
    except ValueError as exc:
        raise VerificationError("the release's NVIDIA RIM list is malformed") from exc
    if len(digests) != len(listed) or any(len(d) != 48 for d in digests):
        raise VerificationError("the release's NVIDIA RIM list is malformed")
    return digests


def check_release_measurement(expected: bytes, result: AttestationResult) -> None:
    """Step 3: ``result`` measures what the release records (:class:`VerificationError`).

    TDX: ``expected`` must hold MRTD and RTMR0-3, and each equals the quote's register; a
    release with the MRTD alone is refused (fail closed). Other TEEs: the launch measurement.
    """
    if result.tee_type == TEE_TDX:
        registers = tdx_expected_registers(expected)
        if registers is None:
            raise VerificationError("the release records no RTMR values for TDX")
        actual = dict(result.registers, mrtd=result.measurement)
        for name, value in registers.items():
            got = actual.get(name)
            if got is None or not hmac.compare_digest(value, got):
                raise VerificationError(f"TDX {name} differs from the release manifest")
        return
    if not hmac.compare_digest(expected, result.measurement):
        raise VerificationError("measurement differs from the release manifest")


def _prove_in_log(
    bundle: NodeBundle, log_state: TrustedLogState, now: float, proofs: LogProofs | None
) -> tuple[Checkpoint, int]:
    """Step 4; returns the checkpoint the inclusion was proven against and the proof's length."""
    trusted = log_state.checkpoint
    offered = open_checkpoint(bundle.checkpoint, [log_state.log_key], origin=log_state.origin)
    if offered.size == trusted.size and offered.root_hash != trusted.root_hash:
        raise ForkError("log signed two different trees of the same size")
    leaf = bundle.manifest.leaf_hash()
    if proofs is not None and proofs.inclusion is not None:
        # A proof the client fetched from the log at its trusted size.
        verify_inclusion(leaf, bundle.log_index, trusted.size, proofs.inclusion, trusted.root_hash)
        return trusted, len(proofs.inclusion)
    if offered.size == trusted.size:
        verify_inclusion(leaf, bundle.log_index, trusted.size, bundle.inclusion, trusted.root_hash)
        return trusted, len(bundle.inclusion)
    if offered.size < trusted.size:
        raise RollbackError("node's checkpoint is older than the trusted one")
    # The node's checkpoint is newer: accept it only as a cosigned, consistent extension.
    if proofs is None or proofs.consistency is None:
        raise VerificationError("node's checkpoint is newer than the trusted one")
    log_state.update(bundle.checkpoint, proofs.consistency, now)
    verify_inclusion(leaf, bundle.log_index, offered.size, bundle.inclusion, offered.root_hash)
    return offered, len(bundle.inclusion)


def _check_fresh(issued_at: float, policy: ClientPolicy, now: float, what: str) -> None:
    if issued_at > now + policy.max_clock_skew_s:
        raise PolicyError(f"{what} is from the future")
    if now - issued_at > policy.max_bundle_age_s:
        raise PolicyError(f"{what} is stale")


def proofs_key(node: NodeDescriptor) -> str:
    """What the log proofs fetched for ``node`` are filed under: its bundle's release index and
    checkpoint, which are what they prove. Not its node id, which the evidence does not bind
    and two listed entries may share (a review had one entry's proofs lent to the other, and a
    whole logged directory refused for it)."""
    bundle = node.bundle
    if bundle is None:
        return ""
    return f"{bundle.log_index}:{hashlib.sha256(bundle.checkpoint).hexdigest()}"


#: The refusal reason recorded when checking a node raised something other than our errors: a
#: bug, never the node's word. Fixed text: the foreign exception's message may carry peer bytes.
INTERNAL_REFUSAL = "internal error while checking the node"


def admit_all(
    nodes: Sequence[NodeDescriptor],
    *,
    policy: ClientPolicy,
    roots: TrustRoots,
    log_state: TrustedLogState,
    now: float,
    proofs: Mapping[str, LogProofs] | None = None,
    on_step: Callable[[AdmissionStep], None] | None = None,
) -> tuple[list[AdmittedNode], list[tuple[str, str]]]:
    """Admit every node it can; returns ``(admitted, [(node_id, refusal reason), ...])``.
    ``on_step`` sees each step each node passes (:func:`admit`).

    Each node is admitted or refused on its own: one entry's failure never stops the others
    (a poisoned directory entry must not deny service through the honest nodes).

    1. The caller's arguments (``now``, ``policy``) are checked once, before any node:
       a :class:`UsageError` there is the caller's mistake and propagates.
    2. Each node runs :func:`admit`. Any :class:`~privcloud.errors.PrivcloudError` refuses that
       node with the error's fixed, content-free message as the reason (a usage or internal error
       raised while checking one node is about that node's data, so it refuses that node too).
    3. Any other :class:`Exception` also refuses only that node, with the fixed reason
       :data:`INTERNAL_REFUSAL`, and is logged at ERROR with its type (never its message). The
       crypto boundary turns every foreign exception into ours
       (:mod:`privcloud.crypto.boundary`), so this is a bug; failing closed for that node, and
       open for the others, is the safe choice. ``BaseException``s that are not
       ``Exception`` (cancellation, interpreter exit) and :class:`MemoryError` propagate.

    ``proofs`` maps :func:`proofs_key` of a node to the proofs the caller fetched for it.
    """
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise UsageError("invalid time")
    if not isinstance(policy, ClientPolicy):
        raise UsageError("policy must be a ClientPolicy")
    admitted: list[AdmittedNode] = []
    refused: list[tuple[str, str]] = []
    for node in nodes:
        try:
            admitted.append(
                admit(
                    node,
                    policy=policy,
                    roots=roots,
                    log_state=log_state,
                    now=now,
                    proofs=(proofs or {}).get(proofs_key(node)),
                    on_step=on_step,
                )
            )
        except PrivcloudError as exc:
            refused.append((node.node_id, str(exc) or INTERNAL_REFUSAL))
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - refuse this node only (docstring, step 3)
            # The type only, not log.exception: a foreign message may carry the peer's bytes.
            log.error(  # noqa: TRY400
                "admission of one node failed with %s; node refused", type(exc).__name__
            )
            refused.append((node.node_id, INTERNAL_REFUSAL))
    return admitted, refused


def set_aside(node: NodeDescriptor, policy: ClientPolicy) -> str | None:
    """Why ``policy`` takes no data to ``node`` whatever its evidence says, judged on the
    entry's logged labels alone (TEE type, region, provider: what a directory statement binds),
    or ``None``. The same verdict for every device with this policy, whatever bundle it was
    shown; the reasons are those :func:`admit` gives."""
    if node.tee not in policy.allowed_tees:
        return "TEE type not allowed by policy"
    if node.tee == SIMULATED_TEE and not policy.allow_insecure_simulated:
        return "insecure simulated evidence refused by policy"
    if policy.allowed_regions is not None and node.region not in policy.allowed_regions:
        return "node region not allowed by policy"
    if policy.allowed_providers is not None and node.provider not in policy.allowed_providers:
        return "node provider not allowed by policy"
    return None


def admit_listed(
    nodes: Sequence[NodeDescriptor],
    *,
    policy: ClientPolicy,
    roots: TrustRoots,
    log_state: TrustedLogState,
    now: float,
    proofs: Mapping[str, LogProofs] | None = None,
) -> tuple[list[AdmittedNode], list[tuple[str, str]]]:
    """Admission of a *logged* directory (docs/adr/0033): all of it, or none of it.

    Each entry of a logged directory is bound by the statement, but not its bundle (evidence,
    release proof), which the gateway serves beside it. Were a bundle that fails refused alone,
    as :func:`admit_all` does, a gateway could break the bundles of all but a few listed nodes
    for one device and so choose which nodes that device seals to. So:

    1. The caller's arguments are checked as :func:`admit_all` checks them.
    2. Entries the device's policy takes nothing to on their logged labels alone
       (:func:`set_aside`) are refused with that reason: every device with this policy refuses
       them, whatever their bundle.
    3. Every other entry runs :func:`admit`. If any fails, the whole directory is refused
       (:class:`DirectoryConsistencyError`, naming the first failure's fixed reason): a gateway
       lists only nodes whose bundles it checked (:mod:`privcloud.services.gateway_admission`),
       so a listed node that fails is a bundle broken or swapped on the way, or a gateway that
       checks less than its devices. Nothing is admitted; the device admits again later.

    Returns ``(admitted, set aside)``.
    """
    admit_all([], policy=policy, roots=roots, log_state=log_state, now=now)  # 1.
    kept: list[NodeDescriptor] = []
    aside: list[tuple[str, str]] = []
    for node in nodes:
        reason = set_aside(node, policy)  # 2.
        if reason is None:
            kept.append(node)
        else:
            aside.append((node.node_id, reason))
    admitted, refused = admit_all(  # 3.
        kept, policy=policy, roots=roots, log_state=log_state, now=now, proofs=proofs
    )
    if refused:
        raise DirectoryConsistencyError(
            f"a node of the logged directory failed admission ({refused[0][1]}): "
            "the directory is refused whole"
        )
    return admitted, aside
