"""A light suffix stripper, for comparing the words of two texts (plural, -ed, -ing, final e).

Not a linguistic stemmer: both sides of a comparison use it, so it only has to map the forms of
one word to one key ("calls", "called", "calling" -> "call"), and rarely two words to one.
"""

from __future__ import annotations

import re

__all__ = ["stem"]

# Endings of verbs whose "ll" is their own, not the British doubling of a final -el
# ("cancelled"): one-syllable verbs in -ell and their compounds ("spelled", "storytelling");
# of "sell" only its compounds, as "counselled" and "chiselled" end alike.
_OWN_ELL = tuple(
    re.findall(
        r"\w+",
        "dwell fell knell quell shell smell spell swell tell yell bestsell outsell oversell resell "
        "telesell undersell upsell",
    )
)


def stem(word: str) -> str:
    """``word`` (lower case) without its inflection: "calls", "called", "calling" -> "call";
    "schedules", "scheduled" -> "schedul"; British and American spellings of a verb in -el
    agree: "cancelled", "canceled", "cancelling" -> "cancel"."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and (word.endswith(("ches", "shes")) or word[-3] in "sxz"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) >= 6:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) >= 5:
        word = _undouble(word[:-2])
    elif word.endswith("s") and not word.endswith(("us", "is")):
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    # "cancell", "travell", "labell": the doubled l of a final -el, which American spelling
    # does not double ("canceled")
    if len(word) > 4 and word.endswith("ell") and not word.endswith(_OWN_ELL):
        return word[:-1]
    return word
