"""The multi-process cloud on PostgreSQL with log readers: one log sequencer, two
``privcloud log --read-only`` processes, and the relays reading the log through the readers. A
device behind each relay admits the nodes (checkpoint, tiles and proofs from a reader) and gets
its answer; the readers serve the sequencer's checkpoint and refuse appends."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from privcloud.errors import ConfigError, ReadOnlyLogError
from privcloud.localcloud.cluster import Cluster, ClusterSpec
from privcloud.logclient import LogClient, checkpoint_size
from privcloud.sdk import Client
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.storage.tlog_store import load_key
from privcloud.trust.admission import ClientPolicy


@pytest.fixture
async def cluster(postgres_url: str) -> AsyncIterator[Cluster]:
    data = Path(tempfile.mkdtemp(prefix="privcloud-cluster-readers-"))
    spec = ClusterSpec(
        relays=2, gateways=1, issuers=1, nodes=1, log_readers=2, database=postgres_url
    )
    async with Cluster(spec, data) as running:
        yield running
    shutil.rmtree(data, ignore_errors=True)


def test_log_readers_need_postgresql() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        ClusterSpec(log_readers=1)


async def test_devices_read_the_log_through_readers(cluster: Cluster) -> None:
    assert len(cluster.log_reader_urls) == 2
    assert {"log", "log-reader-1", "log-reader-2"} <= set(cluster.processes)
    for relay in range(2):
        wallet = Wallet(
            cluster.issuer_url,
            enrolment_code=await cluster.new_enrolment_code(),
            config=WalletConfig(consistency_url=f"{cluster.relay_urls[relay]}/issuer"),
        )
        async with Client(
            cluster.relay_urls[relay],
            policy=ClientPolicy.insecure_local_dev(),
            wallet=wallet,
            trust=cluster.client_trust(relay),
        ) as client:
            result = await client.call("echo", {}, b"through reader %d" % relay)
            assert result.data == b"through reader %d" % relay
    async with LogClient(cluster.log_url) as seq:
        size = checkpoint_size(await seq.checkpoint())
    for url in cluster.log_reader_urls:
        async with LogClient(url) as reader:
            deadline = time.monotonic() + 30
            # A reader follows the sequencer within its --refresh-s.
            while checkpoint_size(await reader.checkpoint()) < size:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            with pytest.raises(ReadOnlyLogError):
                await reader.append(b"not here", load_key(cluster.operator_key_file))
