"""What a source asks without stating it, for the summary guard
(:mod:`privcloud.workloads.grounding`).

A yes-no question states neither of its answers: "Can you tell me if the parcel arrived or
not?" says nothing of whether it arrived, and a summariser that writes "The parcel arrived"
from it invents the answer. The fact, word and polarity checks find every word of that
sentence in the question and keep it. So:

* a source clause is **asked** (:attr:`~privcloud.workloads.grounding_polarity.Clause.asked`)
  when its sentence is a yes-no question (it ends with "?" and opens with an auxiliary or a
  modal: "Did ...", "Can you tell me ...", "Is ...") that is left open: the call ends on it, or
  the first reply with words in the next :data:`ANSWER_REACH` sentences defers ("Let me look
  into that", "Okay, I'll check", "I'm not sure", "No idea", "Not yet": :func:`left_open`);
  or when it opens a sentence with "if" (a condition: "*If* the train is late, ..."); or when
  it is a yes-no question embedded after a doubt ("I don't know *if* the hotel is booked", "I
  was wondering *whether* ...": :func:`asked_piece`). A wh-question ("When did the parcel
  arrive?") presupposes its content and is not asked, nor is a tag question ("The parcel
  arrived, didn't it?");
* a positive summary clause is **stated only as a question** (:func:`asked_only`) when some of
  its content words occur in no clause of the source that is not asked, and an asked clause
  holds all of those and all but at most one of the clause's words, with no reply in the next
  :data:`ANSWER_REACH` sentences that states one of its words. A summary sentence that itself
  asks, or reports a question, a doubt, a request or what was talked about ("She asked whether
  the parcel arrived", "It is unclear if ...", "He wants to move the meeting", "They
  discussed the training project"), is not checked.

Only a deferral leaves a question open: people answer in every other way ("Of course", "Will
do", "It's on your desk", "That's right"), and a review of an earlier version, which took only
a bare "yes" or "no" for an answer, found it dropping 23 faithful call sentences for 5 errors
caught. What it still misses: a question answered by the asker's own "Okay" or by a reply to
another question, an "if" inside a clause ("I'll take a taxi if the train is late"), "in case",
and summaries that add a word of their own to the question's ("repaired" for "fix").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from privcloud.workloads.grounding_negation import STATED_WORDS

if TYPE_CHECKING:
    from privcloud.workloads.grounding_polarity import Clause

__all__ = [
    "ANSWER_REACH",
    "asked_only",
    "asked_piece",
    "asks_yes_or_no",
    "left_open",
    "reports_question",
    "unasked_words",
]

#: Sentences after a question in which a reply may answer it.
ANSWER_REACH = 2

# A yes-no question opens with an auxiliary or a modal, after at most a few discourse words
# ("So, did you ...", "And can you ...", "Sorry, is it ...").
_YES_NO_RE = re.compile(
    r"^\W*(?:(?:so|and|but|ok|okay|well|um|uh|oh|also|then|now|sorry|hi|hello|and\s+so)\W+){0,2}"
    r"(?:is|are|was|were|am|do|does|did|have|has|had|can|could|will|would|shall|should|may|"
    r"might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|haven't|hasn't|hadn't|"
    r"can't|couldn't|won't|wouldn't|shouldn't)\s+\w",
    re.IGNORECASE,
)
# A tag question asks to confirm what its clause states: "The parcel arrived, didn't it?".
_TAG_RE = re.compile(
    r",\s*(?:\w+n't|is|are|was|were|do|does|did|have|has|can|will|would)\s+\w+\s*\?$|"
    r",\s*(?:right|correct|yes|no|yeah|ok|okay)\s*\?$",
    re.IGNORECASE,
)
# A reply that defers or doubts leaves the question open, after an acknowledgement or an
# apology: "Let me look into that", "Okay, I'll check", "Hold on", "I'm not sure", "No idea",
# "Not yet", "I haven't heard".
_DEFERRAL_RE = re.compile(
    r"^\W*(?:(?:ok|okay|sure|right|yeah|yes|well|um|uh|hmm|so|oh|sorry|good\s+question|"
    r"i'm\s+sorry|i\s+am\s+sorry)\W+){0,3}"
    r"(?:let\s+me\s+(?:check|look|see|find|ask|pull|have\s+a\s+look)|hold\s+on|"
    r"(?:one|just\s+a|give\s+me\s+a)\s+(?:moment|sec|second|minute)|"
    r"i(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|\s+need\s+to|\s+have\s+to)\s+"
    r"(?:check|find\s+out|look|ask|get\s+back|let\s+you\s+know|chase)|"
    r"(?:i'm\s+|i\s+am\s+)?not\s+(?:sure|certain)|no\s+idea|not\s+yet|"
    r"i\s+(?:don't|do\s+not|dont)\s+know|i\s+(?:haven't|have\s+not)\s+(?:heard|checked|seen)|"
    r"i\s+can(?:'t|not|\s+not)\s+(?:say|tell|promise)|we(?:'ll|\s+will)\s+(?:see|check))\b",
    re.IGNORECASE,
)
# An answer after a deferral opens with a plain "yes" or "no" ("Okay, I'll check later" is
# the asker's, and answers nothing).
_ANSWER_RE = re.compile(r"\W*(?:yes|yeah|yep|yup|no|nope|nah)\b", re.IGNORECASE)
# A reply of an acknowledgement alone ("Okay." "Sure." "One moment."): the answer may follow.
_ACKNOWLEDGEMENT_RE = re.compile(
    r"\W*(?:ok|okay|sure|right|alright|all\s+right|yeah|yes|mhm|mm-hmm|hmm|um|uh|well|oh|"
    r"i\s+see)\W*",
    re.IGNORECASE,
)
# Before an embedded "if" or "whether", a doubt: a negation ("I don't know", "not sure") or a
# wondering.
_DOUBT_RE = re.compile(
    r"\bnot\b|n't\b|\b(?:no\s+idea|wonder(?:s|ed|ing)?|unsure|uncertain|unclear)\b",
    re.IGNORECASE,
)
# A condition or an embedded yes-no question: the clause that opens with it states nothing.
_ASKED_PIECE_RE = re.compile(r"^\W*(?:even\s+)?(?:if|whether)\b", re.IGNORECASE)
# A summary sentence that asks, reports a question, a doubt, a request or what was talked
# about states no answer: "She asked whether the parcel arrived", "It is unclear if ...",
# "He wants to move the meeting", "They discussed the training project", "She called about
# the parcel".
_REPORTS_RE = re.compile(
    r"\?|\b(?:if|whether|ask(?:s|ed|ing)?|wonder(?:s|ed|ing)?|question(?:ed|ing)|"
    r"inquir(?:e|es|ed|ing|y)|enquir(?:e|es|ed|ing|y)|check(?:s|ed|ing)|"
    r"check\s+(?:if|whether|on|with)|know(?:s|n)?|"
    r"unsure|uncertain|unclear|unknown|"
    r"discuss(?:es|ed|ing)?|talk(?:s|ed|ing)?|mention(?:s|ed|ing)?|speak(?:s|ing)?|spoke|"
    r"rais(?:e|es|ed|ing)|request(?:ed|ing)|suggest(?:s|ed|ing)?|propos(?:e|es|ed|ing)|"
    r"offer(?:ed|ing)|offers?\s+to|invit(?:e|es|ed|ing)|want(?:s|ed|ing)?|would\s+like|"
    r"hop(?:e|es|ed|ing))\b|"
    r"\b(?:call(?:s|ed|ing)?|phon(?:e|es|ed|ing)|rang|wr(?:ote|ites?))\s+(?:\w+\s+)?about\b",
    re.IGNORECASE,
)


def asks_yes_or_no(sentence: str) -> bool:
    """Whether ``sentence`` is a yes-no question (not a wh-question, not a tag question)."""
    text = sentence.strip()
    return text.endswith("?") and _YES_NO_RE.match(text) is not None and not _TAG_RE.search(text)


def left_open(sentences: Sequence[str], k: int) -> bool:
    """Whether the question ``sentences[k]`` is left open: no sentence follows it, or the
    first one with words of the next :data:`ANSWER_REACH` (after a bare "Okay." or "Sure.")
    defers or doubts, and no sentence in the :data:`ANSWER_REACH` after that one opens with
    "yes" or "no"."""
    replies = sentences[k + 1 : k + 1 + ANSWER_REACH]
    if not replies:
        return True
    for at, reply in enumerate(replies, start=k + 1):
        if _DEFERRAL_RE.match(reply):
            # "Hold on. Let me pull up your account. Yes, it was processed on Monday."
            later = sentences[at + 1 : at + 1 + ANSWER_REACH]
            return not any(_ANSWER_RE.match(s) for s in later)
        if not _ACKNOWLEDGEMENT_RE.fullmatch(reply):
            return False
    return False


def asked_piece(piece: str, before: str) -> bool:
    """Whether a clause (``piece``, after the text ``before`` it in its sentence) states
    nothing: it opens the sentence with "if" (a condition), or opens with "if" or "whether"
    after a doubt ("I don't know; if ...", "I was wondering if ...")."""
    if _ASKED_PIECE_RE.match(piece) is None:
        return False
    return not before.strip() or _DOUBT_RE.search(before) is not None


def reports_question(sentence: str) -> bool:
    """Whether a summary sentence asks, or reports a question or a doubt."""
    return _REPORTS_RE.search(sentence) is not None


def unasked_words(document: Sequence[Sequence[Clause]]) -> frozenset[str] | None:
    """The content words of the clauses of ``document`` (its sentences' clauses) that are not
    asked; None when none is asked (no summary clause can then be stated only as a question).
    Read once per source (:func:`privcloud.workloads.grounding.prepare_source`)."""
    if not any(c.asked for s in document for c in s):
        return None
    return frozenset().union(*(c.words for s in document for c in s if not c.asked))


def asked_only(
    clause: Clause, document: Sequence[Sequence[Clause]], stated: frozenset[str]
) -> bool:
    """Whether the positive summary ``clause`` is stated only as a question in the source
    (its sentences' clauses; ``stated``: their :func:`unasked_words`): see the module
    docstring."""
    words = clause.words
    if clause.negated or len(words) < STATED_WORDS:
        return False
    unstated = words - stated
    if not unstated:
        return False
    need = max(STATED_WORDS, len(words) - 1)
    for k, sentence in enumerate(document):
        for asked in sentence:
            if not asked.asked or not unstated <= asked.words:
                continue
            if len(asked.words & words) < need:
                continue
            replies = document[k + 1 : k + 1 + ANSWER_REACH]
            if not any(not c.asked and c.words & words for s in replies for c in s):
                return True
    return False
