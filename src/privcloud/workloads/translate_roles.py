"""Who does what to whom, between two named people, which a translation must not turn round
(:func:`contradicted`): "Anouk heeft Pieter gebeld" translated "Pieter called Anouk", "C'est
Julie qui a prêté sa voiture à Marc" translated "Fue Marc quien le prestó su coche a Julie"
passed the fact check before, which found both names in both texts.

Read on the texts as written: the names are the capitalised words both texts write alike
("Anouk", "Pieter"), not places (a city of :func:`.exonyms.cities`: "meeting Lucía in
Zaragoza" may be "en Zaragoza con Lucía"). Between two such names the languages read here
keep the order of the telling: the one who acts comes first in an active sentence of every
one of them. So a translation that names exactly the same two people in the other order has
turned the roles round, unless it or the source says the action in the passive ("was called
by", "von", "par", "por", "da", "door"), joins the two ("Anna and Marc", "mit") or makes one
the other's ("la mère de mon mari": "my husband's mother"): those sentences are not read.
Two relatives named by family words (:func:`.translate_kin.mentions`: "Mio suocero ha prestato
dei soldi a mio fratello" translated "My brother lent some money to my father-in-law") are
read the same way.
"""

from __future__ import annotations

import re

from privcloud.workloads import exonyms, translate_kin
from privcloud.workloads.grounding_facts import Fact

__all__ = ["contradicted", "people"]

_NAME_RE = re.compile(r"(?<![\w'\u2019-])[A-ZÀ-Ý][a-zà-ÿ]+(?![\w'\u2019-])")
#: A passive's agent or two people joined, in any language read: the order then says nothing.
_UNORDERED_RE = re.compile(
    r"\b(?:by|por|pelo|pela|par|von|vom|da|dal|dalla|door|and|y|e|et|und|en|with|con|com"
    r"|avec|mit|met|&"
    # or a possessive: "la mère de mon mari" is "my husband's mother"
    r"|of|de|di|du|des|del|della|do|dos|das|van)\b|['\u2019]s\b",
    re.IGNORECASE,
)


def people(text: str, other: str) -> list[str]:
    """The capitalised words of ``text`` that ``other`` writes alike, places left out, in
    ``text``'s order, each once."""
    theirs = {m.group() for m in _NAME_RE.finditer(other)}
    found = [m.group() for m in _NAME_RE.finditer(text) if m.group() in theirs]
    places = exonyms.cities()
    return [name for name in dict.fromkeys(found) if exonyms.tokens(name) not in places]


def _between(text: str, first: str, second: str) -> str:
    """The words of ``text`` between its first ``first`` and the next ``second``."""
    start = text.find(first)
    end = text.find(second, start + len(first))
    return text[start + len(first) : end] if 0 <= start < end else ""


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The roles of two people in ``source`` that ``translation`` turns round (both as
    written; see the module docstring): one fact, or none."""
    said = people(source, translation)
    told = people(translation, source)
    if len(said) == 2 and sorted(said) == sorted(told) and said != told:
        return _turned(source, said, translation, told, said)
    # two relatives ("Mio suocero ha prestato dei soldi a mio fratello")
    kin_said = translate_kin.mentions(source, source_language)
    kin_told = translate_kin.mentions(translation, target_language)
    labels_said, labels_told = [k for k, _ in kin_said], [k for k, _ in kin_told]
    if (
        len(kin_said) == 2
        and sorted(labels_said) == sorted(labels_told)
        and labels_said != labels_told
    ):
        return _turned(
            source, [w for _, w in kin_said], translation, [w for _, w in kin_told], labels_said
        )
    return []


def _turned(
    source: str, said: list[str], translation: str, told: list[str], parties: list[str]
) -> list[Fact]:
    """One fact for two parties told the other way round, none where a passive's agent or a
    joining word stands between them in either text."""
    if _UNORDERED_RE.search(_between(source, *said)) or _UNORDERED_RE.search(
        _between(translation, *told)
    ):
        return []
    return [Fact("roles", f"{parties[0]} … {parties[1]}", " > ".join(parties), ())]
