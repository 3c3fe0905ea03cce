"""Before or after a time, and the start or the end of a period, which a translation must not
turn round (:func:`contradicted`): "antes de las ocho" translated "depois das oito", "vor dem
1. März" translated "after 1 March", "early next week" translated "Ende nächster Woche", "am
frühen Nachmittag" translated "in the late afternoon" passed the fact check before.

Read on the normalised texts (:func:`.translate_lexicons.normalise`: weekdays, months and
small numbers in the reader's English words), and by contradiction like the parts of the day
of :mod:`.translate_periods`: only a translation that says the other one and not the source's
loses the fact. "Before" and "after" count only before a time or a day (within two words: a
number, a weekday, a month, "noon", "tomorrow"), since "nach" is also "to" and "vor" "ago";
Dutch "voor" (also "for") is not read.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS
from privcloud.workloads.text.numbers import TEENS, UNITS

__all__ = ["contradicted"]

_NUMBER_WORDS_EN = [word for word, n in {**UNITS, **TEENS}.items() if 1 <= n <= 12]
#: Before or after a time or day, per language (on the normalised text: "antes de las ocho"
#: translated "depois das oito", "vor dem 1. März" translated "after 1 March"): the word, then
#: within two words a number, weekday, month or day word. Dutch "voor" (also "for") is left
#: out.
_ANCHOR = (
    r"(?:\S+\s+){0,2}?(?:\d|noon\b|midnight\b|tomorrow\b|today\b|tonight\b|"
    + "|".join(name.capitalize() for name in WEEKDAYS)
    + "|"
    + "|".join(name.capitalize() for name in MONTHS)
    + "|"
    + "|".join(_NUMBER_WORDS_EN)
    + ")"
)
_ORDER: dict[str, dict[str, str]] = {
    "before": {
        "en": r"\bbefore",
        "es": r"\bantes",
        "fr": r"\bavant",
        "de": r"\b(?:vor|bevor)",
        "it": r"\bprima",
        "pt": r"\bantes",
        "nl": r"\b(?:vóór|voordat)",
    },
    "after": {
        "en": r"\bafter",
        "es": r"\bdespués",
        "fr": r"\baprès",
        "de": r"\bnach",
        "it": r"\bdopo",
        "pt": r"\b(?:depois|após)",
        "nl": r"\b(?:na|nadat)",
    },
}
_ORDER_RES = {
    order: {lang: re.compile(rf"{p}\s+{_ANCHOR}", re.IGNORECASE) for lang, p in by_lang.items()}
    for order, by_lang in _ORDER.items()
}


#: The start or the end of a week, month or year, per language (on the normalised text, where
#: the lexicons made "fin de semana", "fine settimana", "fim de semana" "weekend"): "early next
#: week" translated "Ende nächster Woche".
_EDGES: dict[str, dict[str, str]] = {
    "start": {
        "en": r"\bearly\s+(?:next|this|last|in|morning|afternoon|evening)\b"
        r"|\b(?:beginning|start)\s+of\b",
        "es": r"\b(?:principios|comienzos|inicios?)\s+de\b|\bprimera\s+hora\b",
        "fr": r"\bdébut\b",
        "de": r"\banfang\b|\bzu\s+beginn\b|\bfrühen?\b",
        "it": r"\binizio\b|\bprimo\s+pomeriggio\b|\bprima\s+(?:mattina|serata)\b",
        "pt": r"\b(?:início|começo|princípio)\s+d[eoa]s?\b",
        "nl": r"\bbegin\b",
    },
    "end": {
        "en": r"\blate\s+(?:next|this|last|in|morning|afternoon|evening)\b|\bend\s+of\b",
        "es": r"\b(?:finales|fin)\s+de\b|\búltima\s+hora\b",
        "fr": r"\bfin\s+(?:de|du|des|d')",
        "de": r"\bende\b|\bspäten?\b",
        "it": r"\bfine\s+(?:di|del|della|dello|dei|delle|d')"
        r"|\btard[oa]\s+(?:pomeriggio|mattinata|serata|sera)\b",
        "pt": r"\b(?:final|fim)\s+d[eoa]s?\b",
        "nl": r"\beinde?\b",
    },
}
_EDGE_RES = {
    edge: {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in by_language.items()}
    for edge, by_language in _EDGES.items()
}


def _named(patterns: dict[str, dict[str, re.Pattern[str]]], text: str, language: str) -> set[str]:
    """Which of ``patterns`` (per name, per language) ``text`` says."""
    return {
        name
        for name, by_language in patterns.items()
        if language in by_language and by_language[language].search(text)
    }


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The order (before, after) and edge of a period (start, end) of ``source`` that
    ``translation`` contradicts (both normalised; see the module docstring)."""
    lost = []
    for patterns, name in ((_EDGE_RES, "{} of the period"), (_ORDER_RES, "{} the time")):
        said = _named(patterns, source, source_language)
        told = _named(patterns, translation, target_language)
        if len(said) == 1 and told and not said & told:
            (which,) = said
            lost.append(Fact("relative", name.format(which), which, ()))
    return lost
