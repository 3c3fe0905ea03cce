"""A live session's node when things go wrong on its side (docs/adr/0023-live-sessions.md): a
node without the models, a pipeline slower to start than the gateway waits, a device that
floods frames, a wall clock that steps. Over loopback sockets, through relay and gateway, with
the test-only :class:`EchoPipeline` of ``test_live_session`` (no model). Each test bounded.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest
from test_live_session import (
    DRAIN_S,
    EchoPipeline,
    client,
    collect,
    echo_factory,
    nodes_idle,
    play,
    tone,
)

from cloudkit import Cloud, start_cloud
from privcloud import errors, limits
from privcloud.envelope import Recipient
from privcloud.live.endpoints import DeviceEndpoint
from privcloud.live.session import SessionParams, start_session
from privcloud.live.tunnel import build_open, read_open_answer
from privcloud.sdk.live import LiveCall
from privcloud.services.redemption import TokenAuthorizer
from wsrecord import Recorder, intervals


@pytest.fixture
async def cloud(request: pytest.FixtureRequest) -> AsyncIterator[Cloud]:
    # Two phases unless a test asks otherwise: what a refusal gives back is what is tested.
    c = await start_cloud(tokens=True, spend=getattr(request, "param", "when-accepted"))
    for node in c.nodes:
        node.live.pipelines = echo_factory
        node.live.drain_s = DRAIN_S
    yield c
    await c.stop()


def outcomes(cloud: Cloud) -> dict[str, int]:
    assert isinstance(cloud.gateway.authorizer, TokenAuthorizer)
    return dict(cloud.gateway.authorizer.outcomes)


async def _open_where_no_node_has_models(cloud: Cloud) -> dict[str, int]:
    """Open a call when no node can run its pipeline (each refuses for a failure of its own):
    the call is refused; the gateway's token outcomes."""
    for node in cloud.nodes:
        node.live.pipelines = None
    wallet = cloud.new_wallet(batch_size=4)
    async with client(cloud, wallet) as c:
        with pytest.raises((errors.UnavailableError, errors.NoHealthyNodeError)):
            await LiveCall(c, deadline_s=5).start()
    return outcomes(cloud)


async def test_no_node_with_models_refuses_the_call_and_spends_no_token(cloud: Cloud) -> None:
    tokens = await _open_where_no_node_has_models(cloud)
    assert tokens.get("released") == tokens.get("accepted")  # every held token went back


@pytest.mark.parametrize("cloud", ["at-check"], indirect=True)
async def test_no_node_with_models_refuses_the_call_and_its_token_spent_at_the_check_stays_spent(
    cloud: Cloud,
) -> None:
    tokens = await _open_where_no_node_has_models(cloud)
    assert tokens["accepted"] >= 1 and "released" not in tokens
    assert cloud.token_dir is not None
    with sqlite3.connect(cloud.token_dir / "spent-tokens.sqlite3") as db:
        holders = [row[0] for row in db.execute("SELECT holder FROM spent_tokens")]
    assert holders == [0] * tokens["accepted"]  # every one spent, none held or given back


class _Closing(EchoPipeline):
    closed = 0

    def close(self) -> None:
        type(self).closed += 1


async def test_pipeline_slower_than_the_open_timeout_is_closed_without_a_raw_error(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first call of a node loads its models: longer than the gateway waits for ACCEPT.
    The node then finds the tunnel gone; the pipeline it built must still be closed (one in
    the pipelines' process would stay there for good), and no library error escapes."""
    monkeypatch.setattr(limits, "LIVE_OPEN_TIMEOUT_S", 0.5)
    built: list[_Closing] = []

    def slow(languages: tuple[str, str], targets: tuple[str, str]) -> _Closing:
        time.sleep(1.5)
        built.append(_Closing())
        return built[-1]

    for node in cloud.nodes:
        node.live.pipelines = slow
    pinned = cloud.nodes[0].descriptor.node_id
    caplog.set_level(logging.INFO)
    async with client(cloud, cloud.new_wallet(batch_size=2)) as c:
        with pytest.raises(errors.PrivcloudError):
            await LiveCall(c, deadline_s=5, node_id=pinned).start()
    for _ in range(40):
        if _Closing.closed and not cloud.nodes[0].live.active:
            break
        await asyncio.sleep(0.1)
    assert len(built) == 1 and _Closing.closed == 1
    assert cloud.nodes[0].live.active == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_audio_flood_through_the_full_path_is_cut_off(cloud: Cloud) -> None:
    """A minute of frames sent at once: the node breaks the session off after a second's
    worth ahead of its clock, so its pipeline is never fed much faster than real time."""
    fed: list[int] = []

    class Counting(EchoPipeline):
        def feed(self, channel: int, pcm: bytes) -> list[object]:  # type: ignore[override]
            fed.append(len(pcm))
            return []

    for node in cloud.nodes:
        node.live.pipelines = lambda languages, targets: Counting()
    wallet = cloud.new_wallet(batch_size=2)
    async with client(cloud, wallet) as c:
        assert c.trail.key_statement is not None
        d = c.trail.admitted[0].descriptor
        hello, keys = start_session(
            Recipient(d.key_id, d.public_key, d.suite),
            SessionParams(int(time.time()), 60, ("en", "es"), ("es", "en")),
        )
        message, context = build_open(
            c.trail.key_statement.key_config, hello, authorization=await wallet.authorization()
        )
        async with c.session.ws_connect(f"{c.relay_url}/v1/live", max_msg_size=8192) as ws:
            await ws.send_bytes(message)
            device = DeviceEndpoint(keys, sent_at=time.monotonic(), asked_s=60)
            answer = await ws.receive(timeout=10)
            device.accept(read_open_answer(context, answer.data), time.monotonic())
            pcm = b"\1\0" * (limits.LIVE_PCM_BYTES_PER_FRAME // 2)
            for _ in range(1500):  # 60 s of audio
                if ws.closed:
                    break
                await ws.send_bytes(device.audio_frame(pcm, pcm))
            for _ in range(30):
                if ws.closed:
                    break
                await ws.receive(timeout=1)
            assert ws.closed
    seconds_fed = sum(fed) / 2 / 32000
    assert (
        seconds_fed <= (limits.LIVE_RECEIVE_AHEAD_FRAMES + 5) * limits.LIVE_FRAME_INTERVAL_MS / 1000
    )
    assert await nodes_idle(cloud)


class _SteppingClock:
    """A wall clock that NTP steps back two seconds once the call runs (test only)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


async def test_a_wall_clock_step_leaves_no_gap_in_the_frames_the_relay_sees() -> None:
    """NTP steps the device's wall clock back two seconds mid-call. Paced by the wall clock,
    the device would send nothing for two seconds: a gap any observer sees (and a node
    liveness timeout away from a resume). Paced by the monotonic clock, nothing shows."""
    recorder = Recorder()
    proxy = recorder.proxy()
    cloud = await start_cloud(relay_proxy=proxy)
    stepping = _SteppingClock()
    try:
        for node in cloud.nodes:
            node.live.pipelines = echo_factory
            node.live.drain_s = DRAIN_S
        async with client(cloud) as c:
            c.clock = stepping
            call = LiveCall(c, deadline_s=30)
            await call.start()
            events = asyncio.ensure_future(collect(call))
            t0 = time.monotonic()
            await play(call, tone(0.6))
            stepping.offset = -2.0
            await play(call, tone(1.0))
            await call.end()
            t1 = time.monotonic()
            await asyncio.wait_for(events, 10)
    finally:
        await cloud.stop()
    assert not call.resumes and call.ending == "done"
    up, _ = recorder.tunnel(proxy)
    assert max(intervals(up, t0, t1)) < 0.5
