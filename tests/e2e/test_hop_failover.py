"""The gateway's one-shot envelopes over the pooled hop client (netio.hop, docs/adr/0030): a
recipient no connection can be made to is left out and the envelope goes to the next one, so
no request fails while one recipient of its k is alive; every request runs once."""

from __future__ import annotations

import logging

import pytest

from privcloud.localcloud.cloud import LocalCloud
from privcloud.sdk import Client
from privcloud.trust.admission import ClientPolicy

DEAD_URL = "http://127.0.0.1:1"  # nothing listens there: connection refused


async def test_refused_recipients_are_left_out_and_the_live_one_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="privcloud.gateway")
    async with LocalCloud(require_tokens=False) as cloud:
        policy = ClientPolicy.insecure_local_dev()
        async with Client(cloud.relay_url, policy=policy, trust=cloud.client_trust(), k=3) as dev:
            assert (await dev.call("echo", None, b"warm")).data == b"warm"
            assert cloud.gateway is not None
            records = cloud.gateway.table.records
            live = records[0]
            for record in records[1:]:
                record.url = DEAD_URL  # still listed healthy: the gateway has not checked yet
            for i in range(20):  # a dead one listed is tried before the live one in half the draws
                assert (await dev.call("echo", None, b"%d" % i)).data == b"%d" % i
            assert live.healthy
            assert not any(r.healthy for r in records[1:])
    assert "node unreachable, trying another recipient" in caplog.text
