"""The device console in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``,
installed by ``make setup``), driven through Selenium.

One agent with the real models serves the page; one browser walks the console as a user
would: upload the sample call, see the transcript appear, summarise it and read the guard's
report, open the inspector, then the Nodes and Log tabs. Each step is saved as a PNG in
``$PRIVCLOUD_SCREENSHOTS`` (default ``build/screenshots``; ``build/`` is not committed).

Skipped without Chromium and its driver, or without the AI extra, except under
``PRIVCLOUD_REQUIRE_AI=1`` (``make test``), where a missing browser fails the run.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aikit import models, needs_ai
from privcloud.cli.samples import CALL_SCRIPT, sample_call
from privcloud.device.agent import DeviceAgent
from privcloud.device.thread import BackgroundAgent
from privcloud.workloads.models import GEMMA_270M, MINILM_L6, WHISPER_TINY_EN

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("PRIVCLOUD_SCREENSHOTS") or ROOT / "build" / "screenshots")

_MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
if _MISSING and os.environ.get("PRIVCLOUD_REQUIRE_AI") == "1":
    raise RuntimeError(
        "PRIVCLOUD_REQUIRE_AI=1 but the browser test lacks "
        + ", ".join(_MISSING)
        + " (run make setup: Debian chromium and chromium-driver)"
    )

pytestmark = [
    needs_ai,
    pytest.mark.slow,
    pytest.mark.skipif(bool(_MISSING), reason="needs " + ", ".join(_MISSING)),
]


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    agent = DeviceAgent(
        port=0, models=models(), warm_models=(WHISPER_TINY_EN, GEMMA_270M, MINILM_L6)
    )
    with BackgroundAgent(agent) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="privcloud-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1440,1000",
        # A fake microphone (a tone) that needs no permission prompt, for the recording test.
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def echo_console_url() -> Iterator[str]:
    """An agent whose cloud serves the echo workloads only: for views fed with set answers."""
    with BackgroundAgent(DeviceAgent(port=0)) as url:
        yield url


def _shot(driver: Any, name: str) -> Path:
    """A PNG of the whole page, not only the window (Chrome DevTools Protocol)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000)}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
    )
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _wait(driver: Any, seconds: float, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(condition)


def _text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)


def _finished(driver: Any) -> bool:
    from selenium.webdriver.common.by import By

    state = driver.find_element(By.ID, "output-status").get_attribute("data-state")
    return state in ("done", "error")


def test_upload_the_sample_call_transcribe_summarise_and_inspect_in_chromium(
    console_url: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    shots: list[Path] = []
    sample = sample_call(tmp_path).call
    driver = browser
    driver.get(console_url)
    _wait(driver, 30, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready"))
    assert "3 nodes admitted" in _text(driver, "status")
    assert driver.find_element(By.ID, "insecure-badge").is_displayed()

    # 1. Upload the sample call: the transcribe button comes alive.
    driver.find_element(By.ID, "audio-file").send_keys(str(sample))
    _wait(driver, 10, lambda d: d.find_element(By.ID, "run-transcribe").is_enabled())
    assert sample.name in _text(driver, "audio-info")
    shots.append(_shot(driver, "01-sample-uploaded"))

    # 2. Transcribe: segments stream in one by one, then the whole text.
    driver.find_element(By.ID, "run-transcribe").click()
    _wait(driver, 120, _finished)
    assert driver.find_element(By.ID, "output-status").get_attribute("data-state") == "done"
    segments = driver.find_elements(By.CSS_SELECTOR, "#transcript .segment")
    assert len(segments) >= 2
    transcript = _text(driver, "transcript-text").lower()
    # Words of the sample's script that Whisper tiny.en gets right from espeak-ng's voice.
    expected = [w for w in ("lisbon", "friday", "monday", "contract") if w in CALL_SCRIPT.lower()]
    assert len(expected) >= 3, "the sample call's script changed: update these words"
    for word in expected:
        assert word in transcript, word
    typed = driver.find_element(By.ID, "text-input").get_attribute("value").lower()
    assert typed.split() == transcript.split()  # the transcript is ready to summarise
    shots.append(_shot(driver, "02-transcript"))

    # 3. Summarise the transcript: the summary and the guard's report per sentence.
    _wait(driver, 10, lambda d: d.find_element(By.ID, "run-summarize").is_enabled())
    driver.find_element(By.ID, "run-summarize").click()
    _wait(driver, 240, _finished)
    assert driver.find_element(By.ID, "output-status").get_attribute("data-state") == "done"
    assert len(_text(driver, "summary")) > 20
    assert _text(driver, "grounding-kept").startswith("kept ")
    assert _text(driver, "grounding-dropped").startswith("dropped ")
    verdicts = driver.find_elements(By.CSS_SELECTOR, "#grounding-sentences li")
    assert verdicts, "the guard's report lists the model's sentences"
    for verdict in verdicts:  # a sentence left out is labelled dropped, whatever its checks
        badge = verdict.find_element(By.CSS_SELECTOR, ".badge").text
        shown = "kept" in (verdict.get_attribute("class") or "").split()
        assert (badge in ("grounded", "unverified")) if shown else badge == "dropped", badge
    shots.append(_shot(driver, "03-summary"))

    # 4. The inspector: what the relay, the gateway, each node and the issuer observed.
    _wait(driver, 10, lambda d: d.find_element(By.ID, "inspect-btn").is_enabled())
    driver.find_element(By.ID, "inspect-btn").click()
    _wait(driver, 10, lambda d: d.find_element(By.ID, "party-relay").is_displayed())
    relay = _text(driver, "party-relay")
    gateway = _text(driver, "party-gateway")
    ran = driver.find_element(By.CSS_SELECTOR, ".party.ran")
    issuer = _text(driver, "party-issuer")
    assert "POST /v1/ohttp" in relay and "POST /v1/ohttp" in gateway
    assert "POST /v1/envelope" in ran.text and "plaintext" in ran.text
    assert "nothing of this request" in issuer
    if sys.platform.startswith("linux"):
        device = "127.0.0.2"  # the agent's own source address (privcloud.device.netaddr)
        peers = {
            name: [c.text for c in driver.find_elements(By.CSS_SELECTOR, f"#{name} td.peer")]
            for name in ("party-relay", "party-gateway")
        }
        assert peers["party-relay"] == [device]
        assert peers["party-gateway"] and device not in peers["party-gateway"]
        node_peers = [c.text for c in ran.find_elements(By.CSS_SELECTOR, "td.peer")]
        assert node_peers and device not in node_peers
    shots.append(_shot(driver, "04-inspector"))

    # 5. The Nodes tab: each admitted node with its attestation and admission trail.
    driver.find_element(By.ID, "tab-nodes").click()
    _wait(driver, 20, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".node-card")) == 3)
    nodes = _text(driver, "nodes-list")
    for check in ("evidence-valid", "measurement-matches-release", "release-in-log", "policy"):
        assert check in nodes
    assert "Evidence checks (simulated)" in nodes and "TCB status" in nodes
    shots.append(_shot(driver, "05-nodes"))

    # 6. The Log tab: the trusted checkpoint, the entries, the release's verified proof.
    driver.find_element(By.ID, "tab-log").click()
    _wait(driver, 20, lambda d: d.find_elements(By.ID, "log-proof-result"))
    assert _text(driver, "log-proof-result") == "verified"
    assert _text(driver, "log-latest-result") == "verified"
    assert "privcloud" in _text(driver, "log-entries")
    assert _text(driver, "log-note").count("—") >= 2  # the log's signature and a cosignature
    driver.find_element(By.CSS_SELECTOR, "#log-entries details.manifest summary").click()
    assert "whisper" in _text(driver, "log-entries").lower()  # the model files the nodes run
    shots.append(_shot(driver, "06-log"))

    for path in shots:
        assert path.is_file() and path.stat().st_size > 10_000, path
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors  # no script error, no CSP violation


def test_a_microphone_recording_is_sent_as_webm_opus_and_decoded_by_the_node(
    console_url: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(console_url)
    _wait(driver, 30, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready"))
    driver.find_element(By.ID, "record-btn").click()
    _wait(driver, 10, lambda d: "Stop" in d.find_element(By.ID, "record-btn").text)
    _wait(driver, 10, lambda d: d.find_element(By.ID, "record-time").text.startswith("2"))
    driver.find_element(By.ID, "record-btn").click()
    _wait(driver, 10, lambda d: d.find_element(By.ID, "run-transcribe").is_enabled())
    info = _text(driver, "audio-info")
    assert "recording.webm" in info and "audio/webm" in info
    driver.find_element(By.ID, "run-transcribe").click()
    _wait(driver, 120, _finished)
    # The fake microphone plays a tone, not speech: what matters is that the node decoded the
    # browser's WebM/Opus (an undecodable file would end in an error).
    assert driver.find_element(By.ID, "output-status").get_attribute("data-state") == "done"
    assert driver.find_element(By.ID, "transcript-text").is_displayed()


#: A guard report with every kind of verdict (the shape of ``summarize``'s ``meta.grounding``).
GUARD_REPORT = {
    "mode": "drop",
    "kept": 2,
    "dropped": 3,
    "grounded": 3,
    "checked": ["numbers, times, dates and names must occur in the source"],
    "fallback": False,
    "notes": ["1 repeated sentences, questions or fragments were left out"],
    "sentences": [
        {"text": "Maria Lopez called about a trip to Lisbon.", "kept": True, "grounded": True,
         "reasons": [], "similarity": 0.81, "overlap": 0.7},
        {"text": "The flight costs 450 euros.", "kept": False, "grounded": False,
         "reasons": ["number 450 not in source"], "similarity": 0.4, "overlap": 0.3},
        {"text": "Maria Lopez called about a trip to Lisbon.", "kept": False, "grounded": True,
         "reasons": [], "similarity": 0.81, "overlap": 0.7},
        {"text": "She wants to meet on Monday.", "kept": True, "grounded": False,
         "reasons": ["too little support"], "similarity": 0.3, "overlap": 0.2},
        {"text": "Can we meet?", "kept": False, "grounded": True, "reasons": [],
         "similarity": 0.6, "overlap": 0.5},
    ],
}  # fmt: skip


def test_the_guard_panel_labels_every_dropped_sentence_dropped(
    echo_console_url: str, browser: Any
) -> None:
    """Once a sentence the guard passed but the summary left out (a repeat, a question) showed
    a green "grounded" badge in the dropped list; the badge follows what was shown."""
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(echo_console_url)
    _wait(driver, 30, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready"))
    meta = {"summary": "Maria Lopez called about a trip to Lisbon.", "grounding": GUARD_REPORT,
            "model": "set-answer", "tokens": 0, "seconds": 0}  # fmt: skip
    driver.execute_script(
        "const view = makeView('summarize'); clear($('output-body'), view.root);"
        "view.result(arguments[0], arguments[0].summary);",
        meta,
    )
    items = driver.find_elements(By.CSS_SELECTOR, "#grounding-sentences li")
    seen = [
        (
            item.find_element(By.CSS_SELECTOR, ".badge").text,
            item.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class"),
            item.get_attribute("class"),
        )
        for item in items
    ]
    assert seen == [
        ("grounded", "badge ok", "kept"),
        ("dropped", "badge bad", "dropped"),
        ("dropped", "badge bad", "dropped"),
        ("unverified", "badge warn", "kept"),
        ("dropped", "badge bad", "dropped"),
    ]
    reasons = [
        r.text for r in driver.find_elements(By.CSS_SELECTOR, "#grounding-sentences .reasons")
    ]
    assert reasons[0] == "number 450 not in source"
    assert "left out of the summary" in reasons[1]
    assert reasons[2] == "too little support"
    assert "left out of the summary" in reasons[3]
    assert "1 repeated sentences" in _text(driver, "grounding")
    assert "grounded" not in [b for b, _, where in seen if where == "dropped"]
    _shot(driver, "07-guard-verdicts")


def _chat_state(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "chat-status").get_attribute("data-state"))


def _ask(driver: Any, question: str, *, enter: bool = False) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "chat-input")
    box.send_keys(question)
    _wait(driver, 10, lambda d: d.find_element(By.ID, "chat-send").is_enabled())
    if enter:
        box.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "chat-send").click()


def test_chat_streams_the_answer_and_sends_the_whole_conversation_each_turn(
    console_url: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(console_url)
    _wait(driver, 30, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready"))
    driver.find_element(By.ID, "tab-chat").click()
    _wait(driver, 10, lambda d: d.find_element(By.ID, "chat-input").is_displayed())
    tokens = driver.find_element(By.ID, "chat-max-tokens")
    tokens.clear()
    tokens.send_keys("48")

    # 1. One question: the answer arrives in pieces, then the node's final text and usage.
    _ask(driver, "Name three colours of the rainbow.")
    _wait(driver, 10, lambda d: _chat_state(d) == "running")
    _wait(driver, 300, lambda d: _chat_state(d) in ("done", "error", "stopped"))
    assert _chat_state(driver) == "done", _text(driver, "chat-log")
    answers = driver.find_elements(By.CSS_SELECTOR, "#chat-log .message.assistant")
    assert len(answers) == 1
    assert int(answers[0].get_attribute("data-deltas") or 0) >= 2  # streamed, not in one piece
    assert answers[0].find_element(By.CSS_SELECTOR, ".text").text.strip()
    assert "token" in answers[0].find_element(By.CSS_SELECTOR, ".meta").text
    _wait(driver, 10, lambda d: d.find_elements(By.ID, "chat-request-id"))
    request = _text(driver, "chat-facts")
    assert "node-" in request and "key id " in request and "messages" in request

    # 2. A second turn (Enter sends): the page sends the conversation so far, the node keeps
    # nothing between turns.
    _ask(driver, "Now name one more.", enter=True)
    _wait(driver, 300, lambda d: _chat_state(d) in ("done", "error", "stopped"))
    assert _chat_state(driver) == "done", _text(driver, "chat-log")
    roles = [
        m.get_attribute("data-role")
        for m in driver.find_elements(By.CSS_SELECTOR, "#chat-log .message")
    ]
    assert roles == ["user", "assistant", "user", "assistant"]
    sent = driver.execute_script("return chatParams().messages.map((m) => m.role);")
    assert sent == roles
    _shot(driver, "08-chat")

    # 3. Stop: the answer ends where it was, and the page can ask again.
    tokens.clear()
    tokens.send_keys("400")
    _ask(driver, "Tell me a long story about a lighthouse keeper.")
    _wait(
        driver, 300, lambda d: d.find_elements(By.CSS_SELECTOR, ".message.streaming[data-deltas]")
    )
    driver.find_element(By.ID, "chat-stop").click()
    _wait(driver, 30, lambda d: _chat_state(d) == "stopped")
    assert (
        driver.find_element(By.ID, "chat-send").get_attribute("disabled") is not None
    )  # empty box

    # 4. New chat forgets the conversation.
    driver.find_element(By.ID, "chat-new").click()
    assert driver.execute_script("return chat.messages.length;") == 0
    assert _text(driver, "chat-log") == "No messages yet."
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors
