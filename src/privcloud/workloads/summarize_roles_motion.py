"""Who moves in a call summary: where the source says a thing leaves, departs, arrives, lands or
takes off ("your flight on Friday leaves"), a summary sentence must not make a person do it to
the thing ("she leaves the flight on Friday", the same verb).

:func:`motion_edits` writes it "the flight leaves on Friday" when the subject is a pronoun or a
speaker, and :func:`motion_problems` reports it otherwise (the "who moves:" rule of
:func:`summarize_roles.role_problems`). "she leaves for Lisbon", "her flight leaves", "leave
the parcel with a neighbour" (put) and "she arrives the day the flight lands" (a time) are not
such uses. Pure and I/O-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privcloud.workloads.grounding_lexicon import PERIOD_WORDS, RELATIVE_DAYS, WEEKDAY_NAMES
from privcloud.workloads.summarize_roles_clauses import (
    DAYS,
    DETERMINER,
    DETERMINERS,
    NP_END,
    mentions,
)
from privcloud.workloads.summarize_speakers import ORG, Speaker

__all__ = ["motion_edits", "motion_problems"]

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
    rf"(?i)\b(?P<verb>{_MOTION})\s+{DETERMINER}\s+(?P<np>[a-z][\w-]*(?:\s+[a-z][\w-]*){{0,2}})"
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
            if word.group().lower() in NP_END | DETERMINERS:
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
    if re.search(rf"(?i)\b(?:{verb})\s+(?:{DETERMINER}\s+)?(?:[\w-]+\s+){{0,2}}{name}\b", source):
        return None
    for match in re.finditer(rf"(?i)\b{name}\b(?P<gap>[^.?!;,]{{0,40}}?)\b(?:{verb})\b", source):
        gap = match.group("gap").split()
        if (
            _heads_subject(source[: match.start()])
            and (not gap or gap[0].lower() in NP_END or gap[0].lower() in _ADVERBS)
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
        if word in DETERMINERS:
            return True
        if word in NP_END and word not in DAYS.split("|"):
            return False
    return len(words) < 3


def _motion_reason(motion: _Motion) -> str:
    does = _agree(motion.lemma.split(), False)
    return (
        f"who moves: the source says '{motion.said}': the {motion.thing.lower()} "
        f"{' '.join(does)}, no one {does[0]} it"
    )


def motion_problems(sentence: str, source: str) -> list[str]:
    """Why ``sentence`` makes someone do to a thing what the source says the thing does ("she
    leaves the flight" for "your flight leaves"): one "who moves:" reason each."""
    return [_motion_reason(motion) for motion in _motion_misuses(sentence, source)]


def motion_edits(sentence: str, source: str, people: list[Speaker]) -> tuple[str, list[str]]:
    """``sentence`` with "<person> leaves the flight" written "the flight leaves" where the
    source says the flight leaves (departs, arrives, lands, takes off), and what was changed.
    Only a subject that is a pronoun or an introduced speaker ("Maria Lopez from Northwind
    Travel") is taken out, and only modal or tense auxiliaries are kept between it and the verb
    ("she will leave the flight" -> "the flight will leave"); the sentence's other words stay
    as they are. Anything else is left for :func:`summarize_roles.role_problems` to report."""
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
    for mention, _ in mentions(people):
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
