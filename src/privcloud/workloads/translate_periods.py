"""Parts of the day, which week, and the units of durations, which a translation must not change
(:func:`contradicted`): "Montagmorgen" translated "lundi soir", "na sexta-feira de manhã"
translated "venerdì pomeriggio", "in three weeks" translated "daqui a três dias", "tra due
giorni" translated "in zwei Wochen" passed the fact check before, which read neither.

Both are checked by contradiction, not by presence: a translation may leave a part of the day
out ("tomorrow morning at 9" as "morgen um 9 Uhr") or say a duration another way, so only a
translation that names the *other* part of the day and not the source's, or states the source's
number of a duration with another unit and never with the source's, loses the fact.

* **Parts of the day**, in two classes: the morning, and the rest of the day after noon (the
  afternoon, evening and night: Spanish "tarde" and Portuguese "noite" span two English ones).
  Words that are also other words are read only in their day-part use: Spanish "mañana" only
  after "por/de/la/esta" (else it is "tomorrow"), "tarde" only after "por/de/la/esta" (else
  "late"), German "Morgen" only in "am Morgen", "heute Morgen" and a weekday's compound.
  Within the day after noon, **the afternoon, the evening and the night**
  (:func:`after_noon_contradicted`, on the texts as written): "Sunday afternoon" translated
  "zondagavond", "amanhã à tarde" translated "mañana por la noche".
* **Which week, weekend or weekday**: this one, the next one or the one after ("este fin de
  semana" translated "next weekend", "the week after next" translated "la settimana prossima",
  "lundi prochain" translated "übernächsten Montag").
* **Durations**: a number (digits, the reader's English words two to twelve, one in each
  language, "a couple of") before a unit of time (days, weeks, months, years, nights, and
  hours and minutes unless a word before makes them a clock time: "à 7 heures"; their halves
  and quarters in words are :mod:`.translate_hours`'). A week is seven days and a year twelve
  months; "a week" after a count or "times" is a rate ("three days a week"), not a week.

The start or end of a period and before or after a time are :mod:`.translate_timing`'s.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.text.datewords import WEEKDAYS
from privcloud.workloads.text.numbers import TEENS, UNITS

__all__ = ["after_noon", "after_noon_contradicted", "contradicted"]

_WEEKDAYS_DE = "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
_WEEKDAYS_NL = "maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag"
#: Per language: (the morning, the rest of the day after noon), as regular expressions.
_PARTS: dict[str, tuple[str, str]] = {
    "en": (r"\bmornings?\b", r"\b(?:afternoons?|evenings?|tonight|nights?)\b"),
    "es": (
        r"\b(?:por|de|la|las|esta)\s+mañanas?\b|\bmadrugada\b",
        r"\b(?:por|de|la|las|esta)\s+tardes?\b|\bnoches?\b",
    ),
    "fr": (r"\bmatin(?:ée)?s?\b", r"\baprès-midi\b|\bsoir(?:ée)?s?\b|\bnuits?\b"),
    "de": (
        # ("früh" alone is early, not the morning; "morgen früh" the lexicon reads)
        rf"\b(?:am|heute|{_WEEKDAYS_DE})\s?morgens?\b|\bmorgens\b|\bvormittags?\b",
        rf"\b(?:{_WEEKDAYS_DE}|heute|morgen)?\s?(?:nachmittags?|abends?|nachts?)\b",
    ),
    "it": (
        r"\bmattin(?:a|o|ata)\b|\bstamattina\b|\bdomattina\b",
        r"\bpomeriggio\b|\bser(?:a|ata)\b"
        r"|\bstasera\b|\bnotte\b|\bstanotte\b",
    ),
    "pt": (
        r"\bmanhãs?\b",
        r"\b(?:à|a|de|da|pela|esta|nesta)\s+tardes?\b|\bnoites?\b",
    ),
    "nl": (
        r"ochtend|\b's\s?morgens\b|\bvoormiddag\b",
        rf"middag|\b's\s?avonds\b|avond\b|\bvannacht\b|\b(?:{_WEEKDAYS_NL})nacht\b|\bnacht\b",
    ),
}
#: The reader's words, which the lexicons write for many of the above ("de la tarde": "pm",
#: "stamattina": "this morning"), in every language; "am" and "pm" alone only outside
#: English ("I am").
_ENGLISH = (
    r"\bmornings?\b|\d\s?(?:am|a\.m\.)(?!\w)",
    r"\b(?:afternoons?|evenings?|tonight|nights?)\b|\d\s?(?:pm|p\.m\.)(?!\w)",
)
_PART_RES = {
    lang: tuple(
        re.compile("|".join((own, common, *([] if lang == "en" else [marker]))), re.IGNORECASE)
        for own, common, marker in zip(
            (morning, later), _ENGLISH, (r"\bam\b", r"\bpm\b"), strict=True
        )
    )
    for lang, (morning, later) in _PARTS.items()
}
_CLASSES = ("morning", "after noon")

#: The afternoon (a), the evening (e) and the night (n), per language, on the texts as
#: written (the lexicons write many of them "pm"): which of the three each word may mean.
#: English "night" and "tonight" are also the evening ("tomorrow night": "demain soir");
#: Spanish "tarde" runs into the evening ("las 8 de la tarde"), "noche" and Portuguese
#: "noite" span the evening and the night; Portuguese "tarde" ends before them.
_AFTER_NOON: dict[str, tuple[tuple[str, str], ...]] = {
    "en": ((r"\bafternoons?\b", "a"), (r"\bevenings?\b", "e"), (r"\b(?:to)?nights?\b", "en")),
    "es": (
        (r"\b(?:por|de|la|las|esta|esa)\s+tardes?\b", "ae"),
        (r"\bnoches?\b", "en"),
    ),
    "pt": ((r"\b(?:à|a|de|da|pela|esta|nesta|às|essa)\s+tardes?\b", "a"), (r"\bnoites?\b", "en")),
    "fr": ((r"\baprès-midi\b", "a"), (r"\bsoir(?:ée)?s?\b", "e"), (r"\bnuits?\b", "n")),
    "de": (
        (r"(?:\b|(?<=tag)|(?<=woch)|(?<=heute))nachmittags?\b", "a"),
        (r"(?:\b|(?<=tag)|(?<=woch))abends?\b", "e"),
        (r"(?:\b|(?<=tag)|(?<=woch))(?<!mitter)nachts?\b", "n"),
    ),
    "it": (
        (r"\bpomeriggi[oi]\b", "a"),
        (r"\b(?:sera|serata|stasera)\b", "e"),
        (r"\b(?:notte|stanotte)\b", "n"),
    ),
    "nl": (
        (r"(?:\b|(?<=dag)|(?<=van))(?<!tussen de )middags?\b", "a"),
        (r"avonds?\b", "e"),
        (r"(?:\b|(?<=dag)|(?<=van))nachts?\b", "n"),
    ),
}
#: The daytime ("overdag", "tagsüber", "de día"), read as the afternoon's letter: it is not
#: the evening nor the night ("durante a noite" translated "overdag").
_DAYTIME = {
    "en": r"\bduring\s+the\s+day\b|\bby\s+day\b|\bdaytime\b",
    "es": r"\bde\s+día\b|\bdurante\s+el\s+día\b",
    "fr": r"\bpendant\s+la\s+journée\b|\bde\s+jour\b|\ben\s+journée\b",
    "de": r"\btagsüber\b",
    "it": r"\bdi\s+giorno\b|\bdurante\s+il\s+giorno\b",
    "pt": r"\bde\s+dia\b|\bdurante\s+o\s+dia\b",
    "nl": r"\boverdag\b",
}
_AFTER_NOON_RES = {
    lang: tuple(
        (re.compile(p, re.IGNORECASE), frozenset(parts))
        for p, parts in (*words, (_DAYTIME[lang], "a"))
    )
    for lang, words in _AFTER_NOON.items()
}


#: Greetings, which name a part of the day and say nothing of when ("Buenas tardes, ¿puedo
#: pasar mañana por la mañana?" translated "Good afternoon, can I come by tomorrow morning?").
_GREETING_RE = re.compile(
    r"\b(?:good\s+(?:morning|afternoon|evening|night)|buen(?:os|as)\s+(?:días|tardes|noches)"
    r"|bonjour|bonsoir|bonne\s+(?:nuit|soirée|journée)|gute[nr]?\s+(?:morgen|tag|abend|nacht)"
    r"|buongiorno|buon\s+pomeriggio|buona\s*(?:sera|notte|serata)|buonasera|buonanotte"
    r"|bo[am]\s+(?:dia|tarde|noite)|goede(?:morgen|middag|navond|nacht)|welterusten"
    r"|que\s+descanses)\b",
    re.IGNORECASE,
)


def after_noon(text: str, language: str) -> frozenset[str]:
    """Which of the afternoon, evening and night ``text`` (as written) may mean, as the
    letters of :data:`_AFTER_NOON` (empty: none named)."""
    found: frozenset[str] = frozenset()
    for pattern, parts in _AFTER_NOON_RES.get(language, ()):
        if pattern.search(text):
            found |= parts
    return found


#: Units of duration per language, each to its length in days (months and years in months,
#: as "month:" and "year:" below).
_UNITS: dict[str, tuple[str, int]] = {
    r"days?|días?|dias?|jours?|tage?n?|giorni|giorno|dagen|dag": ("day", 1),
    r"weeks?|semanas?|semaines?|wochen?|settimane|settimana|weken": ("day", 7),
    r"months?|meses|mes|mês|mois|monate?n?|mesi|mese|maanden|maand": ("month", 1),
    r"years?|años?|anos?|ans?|années?|jahre?n?|anni|anno|jaar|jaren": ("month", 12),
    # nights are counted apart: "four nights" is not "four days" ("vier Wochen" neither)
    r"nights?|noches?|nuits?|nächte?n?|nacht|notti|notte|noites?|nachten": ("night", 1),
    # hours and minutes, where no word before makes them a clock time (see _CLOCK_WORDS; the
    # lexicon made Dutch "uur" "o'clock"): "duas horas" is not "dos días"
    r"hours?|horas?|heures?|stunden?|ore|ora": ("minute", 60),
    r"minutes?|minutos?|minuti|minuten": ("minute", 1),
}
#: Words before a count of hours that make it a clock time (the lexicons write "à", "um",
#: "alle", "a las" as "at").
_CLOCK_WORDS = frozenset("at vers gegen rond tot until till bis dalle desde hasta from".split())  # noqa: SIM905
#: The reader's English number words two to twelve (the lexicons write these as words), and
#: one in each language ("une semaine", "a month").
_NUMBER_WORDS = {
    **{word: n for word, n in {**UNITS, **TEENS}.items() if 2 <= n <= 12},
    **dict.fromkeys("a an one un une uno una um uma ein eine einen einer een één".split(), 1),  # noqa: SIM905
    # "a couple of weeks", "un paio di settimane", "un par de semanas" (not German "ein paar
    # Wochen" nor Dutch "een paar weken": a few)
    **dict.fromkeys(("couple of", "paio di", "par de"), 2),
    # one and a half ("anderhalve week", "anderthalb Monate")
    **dict.fromkeys(("anderhalve", "anderhalf", "anderthalb", "eineinhalb"), 1.5),
}
#: A half after the unit ("uma semana e meia", "a week and a half").
_HALF = r"and\s+a\s+half|e\s+meia|e\s+mezz[ao]|y\s+medi[oa]|et\s+demie|en\s+een\s+half"
_COUNT_WORDS = "|".join(word.replace(" ", r"\s+") for word in _NUMBER_WORDS)
_DURATION_RES = [
    (
        re.compile(
            rf"(?<![\w.,:-])(\d{{1,3}}|{_COUNT_WORDS})\s+(?:{units})\b(?:\s+({_HALF})\b)?",
            re.IGNORECASE,
        ),
        kind,
        length,
    )
    for units, (kind, length) in _UNITS.items()
]


#: Which week or weekend a sentence means, per language (on the normalised text, where the
#: lexicons wrote "fin de semana", "Wochenende", "fine settimana" as "weekend" and many a
#: "next week" as such): this one, the next, the one after. "Komend weekend" (Dutch: the
#: coming one, this or next) is neither.
_WHICH: dict[str, dict[str, str]] = {
    "this": {
        "en": r"\bthis (week|weekend)\b",
        "es": r"\best[ea] (semana|weekend)\b",
        "fr": r"\bcette (semaine)\b|\bce (weekend)\b",
        "de": r"\bdiese[ns]? (woche|weekend)\b|\ban diesem (weekend)\b",
        "it": r"\bquest[oa] (settimana|weekend)\b",
        "pt": r"\bn?est[ea] (semana|weekend)\b",
        "nl": r"\bdeze (week)\b|\bdit (weekend)\b",
    },
    "next": {
        "en": r"\bnext (week|weekend)\b",
        "es": r"\bpróxim[oa] (semana|weekend)\b|\b(weekend|semana) que viene\b",
        "fr": r"\b(weekend|semaine) prochaine?\b|\bprochaine? (weekend|semaine)\b",
        "de": r"\bnächste[ns]? (woche|weekend)\b",
        "it": r"\bprossim[oa] (settimana|weekend)\b|\b(weekend|settimana) prossim[oa]\b",
        "pt": r"\bpróxim[oa] (semana|weekend)\b|\b(weekend|semana) que vem\b",
        "nl": r"\bvolgende? (week|weekend)\b",
    },
    "after next": {
        "en": r"\b(week|weekend) after next\b",
        "de": r"\bübernächste[ns]? (woche|weekend)\b",
        "nl": r"\bovervolgende? (week|weekend)\b",
    },
}
#: The same for a weekday (the lexicons write its English name), next one or the one after
#: ("lundi prochain" translated "übernächsten Montag"); "this Monday" is left out, which many
#: say of the next one.
_DAY = "(" + "|".join(name.capitalize() for name in WEEKDAYS) + ")"
_WHICH_DAY: dict[str, dict[str, str]] = {
    "next": {
        "en": rf"\bnext {_DAY}\b",
        "es": rf"\bpróximo {_DAY}\b|\b{_DAY} (?:que viene|próximo)\b",
        "fr": rf"\b{_DAY} prochain\b",
        "de": rf"\bnächsten? {_DAY}\b",
        "it": rf"\bprossimo {_DAY}\b|\b{_DAY} prossimo\b",
        "pt": rf"\bpróxima {_DAY}\b|\b{_DAY} que vem\b",
        "nl": rf"\bvolgende {_DAY}\b",
    },
    "after next": {
        "en": rf"\b{_DAY} after next\b",
        "de": rf"\bübernächsten? {_DAY}\b",
        "nl": rf"\bovervolgende {_DAY}\b",
    },
}
_WHICH_RES = {
    which: {
        lang: re.compile(
            "|".join(
                dict.fromkeys(
                    p
                    for table in (_WHICH.get(which, {}), _WHICH_DAY.get(which, {}))
                    for p in (table.get(lang), table.get("en"))
                    if p
                )
            ),
            re.IGNORECASE,
        )
        for lang in by_language
    }
    for which, by_language in _WHICH.items()
}


def _which_weeks(text: str, language: str) -> dict[str, set[str]]:
    """Per unit ("week", "weekend", "weekday"), which ones ``text`` names (see :data:`_WHICH`
    and :data:`_WHICH_DAY`)."""
    found: dict[str, set[str]] = {}
    for which, by_language in _WHICH_RES.items():
        pattern = by_language.get(language) or by_language["en"]
        for match in pattern.finditer(text):
            unit = next(g for g in match.groups() if g).lower()
            unit = unit if unit == "weekend" else "weekday" if unit in WEEKDAYS else "week"
            found.setdefault(unit, set()).add(which)
    return found


#: A clock time's half of the day ("9 a.m.", "1 pm"), which names no part of the day in words.
_CLOCK_MARK_RE = re.compile(r"\d\s?(?:am|a\.m\.|pm|p\.m\.)(?!\w)", re.IGNORECASE)


def _parts(text: str, language: str) -> set[str]:
    found = set()
    for name, pattern in zip(_CLASSES, _PART_RES.get(language, ()), strict=False):
        if pattern.search(text):
            found.add(name)
    return found


#: Words before "a week" or "una semana" that make it a rate, not one week ("three days a
#: week", "tre volte a settimana" after the lexicon).
_RATE_RE = re.compile(
    rf"\b(?:times?|volte|volta|veces|vez|vezes|fois|mal|keer|{'|'.join(_UNITS)})\s+$",
    re.IGNORECASE,
)


def _durations(text: str) -> dict[str, set[tuple[str, int]]]:
    """Per number as written ("3", "three"), its durations as (kind, length in halves of
    that kind: a week and a half is ("day", 21))."""
    found: dict[str, set[tuple[str, int]]] = {}
    for pattern, kind, length in _DURATION_RES:
        for match in pattern.finditer(text):
            word = match.group(1).lower()
            count = int(word) if word.isdigit() else _NUMBER_WORDS[" ".join(word.split())]
            if count == 1 and _RATE_RE.search(text[: match.start()]):
                continue
            before = text[: match.start()].split()[-1:]
            if kind == "minute" and before and before[0].lower() in _CLOCK_WORDS:
                continue
            halves = round(2 * count * length) + (length if match.group(2) else 0)
            found.setdefault(f"{count:g}", set()).add((kind, halves))
    return found


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The parts of the day and durations of ``source`` that ``translation`` contradicts (both
    normalised: numbers as the reader's digits or words; see the module docstring)."""
    lost: list[Fact] = []
    source, translation = _GREETING_RE.sub(" ", source), _GREETING_RE.sub(" ", translation)
    said = _parts(source, source_language)
    written = _parts(translation, target_language)
    # the other part, and not the source's; or, beside the source's, the other in words
    # ("'s middags ... 's avonds" as "vormittags ... abends"; not "9 a.m. and 1 p.m.")
    added = written - said - _parts(_CLOCK_MARK_RE.sub(" ", translation), target_language)
    if len(said) == 1 and written and (not said & written or (written - said) - added):
        (part,) = said
        lost.append(Fact("daypart", part, part, (f"daypart:{part}",)))

    named = _which_weeks(translation, target_language)
    for unit, which in _which_weeks(source, source_language).items():
        told = named.get(unit, set())
        if len(which) == 1 and told and not which & told:
            (one,) = which
            lost.append(Fact("relative", f"{one} {unit}", f"{one} {unit}", ()))
    theirs = _durations(translation)
    stated = set().union(*theirs.values())
    for count, spans in _durations(source).items():
        # the source's number with another unit, and none of its spans however counted ("2
        # weeks" may be "14 days", "1 year" "12 months"); one week or month ("une semaine",
        # which has no number the check reads), none of its spans among those stated
        other = stated if count in ("1", "1.5") else theirs.get(count, set())
        if other and not spans & stated:
            kind, halves = min(spans)
            lost.append(Fact("duration", f"{count} {kind}", f"{halves / 2:g} {kind}", ()))
    return lost


_PART_NAMES = {"a": "afternoon", "e": "evening", "n": "night"}


def after_noon_contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The afternoon, evening or night of ``source`` that ``translation`` (both as written)
    contradicts: it names one of the three, and none the source's may mean ("Sunday
    afternoon" as "zondagavond", "amanhã à tarde" as "mañana por la noche")."""
    source, translation = _GREETING_RE.sub(" ", source), _GREETING_RE.sub(" ", translation)
    said = after_noon(source, source_language)
    told = after_noon(translation, target_language)
    if said and told and not said & told:
        part = "/".join(_PART_NAMES[p] for p in sorted(said))
        return [Fact("daypart", part, part, (f"daypart:{part}",))]
    # two or more parts, as many told: each the source's ("am Vormittag, ... am Abend" as
    # "nel pomeriggio, ... la sera")
    ours, theirs = _in_order(source, source_language), _in_order(translation, target_language)
    if len(ours) < 2 or len(ours) != len(theirs):
        return []
    # (in any order: "le soir, pas le matin" may be "not in the morning, only in the evening")
    left = list(theirs)
    for one in ours:
        match = next((other for other in left if one & other), None)
        if match is None:
            part = "/".join(_PART_NAMES.get(p, "morning") for p in sorted(one))
            return [Fact("daypart", part, part, (f"daypart:{part}",))]
        left.remove(match)
    return []


def _in_order(text: str, language: str) -> list[frozenset[str]]:
    """The parts of the day ``text`` (as written) names, in its order, each as the letters of
    :data:`_AFTER_NOON` it may mean, or "m" for the morning."""
    if language not in _PARTS or language not in _AFTER_NOON_RES:
        return []
    morning = re.compile(rf"{_PARTS[language][0]}|\bmornings?\b", re.IGNORECASE)
    found = {m.start(): frozenset("m") for m in morning.finditer(text)}
    for pattern, parts in _AFTER_NOON_RES[language]:
        for match in pattern.finditer(text):
            found[match.start()] = found.get(match.start(), frozenset()) | parts
    return [found[at] for at in sorted(found)]
