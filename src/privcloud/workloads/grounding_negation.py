"""Negators read word by word for the polarity check of the summary guard
(:mod:`privcloud.workloads.grounding_polarity`): where a negator is, the negators that negate
nothing, the double negations that make a positive claim, the words negated by a prefix and
the negations far from a summary sentence's place in the source.

* **Negators that negate nothing** are left out before a sentence is split into clauses: the
  "not" of "not only ... but also" (it adds; with no "but", "also" or "as well" after it,
  "the method is not only based on alignments" denies); the other side of a yes-no choice ("predict
  whether two children should be swapped *or not*", "whether or not", "swapping or not
  swapping": neither side is denied, so a summary's "should not be swapped" finds no negation
  there); and "from nowhere", "out of nowhere" ("new phrases can appear from nowhere" states
  that they appear).
* **A negator before a word negated by its prefix** ("not *unknown*", "not *unable*") states the
  word without it (:func:`double_negation_denied`).
* **A word negated by its prefix** ("unavailable") supports a summary's negation of the word
  ("not available") in a clause of the same thing (:func:`prefix_negated`).
* **A far negation** supports a negated clause of a summary sentence joining two statements,
  or contradicts a positive one, when it holds the words of the summary's part that the rest
  of the sentence does not use (:func:`negated_elsewhere`, :func:`denied_elsewhere`).
* **A negator before a gap word** (:data:`GAP_WORDS`: "resources are not *missing*", "does not
  have *limitation*", "is not *challenging*") states that there is no gap: a positive claim,
  which the source's gap contradicts ("there is a *lack* of NLP resources", "named entities
  are the most *difficult* phrases to translate", "Wikipedia does *not* contain all entities")
  where a plain negation stands on it (:func:`gap_denied`). "Under explored", "under-staffed"
  are gap words as "underexplored" is.
* **A word negated by its prefix** in the source ("Dr. Lee is *unavailable*") denies a
  summary's positive clause of the same thing ("Dr. Lee is *available*"):
  :func:`prefix_denied`.
* **A far statement** contradicts a negated clause of a summary sentence joining two
  statements when it holds the words of the negated part and no denial anywhere holds the
  word it negates (:func:`stated_elsewhere`), the converse of :func:`negated_elsewhere`.
* **"Not X without Y"** denies "X without Y": a source sentence stating X with "without" Y
  contradicts it ("can *not* exploit web data *without* cost" against "we can exploit web
  data, *without* any annotation cost": :func:`without_denied`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING

from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.grounding_lexicon import (
    PERIOD_WORDS,
    RELATIVE_DAYS,
    TITLES,
    WEEKDAY_NAMES,
)
from privcloud.workloads.text.datewords import MONTHS
from privcloud.workloads.text.negation import negated, no_negates

if TYPE_CHECKING:
    from privcloud.workloads.grounding_polarity import Clause

__all__ = [
    "COORDINATION_RE",
    "GAP_WORDS",
    "MOVED_WORDS",
    "STATED_WORDS",
    "TOKEN_RE",
    "denied_elsewhere",
    "double",
    "double_negation_denied",
    "gap_denied",
    "gap_words",
    "negated_elsewhere",
    "negator_at",
    "prefix_denied",
    "prefix_negated",
    "stated_elsewhere",
    "without_denied",
    "without_open_choices",
]

TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
COORDINATION_RE = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)
#: Content words that a negated source clause must share with a negated summary clause to be
#: the statement whose negation the summary moved, or that a far source negation must share
#: with a summary clause (:func:`negated_elsewhere`, :func:`denied_elsewhere`).
MOVED_WORDS = 3
#: Content words that a positive source clause must share with a negated summary clause to
#: state what the summary denies.
STATED_WORDS = 2

# "not only ... but also" adds, it does not deny; "not only" with no "but", "also" or "as well"
# after it does ("there is not only one tag for a word": there are more).
# After a modal or "do", "not just/merely/simply" is the verb's negation ("we can not simply
# refund the ticket, but we can offer a voucher": no refund); "should not only X but also Y"
# still adds.
_NOT_ONLY_RE = re.compile(
    r"\bnot\s+(?=only\b(?=.*\b(?:but|also|as\s+well|too|even|either)\b))|"
    r"(?<!\bcan )(?<!\bcould )(?<!\bwill )(?<!\bwould )(?<!\bshould )(?<!\bmust )"
    r"(?<!\bmay )(?<!\bmight )(?<!\bdo )(?<!\bdoes )(?<!\bdid )"
    r"\bnot\s+(?=(?:just|merely|simply)\b(?=.*\b(?:but|also|as\s+well|too|even|either)\b))",
    re.IGNORECASE,
)
# Spoken, a sentence that opens with "Not only/just X," adds X ("Not just the hotel, the flight
# was cancelled too"); "it's not just ten minutes, it's over an hour" and "not only one seat"
# still deny.
_LEADING_NOT_ONLY_RE = re.compile(
    r"^(\W*(?:[A-Z][\w ]{0,20}:\s*)?)not\s+(?=(?:only|just)\b[^,]*,)", re.IGNORECASE
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
#: Letters that a word negated by a prefix keeps without it: "inform" is no "form", "unless"
#: no "less".
_PREFIXED_STEM = 5
# "in-", "im-", "ir-" and "il-" negate the adjectives (and their nouns) listed here only:
# "insufficient", "impossible", "irrelevant", "illegal". Elsewhere they do not: "*inflammable*"
# burns, "*invaluable*" help is worth much, an "*incredible*" offer is a good one, "*infamous*"
# is famous for something bad, and "install", "impress", "indifferent" deny no "stall",
# "press", "different".
_NEGATED_BY_IN = frozenset(
    content_words(
        """valid correct complete consistent consistency expensive possible possibility legal
        legitimate logical literate legible relevant relevance sufficient sufficiency accurate
        accuracy adequate appropriate efficient efficiency effective frequent visible regular
        responsible reversible secure security stable stability significant comparable
        compatible competent competence convenient convenience accessible acceptable applicable
        capable mature patient perfect polite practical precise probable proper rational
        sensitive formal active direct dependent dependence finite explicit exact flexible
        conclusive coherent decisive definite distinct divisible eligible feasible
        measurable mobile mortal moral moderate partial personal plausible replaceable
        reparable resistible retrievable separable tangible tolerable tolerant curable
        comprehensible conceivable correctness audible attentive advisable articulate
        coherence equality equitable evitable excusable explicable perceptible permeable
        pertinent balanced ability"""
    )
)
# "un-" negates most words it is written on ("unavailable", "unclear", "unable"), but on these
# verbs it undoes an action: "the auditor *uncovered* the payments" says nothing of whether
# they were covered, "he *uninstalled* the app" nothing of whether it was installed.
_UNDONE = frozenset(
    content_words(
        """cover covered dress dressed install installed subscribe subscribed leash leashed
        ravel ravelled screw screwed veil veiled button buttoned buckle buckled fasten
        fastened bundle bundled earth earthed block blocked freeze froze frozen follow followed
        friend friended settle settled nerve learn learned tangle tangled twist twisted
        register registered delete deleted publish published select selected check checked
        burden shackle shackled couple coupled clench clenched fetter sheathe scramble
        scrambled pause paused"""
    )
)
# Words that say when, not what: a day or a month shared with a summary clause does not make a
# source clause speak of the same thing ("the flight is unavailable on *Friday*").
_WHEN = WEEKDAY_NAMES | RELATIVE_DAYS | PERIOD_WORDS | frozenset(MONTHS)
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
        impossible unlikely underexplored understudied underinvestigated underresearched
        understaffed underfunded"""
    )
)
# "under explored", "under-staffed": one gap word, as "underexplored" is.
_UNDER_RE = re.compile(
    r"\bunder[\s-]+(explored|studied|investigated|researched|staffed|funded)\b", re.IGNORECASE
)
#: The gap words that state a gap in a source clause: not the nouns that name a task as often
#: as a gap ("we address the *problem* of answering questions", "the *challenge* of").
_GAP_STATED = GAP_WORDS - frozenset(content_words("problem problematic issue challenge"))


# A yes-no question embedded after a verb of knowing or asking states neither side, so a
# negation of that verb denies the knowing, not the question's clause: "I don't know *if* the
# hotel in Rome is booked" says nothing of "the hotel in Rome is not booked". The question is
# cut off as a clause of its own.
_EMBEDDED_QUESTION_RE = re.compile(
    r"\b((?:know|knows|knew|sure|certain|remember|remembers|recall|tell|check|checked|ask|asks|"
    r"asked|wonder|wonders|wondered|wondering|decide|decided|see|clear)\s+)(if|whether)\b",
    re.IGNORECASE,
)


def without_open_choices(sentence: str) -> str:
    """``sentence`` less the negators that negate nothing: "not only" before a "but", "also" or
    "as well" ("not only fast but also cheap" adds), the other side of a yes-no choice
    ("predict whether the nodes should be swapped or not" reads "predict whether the nodes
    should be swapped") and "from nowhere" ("phrases can appear from nowhere" reads "phrases
    can appear"); and an embedded yes-no question is cut off at its "if" or "whether" ("I
    don't know; if the hotel is booked")."""
    text = _LEADING_NOT_ONLY_RE.sub(r"\1", _NOT_ONLY_RE.sub("", sentence))
    for pattern, replacement in _NOT_NEGATING:
        text = pattern.sub(replacement, text)
    return _EMBEDDED_QUESTION_RE.sub(r"\1; \2", text)


def negator_at(tokens: Sequence[str], k: int) -> bool:
    """Whether ``tokens[k]`` negates: a negator, or "no" before a word ("no fee")."""
    following = tokens[k + 1] if k + 1 < len(tokens) else ""
    return negated(tokens[k]) or (tokens[k].lower() == "no" and no_negates(following))


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
        tokens = TOKEN_RE.findall(_UNDER_RE.sub(r"under\1", part))
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
    # A gap the clause says is over ("the invoice is not missing *anymore*") may be stated.
    if not words or clause.ceasing:
        return False
    denied = max(
        (len(c.words & words) for c in source if c.negated and c.scope & GAP_WORDS), default=0
    )
    stated = max(
        (
            len(c.words & words)
            for c in source
            if not (c.negated and c.scope & GAP_WORDS)
            and not c.question
            and (c.denying or c.words & _GAP_STATED)
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


# A sentential negator, then "without" later in the same part: "can *not* exploit web data
# *without* additional cost", "is *not* challenging *without* annotated examples".
_NOT_WITHOUT_RE = re.compile(
    r"\b(?:not|never|cannot|can't|\w+n't)\b(?P<denied>.*?)\bwithout\b(?P<absent>.*)",
    re.IGNORECASE,
)
_WITHOUT = frozenset(content_words("without"))


def without_denied(part: str, source: Sequence[Sequence[Clause]]) -> bool:
    """Whether ``part`` (of a summary sentence, not split by "and" or "or") denies "X without
    Y" ("the model can *not* exploit web data *without* additional cost": it needs the cost;
    "building systems is *not* challenging *without* annotated examples") where a sentence of
    ``source`` (its clauses) states X with "without" Y ("we can exploit large amounts of web
    data ..., without any annotation or evaluation cost"; "*without* annotated examples the
    problem becomes very *difficult*"): positive clauses of it, or clauses negated by
    "without" only, hold the negated word (for a gap word, any word that states a gap:
    :data:`GAP_WORDS`, not "problem" or "issue", which name a task as often) and every other
    word of X, a clause negated by "without" holds a word of Y, and the sentence shares at
    least :data:`MOVED_WORDS` of the part's words. A sentential denial of the word anywhere in
    the source ("without a receipt we *can't* refund it", "we *can't* deliver on Saturday
    without a fee") may state what the summary says: nothing is known."""
    match = _NOT_WITHOUT_RE.search(part)
    if match is None or negated(match["denied"]) or negated(match["absent"]):
        return False
    denied = [w for t in TOKEN_RE.findall(match["denied"]) for w in content_words(t)]
    absent = frozenset(content_words(match["absent"])) - _WITHOUT
    if not denied or not absent:
        return False
    head = denied[0]
    heads = _GAP_STATED if head in GAP_WORDS else frozenset([head])
    if any(c.negated and not c.nominal and c.words & heads for s in source for c in s):
        return False  # the source denies it itself ("we can't deliver it without a fee")
    words = frozenset(content_words(part)) - _WITHOUT
    for sentence in source:
        stating = [c for c in sentence if (not c.negated or c.nominal) and c.words & heads]
        lacking = [c for c in sentence if c.nominal and c.words >= _WITHOUT and c.words & absent]
        said = frozenset().union(*(c.words for c in (*stating, *lacking)))
        shared = (said & words) | {head}
        if stating and lacking and set(denied[1:]) <= said and len(shared) >= MOVED_WORDS:
            return True
    return False


def _prefixed(word: str, bare: Set[str]) -> bool:
    """Whether ``word`` (stemmed) is one of ``bare`` negated by a prefix: "un-" on any word but
    a verb it undoes (:data:`_UNDONE`: "uncovered" denies no "covered"), "in-", "im-", "ir-",
    "il-" on the words of :data:`_NEGATED_BY_IN` only ("insufficient" denies "sufficient",
    "inflammable" no "flammable"); at least :data:`_PREFIXED_STEM` letters left ("unless" no
    "less")."""
    stem = word[2:]
    if len(stem) < _PREFIXED_STEM or stem not in bare:
        return False
    if word.startswith("un"):
        return stem not in _UNDONE
    return word[:2] in ("in", "im", "ir", "il") and stem in _NEGATED_BY_IN


def prefix_negated(clause: Clause, negation: Clause) -> bool:
    """Whether ``clause`` holds a word of the scope of the negated summary clause
    ``negation`` negated by a prefix (:func:`_prefixed`: "unavailable" for "not available")
    and speaks of the same thing: its words (with those that only commas separate from it)
    share one of the words of ``negation`` outside its scope that are no day, month or fact
    ("*datasets* ... are not available for many *domains*" against "labeled data ... is
    unavailable in many *domains*"; anything when it has none: "it is not available"). "Dr.
    Lee is unavailable on Thursday" supports "Dr. Lee is not available", not "Dr. Okafor is not
    available on Thursday"; "the flight is unavailable on Friday" does not support "the hotel is
    not available on Friday"."""
    found = {w for w in clause.words if _prefixed(w, negation.scope)}
    if not found:
        return False
    anchor = {w for w in negation.words - negation.scope if ":" not in w and w not in _WHEN}
    return not anchor or bool((clause.reach - found) & anchor)


def prefix_denied(clause: Clause, document: Sequence[Sequence[Clause]]) -> bool:
    """Whether a clause of the ``document`` (its sentences' clauses) denies a word of the
    positive ``clause`` by its prefix ("Dr. Lee is *unavailable* on Thursday" against "Dr. Lee
    is *available* on Thursday", "labelled data is *unavailable* in many domains" against
    "data ... is *available* for many domains") and speaks of the same thing: it shares at
    least :data:`STATED_WORDS` of the clause's other words that are no day, month, fact or title
    (all of them when it has fewer; none, and nothing is known: "it is available"), more than
    any positive clause that states the word itself ("the hotel is available on Friday, but
    the flight is unavailable"), and its sentence does not put the clause's other words in
    another clause ("the jacket in size M is unavailable, but we have it in size *L*" is no
    denial of "the jacket is available in size L"). A condition states nothing ("if the room
    is unavailable, ...")."""
    anchor = {w for w in clause.words if ":" not in w and w not in _WHEN and w not in TITLES}
    source = [c for s in document for c in s]

    def shared(c: Clause, word: str) -> int:
        return len((c.reach | c.words) & (anchor - {word}))

    for sentence in document:
        for c in sentence:
            if c.negated or c.hedged:
                continue
            for prefixed in (w for w in c.words if _prefixed(w, clause.words)):
                word = prefixed[2:]
                if prefixed in clause.words or not anchor - {word}:
                    continue
                rest = anchor - {word} - c.reach - c.words
                if any(rest & d.words for d in sentence if d is not c):
                    continue  # the sentence speaks of the rest elsewhere: a contrast
                denying = shared(c, word)
                stating = max(
                    (shared(d, word) for d in source if word in d.words and not d.negated),
                    default=0,
                )
                if denying >= min(STATED_WORDS, len(anchor - {word})) and denying > stating:
                    return True
    return False


def _stated_in(document: Sequence[Sequence[Clause]], words: Set[str], scope: Set[str]) -> int:
    """The most of ``words`` that a sentence of ``document`` (its clauses) states in positive
    clauses, among the sentences with a positive clause holding a word of ``scope``."""
    return max(
        (
            len(frozenset().union(*(c.words for c in s if not c.negated)) & words)
            for s in document
            if any(not c.negated and c.words & scope for c in s)
        ),
        default=0,
    )


def _own_words(
    part: Set[str],
    clause: Clause,
    parts: Sequence[Set[str]],
    document: Sequence[Sequence[Clause]],
) -> frozenset[str]:
    """The words that a far source clause must hold to speak of the summary's ``part`` (the
    words of the parts of ``clause`` split at "and", "or" that hold the negation): none when
    the part is all of the clause (no one knows which of its words the negation is about);
    else those that the other ``parts`` of the summary sentence (their content words) do
    not use, and that a sentence of ``document`` holds with another word of the part
    (the source speaks of that thing: "About the *boiler* *repair*, the bank said yes"). "...
    and the refund for the *boiler* repair was not approved" asks "boiler" of a far clause; "...
    and do exploit the multi-turn *structure* of data" asks no "structure" of a source that
    never says it."""
    if not part < clause.words:
        return frozenset()
    own = frozenset(part).difference(*(w for w in parts if not w <= part))
    said = [frozenset().union(*(c.words for c in s)) & part for s in document]
    return frozenset(w for w in own if any(w in ws and len(ws) > 1 for ws in said))


def negated_elsewhere(
    clause: Clause, document: Sequence[Sequence[Clause]], parts: Sequence[Set[str]]
) -> bool:
    """Whether a sentential negation anywhere in the ``document`` (its sentences' clauses), or
    a word negated by its prefix (:func:`prefix_negated`), denies a word of the negated
    ``clause``'s scope with at least :data:`MOVED_WORDS` of the words of its negated part
    (:attr:`Clause.local`), more than any source sentence that states a word of its scope, and
    holds the words of that part that the rest of the summary sentence (the content words of its
    ``parts``) does not also use (:func:`_own_words`). A summary sentence that
    joins two statements ("models provide high variance *and* models with different
    initializations are not comparable") is found by the first, so the source of the second
    may not be among its closest ("the likelihood values across different initializations are
    not comparable": "models" is the first statement's). A far denial of another thing
    supports nothing: "the refund for the car repair was not approved" lacks the "boiler" of
    "... and the refund for the boiler repair was not approved"."""
    own = _own_words(clause.local, clause, parts, document)
    denying = max(
        (
            len(c.words & clause.local) + prefixed
            for s in document
            for c in s
            if (
                (prefixed := prefix_negated(c, clause))
                or (c.negated and not c.nominal and not c.double and c.scope & clause.scope)
            )
            and own <= c.words | (clause.scope if prefixed else frozenset())
        ),
        default=0,
    )
    stating = _stated_in(document, clause.local, clause.scope)
    return denying >= MOVED_WORDS and denying > stating


# Words that say what was meant to happen, not what did: "the technician was *supposed* to
# come on Monday" states no visit.
_INTENDED = frozenset(content_words("supposed planned wanted meant expected intended tried aimed"))


def _phrases(clause: Clause) -> frozenset[str]:
    """The phrases of :mod:`~privcloud.workloads.grounding_idioms` that ``clause`` denies
    ("not *in stock*"), which a stating clause must hold as phrases (its parts), not as words
    ("out of stock" holds "stock"), as :func:`.grounding_antonyms.states_phrases` reads them."""
    return frozenset(w for w in clause.head if w.startswith("="))


def stated_elsewhere(
    clause: Clause,
    close: Sequence[Clause],
    document: Sequence[Sequence[Clause]],
    parts: Sequence[Set[str]],
) -> bool:
    """The converse of :func:`negated_elsewhere`: whether the negated ``clause`` (a sentential
    negation, no hedge: "the room *may* not be booked" denies nothing) denies what a positive
    clause anywhere in the ``document`` states (:func:`_states_denied`): "... while word-level
    information is *not* also of great importance" against "However, word-level information
    is also of great importance", far from the sentence's first statement. Not when a
    sentential negation among the ``close`` source clauses shares a word with it (it may say
    the same in other words: "members of the pool do not need a coin for the lockers" for
    "... do not unlock the lockers with a coin"), nor when a clause of the document that
    denies (a negation, or a word that denies) holds the word it negates."""
    if clause.nominal or clause.double or clause.hedged or not clause.head:
        return False
    if any(c.negated and not c.nominal and c.words & clause.words for c in close):
        return False
    if any(c.denying and c.words & clause.head for s in document for c in s):
        return False
    own = _own_words(clause.local, clause, parts, document)
    denials = [c for s in document for c in s if c.negative]
    return any(_states_denied(c, clause, own, denials) for s in document for c in s)


def _states_denied(
    source: Clause, clause: Clause, own: Set[str], denials: Sequence[Clause]
) -> bool:
    """Whether the ``source`` clause states what the negated ``clause`` denies: it is positive
    and says what is (no question, condition, hedge or intention: "if the room is booked",
    "might be booked", "was supposed to come"); it holds every word of the clause's scope (and
    phrase: "out of stock" states no "in stock"), the ``own`` words of its part, and at least
    :data:`MOVED_WORDS` of its part's words; and it lacks at most one of the part's words
    outside the scope, days and months aside, and none that a source clause of ``denials``
    holds: that is what the negation is about ("many readers unsubscribed" states nothing of
    "the paying members did not unsubscribe"; "members are welcome at the swap" nothing of
    "neighbours are not welcome" where the source says "there is no room for neighbours")."""
    if source.denying or source.hedged or source.question or source.asked:
        return False
    if source.words & _INTENDED or not _phrases(clause) <= frozenset().union(*source.parts):
        return False
    missing = clause.local - clause.scope - _WHEN - source.words
    return (
        len(source.words & clause.local) >= MOVED_WORDS
        and own | clause.scope <= source.words
        and len(missing) <= 1
        and not any(c.words & missing for c in denials)
    )


def denied_elsewhere(
    clause: Clause,
    document: Sequence[Sequence[Clause]],
    excluded: Set[str],
    parts: Sequence[Set[str]],
) -> bool:
    """The converse of :func:`negated_elsewhere`: whether a sentential negation anywhere in
    the ``document`` denies a word of the positive ``clause`` with at least
    :data:`MOVED_WORDS` of its words, more than any source sentence that states that word, and
    holds the words of the summary sentence's ``parts`` holding the denied word that its other
    parts do not also use (:func:`_own_words`): "models with different initializations are
    comparable" against "the likelihood values across different initializations are not
    comparable"; not "... and the bank approved the refund for the boiler repair" against "the
    refund for the car repair was not approved"."""
    words = clause.words - excluded

    def own(scope: Set[str]) -> frozenset[str]:
        held = frozenset().union(*(w for w in parts if w & scope and w <= clause.words))
        return _own_words(held, clause, parts, document) & words

    return any(
        c.negated
        and not c.nominal
        and not c.double
        and len(c.words & words) >= MOVED_WORDS
        and len(c.words & words) > _stated_in(document, words, c.scope & words)
        and own(c.scope & words) <= c.words
        for s in document
        for c in s
        if c.scope & words
    )
