"""The ``translate`` workload: speech or text into another language, with local models only, and
every sentence's facts checked.

Parameters:

* ``mode``: "speech" (default; the body is an audio file) or "text" (the body is UTF-8 text).
* ``source_language``: ISO-639-1 code. Text: required. Speech: "auto" (default: Whisper
  detects it) or any code Whisper knows.
* ``target_language``: ISO-639-1 code, default "en".
* ``model``: the language model for text steps: "qwen2.5-coder-1.5b-instruct" (the default
  where it is installed), "gemma-3-270m" (the default otherwise) or "smollm2-135m-instruct".
* ``facts``: what happens to a sentence whose translation lost a fact (below): "withhold"
  (default) or "flag".

How (each step is listed in the result's ``steps``: task, model, seconds):

1. The text is cut into sentences, and short ones are merged into pieces so that one request
   makes at most ``limits.MAX_TRANSLATION_CALLS`` model calls. Each piece is translated on its
   own, so the answer is aligned piece by piece with its source (the result's ``sentences``).
   See :mod:`privcloud.workloads.translate_prompts`.
2. With the instruction-tuned node model (Qwen2.5-Coder 1.5B Instruct) a piece is one chat
   turn; the small base models (Gemma 3 270M, SmolLM2) continue a few-shot completion prompt
   instead (expect the gist from them, not a faithful translation). See
   :mod:`privcloud.workloads.translate_prompts`.
3. Every translated piece is fact-checked (:mod:`privcloud.workloads.translate_facts`); a piece
   that lost a fact is translated once more naming the facts to keep, and if it still lacks
   one it is withheld (its source answered in its place) or flagged, by ``facts``
   (:mod:`privcloud.workloads.translate_pieces`). An answer that cannot be a translation at
   all is always withheld (:mod:`privcloud.workloads.translate_answers`). A piece that is
   nothing but conversational formulas ("Okay, thanks.", "¿Diga?", "One moment, please.") is
   rendered from a phrasebook instead of by the model, status "phrasebook"
   (:mod:`privcloud.workloads.translate_phrasebook`): a small model answers such a piece
   ("¡De nada!") more often than it translates it, and no fact check can see that. A piece
   that is only a clock time ("At nine.", "Um halb zehn?") is written by grammar, status
   "clock" (:mod:`privcloud.workloads.translate_times`): the model got most of them wrong.
4. Speech (any of Whisper's 99 languages into any target language): Whisper base transcribes
   it in its own language (detected unless given), and each segment is translated as a text
   from that language (steps 1-3), when the language model reads that language. Otherwise
   Whisper's own speech translation (``task="translate"``; Radford et al. 2022, §2.3) makes
   English, which is the answer for an English target or the text that is translated into
   the target. A target equal to the spoken language is the transcript.

Answer: ``PARTIAL`` events (when streamed) per piece or per Whisper segment, meta ``{"index",
"text", "status"}`` (plus ``"start", "end"`` for speech), then one ``RESULT``: data the text
(UTF-8), meta ``{"text", "source_language", "target_language", "steps", "task": "translate",
"model", "sentences", "facts": {"checked", "lost", "withheld", "flagged", "retried"}}``;
speech adds ``"language", "language_probability", "duration", "segments"`` as in
:mod:`~privcloud.workloads.transcribe` (``language`` is the spoken language), and
``"truncated": true`` when the file broke off.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params, translate_facts
from privcloud.workloads.audio import decode_audio
from privcloud.workloads.base import ModelWorkload
from privcloud.workloads.engine.local import SessionPrefix
from privcloud.workloads.models import GEMMA_270M, LLM_MODELS, QWEN_1_5B, WHISPER_BASE, Models
from privcloud.workloads.transcribe import (
    AUTO,
    Segment,
    join_text,
    read_language,
    recognise,
    result_meta,
)
from privcloud.workloads.translate_pieces import FACT_POLICIES, PieceTranslator, Steps, join_pieces
from privcloud.workloads.translate_prompts import (
    CHAT_MODELS,
    chat_messages,
    check_text_pair,
    group_sentences,
    split_sentences,
    text_languages,
)


class TranslateWorkload(ModelWorkload):
    """Speech or text translation (see the module docstring for parameters and the answer)."""

    name = "translate"

    def __init__(self, models: Models, *, session: SessionPrefix | None = None) -> None:
        """``session``: the prompt prefix of one live call, which its owner keeps for the
        call (:mod:`privcloud.live.steps`); without it each request has its own, shared by
        its pieces only."""
        super().__init__(models)
        self._default_llm: str | None = None
        self._session = session

    def default_llm(self) -> str:
        """The node model where it is installed, else Gemma 3 270M (looked up once)."""
        if self._default_llm is None:
            self._default_llm = QWEN_1_5B if QWEN_1_5B in self._models.available() else GEMMA_270M
        return self._default_llm

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        mode = params.choice(request.params, "mode", ("speech", "text"), "speech")
        target = read_language(request.params, "target_language", "en")
        if target == AUTO:
            raise DecodeError("parameter 'target_language' must be a language code")
        llm = params.choice(request.params, "model", LLM_MODELS, self.default_llm())
        policy = params.choice(request.params, "facts", FACT_POLICIES, "withhold")
        if mode == "text":
            source = read_language(request.params, "source_language", "")
            if source == AUTO:
                raise DecodeError("parameter 'source_language' must be a language code")
            if source != target:
                check_text_pair(llm, source, target)
            return self._text(request, source, target, llm, policy)
        source = read_language(request.params, "source_language", AUTO)
        if target not in ("en", source):
            # The target is always a text language: from the transcript or from English.
            check_text_pair(llm, "en", target)
        return self._speech(request, source, target, llm, policy)

    def prepare(self, source: str, target: str, llm: str) -> None:
        """Read the instruction translating ``source`` into ``target`` with ``llm`` into this
        workload's session prefix now (nothing to do without one, or for a completion model),
        and load what the fact check of the pair reads (:func:`translate_facts.warm`)."""
        translate_facts.warm(source, target)
        if self._session is not None and llm in CHAT_MODELS and source != target:
            system = chat_messages(source, target, "")[0]["content"]
            self._session.prepare(self._models, llm, system)

    def _prefix(self, pieces: int | None) -> SessionPrefix | None:
        """The call's session prefix; else one for this request unless it has a single piece
        (``pieces``; None: not known before the first, as a recording's segments), for which
        snapshotting the instruction would only cost time (4.3 -> 4.7 s a piece, one run)."""
        if self._session is not None:
            return self._session
        return None if pieces == 1 else SessionPrefix()

    # --- text -------------------------------------------------------------------------------

    def _text(
        self, request: WorkloadRequest, source: str, target: str, llm: str, policy: str
    ) -> Iterator[Event]:
        text = params.body_text(request.body, max_chars=limits.MAX_TRANSLATION_CHARS)
        steps = Steps()
        # All pieces are cut before the first model call: a text needing too many is refused
        # before it holds the model at all.
        pieces = group_sentences(split_sentences(text))
        translator = PieceTranslator(self._models, llm, policy, steps, self._prefix(len(pieces)))
        for piece in pieces:
            done = translator.piece(source, target, piece)
            if request.stream:
                yield Event(
                    EventKind.PARTIAL,
                    {"index": done.index, "text": done.text, "status": done.status},
                )
        result = join_pieces(translator.pieces, target)
        meta: JSONObject = {
            "text": result,
            "source_language": source,
            "target_language": target,
            "steps": steps.meta(),
            "task": "translate",
            "model": llm if source != target else None,
            "sentences": [p.meta() for p in translator.pieces],
            "facts": translator.facts_meta(),
        }
        yield Event(EventKind.RESULT, meta, result.encode("utf-8"))

    # --- speech -----------------------------------------------------------------------------

    def _speech(
        self, request: WorkloadRequest, source: str, target: str, llm: str, policy: str
    ) -> Iterator[Event]:
        audio = decode_audio(request.body)
        steps = Steps()
        translator = PieceTranslator(self._models, llm, policy, steps, self._prefix(None))
        languages = text_languages(llm)
        segments: list[Segment] = []
        clock = _Stopwatch()
        wanted = None if source == AUTO else source
        # Whisper transcribes in the spoken language (detected when it opens the clip, before
        # the first segment); a language the text model cannot read goes through Whisper's own
        # translation into English instead, in a second pass.
        started = time.perf_counter()
        with recognise(self._models, WHISPER_BASE, audio, language=wanted, task="transcribe") as (
            detected,
            heard,
        ):
            clock.seconds += time.perf_counter() - started
            spoken = detected.language
            direct = spoken is None or spoken == target or spoken in languages
            if direct:
                yield from self._segments(
                    heard, spoken, target, translator, segments, request, clock
                )
        if not direct:
            started = time.perf_counter()
            with recognise(
                self._models, WHISPER_BASE, audio, language=spoken, task="translate"
            ) as (_, english):
                clock.seconds += time.perf_counter() - started
                yield from self._segments(
                    english, "en", target, translator, segments, request, clock
                )
        steps_meta = steps.meta()
        if not audio.silent:  # a silent clip never reaches Whisper
            task = "speech_to_text" if direct else "speech_to_english"
            whisper = {"task": task, "model": WHISPER_BASE, "seconds": round(clock.seconds, 3)}
            steps_meta.insert(0, whisper)
        text = join_text(segments, target)
        meta = result_meta(
            text=text,
            detected=detected,
            audio=audio,
            segments=segments,
            model=WHISPER_BASE,
            task="translate",
        )
        meta.update(
            source_language=detected.language,
            target_language=target,
            steps=steps_meta,
            sentences=[p.meta() for p in translator.pieces],
            facts=translator.facts_meta(),
        )
        yield Event(EventKind.RESULT, meta, text.encode("utf-8"))

    @staticmethod
    def _segments(
        heard: Iterator[Segment],
        language: str | None,
        target: str,
        translator: PieceTranslator,
        segments: list[Segment],
        request: WorkloadRequest,
        clock: _Stopwatch,
    ) -> Iterator[Event]:
        """Whisper's segments (in ``language``) translated into ``target`` one by one, added to
        ``segments`` (and streamed); Whisper's time goes on ``clock``, the text model's not."""
        while True:
            with clock:
                segment = next(heard, None)
            if segment is None:
                return
            if language is not None and language != target:
                pieces = translator.text(language, target, segment.text)
                segment = Segment(
                    segment.index, segment.start, segment.end, join_pieces(pieces, target)
                )
            segments.append(segment)
            if request.stream:
                yield Event(EventKind.PARTIAL, segment.meta())


class _Stopwatch:
    """Adds up the time spent inside its ``with`` blocks (Whisper's share of a request: its
    passes, detection and each segment; not the consumer's while a partial is out)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._started
