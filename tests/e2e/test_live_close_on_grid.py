"""The device closes its tunnels on the call's grid, whatever ended them (docs/adr/0023-live-
sessions.md, "A third review (2026-12-07)"): each test is an attack by the operator's gateway,
which does something (stops forwarding the node's frames, refuses an opening, replays a frame)
and keeps its side of the tunnel open to time the device's close on its own sockets. A close
that answered what the gateway did came a round trip gateway -> relay -> device and back after
it: the device's network position, which the relay is there to hide. Over loopback sockets,
through relay and gateway, with the stand-ins of ``test_live_review_1207`` (the far device sits
2 x 60 ms further away); every draw on the grid is pinned to its first step, so each phase is
read to the nearest step. Each test fails without its fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import test_live_session
from test_live_review_1207 import (
    by_device,
    close_all,
    device_to_node,
    gateway_piping,
    gateway_timing_openings,
    near_and_far,
    pinned_draws,
    played_call,
    started_call,
)
from test_live_session import client, collect, play, silence

from cloudkit import Cloud
from privcloud import errors, limits
from privcloud.sdk.live import LiveCall
from privcloud.services import live_gateway, live_tunnel
from privcloud.services.live_gateway import LiveGateway

cloud = test_live_session.cloud  # the fixture: a cloud whose nodes echo, with a short drain


def steps_between(later: float, earlier: float) -> float:
    """Seconds from ``earlier`` to ``later`` in steps of the call's grid."""
    return (later - earlier) / limits.LIVE_FIRST_FRAME_STEP_S


def phase(steps: float) -> float:
    """How far ``steps`` is from a whole number of steps (to the nearest: a close a few ms past
    its step, on a loaded machine, is not a whole step early)."""
    return steps - round(steps)


async def closes_seen(closes: list[float], calls: int) -> None:
    """Wait until the gateway saw the device close ``calls`` tunnels (a close may still be on
    its way through the far device's access network)."""
    for _ in range(100):
        if len(closes) >= calls:
            return
        await asyncio.sleep(0.05)


async def test_a_gateway_stalling_the_nodes_frames_cannot_read_the_round_trip_off_the_devices_close(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway stops forwarding the node's frames (it keeps both sockets open:
    no cut) and times the device's close. The device waited its liveness timeout after the
    last frame it got, then closed at once: the close came RTT + 1.5 s after the stall (0.006 s
    against 0.127 s past 1.5 s, near and far, in the review's run). Now it goes on with frames
    that carry no audio and closes at a step of the call's grid, as the resume's opening goes."""
    pinned_draws(monkeypatch)
    opens = gateway_timing_openings(monkeypatch)
    real_pipe = live_tunnel.pipe
    piped: list[int] = []
    closes: list[float] = []
    last_device_frames: list[float] = []

    async def stalling_pipe(a: Any, b: Any, **kw: Any) -> None:
        piped.append(1)
        if len(piped) % 2 == 0:  # the resume: honest
            await real_pipe(a, b, **kw)
            return
        # (the device's liveness timeout then ends 3.3 s and a round trip after its opening:
        # mid-step, for the near and the far device alike, a loaded machine included)
        stall_at = opens[-1] + 1.8
        device_frames: list[float] = []
        up = asyncio.ensure_future(device_to_node(a, b, device_frames))

        async def down() -> None:
            while (msg := await b.receive()).type == aiohttp.WSMsgType.BINARY:
                if time.monotonic() < stall_at:  # then: stalled, the tunnel kept open
                    await a.send_bytes(msg.data)

        d = asyncio.ensure_future(down())
        await asyncio.wait_for(up, 15)  # until the device's side closes
        closes.append(time.monotonic())
        last_device_frames.append(device_frames[-1])
        d.cancel()
        await asyncio.gather(d, return_exceptions=True)
        await close_all(a, b)

    gateway_piping(monkeypatch, stalling_pipe)
    calls: list[int] = []

    async def one_call(c: Any) -> None:
        call, _ = await played_call(c, 8, silence(5.0), 15)
        assert len(call.resumes) == 1 and call.ending == "done"
        calls.append(1)
        await closes_seen(closes, len(calls))

    truth = await near_and_far(cloud, one_call)
    first_opens = opens[0::2]
    spans = [steps_between(c, o) for c, o in zip(closes, first_opens, strict=True)]
    resumes = [steps_between(r, o) for r, o in zip(opens[1::2], first_opens, strict=True)]
    tails = [c - f for c, f in zip(closes, last_device_frames, strict=True)]
    print("gateway: opening -> the stalled tunnel's close (steps):", [round(s, 3) for s in spans])
    print("gateway: opening -> the resume's opening (steps):", [round(s, 3) for s in resumes])
    print("gateway: the device's last frame -> its close (s):", [round(t, 3) for t in tails])
    near, far = by_device([phase(s) for s in spans], truth)
    # The far device's extra 120 ms of round trip does not show (it did, whole, before).
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05
    # The close, and the resume's opening, a whole number of steps after the call's opening.
    assert all(abs(phase(s)) < 0.1 for s in spans + resumes)
    # The device's frames went on up to the close, not stopped at the stall's timeout.
    assert all(t < 0.2 for t in tails)


async def test_a_gateway_refusing_an_opening_cannot_read_the_round_trip_off_the_devices_close(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway refuses each call's first opening (503: a node busy, which it
    may claim at will), sends the answer and, unlike an honest gateway, does not close its
    side: it waits for the device's close. The device closed as the refusal came, a round trip
    after the answer went (0.003 s against 0.123 s in the review's run); the draw again went on
    the grid, too late to hide it. Now the refused tunnel is kept, silent, until a step of the
    call's grid, where the draw again's opening goes too."""
    pinned_draws(monkeypatch)
    real_open, real_accept = LiveGateway._open, live_gateway.tunnel.accept
    opens: list[float] = []
    refusals: list[float] = []
    closes: list[float] = []

    class Patient:
        """The gateway's socket towards the relay: after a refusal, its close waits for the
        device's (its own clock)."""

        def __init__(self, ws: Any) -> None:
            self.ws, self.refused = ws, False

        async def send_bytes(self, data: bytes) -> None:
            await self.ws.send_bytes(data)
            if self.refused:
                refusals.append(time.monotonic())

        async def close(self, **kw: Any) -> Any:
            if self.refused:  # the malicious part: wait for the device's close
                with contextlib.suppress(Exception):
                    await self.ws.receive(timeout=10)
                closes.append(time.monotonic())
            return await self.ws.close(**kw)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.ws, name)

    current: list[Patient] = []

    async def accept(request: Any) -> Any:
        current.append(Patient(await real_accept(request)))
        return current[-1]

    async def refusing_open(self: LiveGateway, exchange: Any) -> Any:
        opens.append(time.monotonic())
        if len(opens) % 2:  # each call's first opening
            current[-1].refused = True
            raise errors.UnavailableError("busy")
        return await real_open(self, exchange)

    monkeypatch.setattr(live_gateway.tunnel, "accept", accept)
    monkeypatch.setattr(LiveGateway, "_open", refusing_open)
    calls: list[int] = []

    async def one_call(c: Any) -> None:
        call, _ = await played_call(c, 4, silence(0.2), 10)
        assert len(call.nodes) == 1 and call.ending == "done"  # the draw again opened
        calls.append(1)
        await closes_seen(closes, len(calls))

    truth = await near_and_far(cloud, one_call)
    waits = [c - r for c, r in zip(closes, refusals, strict=True)]
    first_opens = opens[0::2]
    spans = [steps_between(c, o) for c, o in zip(closes, first_opens, strict=True)]
    again = [steps_between(o, f) for o, f in zip(opens[1::2], first_opens, strict=True)]
    print("gateway: refusal sent -> device close (s):", [round(w, 3) for w in waits])
    print("gateway: opening -> the refused tunnel's close (steps):", [round(s, 3) for s in spans])
    print("gateway: opening -> the draw again's opening (steps):", [round(s, 3) for s in again])
    near, far = by_device(waits, truth)
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05  # it was 0.12
    assert all(abs(phase(s)) < 0.1 and round(s) >= 1 for s in spans + again)


def _replaying_pipe(due: Callable[[list[float]], bool], closes: list[float]) -> Any:
    """The gateway's pipe that sends the device one of the node's frames again once ``due``
    (given when each of the device's frames came) and keeps its side open; ``closes`` gets when
    the device's side closed."""

    async def replaying_pipe(a: Any, b: Any, **kw: Any) -> None:
        seen: list[float] = []
        up = asyncio.ensure_future(device_to_node(a, b, seen))

        async def down() -> None:
            replayed = False
            while (msg := await b.receive()).type == aiohttp.WSMsgType.BINARY:
                await a.send_bytes(msg.data)
                if not replayed and due(seen):
                    replayed = True
                    await a.send_bytes(msg.data)

        d = asyncio.ensure_future(down())
        await asyncio.wait_for(up, 15)  # until the device's side closes
        closes.append(time.monotonic())
        d.cancel()
        await asyncio.gather(d, return_exceptions=True)
        await close_all(a, b)

    return replaying_pipe


async def test_a_gateway_replaying_a_frame_cannot_read_the_round_trip_off_the_devices_close(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: the gateway sends the device one of the node's frames again (a frame that
    fails to open: its sequence number is implicit; a forged or cut frame does the same) and
    keeps its side open. The call stops with the error, as an attack should, but the device
    closed at once, a round trip after the replay. Now it closes at a step of the call's grid
    (the error reaches the app then too)."""
    pinned_draws(monkeypatch)
    opens = gateway_timing_openings(monkeypatch)
    closes: list[float] = []

    def due(seen: list[float]) -> bool:
        return time.monotonic() >= opens[-1] + 1.3  # (it reaches the device mid-step)

    gateway_piping(monkeypatch, _replaying_pipe(due, closes))
    calls: list[int] = []

    async def one_call(c: Any) -> None:
        call, events = await started_call(c, 8)
        feeding = asyncio.ensure_future(play(call, silence(4.0)))
        with pytest.raises(errors.PrivcloudError):
            await asyncio.wait_for(events, 10)
        assert call.resumes == []  # an attack, not a failure
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
        await call.aclose()
        calls.append(1)
        await closes_seen(closes, len(calls))

    truth = await near_and_far(cloud, one_call)
    spans = [steps_between(c, o) for c, o in zip(closes, opens, strict=True)]
    print(
        "gateway: opening -> the device's close after a replay (steps):",
        [round(s, 3) for s in spans],
    )
    near, far = by_device([phase(s) for s in spans], truth)
    assert abs(statistics.mean(far) - statistics.mean(near)) < 0.05
    assert all(abs(phase(s)) < 0.1 for s in spans)


async def test_a_replay_found_just_before_the_user_hangs_up_is_still_reported(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review of the close on the grid: the device holds a failure back until its tunnel's
    close (up to LIVE_MAX_GRID_STEPS steps); a user hanging up meanwhile (aclose: a page
    leaving, an ``async with`` exit) cancelled that wait, and events() ended as after an honest
    call: a replayed frame the device found was never reported."""
    pinned_draws(monkeypatch, 3)

    def due(seen: list[float]) -> bool:  # half a second after the session is up
        return bool(seen) and time.monotonic() >= seen[0] + 0.5

    gateway_piping(monkeypatch, _replaying_pipe(due, []))
    async with client(cloud, cloud.new_wallet(batch_size=8)) as c:
        call = LiveCall(c, deadline_s=20)
        await call.start()
        events = asyncio.ensure_future(collect(call))
        feeding = asyncio.ensure_future(play(call, silence(6.0)))
        for _ in range(500):  # until the device found the replay (the app knows nothing yet)
            opened = call._opened
            if opened is not None and opened.endpoint.abandoned:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the device did not find the replay")
        await asyncio.sleep(0.1)
        await call.aclose()  # the user hangs up
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
        [outcome] = await asyncio.gather(events, return_exceptions=True)
    assert isinstance(outcome, errors.PrivcloudError)
