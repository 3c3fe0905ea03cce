"""Polarity: whether a clause is negated, and how a bare reply answers a question.

Used by the hallucination guard's polarity check (:mod:`privcloud.workloads.grounding`), where
"The refund was not approved" and "The refund was approved" have the same facts and words.
"""

from __future__ import annotations

import re

__all__ = ["NEGATORS", "negated", "negative_answer"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that negate their clause. "no" counts only before a word ("no fee"), not as the
#: interjection of "No, that's fine" or "Oh no."; contractions in "n't" count too, and their
#: spellings without the apostrophe that transcripts and small models write.
NEGATORS = _words("not never cannot without neither nor none nobody nothing nowhere")
_BARE_CONTRACTIONS = _words(
    "dont doesnt didnt isnt wasnt arent werent wont cant couldnt wouldnt shouldnt hasnt havent "
    "hadnt mustnt neednt aint"
)
#: How a bare reply to a question starts ("Yes." "No, I did not.").
_YES_WORDS = _words("yes yeah yep yup sure correct right certainly absolutely okay ok")
_NO_WORDS = _words("no nope nah")
_POLARITY_TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]")


def _polarity_tokens(text: str) -> list[str]:
    return [t.replace("\u2019", "'") for t in _POLARITY_TOKEN_RE.findall(text.lower())]


def negated(text: str) -> bool:
    """Whether ``text`` holds a negator (:data:`NEGATORS`, a word in "n't", or "no" before a
    word). Presence, not parity: "not unlike" counts as negated, a rare miss that only drops."""
    words = _polarity_tokens(text)
    for index, word in enumerate(words):
        if word in NEGATORS or word in _BARE_CONTRACTIONS or word.endswith("n't"):
            return True
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "no" and following[:1].isalnum():
            return True
    return False


def negative_answer(text: str) -> bool | None:
    """How a bare reply answers a question: True for "No." or "No, I did not.", False for
    "Yes." or "Sure, it is.", None when ``text`` does not start like a reply."""
    tokens = _polarity_tokens(text)
    first = tokens[0] if tokens else ""
    if first in _NO_WORDS:
        return True
    if first in _YES_WORDS:
        return negated(text)
    return None
