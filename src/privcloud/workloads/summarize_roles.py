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
* **whose** and **who calls back** — the listener's things and the listener's call in a
  one-sided call (:mod:`summarize_roles_listener`: "her trip" for the source's "your trip";
  the speaker who asked to be called being the one who calls);
* **who moves** — "she leaves the flight" where the source says the flight leaves
  (:mod:`summarize_roles_motion`).

Only what the transcript states is checked: a call whose speakers do not say who they are, or
whose direction no phrase gives away, passes the direction check (it is not a guard of its
own, but a filter on top of the grounding guard). The speakers themselves are read by
:mod:`summarize_speakers` (re-exported here); where a sentence names them, by
:mod:`summarize_roles_clauses`.

Pure and I/O-free: the summarize workload uses it for the prompt (:func:`speaker_hint`, the
call's speakers named) and after the guard (:func:`role_problems`, :func:`role_edits`).
"""

from __future__ import annotations

import re

from privcloud.workloads.summarize_roles_clauses import (
    DAYS,
    party_at_end,
    party_at_start,
    party_title,
)
from privcloud.workloads.summarize_roles_listener import (
    callback_problems,
    possession_edits,
    possession_problems,
)
from privcloud.workloads.summarize_roles_motion import motion_edits, motion_problems
from privcloud.workloads.summarize_speakers import Speaker, speaker_hint, speakers

__all__ = [
    "ROLE_RULES",
    "Speaker",
    "move_targets",
    "role_edits",
    "role_problems",
    "speaker_hint",
    "speakers",
]

# --- the check ---------------------------------------------------------------------------------

_FIRST_PERSON_RE = re.compile(
    r"\b(?:I|I'm|I've|I'll|I'd|(?i:me|my|mine|we|we're|we'll|us|our|ours))\b"
)
_QUOTED_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
_CALL_VERB_RE = re.compile(r"\b(?:called|phoned|rang|contacted)\b(?! back)")
_VALUE = rf"(?:{DAYS}|\d{{1,2}}(?:[:.]\d{{2}})?(?:\s?[ap]\.?m\.?)?|(?:(?:next|this) )?(?:{DAYS}))"
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


#: How each of :func:`role_problems`' reasons starts, one per rule (for counting them).
ROLE_RULES = ("first person", "direction:", "before/after:", "whose:", "who moves:", "call-back:")


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
    problems += possession_problems(unquoted, source, people)
    problems += motion_problems(unquoted, source)
    problems += callback_problems(unquoted, source, people)
    return problems


def role_edits(sentence: str, source: str, people: list[Speaker]) -> tuple[str, list[str]]:
    """``sentence`` with the role edits applied
    (:func:`summarize_roles_listener.possession_edits`, then
    :func:`summarize_roles_motion.motion_edits`), and what was changed, in that order."""
    text, edits = possession_edits(sentence, source, people)
    text, more = motion_edits(text, source, people)
    return text, edits + more


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
            subject, obj = party_at_end(sentence[: verb.start()], people, passive=True), None
            passive = True
        else:
            subject = party_at_end(before, people, passive=False)
            obj = party_at_start(sentence[verb.end() :], people)
            passive = False
        if passive:  # "X was called": X received the call
            if subject and subject in placed:
                problems.append(f"direction: {party_title(subject, people)} placed the call")
            continue
        if subject and subject in received:
            problems.append(f"direction: {party_title(subject, people)} received the call")
        if obj and obj in placed:
            problems.append(f"direction: {party_title(obj, people)} placed the call")
        if subject and obj and own_org.get(subject) == obj:
            problems.append(
                f"direction: {party_title(subject, people)} called from "
                f"{party_title(obj, people)}, not to it"
            )
    return problems


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
