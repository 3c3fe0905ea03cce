"""What a translation writes as its source does, in any language: web addresses, codes of
letters and digits, and scores (:func:`source_codes`, :func:`holds`, :func:`score_parts`).
"www.chezpaulette.fr" translated "www.chezpaulette.com" and "spoor 5b" translated "Gleis 5"
passed the fact check before, which read e-mail addresses but not web addresses, and a code's
digits but not its letter; "2:0" translated "2-0" was withheld (its "2" and "0" read as two
numbers added).

* **A web address** ("www.example.org", "https://example.org/path", "example.fr"): letters,
  digits and hyphens with a dot before a top-level domain of letters, not inside an e-mail
  address; it must come back letter for letter (case aside).
* **A code** of digits and one letter, or letters and digits ("5b", "12C", "B12", "BA 304",
  a booking reference "QX7K2P"):
  it must come back, with or without a space. A letter that is a unit or an ordinal's mark
  ("5 m", "5e", "21h") makes no code.
* **A score** ("2:0", "3-1", "2 a 0"): its two numbers, with any of those separators.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["holds", "score_parts", "source_codes"]

_URL_RE = re.compile(
    r"(?<![\w@.-])(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,6}"
    r"(?:/[\w./?=&%-]*)?(?![\w@-])",
    re.IGNORECASE,
)
#: Top-level domains a web address without "www." or a scheme must end in (a file's name or
#: an abbreviation with dots is none).
_TLDS = frozenset(
    "com org net edu gov io eu uk de fr es it pt nl be ch at lu ie dk se no fi pl cz".split()  # noqa: SIM905
) | frozenset("br mx ar us ca au nz info app shop online".split())  # noqa: SIM905
_CODE_RE = re.compile(
    r"(?<![\w.,-])((?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{1,6}(?:-[A-Z0-9]{1,6}){1,4}(?![\w-])"
    r"|\d{1,4}[a-dfA-DF]|[A-Z]{2,3}\s?\d{1,5}|[A-Z]\d{1,5}"
    r"|(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{5,12})(?![\w.,:]?\w)"
)
#: A code as a translation may write it: a space before its letter too ("12 C").
_CODE_LOOSE_RE = re.compile(
    r"(?<![\w.,-])([A-Z0-9]{1,6}(?:-[A-Z0-9]{1,6}){1,4}(?![\w-])"
    r"|\d{1,4}\s?[a-zA-Z]|[A-Z]{1,3}\s?\d{1,5}|[A-Z0-9]{5,12})(?!\w)"
)
_SCORE_RE = re.compile(
    r"(?<![\w.,:])(\d{1,2})\s?(?::|-|\u2013|\s(?:a|à|zu|tegen|to)\s)\s?(\d{1,2})(?![\w.,:]?\d)"
)


def _urls(text: str) -> list[str]:
    found = []
    for match in _URL_RE.finditer(text):
        url = match.group()
        if "www." in url or "://" in url or url.rsplit(".", 1)[-1] in _TLDS:
            found.append(url.lower().rstrip("./"))
    return found


#: A row's letter ("row F", "rij F", "fila F", "Reihe F"), which a translation must keep.
_ROW_RE = re.compile(
    r"\b(?:row|rij|fila|rang|reihe|fileira|riga|rangée)\s+([A-Z])\b", re.IGNORECASE
)


def source_codes(text: str) -> list[Fact]:
    """The web addresses, codes and rows' letters ``text`` (as written) states."""
    facts = [Fact("url", url, url, (f"url:{url}",)) for url in dict.fromkeys(_urls(text))]
    for match in _ROW_RE.finditer(text):
        if match.group(1).isupper():
            facts.append(Fact("code", match.group(), f"row:{match.group(1)}", ()))
    for match in _CODE_RE.finditer(text):
        code = match.group(1)
        folded = code.replace(" ", "").lower()
        facts.append(Fact("code", code, folded, (f"code:{folded}",)))
    return facts


def holds(text: str, fact: Fact) -> bool:
    """Whether ``text`` (a translation, as written) holds web address or code ``fact``."""
    if fact.kind == "url":
        return fact.value in text.lower()
    if fact.value.startswith("row:"):  # the row's letter alone ("row F" as "rij F")
        return re.search(rf"(?<![\w'])({fact.value[4:]})(?![\w'])", text) is not None
    written = {m.group(1).replace(" ", "").lower() for m in _CODE_LOOSE_RE.finditer(text)}
    return fact.value in written


def score_parts(text: str) -> set[tuple[str, str]]:
    """The scores ``text`` states, as pairs of numbers ("2:0", "2-0", "2 a 0": ("2", "0"))."""
    return {(m.group(1), m.group(2)) for m in _SCORE_RE.finditer(text)}
