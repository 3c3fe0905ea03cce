"""One direction of a live call: audio in, committed captions, translations and speech out.

Per channel, in the order :meth:`ChannelStream.feed` does it:

1. The samples go into the voice-activity detector and the audio buffer. Before an utterance
   starts (``min_speech_s`` of speech), the buffer keeps the end of the last utterance (up to
   ``context_s`` of it, whole words) for ``context_gap_s``, then only its last ``idle_keep_s``
   (the start of the next word); silence alone is never decoded and never makes output.
2. At most **one** heavy step per feed, so a feed stays within one model call: a queued
   translation (with its speech; unless translations run on a worker of their own, see
   step 3), else a decode when one is due:

   * the utterance has ended (``endpoint_s`` of silence): the buffer is decoded a last time
     and everything heard is committed (:meth:`LocalAgreement.finish`), the untranslated text
     is queued, and the buffer keeps its last ``context_s`` as context for what follows;
   * ``decode_every_s`` of new audio has come in (or, when the last decode took longer than
     that, as many seconds as it took, up to ``max_decode_every_s``: on a loaded machine the
     decodes thin out instead of falling ever further behind): the buffer is decoded again
     and the words on which the last two decodes agree are committed (LocalAgreement-2).

3. Committed words come out at once as a ``caption``. Unless the channel's target is the
   language it speaks (captions only), they are queued for translation: up to each word that
   ends a sentence, at ``translate_words`` words when one ends a clause (",", ";", ":"), at
   ``max_untranslated_words``, and when the utterance ends. A translation comes out as text,
   and its translated pieces as speech (:class:`Translated`). With a ``worker`` (the node's
   pipelines have one per call, both channels sharing it) a queued piece is handed to it at
   once and the feeds go on decoding meanwhile (Whisper and the language model then each
   have a core); each feed returns the translations finished by then, in order.
4. With a worker and ``guess_translations`` (the default), after each decode the pieces its
   pending words would complete are translated ahead of their commit while the worker is
   idle (:mod:`privcloud.live.guess`; their last piece only once ``guess_settled_s`` of audio
   follows it, or the speaker has paused). A commit of exactly a guessed piece takes the
   guess's translation; anything else is translated as usual.
5. The buffer is trimmed after a decode: past ``trim_after_s``, at the end of the last committed
   sentence in it; past ``max_buffer_s``, at the last committed word (committing the pending
   hypothesis first if nothing is committed). So endless speech holds at most ``max_buffer_s``
   plus one decode interval of audio, and a decode never takes more than that.

Nothing of the audio or the text outlives the call (all in memory) or reaches a log.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.live.agreement import LocalAgreement, Word
from privcloud.live.guess import Guesses, TranslationLane, ends_piece, next_pieces
from privcloud.live.output import AUDIO, CAPTION, TRANSLATION, LiveOutput
from privcloud.live.recognizer import Recognizer
from privcloud.live.vad import SAMPLE_RATE, VoiceActivity
from privcloud.workloads.base import check_deadline

#: Languages written without spaces between words.
_NO_SPACES = frozenset({"zh", "ja", "yue", "th", "lo", "my", "km"})
#: Language probability from which an "auto" channel's detected language is kept.
_SURE_LANGUAGE = 0.7

Speak = Callable[[str, str], bytes]


@dataclass(frozen=True)
class Translated:
    """A translation of committed speech: ``text`` for the listener to read (a piece the fact
    check withheld stays in its source language there), ``spoken`` the pieces that were
    translated, which alone are synthesized (the source, spoken in the target language's
    voice, would only repeat what the listener just heard, badly)."""

    text: str
    spoken: str


Translate = Callable[[str, str, str], Translated]


@dataclass(frozen=True)
class Settings:
    """When a channel decodes, commits, translates and trims (see the module docstring)."""

    decode_every_s: float = 1.0
    max_decode_every_s: float = 3.0
    endpoint_s: float = 0.5
    min_speech_s: float = 0.2
    idle_keep_s: float = 1.0
    context_s: float = 4.0
    context_gap_s: float = 1.5
    trim_after_s: float = 8.0
    max_buffer_s: float = limits.LIVE_MAX_BUFFER_SECONDS
    translate_words: int = 6
    max_untranslated_words: int = 12
    guess_translations: bool = True
    guess_settled_s: float = 0.5


@dataclass(frozen=True)
class _Job:
    text: str
    language: str
    start_s: float
    end_s: float

    @property
    def key(self) -> tuple[str, str]:
        """What its translation depends on (the channel's target aside)."""
        return (self.text, self.language)


class ChannelStream:
    """The streaming state of one channel (one speaker); not thread-safe, one call at a time."""

    def __init__(
        self,
        channel: int,
        *,
        language: str | None,
        target: str,
        recognize: Recognizer,
        vad: VoiceActivity,
        translate: Translate,
        speak: Speak,
        can_translate: Callable[[str, str], bool],
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        worker: TranslationLane | None = None,
    ) -> None:
        self._channel = channel
        self._language = language
        self._detected: str | None = None
        self._target = target
        self._recognize = recognize
        self._vad = vad
        self._translate = translate
        self._speak = speak
        self._can_translate = can_translate
        self._s = settings if settings is not None else Settings()
        self._clock = clock
        self._every = self._s.decode_every_s
        self._buf: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._buf_start = 0.0
        self._active = False
        self._since_decode = 0.0
        self._agree = LocalAgreement()
        self._untranslated: list[Word] = []
        self._jobs: deque[_Job] = deque()
        self._worker = worker
        self._running: deque[Future[list[LiveOutput]]] = deque()
        self._guesses: Guesses[list[LiveOutput]] | None = (
            Guesses(worker) if worker is not None and self._s.guess_translations else None
        )

    @property
    def guesses(self) -> tuple[int, int]:
        """Pieces translated ahead of their commit, and how many of them a commit used."""
        return (self._guesses.made, self._guesses.used) if self._guesses else (0, 0)

    @property
    def buffered_s(self) -> float:
        """Seconds of audio held for decoding."""
        return len(self._buf) / SAMPLE_RATE

    @property
    def heard_s(self) -> float:
        """Seconds of audio this channel has received (its clock)."""
        return self._buf_start + self.buffered_s

    def feed(self, samples: npt.NDArray[np.float32]) -> list[LiveOutput]:
        """Take new samples (16 kHz float32); return what became final (steps 1-4)."""
        self._take(samples)
        out = self._finished()
        if self._jobs:
            return out + self._run_job(self._jobs.popleft())
        if not self._active:
            return out
        if not self._vad.speaking and self._vad.quiet_s >= self._s.endpoint_s:
            return out + self._end_utterance()
        if self._since_decode >= self._every:
            return out + self._decode()
        return out

    def flush(self) -> list[LiveOutput]:
        """Finish: decode and commit what is left, then translate and speak all of it."""
        return self.finish() + self.drain()

    def finish(self) -> list[LiveOutput]:
        """The first half of :meth:`flush`: the last decode and commit (its pieces queued)."""
        out = self._end_utterance() if self._active else []
        self._queue_untranslated()
        return out

    def drain(self) -> list[LiveOutput]:
        """The second half of :meth:`flush`: every queued translation, with its speech."""
        out: list[LiveOutput] = []
        while self._running:
            out += self._running.popleft().result()
        while self._jobs:
            out += self._run_job(self._jobs.popleft())
        return out

    def drop_guesses(self) -> None:
        """No guess of this channel can be claimed any more (its utterance or call ended):
        those queued do not start, a running one stops."""
        if self._guesses is not None:
            self._guesses.drop_all()

    def _finished(self) -> list[LiveOutput]:
        """The outputs of the worker's translations finished so far, in the order queued (a
        failed one raises here, as it would have in the feed)."""
        out: list[LiveOutput] = []
        while self._running and self._running[0].done():
            out += self._running.popleft().result()
        return out

    # --- steps ------------------------------------------------------------------------------

    def _take(self, samples: npt.NDArray[np.float32]) -> None:
        self._vad.push(samples)
        self._buf = np.concatenate((self._buf, samples))
        self._since_decode += len(samples) / SAMPLE_RATE
        if self._active:
            return
        if self._vad.speech_s >= self._s.min_speech_s:
            self._active = True
            self._since_decode = self._vad.speech_s
            return
        if self._vad.quiet_s >= self._s.endpoint_s:
            self._vad.reset_count()  # a blip of noise does not add up to an utterance
        if self._vad.quiet_s >= self._s.context_gap_s:
            self._cut(self.heard_s - self._s.idle_keep_s)

    def _hear(self) -> list[Word]:
        self._since_decode = 0.0
        prompt_words = [w.text for w in self._agree.recent() if w.end <= self._buf_start + 0.05]
        started = self._clock()
        heard = self._recognize(self._buf, self._language, self._join(prompt_words))
        took = self._clock() - started
        self._every = min(self._s.max_decode_every_s, max(self._s.decode_every_s, took))
        if self._language is None and heard.words and heard.language:
            # "auto": the first language heard with confidence stays for the call.
            self._detected = heard.language
            if heard.language_probability >= _SURE_LANGUAGE:
                self._language = heard.language
        offset = self._buf_start
        return [Word(w.start + offset, w.end + offset, w.text) for w in heard.words]

    def _decode(self) -> list[LiveOutput]:
        committed = self._agree.insert(self._hear())
        out = self._commit(committed)
        if self.buffered_s > self._s.trim_after_s:
            ends = [
                w.end for w in self._agree.recent() if w.ends_sentence and w.end > self._buf_start
            ]
            if ends:
                self._cut(ends[-1])
        if self.buffered_s > self._s.max_buffer_s:
            recent = [w.end for w in self._agree.recent() if w.end > self._buf_start]
            if not recent:
                out += self._commit(self._agree.finish())
                recent = [w.end for w in self._agree.recent() if w.end > self._buf_start]
            self._cut(recent[-1] if recent else self.heard_s - self._s.idle_keep_s)
            self._agree.forget_pending()
        # Guess what the pending words complete (all of them if the speaker has paused).
        self._guess_pieces(self._agree.pending, final=not self._vad.speaking)
        return out

    def _end_utterance(self) -> list[LiveOutput]:
        out = self._commit(self._agree.finish(self._hear()))
        self._queue_untranslated()
        self.drop_guesses()  # everything heard is committed: what is left was misheard
        self._active = False
        self._vad.reset_count()
        self._keep_context()
        return out

    def _keep_context(self) -> None:
        """Keep the last ``context_s`` of committed speech (whole words) in the buffer: if the
        speaker goes on within ``context_gap_s``, Whisper hears the new words in context
        (step 1 of LocalAgreement drops the old ones again)."""
        words = [w for w in self._agree.recent() if w.start >= self._buf_start]
        keep_from = self.heard_s - self._s.context_s
        for i, word in enumerate(words):
            if word.start >= keep_from:
                self._cut(words[i - 1].end if i else word.start - 0.1)
                return
        self._cut(self.heard_s - self._s.idle_keep_s)

    def _commit(self, words: list[Word]) -> list[LiveOutput]:
        if not words:
            return []
        text = self._join([w.text for w in words])
        for word in words:  # a commit may hold the end of one sentence and the next's start
            self._untranslated.append(word)
            if ends_piece(
                word,
                len(self._untranslated),
                clause_words=self._s.translate_words,
                max_words=self._s.max_untranslated_words,
            ):
                self._queue_untranslated()
        return [LiveOutput(self._channel, CAPTION, text, b"", words[0].start, words[-1].end)]

    def _queue_untranslated(self) -> None:
        # "auto" and not sure yet: the language of the last decode.
        source = self._language or self._detected
        words = self._untranslated
        self._untranslated = []
        if not words or source in (None, self._target):
            return
        job = self._job(words, source)
        if self._worker is None:
            self._jobs.append(job)
            return
        guessed = self._claim_guess(job)
        self._running.append(guessed or self._worker.submit(lambda: self._run_job(job)))

    def _guess_pieces(self, pending: list[Word], *, final: bool) -> None:
        """Guess the pieces that committing ``pending`` completes (``final``: the utterance
        may end with them) on the lane (see :class:`~privcloud.live.guess.Guesses`)."""
        source = self._language or self._detected
        if self._guesses is None:
            return
        if source in (None, self._target):  # "auto", and not (or no longer) translated
            self._guesses.update([])
            return
        pieces = next_pieces(
            self._untranslated,
            pending,
            clause_words=self._s.translate_words,
            max_words=self._s.max_untranslated_words,
            final=final,
        )
        if pieces and not final and pieces[-1][-1].end > self.heard_s - self._s.guess_settled_s:
            # Whisper ends what it has heard so far with a full stop: a piece ending at the
            # edge of the audio, mid-speech, is seldom the one committed.
            pieces.pop()
        jobs = [
            _Job(self._join([w.text for w in p]), source, p[0].start, p[-1].end) for p in pieces
        ]
        self._guesses.update([(j.key, functools.partial(self._run_job, j)) for j in jobs])

    def _claim_guess(self, job: _Job) -> Future[list[LiveOutput]] | None:
        """The guess's outputs for ``job`` (with the committed words' span), or None when
        the first guess was not exactly this piece or was skipped."""
        if self._guesses is None:
            return None
        found = self._guesses.claim(job.key)
        if found is None:
            return None
        claimed: Future[list[LiveOutput]] = Future()

        def settle(done: Future[list[LiveOutput] | None]) -> None:
            if done.cancelled():
                claimed.cancel()
            elif (exc := done.exception()) is not None:
                claimed.set_exception(exc)
            else:
                outputs = done.result() or []
                claimed.set_result(
                    [replace(o, start_s=job.start_s, end_s=job.end_s) for o in outputs]
                )

        found.add_done_callback(settle)
        return claimed

    def _run_job(self, job: _Job) -> list[LiveOutput]:
        """Translate and speak one piece (on the worker, when there is one: it reads only the
        job and the channel's fixed settings)."""
        if not self._can_translate(job.language, self._target):
            return []
        start, end = job.start_s, job.end_s
        done = self._translate(job.text, job.language, self._target)
        if not done.text.strip():
            return []
        out = [LiveOutput(self._channel, TRANSLATION, done.text, b"", start, end)]
        if not done.spoken.strip():
            return out
        check_deadline()  # a guess nobody wants any more stops here too (live.guess)
        try:
            pcm = self._speak(done.spoken, self._target)
        except DecodeError:  # nothing speakable in it ("…")
            return out
        out.append(LiveOutput(self._channel, AUDIO, "", pcm, start, end))
        return out

    def _job(self, words: list[Word], language: str) -> _Job:
        return _Job(self._join([w.text for w in words]), language, words[0].start, words[-1].end)

    def _cut(self, at: float) -> None:
        """Drop the buffered audio before channel time ``at``."""
        drop = round((at - self._buf_start) * SAMPLE_RATE)
        if drop > 0:
            drop = min(drop, len(self._buf))
            self._buf = self._buf[drop:]
            self._buf_start += drop / SAMPLE_RATE

    def _join(self, texts: list[str]) -> str:
        language = self._language or self._detected
        return ("" if language in _NO_SPACES else " ").join(texts)
