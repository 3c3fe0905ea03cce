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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from privcloud.workloads.dategrammar import DATE_HANDLERS, GRAMMAR, Clock, Piece, parse_phrase

__all__ = ["Found", "When", "resolve", "scan"]

_DAY_PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 19, "night": 20}


@dataclass(frozen=True)
class When:
    """A resolved date/time: ``start`` (ISO 8601 datetime, or a date when ``all_day``)."""

    start: str
    end: str | None
    all_day: bool
    clock: str | None  # HH:MM of the start (None when all day)
    day: str  # YYYY-MM-DD of the start
    has_day: bool  # whether a phrase named the day (else the next occurrence was assumed)


def _hour(clock: Clock, hint: str | None) -> int:
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
    pieces = [parse_phrase(p, reference) for p in phrases]
    if not pieces or any(p is None for p in pieces):
        return None
    by_kind: dict[str, list[Piece]] = {}
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
            time_piece = Piece("time", clock=Clock(_DAY_PART_HOURS[hint], 0, None, True))
        elif hint is None or hint == "wake":
            iso = day_piece.day.isoformat()
            return When(iso, None, True, None, iso, True)
        else:
            time_piece = Piece("time", clock=Clock(_DAY_PART_HOURS[hint], 0, None, True))
    assert time_piece.clock is not None
    start_clock, end_clock = time_piece.clock, time_piece.end
    start_h = _hour(start_clock, hint)
    end_h = None
    if end_clock is not None:
        end_h = _hour(end_clock, hint)
        if start_clock.meridiem is None and end_clock.meridiem and not start_clock.fixed:
            start_h = _hour(Clock(start_clock.hour, 0, end_clock.meridiem, False), None)
            if (start_h, start_clock.minute) > (end_h, end_clock.minute):
                start_h = _hour(Clock(start_clock.hour, 0, "a", False), None)
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
    piece: Piece


def scan(
    text: str, start: int, end: int, ref: datetime, alarm: bool, masked: list[tuple[int, int]]
) -> list[Found]:
    """Longest non-overlapping grammar matches in ``text[start:end]``, outside ``masked``."""
    found: list[Found] = []
    for pattern, handler, alarm_only in GRAMMAR:
        if alarm_only and not alarm:
            continue
        for m in pattern.finditer(text, start, end):
            a, b = m.span()
            while a < b and text[a].isspace():
                a += 1
            piece = handler(m, ref) if a < b else None
            if piece is None and handler in DATE_HANDLERS:
                piece = Piece("invalid")  # "February 30th": a date, but no day
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
