"""Admission of a TDX node attesting with a quote v5 and Intel's TCB collateral: the TCB
status and the verifier's checks are in the trail; an out-of-date TCB refuses the node."""

from __future__ import annotations

import dataclasses

import pytest
from test_admission import SimNode, World, claims_data, manifest

from attest_synthetic import T0, synthetic_intel
from intel_collateral_kit import build_tdx_quote_v5, synthetic_collateral
from privcloud.attest import TEE_TDX, Evidence, TrustRoots
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, generate_keypair
from privcloud.device.views import _admitted_json
from privcloud.errors import PolicyError
from privcloud.trust.admission import ClientPolicy, admit
from privcloud.trust.directory import NodeDescriptor

_MEASUREMENT = b"\x11" * 48 + bytes(4 * 48)  # MRTD, then RTMR0..3 as the quote reports them


def _node(world: World, tee_tcb_svn: bytes = bytes([3, 0, 4]) + bytes(13)) -> NodeDescriptor:
    node_key = generate_keypair(X25519_SHA256_AES128GCM.kem)
    quote = build_tdx_quote_v5(
        synthetic_intel(),
        report_data=claims_data(node_key.public_bytes, world.now),
        tee_tcb_svn=tee_tcb_svn,
    )
    bundle = world.bundle(Evidence(TEE_TDX, quote))
    return dataclasses.replace(SimNode(b"", key=node_key).descriptor(bundle), tee=TEE_TDX)


def test_tdx_v5_node_trail_records_the_checks_and_tcb_status() -> None:
    world = World.build(manifest(tdx_measurement=_MEASUREMENT), now=int(T0))
    roots = TrustRoots(intel=(synthetic_intel().root,), intel_collateral=synthetic_collateral())
    admitted = admit(
        _node(world), policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0
    )
    assert admitted.attestation.tcb_status == "UpToDate"
    step1, step6 = admitted.trail[1], admitted.trail[-1]
    assert step1.name == "evidence-valid"
    assert "checks quote-parsed, pck-chain, qe-report, quote-signature, tcb-status" in step1.detail
    assert "TCB status UpToDate (advisories: none)" in step1.detail
    assert "status UpToDate (allowed)" in step6.detail
    # The console's Nodes tab gets the same, for any evidence type.
    view = _admitted_json(admitted)["attestation"]
    assert (view["tcb_status"], view["advisory_ids"]) == ("UpToDate", [])
    assert [c["name"] for c in view["checks"]][-1] == "tcb-status"


def test_tdx_v5_node_with_out_of_date_tcb_is_refused_at_admission() -> None:
    world = World.build(manifest(tdx_measurement=_MEASUREMENT), now=int(T0))
    roots = TrustRoots(intel=(synthetic_intel().root,), intel_collateral=synthetic_collateral())
    old = _node(world, bytes([3, 0, 2]) + bytes(13))
    with pytest.raises(PolicyError):
        admit(old, policy=ClientPolicy(), roots=roots, log_state=world.state, now=T0)
