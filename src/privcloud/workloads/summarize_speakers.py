"""The speakers a call transcript introduces: who placed the call, for which organisation, and
who answered, read from the phrases people introduce themselves with (no model).

Whisper transcripts carry no speaker labels, so roles come from the words: "this is X from Y.
I'm calling about ..." (X placed the call, for Y), "Y, X speaking" / "Good evening, Y, this is
X" (X answered, at Y), "Am I speaking with X?" (X was called). In a call of two introduced
people, when one side is known the other is the other side. :mod:`summarize_roles` checks a
summary's sentences against them. Pure and I/O-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NAME", "ORG", "Speaker", "speaker_hint", "speakers"]

#: A person's name as transcripts write it ("Anna", "Maria Lopez", "Sean O'Neill").
NAME = r"[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|[A-Z]'[A-Z][a-z]+)){0,2}"
_ORG_WORD = r"(?:[A-Z][\w&'\u2019]*|of|the|and|&)"
#: An organisation's name ("Northwind Travel", "the Bank of Leeds").
ORG = rf"(?:The |the )?[A-Z][\w&'\u2019]*(?: {_ORG_WORD}){{0,4}}"
#: Capitalised words that are never a speaker's name in an introduction.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
        "May June July August September October November December Yes No Okay Ok Sure Hello Hi "
        "Sorry Fine Great Thanks Thank Good The This That It Calling Speaking",
    )
)
_INTRO_RE = re.compile(
    rf"\b(?i:this is|it's|it\u2019s|it is|my name is|i'm|i am|i\u2019m)\s+(?P<name>{NAME})"
    rf"(?:,?\s+(?i:from|at|with|of|calling from)\s+(?P<org>{ORG}))?"
)
_ANSWER_RE = re.compile(
    r"(?:^|[.!?]\s+)(?:(?i:good (?:morning|afternoon|evening)|hello|hi|hey),\s+)?"
    rf"(?P<org>{ORG}),\s+(?:(?i:this is)\s+)?(?P<name>{NAME})(?:\s+(?i:speaking))?\s*[.!,]"
)
_CALLED_RE = re.compile(
    rf"\b(?i:am i speaking (?:with|to)|is this|speaking with)\s+(?P<name>{NAME})"
)
_CALLING_CUE_RE = re.compile(
    r"(?i)\b(?:i'm|i am|i\u2019m|we're|we are) (?:calling|ringing|phoning)\b|"
    r"\bcalling (?:about|regarding|because|to let|to tell|to ask|to confirm|from)\b"
)
#: How far after an introduction a "calling about" cue still belongs to it (characters).
_CUE_WINDOW = 160


@dataclass(frozen=True)
class Speaker:
    """A person the transcript introduces: their name, organisation (if said) and whether they
    placed the call (True), answered or were called (False), or it is not said (None)."""

    name: str
    org: str | None
    placed_call: bool | None

    def first_name(self) -> str:
        return self.name.split()[0]


def speakers(text: str) -> list[Speaker]:
    """The speakers ``text`` introduces, in order of first mention, with what it says of them."""
    found: dict[str, Speaker] = {}

    def add(name: str, org: str | None, placed: bool | None) -> None:
        name = name.strip()
        words = name.split()
        while words and words[-1] in _NOT_NAMES:  # "this is Anna Thanks" style run-ons
            words.pop()
        if not words or words[0] in _NOT_NAMES or name.lower() in ("i", "me"):
            return
        name = " ".join(words)
        old = found.get(name)
        if old is None:
            found[name] = Speaker(name, org, placed)
        else:
            found[name] = Speaker(
                name, old.org or org, old.placed_call if old.placed_call is not None else placed
            )

    for match in _ANSWER_RE.finditer(text):
        add(match.group("name"), _org(match.group("org")), False)
    for match in _INTRO_RE.finditer(text):
        cue = _CALLING_CUE_RE.search(text, match.end(), match.end() + _CUE_WINDOW)
        asks_for = _CALLED_RE.search(text, match.end(), match.end() + _CUE_WINDOW)
        placed = True if (cue or asks_for) and not _answered_at(text, match.start()) else None
        add(match.group("name"), _org(match.group("org")), placed)
    for match in _CALLED_RE.finditer(text):
        add(match.group("name"), None, False)
    people = list(found.values())
    if len(people) == 2:  # a two-party call: the known side gives the other
        a, b = people
        if a.placed_call is not None and b.placed_call is None:
            people[1] = Speaker(b.name, b.org, not a.placed_call)
        elif b.placed_call is not None and a.placed_call is None:
            people[0] = Speaker(a.name, a.org, not b.placed_call)
    return people


def _org(org: str | None) -> str | None:
    if org is None:
        return None
    words = org.split()
    while words and words[-1] in ("of", "the", "and", "&"):
        words.pop()
    return " ".join(words) or None


def _answered_at(text: str, position: int) -> bool:
    """Whether the introduction at ``position`` is part of an answering greeting."""
    start = max(text.rfind(".", 0, position), text.rfind("?", 0, position), 0)
    return bool(_ANSWER_RE.match(text, start))


def speaker_hint(people: list[Speaker]) -> str:
    """One line naming the call's speakers and what the transcript says of their roles, for
    the prompt (empty when it introduces nobody): "Caller: Maria Lopez (from Northwind
    Travel)."."""
    parts = []
    for person in people:
        where = f" (from {person.org})" if person.org else ""
        role = "Speaker"
        if person.placed_call is not None:
            role = "Caller" if person.placed_call else "Answered by"
        parts.append(f"{role}: {person.name}{where}.")
    return " ".join(parts)
