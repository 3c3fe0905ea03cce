"""The device's live call after the red-team review of 2026-12-06 (docs/adr/0023-live-sessions.md,
"Review of 2026-12-06"): the call admits again when the request path would, draws every node
uniformly whatever the gateway refuses at an opening (a node whose open session failed is left
out), resumes through the start's loop, and closes what it opened when it is closed at once.
Over loopback sockets, through relay and gateway, with the test-only :class:`EchoPipeline` of
``test_live_session`` (no model). The node draws are scripted (``Draws``) where the test needs
one order; each test is bounded to a few seconds.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import pytest
from test_live_session import (
    DRAIN_S,
    EchoPipeline,
    client,
    collect,
    echo_factory,
    nodes_idle,
    play,
    silence,
    tone,
)

from cloudkit import Cloud, start_cloud
from privcloud import errors, limits
from privcloud.live.output import LiveOutput
from privcloud.live.session import parse_prefix
from privcloud.live.tunnel import OpenExchange
from privcloud.sdk import Client
from privcloud.sdk.live import LiveCall
from privcloud.services import live_tunnel
from privcloud.services.live_gateway import LiveGateway
from privcloud.services.live_tunnel import Refused
from privcloud.services.redemption import TokenAuthorizer
from privcloud.trust.admission import AdmittedNode
from wsrecord import Recorder


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud(tokens=True)
    for node in c.nodes:
        node.live.pipelines = echo_factory
        node.live.drain_s = DRAIN_S
    yield c
    await c.stop()


class Draws:
    """Stands in for the call's random choice. Each draw takes the first node of its turn's
    preference that the call offers (else the first offered); the last turn repeats, and
    :meth:`then` plans the next draws. Records each set of nodes it was offered."""

    def __init__(self, *prefer: str) -> None:
        self.turns: list[tuple[str, ...]] = [prefer]
        self.start = 0
        self.offered: list[set[str]] = []

    def then(self, *turns: tuple[str, ...]) -> None:
        self.turns, self.start = list(turns), len(self.offered)

    def choice(self, seq: Sequence[AdmittedNode]) -> AdmittedNode:
        ids = [a.descriptor.node_id for a in seq]
        turn = self.turns[min(len(self.offered) - self.start, len(self.turns) - 1)]
        self.offered.append(set(ids))
        for node_id in turn:
            if node_id in ids:
                return seq[ids.index(node_id)]
        return seq[0]


def scripted(call: LiveCall, draws: Draws) -> LiveCall:
    call._random = draws  # type: ignore[assignment]
    return call


def fetches(c: Client) -> list[str]:
    """The paths ``c`` fetches through the relay from now on (key statements, directory)."""
    paths: list[str] = []
    get = c._get

    async def counting(path: str, media: str | None = None) -> bytes:
        paths.append(path)
        return await get(path, media)

    c._get = counting  # type: ignore[method-assign]
    return paths


def node_ids(cloud: Cloud) -> list[str]:
    return [n.descriptor.node_id for n in cloud.nodes]


async def _cut_and_resume(
    cloud: Cloud, call: LiveCall, events: Any, draws: Draws, fetched: list[str]
) -> int:
    """A cut of ``call``'s tunnel to node-1 (its host stops; the gateway can close the tunnel
    alike) with the next draw node-2: the call resumes there and ends, fetching nothing at
    the resume. Returns how many fetches came before the cut."""
    ids = node_ids(cloud)
    draws.then((ids[1],))
    before = len(fetched)
    await cloud.node_proxies[0].stop()
    await play(call, tone(1.6))
    await asyncio.wait_for(call.end(), 10)
    await asyncio.wait_for(events, 5)
    assert call.nodes == [ids[0], ids[1]]
    assert fetched[before:] == []  # nothing fetched at the resume
    return before


def refusing_all_but(
    monkeypatch: pytest.MonkeyPatch,
    cloud: Cloud,
    target: str,
    proof: Callable[[], bytes] | None = None,
) -> list[str]:
    """The operator's gateway refuses (a 503 of its own writing) every hello not sealed to
    ``target``, with ``proof()`` passed on as if it were the node's when given; returns the
    nodes each hello it saw was sealed to."""
    keys = {n.descriptor.node_id: set(n.descriptor.key_ids) for n in cloud.nodes}
    real_open = LiveGateway._open
    seen: list[str] = []

    async def steering_open(
        self: LiveGateway, exchange: OpenExchange
    ) -> tuple[aiohttp.ClientWebSocketResponse, bytes] | Refused:
        key_id = parse_prefix(exchange.inner().content).key_id
        node = next(n for n, ids in keys.items() if key_id in ids)
        seen.append(node)
        if node == target:
            return await real_open(self, exchange)
        forged = errors.UnavailableError("live translation unavailable")
        if proof is None:
            raise forged
        return Refused(forged, 503, proof())

    monkeypatch.setattr(LiveGateway, "_open", steering_open)
    return seen


async def test_refusals_the_gateway_writes_cannot_steer_the_node_choice(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway reads which node each hello is sealed to and can write any refusal. When a
    refused node was left out of the next draw, refusing every hello but node-3's landed each
    call on node-3. Now every draw is over all admitted nodes: the gateway can deny the call,
    not walk it to its node."""
    ids = node_ids(cloud)
    seen = refusing_all_but(monkeypatch, cloud, ids[2])
    draws = Draws(ids[0])  # chance keeps drawing node-1
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=5), draws)
        with pytest.raises(errors.UnavailableError):
            await call.start()
        assert await asyncio.wait_for(collect(call), 2) == []  # events() ends too
    assert call.nodes == []  # denied, not steered
    assert draws.offered == [set(ids)] * (limits.MAX_LIVE_RESUMES + 1)
    assert seen == [ids[0]] * (limits.MAX_LIVE_RESUMES + 1)


async def test_node_without_models_releases_the_token_and_a_later_draw_opens_elsewhere() -> None:
    """``test_live_node_faults``' test of the same name with the draws scripted: the two nodes
    without models refuse with 503 and prove the refusal their own, so each is left out of the
    call's later draws (the draws offered shrink) and the third draw can only be node-3."""
    cloud = await start_cloud(tokens=True, spend="when-accepted")
    try:
        ids = node_ids(cloud)
        for node in cloud.nodes:
            node.live.pipelines = echo_factory
            node.live.drain_s = DRAIN_S
        for node in cloud.nodes[:2]:
            node.live.pipelines = None  # no AI models on these: a refusal of the node's own (503)
        draws = Draws()
        draws.then((ids[0],), (ids[1],), (ids[2],))  # both refuse, then node-3
        async with client(cloud, cloud.new_wallet(batch_size=4)) as c:
            # Three openings, each 1-3 grid steps after the last (the steps are drawn), fit a
            # call of 15 s: of 5, at times none was left once node-3 answered ("deadline").
            call = scripted(LiveCall(c, deadline_s=15), draws)
            await call.start()
            await call.end()
        assert call.nodes == [ids[2]] and call.ending == "done"
        assert call._failed == [ids[0], ids[1]]
        assert draws.offered == [set(ids), set(ids[1:]), {ids[2]}]
        assert isinstance(cloud.gateway.authorizer, TokenAuthorizer)
        tokens = dict(cloud.gateway.authorizer.outcomes)
        assert tokens["accepted"] - tokens.get("released", 0) == 1
        assert tokens.get("released", 0) == len(call._failed)
    finally:
        await cloud.stop()


async def test_with_two_nodes_of_three_without_models_every_call_lands_on_the_third(
    cloud: Cloud,
) -> None:
    """Chance draws, as a device makes them. While refusals were not authenticated, a refusing
    node stayed in every draw and a call found node-3 within its four draws 1 - (2/3)**4 of
    the time (about 80 %: all ten calls here in about one run of nine). A proven refusal
    leaves its node out, so three draws always reach node-3."""
    ids = node_ids(cloud)
    for node in cloud.nodes[:2]:
        node.live.pipelines = None
    async with client(cloud, cloud.new_wallet(batch_size=32)) as c:
        for _ in range(10):
            call = LiveCall(c, deadline_s=15)  # (up to three openings on the grid)
            await call.start()
            await call.end()
            assert call.nodes == [ids[2]] and call.ending == "done"
            assert len(call._failed) <= 2


async def test_nodes_that_proved_they_serve_no_live_translation_are_left_out_of_later_calls(
    cloud: Cloud,
) -> None:
    """The client remembers a proven "no live translation" for its next calls (each would
    otherwise spend a token on it again), until its admission runs again."""
    ids = node_ids(cloud)
    for node in cloud.nodes[:2]:
        node.live.pipelines = None
    async with client(cloud, cloud.new_wallet(batch_size=16)) as c:
        first = scripted(LiveCall(c, deadline_s=5), Draws())
        first._random.then((ids[0],), (ids[1],), (ids[2],))  # type: ignore[attr-defined]
        await first.start()
        await first.end()
        assert first._refused == {ids[0], ids[1]} and c.no_live_nodes == {ids[0], ids[1]}
        draws = Draws(ids[0])
        second = scripted(LiveCall(c, deadline_s=5), draws)
        await second.start()
        await second.end()
        assert second.nodes == [ids[2]] and second._failed == []
        assert draws.offered == [{ids[2]}]
        await c.refresh()  # the background's next admission: the memory goes with it
        draws = Draws(ids[2])
        third = scripted(LiveCall(c, deadline_s=5), draws)
        await third.start()
        await third.end()
        assert draws.offered == [set(ids)]


async def test_a_pipeline_that_fails_to_start_is_not_proven_and_its_node_stays_in_the_draw(
    cloud: Cloud,
) -> None:
    """A pipeline that fails to start may be a passing fault of the process every session of
    the node shares, which the operator's own sessions could cause and the gateway time for
    one user's hello (red-team review of 2026-12-06): the node refuses with 503, unproven, and
    stays in the call's draws. Only "no live translation here" is proven."""
    ids = node_ids(cloud)

    def broken(_languages: tuple[str, str], _targets: tuple[str, str]) -> EchoPipeline:
        raise RuntimeError("the shared pipeline process is restarting")

    cloud.nodes[0].live.pipelines = broken
    draws = Draws()
    draws.then((ids[0],), (ids[0], ids[1]))  # node-1 refuses, then node-1 is drawn again
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=5), draws)
        with pytest.raises(errors.UnavailableError):
            await call.start()
    assert call._refused == set()
    assert draws.offered == [set(ids)] * (limits.MAX_LIVE_RESUMES + 1)


async def test_refusal_proofs_the_gateway_forges_cannot_steer_the_node_choice(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway forges the node's proof on its refusals (random bytes): the device does not
    take them for the node's, so every draw stays over all the admitted nodes."""
    ids = node_ids(cloud)
    seen = refusing_all_but(monkeypatch, cloud, ids[2], lambda: secrets.token_bytes(16))
    draws = Draws(ids[0])  # chance keeps drawing node-1
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=5), draws)
        with pytest.raises(errors.UnavailableError):
            await call.start()
    assert call.nodes == [] and call._refused == set()
    assert draws.offered == [set(ids)] * (limits.MAX_LIVE_RESUMES + 1)
    assert seen == [ids[0]] * (limits.MAX_LIVE_RESUMES + 1)


async def test_a_node_refusal_proof_replayed_into_another_session_cannot_steer(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway keeps a genuine proof (node-1 refused a session of an earlier call: no
    models) and puts it on its own refusals of later hellos to node-1: the proof is bound to
    the session it was made for, so node-1 stays in the draw."""
    ids = node_ids(cloud)
    captured: list[bytes] = []
    real_receive = live_tunnel.receive_or_refusal

    async def capturing(*args: Any, **kwargs: Any) -> bytes | Refused:
        got = await real_receive(*args, **kwargs)
        if isinstance(got, Refused) and got.proof is not None:
            captured.append(got.proof)
        return got

    monkeypatch.setattr(live_tunnel, "receive_or_refusal", capturing)
    cloud.nodes[0].live.pipelines = None
    async with client(cloud, cloud.new_wallet(batch_size=16)) as c:
        first = scripted(LiveCall(c, deadline_s=5), Draws(ids[0], ids[2]))
        await first.start()
        await first.end()
        assert first._refused == {ids[0]} and len(captured) == 1  # a genuine proof
    cloud.nodes[0].live.pipelines = echo_factory
    refusing_all_but(monkeypatch, cloud, ids[2], lambda: captured[0])
    draws = Draws(ids[0])
    async with client(cloud, cloud.new_wallet(batch_size=16)) as c:  # another device
        call = scripted(LiveCall(c, deadline_s=5), draws)
        with pytest.raises(errors.UnavailableError):
            await call.start()
        assert c.no_live_nodes == set()
    assert call._refused == set()
    assert draws.offered == [set(ids)] * (limits.MAX_LIVE_RESUMES + 1)


async def test_a_refusal_while_resuming_draws_again_instead_of_ending_the_call(
    cloud: Cloud,
) -> None:
    """node-1 dies mid-call; the resume draws node-2, which refuses (no models: 503). The call
    ended with that refusal; now the resume goes through the start's loop and lands on node-3."""
    ids = node_ids(cloud)
    cloud.nodes[1].live.pipelines = None
    draws = Draws(ids[0])
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=30), draws)
        await call.start()
        events = asyncio.ensure_future(collect(call))
        await play(call, tone(0.4))
        draws.then((ids[1],), (ids[2],))  # the resume draws node-2 (it refuses), then node-3
        await cloud.node_proxies[0].stop()  # node-1's host is gone
        await play(call, tone(1.6))
        await asyncio.wait_for(call.end(), 10)
        got = await asyncio.wait_for(events, 5)
    assert call.nodes == [ids[0], ids[2]] and call.ending == "done"
    assert [(r.from_node, r.to_node) for r in call.resumes] == [(ids[0], ids[2])]
    assert call._failed == [ids[0], ids[1]]
    assert "resumed" in [e.text for e in got if e.kind == "notice"]


async def test_a_node_whose_session_failed_is_left_out_of_the_resume_draws(
    cloud: Cloud,
) -> None:
    """node-1 dies mid-call and chance keeps preferring it: the resume's draws no longer offer
    it (the session it had failed after its authenticated ACCEPT), so the call goes on
    elsewhere. Without that rule every draw of the resume lands on the dead node."""
    ids = node_ids(cloud)
    draws = Draws(ids[0])
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=30), draws)
        await call.start()
        events = asyncio.ensure_future(collect(call))
        await play(call, tone(0.4))
        await cloud.node_proxies[0].stop()  # node-1's host is gone
        await play(call, tone(1.6))
        await asyncio.wait_for(call.end(), 10)
        await asyncio.wait_for(events, 5)
    assert call.nodes[0] == ids[0] and len(call.nodes) == 2 and call.ending == "done"
    assert call._lost == {ids[0]}
    assert all(ids[0] not in offered for offered in draws.offered[1:])


async def test_an_admission_past_its_age_is_not_renewed_at_the_call_opening(
    cloud: Cloud,
) -> None:
    """An opening that admitted again because the admission was older than
    ``READMIT_AFTER_S`` fetched the keys and the directory right before the hello, a fetch the
    gateway ties to the call and can answer with a statement it just logged. Now the client
    admits again in the background, at random times (docs/adr/0009, decision 7): an opening
    admits only when the admission can be used no more."""
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        fetched = fetches(c)
        c._admitted_at -= 3600  # an hour old: the request path used to admit again
        async with LiveCall(c, deadline_s=5) as call:
            await call.end()
        assert call.ending == "done" and fetched == []


async def test_a_cut_the_gateway_can_write_sets_off_no_readmission_at_the_resume(
    cloud: Cloud,
) -> None:
    """The attack (a fifth review, 2026-12-07): a call outlives the 600 s admission age, and
    the gateway cuts its tunnel (it can: the node's death looks the same). The device admitted
    again at once, before the resume, fetching the key statements and the directory within
    milliseconds of the cut, a fetch the gateway ties to the call and can answer with a
    statement it just logged. Now a resume re-admits only when the admission can be used no
    more (its logged validity over): it draws from the admission it has, and the next call's
    opening does not either: the client admits again in the background (docs/adr/0009,
    decision 7)."""
    ids = node_ids(cloud)
    draws = Draws(ids[0])
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        fetched = fetches(c)
        call = scripted(LiveCall(c, deadline_s=30), draws)
        await call.start()
        events = asyncio.ensure_future(collect(call))
        await play(call, tone(0.4))
        c._admitted_at -= 601  # the call outlived the admission's age
        before = await _cut_and_resume(cloud, call, events, draws, fetched)
        async with LiveCall(c, deadline_s=5) as second:  # nor at the next call's opening
            await second.end()
        assert fetched[before:] == []


async def test_a_call_after_the_gateway_rotated_its_key_fetches_the_new_one(
    cloud: Cloud,
) -> None:
    """RFC 9458 §5.3: a gateway that no longer holds the key the device sealed to refuses
    with ``unknown_key``; the call fetches the current key (it is logged) and opens once more
    under it, as a request does; the admission keeps its own key until the client admits
    again in the background (docs/adr/0009, decision 7)."""
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        old = c.trail.key_statement
        assert old is not None
        new_key_id = await cloud.rotate_gateway_key(retire_old=True)
        opened: list[int] = []
        open_once = LiveCall._open_once

        async def recording(self: LiveCall, chosen: Any, statement: Any, auth: Any) -> Any:
            opened.append(statement.key_config.key_id)
            return await open_once(self, chosen, statement, auth)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(LiveCall, "_open_once", recording)
            async with LiveCall(c, deadline_s=5) as call:
                await call.end()
        assert opened == [old.key_config.key_id, new_key_id]
        assert c.trail.key_statement is old
    assert call.ending == "done" and len(call.nodes) == 1


async def _tunnels_closed(cloud: Cloud, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if cloud.relay.live_tunnels == 0 and all(n.live.active == 0 for n in cloud.nodes):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_call_closed_right_after_it_opened_closes_its_tunnel_and_its_events(
    cloud: Cloud,
) -> None:
    """``async with LiveCall(...)`` whose body raises at once: the background task is
    cancelled before its first step. Its tunnel stayed open at every hop (the node kept the
    session until its receive timeout, 6 s) and ``events()`` never ended."""
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = LiveCall(c, deadline_s=30)
        with pytest.raises(RuntimeError):
            async with call:
                raise RuntimeError("the app failed at once")
        assert call._task is not None and call._task.cancelled()
        assert await asyncio.wait_for(collect(call), 2) == []
        assert await _tunnels_closed(cloud, 2.0)
    assert await nodes_idle(cloud)


async def test_events_end_when_the_call_could_not_start(cloud: Cloud) -> None:
    """No node can run a pipeline: ``start()`` raises the refusal, and ``events()``, which an
    app may already await, ends instead of waiting for ever."""
    for node in cloud.nodes:
        node.live.pipelines = None
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = LiveCall(c, deadline_s=5)
        events = asyncio.ensure_future(collect(call))
        with pytest.raises(errors.UnavailableError):
            await call.start()
        assert await asyncio.wait_for(events, 2) == []


class FailingOnSpeech(EchoPipeline):
    """EchoPipeline (test only) that fails on the first loud stretch: a pipeline fault that
    what was said triggers."""

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        if super().feed(channel, pcm):
            raise ValueError("a simulated pipeline fault")
        return []


async def _end_at_the_relay(fail: bool) -> tuple[str | None, float]:
    """One call (speech after silence), hung up by the device or ended by the node's failing
    pipeline: its ending, and how long before the tunnel's last message the device's last
    one passed the relay."""
    recorder = Recorder()
    proxy = recorder.proxy()
    cloud = await start_cloud(relay_proxy=proxy)
    for node in cloud.nodes:
        node.live.pipelines = (lambda _l, _t: FailingOnSpeech()) if fail else echo_factory
        node.live.drain_s = DRAIN_S
    try:
        async with client(cloud) as c:
            call = LiveCall(c, deadline_s=30)
            await call.start()
            events = asyncio.ensure_future(collect(call))
            await play(call, silence(0.6) + tone(0.2))
            if not fail:
                await call.end()
            await asyncio.wait_for(events, 15)
        up, down = recorder.tunnel(proxy)
        return call.ending, max(t for t, _ in up + down) - max(t for t, _ in up)
    finally:
        await cloud.stop()


async def test_the_relay_cannot_tell_a_hang_up_from_a_failure_by_how_the_call_ends() -> None:
    """The review saw the device's frames stop a drain (0.4 s) before the close when the user
    hung up, and run up to it when the node's pipeline failed: the relay learnt that a failure
    happened, and when. After its FINAL the device sends cover frames until the node's."""
    hung_up, failed = await _end_at_the_relay(False), await _end_at_the_relay(True)
    assert (hung_up[0], failed[0]) == ("done", "failed")
    interval = limits.LIVE_FRAME_INTERVAL_MS / 1000
    assert hung_up[1] < 2 * interval and failed[1] < 2 * interval


async def test_a_key_mismatch_the_gateway_claims_buys_it_no_other_node(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack (a red-team review, 2026-12-07): the gateway reads the hello's recipient and,
    for any node but the one it wants, claims it does not know the key configuration (it holds
    it). The device re-admitted and drew again outside ``MAX_LIVE_DRAWS``; now it opens to the
    same node again, and the call fails rather than move."""
    ids = node_ids(cloud)
    keys = {n.descriptor.node_id: set(n.descriptor.key_ids) for n in cloud.nodes}
    real_open = LiveGateway._open
    seen: list[str] = []

    async def steering_open(self: LiveGateway, exchange: OpenExchange) -> Any:
        key_id = parse_prefix(exchange.inner().content).key_id  # it decapsulated: it holds it
        node = next(n for n, k in keys.items() if key_id in k)
        seen.append(node)
        if node == ids[2]:
            return await real_open(self, exchange)
        raise errors.UnknownKeyError("unknown key configuration")  # a claim, after reading

    monkeypatch.setattr(LiveGateway, "_open", steering_open)
    draws = Draws(ids[0])
    draws.turns = [(ids[0],), (ids[2],)]
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = scripted(LiveCall(c, deadline_s=5), draws)
        with pytest.raises(errors.UnknownKeyError):
            await call.start()
        assert seen == [ids[0], ids[0]] and call._draws == 1 and len(draws.offered) == 1
        await call.aclose()


async def test_a_call_that_may_outlive_its_admission_renews_it_before_and_not_at_a_cut(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack (a sixth review): a call outlives its admission's logged validity (the
    directory's hour), and the gateway cuts its tunnel just after that end; the resume then
    had to admit again on the spot, a fetch tied to the call. Now the client admits again in
    the background, at a random time before that end (docs/adr/0009, decision 7), and the
    resume after the cut fetches nothing."""
    ids = node_ids(cloud)
    draws = Draws(ids[0])
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        fetched = fetches(c)
        valid_until, admitted, ends_at = c._valid_until, c._admissions, time.time() + 2.0
        # (the admission's validity ends 2 s from now, until the client admits again)
        monkeypatch.setattr(
            c, "_valid_until", lambda: valid_until() if c._admissions > admitted else ends_at
        )
        monkeypatch.setattr(limits, "READMIT_FLOOR_S", 0.2)  # (seconds, for the test)
        assert c._readmitter is not None  # (its next time, drawn again for the new end)
        c._readmitter.cancel()
        await asyncio.gather(c._readmitter, return_exceptions=True)
        c._readmit_later()
        call = scripted(LiveCall(c, deadline_s=30), draws)
        await call.start()
        events = asyncio.ensure_future(collect(call))
        await play(call, tone(0.4))
        for _ in range(100):  # the renewal: at once here (less than the margin was left)
            if c._admissions > admitted:
                break
            await asyncio.sleep(0.05)
        assert c._admissions == admitted + 1 and "/v1/directory" in fetched
        await asyncio.sleep(max(0.0, ends_at - time.time()) + 0.1)  # past the old end
        await _cut_and_resume(cloud, call, events, draws, fetched)
