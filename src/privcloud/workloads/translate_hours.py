"""Durations of hours and minutes, which a translation must not change (:func:`contradicted`):
"an hour and a half" translated "una hora", "meia hora" translated "an hour", "anderthalb
Stunden" translated "two and a half hours", "un'ora di ritardo" translated "duas horas de
atraso" passed the fact check before. :mod:`.translate_periods` reads days, weeks, months and
years but not hours, whose words also tell the time ("à 7 heures", "om 7 uur"); and half an
hour, an hour and a half, a quarter of an hour have no number the check could compare.

Read on the texts as written (the lexicons write "uur" as the reader's "o'clock"), in English
and the languages of :data:`.translate_lexicons.LEXICONS`, as minutes:

* a number of hours or minutes (digits, a decimal, the number words one to twelve of the
  language, "an", "une", "eine", "een", ...), with a half after it ("dos horas y media", "deux
  heures et demie", "due ore e mezza", "duas horas e meia") or before the unit ("two and a half
  hours", "twee en een half uur", "zweieinhalb Stunden");
* half an hour, an hour and a half, a quarter and three quarters of an hour in their own words
  ("mezz'ora", "anderthalb Stunden", "een kwartier", "trois quarts d'heure").

A count after a word that places a time in the day ("at", "à", "às", "om", "um", "alle", "a
las", "vers", "tot", ...) is a clock time, not a duration. Checked by contradiction, like the
units of :mod:`.translate_periods`: only a translation that states durations of hours or
minutes, none of them one of the source's, loses it; one that says it another way ("for the
afternoon") keeps it.
"""

from __future__ import annotations

import re

from privcloud.workloads import translate_numbers
from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.text.numbers import TEENS, UNITS, parse_number
from privcloud.workloads.translate_lexicons import LEXICONS, quarter_hours

__all__ = ["COUNT_WORDS", "contradicted", "minutes"]

#: "One" in each language, and English "a" and "an" (lower case): Portuguese "a hora" is the
#: time, Italian "a ora" now, Spanish and French "a" no article.
_ONE = "one un une uno una um uma ein eine einen einer einem een één".split()  # noqa: SIM905
_ENGLISH_NUMBERS = {word: n for word, n in {**UNITS, **TEENS}.items() if 1 <= n <= 12}
#: The words of a number of hours per language (English's, its lexicon's two to twelve, "one").
_NUMBERS: dict[str, dict[str, float]] = {
    lang: {
        **{word: 1.0 for word in _ONE},
        **({"a": 1.0, "an": 1.0} if lang == "en" else {}),
        **{word: float(n) for word, n in _ENGLISH_NUMBERS.items()},
        **{
            word: float(_ENGLISH_NUMBERS[english])
            for word, english in LEXICONS.get(lang, {}).items()
            if english in _ENGLISH_NUMBERS
        },
    }
    for lang in ("en", *LEXICONS)
}
#: The words of a count the reader writes on every language's normalised text: English one
#: to twelve and every language's "one" and "a" (:mod:`.translate_quantities` reads them too).
COUNT_WORDS = _NUMBERS["en"]
_HOURS = r"hours?|horas?|heures?|stunden?|ore|ora|uur|uren"
_MINUTES = r"minutes?|minutos?|minuti|minuto|minuten|min"
#: A half after the unit ("horas y media"), or before it ("and a half hours").
_HALF_AFTER = r"y\s+media|et\s+demie|e\s+mezz[ao]|e\s+meia"
_HALF_BEFORE = r"and\s+a\s+half|en\s+een\s+half"
#: Words after which a count of hours is a clock time.
_CLOCK_WORDS = frozenset(
    "at à às as a las la um om alle vers gegen rond tot until till bis dalle".split()  # noqa: SIM905
) | frozenset("desde hasta from dès jusqu'à van".split())  # noqa: SIM905
#: Durations in words of their own, to their minutes (lower case, as regular expressions).
_PHRASES: dict[str, int] = {
    r"an?\s+hour\s+and\s+a\s+half|one\s+and\s+a\s+half\s+hours?|una\s+hora\s+y\s+media"
    r"|une\s+heure\s+et\s+demie|anderthalb\s+stunden|eineinhalb\s+stunden"
    r"|un'ora\s+e\s+mezz[ao]|uma\s+hora\s+e\s+meia|anderhalf\s+uur|anderhalve\s+uur": 90,
    r"half\s+an\s+hour|a\s+half[\s-]hour|half\s+hour|media\s+hora|une\s+demi-heure"
    r"|demi-heure|eine\s+halbe\s+stunde|einer\s+halben\s+stunde|halbe\s+stunde"
    r"|mezz'ora|mezzora|mezza\s+ora|meia\s+hora|meia-hora|een\s+half\s+uur|half\s+uur|halfuur": 30,
    r"three\s+quarters\s+of\s+an\s+hour|tres\s+cuartos\s+de\s+hora|trois\s+quarts\s+d'heure"
    r"|dreiviertelstunde|drei\s+viertel\s+stunden?|tre\s+quarti\s+d'ora"
    r"|três\s+quartos\s+de\s+hora|drie\s+kwartier": 45,
    # the first hour of something ("gratuito per la prima mezz'ora" as "in der ersten Stunde")
    r"first\s+hour|(?<!a\s)primera\s+hora|première\s+heure|erste[nr]?\s+stunde|prima\s+ora"
    r"|primeira\s+hora|eerste\s+uur": 60,
    r"(?:a\s+)?quarter\s+of\s+an\s+hour|(?:a\s+)?quarter[\s-]hour|un\s+cuarto\s+de\s+hora"
    r"|un\s+quart\s+d'heure|viertelstunde|un\s+quarto\s+d'ora|um\s+quarto\s+de\s+hora"
    r"|kwartier": 15,
}
_PHRASE_RES = [(re.compile(rf"\b(?:{p})\b", re.IGNORECASE), n) for p, n in _PHRASES.items()]
#: A count, a half, the unit ("un'ora": the count's apostrophe joins them), a half.
_COUNT_RE = re.compile(
    rf"\b(\d{{1,3}}(?:[.,]\d)?|[^\W\d_]+(?:-[^\W\d_]+)*'?)(?:\s+({_HALF_BEFORE}))?"
    rf"(?:\s+|(?<='))({_HOURS}|{_MINUTES})\b(?:\s+({_HALF_AFTER})\b)?",
    re.IGNORECASE,
)
#: Hours and minutes together ("2 hours and 15 minutes", "2 Stunden 15 Minuten").
_HOURS_MINUTES_RE = re.compile(
    rf"\b(\d{{1,2}}|[^\W\d_]+)\s+(?:{_HOURS})(?:\s*,|\s+(?:and|y|e|et|und|en))?\s+"
    rf"(\d{{1,2}}|[^\W\d_]+)\s+(?:{_MINUTES})\b",
    re.IGNORECASE,
)
#: A number and a half in one word ("zweieinhalb", "tweeënhalf").
_ONE_WORD_HALVES = ("einhalb", "ënhalf", "enhalf")
#: Words before a count that make it part of a longer number ("cuarenta y cinco").
_JOINERS = frozenset("and y e et und en".split())  # noqa: SIM905
_MINUTE_RE = re.compile(rf"^(?:{_MINUTES})$", re.IGNORECASE)
_WORD_RE = re.compile(r"[\w'-]+")


def minutes(text: str, language: str) -> set[int]:
    """The durations of hours and minutes ``text`` (in ``language``, as written) states, in
    minutes (see the module docstring)."""
    numbers = _NUMBERS.get(language)
    if numbers is None:
        return set()
    found: set[int] = set()
    text = quarter_hours(text)  # "due ore e un quarto": "due ore e 15 minutes"
    for pattern, length in _PHRASE_RES:
        if pattern.search(text):
            found.add(length)
            text = pattern.sub(" ; ", text)  # no count of its own
    if language != "en":  # "cuarenta y cinco minutos": "45 minutos"
        text = translate_numbers.english(text, language)
    for match in _HOURS_MINUTES_RE.finditer(text):
        hours = _count(match.group(1), numbers, language)
        extra = _count(match.group(2), COUNT_WORDS, "en")  # (other languages': digits)
        clock = _clock(text, match.start(), numbers, language)
        if hours is not None and extra is not None and not clock:
            found.add(round(hours * 60 + extra))
    text = _HOURS_MINUTES_RE.sub(" ; ", text)
    for match in _COUNT_RE.finditer(text):
        count = _count(match.group(1), numbers, language)
        if count is None or _clock(text, match.start(), numbers, language):
            continue
        if match.group(2) or match.group(4):
            count += 0.5
        unit = 1 if _MINUTE_RE.match(match.group(3)) else 60
        found.add(round(count * unit))
    return found


def _clock(text: str, at: int, numbers: dict[str, float], language: str) -> bool:
    """Whether the count at ``at`` is a clock time ("à 7 heures", "om 7 uur") or the end of a
    longer number ("forty five", "cuarenta y cinco")."""
    before = _WORD_RE.findall(text[:at])[-1:]
    if not before:
        return False
    word = before[0].lower()
    return (
        word in _CLOCK_WORDS
        or word in _JOINERS
        or word[0].isdigit()
        or _count(word, numbers, language) is not None
    )


def _count(word: str, numbers: dict[str, float], language: str) -> float | None:
    if re.fullmatch(r"[0-9]+(?:[.,][0-9])?", word):
        return float(word.replace(",", "."))
    if word[0].isdigit():
        return None  # "²", "③": no count
    lower = word.lower().rstrip("'")
    if lower in numbers:
        return numbers[lower]
    for half in _ONE_WORD_HALVES:
        if lower.endswith(half) and lower.removesuffix(half) in numbers:
            return numbers[lower.removesuffix(half)] + 0.5
    if language == "en":  # "forty-five"
        value = parse_number(lower.replace("-", " "))
        return float(value) if value is not None else None
    return None


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The duration of hours or minutes of ``source`` that ``translation`` contradicts (both
    as written; see the module docstring): one fact when the translation states such
    durations and none of the source's."""
    said = minutes(source, source_language)
    written = minutes(translation, target_language)
    if not said or not written or said & written:
        return []
    length = min(said)
    return [Fact("duration", f"{length} minutes", f"{length} minutes", ())]
