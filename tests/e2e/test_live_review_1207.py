"""The device's live call after the red-team review of 2026-12-07 (docs/adr/0023-live-sessions.md,
"A review of the live sessions (2026-12-07)"): each test is an attack by the operator's gateway
on a live call, and fails without its fix. Over loopback sockets, through relay and gateway,
with the test-only :class:`EchoPipeline` of ``test_live_session`` (no model), or sans-IO where
the attack is on one decision of the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import test_live_session
from test_live_call_review import FailingOnSpeech
from test_live_session import DRAIN_S, client, collect, echo_factory, play, silence, tone

from cloudkit import Cloud, start_cloud
from netproxy import Proxy
from privcloud import errors, limits
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, derive_keypair
from privcloud.envelope import Recipient
from privcloud.live.endpoints import DeviceEndpoint, NodeEndpoint
from privcloud.live.protocol import Accept, LiveEvent
from privcloud.live.session import SessionParams, open_hello, start_session
from privcloud.sdk import live_openings
from privcloud.sdk.live import LiveCall
from privcloud.services import live_gateway, live_tunnel
from privcloud.services.live_gateway import LiveGateway

cloud = test_live_session.cloud  # the fixture: a cloud whose nodes echo, with a short drain


# --- the device's round-trip time off its first frame ---------------------------------------


class DelayProxy(Proxy):
    """A TCP proxy that delays each direction by ``one_way_s``, keeping the byte order: the
    device's access network (a mobile or far-away device), between it and the relay. (It
    records nothing: of :class:`Proxy` it keeps the listening, the URL and the stop.)"""

    def __init__(self, target_port: int, one_way_s: float) -> None:
        super().__init__(target_port)
        self.delay = one_way_s

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def writer() -> None:
            while True:
                at, data = await queue.get()
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        w = asyncio.ensure_future(writer())
        try:
            while True:
                data = await src.read(65536)
                await queue.put((time.monotonic() + self.delay, data))
                if not data:
                    break
            await w
        finally:
            w.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(self._pump(reader, up_w), self._pump(up_r, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)  # type: ignore[arg-type]


async def near_and_far(cloud: Cloud, one_call: Any, rounds: int = 2) -> list[str]:
    """Run ``one_call(client)`` for a near device and for one 2 x 60 ms further away (behind a
    :class:`DelayProxy`), in turn, ``rounds`` times; returns who made each call."""
    far = await DelayProxy(cloud.relay_proxy.port, one_way_s=0.06).start()
    truth: list[str] = []
    try:
        near_client = client(cloud, cloud.new_wallet(batch_size=8))
        far_client = client(cloud, cloud.new_wallet(batch_size=8))
        far_client.relay_url = far.url
        async with near_client as near, far_client as faraway:
            for who, c in [("near", near), ("far", faraway)] * rounds:
                truth.append(who)
                await one_call(c)
    finally:
        await far.stop()
    return truth


def by_device(values: list[float], truth: list[str]) -> tuple[list[float], list[float]]:
    """``values`` of the near device's calls, and of the far one's."""
    near = [v for v, w in zip(values, truth, strict=True) if w == "near"]
    far = [v for v, w in zip(values, truth, strict=True) if w == "far"]
    return near, far


async def started_call(c: Any, deadline_s: int) -> tuple[LiveCall, asyncio.Future[Any]]:
    """A call of ``c``, started, and the collecting of its events."""
    call = LiveCall(c, deadline_s=deadline_s)
    await call.start()
    return call, asyncio.ensure_future(collect(call))


async def played_call(
    c: Any, deadline_s: int, audio: bytes, wait_s: float, *, end: bool = True
) -> tuple[LiveCall, list[LiveEvent]]:
    """A call of ``c`` with ``audio`` played at real time, then ended by the device (unless
    not ``end``); its events, waited for up to ``wait_s``."""
    call, events = await started_call(c, deadline_s)
    await play(call, audio)
    if end:
        await call.end()
    return call, await asyncio.wait_for(events, wait_s)


GatewayPipe = Callable[..., Awaitable[None]]


def gateway_piping(monkeypatch: pytest.MonkeyPatch, gateway_pipe: GatewayPipe) -> None:
    """The operator's gateway pipes each tunnel with ``gateway_pipe(a, b, **kw)``: ``a`` the
    relay's side (towards the device), ``b`` the node's; the relay's own pipe stays as it is
    (the module is shared). ``gateway_pipe`` takes ``live_tunnel.pipe`` before this call."""
    real_pipe = live_tunnel.pipe

    async def pipe(a: Any, b: Any, **kw: Any) -> None:
        if kw.get("answer"):  # (the relay's pipe: the module is shared)
            await real_pipe(a, b, **kw)
            return
        await gateway_pipe(a, b, **kw)

    monkeypatch.setattr(live_gateway.tunnel, "pipe", pipe)


async def node_to_device(a: Any, b: Any, last: list[float]) -> None:
    """The gateway's own relay of the node's frames to the device, until the node's side
    closes; ``last[0]``: when the last went on (the node's FINAL)."""
    while (msg := await b.receive()).type == aiohttp.WSMsgType.BINARY:
        await a.send_bytes(msg.data)
        last[0] = time.monotonic()


async def device_to_node(a: Any, b: Any, seen: list[float] | None = None) -> None:
    """The gateway's own relay of the device's frames to the node, until the device's side
    closes; appends to ``seen`` when each came."""
    while (msg := await a.receive()).type == aiohttp.WSMsgType.BINARY:
        if seen is not None:
            seen.append(time.monotonic())
        with contextlib.suppress(Exception):
            await b.send_bytes(msg.data)


async def close_all(*sockets: Any) -> None:
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()


def gateway_stopwatch(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The operator's gateway, unchanged but for a stopwatch on its own sockets: for each
    tunnel, the seconds from sending the device its answer (the ACCEPT) to the device's first
    frame. Returns the list it fills."""
    real_pipe = live_tunnel.pipe
    measured: list[float] = []

    class Timed:
        """The relay's side of the tunnel, timing the device's first frame (the node's frames
        pass on meanwhile: the device's first frame may be steps away)."""

        def __init__(self, ws: Any) -> None:
            self.ws, self.sent = ws, time.monotonic()  # (piped right after the answer went)

        async def receive(self) -> Any:
            msg = await self.ws.receive()
            if msg.type == aiohttp.WSMsgType.BINARY and self.sent is not None:
                measured.append(time.monotonic() - self.sent)
                self.sent = None
            return msg

        def __getattr__(self, name: str) -> Any:
            return getattr(self.ws, name)

    async def timed_pipe(a: Any, b: Any, **kw: Any) -> None:
        await real_pipe(Timed(a), b, **kw)

    gateway_piping(monkeypatch, timed_pipe)
    return measured


async def test_the_gateway_cannot_read_a_callers_round_trip_time_off_the_first_frame(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway times, on its own sockets, the answer it sent (the node's
    ACCEPT) against the device's first frame. When the device started its frames as the ACCEPT
    arrived, that was one frame interval plus the round trip gateway -> relay -> device and
    back: the device's network distance, which the relay is there to hide, read at every call
    and resume, and enough to tell callers apart. Here a device 2 x 60 ms further away is told
    from a near one in every call (0.04 s against 0.16 s). Now the first frame is due a fixed
    step after the device sent its opening, and the two devices' calls look alike."""
    measured = gateway_stopwatch(monkeypatch)

    async def one_call(c: Any) -> None:
        await played_call(c, 5, silence(0.2), 5)

    truth = await near_and_far(cloud, one_call, rounds=3)
    assert len(measured) == len(truth)
    print("gateway: answer sent -> first device frame (s):", [round(m, 3) for m in measured])
    near_m, far_m = by_device(measured, truth)
    # The far device's extra 120 ms of round trip does not show (it did, whole, before): each
    # first frame came a whole number of steps (drawn) after the opening, less the gateway's
    # own work, the same for both.
    step = limits.LIVE_FIRST_FRAME_STEP_S

    def phase(m: float) -> float:
        # (to the nearest step: a frame a few ms past its step, on a loaded machine, is not
        # a whole step early, as ``ceil`` read it)
        return m - round(m / step) * step

    assert abs(statistics.mean(map(phase, far_m)) - statistics.mean(map(phase, near_m))) < 0.05
    assert all(-0.3 < phase(m) < 0.05 for m in measured)
    assert all(m < limits.LIVE_MAX_GRID_STEPS * step for m in measured)


# --- cut sessions and the post-quantum policy ------------------------------------------------


def _fake_node(node_id: str, *, hybrid: bool) -> Any:
    return SimpleNamespace(
        descriptor=SimpleNamespace(node_id=node_id, pq_key=object() if hybrid else None)
    )


def _mid_rollout_call(no_live_nodes: set[str]) -> LiveCall:
    """A call of a device with the default policy (``require_post_quantum=False``) in a fleet
    mid-rollout: two nodes with a hybrid (ML-KEM) key, one without."""
    admitted = [
        _fake_node("node-1", hybrid=True),
        _fake_node("node-2", hybrid=True),
        _fake_node("node-3", hybrid=False),
    ]
    fake_client = SimpleNamespace(
        trail=SimpleNamespace(admitted=admitted),
        no_live_nodes=no_live_nodes,
        require_post_quantum=False,
    )
    return LiveCall(fake_client, deadline_s=5)  # type: ignore[arg-type]


def test_cut_sessions_cannot_downgrade_the_call_to_a_classical_node() -> None:
    """The attack: the gateway cuts the call's session on each hybrid node right after its
    ACCEPT (inaudible in the first frames), and the device leaves a node whose open session
    failed out of the call's later draws (``LiveCall._lost``). With the post-quantum policy
    applied to what was left, the draw then fell back to the classical node, and the rest of
    the call went sealed to X25519 alone (audio kept for a harvest-now-decrypt-later attack);
    the request path never leaves a node out for a gateway's answer, so it stays on the hybrid
    nodes (ADR 0014, policy 1). Now the policy is applied first and the call fails closed."""
    call = _mid_rollout_call(set())
    assert {call._choose().descriptor.node_id for _ in range(50)} <= {"node-1", "node-2"}
    call._lost |= {"node-1", "node-2"}  # the gateway cut the sessions on both
    with pytest.raises(errors.NoHealthyNodeError):
        call._choose()


def test_hybrid_nodes_without_live_models_cannot_steer_calls_to_a_classical_node() -> None:
    """The same downgrade without touching a tunnel: the operator deploys its hybrid-keyed
    nodes without live models (honest software), which prove that they serve no live
    translation, so every live call was drawn to the classical node. Now it fails closed."""
    call = _mid_rollout_call({"node-1", "node-2"})  # proven refusals of earlier calls
    with pytest.raises(errors.NoHealthyNodeError):
        call._choose()
    call = _mid_rollout_call(set())
    call._refused |= {"node-1", "node-2"}  # proven in this call
    with pytest.raises(errors.NoHealthyNodeError):
        call._choose()


# --- the call's length across resumes, and the resume's gap ----------------------------------


def gateway_cutting_first_tunnel_at(monkeypatch: pytest.MonkeyPatch, at_s: float) -> None:
    """The operator's gateway cuts the first tunnel it pipes ``at_s`` after the answer (its own
    ``lifetime_s``; a node's death looks the same), and no other."""
    real_pipe = live_tunnel.pipe
    piped: list[int] = []

    async def cutting_pipe(a: Any, b: Any, **kw: Any) -> None:
        piped.append(1)
        if len(piped) == 1:
            kw["lifetime_s"] = at_s
        await real_pipe(a, b, **kw)

    gateway_piping(monkeypatch, cutting_pipe)


def lengths_asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The session length each of the device's hellos asks for (sealed: read on the device)."""
    asked: list[int] = []
    real_start = live_openings.start_session

    def spying_start(recipient: Recipient, params: SessionParams, **kw: Any) -> Any:
        asked.append(params.deadline_s)
        return real_start(recipient, params, **kw)

    monkeypatch.setattr(live_openings, "start_session", spying_start)
    return asked


async def test_a_cut_just_before_the_deadline_buys_the_gateway_no_longer_call(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: ``LiveCall(deadline_s=2)``, the app's bound on the call; the gateway cuts
    the session just before its end. Each resume asked the next node for the whole length
    again (here 2 s again), so a gateway cutting every session so kept the microphone streaming
    to nodes for up to (1 + MAX_LIVE_RESUMES) times the length asked. Now the length is the
    call's: the resume asks only for what is left, and the device's FINAL goes at the call's
    end."""
    asked = lengths_asked(monkeypatch)
    gateway_cutting_first_tunnel_at(monkeypatch, 1.5)
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call, events = await started_call(c, 2)
        feeding = asyncio.ensure_future(play(call, tone(5.0)))
        got = await asyncio.wait_for(events, 12)
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
    assert len(call.resumes) == 1
    echoed_s = sum(len(e.audio) for e in got if e.kind == "audio") / 32000
    print(f"lengths asked {asked}; {echoed_s:.2f} s of audio taken by nodes, 2 s allowed")
    assert asked[0] == 2 and asked[1] == 1  # what was left: 0.5 s, rounded up
    assert echoed_s <= 2.0


async def test_a_gateway_holding_the_resume_cannot_stretch_the_calls_gap(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: after a cut, the gateway holds each of the resume's openings (up to
    LIVE_OPEN_TIMEOUT_S each, four draws: 80 s and more), and the call went on after a gap of
    a minute with the device's last 2 s of audio. Now the device gives up the resume after
    ``limits.MAX_LIVE_RESUME_GAP_S`` (here 2 s) and ends the call with a typed error, once
    the held opening's tunnel closed on the call's grid (up to ``LIVE_MAX_GRID_STEPS`` steps
    later: the third review)."""
    monkeypatch.setattr(limits, "MAX_LIVE_RESUME_GAP_S", 2.0)
    gateway_cutting_first_tunnel_at(monkeypatch, 0.3)
    real_open = LiveGateway._open
    opened: list[int] = []

    async def holding_open(self: LiveGateway, exchange: Any) -> Any:
        opened.append(1)
        if len(opened) > 1:
            await asyncio.sleep(limits.LIVE_OPEN_TIMEOUT_S - 1)
        return await real_open(self, exchange)

    monkeypatch.setattr(LiveGateway, "_open", holding_open)
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = LiveCall(c, deadline_s=30)
        await call.start()
        started = time.monotonic()
        with pytest.raises(errors.RequestTimeoutError):
            await asyncio.wait_for(collect(call), 10)
        grid_close = limits.LIVE_MAX_GRID_STEPS * limits.LIVE_FIRST_FRAME_STEP_S
        assert time.monotonic() - started < 0.3 + 2.0 + grid_close + 1.0
        await call.aclose()


def test_a_node_granting_a_longer_session_than_asked_is_refused() -> None:
    """The attack: a node (or a release's bug) grants more than the hello asked for, and the
    device, which took the granted length, kept streaming past the caller's bound. The ACCEPT
    is sealed by the node (the gateway cannot change it); the device now refuses it."""
    key = derive_keypair(X25519_SHA256_AES128GCM.kem, b"live test node key" * 2)
    recipient = Recipient.from_public_key(key.public_bytes, X25519_SHA256_AES128GCM)
    params = SessionParams(int(time.time()), 30, ("en", "es"), ("es", "en"))
    hello, keys = start_session(recipient, params)
    node = NodeEndpoint(open_hello(hello, lambda _: key, time.time()), 0.0)
    node.terms = Accept(60, node.terms.drain_ms, node.terms.interval_ms)
    device = DeviceEndpoint(keys, sent_at=0.0, asked_s=30)
    with pytest.raises(errors.DecodeError):
        device.accept(node.accept_frame(0.0), 0.01)
    assert device.clock is None  # no frame goes out


# --- the tokens of one call ------------------------------------------------------------------


async def test_a_gateway_refusing_each_opening_cannot_burn_more_than_a_calls_tokens(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: a request takes at most MAX_TOKENS_PER_REQUEST tokens, and the gateway
    cannot tell which requests are one device's; a live call's openings are one device's by
    construction. Answering each draw's opening with the fixed 401 challenge and its resend
    with a 503 it writes, the gateway took 2 x MAX_LIVE_DRAWS = 14 tokens of one caller within
    seconds (a default wallet's batch is 16), and the missing resume then told it the wallet
    was empty, just before a refill reached the issuer, who knows the device. Now a call takes
    at most ``limits.MAX_LIVE_CALL_TOKENS`` tokens (8 here before, at the call's start alone)."""
    assert cloud.gateway.authorizer is not None
    challenge = cloud.gateway.authorizer.www_authenticate()  # type: ignore[attr-defined]
    opened: list[int] = []

    async def refusing_open(self: LiveGateway, exchange: Any) -> Any:
        exchange.inner()
        opened.append(1)
        if len(opened) % 2:
            raise errors.TokenRefusedError("token refused", www_authenticate=challenge)
        raise errors.UnavailableError("live translation unavailable")

    monkeypatch.setattr(LiveGateway, "_open", refusing_open)
    wallet = cloud.new_wallet(batch_size=16, refill_delay_s=(600.0, 600.0))
    async with client(cloud, wallet) as c:
        held_before = len(wallet)
        with pytest.raises(errors.PrivcloudError):
            await LiveCall(c, deadline_s=30).start()
        spent = held_before - len(wallet)
    print(f"tokens taken by one call: {spent} (openings the gateway saw: {len(opened)})")
    assert spent == len(opened) == limits.MAX_LIVE_CALL_TOKENS  # 5, not 14


async def test_a_relay_connection_that_fails_spends_no_token(cloud: Cloud) -> None:
    """The attack (or a bad network): the tunnel to the relay cannot be opened, and the call's
    every draw took a token from the wallet before connecting and threw it away unsent, four
    per opening. Now the token is taken once the tunnel is up."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    wallet = cloud.new_wallet(batch_size=8)
    async with client(cloud, wallet) as c:
        held_before = len(wallet)
        c.relay_url = dead
        with pytest.raises(errors.UnavailableError):
            await LiveCall(c, deadline_s=30).start()
        assert len(wallet) == held_before


# --- a pipeline failure ends the call (the behaviour the docs now state) ----------------------


async def test_a_node_whose_pipeline_fails_ends_the_call_without_a_resume() -> None:
    """Not an attack but the behaviour the docs now state (they said such a call "resumes
    elsewhere"): a node whose pipeline failed ends the session with its authenticated FINAL
    (``EndReason.FAILED``), and the device does not resume, since a resume right after it
    would tell the relay and the gateway that the pipeline failed, which speech can cause."""
    cloud = await start_cloud()
    for node in cloud.nodes:
        node.live.pipelines = lambda _l, _t: FailingOnSpeech()
        node.live.drain_s = DRAIN_S
    try:
        async with client(cloud) as c:
            audio = silence(0.4) + tone(0.2) + silence(0.4)
            call, got = await played_call(c, 30, audio, 10, end=False)
    finally:
        await cloud.stop()
    assert call.ending == "failed" and call.resumes == [] and len(call.nodes) == 1
    assert [e.text for e in got if e.kind == "notice"] == ["failed"]


# --- a second review (2026-12-07): the device's round trip off a resume, a threshold, the close ---


def pinned_draws(monkeypatch: pytest.MonkeyPatch, steps: int = 1) -> None:
    """Every wait on the call's grid draws ``steps`` (``limits.LIVE_MAX_GRID_STEPS`` is the
    draw's bound): a random draw would make the gateway's timings differ by whole steps
    between calls, which shows nothing but needs more calls to measure around."""
    monkeypatch.setattr(limits, "LIVE_MAX_GRID_STEPS", steps, raising=False)


def gateway_timing_openings(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each opening reached the gateway (its own clock). Returns the list it fills."""
    real_open = LiveGateway._open
    opens: list[float] = []

    async def timed_open(self: LiveGateway, exchange: Any) -> Any:
        opens.append(time.monotonic())
        return await real_open(self, exchange)

    monkeypatch.setattr(LiveGateway, "_open", timed_open)
    return opens


async def test_the_gateway_cannot_read_the_round_trip_off_the_calls_end_after_a_resume(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the call's length ran from the first ACCEPT's *arrival* on the device
    (sent + RTT + the node's time), and a resume asks the next node for what is left, rounded
    up, so in a resumed session the device's FINAL ends the call: a round trip later for a far
    device. The gateway knows when the first opening came and sees the node's FINAL go by (a
    fixed drain after the device's); with the length guessed (600 s by default; 3 s here), one
    cut gave it the round trip (0.43 s against 0.56 s). Now the length runs from the first
    opening's sending, and the end sits on the call's grid."""
    pinned_draws(monkeypatch)
    opens = gateway_timing_openings(monkeypatch)
    real_pipe = live_tunnel.pipe
    ends: list[float] = []
    piped: list[int] = []

    async def cutting_pipe(a: Any, b: Any, **kw: Any) -> None:
        piped.append(1)
        if len(piped) % 2:  # each call's first session: cut
            await real_pipe(a, b, **{**kw, "lifetime_s": 0.2})
            return
        last = [0.0]
        up = asyncio.ensure_future(device_to_node(a, b))
        await node_to_device(a, b, last)
        ends.append(last[0])  # the node's FINAL went by
        up.cancel()
        await asyncio.gather(up, return_exceptions=True)
        await close_all(a, b)

    gateway_piping(monkeypatch, cutting_pipe)

    async def one_call(c: Any) -> None:
        # the user talks past the call's length
        call, _ = await played_call(c, 3, silence(4.0), 10, end=False)
        assert len(call.resumes) == 1 and call.ending == "done"

    truth = await near_and_far(cloud, one_call)
    spans = [ends[i] - opens[2 * i] - 3 for i in range(len(truth))]
    print("gateway: first opening -> node FINAL, less 3 s:", [round(s, 3) for s in spans])
    near, far = by_device(spans, truth)
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05  # it was 0.13


def gateway_cutting_each_calls_first_tunnel(
    monkeypatch: pytest.MonkeyPatch, at_s: float
) -> list[float]:
    """The operator's gateway cuts each call's first tunnel ``at_s`` after its answer (a node's
    death looks the same) and no other. Returns when it cut each (its own clock)."""
    real_pipe = live_tunnel.pipe
    cuts: list[float] = []
    piped: list[int] = []

    async def cutting_pipe(a: Any, b: Any, **kw: Any) -> None:
        piped.append(1)
        if len(piped) % 2:
            await real_pipe(a, b, **{**kw, "lifetime_s": at_s})
            cuts.append(time.monotonic())
            return
        await real_pipe(a, b, **kw)

    gateway_piping(monkeypatch, cutting_pipe)
    return cuts


async def test_the_gateway_cannot_read_the_round_trip_off_a_resumes_opening(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway cuts a call's tunnel (as it may at any time: a node's death
    looks the same) and times, on its own sockets, its cut against the resume's opening. The
    device heard of the cut a trip gateway -> relay -> device later, connected to the relay
    (more round trips of its access network) and sent the opening at once: 0.005 s after the
    cut for a near device, 0.25 s for one 2 x 60 ms further away, every call told apart, up to
    MAX_LIVE_RESUMES times a call. Now a later opening goes at a step of the call's grid (its
    first opening's send time plus whole steps), as the device's frames do."""
    pinned_draws(monkeypatch)
    opens = gateway_timing_openings(monkeypatch)
    cuts = gateway_cutting_each_calls_first_tunnel(monkeypatch, 0.2)

    async def one_call(c: Any) -> None:
        call, _ = await played_call(c, 4, silence(1.0), 10)
        assert len(call.resumes) == 1

    truth = await near_and_far(cloud, one_call)
    gaps = [opens[2 * i + 1] - cuts[i] for i in range(len(truth))]
    print("gateway: cut -> the resume's opening (s):", [round(g, 3) for g in gaps])
    near, far = by_device(gaps, truth)
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05  # it was 0.25


async def test_the_gateway_cannot_read_the_round_trip_off_the_close_after_the_final(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway forwards the node's FINAL, keeps its side of the tunnel towards
    the relay open (an honest one closes it), and times the device's close against the FINAL,
    on its own sockets. The device closed, and stopped its cover frames, as soon as the FINAL
    came: 0.04 s after it for a near device, 0.12 s for one 2 x 60 ms further away (and 0
    against 3 cover frames after the FINAL). Now it goes on with cover frames and closes at a
    step of its own grid."""
    pinned_draws(monkeypatch)
    opens = gateway_timing_openings(monkeypatch)
    deltas: list[float] = []
    closes: list[float] = []
    frames_after: list[int] = []

    async def patient_pipe(a: Any, b: Any, **kw: Any) -> None:
        final_at = [0.0]
        device_frames: list[float] = []
        up = asyncio.ensure_future(device_to_node(a, b, device_frames))
        await node_to_device(a, b, final_at)
        # the node closed after its FINAL: the device's side is kept open
        await asyncio.wait_for(up, 10)
        closes.append(time.monotonic())
        deltas.append(closes[-1] - final_at[0])
        frames_after.append(sum(1 for t in device_frames if t > final_at[0]))
        await close_all(b, a)

    gateway_piping(monkeypatch, patient_pipe)

    async def one_call(c: Any) -> None:
        await played_call(c, 5, silence(0.2), 10)
        calls.append(1)
        for _ in range(100):  # (its close may still be on its way, through the access network)
            if len(closes) == len(calls):
                break
            await asyncio.sleep(0.05)

    calls: list[int] = []
    truth = await near_and_far(cloud, one_call)
    print(
        f"gateway: node FINAL -> device close (s): {[round(d, 3) for d in deltas]}; cover "
        f"frames after the FINAL: {frames_after}"
    )
    near, far = by_device(deltas, truth)
    # (the FINAL's own time varies by a frame or two with the caller's end and the node's clock)
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05  # it was 0.08
    # The close comes a whole number of steps after the call's opening did, near or far.
    steps = [(c - o) / limits.LIVE_FIRST_FRAME_STEP_S for c, o in zip(closes, opens, strict=True)]
    print("gateway: opening -> close (steps):", [round(s, 3) for s in steps])
    assert all(abs(s - round(s)) < 0.03 for s in steps)


async def test_a_gateway_holding_the_answer_cannot_choose_the_first_frames_threshold(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway holds every answer until 0.92 s after the opening came, so the
    ACCEPT reaches the device within the 1 s step only when its round trip is under 80 ms. The
    first frame was due at the first step late enough: a near device's call started as without
    the hold (unseen), a far one's a whole step later (0.08 s against 1.08 s from the answer),
    a bit per session the gateway set for free, and with cuts (a session each) it could search
    the round trip within one call. Now the steps are drawn (1 to LIVE_MAX_GRID_STEPS): a draw
    above the step held to starts near and far devices alike. Here each pair of calls, near
    and far, draws 1, then 2, then 3 steps (before the first frame; then none before the close)."""
    measured = gateway_stopwatch(monkeypatch)
    draws = iter([1, 1] * 2 + [2, 1] * 2 + [3, 1] * 2)
    monkeypatch.setattr(LiveCall, "_draw", lambda _self: next(draws), raising=False)
    real_open = LiveGateway._open

    async def holding_open(self: LiveGateway, exchange: Any) -> Any:
        held_until = time.monotonic() + 0.92
        result = await real_open(self, exchange)
        await asyncio.sleep(max(0.0, held_until - time.monotonic()))
        return result

    monkeypatch.setattr(LiveGateway, "_open", holding_open)

    async def one_call(c: Any) -> None:
        await played_call(c, 8, silence(0.2), 10)

    truth = await near_and_far(cloud, one_call, rounds=3)
    print("gateway: answer sent -> first device frame (s):", [round(m, 3) for m in measured])
    near, far = by_device(measured, truth)
    # A draw of 1: the far device's ACCEPT came too late for it (what is left of the bit).
    assert near[0] < 0.5 < far[0]
    # A draw of 2 or 3, above the step held to: the same for both, the round trip unseen.
    for n, f in zip(near[1:], far[1:], strict=True):
        assert abs(n - f) < 0.05


async def test_a_call_resuming_onto_a_node_whose_pipeline_starts_cold_goes_on(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an attack but an honest call the resume bound ended: the call's node dies, and the
    resume draws a node whose pipeline starts cold (a fresh child loading its models, as
    after a death), which LIVE_OPEN_TIMEOUT_S (20 s) is sized for; with the gap bounded to
    10 s the call ended (RequestTimeoutError), though the same opening at a call's start is
    waited for. Now the bound fits one such opening (here 11 s), and the call goes on."""
    pinned_draws(monkeypatch)
    made: list[int] = []

    def cold_after_the_first(languages: Any, targets: Any) -> Any:
        made.append(1)
        if len(made) > 1:
            time.sleep(11.0)  # (the node's pipeline thread: a cold start)
        return echo_factory(languages, targets)

    for node in cloud.nodes:
        node.live.pipelines = cold_after_the_first
    gateway_cutting_first_tunnel_at(monkeypatch, 0.2)  # the first node dies
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call, _ = await played_call(c, 30, silence(0.5), 30)
    assert len(call.resumes) == 1 and call.resumes[0].gap_s > 11.0 and call.ending == "done"
