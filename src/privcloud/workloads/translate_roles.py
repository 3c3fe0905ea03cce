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
dei soldi a mio fratello" translated "My brother lent some money to my father-in-law") and two
people named by their roles (:func:`.translate_people.roles`: "Le médecin a appelé le
pharmacien" translated "Il farmacista ha chiamato il medico") are read the same way.
"""

from __future__ import annotations

import re

from privcloud.workloads import exonyms, translate_kin, translate_people
from privcloud.workloads.grounding_facts import Fact

__all__ = ["contradicted", "people"]

_NAME_RE = re.compile(r"(?<![\w'\u2019-])[A-ZÀ-Ý][a-zà-ÿ]+(?![\w'\u2019-])")
#: A passive's agent or two people joined, in any language read: the order then says nothing.
_UNORDERED_RE = re.compile(
    r"\b(?:by|por|pelo|pela|pelos|pelas|par|von|vom|durch|da|dal|dalla|dallo|dai|dagli|dalle"
    r"|door|and|y|e|et|und|en|with|con|com|avec|mit|met|&)\b"
    # (or a clause's or sentence's end: "When the nurse arrives, the doctor will leave" may
    # come back with its clauses the other way round; not a comma before a denial, "X pays,
    # not Y")
    r"|[;:.!?]|,(?!\s*(?:not|nicht|niet|pas|non|no|não|and\s+not)\b)",
    re.IGNORECASE,
)
#: Either one, per language ("The doctor or the nurse"; Dutch "of" is "or").
_EITHER = {
    "en": r"or|nor|either|neither",
    "es": r"o|u|ni",
    "fr": r"ou|ni",
    "de": r"oder|noch|entweder|weder",
    "it": r"o|oppure|né",
    "pt": r"ou|nem",
    "nl": r"of|noch",
}
_EITHER_RES = {
    lang: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for lang, words in _EITHER.items()
}
#: Only articles or possessives between the two: one names the other ("a patient teacher",
#: "Our neighbour Anna").
_NEXT_TO_RE = re.compile(
    r"^\W*(?:(?:the|a|an|our|my|your|his|her|their|el|la|un|una|nuestra|nuestro|mi|tu|su|le"
    r"|les|notre|mon|ma|der|die|das|den|unser|unsere|mein|meine|il|lo|nostra|nostro|mio|mia|o"
    r"|um|uma|nosso|nossa|meu|minha|de|het|een|onze|ons|mijn)\s+)*\W*$",
    re.IGNORECASE,
)
#: A possessive between the two, right after the first or right before the second, per
#: language: "la mère de mon mari" is "my husband's mother" ("deve dois meses de renda ao
#: senhorio" is none, nor Dutch "de", an article: "De leerling heeft de leraar ...").
_OF = {
    "en": r"of",
    "es": r"de|del",
    "fr": r"de|du|des|d['\u2019]",
    "de": r"von|vom",
    "it": r"di|del|della|dello|dei|degli|delle|d['\u2019]",
    "pt": r"de|do|da|dos|das",
    "nl": r"van",
}
_DETERMINERS = (
    r"the|el|la|los|las|le|les|il|lo|gli|o|a|os|as|het|de|der|die|den|dem|mon|ma|mes|ton|ta"
    r"|son|sa|mi|tu|su|mio|mia|suo|sua|meu|minha|mijn|zijn|haar|my|his|her|their|our|your"
)
_OWNED_RES = {
    lang: re.compile(
        rf"^['\u2019]s?\b|\b(?:{words})\s*(?:(?:{_DETERMINERS})\s+){{0,2}}$", re.IGNORECASE
    )
    for lang, words in _OF.items()
}


_PLACE_BEFORE_RE = re.compile(
    r"\b(?:in|to|from|at|near|a|en|à|de|da|di|nach|naar|em|para|no|na|aus|von|uit|van|per"
    r"|verso|desde|hacia|vers|pour)\s+$",
    re.IGNORECASE,
)


def people(text: str, other: str) -> list[str]:
    """The capitalised words of ``text`` that ``other`` writes alike, places left out, in
    ``text``'s order, each once. A place is a city's name after a preposition in both texts
    ("in Zaragoza"), so "Luca ha prestato ..." keeps Luca a person though "to Luca" follows
    a preposition and Luca is also a city's name."""
    theirs = {m.group() for m in _NAME_RE.finditer(other)}
    found = [m.group() for m in _NAME_RE.finditer(text) if m.group() in theirs]
    return [
        name for name in dict.fromkeys(found) if not (_placed(name, text) and _placed(name, other))
    ]


def _placed(name: str, text: str) -> bool:
    """Whether ``name`` is a city's name that ``text`` puts after a preposition."""
    if exonyms.tokens(name) not in exonyms.cities():
        return False
    return any(
        _PLACE_BEFORE_RE.search(text[: m.start()])
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text)
    )


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
    # the parties: names both write alike, and relatives by their family words ("Mio suocero
    # ha prestato dei soldi a mio fratello", "Luca ha prestato la sua tenda a mio fratello")
    # (people named by their roles only where names and relatives are not two: "Mia sorella
    # accompagna il nonno dal medico" is between the sister and the grandfather)
    for by_role in (False, True):
        said = _parties(source, source_language, people(source, translation), by_role)
        told = _parties(translation, target_language, people(translation, source), by_role)
        keys_said, keys_told = [k for k, _ in said], [k for k, _ in told]
        if len(said) != 2:
            continue
        if sorted(keys_said) == sorted(keys_told) and keys_said != keys_told:
            words_said, words_told = [w for _, w in said], [w for _, w in told]
            languages = (source_language, target_language)
            return _turned(source, words_said, translation, words_told, keys_said, languages)
        return []
    return []


def _parties(text: str, language: str, names: list[str], by_role: bool) -> list[tuple[str, str]]:
    """The parties of ``text`` in order: each as its key (a name, a relative's label or, with
    ``by_role``, a role's) and the word that names it."""
    found = [(text.find(name), name, name) for name in names]
    found += [
        (text.find(word), label, word) for label, word in translate_kin.mentions(text, language)
    ]
    if by_role:
        found += [(at, label, word) for at, label, word in translate_people.roles(text, language)]
    return [(key, word) for _, key, word in sorted(found)]


#: Verbs whose subject in one language is the object in another ("Anna misses Marc": "Marc
#: manque à Anna"; "Anna likes Marc": "Marc piace ad Anna").
_CONVERSE_RE = re.compile(
    r"\b(?:manque|manquent|manca|mancano|fehlt|fehlen|piace|piacciono|gusta|gustan|plaît"
    r"|falta|faltan|apetece|agrada|gefällt|bevalt|mist|misses|miss|missed|likes?|liked"
    r"|encanta|encantan|importa|importan|interesa|interesan|interessa|interessano|intéresse"
    r"|mancou|gosta|gostam)\b",
    re.IGNORECASE,
)
#: An article or "of" before a capitalised word makes it a thing's name, not a party ("the
#: Zoom link", "el enlace de Zoom", "la contraseña de Netflix").
_THING_BEFORE_RE = re.compile(
    r"\b(?:the|el|la|los|las|le|les|il|lo|gli|der|die|das|dem|den|het|de|of|du|del|della|do|da"
    r"|van|von)\s+$",
    re.IGNORECASE,
)


def _turned(
    source: str,
    said: list[str],
    translation: str,
    told: list[str],
    parties: list[str],
    languages: tuple[str, str],
) -> list[Fact]:
    """One fact for two parties told the other way round, none where a passive's agent or a
    joining word stands between them in either text, where a verb turns its parties round
    itself, or where a name is a thing's."""
    for between, language in zip(
        (_between(source, *said), _between(translation, *told)), languages, strict=True
    ):
        owned = _OWNED_RES.get(language, _OWNED_RES["en"])
        either = _EITHER_RES.get(language, _EITHER_RES["en"])
        if _UNORDERED_RE.search(between) or owned.search(between.strip(" ") + " "):
            return []
        if either.search(between):
            return []
    if _NEXT_TO_RE.match(_between(source, *said)):  # one person: "Our neighbour Anna"
        return []
    if _CONVERSE_RE.search(source) or _CONVERSE_RE.search(translation):
        return []
    for text, words in ((source, said), (translation, told)):
        for word in words:
            at = text.find(word)
            named = word in parties  # (a relative or a role is keyed by its label)
            if named and word[:1].isupper() and at > 0 and _THING_BEFORE_RE.search(text[:at]):
                return []
    return [Fact("roles", f"{parties[0]} … {parties[1]}", " > ".join(parties), ())]
