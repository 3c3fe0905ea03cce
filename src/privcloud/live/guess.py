"""Translating a piece before it is committed: the call's translation lane and its guesses.

LocalAgreement-2 commits a word when two decodes, about a second apart, agree on it; a piece is
translated only once its last word is committed, and the language model then takes most of a
second more on a CPU. But the words the second decode will commit are, most of the time,
already in the first decode's hypothesis. So after each decode a channel works out the pieces
its pending words would complete (:func:`next_pieces`, the same rules as its commits) and, when
the translation worker has nothing else to do, translates them ahead: **guesses**. When exactly
such a piece (same words, same punctuation, same language) is later committed, the guess's
result is its translation, ready or nearly so; when the commit turns out different, the guess
is dropped unseen and the committed piece is translated as usual.

Nothing reaches the listener that was not committed: a guess only moves a translation of
committed text earlier. A guess never delays a committed piece: :class:`TranslationLane` runs a
call's pieces one at a time in the order queued, a guess starts only when no piece of any call
of the process waits (:class:`Backlog`: the calls share the language models), and a running
guess that no commit has claimed stops between two tokens as soon as one does, or when a
newer decode no longer suggests it. What guesses cost is model time on the idle worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

from privcloud.live.agreement import Word
from privcloud.workloads.base import stop_when

T = TypeVar("T")

#: Words that end a clause (a piece may end there once it is long enough).
CLAUSE_END = (",", ";", ":", "\uff0c", "\u3001")


def ends_piece(word: Word, words_so_far: int, *, clause_words: int, max_words: int) -> bool:
    """Whether a piece of ``words_so_far`` words ending with ``word`` is handed to translation:
    at a sentence end, at ``max_words``, or at a clause end once it has ``clause_words``."""
    return (
        word.ends_sentence
        or words_so_far >= max_words
        or (words_so_far >= clause_words and word.text.endswith(CLAUSE_END))
    )


def next_pieces(
    untranslated: Sequence[Word],
    pending: Sequence[Word],
    *,
    clause_words: int,
    max_words: int,
    final: bool = False,
) -> list[list[Word]]:
    """The pieces that committing ``pending`` after ``untranslated`` would hand to translation,
    in order (each as its words). ``final``: the utterance ends with them, so their last
    words are a piece too."""
    pieces: list[list[Word]] = []
    words = list(untranslated)
    for word in pending:
        words.append(word)
        if ends_piece(word, len(words), clause_words=clause_words, max_words=max_words):
            pieces.append(words)
            words = []
    if final and words and pending:
        pieces.append(words)
    return pieces


class _Abandoned(Exception):
    """Raised between two tokens of a running guess that no commit can claim any more."""


class Backlog:
    """Committed pieces waiting for a worker, over every call that shares it. The calls of a
    process share its language models (one lock per model), so a guess of one call holds up
    the pieces of the others too: every lane of a process counts its pieces in one backlog
    (:data:`BACKLOG`), and a guess starts, or goes on, only while it is empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = 0


#: The backlog of the process's lanes.
BACKLOG = Backlog()


class Guess(Generic[T]):
    """One guessed piece on a lane: ``key`` names what it translates. Its state moves under
    the backlog's lock: queued, then started or skipped. It is claimed only once started (a
    guess still queued keeps no work, and its place in the queue must not pass the pieces
    committed after it was queued) and only while no piece waits; a claimed guess runs to
    its end. A started guess not claimed stops between two tokens once it is dropped or a
    piece waits (then it counts as skipped)."""

    def __init__(self, key: tuple[str, str], backlog: Backlog) -> None:
        self.key = key
        self.future: Future[T | None] = Future()
        self._backlog = backlog
        self._started = False
        self._claimed = False
        self._skipped = False
        self._wanted = True

    @property
    def skipped(self) -> bool:
        """Whether it was skipped or stopped (it will never have a result)."""
        with self._backlog.lock:
            return self._skipped

    def drop(self) -> None:
        """No commit will claim this guess: it does not start, or stops if it has."""
        with self._backlog.lock:
            self._wanted = False

    def claim(self) -> Future[T | None] | None:
        """The guess's result for the committed piece it guessed: its future, or None (then
        translate the piece as usual, and the guess is skipped or stops) when it finished
        without a result, has not started, or is running while a piece waits."""
        with self._backlog.lock:
            if self.future.done():
                if self.future.cancelled():
                    return None
                if self.future.exception() is None and self.future.result() is None:
                    return None
            elif self._skipped or not self._started or self._backlog.waiting:
                self._skipped = True
                return None
            self._claimed = True
            return self.future

    def begin(self) -> bool:
        """The lane's call at the guess's turn on the worker: whether to run it (still
        wanted, and no piece waiting)."""
        with self._backlog.lock:
            if self._skipped or not self._wanted or self._backlog.waiting:
                self._skipped = True
                return False
            self._started = True
            return True

    def keep_going(self) -> None:
        """The running guess's stop condition (between tokens): raises :class:`_Abandoned`
        when it is not claimed and is dropped or a piece waits."""
        with self._backlog.lock:
            if self._claimed or (self._wanted and not self._backlog.waiting):
                return
            self._skipped = True
        raise _Abandoned


class TranslationLane:
    """A call's one translation worker, shared by its two channels (see the module
    docstring); its pieces count in ``backlog``."""

    def __init__(self, executor: Executor, backlog: Backlog = BACKLOG) -> None:
        self._executor = executor
        self.backlog = backlog

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run a committed piece's translation after everything queued before it."""
        backlog = self.backlog

        def run() -> T:
            with backlog.lock:
                backlog.waiting -= 1
            return fn()

        def cancelled(done: Future[T]) -> None:  # shut down before its turn: never ran
            if done.cancelled():
                with backlog.lock:
                    backlog.waiting -= 1

        with backlog.lock:
            backlog.waiting += 1
        try:
            queued = self._executor.submit(run)
        except BaseException:
            with backlog.lock:
                backlog.waiting -= 1
            raise
        queued.add_done_callback(cancelled)
        return queued

    def guess(self, key: tuple[str, str], fn: Callable[[], T]) -> Guess[T]:
        """Queue ``fn`` as a guess: at its turn it runs only if still wanted and no piece
        waits."""
        guess: Guess[T] = Guess(key, self.backlog)

        def run() -> None:
            if not guess.future.set_running_or_notify_cancel():
                return
            if not guess.begin():
                guess.future.set_result(None)
                return
            try:
                with stop_when(guess.keep_going):
                    result = fn()
            except _Abandoned:
                guess.future.set_result(None)
            except BaseException as exc:  # handed to whoever claims the guess
                guess.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                guess.future.set_result(result)

        queued = self._executor.submit(run)
        # Shut down before its turn (the call closed): the guess is cancelled with it.
        queued.add_done_callback(lambda done: done.cancelled() and guess.future.cancel())
        return guess


class Guesses(Generic[T]):
    """A channel's guesses, in the order of the pieces they guess (not thread-safe: the
    channel's feed calls it). A guess that finished is kept a while even when a decode stops
    suggesting its piece (``KEEP_DONE``): decodes go back and forth, and the commit may still
    be that piece."""

    #: Finished guesses kept after a decode no longer suggests their pieces.
    KEEP_DONE = 4

    def __init__(self, lane: TranslationLane) -> None:
        self._lane = lane
        self._queue: list[Guess[T]] = []
        self._done: dict[tuple[str, str], Guess[T]] = {}
        #: Guesses made, and claimed by a commit.
        self.made = 0
        self.used = 0

    def update(self, pieces: Sequence[tuple[tuple[str, str], Callable[[], T]]]) -> None:
        """The pieces the latest decode suggests, in order: a piece already guessed (or kept
        from an earlier guess) keeps its guess; the other guesses are dropped, and the new
        pieces are guessed."""
        old, self._queue = self._queue, []
        for key, fn in pieces:
            guess = next((g for g in old if g.key == key and not g.skipped), None)
            if guess is not None:
                old.remove(guess)
            else:
                guess = self._done.pop(key, None)
            if guess is None:
                guess = self._lane.guess(key, fn)
                self.made += 1
            self._queue.append(guess)
        for guess in old:
            self._retire(guess)

    def claim(self, key: tuple[str, str]) -> Future[T | None] | None:
        """The result of the guess of the piece ``key`` just committed, when there is one
        that was not skipped; otherwise None. The guesses of pieces before it are dropped."""
        guess = self._done.pop(key, None)
        for i, queued in enumerate(self._queue):
            if queued.key == key:
                for earlier in self._queue[:i]:
                    self._retire(earlier)
                guess, self._queue = queued, self._queue[i + 1 :]
                break
        found = guess.claim() if guess is not None else None
        if found is not None:
            self.used += 1
        return found

    def drop_all(self) -> None:
        """The utterance or the call ended: no guess can be claimed any more."""
        for guess in self._queue:
            guess.drop()
        self._queue = []
        self._done.clear()

    def _retire(self, guess: Guess[T]) -> None:
        """A guess no decode suggests: dropped (stopped if running); kept if it finished."""
        guess.drop()
        done = guess.future
        if done.done() and not done.cancelled() and done.exception() is None and done.result():
            self._done[guess.key] = guess
            while len(self._done) > self.KEEP_DONE:
                del self._done[next(iter(self._done))]
