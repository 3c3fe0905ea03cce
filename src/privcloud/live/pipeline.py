"""The node's streaming pipeline for a live call: two channels of PCM in, final outputs out.

The private duplex session (the rest of :mod:`privcloud.live`) hands each channel's audio frames
to :meth:`LivePipeline.feed` on a worker thread and sends back whatever it returns; at the end
of the call :meth:`LivePipeline.flush` returns the rest. Each channel is an independent
:class:`~privcloud.live.channel.ChannelStream`: voice-activity detection (Silero VAD), Whisper
re-decoding a growing buffer at most every ~1 s of new audio, LocalAgreement-2 commits
(:mod:`privcloud.live.agreement`), translation of committed text into the channel's target
language, and speech of the translation. A feed runs at most one decode; translations (with
their speech) run on a worker thread of the call's own, one at a time for both channels, so a
decode never waits behind a translation and each has a core of a 2-core machine. A call's
pipeline ends with :meth:`flush` (which waits for the translations still running) or
:meth:`close` (which abandons them).

Input bounds: a feed carries at most ``limits.LIVE_MAX_FEED_BYTES`` of 16 kHz s16le mono PCM,
of even length, for channel 0 or 1; anything else is a ``DecodeError``/``TooLargeError``
before any work. Nothing is written to disk and nothing of the call is logged.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.live import steps
from privcloud.live.channel import ChannelStream, Settings
from privcloud.live.guess import TranslationLane
from privcloud.live.languages import check_call_languages
from privcloud.live.output import AUDIO, CAPTION, KINDS, TRANSLATION, LiveOutput
from privcloud.live.recognizer import Recognizer, WhisperRecognizer
from privcloud.live.vad import Scorer, VoiceActivity, default_scorer
from privcloud.workloads.models import Models
from privcloud.workloads.transcribe import AUTO

__all__ = [
    "AUDIO",
    "CAPTION",
    "KINDS",
    "TRANSLATION",
    "LiveOutput",
    "LivePipeline",
    "Settings",
    "make_pipeline",
]

log = logging.getLogger("privcloud.live")

#: Channels of a call: 0 the device user, 1 the other party.
CHANNELS = 2


class LivePipeline(Protocol):
    """Feeds of 16 kHz s16le mono PCM per channel in, final outputs out (one call at a time)."""

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]: ...

    def flush(self) -> list[LiveOutput]: ...

    def close(self) -> None: ...


class _Pipeline:
    def __init__(self, channels: tuple[ChannelStream, ...], worker: ThreadPoolExecutor) -> None:
        self._channels = channels
        self._worker = worker

    @property
    def channels(self) -> tuple[ChannelStream, ...]:
        return self._channels

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        if isinstance(channel, bool) or not isinstance(channel, int):
            raise DecodeError("the channel must be 0 or 1")
        if not 0 <= channel < len(self._channels):
            raise DecodeError("the channel must be 0 or 1")
        if len(pcm) > limits.LIVE_MAX_FEED_BYTES:
            raise TooLargeError("too much audio in one frame")
        if len(pcm) % 2:
            raise DecodeError("16-bit PCM has an even number of bytes")
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        return self._channels[channel].feed(samples)

    def flush(self) -> list[LiveOutput]:
        try:
            # Both channels' last decodes first: channel 1's does not wait for channel 0's
            # translations, which the worker runs meanwhile.
            out: list[LiveOutput] = []
            for stream in self._channels:
                out += stream.finish()
            for stream in self._channels:
                out += stream.drain()
            return out
        finally:
            self.close()

    def close(self) -> None:
        """Abandon the call: translations not started are cancelled, the one running ends
        with its model call and its output is dropped; a running guess stops."""
        for stream in self._channels:
            stream.drop_guesses()
        self._worker.shutdown(wait=False, cancel_futures=True)


def _prepared(done: Future[None]) -> None:
    """A failed preparation only costs the first piece its speed-up (it reads the instruction
    itself, and fails there if the model cannot load): logged by type, nothing of the call."""
    exc = done.exception() if not done.cancelled() else None
    if exc is not None:
        log.warning("live translation: preparing the instruction failed (%s)", type(exc).__name__)


def make_pipeline(
    models: Models,
    languages: tuple[str, str],
    targets: tuple[str, str],
    *,
    settings: Settings | None = None,
    recognizer: Recognizer | None = None,
    scorer: Scorer | None = None,
    translation_model: str | None = None,
    translate_on_worker: bool = True,
) -> LivePipeline:
    """A pipeline for one call: ``languages[c]`` is what channel ``c`` speaks (a Whisper code,
    or "auto" to detect it from its first words), ``targets[c]`` the language its speech is
    translated into. Raises DecodeError for an unknown code, UnsupportedError for a pair the
    text translation does not support (with "auto", such a pair yields captions only).

    ``translation_model`` picks the ``translate`` workload's language model (default: the
    first installed that reads the pair, :data:`privcloud.workloads.models.LIVE_TRANSLATION`).
    ``settings``, ``recognizer`` and ``scorer`` replace the defaults (tests and benchmarks);
    ``translate_on_worker=False`` runs each translation inside a feed instead (a benchmark
    that measures the commit policy alone, as if model calls took no time)."""
    check_call_languages(languages, targets)  # (the release's rule, the device's check too)
    translator = steps.Translator(models, translation_model)
    for language, target in zip(languages, targets, strict=True):
        if language != AUTO and not translator.supports(language, target):
            raise UnsupportedError("this language pair cannot be translated")
    recognize = recognizer if recognizer is not None else WhisperRecognizer(models)
    score = scorer if scorer is not None else default_scorer()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-translate")
    lane = TranslationLane(worker)
    if translate_on_worker:
        # Read each direction's translation instruction while the call opens (before anyone
        # has said a sentence): the first piece then reads only itself.
        for language, target in zip(languages, targets, strict=True):
            if language not in (AUTO, target):
                prepare = functools.partial(translator.prepare, language, target)
                lane.submit(prepare).add_done_callback(_prepared)
    streams = tuple(
        ChannelStream(
            channel,
            language=None if languages[channel] == AUTO else languages[channel],
            target=targets[channel],
            recognize=recognize,
            vad=VoiceActivity(score),
            translate=translator,
            speak=steps.synthesize,
            can_translate=translator.supports,
            settings=settings,
            worker=lane if translate_on_worker else None,
        )
        for channel in range(CHANNELS)
    )
    return _Pipeline(streams, worker)
