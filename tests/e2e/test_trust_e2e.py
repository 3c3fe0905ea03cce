"""Node admission end to end, over loopback: the cloud's release is published to a real log with a
real witness, nodes attest (INSECURE simulated TEE) and fetch their inclusion proofs, the SDK
moves its trusted checkpoint forward and admits each node through the full procedure; attacks
made by a node or by the gateway are refused; and the researcher commands (``release verify``,
``node verify``) reproduce what the running nodes attest to.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloudkit import Cloud, start_cloud
from privcloud import errors
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.cli import main
from privcloud.clock import FixedClock
from privcloud.crypto.hpke import generate_keypair
from privcloud.envelope import key_id_for
from privcloud.logclient import LogClient, publish_entry
from privcloud.sdk import Client
from privcloud.sdk.trust_store import FileTrustStore, default_state_dir
from privcloud.services.gateway_directory import LoggedDirectory
from privcloud.services.node import node_release_manifest
from privcloud.trust.admission import ClientPolicy

POLICY = ClientPolicy.insecure_local_dev()


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


def _refusals(client: Client) -> dict[str, str]:
    return dict(client.trail.refused)


async def test_local_cloud_nodes_are_admitted_through_the_full_procedure(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        trail = client.trail
        assert trail.refused == []
        assert {a.descriptor.node_id for a in trail.admitted} == {"node-1", "node-2", "node-3"}
        release = cloud.nodes[0].manifest
        assert trail.checkpoint is not None and trail.checkpoint.size >= 1
        for admitted in trail.admitted:
            assert [s.step for s in admitted.trail] == [0, 1, 2, 3, 4, 5, 6]
            assert admitted.insecure  # and says so
            assert admitted.manifest == release
            assert admitted.attestation.measurement == release.simulated_measurement
            assert admitted.checkpoint == trail.checkpoint
        assert (await client.call("echo", None, b"admitted")).data == b"admitted"


async def test_trusted_checkpoint_is_persisted_and_moves_forward(
    cloud: Cloud, tmp_path: Path
) -> None:
    store = FileTrustStore(tmp_path)
    trust = dataclasses.replace(cloud.client_trust(), store=store)
    async with Client(cloud.relay_url, policy=POLICY, trust=trust) as client:
        first = client.trail.checkpoint
    assert first is not None
    assert store.load(trust.log).checkpoint == first
    # The log grows (another release is published); a restarted client extends its view.
    assert cloud.transparency is not None
    t = cloud.transparency
    await publish_entry(t.log_url, t.operator_key, b"another release")
    async with LogClient(t.log_url) as log:
        await log.wait_for_checkpoint(first.size + 1, min_cosignatures=1)
    async with Client(cloud.relay_url, policy=POLICY, trust=trust) as client:
        second = client.trail.checkpoint
        assert second is not None and second.size > first.size
        # The nodes proved their release against the older checkpoint: the client fetched an
        # inclusion proof at its trusted size, and admitted them against that.
        assert len(client.trail.admitted) == 3
        assert all(a.checkpoint == second for a in client.trail.admitted)
    assert store.load(trust.log).checkpoint == second


async def test_node_running_unlogged_software_is_refused_end_to_end(cloud: Cloud) -> None:
    # node-3's TEE measures other software than the release it shows (and that was logged).
    rogue = cloud.nodes[2]
    assert cloud.insecure_tee_key is not None
    rogue.core.tee = InsecureSimulatedTee(cloud.insecure_tee_key, b"\x66" * 48)
    rogue.reattest()
    await cloud.gateway.check_nodes()
    # The gateway's check of what it lists refuses the new bundle, and says why, and lists the
    # node no more (its evidence failed: no earlier bundle stands for it; docs/adr/0033).
    await cloud.gateway.log_directory()  # (or its health loop did, just before)
    statement = cloud.gateway.directory.statement
    assert statement is not None and len(statement.key_ids) == 2
    check = cloud.gateway.node_check
    assert check is not None
    assert check.refused == {"node-3": "measurement differs from the release manifest"}
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert {a.descriptor.node_id for a in client.trail.admitted} == {"node-1", "node-2"}
        for _ in range(3):
            await client.call("echo", None, b"x")
    assert b"x" not in cloud.node_proxies[2].inbound()
    # A gateway that lists it anyway: the device refuses the directory whole, seals nothing.
    cloud.gateway.node_check = None
    cloud.gateway.directory = LoggedDirectory(cloud.gateway.directory.service)
    await cloud.gateway.log_directory()
    client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
    try:
        with pytest.raises(errors.DirectoryConsistencyError, match="measurement differs"):
            await client.call("echo", None, b"never sealed")
        assert client.trail.admitted == []
    finally:
        await client.close()
    assert all(b"never sealed" not in p.inbound() for p in cloud.node_proxies)


async def test_key_swapped_by_the_gateway_is_refused_end_to_end(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A malicious gateway publishes its own key for node-1 (keeping the node's evidence).
    async def frozen() -> None:
        return None

    monkeypatch.setattr(cloud.gateway, "check_nodes", frozen)
    cloud.gateway.node_check = None  # a malicious gateway does not check what it lists
    record = cloud.gateway.nodes[0]
    assert record.descriptor is not None
    attacker = generate_keypair(record.descriptor.suite.kem)
    record.descriptor = dataclasses.replace(
        record.descriptor,
        public_key=attacker.public_bytes,
        key_id=key_id_for(record.descriptor.suite.kem, attacker.public_bytes),
    )
    await cloud.gateway.log_directory()  # it logs its directory too (it holds the log key)
    # The swapped entry is in the logged statement, but its evidence binds another key: a
    # listed node that fails admission refuses the whole directory (docs/adr/0033), so the
    # device seals to none of it.
    client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
    try:
        with pytest.raises(errors.DirectoryConsistencyError, match="report data does not bind"):
            await client.refresh()
        assert client.trail.admitted == []
        with pytest.raises(errors.DirectoryConsistencyError):
            await client.call("echo", None, b"never sealed")
    finally:
        await client.close()
    assert all(b"never sealed" not in p.inbound() for p in cloud.node_proxies)


async def test_stale_node_bundle_is_refused_end_to_end(cloud: Cloud) -> None:
    stale = cloud.nodes[1]
    stale.clock = FixedClock(time.time() - 25 * 3600)
    stale.reattest()
    await cloud.gateway.check_nodes()
    await cloud.gateway.log_directory()
    check = cloud.gateway.node_check
    assert check is not None and check.refused == {"node-2": "node bundle is stale"}
    # The gateway serves node-2 with the bundle it was logged with (the same key), which
    # devices admit; one that serves the stale bundle gets its directory refused whole.
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert len(client.trail.admitted) == 3
    cloud.gateway.node_check = None
    client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
    try:
        with pytest.raises(errors.DirectoryConsistencyError, match="node bundle is stale"):
            await client.refresh()
    finally:
        await client.close()


async def test_production_policy_admits_no_simulated_node(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, trust=cloud.client_trust()) as client:
        assert client.trail.admitted == []
        assert set(_refusals(client).values()) == {"TEE type not allowed by policy"}
        with pytest.raises(errors.NoHealthyNodeError):
            await client.call("echo", None, b"never sent")


async def test_client_without_trust_configuration_refuses_to_start(cloud: Cloud) -> None:
    with pytest.raises(errors.ConfigError):
        async with Client(cloud.relay_url, policy=POLICY):
            pass


# --- the researcher commands, against the running nodes ----------------------------------------


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def _trust_args(cloud: Cloud) -> list[str]:
    assert cloud.transparency is not None and cloud.insecure_tee_key is not None
    t = cloud.transparency
    return [
        "--log",
        t.log_url,
        "--log-vkey",
        t.log_vkey,
        *[a for v in t.witness_vkeys for a in ("--witness-vkey", v)],
        "--insecure-simulated-root",
        cloud.insecure_tee_key.public_key().to_bytes().hex(),
    ]


async def test_release_verify_reproduces_the_measurement_of_the_running_nodes(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # What the running nodes attest to (their release was computed when the cloud started).
    expected = cloud.nodes[0].manifest.simulated_measurement.hex()
    log_args = _trust_args(cloud)[2:]  # --log-vkey, --witness-vkey..., --insecure-simulated-root
    for url in cloud.node_urls:
        assert await _cli("release", "verify", "--node", url, *log_args) == 0
        out = capsys.readouterr().out
        assert "proven in" in out
        assert f"match  measurement[simulated]: {expected}" in out
        assert f"match  attested measurement[simulated]: {expected}" in out
        assert "DIFFER" not in out
        assert "release verify OK" in out
    # ... and the log entry itself, proven in the log's signed tree.
    assert cloud.transparency is not None
    args = ["--log", cloud.transparency.log_url, "--log-vkey", cloud.transparency.log_vkey]
    assert await _cli("release", "verify", "--index", "0", *args) == 0
    assert "proven in" in capsys.readouterr().out
    # A build with another config is another release: the comparison says where, and fails.
    rc = await _cli(
        "release",
        "verify",
        "--node",
        cloud.node_urls[0],
        "--config",
        str(_config_file(tmp_path)),
        *log_args,
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert "DIFFER  config" in out


async def test_release_verify_without_a_log_key_is_refused(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the log's key the node's own claim (or an unproven entry) would be all there is.
    assert cloud.transparency is not None
    assert await _cli("release", "verify", "--node", cloud.node_urls[0]) == 2
    assert "--log-vkey" in capsys.readouterr().err
    assert await _cli("release", "verify", "--log", cloud.transparency.log_url, "--index", "0") == 2
    assert "--log-vkey" in capsys.readouterr().err


async def test_release_verify_of_a_node_claiming_an_unlogged_release_is_refused(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # node-1 shows a manifest that was never logged (another config) with its real proof; the
    # researcher builds that same config, so only the log can tell.
    config = _config_file(tmp_path)
    node = cloud.nodes[0]
    node.core.manifest = dataclasses.replace(node.manifest, config=json.loads(config.read_text()))
    node.reattest()
    log_args = _trust_args(cloud)[2:]
    rc = await _cli(
        "release", "verify", "--node", cloud.node_urls[0], "--config", str(config), *log_args
    )
    captured = capsys.readouterr()
    assert rc == 1
    assert "inclusion proof" in captured.err
    assert "release verify OK" not in captured.out


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"features": ["echo"]}))
    return path


async def test_node_verify_prints_every_step_of_admission(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    url = cloud.node_urls[0]
    assert await _cli("node", "verify", url, *_trust_args(cloud), "--insecure-allow-simulated") == 0
    out = capsys.readouterr().out
    for step in range(7):
        assert f"  ok  {step}. " in out
    assert "inclusion proof of" in out
    assert "ADMITTED (INSECURE simulated TEE" in out
    # Under the production policy the same node is refused at step 1, loudly.
    assert await _cli("node", "verify", url, *_trust_args(cloud)) == 1
    assert "REFUSED at step 1: TEE type not allowed by policy" in capsys.readouterr().out


def _call_args(cloud: Cloud) -> list[str]:
    assert cloud.transparency is not None and cloud.insecure_tee_key is not None
    return [
        "call",
        "echo",
        "--relay",
        cloud.relay_url,
        "--data",
        "hello",
        "--insecure-allow-simulated",
        "--log",
        f"{cloud.relay_url}/log",
        *_trust_args(cloud)[2:],
    ]


async def test_cli_client_restart_cannot_roll_back_the_trusted_checkpoint(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `privcloud call` keeps its trusted checkpoint under $XDG_STATE_HOME/privcloud by default.
    assert cloud.transparency is not None
    t = cloud.transparency
    async with LogClient(t.log_url) as log:
        old_note = await log.checkpoint()
    assert await _cli(*_call_args(cloud)) == 0
    capsys.readouterr()
    pinned = cloud.client_trust().log
    first = FileTrustStore(default_state_dir()).load(pinned).checkpoint
    assert first.size >= 1
    # The log grows; the next run moves the persisted checkpoint forward.
    await publish_entry(t.log_url, t.operator_key, b"another release")
    async with LogClient(t.log_url) as log:
        await log.wait_for_checkpoint(first.size + 1, min_cosignatures=1)
    assert await _cli(*_call_args(cloud)) == 0
    capsys.readouterr()
    assert FileTrustStore(default_state_dir()).load(pinned).checkpoint.size > first.size

    # Then the log (or whoever answers for it) shows a restarted client the older tree.
    async def rolled_back(_: LogClient) -> bytes:
        return old_note

    monkeypatch.setattr(LogClient, "checkpoint", rolled_back)
    assert await _cli(*_call_args(cloud)) == 1
    assert "RollbackError" in capsys.readouterr().err


async def test_release_build_is_reproducible_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await _cli("release", "build") == 0
    first = capsys.readouterr()
    assert await _cli("release", "build") == 0
    second = capsys.readouterr()
    assert first.out == second.out
    built = node_release_manifest()
    assert first.out.strip().encode() == built.encode()
    assert f"measurement[simulated] {built.simulated_measurement.hex()}" in first.err
