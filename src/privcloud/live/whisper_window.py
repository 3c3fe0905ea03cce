"""Whisper's encoder over the audio it is given plus a little silence, not a 30 s window.

faster-whisper (pinned at 1.2.1) pads the log-Mel features of every segment to 3,000 frames
(30 s) before the encoder: ``faster_whisper.transcribe.pad_or_trim``, called by
``generate_segments`` and ``detect_language``. A live decode hears a buffer of 1 to 15 s, so
most of its encoder work was on padding. CTranslate2's Whisper encoder takes any even number of
frames up to 3,000 (it uses the first positions of its table; whisper.cpp's ``audio_ctx`` does
the same), so inside :func:`short_window` the features of a segment are padded to their own
length plus ``pad_frames`` (100 frames a second) instead, on the calling thread only: other
threads, and the ``transcribe`` workload, keep the 30 s window.

Measured on this project's 2-core VM (2026-12-02; 10 utterances of real human speech from
``bench/human_speech.py`` and the same sentences spoken by espeak-ng, word timestamps on):

=====================  ==========  =========  ===========  =========
Whisper base           human WER   espeak WER  s/decode     s/decode
                                               (human)      (espeak)
=====================  ==========  =========  ===========  =========
30 s window            0.044       0.155       0.79         0.82
audio + 3 s (300)      0.044       0.127       0.28         0.32
audio + 2 s (200)      0.044       0.155       0.25         0.32
audio + 0.5 s (50)     2.52        0.197       0.49         0.34
=====================  ==========  =========  ===========  =========

With too little silence after the speech Whisper loops (WER above 1 is words it repeated);
Whisper tiny.en loops on human speech even with 3 s of it (WER 2.48), so live decodes use
Whisper base with :data:`PAD_FRAMES` = 300.

If the pinned library ever stops calling its module's ``pad_or_trim`` this way,
:func:`install` raises, and ``tests/ai/test_live_pipeline.py`` fails on the encoder's input
shape, rather than the speed-up silently going away.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: Whisper's own window: 30 s of 10 ms frames.
FULL_FRAMES = 3000
#: Silence after the audio in a short window (frames of 10 ms).
PAD_FRAMES = 300

_local = threading.local()
_lock = threading.Lock()
_library: list[Callable[..., Any]] = []  # faster-whisper's own pad_or_trim, once installed


def _pad_or_trim(array: Any, length: int = FULL_FRAMES, *, axis: int = -1) -> Any:
    pad = getattr(_local, "pad_frames", None)
    if pad is not None and length == FULL_FRAMES:
        frames = min(FULL_FRAMES, int(array.shape[axis]) + pad)
        length = frames + frames % 2
    return _library[0](array, length, axis=axis)


def install() -> None:
    """Route faster-whisper's padding through :func:`_pad_or_trim` (once per process; the
    library is imported here, so this module imports without the ``ai`` extra)."""
    with _lock:
        transcribe: Any = importlib.import_module("faster_whisper.transcribe")
        library: Callable[..., Any] = importlib.import_module("faster_whisper.audio").pad_or_trim
        current = getattr(transcribe, "pad_or_trim", None)
        if current is _pad_or_trim:
            return
        if current is not library:
            raise RuntimeError("faster-whisper no longer pads through pad_or_trim")
        _library[:] = [library]
        transcribe.pad_or_trim = _pad_or_trim


@contextmanager
def short_window(pad_frames: int = PAD_FRAMES) -> Iterator[None]:
    """On this thread, decode with the encoder over the audio plus ``pad_frames`` of silence."""
    install()
    previous = getattr(_local, "pad_frames", None)
    _local.pad_frames = pad_frames
    try:
        yield
    finally:
        _local.pad_frames = previous
