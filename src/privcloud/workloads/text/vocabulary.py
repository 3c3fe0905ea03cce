"""Whether a word is a common English word (written in lower case in a dictionary).

The ``web2`` word list of the ``english-words`` package (MIT): Webster's Second International
(1934, public domain; FreeBSD's ``share/dict/web2``), which writes proper nouns capitalised.
Only its entries written in lower case are kept, so "station" and "travel" are common words and
"Lisbon", "Okafor" or "Northwind" are not. (The package's other list, GCIDE, is left out: it
capitalises most words, and the dictionary it indexes is GPL.) Some names are also common words
("bill", "anna", a coin), so a caller asks only where the context already says the capitalised
words name a thing (:func:`privcloud.workloads.translate_facts.source_facts`).
"""

from __future__ import annotations

import functools

__all__ = ["is_common"]


@functools.cache
def _common() -> frozenset[str]:
    from english_words import get_english_words_set  # noqa: PLC0415 (the ai extra; 0.1 s)

    words = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(w for w in words if w.islower())


def is_common(word: str) -> bool:
    """Whether ``word`` (any case) is written in lower case in the dictionaries."""
    return word.lower() in _common()
