"""The contacts of the ``extract`` workload: names, phone numbers and e-mail addresses in one
sentence, each a substring of it (see :mod:`privcloud.workloads.extract` for the grounding rule).

A name is taken only after a word that introduces a person ("call Maria Lopez", "meet with
Ana") or before a possessive that owns a number or an address ("Maria's number"); capitalised
words that are days, months or pronouns (:data:`NOT_NAMES`) are not names.
"""

from __future__ import annotations

import re

from privcloud.wire.message import JSONObject
from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS

__all__ = ["NAME_WORD", "NOT_NAMES", "find_contacts", "source_of"]


def _words(text: str) -> list[str]:
    return text.split()


def source_of(text: str, spans: list[tuple[int, int]]) -> JSONObject:
    """An item's ``source``: the stretch of ``text`` from the first to the last of ``spans``."""
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    return {"start": start, "end": end, "text": text[start:end]}


#: One capitalised word of a name (the pattern, for the location rule of events too).
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.[A-Za-z]{2,24}(?![\w-])"
)
_PHONE = re.compile(
    r"(?<![\w+./:-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?"
    r"(?:\d{7,15}|\d{2,6}(?:[\s.-]\d{2,6}){1,4})(?![\w/:]|[.-]\d)"
)
NAME_WORD = r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:['\u2019-][^\W\d_]+)*"
_NAME = rf"(?P<name>(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?{NAME_WORD}(?:\s+{NAME_WORD}){{0,2}})"
_NAME_TRIGGER = re.compile(
    r"\b(?i:call|phone|text|e-?mail|ring|message|contact|with|meet|meeting|invite|ask|tell|"
    r"remind|(?:talk|speak)\s+(?:to|with))\s+" + _NAME
)
# Tried only where a word starts (the lookbehind): else every capital of "AAAA..." or "A-A-..."
# would scan the rest of its sentence again.
_NAME_OWNER = re.compile(
    r"(?<![\w'\u2019-])" + _NAME + r"['\u2019]s\s+(?i:number|phone|cell|mobile|e-?mail|address)\b"
)
NOT_NAMES = frozenset(
    w.capitalize()
    for w in (
        *MONTHS,
        *WEEKDAYS,
        *_words(
            "today tonight tomorrow noon midnight i the a an me my our him her them us it this "
            "that everyone dr mr mrs ms prof"
        ),
    )
)


def find_contacts(
    text: str, start: int, end: int
) -> tuple[list[JSONObject], list[tuple[int, int]]]:
    """Contacts in one sentence, and the spans of their phones and emails (masked for dates)."""
    emails = [m.span() for m in _EMAIL.finditer(text, start, end)]
    phones = []
    for m in _PHONE.finditer(text, start, end):
        digits = sum(c.isdigit() for c in m.group())
        overlaps = any(m.start() < b and m.end() > a for a, b in emails)
        iso_date = re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.group())
        if 7 <= digits <= 15 and not overlaps and not iso_date:
            phones.append(m.span())
    names: list[tuple[int, int]] = []
    for pattern in (_NAME_TRIGGER, _NAME_OWNER):
        for m in pattern.finditer(text, start, end):
            words = list(re.finditer(r"\S+", m.group("name")))
            while words and words[-1].group() in NOT_NAMES:
                words.pop()
            if words and words[0].group() not in NOT_NAMES:
                a = m.start("name")
                span = (a + words[0].start(), a + words[-1].end())
                if text[span[1] - 2 : span[1]] in ("'s", "\u2019s"):  # possessive
                    span = (span[0], span[1] - 2)
                if span not in names:
                    names.append(span)
    contacts: list[JSONObject] = []
    if len(names) == 1 and (phones or emails):
        spans = [names[0], *phones[:1], *emails[:1]]
        contact: JSONObject = {"name": text[slice(*names[0])]}
        if phones:
            contact["phone"] = text[slice(*phones[0])]
        if emails:
            contact["email"] = text[slice(*emails[0])]
        contact["source"] = source_of(text, spans)
        contacts.append(contact)
        phones, emails, names = phones[1:], emails[1:], []
    for field, spans in (("name", names), ("phone", phones), ("email", emails)):
        contacts.extend({field: text[a:b], "source": source_of(text, [(a, b)])} for a, b in spans)
    return contacts, phones + emails
