"""Node admission (docs/trust-model.md#node-admission), sans-IO: one test per attack, each
failing closed *through admission* (``privcloud.trust.admission.admit``), plus the happy paths
and the trail.

The world: an in-memory RFC 9162 log (``MerkleTree``) holding a release manifest among other
entries, a log key and two witnesses, the client's ``TrustedLogState`` at a cosigned checkpoint,
and nodes that attest with the INSECURE simulated TEE or with a synthetic SEV-SNP chain (test
ARK/ASK/VCEK with AMD's names, see attest_synthetic.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from attest_synthetic import (
    T0,
    T_EXPIRED,
    build_tdx_quote,
    make_vcek,
    synthetic_amd,
    synthetic_intel,
    synthetic_snp_report,
)
from privcloud.attest import (
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    AttestationResult,
    Evidence,
    NodeClaims,
    Policy,
    TrustRoots,
)
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.crypto.hpke import (
    X25519_SHA256_AES128GCM,
    X25519_SHA256_CHACHA20,
    PrivateKey,
    Suite,
    generate_keypair,
)
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.envelope import key_id_for
from privcloud.errors import (
    DecodeError,
    PeerError,
    PolicyError,
    TooLargeError,
    UsageError,
    VerificationError,
)
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.errors import ForkError, MissingCosignatureError, RollbackError
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.trust.admission import (
    AdmittedNode,
    ClientPolicy,
    LogProofs,
    admit,
    admit_all,
    check_release_measurement,
)
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import (
    NodeDescriptor,
    decode_descriptor,
    decode_directory,
    encode_descriptor,
    encode_directory,
)
from privcloud.trust.release_manifest import ReleaseManifest

NOW = 1_750_000_000
DAY = 86400
ORIGIN = "log.privcloud.test/releases"
CHIP = bytes(range(64))


def _ed(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_seed(bytes([n]) * 32)


LOG = Ed25519NoteSigner(ORIGIN, _ed(1))
W1, W2 = WitnessKey("w1.privcloud.test", _ed(2)), WitnessKey("w2.privcloud.test", _ed(3))
DEV_ROOT = EcPrivateKey.generate(Curve.P384)


def claims_data(
    public_key: bytes,
    issued_at: float,
    *,
    region: str = "eu-west",
    provider: str = "local",
    suite: Suite = X25519_SHA256_AES128GCM,
) -> bytes:
    """The report data an honest node attests: its key and claims (attest.NodeClaims)."""
    ids = (int(suite.kem), int(suite.kdf), int(suite.aead))
    return NodeClaims(public_key, int(issued_at), region, provider, ids).report_data()


def manifest(
    snp_measurement: bytes | None = None,
    version: str = "1.0.0",
    tdx_measurement: bytes | None = None,
) -> ReleaseManifest:
    return ReleaseManifest(
        package_name="privcloud",
        package_version=version,
        code_digest=bytes(range(32)),
        code_files=42,
        dependencies=("aiohttp==3.14.5", "cryptography==50.0.2"),
        config={"features": ["echo"], "hpke_suite": {"aead": 1, "kdf": 1, "kem": 32}},
        hardware_measurements={TEE_SEV_SNP: snp_measurement, TEE_TDX: tdx_measurement},
    )


def signed(
    tree: MerkleTree,
    size: int,
    *,
    at: int = NOW,
    witnesses: Sequence[WitnessKey] = (W1, W2),
) -> bytes:
    return sign_checkpoint(
        Checkpoint(ORIGIN, size, tree.root(size)), [LOG, *(w.at(at) for w in witnesses)]
    )


def fresh_state() -> TrustedLogState:
    return TrustedLogState(
        origin=ORIGIN,
        log_key=LOG.verifier(),
        witnesses=(W1.verifier(), W2.verifier()),
        required_witnesses=2,
    )


@dataclass
class World:
    """A log holding ``release`` at ``index``, and the client's state trusting ``size`` leaves."""

    release: ReleaseManifest
    now: int = NOW
    tree: MerkleTree = field(default_factory=MerkleTree)
    index: int = 0
    size: int = 0
    state: TrustedLogState = field(default_factory=fresh_state)

    @classmethod
    def build(
        cls, release: ReleaseManifest, now: int = NOW, before: int = 2, after: int = 2
    ) -> World:
        w = cls(release, now)
        for i in range(before):
            w.tree.append_leaf(b"older release %d" % i)
        w.index = w.tree.append_leaf(release.encode())
        for i in range(after):
            w.tree.append_leaf(b"later release %d" % i)
        w.size = w.tree.size()
        w.state = fresh_state().update(signed(w.tree, w.size, at=now), [], now)
        return w

    def bundle(
        self,
        evidence: Evidence,
        *,
        issued_at: int | None = None,
        size: int | None = None,
        note: bytes | None = None,
        release: ReleaseManifest | None = None,
        index: int | None = None,
    ) -> NodeBundle:
        size = self.size if size is None else size
        index = self.index if index is None else index
        return NodeBundle(
            issued_at=self.now if issued_at is None else issued_at,
            evidence=evidence,
            manifest=release or self.release,
            log_index=index,
            checkpoint=note if note is not None else signed(self.tree, size, at=self.now),
            inclusion=tuple(self.tree.inclusion_proof(index, size)),
        )


@dataclass
class SimNode:
    """A node in the INSECURE simulated TEE, running ``measurement``."""

    measurement: bytes
    debug: bool = False
    key: PrivateKey = field(default_factory=lambda: generate_keypair(X25519_SHA256_AES128GCM.kem))
    region: str = "eu-west"

    @property
    def public_key(self) -> bytes:
        return self.key.public_bytes

    def evidence(
        self, at: int, bound_key: bytes | None = None, *, issued_at: int | None = None
    ) -> Evidence:
        """Evidence made at ``at`` binding the node's claims, issued at ``issued_at`` (``at``)."""
        tee = InsecureSimulatedTee(DEV_ROOT, self.measurement, debug=self.debug)
        data = claims_data(
            bound_key or self.public_key, at if issued_at is None else issued_at, region=self.region
        )
        return tee.evidence(data, now=at)

    def descriptor(
        self,
        bundle: NodeBundle | None,
        *,
        public_key: bytes | None = None,
        region: str | None = None,
        tee: str | None = None,
    ) -> NodeDescriptor:
        region = self.region if region is None else region
        pk = public_key or self.public_key
        return NodeDescriptor(
            node_id="node-1",
            key_id=key_id_for(X25519_SHA256_AES128GCM.kem, pk),
            suite=X25519_SHA256_AES128GCM,
            public_key=pk,
            region=region,
            provider="local",
            tee=tee or (bundle.evidence.tee_type if bundle else TEE_SIMULATED),
            features=("echo",),
            bundle=bundle,
        )


SIM_ROOTS = TrustRoots(insecure_simulated_keys=(DEV_ROOT.public_key().to_bytes(),))
DEV = ClientPolicy.insecure_local_dev()


def admit_sim(
    node: NodeDescriptor,
    world: World,
    *,
    policy: ClientPolicy = DEV,
    now: int | None = None,
    proofs: LogProofs | None = None,
    state: TrustedLogState | None = None,
) -> AdmittedNode:
    return admit(
        node,
        policy=policy,
        roots=SIM_ROOTS,
        log_state=state or world.state,
        now=world.now if now is None else now,
        proofs=proofs,
    )


def honest_sim() -> tuple[World, SimNode, NodeDescriptor]:
    world = World.build(manifest())
    sim = SimNode(world.release.simulated_measurement)
    return world, sim, sim.descriptor(world.bundle(sim.evidence(world.now)))


# --- the happy path and the trail -----------------------------------------------------------------


def test_honest_simulated_node_is_admitted_with_the_full_trail() -> None:
    world, _, node = honest_sim()
    steps: list[str] = []
    admitted = admit(
        node,
        policy=DEV,
        roots=SIM_ROOTS,
        log_state=world.state,
        now=world.now,
        on_step=lambda s: steps.append(str(s)),
    )
    assert [s.step for s in admitted.trail] == [0, 1, 2, 3, 4, 5, 6]
    assert admitted.checks == (
        "well-formed",
        "evidence-valid",
        "report-data-binds-key",
        "measurement-matches-release",
        "release-in-log",
        "fresh",
        "policy",
    )
    assert steps == [str(s) for s in admitted.trail]
    assert "INSECURE" in steps[1]
    assert admitted.insecure
    assert admitted.log_index == world.index
    assert (admitted.checkpoint.size, admitted.checkpoint.root_hash) == (
        world.size,
        world.tree.root(),
    )
    assert admitted.manifest == world.release


def test_node_bundle_survives_the_directory_both_ways() -> None:
    world, _, node = honest_sim()
    (back,) = decode_directory(encode_directory([node]))
    assert back == node
    assert decode_descriptor(encode_descriptor(node)) == node
    admit_sim(back, world)
    # A descriptor without a bundle (an older node) still parses, and is refused.
    legacy = json.loads(encode_descriptor(node))
    del legacy["bundle"]
    old = decode_descriptor(json.dumps(legacy).encode())
    assert old.bundle is None
    with pytest.raises(VerificationError):
        admit_sim(old, world)


def test_hardware_node_is_admitted_under_the_production_policy() -> None:
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    node_key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    m = b"\x5a" * 48
    world = World.build(manifest(snp_measurement=m), now=int(T0))
    report = synthetic_snp_report(
        key, chip_id=CHIP, report_data=claims_data(node_key.public_bytes, T0), measurement=m
    )
    bundle = world.bundle(Evidence(TEE_SEV_SNP, report, vcek))
    node = dataclasses.replace(SimNode(m, key=node_key).descriptor(bundle), tee=TEE_SEV_SNP)
    admitted = admit(node, policy=ClientPolicy(), roots=amd.roots, log_state=world.state, now=T0)
    assert not admitted.insecure
    assert admitted.attestation.tee_type == TEE_SEV_SNP
    # The same release without an SNP measurement recorded: refused (fail closed).
    world2 = World.build(manifest(snp_measurement=None), now=int(T0))
    node2 = dataclasses.replace(node, bundle=world2.bundle(Evidence(TEE_SEV_SNP, report, vcek)))
    with pytest.raises(VerificationError):
        admit(node2, policy=ClientPolicy(), roots=amd.roots, log_state=world2.state, now=T0)


def test_fresh_proof_from_the_log_admits_a_node_with_an_older_checkpoint() -> None:
    world = World.build(manifest(), before=1, after=0)
    sim = SimNode(world.release.simulated_measurement)
    node_size = world.size  # the node fetched its proof here...
    for i in range(5):  # ...then the log grew and the client trusts the larger tree
        world.tree.append_leaf(b"newer %d" % i)
    world.size = world.tree.size()
    world.state = world.state.update(
        signed(world.tree, world.size), world.tree.consistency_proof(node_size, world.size), NOW
    )
    node = sim.descriptor(world.bundle(sim.evidence(NOW), size=node_size))
    with pytest.raises(RollbackError):  # without a proof at the trusted size
        admit_sim(node, world)
    proofs = LogProofs(inclusion=tuple(world.tree.inclusion_proof(world.index, world.size)))
    assert admit_sim(node, world, proofs=proofs).checkpoint.size == world.size


def test_newer_cosigned_checkpoint_is_accepted_with_a_consistency_proof() -> None:
    world, sim, _ = honest_sim()
    old_state = fresh_state().update(signed(world.tree, world.index + 1), [], NOW)
    node = sim.descriptor(world.bundle(sim.evidence(NOW)))
    with pytest.raises(VerificationError):  # the client cannot tell it extends its view
        admit_sim(node, world, state=old_state)
    proofs = LogProofs(consistency=tuple(world.tree.consistency_proof(world.index + 1, world.size)))
    assert admit_sim(node, world, state=old_state, proofs=proofs).checkpoint.size == world.size
    # ... and a wrong consistency proof is refused.
    bad = LogProofs(consistency=tuple(world.tree.consistency_proof(1, world.size)))
    with pytest.raises(VerificationError):
        admit_sim(node, world, state=old_state, proofs=bad)


def test_region_and_provider_policy_is_applied() -> None:
    world, sim, _ = honest_sim()
    sim.region = "us-east"
    node = sim.descriptor(world.bundle(sim.evidence(NOW)))
    eu = ClientPolicy.insecure_local_dev(allowed_regions=frozenset({"eu-west"}))
    with pytest.raises(PolicyError):
        admit_sim(node, world, policy=eu)
    other_provider = ClientPolicy.insecure_local_dev(allowed_providers=frozenset({"acme"}))
    with pytest.raises(PolicyError):
        admit_sim(node, world, policy=other_provider)
    admit_sim(node, world)


def test_admit_all_reports_refusals_and_keeps_going() -> None:
    world, _sim, good = honest_sim()
    bad = dataclasses.replace(good, node_id="node-2", bundle=None)
    admitted, refused = admit_all(
        [bad, good], policy=DEV, roots=SIM_ROOTS, log_state=world.state, now=NOW
    )
    assert [a.descriptor.node_id for a in admitted] == ["node-1"]
    assert refused == [("node-2", "node published no attestation bundle")]


def test_caller_mistakes_are_usage_errors_not_refusals() -> None:
    world, _, node = honest_sim()
    with pytest.raises(UsageError):
        admit_sim(node, world, now=float("nan"))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        ClientPolicy(max_bundle_age_s=-1)


# --- one test per attack ------------------------------------------------------------------------


def test_measurement_not_in_log_is_refused() -> None:
    world, _sim, _ = honest_sim()
    # 1. The node runs other software (another measurement) but shows the logged manifest.
    rogue = SimNode(b"\xee" * 48)
    node = rogue.descriptor(world.bundle(rogue.evidence(NOW)))
    with pytest.raises(VerificationError, match="measurement differs"):
        admit_sim(node, world)
    # 2. It shows its true manifest, which was never logged, with another entry's proof.
    unlogged = manifest(version="6.6.6")
    rogue = SimNode(unlogged.simulated_measurement)
    node = rogue.descriptor(world.bundle(rogue.evidence(NOW), release=unlogged))
    with pytest.raises(VerificationError, match="inclusion proof"):
        admit_sim(node, world)
    # 3. ... or with the proof of another index.
    node = rogue.descriptor(world.bundle(rogue.evidence(NOW), release=unlogged, index=0))
    with pytest.raises(VerificationError):
        admit_sim(node, world)


def test_key_swapped_after_attestation_is_refused() -> None:
    world, sim, node = honest_sim()
    attacker = generate_keypair(X25519_SHA256_AES128GCM.kem)
    # The gateway (or anyone on the path) swaps in its own key, with a matching key id.
    swapped = sim.descriptor(node.bundle, public_key=attacker.public_bytes)
    with pytest.raises(VerificationError, match="does not bind"):
        admit_sim(swapped, world)
    # Swapping the key but keeping the old key id is caught even earlier.
    with pytest.raises(VerificationError):
        admit_sim(dataclasses.replace(node, public_key=attacker.public_bytes), world)


def test_debug_enabled_report_is_refused() -> None:
    # Hardware: a validly signed SEV-SNP report (synthetic chain) with DEBUG on.
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    node_key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    m = b"\x5a" * 48
    world = World.build(manifest(snp_measurement=m), now=int(T0))
    report = synthetic_snp_report(
        key,
        chip_id=CHIP,
        report_data=claims_data(node_key.public_bytes, world.now),
        measurement=m,
        debug=True,
    )
    node = dataclasses.replace(
        SimNode(m, key=node_key).descriptor(world.bundle(Evidence(TEE_SEV_SNP, report, vcek))),
        tee=TEE_SEV_SNP,
    )
    with pytest.raises(PolicyError, match="debug"):
        admit(node, policy=ClientPolicy(), roots=amd.roots, log_state=world.state, now=T0)
    # Simulated: a debug report is refused even under the development policy.
    world, _, _ = honest_sim()
    sim = SimNode(world.release.simulated_measurement, debug=True)
    with pytest.raises(PolicyError, match="debug"):
        admit_sim(sim.descriptor(world.bundle(sim.evidence(NOW))), world)


def _snp_node(
    world: World,
    *,
    vcek_not_after: float | None = None,
    attested_at: int | None = None,
    vmpl: int = 0,
    migration_agent: bool = False,
) -> NodeDescriptor:
    """A node on a synthetic SEV-SNP chip; its report binds claims issued at ``attested_at``
    (default: the world's time), and its bundle says it was issued at the world's time."""
    amd = synthetic_amd()
    if vcek_not_after is None:
        key, vcek = make_vcek(amd, CHIP)
    else:
        key, vcek = make_vcek(amd, CHIP, not_after=vcek_not_after)
    node_key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    report = synthetic_snp_report(
        key,
        chip_id=CHIP,
        report_data=claims_data(
            node_key.public_bytes, world.now if attested_at is None else attested_at
        ),
        measurement=world.release.measurement_for(TEE_SEV_SNP) or b"",
        vmpl=vmpl,
        migration_agent=migration_agent,
    )
    bundle = world.bundle(Evidence(TEE_SEV_SNP, report, vcek))
    return dataclasses.replace(SimNode(b"", key=node_key).descriptor(bundle), tee=TEE_SEV_SNP)


def test_wrong_vendor_chain_is_refused() -> None:
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T0))
    node = _snp_node(world)
    # The look-alike chain (AMD's exact names, our keys) against AMD's pinned roots.
    with pytest.raises(VerificationError):
        admit(node, policy=ClientPolicy(), roots=TrustRoots.pinned(), log_state=world.state, now=T0)
    # ... and simulated evidence signed by a dev root the client does not know.
    world, _sim, node = honest_sim()
    stranger = TrustRoots(
        insecure_simulated_keys=(EcPrivateKey.generate(Curve.P384).public_key().to_bytes(),)
    )
    with pytest.raises(VerificationError, match="unknown dev root"):
        admit(node, policy=DEV, roots=stranger, log_state=world.state, now=NOW)


def test_expired_vendor_chain_is_refused() -> None:
    # The VCEK expired before the time of admission (everything else is fresh at that time).
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T_EXPIRED))
    amd = synthetic_amd()
    node = _snp_node(world, vcek_not_after=T_EXPIRED - DAY)
    with pytest.raises(VerificationError):
        admit(node, policy=ClientPolicy(), roots=amd.roots, log_state=world.state, now=T_EXPIRED)


def test_truncated_report_is_refused() -> None:
    world, _sim, node = honest_sim()
    assert node.bundle is not None
    ev = node.bundle.evidence
    for size in (0, 1, 100, len(ev.raw) - 1):
        cut = dataclasses.replace(node.bundle, evidence=Evidence(ev.tee_type, ev.raw[:size]))
        with pytest.raises(DecodeError):
            admit_sim(dataclasses.replace(node, bundle=cut), world)
    snp_world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T0))
    snp = _snp_node(snp_world)
    assert snp.bundle is not None
    sev = snp.bundle.evidence
    cut = dataclasses.replace(
        snp.bundle, evidence=Evidence(TEE_SEV_SNP, sev.raw[:-1], sev.certificates)
    )
    with pytest.raises(DecodeError):
        admit(
            dataclasses.replace(snp, bundle=cut),
            policy=ClientPolicy(),
            roots=synthetic_amd().roots,
            log_state=snp_world.state,
            now=T0,
        )


def test_oversized_report_is_refused() -> None:
    # One byte more than the SEV-SNP report format: the verifier refuses it (step 1).
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T0))
    snp = _snp_node(world)
    assert snp.bundle is not None
    ev = snp.bundle.evidence
    big = dataclasses.replace(
        snp.bundle, evidence=Evidence(TEE_SEV_SNP, ev.raw + b"\0", ev.certificates)
    )
    with pytest.raises(TooLargeError):
        admit(
            dataclasses.replace(snp, bundle=big),
            policy=ClientPolicy(),
            roots=synthetic_amd().roots,
            log_state=world.state,
            now=T0,
        )
    # Beyond the evidence bound: the directory entry is refused before anything is parsed.
    doc = json.loads(encode_descriptor(snp))
    doc["bundle"]["evidence"]["report"] = "A" * (4 * 64 * 1024 + 4)
    with pytest.raises(TooLargeError):
        decode_descriptor(json.dumps(doc).encode())
    with pytest.raises(TooLargeError):
        NodeBundle.decode(b" " * (256 * 1024 + 1))


def test_rollback_to_older_checkpoint_is_refused() -> None:
    world, sim, _ = honest_sim()
    # The node (or a log showing it an old view) proves the release against a smaller tree
    # than the one the client already trusts.
    old = world.index + 1
    node = sim.descriptor(world.bundle(sim.evidence(NOW), size=old))
    with pytest.raises(RollbackError):
        admit_sim(node, world)
    # The client's own state never moves back either.
    with pytest.raises(RollbackError):
        world.state.update(signed(world.tree, old), [], NOW)


def test_forked_log_is_refused() -> None:
    world, sim, _ = honest_sim()
    # The log signs a second tree of the trusted size that also holds the release (say, with
    # an extra release hidden from the witnesses): a split view.
    fork = MerkleTree()
    fork.append_leaf(b"hidden release")
    fork.append_leaf(b"older release 1")
    idx = fork.append_leaf(world.release.encode())
    while fork.size() < world.size:
        fork.append_leaf(b"filler %d" % fork.size())
    note = signed(fork, world.size)
    forked = NodeBundle(
        issued_at=NOW,
        evidence=sim.evidence(NOW),
        manifest=world.release,
        log_index=idx,
        checkpoint=note,
        inclusion=tuple(fork.inclusion_proof(idx, world.size)),
    )
    with pytest.raises(ForkError):
        admit_sim(sim.descriptor(forked), world)
    # Even when the client brings a valid proof for its own view, the fork is reported.
    proofs = LogProofs(inclusion=tuple(world.tree.inclusion_proof(world.index, world.size)))
    with pytest.raises(ForkError):
        admit_sim(sim.descriptor(forked), world, proofs=proofs)


def test_missing_witness_cosignature_is_refused() -> None:
    world, sim, _ = honest_sim()
    trusted = world.index + 1
    state = fresh_state().update(signed(world.tree, trusted), [], NOW)
    consistency = LogProofs(consistency=tuple(world.tree.consistency_proof(trusted, world.size)))
    cases = [
        signed(world.tree, world.size, witnesses=()),  # the log alone
        signed(world.tree, world.size, witnesses=(W1,)),  # one of the two required
        signed(world.tree, world.size, at=NOW - 2 * DAY),  # cosigned too long ago
    ]
    for note in cases:
        node = sim.descriptor(world.bundle(sim.evidence(NOW), note=note))
        with pytest.raises(MissingCosignatureError):
            admit_sim(node, world, state=state, proofs=consistency)
    # The control: the same checkpoint, cosigned by both witnesses, is accepted.
    node = sim.descriptor(world.bundle(sim.evidence(NOW)))
    admit_sim(node, world, state=state, proofs=consistency)
    # And a client with no trusted checkpoint at all cannot trust an uncosigned one.
    with pytest.raises(MissingCosignatureError):
        fresh_state().update(signed(world.tree, world.size, witnesses=()), [], NOW)


def test_stale_bundle_is_refused() -> None:
    world, sim, _ = honest_sim()
    stale_at = NOW - DAY - 60
    # A bundle issued more than a day ago (its evidence as old).
    node = sim.descriptor(world.bundle(sim.evidence(stale_at), issued_at=stale_at))
    with pytest.raises(PolicyError, match="stale"):
        admit_sim(node, world)
    # Old evidence re-wrapped in a bundle that claims to be new: the evidence's signed time.
    node = sim.descriptor(world.bundle(sim.evidence(stale_at, issued_at=NOW), issued_at=NOW))
    with pytest.raises(PolicyError, match="stale"):
        admit_sim(node, world)
    # A bundle from the future.
    future = NOW + 3600
    node = sim.descriptor(world.bundle(sim.evidence(NOW, issued_at=future), issued_at=future))
    with pytest.raises(PolicyError, match="future"):
        admit_sim(node, world)
    # Just inside the limit: admitted.
    edge = NOW - DAY + 60
    admit_sim(sim.descriptor(world.bundle(sim.evidence(edge), issued_at=edge)), world)


def test_simulated_evidence_under_production_policy_is_refused() -> None:
    world, _, node = honest_sim()
    with pytest.raises(PolicyError):
        admit_sim(node, world, policy=ClientPolicy())
    # Allowing the TEE type without the explicit insecure opt-in is not enough.
    only_type = ClientPolicy(attestation=Policy(allowed_tee_types=frozenset({TEE_SIMULATED})))
    with pytest.raises(PolicyError):
        admit_sim(node, world, policy=only_type)
    assert not ClientPolicy().allow_insecure_simulated


def test_tee_label_must_name_the_evidence_type() -> None:
    world, _sim, node = honest_sim()
    with pytest.raises(VerificationError):
        admit_sim(dataclasses.replace(node, tee=TEE_SEV_SNP), world)


def test_every_refusal_is_a_peer_error() -> None:
    # admit_all turns each refusal into a trail entry; none escapes as another exception.
    world, _sim, node = honest_sim()
    assert node.bundle is not None
    broken = [
        dataclasses.replace(node, bundle=dataclasses.replace(node.bundle, checkpoint=b"junk\n")),
        dataclasses.replace(node, bundle=dataclasses.replace(node.bundle, inclusion=())),
        dataclasses.replace(
            node, bundle=dataclasses.replace(node.bundle, log_index=world.size + 5)
        ),
        dataclasses.replace(node, public_key=b"\x00" * 32),
    ]
    for bad in broken:
        with pytest.raises(PeerError):
            admit_sim(bad, world)


# --- the node's claims are bound into its evidence (report data) ------------------------------


def test_replayed_old_hardware_report_with_rewritten_time_is_refused() -> None:
    # A 30-day-old SEV-SNP report (hardware reports carry no time) re-served in a bundle whose
    # issued_at was rewritten to now: the report data binds the time the node really issued it.
    now = int(T0) + 30 * DAY
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=now)
    replayed = _snp_node(world, attested_at=int(T0))
    with pytest.raises(VerificationError, match="does not bind"):
        admit(
            replayed,
            policy=ClientPolicy(),
            roots=synthetic_amd().roots,
            log_state=world.state,
            now=now,
        )
    # Served honestly (issued_at as bound), the same report is simply stale.
    assert replayed.bundle is not None
    honest = dataclasses.replace(
        replayed, bundle=dataclasses.replace(replayed.bundle, issued_at=int(T0))
    )
    with pytest.raises(PolicyError, match="stale"):
        admit(
            honest,
            policy=ClientPolicy(),
            roots=synthetic_amd().roots,
            log_state=world.state,
            now=now,
        )
    # The control: a report bound to the bundle's time is admitted.
    fresh = _snp_node(world)
    admit(fresh, policy=ClientPolicy(), roots=synthetic_amd().roots, log_state=world.state, now=now)


def test_region_relabelled_by_gateway_is_refused() -> None:
    # The node attested eu-west / local; the gateway relabels it to pass a residency policy.
    world, _sim, node = honest_sim()
    us_only = ClientPolicy.insecure_local_dev(allowed_regions=frozenset({"us-east"}))
    with pytest.raises(VerificationError, match="does not bind"):
        admit_sim(dataclasses.replace(node, region="us-east"), world, policy=us_only)
    acme = ClientPolicy.insecure_local_dev(allowed_providers=frozenset({"acme"}))
    with pytest.raises(VerificationError, match="does not bind"):
        admit_sim(dataclasses.replace(node, provider="acme"), world, policy=acme)
    admit_sim(node, world)


def test_suite_relabelled_by_gateway_is_refused() -> None:
    # Same KEM (so the key id still commits to the key), another AEAD: a downgrade or confusion
    # of the suite the client seals with is caught because the node attested its suite.
    world, _sim, node = honest_sim()
    assert node.suite != X25519_SHA256_CHACHA20
    relabelled = dataclasses.replace(node, suite=X25519_SHA256_CHACHA20)
    with pytest.raises(VerificationError, match="does not bind"):
        admit_sim(relabelled, world)


# --- hardware policy defaults ----------------------------------------------------------------


def test_report_from_non_zero_vmpl_is_refused() -> None:
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T0))
    node = _snp_node(world, vmpl=1)
    roots = synthetic_amd().roots
    with pytest.raises(PolicyError, match="VMPL"):
        admit(node, policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0)
    # Only an explicit override accepts it.
    anyvmpl = ClientPolicy(attestation=Policy(sev_snp_required_vmpl=None))
    admit(node, policy=anyvmpl, roots=roots, log_state=world.state, now=T0)
    assert Policy().sev_snp_required_vmpl == 0


def test_report_with_migration_agent_is_refused() -> None:
    world = World.build(manifest(snp_measurement=b"\x5a" * 48), now=int(T0))
    node = _snp_node(world, migration_agent=True)
    roots = synthetic_amd().roots
    with pytest.raises(PolicyError, match="migration agent"):
        admit(node, policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0)
    allow = ClientPolicy(attestation=Policy(allow_sev_snp_migration_agent=True))
    admit(node, policy=allow, roots=roots, log_state=world.state, now=T0)
    assert not Policy().allow_sev_snp_migration_agent


# --- TDX: the RTMRs (kernel, initrd, application) must be the release's ------------------------

MRTD = b"\x11" * 48
RTMRS = (b"\x20" * 48, b"\x21" * 48, b"\x22" * 48, b"\x23" * 48)


def _tdx_node(world: World, rtmrs: Sequence[bytes] = RTMRS) -> NodeDescriptor:
    node_key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    r0, r1, r2, r3 = rtmrs
    quote = build_tdx_quote(
        synthetic_intel(),
        report_data=claims_data(node_key.public_bytes, world.now),
        mrtd=MRTD,
        rtmr0=r0,
        rtmr1=r1,
        rtmr2=r2,
        rtmr3=r3,
    )
    bundle = world.bundle(Evidence(TEE_TDX, quote))
    return dataclasses.replace(SimNode(b"", key=node_key).descriptor(bundle), tee=TEE_TDX)


def test_tdx_node_with_unlogged_rtmrs_is_refused() -> None:
    roots = synthetic_intel().roots
    world = World.build(manifest(tdx_measurement=MRTD + b"".join(RTMRS)), now=int(T0))
    # The control: firmware, kernel/initrd and application all as logged.
    admitted = admit(
        _tdx_node(world), policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0
    )
    assert admitted.attestation.tee_type == TEE_TDX
    # Same firmware (MRTD), another kernel (RTMR1) or application (RTMR3): refused.
    for i in range(4):
        other = list(RTMRS)
        other[i] = b"\xee" * 48
        with pytest.raises(VerificationError, match=f"rtmr{i} differs"):
            admit(
                _tdx_node(world, other),
                policy=ClientPolicy(),
                roots=roots,
                log_state=world.state,
                now=T0,
            )
    # A release that records the MRTD alone admits no TDX node (fail closed).
    mrtd_only = World.build(manifest(tdx_measurement=MRTD), now=int(T0))
    with pytest.raises(VerificationError, match="no RTMR"):
        admit(
            _tdx_node(mrtd_only),
            policy=ClientPolicy(),
            roots=roots,
            log_state=mrtd_only.state,
            now=T0,
        )


def test_tdx_measurement_comparison_checks_every_register() -> None:
    def result(mrtd: bytes, rtmrs: Sequence[bytes]) -> AttestationResult:
        regs = {f"rtmr{i}": r for i, r in enumerate(rtmrs)}
        return AttestationResult(TEE_TDX, mrtd, bytes(64), False, {}, b"", (), registers=regs)

    expected = MRTD + b"".join(RTMRS)
    check_release_measurement(expected, result(MRTD, RTMRS))
    with pytest.raises(VerificationError, match="mrtd"):
        check_release_measurement(expected, result(b"\x00" * 48, RTMRS))
    with pytest.raises(VerificationError, match="rtmr2"):
        check_release_measurement(expected, result(MRTD, RTMRS[:2]))  # a register missing
    with pytest.raises(VerificationError, match="no RTMR"):
        check_release_measurement(MRTD, result(MRTD, RTMRS))
    # The manifest round-trips the 240-byte TDX value, and refuses other sizes.
    m = manifest(tdx_measurement=expected)
    assert ReleaseManifest.decode(m.encode()) == m
    with pytest.raises(UsageError):
        manifest(tdx_measurement=MRTD + RTMRS[0])
