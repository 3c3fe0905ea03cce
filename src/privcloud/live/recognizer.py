"""One Whisper decode of a live channel's audio buffer, as words with times.

Each call decodes the whole buffer (at most ``limits.LIVE_MAX_BUFFER_SECONDS``) from scratch,
as Whisper-Streaming does: greedy, temperature 0 (deterministic, no fallback re-decodes),
``condition_on_previous_text=False``, with word timestamps (the cross-attention alignment of
openai/whisper ``timing.py``), and the committed text just before the buffer as the prompt, so
a sentence cut by a buffer trim keeps its context. The encoder hears the buffer plus 3 s of
silence rather than a 30 s window (:mod:`privcloud.live.whisper_window`: about 3 times less
compute per decode, the same words on real speech), with Whisper base for every language
(tiny.en, faster on a full window, loops on real speech with a short one). faster-whisper's
own VAD filter is off: the pipeline has run VAD already and hands over speech only. Segments
that decoded into a repetition loop (compression ratio over ``transcribe.REPETITION_RATIO``)
are dropped, as in ``transcribe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from privcloud import limits
from privcloud.clock import SystemClock
from privcloud.live.agreement import Word
from privcloud.live.vad import SAMPLE_RATE
from privcloud.live.whisper_window import short_window
from privcloud.workloads.base import Deadline
from privcloud.workloads.models import WHISPER_BASE, Models
from privcloud.workloads.transcribe import REPETITION_RATIO

#: Longest prompt (characters of committed text) given to a decode.
PROMPT_CHARS = 200
#: Tokens a decode may write: a base plus a rate per second of audio (fast speech is about 4
#: words, 5 to 8 tokens with timestamps, a second), so a decode caught in a repetition loop
#: stops within a few tenths of a second instead of running to Whisper's 448 (one 2 s buffer
#: took 3.4 s that way here, against 0.3 s for the others).
DECODE_TOKENS_BASE = 24
DECODE_TOKENS_PER_S = 12
#: A segment Whisper itself rates as probably not speech is dropped when its average
#: log-probability is also low (openai/whisper's no-speech rule, thresholds as there).
_NO_SPEECH_PROB = 0.6
_LOW_LOGPROB = -1.0


@dataclass(frozen=True)
class Heard:
    """One decode: words (times in seconds from the buffer's start) and the language used."""

    words: list[Word]
    language: str | None
    language_probability: float


class Recognizer(Protocol):
    def __call__(
        self, samples: npt.NDArray[np.float32], language: str | None, prompt: str
    ) -> Heard: ...


#: The Whisper model of live decodes, whatever the language (see the module docstring).
LIVE_WHISPER = WHISPER_BASE


def max_new_tokens(seconds: float) -> int:
    """The most tokens one decode of ``seconds`` of audio may write."""
    return DECODE_TOKENS_BASE + int(DECODE_TOKENS_PER_S * seconds)


class WhisperRecognizer:
    """Decodes with the node's shared Whisper model (held under its lock per decode, waited for
    at most ``limits.LIVE_MODEL_WAIT_S``: then :class:`RequestTimeoutError` fails this call
    alone, before its step outlasts the pipelines' step timeout)."""

    def __init__(self, models: Models) -> None:
        self._models = models
        self._clock = SystemClock()

    def __call__(
        self, samples: npt.NDArray[np.float32], language: str | None, prompt: str
    ) -> Heard:
        wait = Deadline(self._clock.now() + limits.LIVE_MODEL_WAIT_S, self._clock)
        with self._models.use(LIVE_WHISPER, deadline=wait) as whisper, short_window():
            segments, info = whisper.transcribe(
                samples,
                language=language,
                task="transcribe",
                beam_size=1,
                temperature=0.0,
                condition_on_previous_text=False,
                word_timestamps=True,
                initial_prompt=prompt[-PROMPT_CHARS:] or None,
                vad_filter=False,
                max_new_tokens=max_new_tokens(len(samples) / SAMPLE_RATE),
            )
            words: list[Word] = []
            for seg in segments:
                if float(seg.compression_ratio) > REPETITION_RATIO:
                    continue
                if (
                    float(seg.no_speech_prob) > _NO_SPEECH_PROB
                    and float(seg.avg_logprob) < _LOW_LOGPROB
                ):
                    continue
                for w in seg.words or ():
                    text = str(w.word).strip()
                    if text:
                        words.append(Word(float(w.start), float(w.end), text))
        return Heard(words, str(info.language), float(info.language_probability))
