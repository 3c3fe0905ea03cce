"""The steps after a commit: committed text into the target language, and into speech.

Both reuse the node's own workloads rather than copying them: translation runs the ``translate``
workload in text mode (its prompts, sentence grouping, fact check and model choice; one request
per piece of committed text), speech comes from :func:`privcloud.workloads.speak.synthesize`
(espeak-ng as a child process, WAV through a pipe, nothing written to disk).
"""

from __future__ import annotations

from privcloud.live.channel import Translated
from privcloud.wire.message import EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import speak, translate
from privcloud.workloads.models import GEMMA_270M, QWEN_1_5B, Models

#: The language models a call's translation prefers, fastest first: a translation that comes
#: late is of no use in a call. Measured on this 2-core machine (load ~10), one clause: Gemma 3
#: 270M 1.3-2 s (the gist, with errors; a piece that lost a fact comes back untranslated),
#: Qwen2.5 1.5B 12-14 s (faithful). Gemma reads 7 languages; Qwen takes the other pairs.
LIVE_MODELS = (GEMMA_270M, QWEN_1_5B)


class Translator:
    """Text translation of committed speech by the node's ``translate`` workload: with language
    model ``llm``, or (None) the first of :data:`LIVE_MODELS` installed that reads the pair."""

    def __init__(self, models: Models, llm: str | None = None) -> None:
        self._workload = translate.TranslateWorkload(models)
        if llm is not None:
            self._candidates: tuple[str, ...] = (llm,)
        else:
            available = models.available()
            preferred = tuple(m for m in LIVE_MODELS if m in available)
            self._candidates = preferred or (self._workload.default_llm(),)

    def model_for(self, source: str, target: str) -> str | None:
        """The language model that translates ``source`` into ``target``; None: none does."""
        for llm in self._candidates:
            languages = translate.text_languages(llm)
            if source in languages and target in languages:
                return llm
        return None

    def supports(self, source: str, target: str) -> bool:
        """Whether a model reads ``source`` and writes ``target`` (or they are the same)."""
        return source == target or self.model_for(source, target) is not None

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
