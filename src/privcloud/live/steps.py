"""The steps after a commit: committed text into the target language, and into speech.

Both reuse the node's own workloads rather than copying them: translation runs the ``translate``
workload in text mode (its prompts, sentence grouping, fact check and model choice; one request
per piece of committed text), speech comes from :func:`privcloud.workloads.speak.synthesize`
(espeak-ng as a child process, WAV through a pipe, nothing written to disk).
"""

from __future__ import annotations

from privcloud.live.channel import Translated
from privcloud.wire.message import EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import speak, translate, translate_prompts
from privcloud.workloads.engine.local import SessionPrefix
from privcloud.workloads.models import LIVE_TRANSLATION, Models


class Translator:
    """Text translation of committed speech by the node's ``translate`` workload: with language
    model ``llm``, or (None) the first installed that reads the pair of those the node's
    ``live_translation`` setting lists (:data:`~privcloud.workloads.models.LIVE_TRANSLATION`:
    Gemma 3 270M first for speed, or Qwen2.5 1.5B first for accuracy)."""

    def __init__(self, models: Models, llm: str | None = None) -> None:
        # One per call: the call's pieces share the state after the translation instruction
        # (SessionPrefix), which no other call reaches and which goes with the call.
        self._workload = translate.TranslateWorkload(models, session=SessionPrefix())
        if llm is not None:
            self._candidates: tuple[str, ...] = (llm,)
        else:
            available = models.available()
            order = LIVE_TRANSLATION[models.config.live_translation]
            preferred = tuple(m for m in order if m in available)
            self._candidates = preferred or (self._workload.default_llm(),)

    def model_for(self, source: str, target: str) -> str | None:
        """The language model that translates ``source`` into ``target``; None: none does."""
        for llm in self._candidates:
            languages = translate_prompts.text_languages(llm)
            if source in languages and target in languages:
                return llm
        return None

    def supports(self, source: str, target: str) -> bool:
        """Whether a model reads ``source`` and writes ``target`` (or they are the same)."""
        return source == target or self.model_for(source, target) is not None

    def prepare(self, source: str, target: str) -> None:
        """Read the translation instruction of ``source`` into ``target`` now (the call's
        worker does this as the call opens, so the first piece does not wait for it)."""
        llm = self.model_for(source, target)
        if llm is not None:
            self._workload.prepare(source, target, llm)

    def __call__(self, text: str, source: str, target: str) -> Translated:
        """``text`` (committed speech in ``source``) in ``target``: the answer's text, and
        its pieces that the fact check did not withhold (the ones to speak); empty for an
        unsupported pair."""
        llm = self.model_for(source, target)
        if source == target or llm is None:
            return Translated(text, text) if source == target else Translated("", "")
        params: JSONObject = {
            "mode": "text",
            "source_language": source,
            "target_language": target,
            "model": llm,
        }
        request = WorkloadRequest("translate", params, text.encode("utf-8"))
        for event in self._workload.run(request):
            if event.kind is EventKind.RESULT:
                return _translated(event.meta)
        return Translated("", "")


def _translated(meta: JSONObject) -> Translated:
    """The ``translate`` workload's result as text to read and text to speak."""
    pieces = meta.get("sentences")
    spoken = [
        str(p.get("text", ""))
        for p in (pieces if isinstance(pieces, list) else [])
        if isinstance(p, dict) and p.get("status") != "withheld"
    ]
    return Translated(str(meta["text"]), " ".join(t for t in spoken if t))


def synthesize(text: str, language: str) -> bytes:
    """``text`` spoken in ``language``: 16 kHz mono s16le PCM (the ``speak`` workload's engine).

    Raises DecodeError for a text with nothing to speak, UnsupportedError for a language
    without a voice, UnavailableError without the engine."""
    return speak.synthesize(text, language)
