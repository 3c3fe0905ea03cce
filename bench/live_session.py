"""Benchmark of the live session's private path (issue 16, docs/adr/0023). Prints ONE JSON line.

A call is played at real time through the full path (LiveCall -> relay -> gateway (token) ->
node, loopback, a recording proxy in front of the relay) and measured where the relay sits:

* bytes per second each way during speech and during silence (the target: identical);
* the intervals between frames each way (p50/p95/p99/max, ms), in speech and in silence;
* frames each way of another size than one sealed frame (the target: none after the opening);
* the time to open a session (hello -> accept, p50 of ``--opens``), with its baseline measured
  in the same run: one OHTTP echo request through the same relay, gateway and token check;
* the gap when the node dies mid-call and the call resumes on another node;
* with ``--models``: the node's real pipeline (VAD, Whisper, translation, speech) on a
  two-speaker espeak-ng call (bench/live_translation.py's), after a 4-s call that is not
  measured (the pipeline process starts, and loads its models, with a node's first call), and
  the lag from the end of the
  audio an output covers to its arrival on the device, per kind (p50/p95, seconds); for speech,
  to the arrival of its first quarter-second record, when the device can start playing it.

Without ``--models`` the nodes run an echo pipeline (it returns loud audio as it came, and
nothing for silence: the worst case for a path that would leak speech activity). With
``--models`` the pipelines run as a node runs them, in a process of their own
(:class:`privcloud.live.process.PipelineHost`); ``--in-process`` runs them in the node's
process instead, the way that let their work stretch the frame intervals in speech.

    python bench/live_session.py [--models [--in-process]] [--seconds 4] [--opens 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "bench"))

from cloudkit import Cloud, start_cloud  # noqa: E402
from privcloud import limits  # noqa: E402
from privcloud.live.protocol import LiveEvent  # noqa: E402
from privcloud.sdk import Client  # noqa: E402
from privcloud.sdk.live import LiveCall  # noqa: E402
from privcloud.services.live_tunnel import WIRE_FRAME  # noqa: E402
from privcloud.trust.admission import ClientPolicy  # noqa: E402
from wsrecord import Messages, Recorder, intervals, rate  # noqa: E402

POLICY = ClientPolicy.insecure_local_dev()
PCM_RATE = 32_000


class Echo:
    """The echo pipeline (benchmark only): loud stretches come back as audio and a caption."""

    def __init__(self) -> None:
        self.fed = [0, 0]

    def feed(self, channel: int, pcm: bytes) -> list[LiveEvent]:
        start = self.fed[channel] / PCM_RATE
        self.fed[channel] += len(pcm)
        samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
        if not samples or max(abs(s) for s in samples) < 1000:
            return []
        end = self.fed[channel] / PCM_RATE
        return [
            LiveEvent(channel, "caption", f"{len(pcm)} bytes", b"", start, end),
            LiveEvent(channel, "audio", "", pcm, start, end),
        ]

    def flush(self) -> list[LiveEvent]:
        return []


def tone(seconds: float) -> bytes:
    n = int(16000 * seconds)
    return struct.pack(f"<{n}h", *(int(8000 * ((i * 0.05) % 2 - 1)) for i in range(n)))


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)


async def play(call: LiveCall, tracks: list[bytes]) -> float:
    """Feed the tracks at real time (0.2 s steps); returns when the first byte was fed."""
    started = time.monotonic()
    step = PCM_RATE // 5
    for i, offset in enumerate(range(0, max(len(t) for t in tracks), step)):
        for channel, track in enumerate(tracks):
            if chunk := track[offset : offset + step]:
                call.feed(channel, chunk)
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.2 - time.monotonic()))
    return started


def bytes_per_s(messages: Messages, a: float, b: float) -> float:
    return round(rate(messages, a, b) * WIRE_FRAME, 1)


def shape(messages: Messages, a: float, b: float) -> dict[str, Any]:
    gaps = [g * 1000 for g in intervals(messages, a + 0.3, b - 0.3)]
    return {
        "p50": pct(gaps, 0.5),
        "p95": pct(gaps, 0.95),
        "p99": pct(gaps, 0.99),
        "max": round(max(gaps), 2) if gaps else None,
    }


async def traffic(cloud: Cloud, recorder: Recorder, seconds: float) -> dict[str, Any]:
    """Speech then silence, each ``seconds`` long: what the relay's observer sees."""
    async with (
        Client(cloud.relay_url, policy=POLICY, wallet=cloud.new_wallet(), trust=trust(cloud)) as c,
        LiveCall(c) as call,
    ):
        events = asyncio.ensure_future(_drain(call))
        t0 = time.monotonic()
        await play(call, [tone(seconds)])
        t1 = time.monotonic()
        await play(call, [bytes(int(PCM_RATE * seconds))])
        t2 = time.monotonic()
        await call.end()
        got = await events
    up, down = recorder.tunnel(cloud.relay_proxy)
    return {
        "down_events_in_speech": sum(1 for e in got if e.kind == "audio"),
        "frame_bytes": WIRE_FRAME,
        "odd_sized_frames": sum(1 for _, n in up[1:] + down[1:] if n != WIRE_FRAME),
        "up_Bps": {"speech": bytes_per_s(up, t0, t1), "silence": bytes_per_s(up, t1, t2)},
        "down_Bps": {"speech": bytes_per_s(down, t0, t1), "silence": bytes_per_s(down, t1, t2)},
        "up_interval_ms": {"speech": shape(up, t0, t1), "silence": shape(up, t1, t2)},
        "down_interval_ms": {"speech": shape(down, t0, t1), "silence": shape(down, t1, t2)},
    }


async def _drain(call: LiveCall) -> list[LiveEvent]:
    return [event async for event in call.events()]


def trust(cloud: Cloud) -> Any:
    return cloud.client_trust()


async def opens(cloud: Cloud, n: int) -> dict[str, Any]:
    """Session opening vs one OHTTP echo request (the baseline), interleaved."""
    live, echo = [], []
    async with Client(
        cloud.relay_url,
        policy=POLICY,
        wallet=cloud.new_wallet(batch_size=2 * n),
        trust=trust(cloud),
    ) as c:
        for _ in range(n):
            started = time.perf_counter()
            await c.call("echo", None, b"x")
            echo.append(time.perf_counter() - started)
            call = LiveCall(c, deadline_s=5)
            started = time.perf_counter()
            await call.start()
            live.append(time.perf_counter() - started)
            await call.aclose()
    return {"open_s_p50": pct(live, 0.5), "baseline_ohttp_echo_s_p50": pct(echo, 0.5)}


async def resume(cloud: Cloud) -> dict[str, Any]:
    async with Client(
        cloud.relay_url, policy=POLICY, wallet=cloud.new_wallet(), trust=trust(cloud)
    ) as c:
        call = LiveCall(c, deadline_s=60)
        await call.start()
        events = asyncio.ensure_future(_drain(call))
        await play(call, [tone(0.6)])
        index = [n.descriptor.node_id for n in cloud.nodes].index(call.nodes[0])
        await cloud.node_proxies[index].stop()
        await play(call, [tone(2.5)])
        await call.end()
        await events
    return {"resume_gap_s": round(call.resumes[0].gap_s, 3) if call.resumes else None}


async def models_call(cloud: Cloud) -> dict[str, Any]:
    """The real pipeline on the two-speaker call: lag per kind through the private path."""
    from live_translation import LANGUAGES, TARGETS, build_call  # noqa: PLC0415

    tracks, _ = build_call()
    pcm = [bytes((t.clip(-1, 1) * 32767).astype("<i2").tobytes()) for t in tracks]
    # A short call first, not measured: the node's pipeline process starts with the first
    # call and loads its models then; the figures are those of a node already serving.
    async with (
        Client(cloud.relay_url, policy=POLICY, wallet=cloud.new_wallet(), trust=trust(cloud)) as c,
        LiveCall(c, languages=LANGUAGES, targets=TARGETS) as warm,
    ):
        await play(warm, [track[: 4 * PCM_RATE] for track in pcm])
        await warm.end()
        async for _ in warm.events():
            pass
    arrivals: list[tuple[float, LiveEvent]] = []
    async with (
        Client(cloud.relay_url, policy=POLICY, wallet=cloud.new_wallet(), trust=trust(cloud)) as c,
        LiveCall(c, languages=LANGUAGES, targets=TARGETS) as call,
    ):

        async def watch() -> None:
            async for event in call.events():
                arrivals.append((time.monotonic(), event))

        watcher = asyncio.ensure_future(watch())
        started = await play(call, pcm)
        await call.end()
        await watcher
    lags: dict[str, list[float]] = {"caption": [], "translation": [], "audio": []}
    spoken: set[tuple[int, float, float]] = set()
    for at, event in arrivals:
        if event.kind == "audio":
            # Speech comes in quarter-second records: its lag is to the first (when it can
            # start playing); the others follow at the pace of the frames.
            span = (event.channel, event.start_s, event.end_s)
            if span in spoken:
                continue
            spoken.add(span)
        if event.kind in lags:
            lags[event.kind].append(at - (started + event.end_s))
    return {
        "lag_s": {
            k: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "n": len(v)} for k, v in lags.items()
        },
        "lag_per_word_s": per_word(tracks, [(at - started, e) for at, e in arrivals]),
        "captions": [e.text for _, e in arrivals if e.kind == "caption"],
    }


def per_word(tracks: list[Any], got: list[tuple[float, LiveEvent]]) -> dict[str, Any]:
    """The issue's measure: from the end of each spoken word (an offline Whisper pass with word
    times, bench/live_translation.py's) to its caption, to the translation covering it and to
    the first record of that translation's speech, on the device (p50/p95 over both channels;
    ``shown_not_spoken``: the words of pieces the fact check withheld, which have no speech)."""
    from live_translation import LANGUAGES, _pct, lags, offline_words  # noqa: PLC0415
    from privcloud.workloads.models import Models  # noqa: PLC0415

    models = Models()
    out: dict[str, list[float]] = {}
    for channel, language in enumerate(LANGUAGES):
        found, _ = lags(channel, got, offline_words(models, tracks[channel], language))  # type: ignore[arg-type]
        for kind, values in found.items():
            out.setdefault(kind, []).extend(values)
    return {kind: _pct(values) for kind, values in out.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", action="store_true", help="the node's real pipeline")
    parser.add_argument("--seconds", type=float, default=4.0, help="speech, then silence")
    parser.add_argument("--opens", type=int, default=3)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="with --models: the pipeline in the node's own process (the old way), to compare",
    )
    args = parser.parse_args()
    recorder = Recorder()
    cloud = await start_cloud(relay_proxy=recorder.proxy(), tokens=True)
    host = None
    try:
        if args.models and args.in_process:
            from privcloud.services.live_node import pipeline_factory  # noqa: PLC0415
            from privcloud.workloads.models import shared_models  # noqa: PLC0415

            factory: Any = pipeline_factory(shared_models())
        elif args.models:  # as a node runs it: the pipelines in a process of their own
            from privcloud.live.process import PipelineHost, release_builder  # noqa: PLC0415
            from privcloud.workloads.models import ModelConfig  # noqa: PLC0415

            factory = host = PipelineHost(release_builder(ModelConfig.from_env()))
            host.start()
        else:
            factory = lambda languages, targets: Echo()  # noqa: E731
        for node in cloud.nodes:
            node.live.pipelines = factory
        result: dict[str, Any] = {
            "bench": "live_session",
            "pipeline": "models" if args.models else "echo",
            "pipeline_process": "own" if host is not None else "node's",
            "interval_ms": limits.LIVE_FRAME_INTERVAL_MS,
        }
        result |= await traffic(cloud, recorder, args.seconds)
        result |= await opens(cloud, args.opens)
        if args.models:
            result |= await models_call(cloud)
        result |= await resume(cloud)  # last: it stops a node
        result["skipped_frames_node"] = sum(n.live.skipped_frames for n in cloud.nodes)
    finally:
        await cloud.stop()
        if host is not None:
            host.close()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
