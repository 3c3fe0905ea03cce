"""Ordinals in words, which a translation must not change (:func:`contradicted`): "the fourth
row" translated "in quinta fila", "la deuxième fois" translated "la tercera vez", "em primeiro
lugar" translated "secondo" passed the fact check before, which read ordinals only as days of
a month ("the 5th", "the fifteenth of May").

Read on the texts as written, first to twentieth, in English and the languages of
:data:`.translate_lexicons.LEXICONS`, with their forms for gender, number and case ("primera",
"premières", "zweiten", "tweede"). Several are also other words: "second" and "segundo" a
unit of time, Italian "secondo" "according to", "cuarto" and "quarto" a room or a quarter,
Portuguese "segunda" to "sexta" weekdays ("na quarta", "quarta-feira"). So, like the parts of
the day in :mod:`.translate_periods`, they are checked by contradiction: only a translation
that states ordinals, none of them one of the source's, loses the fact; one that says it
another way ("first place" as "ganó", "the second street" as "la calle siguiente") keeps it.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.translate_lexicons import portuguese_weekdays

__all__ = ["contradicted", "ordinals"]

#: Italian "prim-", but not "prima" before "di" or "che" (before).
_PRIMA = r"prim(?!a\s+(?:di|del|dell|della|dello|dei|degli|delle|d'|che|possibile)\b)"
#: Per language, the stems of first to twentieth; each takes the endings of :data:`_ENDINGS`
#: ("(?!)": none; Portuguese says eleventh to nineteenth in two words, "décimo quinto",
#: read by :data:`_TENTH_AND_RE`).
_STEMS: dict[str, str] = {
    "en": "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth",
    "es": "primer|primero segund tercer|tercero cuart quint sext séptim octav noven décim "
    "undécim|decimoprimer decimosegund|duodécim decimotercer decimocuart decimoquint "
    "decimosext decimoséptim decimoctav decimonoven vigésim",
    "fr": "premier|premièr deuxièm|second troisièm quatrièm cinquièm sixièm septièm huitièm "
    "neuvièm dixièm onzièm douzièm treizièm quatorzièm quinzièm seizièm dix-septièm "
    "dix-huitièm dix-neuvièm vingtièm",
    "de": "erst zweit dritt viert fünft sechst siebt acht neunt zehnt elft zwölft dreizehnt "
    "vierzehnt fünfzehnt sechzehnt siebzehnt achtzehnt neunzehnt zwanzigst",
    "it": f"{_PRIMA} second terz quart quint sest settim ottav non decim undicesim dodicesim "
    "tredicesim quattordicesim quindicesim sedicesim diciassettesim diciottesim "
    "diciannovesim ventesim",
    "pt": "primeir segund terceir quart quint sext sétim oitav non décim (?!) (?!) (?!) (?!) (?!) "
    "(?!) (?!) (?!) (?!) vigésim",
    "nl": "eerst tweed derd vierd vijfd zesd zevend achtst negend tiend elfd twaalfd dertiend "
    "veertiend vijftiend zestiend zeventiend achttiend negentiend twintigst",
}
#: Eleventh to nineteenth in two words ("décimo quinto", "décima primeira").
_TENTH_AND_RE = re.compile(
    r"\bd[ée]cim[oa]s?[\s-]+(primeir|primer|segund|terceir|tercer|quart|cuart|quint|sext|s[ée]tim"
    r"|oitav|octav|non|noven)\w*",
    re.IGNORECASE,
)
_UNITS_OF = {
    stem: n
    for n, stems in enumerate(
        (
            "primeir primer",
            "segund",
            "terceir tercer",
            "quart cuart",
            "quint",
            "sext",
            "sétim setim",
            "oitav octav",
            "non noven",
        ),
        start=1,
    )
    for stem in stems.split()
}
#: The endings each language's ordinals take after their stems ("" for none).
_ENDINGS: dict[str, str] = {
    "en": "",
    "es": "|o|a|os|as",
    "fr": "|e|s|es",
    "de": "e|en|er|es|em",
    "it": "o|a|i|e",
    "pt": "o|a|os|as",
    "nl": "e",
}
#: Words that "acht" (German eight and eighth) or "non" (Italian not) alone would be: German
#: ordinals need an ending, and "nono", "nona" are the only Italian ninths.
_ORDINAL_RES: dict[str, list[tuple[re.Pattern[str], int]]] = {
    lang: [
        (re.compile(rf"\b(?:{stem})(?:{_ENDINGS[lang]})\b", re.IGNORECASE), n)
        for n, stem in enumerate(stems.split(), start=1)
    ]
    for lang, stems in _STEMS.items()
}
#: A building's ground floor, the floor below the first ("premier étage" translated "planta
#: baja"): read as the ordinal 0.
_GROUND_FLOOR_RE = re.compile(
    r"\b(?:ground[\s-]floor|planta\s+baja|rez[\s-]de[\s-]chauss[ée]e|erdgeschoss|piano\s+terra"
    r"|pianterreno|piano\s+terreno|r[ée]s[\s-]do[\s-]ch[ãa]o|t[ée]rreo|begane\s+grond)\b",
    re.IGNORECASE,
)
#: The same ordinals in digits ("4th", "4º", "4ª", "4e", "4ème"), not a German day ("4. Mai").
_DIGIT_ORDINAL_RE = re.compile(r"\b(20|1\d|[1-9])(?:st|nd|rd|th|º|ª|°|e|er|re|ème|eme|de|ste)\b")


def ordinals(text: str, language: str) -> set[int]:
    """The ordinals, first to twentieth, that ``text`` (in ``language``, as written) states; a
    ground floor is 0."""
    patterns = _ORDINAL_RES.get(language)
    if patterns is None:
        return set()
    if language == "pt":  # "na quarta", "quarta-feira": Wednesday, not the fourth
        text = re.sub(r"\b\w+-feiras?\b", " ", portuguese_weekdays(text))
    found: set[int] = set()
    if language in ("es", "pt"):
        for match in _TENTH_AND_RE.finditer(text):
            found.add(10 + _UNITS_OF.get(match.group(1).lower().replace("é", "e"), 0))
        text = _TENTH_AND_RE.sub(" ", text)
    found |= {n for pattern, n in patterns if pattern.search(text)}
    found.update(int(m.group(1)) for m in _DIGIT_ORDINAL_RE.finditer(text))
    if _GROUND_FLOOR_RE.search(text):
        found.add(0)
    return found


#: "First" said as an adverb, in English: no ordinal of anything.
_FIRST_ADVERB_RE = re.compile(r"\b(?:first\s+of\s+all|at\s+first|firstly)\b", re.IGNORECASE)


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The ordinal of ``source`` that ``translation`` contradicts (both as written; see the
    module docstring): one fact when the translation states ordinals and none of the source's."""
    said = ordinals(source, source_language)
    told = ordinals(translation, target_language)
    if not said or not told:
        return []
    if said & told:
        # beside one the translation keeps, another told as a third ("on the ground floor, in
        # the third room" as "au rez-de-chaussée, dans la deuxième salle")
        # (not a fourth the translation says, "quarto" and "cuarto" also a room or a quarter,
        # nor a first the source says as an adverb, "first of all")
        missing = said - told - ({1} if _FIRST_ADVERB_RE.search(source) else set())
        if not told - said - {4} or not missing:
            return []
        said = missing
    first = min(said)
    if first == 0:
        return [Fact("ordinal", "ground floor", "0", ())]
    return [Fact("ordinal", f"ordinal {first}", str(first), ())]
