"""The ``speak`` workload: espeak-ng text to speech, 16 kHz mono 16-bit WAV built in memory.

Intelligibility is measured the way a listener would be replaced here: Whisper transcribes the
synthesised speech and the word error rate against the text is bounded (loosely: the figure for
the record is bench/eval_speech.py's).
"""

from __future__ import annotations

import io
import re
import threading
import wave
from pathlib import Path
from typing import Any

import pytest

from aikit import models, needs_ai
from privcloud import limits
from privcloud.errors import (
    DecodeError,
    PeerError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads import speak as speak_module
from privcloud.workloads.models import WHISPER_BASE, WHISPER_TINY_EN
from privcloud.workloads.speak import (
    SAMPLE_RATE,
    SpeakWorkload,
    Speech,
    clean_text,
    pcm_to_wav,
    synthesize,
    voice_for,
    voices,
)
from privcloud.workloads.transcribe import TranscribeWorkload
from speech import forbid_file_writes, wer

pytestmark = needs_ai

ENGLISH = "Please call the dentist on Thursday morning and bring your insurance card."
SPANISH = "Mi hermana trabaja en un hospital grande cerca de la estación."


def _run(body: bytes, **params: Any) -> list[Event]:
    workload = SpeakWorkload(models())
    return list(workload.run(WorkloadRequest("speak", dict(params), body)))


def _wav_shape(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()


def _transcribe(wav: bytes, language: str) -> str:
    model = WHISPER_TINY_EN if language == "en" else WHISPER_BASE
    events = TranscribeWorkload(models()).run(
        WorkloadRequest("transcribe", {"language": language, "model": model}, wav)
    )
    return str(list(events)[-1].meta["text"])


# --- the engine and the answer ---------------------------------------------------------------


def test_speech_is_a_16khz_mono_16bit_wav_built_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_file_writes(monkeypatch)
    events = _run(ENGLISH.encode())
    assert [e.kind for e in events] == [EventKind.RESULT]
    meta, data = events[0].meta, events[0].data
    assert data.startswith(b"RIFF") and data[8:12] == b"WAVE"
    channels, width, rate, frames = _wav_shape(data)
    assert (channels, width, rate) == (1, 2, SAMPLE_RATE)
    assert meta["sample_rate"] == SAMPLE_RATE and meta["engine"] == "espeak-ng"
    assert meta["voice"] == "en-us" and meta["task"] == "speak"
    assert abs(float(meta["duration"]) - frames / SAMPLE_RATE) < 0.01
    assert 2.0 < float(meta["duration"]) < 15.0  # a sentence, not silence nor a runaway


def test_synthesize_returns_raw_pcm_the_wav_wraps() -> None:
    pcm = synthesize("Good morning.", "en")
    assert len(pcm) % 2 == 0 and len(pcm) > SAMPLE_RATE  # over half a second of 16-bit sound
    assert not pcm.startswith(b"RIFF")
    wav = pcm_to_wav(pcm)
    assert _wav_shape(wav)[3] == len(pcm) // 2
    # Not silence: a real voice has a level well above digital zero.
    samples = memoryview(pcm).cast("h")
    assert max(abs(s) for s in samples) > 1000


def test_a_faster_rate_makes_shorter_speech() -> None:
    slow = _run(ENGLISH.encode(), rate=100)[0].meta["duration"]
    fast = _run(ENGLISH.encode(), rate=limits.MAX_SPEAK_RATE)[0].meta["duration"]
    assert float(fast) < float(slow) * 0.6


def test_languages_are_the_whisper_languages_the_engine_has_voices_for() -> None:
    table = voices()
    assert {"en", "es", "fr", "de", "it", "pt", "nl", "ja", "zh", "ru"} <= set(table)
    assert table["en"] == "en-us" and table["zh"] == "cmn"
    assert voice_for("es") == "es"


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "body", "error"),
    [
        ({}, b"", DecodeError),  # empty
        ({}, b"   \n\t ", DecodeError),  # blank
        ({}, b" . , ; ! ", DecodeError),  # nothing speakable
        ({}, b"\xff\xfe\x00bad", DecodeError),  # not UTF-8
        ({"language": "klingon"}, b"Hello.", DecodeError),  # no language code
        ({"language": "xx"}, b"Hello.", DecodeError),
        ({"language": "bo"}, "བཀྲ་ཤིས་བདེ་ལེགས།".encode(), UnsupportedError),  # Tibetan: no voice
        ({"language": "yo"}, b"Bawo ni.", UnsupportedError),  # Yoruba: no voice
        ({"rate": 5}, b"Hello.", DecodeError),
        ({"rate": 10_000}, b"Hello.", DecodeError),
        ({"rate": "fast"}, b"Hello.", DecodeError),
        ({"language": "e" * 200}, b"Hello.", TooLargeError),
        ({}, b"a " * (limits.MAX_SPEAK_CHARS // 2 + 1), TooLargeError),  # long text
    ],
)
def test_bad_requests_are_refused_with_our_errors(
    params: dict[str, Any], body: bytes, error: type[PeerError]
) -> None:
    with pytest.raises(error):
        _run(body, **params)


def test_synthesize_refuses_what_the_workload_refuses() -> None:
    with pytest.raises(DecodeError):
        synthesize("", "en")
    with pytest.raises(UnsupportedError):
        synthesize("Bawo ni.", "yo")
    with pytest.raises(TooLargeError):
        synthesize("x" * (limits.MAX_SPEAK_CHARS + 1), "en")


def test_text_at_the_bound_is_spoken_within_the_speech_bound() -> None:
    text = ("The quick brown fox jumps over the lazy dog. " * 60)[: limits.MAX_SPEAK_CHARS]
    meta = _run(text.encode())[0].meta
    assert 60.0 < float(meta["duration"]) <= limits.MAX_SPEAK_SECONDS
    assert meta["characters"] == len(text)


def test_digit_runs_that_would_speak_for_too_long_are_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bounded text can still be long speech (digits are read one by one): the engine's
    output is refused as soon as it passes the speech bound, not read to its end."""
    monkeypatch.setattr(limits, "MAX_SPEAK_ENGINE_BYTES", 22_050 * 2 * 5)  # 5 s
    with pytest.raises(TooLargeError):
        _run(b"1 2 3 4 5 6 7 8 9 " * 20)


def test_control_characters_and_options_in_the_text_are_only_text() -> None:
    assert clean_text("a\x00b\x1bc\x7f") == "a b c"
    # On stdin, "--help" or "-w /tmp/x" is text to speak, never an option of the engine.
    meta = _run(b"-w /tmp/privcloud-speak-test --help")[0].meta
    assert float(meta["duration"]) > 1.0


def test_a_missing_engine_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speak_module.shutil, "which", lambda _name: None)
    with pytest.raises(UnavailableError):
        speak_module.speak("Hello.", "en")


# --- red-team review, 2026-12-04 ----------------------------------------------------------------


def test_speaking_writes_no_pulseaudio_files_under_home_or_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """espeak-ng 1.51 starts a PulseAudio client even with --stdout, which creates
    ~/.config/pulse, a runtime symlink and a /tmp/pulse-* directory. The engine's environment
    names a server that does not exist; here its home and temporary directories are empty ones
    of the test's, which stay empty: for the workload and for the live pipeline's synthesis."""
    from privcloud.live import steps

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    real_env = speak_module._child_env
    seen: list[dict[str, str]] = []

    def env_with_dirs() -> dict[str, str]:
        env = {**real_env(), "HOME": str(home), "TMPDIR": str(tmp)}
        seen.append(env)
        return env

    monkeypatch.setattr(speak_module, "_child_env", env_with_dirs)
    assert float(_run(b"Hello there.")[0].meta["duration"]) > 0.5
    assert len(steps.synthesize("Good morning.", "en")) > SAMPLE_RATE
    assert len(seen) >= 2  # both went through the engine's environment
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "home",
        "tmp",
    ]


def _phonemes(text: str) -> str:
    """espeak-ng's phoneme mnemonics for ``text`` as the workload hands it over (``-x``: no
    sound), without pauses and length marks (brackets broken up add pauses)."""
    out = speak_module._run_engine(["-v", "en-us", "-q", "-x", "-b", "1"], clean_text(text))
    return re.sub(r"[_:\s]", "", out.decode())


def test_phoneme_brackets_in_the_text_are_read_as_words_not_phonemes() -> None:
    """espeak-ng reads what follows "[[" as phoneme mnemonics, SSML or not: a text could make
    the voice say what its letters do not ("[[h@l'oU]]" is "hello"). Every "[[" is broken up."""
    assert _phonemes("in [[Berlin]]") == _phonemes("in Berlin")
    assert _phonemes("[[h@l'oU]]") != _phonemes("hello")
    assert "[[" not in clean_text("a [[[[b]] c [[")


def test_the_live_pipelines_speech_breaks_phoneme_brackets_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from privcloud.live import steps

    handed: list[str] = []
    real_run_engine = speak_module._run_engine

    def spy(args: list[str], text: str) -> bytes:
        handed.append(text)
        return real_run_engine(args, text)

    monkeypatch.setattr(speak_module, "_run_engine", spy)
    steps.synthesize("in [[Berlin]]", "en")
    assert handed and all("[[" not in text for text in handed)


def test_speak_requests_past_the_concurrency_cap_are_refused_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most MAX_CONCURRENT_SPEAK engines run for the workload at once; one more request is
    refused at once (429), and the slots come back, after an error too. No timing: the running
    requests are held inside a fake engine until the refusal is seen."""
    cap = limits.MAX_CONCURRENT_SPEAK
    inside = threading.Semaphore(0)
    release = threading.Event()
    lock = threading.Lock()
    running = most = 0

    def held_speak(text: str, language: str, *, rate: int) -> Speech:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            over = running > cap
        try:
            if over:  # without the cap: fail here, not wait for a release that never comes
                raise AssertionError("more requests were spoken at once than the cap")
            inside.release()
            assert release.wait(60)
            if text == "fail":
                raise DecodeError("nothing to speak")
            return Speech(b"\0\0" * SAMPLE_RATE, "en-us")
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(speak_module, "speak", held_speak)
    workload = SpeakWorkload(models())
    outcomes: list[str] = []

    def one(body: bytes) -> None:
        try:
            list(workload.run(WorkloadRequest("speak", {}, body)))
            outcomes.append("ok")
        except PeerError as exc:
            outcomes.append(type(exc).__name__)

    bodies = [b"fail"] + [b"Hello."] * (cap - 1)
    threads = [threading.Thread(target=one, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for _ in range(cap):
        assert inside.acquire(timeout=60)
    with pytest.raises(RateLimitedError):
        list(workload.run(WorkloadRequest("speak", {}, b"Hello.")))
    with pytest.raises(DecodeError):  # parameters are checked before a slot is taken
        list(workload.run(WorkloadRequest("speak", {"rate": 5}, b"Hello.")))
    release.set()
    for thread in threads:
        thread.join(60)
    assert most == cap
    assert sorted(outcomes) == sorted(["DecodeError"] + ["ok"] * (cap - 1))
    for _ in range(cap + 1):  # every slot came back
        list(workload.run(WorkloadRequest("speak", {}, b"Hello.")))


# --- intelligibility (Whisper on the synthesised speech) ---------------------------------------


def test_english_speech_is_intelligible_to_whisper() -> None:
    wav = _run(ENGLISH.encode(), language="en")[0].data
    heard = _transcribe(wav, "en")
    score = wer(ENGLISH, heard)
    print(f"TTS en: WER {score:.2f}: {heard!r}")
    assert score <= 0.25, heard


def test_spanish_speech_is_intelligible_to_whisper() -> None:
    wav = _run(SPANISH.encode(), language="es", rate=130)[0].data
    heard = _transcribe(wav, "es")
    score = wer(SPANISH, heard)
    print(f"TTS es: WER {score:.2f}: {heard!r}")
    assert score <= 0.35, heard


# --- the full private path ------------------------------------------------------------------------


@pytest.mark.slow
async def test_speak_through_the_full_private_path() -> None:
    """Relay, gateway, an attested node: the WAV comes back sealed, and bad input is refused
    with our error on the way (empty text, an unsupported language, a text over the bound)."""
    from privcloud.errors import PrivcloudError
    from privcloud.localcloud.cloud import LocalCloud, NodeSpec
    from privcloud.sdk import Client
    from privcloud.trust.admission import ClientPolicy

    cloud = LocalCloud(nodes=[NodeSpec("node-1", "eu-west")], models=models())
    async with (
        cloud,
        Client(
            cloud.relay_url,
            policy=ClientPolicy.insecure_local_dev(),
            wallet=cloud.new_wallet(batch_size=16),  # (none is fetched on a path)
            trust=cloud.client_trust(),
        ) as client,
    ):
        result = await client.call("speak", {"language": "es"}, SPANISH.encode())
        assert result.meta["voice"] == "es"
        assert _wav_shape(result.data)[:3] == (1, 2, SAMPLE_RATE)
        refusals = [
            ({}, b""),
            ({"language": "yo"}, b"Bawo ni."),
            ({}, b"a " * (limits.MAX_SPEAK_CHARS // 2 + 1)),
        ]
        codes = []
        for params, body in refusals:
            with pytest.raises(PrivcloudError) as caught:
                await client.call("speak", params, body)
            codes.append(caught.value.http_status)
        assert codes == [400, 415, 413]
