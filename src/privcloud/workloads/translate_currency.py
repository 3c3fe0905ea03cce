"""The currency of an amount, which a translation must keep (:func:`source_currencies`,
:func:`holds`): "$1,250" translated "1.250 euros", "210 Franken" translated "210 euros", "1.500
euros" translated "1,500 dollars" passed the fact check before, which compared the numbers only.

A source states a currency when its sign or name stands next to a number written with digits
(after :func:`.translate_lexicons.normalise`, which writes number words as digits): "$1,250",
"1.500 euros", "210 Franken", "120 reais", "CHF 40". The translation holds it when it names the
same currency anywhere, by sign, code or name in any of the languages read here (a translation
may move or spell the sign). A name that is also another word is a currency only next to a
number in the source ("a pound of apples" states no currency, "Franken" the region neither).
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["changed", "holds", "source_currencies"]

#: Per currency: its signs (matched anywhere: "€12", "12€"), then its codes and names (lower
#: case, regular expressions, whole words), the most specific first (Brazil's "R$" before the
#: dollar's "$", "Swiss francs" before "francs").
_CURRENCIES: dict[str, tuple[str, str]] = {
    "BRL": (r"R\$", r"brl|reais|reales|real brasileiro|real brasileño"),
    "CHF": (
        r"(?!)",
        r"chf|fr\.|franken|francs? suisses?|swiss francs?|franchi svizzeri|franco svizzero"
        r"|francos? suizos?|francos? suíços?|zwitserse frank(?:en)?|francs?|franchi|francos?",
    ),
    "USD": (r"US\$|\$", r"usd|dollars?|dólar(?:es)?|dollari|dólares"),
    "EUR": (r"€", r"eur|euros?|euro"),
    "GBP": (
        r"£",
        r"gbp|pounds?(?: sterling)?|libras?(?: esterlinas?)?|livres?(?: sterling)?"
        r"|sterline|sterlina|pfund|ponden|pond",
    ),
    "JPY": (r"¥", r"jpy|yen|yenes|ienes"),
}


def _either(sign: str, names: str) -> str:
    return rf"(?:{sign}|(?<![\w$])(?:{names})(?!\w))"


_SIGN_OR_NAME = {
    code: re.compile(_either(sign, names), re.IGNORECASE)
    for code, (sign, names) in _CURRENCIES.items()
}
#: A number written with digits, with any marks inside.
_NUMBER = r"\d[\d.,'\u00a0\u202f]*(?: \d{3})*"
_SCALE = r"(?:\s?(?:million|millions|milliards?|millones|milioni|millionen|miljoen|milhões|mil|k))?"
_NEXT_TO_NUMBER = {
    code: re.compile(
        rf"{_either(sign, names)}\s?{_NUMBER}|{_NUMBER}{_SCALE}\s?(?:de\s+|d'\s?)?"
        + _either(sign, names),
        re.IGNORECASE,
    )
    for code, (sign, names) in _CURRENCIES.items()
}


def source_currencies(text: str) -> list[Fact]:
    """The currencies ``text`` (normalised) states next to a number, each once."""
    found: list[Fact] = []
    rest = text
    for code, pattern in _NEXT_TO_NUMBER.items():
        match = pattern.search(rest)
        if match is None:
            continue
        found.append(Fact("currency", match.group().strip(), code, (f"currency:{code}",)))
        # a sign inside a longer one ("R$", "US$") is not a second currency
        rest = pattern.sub(" ", rest)
    return found


def holds(text: str, fact: Fact) -> bool:
    """Whether ``text`` (a translation, normalised) names ``fact``'s currency anywhere."""
    rest = text
    for code, pattern in _SIGN_OR_NAME.items():
        if pattern.search(rest):
            if code == fact.value:
                return True
            rest = pattern.sub(" ", rest)
    return False


def _amounts(text: str) -> dict[str, set[str]]:
    """Per number written with digits next to a currency in ``text`` (its digits only), the
    currencies it is said in."""
    found: dict[str, set[str]] = {}
    rest = text
    for code, pattern in _NEXT_TO_NUMBER.items():
        for match in pattern.finditer(rest):
            digits = re.sub(r"\D", "", match.group())
            if digits:
                found.setdefault(digits, set()).add(code)
        rest = pattern.sub(" ", rest)
    return found


def changed(source: str, translation: str) -> list[Fact]:
    """The currencies of ``source`` whose amount ``translation`` (both normalised) states in
    another currency only ("15 Euro ..., dazu 50 Euro" as "15 euro ..., più 50 dollari": the
    euro is named, but not for the 50)."""
    told = _amounts(translation)
    lost = []
    for digits, codes in _amounts(source).items():
        other = told.get(digits, set())
        if other and not codes & other:
            code = min(codes)
            lost.append(Fact("currency", f"{digits} {code}", code, (f"currency:{code}",)))
    return lost
