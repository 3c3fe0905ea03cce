"""Month and weekday names, the one table of them for the date grammar and the fact reader."""

from __future__ import annotations

__all__ = ["MONTHS", "WEEKDAYS"]

#: Month names and their abbreviations, lower case, to the month's number (1 to 12).
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
#: Weekday names, lower case, to the weekday's number (Monday 0, as :meth:`date.weekday`).
WEEKDAYS = {
    name: number
    for number, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
