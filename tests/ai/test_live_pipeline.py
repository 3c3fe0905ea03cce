"""The live call-translation pipeline (privcloud.live.pipeline): VAD, streaming Whisper with
LocalAgreement-2, incremental translation and speech, per channel.

Speech is synthesised at test time (espeak-ng) and fed in 40 ms frames as fast as the pipeline
takes it (the pipeline's decode cadence counts audio seconds, so the outcome does not depend on
the machine's speed). The commit policy and the buffer bound are also checked with scripted
hypotheses (a simulated recogniser, no model), where the worst cases can be forced.
"""

from __future__ import annotations

import io
import itertools
import logging
import threading
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest

from aikit import models, needs_ai
from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.live import steps
from privcloud.live.agreement import LocalAgreement, Word
from privcloud.live.channel import ChannelStream, Settings, Translated
from privcloud.live.guess import TranslationLane
from privcloud.live.output import AUDIO, CAPTION, TRANSLATION, LiveOutput
from privcloud.live.pipeline import LivePipeline, make_pipeline
from privcloud.live.recognizer import Heard
from privcloud.live.vad import VoiceActivity, energy_scorer
from privcloud.wire.message import JSONObject
from privcloud.workloads.models import GEMMA_270M, QWEN_1_5B, ModelConfig, Models
from speech import speak, wer, words

FRAME = 1280  # 40 ms of 16 kHz s16le
#: A decode every second of audio, however long decodes take here (the default thins them out
#: on a slow machine), so that what the tests see does not depend on the machine's load.
FIXED = Settings(max_decode_every_s=Settings().decode_every_s)
ENGLISH = "My sister works in a big hospital. The children play in the park with their friends."
SPANISH = "Los niños juegan en el parque con sus amigos."


def _pcm16k(wav: bytes) -> bytes:
    """espeak-ng's 22.05 kHz WAV as 16 kHz s16le PCM (linear interpolation; fine for tests)."""
    with wave.open(io.BytesIO(wav), "rb") as src:
        rate = src.getframerate()
        x = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2").astype(np.float32)
    n = round(len(x) * 16_000 / rate)
    y = np.interp(np.arange(n) * (rate / 16_000), np.arange(len(x)), x)
    return bytes(y.round().astype("<i2").tobytes())


def _silence(seconds: float) -> bytes:
    return b"\x00\x00" * round(seconds * 16_000)


def _feed(pipeline: LivePipeline, channel: int, pcm: bytes) -> list[LiveOutput]:
    out: list[LiveOutput] = []
    for i in range(0, len(pcm), FRAME):
        out += pipeline.feed(channel, pcm[i : i + FRAME])
    return out


def _text(outputs: list[LiveOutput], kind: str, channel: int = 0) -> str:
    return " ".join(o.text for o in outputs if o.kind == kind and o.channel == channel)


@pytest.fixture(scope="module")
def english() -> bytes:
    return _pcm16k(speak(ENGLISH, "en"))


# --- no model: the commit policy and the bounds ------------------------------------------------


def _hyp(*items: tuple[str, float]) -> list[Word]:
    return [Word(start, start + 0.3, text) for text, start in items]


def test_local_agreement_commits_only_what_two_hypotheses_agree_on() -> None:
    agree = LocalAgreement()
    assert agree.insert(_hyp(("the", 0.0), ("cat", 0.4))) == []
    # The second hypothesis revised "cat" to "cats": only "the" is agreed.
    assert [w.text for w in agree.insert(_hyp(("The", 0.0), ("cats", 0.4), ("sat", 0.8)))] == [
        "The"
    ]
    # Words heard again over the committed audio are not committed twice.
    third = agree.insert(_hyp(("the", 0.0), ("cats", 0.4), ("sat", 0.8), ("down.", 1.2)))
    assert [w.text for w in third] == ["cats", "sat"]
    assert [w.text for w in agree.finish()] == ["down."]
    assert agree.finish() == []
    assert [w.text for w in agree.recent()] == ["The", "cats", "sat", "down."]


def test_local_agreement_drops_a_repeated_word_at_the_cut() -> None:
    agree = LocalAgreement()
    agree.insert(_hyp(("hello", 0.0), ("there", 0.5)))
    agree.insert(_hyp(("hello", 0.0), ("there", 0.5)))
    # After a buffer cut Whisper hears "there" again, starting a little later.
    agree.insert(_hyp(("there", 0.75), ("friend", 1.2)))
    again = agree.insert(_hyp(("there", 0.75), ("friend", 1.2)))
    assert [w.text for w in again] == ["friend"]


def test_utterance_end_drops_an_echo_of_the_last_word() -> None:
    """Whisper hears the tail of "exactamente?" again as a word of its own when the audio
    stops soon after it, a different one in each decode: LocalAgreement commits neither, and
    the utterance's end leaves the echo out (it was translated "I'm sorry" and spoken)."""
    agree = LocalAgreement()
    agree.insert(
        [Word(13.0, 13.5, "el"), Word(13.5, 14.1, "exactamente?"), Word(14.1, 14.3, "¡Tamen!")]
    )
    agree.insert(
        [Word(13.0, 13.5, "el"), Word(13.5, 14.2, "exactamente?"), Word(14.2, 14.4, "Tamento")]
    )
    assert [w.text for w in agree.finish()] == []
    assert [w.text for w in agree.recent()] == ["el", "exactamente?"]
    # A word said again, or another short word, is no echo; the tail of the last one is.
    cases = (("No.", "No.", True), ("No.", "Bye.", True), ("estación.", "ción", False))
    for first, last, kept in cases:
        agree = LocalAgreement()
        agree.insert([Word(0.0, 0.3, first), Word(0.3, 0.5, "x")])
        ends = agree.finish([Word(0.0, 0.3, first), Word(0.4, 0.6, last)])
        assert [w.text for w in ends] == ([first, last] if kept else [first])


class SimulatedRecognizer:
    """A recogniser for bound tests, no model: hears ``n`` words spread over the buffer, and
    with ``stable=False`` different words on every call (nothing ever agrees)."""

    def __init__(self, *, stable: bool, language: str | None = None) -> None:
        self.stable = stable
        self.language = language
        self.calls = 0
        self.longest_s = 0.0

    def __call__(
        self, samples: npt.NDArray[np.float32], language: str | None, prompt: str
    ) -> Heard:
        self.calls += 1
        seconds = len(samples) / 16_000
        self.longest_s = max(self.longest_s, seconds)
        count = int(seconds / 0.4)
        tag = "w" if self.stable else f"v{self.calls}x"
        found = [Word(0.4 * i, 0.4 * i + 0.3, f"{tag}{i}.") for i in range(count)]
        return Heard(found, language or self.language, 0.9)


TRANSLATED = Translated("traducido", "traducido")


def _stream(
    recognizer: SimulatedRecognizer,
    settings: Settings,
    log: list[tuple[str, str]],
    language: str | None = "en",
    target: str = "es",
    answer: Translated = TRANSLATED,
) -> ChannelStream:
    def translate(text: str, source: str, target: str) -> Translated:
        log.append((source, text))
        return answer

    return ChannelStream(
        0,
        language=language,
        target=target,
        recognize=recognizer,
        vad=VoiceActivity(energy_scorer),
        translate=translate,
        speak=lambda text, lang: b"\x00\x00" * 160,
        can_translate=lambda s, t: True,
        settings=settings,
    )


@pytest.mark.parametrize("stable", [True, False], ids=["agreeing", "never_agreeing"])
def test_endless_speech_keeps_the_buffer_bounded(stable: bool) -> None:
    """A speaker who never pauses (a tone, so every window is speech): the buffer and every
    decode stay within max_buffer_s plus one decode interval, agreed words or not."""
    settings = Settings(max_buffer_s=4.0, trim_after_s=3.0, endpoint_s=10.0)
    recognizer = SimulatedRecognizer(stable=stable)
    stream = _stream(recognizer, settings, [])
    tone = (0.3 * np.sin(np.arange(640) * 2 * np.pi * 220 / 16_000)).astype(np.float32)
    captions = []
    for _ in range(30 * 25):  # 30 s in 40 ms frames
        captions += [o for o in stream.feed(tone) if o.kind == CAPTION]
        assert stream.buffered_s <= settings.max_buffer_s + settings.decode_every_s + 0.05
    assert recognizer.calls >= 20
    assert recognizer.longest_s <= settings.max_buffer_s + settings.decode_every_s + 0.05
    assert captions  # forced commits when nothing agrees
    spans = [(o.start_s, o.end_s) for o in captions]
    assert all(b[0] >= a[1] - 1e-6 for a, b in itertools.pairwise(spans))


def test_silence_and_noise_reach_no_model_and_make_no_output() -> None:
    recognizer = SimulatedRecognizer(stable=True)
    log: list[tuple[str, str]] = []
    stream = _stream(recognizer, Settings(), log)
    rng = np.random.default_rng(0)
    for _ in range(10 * 25):  # 10 s: digital silence, then faint noise (-50 dBFS)
        assert stream.feed(np.zeros(640, dtype=np.float32)) == []
        assert stream.feed((0.003 * rng.standard_normal(640)).astype(np.float32)) == []
    assert stream.flush() == []
    assert recognizer.calls == 0 and log == []
    assert stream.buffered_s <= Settings().idle_keep_s + 0.1


def _tone(seconds: float) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * 16_000))
    return (0.3 * np.sin(t * 2 * np.pi * 220 / 16_000)).astype(np.float32)


def test_auto_language_translates_from_the_language_heard() -> None:
    """An "auto" channel takes the language Whisper detects; its words are translated from it,
    and translation and speech follow each utterance, in order, after its caption."""
    log: list[tuple[str, str]] = []
    recognizer = SimulatedRecognizer(stable=True, language="es")
    stream = _stream(recognizer, Settings(), log, language=None, target="en")
    out: list[LiveOutput] = []
    for chunk in np.split(np.concatenate((_tone(3.0), np.zeros(16_000, np.float32))), 100):
        out += stream.feed(chunk)
    out += stream.flush()
    assert log and all(source == "es" for source, _ in log)
    kinds = [o.kind for o in out]
    assert kinds.index(CAPTION) < kinds.index(TRANSLATION) < kinds.index(AUDIO)
    assert all(o.end_s <= 3.5 for o in out)


@needs_ai
def test_the_node_setting_picks_the_live_translation_model() -> None:
    fast = steps.Translator(Models(ModelConfig(live_translation="fast")))
    accurate = steps.Translator(Models(ModelConfig(live_translation="accurate")))
    assert fast.model_for("en", "es") == GEMMA_270M
    assert accurate.model_for("en", "es") == QWEN_1_5B
    assert fast.model_for("en", "ja") == QWEN_1_5B  # Gemma's prompts do not read Japanese


def test_a_slow_translation_does_not_hold_up_the_captions() -> None:
    """With the call's worker, a translation runs beside the decodes: while the language
    model is stuck on the first piece, later speech is still decoded and captioned; the
    translations then come out in the order their pieces were queued, and flush waits for
    all of them."""
    release = threading.Event()
    translated: list[str] = []

    def translate(text: str, source: str, target: str) -> Translated:
        release.wait(30)
        translated.append(text)
        return Translated(f"es:{text}", f"es:{text}")

    with ThreadPoolExecutor(max_workers=1) as worker:
        stream = ChannelStream(
            0,
            language="en",
            target="es",
            recognize=SimulatedRecognizer(stable=True),
            vad=VoiceActivity(energy_scorer),
            translate=translate,
            speak=lambda text, lang: b"\x00\x00" * 160,
            can_translate=lambda s, t: True,
            # Guessed translations are tests/unit/test_live_guess.py's: here every call of
            # translate is a committed piece's.
            settings=Settings(guess_translations=False),
            worker=TranslationLane(worker),
        )
        out: list[LiveOutput] = []
        for chunk in np.split(_tone(6.0), 150):
            out += stream.feed(chunk)
        assert [o for o in out if o.kind == CAPTION][-1].end_s > 4.0  # decoding went on
        assert not translated and TRANSLATION not in {o.kind for o in out}
        release.set()
        for chunk in np.split(np.zeros(16_000, np.float32), 25):
            out += stream.feed(chunk)
        out += stream.flush()
    captions = " ".join(o.text for o in out if o.kind == CAPTION)
    translations = [o.text for o in out if o.kind == TRANSLATION]
    assert translations == [f"es:{t}" for t in translated]
    assert " ".join(translated) == captions  # every committed word translated once, in order
    assert len([o for o in out if o.kind == AUDIO]) == len(translations)


@needs_ai
def test_a_withheld_translation_is_shown_but_not_spoken() -> None:
    """A translation the fact check withheld (its source text, nothing translated) comes out
    as text only: no speech of the source in the target language's voice."""
    log: list[tuple[str, str]] = []
    stream = _stream(
        SimulatedRecognizer(stable=True), Settings(), log, answer=Translated("w0. w1.", "")
    )
    out: list[LiveOutput] = []
    for chunk in np.split(np.concatenate((_tone(3.0), np.zeros(16_000, np.float32))), 100):
        out += stream.feed(chunk)
    out += stream.flush()
    assert log and TRANSLATION in {o.kind for o in out}
    assert AUDIO not in {o.kind for o in out}


def test_bad_input_is_refused_before_any_work() -> None:
    pipeline = make_pipeline(models(), ("en", "es"), ("es", "en"))
    with pytest.raises(DecodeError):
        pipeline.feed(0, b"\x00\x00\x00")  # odd length
    with pytest.raises(DecodeError):
        pipeline.feed(2, b"\x00\x00")
    with pytest.raises(DecodeError):
        pipeline.feed(True, b"\x00\x00")
    with pytest.raises(TooLargeError):
        pipeline.feed(0, b"\x00" * (limits.LIVE_MAX_FEED_BYTES + 2))
    with pytest.raises(DecodeError):
        make_pipeline(models(), ("en", "xx"), ("es", "en"))
    with pytest.raises(DecodeError):
        make_pipeline(models(), ("en", "es"), ("auto", "en"))
    with pytest.raises(UnsupportedError):
        make_pipeline(models(), ("en", "sw"), ("sw", "en"))  # no text model reads Swahili


# --- real models ---------------------------------------------------------------------------


@needs_ai
def test_silence_on_both_channels_produces_no_output() -> None:
    pipeline = make_pipeline(models(), ("en", "es"), ("es", "en"))
    quiet = _silence(4.0)
    assert _feed(pipeline, 0, quiet) == [] and _feed(pipeline, 1, quiet) == []
    assert pipeline.flush() == []


@needs_ai
def test_captions_are_final_in_order_and_match_the_speech(
    english: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Captions (same language as spoken: no translation) match the script (loose WER:
    espeak-ng into Whisper base), come in pieces while the speech goes on, each covers audio
    after the previous one (a commit is never revised or repeated), and nothing of the speech
    reaches a log."""
    caplog.set_level(logging.DEBUG)
    pipeline = make_pipeline(models(), ("en", "en"), ("en", "en"), settings=FIXED)
    out = _feed(pipeline, 0, _silence(0.5) + english + _silence(1.0)) + pipeline.flush()
    captions = [o for o in out if o.kind == CAPTION]
    assert len(captions) >= 3  # streamed in pieces, not once at the end
    assert {o.kind for o in out} == {CAPTION}
    text = _text(out, CAPTION)
    score = wer(ENGLISH, text)
    print(f"live caption WER {score:.3f}: {text}")
    assert score <= 0.3
    spans = [(o.start_s, o.end_s) for o in captions]
    assert all(s <= e for s, e in spans)
    assert all(b[0] >= a[1] - 0.05 for a, b in itertools.pairwise(spans))
    assert spans[-1][1] <= 0.5 + len(english) / 32_000 + 0.5
    logged = " ".join(r.getMessage().lower() for r in caplog.records)
    assert not {"sister", "hospital", "children", "friends"} & set(words(logged))


@needs_ai
def test_english_speech_is_translated_and_spoken_in_spanish() -> None:
    sentence = "My sister works in a big hospital."
    pipeline = make_pipeline(models(), ("en", "es"), ("es", "en"), settings=FIXED)
    pcm = _pcm16k(speak(sentence, "en"))
    out = _feed(pipeline, 0, _silence(0.3) + pcm + _silence(1.0)) + pipeline.flush()
    translation = _text(out, TRANSLATION)
    print(f"translation: {translation}")
    assert {"hermana", "hospital"} & set(words(translation))
    assert words(translation) != words(_text(out, CAPTION))
    audio = [o for o in out if o.kind == AUDIO]
    assert audio and all(len(o.audio) % 2 == 0 and len(o.audio) > 16_000 for o in audio)
    assert all(o.channel == 0 for o in out)
    first = next(o for o in out if o.kind == TRANSLATION)
    assert 0.0 <= first.start_s < first.end_s <= 0.3 + len(pcm) / 32_000 + 0.5


@needs_ai
def test_channels_do_not_mix(english: bytes) -> None:
    """English on channel 0 and Spanish on channel 1 at the same time, frame by frame
    interleaved: each channel's captions hold its own speaker's words only."""
    pipeline = make_pipeline(models(), ("en", "es"), ("en", "es"), settings=FIXED)
    spanish = _pcm16k(speak(SPANISH, "es"))
    pcm = (
        english + _silence(1.0),
        spanish + _silence(1.0 + (len(english) - len(spanish)) / 32_000),
    )
    out: list[LiveOutput] = []
    for i in range(0, max(map(len, pcm)), FRAME):
        for channel in (0, 1):
            out += pipeline.feed(channel, pcm[channel][i : i + FRAME])
    out += pipeline.flush()
    heard_en, heard_es = set(words(_text(out, CAPTION, 0))), set(words(_text(out, CAPTION, 1)))
    print(f"channel 0: {heard_en}; channel 1: {heard_es}")
    assert {"sister", "hospital", "children"} <= heard_en
    assert {"niños", "parque", "amigos"} & heard_es
    assert not {"niños", "parque", "amigos", "juegan"} & heard_en
    assert not {"sister", "hospital", "children", "friends"} & heard_es


# --- the encoder's short window (privcloud.live.whisper_window) --------------------------------


@needs_ai
def test_live_decodes_encode_a_short_window_and_others_the_full_one(
    english: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live decode gives Whisper's encoder the buffer plus PAD_FRAMES, not 30 s, and hears
    the words; the same model outside short_window (the transcribe workload) still gets 3,000
    frames. Fails if faster-whisper stops padding through the function we route."""
    import faster_whisper.transcribe

    from privcloud.live import whisper_window
    from privcloud.live.recognizer import LIVE_WHISPER, WhisperRecognizer

    seen: list[int] = []
    model_class = faster_whisper.transcribe.WhisperModel
    encode = model_class.encode

    def spy(self: object, features: npt.NDArray[np.float32]) -> object:
        seen.append(int(features.shape[-1]))
        return encode(self, features)

    monkeypatch.setattr(model_class, "encode", spy)
    samples = np.frombuffer(english, dtype="<i2").astype(np.float32) / 32768.0
    heard = WhisperRecognizer(models())(samples, "en", "")
    frames = len(samples) // 160
    assert seen and all(n <= frames + whisper_window.PAD_FRAMES + 2 for n in seen), seen
    assert wer(ENGLISH, " ".join(w.text for w in heard.words)) <= 0.2
    seen.clear()
    with models().use(LIVE_WHISPER) as whisper:
        segments, _ = whisper.transcribe(samples, language="en", beam_size=1)
        list(segments)
    assert seen and set(seen) == {whisper_window.FULL_FRAMES}


@needs_ai
def test_the_short_window_is_per_thread() -> None:
    """Inside short_window on one thread, another thread's padding stays at 30 s."""
    import threading

    import faster_whisper.transcribe

    from privcloud.live import whisper_window

    features = np.zeros((80, 400), dtype=np.float32)
    other: list[int] = []
    with whisper_window.short_window(100):
        here = faster_whisper.transcribe.pad_or_trim(features).shape[-1]
        thread = threading.Thread(
            target=lambda: other.append(faster_whisper.transcribe.pad_or_trim(features).shape[-1])
        )
        thread.start()
        thread.join()
    after = faster_whisper.transcribe.pad_or_trim(features).shape[-1]
    assert (here, other, after) == (500, [3000], 3000)


def test_a_decode_writes_a_bounded_number_of_tokens() -> None:
    """A decode's token budget grows with its audio and, with the longest prompt, fits
    Whisper's 448-token context even for the longest buffer (else faster-whisper refuses)."""
    from privcloud.live.recognizer import PROMPT_CHARS, max_new_tokens

    assert max_new_tokens(1.0) < max_new_tokens(4.0) < 100
    assert max_new_tokens(limits.LIVE_MAX_BUFFER_SECONDS) + PROMPT_CHARS + 4 <= 448


def test_the_translator_speaks_only_the_pieces_it_did_not_withhold() -> None:
    from privcloud.live.steps import _translated

    meta: JSONObject = {
        "text": "Buenos días. It leaves early in the morning.",
        "sentences": [
            {"index": 0, "text": "Buenos días.", "status": "kept"},
            {"index": 1, "text": "It leaves early in the morning.", "status": "withheld"},
        ],
    }
    assert _translated(meta) == Translated(
        "Buenos días. It leaves early in the morning.", "Buenos días."
    )
