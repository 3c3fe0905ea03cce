"""Guessed translations in a live call (privcloud.live.guess): a piece translated before its
commit is used only when the commit is exactly that piece, and a guess never holds up a piece.

No model: translations are recorded calls of a plain function, and the channel tests use a
scripted recogniser. The lane runs on a real one-thread executor, as the node's pipeline does.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from privcloud.live.agreement import Word
from privcloud.live.channel import ChannelStream, Settings, Translated
from privcloud.live.guess import Backlog, Guesses, TranslationLane, next_pieces
from privcloud.live.output import AUDIO, CAPTION, TRANSLATION, LiveOutput
from privcloud.live.recognizer import Heard
from privcloud.live.vad import VoiceActivity, energy_scorer
from privcloud.workloads.base import check_deadline

RATE = 16_000


def _words(*texts: str) -> list[Word]:
    return [Word(0.4 * i, 0.4 * i + 0.3, t) for i, t in enumerate(texts)]


def _texts(pieces: list[list[Word]]) -> list[str]:
    return [" ".join(w.text for w in piece) for piece in pieces]


def test_the_pieces_end_where_commits_would_hand_them_over() -> None:
    rules = functools.partial(next_pieces, clause_words=3, max_words=5)
    assert _texts(rules(_words("so"), _words("it", "goes.", "then"))) == ["so it goes."]
    assert rules([], _words("one,", "two")) == []  # a clause, too short
    assert _texts(rules([], _words("a", "b", "c,", "d", "e."))) == ["a b c,", "d e."]
    assert _texts(rules([], _words("a", "b", "c", "d", "e", "f"))) == ["a b c d e"]
    # The utterance may end with them: the last words are a piece too.
    assert _texts(rules(_words("so"), _words("it", "goes"), final=True)) == ["so it goes"]
    assert rules(_words("so"), [], final=True) == []  # nothing pending


@pytest.fixture
def lane() -> Iterator[TranslationLane]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield TranslationLane(executor, Backlog())  # not the process's: tests stay apart


def _busy(lane: TranslationLane) -> threading.Event:
    """Hold the lane's worker until the returned event is set."""
    release = threading.Event()
    lane.submit(lambda: release.wait(30))
    return release


def test_a_guess_on_an_idle_lane_runs_and_its_claim_gets_the_result(lane: TranslationLane) -> None:
    guess = lane.guess(("one two.", "en"), lambda: "uno dos.")
    assert guess.future.result(timeout=30) == "uno dos."
    claimed = guess.claim()
    assert claimed is not None and claimed.result() == "uno dos."


def test_a_guess_gives_way_to_a_piece_queued_behind_it(lane: TranslationLane) -> None:
    ran: list[str] = []
    release = _busy(lane)
    guess = lane.guess(("guess", "en"), lambda: ran.append("guess"))
    piece = lane.submit(lambda: ran.append("piece"))
    release.set()
    piece.result(timeout=30)
    assert guess.future.result(timeout=30) is None
    assert ran == ["piece"]
    assert guess.claim() is None  # skipped: the committed piece is translated as usual


def test_a_queued_guess_is_not_claimed_and_passes_no_piece(lane: TranslationLane) -> None:
    """A guess still queued keeps no work: its commit is queued as a piece, after the pieces
    committed before it (the other channel's here), and the guess never runs."""
    ran: list[str] = []
    release = _busy(lane)
    guess = lane.guess(("mine", "en"), lambda: ran.append("guess"))
    other = lane.submit(lambda: ran.append("other channel's piece"))
    assert guess.claim() is None
    mine = lane.submit(lambda: ran.append("my piece"))
    release.set()
    mine.result(timeout=30)
    assert other.done() and guess.future.result(timeout=30) is None
    assert ran == ["other channel's piece", "my piece"]
    assert lane.backlog.waiting == 0


def test_a_running_guess_is_not_claimed_while_a_piece_waits(lane: TranslationLane) -> None:
    started, tokens = threading.Event(), list[int]()
    guess = lane.guess(("mine", "en"), lambda: _model_call(started, tokens))
    assert started.wait(30)
    with lane.backlog.lock:  # a piece of another call of the process is waiting
        lane.backlog.waiting += 1
    assert guess.claim() is None
    assert guess.future.result(timeout=30) is None and len(tokens) < TOKENS  # it stopped
    with lane.backlog.lock:
        lane.backlog.waiting -= 1


def test_a_piece_cancelled_at_shutdown_leaves_the_backlog() -> None:
    backlog = Backlog()
    executor = ThreadPoolExecutor(max_workers=1)
    lane = TranslationLane(executor, backlog)
    release = _busy(lane)
    lane.submit(lambda: "never")
    assert backlog.waiting == 1
    executor.shutdown(wait=False, cancel_futures=True)
    release.set()
    executor.shutdown(wait=True)
    assert backlog.waiting == 0  # later calls' guesses are not held off for good


def test_a_skipped_piece_is_guessed_again(lane: TranslationLane) -> None:
    guesses: Guesses[str] = Guesses(lane)
    release = _busy(lane)
    guesses.update([(("uno.", "es"), lambda: "one.")])
    piece = lane.submit(lambda: "a piece")  # waits behind the guess: the guess is skipped
    release.set()
    piece.result(timeout=30)
    assert guesses.claim(("uno.", "es")) is None
    ran = threading.Event()

    def again() -> str:
        ran.set()
        return "one."

    guesses.update([(("uno.", "es"), again)])  # the next decode suggests it again
    assert ran.wait(30)
    found = guesses.claim(("uno.", "es"))
    assert found is not None and found.result(timeout=30) == "one."
    assert (guesses.made, guesses.used) == (2, 1)  # guessed anew, not the skipped one kept


def test_a_dropped_guess_never_starts(lane: TranslationLane) -> None:
    ran: list[str] = []
    release = _busy(lane)
    guess = lane.guess(("guess", "en"), lambda: ran.append("guess"))
    guess.drop()
    release.set()
    assert guess.future.result(timeout=30) is None
    assert ran == []


#: Tokens of a simulated model call (5 ms each).
TOKENS = 400


def _model_call(started: threading.Event, tokens: list[int]) -> str:
    """Stands in for a model call: a token every few milliseconds, checking its stop
    condition between tokens as the node's model calls do (check_deadline)."""
    started.set()
    for i in range(TOKENS):
        time.sleep(0.005)
        check_deadline()
        tokens.append(i)
    return "all tokens"


def test_a_running_guess_stops_when_a_piece_comes(lane: TranslationLane) -> None:
    started, tokens = threading.Event(), list[int]()
    guess = lane.guess(("guess", "en"), lambda: _model_call(started, tokens))
    assert started.wait(30)
    piece = lane.submit(lambda: "piece")
    assert piece.result(timeout=30) == "piece"  # not after all the guess's tokens
    assert guess.future.result(timeout=30) is None
    assert len(tokens) < TOKENS
    assert guess.claim() is None


def test_a_running_guess_stops_when_dropped_but_not_once_claimed(lane: TranslationLane) -> None:
    started, tokens = threading.Event(), list[int]()
    dropped = lane.guess(("guess", "en"), lambda: _model_call(started, tokens))
    assert started.wait(30)
    dropped.drop()
    assert dropped.future.result(timeout=30) is None and len(tokens) < TOKENS
    started, tokens = threading.Event(), list[int]()
    claimed = lane.guess(("guess", "en"), lambda: _model_call(started, tokens))
    assert started.wait(30)
    found = claimed.claim()
    claimed.drop()  # too late: the claim made it a piece
    lane.submit(lambda: "piece")
    assert found is not None and found.result(timeout=60) == "all tokens"


def test_a_guess_that_failed_fails_its_claim(lane: TranslationLane) -> None:
    def broken() -> str:
        raise RuntimeError("model failed")

    guess = lane.guess(("guess", "en"), broken)
    assert isinstance(guess.future.exception(timeout=30), RuntimeError)
    claimed = guess.claim()
    assert claimed is not None
    with pytest.raises(RuntimeError):
        claimed.result(timeout=30)


# --- a channel with guesses ------------------------------------------------------------------


class ScriptedRecognizer:
    """Hears the script's words that end within the buffer; ``early`` replaces a word's text
    while fewer than ``settle_s`` seconds of audio follow it (as Whisper misreads the edge);
    every other decode times the words ``jitter`` seconds later (as Whisper's times move)."""

    def __init__(
        self,
        script: list[tuple[str, float, float]],
        early: dict[str, str],
        settle_s: float,
        jitter: float = 0.0,
    ) -> None:
        self.script = script
        self.early = early
        self.settle_s = settle_s
        self.jitter = jitter
        self.calls = 0
        self.heard: Callable[[], float] = lambda: 0.0  # the channel's clock, once it exists

    def __call__(
        self, samples: npt.NDArray[np.float32], language: str | None, prompt: str
    ) -> Heard:
        heard_s = self.heard()
        offset = heard_s - len(samples) / RATE  # the buffer's start on the channel's clock
        self.calls += 1
        shift = self.jitter * (self.calls % 2)
        found = []
        for text, start, end in self.script:
            if end <= heard_s and start >= offset - 0.05:
                said = self.early.get(text, text) if heard_s - end < self.settle_s else text
                found.append(Word(start - offset + shift, end - offset + shift, said))
        return Heard(found, language, 0.9)


SCRIPT = [
    ("one", 0.1, 0.4),
    ("two", 0.5, 0.8),
    ("three.", 0.9, 1.3),
    ("four", 1.6, 1.9),
    ("five", 2.0, 2.3),
    ("six.", 2.4, 2.8),
    ("seven", 3.0, 3.3),
    ("eight.", 3.4, 3.8),
]


class IdleExecutor(ThreadPoolExecutor):
    """One worker thread, and a way to wait until everything submitted has run (so that in
    a test fed as fast as it goes, a guess has its turn before the next commit, as it does
    at real time when the model is quicker than the speaker)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._submitted: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self._submitted.append(future)
        return future

    def wait_idle(self) -> None:
        for future in self._submitted:
            future.exception(timeout=30)


def _tone(seconds: float) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * RATE))
    return (0.3 * np.sin(t * 2 * np.pi * 220 / RATE)).astype(np.float32)


def _channel(
    recognizer: ScriptedRecognizer,
    settings: Settings,
    translate: Callable[[str, str, str], Translated],
    executor: ThreadPoolExecutor,
    speech: int = 0,
) -> ChannelStream:
    """An English channel translated into Spanish on its own lane (and backlog), ``speech``
    samples of silence for each spoken translation."""
    stream = ChannelStream(
        0,
        language="en",
        target="es",
        recognize=recognizer,
        vad=VoiceActivity(energy_scorer),
        translate=translate,
        speak=lambda text, lang: b"\x00\x00" * speech,
        can_translate=lambda s, t: True,
        settings=settings,
        worker=TranslationLane(executor, Backlog()),
    )
    recognizer.heard = lambda: stream.heard_s
    return stream


def _call(
    guesses: bool, early: dict[str, str], settle_s: float = 0.6
) -> tuple[list[LiveOutput], list[str], ChannelStream]:
    asked: list[str] = []

    def translate(text: str, source: str, target: str) -> Translated:
        asked.append(text)
        return Translated(f"es:{text}", f"es:{text}")

    recognizer = ScriptedRecognizer(SCRIPT, early, settle_s, jitter=0.02)
    settings = Settings(max_decode_every_s=1.0, guess_translations=guesses, trim_after_s=60.0)
    with IdleExecutor() as executor:
        stream = _channel(recognizer, settings, translate, executor, speech=160)
        audio = np.concatenate((_tone(4.0), np.zeros(RATE, np.float32)))
        out: list[LiveOutput] = []
        for chunk in np.split(audio, 125):  # 40 ms frames
            out += stream.feed(chunk)
            executor.wait_idle()
        out += stream.flush()
    return out, asked, stream


def _said(out: list[LiveOutput]) -> list[tuple[str, str, float, float]]:
    return [(o.kind, o.text, o.start_s, o.end_s) for o in out if o.kind != CAPTION]


def test_guessed_translations_come_out_as_the_committed_pieces_would() -> None:
    """With guesses, the listener gets the same translations, speech and spans (the
    committing decode's, not the guessing one's) as without, and some were translated before
    their commit."""
    plain, _, _ = _call(False, {})
    guessed, asked, stream = _call(True, {})
    assert _said(guessed) == _said(plain)
    assert [o.text for o in guessed if o.kind == TRANSLATION] == [
        "es:one two three.",
        "es:four five six.",
        "es:seven eight.",
    ]
    assert len([o for o in guessed if o.kind == AUDIO]) == 3
    assert stream.guesses[1] >= 1
    made, used = stream.guesses
    assert len(asked) == 3 + made - used  # a used guess is not redone


def test_a_wrong_guess_never_reaches_the_listener() -> None:
    """The edge of the audio is misheard ("tree." for "three."): whatever was guessed from
    it, only translations of committed text come out."""
    out, asked, stream = _call(True, {"three.": "tree.", "six.": "sex."}, settle_s=1.2)
    assert "one two tree." in asked  # guessed, and translated while the worker was idle
    assert stream.guesses[0] > stream.guesses[1]
    captions = " ".join(o.text for o in out if o.kind == CAPTION)
    translations = [o.text for o in out if o.kind == TRANSLATION]
    assert "tree" not in captions and "sex" not in captions
    assert translations == ["es:one two three.", "es:four five six.", "es:seven eight."]


def test_a_decode_in_a_pause_guesses_the_last_piece_too() -> None:
    """A decode that falls in a pause (the speaker may have finished) guesses the pending
    words' last piece as well, although no sentence end follows it yet: the endpoint's
    commit then takes all the guesses."""
    recognizer = ScriptedRecognizer([*SCRIPT[:-1], ("eight", 3.4, 3.8)], {}, settle_s=0.0)
    # One decode only before the endpoint, 0.3 s into the pause.
    settings = Settings(decode_every_s=4.3, max_decode_every_s=4.3, trim_after_s=60.0)
    with IdleExecutor() as executor:
        stream = _channel(
            recognizer,
            settings,
            lambda text, source, target: Translated(f"es:{text}", ""),
            executor,
        )
        out: list[LiveOutput] = []
        for chunk in np.split(_tone(4.0), 100):
            out += stream.feed(chunk)
        assert stream.guesses == (0, 0)  # no decode yet
        quiet = np.split(np.zeros(RATE, np.float32), 25)
        for chunk in quiet[:11]:  # 0.44 s: the decode, and not yet the endpoint
            out += stream.feed(chunk)
        executor.wait_idle()
        assert stream.guesses == (3, 0)  # "seven eight" too, with no full stop
        assert not [o for o in out if o.kind == CAPTION]  # one decode commits nothing
        for chunk in quiet[11:]:
            out += stream.feed(chunk)
        out += stream.flush()
    assert stream.guesses == (3, 3)
    assert [o.text for o in out if o.kind == TRANSLATION] == [
        "es:one two three.",
        "es:four five six.",
        "es:seven eight",
    ]


class _Phantom(ScriptedRecognizer):
    """Also hears a word that was never said ("thanks.", after the speech) in its decodes
    before ``until_s`` of audio, as Whisper may hear a word in the silence."""

    until_s = 4.45

    def __call__(
        self, samples: npt.NDArray[np.float32], language: str | None, prompt: str
    ) -> Heard:
        heard = super().__call__(samples, language, prompt)
        offset = self.heard() - len(samples) / RATE
        if self.heard() >= self.until_s:
            return heard
        extra = Word(3.95 - offset, 4.15 - offset, "thanks.")
        return Heard([*heard.words, extra], heard.language, heard.language_probability)


def test_the_end_of_an_utterance_stops_the_guesses_left() -> None:
    """A guess of words the final decode did not hear is stopped when the utterance ends
    (it does not go on translating after the call's text is all out)."""
    started, finished, tokens = threading.Event(), threading.Event(), list[int]()

    def translate(text: str, source: str, target: str) -> Translated:
        if text == "thanks.":
            try:
                _model_call(started, tokens)
            finally:
                finished.set()
        return Translated(f"es:{text}", "")

    recognizer = _Phantom(SCRIPT, {}, settle_s=0.0)
    settings = Settings(decode_every_s=4.3, max_decode_every_s=4.3, trim_after_s=60.0)
    with ThreadPoolExecutor(max_workers=1) as executor:
        stream = _channel(recognizer, settings, translate, executor)
        out = _play_frames(stream, _tone(4.0), np.zeros(int(0.44 * RATE), np.float32))
        assert stream.guesses == (4, 0)
        assert started.wait(30)  # the three real pieces' guesses are done
        out += _play_frames(stream, np.zeros(int(0.56 * RATE), np.float32))
        out += stream.flush()
        assert finished.wait(30)
    assert len(tokens) < TOKENS  # stopped, not run to its end
    assert stream.guesses == (4, 3)
    assert [o.text for o in out if o.kind == TRANSLATION] == [
        "es:one two three.",
        "es:four five six.",
        "es:seven eight.",
    ]


def _play_frames(stream: ChannelStream, *parts: npt.NDArray[np.float32]) -> list[LiveOutput]:
    audio = np.concatenate(parts)
    out: list[LiveOutput] = []
    for i in range(0, len(audio), 640):  # 40 ms frames
        out += stream.feed(audio[i : i + 640])
    return out
