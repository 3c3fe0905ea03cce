"""What a source asks without stating it, for the summary guard
(:mod:`privcloud.workloads.grounding`).

A yes-no question states neither of its answers: "Can you tell me if the parcel arrived or
not?" says nothing of whether it arrived, and a summariser that writes "The parcel arrived"
from it invents the answer. The fact, word and polarity checks find every word of that
sentence in the question and keep it. So:

* a source clause is **asked** (:attr:`~privcloud.workloads.grounding_polarity.Clause.asked`)
  when its sentence is a yes-no question (it ends with "?" and opens with an auxiliary or a
  modal: "Did ...", "Can you tell me ...", "Is ...") that no reply in the next
  :data:`ANSWER_REACH` sentences answers with a bare "yes" or "no" ("Yes, it did.", "No, I
  didn't.", "Okay ..."), or when it is a condition or an embedded yes-no question ("*if* the
  train is late", "I don't know *whether* it is booked": :func:`asked_piece`); a wh-question
  ("When did the parcel arrive?") and a question with "still" ("Are we still meeting on
  Monday?") presuppose their content and are not asked, nor is a tag question ("The parcel
  arrived, didn't it?");
* a positive summary clause is **stated only as a question** (:func:`asked_only`) when some of
  its content words occur in no clause of the source that is not asked, and an asked clause
  holds all of those and all but at most one of the clause's words, with no reply in the next
  :data:`ANSWER_REACH` sentences that states one of its words ("Is the meeting on Monday?" "I
  think it's on Monday." may answer it). A summary sentence that itself asks, or reports a
  question, a doubt, a request or what was talked about ("She asked whether the parcel
  arrived", "It is unclear if ...", "He wants to move the meeting", "They discussed the
  training project"), is not checked.

A question answered in other words than a bare yes ("Did the parcel come?" "It's on your
desk.") is read as unanswered when the reply shares no word with the summary; a summary that
states its answer then loses a faithful sentence. The bare-reply forms are those of
:func:`privcloud.workloads.text.negation.negative_answer`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from privcloud.workloads.grounding_negation import STATED_WORDS
from privcloud.workloads.text.negation import negative_answer

if TYPE_CHECKING:
    from privcloud.workloads.grounding_polarity import Clause

__all__ = [
    "ANSWER_REACH",
    "NO_THEN_MORE_RE",
    "answered",
    "asked_only",
    "asked_piece",
    "asks_yes_or_no",
    "reports_question",
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
# "Still" presupposes what the question asks: "Is the offer still valid?" (it was).
_STILL_RE = re.compile(r"\bstill\b", re.IGNORECASE)
# A condition or an embedded yes-no question: the clause that opens with it states nothing.
_ASKED_PIECE_RE = re.compile(r"^\W*(?:even\s+)?(?:if|whether)\b", re.IGNORECASE)
# A summary sentence that asks, reports a question, a doubt, a request or what was talked
# about states no answer: "She asked whether the parcel arrived", "It is unclear if ...",
# "He wants to move the meeting", "They discussed the training project", "She called about
# the parcel".
_REPORTS_RE = re.compile(
    r"\?|\b(?:if|whether|ask(?:s|ed|ing)?|wonder(?:s|ed|ing)?|question(?:s|ed|ing)?|"
    r"inquir(?:e|es|ed|ing|y)|enquir(?:e|es|ed|ing|y)|check(?:s|ed|ing)?|know(?:s|n)?|"
    r"unsure|uncertain|unclear|unknown|"
    r"discuss(?:es|ed|ing)?|talk(?:s|ed|ing)?|mention(?:s|ed|ing)?|speak(?:s|ing)?|spoke|"
    r"rais(?:e|es|ed|ing)|request(?:s|ed|ing)?|suggest(?:s|ed|ing)?|propos(?:e|es|ed|ing)|"
    r"offer(?:s|ed|ing)?|invit(?:e|es|ed|ing)|want(?:s|ed|ing)?|would\s+like|"
    r"hop(?:e|es|ed|ing))\b|"
    r"\b(?:call(?:s|ed|ing)?|phon(?:e|es|ed|ing)|rang|wr(?:ote|ites?))\s+(?:\w+\s+)?about\b",
    re.IGNORECASE,
)
#: A reply that opens with a bare "no" and goes on ("No, there's plenty of free parking", "Not
#: at all, it's right next to the station") answers the question before it, as a bare "No."
#: does; "No problem, I'll be there" does not.
NO_THEN_MORE_RE = re.compile(r"\W*(?:no|nope|nah|not\s+at\s+all)\s*[,;.!]", re.IGNORECASE)


def asks_yes_or_no(sentence: str) -> bool:
    """Whether ``sentence`` is a yes-no question (not a wh-question, not a tag question, not
    one that presupposes its content with "still": "Are we still meeting on Monday?")."""
    text = sentence.strip()
    return (
        text.endswith("?")
        and _YES_NO_RE.match(text) is not None
        and not _TAG_RE.search(text)
        and not _STILL_RE.search(text)
    )


def answered(sentences: Sequence[str], k: int) -> bool:
    """Whether a reply in the :data:`ANSWER_REACH` sentences after ``sentences[k]`` opens
    with a bare "yes" or "no"."""
    return any(
        negative_answer(reply) is not None or NO_THEN_MORE_RE.match(reply) is not None
        for reply in sentences[k + 1 : k + 1 + ANSWER_REACH]
    )


def asked_piece(piece: str) -> bool:
    """Whether a clause of a sentence opens with "if" or "whether": a condition or an
    embedded yes-no question, which states nothing."""
    return _ASKED_PIECE_RE.match(piece) is not None


def reports_question(sentence: str) -> bool:
    """Whether a summary sentence asks, or reports a question or a doubt."""
    return _REPORTS_RE.search(sentence) is not None


def asked_only(clause: Clause, document: Sequence[Sequence[Clause]]) -> bool:
    """Whether the positive summary ``clause`` is stated only as a question in the source
    (its sentences' clauses): see the module docstring."""
    words = clause.words
    if clause.negated or len(words) < STATED_WORDS:
        return False
    stated = frozenset().union(*(c.words for s in document for c in s if not c.asked))
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
