"""Voice activity for a live stream: is the speaker talking now, and for how long has it been quiet?

The pipeline needs three answers per channel, frame by frame: whether there is speech in the
audio it holds (silence never reaches Whisper, which invents text on it: "Thank you."), when an
utterance starts (keep a little audio before it), and when it has ended (a pause long enough to
finish the utterance at once instead of waiting for two agreeing hypotheses).

The detector is Silero VAD v5 as faster-whisper ships it (ONNX on onnxruntime, MIT; the model
the ``transcribe`` workload already runs through ``vad_filter``). faster-whisper's model object
scores a whole clip from a fresh state, so :class:`VoiceActivity` scores each new 32 ms window
together with :data:`CONTEXT_WINDOWS` windows before it (the recurrent state warms up on them)
and keeps the new windows' scores. Where faster-whisper is not installed an energy detector
(RMS level per window) stands in; it is fine for clean speech and fooled by noise.

Decisions use hysteresis as Silero's own ``get_speech_timestamps`` does: a window at or above
:data:`SPEECH_ON` starts speech, one below :data:`SPEECH_OFF` counts as silence.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

#: Samples per second of every stream here (Whisper's rate).
SAMPLE_RATE = 16_000
#: Silero's window at 16 kHz: 512 samples, 32 ms.
WINDOW = 512
#: Windows of earlier audio scored again with each batch of new windows (0.48 s).
CONTEXT_WINDOWS = 15
#: New windows gathered before scoring (3 windows: 96 ms; bounds the VAD's calls per second).
BATCH_WINDOWS = 3
#: Speech probability at which a window starts speech, and below which it counts as silence.
SPEECH_ON = 0.5
SPEECH_OFF = 0.35
#: RMS level above which a window counts as speech for the energy detector (about -36 dBFS).
ENERGY_RMS = 0.016

Samples = npt.NDArray[np.float32]
#: Scores windows: (n * WINDOW,) samples to (n,) speech probabilities.
Scorer = Callable[[Samples], npt.NDArray[np.float32]]


def energy_scorer(samples: Samples) -> npt.NDArray[np.float32]:
    """1.0 for each window whose RMS level is above :data:`ENERGY_RMS`, else 0.0."""
    windows = samples.reshape(-1, WINDOW)
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
    speech: npt.NDArray[np.float32] = (rms > ENERGY_RMS).astype(np.float32)
    return speech


def silero_scorer() -> Scorer | None:
    """Silero VAD through faster-whisper, or None where faster-whisper is not installed."""
    if importlib.util.find_spec("faster_whisper") is None:
        return None
    model = _silero_model()

    def score(samples: Samples) -> npt.NDArray[np.float32]:
        # A copy: the model zeroes part of the array it is given (its context trick).
        probs = np.asarray(model(np.array(samples, dtype=np.float32)), dtype=np.float32)
        return probs.reshape(-1)[: len(samples) // WINDOW]

    return score


@functools.lru_cache(maxsize=1)
def _silero_model() -> Any:
    """One Silero session per process (an onnxruntime session is safe to share)."""
    return importlib.import_module("faster_whisper.vad").get_vad_model()


def default_scorer() -> Scorer:
    """Silero VAD where available, else the energy detector."""
    return silero_scorer() or energy_scorer


class VoiceActivity:
    """Speech/silence decisions for one stream, fed samples as they arrive (not thread-safe)."""

    def __init__(self, scorer: Scorer) -> None:
        self._score = scorer
        self._context: Samples = np.zeros(0, dtype=np.float32)
        self._waiting: Samples = np.zeros(0, dtype=np.float32)
        self._speaking = False
        #: Seconds of the stream scored so far (whole windows).
        self.scored_s = 0.0
        #: Seconds of silence since the last speech window (counted from the stream's start
        #: when there has been no speech).
        self.quiet_s = 0.0
        #: Speech windows (seconds) since :meth:`reset_count`.
        self.speech_s = 0.0

    @property
    def speaking(self) -> bool:
        """Whether the last scored window was speech (with hysteresis)."""
        return self._speaking

    def reset_count(self) -> None:
        self.speech_s = 0.0

    def push(self, samples: Samples) -> None:
        """Take new samples; score them once :data:`BATCH_WINDOWS` whole windows are waiting."""
        self._waiting = np.concatenate((self._waiting, samples))
        whole = (len(self._waiting) // WINDOW) * WINDOW
        if whole < BATCH_WINDOWS * WINDOW:
            return
        new, self._waiting = self._waiting[:whole], self._waiting[whole:]
        probs = self._score(np.concatenate((self._context, new)))[-(whole // WINDOW) :]
        keep = CONTEXT_WINDOWS * WINDOW
        self._context = np.concatenate((self._context, new))[-keep:]
        step = WINDOW / SAMPLE_RATE
        for prob in probs:
            if prob >= SPEECH_ON or (self._speaking and prob >= SPEECH_OFF):
                self._speaking = True
                self.quiet_s = 0.0
                self.speech_s += step
            else:
                self._speaking = False
                self.quiet_s += step
        self.scored_s += whole / SAMPLE_RATE
