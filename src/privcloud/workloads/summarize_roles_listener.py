"""The listener's part in a one-sided call: whose things they are, and who is to call back.

Two of :func:`summarize_roles.role_problems`' rules, both about a speaker who talks to a
listener the transcript never names:

* **whose** — in a call where one person introduces themselves and the other is never named (a
  voicemail, "this is X from Y ... your trip"), "her trip" or "his flight" can only be the
  speaker's: it fails when the source says "your trip" and never "my trip" or "our trip"
  (:func:`possession_edits` writes it "the trip" instead, which the summary keeps);
* **who calls back** — "call us on 555-0142", "please call me back" ask the *listener* to
  call: in a source that asks and never promises a call ("I'll call you back"), the speaker
  who asked (the only one introduced, or the one a "Name:" label gives the line) must not be
  the one who "will call (back)" with no object or the listener as one; "she asks to be called
  back", "call Anna back" and "she will ring the insurer" pass.

Pure and I/O-free.
"""

from __future__ import annotations

import re

from privcloud.workloads.summarize_roles_clauses import (
    DETERMINERS,
    LISTENER_RE,
    NP_END,
    party_at_end,
    party_title,
)
from privcloud.workloads.summarize_speakers import NAME, Speaker

__all__ = ["callback_problems", "possession_edits", "possession_problems"]

# --- whose: "the trip", not "her trip", where the source says "your trip" ----------------------

# "your trip", "my new number": the owner and the next two words (the thing, or a modifier and
# the thing).
_OWNED_RE = re.compile(r"(?i)\b(your|my|our|her|his|their)\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")


def _owned(text: str, owners: tuple[str, ...]) -> set[str]:
    """The words right after a possessive of ``owners`` in ``text`` (lower case)."""
    found: set[str] = set()
    for match in _OWNED_RE.finditer(text):
        if match.group(1).lower() in owners:  # "your appointment on": not "on"
            found.update(w.lower() for w in match.groups()[1:] if w and w.lower() not in NP_END)
    return found


def possession_problems(sentence: str, source: str, people: list[Speaker]) -> list[str]:
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
    if len(people) != 1 or LISTENER_RE.search(sentence):
        return []
    theirs = _owned(source, ("your",)) - _owned(source, ("my", "our", "her", "his", "their"))
    found = []
    for match in _OWNED_RE.finditer(sentence):
        if match.group(1).lower() not in ("her", "his", "their"):
            continue
        if match.group(2).lower() in DETERMINERS:  # "send her the tickets": her is an object
            continue
        thing = next((w for w in match.groups()[1:] if w and w.lower() in theirs), None)
        if thing is not None:
            found.append((match.start(), thing))
    return found


# --- who calls back: "call us on 555-0142" asks the listener to call ---------------------------

#: "call us", "please call me back", "give us a ring", "get back to me", "reach us at".
_CALLBACK_REQUEST_RE = re.compile(
    r"(?i)\b(?:(?:call|ring|phone|reach)\s+(?:me|us)\b|"
    r"give\s+(?:me|us)\s+a\s+(?:call|ring)\b|get\s+back\s+to\s+(?:me|us)\b|"
    r"(?:please|kindly)\s+(?:call|ring|phone)\s+back\b)[^.?!;]{0,30}"
)
#: "I'll call you back", "we will ring you", "call you tomorrow": the speaker will call.
_CALLBACK_PROMISE_RE = re.compile(
    r"(?i)\b(?:(?:call|ring|phone)\s+you\b|get\s+back\s+to\s+you\b|"
    r"(?:i|we)(?:'ll|\u2019ll|\s+will|\s+shall|\s+can|\s+could|\s+would|'m going to|"
    r"\s+am going to|\s+are going to)\s+(?:\w+\s+)?(?:call|ring|phone|get back)\b)"
)
#: A first- or third-person subject right before "call me": not a request to the listener.
_NOT_ASKED_RE = re.compile(r"(?i)\b(?:i|we|he|she|they|it)\b(?:\s+\S+){0,2}\s*$")
_CALLS_RE = re.compile(r"(?i)\b(?:call|ring|phone|get back to)\b")
_INTENT = (
    r"(?:will|'ll|\u2019ll|shall|would|can|could|may|might|(?:is|are) going to|"
    r"(?:plans?|intends?|wants?|promises?|promised|offers?|offered|agrees?|agreed|hopes?)\s+to|"
    r"(?:will )?try to|also|then|later|soon)"
)


def callback_problems(sentence: str, source: str, people: list[Speaker]) -> list[str]:
    """A sentence that has the speaker who asked to be called ("call us on 555-0142") call:
    "Anna Schmidt will call back". Checked when the source asks and never promises a call
    ("I'll call you back"), and only of a speaker it can tell asked: the only one introduced,
    or the one a "Name:" label gives the line to."""
    asks = (r for r in _CALLBACK_REQUEST_RE.finditer(source) if not _told(source, r.start()))
    request = None if _CALLBACK_PROMISE_RE.search(source) else next(asks, None)
    asker = _asker(source, request.start(), people) if request else set()
    if request is None or not asker:
        return []
    pronouns = len(people) == 1 and not LISTENER_RE.search(sentence)
    for verb in _CALLS_RE.finditer(sentence):
        intent = re.search(rf"(?i)(?:\s+{_INTENT})+\s*$", sentence[: verb.start()])
        if intent is None:
            continue
        head = sentence[: intent.start()]
        if not _calls_listener(sentence, verb.end(), head):
            continue
        subject = party_at_end(head, people, passive=False)
        if subject is None and pronouns and re.search(r"(?i)\b(?:she|he|they)$", head):
            subject = people[0].name.lower()
        if subject in asker:
            asked = " ".join(request.group().split())
            who = party_title(subject, people)
            return [f"call-back: the source asks the listener to call {who} ('{asked}')"]
    return []


#: Who the listener is, as the object of a call: "call the patient back".
_LISTENER_OBJECT_RE = re.compile(
    r"(?i)(?:you|(?:the|their|his|her)\s+(?:patient|customer|client|recipient|listener|callee|"
    r"caller|other (?:party|person)))\b"
)
#: Words after "call" that leave it without an object: "will call back on 555-0142", "will ring".
_NO_OBJECT = NP_END | {"back", "again", "today", "tomorrow", "tonight", "later", "soon", "first"}


def _calls_listener(sentence: str, end: int, head: str) -> bool:
    """Whether the call verb ending at ``end`` has no object but "back" or a number, or has the
    listener as its object ("call you", "call the customer", "call her back"); not "ring the
    insurer", "call the courier". A pronoun object is the listener unless the words before
    the verb (``head``) name someone else ("the insurer")."""
    after = sentence[end:].lstrip()
    word = re.match(r"[\w'-]+", after)
    if word is None or word.group()[0].isdigit() or word.group().lower() in _NO_OBJECT:
        return True
    if _LISTENER_OBJECT_RE.match(after):
        return True
    pronoun = re.match(r"(?i)(?:him|her|them)\b\s*([\w-]*)", after)
    if pronoun is None or pronoun.group(1).lower() not in _NO_OBJECT | {""}:
        return False  # "call the courier", "call her bank"
    third = re.findall(r"(?i)\b(?:the|a|an)\s+([a-z]+)", head)
    return not [w for w in third if not _LISTENER_OBJECT_RE.match(f"the {w}")]


def _told(source: str, position: int) -> bool:
    """Whether the clause before ``position`` has a subject other than "you" ("I'll call")."""
    return bool(
        _NOT_ASKED_RE.search(re.split(r"[.?!;,]", source[max(0, position - 80) : position])[-1])
    )


def _asker(source: str, position: int, people: list[Speaker]) -> set[str]:
    """The party keys (:func:`summarize_roles_clauses.mentions`) of who speaks at
    ``position``: the "Name:" label of its line, or the only introduced person and their
    organisation."""
    line = source[source.rfind("\n", 0, position) + 1 : position]
    if label := re.match(rf"\s*(?P<name>{NAME})\s*:", line):
        name = label.group("name").lower()
        person = next((p for p in people if name in (p.name.lower(), p.first_name().lower())), None)
        if person is None:
            return {name}
        return {person.name.lower(), person.first_name().lower()}
    if len(people) != 1:
        return set()
    (person,) = people
    keys = {person.name.lower(), person.first_name().lower()}
    return keys | ({person.org.lower()} if person.org else set())
