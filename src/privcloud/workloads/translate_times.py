"""Clock times of day translated by grammar, not by a language model.

A piece of a call that is nothing but a time ("At nine.", "Um halb zehn?", "Vers midi et
quart ?") is short, has no context, and a small model gets it wrong most of the time: Qwen2.5
1.5B gave "A nueve." for "At nine.", "¿A las 12:30?" for "Um halb zehn?" (9:30), "Am halben
von sechs?" for "At half past six?", "At 3 PM and 4 PM" for "Vers midi et quart ?" and "Um
halb vor fünf." for "Om kwart voor vijf.". Such a piece is read here and written in the target
language instead; it takes no model time either.

:func:`render` reads a piece (es, fr, de, it, pt, nl or en; bounded as the phrasebook is, by
:data:`privcloud.limits.PHRASEBOOK_MAX_CHARS` and ``PHRASEBOOK_MAX_WORDS``) in four steps
(the word tables, ``THEN``, ``PARTS``, ``LEADS`` ..., are in
:mod:`~privcloud.workloads.translate_times_words`):

1. Set aside the final ``.``, ``?`` or ``!`` (kept), a Spanish opening ``¿``/``¡`` and commas
   ("a.m." and "p.m." are words); any other mark, or a piece over the bounds, leaves it to the
   model.
2. Set aside a "then" (``THEN``) first or last, a day first or last (``DAYS``: "tomorrow",
   "heute Abend", "el lunes", "amanhã de manhã"; written first), a part of the day last (``PARTS``:
   "in the evening", "de la noche", "du matin", "abends", "'s avonds", "p.m.") and one lead
   (``LEADS``): "at" ("a las", "à", "um", "alle", "às", "om"), "around" ("sobre las",
   "vers", "gegen", "verso le", "por volta das", "lá pelas", "rond") or none; in es, it and pt
   the lead carries the hour's article, which must agree with it ("a la una", "a las dos",
   "al mediodía").
3. Read all the rest as **one** time of :data:`_FORMS`: a whole hour 1-12 (with "o'clock",
   "heures", "Uhr", "uur"...), half, quarter and 5, 10, 20, 25 minutes past or to it ("halb
   fünf" and "half vijf" are 4:30, "dreiviertel fünf" 4:45, "vijf voor half vijf" 4:25), noon
   and midnight, with minutes too ("half past midnight", "dez para o meio-dia"), an hour and
   its minutes as a number ("seven forty-five", "seize heures trente", "às onze e quarenta e
   cinco": written in digits), or digits ("16:30", "4.30", "9h30", "16 h", "16 Uhr"). An hour
   said in words above twelve only where the language says it ("dix-sept heures", "siebzehn
   Uhr", "alle diciassette", "às vinte e duas horas") and then written in digits. A word
   outside this grammar, a bare hour that may be a count ("Nine.", "About nine?"), a score
   ("Ten to five."), a price ("Four thirty.") or a duration ("deux heures et demie", "negen
   uur", "dos horas") leaves the piece to the model. A part of the day makes any of these a
   time ("Nine in the evening."); twelve with one is noon or midnight ("las doce de la
   noche"), except "12 a.m." and "twelve in the morning", which people read both ways.
4. Write the time in the target language (:data:`_WRITERS`), the hour as the speaker said
   it (no 12- to 24-hour conversion, no am/pm), with the part of the day as the target names
   it at that hour (``PARTS_WRITTEN``: "ocho de la tarde" but "diez de la noche"; "drei
   Uhr nachts" is "tres de la madrugada"), the lead, "then" (after a comma where the source
   had one), the capital of the source's first letter and its final mark: Spanish opens a
   question with "¿", French spaces "?" and "!". Digits are written "16:30" (en, es, it, pt,
   nl), "16 h 30" (fr) and "16:30 Uhr" (de).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from privcloud import limits
from privcloud.workloads.translate_times_words import (
    ARTICLES,
    CLOCK,
    CONTRACTED,
    DAYS,
    DAYS_WRITTEN,
    HOUR_NAMES,
    HOURS,
    JOIN,
    LEADS,
    MINUTE_NAMES,
    NAMED,
    NAMED_ARTICLE,
    NUMBERS,
    PART_NAMES,
    PARTS,
    PARTS_WRITTEN,
    PAST,
    THEN,
    TO,
)

__all__ = ["finish", "render"]

_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl")
_AMPM = re.compile(r"\b([ap])\.\s?m\.", re.IGNORECASE)


# The times of each language: (pattern, kind). {H} an hour, {M}/{T} minutes past/to, {N} noon
# or midnight, {C} the clock word, {P}/{L}/{HALF} of JOIN. Groups: h, m, t, n, mm (digit
# minutes), clock, art (pt "dez para as cinco").
_DIGITS = (
    (r"(?P<h>\d{1,2}):(?P<mm>\d\d)(?: (?P<clock>{C}))?", "digits"),
    (r"(?P<h>\d{1,2})\.(?P<mm>\d\d)(?: (?P<clock>{C}))?", "dotted"),
    (r"(?P<h>\d{1,2})(?: (?P<clock>{C}))?", "whole"),
)
_ROMANCE = (  # "las cuatro y diez", "le cinque meno dieci"
    (r"(?P<h>{H})(?: (?P<clock>{C}))?", "whole"),
    (r"(?P<h>{H}) {P} (?P<m>{M})", "past"),
    (r"(?P<h>{H}) {L} (?P<t>{T})", "to"),
    (r"(?P<n>{N})(?: {P} (?P<m>{M}))?", "past"),
)
_GERMANIC = (  # "zehn nach vier", "halb fünf", "vijf voor half vijf"
    (r"(?P<h>{H})(?: (?P<clock>{C}))?", "whole"),
    (r"(?P<m>{M}) {P} (?P<h>{H})", "past"),
    (r"(?P<t>{T}) {L} (?P<h>{H})", "to"),
    (r"{HALF} (?P<h>{H})", "half"),
    (r"(?P<t>{T}) {L} {HALF} (?P<h>{H})", "to_half"),
    (r"(?P<m>{M}) {P} {HALF} (?P<h>{H})", "past_half"),
    (r"dreiviertel (?P<h>{H})", "three_quarters"),
)
_NAMED_FORMS = (  # "midnight", "half past midnight", "ten to noon"
    (r"(?P<n>{N})", "past"),
    (r"(?P<m>{M}) {P} (?P<n>{N})", "past"),
    (r"(?P<t>{T}) {L} (?P<n>{N})", "to"),
)
#: An hour and its minutes as a number: "seize heures trente", "seven forty-five".
_SPOKEN = {"en": r"(?P<h>{H}) (?P<w>{W})", "es": r"(?P<h>{H})(?: horas)?(?: y)? (?P<w>{W})",
           "it": r"(?P<h>{H})(?: e)? (?P<w>{W})", "pt": r"(?P<h>{H})(?: horas?)? e (?P<w>{W})",
           "fr": r"(?P<h>{H}) (?P<clock>heures?) (?P<w>{W})",
           "de": r"(?P<h>{H}) (?P<clock>uhr) (?P<w>{W})",
           "nl": r"(?P<h>{H}) (?P<clock>uur) (?P<w>{W})"}  # fmt: skip
_FORMS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (*_GERMANIC[:3], *_NAMED_FORMS), "es": _ROMANCE, "it": _ROMANCE,
    "pt": (*_ROMANCE, (r"(?P<t>{T}) para (?P<art>as|a) (?P<h>{H})", "to"),
           (r"(?P<t>{T}) para (?P<art>o|a) (?P<n>{N})", "to")),
    "fr": ((r"(?P<h>{H}) (?P<clock>heures?)(?: (?P<m>{M}))?", "past"),
           (r"(?P<h>{H}) (?P<clock>heures?) moins (?P<t>{T})", "to"),
           (r"(?P<h>\d{1,2}) ?h(?: ?(?P<mm>\d\d))?", "digits"),
           (r"(?P<n>{N})(?: (?P<m>{M}))?", "past"), (r"(?P<n>{N}) moins (?P<t>{T})", "to")),
    "de": (*_GERMANIC, *_NAMED_FORMS), "nl": (*_GERMANIC[:-1], *_NAMED_FORMS),
}  # fmt: skip
#: The minutes each kind adds to the hour said, given the minutes said.
_OFFSET: dict[str, Callable[[int], int]] = {
    "whole": lambda _: 0, "digits": lambda m: m, "dotted": lambda m: m, "past": lambda m: m,
    "to": lambda m: -m, "half": lambda _: -30, "to_half": lambda m: -30 - m,
    "past_half": lambda m: m - 30, "three_quarters": lambda _: -15, "spoken": lambda m: m,
}  # fmt: skip


#: Hours that are also the tens of a minute ("vinte e cinco": 20:05 or :25).
_TENS_HOURS = frozenset({"veinte", "vingt", "zwanzig", "venti", "vinte", "twintig"})


@functools.cache
def _rules(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    def alternation(words: Iterable[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    past, to, half = JOIN[lang]
    fill = {"{H}": alternation(HOURS[lang]), "{M}": alternation(PAST[lang]),
            "{T}": alternation(TO[lang]), "{N}": alternation(NAMED[lang]),
            "{C}": CLOCK[lang], "{P}": past, "{L}": to, "{HALF}": half,
            "{W}": alternation(NUMBERS[lang])}  # fmt: skip
    rules = []
    for form, kind in (*_FORMS[lang], (_SPOKEN[lang], "spoken"), *_DIGITS):
        pattern = form
        for key, value in fill.items():
            pattern = pattern.replace(key, value)
        rules.append((re.compile(pattern), kind))
    return tuple(rules)


@dataclass(frozen=True)
class _Time:
    """A time as said: ``hour`` 1-12 and ``minute`` 0-59 past it (written "to" the next hour
    past the half), or with ``digits`` ``hour`` 0-23; ``whole``: digits without minutes;
    ``named``: the hour twelve said as "noon" or "midnight"; ``part``: the part of the day
    said, one of :data:`PART_NAMES`."""

    hour: int
    minute: int
    digits: bool = False
    whole: bool = False
    named: str | None = None
    part: str | None = None


@dataclass(frozen=True)
class _Lead:
    kind: str  # "at", "around" or "" (none)
    article: str | None  # a key of ARTICLES[language], or None


def _join(lang: str, words: str, article: str | None) -> str:
    """``words`` (a lead) followed by ``article``, contracted as ``lang`` writes them."""
    if article is None:
        return words
    said = ARTICLES[lang][article]
    if not words:
        return said
    *first, last = words.split()
    return " ".join([*first, CONTRACTED.get(f"{last} {said}", f"{last} {said}")])


@functools.cache
def _lead_forms(lang: str) -> tuple[tuple[str, _Lead], ...]:
    """Every lead of ``lang`` as written, longest first."""
    forms = [("", _Lead("", None))]
    forms += [(w, _Lead(kind, None)) for kind, words in LEADS[lang].items() for w in words]
    forms += [
        (_join(lang, words, article), _Lead(lead.kind, article))
        for words, lead in list(forms)
        for article in ARTICLES.get(lang, {})
    ]
    return tuple(sorted(forms, key=lambda form: -len(form[0])))


def render(piece: str, source: str, target: str) -> str | None:
    """``piece`` (in ``source``) in ``target`` when the whole piece is a clock time of day
    with an optional lead and "then" (see the module docstring); otherwise None."""
    if source == target or source not in _LANGUAGES or target not in _LANGUAGES:
        return None
    if len(piece) > limits.PHRASEBOOK_MAX_CHARS:
        return None
    # 1. The final mark, the Spanish opening one and commas set aside; no other marks.
    # "a.m." and "p.m." as words; "At nine p.m." ends with a period all the same.
    unmarked = _AMPM.sub(lambda m: m.group(1).lower() + "m", piece)
    match = re.fullmatch(r"\s*[¿¡]?(.*?)\s*([.?!]*)\s*", unmarked, re.DOTALL)
    if match is None:
        return None
    said, mark = match.group(1).replace("\u2019", "'"), match.group(2)
    if not mark and re.search(r"[ap]\.\s?m\.\s*$", piece, re.IGNORECASE):
        mark = "."
    # A comma only beside "then" or a day ("Mañana, a las diez", "At nine, then"): "At nine,
    # ten" is nine or ten, not 9:10.
    parts = [" ".join(p.lower().split()) for p in said.split(",")]
    if sum(p != THEN[source] and p not in DAYS[source] for p in parts) > 1:
        return None
    body = said.replace(",", " ")
    if re.search(r"[^\w\s:.'-]|\.(?!\d)", body):
        return None
    text = " ".join(body.lower().split())
    if source == "it":
        text = re.sub(r"\b(all|l)' ?", r"\1' ", text)  # "all'una": "all' una"
    if not text or len(text.split()) > limits.PHRASEBOOK_MAX_WORDS:
        return None
    # 2. and 3. "Then", the lead, the time and the part of the day.
    first_then = text.startswith(THEN[source] + " ")
    last_then = not first_then and text.endswith(" " + THEN[source])
    text = text.removeprefix(THEN[source] + " ") if first_then else text
    text = text.removesuffix(" " + THEN[source]) if last_then else text
    day, text = _day(text, source)
    read = _read(text, source)
    if read is None:
        return None
    # 4. Written in the target language.
    time, lead = read
    if day is not None:
        placed = _day_at(day, time)
        if placed is None:
            return None
        day, time = placed
        lead = lead if lead.kind else _Lead("at", None)  # "Esta noche a las nueve"
    if target == "fr" and not time.digits and time.named is None and _said(time)[0] == 12:
        return None  # "douze heures" is noon in French; English "twelve" may be midnight
    out = _WRITERS[target](time, lead)
    if time.part is not None:
        out += " " + _written_part(target, time)
    if day is not None:
        out = f"{_written_day(target, day, time)} {out}"
    if first_then:
        out = f"{THEN[target]} {out}"
    elif last_then:
        comma = re.search(r",\s*\S+\s*$", said) is not None  # "At nine, then."
        out += ("," if comma else "") + " " + THEN[target]
    return finish(out, piece, mark, target)


def finish(out: str, piece: str, mark: str, target: str) -> str:
    """``out`` (a rendering of ``piece``, without marks) with the capital of the piece's first
    letter and its final ``mark``, as ``target`` writes them: Spanish opens a question or an
    exclamation with "¿"/"¡", French puts a space before "?" and "!"."""
    first = next((c for c in piece if c.isalnum()), "")
    if not first.islower():
        out = out[:1].upper() + out[1:]
        out = re.sub(r"^Één\b", "Eén", out)  # Dutch capitalises "één" so
    if target == "es" and ("?" in mark or "!" in mark):
        out = ("¿" if "?" in mark else "¡") + out
    if target == "fr" and mark[:1] in ("?", "!"):
        mark = " " + mark
    return out + mark


def _day(text: str, lang: str) -> tuple[str | None, str]:
    """The day said first or last with the time ("mañana a las diez", "at ten tomorrow"), and
    the rest; not a day that ends a part of the day ("a las diez de la mañana")."""
    for said in sorted(DAYS[lang], key=len, reverse=True):
        if text.startswith(said + " "):
            return DAYS[lang][said], text.removeprefix(said + " ")
        if text.endswith(" " + said) and not any(text.endswith(" " + p) for p in PARTS[lang]):
            return DAYS[lang][said], text.removesuffix(" " + said)
    return None, text


_AFTERNOONS = {"this_afternoon": "this_evening", "tomorrow_afternoon": "tomorrow_evening"}
_EVENINGS = {"tonight": "tonight_small", "this_evening": "tonight_small",
             "tomorrow_evening": "tomorrow_night"}  # fmt: skip


def _day_at(day: str, time: _Time) -> tuple[str, _Time] | None:
    """A day that names a part of it, as the hour says: "esta tarde a las nueve" is this
    evening, "tonight at two" the small hours, "tonight at twelve" midnight; None where the
    two disagree or leave it open ("tonight at half past twelve", "at two this morning")."""
    if time.digits and time.hour > 12:  # on a 24-hour clock: the day says nothing more
        return (_AFTERNOONS.get(day, day) if time.hour >= 18 else day), time
    if time.named is not None or time.part is not None:
        return day, time
    hour = time.hour
    if day in _AFTERNOONS and 6 <= hour <= 11:
        return _AFTERNOONS[day], time
    if day in ("this_morning", "tomorrow_morning") and (hour < 5 or hour == 12):
        return None
    if day in _EVENINGS and hour == 12:
        if time.minute or time.digits:
            return None
        return day, replace(time, named="midnight")
    if day in _EVENINGS and hour < 5:
        return _EVENINGS[day], time
    return day, time


def _written_day(lang: str, day: str, time: _Time) -> str:
    """``day`` as ``lang`` writes it before ``time``: Spanish and Portuguese evenings are
    afternoons ("tarde") until eight and six."""
    evening = {"es": ("esta tarde", "mañana por la tarde"), "pt": ("hoje à tarde",
               "amanhã à tarde")}.get(lang)  # fmt: skip
    hour = time.hour if time.digits else time.hour + 12
    early = evening is not None and hour < {"es": 21, "pt": 19}[lang]
    evenings = ("tonight", "this_evening", "tomorrow_evening")
    if evening and early and day in evenings and not time.named:
        return evening[day == "tomorrow_evening"]  # "esta tarde a las seis"
    return DAYS_WRITTEN[lang][day]


def _read(text: str, lang: str) -> tuple[_Time, _Lead] | None:
    part = next((p for p in PARTS[lang] if text.endswith(" " + p)), None)
    text = text.removesuffix(" " + part) if part else text
    for words, lead in _lead_forms(lang):
        if words and not text.startswith(words + " "):
            continue
        rest = text[len(words) :].strip()
        for pattern, kind in _rules(lang):
            match = pattern.fullmatch(rest)
            time = _time(match.groupdict(), kind, lang, lead, part) if match else None
            if time is not None and part is not None:
                time = _in_part(time, PARTS[lang][part])
            if time is not None:
                return time, lead
    return None


def _in_part(time: _Time, said: str) -> _Time | None:
    """``time`` said with a part of the day (``said``, a value of :data:`PARTS`): twelve at
    night is midnight, twelve in the afternoon noon; the part as a target writes it is
    chosen by the hour ("ocho de la tarde" is eight in the evening, "tres de la noche" three
    at night). None where the two disagree or say it twice ("midnight at night", "16:00 pm")."""
    if time.named is not None or time.hour > 12 or time.hour == 0:
        return None
    night_side = said in ("am", "evening", "night", "small")
    if time.hour == 12 and said != "morning" and not time.digits:
        if time.minute <= 30:  # said as "twelve ...", "noon ...": named
            return replace(time, named="midnight" if night_side else "noon")
        return replace(time, part="small" if night_side else "afternoon")  # "to one"
    if said == "midday":  # "zwölf Uhr mittags", "Viertel nach eins mittags" (13:15)
        if time.hour == 12 and time.minute <= 30 and not time.digits:
            return replace(time, named="noon")
        return replace(time, part="afternoon") if 1 <= time.hour <= 2 else None
    if time.hour == 11 and time.minute > 30 and not time.digits:  # "a quarter to midnight"
        named = {"am": "noon", "morning": "noon", "pm": "midnight", "evening": "midnight",
                 "night": "midnight"}.get(said)  # fmt: skip
        return None if named is None else replace(time, named=named)
    if time.hour == 12:  # "a quarter to one in the morning"; "twelve in the morning": which?
        return replace(time, part="small") if time.minute > 30 and not time.digits else None
    hour = time.hour
    if said in ("am", "morning"):
        part = "small" if hour < 5 else "morning"
    elif said in ("pm", "afternoon"):
        part = "afternoon" if hour < 6 else "evening"
    elif said == "evening":
        part = "afternoon" if hour < 5 else "evening"  # "quatre heures du soir": 4 p.m.
    elif said == "night":  # "fünf Uhr nachts" is 5 a.m., "seis de la noche" 6 p.m. in places
        part = "small" if hour < 5 else "" if hour < 7 else "evening" if hour < 11 else "night"
    else:  # the small hours: "seis de la madrugada" is morning already
        part = "small" if hour < 5 else "morning" if hour < 7 else ""
    return replace(time, part=part) if part else None


def _written_part(lang: str, time: _Time) -> str:
    """``time``'s part of the day as ``lang`` writes it after the time: Spanish says "ocho
    de la tarde" and "diez de la noche", Portuguese "seis da tarde" and "sete da noite"."""
    part = time.part or ""
    if part == "evening" and lang in ("es", "pt"):
        part = "afternoon" if time.hour < {"es": 9, "pt": 7}[lang] else "night"
    return PARTS_WRITTEN[lang][PART_NAMES.index(part)]


def _time(
    groups: dict[str, str | None], kind: str, lang: str, lead: _Lead, part: str | None
) -> _Time | None:
    """The time a form's ``groups`` say after ``lead`` (and before ``part``, a part of the
    day), or None where they do not agree or may say something else."""
    hour_said, clock, said = groups.get("h"), groups.get("clock"), groups.get("m")
    named = NAMED[lang].get(groups.get("n") or "")
    numeral = hour_said is not None and hour_said.isdigit()
    if named is not None:
        hour = 12
        if groups.get("art") is not None:  # "(às) dez para o meio-dia"
            article = ARTICLES[lang][NAMED_ARTICLE[(lang, named)]]
            if groups["art"] != article or lead.article not in ("p", None):
                return None
        elif lead.article not in (None, NAMED_ARTICLE.get((lang, named))):
            return None
    elif hour_said is None:
        return None
    else:
        hour = int(hour_said) if numeral else HOURS[lang][hour_said]
        article = "s" if hour == 1 else "p"
        if hour > 23 or (hour > 12 and kind in ("half", "to_half", "past_half")):
            return None
        if not _agrees(lang, lead, article, groups.get("art")):
            return None  # "a las una", "às uma"
        if lang == "de" and (hour_said == "ein") != (clock is not None and hour == 1):
            return None  # "um eins", "um ein Uhr"
    bare = not lead.kind and lead.article is None and part is None
    if part is None and named is None and _ambiguous(lang, kind, lead, clock, groups.get("t")):
        return None
    if bare and named is None and ((lang == "fr" and not numeral) or (lang == "nl" and clock)):
        return None  # "deux heures et demie", "negen uur": durations too
    said_hour = int(hour_said or 0) if numeral else HOURS[lang].get(hour_said or "", 0)
    if clock in ("hora", "horas") and said_hour <= 12:
        return None  # "dos horas", "a las dos horas" (two hours on): durations
    if bare and lang == "fr" and numeral and hour <= 12 and kind in ("digits", "past", "whole"):
        return None  # "1h30", "2h", "2 heures": durations too
    if lang == "en" and lead.kind == "around" and kind in ("spoken", "dotted") and not part:
        return None  # "About four fifty", "around 4.50": a price, maybe
    if lang == "en" and numeral and kind == "whole" and hour > 12 and clock is None:
        return None  # "At 18?": an age, maybe
    if not lead.kind and lead.article and not part and kind == "whole" and clock is None:
        return None  # "Las dos.", "As duas.": both of them
    if kind in ("dotted", "spoken") and bare and clock is None:
        return None  # "4.30" and "four thirty" alone may be a price
    digits, number = groups.get("mm"), groups.get("w")
    minute = int(digits) if digits else PAST[lang][said] if said else 0
    if groups.get("t"):
        minute = TO[lang][groups["t"] or ""]
    if number:
        minute = NUMBERS[lang][number]
    if hour_said in _TENS_HOURS and 0 < minute < 10 and kind in ("past", "spoken"):
        return None  # "às vinte e cinco": 20:05, or 25 past?
    if minute > 59:
        return None
    total = hour * 60 + _OFFSET[kind](minute)
    if numeral or hour > 12 or number:
        whole = total % 60 == 0 and not digits  # "seize heures", not "16:00" as said
        return _Time(total // 60 % 24, total % 60, True, whole=whole)
    return _Time((total // 60 - 1) % 12 + 1, total % 60, named=named)


def _agrees(lang: str, lead: _Lead, article: str, inner: str | None) -> bool:
    """Whether the lead's article is the hour's ("a las dos", "a la una"); in "(às) dez para
    as cinco" the lead's is the minutes' and ``inner`` the hour's."""
    if inner is not None:
        return inner == ARTICLES[lang][article] and (lead.article == "p" or not lead.kind)
    return lang not in ARTICLES or lead.article == article


def _ambiguous(lang: str, kind: str, lead: _Lead, clock: str | None, to: str | None) -> bool:
    """Whether a form without a lead may say something else: "Nine." and "About nine?" a
    count, "Ten to five." a score, "dreiviertel fünf" three quarters of five."""
    at = lead.kind == "at" or (lang == "de" and lead.kind == "around")
    if kind == "whole" and clock is None and lead.article is None and not at:
        return True
    if lead.kind or lead.article:
        return False
    return kind == "three_quarters" or (
        lang == "en" and kind == "to" and "quarter" not in (to or "")
    )


def _said(time: _Time) -> tuple[int, int, str | None]:
    """The hour to name, the minutes past (+) or before (-) it, and its name, if any."""
    hour, minute = (
        (time.hour, time.minute) if time.minute <= 30 else (time.hour % 12 + 1, time.minute - 60)
    )
    return hour, minute, time.named if hour == 12 else None


def _clock(time: _Time, unit: str = "") -> str:
    """``time`` in digits: "16:30", or with a ``unit``: "16:30 Uhr", "16 Uhr", "16 h 30"."""
    if unit == " h":
        return f"{time.hour} h" + ("" if time.whole else f" {time.minute:02d}")
    if time.whole:
        return f"{time.hour}{unit or ':00'}"
    return f"{time.hour}:{time.minute:02d}{unit}"


def _lead(lang: str, lead: _Lead, article: str | None) -> str:
    """The lead written before a time ("a las ", "all'", "por volta do "), or ""."""
    said = _join(lang, LEADS[lang][lead.kind][0] if lead.kind else "", article)
    return said if not said or said.endswith("'") else said + " "


def _en(time: _Time, lead: _Lead) -> str:
    hours, minutes = HOUR_NAMES["en"], MINUTE_NAMES["en"]
    hour, minute, named = _said(time)
    if time.digits:
        core = _clock(time)
    elif named and not minute:
        core = named
    elif not minute:
        core = hours[hour] + ("" if lead.kind == "at" else " o'clock")
    else:
        word = {15: "a quarter"}.get(abs(minute), minutes[abs(minute)])
        if minute < 0 and not lead.kind and abs(minute) != 15:
            word += " minutes"  # "Ten to five." may be a score
        name = named if named == "midnight" or (named and minute < 0) else hours[hour]
        core = f"{word} {'past' if minute > 0 else 'to'} {name}"  # "half past midnight"
        if named == "noon" and minute > 0:
            core += " in the afternoon"
    return _lead("en", lead, None) + core


def _romance(lang: str, time: _Time, lead: _Lead) -> str:
    """es, it, pt: "a las cuatro y media", "alle otto meno un quarto", "às oito e meia"."""
    hours, minutes = HOUR_NAMES[lang], MINUTE_NAMES[lang]
    hour, minute, named = _said(time)
    past, to, _ = JOIN[lang]
    if time.digits:
        return _lead(lang, lead, "s" if time.hour == 1 else "p") + _clock(time)
    if named and (not minute or lang != "es"):
        # "mezzogiorno e mezza", "meia-noite menos cinco"; Spanish says "las doce y cuarto"
        article = NAMED_ARTICLE.get((lang, named)) if lead.kind else None
        core = next(word for word, name in NAMED[lang].items() if name == named)
    else:
        article, core = "s" if hour == 1 else "p", hours[hour]
    if minute:
        core += f" {past if minute > 0 else to} {minutes[abs(minute)]}"
        if named and lang == "es":
            core += " de la noche" if named == "midnight" else " del mediodía"
    return _lead(lang, lead, article) + core


def _fr(time: _Time, lead: _Lead) -> str:
    hours, minutes = HOUR_NAMES["fr"], MINUTE_NAMES["fr"]
    hour, minute, named = _said(time)
    if time.digits:
        return _lead("fr", lead, None) + _clock(time, " h")
    core = {"noon": "midi", "midnight": "minuit"}.get(named or "")
    if core is None:
        core = "une heure" if hour == 1 else f"{hours[hour]} heures"
    if minute > 0:
        core += " " + ("et demi" if minute == 30 and named else minutes[minute])
    elif minute < 0:
        core += " moins " + ("le quart" if minute == -15 else minutes[-minute])
    return _lead("fr", lead, None) + core


#: de, nl: the clock word, midnight, noon, one o'clock, and after twelve with minutes: at
#: night, at midday ("fünf nach zwölf nachts", "tien over twaalf 's middags").
_GERMANIC_WORDS = {"de": ("Uhr", "Mitternacht", "zwölf Uhr mittags", "ein", "nachts", "mittags",
                          "mittags"),
                   "nl": ("uur", "middernacht", "twaalf uur 's middags", "één", "'s nachts",
                          "'s middags", "'s ochtends")}  # fmt: skip


def _germanic(lang: str, time: _Time, lead: _Lead) -> str:
    """de, nl: "zehn nach vier", "halb fünf", "vijf voor half vijf", "Viertel vor acht"."""
    hours, minutes = HOUR_NAMES[lang], MINUTE_NAMES[lang]
    clock, midnight, noon, one, at_night, at_midday, before_noon = _GERMANIC_WORDS[lang]
    past, to, half = JOIN[lang]
    if time.digits:
        return _lead(lang, lead, None) + _clock(
            time, f" {clock}" if lang == "de" or time.whole else ""
        )
    hour, minute, named = _said(time)
    name, following = hours[hour], hours[hour % 12 + 1]
    if named and not minute:
        core = midnight if named == "midnight" else noon
    elif not minute:
        core = f"{one if hour == 1 else name} {clock}"
    elif minute in (25, 30, -25):  # "fünf vor halb fünf" (4:25), "vijf over half vijf" (4:35)
        five = {25: f"{minutes[5]} {to} ", -25: f"{minutes[5]} {past} "}.get(minute, "")
        core = f"{five}{half} {following if minute > 0 else name}"
    else:
        core = f"{minutes[abs(minute)]} {past if minute > 0 else to} {name}"
    if named == "midnight" and minute:
        core += " " + at_night
    elif named == "noon" and minute:
        core += " " + (at_midday if minute > 0 else before_noon)
    return _lead(lang, lead, None) + core.replace("viertel", "Viertel")


_WRITERS: dict[str, Callable[[_Time, _Lead], str]] = {
    "en": _en, "fr": _fr,
    **{lang: functools.partial(_romance, lang) for lang in ("es", "it", "pt")},
    **{lang: functools.partial(_germanic, lang) for lang in ("de", "nl")},
}  # fmt: skip
