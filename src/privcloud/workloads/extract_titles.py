"""Event titles of the ``extract`` workload: the thing, with what it is for ("flight to Lisbon",
"meeting to sign the contract", "lunch with Ana"), not the words that happen to open the
sentence ("Your flight", "Can we meet").

Rules, no model (see :mod:`privcloud.workloads.extract` for why):

1. The *head* is the first event word of the clause outside its date, time and location
   phrases: a noun ("flight", "appointment") with the nouns and modifiers right before it
   ("Dentist appointment", "kickoff meeting"), or a verb that names an event ("meet", "fly",
   "travel"; "call", "visit" and "drive" when an object follows them).
2. A verb's *object* follows it ("meet Tom", "call the bank"); a pronoun object ("call me") is
   left out.
3. *Complements* follow the head or its object, with only date, time and location phrases
   between: ``with`` (who), ``to`` (a destination or a purpose: "to Lisbon", "to sign the
   contract"), ``for``, ``about``, ``back to`` and, for travel, ``from``; each runs to the next
   date or time phrase, punctuation or conjunction, at most :data:`_COMPLEMENT_WORDS` words.
4. A trip without a destination in its own sentence ("Your flight on Friday leaves at 10")
   takes the one the previous sentence gave a trip ("I am calling about your trip to Lisbon").

When the parts lie next to each other and no word is changed, the title is that stretch of the
text, verbatim. Otherwise it is *composed* by :func:`compose_title` from the parts, quoted
verbatim: the head verb becomes its noun ("meet" -> "meeting"; :data:`VERB_NOUNS`), an object
gets the verb's preposition ("meet Tom" -> "meeting with Tom"), and the parts are joined with
spaces. The extract grounding check re-composes the title from its quoted parts, as it
re-resolves dates from their phrases, so a composed title holds no word the text does not
give except that noun and preposition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privcloud.workloads.extract_contacts import NAME_WORD, NOT_NAMES

__all__ = ["EVENT_WORDS", "Title", "VERB_NOUNS", "compose_title", "find_title"]

_CASE = re.IGNORECASE


def _set_of(words: str) -> frozenset[str]:
    """The words of ``words``, split at white space."""
    return frozenset(words.split())


#: Event nouns (and the few verbs below): a clause with a date and one of these is an event.
_NOUNS = (
    r"meeting|lunch|dinner|breakfast|brunch|coffee|appointment|appt|call|interview|party|"
    r"conference|class|lecture|session|review|stand-?up|sync|demo|presentation|workshop|flight|"
    r"trip|game|match|concert|wedding|birthday|visit|doctor|dentist|drinks|event|webinar|seminar|"
    r"training|exam|practice|rehearsal|check-?up|ceremony|date|catch\s+up|kick-?off|launch|"
    r"offsite|retro|retrospective|planning|one-on-one|recital|show|movie|play|performance|"
    r"festival|gym|yoga|haircut|vet|funeral|reunion|graduation|shower|hike|train|bus|ferry|"
    r"cruise|journey|drive|ride"
)
#: Verbs that name an event, with the noun a title uses and the preposition of their object.
VERB_NOUNS: dict[str, tuple[str, str]] = {
    "meet": ("meeting", "with"),
    "fly": ("flight", "to"),
    "flying": ("flight", "to"),
    "travel": ("trip", "to"),
    "traveling": ("trip", "to"),
    "travelling": ("trip", "to"),
}
#: Nouns that are verbs when an object follows them ("call the bank", "visit grandma"): the
#: object stays as said ("call Bob"), a pronoun object is left out ("call me about" -> "call
#: about").
_VERB_WHEN_OBJECT = frozenset({"call", "visit", "drive", "interview", "ring", "phone"})
#: "meeting" is a verb after a form of "be" with an object ("we're meeting the landlord"): its
#: object gets "with" ("meeting with the landlord").
_BE = _set_of("am is are was were be been i'm we're you're they're he's she's")
_PROGRESSIVE = {"meeting": "with"}
EVENT_WORDS = re.compile(r"\b(?:" + _NOUNS + "|" + "|".join(VERB_NOUNS) + r")\b", _CASE)
_TRAVEL = _set_of(
    "flight trip train bus ferry cruise journey drive ride fly flying travel traveling travelling"
)
#: Words that introduce a complement of the head.
_INTROS = frozenset({"with", "to", "for", "about", "back"})
_STOPS = _set_of(
    "and but then so or because if when while which who whom where that please also let's "
    "lets we i you he she they it's is are was will would can could should"
)
_PREPOSITIONS = _set_of(
    "at on by in from until till between around of for to with about back into onto"
)
_POSSESSIVE = ("'s", "\u2019s")
_PRONOUNS = _set_of("me us you him her them it")
#: Words that end a run of modifiers before the head: function words, pronouns, verbs.
_NOT_MODIFIERS = _set_of(
    "i we you he she they it i'm we're you're i've we've let's lets there there's is are was "
    "were be been have has had got get a an the my our your his her their its this that these "
    "those so ok okay also and then oh um uh please schedule book set up add put having going "
    "gonna to will i'll we'll on at for by about hey well it's just doing don't miss attend "
    "attending join joining can could shall should would may might must do does did with from "
    "in of next"
)
_COMPLEMENT_WORDS = 6
_NAME_WORDS = 4
#: Abbreviations whose full stop does not part them from the next word ("Dr. Lee").
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "prof", "st", "mt"})
_NAME_LINKS = frozenset({"de", "da", "del", "la", "van", "von", "of", "&"})
_MODIFIER_WORDS = 3
_OBJECT_WORDS = 4
_TRAIL = _set_of(
    "at on by in from and the for to with a an is are of this next until till between around "
    "it please then so or me that"
)
_DURATION = re.compile(r"for\s+(?:an?|\d+|\w+)\s+(?:minutes?|hours?|days?|weeks?)\b", _CASE)
_WORD = re.compile(r"[^\s,;:!?()\"\u201c\u201d]+")
#: A trip's destination in an earlier sentence: "trip to Lisbon", "flying back to Rome".
_DESTINATION = re.compile(
    r"\b(?i:trip|flight|travel(?:l?ing)?|journey|fly(?:ing)?|going|heading|train|drive|driving|"
    r"ride|cruise|ferry|bus)\s+(?P<dest>(?i:back\s+)?(?i:to)\s+"
    + NAME_WORD
    + r"(?:\s+"
    + NAME_WORD
    + r"){0,2})"
)

Span = tuple[int, int]


@dataclass(frozen=True)
class Title:
    """An event's title and the spans of ``text`` it was taken from."""

    value: str
    parts: tuple[Span, ...]
    #: False when ``value`` is the text from the first part to the last, verbatim.
    composed: bool


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    bare: str  # lower case, without surrounding full stops, quotes and dashes
    joined: bool  # only white space between this word and the one before


def _bare(word: str) -> str:
    return word.strip(".'\u2019-").lower()


def _words(text: str, start: int, end: int) -> list[_Word]:
    words: list[_Word] = []
    previous = None
    for m in _WORD.finditer(text, start, end):
        a, b = m.span()
        while b > a and text[b - 1] in ".'\u2019-":
            b -= 1
        if b <= a:
            previous = None
            continue
        gap = text[previous:a].strip() if previous is not None else "-"
        joined = not gap or (gap == "." and words[-1].bare in _ABBREVIATIONS)
        words.append(_Word(a, b, _bare(text[a:b]), joined))
        previous = b
    return words


def _inside(word: _Word, holes: list[Span]) -> bool:
    return any(word.start < b and word.end > a for a, b in holes)


def _trimmed(text: str, words: list[_Word]) -> Span | None:
    while words and words[-1].bare in _TRAIL:
        words = words[:-1]
    return (words[0].start, words[-1].end) if words else None


def _run(words: list[_Word], i: int, holes: list[Span], limit: int) -> int:
    """The index after the run of words from ``i``: joined, outside holes, no stop word."""
    j = i + 1
    while (
        j < len(words)
        and j - i < limit
        and words[j].joined
        and not _inside(words[j], holes)
        and words[j].bare not in _STOPS
    ):
        j += 1
    return j


def _event_end(text: str, words: list[_Word], i: int) -> int:
    """The index after the event word(s) starting at word ``i`` ("catch up" is two), or ``i``
    when no event word starts there ("doctor's" is one: a possessive)."""
    m = EVENT_WORDS.match(text, words[i].start, words[-1].end)
    if m is None or (m.end() < words[i].end and text[m.end() : words[i].end] not in _POSSESSIVE):
        return i
    end = i + 1
    while end < len(words) and words[end].start < m.end() and words[end].joined:
        end += 1
    return end


def _head(text: str, words: list[_Word], holes: list[Span]) -> tuple[int, int, bool] | None:
    """(first, last + 1, is_verb) of the head's words, or None without an event word."""
    for i, word in enumerate(words):
        end = _event_end(text, words, i) if not _inside(word, holes) else i
        if end == i:
            continue
        after = words[end] if end < len(words) else None
        takes_object = (
            after is not None
            and after.joined
            and not _inside(after, holes)
            and after.bare not in _PREPOSITIONS | _STOPS
            and after.bare != "up"
        )
        progressive = word.bare in _PROGRESSIVE and i > 0 and words[i - 1].bare in _BE
        if word.bare in VERB_NOUNS or (
            takes_object and (word.bare in _VERB_WHEN_OBJECT or progressive)
        ):
            return i, i + 1, True
        while (
            end < len(words)
            and words[end].joined
            and not _inside(words[end], holes)
            and words[end].bare not in VERB_NOUNS
            and _event_end(text, words, end) > end
        ):
            end = _event_end(text, words, end)
        first = i
        while (
            first > 0
            and i - first < _MODIFIER_WORDS
            and words[first].joined
            and not _inside(words[first - 1], holes)
            and words[first - 1].bare not in _NOT_MODIFIERS
            and not words[first - 1].bare.isdigit()
        ):
            first -= 1
        return first, end, False
    return None


def find_title(
    text: str, start: int, end: int, holes: list[Span], context: Span | None = None
) -> Title | None:
    """The title of the event in ``text[start:end]`` (one clause), outside ``holes`` (its date,
    time, location and contact phrases); ``context`` is the text before it that may name a
    trip's destination. None when the clause has no event word."""
    words = _words(text, start, end)
    head = _head(text, words, holes)
    if head is None:
        return None
    first, last, verb = head
    parts: list[Span] = [(words[first].start, words[last - 1].end)]
    bare = words[first].bare
    composed = verb and bare in VERB_NOUNS
    i = last
    if verb and i < len(words) and words[i].joined:
        j = _run(words, i, holes, _OBJECT_WORDS)
        if j > i and not _inside(words[i], holes) and words[i].bare not in _INTROS | _STOPS:
            j = next((k for k in range(i, j) if words[k].bare in _INTROS), j)
            obj = _trimmed(text, words[i:j])
            if obj is not None and not all(w.bare in _PRONOUNS for w in words[i:j]):
                parts.append(obj)
                composed = composed or bare in _PROGRESSIVE  # "meeting with the landlord"
            i = j
    intros: set[str] = set()
    travel = bare in _TRAVEL or words[last - 1].bare in _TRAVEL
    while i < len(words):
        word = words[i]
        if _inside(word, holes):
            i += 1
            continue
        intro = word.bare
        duration = _DURATION.match(text, word.start)
        if duration is not None:  # "for an hour": said of the time, not of the event
            i = next((k for k, w in enumerate(words) if w.start >= duration.end()), len(words))
            continue
        if (intro in _INTROS or (travel and intro == "from")) and intro not in intros:
            j = _complement_end(text, words, i, holes)
            span = _trimmed(text, words[i:j])
            if span is not None and j - i >= 2 and span[1] > word.end:
                intros.add(intro)
                if not (words[i].joined and i == _end_of(parts, words)):
                    composed = True
                parts.append(span)
                i = j
                continue
        if intro in _TRAIL and i + 1 < len(words) and _inside(words[i + 1], holes):
            i += 1  # "... at" before a time phrase
            continue
        break
    if travel and not intros & {"to", "back", "from"} and context is not None:
        found = list(_DESTINATION.finditer(text, *context))
        if found:
            dest = found[-1].span("dest")
            if text[dest[0] : dest[1]].rsplit(maxsplit=1)[-1] not in NOT_NAMES:
                parts.append(dest)
                composed = True
    if not composed:
        value = text[parts[0][0] : parts[-1][1]]
    else:
        value = compose_title([text[a:b] for a, b in parts])
    return Title(value, tuple(parts), composed)


def _complement_end(text: str, words: list[_Word], i: int, holes: list[Span]) -> int:
    """The index after the complement that starts at word ``i``: a name ("to Lisbon", "with
    Ana Lopez") ends with its last capitalised word; other complements ("to sign the contract")
    run to the next date, time, punctuation or conjunction."""
    first = i + 2 if words[i].bare == "back" else i + 1
    if first < len(words) and words[first].joined and text[words[first].start].isupper():
        j = first
        while (
            j < len(words)
            and j - first < _NAME_WORDS
            and words[j].joined
            and not _inside(words[j], holes)
            and (text[words[j].start].isupper() or words[j].bare in _NAME_LINKS)
        ):
            j += 1
        while j > first + 1 and words[j - 1].bare in _NAME_LINKS:
            j -= 1
        return j
    return _run(words, i, holes, _COMPLEMENT_WORDS + 1)


def _end_of(parts: list[Span], words: list[_Word]) -> int:
    """The index of the word right after the last part."""
    last = parts[-1][1]
    return next((k for k, w in enumerate(words) if w.start >= last), len(words))


def compose_title(phrases: list[str]) -> str:
    """The title made of ``phrases`` (see the module docstring): deterministic, so that the
    grounding check can make it again from the phrases it quotes."""
    if not phrases:
        return ""
    head = phrases[0].split()
    if not head:
        return ""
    verb = _bare(head[-1])
    noun, preposition = VERB_NOUNS.get(verb, (head[-1], _PROGRESSIVE.get(verb, "")))
    head[-1] = noun.capitalize() if head[-1][:1].isupper() else noun
    out = [" ".join(head)]
    for phrase in phrases[1:]:
        first = phrase.split(maxsplit=1)[0].lower() if phrase.strip() else ""
        if preposition and first not in _INTROS | {"from"}:
            out.append(preposition)
        out.append(phrase)
    return " ".join(out)
