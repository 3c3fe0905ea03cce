"""How much of a metric unit, which a translation must not change (:func:`contradicted`):
"40 millimètres de pluie" translated "40 centímetros de lluvia", "20 cl de crème" translated
"20 ml di panna", "een halve liter" translated "one and a half litres" and "un litro"
translated "meio litro" passed the fact check before, which kept a quantity's measure
(:mod:`.translate_units`: a length stays a length at any scale) and its digits, but read
neither the scale nor a half.

Read on the normalised texts (:func:`.translate_lexicons.normalise`): a number in digits, in
the reader's English words or as an article ("a litre", "un litro", "een liter"), with or
without a half ("half a litre", "un demi-litre", "medio litro", "mezzo litro", "meio litro",
"halbe Liter", "een halve liter", "one and a half", "un litro e mezzo", "litro y medio", "un
litre et demi", "anderhalve", "anderthalb", "eineinhalb"), before a unit of length, mass or
volume of the metric system, in any language read. Each is taken to its base unit ("1,5 km"
and "1500 metres" are both 1500 metres; "1.500" may be 1.5 or 1500).

Checked by contradiction: a source's quantity is lost when the translation states quantities
of the same measure and none of them is the same amount. A translation that gives the
quantity in words the reader does not take ("a bit over a litre") states none and loses
nothing here.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.translate_hours import COUNT_WORDS

__all__ = ["agreeing", "contradicted", "quantities"]

#: Per unit: its measure, its size in the measure's base unit, and its words and symbols in
#: every language read (lower case, regular expressions, whole words).
_UNITS: tuple[tuple[str, float, str], ...] = (
    (
        "length",
        1000.0,
        r"km|kilom[eè]tres?|kilometers?|kilometern|kil[oó]metros?|chilometr[oi]"
        r"|quil[oóô]metros?",
    ),
    ("length", 0.01, r"cm|centim[eè]tres?|centimeters?|zentimetern?|cent[ií]metros?|centimetri"),
    ("length", 0.001, r"mm|millim[eè]tres?|millimeters?|millimetern?|mil[ií]metros?|millimetri"),
    ("length", 1.0, r"m|m[eè]tres?|meters?|metern|metros?|metri|metro"),
    (
        "mass",
        1000.0,
        r"kg|kilos?|kilograms?|kilogrammes?|kilogramos?|kilogramm|chil[oi]"
        r"|chilogramm[oi]|quilos?|quilogramas?|kilogrammen",
    ),
    (
        "mass",
        0.001,
        r"mg|milligrams?|milligrammes?|miligramos?|milligramm|milligramm[oi]"
        r"|miligramas?",
    ),
    ("mass", 100.0, r"ett[oi]"),  # (Italian: a hundred grams)
    ("mass", 1.0, r"g|grams?|grammes?|gramos?|gramm|grammi|grammo|gramas?|grammen"),
    ("volume", 0.001, r"ml|millilitres?|milliliters?|millilitern?|mililitros?|millilitri"),
    ("volume", 0.01, r"cl|centilitres?|centiliters?|centilitros?|centilitri"),
    ("volume", 0.1, r"dl|decilitres?|deciliters?|decilitros?|decilitri"),
    ("volume", 1.0, r"l|litres?|liters?|litern|litros?|litri|litro"),
)
_UNIT_RES = tuple(
    (measure, size, re.compile(rf"(?:{words})", re.IGNORECASE)) for measure, size, words in _UNITS
)
_ANY_UNIT = "|".join(words for _, _, words in _UNITS)
_HALF = r"half(?:\s+an?)?|demi-?|halbe[nrs]?|halve|medio|media|mezzo|mezza|meio|meia"
_AND_HALF = (
    r"and\s+a\s+half|y\s+medi[oa]|et\s+demie?|und\s+(?:ein(?:en)?\s+)?halb(?:e[nr]?)?"
    r"|e\s+mezz[oa]|e\s+mei[oa]|en\s+een\s+halve?"
)
_ONE_AND_HALF = r"anderhalve?|anderthalb|eineinhalb|one\s+and\s+a\s+half"
#: (It starts at a word and its gaps are bounded: a run of spaces costs linear time.)
_QUANTITY_RE = re.compile(
    rf"(?<![\w.,])(?=\S)(?:(?P<one_half>{_ONE_AND_HALF})"
    rf"|(?:(?P<number>\d+(?:[.,]\d+)?|{'|'.join(COUNT_WORDS)})\s{{0,2}}(?P<and_half>{_AND_HALF})?)?"
    rf"\s{{0,2}}(?P<half>{_HALF})?)"
    rf"\s{{0,2}}(?:(?:de|of|di)\s{{1,2}}|d')?(?P<unit>{_ANY_UNIT})(?![\w°])"
    rf"(?:\s{{1,2}}(?P<after_half>{_AND_HALF}))?",
    re.IGNORECASE,
)


#: The first side of a size told with one unit ("100 mal 60 Meter", "3 x 4 m", "10 by 12
#: metres"): it has the second's unit.
_DIMENSION_RE = re.compile(
    r"(?<![\w.,])(?P<number>\d+(?:[.,]\d+)?)\s{0,2}(?:x|\u00d7|by|mal|sur)\s{1,2}"
    rf"(?=\d+(?:[.,]\d+)?\s{{0,2}}(?P<unit>{_ANY_UNIT})(?![\w°]))",
    re.IGNORECASE,
)


def _amounts(number: str) -> set[float]:
    """What ``number`` may be: "1.500" and "1,500" either 1.5 or 1500."""
    if number.lower() in COUNT_WORDS:
        return {COUNT_WORDS[number.lower()]}
    if re.fullmatch(r"\d+[.,]\d{3}", number):
        return {float(number.replace(",", ".")), float(re.sub(r"[.,]", "", number))}
    return {float(number.replace(",", "."))}


def quantities(text: str) -> list[tuple[str, frozenset[float], str]]:
    """The metric quantities ``text`` (normalised) states: measure, the amounts in the
    measure's base unit it may mean, and the words that state it."""
    found = []
    for match in _QUANTITY_RE.finditer(text):
        unit = match.group("unit")
        counted = (match.group("number") or "")[:1].isdigit()
        if len(unit) == 1 and not counted:
            continue  # a one-letter symbol only right after digits ("2 l", not "a l")
        if unit.lower() == "metro" and not counted:
            continue  # "una estación de metro", "a metro": the underground, not a metre
        if match.group("one_half"):
            amounts = {1.5}
        elif match.group("number"):
            amounts = _amounts(match.group("number"))
            if match.group("and_half") or match.group("after_half"):
                amounts = {a + 0.5 for a in amounts}
            elif match.group("half"):
                amounts = {a / 2 for a in amounts} if amounts == {1.0} else set()
        elif match.group("half"):
            amounts = {0.5}
        else:
            continue  # a unit's word with no amount ("per litre")
        if not amounts:
            continue
        measure, size = next((m, s) for m, s, p in _UNIT_RES if p.fullmatch(unit))
        found.append((measure, frozenset(round(a * size, 6) for a in amounts), match.group()))
    for match in _DIMENSION_RE.finditer(text):
        unit = match.group("unit")
        measure, size = next((m, s) for m, s, p in _UNIT_RES if p.fullmatch(unit))
        if measure != "length":  # ("2 x 200 mg", "6 x 1,5 l": a count of them, not a size)
            continue
        sides = frozenset(round(a * size, 6) for a in _amounts(match.group("number")))
        found.append((measure, sides, f"{match.group('number')} {unit}"))
    return found


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The quantity of ``source`` that ``translation`` contradicts (both normalised; see the
    module docstring): one fact, or none."""
    del source_language, target_language  # every language's units are read on both sides
    told = quantities(translation)
    for measure, amounts, words in quantities(source):
        stated = [a for m, a, _ in told if m == measure]
        if stated and not any(amounts & a for a in stated):
            return [Fact("quantity", words.strip(), f"{min(amounts):g} {measure}", ())]
    return []


def agreeing(source: str, translation: str) -> tuple[list[str], list[str]]:
    """The words of the quantities of ``source`` and of ``translation`` (both normalised) that
    state the same amount of the same measure in other numbers ("ein halbes Kilo" and "500
    grams", "tre chili e mezzo" and "3,5 kilo"): their numbers are no lost or added facts."""
    said, told = quantities(source), quantities(translation)
    pairs = [(s, t) for s in said for t in told if s[0] == t[0] and s[1] & t[1]]
    return [s[2] for s, _ in pairs], [t[2] for _, t in pairs]
