"""The checkable facts of a sentence, normalised so that they can be looked up in a source text.

Used by the hallucination guard (:mod:`privcloud.workloads.grounding`). A fact is a number,
clock time, date or day, phone number, e-mail address or proper name. Each carries the *keys*
under which the source must hold it: ``num:1200`` for "1,200", "$1,200" or "twelve hundred";
``time:10:30`` for "10:30", "10.30" after "at", "ten thirty" or "half past ten" (a meridiem,
when stated, must agree: ``time:10:30pm``); ``day:monday``; ``date:3-3`` for "March 3" or "the
3rd of March". Phone numbers compare by digits, names as lower-case token sequences.

The source is read *generously* (:class:`SourceIndex`): every reading of an ambiguous token is
indexed ("10.30" is both 10.3 and half past ten, "up to 6.15 times" both a decimal and a time; a
time without am/pm matches either; "1.4x" is 1.4), so that a faithful summary is not dropped for
a transcript's spelling. A summary sentence is read
*strictly* (:func:`extract_facts`): one reading per token, and a meridiem only when stated.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_lexicon import STOPWORDS
from privcloud.workloads.grounding_scan import Fact, Scanner, name_tokens
from privcloud.workloads.text.numbers import CARDINALS
from privcloud.workloads.text.stemming import stem

__all__ = ["Fact", "SourceIndex", "content_words", "extract_facts", "name_tokens"]

_SPEAKER_LABEL_RE = re.compile(r"(?im)^[ \t]*speaker[ \t]*\w{1,3}[ \t]*:")
# "anna dot lee at example dot com". The parts are bounded ({0,8}) and start where a word starts
# (the lookbehind, not \b, which also holds after each hyphen): unbounded, every word of a long
# "x dot x dot ..." run would rescan the rest of the run looking for " at ".
_SPOKEN_EMAIL_RE = re.compile(
    r"(?<![a-z0-9_-])((?:[a-z0-9_-]+ dot ){0,8}[a-z0-9_-]+) at "
    r"((?:[a-z0-9-]+ dot ){1,8}[a-z]{2,})\b"
)


def extract_facts(sentence: str) -> list[Fact]:
    """The checkable facts of one sentence, each read one way (see the module docstring).

    Proper names are runs of capitalised words that are not sentence-initial common words,
    weekdays, months, titles or greetings; a bare "one" or ordinal is not a number. A word
    opening a clause before a name ("While Tensor Product ...") is no part of it.
    """
    return [f for f in Scanner(sentence, generous=False).facts() if f.keys or f.kind == "name"]


class SourceIndex:
    """Every reading of every fact of a source text, for :meth:`has` lookups."""

    def __init__(self, source: str) -> None:
        # "Speaker 2:" labels a turn; its number is no fact of the conversation.
        source = _SPEAKER_LABEL_RE.sub(lambda m: " " * len(m.group()), source)
        scanner = Scanner(source, generous=True)
        self._keys: set[str] = set()
        for fact in scanner.facts():
            self._keys.update(fact.keys)
        lowered = " ".join(source.lower().split())
        for local, domain in _SPOKEN_EMAIL_RE.findall(lowered):
            address = f"{local.replace(' dot ', '.')}@{domain.replace(' dot ', '.')}"
            self._keys.add(f"email:{address}")
        self._digit_runs = []
        i = 0
        while i < len(scanner.tokens):
            digits, end, _ = scanner.digit_run(i)
            if digits:
                self._digit_runs.append(digits)
            i = max(end, i + 1)
        self._names = " " + " ".join(name_tokens(source)) + " "
        # Words the source writes in lower case: a capitalised one in a summary ("Engineers
        # found ...") opens a sentence, it is no name.
        self._plain = frozenset(re.findall(r"(?<![\w'-])[a-z][a-z]+(?![\w'-])", source))
        self._plain_stems = frozenset(stem(w) for w in self._plain)
        self._loose_names = f" {_loose(self._names)} "
        self._proper = frozenset(w.lower() for w in _PROPER_RE.findall(source))

    def has(self, fact: Fact) -> bool:
        """Whether the source attests ``fact``."""
        if fact.kind == "phone":
            return any(fact.value in run for run in self._digit_runs)
        if fact.kind == "name":
            return self._has_name(fact.value) or self._has_name(_common_parts_removed(fact, self))
        return any(key in self._keys for key in fact.keys)

    def _has_name(self, value: str) -> bool:
        return bool(value) and (
            f" {value} " in self._names
            or f" {_loose(value)} " in self._loose_names
            or all(w in self._plain or stem(w) in self._plain_stems for w in value.split())
        )

    def plain(self, word: str) -> bool:
        """Whether the source writes ``word`` (lower case) in lower case and never capitalised
        inside a sentence: a common word, no part of a name."""
        return (word in self._plain or stem(word) in self._plain_stems) and word not in self._proper


_PROPER_RE = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][\w-]*")
# A lower-case tail of a hyphenated name: "LDA-based", "BERT-like".
_LOWER_TAIL_RE = re.compile(r"-[a-z][a-z-]*\b")


def _common_parts_removed(fact: Fact, index: SourceIndex) -> str:
    """The name of ``fact`` without what makes it no name: hyphenated lower-case tails
    ("LDA-based" is "LDA") and a first word the source writes only as a common word
    ("Existing Chinese" opening a sentence is "Chinese")."""
    tokens = name_tokens(_LOWER_TAIL_RE.sub("", fact.text))
    if len(tokens) > 1 and index.plain(tokens[0]):
        tokens = tokens[1:]
    value = " ".join(tokens)
    return "" if value == fact.value else value


def _loose(names: str) -> str:
    """Name tokens without digits and plural or possessive "s" ("VQA-v2" = "VQA-v", "the
    Novaks'" = "Novak", "hidden Markov models" = "Hidden Markov Model")."""
    tokens = (re.sub(r"\d+", "", t) for t in names.split())
    return " ".join(t[:-1] if len(t) > 3 and t.endswith("s") else t for t in tokens if t)


_CURRENCY_WORDS = {"$": "dollar", "€": "euro", "£": "pound", "%": "percent"}


def content_words(text: str, *, source: bool = False) -> set[str]:
    """The stemmed content words of ``text`` (no stopwords), with its numbers, times, dates,
    phone numbers and e-mails as fact keys, so that "$45" and "forty five" count as one word.

    ``source=True`` reads the text generously (every reading of each fact; for a passage), else
    strictly (one key per fact; for the sentence whose words are looked for).
    """
    words = re.findall(r"[^\W_]+(?:'[a-z]+)?", text.lower().replace("\u2019", "'"))
    found = {
        stem(base)
        for w in words
        if (base := w.removesuffix("'s")) not in STOPWORDS
        and w not in STOPWORDS
        and base not in CARDINALS
        and not base.isdigit()
        and base not in ("oh", "am", "pm", "o'clock")
    }
    found.update(_CURRENCY_WORDS[symbol] for symbol in _CURRENCY_WORDS if symbol in text)
    for fact in Scanner(text, generous=source).facts():
        if fact.kind in ("number", "time", "date", "phone", "email") and fact.keys:
            found.update(fact.keys if source else fact.keys[:1])
    return found
