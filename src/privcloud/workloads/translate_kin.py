"""Which relative, a son or a daughter, a brother or a sister, which a translation must not
change (:func:`contradicted`): "pela inscrição do filho" translated "für die Anmeldung ihrer
Tochter" passed the fact check before, which read no family words.

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`: per relation (a child, a sibling, a parent, a
grandparent, an uncle or aunt, a spouse), its male and female words. A masculine plural that
also means both ("hijos", "figli", "filhos", "padres", "pais", "hermanos", "irmãos") is read
as neither, and so are words with another common sense in their language (German "Mann" and
"Frau", Dutch "man" and "vrouw"; French "femme", Spanish "mujer" and Portuguese "mulher" are a
wife only after a possessive). Checked by contradiction: only a translation that names the
relation with the other sex, and not the source's, loses it.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["contradicted", "mentions", "relatives"]

#: Per relation, per sex, per language, the words that say it (lower case, whole words).
_KIN: dict[str, dict[str, dict[str, str]]] = {
    "child": {
        "male": {
            "en": "sons?",
            "es": "hijo",
            "fr": "fils",
            "de": "sohn|söhne",
            "it": "figlio",
            "pt": "filho",
            "nl": "zoon|zonen|zoons",
        },
        "female": {
            "en": "daughters?",
            "es": "hijas?",
            "fr": "filles?",
            "de": "tochter|töchter",
            "it": "figli[ae]",
            "pt": "filhas?",
            "nl": "dochters?",
        },
    },
    "sibling": {
        "male": {
            "en": "brothers?",
            "es": "hermano",
            "fr": "frères?",
            "de": "bruder|brüder",
            "it": "fratell[oi]",
            "pt": "irmão",
            "nl": "broers?",
        },
        "female": {
            "en": "sisters?",
            "es": "hermanas?",
            "fr": "s(?:œ|oe)urs?",
            "de": "schwestern?",
            "it": "sorell[ae]",
            "pt": "irmãs?",
            "nl": "zus(?:sen)?|zusters?",
        },
    },
    "parent": {
        "male": {
            "en": "father|dad|daddy",
            "es": "padre|papá",
            "fr": "père|papa",
            "de": "vater|papa",
            "it": "padre|papà",
            "pt": "pai",
            "nl": "vader|papa|pap",
        },
        "female": {
            "en": "mother|mum|mom|mummy",
            "es": "madre|mamá",
            "fr": "mère|maman",
            "de": "mutter|mama",
            "it": "madre|mamma",
            "pt": "mãe",
            "nl": "moeder|mama|mam",
        },
    },
    "grandparent": {
        "male": {
            "en": "grandfather|grandpa|grandad",
            "es": "abuelo",
            "fr": "grand-père|papy",
            "de": "großvater|opa",
            "it": "nonno",
            "pt": "avô",
            "nl": "grootvader|opa",
        },
        "female": {
            "en": "grandmother|grandma|granny",
            "es": "abuela",
            "fr": "grand-mère|mamie",
            "de": "großmutter|oma",
            "it": "nonna",
            "pt": "avó",
            "nl": "grootmoeder|oma",
        },
    },
    "uncle or aunt": {
        "male": {
            "en": "uncles?",
            "es": "tío",
            "fr": "oncles?",
            "de": "onkel",
            "it": "zio",
            "pt": "tio",
            "nl": "ooms?",
        },
        "female": {
            "en": "aunts?|auntie",
            "es": "tías?",
            "fr": "tantes?",
            "de": "tanten?",
            "it": "zi[ae]",
            "pt": "tias?",
            "nl": "tantes?",
        },
    },
    "nephew or niece": {
        "male": {
            "en": "nephews?",
            "es": "sobrino",
            "fr": "neveux?",
            "de": "neffen?",
            "it": "nipote\\s+maschio",
            "pt": "sobrinho",
            "nl": "neef|neven",
        },
        "female": {
            "en": "nieces?",
            "es": "sobrinas?",
            "fr": "nièces?",
            "de": "nichten?",
            "it": "nipote\\s+femmina",
            "pt": "sobrinhas?",
            "nl": "nicht(?:en|je|jes)?",
        },
    },
    "grandchild": {
        "male": {
            "en": "grandsons?",
            "es": "nieto",
            "fr": "petit-fils",
            "de": "enkel(?:sohn)?",
            "pt": "neto",
            "nl": "kleinzoons?",
        },
        "female": {
            "en": "granddaughters?",
            "es": "nietas?",
            "fr": "petites?-filles?",
            "de": "enkelin(?:nen)?|enkeltochter",
            "pt": "netas?",
            "nl": "kleindochters?",
        },
    },
    "parent-in-law": {
        "male": {
            "en": "father-in-law",
            "es": "suegro",
            "fr": "beau-père",
            "de": "schwiegervater",
            "it": "suocero",
            "pt": "sogro",
            "nl": "schoonvader",
        },
        "female": {
            "en": "mother-in-law",
            "es": "suegra",
            "fr": "belle-mère",
            "de": "schwiegermutter",
            "it": "suocera",
            "pt": "sogra",
            "nl": "schoonmoeder",
        },
    },
    # (French "beau-père", "belle-mère" are also a parent-in-law: read as both)
    "step-parent": {
        "male": {
            "en": "step-?fathers?",
            "es": "padrastros?",
            "fr": "beau-père",
            "de": "stiefvater|stiefväter",
            "it": "patrign[oi]",
            "pt": "padrastos?",
            "nl": "stiefvaders?",
        },
        "female": {
            "en": "step-?mothers?",
            "es": "madrastras?",
            "fr": "belle-mère",
            "de": "stiefmutter|stiefmütter",
            "it": "matrign[ae]",
            "pt": "madrastas?",
            "nl": "stiefmoeders?",
        },
    },
    "sibling-in-law": {
        "male": {
            "en": "brothers?-in-law",
            "es": "cuñado",
            "fr": "beaux?-frères?",
            "de": "schwager|schwäger",
            "it": "cognato",
            "pt": "cunhado",
            "nl": "zwagers?",
        },
        "female": {
            "en": "sisters?-in-law",
            "es": "cuñadas?",
            "fr": "belles?-s(?:œ|oe)urs?",
            "de": "schwägerin(?:nen)?",
            "it": "cognat[ae]",
            "pt": "cunhadas?",
            "nl": "schoonzus(?:sen)?",
        },
    },
    "bride or groom": {
        "male": {
            "en": "groom|bridegroom",
            "es": "novio",
            "fr": "marié",
            "de": "bräutigam",
            "it": "sposo",
            "pt": "noivo",
            "nl": "bruidegom",
        },
        "female": {
            "en": "bride",
            "es": "novia",
            "fr": "mariée",
            "de": "braut",
            "it": "sposa",
            "pt": "noiva",
            "nl": "bruid",
        },
    },
    "cousin": {
        "male": {
            "es": "primo",
            "fr": "cousin",
            "de": "cousin|vetter",
            "it": "cugino",
            "pt": "primo",
            "nl": "neef|neven",  # (also a nephew: read as both)
        },
        "female": {
            "es": "primas?",
            "fr": "cousines?",
            "de": "cousine|base",
            "it": "cugin[ae]",
            "pt": "primas?",
            "nl": "nicht(?:en)?",
        },
    },
    "spouse": {
        "male": {
            "en": "husband",
            "es": "marido|esposo",
            "fr": "mari",
            "it": "marito",
            "pt": "marido",
            "nl": "echtgenoot",
        },
        "female": {
            "en": "wife",
            "es": r"esposa|(?<=\b(?:mi|tu|su)\s)mujer",
            "fr": r"(?<=\b(?:ma|ta|sa)\s)femme",
            "it": "moglie",
            "pt": r"esposa|(?:(?<=\bminha\s)|(?<=\b(?:tua|sua)\s))mulher",
            "nl": "echtgenote",
        },
    },
}
_KIN_RES = {
    relation: {
        sex: {
            lang: re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)
            for lang, words in by_language.items()
        }
        for sex, by_language in by_sex.items()
    }
    for relation, by_sex in _KIN.items()
}


def relatives(text: str, language: str) -> dict[str, set[str]]:
    """Per relation ``text`` (in ``language``, as written) names, the sexes it names it with."""
    found: dict[str, set[str]] = {}
    for relation, by_sex in _KIN_RES.items():
        for sex, by_language in by_sex.items():
            pattern = by_language.get(language)
            if pattern is not None and pattern.search(text):
                found.setdefault(relation, set()).add(sex)
    return found


def mentions(text: str, language: str) -> list[tuple[str, str]]:
    """The relatives ``text`` (in ``language``, as written) names, each as its label ("male
    sibling") and the word that names it first, in the order of those words."""
    found: list[tuple[int, str, str]] = []
    for relation, by_sex in _KIN_RES.items():
        for sex, by_language in by_sex.items():
            pattern = by_language.get(language)
            if pattern is not None and (match := pattern.search(text)) is not None:
                found.append((match.start(), f"{sex} {relation}", match.group()))
    # a word of two relations ("beau-père") is one relative, named by the first
    first = {at: (label, word) for at, label, word in sorted(found, reverse=True)}
    return [first[at] for at in sorted(first)]


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The relative of ``source`` that ``translation`` turns into the other sex (both as
    written; see the module docstring): one fact, or none."""
    told = relatives(translation, target_language)
    said = relatives(source, source_language)
    for relation, sexes in said.items():
        if len(sexes) == 1 and told.get(relation) and not sexes & told[relation]:
            (sex,) = sexes
            return [Fact("kin", f"{sex} {relation}", f"{sex} {relation}", ())]
    # one relative each, of another kind ("ma belle-mère" as "my sister-in-law")
    ours, theirs = mentions(source, source_language), mentions(translation, target_language)
    if len(ours) == 1 and len(theirs) == 1 and not said.keys() & told.keys():
        (label, _), (other, _) = ours[0], theirs[0]
        if label.split(" ", 1)[0] == other.split(" ", 1)[0]:  # the same sex, another relation
            return [Fact("kin", label, label, ())]
    # as many relatives each, one of them of another kind ("My granddaughter ... with her
    # father" as "A minha neta ... com o avô")
    missing = said.keys() - told.keys()
    if len(ours) == len(theirs) > 1 and missing and told.keys() - said.keys():
        relation = min(missing)
        label = f"{'/'.join(sorted(said[relation]))} {relation}"
        return [Fact("kin", label, label, ())]
    return []
