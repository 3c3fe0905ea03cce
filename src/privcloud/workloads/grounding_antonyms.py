"""The antonym rules of the summary guard's polarity check
(:mod:`privcloud.workloads.grounding_polarity`; docs/adr/0031-wordnet-antonyms.md).

WordNet's direct antonyms (:mod:`privcloud.workloads.text.antonyms`) read three ways, each
narrowed by a red-team review of call-style summaries (docs/features.md, "Antonyms"):

* a positive summary clause that restates a part of the closest source clause with one word
  turned into its antonym is a contradiction (:func:`contrary_stated`): "the room is *noisy*"
  against "the room is *quiet*";
* a negated summary clause is supported by a source part stating the antonym of the word it
  denies (:func:`states_contrary`): "the room is not *noisy*" on "the room is *quiet*";
* ("forgot to X" denies X: a denial verb of :mod:`~privcloud.workloads.grounding_polarity`.)

Besides WordNet's, a short table of contraries that calls state in other words ("on time" and
"late", "fine" and "problem"): :mod:`privcloud.workloads.grounding_idioms`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from privcloud.workloads.grounding_idioms import contraries
from privcloud.workloads.text.antonyms import antonyms, unprefixed
from privcloud.workloads.text.stemming import stem

if TYPE_CHECKING:
    from privcloud.workloads.grounding_polarity import Clause

__all__ = ["contrary_stated", "states_contrary", "states_phrases"]


def _read(clause: Clause) -> frozenset[str]:
    """The words of ``clause``, its phrases of the table read as one mark each ("on time")."""
    parts = frozenset().union(*clause.parts)
    return parts if any(w.startswith("=") for w in parts) else clause.words


def _contrary(clause: Clause, words: Set[str], *, prefixed: bool = True) -> frozenset[str]:
    """The words of the positive source ``clause`` that are antonyms of ``words`` (none when
    it is negated, or a question or a condition that states nothing), or their contraries
    of :mod:`~privcloud.workloads.grounding_idioms`; those made by adding a negating prefix
    to a word of ``words`` only when ``prefixed``."""
    if clause.negated or clause.question or clause.asked:
        return frozenset()
    stated = _read(clause)
    return frozenset(
        a
        for w in words
        for a in antonyms(w, prefixed=prefixed) | unprefixed(w) | contraries(w, denials=True)
        if a in stated
    )


def states_contrary(source: Clause, clause: Clause, said: Set[str]) -> bool:
    """Whether a part (split at "and", "or") of the positive ``source`` clause states the
    antonym of the word the negated ``clause`` denies (:attr:`Clause.head`; not of a later
    word of its scope: "can not take *multiple* hypotheses" is no "takes a *single* one"),
    and not that word itself, and every other word of the clause that the source ``said``
    anywhere: "the room is *quiet*" supports "the room is not *noisy*", "the results are
    *normal*" supports "they are not *abnormal*"; "the shop closes at 6 pm on weekdays and
    at 4 on Saturday" supports no "the shop is not *open* on Saturday" (the part that closes
    has no Saturday). Not a clause that says what may be (:attr:`Clause.hedged`: "if it
    snows, the road will be *dangerous*" supports no "the road will not be *safe*"). The other
    way, an antonym by prefix is :func:`prefix_negated`'s to read ("not *credible*" is no
    restatement of "*incredible*")."""
    if source.hedged:
        return False
    words = _read(clause)
    for word in clause.head - _read(source):
        others = (words - {word}) & said
        opposite = _contrary(source, {word}, prefixed=False)
        if others and any(part & opposite and others <= part for part in source.parts):
            return True
    return False


def states_phrases(source: Clause, clause: Clause) -> bool:
    """Whether ``source`` states each phrase of the table that the negated ``clause`` denies
    (:attr:`Clause.head`): "the jacket is in stock" does, "it is out of stock" does not,
    though both hold "stock"."""
    return {w for w in clause.head if w.startswith("=")} <= _read(source)


# Verbs whose WordNet antonyms contradict them; the others' are mostly converses, one event
# from its two sides ("lost" and "found", "give" and "take", "leave" and "arrive").
_CONTRADICTORY_VERBS = frozenset(
    stem(w)
    for w in re.findall(
        r"\w+",
        "accept reject refuse increase decrease pass fail succeed manage include exclude agree "
        "disagree allow deny forbid permit open close shut remember forget",
    )
)
# Words that in calls are mostly adverbs or particles ("call *back*", "*still* waiting",
# "*even* though", "in the *evening*", "*first*"), never read for their antonyms.
_NOT_CONTRARY = frozenset(
    stem(w)
    for w in re.findall(
        r"\w+",
        "back still even first second last "
        # participles of converse verbs that WordNet also pairs as adjectives: "Brightline
        # *won* the tender" is "we *lost* the tender to Brightline"
        "lost won found saved",
    )
)


# Words of opening hours: with a time, "open until 5" and "closes at 5" say one thing.
_HOURS = frozenset(stem(w) for w in ("open", "close", "closed", "shut"))


def _timed(words: Set[str]) -> bool:
    return "until" in words or any(w.startswith(("time:", "num:", "date:")) for w in words)


def _opposed(word: str, other: str, *, timed: bool = False) -> bool:
    """Whether ``other`` contradicts ``word``: an adjective's or adverb's antonym, or the
    antonym of a verb that contradicts; not two words of opening hours in a ``timed`` clause
    ("the bar is open until 2 am" is "the bar closes at 2 am")."""
    if timed and word in _HOURS and other in _HOURS:
        return False
    if other in antonyms(word, verbs=False) | contraries(word):
        return True
    return (
        word in _CONTRADICTORY_VERBS and other in _CONTRADICTORY_VERBS and other in antonyms(word)
    )


def contrary_stated(
    clause: Clause,
    candidates: Sequence[Clause],
    said: Set[str],
    contrast: Set[str] = frozenset(),
) -> bool:
    """Whether the positive ``clause`` restates a part (split at "and", "or") of the
    candidate clause closest to it (sharing the most of its words) with one word turned into
    its antonym (:func:`_opposed`), a word the source never states (none of those it
    ``said``): the part holds the antonym and every other word of the clause ("the room is
    *noisy*" against "the room is *quiet* and the staff are friendly"; "the client *rejected*
    the offer" against "the client *accepted* the offer"; not "Brightline *won* the tender"
    against "we *lost* the tender to Brightline", a converse). A word whose antonym the clause
    states too is its own contrast ("*manual* evaluation is costly and the *automatic*
    counterpart unreliable"), and so are the ``contrast`` words (after the sentence's "rather
    than"): not compared."""
    words = _read(clause)
    added = frozenset(
        w
        for w in words - contrast - said - _NOT_CONTRARY
        if not (antonyms(w) | contraries(w)) & words
    )
    if not added:
        return False
    rest = words - added
    timed = _timed(words)
    most = max((len(_read(c) & rest) for c in candidates), default=0)
    return most > 0 and any(
        rest <= part
        and any(_opposed(w, a, timed=timed) for w in added for a in _contrary(c, {w}) & part)
        for c in candidates
        if len(_read(c) & rest) == most
        for part in c.parts
    )
