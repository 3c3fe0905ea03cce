"""A piece that is a clock time *and* something more, cut at a comma: the time written by
:mod:`~privcloud.workloads.translate_times`, only the rest translated by the language model.

"Alle due, con Giulia." is not a time alone, so it went to the model whole, and the model got
the time wrong in it as often as alone (on the blind sets' times with more said, 8 of 45 right).
Cut at the comma, the time is exact ("Om twee uur") and the model translates "con Giulia."
without it; the two are joined as the target writes them ("Om twee uur, met Giulia.").

:func:`split` finds the cut: the part before the first comma, or after the last, must be a
time :func:`~privcloud.workloads.translate_times.render` writes, and the rest must have a
letter. Not cut: a comma inside a number ("2,000", "7,30"), a rest with a number or an hour
of its own (a count, alternatives), an English time with nothing else to make it one (no
minutes said as such, "o'clock", part of the day or day: "At seven, I could already read" is an
age, "At two fifty, that's a bargain" a price), a French whole hour ("À deux heures, en
voiture": two hours away), digits with a point (a price).

:func:`join` puts the translated rest back beside the time, with the piece's capital and final
mark (the rest's own marks dropped), and the rest's first letter in lower case when
it follows the time, unless the source writes that word with a capital (a name) or the target
is German and the word is not one of the small words German writes in lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privcloud.workloads.translate_times import finish, render
from privcloud.workloads.translate_times_words import HOURS

__all__ = ["TimeAndRest", "join", "split"]

#: German words that begin a phrase after a time in lower case (nouns keep their capital).
_GERMAN_SMALL_WORDS = (
    "am im an in auf aus bei mit nach vor zum zur vom bis ab um für ohne gegen hinter neben "
    "über unter zwischen nicht aber und oder dann doch bitte ja nein nur noch schon also "
    "da dort hier wo wie wenn falls sonst"
)
_GERMAN_SMALL = frozenset(_GERMAN_SMALL_WORDS.split())


@dataclass(frozen=True)
class TimeAndRest:
    """A piece cut at a comma: ``time``, already written in the target language (no marks),
    ``rest`` in the source language (without the piece's final mark), ``time_first`` whether
    the time came first, and the piece's final ``mark``."""

    time: str
    rest: str
    time_first: bool
    mark: str


def split(piece: str, source: str, target: str) -> TimeAndRest | None:
    """``piece`` cut into a clock time and the rest (see the module docstring), or None."""
    match = re.fullmatch(r"\s*[¿¡]?(.*?)\s*([.?!…]*)\s*", piece, re.DOTALL)
    if match is None or "," not in match.group(1) or re.search(r"\d,\d", piece):
        return None  # (a comma in a number: "2,000 a month", "7,30")
    body, mark = match.group(1), match.group(2)
    head, _, tail = body.partition(",")
    front, _, last = body.rpartition(",")
    for time_said, other, time_first in ((head, tail, True), (last, front, False)):
        rest = other.strip().lstrip("¿¡").strip()
        if not any(c.isalpha() for c in rest) or _counts(rest, source):
            continue
        if _maybe_not_a_time(time_said.strip(), source):
            continue
        time = render(time_said.strip(), source, target)
        if time is not None:
            return TimeAndRest(time, rest, time_first, mark)
    return None


#: Before or after a clause, English "at seven" may be an age ("At seven, I could read") or a
#: count ("At three, push!"), "four fifty" a price, French "à deux heures" a distance ("à deux
#: heures, en voiture"), digits with a point a price: a time is cut from the rest only when
#: something else makes it one (minutes said as such, "o'clock", a part of the day, a day).
_ENGLISH_CLEAR = re.compile(
    r"o'clock|\bpast\b|\bto\b|\bhalf\b|\bquarter\b|\d:\d|\bnoon\b|\bmidnight\b|\b[ap]\.?m\b"
    r"|morning|afternoon|evening|night|today|tomorrow|day\b",
    re.IGNORECASE,
)
_FRENCH_WHOLE = re.compile(r"(?:à|vers) (?:[\w-]+|\d{1,2}) heures?", re.IGNORECASE)


def _maybe_not_a_time(said: str, source: str) -> bool:
    if re.search(r"\d\.\d", said):
        return True
    if source == "en":
        return _ENGLISH_CLEAR.search(said) is None
    return source == "fr" and _FRENCH_WHOLE.fullmatch(said) is not None


def _counts(rest: str, source: str) -> bool:
    """Whether the rest has a number or an hour of its own ("¡A la una, a las dos y a las
    tres!" counts; "At nine, ten" is nine or ten)."""
    words = re.findall(r"[\w']+", rest.lower())
    return any(w.isdigit() or w in HOURS[source] for w in words)


def join(cut: TimeAndRest, translated: str, piece: str, target: str) -> str:
    """The time and the ``translated`` rest as one piece in ``target`` (module docstring)."""
    rest = translated.strip().lstrip("¿¡").strip()
    rest = re.sub(r"\s*[.?!…]+$", "", rest).strip()
    if cut.time_first:
        out = f"{cut.time}, {_lower_first(rest, piece, target)}"
    else:
        out = f"{rest}, {cut.time}"
    return finish(out, piece, cut.mark, target)


def _lower_first(text: str, piece: str, target: str) -> str:
    first = text.split(" ", 1)[0]
    if not first or not first[:1].isupper():
        return text
    if re.search(rf"(?<!\w){re.escape(first)}(?!\w)", piece):
        return text  # a name the source writes so
    if target == "de" and first.lower() not in _GERMAN_SMALL:
        return text  # a German noun
    return text[:1].lower() + text[1:]
