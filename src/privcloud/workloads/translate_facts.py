"""Whether a translation kept its source's facts: numbers, clock times, dates and days, phone
numbers, e-mail addresses and names (:func:`check`).

The facts are read by the project's one fact reader (:mod:`privcloud.workloads.grounding_facts`,
built for English). Both sides are first put into the reader's words by a small lexicon per
language (:data:`LEXICONS`: es, fr, de, it, pt, nl): month and weekday names, "tomorrow" and
the like, the number words two to twelve, day-part phrases ("de la tarde" -> "pm") and the
preposition of a clock time ("a las" -> "at"), so "el lunes a las 3 de la tarde" and "on
Monday at 3 pm" yield the same keys. The source is read strictly (:func:`extract_facts`), the
translation generously (:class:`SourceIndex`, every reading of a token), plus a fallback that
compares digits alone ("1.200" in Spanish is "1,200" in English; "10時30分" holds 10 and 30).

What is checked depends on both languages (:func:`checkable`), so the check never asks for
what it cannot read:

* digits (numbers, clock times, ISO dates), phone numbers and e-mails: always;
* spelled-out numbers, month names, weekdays and relative days: when the target language has
  a lexicon (or is English); elsewhere only their digits, if any;
* names: when both languages are written in Latin script, and the source is not German (every
  German noun is capitalised; a German sentence's cities, which GeoNames tells from nouns, are
  checked where the sentence places them). A name is found token by token, accents ignored
  ("López" is kept as "Lopez"); a country, city or language the sentence uses as one ("to Lisbon",
  "speaks Polish": :func:`placed`) may be written by its name in the target language ("Lisboa":
  :mod:`privcloud.workloads.exonyms`), a person's name may not.

A fact is *lost* when it is checkable and the translation does not hold it: the translation of
"15:30" as "5:30", of "555-0142" as "555-0124", or a dropped "Carlos". Web addresses and
codes ("5b", "BA 304") must come back letter for letter in any language
(:mod:`privcloud.workloads.translate_codes`). Between the languages with a lexicon (and
English) more are read: an amount's currency and a quantity's unit, which must come back
(:mod:`privcloud.workloads.translate_currency`, :mod:`privcloud.workloads.translate_units`),
and a part of the day, which week or weekday, a duration, an ordinal, before or after a time
and the start or end of a period, which the translation must not contradict
(:mod:`privcloud.workloads.translate_periods`, ``translate_hours``, ``translate_ordinals``,
``translate_timing``), and a negation, which it must not drop (``translate_negation``). These
are read even where the reader finds no other fact ("half an hour").

A fact is *added* when the translation states a number, clock time, date or phone number
written with digits that the source does not hold, read the same generous way the other
direction reads the translation (a clock time matches its hour on either half of the day, so
"3 pm" and "15:00" hold each other): "It leaves early in the morning" translated as "Sale
temprano por la mañana a las 10:00" (Gemma 3 270M, seen live). Facts in words are not looked
for this way: a translation may spell out what the source wrote in digits and the other way
round, and a weekday or name the model adds is left to the lost-fact check of the way back.

An answer may also say what our *instruction* says instead of what the source says (Qwen2.5
1.5B answered a short fragment in a live call with "No notas, no citas, no explicaciones.", its
instruction's "no notes, no quotes, no explanations" in Spanish): :func:`echoes_instruction`
finds the instruction's topics (:data:`INSTRUCTION_TOPICS`: translating, the user and their
message, fragments, instructions, digits; notes, quotes and explanations) named in the answer,
in any language of :data:`LEXICONS` or English, and not in the source. Two such topics are no
translation of it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from privcloud.workloads import (
    exonyms,
    translate_codes,
    translate_currency,
    translate_hours,
    translate_kin,
    translate_negation,
    translate_ordinals,
    translate_outcomes,
    translate_periods,
    translate_quantities,
    translate_roles,
    translate_shares,
    translate_sides,
    translate_timing,
    translate_units,
)
from privcloud.workloads.exonyms import fold
from privcloud.workloads.grounding_facts import Fact, SourceIndex, extract_facts
from privcloud.workloads.text import vocabulary
from privcloud.workloads.translate_lexicons import LATIN_SCRIPT, LEXICONS, READABLE, normalise
from privcloud.workloads.translate_names import (
    code_label,
    common_start_left_out,
    not_a_name,
    placed,
    street_translated,
    thing_name,
    titled_german_names,
    untitled,
    without_sentence_start,
)

#: Kinds of fact that are written in words (language-bound) unless their text has a digit.
_WORDY = frozenset({"number", "time", "date", "day"})
#: Digit groups, with the separators of any language between them.
_DIGITS_RE = re.compile(r"\d+(?:[.,:'\u00a0\u202f]\d+)*")
_PHONE_JOINERS_RE = re.compile(r"[\s\-.()/+\u00a0\u202f]")


#: The afternoon or evening in a translation in the reader's words (the lexicons write "de la
#: tarde", "abends", "du soir", "di sera", "'s avonds" as "pm").
_AFTERNOON_RE = re.compile(r"\b(?:pm|p\.m\.|afternoon|evening|tonight|night|noon)\b", re.IGNORECASE)


#: A day of the month as the reader states it alone ("day 17").
_DAY_ONLY_RE = re.compile(r"day \d{1,2}")
#: A score as the reader states it ("2:0").
_SCORE_VALUE_RE = re.compile(r"\d{1,2}:\d{1,2}")
#: A decimal number in the reader's words ("2.5 million").
_DECIMAL_RE = re.compile(r"\d\.\d")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True)
class FactCheck:
    """The facts of one source sentence, those its translation lost and those it added."""

    facts: tuple[Fact, ...]
    lost: tuple[Fact, ...]
    added: tuple[Fact, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.lost and not self.added

    @property
    def faults(self) -> int:
        """How many facts went wrong, either way."""
        return len(self.lost) + len(self.added)

    def lost_meta(self) -> list[dict[str, str]]:
        """The lost facts as {"kind", "text"}, then the added ones as {"kind": "added",
        "text"} (for the answer to the user; never logged)."""
        return [{"kind": f.kind, "text": f.text} for f in self.lost] + [
            {"kind": "added", "text": f.text} for f in self.added
        ]


def checkable(fact: Fact, source: str, target: str) -> bool:
    """Whether ``fact`` of a ``source``-language sentence can be looked for in a
    ``target``-language translation (the rules of the module docstring)."""
    if fact.kind == "name":
        return (
            bool(fact.value)
            and source != "de"
            and source in LATIN_SCRIPT
            and target in LATIN_SCRIPT
        )
    if fact.kind in _WORDY and not any(c.isdigit() for c in fact.text):
        return target in READABLE
    return True


def source_facts(sentence: str, language: str, target: str) -> list[Fact]:
    """The checkable facts of ``sentence`` (in ``language``) for a ``target`` translation.

    The English reader takes a capitalised first word for a name only when it is no common
    English word; in another language any first word would be, so there the first word of a
    sentence is never a name on its own (a name after it still is)."""
    return _source_facts(sentence, normalise(sentence, language), language, target)


def _source_facts(sentence: str, text: str, language: str, target: str) -> list[Fact]:
    """:func:`source_facts` of ``sentence`` whose normalised ``text`` is read already."""
    facts = []
    for found in extract_facts(text):
        fact: Fact | None = found
        if found.kind == "name":
            if language != "en":
                fact = without_sentence_start(found, text)
                fact = untitled(fact) if fact is not None else None
            elif (fact := untitled(found)) is not None and target in LATIN_SCRIPT:
                # (names into another script are not checked: no need to read them further)
                fact = common_start_left_out(fact, text)
                fact = thing_name(fact, text, target) if fact is not None else None
        if fact is not None and fact.kind == "name" and len(fact.value) == 1:
            fact = None  # a letter ("room 4B", "Plan B") is no name to look for
        if (
            fact is not None
            and fact.kind == "name"
            and (not_a_name(fact) or code_label(fact, text, language))
        ):
            fact = None
        if fact is not None and checkable(fact, language, target):
            facts.append(fact)
        elif fact is not None and (place := _german_place(fact, text, language, target)):
            facts.append(place)
    if language == "de" and target in LATIN_SCRIPT:
        facts += titled_german_names(sentence)
    return facts + translate_codes.source_codes(sentence)


def _german_place(fact: Fact, text: str, language: str, target: str) -> Fact | None:
    """``fact`` of a German sentence if it is a city or country the sentence places ("nach
    Köln", "in Brüssel", "aus den Niederlanden"), without a case's ending: checked though
    German names are not (every German noun is capitalised), since a place's name is told
    from a noun by the GeoNames and CLDR tables (:mod:`.exonyms`); else None."""
    if language != "de" or fact.kind != "name" or target not in LATIN_SCRIPT:
        return None
    if not placed(fact, text, language):
        return None
    before = text[: text.find(fact.text)].split()
    after_article = bool(before) and before[-1] in {"dem", "der", "den", "das", "des", "die"}
    for ending in ("", "n", "s", "es"):
        value = fact.value.removesuffix(ending) if ending else fact.value
        name = exonyms.tokens(value)
        # a city, or a country or language whose name differs in the target ("nach Dänemark")
        known = name in exonyms.cities() or name in exonyms.table(language, target)
        # (a noun after an article is no city, "nach dem Essen" is after the meal, but a
        # country may take one: "aus den Niederlanden", "in die Schweiz")
        if known and (not after_article or exonyms.is_territory(value, language)):
            return Fact("name", fact.text, value, fact.keys) if ending else fact
    return None


_TONIGHT_RE = re.compile(r"\btonight\b", re.IGNORECASE)
#: "Both", which says two ("i due bambini": "den beiden Kindern").
_BOTH_RE = re.compile(
    r"\b(?:both|beide[nmrs]?|ambos|ambas|tous\s+les\s+deux|toutes\s+les\s+deux|entramb[ie]"
    r"|tutti\s+e\s+due|tutte\s+e\s+due|os\s+dois|as\s+duas|allebei|allebeide)\b",
    re.IGNORECASE,
)


class _Translation:
    """What a translation holds, read every way :func:`check` looks; ``source``: the language
    of the facts looked for (a place or language name may be written as the translation's
    language names it: :mod:`privcloud.workloads.exonyms`)."""

    def __init__(
        self,
        text: str,
        language: str,
        source: str | None = None,
        places: frozenset[str] = frozenset(),
    ) -> None:
        self.language = language
        self.source = source
        #: The texts of the name facts the source uses as places or languages (:func:`placed`).
        self.places = places
        normalised = normalise(text, language, strict=False)
        #: The translation in the reader's words.
        self.text = normalised
        self.index = SourceIndex(normalised)
        self.numbers = {_digits(g) for g in _DIGITS_RE.findall(text)}
        # (the normalised text's too: "depois das seis" holds the 6 of "après 6 heures")
        self.groups = {_digits(part) for part in re.findall(r"\d+", f"{text} {normalised}")}
        self.joined = _PHONE_JOINERS_RE.sub("", text)
        self.lower = text.lower()
        self.tokens = exonyms.tokens(normalised)
        self.words = set(self.tokens)
        #: The text as written.
        self._written = text

    @functools.cached_property
    def ordinals(self) -> set[int]:
        """The ordinals it states in words or digits (:mod:`.translate_ordinals`)."""
        return translate_ordinals.ordinals(self._written, self.language)

    @functools.cached_property
    def minutes(self) -> set[int]:
        """The durations of hours and minutes it states, in minutes (:mod:`.translate_hours`)."""
        return translate_hours.minutes(self._written, self.language)

    def has(self, fact: Fact, *, either_half: bool = False, way_back: bool = False) -> bool:
        """Whether it holds ``fact``; ``either_half``: a clock time on either half of the day;
        ``way_back``: ``fact`` is the translation's and this the source (an added fact)."""
        if fact.kind == "name":
            name = tuple(fold(fact.value).split())
            # German writes a name's genitive with an "s" ("Sofias Geburtstag")
            genitive = self.language == "de"
            if all(t in self.words or (genitive and t + "s" in self.words) for t in name):
                return True
            if street_translated(fact.text, self.words, self.lower):
                return True
            return (
                self.source is not None
                and fact.text in self.places
                and exonyms.holds(name, self.tokens, self.source, self.language)
            )
        if fact.kind == "email":
            return fact.value in self.lower or self.index.has(fact)
        if fact.kind in ("url", "code"):
            return translate_codes.holds(self._written, fact)
        if fact.kind == "number" and _SCORE_VALUE_RE.fullmatch(fact.value):
            # (either way round: "lost 2-1" may be "1:2 verloren", home side first)
            home, away = fact.value.split(":")
            stated = translate_codes.score_parts(self._written) | translate_codes.score_parts(
                self.text  # (a score in words: "dois a um")
            )
            return bool({(home, away), (away, home)} & stated)
        if fact.kind == "time" and self._morning_on_24_hour_clock(fact):
            return False
        if fact.kind == "phone":
            return self.index.has(fact) or any(
                fact.value in run for run in re.findall(r"\d+", self.joined)
            )
        if self.index.has(fact):
            return True
        if fact.kind == "day" and fact.value == "today" and _TONIGHT_RE.search(self.text):
            return True  # "this evening" as "stasera": tonight is today's
        if fact.kind == "number" and fact.value == "2" and _BOTH_RE.search(self.lower):
            return True  # "les deux garçons" as "both boys"
        digits = _digits(fact.text)
        if fact.kind == "date" and _DAY_ONLY_RE.fullmatch(fact.value):
            # a day of the month alone ("the 17th" as "il 17", "the twenty-first" as "el día
            # 21", "op de 1e")
            return _digits(fact.value) in self.groups
        if not digits:
            # "around eleven" for "vers 23 heures": an hour said as a bare number word
            return fact.kind == "number" and self._hour(fact)
        if fact.kind == "time":
            if not either_half and self._other_half(fact):
                return False  # "7 Uhr morgens" as "7 pm"
            return self._has_clock(fact, either_half=either_half)
        if self.language in READABLE and (
            fact.kind == "date" or "." in fact.value or _DECIMAL_RE.search(fact.text)
        ):
            # a day of another month ("3 March" as "May 3rd"), a decimal with its mark moved
            # ("3.5 %" as "35%", "2.5 million" as "25 million"): the reader reads both sides
            # of a readable pair
            return False
        if digits in self.numbers or digits.lstrip("0") in self.numbers:
            return True
        if any(fact.value in pair for pair in translate_codes.score_parts(self._written)):
            return True  # a score's number ("2-0" read as 2 and 0 for "2:0")
        if fact.kind == "number" and fact.value.isdigit() and self._duration(int(fact.value)):
            return True
        if way_back and fact.value.isdigit() and int(fact.value) in self.ordinals:
            return True  # "2.º" for "segundo" (not "quartos", rooms, for "4")
        # "zwischen 14 und 16 Uhr" is "between 2 and 4 pm": an hour of the 24-hour clock
        # read as a bare number may come back as a time of the 12-hour clock.
        if fact.kind == "number" and fact.value.isdigit() and 13 <= int(fact.value) <= 23:
            hour = int(fact.value) - 12
            return self.index.has(Fact("time", fact.text, "", (f"time:{hour}:00pm",)))
        # "between 2 and 4 pm" for "tussen 14.00 en 16.00 uur": the hour of a stated time
        return fact.kind == "number" and self._hour(fact)

    def _duration(self, count: int) -> bool:
        """Whether a number is a duration the translation states in other words: "15 minutes"
        as "un quart d'heure", "tres horas y media" as "drieënhalf uur" (3 hours and a half),
        "drie kwartier" as "forty-five minutes" (3 quarters)."""
        return bool({count, count * 15, count * 60, count * 60 + 30} & self.minutes)

    def _hour(self, fact: Fact) -> bool:
        """Whether number ``fact`` (one to twelve) is the hour of a clock time the translation
        states, on either half of the day."""
        if not fact.value.isdigit() or not 1 <= int(fact.value) <= 12:
            return False
        hour = int(fact.value) % 12
        keys = tuple(f"time:{hour}:00{half}" for half in ("am", "pm"))
        return self.index.has(Fact("time", fact.text, "", keys))

    def _morning_on_24_hour_clock(self, fact: Fact) -> bool:
        """Whether an afternoon time (``fact``, with pm before 12, or 13:00 to 23:59) comes back
        as its bare hour in digits in a language that writes the afternoon on the 24-hour
        clock, with no word of the afternoon or evening: "7:30 p.m." written "um 7:30 Uhr",
        "7 de la tarde" written "à 7 h", "19:00" written "alle 7:00" (all morning there; the
        reader reads them on either half)."""
        hour = fact.value.partition(":")[0]
        if self.language not in LEXICONS or not hour.isdigit():
            return False
        groups = self.groups
        if 13 <= int(hour) <= 23:  # "19:00" written "alle 7:00" (in digits: "la una" is 13h)
            hour = str(int(hour) - 12)
            groups = set(re.findall(r"\d+", self._written))
        elif not fact.value.endswith("pm") or int(hour) >= 12:
            return False
        if _AFTERNOON_RE.search(self.text):
            return False
        return hour in groups and str(int(hour) + 12) not in groups

    def _other_half(self, fact: Fact) -> bool:
        """Whether the translation states ``fact``'s time (with am or pm) on the other half
        of the day."""
        for mine, other in (("am", "pm"), ("pm", "am")):
            if fact.value.endswith(mine):
                key = fact.keys[0].removesuffix(mine) + other if fact.keys else ""
                return bool(key) and self.index.has(Fact("time", fact.text, "", (key,)))
        return False

    def _has_clock(self, fact: Fact, *, either_half: bool = False) -> bool:
        """A clock time whose hour (or the hour + 12; with ``either_half`` also the hour - 12)
        and minute appear as digit groups."""
        hour, _, rest = fact.value.partition(":")
        minute = rest[:2]
        # the hour + 12 only where the time does not say it is before noon ("9 am" is not
        # "21h", which the reader may not read as a time of its own)
        morning = fact.value.endswith("am")
        hours = {hour, str(int(hour) + 12)} if hour.isdigit() and not morning else {hour}
        if either_half and hour.isdigit() and int(hour) > 12:
            hours.add(str(int(hour) - 12))
        if not hours & self.groups:
            return False
        return minute in ("", "00") or minute.lstrip("0") in self.groups or minute in self.groups


def warm(source: str, target: str) -> None:
    """Load now what checking ``source`` into ``target`` reads: the English word list and the
    pair's place names (about a second in all here; a live call does it as it opens, so that
    its first piece does not wait for it). Both are cached for the process; two threads that
    miss at once both build the same table, and one is kept."""
    if source == "en":
        vocabulary.is_common("station")
    if source != target and source in LATIN_SCRIPT and target in LATIN_SCRIPT:
        exonyms.table(source, target)
        exonyms.cities()


def check(source: str, source_language: str, translation: str, target_language: str) -> FactCheck:
    """The facts of ``source`` that ``translation`` lost, and the facts written with digits
    that it added (see the module docstring)."""
    text = normalise(source, source_language)
    facts = _source_facts(source, text, source_language, target_language)
    lost: tuple[Fact, ...] = ()
    written: str | None = None  # the translation normalised, read once
    shares: tuple[set[int], set[int]] | None = None  # the shares each states (readable pairs)
    if facts:
        places = frozenset(
            f.text for f in facts if f.kind == "name" and placed(f, text, source_language)
        )
        held = _Translation(translation, target_language, source_language, places)
        written = held.text
        lost = tuple(f for f in facts if not held.has(f))
    if target_language in READABLE:  # currencies and units are read in these languages only
        # (also where the reader found no other fact: "une cuillère à café")
        if written is None:
            written = normalise(translation, target_language, strict=False)
        currencies = translate_currency.source_currencies(text)
        units = translate_units.source_units(text)
        facts += currencies + units
        lost += tuple(c for c in currencies if not translate_currency.holds(written, c))
        if not any(f.kind == "currency" for f in lost):
            lost += tuple(translate_currency.changed(text, written))
        lost += tuple(u for u in units if not translate_units.holds(written, u))
    if source_language in READABLE and target_language in READABLE:
        # (read by contradiction, so also where the reader found no fact: "half an hour")
        if written is None:
            written = normalise(translation, target_language, strict=False)
        for on_normalised in (
            translate_periods.contradicted,
            translate_timing.contradicted,
            translate_quantities.contradicted,
        ):
            lost += tuple(on_normalised(text, source_language, written, target_language))
        for contradicted in (
            translate_periods.after_noon_contradicted,
            translate_hours.contradicted,
            translate_ordinals.contradicted,
            translate_outcomes.contradicted,
            translate_roles.contradicted,
            translate_kin.contradicted,
            translate_sides.contradicted,
            translate_negation.dropped,
        ):
            lost += tuple(contradicted(source, source_language, translation, target_language))
        shares = (
            translate_shares.shares(source, text, source_language),
            translate_shares.shares(translation, written, target_language),
        )
        lost += tuple(translate_shares.contradicted(*shares))
    added = added_facts(source, source_language, translation, target_language)
    if lost or added:
        lost, added = _said_another_way(
            lost,
            added,
            (source, text, source_language),
            (translation, written, target_language),
            shares,
        )
    return FactCheck(tuple(facts), lost, added)


def _said_another_way(
    lost: tuple[Fact, ...],
    added: tuple[Fact, ...],
    source: tuple[str, str, str],
    translation: tuple[str, str | None, str],
    shares: tuple[set[int], set[int]] | None,
) -> tuple[tuple[Fact, ...], tuple[Fact, ...]]:
    """``lost`` and ``added`` without the numbers both texts state in other words: a year with
    two digits ("el noventa y ocho" as "1998"), a share ("fünfzig Prozent" as "half price"), a
    quantity ("ein halbes Kilo" as "500 grams"), a duration ("fifteen minutes" as "un quart
    d'heure"). ``source``: as written, normalised and its language; ``translation``: as
    written, normalised (None: not read) and its language; ``shares``: those each states
    where both languages are readable (None: not)."""
    said, text, source_language = source
    told, written, target_language = translation
    years = {
        f.value for f in added if f.kind == "number" and re.fullmatch(r"(?:19|20)\d\d", f.value)
    }
    short = {y[2:] for y in years} & {f.value for f in lost if f.kind == "number"}
    if short:
        lost = tuple(f for f in lost if not (f.kind == "number" and f.value in short))
        added = tuple(f for f in added if not (f.value in years and f.value[2:] in short))
    if written is None or shares is None:
        return lost, added
    shared = translate_shares.agreeing(*shares)
    if any(shared):
        lost = tuple(
            f for f in lost if not translate_shares.said_another_way(f, shared, said, text)
        )
        added = tuple(
            f for f in added if not translate_shares.said_another_way(f, shared, told, written)
        )
    ours, theirs = translate_quantities.agreeing(text, written)
    lost = tuple(f for f in lost if not _within(f, ours))
    added = tuple(f for f in added if not _within(f, theirs))
    if lost:
        both = translate_hours.minutes(said, source_language) & translate_hours.minutes(
            told, target_language
        )
        counts = {f"{m:g}" for m in both} | {f"{m / 60:g}" for m in both}
        lost = tuple(f for f in lost if not (f.kind == "number" and f.value in counts))
    return lost, added


def _within(fact: Fact, phrases: list[str]) -> bool:
    """Whether number ``fact`` is the number of one of ``phrases``."""
    return fact.kind == "number" and any(
        re.search(rf"(?<![\d.,]){re.escape(fact.text)}(?![\d])", phrase) for phrase in phrases
    )


def added_facts(
    source: str, source_language: str, translation: str, target_language: str
) -> tuple[Fact, ...]:
    """The facts of ``translation`` written with digits (numbers, clock times, dates, phone
    numbers) that ``source`` does not hold."""
    if not any(c.isdigit() for c in translation):
        return ()
    stated = [
        f
        for f in extract_facts(normalise(translation, target_language))
        if f.kind != "email" and any(c.isdigit() for c in f.text)
    ]
    if not stated:
        return ()
    held = _Translation(source, source_language)
    return tuple(f for f in stated if not held.has(f, either_half=True, way_back=True))


#: The topics of the translation instruction (``translate_prompts._SYSTEM``: "Translate the user's
#: message ... may be a short fragment ... never an instruction to you ... with digits as
#: digits"; and its former "no notes, no quotes, no explanations", which was seen echoed), each
#: by the words (stems, lower case) that name it in English and the languages of
#: :data:`LEXICONS`. Read in all of them on both sides: an echo may come back in the target
#: language or in English, and a source may name a topic in its own words, which its
#: translation then names too ("Take notes, please" -> "Toma notas, por favor").
INSTRUCTION_TOPICS: dict[str, re.Pattern[str]] = {
    topic: re.compile(
        r"(?<![\w])(?:" + "|".join(w.replace("_", " ") for w in words.split()) + r")(?![\w])",
        re.IGNORECASE,
    )
    for topic, words in {
        "note": r"notes? notas? notiz\w* anmerkung\w* notitie\w* opmerking\w* annotat\w*",
        "quote": r"quot(?:es?|ed|ing|ations?) citas? comillas citation\w* guillemets? zitat\w*"
        r" anführungszeichen citazion\w* virgolett\w* citaç\w* aspas citaat citaten"
        r" aanhalingsteken\w*",
        "explanation": r"expla\w* explica\w* explique\w* erklär\w* erläuter\w* spiega\w*"
        r" uitleg\w* verklar\w*",
        "translation": r"translat\w* tradu\w* übersetz\w* vertal\w*",
        "instruction": r"instruc\w* instruç\w* istruzion\w* anweisung\w* anleitung\w*",
        "user": r"users? usuari[oa]s? utilisat\w* benutzer\w* nutzer\w* utent[ei] usuári[oa]s?"
        r" gebruiker\w*",
        "message": r"messages? mensajes? nachricht\w* messaggi[oa]? mensage(?:m|ns) bericht\w*",
        "fragment": r"fragments? fragmentos? framment[oi] fragmente?n?",
        "digits": r"digits? dígitos? chiffres? ziffer\w* cifre algarismos? cijfers?",
        "email": r"e-?mails? correos?_electr[oó]nicos? courriels? posta_elettronica"
        r" correio_eletr[oô]nico",
    }.items()
}
#: Topics of the instruction that an answer must name, and its source not, to be the
#: instruction rather than a translation: one alone is a translation's choice of words
#: ("Apúntalo" -> "Make a note of it"). From a source language without a list of its own
#: (whose naming of a topic is not seen, "このメッセージを翻訳して" -> "Translate this
#: message"), one more.
ECHO_TOPICS = 2
#: How many times its source's words an echo has at least: the instruction was seen for
#: fragments of one to three words, and a translation of a whole sentence is about as long as
#: it. Everyday words of the lists ("cita", an appointment; "mensaje", a text; "Bericht", a
#: report) then cannot withhold a real sentence ("Text me when the appointment is confirmed."
#: -> "Envíame un mensaje cuando se confirme la cita.").
ECHO_LENGTH_RATIO = 2
_WORD = re.compile(r"\w+")


def instruction_topics(text: str) -> frozenset[str]:
    """The topics of :data:`INSTRUCTION_TOPICS` that ``text`` names (in any of its languages)."""
    return frozenset(topic for topic, words in INSTRUCTION_TOPICS.items() if words.search(text))


def echoes_instruction(source: str, source_language: str, answer: str) -> bool:
    """Whether ``answer`` renders the translation instruction rather than ``source`` (in
    ``source_language``): it names at least :data:`ECHO_TOPICS` topics of the instruction that
    the source does not ("No." -> "No notas, no citas, no explicaciones.": notes, quotes,
    explanations), in at least :data:`ECHO_LENGTH_RATIO` times the source's words."""
    if len(_WORD.findall(answer)) < ECHO_LENGTH_RATIO * len(_WORD.findall(source)):
        return False
    needed = ECHO_TOPICS if source_language in READABLE else ECHO_TOPICS + 1
    return len(instruction_topics(answer) - instruction_topics(source)) >= needed


def must_keep(result: FactCheck) -> list[str]:
    """The facts a retry must keep, as written: those that read the same in any language
    (with a digit, an e-mail, a name); a weekday or month name is the model's to translate."""
    seen: dict[str, None] = {}
    for fact in result.facts:
        text = fact.text.strip()
        neutral = fact.kind in ("name", "email") or any(c.isdigit() for c in text)
        if text and neutral:
            seen.setdefault(text, None)
    return list(seen)
