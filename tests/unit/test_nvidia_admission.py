"""GPU nodes through admission (docs/trust-model.md#gpu-evidence): a node whose claims name a
GPU is admitted only with valid NVIDIA evidence for it, bound to the same claims its CPU TEE
report binds. CPU side: the INSECURE simulated TEE of test_admission.py's world; GPU side:
*synthetic* NVIDIA evidence under test CAs that only these tests pin (nvidia_kit.py).
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from test_admission import DEV, DEV_ROOT, SimNode, World, manifest

from nvidia_kit import NOW, SyntheticGpu, synthetic_gpu
from privcloud.attest import Evidence, NodeClaims, TrustRoots
from privcloud.attest.nvidia import GpuEvidence, GpuPolicy, gpu_id, gpu_nonce_for
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM
from privcloud.errors import PolicyError, UsageError, VerificationError
from privcloud.trust.admission import AdmittedNode, ClientPolicy, admit
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import NodeDescriptor, decode_descriptor, encode_descriptor
from privcloud.trust.release_manifest import ReleaseManifest

SUITE = X25519_SHA256_AES128GCM
IDS = (int(SUITE.kem), int(SUITE.kdf), int(SUITE.aead))


@pytest.fixture(scope="module")
def gpu() -> SyntheticGpu:
    return synthetic_gpu()


@pytest.fixture(scope="module")
def world(gpu: SyntheticGpu) -> World:
    return World.build(release_listing(gpu.rims))


def release_listing(rims: tuple[bytes, ...]) -> ReleaseManifest:
    """The test release, whose config lists the SHA-384 of the NVIDIA RIMs it accepts."""
    base = manifest()
    listed = [hashlib.sha384(r).hexdigest() for r in rims]
    return dataclasses.replace(base, config={**base.config, "nvidia_rims": listed})


def claims_for(sim: SimNode, gpus: tuple[bytes, ...], *, issued_at: int = NOW) -> NodeClaims:
    return NodeClaims(sim.public_key, issued_at, sim.region, "local", IDS, gpus=gpus)


def gpu_node(
    world: World,
    gpu: SyntheticGpu,
    *,
    gpu_evidence: Evidence | None = None,
    named: tuple[bytes, ...] | None = None,
    listed: tuple[GpuEvidence, ...] | None = None,
    nonce_claims: NodeClaims | None = None,
) -> NodeDescriptor:
    """A simulated-TEE node whose claims name ``named`` (default: ``gpu``), listing ``listed``
    (default: ``gpu`` with its evidence, nonce bound to the node's claims)."""
    sim = SimNode(world.release.simulated_measurement)
    gid = gpu_id(gpu.device.chain_pem())
    claims = claims_for(sim, (gid,) if named is None else named)
    cpu = InsecureSimulatedTee(DEV_ROOT, world.release.simulated_measurement)
    cpu_evidence = cpu.evidence(claims.report_data(), now=NOW)
    if gpu_evidence is None:
        nonce = gpu_nonce_for(nonce_claims or claims)
        gpu_evidence = gpu.evidence(dataclasses.replace(gpu.spec, nonce=nonce))
    gpus = (GpuEvidence(gid, gpu_evidence),) if listed is None else listed
    bundle = dataclasses.replace(world.bundle(cpu_evidence), gpus=gpus, rims=gpu.rims)
    return sim.descriptor(bundle)


def roots_with(gpu: SyntheticGpu | None) -> TrustRoots:
    return TrustRoots(
        insecure_simulated_keys=(DEV_ROOT.public_key().to_bytes(),),
        nvidia_gpu=None if gpu is None else gpu.verifier(rims=()),  # RIMs come in the bundle
    )


def run(
    node: NodeDescriptor, world: World, roots: TrustRoots, policy: ClientPolicy = DEV
) -> AdmittedNode:
    return admit(node, policy=policy, roots=roots, log_state=world.state, now=NOW)


def test_gpu_node_with_valid_gpu_evidence_is_admitted_with_its_gpu_in_the_trail(
    world: World, gpu: SyntheticGpu
) -> None:
    admitted = run(gpu_node(world, gpu), world, roots_with(gpu))
    assert "gpu-evidence-valid" in admitted.checks
    (result,) = admitted.gpus
    assert result.mode == "SPT"
    assert result.gpu_id == gpu_id(gpu.device.chain_pem())
    step = next(s for s in admitted.trail if s.name == "gpu-evidence-valid")
    assert "gpu-measurements" in step.detail and "nonce binds the claims" in step.detail


def test_gpu_bundle_round_trips_through_the_directory_encoding(
    world: World, gpu: SyntheticGpu
) -> None:
    node = gpu_node(world, gpu)
    again = decode_descriptor(encode_descriptor(node))
    assert again.bundle == node.bundle
    assert run(again, world, roots_with(gpu)).gpus


def test_bundle_without_gpus_encodes_as_before(world: World, gpu: SyntheticGpu) -> None:
    node = gpu_node(world, gpu)
    assert node.bundle is not None
    plain = dataclasses.replace(node.bundle, gpus=())
    assert "gpus" not in plain.to_json()
    assert NodeBundle.decode(plain.encode()) == plain


def test_gpu_node_without_gpu_evidence_is_refused(world: World, gpu: SyntheticGpu) -> None:
    missing = Evidence("nvidia-gpu", b"", b"")
    node = gpu_node(world, gpu, gpu_evidence=missing)
    with pytest.raises(VerificationError, match="has no evidence"):
        run(node, world, roots_with(gpu))


def test_gpu_list_stripped_from_the_bundle_is_refused(world: World, gpu: SyntheticGpu) -> None:
    # The operator drops the GPU entry: the client's claims then lack the GPU the CPU TEE bound.
    node = gpu_node(world, gpu, listed=())
    with pytest.raises(VerificationError, match="report data does not bind"):
        run(node, world, roots_with(gpu))


def test_gpu_nonce_not_binding_the_node_key_is_refused(world: World, gpu: SyntheticGpu) -> None:
    other = SimNode(world.release.simulated_measurement)
    stolen = claims_for(other, (gpu_id(gpu.device.chain_pem()),))
    node = gpu_node(world, gpu, nonce_claims=stolen)
    with pytest.raises(VerificationError, match="GPU nonce does not bind"):
        run(node, world, roots_with(gpu))


def test_old_gpu_report_replayed_with_a_new_issue_time_is_refused(
    world: World, gpu: SyntheticGpu
) -> None:
    sim = SimNode(world.release.simulated_measurement)
    old = claims_for(sim, (gpu_id(gpu.device.chain_pem()),), issued_at=NOW - 3600)
    node = gpu_node(world, gpu, nonce_claims=old)
    with pytest.raises(VerificationError, match="GPU nonce does not bind"):
        run(node, world, roots_with(gpu))


def test_gpu_evidence_of_another_gpu_is_refused(world: World, gpu: SyntheticGpu) -> None:
    # Claims name GPU A; the operator shows B's valid evidence under A's name.
    other = synthetic_gpu()
    claims = claims_for(
        SimNode(world.release.simulated_measurement), (gpu_id(gpu.device.chain_pem()),)
    )
    b_evidence = other.evidence(dataclasses.replace(other.spec, nonce=gpu_nonce_for(claims)))
    node = gpu_node(world, gpu, gpu_evidence=b_evidence)
    roots = TrustRoots(
        insecure_simulated_keys=(DEV_ROOT.public_key().to_bytes(),),
        nvidia_gpu=dataclasses.replace(
            gpu.verifier(),
            device_roots=(gpu.device.root, other.device.root),
            rim_documents=gpu.rims + other.rims,
        ),
    )
    with pytest.raises(VerificationError, match="signed by another GPU"):
        run(node, world, roots)


def test_gpu_node_without_nvidia_trust_material_is_refused(world: World, gpu: SyntheticGpu) -> None:
    with pytest.raises(VerificationError, match="no NVIDIA trust material"):
        run(gpu_node(world, gpu), world, roots_with(None))


def test_gpu_device_chain_to_an_unpinned_root_is_refused_by_pinned_roots(
    world: World, gpu: SyntheticGpu
) -> None:
    roots = dataclasses.replace(
        TrustRoots.pinned(nvidia_rims=gpu.rims),
        insecure_simulated_keys=(DEV_ROOT.public_key().to_bytes(),),
    )
    with pytest.raises(VerificationError, match="pinned root"):
        run(gpu_node(world, gpu), world, roots)


def test_gpu_not_in_cc_mode_is_refused_through_admission(world: World, gpu: SyntheticGpu) -> None:
    sim_claims = claims_for(
        SimNode(world.release.simulated_measurement), (gpu_id(gpu.device.chain_pem()),)
    )
    ppcie = dataclasses.replace(gpu.spec, feature_flag=2, nonce=gpu_nonce_for(sim_claims))
    node = gpu_node(world, gpu, gpu_evidence=gpu.evidence(ppcie))
    with pytest.raises(PolicyError, match="not in confidential-computing mode"):
        run(node, world, roots_with(gpu))


def test_gpu_driver_version_outside_client_policy_is_refused(
    world: World, gpu: SyntheticGpu
) -> None:
    policy = dataclasses.replace(DEV, gpu=GpuPolicy(allowed_driver_versions=frozenset({"570.1"})))
    with pytest.raises(PolicyError, match="driver version"):
        run(gpu_node(world, gpu), world, roots_with(gpu), policy)


def test_gpu_list_not_matching_the_claims_is_refused(world: World, gpu: SyntheticGpu) -> None:
    # The CPU report names no GPU, but the bundle lists one: the claims the client computes
    # (with the listed GPU) no longer match the report data.
    node = gpu_node(world, gpu, named=())
    with pytest.raises(VerificationError, match="report data does not bind"):
        run(node, world, roots_with(gpu))


def test_console_nodes_view_shows_the_admitted_gpu(world: World, gpu: SyntheticGpu) -> None:
    from privcloud.device.views import nodes_view
    from privcloud.sdk.client_types import Trail

    admitted = run(gpu_node(world, gpu), world, roots_with(gpu))
    view = nodes_view(Trail(admitted=[admitted]))
    (shown,) = view["admitted"][0]["gpus"]
    assert shown["mode"] == "SPT" and shown["driver_version"] == "550.90.07"
    assert [r["kind"] for r in shown["rims"]] == ["driver", "vbios"]
    assert any("gpu-evidence-valid" in line for line in view["admitted"][0]["trail"])


def test_gpu_rims_the_release_does_not_list_are_refused(gpu: SyntheticGpu) -> None:
    # Genuine signed RIMs (the operator's choice), but not the ones the logged release accepts.
    other = synthetic_gpu()
    world = World.build(release_listing(other.rims))
    with pytest.raises(VerificationError, match="no valid signed RIM"):
        run(gpu_node(world, gpu), world, roots_with(gpu))


def test_release_listing_no_rims_admits_no_gpu_node(gpu: SyntheticGpu) -> None:
    world = World.build(manifest())
    with pytest.raises(VerificationError, match="lists no NVIDIA RIMs"):
        run(gpu_node(world, gpu), world, roots_with(gpu))


def test_release_with_a_malformed_rim_list_is_refused(gpu: SyntheticGpu) -> None:
    base = manifest()
    world = World.build(dataclasses.replace(base, config={**base.config, "nvidia_rims": ["zz"]}))
    with pytest.raises(VerificationError, match="malformed"):
        run(gpu_node(world, gpu), world, roots_with(gpu))


def test_bundle_rims_round_trip_and_are_bounded(world: World, gpu: SyntheticGpu) -> None:
    node = gpu_node(world, gpu)
    assert node.bundle is not None and node.bundle.rims == gpu.rims
    assert NodeBundle.decode(node.bundle.encode()).rims == gpu.rims
    with pytest.raises(UsageError):
        dataclasses.replace(node.bundle, rims=(b"",))
