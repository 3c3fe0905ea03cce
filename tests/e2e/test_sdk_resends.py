"""The device's resends and retries in honest use (docs/adr/0009 and docs/adr/0033, decision
6): what the fixes against a gateway that singles out devices must not break. Each test was a
reproduction by a third review (2026-12-07) and fails without its fix."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import pytest
from aiohttp import web
from test_live_session import DRAIN_S, echo_factory

from cloudkit import Interceptor, behind, pass_on, refuse_first, start_cloud
from privcloud import errors
from privcloud.sdk import Client
from privcloud.sdk.live import LiveCall
from privcloud.services.gateway_core import key_mismatch_problem
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.trust.admission import ClientPolicy
from privcloud.wire import bhttp

POLICY = ClientPolicy.insecure_local_dev()


class MismatchOnPost(Interceptor):
    """Forwards everything; answers the n-th OHTTP POST with RFC 9458's key mismatch."""

    def __init__(self, upstream: str, nth: int) -> None:
        super().__init__(upstream)
        self.nth, self.posts = nth, 0

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST" and request.path == "/v1/ohttp":
            self.posts += 1
            if self.posts == self.nth:
                return web.json_response(
                    key_mismatch_problem(), status=400, content_type="application/problem+json"
                )
        return await pass_on(request, self.upstream, body)


async def test_a_key_mismatch_after_a_401_is_an_error_of_ours() -> None:
    mismatch = functools.partial(MismatchOnPost, nth=2)
    async with behind(mismatch, tokens=True) as (cloud, _, url, trust):
        client = Client(url, policy=POLICY, trust=trust, wallet=cloud.new_wallet())
        async with client:
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            cloud.gateway.authorizer = refuse_first(authorizer, authorizer.www_authenticate())
            with pytest.raises(errors.UnknownKeyError):  # not the client's internal exception
                await client.call("echo", None, b"r")


async def test_an_honest_401_naming_the_issuers_successor_key_is_retried() -> None:
    """The issuer makes its successor key (logged, as its rotation does); the gateway learns
    it and names it in its challenge. A token refused once (a crash brought it back: the
    wallet file is not fsynced) is retried with the next token; the key the challenge names
    is never adopted."""
    cloud = await start_cloud(tokens=True)
    try:
        assert cloud.issuer is not None and cloud.key_log is not None
        wallet = cloud.new_wallet(batch_size=8)
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
        ) as client:
            assert (await client.call("echo", None, b"x")).data == b"x"
            await cloud.add_issuer_key()
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            await client.refresh()  # a scheduled re-admission: the checkpoint moves on
            header = authorizer.www_authenticate()  # names the successor (newest first)
            # e.g. a token a crash brought back: refused once
            cloud.gateway.authorizer = refuse_first(authorizer, header)
            assert (await client.call("echo", None, b"r")).data == b"r"
    finally:
        await cloud.stop()


class FailFirstKeys(Interceptor):
    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.fail = True

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail and request.path == "/v1/key-statements":
            self.fail = False
            return web.Response(status=503)
        return await pass_on(request, self.upstream, body)


async def test_a_client_whose_first_admission_failed_prefetches_at_its_first_success() -> None:
    async with behind(FailFirstKeys, tokens=True) as (cloud, _, url, trust):
        wallet = cloud.new_wallet(batch_size=8, refill_delay_s=(100.0, 100.0))
        client = Client(url, policy=POLICY, trust=trust, wallet=wallet)
        try:
            with pytest.raises(errors.PrivcloudError):
                await client.refresh()  # a transient failure (relay hiccup)
            await client.refresh()  # the first admission that succeeds
            assert len(wallet) > 0
        finally:
            await client.close()


async def test_a_forked_log_seen_in_the_background_stops_requests_at_the_next_full_refresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fork seen where anyone on the path can write it (the key fetch of a resend after a
    mismatch the gateway claims, or a background admission: a log's refusal is an error
    body) fails that fetch and leaves the admission as it is, used until its logged validity
    ends (docs/adr/0009, decision 7); a full ``refresh()`` (or an admission on a request's
    path once that validity is over) fails closed: then no request or live call goes out."""
    from privcloud.sdk import client_admission as admission_module

    cloud = await start_cloud(tokens=True)
    for node in cloud.nodes:
        node.live.pipelines = echo_factory
        node.live.drain_s = DRAIN_S
    try:
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=cloud.new_wallet()
        ) as c:
            assert (await c.call("echo", None, b"x")).data == b"x"

            async def forked(*_: Any, **__: Any) -> Any:
                raise errors.ForkError("the log forked")

            monkeypatch.setattr(admission_module, "refresh_trusted_checkpoint", forked)
            with pytest.raises(errors.ForkError):  # what _attempt runs after a key mismatch
                await c.key_for_resend()
            with pytest.raises(errors.ForkError):  # what the background runs
                async with c._refresh_lock:
                    await c._refresh_unlocked(keep_on_failure=True)
            assert (await c.call("echo", None, b"r2")).data == b"r2"  # (the admission stands)
            with pytest.raises(errors.ForkError):
                await c.refresh()
            with pytest.raises(errors.ForkError):
                await c.call("echo", None, b"r3")
            call = LiveCall(c, deadline_s=5)
            with pytest.raises(errors.ForkError):
                await call.start()
            await call.aclose()
    finally:
        await cloud.stop()


async def test_a_401_with_an_empty_wallet_is_an_unavailable_error() -> None:
    cloud = await start_cloud(tokens=True)
    try:
        wallet = cloud.new_wallet(batch_size=1, refill_delay_s=(100.0, 100.0))
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
        ) as client:
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            header = authorizer.www_authenticate()

            async def refuse(inner: bhttp.Request) -> Any:
                raise TokenRefusedError("token already spent", www_authenticate=header)

            cloud.gateway.authorizer = refuse
            with pytest.raises(errors.NoTokenLeftError):  # an UnavailableError (docs/tokens.md)
                await client.call("echo", None, b"r")
    finally:
        await cloud.stop()


class _Later:
    """A clock ``offset`` seconds ahead of the system's."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


async def test_background_admissions_that_fail_past_the_validity_do_not_poll() -> None:
    """A second review of decision 7: the admission's logged validity is over while the
    background admissions fail (a log or relay out of reach, or no newer directory statement
    logged yet). Each try waited only the floor (one second) then, since the delay was
    counted against a validity already over: every idle device polled the relay and the log
    once a second. After a failure it now waits the whole range."""
    cloud = await start_cloud()
    try:
        async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
            c.clock = _Later(2 * 3600.0)  # two hours on: nothing logged is valid any more
            assert c._readmitter is not None
            c._readmitter.cancel()
            await asyncio.gather(c._readmitter, return_exceptions=True)
            c._readmitter = None
            before = c._admissions
            c._readmit_later()
            await asyncio.sleep(3.5)
            assert c._admissions - before <= 1
    finally:
        await cloud.stop()


async def test_a_client_used_again_after_close_admits_in_the_background() -> None:
    """A second review of decision 7: ``close()`` cancels the background admission, and a
    client used again after it had none, until a request admitted on its path."""
    cloud = await start_cloud()
    try:
        c = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
        await c.refresh()
        await c.close()
        assert c._readmitter is None
        assert (await c.call("echo", None, b"x")).data == b"x"
        assert c._readmitter is not None
        await c.close()
    finally:
        await cloud.stop()


async def test_background_admissions_near_the_validity_end_keep_the_floor_apart() -> None:
    """A fourth review of decision 7: with under a minute of the admission's validity left (a
    directory statement logged late, or the older of two served), every device admitted again
    once a second until the end, all at the same time. Now they keep ``READMIT_FLOOR_S``
    apart; a failed try with validity left tries again within it, and once none is left
    waits the whole range (no polling)."""
    from privcloud import limits
    from privcloud.sdk.client_admission import READMIT_AFTER_S

    c = Client("http://127.0.0.1:1")
    now = 1_000_000.0
    c.clock = _Later(now - time.time())

    def delays(valid_for: float, *, failed: bool) -> list[float]:
        c._valid_until = lambda: c.clock.now() + valid_for  # type: ignore[method-assign]
        return [c._readmit_delay(failed=failed) for _ in range(200)]

    assert min(delays(limits.READMIT_MARGIN_S + 3, failed=False)) >= limits.READMIT_FLOOR_S
    within = delays(limits.READMIT_MARGIN_S + 120, failed=True)
    assert min(within) >= 60 - 1 and max(within) <= 120 + 1
    assert min(delays(0, failed=True)) >= READMIT_AFTER_S / 2
    await c.close()


async def test_background_admissions_after_the_keys_end_stay_within_the_directory() -> None:
    """A fifth review: background admissions aim before the key's end as well as the
    directory's; once the key's end had passed, a failed try waited the whole 5-10 minutes,
    past the directory's end, so the next request admitted on its path. Now past (or too near)
    the key's end they aim at the directory's end."""
    from privcloud import limits
    from privcloud.ohttp import GatewayKey
    from privcloud.trust.keys import KeyStatement

    c = Client("http://127.0.0.1:1")
    now = 1_000_000.0
    c.clock = _Later(now - time.time())
    config = GatewayKey.generate(key_id=1).config
    for key_end in (now - 100, now + limits.READMIT_MARGIN_S, now + 3000):
        c._key_statement = KeyStatement.for_ohttp("gw", config, int(now) - 900, int(key_end))
        c._valid_until = lambda: c.clock.now() + 200  # type: ignore[method-assign]
        delays = [c._readmit_delay(failed=True) for _ in range(200)]
        assert max(delays) <= 200 - limits.READMIT_MARGIN_S + 1
    await c.close()
