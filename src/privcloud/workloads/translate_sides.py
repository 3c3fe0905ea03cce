"""Left or right, which a translation must not swap (:func:`contradicted`): "3.º esquerdo"
(third floor, the flat on the left) translated "terzo piano a destra" passed the fact check
before, which read the floor's ordinal only.

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`, only where the word is a side: English "left" and
"right" after "on the", "to the", "turn", "keep", or before "-hand" or "side" ("right" alone
is also "correct" and "left" "went away"); Spanish "derecha", not "derecho" (a right, or
straight on); Portuguese "direita", and "direito" or "esquerdo" after an ordinal floor ("3.º
esquerdo"); French "droite", not "droit"; German and Dutch "links" and "rechts"; Italian
"destra" and "sinistra". Checked by contradiction: only a translation that says the other
side and not the source's loses it.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["contradicted", "sides"]

_EN = r"(?:(?:on|to)\s+(?:the|your)|turn|keep|bear)\s+{0}\b|\b{0}[\s-](?:hand|side)\b"
#: Per side, per language, the words that say it (regular expressions, any case).
_SIDES: dict[str, dict[str, str]] = {
    "left": {
        "en": _EN.format("left"),
        "es": r"\bizquierd[ao]s?\b",
        "fr": r"\bgauche\b",
        "de": r"\blinks\b|\blinken\b",
        "it": r"\bsinistr[ao]\b",
        "pt": r"\besquerd[ao]s?\b",
        "nl": r"\blinks\b|\blinker\b",
    },
    "right": {
        "en": _EN.format("right"),
        "es": r"\bderecha\b|\blado\s+derecho\b",
        "fr": r"\bdroite\b",
        "de": r"\brechts\b|\brechten\b",
        "it": r"\bdestr[ao]\b",
        "pt": r"\bdireita\b|\blado\s+direito\b|º\s*(?:direito|dto)\b",
        "nl": r"\brechts\b|\brechter\b",
    },
}
_SIDE_RES = {
    side: {lang: re.compile(p, re.IGNORECASE) for lang, p in by_lang.items()}
    for side, by_lang in _SIDES.items()
}


def sides(text: str, language: str) -> set[str]:
    """The sides ("left", "right") ``text`` (in ``language``, as written) names."""
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
    if len(said) != 1 or not told or said & told:
        return []
    (side,) = said
    return [Fact("side", side, side, ())]
