"""Gateway key rotation without an outage (docs/adr/0009-key-consistency.md): a new OHTTP key is
logged, offered first and accepted beside the old one; when the old one is retired, devices
still using it get RFC 9458's key-mismatch answer before the gateway sees their token, and
resend with the same token under the new, logged key (until their next admission takes it on).
Under load: no failed request, no token lost (every token a wallet fetched is either spent at
the gateway once or still in the wallet).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from privcloud import limits
from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.trust.admission import ClientPolicy

POLICY = ClientPolicy.insecure_local_dev()
#: Concurrent request loops per client.
WORKERS = 4


async def _until(condition: object, timeout: float = 60.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "load did not progress"
        await asyncio.sleep(0.02)


def _spent(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "tokens" / "spent-tokens.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM spent_tokens").fetchone()[0])


async def test_gateway_key_rotation_under_load_fails_no_request_and_loses_no_token(
    tmp_path: Path,
) -> None:
    cloud = LocalCloud(
        nodes=[NodeSpec("node-1", "eu-west"), NodeSpec("node-2", "eu-west")],
        data_dir=str(tmp_path),
    )
    await cloud.start()
    try:
        assert cloud.gateway is not None and cloud.gateway.key_file is not None
        # Client A re-admits after the new key is logged (it moves over by choice); client B
        # does not before the old key is retired: each of its requests is then resent under
        # the new key, which its next admission (in the background) takes on.
        wallets = [  # (a load that outruns any refill)
            cloud.new_wallet(batch_size=16, insecure_fetch_on_request_path=True) for _ in range(2)
        ]
        clients = [
            Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=w)
            for w in wallets
        ]
        for client in clients:
            await client.refresh()
        old = {r.key.key_id for r in cloud.gateway.ring.records}
        done = [0]
        stop = asyncio.Event()

        async def load(client: Client, worker: int) -> None:
            n = 0
            while not stop.is_set():
                body = f"{worker}-{n}".encode()
                assert (await client.call("echo", None, body)).data == body
                done[0] += 1
                n += 1

        tasks = [asyncio.create_task(load(c, i)) for c in clients for i in range(WORKERS)]
        try:
            await _until(lambda: done[0] >= 40)
            # Logged, offered first, old still accepted; begun a skew ago, so named at once.
            new = await cloud.add_gateway_key(begun_s=limits.KEY_STATEMENT_SKEW_S)
            await _until(lambda: done[0] >= 80)
            await clients[0].refresh()
            assert clients[0].trail.key_config_id == new.key.key_id
            await _until(lambda: done[0] >= 120)
            for key_id in old:
                await cloud.retire_gateway_key(key_id)  # as the old key's expiry would
            await _until(lambda: done[0] >= 200)
        finally:
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == []  # no request failed
        await clients[1].refresh()  # (the background's next admission)
        assert clients[1].trail.key_config_id == new.key.key_id
        # No token lost or spent twice: fetched = spent at the gateway + still held.
        spent = _spent(tmp_path)
        assert spent == done[0]
        assert sum(w.fetched for w in wallets) == spent + sum(len(w) for w in wallets)
        for client in clients:
            await client.close()
    finally:
        await cloud.stop()
