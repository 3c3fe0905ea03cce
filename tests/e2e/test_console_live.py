"""The console's Live tab: the agent's ``/api/live`` WebSocket (no browser), and the whole tab
in a headless Chromium whose fake microphone plays an espeak-ng sentence.

* API tests: one agent with the echo workloads; its nodes' live pipeline is
  :class:`SimulatedEchoPipeline` (test only, not a model: a caption and the audio back for each
  loud stretch), so the page protocol, its bounds and the private session are exercised fast.
* Browser test (``needs_ai``): an agent with the real models, Chromium started with
  ``--use-file-for-fake-audio-capture`` (a WAV of one sentence and a silent tail, which Chromium
  loops); the page captures it with getUserMedia, downsamples it in an AudioWorklet and streams
  it to the agent, which runs the call through relay, gateway and node (VAD, streaming Whisper).
  Skipped without Chromium/chromedriver or the AI extra, except under PRIVCLOUD_REQUIRE_AI=1.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import math
import os
import shutil
import struct
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aikit import models, needs_ai
from privcloud import limits
from privcloud.device.agent import DeviceAgent
from privcloud.device.livegate import PageGate, Start, Stop, parse_control
from privcloud.device.thread import BackgroundAgent
from privcloud.errors import DecodeError, RateLimitedError, TooLargeError
from privcloud.live.output import LiveOutput
from privcloud.services.live_node import PipelineFactory
from privcloud.workloads.models import WHISPER_TINY_EN, Models
from speech import concat_wavs, silence, speak

CANARY = "CANARY-live-5e17a0c2"
SECOND = 32_000  # bytes of 16 kHz s16le mono


# --- a simulated pipeline for the API tests -----------------------------------------------


class SimulatedEchoPipeline:
    """Test only, not a model: for each fed stretch louder than a threshold, a caption (with a
    canary, to prove that nothing of the call reaches the logs) and the audio back as speech."""

    def __init__(self) -> None:
        self.fed = [0, 0]

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        start = self.fed[channel] / SECOND
        self.fed[channel] += len(pcm)
        samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
        if not samples or max(abs(s) for s in samples) < 1000:
            return []
        end = self.fed[channel] / SECOND
        return [
            LiveOutput(channel, "caption", f"{CANARY} heard", b"", start, end),
            LiveOutput(channel, "audio", "", pcm, start, end),
        ]

    def flush(self) -> list[LiveOutput]:
        return []


def _simulated(languages: tuple[str, str], targets: tuple[str, str]) -> SimulatedEchoPipeline:
    return SimulatedEchoPipeline()


def _tone(seconds: float) -> bytes:
    n = int(seconds * 16_000)
    return struct.pack(
        f"<{n}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / 16_000)) for i in range(n))
    )


@pytest.fixture(scope="module")
def echo_agent() -> Iterator[DeviceAgent]:
    agent = DeviceAgent(port=0)
    with BackgroundAgent(agent):
        yield agent


@pytest.fixture
def live_agent(echo_agent: DeviceAgent) -> Iterator[DeviceAgent]:
    """The echo agent with the simulated pipeline on its nodes (and none again after)."""
    set_pipelines(echo_agent, _simulated)
    yield echo_agent
    set_pipelines(echo_agent, None)


def set_pipelines(agent: DeviceAgent, factory: PipelineFactory | None) -> None:
    assert agent.cloud is not None
    for node in agent.cloud.node_objects:
        node.live.pipelines = factory
    # The same nodes now serve live translation or not. A deployed node changes that only by
    # a restart (a new boot key, which the client's next admission sees, forgetting what
    # nodes proved they lacked); here they change in place, so the client forgets it now.
    agent.client._no_live.clear()


def _origin(agent: DeviceAgent) -> str:
    return agent.url.rstrip("/")


class Page:
    """What the console page does over ``/api/live``, from a test."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.speech = bytearray()

    async def start(self, language: str = "en", target: str = "es") -> dict[str, Any]:
        await self.ws.send_str(
            json.dumps({"type": "start", "language": language, "target": target})
        )
        return await self.next_json()

    async def next_json(self) -> dict[str, Any]:
        while True:
            msg = await self.ws.receive(timeout=60)
            if msg.type == aiohttp.WSMsgType.BINARY:
                assert msg.data[0] == 0  # the channel byte
                self.speech += msg.data[1:]
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                return {"type": "closed", "code": self.ws.close_code}
            doc: dict[str, Any] = json.loads(msg.data)
            self.messages.append(doc)
            return doc

    async def refusal(self) -> tuple[dict[str, Any], int | None]:
        """The error message and the close code that follow it."""
        while (doc := await self.next_json())["type"] not in ("error", "closed"):
            pass
        if doc["type"] == "error":
            closing = await self.ws.receive(timeout=30)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        return doc, self.ws.close_code


async def _connect(
    session: aiohttp.ClientSession, agent: DeviceAgent, origin: str | None = "own"
) -> aiohttp.ClientWebSocketResponse:
    headers = {} if origin is None else {"Origin": _origin(agent) if origin == "own" else origin}
    return await session.ws_connect(f"{agent.url}api/live", headers=headers, max_msg_size=0)


# --- the page protocol without I/O --------------------------------------------------------


def test_page_gate_refuses_audio_faster_than_real_time_and_message_floods() -> None:
    gate = PageGate(now=100.0)
    burst = int(limits.CONSOLE_LIVE_AUDIO_BURST_S * SECOND)
    chunk = limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE
    sent = 0
    while sent + chunk <= burst:  # the burst allowance, at once
        gate.audio(bytes(chunk), now=100.0)
        sent += chunk
    with pytest.raises(RateLimitedError):
        gate.audio(bytes(chunk), now=100.0)
    later = PageGate(now=0.0)
    for i in range(100):  # real time for 50 s is fine
        later.audio(bytes(chunk), now=i * 0.5)
    flood = PageGate(now=0.0)
    with pytest.raises(RateLimitedError):
        for _ in range(10 * limits.CONSOLE_LIVE_MAX_MESSAGES_PER_S):
            flood.audio(b"", now=0.0)
    with pytest.raises(TooLargeError):
        PageGate(0.0).audio(bytes(chunk + 2), now=0.0)
    with pytest.raises(DecodeError):
        PageGate(0.0).audio(b"\x00", now=0.0)


def test_control_messages_are_parsed_strictly() -> None:
    assert parse_control('{"type": "start", "language": "en", "target": "es"}') == Start("en", "es")
    assert parse_control('{"type": "start", "target": "de"}') == Start("auto", "de")
    assert parse_control('{"type": "stop"}') == Stop()
    for bad in (
        "not json",
        "[1]",
        '{"type": "dance"}',
        '{"type": "start", "language": "en"}',
        '{"type": "start", "language": "EN; rm", "target": "es"}',
        '{"type": "start", "language": "en", "target": "auto"}',
    ):
        with pytest.raises(DecodeError):
            parse_control(bad)
    with pytest.raises(TooLargeError):
        parse_control(json.dumps({"type": "stop", "pad": "x" * 2000}))


# --- the agent's WebSocket ----------------------------------------------------------------


async def test_live_call_through_the_console_streams_captions_and_speech_and_logs_nothing(
    live_agent: DeviceAgent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tone = _tone(1.0)
    async with aiohttp.ClientSession() as session:
        page = Page(await _connect(session, live_agent))
        started = await page.start("en", "es")
        assert started["type"] == "started" and started["node"].startswith("node-")
        for i in range(0, len(tone), 3200):  # 0.1 s per message, at real time
            await page.ws.send_bytes(tone[i : i + 3200])
            await asyncio.sleep(0.1)
        await page.ws.send_str(json.dumps({"type": "stop"}))
        while (doc := await page.next_json())["type"] not in ("ended", "error", "closed"):
            pass
        assert doc == {"type": "ended", "reason": "done", "resumes": 0}, doc
        closing = await page.ws.receive(timeout=30)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    captions = [m for m in page.messages if m["type"] == "caption"]
    assert captions and all(m["channel"] == 0 and CANARY in m["text"] for m in captions)
    assert len(page.speech) > SECOND // 2  # the tone came back as speech
    await _until_idle(live_agent)
    assert CANARY not in caplog.text


async def test_a_node_that_refuses_the_session_is_reported_to_the_page(
    echo_agent: DeviceAgent,
) -> None:
    async with aiohttp.ClientSession() as session:  # no live pipeline on the echo nodes
        page = Page(await _connect(session, echo_agent))
        await page.ws.send_str(json.dumps({"type": "start", "language": "en", "target": "es"}))
        doc, code = await page.refusal()
    # Each node refused for want of models (503; its token spent at the check); the SDK tried every
    # one, and the page hears why the last refused.
    assert doc["error"] == "unavailable" and code == 4503


@pytest.mark.parametrize(
    ("first", "error", "code"),
    [
        (b"\x00\x00", "malformed", 4400),  # audio before the start
        ("hello", "malformed", 4400),
        ('{"type": "stop"}', "malformed", 4400),
        ('{"type": "start", "language": "en", "target": "<script>"}', "malformed", 4400),
        (json.dumps({"type": "start", "target": "es", "pad": "x" * 1500}), "too_large", 4413),
    ],
)
async def test_bad_first_messages_close_the_socket_with_a_clear_error(
    live_agent: DeviceAgent, first: str | bytes, error: str, code: int
) -> None:
    async with aiohttp.ClientSession() as session:
        page = Page(await _connect(session, live_agent))
        if isinstance(first, bytes):
            await page.ws.send_bytes(first)
        else:
            await page.ws.send_str(first)
        doc, close = await page.refusal()
    assert (doc["error"], close) == (error, code), doc
    assert live_agent.live.active == 0


@pytest.mark.parametrize(
    ("audio", "error", "code"),
    [
        ([bytes(limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE + 2)], "too_large", 4413),
        ([b"\x00\x00\x00"], "malformed", 4400),
        # Ten seconds of audio in one go: faster than any microphone.
        ([bytes(limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE)] * 20, "rate_limited", 4429),
        # A flood of tiny messages.
        ([b"\x00\x00"] * 400, "rate_limited", 4429),
    ],
)
async def test_oversized_odd_or_too_fast_audio_is_refused_mid_call(
    live_agent: DeviceAgent, audio: list[bytes], error: str, code: int
) -> None:
    async with aiohttp.ClientSession() as session:
        page = Page(await _connect(session, live_agent))
        assert (await page.start())["type"] == "started"
        for message in audio:
            if page.ws.closed:
                break
            await page.ws.send_bytes(message)
        doc, close = await page.refusal()
    assert (doc["error"], close) == (error, code), doc
    await _until_idle(live_agent)


async def test_a_second_live_call_is_refused_while_one_runs_and_a_page_that_leaves_ends_it(
    live_agent: DeviceAgent,
) -> None:
    async with aiohttp.ClientSession() as session:
        first = Page(await _connect(session, live_agent))
        assert (await first.start())["type"] == "started"
        second = Page(await _connect(session, live_agent))
        await second.ws.send_str(json.dumps({"type": "start", "target": "fr"}))
        doc, close = await second.refusal()
        assert (doc["error"], close) == ("rate_limited", 4429)
        await first.ws.send_str(json.dumps({"type": "start", "target": "fr"}))
        doc, close = await first.refusal()  # a second start on the same page
        assert (doc["error"], close) == ("rate_limited", 4429)
        await _until_idle(live_agent)
        third = Page(await _connect(session, live_agent))
        assert (await third.start())["type"] == "started"
        await third.ws.close()  # the page goes away mid-call: the call ends with it
        await _until_idle(live_agent)


async def test_the_page_has_the_live_tab_and_its_worklet(echo_agent: DeviceAgent) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(echo_agent.url) as page:
            html = await page.text()
        async with session.get(f"{echo_agent.url}static/live-worklet.js") as worklet:
            assert worklet.status == 200 and worklet.content_type == "text/javascript"
            assert 'registerProcessor("pcm16k"' in await worklet.text()
    for element in ('id="tab-live"', 'id="live-start"', 'id="live-captions-0"'):
        assert element in html


async def test_cross_site_page_cannot_open_a_live_call(echo_agent: DeviceAgent) -> None:
    async with aiohttp.ClientSession() as session:
        for origin in ("http://evil.example", None):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await _connect(session, echo_agent, origin)
            assert refused.value.status == 403
        url = f"http://127.0.0.1:{echo_agent.port}/api/live"
        with pytest.raises(aiohttp.WSServerHandshakeError) as rebound:  # DNS rebinding
            await session.ws_connect(url, headers={"Host": f"evil.example:{echo_agent.port}"})
        assert rebound.value.status == 403


async def test_a_page_opening_sockets_without_calls_is_refused_past_the_cap(
    echo_agent: DeviceAgent,
) -> None:
    async with aiohttp.ClientSession() as session:
        idle = [await _connect(session, echo_agent) for _ in range(limits.MAX_CONSOLE_LIVE_SOCKETS)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await _connect(session, echo_agent)
        assert refused.value.status == 429
        for ws in idle:
            await ws.close()
        for _ in range(100):  # the agent saw them go
            if not echo_agent.live.open_sockets:
                break
            await asyncio.sleep(0.05)
        await (await _connect(session, echo_agent)).close()


async def _until_idle(agent: DeviceAgent) -> None:
    for _ in range(300):
        if agent.live.active == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the live call did not end")


# --- the Live tab in Chromium, with the real models ---------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("PRIVCLOUD_SCREENSHOTS") or ROOT / "build" / "screenshots")
SENTENCE = "Your train leaves tomorrow morning from the central station."
#: What the page shows when the node's FINAL cuts an output record it had begun to send (its
#: fixed drain ends with speech still queued): a bug of the live core, not of the console.
_MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
if _MISSING and os.environ.get("PRIVCLOUD_REQUIRE_AI") == "1":
    raise RuntimeError("PRIVCLOUD_REQUIRE_AI=1 but the live test lacks " + ", ".join(_MISSING))


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sentence, then 4 s of silence (Chromium loops the file: the tail lets the node
    commit the sentence before it comes again)."""
    voice = speak(SENTENCE, "en")
    with wave.open(io.BytesIO(voice), "rb") as src:
        rate = src.getframerate()
    path = tmp_path_factory.mktemp("live") / "sentence.wav"
    path.write_bytes(concat_wavs(voice, silence(4.0, rate)))
    return path


@pytest.fixture(scope="module")
def live_browser(spoken_wav: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="privcloud-chromium-live-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1440,1000",
        "--autoplay-policy=no-user-gesture-required",
        # The fake microphone plays the WAV, with no permission prompt.
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken_wav}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@needs_ai
@pytest.mark.slow
@pytest.mark.skipif(bool(_MISSING), reason="needs " + ", ".join(_MISSING))
def test_live_tab_captions_the_fake_microphone_in_chromium(live_browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def wait(seconds: float, condition: Any) -> Any:
        return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition)

    def state(d: Any) -> str:
        return str(d.find_element(By.ID, "live-status").get_attribute("data-state"))

    def captions(d: Any) -> str:
        return str(d.find_element(By.ID, "live-captions-0").text).lower()

    def heard(d: Any) -> bool:
        if state(d) == "error":
            raise AssertionError(d.find_element(By.ID, "live-error").text)
        return sum(w in captions(d) for w in ("train", "tomorrow", "morning", "station")) >= 2

    driver = live_browser
    # The node translates with Qwen2.5 1.5B ("accurate"): Gemma 3 270M ("fast", the CPU
    # default) loses "tomorrow" from this sentence, and a piece the fact check withholds is
    # shown but not spoken, so the speech this test waits for would never come.
    accurate = Models(dataclasses.replace(models().config, live_translation="accurate"))
    agent = DeviceAgent(port=0, models=accurate, warm_models=(WHISPER_TINY_EN,))
    with BackgroundAgent(agent) as url:
        driver.get(url)
        wait(60, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready"))
        driver.find_element(By.ID, "tab-live").click()
        Select(driver.find_element(By.ID, "live-spoken")).select_by_value("en")
        Select(driver.find_element(By.ID, "live-target")).select_by_value("es")
        driver.find_element(By.ID, "live-start").click()
        wait(60, lambda d: state(d) in ("live", "error"))
        assert state(driver) == "live", driver.find_element(By.ID, "live-error").text
        assert "node-" in driver.find_element(By.ID, "live-facts").text
        wait(120, heard)  # a slow, loaded machine: generous, but bounded
        # Then its translation and the translation's speech (espeak-ng).
        wait(60, lambda d: d.find_element(By.ID, "live-translations-0").text.strip())
        wait(30, lambda d: d.find_element(By.ID, "live-speech").get_attribute("data-seconds"))
        _shot(driver, "09-live-captions")
        driver.find_element(By.ID, "live-stop").click()
        wait(45, lambda d: state(d) in ("done", "error"))
        wait(10, lambda d: d.find_element(By.ID, "live-start").is_enabled())
        assert agent.live.active == 0
        _shot(driver, "10-live-ended")
        error = driver.find_element(By.ID, "live-error").text
        assert state(driver) == "done", error


def _shot(driver: Any, name: str) -> None:
    import base64

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    (SHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
