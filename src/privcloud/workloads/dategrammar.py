"""The phrase grammar of :mod:`privcloud.workloads.datetext`: what one English date or time
phrase means ("tomorrow morning", "the 3rd of March", "half past ten", "from 9 to 11am").

:data:`GRAMMAR` lists each phrase pattern with the handler that turns its match into a
:class:`Piece` (a day, a clock time or range, a moment, or a part-of-day hint), relative to the
reference time; :func:`parse_phrase` reads one whole phrase. Number words come from the one
lexicon of :mod:`privcloud.workloads.text.numbers`, month and weekday names from
:mod:`privcloud.workloads.text.datewords`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from privcloud.errors import InternalError
from privcloud.workloads.text import numbers
from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS

__all__ = ["DATE_HANDLERS", "GRAMMAR", "Clock", "Piece", "parse_phrase"]

#: Weekdays by their first three letters ("tues", "thurs" and the full names share them).
_WEEKDAY_PREFIXES = {name[:3]: number for name, number in WEEKDAYS.items()}
#: The one-word numbers (zero to nineteen, the tens); :data:`_NUM` adds "twenty five".
_SIMPLE_NUMBERS = [*numbers.UNITS, *numbers.TEENS, *numbers.TENS]
_ORDINAL_WORDS = {numbers.spell_ordinal(n): n for n in range(1, 32)}


def _alternation(words: Collection[str]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_DIGITS_1_9 = [numbers.spell_number(n) for n in range(1, 10)]
_NUM = (
    rf"(?:\d{{1,3}}|{_alternation(numbers.TENS)}[ -]{_alternation(_DIGITS_1_9)}|"
    + _alternation([*_SIMPLE_NUMBERS, "a", "an"])
    + ")"
)
_HOUR_WORD = _alternation([numbers.spell_number(n) for n in range(1, 13)])
_HOUR = rf"(?:\d{{1,2}}|{_HOUR_WORD})"
_AP = r"(?:\s?(?P<ap>[ap])(?:\.m\.?|m\b))"
#: The minutes of a spoken clock time: "oh five", "ten" to "nineteen", "twenty" to "fifty-nine".
_MINUTE_WORD = (
    rf"(?:oh[ -]{_alternation(_DIGITS_1_9)}|{_alternation(numbers.TEENS)}|"
    rf"(?:twenty|thirty|forty|fifty)(?:[ -]{_alternation(_DIGITS_1_9)})?)"
)
_MONTH = _alternation(MONTHS)
_WEEKDAY = _alternation([*WEEKDAYS, "tues", "thurs"])
_PART = r"(?:\s+(?P<part>morning|afternoon|evening|night))?"
_DAY = rf"(?P<d>\d{{1,2}}(?:st|nd|rd|th)?|{_alternation(_ORDINAL_WORDS)})"
_YEAR = r"(?:,?\s+(?P<y>\d{4})\b)?"
_PREFIX = r"(?:(?:at|by|around|for)\s+|@\s*)?"
_LEFT = r"(?<![\w:/.+-])"  # a time does not start inside a number, date or address


def _clock_group(i: int) -> str:
    return rf"(?P<h{i}>\d{{1,2}})(?::(?P<m{i}>\d{{2}}))?(?:\s?(?P<ap{i}>[ap])(?:\.m\.?|m\b))?"


@dataclass(frozen=True)
class Clock:
    hour: int
    minute: int
    meridiem: str | None  # "a" or "p"
    fixed: bool  # zero-padded or 24-hour: taken as written


@dataclass(frozen=True)
class Piece:
    """What one phrase means: a day, a clock time (or range), a moment, or a part-of-day hint."""

    kind: str  # "date" | "time" | "moment" | "hint" | "invalid" (a date that does not exist)
    day: date | None = None
    hint: str | None = None  # morning/afternoon/evening/night, or "wake" (an alarm)
    clock: Clock | None = None
    end: Clock | None = None
    moment: datetime | None = None
    next_day: bool = False  # midnight: the end of the day


_Handler = Callable[[re.Match[str], datetime], Piece | None]


def _number(word: str) -> int:
    """The value of a number that a pattern matched: digits, "a"/"an" (one), or number words
    ("twenty five", "twenty-five"; :func:`numbers.parse_number`)."""
    word = word.lower()
    if word.isdigit():
        return int(word)
    if word in ("a", "an"):
        return 1
    value = numbers.parse_number(word)
    if value is None:
        raise InternalError("a date pattern matched a word that is no number")
    return value


def _day_number(token: str) -> int:
    ordinal = numbers.parse_ordinal(token)
    return ordinal if ordinal is not None else int(token.lower().rstrip("stndrh"))


def _clock(hour: str, minute: str | None, meridiem: str | None) -> Clock | None:
    h = _number(hour)
    m = int(minute) if minute else 0
    ap = meridiem.lower() if meridiem else None
    if m > 59 or h > 23 or (ap is not None and not 1 <= h <= 12):
        return None
    return Clock(h, m, ap, fixed=ap is None and (h == 0 or h > 12 or hour.startswith("0")))


def _on_or_after(month: int, day: int, year: int | None, today: date) -> date | None:
    """The date ``month``/``day`` (in ``year``, or the next on or after ``today``)."""
    years = [year] if year is not None else list(range(today.year, today.year + 9))
    for y in years:
        try:
            candidate = date(y, month, day)
        except ValueError:
            continue
        if year is not None or candidate >= today:
            return candidate
    return None


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _relative_day(m: re.Match[str], ref: datetime) -> Piece:
    word = m.group("rel").lower()
    offset = {"today": 0, "tonight": 0, "yesterday": -1}.get(word, 2 if "after" in word else 1)
    part = m.group("part")
    hint = part.lower() if part else ("night" if word == "tonight" else None)
    return Piece("date", day=ref.date() + timedelta(days=offset), hint=hint)


def _this_part(m: re.Match[str], ref: datetime) -> Piece:
    return Piece("date", day=ref.date(), hint=m.group("part").lower())


def _weekday(m: re.Match[str], ref: datetime) -> Piece:
    target = _WEEKDAY_PREFIXES[m.group("wd")[:3].lower()]
    mod = (m.group("mod") or "").lower()
    today = ref.date()
    if mod == "next":
        day = today + timedelta(days=7 - today.weekday() + target)
    else:
        ahead = (target - today.weekday()) % 7
        day = today + timedelta(days=ahead or (0 if mod == "this" else 7))
    part = m.group("part")
    return Piece("date", day=day, hint=part.lower() if part else None)


def _month_day(m: re.Match[str], ref: datetime) -> Piece | None:
    year = int(m.group("y")) if m.group("y") else None
    day = _on_or_after(MONTHS[m.group("mon").lower()], _day_number(m.group("d")), year, ref.date())
    return Piece("date", day=day) if day else None


def _numeric(m: re.Match[str], ref: datetime) -> Piece | None:
    a, b = int(m.group("a")), int(m.group("b"))
    month, day = (b, a) if a > 12 >= b else (a, b)
    year = m.group("y")
    full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    found = _on_or_after(month, day, full_year, ref.date()) if 1 <= month <= 12 else None
    return Piece("date", day=found) if found else None


def _iso(m: re.Match[str], ref: datetime) -> Piece | None:
    found = _on_or_after(int(m.group("m")), int(m.group("d")), int(m.group("y")), ref.date())
    return Piece("date", day=found) if found else None


def _nth(m: re.Match[str], ref: datetime) -> Piece | None:
    day, today = _day_number(m.group("d")), ref.date()
    for months in range(13):
        first = _add_months(today.replace(day=1), months)
        if day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if candidate >= today:
                return Piece("date", day=candidate)
    return None


def _in_days(m: re.Match[str], ref: datetime) -> Piece:
    n, unit, today = _number(m.group("n")), m.group("unit").lower(), ref.date()
    if unit.startswith("day"):
        return Piece("date", day=today + timedelta(days=n))
    if unit.startswith("week"):
        return Piece("date", day=today + timedelta(weeks=n))
    return Piece("date", day=_add_months(today, n * (12 if unit.startswith("year") else 1)))


def _in_time(m: re.Match[str], ref: datetime) -> Piece:
    if m.group("half"):
        delta = timedelta(minutes=30)
    elif m.group("unit").lower().startswith("h"):
        delta = timedelta(hours=_number(m.group("n")))
    else:
        delta = timedelta(minutes=_number(m.group("n")))
    return Piece("moment", moment=(ref + delta).replace(microsecond=0))


def _hint(m: re.Match[str], _ref: datetime) -> Piece:
    part = m.groupdict().get("part") or ("night" if m.groupdict().get("night") else None)
    return Piece("hint", hint=part.lower() if part else "wake")


def _time(m: re.Match[str], _ref: datetime) -> Piece | None:
    groups = m.groupdict()
    clock = _clock(m.group("h"), groups.get("m"), groups.get("ap"))
    return Piece("time", clock=clock) if clock else None


def _spoken_time(m: re.Match[str], _ref: datetime) -> Piece | None:
    """ "at ten thirty", "seven oh five pm": an hour word and a minutes word, as people say
    clock times (and as espeak-ng's call is transcribed when Whisper writes words)."""
    minutes = _number(re.sub(r"^oh[ -]", "", m.group("mw").lower()))
    clock = _clock(m.group("h"), str(minutes), m.groupdict().get("ap"))
    return Piece("time", clock=clock) if clock else None


def _named_time(m: re.Match[str], _ref: datetime) -> Piece:
    midnight = m.group("w").lower() == "midnight"
    return Piece("time", clock=Clock(0 if midnight else 12, 0, None, True), next_day=midnight)


def _past_to(m: re.Match[str], _ref: datetime) -> Piece | None:
    q = m.group("q").lower()
    minutes = {"half": 30, "quarter": 15}.get(q) or _number(q.removesuffix("minutes").strip())
    hour = _number(m.group("h"))
    if m.group("rel").lower() == "to":
        if q == "half" or minutes >= 60:
            return None
        hour, minutes = (hour - 1) or 12, 60 - minutes
    clock = _clock(str(hour), str(minutes), m.group("ap"))
    return Piece("time", clock=clock) if clock and 1 <= hour <= 12 else None


def _range(m: re.Match[str], _ref: datetime) -> Piece | None:
    start = _clock(m.group("h1"), m.group("m1"), m.group("ap1"))
    end = _clock(m.group("h2"), m.group("m2"), m.group("ap2"))
    sep = m.group("sep").lower()
    between = m.group("lead") is not None and m.group("lead").lower() == "between"
    if start is None or end is None or (sep == "and") != between:
        return None
    marked = m.group("lead") or m.group("ap1") or m.group("ap2") or m.group("m1") or m.group("m2")
    return Piece("time", clock=start, end=end) if marked else None


_CASE = re.IGNORECASE
#: (pattern, handler, alarm_only). Order matters only for :func:`parse_phrase` (first full
#: match wins); scanning keeps the longest non-overlapping matches of all of them.
GRAMMAR: list[tuple[re.Pattern[str], _Handler, bool]] = [
    (
        re.compile(
            r"\b(?P<rel>(?:the\s+)?day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw|"
            r"yesterday)" + _PART + r"\b",
            _CASE,
        ),
        _relative_day,
        False,
    ),
    (re.compile(r"\bthis\s+(?P<part>morning|afternoon|evening)\b", _CASE), _this_part, False),
    (
        re.compile(
            r"\b(?:on\s+)?(?:(?P<mod>next|this|coming)\s+)?(?P<wd>"
            + _WEEKDAY
            + r")"
            + _PART
            + r"\b",
            _CASE,
        ),
        _weekday,
        False,
    ),
    (
        re.compile(
            r"\b(?:on\s+)?(?P<mon>" + _MONTH + r")\.?\s+(?:the\s+)?" + _DAY + r"\b" + _YEAR, _CASE
        ),
        _month_day,
        False,
    ),
    (
        re.compile(
            r"\b(?:on\s+)?(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?(?P<mon>" + _MONTH + r")\b" + _YEAR,
            _CASE,
        ),
        _month_day,
        False,
    ),
    (
        re.compile(
            r"(?<![\w/.-])(?:on\s+)?(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?"
            r"(?![\w/])",
            _CASE,
        ),
        _numeric,
        False,
    ),
    (re.compile(r"(?<![\w/.-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?![\w-])"), _iso, False),
    (re.compile(r"\b(?:on\s+)?the\s+(?P<d>\d{1,2}(?:st|nd|rd|th))\b", _CASE), _nth, False),
    (
        re.compile(r"\bin\s+(?P<n>" + _NUM + r")\s+(?P<unit>days?|weeks?|months?|years?)\b", _CASE),
        _in_days,
        False,
    ),
    (
        re.compile(
            r"\bin\s+(?:(?P<n>" + _NUM + r")\s+(?P<unit>hours?|minutes?|mins?)|"
            r"(?P<half>half\s+an\s+hour))\b",
            _CASE,
        ),
        _in_time,
        False,
    ),
    (
        re.compile(
            _LEFT  # white space only after from/between: a leading \s* would rescan runs of spaces
            + r"(?:(?P<lead>from|between)\s*)?"
            + _clock_group(1)
            + r"\s*(?P<sep>-|\u2013|to|until|till|and)\s*"
            + _clock_group(2)
            + r"(?!\w)",
            _CASE,
        ),
        _range,
        False,
    ),
    (
        re.compile(_LEFT + _PREFIX + r"(?P<h>\d{1,2}):(?P<m>\d{2})" + _AP + r"?(?![\w:])", _CASE),
        _time,
        False,
    ),
    # "at 10.30": Whisper writes clock times with a dot; only after at/by/around (not 3.5 kg).
    (
        re.compile(
            r"\b(?:at|by|around)\s+(?P<h>\d{1,2})\.(?P<m>[0-5]\d)" + _AP + r"?(?![\w:]|\.\d)", _CASE
        ),
        _time,
        False,
    ),
    (re.compile(_LEFT + _PREFIX + r"(?P<h>" + _HOUR + r")" + _AP, _CASE), _time, False),
    (
        re.compile(_LEFT + _PREFIX + r"(?P<h>" + _HOUR + r")\s+o['\u2019]?\s?clock\b", _CASE),
        _time,
        False,
    ),
    (
        re.compile(r"\b(?:at|by|around|@)\s+(?P<h>" + _HOUR + r")(?![\w:/%]|[.-]\d)", _CASE),
        _time,
        False,
    ),
    # "at ten thirty", "ten thirty pm": only after at/by/around or before a.m./p.m.
    (
        re.compile(
            r"\b(?:at|by|around)\s+(?P<h>" + _HOUR_WORD + r")[ -](?P<mw>" + _MINUTE_WORD + r")"
            r"(?:" + _AP + r")?(?![\w-])",
            _CASE,
        ),
        _spoken_time,
        False,
    ),
    (
        re.compile(
            r"\b(?P<h>" + _HOUR_WORD + r")[ -](?P<mw>" + _MINUTE_WORD + r")" + _AP + r"(?!\w)",
            _CASE,
        ),
        _spoken_time,
        False,
    ),
    (re.compile(r"\bfor\s+(?P<h>" + _HOUR + r")(?![\w:/%]|[.-]\d)", _CASE), _time, True),
    (
        re.compile(r"\b(?:(?:at|by|around)\s+)?(?P<w>noon|midday|midnight)\b", _CASE),
        _named_time,
        False,
    ),
    (
        re.compile(
            _PREFIX + r"\b(?P<q>half|quarter|five|ten|twenty[- ]five|twenty|\d{1,2}\s+"
            r"minutes)\s+(?P<rel>past|after|to)\s+(?P<h>" + _HOUR + r")\b" + _AP + "?",
            _CASE,
        ),
        _past_to,
        False,
    ),
    (
        re.compile(
            r"\b(?:in\s+the\s+(?P<part>morning|afternoon|evening)|at\s+(?P<night>night))\b", _CASE
        ),
        _hint,
        False,
    ),
    (re.compile(r"\b(?:wake\s+me(?:\s+up)?|alarm)\b", _CASE), _hint, True),
]


DATE_HANDLERS = frozenset({_month_day, _numeric, _iso, _nth})


def parse_phrase(phrase: str, ref: datetime) -> Piece | None:
    """What ``phrase`` means on its own (the first grammar rule matching all of it)."""
    for pattern, handler, _alarm in GRAMMAR:
        m = pattern.fullmatch(phrase)
        if m is not None:
            piece = handler(m, ref)
            if piece is not None:
                return piece
    return None
