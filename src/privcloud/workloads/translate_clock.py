"""Clock times said in words in the languages of :data:`.translate_lexicons.LEXICONS`, put in the
English words the fact reader reads (:func:`english`): "a las ocho y cuarto" -> "a las quarter
past eight", "um halb neun" -> "um half past eight", "à trois heures moins le quart" -> "à
quarter to three".

Without it the translation check read "ocho y cuarto" as the number eight, so the faithful
"at 8:15" was an *added* time and the faithful "a quarter to three" of "las tres menos cuarto"
lost the three; a wrong "8:45" passed as long as the eight was there.

Each language's forms are read only where its grammar makes them a time of day, so that a
duration or a half stays what it is:

* es: after "la"/"las": "las ocho y media", "la una y cuarto", "las cinco menos diez";
* fr: a count of "heures" after "à", "vers", "dès", "avant", "après", "jusqu'à" or "est":
  "à huit heures et quart", "vers trois heures moins le quart", "il est huit heures vingt"
  ("dure deux heures et demie" is a duration); "midi et demi";
* de: "Viertel nach acht", "Viertel vor drei", "acht Uhr zwanzig", and after "um", "gegen",
  "bis", "ab", "ist", "vor" or "nach": "halb neun" (8:30), "dreiviertel neun", "zehn vor drei",
  "fünf vor halb neun";
* it: after "le", "alle", "dalle", "delle", "verso le", "l'", "all'": "alle otto e mezza", "le
  tre meno un quarto", "all'una e un quarto";
* pt: after "à", "às" or "as": "às oito e meia", "às duas menos um quarto"; "quinze para as
  três"; "meio-dia e meia";
* nl: "kwart over acht", "kwart voor drie", "tien over acht", "acht uur twintig", and after
  "om", "tot", "vanaf", "rond", "tegen" or "is": "half negen" (8:30), "vijf voor half negen".

An hour written in words becomes English words ("quarter past eight", "twenty minutes to
five"), so the fact stays a word fact that only a readable target language is asked for
(:func:`.translate_facts.checkable`); an hour written in digits, or an hour of the afternoon in
words ("dix-sept heures trente"), becomes digits ("17:30").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from privcloud.workloads.text.numbers import spell_number

__all__ = ["english"]


def _words(text: str, start: int = 1) -> dict[str, int]:
    """``"a b c"`` as {a: start, b: start + 1, ...}; "-" skips a value; "_" stands for a space."""
    return {w.replace("_", " "): n for n, w in enumerate(text.split(), start) if w != "-"}


def _fives(text: str) -> dict[str, int]:
    """Minute words for 5, 10, ... 55 ("-" where a language has none in use)."""
    return {
        w.replace("_", " "): n
        for n, w in zip(range(5, 60, 5), text.split(), strict=False)
        if w != "-"
    }


#: Hours 1-12 (more where a language says afternoon hours in words), and minute words.
_HOURS: dict[str, dict[str, int]] = {
    "es": _words("una dos tres cuatro cinco seis siete ocho nueve diez once doce"),
    "fr": {
        **_words("une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze"),
        **_words("quinze seize dix-sept dix-huit dix-neuf vingt vingt-et-une vingt-deux", 15),
        "vingt-trois": 23,
        "vingt et une": 21,
        "une heure": 1,
    },
    "de": {**_words("eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf"), "ein": 1},
    "it": {
        **_words("una due tre quattro cinque sei sette otto nove dieci undici dodici"),
        # (the afternoon's hours in words: "alle quindici e un quarto")
        **_words("tredici quattordici quindici sedici diciassette diciotto diciannove venti", 13),
        "ventuno": 21,
        "ventidue": 22,
        "ventitré": 23,
    },
    "pt": {**_words("uma duas três quatro cinco seis sete oito nove dez onze doze"), "dois": 2},
    "nl": {**_words("een twee drie vier vijf zes zeven acht negen tien elf twaalf"), "één": 1},
}
_MINUTES: dict[str, dict[str, int]] = {
    "es": {
        **_fives(
            "cinco diez cuarto veinte veinticinco media treinta_y_cinco cuarenta"
            " cuarenta_y_cinco cincuenta cincuenta_y_cinco"
        ),
        "quince": 15,
        "treinta": 30,
    },
    "fr": {
        **_fives(
            "cinq dix quinze vingt vingt-cinq trente trente-cinq quarante quarante-cinq"
            " cinquante cinquante-cinq"
        ),
        "quart": 15,
        "le quart": 15,
        "demie": 30,
        "demi": 30,
    },
    "de": _fives(
        "fünf zehn fünfzehn zwanzig fünfundzwanzig dreißig fünfunddreißig vierzig"
        " fünfundvierzig fünfzig fünfundfünfzig"
    ),
    "it": {
        **_fives(
            "cinque dieci quindici venti venticinque trenta trentacinque quaranta"
            " quarantacinque cinquanta cinquantacinque"
        ),
        "un quarto": 15,
        "quarto": 15,
        "mezza": 30,
        "mezzo": 30,
        "tre quarti": 45,
    },
    "pt": {
        **_fives(
            "cinco dez quinze vinte vinte_e_cinco trinta trinta_e_cinco quarenta"
            " quarenta_e_cinco cinquenta cinquenta_e_cinco"
        ),
        "um quarto": 15,
        "meia": 30,
    },
    "nl": {
        **_fives(
            "vijf tien kwart twintig vijfentwintig dertig vijfendertig veertig vijfenveertig"
            " vijftig vijfenvijftig"
        ),
        "vijftien": 15,
    },
}
#: Hours a language names without a number: noon and midnight.
_NAMED_HOURS: dict[str, dict[str, int]] = {
    "fr": {"midi": 12, "minuit": 0},
    "pt": {"meio-dia": 12, "meia-noite": 0},
    "it": {"mezzogiorno": 12, "mezzanotte": 0},
}


def _alternation(words: dict[str, int] | list[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


#: How a form's hour and minute words make a time: "past" is the hour and the minutes, "to"
#: the minutes before the hour, "half" half an hour before it ("halb neun" is 8:30), "to_half"
#: and "past_half" the minutes before or after that half ("fünf vor halb neun" is 8:25).
_KINDS: dict[str, Callable[[int, int], int]] = {
    "past": lambda hour, minute: hour * 60 + minute,
    "to": lambda hour, minute: hour * 60 - minute,
    "half": lambda hour, _minute: hour * 60 - 30,
    "to_half": lambda hour, minute: hour * 60 - 30 - minute,
    "past_half": lambda hour, minute: hour * 60 - 30 + minute,
}

# Each form: (regex with {H} hour and {M} minute placeholders, kind). ``pre`` is the context
# word(s) kept as they are; ``h`` the hour; ``m`` the minutes (absent for "half").
_D = r"\d{1,2}"
#: Dutch words before a clock time ("om tien over acht"; "vijf voor twee euro" is no time).
_NL_AT = r"\b(?:om|tot|vanaf|rond|tegen|is)\s+"
_FORMS: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (
        (r"(?P<pre>\blas?\s+)(?P<h>{H})\s+y\s+(?P<m>{M}|" + _D + r")", "past"),
        (r"(?P<pre>\blas?\s+)(?P<h>{H})\s+menos\s+(?P<m>{M})", "to"),
        (r"(?P<pre>\blas\s+)(?P<h>1\d|2[0-3])\s+(?P<m>[0-5]\d)", "past"),
    ),
    "fr": (
        (
            r"(?P<pre>(?:\b(?:à|vers|dès|avant|après|est)|jusqu'à)\s+)(?P<h>{H})\s+heures?"
            r"\s+(?:et\s+(?P<m>quart|demie?)|moins\s+(?P<m2>{M})|(?P<m3>{M}|" + _D + "))"
            r"(?!\s+(?:de\b|d'|d\u2019))",
            "fr",
        ),
        (
            r"(?P<pre>)\b(?P<h>midi|minuit)\s+(?:et\s+(?P<m>quart|demie?)|moins\s+(?P<m2>{M})"
            r"|(?P<m3>{M}))",
            "fr",
        ),
    ),
    "de": (
        (r"(?P<pre>)\bviertel\s+nach\s+(?P<h>{H})(?P<m>)", "quarter_past"),
        (r"(?P<pre>)\bviertel\s+vor\s+(?P<h>{H})(?P<m>)", "quarter_to"),
        (r"(?P<pre>)\b(?P<h>{H})\s+uhr\s+(?P<m>{M}|" + _D + ")", "past"),
        (r"(?P<pre>)\b(?P<m>{M}|" + _D + r")\s+vor\s+halb\s+(?P<h>{H})", "to_half"),
        (r"(?P<pre>)\b(?P<m>{M}|" + _D + r")\s+nach\s+halb\s+(?P<h>{H})", "past_half"),
        (r"(?P<pre>\b(?:um|gegen|bis|ab|ist|vor|nach)\s+)dreiviertel\s+(?P<h>{H})(?P<m>)", "q3"),
        (r"(?P<pre>\b(?:um|gegen|bis|ab|ist|vor|nach)\s+)viertel\s+(?P<h>{H})(?P<m>)", "q1"),
        (r"(?P<pre>)\bhalb\s+(?P<h>{H})(?!\s+(?-i:[A-ZÄÖÜ]))(?P<m>)", "half"),
        (
            r"(?P<pre>)\b(?P<m>fünf|zehn|zwanzig|{M}(?=\s+minuten))(?:\s+minuten)?\s+nach\s+(?P<h>{H})",
            "past",
        ),
        (
            r"(?P<pre>)\b(?P<m>fünf|zehn|zwanzig|{M}(?=\s+minuten))(?:\s+minuten)?\s+vor\s+(?P<h>{H})",
            "to",
        ),
    ),
    "it": (
        (
            r"(?P<pre>\b(?:(?:verso|sono|entro)\s+le|alle|dalle|delle|le)\s+(?:ore\s+)?)"
            r"(?P<h>{H})\s+e\s+(?P<m>{M}|" + _D + ")",
            "past",
        ),
        (
            r"(?P<pre>\b(?:(?:verso|sono|entro)\s+le|alle|dalle|delle|le)\s+(?:ore\s+)?)"
            r"(?P<h>{H})\s+meno\s+(?P<m>{M})",
            "to",
        ),
        (r"(?P<pre>\b(?:all|dall|dell|l)['\u2019])(?P<h>una)\s+e\s+(?P<m>{M})", "past"),
        (r"(?P<pre>\b(?:all|dall|dell|l)['\u2019])(?P<h>una)\s+meno\s+(?P<m>{M})", "to"),
        (r"(?P<pre>)\b(?P<h>mezzogiorno|mezzanotte)\s+e\s+(?P<m>{M})", "past"),
    ),
    "pt": (
        (r"(?P<pre>(?:\b|(?<=\s))(?:à|às|as)\s+)(?P<h>{H})\s+e\s+(?P<m>{M}|" + _D + ")", "past"),
        (r"(?P<pre>(?:\b|(?<=\s))(?:à|às|as)\s+)(?P<h>{H})\s+menos\s+(?P<m>{M})", "to"),
        (r"(?P<pre>)\b(?P<m>{M})\s+para\s+(?:as|a)\s+(?P<h>{H})", "to"),
        (r"(?P<pre>)\b(?P<h>meio-dia|meia-noite)\s+e\s+(?P<m>{M})", "past"),
    ),
    "nl": (
        (r"(?P<pre>)\b(?P<m>kwart)\s+over\s+(?P<h>{H})", "past"),
        (r"(?P<pre>)\b(?P<m>kwart)\s+voor\s+(?P<h>{H})", "to"),
        (
            r"(?P<pre>" + _NL_AT + r")(?P<m>vijf|tien|twintig|" + _D + r")\s+over\s+(?P<h>{H})",
            "past",
        ),
        (r"(?P<pre>" + _NL_AT + r")(?P<m>vijf|tien|twintig|" + _D + r")\s+voor\s+(?P<h>{H})", "to"),
        (r"(?P<pre>)\b(?P<m>vijf|tien|" + _D + r")\s+voor\s+half\s+(?P<h>{H})", "to_half"),
        (r"(?P<pre>)\b(?P<m>vijf|tien|" + _D + r")\s+over\s+half\s+(?P<h>{H})", "past_half"),
        (r"(?P<pre>)\b(?P<h>{H})\s+uur\s+(?P<m>{M}|" + _D + ")", "past"),
        (r"(?P<pre>)(?<!\been\s)(?<!anderhalf\s)\bhalf\s+(?P<h>{H})(?P<m>)", "half"),
    ),
}


def _compile(language: str) -> list[tuple[re.Pattern[str], str]]:
    hours = _alternation([*_HOURS[language], *_NAMED_HOURS.get(language, {})]) + "|" + _D
    minutes = _alternation(_MINUTES[language])
    return [
        (
            re.compile(
                form.replace("{H}", hours).replace("{M}", minutes) + r"(?![\w'\u2019-])",
                re.IGNORECASE,
            ),
            kind,
        )
        for form, kind in _FORMS[language]
    ]


_RULES = {language: _compile(language) for language in _FORMS}


def _value(words: dict[str, int], text: str) -> int | None:
    key = " ".join(text.lower().split())
    if key.isdigit():
        return int(key)
    return words.get(key)


def say(hour: int, minute: int, *, digits: bool) -> str:
    """A time of day (``hour`` 0-23) in English the fact reader reads as that time: words
    ("quarter past eight", "twenty minutes to five") or, with ``digits``, "8:15"."""
    if digits or hour > 12:
        return f"{hour}:{minute:02d}"
    named = (hour - 1) % 12 + 1
    following = hour % 12 + 1
    if minute == 0:
        return f"{spell_number(named)} o'clock"
    if minute == 15:
        return f"quarter past {spell_number(named)}"
    if minute == 30:
        return f"half past {spell_number(named)}"
    if minute == 45:
        return f"quarter to {spell_number(following)}"
    if minute < 30:
        return f"{spell_number(minute)} minutes past {spell_number(named)}"
    return f"{spell_number(60 - minute)} minutes to {spell_number(following)}"


#: Forms whose minutes are in their words ("Viertel nach", "dreiviertel", "halb").
_FIXED = {
    "q1": ("to", 45),
    "quarter_past": ("past", 15),
    "quarter_to": ("to", 15),
    "q3": ("to", 15),
    "half": ("half", 0),
}


def _minutes(groups: dict[str, str], language: str, kind: str) -> tuple[str, int | None]:
    """The form's kind of :data:`_KINDS` and its minutes (None: not a minute word)."""
    if kind in _FIXED:
        return _FIXED[kind]
    words = _MINUTES[language]
    if kind == "fr":  # one form for "et quart", "moins le quart" and "vingt"
        if groups["m2"]:
            return "to", _value(words, groups["m2"])
        return "past", _value(words, groups["m"] or groups["m3"])
    return kind, _value(words, groups["m"] or "")


#: Words before a form that make it a range of hours, not a time ("tra le 14 e 16": 2 to 4 pm).
_RANGE_RE = re.compile(r"(?:^|\W)(?:entre|tra|fra|between|zwischen|tussen)\s+$", re.IGNORECASE)


def _rewrite(match: re.Match[str], language: str, kind: str) -> str:
    groups = match.groupdict()
    hour_text = groups["h"]
    if _RANGE_RE.search(match.string[max(0, match.start() - 12) : match.start()]):
        return match.group()
    hour = _value({**_HOURS[language], **_NAMED_HOURS.get(language, {})}, hour_text)
    kind, minute = _minutes(groups, language, kind)
    if hour is None or minute is None or hour > 23 or not 0 <= minute < 60:
        return match.group()
    if hour == 0 and kind != "past":  # "minuit moins le quart": before the 24th hour
        hour = 24
    total = _KINDS[kind](hour, minute) % (24 * 60)
    in_digits = hour_text.isdigit() or hour > 12
    # the hour after midnight is said as twelve ("half past twelve"), and read either half
    when = say(total // 60 or (0 if in_digits else 12), total % 60, digits=in_digits)
    return groups["pre"] + when


def english(text: str, language: str) -> str:
    """``text`` with the clock times it says in words in ``language`` (see the module
    docstring) put in the fact reader's English; unchanged for other languages."""
    for pattern, kind in _RULES.get(language, ()):
        text = pattern.sub(partial(_rewrite, language=language, kind=kind), text)
    return text
