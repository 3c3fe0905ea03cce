"""Live call translation through the private session with the node's real pipeline (VAD,
streaming Whisper, LocalAgreement-2): espeak-ng speech played at real time by a LiveCall
through relay, gateway and node (tests/support/cloudkit.py), captions back on the device.

Without the models this test is skipped, and fails under PRIVCLOUD_REQUIRE_AI=1 (aikit).
"""

from __future__ import annotations

import asyncio
import io
import logging
import wave

import numpy as np
import pytest

from aikit import models, needs_ai
from cloudkit import start_cloud
from privcloud.live.protocol import LiveEvent
from privcloud.sdk import Client
from privcloud.sdk.live import LiveCall
from privcloud.services.live_node import pipeline_factory
from privcloud.trust.admission import ClientPolicy
from speech import speak

SENTENCE = "Your train leaves tomorrow morning from the central station."


def _pcm16k(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav), "rb") as src:
        rate = src.getframerate()
        x = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.float32)
    n = round(len(x) * 16_000 / rate)
    y = np.interp(np.arange(n) * (rate / 16_000), np.arange(len(x)), x)
    return bytes(y.round().astype("<i2").tobytes())


@needs_ai
async def test_captions_of_a_call_arrive_through_the_private_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    speech = _pcm16k(speak(SENTENCE, "en"))
    make = pipeline_factory(models())
    # Load Whisper before the call (a node warms its models at start; loading takes seconds).
    await asyncio.to_thread(make(("en", "en"), ("en", "en")).feed, 0, speech[:32_000])
    cloud = await start_cloud()
    try:
        for node in cloud.nodes:
            node.live.pipelines = make
        policy = ClientPolicy.insecure_local_dev()
        async with (
            Client(cloud.relay_url, policy=policy, trust=cloud.client_trust()) as c,
            LiveCall(c, languages=("en", "en"), targets=("en", "en")) as call,
        ):
            got: list[LiveEvent] = []

            async def watch() -> None:
                async for event in call.events():
                    got.append(event)

            watcher = asyncio.ensure_future(watch())
            step = 6400  # 0.2 s, at real time
            for i in range(0, len(speech), step):
                call.feed(0, speech[i : i + step])
                await asyncio.sleep(0.2)
            # The line stays open (silence, as a microphone sends) until the captions came.
            for _ in range(300):
                if "station" in " ".join(e.text for e in got).lower():
                    break
                call.feed(0, bytes(step))
                await asyncio.sleep(0.2)
            await call.end()
            await asyncio.wait_for(watcher, 60)
    finally:
        await cloud.stop()
    captions = " ".join(e.text for e in got if e.kind == "caption").lower()
    assert "train" in captions and "station" in captions, captions
    assert call.ending == "done"
    # Nothing of the call reached a log line (nodes, gateway, relay, SDK).
    logged = " ".join(r.getMessage() for r in caplog.records).lower()
    assert "tomorrow" not in logged and "central station" not in logged
