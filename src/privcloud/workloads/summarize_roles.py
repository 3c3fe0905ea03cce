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
  (:func:`possession_edits` writes it "the trip" instead, which the summary keeps);
* **who moves** — where the source says a thing leaves, departs, arrives, lands or takes off
  ("your flight on Friday leaves"), the sentence must not make a person do it to the thing
  ("she leaves the flight on Friday", the same verb): :func:`motion_edits` writes it "the flight
  leaves on Friday" when the subject is a pronoun or a speaker, and it fails otherwise; "she
  leaves for Lisbon", "her flight leaves", "leave the parcel with a neighbour" (put) and "she
  arrives the day the flight lands" (a time) are not such uses;
* **who calls back** — "call us on 555-0142", "please call me back" ask the *listener* to
  call: in a source that asks and never promises a call ("I'll call you back"), the speaker
  who asked (the only one introduced, or the one a "Name:" label gives the line) must not be
  the one who "will call (back)" with no object or the listener as one; "she asks to be called
  back", "call Anna back" and "she will ring the insurer" pass.

Only what the transcript states is checked: a call whose speakers do not say who they are, or
whose direction no phrase gives away, passes the direction check (it is not a guard of its
own, but a filter on top of the grounding guard). The speakers themselves are read by
:mod:`summarize_speakers` (re-exported here).

Pure and I/O-free: the summarize workload uses it for the prompt (:func:`speaker_hint`, the
call's speakers named) and after the guard (:func:`role_problems`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privcloud.workloads.grounding_lexicon import PERIOD_WORDS, RELATIVE_DAYS, WEEKDAY_NAMES
from privcloud.workloads.summarize_speakers import NAME, ORG, Speaker, speaker_hint, speakers

__all__ = [
    "ROLE_RULES",
    "Speaker",
    "motion_edits",
    "move_targets",
    "possession_edits",
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
    problems += _possession_problems(unquoted, source, people)
    problems += _motion_problems(unquoted, source)
    problems += _callback_problems(unquoted, source, people)
    return problems


def role_edits(sentence: str, source: str, people: list[Speaker]) -> tuple[str, list[str]]:
    """``sentence`` with the role edits applied (:func:`possession_edits`, then
    :func:`motion_edits`), and what was changed, in that order."""
    text, edits = possession_edits(sentence, source, people)
    text, more = motion_edits(text, source, people)
    return text, edits + more


#: Words that end a noun phrase: prepositions, conjunctions, auxiliaries, days.
_NP_END = frozenset(
    re.findall(
        r"\w+",
        "on at in to for from by with about before after until when while if and or but so "
        f"then because as of is are was were will would can could should than that which who "
        f"{_DAYS.replace('|', ' ')}",
    )
)
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
        if match.group(1).lower() in owners:  # "your appointment on": not "on"
            found.update(w.lower() for w in match.groups()[1:] if w and w.lower() not in _NP_END)
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
        if match.group(2).lower() in _DETERMINERS:  # "send her the tickets": her is an object
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


# --- who moves: "the flight leaves", not "she leaves the flight" -------------------------------

#: Verbs a vehicle or trip does on its own (intransitive in a call): their forms by lemma.
_MOTION_FORMS = {
    "leave": ("leave", "leaves", "left", "leaving"),
    "depart": ("depart", "departs", "departed", "departing"),
    "arrive": ("arrive", "arrives", "arrived", "arriving"),
    "land": ("land", "lands", "landed", "landing"),
    "take off": ("take off", "takes off", "took off", "taken off", "taking off"),
    "touch down": ("touch down", "touches down", "touched down", "touching down"),
}
_LEMMA = {form: lemma for lemma, forms in _MOTION_FORMS.items() for form in forms}
_MOTION = "|".join(sorted(_LEMMA, key=len, reverse=True)).replace(" ", r"\s+")
_DETERMINER = r"(?:the|her|his|their|your|my|our|its|this|that)"
_DETERMINERS = frozenset(re.findall(r"\w+", f"{_DETERMINER} a an these those some any no each"))
_DETERMINERS |= {"every", "another"}
#: Words a time is told by: "the same day the flight lands" names no thing that moves.
_TIME_WORDS = WEEKDAY_NAMES | RELATIVE_DAYS | PERIOD_WORDS
_TIME_WORDS |= {"day", "days", "morning", "afternoon", "evening", "night", "time", "hour"}
_TIME_WORDS |= {"minute", "moment", "same", "noon", "midnight", "date"}
#: "leave the parcel with a neighbour": leave in its sense of put (a place or person follows).
_PUT_RE = re.compile(
    r"(?i)\s+(?:at|with|in|on|by|for|outside|behind|inside|near|beside|under|next to|"
    r"in front of)\b\s*(?P<where>[^.?!;,]*)"
)
#: "<verb> the <up to three words>": the thing a sentence makes the object of a motion verb.
_MOTION_OBJECT_RE = re.compile(
    rf"(?i)\b(?P<verb>{_MOTION})\s+{_DETERMINER}\s+(?P<np>[a-z][\w-]*(?:\s+[a-z][\w-]*){{0,2}})"
)
#: Words between a thing and its motion verb that show someone else is the verb's subject.
_OTHER_SUBJECT_RE = re.compile(
    r"(?i)\b(?:i|you|we|he|she|they|it|and|but|so|then|when|while|if|before|after|because|"
    r"until|once)\b"
)
_ADVERBS = ("also", "then", "now", "usually", "always", "just")
_AUX = (
    r"(?:will|would|shall|should|must|can|could|may|might|is|are|was|were|has|have|had|"
    rf"(?:is|are|was|were) going to|{'|'.join(_ADVERBS)})"
)
#: Plural forms by singular, for a verb whose subject becomes the thing.
_AGREE = {"is": "are", "was": "were", "has": "have", "leaves": "leave", "departs": "depart"}
_AGREE |= {"arrives": "arrive", "lands": "land", "takes": "take", "touches": "touch"}
_PRONOUN_SUBJECT_RE = re.compile(r"(?i)\b(?:she|he|they|i|we|you)$")


@dataclass(frozen=True)
class _Motion:
    """A motion verb a sentence uses transitively on a thing the source says moves."""

    verb: re.Match[str]
    thing: str
    np: str  # after the determiner, through the thing: "morning flight"
    end: int  # where it ends in the sentence
    said: str  # where the source says it moves: "flight on Friday leaves"
    lemma: str  # the verb, the source's and the sentence's: "leave"


def _motion_misuses(sentence: str, source: str) -> list[_Motion]:
    """The sentence's "<motion verb> <determiner> <noun phrase>" whose head the source makes
    the subject of the same verb; not a head that is a time ("the same day the flight lands")
    nor "leave" in its sense of put ("leave the parcel with a neighbour", "at the door")."""
    found = []
    for match in _MOTION_OBJECT_RE.finditer(sentence):
        words = []
        for word in re.finditer(r"\S+", match.group("np")):
            if word.group().lower() in _NP_END | _DETERMINERS:
                break
            words.append(word)
        if not words or words[-1].group().lower() in _TIME_WORDS:
            continue
        thing, end = words[-1].group(), match.start("np") + words[-1].end()
        lemma = _LEMMA[" ".join(match.group("verb").lower().split())]
        put = _PUT_RE.match(sentence, end)
        if lemma == "leave" and put and not _is_time(put.group("where")):
            continue
        said = _moves_in(thing, source, lemma)
        if said is not None:
            np = sentence[match.start("np") : end]
            found.append(_Motion(match, thing, np, end, said, lemma))
    return found


def _is_time(words: str) -> bool:
    """Whether ``words`` start with a day or time ("Friday", "10.30", "the morning")."""
    first = re.sub(r"(?i)^(?:(?:the|this|that|next|early|late)\s+)+", "", words.strip())
    return not first or first[0].isdigit() or first.split()[0].lower() in _TIME_WORDS


def _moves_in(thing: str, source: str, lemma: str) -> str | None:
    """The source's words where ``thing`` heads the subject of ``lemma`` ("flight on Friday
    leaves"), or None; None too when the source itself makes it that verb's object."""
    verb = "|".join(form.replace(" ", r"\s+") for form in _MOTION_FORMS[lemma])
    name = re.escape(thing)
    if re.search(rf"(?i)\b(?:{verb})\s+(?:{_DETERMINER}\s+)?(?:[\w-]+\s+){{0,2}}{name}\b", source):
        return None
    for match in re.finditer(rf"(?i)\b{name}\b(?P<gap>[^.?!;,]{{0,40}}?)\b(?:{verb})\b", source):
        gap = match.group("gap").split()
        if (
            _heads_subject(source[: match.start()])
            and (not gap or gap[0].lower() in _NP_END or gap[0].lower() in _ADVERBS)
            and not _OTHER_SUBJECT_RE.search(match.group("gap"))
        ):
            return " ".join(match.group().split())
    return None


def _heads_subject(before: str) -> bool:
    """Whether the word after ``before`` heads a noun phrase that starts its clause: a
    determiner or the clause's start, then at most two modifiers ("your Friday flight"; not
    "on Friday morning")."""
    words = re.split(r"[.?!;,:]", before)[-1].split()
    for word in [w.lower() for w in reversed(words)][:3]:
        if word in _DETERMINERS:
            return True
        if word in _NP_END and word not in _DAYS.split("|"):
            return False
    return len(words) < 3


def _motion_reason(motion: _Motion) -> str:
    does = _agree(motion.lemma.split(), False)
    return (
        f"who moves: the source says '{motion.said}': the {motion.thing.lower()} "
        f"{' '.join(does)}, no one {does[0]} it"
    )


def _motion_problems(sentence: str, source: str) -> list[str]:
    return [_motion_reason(motion) for motion in _motion_misuses(sentence, source)]


def motion_edits(sentence: str, source: str, people: list[Speaker]) -> tuple[str, list[str]]:
    """``sentence`` with "<person> leaves the flight" written "the flight leaves" where the
    source says the flight leaves (departs, arrives, lands, takes off), and what was changed.
    Only a subject that is a pronoun or an introduced speaker ("Maria Lopez from Northwind
    Travel") is taken out, and only modal or tense auxiliaries are kept between it and the verb
    ("she will leave the flight" -> "the flight will leave"); the sentence's other words stay
    as they are. Anything else is left for :func:`role_problems` to report."""
    edits: list[str] = []
    for motion in reversed(_motion_misuses(sentence, source)):  # earlier positions stay valid
        if edited := _motion_edit(sentence, motion, people):
            old, new, sentence = edited
            edits.insert(0, f"'{old}' written '{new}': {_motion_reason(motion)}")
    return sentence, edits


def _motion_edit(
    sentence: str, motion: _Motion, people: list[Speaker]
) -> tuple[str, str, str] | None:
    """(the words replaced, their replacement, the edited sentence), or None when the subject
    is not one this edit can take out."""
    verb = motion.verb
    before = sentence[: verb.start()]
    aux = re.search(rf"(?i)(?:\s+{_AUX})*\s*$", before)
    assert aux is not None  # the pattern matches the empty string
    head, aux_words = before[: aux.start()], aux.group().split()
    start = _subject_start(head, people)
    if start is None:
        return None
    plural = re.search(r"(?<![su])s$", motion.thing.lower()) is not None
    said = _agree([*aux_words, *verb.group("verb").split()], plural)
    at_start = not sentence[:start].strip() or sentence[:start].rstrip()[-1] in ".!?"
    new = " ".join(["The" if at_start else "the", motion.np, *said])
    old = sentence[start : motion.end]
    return old, new, sentence[:start] + new + sentence[motion.end :]


def _subject_start(head: str, people: list[Speaker]) -> int | None:
    """Where the subject that ends ``head`` starts: a personal pronoun, or the earliest
    introduced speaker or organisation whose mention (with "from <org>") runs to the end."""
    if pronoun := _PRONOUN_SUBJECT_RE.search(head.rstrip()):
        return pronoun.start()
    starts = []
    for mention, _ in _mentions(people):
        found = re.search(
            rf"(?:\b(?i:the) )?\b(?i:{re.escape(mention)})(?:\s+(?:from|at|of|with)\s+{ORG})?\s*$",
            head,
        )
        if found:
            starts.append(found.start())
    return min(starts) if starts else None


def _agree(words: list[str], plural: bool) -> list[str]:
    """Auxiliaries and verb after a new subject: the first that is not an adverb agrees."""
    table = _AGREE if plural else {v: k for k, v in _AGREE.items()}
    at = next((i for i, w in enumerate(words) if w.lower() not in _ADVERBS), None)
    if at is not None:
        words[at] = table.get(words[at].lower(), words[at])
    return words


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


def _callback_problems(sentence: str, source: str, people: list[Speaker]) -> list[str]:
    """A sentence that has the speaker who asked to be called ("call us on 555-0142") call:
    "Anna Schmidt will call back". Checked when the source asks and never promises a call
    ("I'll call you back"), and only of a speaker it can tell asked: the only one introduced,
    or the one a "Name:" label gives the line to."""
    asks = (r for r in _CALLBACK_REQUEST_RE.finditer(source) if not _told(source, r.start()))
    request = None if _CALLBACK_PROMISE_RE.search(source) else next(asks, None)
    asker = _asker(source, request.start(), people) if request else set()
    if request is None or not asker:
        return []
    pronouns = len(people) == 1 and not _LISTENER_RE.search(sentence)
    for verb in _CALLS_RE.finditer(sentence):
        intent = re.search(rf"(?i)(?:\s+{_INTENT})+\s*$", sentence[: verb.start()])
        if intent is None:
            continue
        head = sentence[: intent.start()]
        if not _calls_listener(sentence, verb.end(), head):
            continue
        subject = _party_at_end(head, people, passive=False)
        if subject is None and pronouns and re.search(r"(?i)\b(?:she|he|they)$", head):
            subject = people[0].name.lower()
        if subject in asker:
            asked = " ".join(request.group().split())
            who = _title(subject, people)
            return [f"call-back: the source asks the listener to call {who} ('{asked}')"]
    return []


#: Who the listener is, as the object of a call: "call the patient back".
_LISTENER_OBJECT_RE = re.compile(
    r"(?i)(?:you|(?:the|their|his|her)\s+(?:patient|customer|client|recipient|listener|callee|"
    r"caller|other (?:party|person)))\b"
)
#: Words after "call" that leave it without an object: "will call back on 555-0142", "will ring".
_NO_OBJECT = _NP_END | {"back", "again", "today", "tomorrow", "tonight", "later", "soon", "first"}


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
    """The party keys (:func:`_mentions`) of who speaks at ``position``: the "Name:" label of
    its line, or the only introduced person and their organisation."""
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
