"""The steps after a commit: committed text into the target language, and into speech.

Both reuse the node's own workloads rather than copying them: translation runs the ``translate``
workload in text mode (its prompts, sentence grouping, fact check and model choice; one request
per piece of committed text), speech comes from :func:`privcloud.workloads.speak.synthesize`
(espeak-ng as a child process, WAV through a pipe, nothing written to disk).
"""

from __future__ import annotations

from privcloud.wire.message import EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import speak, translate
from privcloud.workloads.models import Models


class Translator:
    """Text translation of committed speech by the node's ``translate`` workload, with language
    model ``llm`` (None: the workload's default, the node model where it is installed)."""

    def __init__(self, models: Models, llm: str | None = None) -> None:
        self._workload = translate.TranslateWorkload(models)
        self.llm = llm if llm is not None else self._workload.default_llm()

    def supports(self, source: str, target: str) -> bool:
        """Whether the model reads ``source`` and writes ``target`` (or they are the same)."""
        languages = translate.text_languages(self.llm)
        return source == target or (source in languages and target in languages)

    def __call__(self, text: str, source: str, target: str) -> str:
        """``text`` (committed speech in ``source``) in ``target``."""
        if source == target:
            return text
        params: JSONObject = {
            "mode": "text",
            "source_language": source,
            "target_language": target,
            "model": self.llm,
        }
        request = WorkloadRequest("translate", params, text.encode("utf-8"))
        for event in self._workload.run(request):
            if event.kind is EventKind.RESULT:
                return str(event.meta["text"])
        return ""


def synthesize(text: str, language: str) -> bytes:
    """``text`` spoken in ``language``: 16 kHz mono s16le PCM (the ``speak`` workload's engine).

    Raises DecodeError for a text with nothing to speak, UnsupportedError for a language
    without a voice, UnavailableError without the engine."""
    return speak.synthesize(text, language)
