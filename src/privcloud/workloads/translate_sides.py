"""Left or right, which a translation must not swap (:func:`contradicted`): "3.º esquerdo"
(third floor, the flat on the left) translated "terzo piano a destra" passed the fact check
before, which read the floor's ordinal only.

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`, only where the word is a side: English "left" and
"right" after "on the", "to the", "turn", "keep", or before "-hand" or "side" ("right" alone
is also "correct" and "left" "went away"); Spanish "derecha", not "derecho" (a right, or
straight on); Portuguese "direita", and "direito" or "esquerdo" after an ordinal floor ("3.º
esquerdo"); French "droite", not "droit"; German and Dutch "links" and "rechts"; Italian
"destra" and "sinistra"; Dutch and German compounds ("rechterkant", "linke Seite"). Two more
axes are read the same way: upstairs or downstairs ("upstairs" translated "al piano di
sotto"), and the points of the compass ("do lado sul" translated "on the north side").
Checked by contradiction, per axis: only a translation that says another side and not the
source's loses it.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["contradicted", "sides"]

_EN = (
    r"(?:(?:on|to)\s+(?:the|your)|turn|keep|bear|top|bottom|upper|lower|front|back|rear)\s+{0}\b"
    r"|\b{0}[\s-](?:hand|side)\b"
)
#: Per side, per language, the words that say it (regular expressions, any case).
_SIDES: dict[str, dict[str, str]] = {
    "left": {
        "en": _EN.format("left"),
        "es": r"\bizquierd[ao]s?\b",
        "fr": r"\bgauche\b",
        "de": r"\blinks\b|\blinken\b|\blinke[nrs]?\s+(?:seite|hand|spur|ufer)\b",
        "it": r"\bsinistr[ao]\b",
        "pt": r"\besquerd[ao]s?\b",
        "nl": r"\blinks\b|\blinker(?:kant|hand|zijde)?\b",
    },
    "right": {
        "en": _EN.format("right"),
        "es": r"\bderecha\b|\blado\s+derecho\b",
        "fr": r"\bdroite\b",
        "de": r"\brechts\b|\brechten\b|\brechte[nrs]?\s+(?:seite|hand|spur|ufer)\b",
        "it": r"\bdestr[ao]\b",
        "pt": r"\bdireita\b|\blado\s+direito\b|º\s*(?:direito|dto)\b",
        "nl": r"\brechts\b|\brechter(?:kant|hand|zijde)?\b",
    },
    # a floor above or below ("arriba" and "abajo" also of a page: read only against the other)
    "up": {
        "en": r"\bupstairs\b|\bup\s+the\s+stairs\b|\bfloor\s+above\b",
        # (not of a text: "como se indica arriba", "siehe oben", "vedi sopra", "boven de 12")
        "es": r"(?<!indica\s)(?<!indicado\s)(?<!mencionado\s)(?<!citado\s)\barriba\b",
        "fr": r"\ben\s+haut\b|\bà\s+l'étage\b|\bl'étage\s+(?:du\s+)?dessus\b",
        "de": r"(?<!siehe\s)(?<!wie\s)\boben\b(?!\s*(?:genannt|erwähnt|angegeben))"
        r"|\bobergeschoss\b",
        "it": r"(?<!al\s)\bdi\s+sopra\b|\bpiano\s+(?:di\s+)?sopra\b|\bpiano\s+superiore\b",
        "pt": r"\bem\s+cima\b(?!\s+d[aoe]s?\b)|\blá\s+em\s+cima\b|\b(?:andar|piso)\s+de\s+cima\b"
        r"|\bandar\s+superior\b",
        "nl": r"\bboven\b(?!\s+(?:de|het|\d))|\bbovenverdieping\b",
    },
    "down": {
        "en": r"\bdownstairs\b|\bdown\s+the\s+stairs\b|\bfloor\s+below\b",
        "es": r"(?<!indica\s)(?<!indicado\s)(?<!mencionado\s)(?<!citado\s)\babajo\b",
        "fr": r"\ben\s+bas\b|\bl'étage\s+(?:du\s+)?dessous\b",
        "de": r"(?<!siehe\s)(?<!wie\s)\bunten\b(?!\s*(?:genannt|erwähnt|angegeben))",
        "it": r"(?<!al\s)\bdi\s+sotto\b|\bpiano\s+(?:di\s+)?sotto\b|\bpiano\s+inferiore\b",
        "pt": r"\bem\s+baixo\b|\bembaixo\b|\blá\s+em\s+baixo\b"
        r"|\b(?:andar|piso)\s+de\s+baixo\b",
        "nl": r"\bbeneden\b|\bbenedenverdieping\b",
    },
    # in front or behind ("derrière le bâtiment" as "em frente ao edifício"; English "back"
    # and Dutch "voor" alone are also other words)
    "front": {
        "en": r"\bin\s+front\b|\bat\s+the\s+front\b|\bfront\s+(?:garden|door|yard|entrance|row)\b",
        "es": r"\bdelante\b|\ben\s*frente\b|\bdelanter[oa]s?\b",
        "fr": r"\bdevant\b|\bà\s+l'avant\b",
        "de": r"\bvorne?\b|\bvorder(?:e[nmrs]?|seite|eingang)\b|\bvorgarten\b",
        # ("di fronte a" is also "faced with": not read)
        "it": r"\bdavanti\b|\bparte\s+anteriore\b",
        "pt": r"\bem\s+frente\b|\bà\s+frente\b|\bna\s+frente\b|\bd[ae]\s+frente\b"
        r"|(?<!em\s)\bdiante\b",
        "nl": r"\bvooraan\b|\bvoorkant\b|\bvoortuin\b|\bvoordeur\b|\bvoorin\b",
    },
    "back": {
        "en": r"\bbehind\b|\bat\s+the\s+back\b|\bback\s+(?:garden|door|yard|entrance|row)\b"
        r"|\brear\b",
        "es": r"\bdetrás\b|\batrás\b|\btraser[oa]s?\b",
        "fr": r"\bderrière\b|\bà\s+l'arrière\b",
        "de": r"\bhinten\b|\bhinter(?:e[nmrs]?|seite|eingang|garten)?\b",
        "it": r"\bdietro\b|\bsul\s+retro\b|\bparte\s+posteriore\b",
        "pt": r"\batrás\b|\btraseiras?\b|\bnas\s+traseiras\b",
        "nl": r"\bachter(?:aan|kant|tuin|deur|in)?\b(?!\s+elkaar)",
    },
    # outside or inside ("dentro de", "binnen" before a time are "within": not read)
    "outside": {
        "en": r"\boutside\b|\boutdoors\b",
        "es": r"\bfuera\b|\bafuera\b|\bal\s+aire\s+libre\b",
        "fr": r"\bdehors\b|\bà\s+l'extérieur\b|\ben\s+plein\s+air\b",
        "de": r"\bdraußen\b|\bim\s+freien\b",
        "it": r"\bfuori\b|\ball'aperto\b",
        "pt": r"\blá\s+fora\b|\bao\s+ar\s+livre\b",
        "nl": r"\bbuiten\b|\bbuitenshuis\b",
    },
    "inside": {
        "en": r"\binside\b(?!\s+(?:a|an|the|of|\d))|\bindoors\b",
        "es": r"\b(?:a)?dentro\b(?!\s+d)|\bbajo\s+techo\b",
        "fr": r"\bdedans\b|\bà\s+l'intérieur\b",
        "de": r"\bdrinnen\b|\bim\s+haus\b",
        "it": r"\bdentro\b(?!\s+(?:d|il|la|le|i|gli|un))|\bal\s+chiuso\b",
        "pt": r"\blá\s+dentro\b|\bdentro\s+de\s+casa\b",
        "nl": r"\bbinnen(?=\s*(?:[.,;!?]|$|spelen|blijven|zitten|wachten|als\b))|\bbinnenshuis\b",
    },
    # the compass ("est", "este" also "is", "this": only after a preposition or "lado")
    "north": {
        "en": r"\bnorth(?:ern)?\b",
        "es": r"\bnorte\b",
        "fr": r"\bnord\b",
        "de": r"\bnord(?:en|seite)?\b|\bnördlich\w*",
        "it": r"\bnord\b",
        "pt": r"\bnorte\b",
        "nl": r"\bnoord(?:en|kant|zijde)?\b|\bnoordelijk\w*",
    },
    "south": {
        "en": r"\bsouth(?:ern)?\b",
        "es": r"\bsur\b",
        "fr": r"\bsud\b",
        "de": r"\bsüd(?:en|seite)?\b|\bsüdlich\w*",
        "it": r"\bsud\b",
        "pt": r"\bsul\b",
        "nl": r"\bzuid(?:en|kant|zijde)?\b|\bzuidelijk\w*",
    },
    "east": {
        "en": r"\beast(?:ern)?\b",
        "es": r"\b(?:al|del|lado)\s+este\b|\boriente\b",
        "fr": r"\b(?:l'|de\s+l'|à\s+l')est\b",
        "de": r"\bost(?:en|seite)?\b|\böstlich\w*",
        "it": r"\best\b",
        "pt": r"\bleste\b|\b(?:ao|do|lado)\s+este\b",
        "nl": r"\boost(?:en|kant|zijde)?\b|\boostelijk\w*",
    },
    "west": {
        "en": r"\bwest(?:ern)?\b",
        "es": r"\boeste\b",
        "fr": r"\bouest\b",
        "de": r"\bwest(?:en|seite)?\b|\bwestlich\w*",
        "it": r"\bovest\b",
        "pt": r"\boeste\b",
        "nl": r"\bwest(?:en|kant|zijde)?\b|\bwestelijk\w*",
    },
}
#: The axes: the sides a translation may swap one for another.
_AXES = (
    frozenset({"left", "right"}),
    frozenset({"up", "down"}),
    frozenset({"front", "back"}),
    frozenset({"outside", "inside"}),
    frozenset({"north", "south", "east", "west"}),
)
_SIDE_RES = {
    side: {lang: re.compile(p, re.IGNORECASE) for lang, p in by_lang.items()}
    for side, by_lang in _SIDES.items()
}


def sides(text: str, language: str) -> set[str]:
    """The sides ("left", "right", "up", "north" ...) ``text`` (in ``language``, as written)
    names."""
    return {
        side
        for side, by_language in _SIDE_RES.items()
        if language in by_language and by_language[language].search(text)
    }


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The side of ``source`` that ``translation`` swaps (both as written): one fact, or none."""
    said = sides(source, source_language)
    told = sides(translation, target_language)
    for axis in _AXES:
        ours, theirs = said & axis, told & axis
        if len(ours) == 1 and theirs and not ours & theirs:
            (side,) = ours
            return [Fact("side", side, side, ())]
        if len(ours) > 1:
            # both sides named, in the same order ("turn right; the garage is on your left" as
            # "vire à esquerda; ... à sua esquerda")
            first = _in_order(source, source_language, axis)
            second = _in_order(translation, target_language, axis)
            if len(first) == len(second) and first != second:
                side = next(a for a, b in zip(first, second, strict=True) if a != b)
                return [Fact("side", side, side, ())]
    return []


def _in_order(text: str, language: str, axis: frozenset[str]) -> list[str]:
    """The sides of ``axis`` that ``text`` names, in its order, one per mention."""
    found = {
        match.start(): side
        for side in sorted(axis)
        if language in _SIDE_RES[side]
        for match in _SIDE_RES[side][language].finditer(text)
    }
    return [found[at] for at in sorted(found)]
