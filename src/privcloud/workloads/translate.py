"""The ``translate`` workload: speech or text into another language, with local models only.

Parameters:

* ``mode``: "speech" (default; the body is an audio file) or "text" (the body is UTF-8 text).
* ``source_language``: ISO-639-1 code. Text: required. Speech: "auto" (default: Whisper
  detects it) or a code Whisper knows.
* ``target_language``: ISO-639-1 code, default "en".
* ``model``: the language model for text steps, "gemma-3-270m" (default) or
  "smollm2-135m-instruct".

How (each step is listed in the result's ``steps``: task, model, seconds):

1. Speech: Whisper base with ``task="translate"`` turns speech in any of its languages into
   English text (Whisper's own speech translation; Radford et al. 2022, §2.3), detecting the
   source language unless given.
2. Text, and speech whose target is not English: the language model translates piece by
   piece with a short few-shot completion prompt (three parallel example pairs, then
   ``"<Source>: piece\\n<Target>:"``, stopping at the newline). Gemma 3 270M is a *base*
   model: it continues patterns rather than following instructions, and a short piece per
   prompt keeps the prompt short and the output bounded (at most :data:`SENTENCE_CHARS`
   characters in, a proportional token budget out). A piece is one sentence, or consecutive
   short sentences merged (:func:`group_sentences`), so that one request makes at most
   ``limits.MAX_TRANSLATION_CALLS`` model calls however many sentences its text has. Text
   translation supports the languages of :data:`EXAMPLES`; the 270M model is weak, so expect
   the gist, not a faithful translation.

Answer: ``PARTIAL`` events (when streamed) per Whisper segment or per piece, meta
``{"index", "text"}`` (plus ``"start", "end"`` for speech), then one ``RESULT``: data the text
(UTF-8), meta ``{"text", "source_language", "target_language", "steps", "task": "translate",
"model"}``; speech adds ``"language", "language_probability", "duration", "segments"`` as in
:mod:`~privcloud.workloads.transcribe` (``language`` is the spoken language), and
``"truncated": true`` when the file broke off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.audio import decode_audio
from privcloud.workloads.base import ModelWorkload
from privcloud.workloads.models import GEMMA_270M, LLM_MODELS, WHISPER_BASE
from privcloud.workloads.text import sentences as text_sentences
from privcloud.workloads.text.sentences import SplitRules
from privcloud.workloads.transcribe import (
    AUTO,
    Segment,
    join_text,
    read_language,
    recognise,
    result_meta,
)

#: Three short parallel sentences per language: the few-shot examples of every text prompt
#: (written for this module). Their keys are the languages text translation supports.
EXAMPLES: dict[str, tuple[str, str, str]] = {
    "en": (
        "Where is the train station?",
        "I would like a cup of coffee, please.",
        "The children are playing in the garden.",
    ),
    "es": (
        "¿Dónde está la estación de tren?",
        "Quisiera una taza de café, por favor.",
        "Los niños están jugando en el jardín.",
    ),
    "fr": (
        "Où est la gare ?",
        "Je voudrais une tasse de café, s'il vous plaît.",
        "Les enfants jouent dans le jardin.",
    ),
    "de": (
        "Wo ist der Bahnhof?",
        "Ich hätte gern eine Tasse Kaffee, bitte.",
        "Die Kinder spielen im Garten.",
    ),
    "it": (
        "Dov'è la stazione dei treni?",
        "Vorrei una tazza di caffè, per favore.",
        "I bambini giocano in giardino.",
    ),
    "pt": (
        "Onde fica a estação de comboios?",
        "Eu queria uma chávena de café, por favor.",
        "As crianças estão a brincar no jardim.",
    ),
    "nl": (
        "Waar is het treinstation?",
        "Ik wil graag een kopje koffie, alstublieft.",
        "De kinderen spelen in de tuin.",
    ),
}
#: The language names the prompts use (English names: the model saw them most).
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}
#: Longest piece of text one prompt carries; longer sentences are cut at spaces.
SENTENCE_CHARS = 300
#: Tokens the model may write per source character (plus :data:`_EXTRA_TOKENS`): enough for a
#: translation, too few for a runaway continuation.
_TOKENS_PER_CHAR = 0.6
_EXTRA_TOKENS = 16
#: How a text is cut into pieces (:mod:`privcloud.workloads.text.sentences`): at every
#: sentence end, lowercase word after it or not (only the prompt's length matters), and at
#: :data:`SENTENCE_CHARS`.
SENTENCE_RULES = SplitRules(split_before_lowercase=True, max_chars=SENTENCE_CHARS)


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences (at ., !, ?, …, CJK full stops and line breaks; not after
    "Mr." and the like), white space collapsed to single spaces, each at most
    :data:`SENTENCE_CHARS` characters (longer ones cut at spaces, or hard where there are none).
    """
    return [" ".join(s.text.split()) for s in text_sentences.split_sentences(text, SENTENCE_RULES)]


def build_prompt(source: str, target: str, sentence: str) -> str:
    """The few-shot completion prompt translating ``sentence`` from ``source`` to ``target``."""
    src, tgt = LANGUAGE_NAMES[source], LANGUAGE_NAMES[target]
    shots = [
        f"{src}: {a}\n{tgt}: {b}\n" for a, b in zip(EXAMPLES[source], EXAMPLES[target], strict=True)
    ]
    return "\n".join([*shots, f"{src}: {sentence}\n{tgt}:"])


#: How short a piece must be to take in the next sentence, tried in this order until the text
#: makes at most ``limits.MAX_TRANSLATION_CALLS`` pieces. The first merges only fragments
#: ("Hola.", "Sí.") into their neighbour, so ordinary sentences keep a prompt each (the
#: examples are single sentences); the last packs as much as one prompt carries. A piece never
#: passes SENTENCE_CHARS, so with it two neighbouring pieces always hold more than
#: SENTENCE_CHARS characters: a text of MAX_TRANSLATION_CHARS makes at most ~34 pieces.
_MERGE_BELOW_CHARS = (16, 64, 128, SENTENCE_CHARS)


def group_sentences(sentences: Sequence[str]) -> list[str]:
    """``sentences`` (from :func:`split_sentences`) joined, in order, into the pieces that one
    prompt each translates: at most ``limits.MAX_TRANSLATION_CALLS`` pieces of at most
    :data:`SENTENCE_CHARS` characters, merging no more than needed (see
    :data:`_MERGE_BELOW_CHARS`). Raises TooLargeError when even full pieces are too many."""
    for below in _MERGE_BELOW_CHARS:
        pieces: list[str] = []
        for sentence in sentences:
            if (
                pieces
                and len(pieces[-1]) < below
                and len(pieces[-1]) + 1 + len(sentence) <= SENTENCE_CHARS
            ):
                pieces[-1] = f"{pieces[-1]} {sentence}"
            else:
                pieces.append(sentence)
        if len(pieces) <= limits.MAX_TRANSLATION_CALLS:
            return pieces
    raise TooLargeError("the text needs too many model calls to translate")


def _check_text_pair(source: str, target: str) -> None:
    if source not in EXAMPLES or target not in EXAMPLES:
        raise UnsupportedError("text translation supports: " + ", ".join(sorted(EXAMPLES)))


class _Steps:
    """Which model did what, and for how long (the result's ``steps``)."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[str, str], float] = {}

    def add(self, task: str, model: str, seconds: float) -> None:
        key = (task, model)
        self._seconds[key] = self._seconds.get(key, 0.0) + seconds

    def meta(self) -> list[JSONObject]:
        return [
            {"task": task, "model": model, "seconds": round(seconds, 3)}
            for (task, model), seconds in self._seconds.items()
        ]


class TranslateWorkload(ModelWorkload):
    """Speech or text translation (see the module docstring for parameters and the answer)."""

    name = "translate"

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        mode = params.choice(request.params, "mode", ("speech", "text"), "speech")
        target = read_language(request.params, "target_language", "en")
        if target == AUTO:
            raise DecodeError("parameter 'target_language' must be a language code")
        llm = params.choice(request.params, "model", LLM_MODELS, GEMMA_270M)
        if mode == "text":
            source = read_language(request.params, "source_language", "")
            if source == AUTO:
                raise DecodeError("parameter 'source_language' must be a language code")
            return self._text(request, source, target, llm)
        source = read_language(request.params, "source_language", AUTO)
        if target != "en":
            _check_text_pair("en", target)
        return self._speech(request, source, target, llm)

    # --- text -------------------------------------------------------------------------------

    def _translate(self, llm: str, source: str, target: str, text: str, steps: _Steps) -> str:
        """``text`` translated piece by piece; the time goes into ``steps``."""
        out = []
        for piece in group_sentences(split_sentences(text)):
            out.append(self._sentence(llm, source, target, piece, steps))
        return " ".join(t for t in out if t)

    def _sentence(self, llm: str, source: str, target: str, sentence: str, steps: _Steps) -> str:
        budget = min(
            limits.MAX_GENERATED_TOKENS, int(len(sentence) * _TOKENS_PER_CHAR) + _EXTRA_TOKENS
        )
        done = self._models.complete(
            llm, build_prompt(source, target, sentence), max_tokens=budget, stop=["\n"]
        )
        steps.add("text_translation", llm, done.seconds)
        return " ".join(done.text.split())

    def _text(
        self, request: WorkloadRequest, source: str, target: str, llm: str
    ) -> Iterator[Event]:
        text = params.body_text(request.body, max_chars=limits.MAX_TRANSLATION_CHARS)
        steps = _Steps()
        if source != target:
            _check_text_pair(source, target)
        translated: list[str] = []
        # All pieces are cut before the first model call: a text needing too many is refused
        # before it holds the model at all.
        for index, piece in enumerate(group_sentences(split_sentences(text))):
            out = piece if source == target else self._sentence(llm, source, target, piece, steps)
            translated.append(out)
            if request.stream:
                yield Event(EventKind.PARTIAL, {"index": index, "text": out})
        result = " ".join(t for t in translated if t)
        meta: JSONObject = {
            "text": result,
            "source_language": source,
            "target_language": target,
            "steps": steps.meta(),
            "task": "translate",
            "model": llm if source != target else None,
        }
        yield Event(EventKind.RESULT, meta, result.encode("utf-8"))

    # --- speech -----------------------------------------------------------------------------

    def _speech(
        self, request: WorkloadRequest, source: str, target: str, llm: str
    ) -> Iterator[Event]:
        audio = decode_audio(request.body)
        steps = _Steps()
        segments: list[Segment] = []
        wanted = None if source == AUTO else source
        # Whisper's time: entering ``recognise`` (detection, first window) and producing each
        # segment; not the language model's time, nor the consumer's while a partial is out.
        started = time.perf_counter()
        with recognise(self._models, WHISPER_BASE, audio, language=wanted, task="translate") as (
            detected,
            english,
        ):
            whisper_seconds = time.perf_counter() - started
            while True:
                started = time.perf_counter()
                heard = next(english, None)
                whisper_seconds += time.perf_counter() - started
                if heard is None:
                    break
                segment = heard
                if target != "en":
                    text = self._translate(llm, "en", target, heard.text, steps)
                    segment = Segment(heard.index, heard.start, heard.end, text)
                segments.append(segment)
                if request.stream:
                    yield Event(EventKind.PARTIAL, segment.meta())
        steps_meta = steps.meta()
        if not audio.silent:  # a silent clip never reaches Whisper
            whisper_step = {"task": "speech_to_english", "model": WHISPER_BASE}
            steps_meta.insert(0, {**whisper_step, "seconds": round(whisper_seconds, 3)})
        text = join_text(segments, target)
        meta = result_meta(
            text=text,
            detected=detected,
            audio=audio,
            segments=segments,
            model=WHISPER_BASE,
            task="translate",
        )
        meta.update(source_language=detected.language, target_language=target, steps=steps_meta)
        yield Event(EventKind.RESULT, meta, text.encode("utf-8"))
