"""The names of a source sentence that its translation must keep, and the ways a faithful
translation may write them differently (see :mod:`privcloud.workloads.translate_facts`):
titles and particles are the translation's to write ("Sr. García" -> "Mr. García", "da
Milano" -> "from Milan"), a sentence's first word is no name on its own, a thing's name after
"the" keeps only its uncommon words, and a name the sentence uses as a place or a language may
be written as the target language names it (:func:`placed`, :mod:`.exonyms`).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from privcloud.workloads import exonyms
from privcloud.workloads.grounding_facts import Fact, name_tokens
from privcloud.workloads.text import vocabulary

__all__ = [
    "street_translated",
    "code_label",
    "common_start_left_out",
    "not_a_name",
    "placed",
    "thing_name",
    "titled_german_names",
    "untitled",
    "without_sentence_start",
]

#: Words before a name that make it a thing's name ("the Central Station"). Not possessives
#: ("your Visa card" names a brand) nor "that" ("tell him that Anna called").
_ARTICLES = frozenset({"the"})
#: Per language, words after which a name is a place or a language ("to", "en", "speaks");
#: with "at", which :func:`.translate_lexicons.normalise` writes for "à", "a las", "um" and the
#: like.
_PLACE_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset({"at", *words.split()})
    for lang, words in {
        "en": "to from in at via near into of through across toward towards around outside "
        "inside beyond reach reaches reached reaching visit "
        "visiting visited speak speaks spoke speaking",
        "es": "a en de desde hacia para por hasta habla hablo hablar",
        "fr": "à en de depuis vers au aux pour parle parler d' l'",
        "de": "nach in aus von bei zu über spricht sprechen",
        "it": "a in da di per verso parla parlare dal dalla dallo dall dai dagli dalle nel nella "
        "nello nell al alla allo all del della dello dell dall' nell' all' dell' sull' d' l'",
        "pt": "a à ao aos às em de para por pela pelo até fala falar no na nos nas",
        "nl": "naar in uit van vanuit vanaf bij via door spreekt spreken",
    }.items()
}
#: Articles passed over before a place ("to the United States", "a la India").
_SKIPPED = frozenset("the el la los las le les l der die das dem den il lo gli het".split())  # noqa: SIM905


#: Titles before a name, in the languages of :data:`.translate_lexicons.LEXICONS` (lower case,
#: without the dot): a translation writes its own ("Sr. García" -> "Mr. García"), so they are
#: no part of the name.
_TITLES = frozenset(
    """sr sra srta señor señora señorita don doña mme mlle m monsieur madame mademoiselle
    sig sigra signor signora signorina dott dottssa herr frau dr dra prof profa mevrouw meneer
    mevr dhr senhor senhora dona doutor doutora""".split()  # noqa: SIM905
)
_CONTRACTION_RE = re.compile(r"['\u2019](?:ll|ve|re|s|d|m)$|n['\u2019]t$")
_EN_TITLES = frozenset("mr mrs ms miss dr prof st".split())  # noqa: SIM905
#: Lower-case words a name of the source may start with that a translation writes its own
#: way ("da Milano" -> "from Milan"; "di Giulia Bianchi" -> "for Giulia Bianchi").
_LEADING_PARTICLES = frozenset("de da di del della dos das du des do van von".split())  # noqa: SIM905
#: A German name after a title: German capitalises every noun, so only these are names.
_GERMAN_TITLED_RE = re.compile(
    r"\b(?:Herr|Herrn|Frau|Dr\.|Prof\.|Familie|Fam\.)\s+"
    r"((?:[A-ZÄÖÜ][\wäöüß-]+)(?:\s+[A-ZÄÖÜ][\wäöüß-]+)?)"
)


def untitled(fact: Fact) -> Fact | None:
    """A name without its titles and leading particles (None when nothing else is left)."""
    words = fact.text.split()
    while words and (words[0].rstrip(".").lower() in _TITLES or words[0] in _LEADING_PARTICLES):
        words.pop(0)
    if len(words) == len(fact.text.split()):
        return fact
    rest = " ".join(words)
    return Fact("name", rest, " ".join(name_tokens(rest)), fact.keys) if rest else None


#: A compound of a name or acronym and a common noun ("de APK-keuring", "the EU-wide rule"):
#: a thing, not a name to keep (a translation says what it is: "la inspección técnica").
_COMPOUND_NOUN_RE = re.compile(r"-[a-zß-ÿ]{3,}$")


#: Capitals alone, two to four: an abbreviation a translation spells its own way ("CV" as
#: "curriculum", "IVA" as "VAT", "GP" as "huisarts").
_ACRONYM_RE = re.compile(r"[A-Z]{2,4}")


#: Holidays, which a translation names in its own words ("Natal" as "Noël", "Christmas" as
#: "Kerstmis"): folded tokens.
_HOLIDAYS = frozenset(
    """christmas xmas easter pentecost whitsun halloween thanksgiving hanukkah ramadan eid
    navidad nochebuena nochevieja pascua reyes noel paques pentecote toussaint reveillon
    weihnachten heiligabend ostern pfingsten silvester neujahr fasching karneval natale
    pasqua pasquetta capodanno ferragosto epifania befana natal pascoa carnaval carnevale
    kerstmis kerst pasen pinksteren oudejaarsavond nieuwjaar sinterklaas koningsdag""".split()  # noqa: SIM905
) | {"new year", "new years eve", "new year's eve", "ano nuevo", "nouvel an", "anno nuovo"}
#: What English capitalises as a name when it addresses family ("Tell Grandma that ..."): a
#: translation writes its own word ("oma").
_FAMILY = frozenset(
    "grandma grandpa granny grandad granddad nan nana mum mom mummy mommy dad daddy".split()  # noqa: SIM905
) | {"papa", "mama", "auntie", "oma", "opa", "omi", "opi", "mutti", "vati", "mami", "mamie"}


def not_a_name(fact: Fact) -> bool:
    """Whether name ``fact`` is something a translation writes its own way, not checked: an
    abbreviation (:data:`_ACRONYM_RE`), a compound with a common noun
    (:data:`_COMPOUND_NOUN_RE`), a holiday (:data:`_HOLIDAYS`), a family word (:data:`_FAMILY`)."""
    return (
        bool(_ACRONYM_RE.fullmatch(fact.text))
        or bool(_COMPOUND_NOUN_RE.search(fact.text))
        or exonyms.fold(fact.value) in _HOLIDAYS | _FAMILY
        or set(exonyms.fold(fact.value).split()) <= _HOLIDAYS
    )


def common_start_left_out(fact: Fact, text: str) -> Fact | None:
    """An English name that is one common word at a sentence's start is no name ("Lunch is
    at 12:30", "Breakfast is served from 7"); the reader's own list of such words is short."""
    word = _CONTRACTION_RE.sub("", fact.text.lower())  # "That'll", "We've"
    # of a name of several words, the first ("Flight BA 304 to Nice": "BA")
    word = word.split()[0] if " " in word else word
    if not any(vocabulary.is_common(w) for w in {word, word.removesuffix("s")}):
        return fact
    before = text[: max(0, text.find(fact.text))].split()
    if before and before[-1].rstrip(".").lower() in _TITLES | _EN_TITLES:
        return fact  # "Dr. Patel": the dot ends a title, not a sentence
    return without_sentence_start(fact, text)


def titled_german_names(sentence: str) -> list[Fact]:
    return [
        Fact("name", name, " ".join(name_tokens(name)))
        for name in _GERMAN_TITLED_RE.findall(sentence)
    ]


def thing_name(fact: Fact, text: str, target: str) -> Fact | None:
    """An English name after "the" names a thing ("the Travel Office", "the Central
    Station": Whisper capitalises such words), which a translation translates: only its words
    that are no common English word are looked for ("the Northwind Travel office": Northwind);
    None when all of them are. Only when every mention of it follows "the" ("the Rose Garden,
    tell Rose": Rose is a person too), and not for a place the translation may name its own
    way ("the United States": :func:`placed`)."""
    mentions = _preceding(fact.text, text)
    if not mentions or (
        any(word not in _ARTICLES for word in mentions) and not _institution(fact.text)
    ):
        return fact
    if exonyms.tokens(fact.text) in exonyms.table("en", target):
        return fact
    words = fact.text.split()
    if len(words) == 1 and exonyms.tokens(fact.text) in exonyms.cities():
        return fact  # a city's name before a noun ("the Porto office"), though "port" is common
    kept = [w for w in words if not vocabulary.is_common(w.strip(".,;:!?'\"()"))]
    if len(kept) == len(words):
        return fact
    if not kept:
        return None
    rest = " ".join(kept)
    return Fact("name", rest, " ".join(name_tokens(rest)), fact.keys)


#: Nouns that end the name of an institution made of common words ("Central Station", "City
#: Library"), which a translation translates ("Estación Central") after any word, not only
#: "the". Not streets, roads, squares or parks, whose names a translation keeps ("Elm Road").
_INSTITUTIONS = frozenset(
    """station library hospital office school church market hall museum stadium airport
    centre center theatre theater court""".split()  # noqa: SIM905
)


#: Kinds of street an English name ends with, which a translation may name in its own words
#: ("Rosewood Street": "la calle Rosewood").
_STREETS = frozenset("street road avenue lane square drive way close place".split())  # noqa: SIM905
#: The kinds of street in the languages read, folded.
_STREET_WORDS = re.compile(
    r"\b(?:calle|avenida|plaza|paseo|camino|rue|avenue|place|boulevard|chemin|allee|strasse"
    r"|straße|weg|platz|gasse|via|viale|piazza|corso|vicolo|rua|travessa|praca|praça|largo"
    r"|straat|laan|weg|plein|gracht|kade)\b|(?:strasse|straße|straat|weg|laan|plein)\b",
    re.IGNORECASE,
)


def street_translated(name: str, words: AbstractSet[str], translation: str) -> bool:
    """Whether an English street's name (``name``: "Rosewood Street") is held by a
    translation that keeps its own words (``words``, folded) and names a kind of street in its
    language ("la calle Rosewood"; not "Elm Street" for "Elm Road")."""
    parts = name.split()
    if not 2 <= len(parts) <= 3 or parts[-1].lower() not in _STREETS:
        return False
    own = [exonyms.fold(p) for p in parts[:-1]]
    return all(p in words for p in own) and bool(_STREET_WORDS.search(translation))


#: The first words of such a name that say no more than what it is ("Central Station", "City
#: Library"); "Union Station" and "Rose Hall" keep their names.
_GENERIC = frozenset(
    """central city main town public national general old new north south east west royal
    county state municipal""".split()  # noqa: SIM905
)


def _institution(name: str) -> bool:
    """Whether ``name`` is a generic word and one of :data:`_INSTITUTIONS` ("Central
    Station")."""
    words = [w.strip(".,;:!?'\"()").lower() for w in name.split()]
    return len(words) == 2 and words[0] in _GENERIC and words[1] in _INSTITUTIONS


def _preceding(name: str, text: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """The word before each whole-word mention of ``name`` in ``text`` (lower case; "" at the
    start), passing over the words of ``skip``."""
    found = []
    for match in re.finditer(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text):
        before = [w.lower() for w in re.findall(r"[\w']+", text[: match.start()])]
        while before and before[-1] in skip:
            before.pop()
        found.append(before[-1] if before else "")
    return found


def placed(fact: Fact, text: str, language: str) -> bool:
    """Whether ``text`` (in ``language``, normalised) uses name ``fact`` as a place or a
    language: a word of :data:`_PLACE_WORDS` before some mention of it ("to Lisbon", "en
    Londres", "speaks Polish"), articles passed over, or a city's article ("The Hague").
    Only such a name may be written as the translation's language names it
    (:mod:`privcloud.workloads.exonyms`)."""
    if (
        exonyms.is_territory(fact.text, language) or exonyms.is_language(fact.text, language)
    ) and not any(word in _PERSON_CUES for word in _preceding(fact.text, text)):
        return True  # a country or a language wherever it stands ("Italy beat Spain")
    cues = _PLACE_WORDS.get(language, frozenset())
    before = _preceding(fact.text, text)
    if any(exonyms.tokens(f"{word} {fact.text}") in exonyms.cities() for word in before if word):
        return True  # a city named with its article ("The Hague office", "La Haye")
    if any(word in cues for word in _preceding(fact.text, text, _SKIPPED)):
        return True
    if any(_SPEAK_RE.match(word) for word in _preceding_words(fact.text, text, 3)):
        return True  # a language a few words after its verb ("spreken nog geen Nederlands")
    # a country or city beside another ("from Portugal, not Spain", "Portugal y España")
    return any(
        exonyms.tokens(other) in exonyms.cities() or exonyms.is_territory(other, language)
        for other in _coordinated(fact.text, text)
    )


#: Words before a name that make it a person's, though it is also a country's ("this is
#: Jordan", "ask Chad").
_PERSON_CUES = frozenset(
    """is am i'm it's named called dear hi hello hey ask tell mr mrs ms dr soy es sono sou ist
    bin heet""".split()  # noqa: SIM905
)


#: Words that join two places ("Portugal, not Spain", "France and Italy"), any language read.
_JOINING = frozenset(
    "and or not nor y o ni no et ou pas und oder nicht e né non ou não nem en of niet".split()  # noqa: SIM905
)


#: The verbs of speaking a language, in every language read.
_SPEAK_RE = re.compile(
    r"(?:speak|speaks|spoke|speaking|habla|hablo|hablan|hablar|parle|parlent|parler|spricht"
    r"|sprechen|spreche|parla|parlano|parlare|fala|falam|falar|spreekt|spreken|spreek)$"
)


def _preceding_words(name: str, text: str, count: int) -> list[str]:
    """The ``count`` words before each mention of ``name`` in ``text`` (lower case)."""
    found = []
    for match in re.finditer(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text):
        found += [w.lower() for w in re.findall(r"[\w']+", text[: match.start()])[-count:]]
    return found


def _coordinated(name: str, text: str) -> list[str]:
    """The capitalised word joined to each mention of ``name`` in ``text`` by a word of
    :data:`_JOINING` ("Portugal" for "Spain" in "from Portugal, not Spain")."""
    found = []
    for match in re.finditer(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text):
        words = re.findall(r"[\w']+", text[: match.start()])
        while words and words[-1].lower() in _SKIPPED:
            words.pop()
        if len(words) >= 2 and words[-1].lower() in _JOINING and words[-2][:1].isupper():
            found.append(words[-2])
    return found


def without_sentence_start(fact: Fact, text: str) -> Fact | None:
    at = text.find(fact.text)
    # (Dutch "'s Nachts", "'s Morgens" open a sentence with their "'s")
    before = re.sub(r"(?:^|\s)['\u2019]s$", "", text[:at].rstrip()).rstrip()
    if at < 0 or (before and before[-1] not in '.!?¿¡:;"«»“”-\u2013\u2014'):
        return fact
    last = before[:-1].split()[-1:] if before.endswith(".") else []
    if last and last[0].lower() in _TITLES | _EN_TITLES:
        return fact  # "Dra. Fernanda Lopes": the dot ends a title, not a sentence
    rest = fact.text.split(None, 1)[1] if " " in fact.text else ""
    # (the rest's own tokens: "C'est Mathieu" is "Mathieu", not "est mathieu")
    return Fact("name", rest, " ".join(name_tokens(rest)), fact.keys) if rest else None


#: What follows a code's label: a code of digits and letters ("Flat 3B", "Gate B12"), or digits
#: that end the phrase ("Room 12.", "Room 12, second floor"), not a count of something ("Tell
#: Mark 3 people", "pay Bill 50 euros").
_CODE_AFTER_RE = re.compile(r"\s+(?:[A-Z]\d+[A-Za-z]?|\d+[A-Za-z])\b|\s+\d+(?=\s*(?:$|[,.;:!?)]))")


def code_label(fact: Fact, text: str, language: str) -> bool:
    """Whether name ``fact`` is part of a code ("SPRING" of "SPRING20") or, in English, a
    common word that labels one ("Flat 3B", "Room 12"; not "via Garibaldi 45"): a translation
    writes the label its own way ("appartement 3B"), and the code is checked on its own
    (:mod:`.translate_codes`)."""
    at = text.find(fact.text)
    if at < 0:
        return False
    after = text[at + len(fact.text) :]
    if after[:1].isdigit():
        return True
    return (
        language == "en"
        and " " not in fact.text
        and vocabulary.is_common(fact.text.lower())
        and bool(_CODE_AFTER_RE.match(after))
    )
