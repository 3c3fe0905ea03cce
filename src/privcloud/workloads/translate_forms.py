"""Facts that languages write in different forms, put in one form for the English fact reader
(:func:`shared`). It runs last in :func:`.translate_lexicons.normalise`, on every language and
on English: by then a language's month, weekday and number words are the reader's.

* **Two weeks and one week**: "a fortnight", "quince días", "una quincena", "quinze jours",
  "une quinzaine de jours", "vierzehn Tage", "quindici giorni", "veertien dagen" are "2 weeks"
  (as "two weeks", "duas semanas" say it); "huit jours", "otto giorni", "ocho días", "acht
  Tage" are "a week". Before, "Ci vediamo tra quindici giorni" translated "See you in a
  fortnight" lost a 15, and "vierzehn Tagen" translated "quinze jours" lost a 14.
* **A day of the month after its weekday**: "el martes 14", "segunda-feira, dia 9", "mardi
  14", "Dienstag, den 14." are the reader's "Tuesday the 14th" (it read a bare 14 as a number,
  so "Tuesday the 14th" lost its date in Spanish).
* **A range of clock times** whose clock word is said once: "zwischen 10 und 14 Uhr",
  "between 6 and 9 in the evening", "entre as duas e as quatro da tarde", "tra le 8 e le 13",
  "entre las 8 y la una", "entre 14 h et 16 h":
  both ends are times (the first end was a plain number, so a translation that wrote "between
  10 a.m. and 2 p.m." had *added* a time).
* **A clock time with a full stop** before "uur"/"Uhr" or after "om"/"um" ("21.00 uur"), or
  an hour with "h" ("21h"): "21:00".
* **"3 p. m."**, as Spanish writes it (Qwen2.5 1.5B's faithful "a las 3 p. m." for "at 3 pm"
  was withheld): "3 pm".
* **An hour with its part of the day in words** ("8 in the morning", "9 in the evening"): "8
  am", "9 pm", as the reader reads them.
* **French hours placed in the day** ("vers 19 heures", "à partir de 19 heures"): "19:00".
* **An age in a month** ("im Mai zwölf Jahre alt"): twelve years, in May (the reader took "May
  12" for a date).
* **An English year said in words** after a preposition ("born in nineteen forty-eight",
  "since twenty twenty"): 1948, 2020.
"""

from __future__ import annotations

import re

from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS
from privcloud.workloads.text.numbers import TEENS, TENS, UNITS

__all__ = ["shared"]

_DAY_WORDS = r"(?:days?|días|dias|jours|giorni|tage|tagen|dagen)"
_TWO_WEEKS_RE = re.compile(
    rf"\b(?:1[45]|fourteen|fifteen)\s+(?:(?:de\s+|d')?{_DAY_WORDS})\b"
    r"|\bfortnight\b|\bquincena\b|\bquinzena\b",
    re.IGNORECASE,
)
_ONE_WEEK_RE = re.compile(rf"\b(?:8|eight)\s+{_DAY_WORDS}\b", re.IGNORECASE)

_WEEKDAY_NAMES = "|".join(name.capitalize() for name in WEEKDAYS)
_MONTH_NAMES = "|".join(sorted({name.capitalize() for name in MONTHS}, key=len, reverse=True))
#: "Tuesday 14", "Monday, dia 9", "Tuesday, den 14." — not a clock time ("Monday 9 o'clock",
#: "Friday 10:30") and not a day before its month ("Tuesday 14 March" the reader reads).
_WEEKDAY_DAY_RE = re.compile(
    rf"\b({_WEEKDAY_NAMES}),?\s+(?:(?:dia|día|den|dem|de|le|il|el)\s+)?(\d{{1,2}})(?:\.|º|°)?"
    rf"(?![\d:.,]*\d|\s*(?:o'clock|h\b|am\b|pm\b|a\.m\.|p\.m\.|:))"
    rf"(?!\s+(?:(?:de|del|di)\s+)?(?:{_MONTH_NAMES})\b)",
)
#: The English number words below a hundred (the project's one table of them), and the hours.
_WORDS = {**UNITS, **TEENS, **TENS}
_HOUR_WORDS = {word: n for word, n in _WORDS.items() if 1 <= n <= 12}
#: A range whose day part or clock word comes after its second end only.
_END = r"(\d{1,2}(?:[:.]\d{2})?|" + "|".join(_HOUR_WORDS) + r")"
_RANGE_TAIL_RE = re.compile(
    r"\b(between|zwischen|entre|tra|fra|tussen|von|van|from|dalle)\s+"
    r"(?:(?:the|las|los|le|les|as|os|den|het)\s+)?" + _END + r"\s+"
    r"(and|und|y|e|et|en|bis|tot|to|a|à|alle)\s+(?:(?:las|la|le|les|as|os|l')\s*)?" + _END + r"\s+"
    r"(o'clock|pm|am|p\.m\.|a\.m\.|in the (?:morning|afternoon|evening)|at night)",
    re.IGNORECASE,
)
#: A range whose ends carry the article of the hours (es, it, fr, pt): "entre las 8 y las 13",
#: "tra le 8 e le 13", "entre las 8 y la una" (one o'clock).
_RANGE_ARTICLE_RE = re.compile(
    r"\b(entre|tra|fra|dalle|de)\s+(?:las|le|les)\s+(\d{1,2})\s+"
    r"(y|e|et|à|a|alle)\s+(?:(?:las|la|le|les|l')\s*)?(\d{1,2}|una)\b"
    r"(?![\d:.,]*\d)",
    re.IGNORECASE,
)
#: "entre 14 h et 16 h", "de 9 h à 12 h": a range of hours with "h" (and a space) at both ends.
_H_RANGE_RE = re.compile(
    r"\b(entre|de|des)\s+([01]?\d|2[0-3])\s?h\s+(et|à|at)\s+([01]?\d|2[0-3])\s?h(?!\w)",
    re.IGNORECASE,
)
_DOTTED_CLOCK_RE = re.compile(
    r"\b([01]?\d|2[0-3])\.([0-5]\d)(?=\s*(?:o'clock|uur|uhr|u\b))"
    r"|(?<=\b(?:at|om|um)\s)([01]?\d|2[0-3])\.([0-5]\d)\b(?![.,]?\d|\s*(?:€|\$|£|[a-z]))",
    re.IGNORECASE,
)
#: "21h" (fr, pt, es): a clock time; "21 h" with a space is left alone (also an hour count).
_HOUR_H_RE = re.compile(r"\b([01]?\d|2[0-3])h(?!\w)")
#: French "N heures" after a word that places it in the day ("vers 19 heures", "à partir de
#: 19 heures", "avant 20 heures"), not a count of hours ("après deux heures de route").
_HEURES_RE = re.compile(
    r"\b(at|vers|avant|après|dès|partir de|jusqu'à|jusqu'at)\s+([01]?\d|2[0-3])\s+heures?\b"
    r"(?!\s+(?:de|d'))",
    re.IGNORECASE,
)
_CENTURIES = "|".join(word for word, n in _WORDS.items() if 11 <= n <= 20)
_DIGITS = "|".join(word for word, n in UNITS.items() if n)


_SPOKEN_YEAR_RE = re.compile(
    rf"\b(in|since|from|until|till|by|of|before|after|around|year|{_MONTH_NAMES})\s+"
    rf"({_CENTURIES})[\s-]+"
    rf"(oh[\s-](?:{_DIGITS})|{'|'.join(TEENS)}|(?:{'|'.join(TENS)})(?:[\s-](?:{_DIGITS}))?)\b",
    re.IGNORECASE,
)


#: "im Mai zwölf Jahre alt" (after the lexicon: "May 12 Jahre"): an age in May, not May 12;
#: "am 2. Mai 70 Jahre alt" ("2 May 70 Jahre"): an age on 2 May.
_MONTH_YEARS_RE = re.compile(
    rf"\b(\d{{1,2}}\s+)?({_MONTH_NAMES})\s+(\d{{1,3}})\s+(years?|jahre?n?|años|ans|anni|anos|jaar)\b",
    re.IGNORECASE,
)
#: "3 p. m." (Spanish writes the abbreviation with a space): the reader's "3 pm".
_SPACED_MERIDIEM_RE = re.compile(r"(\d)\s?([ap])\.\s+m\.", re.IGNORECASE)
#: "Saturday's dinner", "Tonight's concert": Saturday, tonight (the reader reads them without
#: their "'s" only).
_WEEKDAY_POSSESSIVE_RE = re.compile(
    rf"\b({_WEEKDAY_NAMES}|[Tt]oday|[Tt]onight|[Tt]omorrow|[Yy]esterday)['\u2019]s\b"
)
#: A day of every month ("le 5 de chaque mois", "el quince de cada mes", "am 5. jedes
#: Monats", "de eerste van de maand", after the lexicon made its number digits or the reader's
#: words): the reader's "the 5th of the month", which it reads as a day of the month (a bare
#: "5" it read as a number, so "the 5th of each month" had added a date).
_DAY_OF_MONTH_RE = re.compile(
    r"\b(?:(?:the|le|el|il|o|de|den|dem|am|zum|al|au|ao|dia)\s+){0,3}"
    r"(\d{1,2}|first|premier|primero|primer|primo|primeiro|eerste|erste[nr]?|"
    + "|".join(_WORDS)
    + r")\.?(?:st|nd|rd|th|e|er|º|°)?\s+"
    r"(?:of|de|du|des|di|del|do|da|van|jedes|eines)\s+"
    r"(?:(?:the|le|la|chaque|cada|ogni|elke|iedere|each|every|de|het|o|ao)\s+)?"
    r"(?:month|mois|mes|mese|mês|maand|monats)\b",
    re.IGNORECASE,
)


#: "8 in the morning", "9 in the evening" (English, or a range's ends after the rule above):
#: the reader's "8 am", "9 pm".
_DAY_PART_HOUR_RE = re.compile(
    r"\b(\d{1,2}(?::\d{2})?)\s+(?:(in the morning)|in the (?:afternoon|evening)|at night)\b",
    re.IGNORECASE,
)


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def _day(number: str) -> int:
    """A day as digits or the reader's word ("5", "five")."""
    return int(number) if number.isdigit() else _WORDS.get(number.lower(), 1)


def _spoken_year(match: re.Match[str]) -> str:
    century = _WORDS[match.group(2).lower()]
    rest = sum(_WORDS.get(word, 0) for word in re.split(r"[\s-]+", match.group(3).lower()))
    return f"{match.group(1)} {century * 100 + rest}"


def _colon(end: str) -> str:
    """A range's end as the reader's digits ("18.00": "18:00", "two": "2")."""
    hour = _HOUR_WORDS.get(end.lower())
    return str(hour) if hour is not None else end.replace(".", ":")


def _clock(end: str) -> str:
    return end if ":" in end else f"{end}:00"


def _article_range(match: re.Match[str]) -> str:
    second = "1" if match.group(4).lower() == "una" else match.group(4)
    return f"{match.group(1)} {_clock(match.group(2))} {match.group(3)} {_clock(second)}"


def shared(text: str) -> str:
    """``text`` with the forms of the module docstring in one form."""
    text = _SPACED_MERIDIEM_RE.sub(lambda m: f"{m[1]} {m[2].lower()}m", text)
    text = _SPOKEN_YEAR_RE.sub(_spoken_year, text)
    text = _MONTH_YEARS_RE.sub(
        lambda m: f"{m[3]} {m[4]} on {m[1]}{m[2]}" if m[1] else f"{m[3]} {m[4]} in {m[2]}", text
    )
    text = _WEEKDAY_POSSESSIVE_RE.sub(r"\1", text)
    text = _DAY_OF_MONTH_RE.sub(
        lambda m: f"the {_ordinal(_day(m[1]))} of the month" if 1 <= _day(m[1]) <= 31 else m[0],
        text,
    )
    text = _TWO_WEEKS_RE.sub("2 weeks", text)
    text = _ONE_WEEK_RE.sub("a week", text)
    text = _H_RANGE_RE.sub(r"\1 \2:00 \3 \4:00", text)
    text = _HOUR_H_RE.sub(r"\1:00", text)
    text = _HEURES_RE.sub(r"\1 \2:00", text)
    text = _DOTTED_CLOCK_RE.sub(
        lambda m: f"{m.group(1) or m.group(3)}:{m.group(2) or m.group(4)}", text
    )
    text = _RANGE_TAIL_RE.sub(
        lambda m: f"{m[1]} {_colon(m[2])} {m[5]} {m[3]} {_colon(m[4])} {m[5]}", text
    )
    text = _RANGE_ARTICLE_RE.sub(_article_range, text)
    text = _DAY_PART_HOUR_RE.sub(lambda m: f"{m[1]} {'am' if m[2] else 'pm'}", text)
    return _WEEKDAY_DAY_RE.sub(lambda m: f"{m.group(1)} the {_ordinal(int(m.group(2)))}", text)
