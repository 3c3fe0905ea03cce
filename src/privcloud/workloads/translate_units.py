"""The unit of a quantity, which a translation must keep (:func:`source_units`, :func:`holds`):
"10 kilomètres" translated "10 miles", "drie kilo" translated "three pounds", "two litres of
water" translated "due bicchieri d'acqua" passed the fact check before, which compared the
numbers only.

Read like the currency of an amount (:mod:`.translate_currency`): a source states a unit when
its word or symbol follows a number (after :func:`.translate_lexicons.normalise`, which writes
number words as digits or the reader's English words; "un demi-litre", "half a litre" too);
the translation holds it when it names a unit of the same measure anywhere, in any of the
languages read, at any scale of the metric system ("1,5 km" may be "1500 metres"; a mile is
not a kilometre, a pound not a kilo, a tablespoon not a teaspoon). A one-letter symbol ("5 m",
"2 l", "500 g") counts only right after digits. A share ("25 %") and a temperature below zero
are read the same way.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["holds", "source_units"]

#: Per measure: its symbols of one letter (only after digits), then its words and longer
#: symbols (lower case, regular expressions, whole words).
_MEASURES: dict[str, tuple[str, str]] = {
    # an area or a volume in metres ("20 mètres cubes" translated "20 square metres"; either
    # is also read as a length, which both hold)
    "area": (
        "(?!)",
        r"square\s+(?:metres?|meters?|kilometres?|kilometers?)|m²|m2|sq\s?m|mètres?\s+carrés"
        r"|metros?\s+cuadrados|quadratmeter\w*|metri\s+quadr(?:i|ati)|metros?\s+quadrados"
        r"|vierkante\s+meters?",
    ),
    "cubic": (
        "(?!)",
        r"cubic\s+(?:metres?|meters?)|m³|m3|mètres?\s+cubes|metros?\s+cúbicos|kubikmeter\w*"
        r"|metri\s+cubi|kubieke\s+meters?",
    ),
    "length": (
        "m",
        r"km|cm|mm|kilometres?|kilometers?|kilometern|kilómetros?|kilomètres?|chilometri"
        r"|chilometro|quilómetros?|quilômetros?|metres?|meters?|metern|metros?|mètres?|metri"
        r"|metro|centimetres?|centimeters?|centímetros?|centimètres?|zentimetern?|centimetri",
    ),
    "miles": ("(?!)", r"miles?|millas?|milles?|meilen?|miglia|miglio|milhas?|mijlen|mijl"),
    "mass": (
        "g",
        r"kg|kilos?|kilograms?|kilogrammes?|kilogramos?|kilogramm|chili|chilo|chilogrammi"
        r"|quilos?|quilogramas?|kilogrammen|grams?|grammes?|gramos?|gramm|grammi|gramas?"
        r"|grammen|ett[oi]",
    ),
    "volume": (
        "l",
        r"ml|cl|litres?|liters?|litern|litros?|litri|litro|millilitres?|milliliters?"
        r"|mililitros?|millilitri",
    ),
    "temperature": ("°c?", r"degrees?|grados?|degrés?|grad|gradi|graus?|graden"),
    # spoons of a recipe: a tablespoon is no teaspoon
    "tablespoon": (
        "(?!)",
        r"tablespoons?|tbsp|cucharadas?|cuill[eè]res?\s+(?:à|at)\s+soupe|esslöffeln?|cucchiai"
        r"|cucchiaio|colheres?\s+de\s+sopa|eetlepels?",
    ),
    "teaspoon": (
        "(?!)",
        r"teaspoons?|tsp|cucharaditas?|cuill[eè]res?\s+(?:à|at)\s+café|teelöffeln?|cucchiaini"
        r"|cucchiaino|colheres?\s+de\s+chá|theelepels?",
    ),
    # a share ("25 %" translated "25 Euro")
    "percent": (
        "%",
        r"percent|per\s+cent|por\s+ciento|pour\s+cent|prozent|per\s+cento|por\s+cento"
        r"|procent|pct",
    ),
}
#: Below zero ("cinco grados bajo cero" translated "five degrees"): a sign or words that must
#: come back where the source says them.
_BELOW_ZERO_SOURCE = re.compile(
    r"(?<![\w.,])[-\u2212]\d+(?:[.,]\d+)?\s?(?:°|degrees?|grados?|degrés?|grad|gradi|graus?|graden)"
    r"|\b(?:below|bajo|sous|unter|sotto|abaixo\s+de|onder)\s+(?:zero|cero|z[ée]ro|null|nul)\b"
    # (not "more or less": "più o meno otto ore", "más o menos", "plus ou moins")
    r"|(?<!\bo\s)(?<!\bou\s)(?<!\bof\s)\b(?:minus|moins|menos|meno|min)\s+\d",
    re.IGNORECASE,
)
#: What may stand before a unit as its number: digits, the reader's words, a half.
_NUMBER = (
    r"(?:\d[\d.,]*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an|one|un|une"
    r"|uno|una|um|uma|ein|eine|einen|een|half(?:\s+an?)?|demi-|halbe?n?|mezzo|medio|meio)"
)
_NEXT_TO_NUMBER = {
    measure: re.compile(
        rf"(?<![\w.,]){_NUMBER}\s?(?:(?:de|d'|of|di)\s*)?(?:{words})(?![\w°])"
        rf"|\d\s?(?:{letter})(?!\w)",
        re.IGNORECASE,
    )
    for measure, (letter, words) in _MEASURES.items()
}
_ANYWHERE = {
    measure: re.compile(rf"(?<![\w])(?:{words})(?![\w°])|\d\s?(?:{letter})(?!\w)", re.IGNORECASE)
    for measure, (letter, words) in _MEASURES.items()
}


def source_units(text: str) -> list[Fact]:
    """The measures whose units ``text`` (normalised) states after a number, each once, and
    a temperature below zero."""
    found = []
    for measure, pattern in _NEXT_TO_NUMBER.items():
        match = pattern.search(text)
        if match is not None:
            found.append(Fact("unit", match.group().strip(), measure, (f"unit:{measure}",)))
    if (match := _BELOW_ZERO_SOURCE.search(text)) is not None:
        found.append(Fact("unit", match.group().strip(), "below zero", ("unit:below zero",)))
    return found


def holds(text: str, fact: Fact) -> bool:
    """Whether ``text`` (a translation, normalised) names a unit of ``fact``'s measure."""
    if fact.value == "below zero":
        return bool(_BELOW_ZERO_SOURCE.search(text))
    return bool(_ANYWHERE[fact.value].search(text))
