"""The polarity check of the summary guard (:mod:`privcloud.workloads.grounding`): a summary
sentence must not negate what its source states, nor state what its source negates.

Negators (not, no, never, n't, cannot, without, neither, nor, none, nobody, nothing) are
stopwords to the fact and word checks, so "The refund was not approved" has the facts and words
of "The refund was approved". Negation words are the strongest single cue of contradiction in
inference data (Gururangan et al., "Annotation Artifacts in Natural Language Inference Data",
NAACL 2018). A human summary moves negation around, though ("he can no longer come" for "I'm
afraid I can't make it"; "her return stays the same" for "your return flight is not
affected"), so the two directions are checked differently:

* a **negated** clause of the summary needs a negation somewhere in a supporting source sentence
  that shares a content word with it (a question answered by a bare "No." counts as negated, and so
  do words that state a gap without a negator: "lacks", "unable", "seldom", "neglecting",
  "ignoring", "overlooked", "unexplored", "little work", "few studies" (not "a little work", "a few
  studies"), and the word itself negated by a prefix in a clause of the same thing ("not available"
  against "unavailable"; not "not flammable" against "inflammable": :func:`prefix_negated`); a
  summary's "not few works" against "little work" passes, a double negation it cannot read). A
  sentence joining two statements is placed by the first, so the source sentence negating the second
  may be far from it: a negated clause of the whole source that denies a word of its scope and
  shares at least :data:`MOVED_WORDS` of the words of its negated part, more than any source
  sentence stating that word, and holds the words of that part that the rest of the sentence does
  not use, supports it too ("... and models with different initializations are not comparable";
  :func:`negated_elsewhere`);
  when a positive clause of those sentences states a word of its scope, the negation must be
  in a clause that shares a word with it ("he is not fine" fails against "He's fine, don't
  worry": that negation denies the worry, and "fine" is stated) and at least as many of its
  words as the positive clauses of the stating sentence together (a link or a citation may
  split one statement: "our method reduces [link]. the error rate by 29.2%"), or a word of
  its scope ("methods which can not *take* the *structure* of the table into account" fails
  against "considering the structure of table and the syntax of SQL", however near "results
  ... not executable due to the mismatch between question and table" is: that denial is of
  something else);
* a **negated** clause fails against a far positive clause stating its scope with
  :data:`MOVED_WORDS` of its words when no source denial holds the word it negates
  (:func:`stated_elsewhere`), and "not X without Y" against a source sentence stating X
  "without" Y (:func:`without_denied`);
* a **negated** clause fails, too, when the source clause that shares the most of its words
  (at least :data:`MOVED_WORDS`) is negated in another place: it states a word the summary
  denies, and its own negation denies none of the summary's words ("bookings left unused will
  not be released" against "bookings not used within 30 minutes will be released");
* a negator before a word negated by its prefix ("not *unknown*", "not *unable*") states the
  word without it, and fails when a positive source clause states the prefixed word with at
  least :data:`STATED_WORDS` more of the sentence's words and no source clause denies it; a
  negator before a gap word ("not *missing*", "not *rare*", "not *challenging*") states that
  there is no gap, and fails against a nearby source clause stating the gap with at least
  :data:`STATED_WORDS` of its words ("there is a lack of NLP resources", "the most difficult
  phrases to translate": :mod:`privcloud.workloads.grounding_negation`);
* a positive clause fails against a source word negated by its prefix ("Dr. Lee is
  *unavailable*" against "Dr. Lee is *available*": :func:`prefix_denied`);
* a positive clause with "still" fails against a source sentence sharing its words whose
  negated clause says "anymore" or "no longer", when it says more than that sentence's
  positive clauses ("he can still come to his cleaning" against "I have a cleaning booked,
  and I can't make it anymore");
* a **positive** clause fails when one of its content words is in the *scope* of a source
  negation (the next :data:`SCOPE_WORDS` content words after the negator, names left out:
  "nobody came", "not from the card", "*No* structured paraphrases have been investigated")
  or of a word that denies what follows it ("stopped working", "failed to reflect", "unable
  to learn", "was *seldom* applied", "there is a *lack of* a general framework"; not when the
  summary sentence has a denying word of its own) in a clause of a supporting sentence that
  shares more of its words than any positive clause of the supporting sentences that states
  that word, and at least as many as one of the other candidates when it is a sentential
  negation (the denying clause counted with the clauses before it that only commas separate
  from it: its subject, in "existing approaches that use search, or database technologies,
  do not scale"), or in a sentential negation anywhere in the source that shares at least
  :data:`MOVED_WORDS` of its words, more than any source sentence stating that word, and
  the words of its part that the rest of the sentence does not use
  (:func:`denied_elsewhere`);
* a **negated** clause also fails when the words in its own scope ("not *gaining*
  *attention*") are stated by a positive clause of the candidate sentences that shares more of
  its words than any denying clause there, and at least :data:`STATED_WORDS` of them (the
  source says "is gaining attention"). A denying clause is a negated one or one with a word that
  denies without a negator ("stopped working", "failed to", "rarely", "difficult"), so that a
  summary's "has not worked" stands on "the boiler stopped working".

* a word stated by its antonym (WordNet's): a positive clause restating a source part with one
  word turned ("the room is *noisy*" against "the room is *quiet*") fails, and a negated one is
  supported by a part stating the antonym of the word it denies ("the room is not *noisy*"):
  :mod:`privcloud.workloads.grounding_antonyms`; "forgot to" denies the verb after it, unless
  that verb reports something said ("forgot to mention that ...").

Sentential negation ("not", "n't", "never", "cannot", "nor") needs a negation near it; a
*nominal* one only ("without X", "no X", "none", "nothing", "nobody") is often a summary's
paraphrase of an absence the source states in words the guard does not read as negation
("requires only a dictionary", "unannotated text", "directly from a corpus"), so it is
checked by the last rule only: "costs $45 without insurance" fails against "$45 with
insurance", "a method without syntactic annotations" passes against "learns from a parallel
corpus". A source clause that opens with "no" ("No previous work investigates ...") denies
its predicate, a sentential negation in other words. "Not only ... but also" adds, it does not
deny, and neither do "whether ... or not" and "from nowhere". Presence, not parity: "not
unlike" counts as negated.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, replace

from privcloud.workloads.grounding_antonyms import contrary_stated, states_contrary, states_phrases
from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.grounding_idioms import denied_phrases, phrase_words
from privcloud.workloads.grounding_negation import (
    COORDINATION_RE,
    MOVED_WORDS,
    STATED_WORDS,
    TOKEN_RE,
    denied_elsewhere,
    double,
    double_negation_denied,
    gap_denied,
    gap_words,
    negated_elsewhere,
    negator_at,
    prefix_denied,
    prefix_negated,
    stated_elsewhere,
    without_denied,
    without_open_choices,
)
from privcloud.workloads.grounding_questions import (
    asked_piece,
    asks_yes_or_no,
    left_open,
)
from privcloud.workloads.text.negation import negated, negative_answer

__all__ = ["Clause", "clauses", "polarity_conflict", "sentence_clauses"]

# Where a clause ends: punctuation before white space (not inside "3.5" or "1,200"), brackets
# and dashes, and the conjunctions that join two statements.
_CLAUSE_BREAK_RE = re.compile(
    r"(?<![,;:.!?])[,;:.!?]++(?=\s|$)|[()\u2013\u2014]|\s-\s"
    r"|\b(?:but|so|because|although|though|whereas|however|while)\b|(?<!\bnot )\byet\b",
    re.IGNORECASE,
)
_NEGATIVE_RE = re.compile(
    r"\b(?:lack(?:s|ed|ing)?|unable|absen(?:t|ce)|missing|refus(?:e|es|ed)|"
    r"declin(?:e|es|ed)|seldom|neglect(?:s|ed|ing)?|ignoring|overlook(?:s|ed|ing)?|"
    r"unexplored|under-?(?:studied|explored|investigated)|"
    r"forg[eo]t(?:s|ten)?\s+to\s+(?!(?:mention|tell|say|ask|add|let|remind|explain|note|warn|"
    r"inform|write)\b)|"
    r"(?<!\bnot )(?<!\ba )(?:little|few)\s+"
    r"(?:work|works|research|attention|effort|efforts|studies|attempts))\b",
    re.IGNORECASE,
)
# Words that deny without a negator, for the stated-otherwise rule only: too common in positive
# prose ("a few", "hard disk") to support a summary's "not" on their own.
_DENYING_RE = re.compile(
    r"\b(?:stop(?:s|ped|ping)?|fail(?:s|ed|ing|ure)?|ceas(?:e|es|ed)|impossible|unlikely|"
    r"hardly|rarely|seldom|little|few|difficult|hard)\b",
    re.IGNORECASE,
)
# Words by which a summary states a shortage itself, so that a source's denial of plenty does not
# contradict it: "*Only* two economy seats are left" against "hardly any seats left", "delayed
# due to a driver *shortage*" against "a lack of drivers", "the manager is *away*" against "in
# the absence of the manager".
_SCARCITY_RE = re.compile(r"\b(?:only|shortage|short|away|scarce)\b", re.IGNORECASE)
# Verbs that deny the verb they govern ("stopped working", "failed to reflect"): their scope is
# checked as a negator's is, against a positive summary clause.
_DENIAL_VERB_RE = re.compile(
    r"fail(?:s|ed|ing)?|stop(?:s|ped|ping)?|ceas(?:e|es|ed|ing)|refus(?:e|es|ed|ing)|unable",
    re.IGNORECASE,
)
# What makes a clause say what may be rather than what is.
_HEDGE_RE = re.compile(
    r"\b(?:if|unless|whether|might|may|could|hope|hopefully|perhaps|maybe|possibly|probably)\b",
    re.IGNORECASE,
)
_CONDITION_RE = re.compile(r"\s*(?:if|unless)\b", re.IGNORECASE)
# "forget to": denies the verb after "to" only ("forgot sending it" says it was sent), unless
# that verb reports something said ("I forgot to mention that the price includes VAT").
_FORGOT_RE = re.compile(r"forg[eo]t(?:s|ten)?", re.IGNORECASE)
_SAYING_RE = re.compile(
    r"mention|tell|say|ask|add|let|remind|explain|note|warn|inform|write", re.IGNORECASE
)
# Negators of a noun phrase: a clause negated by these only is negated nominally.
_NOMINAL_RE = re.compile(r"\b(?:without|no|none|nothing|nobody|nowhere)\b", re.IGNORECASE)
# A source clause that opens with "no" denies its predicate: "No structured paraphrases have
# been investigated" says what "structured paraphrases have not been investigated" says.
_SUBJECT_NO_RE = re.compile(r"\s*(?:no\s+\w|none\b|nothing\b|nobody\b)", re.IGNORECASE)
# "still" says that something goes on; "not ... anymore" and "no longer" that it stopped.
_CONTINUING = frozenset(content_words("still"))
_CEASING_RE = re.compile(r"\b(?:any\s*more|no\s+longer|any\s+longer)\b", re.IGNORECASE)
_CONTRAST_RE = re.compile(r"\b(?:rather than|instead of|as opposed to)\b", re.IGNORECASE)
#: Content words after a negator that are in its scope: the verb and what follows it ("can not
#: *take* the *structure*", "has not been *investigated* *well*": stopwords are skipped).
SCOPE_WORDS = 2


@dataclass(frozen=True)
class Clause:
    """A clause: whether it is negated, its content words (as :func:`content_words` gives
    them) and the content words in the scope of its negators."""

    negated: bool
    words: frozenset[str]
    scope: frozenset[str] = frozenset()
    #: Negated, or holding a word that denies without a negator ("lacks", "unable",
    #: "refused"): enough to support a summary's "not".
    negative: bool = False
    #: A question's clause that took the polarity of a bare reply ("Did you make it?" "No.").
    answered: bool = False
    #: Negative, or holding a word that denies in context ("stopped", "failed", "rarely").
    denying: bool = False
    #: Negated by "without", "no", "none", "nothing" or "nobody" only (no "not", "never").
    nominal: bool = False
    #: Content words in the scope of a verb that denies them ("*stopped* working", "*failed*
    #: to reflect"), as :attr:`scope` is of a negator's.
    denied: frozenset[str] = frozenset()
    #: Its words with those of the clauses before it that only commas separate from it (the
    #: subject of "existing approaches that use search, or database technologies, do not
    #: scale").
    reach: frozenset[str] = frozenset()
    #: Two negators in one part of it ("tickets *not* cancelled ... *cannot* be refunded"): a
    #: double negation or a condition, with no one place that it denies.
    double: bool = False
    #: Says that something stopped: "anymore", "no longer", "any longer" ("not take longer
    #: than an hour" does not).
    ceasing: bool = False
    #: The words of its parts (split at "and", "or") that hold a negator: "models with
    #: different initializations are not comparable" of "... provide high variance and models
    #: with different initializations are not comparable".
    local: frozenset[str] = frozenset()
    #: The words of its parts (split at "and", "or") that deny a gap: a negator whose next
    #: content word is one of :data:`GAP_WORDS` ("resources are not *missing*").
    gap: frozenset[str] = frozenset()
    #: Of a source sentence that asks ("Is the hotel payment *missing*?"): it states no gap.
    question: bool = False
    #: Of a yes-no question left open (the reply defers: "Let me check"), a condition or a
    #: yes-no question embedded after a doubt ("I don't know *if* the parcel arrived"): it
    #: states nothing (:mod:`privcloud.workloads.grounding_questions`).
    asked: bool = False
    #: The first content word after each negator: the word it denies ("not *noisy*", "did
    #: not *accept* the offer"), of :attr:`scope`'s words.
    head: frozenset[str] = frozenset()
    #: The content words of each of its parts, split at "and" and "or".
    parts: tuple[frozenset[str], ...] = ()
    #: Says what may be, not what is: a condition or what follows it, a modal of possibility
    #: or a hope ("if it snows, the road will be dangerous", "might be closed", "I hope the
    #: room will be quiet").
    hedged: bool = False


# Adverbs that deny the verb after them ("was *seldom* applied", "*rarely* used") and nouns
# that deny what they govern ("there is a *lack of* a general framework", "the *absence of*
# labels"): their scope is checked as a denial verb's is.
_DENYING_ADVERBS = frozenset(["seldom", "rarely", "hardly", "scarcely"])
_GAP_NOUNS = frozenset(["lack", "lacks", "absence"])


def _denial_verb_at(tokens: Sequence[str], k: int) -> bool:
    """A verb that denies the verb after it: "stopped working", "failed to reflect", "unable
    to learn" (not "stopped after two weeks", where nothing is denied), an adverb that denies
    the verb after it ("was *seldom* applied") or a noun that denies what it governs ("a
    *lack of* a general framework")."""
    following = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
    word = tokens[k].lower()
    if word in _DENYING_ADVERBS or (word in _GAP_NOUNS and following == "of"):
        return True
    if _FORGOT_RE.fullmatch(tokens[k]):
        return False  # :func:`_forgot_at`, whose scope is the verb alone
    denies = _DENIAL_VERB_RE.fullmatch(tokens[k]) is not None
    return denies and (following == "to" or _gerund(following))


def _forgot_at(tokens: Sequence[str], k: int) -> bool:
    """ "forgot to send" denies the sending (its scope: that verb alone, not "the garage" of
    "forgets to lock the garage, it was open again"); "forgot sending" does not, and "forgot
    to mention that the price includes VAT" reports what was said."""
    if not _FORGOT_RE.fullmatch(tokens[k]):
        return False
    following = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
    verb = tokens[k + 2] if k + 2 < len(tokens) else ""
    return following == "to" and not _SAYING_RE.fullmatch(verb)


# Words in -ing after a denial verb that name no action it stops: "stopped everything",
# "stopped during the night".
_NOT_GERUNDS = frozenset(["during", "morning", "evening", "ceiling", "king", "ring", "spring"])


def _gerund(word: str) -> bool:
    return (
        len(word) > 4
        and word.endswith("ing")
        and not word.endswith("thing")
        and (word not in _NOT_GERUNDS)
    )


def _denied(piece: str) -> frozenset[str]:
    """The content words a denial verb of ``piece`` denies (:func:`_denial_verb_at`), less
    those the piece states again past it: "the boiler stopped working on Saturday until the
    engineer got it working again" does not deny that it works."""
    scope = _scope(piece, _denial_verb_at) | _scope(piece, _forgot_at, width=1)
    if not scope:
        return scope
    said = Counter(w for token in TOKEN_RE.findall(piece) for w in content_words(token))
    return frozenset(w for w in scope if said[w] < 2)


def _scope(
    piece: str,
    opens: Callable[[Sequence[str], int], bool] = negator_at,
    width: int = SCOPE_WORDS,
) -> frozenset[str]:
    """The content words in the scope of each token of ``piece`` that ``opens`` one: the next
    ``width`` content words, names left out. Two negators in one part of it (not split by
    "and" or "or") make a double negation, and no scope."""
    parts = COORDINATION_RE.split(piece)
    if len(parts) > 1:  # "nobody came and nobody called": two negations, not a double one
        return frozenset().union(*(_scope(part, opens, width) for part in parts))
    tokens = TOKEN_RE.findall(piece)
    if double(piece):
        return frozenset()  # "not ... without": a double negation, left alone
    found: set[str] = set()
    for k in range(len(tokens)):
        if not opens(tokens, k):
            continue
        taken = 0
        for word in tokens[k + 1 :]:
            if taken == width or negated(word):
                break
            words = content_words(word)
            if words and not word[:1].isupper():
                found.update(words)
                taken += 1
    return frozenset(found)


def clauses(sentence: str, *, source: bool) -> list[Clause]:
    """The clauses of one sentence that have content words. A clause without any ("not",
    "I did not") lends its negation to the clause before it (or after it, when it comes
    first): "The refund was approved, or not." is one negated clause. Each clause's
    :attr:`Clause.reach` adds the words of the clauses before it back to a break that is not
    a comma."""
    found: list[Clause] = []
    pending = False
    text = without_open_choices(sentence)
    breaks = list(_CLAUSE_BREAK_RE.finditer(text))
    starts = [0, *(m.end() for m in breaks)]
    ends = [*(m.start() for m in breaks), len(text)]
    run: frozenset[str] = frozenset()
    condition = False  # a clause opening with "if" or "unless": the next one is its result
    for start, end in zip(starts, ends, strict=True):
        piece = text[start:end]
        words = frozenset(content_words(piece, source=source))
        run = run | words if start and text[start - 1] == "," else words
        hedged = condition or bool(_HEDGE_RE.search(piece))
        condition = bool(_CONDITION_RE.match(piece))
        negation = negated(piece)
        sentential = negation and (
            negated(_NOMINAL_RE.sub(" ", piece)) or (source and bool(_SUBJECT_NO_RE.match(piece)))
        )
        if not words:
            if found and negation:
                last = found[-1]
                found[-1] = replace(
                    last,
                    negated=True,
                    negative=True,
                    denying=True,
                    nominal=(last.nominal or not last.negated) and not sentential,
                )
            elif not found:
                pending = pending or negation
            continue
        negative = negation or pending or bool(_NEGATIVE_RE.search(piece))
        denying = negative or bool(_DENYING_RE.search(piece))
        nominal = negation and not sentential and not pending
        split = COORDINATION_RE.split(piece)
        parts = [p for p in split if negated(p)]
        local = frozenset().union(*(content_words(p, source=source) for p in parts))
        pieces = tuple(w for w in (phrase_words(p, source=source) for p in split) if w)
        found.append(
            Clause(
                negation or pending,
                words,
                _scope(piece),
                negative,
                False,
                denying,
                nominal,
                _denied(piece),
                run,
                double(piece),
                bool(_CEASING_RE.search(piece)),
                local or words,
                gap_words(piece, source=source),
                asked=asked_piece(piece, text[:start]),
                head=_scope(piece, width=1) | denied_phrases(piece, SCOPE_WORDS),
                parts=pieces,
                hedged=hedged,
            )
        )
        pending = False
    return found


# A reply that opens with a bare "no" and goes on ("No, there's plenty of free parking", "Not
# at all, it's right next to the station") answers the question before it; "No problem, I'll
# be there" does not.
_NO_THEN_MORE_RE = re.compile(r"\W*(?:no|nope|nah|not\s+at\s+all)\s*[,;.!]", re.IGNORECASE)


def sentence_clauses(sentences: Sequence[str]) -> list[list[Clause]]:
    """The clauses of each source sentence. A question followed by a bare reply ("Did you make
    it?" "No, I did not."), or by one that opens with a bare "no" ("Is parking limited?" "No,
    there's plenty of free parking."), takes the reply's polarity, all its words in scope."""
    found = []
    for k, text in enumerate(sentences):
        own = clauses(text, source=True)
        if text.rstrip().endswith("?"):
            own = [replace(c, question=True) for c in own]
            if asks_yes_or_no(text) and left_open(sentences, k):
                own = [replace(c, asked=True) for c in own]
        if text.endswith("?") and k + 1 < len(sentences):
            reply = sentences[k + 1]
            answer = negative_answer(reply)
            if _NO_THEN_MORE_RE.match(reply):
                answer = True
            elif content_words(reply, source=True):
                answer = None
            if answer is not None:
                own = [
                    Clause(
                        answer,
                        c.words,
                        c.words if answer else frozenset(),
                        answer,
                        True,
                        answer,
                        # its words weigh as a denial's do ("Is there a fee?" "No, ..." denies
                        # "There is a fee"): without them the answer weighed nothing
                        reach=c.reach or c.words,
                    )
                    for c in own
                ]
        found.append(own)
    return found


def polarity_conflict(
    sentence: str,
    support: Sequence[Sequence[Clause]],
    wide: Sequence[tuple[int, Sequence[Clause]]],
    document: Sequence[Sequence[Clause]] = (),
) -> bool:
    """Whether ``sentence`` negates, or states, what its supporting source sentences (their
    clauses) state, or negate (see the module docstring). A negated clause finds its negation
    among the ``wide`` candidate sentences (index, clauses) closest to it: those sharing at
    least half as many of its words as the best, and a neighbour of the best ones that is a
    question answered by a bare reply. Words after "rather than" or "instead of" are the
    summary's own contrast and not compared. A nominal negation ("without X") is checked by
    :func:`_stated_otherwise` only."""
    contrast = _CONTRAST_RE.search(sentence)
    excluded = content_words(sentence[contrast.end() :]) if contrast else set()
    denies = any(r.search(sentence) for r in (_DENYING_RE, _NEGATIVE_RE, _SCARCITY_RE))
    # The content words of its parts: its clauses, split at "and" and "or".
    pieces = _parts(sentence)
    parts = [frozenset(content_words(part)) for part in pieces]
    if double_negation_denied(sentence, [c for _, s in wide for c in s]):
        return True
    if any(without_denied(part, document) for part in pieces):
        return True
    said = frozenset().union(*(c.words.union(*c.parts) for s in document for c in s))
    for clause in clauses(sentence, source=False):
        if clause.negated:
            shared = {
                k: len(clause.words & frozenset().union(*(c.words for c in s))) for k, s in wide
            }
            most = max(shared.values(), default=0)
            best = {k for k, n in shared.items() if n == most}
            close = [
                s
                for k, s in wide
                if shared[k]
                and (
                    2 * shared[k] >= most or (best & {k - 1, k + 1} and any(c.answered for c in s))
                )
            ]
            if (
                not clause.nominal
                and close
                and _unsupported_negation(clause, close, said)
                and not negated_elsewhere(clause, document, parts)
            ):
                return True
            if stated_elsewhere(clause, [c for s in close for c in s], document, parts):
                return True
            if not clause.nominal and _negation_moved(clause, close, excluded):
                return True
            if gap_denied(clause, [c for s in close for c in s]):
                return True
            if _stated_otherwise(clause, [c for _, s in wide for c in s]):
                return True
            continue
        related = [c for s in support for c in s if c.words & clause.words]
        if _ceased(clause, [s for _, s in wide]):
            return True
        if denied_elsewhere(clause, document, excluded, parts):
            return True
        if prefix_denied(clause, document):
            return True
        if contrary_stated(clause, [c for _, s in wide for c in s], said, excluded):
            return True
        for word in clause.words - excluded:
            # Weights: twice the words shared, less one for a stating clause of a candidate
            # that does not support the sentence and for a denial that is no sentential
            # negation. So a sentential denial ("the refund for the flight was not approved")
            # outweighs another candidate's statement that shares as many words ("the refund
            # for the hotel and the flight taxes was approved"); a supporting one's, or a
            # nominal denial ("learned without a tagging dictionary"), ties as before.
            denying = [
                2 * len(c.reach & clause.words)
                - (not (c.negated and not c.nominal and word in c.scope))
                for c in related
                if ((c.negated and word in c.scope) or (not denies and word in c.denied))
                # a question a bare "no" answered denies what it asked, not what the reply
                # goes on to state ("Is the parcel here?" "No, it is still in Berlin.")
                and (not c.answered or clause.words <= c.words)
            ]
            stating = [
                2 * len(c.words & clause.words) - (not any(s is t for t in support))
                for _, s in wide
                for c in s
                if not c.negated and word in c.words and word not in c.denied
            ]
            if denying and max(denying) > max(stating, default=0):
                return True
    return False


def _parts(sentence: str) -> list[str]:
    """The parts of ``sentence``: its clauses, split at "and" and "or"."""
    return [
        part
        for piece in _CLAUSE_BREAK_RE.split(without_open_choices(sentence))
        for part in COORDINATION_RE.split(piece)
    ]


def _ceased(clause: Clause, source: Sequence[Sequence[Clause]]) -> bool:
    """Whether the positive ``clause`` says that something still goes on ("he can *still* come
    to his cleaning with Dr. Okafor") where a ``source`` sentence (its clauses) that shares at
    least :data:`STATED_WORDS` of its words has a negated clause saying that it stopped ("I
    have a cleaning booked with Dr. Okafor ..., and I can't make it *anymore*", "no longer"),
    and the clause says more than that sentence's positive clauses ("he *still* has a
    cleaning booked" says no more, and passes), unless one of them says "still" itself and
    shares more of the clause's words than the clause that stopped ("she is still employed at
    the bakery" against "I still work at the bakery ..., but I don't do the night shifts
    anymore")."""
    if not clause.words & _CONTINUING:
        return False
    words = clause.words - _CONTINUING
    for s in source:
        if not any(c.negated and c.ceasing for c in s):
            continue
        going = [c for c in s if not c.negated]
        stated = frozenset().union(*(c.words for c in going))
        said = frozenset().union(*(c.words for c in s))
        if len(said & clause.words) < STATED_WORDS or not words - stated:
            continue
        # The source says "still" of a positive clause sharing more of the clause's words than
        # what stopped: the summary restates that in other words ("I *still* work at the
        # bakery on Main Street, but I don't do the night shifts anymore").
        ceased = max(len(c.reach & words) for c in s if c.negated and c.ceasing)
        if not any(
            c.words & _CONTINUING and len(c.words & words) >= max(STATED_WORDS, ceased + 1)
            for c in going
        ):
            return True
    return False


def _unsupported_negation(
    clause: Clause, close: Sequence[Sequence[Clause]], said: Set[str] = frozenset()
) -> bool:
    """Whether the negated ``clause`` lacks a negation among the ``close`` source sentences
    (their clauses): none is negative, or a positive clause there states a word of the
    clause's scope and no denying clause there (negative, or with a word that denies) shares
    a word of its scope, nor as many of its words as the positive clauses of the stating
    sentence together ("he is not *fine*" against "He's fine, don't worry": the negation
    denies something else; "the approach can not *reduce* *error* rates" against "our method
    *reduces* [a link]. the *error* rate by 29.2%, compared with current OpenRE methods",
    whatever "the derived clusters can not explicitly align with relations" says). A word of
    the scope negated by its prefix there ("not *available*" against "*unavailable*") is a
    negation of it."""
    if any(prefix_negated(c, clause) or states_contrary(c, clause, said) for s in close for c in s):
        return False
    negative = [c for s in close for c in s if c.negative]
    if not negative:
        return True
    # What each sentence with a clause stating a word of the scope states of the clause.
    stating = {
        k: len(frozenset().union(*(c.words for c in s if not c.denying)) & clause.words)
        for k, s in enumerate(close)
        if any(not c.denying and clause.scope & c.words for c in s)
    }
    if not stating:
        return False
    denials = [c for s in close for c in s if c.denying]
    if any(c.words & clause.scope for c in denials):
        return False
    denying = max((len(c.words & clause.words) for c in denials), default=0)
    best = max(stating.values())
    # The best stating sentence denies too ("all staff work from home on Fridays, but this
    # rule does not apply to managers"): an exception in other words, which a denial sharing
    # any word of the clause supports.
    if any(any(c.negated for c in close[k]) for k, n in stating.items() if n == best):
        return not denying
    # A denial holding every word of the clause outside its scope is the clause's own, in
    # other words: "the hotel refund was *declined*" for "the hotel refund was not approved",
    # though "the bank approved the refund for the train tickets" states more of its words.
    rest = len(clause.words - clause.scope)
    return denying < best and not (rest and denying >= rest)


def _negation_moved(
    clause: Clause, close: Sequence[Sequence[Clause]], contrast: Set[str] = frozenset()
) -> bool:
    """Whether the source clause that shares the most of the negated ``clause``'s words (at
    least :data:`MOVED_WORDS`) is negated in another place: it states a word of the clause's
    scope outside its own scope, its scope holds no word of the clause, and no other denying
    clause there denies a word of the clause's scope ("bookings not *used* within 30 minutes
    will be released" against "bookings left unused for 30 minutes will not be *released*").
    The ``contrast`` words (after the sentence's "rather than") are not the clause's: "will not
    be taken from the reserve fund rather than from bus services" against "would come from
    the reserve fund and not from cuts to bus services"."""
    if not clause.scope:
        return False
    words = clause.words - contrast
    ranked = sorted((c for s in close for c in s), key=lambda c: len(c.words & words), reverse=True)
    if not ranked or len(ranked[0].words & words) < MOVED_WORDS:
        return False
    best = ranked[0]
    if best.double:  # "tickets not cancelled ... cannot be refunded": a condition, not moved
        return False
    if not best.negated or best.scope & words or not (clause.scope & best.words):
        return False
    # Another clause states all that the clause denies ("many readers unsubscribed from the
    # newsletter" against "the paying members did not unsubscribe from the newsletter"): whether
    # that contradicts is :func:`_stated_otherwise`'s to weigh, not a moved negation.
    if any(not c.negated and clause.scope <= c.words for c in ranked[1:]):
        return False
    others = [c for c in ranked[1:] if c.denying]
    return not any((c.scope | c.denied | c.words) & clause.scope for c in others)


def _stated_otherwise(clause: Clause, source: Sequence[Clause]) -> bool:
    """Whether a positive clause of ``source`` states what the negated ``clause`` denies: it
    holds every word of the clause's scope (and the phrase it denies: "out of stock" states
    no "in stock") and shares more of the clause's words (and at least
    :data:`STATED_WORDS`) than any denying clause of ``source``."""
    if not clause.scope:
        return False
    denying = max((len(c.words & clause.words) for c in source if c.denying), default=0)
    stating = [
        len(c.words & clause.words)
        for c in source
        if not c.denying and clause.scope <= c.words and states_phrases(c, clause)
    ]
    return bool(stating) and max(stating) >= STATED_WORDS and max(stating) > denying
