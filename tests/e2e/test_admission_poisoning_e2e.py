"""Admission poisoning end to end, over loopback: the gateway's directory carries one entry whose
SEV-SNP evidence holds a VCEK with an invalid X.509 version (or a duplicated extension). Before
the fix, ``cryptography``'s ``InvalidVersion`` escaped ``Client.refresh()`` and no node was
admitted; now admission refuses that entry with our error. Where: the gateway's own check of
the nodes it lists (docs/adr/0033) refuses it alone, lists the honest nodes, and calls succeed
through them; a gateway that lists it anyway (no check) gets its directory refused whole by
the device, which admits a logged directory all or nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from attest_synthetic import make_vcek, synthetic_amd, synthetic_snp_report
from cloudkit import Cloud, start_cloud
from der_mutations import with_duplicated_extension, with_version
from privcloud import errors
from privcloud.attest import TEE_SEV_SNP, Evidence
from privcloud.crypto.hpke import generate_keypair
from privcloud.envelope import key_id_for
from privcloud.sdk import Client
from privcloud.services.gateway_core import NodeRecord
from privcloud.services.gateway_directory import LoggedDirectory
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.directory import NodeDescriptor

POLICY = ClientPolicy.insecure_local_dev()
CHIP = bytes(range(64))


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


def _poisoned_entry(template: NodeDescriptor, vcek: bytes) -> NodeDescriptor:
    """A SEV-SNP node entry, well-formed up to its VCEK: its own HPKE key and key id, the
    cloud's logged release and proof (copied from an honest node), a parseable report."""
    assert template.bundle is not None
    key = generate_keypair(template.suite.kem)
    chip_key, _ = make_vcek(synthetic_amd(), CHIP)
    report = synthetic_snp_report(chip_key, chip_id=CHIP)
    bundle = dataclasses.replace(template.bundle, evidence=Evidence(TEE_SEV_SNP, report, vcek))
    return dataclasses.replace(
        template,
        node_id="node-poisoned",
        public_key=key.public_bytes,
        key_id=key_id_for(template.suite.kem, key.public_bytes),
        tee=TEE_SEV_SNP,
        bundle=bundle,
        pq_key=None,  # not the honest node's hybrid key: the gateway routes by key id
    )


@pytest.mark.parametrize(
    "poison",
    [lambda der: with_version(der, 0x05), lambda der: with_duplicated_extension(der, 0)],
    ids=["invalid-version", "duplicate-extension"],
)
async def test_admission_poisoning_one_bad_entry_still_admits_the_others(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, poison: object
) -> None:
    # The gateway serves the three honest nodes and, among them, one poisoned entry (its health
    # checks are frozen so that what it serves is exactly this).
    async def frozen() -> None:
        return None

    monkeypatch.setattr(cloud.gateway, "check_nodes", frozen)
    honest = cloud.gateway.nodes[0].descriptor
    assert honest is not None
    _, vcek = make_vcek(synthetic_amd(), CHIP)
    entry = _poisoned_entry(honest, poison(vcek))  # type: ignore[operator]
    cloud.gateway.nodes.insert(1, NodeRecord("http://127.0.0.1:9", entry, healthy=True))
    await cloud.gateway.log_directory()  # the directory devices use is the logged one

    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        trail = client.trail
        assert sorted(a.descriptor.node_id for a in trail.admitted) == [
            "node-1",
            "node-2",
            "node-3",
        ]
        assert trail.refused == []
        assert cloud.gateway.node_check is not None
        assert cloud.gateway.node_check.refused == {"node-poisoned": "malformed certificate"}
        # And it keeps working: a call goes through, never to the refused entry.
        assert (await client.call("echo", None, b"still served")).data == b"still served"
        assert "node-poisoned" not in trail.chosen
        # A refresh with the entry still there gives the same verdict (no stale state).
        await client.refresh()
        assert len(client.trail.admitted) == 3

    # Listed by a gateway that does not check: the device refuses that directory whole.
    cloud.gateway.node_check = None
    cloud.gateway.directory = LoggedDirectory(cloud.gateway.directory.service)  # a fresh one
    await cloud.gateway.log_directory()  # (or its health loop did, just before)
    client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
    try:
        with pytest.raises(errors.DirectoryConsistencyError, match="malformed certificate"):
            await client.refresh()
        assert client.trail.admitted == []
    finally:
        await client.close()
