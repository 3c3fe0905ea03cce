"""The steps after a commit: committed text into the target language, and into speech.

Both reuse the node's own workloads rather than copying them: translation runs the ``translate``
workload in text mode (its prompts, sentence grouping and model choice; one request per piece
of committed text), speech comes from :func:`privcloud.workloads.speak.synthesize`. Where that
module is not installed yet, espeak-ng is called here the same way (text on stdin, WAV on
stdout, nothing written to disk) and resampled to 16 kHz.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import shutil
import subprocess
import wave

import numpy as np

from privcloud.errors import UnavailableError
from privcloud.wire.message import EventKind, WorkloadRequest
from privcloud.workloads import translate
from privcloud.workloads.models import Models

#: Output rate of :func:`synthesize`.
SAMPLE_RATE = 16_000
_ESPEAK_VOICES = {"en": "en-us", "fr": "fr-fr", "zh": "cmn"}
_ESPEAK_TIMEOUT_S = 30.0
#: The node's speech synthesis (issue 15), used once it is installed.
_SPEAK_MODULE = "privcloud.workloads.speak"


def can_translate(source: str, target: str) -> bool:
    """Whether the text translation knows both languages (or there is nothing to translate)."""
    return source == target or (source in translate.EXAMPLES and target in translate.EXAMPLES)


def translate_text(models: Models, text: str, source: str, target: str) -> str:
    """``text`` (committed speech in ``source``) in ``target``, by the ``translate`` workload."""
    if source == target:
        return text
    request = WorkloadRequest(
        "translate",
        {"mode": "text", "source_language": source, "target_language": target},
        text.encode("utf-8"),
    )
    for event in translate.TranslateWorkload(models).run(request):
        if event.kind is EventKind.RESULT:
            return str(event.meta["text"])
    return ""


def synthesize(text: str, language: str) -> bytes:
    """``text`` spoken in ``language``: 16 kHz mono s16le PCM."""
    if importlib.util.find_spec(_SPEAK_MODULE) is None:
        return _espeak(text, language)
    pcm: bytes = importlib.import_module(_SPEAK_MODULE).synthesize(text, language)
    return pcm


def _espeak(text: str, language: str) -> bytes:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise UnavailableError("no speech engine is installed")
    done = subprocess.run(  # noqa: S603 - fixed program, text on stdin
        [exe, "-b", "1", "-v", _ESPEAK_VOICES.get(language, language), "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=_ESPEAK_TIMEOUT_S,
    )
    if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
        raise UnavailableError("the speech engine failed")
    with wave.open(io.BytesIO(done.stdout), "rb") as wav:
        rate = wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    count = round(len(samples) * SAMPLE_RATE / rate)
    resampled = np.interp(np.arange(count) * (rate / SAMPLE_RATE), np.arange(len(samples)), samples)
    pcm: bytes = np.clip(resampled, -32768, 32767).round().astype("<i2").tobytes()
    return pcm
