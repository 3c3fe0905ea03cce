"""Negators read word by word for the polarity check of the summary guard
(:mod:`privcloud.workloads.grounding_polarity`): where a negator is, the negators that negate
nothing, and the double negations that make a positive claim.

* **Negators that negate nothing** are left out before a sentence is split into clauses: the
  "not" of "not only ... but also" (it adds; with no "but", "also" or "as well" after it,
  "the method is not only based on alignments" denies); the other side of a yes-no choice ("predict
  whether two children should be swapped *or not*", "whether or not", "swapping or not
  swapping": neither side is denied, so a summary's "should not be swapped" finds no negation
  there); and "from nowhere", "out of nowhere" ("new phrases can appear from nowhere" states
  that they appear).
* **A negator before a word negated by its prefix** ("not *unknown*", "not *unable*") states the
  word without it (:func:`double_negation_denied`).
* **A negator before a gap word** (:data:`GAP_WORDS`: "resources are not *missing*", "does not
  have *limitation*", "is not *challenging*") states that there is no gap: a positive claim,
  which the source's gap contradicts ("there is a *lack* of NLP resources", "named entities
  are the most *difficult* phrases to translate", "Wikipedia does *not* contain all entities")
  where a plain negation stands on it (:func:`gap_denied`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.text.negation import negated

if TYPE_CHECKING:
    from privcloud.workloads.grounding_polarity import Clause

__all__ = [
    "COORDINATION_RE",
    "GAP_WORDS",
    "STATED_WORDS",
    "TOKEN_RE",
    "double",
    "double_negation_denied",
    "gap_denied",
    "gap_words",
    "negator_at",
    "prefix_negated",
    "without_open_choices",
]

TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
COORDINATION_RE = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)
#: Content words that a positive source clause must share with a negated summary clause to
#: state what the summary denies.
STATED_WORDS = 2

# "not only ... but also" adds, it does not deny; "not only" with no "but", "also" or "as well"
# after it does ("there is not only one tag for a word": there are more).
_NOT_ONLY_RE = re.compile(
    r"\bnot\s+(?=(?:only|just|merely|simply)\b(?=.*\b(?:but|also|as\s+well)\b))", re.IGNORECASE
)
# Negators that negate nothing: the other side of a yes-no choice, after "whether" or "if"
# and before the clause ends ("whether X should be swapped or not"), "whether or not", "X or
# not X"; and "from nowhere", "out of nowhere". "If it is cancelled or not refunded" keeps
# its negation: "not" there denies a word of its own.
_NOT_NEGATING = (
    (re.compile(r"(\b(?:whether|if)\b[^,;:.!?]*?)\s+or\s+not\b(?!\s+\w)", re.I), r"\1"),
    (re.compile(r"\bwhether\s+or\s+not\b", re.I), "whether"),
    (re.compile(r"\b(\w+)\s+or\s+not\s+\1\b", re.I), r"\1"),
    (re.compile(r"\b(?:from|out\s+of)\s+nowhere\b", re.I), ""),
)
# A negator before a word negated by its prefix ("not unknown", "cannot be unable"): the two
# make a positive statement of the word without its prefix.
_DOUBLE_NEGATION_RE = re.compile(
    r"(?:\b(\w+)\s+)?\b(not|never|n't|cannot)\s+(be\s+|been\s+)?(?:\w+ly\s+)?"
    r"(un(?!der|i|til|less)[a-z]{4,})\b",
    re.IGNORECASE,
)
# Before "not" and a verb in un- ("did not unsubscribe", "to not unlock"): the verb undoes an
# action and the negation is an ordinary one, not a double negation.
_VERB_NEGATORS = frozenset(
    [
        *("do", "does", "did", "will", "would", "shall", "should"),
        *("can", "could", "may", "might", "must", "to"),
    ]
)
# Prefixes that negate the word they are written on: "unavailable", "insufficient",
# "impossible" ("non-trivial" is split at the hyphen).
_NEGATING_PREFIXES = ("un", "in", "im", "ir", "il")
#: Letters that a word negated by a prefix keeps without it: "inform" is no "form", "unless"
#: no "less".
_PREFIXED_STEM = 5
#: Words that state a gap, a failure or a hardship: "there is a *lack* of resources", "named
#: entities are *missing* from Wikipedia", "questions are *rare* in the treebank", "this
#: *limits* generalization", "translating names is *challenging*". A negator before one of
#: them makes a double negation, a positive claim ("resources are not missing": they are
#: there; "it does not have problems").
GAP_WORDS = frozenset(
    content_words(
        """lack missing absent absence rare scarce scarcity limited limitation insufficient
        unable fail failure difficult difficulty hard challenging problem problematic issue
        suffer prevent restrict little seldom hardly ignore neglect overlook unexplored
        impossible unlikely"""
    )
)
#: The gap words that state a gap in a source clause: not the nouns that name a task as often
#: as a gap ("we address the *problem* of answering questions", "the *challenge* of").
_GAP_STATED = GAP_WORDS - frozenset(content_words("problem problematic issue challenge"))


def without_open_choices(sentence: str) -> str:
    """``sentence`` less the negators that negate nothing: "not only" before a "but", "also" or
    "as well" ("not only fast but also cheap" adds), the other side of a yes-no choice
    ("predict whether the nodes should be swapped or not" reads "predict whether the nodes
    should be swapped") and "from nowhere" ("phrases can appear from nowhere" reads "phrases
    can appear")."""
    text = _NOT_ONLY_RE.sub("", sentence)
    for pattern, replacement in _NOT_NEGATING:
        text = pattern.sub(replacement, text)
    return text


def negator_at(tokens: Sequence[str], k: int) -> bool:
    """Whether ``tokens[k]`` negates: a negator, or "no" before a word ("no fee")."""
    following = tokens[k + 1] if k + 1 < len(tokens) else ""
    return negated(tokens[k]) or (tokens[k].lower() == "no" and following[:1].isalnum())


def double(piece: str) -> bool:
    """Whether a part of ``piece`` not split by "and" or "or" holds two negators."""
    return any(
        sum(negated(t) for t in TOKEN_RE.findall(part)) > 1 for part in COORDINATION_RE.split(piece)
    )


def gap_words(piece: str, *, source: bool) -> frozenset[str]:
    """The content words of the parts of ``piece`` (split at "and", "or") where a negator's
    next content word is one of :data:`GAP_WORDS` ("questions that are not *rare* in existing
    benchmarks" of "... without full annotations and questions that are not rare in existing
    benchmarks"), none of a part that holds two negators."""
    found: set[str] = set()
    for part in COORDINATION_RE.split(piece):
        if double(part):
            continue
        tokens = TOKEN_RE.findall(part)
        for k in range(len(tokens)):
            following = (content_words(t) for t in tokens[k + 1 :])
            if negator_at(tokens, k) and next((w for w in following if w), set()) & GAP_WORDS:
                found.update(content_words(part, source=source))
    return frozenset(found)


def gap_denied(clause: Clause, source: Sequence[Clause]) -> bool:
    """Whether the negated ``clause`` denies a gap (:attr:`Clause.gap`: "resources are not
    *missing*", "translating names is not *challenging*") that a clause of ``source`` states
    (one that denies, by a negator or a word: "Wikipedia does *not* contain all entities",
    "there is a *lack* of NLP resources", "names are the most *difficult* phrases to
    translate"; or one holding a gap word: "*preventing* generalization to unseen patterns")
    with at least :data:`STATED_WORDS` of the words of the clause's denying part besides the
    gap words, more than any clause of ``source`` that denies the gap too ("resources are *not
    lacking*"). A double negation is a positive claim, so the source's gap contradicts it,
    where a plain negation ("resources are not *available*") stands on it."""
    words = clause.gap - GAP_WORDS
    if not words:
        return False
    denied = max(
        (len(c.words & words) for c in source if c.negated and c.scope & GAP_WORDS), default=0
    )
    stated = max(
        (
            len(c.words & words)
            for c in source
            if not (c.negated and c.scope & GAP_WORDS) and (c.denying or c.words & _GAP_STATED)
        ),
        default=0,
    )
    return stated >= STATED_WORDS and stated > denied


def double_negation_denied(sentence: str, source: Sequence[Clause]) -> bool:
    """Whether ``sentence`` denies a prefix-negated word ("*not unknown* to analyzers", "*not
    unable* to extract") that a positive clause of ``source`` states ("unknowns represent 5% to
    10% of the tokens", "we were still unable to recover it") with at least
    :data:`STATED_WORDS` more of the sentence's words, and no source clause denies. After a
    do-auxiliary, a modal or "to", with no "be" between, the un-word is a verb that undoes an
    action and the negation an ordinary one ("did not unsubscribe"), left alone."""
    mine = frozenset(content_words(sentence))
    for match in _DOUBLE_NEGATION_RE.finditer(sentence):
        before, negator, be, undoing = match.groups()
        verb = negator.lower() == "cannot" or (before or "").lower() in _VERB_NEGATORS
        if verb and not be:  # "did not unsubscribe": a verb that undoes, simply denied
            continue
        word = frozenset(content_words(undoing))
        if not word:
            continue
        stated = any(
            word <= c.words and not c.negated and len((c.words & mine) - word) >= STATED_WORDS
            for c in source
        )
        if stated and not any(word & c.scope for c in source):
            return True
    return False


def prefix_negated(clause: Clause, words: Set[str]) -> bool:
    """Whether ``clause`` holds one of ``words`` (stemmed) negated by a prefix ("unavailable"
    for "available")."""
    return any(
        w.startswith(p) and len(w) - len(p) >= _PREFIXED_STEM and w[len(p) :] in words
        for w in clause.words
        for p in _NEGATING_PREFIXES
    )
