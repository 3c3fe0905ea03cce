"""The relay passes the log's C2SP tlog-tiles reads (``/log/checkpoint``, hash tiles) so a device
reads tiles through it, and the log never sees the device's address; entry bundles and
non-canonical tile paths are not passed. The device path (the SDK client behind the relay) now
computes its log proofs from tiles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from cloudkit import start_cloud
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient, publish_entry
from privcloud.sdk import Client
from privcloud.sdk.trust_store import pinned_state, refresh_trusted_checkpoint
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.transparency.client_state import verify_inclusion_against
from privcloud.trust.admission import ClientPolicy


@dataclass
class Setup:
    local: LocalTransparency
    relay: Relay
    url: str  # the relay's log prefix, as a device pins it


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    local = await LocalTransparency.start("127.0.0.1", tmp_path / "data")
    relay = Relay("http://127.0.0.1:9", log_url=local.log_url)
    runner, port = await start_site(relay.app(), "127.0.0.1", 0)
    yield Setup(local, relay, f"http://127.0.0.1:{port}/log")
    await runner.cleanup()
    await local.stop()


async def _grow(local: LocalTransparency, entries: list[bytes]) -> None:
    for e in entries:
        await publish_entry(local.log_url, local.operator_key, e)
    async with LogClient(local.log_url) as client:
        await client.wait_for_checkpoint(local.log.store.size(), min_cosignatures=1)


async def _get(url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        return resp.status, await resp.read(), resp.headers.get("Cache-Control", "")


async def test_device_reads_tiles_through_the_relay(setup: Setup) -> None:
    entries = [b"release %d" % i for i in range(300)]
    await _grow(setup.local, entries[:20])
    state = pinned_state(setup.local.log_vkey, setup.local.witness_vkeys)
    async with LogClient(setup.url) as client:  # the default, "auto", as the SDK uses it
        state = await refresh_trusted_checkpoint(client, state)
        await _grow(setup.local, entries[20:])
        state = await refresh_trusted_checkpoint(client, state)  # consistency 20 -> 300
        assert state.checkpoint.size == 300
        proof = await client.inclusion_proof(257, 300)
        verify_inclusion_against(state, entries[257], 257, proof)
        assert client.tile_requests > 0
    counters = setup.relay.metrics.counters
    assert counters["requests{route=log-checkpoint,status=200}"] >= 2
    assert counters["requests{route=log-tile,status=200}"] > 0


async def test_relay_passes_hash_tiles_only_and_canonical_paths_only(setup: Setup) -> None:
    await _grow(setup.local, [b"release %d" % i for i in range(260)])
    log = setup.local.log_url
    status, body, cache = await _get(setup.url + "/tile/0/000")
    assert (status, body, cache) == await _get(log + "/tile/0/000")
    assert status == 200 and len(body) == 8192 and "immutable" in cache
    assert (await _get(setup.url + "/tile/0/001.p/4"))[0] == 200
    assert (await _get(setup.url + "/checkpoint"))[1] == setup.local.log.checkpoint_note
    # Entry bundles stay at the log (a device reads entries from /log/v1/entries).
    assert (await _get(log + "/tile/entries/000"))[0] == 200
    assert (await _get(setup.url + "/tile/entries/000"))[0] == 404
    # Only canonical tile paths are asked upstream.
    for bad in ("/tile/0/0", "/tile/00/000", "/tile/0/x000/000", "/tile/0/000.p/256"):
        assert (await _get(setup.url + bad))[0] == 400, bad
    assert (await _get(setup.url + "/tile/0/005"))[0] == 404  # the tree has no such tile


async def test_sdk_client_behind_the_relay_reads_the_log_from_tiles() -> None:
    cloud = await start_cloud()
    try:
        trust = cloud.client_trust()
        policy = ClientPolicy.insecure_local_dev()
        async with Client(cloud.relay_url, policy=policy, trust=trust) as client:
            await client.call("echo", {"x": 1}, b"hello")
        seen = cloud.relay_proxy.inbound()
        assert b"GET /log/checkpoint " in seen
        assert b"GET /log/v1/checkpoint" not in seen
        assert b"GET /log/v1/proof/" not in seen
        assert b"GET /log/tile/" in seen  # its proofs come from tiles
    finally:
        await cloud.stop()
