"""What the role checks of :mod:`summarize_roles` share: the words that bound a clause's noun
phrase (prepositions, conjunctions, auxiliaries, days; determiners), the words a summary names an
unnamed listener by, and where a sentence names one of the call's parties (an introduced
speaker, by full or first name, or their organisation) as the subject right before a verb or the
object right after it.

Parties are keyed by their lower-case mention ("maria lopez", "maria", "northwind travel");
:func:`party_title` gives a key back as the source writes it. Pure and I/O-free.
"""

from __future__ import annotations

import re

from privcloud.workloads.summarize_speakers import Speaker

__all__ = [
    "DAYS",
    "DETERMINER",
    "DETERMINERS",
    "LISTENER_RE",
    "NP_END",
    "mentions",
    "party_at_end",
    "party_at_start",
    "party_title",
]

#: The weekdays, lower case, as a regular-expression alternation.
DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
#: Words that end a noun phrase: prepositions, conjunctions, auxiliaries, days.
NP_END = frozenset(
    re.findall(
        r"\w+",
        "on at in to for from by with about before after until when while if and or but so "
        f"then because as of is are was were will would can could should than that which who "
        f"{DAYS.replace('|', ' ')}",
    )
)
#: Words that start a noun phrase (a determiner).
DETERMINER = r"(?:the|her|his|their|your|my|our|its|this|that)"
DETERMINERS = frozenset(re.findall(r"\w+", f"{DETERMINER} a an these those some any no each"))
DETERMINERS |= {"every", "another"}
#: Words a summary names the unnamed listener by: "her" may then be the listener's.
LISTENER_RE = re.compile(
    r"(?i)\b(?:you|your|recipient|listener|customer|client|callee|the other (?:party|person))\b"
)


def mentions(people: list[Speaker]) -> list[tuple[str, str]]:
    """(lower-case mention, the party key it stands for), longest first."""
    found: list[tuple[str, str]] = []
    for person in people:
        found += [(person.name.lower(), person.name.lower())]
        found += [(person.first_name().lower(), person.first_name().lower())]
        if person.org:
            found.append((person.org.lower(), person.org.lower()))
    return sorted(set(found), key=lambda m: -len(m[0]))


def party_at_end(text: str, people: list[Speaker], *, passive: bool) -> str | None:
    """The party that is the subject of a verb right after ``text``: "Maria Lopez from
    Northwind Travel called" -> "maria lopez" (the person, not the organisation after from)."""
    low = text.lower()
    low = re.sub(r"\s+(?:was|were|been|being|is|are|be|get|got|has|have|had)\s*$", "", low)
    low = re.sub(r"\s+(?:from|at|of|with) [^,;]{1,60}$", "", low)  # "X from Y"
    low = re.sub(r"\s+(?:\w+ly|also|then|later|first|just)\s*$", "", low).rstrip(" ,")
    for mention, key in mentions(people):
        if re.search(rf"(?:^|\b(?:the |a )?){re.escape(mention)}(?:'s \w+)?$", low):
            return key
    del passive
    return None


def party_at_start(text: str, people: list[Speaker]) -> str | None:
    """The party that is the object of a verb right before ``text``: "Dr. Anna Schmidt about
    the bill" -> "anna schmidt"; None when ``text`` starts with no party."""
    low = text.lower().lstrip()
    low = re.sub(r"^(?:mr|mrs|ms|miss|dr|doctor)\.?\s+", "", low)
    for mention, key in mentions(people):
        if re.match(rf"(?:the )?{re.escape(mention)}\b", low):
            return key
    return None


def party_title(key: str, people: list[Speaker]) -> str:
    """The party ``key`` (:func:`mentions`) as the source writes it ("Maria Lopez"), or the key
    itself when no speaker has it."""
    for person in people:
        if key == person.name.lower():
            return person.name
        if key == person.first_name().lower():
            return person.first_name()
        if person.org and key == person.org.lower():
            return person.org
    return key
