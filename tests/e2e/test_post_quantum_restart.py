"""A relay that strips the hybrid (post-quantum) OHTTP key configuration is refused, after a
restart of the app too: with a logged directory because the directory statement names the key
(docs/adr/0033, decision 7), on first contact as well; without one (INSECURE
``insecure_unlogged_directory``) by the device's memory of the hybrid statement it proved,
which lives in the trust store (docs/adr/0014-post-quantum-hpke.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cloudkit import Cloud, start_cloud
from privcloud import errors
from privcloud.sdk import Client
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.trust_store import FileTrustStore
from privcloud.services.site import start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.keys import (
    KEY_STATEMENTS_PATH,
    MEDIA_KEY_STATEMENTS,
    decode_statement_list,
    encode_statement_list,
)

POLICY = ClientPolicy.insecure_local_dev()
CANARY = b"CANARY-post-quantum-restart"


class StripHybridRelay:
    """An attacker in front of the real relay: while ``active`` it drops the hybrid statements
    from the key statement list; everything else passes through. Counts POSTs."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.active = False
        self.posts = 0

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {"Content-Type": request.content_type} if body else {}
        self.posts += request.method == "POST"
        async with (
            aiohttp.ClientSession() as s,
            s.request(
                request.method, self.upstream + request.path_qs, data=body or None, headers=headers
            ) as r,
        ):
            payload, media, status = await r.read(), r.content_type, r.status
        if self.active and request.path == KEY_STATEMENTS_PATH:
            kept = [s for s in decode_statement_list(payload) if not s.key_config.post_quantum]
            payload, media = encode_statement_list(kept), MEDIA_KEY_STATEMENTS
        return web.Response(status=status, body=payload, content_type=media)


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


def _client(cloud: Cloud, url: str, state_dir: Path, *, unlogged: bool = True) -> Client:
    pinned = cloud.client_trust()
    trust = ClientTrust(f"{url}/log", pinned.log, pinned.roots, FileTrustStore(state_dir))
    return Client(url, policy=POLICY, trust=trust, insecure_unlogged_directory=unlogged)


async def _strip_relay(cloud: Cloud) -> tuple[StripHybridRelay, web.AppRunner, str]:
    """The stripping relay in front of ``cloud``'s (inactive), its runner and URL."""
    attacker = StripHybridRelay(cloud.relay_url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", attacker.forward)
    runner, port = await start_site(app, "127.0.0.1", 0)
    return attacker, runner, f"http://127.0.0.1:{port}"


async def test_downgrade_strip_hybrid_keyconfig_is_refused_by_the_logged_directory(
    cloud: Cloud, tmp_path: Path
) -> None:
    attacker, runner, url = await _strip_relay(cloud)
    try:
        attacker.active = True
        for device in ("first-contact", "another"):  # no memory needed: the statement names it
            client = _client(cloud, url, tmp_path / device, unlogged=False)
            try:
                with pytest.raises(errors.DirectoryConsistencyError, match="withheld"):
                    await client.refresh()
            finally:
                await client.close()
        assert attacker.posts == 0
    finally:
        await runner.cleanup()


async def test_downgrade_strip_hybrid_keyconfig_after_restart_is_detected(
    cloud: Cloud, tmp_path: Path
) -> None:
    attacker, runner, url = await _strip_relay(cloud)
    try:
        # First run of the app: it proves the hybrid statement, and its trust store keeps that.
        async with _client(cloud, url, tmp_path / "device") as first:
            statement = first.trail.key_statement
            assert statement is not None and statement.key_config.post_quantum
        # The app restarts (a new client, same trust store); the relay now strips the hybrid
        # configuration. The default policy (no require_post_quantum) still refuses.
        attacker.active = True
        restarted = _client(cloud, url, tmp_path / "device")
        try:
            with pytest.raises(errors.DowngradeError):
                await restarted.refresh()
            posts = attacker.posts
            with pytest.raises(errors.DowngradeError):
                await restarted.call("echo", None, CANARY)
            assert attacker.posts == posts  # refused before anything was sent
        finally:
            await restarted.close()
        # A device that never proved a hybrid statement (another trust store) is on first
        # contact: without a logged directory it accepts the logged X25519 configuration (ADR
        # 0014's documented gap, closed by the logged directory: the test above).
        async with _client(cloud, url, tmp_path / "other-device") as fresh:
            assert (await fresh.call("echo", None, CANARY)).data == CANARY
            classical = fresh.trail.key_statement
            assert classical is not None and not classical.key_config.post_quantum
    finally:
        await runner.cleanup()
