"""Dates and times in English text: a small phrase grammar, a scanner and a resolver.

Sans-IO and deterministic: the reference time is an argument. :func:`scan` finds date and time
phrases in a sentence; :func:`resolve` turns a list of phrases into a :class:`When`. The
``extract`` workload uses :func:`resolve` twice: to build a value, and (in its grounding check)
to re-derive the value from the source phrases it names.

Date and time conventions (all resolved against ``reference_time``, in *its* UTC offset: no
time-zone database, so a daylight-saving change between now and the event is not applied):

* ``today``/``tonight``/``tomorrow``/``the day after tomorrow``; ``this morning`` etc.
* ``Friday``/``on Friday``/``coming Friday``: the next Friday after today (today excluded);
  ``this Friday``: today if it is Friday, else the next; ``next Friday``: the Friday of the
  next calendar week (ISO weeks start on Monday).
* ``March 3rd``, ``3 March``, ``the 3rd of March`` without a year: the next such date, today
  included (a passed date rolls over to the next year); ``the 5th``: the next 5th of a month.
* ``3/4`` is month/day (US order: the transcriber is English); when the first number cannot be
  a month (``25/12``) it is day/month. ``2026-03-04`` is ISO 8601.
* ``in 3 days``/``in two weeks``/``in a month``: calendar days from today (months clamp the day);
  ``in two hours``/``in 20 minutes``/``in half an hour``: the reference time plus that.
* A bare hour needs ``at``/``by``/``around`` (``at 3``) or ``o'clock``; without a.m./p.m. hours
  1 to 7 are afternoon/evening (``at 3`` is 15:00) and 8 to 12 are as said, unless the text says
  morning/afternoon/evening/tonight; in an alarm (``wake me up``, ``alarm``) they are a.m.
  Zero-padded and 24-hour times (``07:30``, ``14:00``) are taken as written.
* ``noon``/``midday`` is 12:00; ``midnight`` is 00:00 at the *end* of the day named (or today).
* A time without a date is its next occurrence after the reference time.
* A date with only a part of the day: morning 09:00, afternoon 15:00, evening 19:00, night 20:00.
* A date without a time is an all-day event (``"all_day": true``, ``start`` is a date).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_DAY_PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 19, "night": 20}


def _words(text: str) -> list[str]:
    return text.split()


WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_UNITS = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_ORDINALS = _words(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_ORDINAL_WORDS = {word: n for n, word in enumerate(_ORDINALS, start=1)}
_ORDINAL_WORDS.update({f"twenty-{w}": 20 + n for n, w in enumerate(_ORDINALS[:9], start=1)})
_ORDINAL_WORDS.update({"thirtieth": 30, "thirty-first": 31})


def _alternation(words: Collection[str]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_NUM = (
    r"(?:\d{1,3}|(?:twenty|thirty|forty|fifty)[ -](?:one|two|three|four|five|six|seven|eight|"
    r"nine)|" + _alternation([*_UNITS, *_TENS, "a", "an", "sixty"]) + ")"
)
_HOUR_WORD = _alternation(_UNITS[1:13])
_HOUR = rf"(?:\d{{1,2}}|{_HOUR_WORD})"
_AP = r"(?:\s?(?P<ap>[ap])(?:\.m\.?|m\b))"
_MONTH = _alternation(MONTHS)
_WEEKDAY = r"(?:monday|tuesday|tues|wednesday|thursday|thurs|friday|saturday|sunday)"
_PART = r"(?:\s+(?P<part>morning|afternoon|evening|night))?"
_DAY = rf"(?P<d>\d{{1,2}}(?:st|nd|rd|th)?|{_alternation(_ORDINAL_WORDS)})"
_YEAR = r"(?:,?\s+(?P<y>\d{4})\b)?"
_PREFIX = r"(?:(?:at|by|around|for)\s+|@\s*)?"
_LEFT = r"(?<![\w:/.+-])"  # a time does not start inside a number, date or address


def _clock_group(i: int) -> str:
    return rf"(?P<h{i}>\d{{1,2}})(?::(?P<m{i}>\d{{2}}))?(?:\s?(?P<ap{i}>[ap])(?:\.m\.?|m\b))?"


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    meridiem: str | None  # "a" or "p"
    fixed: bool  # zero-padded or 24-hour: taken as written


@dataclass(frozen=True)
class _Piece:
    """What one phrase means: a day, a clock time (or range), a moment, or a part-of-day hint."""

    kind: str  # "date" | "time" | "moment" | "hint" | "invalid" (a date that does not exist)
    day: date | None = None
    hint: str | None = None  # morning/afternoon/evening/night, or "wake" (an alarm)
    clock: _Clock | None = None
    end: _Clock | None = None
    moment: datetime | None = None
    next_day: bool = False  # midnight: the end of the day


_Handler = Callable[[re.Match[str], datetime], _Piece | None]


def _number(word: str) -> int:
    word = word.lower().replace(" ", "-")
    if word.isdigit():
        return int(word)
    if word in ("a", "an"):
        return 1
    if word == "sixty":
        return 60
    if word in _TENS:
        return _TENS[word]
    if "-" in word:
        tens, unit = word.split("-", 1)
        return _TENS[tens] + _UNITS.index(unit)
    return _UNITS.index(word)


def _day_number(token: str) -> int:
    token = token.lower()
    return _ORDINAL_WORDS[token] if token in _ORDINAL_WORDS else int(token.rstrip("stndrh"))


def _clock(hour: str, minute: str | None, meridiem: str | None) -> _Clock | None:
    h = _number(hour)
    m = int(minute) if minute else 0
    ap = meridiem.lower() if meridiem else None
    if m > 59 or h > 23 or (ap is not None and not 1 <= h <= 12):
        return None
    return _Clock(h, m, ap, fixed=ap is None and (h == 0 or h > 12 or hour.startswith("0")))


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


def _relative_day(m: re.Match[str], ref: datetime) -> _Piece:
    word = m.group("rel").lower()
    offset = {"today": 0, "tonight": 0, "yesterday": -1}.get(word, 2 if "after" in word else 1)
    part = m.group("part")
    hint = part.lower() if part else ("night" if word == "tonight" else None)
    return _Piece("date", day=ref.date() + timedelta(days=offset), hint=hint)


def _this_part(m: re.Match[str], ref: datetime) -> _Piece:
    return _Piece("date", day=ref.date(), hint=m.group("part").lower())


def _weekday(m: re.Match[str], ref: datetime) -> _Piece:
    target = WEEKDAYS[m.group("wd")[:3].lower()]
    mod = (m.group("mod") or "").lower()
    today = ref.date()
    if mod == "next":
        day = today + timedelta(days=7 - today.weekday() + target)
    else:
        ahead = (target - today.weekday()) % 7
        day = today + timedelta(days=ahead or (0 if mod == "this" else 7))
    part = m.group("part")
    return _Piece("date", day=day, hint=part.lower() if part else None)


def _month_day(m: re.Match[str], ref: datetime) -> _Piece | None:
    year = int(m.group("y")) if m.group("y") else None
    day = _on_or_after(MONTHS[m.group("mon").lower()], _day_number(m.group("d")), year, ref.date())
    return _Piece("date", day=day) if day else None


def _numeric(m: re.Match[str], ref: datetime) -> _Piece | None:
    a, b = int(m.group("a")), int(m.group("b"))
    month, day = (b, a) if a > 12 >= b else (a, b)
    year = m.group("y")
    full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    found = _on_or_after(month, day, full_year, ref.date()) if 1 <= month <= 12 else None
    return _Piece("date", day=found) if found else None


def _iso(m: re.Match[str], ref: datetime) -> _Piece | None:
    found = _on_or_after(int(m.group("m")), int(m.group("d")), int(m.group("y")), ref.date())
    return _Piece("date", day=found) if found else None


def _nth(m: re.Match[str], ref: datetime) -> _Piece | None:
    day, today = _day_number(m.group("d")), ref.date()
    for months in range(13):
        first = _add_months(today.replace(day=1), months)
        if day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if candidate >= today:
                return _Piece("date", day=candidate)
    return None


def _in_days(m: re.Match[str], ref: datetime) -> _Piece:
    n, unit, today = _number(m.group("n")), m.group("unit").lower(), ref.date()
    if unit.startswith("day"):
        return _Piece("date", day=today + timedelta(days=n))
    if unit.startswith("week"):
        return _Piece("date", day=today + timedelta(weeks=n))
    return _Piece("date", day=_add_months(today, n * (12 if unit.startswith("year") else 1)))


def _in_time(m: re.Match[str], ref: datetime) -> _Piece:
    if m.group("half"):
        delta = timedelta(minutes=30)
    elif m.group("unit").lower().startswith("h"):
        delta = timedelta(hours=_number(m.group("n")))
    else:
        delta = timedelta(minutes=_number(m.group("n")))
    return _Piece("moment", moment=(ref + delta).replace(microsecond=0))


def _hint(m: re.Match[str], _ref: datetime) -> _Piece:
    part = m.groupdict().get("part") or ("night" if m.groupdict().get("night") else None)
    return _Piece("hint", hint=part.lower() if part else "wake")


def _time(m: re.Match[str], _ref: datetime) -> _Piece | None:
    groups = m.groupdict()
    clock = _clock(m.group("h"), groups.get("m"), groups.get("ap"))
    return _Piece("time", clock=clock) if clock else None


def _named_time(m: re.Match[str], _ref: datetime) -> _Piece:
    midnight = m.group("w").lower() == "midnight"
    return _Piece("time", clock=_Clock(0 if midnight else 12, 0, None, True), next_day=midnight)


def _past_to(m: re.Match[str], _ref: datetime) -> _Piece | None:
    q = m.group("q").lower()
    minutes = {"half": 30, "quarter": 15}.get(q) or _number(q.split()[0])
    hour = _number(m.group("h"))
    if m.group("rel").lower() == "to":
        if q == "half" or minutes >= 60:
            return None
        hour, minutes = (hour - 1) or 12, 60 - minutes
    clock = _clock(str(hour), str(minutes), m.group("ap"))
    return _Piece("time", clock=clock) if clock and 1 <= hour <= 12 else None


def _range(m: re.Match[str], _ref: datetime) -> _Piece | None:
    start = _clock(m.group("h1"), m.group("m1"), m.group("ap1"))
    end = _clock(m.group("h2"), m.group("m2"), m.group("ap2"))
    sep = m.group("sep").lower()
    between = m.group("lead") is not None and m.group("lead").lower() == "between"
    if start is None or end is None or (sep == "and") != between:
        return None
    marked = m.group("lead") or m.group("ap1") or m.group("ap2") or m.group("m1") or m.group("m2")
    return _Piece("time", clock=start, end=end) if marked else None


_CASE = re.IGNORECASE
#: (pattern, handler, alarm_only). Order matters only for :func:`_parse_phrase` (first full
#: match wins); scanning keeps the longest non-overlapping matches of all of them.
_GRAMMAR: list[tuple[re.Pattern[str], _Handler, bool]] = [
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


_DATE_HANDLERS = frozenset({_month_day, _numeric, _iso, _nth})


def _parse_phrase(phrase: str, ref: datetime) -> _Piece | None:
    """What ``phrase`` means on its own (the first grammar rule matching all of it)."""
    for pattern, handler, _alarm in _GRAMMAR:
        m = pattern.fullmatch(phrase)
        if m is not None:
            piece = handler(m, ref)
            if piece is not None:
                return piece
    return None


@dataclass(frozen=True)
class When:
    """A resolved date/time: ``start`` (ISO 8601 datetime, or a date when ``all_day``)."""

    start: str
    end: str | None
    all_day: bool
    clock: str | None  # HH:MM of the start (None when all day)
    day: str  # YYYY-MM-DD of the start
    has_day: bool  # whether a phrase named the day (else the next occurrence was assumed)


def _hour(clock: _Clock, hint: str | None) -> int:
    h = clock.hour
    if clock.meridiem == "a":
        return 0 if h == 12 else h
    if clock.meridiem == "p" or (hint in ("afternoon", "evening", "night") and not clock.fixed):
        return h if h >= 12 else h + 12
    if clock.fixed or hint in ("morning", "wake"):
        return h
    return h + 12 if 1 <= h <= 7 else h


def resolve(phrases: Collection[str], reference: datetime) -> When | None:
    """Resolve source phrases (``["tomorrow", "at 10:30"]``) against ``reference``; None when
    they do not parse or do not fit together (two days, two times). Pure: used both to build
    results and, by :func:`verify_grounded`, to check them."""
    pieces = [_parse_phrase(p, reference) for p in phrases]
    if not pieces or any(p is None for p in pieces):
        return None
    by_kind: dict[str, list[_Piece]] = {}
    for piece in pieces:
        assert piece is not None
        by_kind.setdefault(piece.kind, []).append(piece)
    if any(len(v) > 1 for k, v in by_kind.items() if k != "hint"):
        return None
    moment = by_kind.get("moment", [None])[0]
    day_piece, time_piece = by_kind.get("date", [None])[0], by_kind.get("time", [None])[0]
    if moment is not None:
        if day_piece or time_piece or moment.moment is None:
            return None
        at = moment.moment
        return When(
            at.isoformat(timespec="seconds"),
            None,
            False,
            at.strftime("%H:%M"),
            at.date().isoformat(),
            True,
        )
    hints = [p.hint for p in pieces if p is not None and p.hint]
    hint = next((h for h in hints if h != "wake"), hints[0] if hints else None)
    tz = reference.tzinfo
    if time_piece is None or time_piece.clock is None:
        if day_piece is None or day_piece.day is None:
            if hint is None or hint == "wake":
                return None
            time_piece = _Piece("time", clock=_Clock(_DAY_PART_HOURS[hint], 0, None, True))
        elif hint is None or hint == "wake":
            iso = day_piece.day.isoformat()
            return When(iso, None, True, None, iso, True)
        else:
            time_piece = _Piece("time", clock=_Clock(_DAY_PART_HOURS[hint], 0, None, True))
    assert time_piece.clock is not None
    start_clock, end_clock = time_piece.clock, time_piece.end
    start_h = _hour(start_clock, hint)
    end_h = None
    if end_clock is not None:
        end_h = _hour(end_clock, hint)
        if start_clock.meridiem is None and end_clock.meridiem and not start_clock.fixed:
            start_h = _hour(_Clock(start_clock.hour, 0, end_clock.meridiem, False), None)
            if (start_h, start_clock.minute) > (end_h, end_clock.minute):
                start_h = _hour(_Clock(start_clock.hour, 0, "a", False), None)
        elif end_clock.meridiem is None and end_h < start_h <= end_h + 12 <= 23:
            end_h += 12
    if day_piece is not None and day_piece.day is not None:
        day = day_piece.day + timedelta(days=1 if time_piece.next_day else 0)
        start = datetime(day.year, day.month, day.day, start_h, start_clock.minute, tzinfo=tz)
    else:
        start = reference.replace(hour=start_h, minute=start_clock.minute, second=0, microsecond=0)
        if start <= reference or time_piece.next_day:
            start += timedelta(days=1)
    end = None
    if end_clock is not None and end_h is not None:
        end = start.replace(hour=end_h, minute=end_clock.minute)
        if end <= start:
            end += timedelta(days=1)
    return When(
        start.isoformat(timespec="seconds"),
        None if end is None else end.isoformat(timespec="seconds"),
        False,
        start.strftime("%H:%M"),
        start.date().isoformat(),
        day_piece is not None,
    )


# --- scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    phrase: str
    piece: _Piece


def scan(
    text: str, start: int, end: int, ref: datetime, alarm: bool, masked: list[tuple[int, int]]
) -> list[Found]:
    """Longest non-overlapping grammar matches in ``text[start:end]``, outside ``masked``."""
    found: list[Found] = []
    for pattern, handler, alarm_only in _GRAMMAR:
        if alarm_only and not alarm:
            continue
        for m in pattern.finditer(text, start, end):
            a, b = m.span()
            while a < b and text[a].isspace():
                a += 1
            piece = handler(m, ref) if a < b else None
            if piece is None and handler in _DATE_HANDLERS:
                piece = _Piece("invalid")  # "February 30th": a date, but no day
            if piece is not None:
                found.append(Found(a, b, text[a:b], piece))
    chosen: list[Found] = []
    # One byte per character of the sentence, 1 where taken: a phrase is checked against what
    # it covers, not against every phrase taken so far (quadratic in a text full of times).
    taken = bytearray(end - start)
    for mask_start, mask_end in masked:
        a, b = max(mask_start, start), min(mask_end, end)
        if a < b:
            taken[a - start : b - start] = b"\x01" * (b - a)
    for f in sorted(found, key=lambda f: (f.start - f.end, f.start)):
        if taken.find(1, f.start - start, f.end - start) == -1:
            chosen.append(f)
            taken[f.start - start : f.end - start] = b"\x01" * (f.end - f.start)
    return sorted(chosen, key=lambda f: f.start)
