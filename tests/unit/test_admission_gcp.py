"""Admission of a vTPM node and of a Confidential Space node: the whole procedure passes with
the verifier's checks in the trail (and the console's Nodes tab), and a node whose evidence
measures another release than the logged one is refused."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from test_admission import SimNode, World, claims_data, manifest

from attest_synthetic import T0
from gcp_kit import (
    cs_claims,
    cs_evidence,
    cs_trust,
    mint_token,
    synthetic_ak,
    vtpm_container,
    vtpm_evidence,
)
from privcloud.attest import Evidence, Policy, TrustRoots, verify_evidence
from privcloud.attest.base import TEE_GCP_CONFIDENTIAL_SPACE, TEE_VTPM
from privcloud.attest.tpm.verifier import VtpmTrust
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, generate_keypair
from privcloud.device.views import _admitted_json
from privcloud.errors import PolicyError, VerificationError
from privcloud.trust.admission import ClientPolicy, admit
from privcloud.trust.directory import NodeDescriptor


def _evidence(kind: str, report_data: bytes) -> tuple[Evidence, TrustRoots]:
    if kind == TEE_VTPM:
        ak = synthetic_ak("ecc")
        pin = frozenset({hashlib.sha256(ak.public).digest()})
        ev = vtpm_evidence(vtpm_container(ak, report_data=report_data))
        return ev, TrustRoots(vtpm=VtpmTrust(pinned_aks=pin))
    token = mint_token(cs_claims(report_data))
    return cs_evidence(token, report_data), TrustRoots(confidential_space=cs_trust())


def _world_and_node(kind: str, *, release_measurement: bytes | None = None):  # type: ignore[no-untyped-def]
    key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    evidence, roots = _evidence(kind, claims_data(key.public_bytes, T0))
    policy = ClientPolicy(attestation=Policy(allowed_tee_types=frozenset({kind})))
    measured = verify_evidence(evidence, now=T0, policy=policy.attestation, roots=roots)
    release = dataclasses.replace(
        manifest(), hardware_measurements={kind: release_measurement or measured.measurement}
    )
    world = World.build(release, now=int(T0))
    node: NodeDescriptor = dataclasses.replace(
        SimNode(b"", key=key).descriptor(world.bundle(evidence)), tee=kind
    )
    return world, node, roots, policy


@pytest.mark.parametrize("kind", [TEE_VTPM, TEE_GCP_CONFIDENTIAL_SPACE])
def test_gcp_node_is_admitted_with_its_checks_in_the_trail(kind: str) -> None:
    world, node, roots, policy = _world_and_node(kind)
    admitted = admit(node, policy=policy, roots=roots, log_state=world.state, now=T0)
    step1 = admitted.trail[1]
    assert step1.name == "evidence-valid" and "nonce-binds-node" in step1.detail
    view = _admitted_json(admitted)["attestation"]
    assert "nonce-binds-node" in [c["name"] for c in view["checks"]]


@pytest.mark.parametrize("kind", [TEE_VTPM, TEE_GCP_CONFIDENTIAL_SPACE])
def test_gcp_node_measuring_another_release_is_refused(kind: str) -> None:
    world, node, roots, policy = _world_and_node(kind, release_measurement=bytes(48))
    with pytest.raises(VerificationError, match="measurement"):
        admit(node, policy=policy, roots=roots, log_state=world.state, now=T0)


@pytest.mark.parametrize("kind", [TEE_VTPM, TEE_GCP_CONFIDENTIAL_SPACE])
def test_gcp_node_under_the_default_policy_is_refused(kind: str) -> None:
    world, node, roots, _ = _world_and_node(kind)
    with pytest.raises(PolicyError, match="not allowed"):
        admit(node, policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0)
