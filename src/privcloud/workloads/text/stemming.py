"""A light suffix stripper, for comparing the words of two texts (plural, -ed, -ing, final e).

Not a linguistic stemmer: both sides of a comparison use it, so it only has to map the forms of
one word to one key ("calls", "called", "calling" -> "call"), and rarely two words to one.
"""

from __future__ import annotations

__all__ = ["stem"]


def stem(word: str) -> str:
    """``word`` (lower case) without its inflection: "calls", "called", "calling" -> "call";
    "schedules", "scheduled" -> "schedul"."""
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
    return word
