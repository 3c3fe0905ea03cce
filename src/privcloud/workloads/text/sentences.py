"""The sentences of a text, with their offsets: the one sentence splitter of the workloads.

One algorithm; each caller picks its :class:`SplitRules` (the hallucination guard drops speaker
labels and cuts by words, ``extract`` ends sentences at semicolons too, ``translate`` splits
before lowercase words and cuts by characters):

1. Every line break ends a sentence (the line breaks of :meth:`str.splitlines`).
2. Inside a line, a sentence ends after a run of ``.`` ``!`` ``?`` ``…`` (and ``;`` with
   :attr:`SplitRules.semicolons`) followed by closing quotes or brackets, then white space or
   the line's end; and after a run of the CJK full stops (U+3002, U+FF01, U+FF1F: no space
   follows them).
   A decimal, a clock time, an e-mail address or a URL ("3.5", "10.30", "anna@x.com") has no
   white space after its dots, so it never ends a sentence.
3. A single full stop after an abbreviation (:data:`ABBREVIATIONS`: "Mr.", "e.g.", "a.m.")
   ends none; "No." only before a digit ("No. 5").
4. Unless :attr:`SplitRules.split_before_lowercase`, a run before a lowercase letter ends none
   ("at 10.30 a.m. on Monday", "ask the dr. about it"), except a semicolon ("lunch at 12; call
   Bob at 3").
5. With :attr:`SplitRules.line_labels`, a line's speaker label ("Speaker 1:", "Anna:", "Dr
   Lee:"), bullet, list number or timestamp, and a bullet that opens a sentence, are left out.
6. A sentence of more than :attr:`SplitRules.max_words` words or
   :attr:`SplitRules.max_chars` characters is cut: after the last comma in the second half of
   what fits, else after the last word that fits, else (one long word) hard.

Sentences are stripped of white space, never empty, in order, and never overlap:
``text[s.start:s.end] == s.text`` for each.

Linear time, whatever the text: every pattern is matched from the start of its run only (a
lookbehind) and never re-enters it (possessive quantifiers), the abbreviation test reads a
bounded window, and a cut advances by at least half of what fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from privcloud.errors import UsageError

__all__ = ["ABBREVIATIONS", "SplitRules", "Span", "split_sentences"]

#: Words whose full stop ends no sentence (lower case, without the final stop).
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "a.m", "p.m"}
    | {"approx", "inc", "ltd", "co", "dept", "est", "fig", "ave", "rd"}
)
#: Abbreviations only before a digit ("No. 5"): elsewhere the word ends a sentence ("I said no.").
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos"})
#: Characters before a full stop searched for the word it ends (abbreviations are short): a
#: bounded window keeps splitting linear however many stops in a row are not sentence ends.
_WORD_WINDOW = 40
_STOPS = ".!?\u2026"
_CJK_STOPS = "\u3002\uff01\uff1f"
_CLOSERS = "\"'\u201d\u2019)\\]\u00bb\u300d\u300f\uff09"


def _stop_pattern(stops: str) -> re.Pattern[str]:
    every = re.escape(stops) + _CJK_STOPS
    return re.compile(
        rf"(?<![{every}])(?P<run>[{every}]++)"
        rf"(?:(?<=[{_CJK_STOPS}])[{_CLOSERS}]*+|[{_CLOSERS}]*+(?=\s|$))"
    )


_STOP_RE = _stop_pattern(_STOPS)
_STOP_OR_SEMICOLON_RE = _stop_pattern(_STOPS + ";")
_NEXT_RE = re.compile(r"\s*+(\S)")
_WORD_RE = re.compile(r"\S+")
# A line's leading speaker label ("Speaker 1:", "Anna:", "Dr Lee:"), bullet, list number or
# timestamp. Every part is bounded or anchored at the line start: one try per line.
_LINE_PREFIX_RE = re.compile(
    r"[ \t]*(?:\[\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?\][ \t]*)?"
    r"(?:(?:[-*\u2022>]+|\d{1,2}[.)])[ \t]+)?"
    r"(?:(?:[Ss]peaker[ \t]*\w{1,3}|[A-Z][\w'\u2019.-]*(?:[ \t]+[A-Z][\w'\u2019.-]*){0,2})"
    r"[ \t]*:[ \t]+)?"
)
_BULLET_RE = re.compile(r"(?:[-*\u2022]+\s+)+")


@dataclass(frozen=True)
class Span:
    """A piece of a text and its ``[start, end)`` offsets in that text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class SplitRules:
    """How one caller splits (see the module docstring for the rules they switch)."""

    #: A ``;`` ends a sentence (a note's items: "lunch at 12; call Bob at 3").
    semicolons: bool = False
    #: A stop ends a sentence even before a lowercase letter (text in any language, where
    #: only the length of a piece matters).
    split_before_lowercase: bool = False
    #: Speaker labels, bullets, list numbers and timestamps are left out (transcripts).
    line_labels: bool = False
    #: Most words in a sentence (None: no bound).
    max_words: int | None = None
    #: Most characters in a sentence (None: no bound).
    max_chars: int | None = None

    def __post_init__(self) -> None:
        for bound in (self.max_words, self.max_chars):
            if bound is not None and bound < 1:
                raise UsageError("a sentence bound must be positive")


def split_sentences(text: str, rules: SplitRules) -> list[Span]:
    """The sentences of ``text`` by ``rules``, in order, with offsets into ``text`` (see the
    module docstring for the rules and what the result promises)."""
    spans: list[Span] = []
    line_start = 0
    for line in text.splitlines(keepends=True):
        body_start, line_end = line_start, line_start + len(line)
        if rules.line_labels:
            prefix = _LINE_PREFIX_RE.match(text, line_start, line_end)
            body_start = prefix.end() if prefix else line_start
        for start, end in _split_line(text, body_start, line_end, rules):
            for piece_start, piece_end in _cut(text, start, end, rules):
                bullet = (
                    _BULLET_RE.match(text, piece_start, piece_end) if rules.line_labels else None
                )
                first = bullet.end() if bullet else piece_start
                spans.append(Span(text[first:piece_end], first, piece_end))
        line_start = line_end
    return spans


def _split_line(text: str, start: int, end: int, rules: SplitRules) -> Iterator[tuple[int, int]]:
    """The stripped, non-empty ``(start, end)`` of the sentences of ``text[start:end]`` (one
    line) by rules 2 to 4."""
    pattern = _STOP_OR_SEMICOLON_RE if rules.semicolons else _STOP_RE
    for match in pattern.finditer(text, start, end):
        following = _NEXT_RE.match(text, match.end(), end)
        after = following.group(1) if following else ""
        run = match.group("run")
        if after.islower() and not rules.split_before_lowercase and not run.endswith(";"):
            continue
        if run == "." and _abbreviation(text, start, match.start(), after):
            continue
        yield from _stripped(text, start, match.end())
        start = match.end()
    yield from _stripped(text, start, end)


def _abbreviation(text: str, start: int, stop: int, after: str) -> bool:
    """Whether the full stop at ``stop`` ends an abbreviation (``start``: where its sentence
    starts; ``after``: the character after the white space that follows it)."""
    words = text[max(start, stop - _WORD_WINDOW) : stop].split()
    word = words[-1].lower().lstrip("\"'(\u201c\u2018[") if words else ""
    return word in ABBREVIATIONS or (word in _NUMBER_ABBREVIATIONS and after.isdigit())


def _stripped(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _cut(text: str, start: int, end: int, rules: SplitRules) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` (stripped) in pieces within the rules' bounds (rule 6)."""
    max_words, max_chars = rules.max_words, rules.max_chars
    if max_words is None and max_chars is None:
        yield start, end
        return
    short = max_words is None or end - start <= 2 * max_words - 1  # too short for more words
    if short and (max_chars is None or end - start <= max_chars):
        yield start, end
        return
    chars = max_chars if max_chars is not None else end - start
    words = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]
    limit = max_words if max_words is not None else len(words)
    first = 0
    while first < len(words):
        piece_start, word_end = words[first]
        if word_end - piece_start > chars:  # one word longer than a piece: cut hard
            yield piece_start, piece_start + chars
            words[first] = (piece_start + chars, word_end)
            continue
        last = first
        while (
            last + 1 < len(words)
            and last + 1 - first < limit
            and words[last + 1][1] - piece_start <= chars
        ):
            last += 1
        if last + 1 < len(words):
            for index in range(last, first + (last - first + 1) // 2, -1):
                if text[words[index][1] - 1] == ",":
                    last = index
                    break
        yield piece_start, words[last][1]
        first = last + 1
