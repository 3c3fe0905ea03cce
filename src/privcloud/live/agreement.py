"""LocalAgreement-2: which words of a streaming Whisper hypothesis are stable enough to commit.

Whisper re-decodes a growing audio buffer; each decode may rewrite the end of what it heard
before. Whisper-Streaming (Macháček, Dabre, Bojar 2023, "Turning Whisper into Real-Time
Transcription System", §2; ``whisper_online.py`` ``HypothesisBuffer``) commits a word once two
consecutive hypotheses agree on it: the longest common prefix of the last two hypotheses. A
committed word is final: it is handed out once and never retracted.

:class:`LocalAgreement` is that policy, sans I/O: it takes each hypothesis as words with times
(seconds on the channel's clock) and returns the newly committed words. Its steps per
hypothesis, as in ``HypothesisBuffer.insert``/``flush``:

1. Drop words that start before the last committed word ended (minus 0.1 s of slack): the
   buffer still holds committed audio, and Whisper hears those words again.
2. If the hypothesis starts near the last commit, drop its first 1..5 words when they repeat
   the last committed words (a word straddling the cut is heard twice otherwise).
3. Commit the longest prefix on which this hypothesis and the previous one agree (compared
   without case and punctuation); the rest becomes "the previous hypothesis".

At an utterance's end (:meth:`LocalAgreement.finish`) the words no two hypotheses agreed on are
committed too, since no decode follows. One of them is left out: a last word after a sentence
end that re-hears the end of the word before it. Whisper decoding audio that stops soon after
a word often hears its tail again as a word of its own ("... el tren exactamente? Tamento",
"... exactamente? ¡Tamen!": two decodes of one utterance, each ending in a different echo, so
LocalAgreement never commits one, but the utterance's end would). Such a word is shorter than
:data:`ECHO_MAX_S`, is not the word before it (a real "No. No." stays), and shares with its end
a run of at least :data:`ECHO_MIN_LETTERS` letters that makes up most of it.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from dataclasses import dataclass

#: Committed words kept for the overlap check (step 2) and the decoding prompt.
_COMMITTED_KEPT = 64
#: Slack (seconds) when dropping words heard again before the last commit (step 1).
_START_SLACK_S = 0.1
#: How near (seconds) to the last commit a hypothesis must start for the overlap check.
_OVERLAP_NEAR_S = 1.0
#: Longest repeated n-gram dropped at the head of a hypothesis (step 2).
_OVERLAP_NGRAM_WORDS = 5
#: Longest (seconds) a last word may last to be taken for an echo of the word before it.
ECHO_MAX_S = 0.4
#: Letters an echo shares with the end of the word before it, at least (and most of its own).
ECHO_MIN_LETTERS = 4
_NON_WORD = re.compile(r"[^\w']+")
_SENTENCE_END = re.compile("[.!?\u2026\u3002\uff01\uff1f]['\")\\]]*$")


@dataclass(frozen=True)
class Word:
    """One word Whisper heard, with its span on the channel's clock (seconds)."""

    start: float
    end: float
    text: str

    @property
    def key(self) -> str:
        """The word as compared between hypotheses: lower case, punctuation dropped."""
        return _NON_WORD.sub("", self.text.lower())

    @property
    def ends_sentence(self) -> bool:
        return bool(_SENTENCE_END.search(self.text.strip()))


class LocalAgreement:
    """The LocalAgreement-2 commit policy for one audio stream (see the module docstring)."""

    def __init__(self) -> None:
        self._previous: list[Word] = []
        self._committed: deque[Word] = deque(maxlen=_COMMITTED_KEPT)
        self.last_end = 0.0

    @property
    def pending(self) -> list[Word]:
        """The previous hypothesis's uncommitted words (what :meth:`finish` would commit)."""
        return list(self._previous)

    def recent(self) -> list[Word]:
        """The last committed words (at most 64), oldest first."""
        return list(self._committed)

    def insert(self, hypothesis: list[Word]) -> list[Word]:
        """Take the next hypothesis (words in order, channel times); return the words it commits."""
        new = [w for w in hypothesis if w.key and w.start > self.last_end - _START_SLACK_S]
        if new and self._committed and abs(new[0].start - self.last_end) < _OVERLAP_NEAR_S:
            committed = list(self._committed)
            for n in range(min(len(committed), len(new), _OVERLAP_NGRAM_WORDS), 0, -1):
                if [w.key for w in committed[-n:]] == [w.key for w in new[:n]]:
                    new = new[n:]
                    break
        agreed = 0
        while (
            agreed < len(new)
            and agreed < len(self._previous)
            and new[agreed].key == self._previous[agreed].key
        ):
            agreed += 1
        commit = new[:agreed]
        self._previous = new[agreed:]
        self._remember(commit)
        return commit

    def finish(self, hypothesis: list[Word] | None = None) -> list[Word]:
        """Commit everything: the words of ``hypothesis`` after the last commit (a final decode
        of a finished utterance), or else the previous hypothesis's pending words."""
        agreed = self.insert(hypothesis) if hypothesis is not None else []
        rest = self._previous
        self._previous = []
        before = [*self._committed, *rest[:-1]]
        if rest and before and is_echo(rest[-1], before[-1]):
            rest = rest[:-1]
        self._remember(rest)
        return agreed + rest

    def forget_pending(self) -> None:
        """Drop the uncommitted hypothesis (its audio was cut from the buffer)."""
        self._previous = []

    def _remember(self, commit: list[Word]) -> None:
        for word in commit:
            self._committed.append(word)
            self.last_end = max(self.last_end, word.end)


def is_echo(word: Word, before: Word) -> bool:
    """Whether ``word`` re-hears the tail of ``before``, a word ending a sentence (see the
    module docstring): "Tamento" after "exactamente?", not "Okay." after "Okay.", not "Bye."
    after "Thanks."."""
    echo, previous = word.key, before.key
    if not before.ends_sentence or word.end - word.start > ECHO_MAX_S or echo == previous:
        return False
    run = difflib.SequenceMatcher(None, echo, previous, autojunk=False).find_longest_match()
    return (
        run.size >= ECHO_MIN_LETTERS
        and 2 * run.size > len(echo)
        and len(previous) - (run.b + run.size) <= ECHO_MIN_LETTERS // 2
    )
