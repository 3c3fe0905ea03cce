"""The ``transcribe`` workload: speech to text with Whisper (faster-whisper, CTranslate2).

Request: the body is an audio file (any format :mod:`privcloud.workloads.audio` decodes).
Parameters:

* ``language``: "en" (default: Whisper tiny.en, the fastest), "auto" (detect it with Whisper
  base), or any other ISO-639-1 code Whisper knows (:data:`WHISPER_LANGUAGES`: Whisper base).
* ``model``: optional, "whisper-tiny.en" or "whisper-base", overriding the choice above;
  tiny.en only knows English, so asking it for another language (or "auto") is refused.

Answer: with ``stream`` set, one ``PARTIAL`` event per segment as Whisper produces it (meta
``{"index", "start", "end", "text"}``; faster-whisper decodes lazily, so the first arrives
before the whole clip is processed), then a ``RESULT`` whose data is the text (UTF-8) and whose
meta is ``{"text", "language", "language_probability", "duration", "segments", "model",
"task": "transcribe"}``, plus ``"truncated": true`` when the file broke off early.

Decoding settings follow faster-whisper's README and Whisper's own guard rails: greedy
(beam size 1, temperature 0) for speed and determinism, ``condition_on_previous_text=False``
(a hallucinated segment cannot seed a repetition loop), and silence never reaches the model:
a silent clip (by RMS level) is answered with an empty text, and Silero VAD
(``vad_filter=True``) cuts silent stretches, on which Whisper invents text ("Thank you.").
Whisper's own no-speech check (no_speech_prob > 0.6 with a low log-probability) drops more,
and a segment that decoded into a repetition loop (:data:`REPETITION_RATIO`) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.audio import Audio, decode_audio
from privcloud.workloads.base import ModelWorkload
from privcloud.workloads.models import (
    WHISPER_BASE,
    WHISPER_MODELS,
    WHISPER_TINY_EN,
    Models,
)

#: The languages Whisper knows (faster-whisper ``tokenizer._LANGUAGE_CODES``; openai/whisper
#: ``tokenizer.LANGUAGES``), by ISO-639-1 code ("haw", "yue": no two-letter code).
WHISPER_LANGUAGES = frozenset(
    """af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha
    haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms
    mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk
    tl tr tt uk ur uz vi yi yo zh yue""".split()  # noqa: SIM905 - a table reads better
)
#: The ``language`` value that asks Whisper to detect the language.
AUTO = "auto"
#: Whisper's gzip compression ratio above which a decode counts as failed (a repetition loop,
#: "กกกกกก…"): openai/whisper ``transcribe.py`` falls back to sampling there; greedy-only
#: decoding drops the segment instead.
REPETITION_RATIO = 2.4
#: Decoding options shared by every Whisper call (see the module docstring).
_DECODE_OPTIONS: dict[str, Any] = {
    "beam_size": 1,
    "temperature": 0.0,
    "condition_on_previous_text": False,
    "vad_filter": True,
}


def read_language(request_params: JSONObject, name: str, default: str) -> str:
    """Parameter ``name``: "auto" or a language code Whisper knows; else DecodeError."""
    value = params.text(request_params, name, default, max_chars=limits.MAX_NAME_PARAM_CHARS)
    value = value.strip().lower()
    if value != AUTO and value not in WHISPER_LANGUAGES:
        raise DecodeError(f"parameter '{name}' is not a language Whisper knows")
    return value


@dataclass(frozen=True)
class Segment:
    """One stretch of recognised speech, times in seconds from the start of the clip."""

    index: int
    start: float
    end: float
    text: str

    def meta(self) -> JSONObject:
        return {"index": self.index, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Detected:
    """The language Whisper worked in: the requested one (probability 1), the detected one,
    or None for a silent clip in "auto" mode (nothing to detect it from)."""

    language: str | None
    probability: float


@contextmanager
def recognise(
    models: Models, model: str, audio: Audio, *, language: str | None, task: str
) -> Iterator[tuple[Detected, Iterator[Segment]]]:
    """Run Whisper ``model`` on ``audio``; yields the language and a lazy segment iterator.

    ``language`` None detects it (multilingual models only); ``task`` is "transcribe" or
    "translate" (to English). The model is held (its lock) for the ``with`` block, so iterate
    inside it. Segment times are clamped into [0, duration] and made non-decreasing.
    """
    if audio.silent:
        yield Detected(language, 1.0 if language else 0.0), iter(())
        return
    with models.use(model) as whisper:
        segments, info = whisper.transcribe(
            audio.samples, language=language, task=task, **_DECODE_OPTIONS
        )
        # With VAD, a clip without speech is not detected at all: faster-whisper reports a guess.
        detected = Detected(str(info.language), round(float(info.language_probability), 3))
        yield detected, _segments(segments, audio.seconds)


def _segments(raw: Any, duration: float) -> Iterator[Segment]:
    index = 0
    last = 0.0
    for seg in raw:
        text = str(seg.text).strip()
        if not text or float(seg.compression_ratio) > REPETITION_RATIO:
            continue
        start = min(max(float(seg.start), last), duration)
        end = min(max(float(seg.end), start), duration)
        last = start
        yield Segment(index, round(start, 2), round(end, 2), text)
        index += 1


def join_text(segments: list[Segment], language: str | None) -> str:
    """The segments' texts as one text (no spaces between them for Chinese and Japanese)."""
    separator = "" if language in ("zh", "ja", "yue") else " "
    return separator.join(s.text for s in segments)


def result_meta(
    *,
    text: str,
    detected: Detected,
    audio: Audio,
    segments: list[Segment],
    model: str,
    task: str,
) -> JSONObject:
    """The result meta shared by the speech workloads."""
    meta: JSONObject = {
        "text": text,
        "language": detected.language,
        "language_probability": detected.probability,
        "duration": round(audio.seconds, 3),
        "segments": [s.meta() for s in segments],
        "model": model,
        "task": task,
    }
    if audio.truncated:
        meta["truncated"] = True
    return meta


def choose_model(language: str, model: str | None) -> str:
    """The Whisper model for ``language`` ("auto" or a code), honouring an explicit ``model``."""
    if model is None:
        return WHISPER_TINY_EN if language == "en" else WHISPER_BASE
    if model == WHISPER_TINY_EN and language != "en":
        raise DecodeError("whisper-tiny.en only transcribes English")
    return model


class TranscribeWorkload(ModelWorkload):
    """Speech to text (see the module docstring for parameters and the answer)."""

    name = "transcribe"

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        # Parameters first: a bad one is refused before any decoding work.
        language = read_language(request.params, "language", "en")
        override = params.optional_text(request.params, "model")
        if override is not None and override not in WHISPER_MODELS:
            raise DecodeError("parameter 'model' must be one of: whisper-base, whisper-tiny.en")
        model = choose_model(language, override)
        audio = decode_audio(request.body)
        segments: list[Segment] = []
        wanted = None if language == AUTO else language
        with recognise(self._models, model, audio, language=wanted, task="transcribe") as (
            detected,
            produced,
        ):
            for segment in produced:
                segments.append(segment)
                if request.stream:
                    yield Event(EventKind.PARTIAL, segment.meta())
        text = join_text(segments, detected.language)
        meta = result_meta(
            text=text,
            detected=detected,
            audio=audio,
            segments=segments,
            model=model,
            task="transcribe",
        )
        yield Event(EventKind.RESULT, meta, text.encode("utf-8"))
