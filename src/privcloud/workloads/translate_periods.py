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
* **Which week or weekend**: this one, the next one or the one after ("este fin de semana"
  translated "next weekend", "the week after next" translated "la settimana prossima").
* **Durations**: a number (digits, or the reader's English words two to twelve) before a unit
  of time (days, weeks, months, years; not hours, whose words also tell the time: "à 7
  heures"). A week is seven days and a year twelve months.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.text.numbers import TEENS, UNITS

__all__ = ["contradicted"]

_WEEKDAYS_DE = "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
_WEEKDAYS_NL = "maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag"
#: Per language: (the morning, the rest of the day after noon), as regular expressions.
_PARTS: dict[str, tuple[str, str]] = {
    "en": (r"\bmornings?\b", r"\b(?:afternoons?|evenings?|tonight|nights?)\b"),
    "es": (
        r"\b(?:por|de|la|las|esta)\s+mañanas?\b",
        r"\b(?:por|de|la|las|esta)\s+tardes?\b|\bnoches?\b",
    ),
    "fr": (r"\bmatin(?:ée)?s?\b", r"\baprès-midi\b|\bsoir(?:ée)?s?\b|\bnuits?\b"),
    "de": (
        rf"\b(?:am|heute|{_WEEKDAYS_DE})\s?morgens?\b|\bmorgens\b|\bvormittags?\b|\bfrüh\b",
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

#: Units of duration per language, each to its length in days (months and years in months,
#: as "month:" and "year:" below).
_UNITS: dict[str, tuple[str, int]] = {
    r"days?|días|dias|jours?|tage?n?|giorni|giorno|dagen|dag": ("day", 1),
    r"weeks?|semanas?|semaines?|wochen?|settimane|settimana|weken": ("day", 7),
    r"months?|meses|mes|mois|monate?n?|mesi|mese|maanden|maand": ("month", 1),
    r"years?|años|anos|ans|années|jahre?n?|anni|jaar|jaren": ("month", 12),
}
#: The reader's English number words two to twelve (the lexicons write these as words).
_NUMBER_WORDS = {word: n for word, n in {**UNITS, **TEENS}.items() if 2 <= n <= 12}
_DURATION_RES = [
    (
        re.compile(
            rf"(?<![\w.,:])(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})\s+(?:{units})\b", re.IGNORECASE
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
_WHICH_RES = {
    which: {
        lang: re.compile("|".join(dict.fromkeys((pattern, by_language["en"]))), re.IGNORECASE)
        for lang, pattern in by_language.items()
    }
    for which, by_language in _WHICH.items()
}


def _which_weeks(text: str, language: str) -> dict[str, set[str]]:
    """Per unit ("week" or "weekend"), which ones ``text`` names (see :data:`_WHICH`)."""
    found: dict[str, set[str]] = {}
    for which, by_language in _WHICH_RES.items():
        pattern = by_language.get(language) or by_language["en"]
        for match in pattern.finditer(text):
            unit = next(g for g in match.groups() if g).lower()
            unit = "weekend" if unit == "weekend" else "week"
            found.setdefault(unit, set()).add(which)
    return found


def _parts(text: str, language: str) -> set[str]:
    found = set()
    for name, pattern in zip(_CLASSES, _PART_RES.get(language, ()), strict=False):
        if pattern.search(text):
            found.add(name)
    return found


def _durations(text: str) -> dict[str, set[tuple[str, int]]]:
    """Per number as written ("3", "three"), its durations as (kind, length in that kind)."""
    found: dict[str, set[tuple[str, int]]] = {}
    for pattern, kind, length in _DURATION_RES:
        for match in pattern.finditer(text):
            word = match.group(1).lower()
            count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            found.setdefault(str(count), set()).add((kind, count * length))
    return found


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The parts of the day and durations of ``source`` that ``translation`` contradicts (both
    normalised: numbers as the reader's digits or words; see the module docstring)."""
    lost: list[Fact] = []
    said = _parts(source, source_language)
    written = _parts(translation, target_language)
    if len(said) == 1 and written and not said & written:
        (part,) = said
        lost.append(Fact("daypart", part, part, (f"daypart:{part}",)))
    named = _which_weeks(translation, target_language)
    for unit, which in _which_weeks(source, source_language).items():
        told = named.get(unit, set())
        if len(which) == 1 and told and not which & told:
            (one,) = which
            lost.append(Fact("relative", f"{one} {unit}", f"{one} {unit}", ()))
    theirs = _durations(translation)
    for count, spans in _durations(source).items():
        other = theirs.get(count, set())
        if other and not spans & other and not _equivalent(spans, theirs):
            kind, length = min(spans)
            lost.append(Fact("duration", f"{count} {kind}", f"{length} {kind}", ()))
    return lost


def _equivalent(spans: set[tuple[str, int]], theirs: dict[str, set[tuple[str, int]]]) -> bool:
    """Whether the translation states one of ``spans`` with another number ("2 weeks" as "14
    days", "1 year" as "12 months")."""
    return any(spans & other for other in theirs.values())
