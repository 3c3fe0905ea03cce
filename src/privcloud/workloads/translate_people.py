"""People named by their role ("the tenant", "le médecin", "der Vermieter"), in English and the
languages of :data:`.translate_lexicons.LEXICONS`, so that who does what to whom between two of
them can be read like between two names (:mod:`.translate_roles`): "O inquilino ainda deve
dois meses de renda ao senhorio" translated "Il proprietario deve ancora due mesi d'affitto
all'inquilino" passed the fact check before, which read roles between names and relatives
only.

One label per role, its words in each language (lower case, whole words, singular and
plural, both sexes). A word with another common sense is left out (Spanish and Portuguese
"propietario" is the landlord only beside a tenant: it is read, as the owner who lets; Dutch
"arts" is a doctor, English "arts" is not read in English).
"""

from __future__ import annotations

import re

__all__ = ["roles"]

#: Per role, per language, its words (regular expressions, lower case).
_ROLES: dict[str, dict[str, str]] = {
    "tenant": {
        "en": r"tenants?|lodgers?",
        "es": r"inquilin[oa]s?",
        "fr": r"locataires?",
        "de": r"mieter(?:in|innen|n)?",
        "it": r"inquilin[oaie]",
        "pt": r"inquilin[oa]s?",
        "nl": r"huurders?",
    },
    "landlord": {
        "en": r"landlords?|landlad(?:y|ies)",
        "es": r"caser[oa]s?|arrendador(?:a|es)?|propietari[oa]s?",
        "fr": r"propriétaires?|bailleu(?:r|rs|resse)",
        "de": r"vermieter(?:in|innen|n)?",
        "it": r"proprietari[oa]|padron[ei]\s+di\s+casa",
        "pt": r"senhori[oa]s?|proprietári[oa]s?",
        "nl": r"verhuurders?|huisbaas",
    },
    "doctor": {
        "en": r"doctors?|physicians?",
        "es": r"médic[oa]s?|doctor(?:a|es)?",
        "fr": r"médecins?|docteurs?",
        "de": r"ärzt(?:in|innen|e)?|arzt",
        "it": r"medic[oi]|dottor(?:e|essa|i)",
        "pt": r"médic[oa]s?",
        "nl": r"arts(?:en)?|dokters?|huisarts(?:en)?",
    },
    "pharmacist": {
        "en": r"pharmacists?|chemists?",
        "es": r"farmacéutic[oa]s?",
        "fr": r"pharmacien(?:ne)?s?",
        "de": r"apotheker(?:in|innen)?",
        "it": r"farmacist[aie]",
        "pt": r"farmacêutic[oa]s?",
        "nl": r"apothekers?",
    },
    "patient": {
        # (English "patient" is also an adjective: a party only after a determiner)
        "en": r"(?:(?<=the\s)|(?<=a\s)|(?<=my\s)|(?<=your\s)|(?<=our\s)|(?<=his\s)|(?<=her\s))"
        r"patients?",
        "es": r"pacientes?",
        "fr": r"patiente?s?",
        "de": r"patient(?:in|innen|en)?",
        "it": r"pazient[ei]",
        "pt": r"pacientes?",
        "nl": r"patiënt(?:e|en)?",
    },
    "nurse": {
        "en": r"nurses?",
        "es": r"enfermer[oa]s?",
        "fr": r"infirmi(?:er|ère)s?",
        "de": r"pfleger(?:in|innen)?|krankenschwestern?",
        "it": r"infermier[eai]",
        "pt": r"enfermeir[oa]s?",
        "nl": r"verpleegkundigen?|verpleegsters?",
    },
    "teacher": {
        "en": r"teachers?",
        "es": r"profesor(?:a|es|as)?|maestr[oa]s?",
        "fr": r"professeurs?|profs?|enseignante?s?|institut(?:eur|rice)s?",
        "de": r"lehrer(?:in|innen)?",
        "it": r"insegnant[ei]|professor(?:e|essa|i)|maestr[aoie]",
        "pt": r"professor(?:a|es|as)?",
        "nl": r"leraar|leraren|lerares|docent(?:e|en)?",
    },
    "pupil": {
        "en": r"pupils?|students?",
        "es": r"alumn[oa]s?|estudiantes?",
        "fr": r"élèves?|étudiante?s?",
        "de": r"schüler(?:in|innen)?|student(?:in|innen|en)?",
        "it": r"alunn[oaie]|student(?:e|essa|i)|allievi|allievo",
        "pt": r"alun[oa]s?|estudantes?",
        "nl": r"leerling(?:en)?|student(?:e|en)?",
    },
    "buyer": {
        "en": r"buyers?|purchasers?",
        "es": r"comprador(?:a|es|as)?",
        "fr": r"acheteu(?:r|se)s?",
        "de": r"käufer(?:in|innen)?",
        "it": r"acquirent[ei]|compratore",
        "pt": r"comprador(?:a|es|as)?",
        "nl": r"kopers?",
    },
    "seller": {
        "en": r"sellers?|vendors?",
        "es": r"vendedor(?:a|es|as)?",
        "fr": r"vendeu(?:r|se)s?",
        "de": r"verkäufer(?:in|innen)?",
        "it": r"venditor[ei]|venditrice",
        "pt": r"vendedor(?:a|es|as)?",
        "nl": r"verkopers?",
    },
    "employer": {
        "en": r"employers?|boss(?:es)?",
        "es": r"jef[ea]s?",
        "fr": r"patron(?:ne)?s?|employeurs?",
        "de": r"chef(?:in)?|arbeitgeber(?:in)?",
        "it": r"capo|datore\s+di\s+lavoro",
        "pt": r"chefes?|patr(?:ão|oa)",
        "nl": r"baas|werkgevers?",
    },
    "employee": {
        "en": r"employees?",
        "es": r"emplead[oa]s?",
        "fr": r"employée?s?|salariée?s?",
        "de": r"angestellten?|mitarbeiter(?:in|innen)?",
        "it": r"dipendent[ei]|impiegat[oaie]",
        "pt": r"funcionári[oa]s?",
        "nl": r"werknemers?|medewerkers?",
    },
    "driver": {
        "en": r"drivers?",
        "es": r"conductor(?:a|es|as)?|chóferes|chófer",
        "fr": r"conducteurs?|conductrices?|chauffeurs?",
        "de": r"fahrer(?:in|innen)?",
        "it": r"autist[aie]|conducent[ei]",
        "pt": r"motoristas?",
        "nl": r"chauffeurs?|bestuurders?",
    },
    "passenger": {
        "en": r"passengers?",
        "es": r"pasajer[oa]s?",
        "fr": r"passag(?:er|ère)s?",
        "de": r"fahrgast|fahrgäste|passagier(?:in|e)?",
        "it": r"passegger[oaie]",
        "pt": r"passageir[oa]s?",
        "nl": r"passagiers?",
    },
    "neighbour": {
        "en": r"neighbou?rs?",
        "es": r"vecin[oa]s?",
        "fr": r"voisine?s?",
        "de": r"nachbar(?:in|innen|n)?",
        # ("vicino" alone is also "near": a neighbour after a possessive or before "di casa")
        "it": r"(?:mi[oae]|miei|tu[oae]|tuoi|su[oae]|suoi|nostr[oaie]|vostr[oaie])\s+vicin[oaie]"
        r"|vicin[oaie]\s+di\s+casa",
        "pt": r"vizinh[oa]s?",
        "nl": r"buurman|buurvrouw|buren",
    },
    "customer": {
        "en": r"customers?|clients?",
        "es": r"clientes?",
        "fr": r"cliente?s?",
        "de": r"kund(?:e|in|en|innen)",
        "it": r"client[ei]",
        "pt": r"clientes?",
        "nl": r"klant(?:en)?",
    },
    "lawyer": {
        "en": r"lawyers?|solicitors?|attorneys?",
        "es": r"abogad[oa]s?",
        "fr": r"avocate?s?",
        "de": r"anwalt|anwältin|anwälte|rechtsanwalt|rechtsanwältin",
        "it": r"avvocat[oi]|avvocatessa",
        "pt": r"advogad[oa]s?",
        "nl": r"advocaa?t(?:en)?",
    },
    "coach": {
        "en": r"coach(?:es)?|trainers?",
        "es": r"entrenador(?:a|es|as)?",
        "fr": r"entraîneu(?:r|se)s?",
        "de": r"trainer(?:in|innen)?",
        "it": r"allenator[ei]|allenatrice",
        "pt": r"treinador(?:a|es|as)?",
        "nl": r"trainers?|coach(?:es)?",
    },
    "player": {
        "en": r"players?",
        "es": r"jugador(?:a|es|as)?",
        "fr": r"joueu(?:r|se)s?",
        "de": r"spieler(?:in|innen)?",
        "it": r"giocator[ei]|giocatrice",
        "pt": r"jogador(?:a|es|as)?",
        "nl": r"spelers?|speelsters?",
    },
    "referee": {
        "en": r"referees?",
        "es": r"árbitr[oa]s?",
        "fr": r"arbitres?",
        "de": r"schiedsrichter(?:in)?",
        "it": r"arbitr[oi]",
        "pt": r"árbitr[oa]s?",
        "nl": r"scheidsrechters?",
    },
    "mechanic": {
        "en": r"mechanics?",
        "es": r"mecánic[oa]s?",
        "fr": r"mécanicien(?:ne)?s?|garagistes?",
        "de": r"mechaniker(?:in)?",
        "it": r"meccanic[oi]",
        "pt": r"mecânic[oa]s?",
        "nl": r"monteurs?",
    },
    "apprentice": {
        "en": r"apprentices?|trainees?",
        "es": r"aprendic(?:es)?|aprendiz",
        "fr": r"apprentie?s?",
        "de": r"lehrling(?:e)?|azubis?|auszubildenden?",
        "it": r"apprendist[aie]",
        "pt": r"aprendiz(?:es)?|estagiári[oa]s?",
        "nl": r"stagiairs?|leerling-\w+",
    },
    "plumber": {
        "en": r"plumbers?",
        "es": r"fontaner[oa]s?|plomer[oa]s?",
        "fr": r"plombiers?",
        "de": r"klempner(?:in)?|installateur(?:in)?",
        "it": r"idraulic[oi]",
        "pt": r"canalizador(?:a|es)?|encanador(?:a|es)?",
        "nl": r"loodgieters?",
    },
    "electrician": {
        "en": r"electricians?",
        "es": r"electricistas?",
        "fr": r"électriciens?",
        "de": r"elektriker(?:in)?",
        "it": r"elettricist[aie]",
        "pt": r"eletricistas?|electricistas?",
        "nl": r"elektriciens?",
    },
    "librarian": {
        "en": r"librarians?",
        "es": r"bibliotecari[oa]s?",
        "fr": r"bibliothécaires?",
        "de": r"bibliothekar(?:in|innen|e)?",
        "it": r"bibliotecari[oa]",
        "pt": r"bibliotecári[oa]s?",
        "nl": r"bibliothecaris(?:sen)?|bibliothecaresse",
    },
    "vet": {
        "en": r"vets?|veterinarians?",
        "es": r"veterinari[oa]s?",
        "fr": r"vétérinaires?",
        "de": r"tierärzt(?:in|e)?|tierarzt",
        "it": r"veterinari[oa]",
        "pt": r"veterinári[oa]s?",
        "nl": r"dierenartsen|dierenarts",
    },
    "dentist": {
        "en": r"dentists?",
        "es": r"dentistas?",
        "fr": r"dentistes?",
        "de": r"zahnärzt(?:in|e)?|zahnarzt",
        "it": r"dentist[aie]",
        "pt": r"dentistas?",
        "nl": r"tandartsen|tandarts",
    },
    "hairdresser": {
        "en": r"hairdressers?|barbers?",
        "es": r"peluquer[oa]s?",
        "fr": r"coiffeu(?:r|se)s?",
        "de": r"friseur(?:in|e)?|frisör(?:in)?",
        "it": r"parrucchier[eai]",
        "pt": r"cabeleireir[oa]s?",
        "nl": r"kappers?",
    },
    "babysitter": {
        "en": r"babysitters?|nann(?:y|ies)",
        "es": r"niñer[oa]s?|canguros?",
        "fr": r"baby-sitters?|nounous?",
        "de": r"babysitter(?:in)?",
        "it": r"babysitter|tat[ae]",
        "pt": r"babás?",
        "nl": r"oppas",
    },
    "waiter": {
        "en": r"waiters?|waitress(?:es)?",
        "es": r"camarer[oa]s?",
        "fr": r"serveu(?:r|se)s?",
        "de": r"kellner(?:in|innen)?",
        "it": r"camerier[eaio]",
        "pt": r"garç(?:om|ons|onete)|empregad[oa]s?\s+de\s+mesa",
        "nl": r"obers?|serveersters?",
    },
}
_ROLE_RES = {
    role: {
        lang: re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)
        for lang, words in by_language.items()
    }
    for role, by_language in _ROLES.items()
}


def roles(text: str, language: str) -> list[tuple[int, str, str]]:
    """The roles ``text`` (in ``language``, as written) names: each as the position of the word
    that names it first, its label and that word, in the order of the words."""
    found = []
    for role, by_language in _ROLE_RES.items():
        pattern = by_language.get(language)
        if pattern is not None and (match := pattern.search(text)) is not None:
            found.append((match.start(), role, match.group()))
    return sorted(found)
