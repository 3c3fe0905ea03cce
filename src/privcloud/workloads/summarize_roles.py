"""Who did what in a call: the speakers a transcript introduces, and a check of a summary
sentence's roles against them.

The hallucination guard (:mod:`privcloud.workloads.grounding`) checks facts, support and
negation; it cannot see true facts in wrong relations: "Maria Lopez called Northwind Travel"
when she called *from* it, "Anna Schmidt was called" when she placed the call, "My number is
555-0142" copied in the first person, "moved from Monday to Thursday" when it was moved to
Monday. This module reads what a transcript states about its speakers, with rules over the
phrases people introduce themselves with (no model), and checks each summary sentence for:

* **first person** — a summary speaks of the speakers, never as one of them ("I", "my", "we");
* **direction of the call** — the subject of "called/phoned/rang/contacted" must be the party
  that placed the call (the person or their organisation), its object the other party, and a
  person never "called" their own organisation;
* **before/after** — in "from A to B" or "moved ... to B" (days and times), B must be what the
  source moves *to*, not what it moves from;
* **whose** — in a call where one person introduces themselves and the other is never named (a
  voicemail, "this is X from Y ... your trip"), "her trip" or "his flight" can only be the
  speaker's: it fails when the source says "your trip" and never "my trip" or "our trip"
  (:func:`possession_edits` writes it "the trip" instead, which the summary keeps).

Only what the transcript states is checked: a call whose speakers do not say who they are, or
whose direction no phrase gives away, passes the direction check (it is not a guard of its
own, but a filter on top of the grounding guard). Whisper transcripts carry no speaker labels,
so roles come from the words: "this is X from Y. I'm calling about ..." (X placed the call, for
Y), "Y, X speaking" / "Good evening, Y, this is X" (X answered, at Y), "Am I speaking with X?"
(X was called). In a call of two introduced people, when one side is known the other is the
other side.

Pure and I/O-free: the summarize workload uses it for the prompt (:func:`speaker_hint`, the
call's speakers named) and after the guard (:func:`role_problems`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Speaker",
    "move_targets",
    "possession_edits",
    "role_problems",
    "speaker_hint",
    "speakers",
]

_NAME = r"[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|[A-Z]'[A-Z][a-z]+)){0,2}"
_ORG_WORD = r"(?:[A-Z][\w&'\u2019]*|of|the|and|&)"
_ORG = rf"(?:The |the )?[A-Z][\w&'\u2019]*(?: {_ORG_WORD}){{0,4}}"
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
    rf"\b(?i:this is|it's|it\u2019s|it is|my name is|i'm|i am|i\u2019m)\s+(?P<name>{_NAME})"
    rf"(?:,?\s+(?i:from|at|with|of|calling from)\s+(?P<org>{_ORG}))?"
)
_ANSWER_RE = re.compile(
    r"(?:^|[.!?]\s+)(?:(?i:good (?:morning|afternoon|evening)|hello|hi|hey),\s+)?"
    rf"(?P<org>{_ORG}),\s+(?:(?i:this is)\s+)?(?P<name>{_NAME})(?:\s+(?i:speaking))?\s*[.!,]"
)
_CALLED_RE = re.compile(
    rf"\b(?i:am i speaking (?:with|to)|is this|speaking with)\s+(?P<name>{_NAME})"
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


# --- the check ---------------------------------------------------------------------------------

_FIRST_PERSON_RE = re.compile(
    r"\b(?:I|I'm|I've|I'll|I'd|(?i:me|my|mine|we|we're|we'll|us|our|ours))\b"
)
_QUOTED_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
_CALL_VERB_RE = re.compile(r"\b(?:called|phoned|rang|contacted)\b(?! back)")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_VALUE = rf"(?:{_DAYS}|\d{{1,2}}(?:[:.]\d{{2}})?(?:\s?[ap]\.?m\.?)?|(?:(?:next|this) )?(?:{_DAYS}))"
_FROM_TO_RE = re.compile(
    rf"(?i)\bfrom\s+(?:\w+\s+){{0,2}}?(?P<old>{_VALUE})\b[^.;]{{0,40}}?\bto\s+"
    rf"(?:\w+\s+){{0,2}}?(?P<new>{_VALUE})\b"
)
_MOVE_VERBS = r"(?:move|moved|moves|moving|change|changed|changes|reschedul\w*|postpon\w*|push\w*)"
_MOVE_TO_RE = re.compile(
    rf"(?i)\b{_MOVE_VERBS}\b[^.?!;]{{0,60}}?\bto\s+(?:\w+\s+){{0,2}}?(?P<new>{_VALUE})\b"
)


def move_targets(text: str) -> list[str]:
    """The normalised days and times ``text`` moves something *to* ("move your check-up to
    Monday at 10:30" gives ["monday", "10:30"])."""
    targets: list[str] = []
    for match in re.finditer(
        rf"(?i)\b{_MOVE_VERBS}\b[^.?!;]{{0,60}}?\bto\b([^.?!;]{{0,40}})", text
    ):
        targets += [_norm(v) for v in re.findall(rf"(?i)\b{_VALUE}\b", match.group(1))]
    return targets


def _norm(value: str) -> str:
    value = value.lower().replace(".", ":").strip()
    value = re.sub(r"^(?:next|this) ", "", value)
    return re.sub(r"\s?([ap]):?m:?$", r" \1m", value)


def role_problems(sentence: str, source: str, people: list[Speaker]) -> list[str]:
    """Why ``sentence`` misstates who did what in ``source`` (whose speakers are ``people``):
    empty when nothing checkable is wrong. Reasons name the rule, and name only speakers,
    organisations, days and times the source itself states."""
    problems: list[str] = []
    unquoted = _QUOTED_RE.sub(" ", sentence)
    if person := _FIRST_PERSON_RE.search(unquoted):
        problems.append(f"first person ('{person.group()}') in a summary sentence")
    problems += _direction_problems(unquoted, people)
    problems += _before_after_problems(unquoted, source)
    problems += _possession_problems(unquoted, source, people)
    return problems


# "your trip", "my new number": the owner and the next two words (the thing, or a modifier and
# the thing).
_OWNED_RE = re.compile(r"(?i)\b(your|my|our|her|his|their)\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
# Words a summary names the unnamed listener by: "her" may then be the listener's.
_LISTENER_RE = re.compile(
    r"(?i)\b(?:you|your|recipient|listener|customer|client|callee|the other (?:party|person))\b"
)


def _owned(text: str, owners: tuple[str, ...]) -> set[str]:
    """The words right after a possessive of ``owners`` in ``text`` (lower case)."""
    found: set[str] = set()
    for match in _OWNED_RE.finditer(text):
        if match.group(1).lower() in owners:
            found.update(w.lower() for w in match.groups()[1:] if w)
    return found


def _possession_problems(sentence: str, source: str, people: list[Speaker]) -> list[str]:
    """The listener's things the sentence gives the speaker (:func:`possession_edits`)."""
    return [f"whose: {_whose(thing)}" for _, thing in _misowned(sentence, source, people)]


def possession_edits(sentence: str, source: str, people: list[Speaker]) -> tuple[str, list[str]]:
    """``sentence`` with each of the listener's things it gives the speaker ("her trip" where
    the source's only speaker says "your trip": see the module docstring) written as "the
    trip", and what was changed. The sentence loses a wrong owner and gains nothing: its facts
    stay as checked."""
    wrong = dict(_misowned(sentence, source, people))
    if not wrong:
        return sentence, []
    edits: list[str] = []

    def fix(match: re.Match[str]) -> str:
        thing = wrong.get(match.start())
        if thing is None:
            return match.group()
        owner = match.group(1)
        the = "The" if owner[0].isupper() else "the"
        edits.append(f"'{owner} {thing}' written '{the} {thing}': {_whose(thing)}")
        return the + match.group()[len(owner) :]

    return _OWNED_RE.sub(fix, sentence), edits


def _whose(thing: str) -> str:
    return f"the source says 'your {thing.lower()}', the listener's"


def _misowned(sentence: str, source: str, people: list[Speaker]) -> list[tuple[int, str]]:
    """Where ``sentence`` gives the speaker a thing the source says is the listener's, and
    that thing: only in a call of one introduced person, and not when the sentence names the
    listener."""
    if len(people) != 1 or _LISTENER_RE.search(sentence):
        return []
    theirs = _owned(source, ("your",)) - _owned(source, ("my", "our", "her", "his", "their"))
    found = []
    for match in _OWNED_RE.finditer(sentence):
        if match.group(1).lower() not in ("her", "his", "their"):
            continue
        thing = next((w for w in match.groups()[1:] if w and w.lower() in theirs), None)
        if thing is not None:
            found.append((match.start(), thing))
    return found


def _parties(people: list[Speaker]) -> tuple[set[str], set[str]]:
    """The lower-case names (full and first) and organisations of the side that placed the call
    and of the side that received it."""
    placed: set[str] = set()
    received: set[str] = set()
    for person in people:
        if person.placed_call is None:
            continue
        side = placed if person.placed_call else received
        side.update({person.name.lower(), person.first_name().lower()})
        if person.org:
            side.add(person.org.lower())
    return placed - received, received - placed


def _direction_problems(sentence: str, people: list[Speaker]) -> list[str]:
    problems: list[str] = []
    placed, received = _parties(people)
    own_org = {p.name.lower(): p.org.lower() for p in people if p.org} | {
        p.first_name().lower(): p.org.lower() for p in people if p.org
    }
    for verb in _CALL_VERB_RE.finditer(sentence):
        before = sentence[: verb.start()].rstrip()
        if re.search(r"(?i)\b(?:was|were|been|being|is|are|be|get|got)\s*$", before):
            subject, obj = _party_at_end(sentence[: verb.start()], people, passive=True), None
            passive = True
        else:
            subject = _party_at_end(before, people, passive=False)
            obj = _party_at_start(sentence[verb.end() :], people)
            passive = False
        if passive:  # "X was called": X received the call
            if subject and subject in placed:
                problems.append(f"direction: {_title(subject, people)} placed the call")
            continue
        if subject and subject in received:
            problems.append(f"direction: {_title(subject, people)} received the call")
        if obj and obj in placed:
            problems.append(f"direction: {_title(obj, people)} placed the call")
        if subject and obj and own_org.get(subject) == obj:
            problems.append(
                f"direction: {_title(subject, people)} called from {_title(obj, people)}, not to it"
            )
    return problems


def _mentions(people: list[Speaker]) -> list[tuple[str, str]]:
    """(lower-case mention, the party key it stands for), longest first."""
    found: list[tuple[str, str]] = []
    for person in people:
        found += [(person.name.lower(), person.name.lower())]
        found += [(person.first_name().lower(), person.first_name().lower())]
        if person.org:
            found.append((person.org.lower(), person.org.lower()))
    return sorted(set(found), key=lambda m: -len(m[0]))


def _party_at_end(text: str, people: list[Speaker], *, passive: bool) -> str | None:
    """The party that is the subject of a verb right after ``text``: "Maria Lopez from
    Northwind Travel called" -> "maria lopez" (the person, not the organisation after from)."""
    low = text.lower()
    low = re.sub(r"\s+(?:was|were|been|being|is|are|be|get|got|has|have|had)\s*$", "", low)
    low = re.sub(r"\s+(?:from|at|of|with) [^,;]{1,60}$", "", low)  # "X from Y"
    low = re.sub(r"\s+(?:\w+ly|also|then|later|first|just)\s*$", "", low).rstrip(" ,")
    for mention, key in _mentions(people):
        if re.search(rf"(?:^|\b(?:the |a )?){re.escape(mention)}(?:'s \w+)?$", low):
            return key
    del passive
    return None


def _party_at_start(text: str, people: list[Speaker]) -> str | None:
    low = text.lower().lstrip()
    low = re.sub(r"^(?:mr|mrs|ms|miss|dr|doctor)\.?\s+", "", low)
    for mention, key in _mentions(people):
        if re.match(rf"(?:the )?{re.escape(mention)}\b", low):
            return key
    return None


def _title(key: str, people: list[Speaker]) -> str:
    for person in people:
        if key == person.name.lower():
            return person.name
        if key == person.first_name().lower():
            return person.first_name()
        if person.org and key == person.org.lower():
            return person.org
    return key


def _before_after_problems(sentence: str, source: str) -> list[str]:
    targets = move_targets(source)
    if not targets:
        return []
    problems: list[str] = []
    for match in _FROM_TO_RE.finditer(sentence):
        old, new = _norm(match.group("old")), _norm(match.group("new"))
        if old in targets and new not in targets:
            problems.append(f"before/after: the source moves to {match.group('old')}, not from it")
    if not problems:
        for match in _MOVE_TO_RE.finditer(sentence):
            new = _norm(match.group("new"))
            if new not in targets and new in _norm_all(source):
                problems.append(
                    f"before/after: the source does not move anything to {match.group('new')}"
                )
    return problems


def _norm_all(text: str) -> set[str]:
    return {_norm(v) for v in re.findall(rf"(?i)\b{_VALUE}\b", text)}
