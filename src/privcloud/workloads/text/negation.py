"""Polarity: whether a clause is negated, and how a bare reply answers a question.

Used by the hallucination guard's polarity check (:mod:`privcloud.workloads.grounding`), where
"The refund was not approved" and "The refund was approved" have the same facts and words.
"""

from __future__ import annotations

import re

__all__ = ["NEGATORS", "negated", "negative_answer", "no_negates"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that negate their clause. "no" counts only before a word ("no fee"), not as the
#: interjection of "No, that's fine", "Oh no." or "no the parcel arrived" (:func:`no_negates`);
#: contractions in "n't" count too, and their spellings without the apostrophe that transcripts
#: and small models write.
NEGATORS = _words("not never cannot without neither nor none nobody nothing nowhere")
_BARE_CONTRACTIONS = _words(
    "dont doesnt didnt isnt wasnt arent werent wont cant couldnt wouldnt shouldnt hasnt havent "
    "hadnt mustnt neednt aint"
)
# After "no", a word that starts a clause or a noun phrase of its own makes it the interjection
# of an unpunctuated transcript ("no the parcel arrived", "no I kept it", "no there is no
# fee"), not a determiner ("no fee", "no one", "no longer").
_AFTER_INTERJECTION = _words(
    "the a an this that these those it i we you he she they my your our his her their there "
    "its it's i'm we're you're he's she's they're that's there's"
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
        if word == "no" and no_negates(following):
            return True
    return False


def no_negates(following: str) -> bool:
    """Whether "no" before the word ``following`` negates: it does before a word ("no fee"),
    not at the end, before punctuation or before a word that starts a clause or a noun phrase
    of its own ("no the parcel arrived": an unpunctuated "No, the parcel arrived")."""
    return following[:1].isalnum() and following.lower().replace("\u2019", "'") not in (
        _AFTER_INTERJECTION
    )


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
