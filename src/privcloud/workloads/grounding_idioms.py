"""Contraries that calls state outside WordNet's antonyms, for the antonym rules of the summary
guard (:mod:`privcloud.workloads.grounding_antonyms`; docs/adr/0031-wordnet-antonyms.md).

A short table, not an open list: each pair is one a call summary restates in other words ("did
not arrive on time" for "arrived late", "not a problem" for "that's fine"). Some sides are
phrases ("on time", "out of stock") or words the content-word reader leaves out ("okay"): such a
phrase is read as one mark ("=on-time") in place of its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.grounding_negation import TOKEN_RE, negator_at
from privcloud.workloads.text.negation import negated
from privcloud.workloads.text.stemming import stem

__all__ = ["contraries", "denied_phrases", "phrase_words"]

# Phrases read as one word, by a mark no content word can be.
_PHRASES = {
    "=on-time": r"on[\s-]+(?:time|schedule)",
    "=in-stock": r"in\s+stock",
    "=out-of-stock": r"out\s+of\s+stock|sold\s+out",
    "=booked-up": r"(?:fully|all)\s+booked|booked\s+up",
    # stopwords to the content-word reader
    "=okay": r"ok(?:ay)?|alright|all\s+right",
    # the noun, not "issued"
    "=issue": r"issues?",
    # the state, not the reporting verb ("she confirmed that ...")
    "=confirmed": r"(?:is|are|was|were|be|been|isn't|aren't|wasn't|weren't)\s+"
    r"(?:not\s+|now\s+|still\s+)?confirmed",
}
_PHRASE_RE = re.compile(
    "|".join(rf"(?P<{m[1:].replace('-', '_')}>\b(?:{p})\b)" for m, p in _PHRASES.items()),
    re.IGNORECASE,
)


def _pairs(text: str) -> frozenset[tuple[str, str]]:
    """The pairs of ``text`` ("a/b c/d"), stemmed (a mark stays), each both ways round."""
    found = set()
    for pair in text.split():
        a, b = (w if w.startswith("=") else stem(w) for w in pair.split("/"))
        found |= {(a, b), (b, a)}
    return frozenset(found)


# Contraries read both ways: a positive clause stating one against a source part stating the
# other is a contradiction, and a negation of one is supported by the other.
_CONTRARY = _pairs(
    # punctuality: WordNet pairs "late" with "early" only
    "=on-time/late =on-time/delayed =on-time/overdue "
    # stock: no phrase of WordNet's
    "=in-stock/=out-of-stock "
    # a person, a slot or an item: WordNet pairs "available" with "unavailable" only
    "available/busy available/=booked-up available/=out-of-stock "
    # a device: WordNet pairs "working" with "idle", "broken" with "unbroken"
    "works/broken "
    # a booking: "confirmed" is a reporting verb to the content-word reader
    "=confirmed/cancelled "
    # a request: WordNet pairs "approve" with "disapprove" only
    "approved/declined approved/rejected approved/refused"
)
# Contraries read only to support a negation ("not a problem" on "bringing your dog is fine"):
# "fine", "okay" and "works" are said of too much in calls, acknowledgements among them, to
# contradict a "problem" that a summary states.
_DENIED_BY = _CONTRARY | _pairs(
    "problem/fine problem/=okay problem/works =issue/fine =issue/=okay =issue/works wrong/works"
)


def contraries(word: str, *, denials: bool = False) -> frozenset[str]:
    """The stemmed words and marks contrary to the stemmed ``word`` or mark; with
    ``denials``, also those that only support its negation."""
    return frozenset(b for a, b in (_DENIED_BY if denials else _CONTRARY) if a == word)


def _phrases(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    for match in _PHRASE_RE.finditer(text):
        name = match.lastgroup or ""
        yield "=" + name.replace("_", "-"), match


def phrase_words(text: str, *, source: bool) -> frozenset[str]:
    """The content words of ``text`` (:func:`content_words`), its phrases read as one mark
    each: "the parcel arrived on time" -> parcel, arriv, =on-time."""
    words = content_words(text, source=source)
    for mark, match in _phrases(text):
        words = (words - content_words(match.group(), source=source)) | {mark}
    return frozenset(words)


def denied_phrases(piece: str, width: int) -> frozenset[str]:
    """The marks of the phrases of ``piece`` that end in a negator's scope (its next ``width``
    content words): "did not arrive *on time*", "is not *in stock*"."""
    tokens = list(TOKEN_RE.finditer(piece))
    words = [t.group() for t in tokens]
    found: set[str] = set()
    for k, token in enumerate(tokens):
        if not negator_at(words, k):
            continue
        end, taken = token.end(), 0
        for later in tokens[k + 1 :]:
            if taken == width or negated(later.group()):
                break
            end = later.end()
            taken += bool(content_words(later.group()))
        found.update(m for m, match in _phrases(piece) if token.end() < match.end() <= end)
    return frozenset(found)
