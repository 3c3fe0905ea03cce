"""A share of something, as a fraction or a percentage, which a translation must not change and
may say either way (:func:`shares`): "um ein Drittel gestiegen" translated "gone up by a
quarter" passed the fact check before, which read no fractions; "fünfzig Prozent Rabatt"
translated "half price" and "um quarto dos funcionários" translated "25 procent" were withheld
(a number lost, or one added).

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`: a half, a third, two thirds, a quarter and three quarters
in words, not where they tell the time or a duration ("half past", "un quarto d'ora", "et
quart", "Viertelstunde") and German "Viertel" only as "ein Viertel" or "drei Viertel" (alone
it is also a district); and a percentage in digits or in the reader's words ("50 %", "fünfzig
Prozent"), on the normalised text. Each is a share in percent (a third: 33).

:func:`contradicted`: both texts state shares and none of the translation's is one of the
source's. :func:`agreeing`: the shares both state, whose numbers are then no lost or added
facts ("50" of "50 Prozent" held by "half price").
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["agreeing", "contradicted", "said_another_way", "shares"]

#: What may not follow a quarter or a half that tells the time or a duration.
_NOT_TIME = (
    r"(?!\s+(?:past|to|an?\s+hour|of\s+an\s+hour|de\s+hora|d'heure|d'ora|de\s+hora|hour|hora"
    r"|heure|stunde|ora|uur|nach|vor|over|voor)\b)"
)
#: Per language, per share in percent, its words (regular expressions, any case).
_WORDS: dict[str, dict[int, str]] = {
    "en": {
        50: rf"\bhalf(?=\s+(?:the|of|price|off)\b){_NOT_TIME}",
        33: r"\b(?:a|one)\s+third\b",
        67: r"\btwo\s+thirds\b",
        25: rf"\b(?:a|one)\s+quarter\b{_NOT_TIME}",
        75: rf"\bthree\s+quarters\b{_NOT_TIME}",
        20: r"\b(?:a|one|the\s+(?:remaining|other|last))\s+fifth\b",
        10: r"\b(?:a|one)\s+tenth\b",
    },
    "es": {
        50: r"\bla\s+mitad\b",
        33: r"\bun\s+tercio\b",
        67: r"\bdos\s+tercios\b",
        25: rf"(?<!y\s)(?<!menos\s)\bun\s+cuarto\b{_NOT_TIME}",
        75: rf"\btres\s+cuartos\b{_NOT_TIME}",
        20: r"\bun\s+quinto\b",
        10: r"\bun\s+décimo\b",
    },
    "fr": {
        50: r"\bla\s+moitié\b",
        33: r"\bun\s+tiers\b",
        67: r"\bdeux\s+tiers\b",
        25: rf"(?<!et\s)\bun\s+quart\b{_NOT_TIME}",
        75: rf"\btrois\s+quarts\b{_NOT_TIME}",
        20: r"\bun\s+cinquième\b",
        10: r"\bun\s+dixième\b",
    },
    "de": {
        50: r"\bdie\s+hälfte\b|\bhalben\s+preis\b",
        33: r"\bein(?:em)?\s+drittel\b",
        67: r"\bzwei\s+drittel\b",
        25: rf"\bein(?:em)?\s+viertel\b{_NOT_TIME}",
        75: rf"\bdrei\s+viertel\b{_NOT_TIME}",
        20: r"\bein(?:em)?\s+fünftel\b",
        10: r"\bein(?:em)?\s+zehntel\b",
    },
    "it": {
        50: r"\bla\s+metà\b|\bmetà\s+prezzo\b",
        33: r"\bun\s+terzo\b",
        67: r"\bdue\s+terzi\b",
        25: rf"(?<!e\s)(?<!meno\s)\bun\s+quarto\b{_NOT_TIME}",
        75: rf"\btre\s+quarti\b{_NOT_TIME}",
        20: r"\bun\s+quinto\b",
        10: r"\bun\s+decimo\b",
    },
    "pt": {
        50: r"\ba\s+metade\b|\bmetade\s+d[oa]s?\b",
        33: r"\bum\s+terço\b",
        67: r"\bdois\s+terços\b",
        25: rf"(?<!e\s)(?<!menos\s)\bum\s+quarto\s+d[oae]s?\b{_NOT_TIME}",
        75: rf"\btrês\s+quartos\s+d[oae]s?\b{_NOT_TIME}",
        20: r"\bum\s+quinto\b",
        10: r"\bum\s+décimo\b",
    },
    "nl": {
        50: r"\bde\s+helft\b|\bhalve\s+prijs\b",
        33: r"\been\s+derde\b",
        67: r"\btwee\s+derde\b",
        25: rf"\been\s+kwart\b{_NOT_TIME}",
        75: rf"\bdrie\s*kwart\b{_NOT_TIME}",
        20: r"\been\s+vijfde\b",
        10: r"\been\s+tiende\b",
    },
}
_WORD_RES = {
    lang: [(re.compile(p, re.IGNORECASE), share) for share, p in by_share.items()]
    for lang, by_share in _WORDS.items()
}
#: A percentage on the normalised text, where every language's word is "percent" ("50 %",
#: "50 percent", "50 per cent"; "fünfzig Prozent" is "50 percent" there).
_PERCENT_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,]\d+)?)\s?(?:%|percent|per\s+cent)", re.I)


def shares(written: str, normalised: str, language: str) -> set[int]:
    """The shares, in whole percent, a text states: its fractions in words (``written``, in
    ``language``) and its percentages (``normalised``)."""
    found = {share for pattern, share in _WORD_RES.get(language, []) if pattern.search(written)}
    for match in _PERCENT_RE.finditer(normalised):
        found.add(round(float(match.group(1).replace(",", "."))))
    return found


def contradicted(said: set[int], told: set[int]) -> list[Fact]:
    """The share of the source (``said``) that the translation's shares (``told``) contradict:
    one fact, or none."""
    if not said or not told or said & told:
        return []
    share = min(said)
    return [Fact("share", f"{share}%", str(share), ())]


def agreeing(said: set[int], told: set[int]) -> tuple[set[str], set[str]]:
    """Of the shares both texts state: their percentages ("50") and the "2", "3" or "4" a
    fraction word of theirs was read as ("um quarto": 4), as facts' values."""
    both = said & told
    denominators = {50: "2", 33: "3", 67: "3", 25: "4", 75: "4"}
    return {str(share) for share in both}, {denominators[s] for s in both if s in denominators}


def _percent_of(value: str, text: str) -> bool:
    """Whether ``text`` (normalised) states ``value`` as a percentage."""
    return any(m.group(1) == value for m in _PERCENT_RE.finditer(text))


def said_another_way(
    fact: Fact, agreed: tuple[set[str], set[str]], written: str, text: str
) -> bool:
    """Whether ``fact`` (of a text ``written``, normalised ``text``) is a share both texts
    state, said the other way: its percentage ("50" of "fünfzig Prozent" for "half price"),
    the percent unit, or the number a fraction word was read as ("4" of "um quarto", where
    the text writes no 4 in digits). A count beside a share ("Half of the 50 seats", "The 2
    of us pay half") is none."""
    percents, denominators = agreed
    if fact.kind == "unit":
        return fact.value == "percent" and bool(percents)
    if fact.kind != "number":
        return False
    if fact.value in percents and _percent_of(fact.value, text):
        return True
    return (
        fact.value in denominators
        and fact.text.isdigit()
        and re.search(rf"(?<!\d){fact.value}(?!\d)", written) is None
    )
