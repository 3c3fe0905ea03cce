"""Before or after a time, and the start or the end of a period, which a translation must not
turn round (:func:`contradicted`): "antes de las ocho" translated "depois das oito", "vor dem
1. März" translated "after 1 March", "early next week" translated "Ende nächster Woche", "am
frühen Nachmittag" translated "in the late afternoon" passed the fact check before.

Read on the normalised texts (:func:`.translate_lexicons.normalise`: weekdays, months and
small numbers in the reader's English words), and by contradiction like the parts of the day
of :mod:`.translate_periods`: only a translation that says the other one and not the source's
loses the fact. "Before" and "after" count only before a time or a day (within two words: a
number, a weekday, a month, "noon", "tomorrow"), since "nach" is also "to" and "vor" "ago";
Dutch "voor" (also "for") is not read.
"""

from __future__ import annotations

import re

from privcloud.workloads import translate_negation
from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS
from privcloud.workloads.text.numbers import TEENS, UNITS

__all__ = ["contradicted"]

_NUMBER_WORDS_EN = [word for word, n in {**UNITS, **TEENS}.items() if 1 <= n <= 12]
#: Before or after a time or day, per language (on the normalised text: "antes de las ocho"
#: translated "depois das oito", "vor dem 1. März" translated "after 1 March"): the word, then
#: within two words a number, weekday, month or day word. Dutch "voor" (also "for") is left
#: out.
#: Meals and the start or end of something, which a time is often told by ("after lunch",
#: "avant les repas", "prima dell'inizio").
_MEALS = (
    r"lunch|dinner|breakfast|meals?|almuerzo|comidas?|cena|desayuno|déjeuner|dîner|repas"
    r"|mittagessen|abendessen|frühstück|essen|mahlzeit(?:en)?|pranzo|colazione|pasti|almoço"
    r"|jantar|refeições|refeição|diner|ontbijt|maaltijden|maaltijd|eten"
    r"|start|beginning|end|inicio|comienzo|final|début|fin|beginn|anfang|ende|inizio|fine"
    r"|início|fim|begin|einde"
    # events a time is told by ("vor der Trauung", "na de repetitie")
    r"|ceremony|wedding|operation|surgery|exam|meeting|departure|arrival|concert|rehearsal"
    r"|trauung|zeremonie|hochzeit|operation|prüfung|sitzung|besprechung|abfahrt|ankunft"
    r"|konzert|probe|unterricht|feier|ceremonie|bruiloft|operatie|examen|vergadering|vertrek"
    r"|aankomst|repetitie|les|feest"
)
#: Words an anchor does not pass over: another word of order or span ("from reception until
#: Thursday" is no "from Thursday").
_NOT_PASSED = (
    r"(?!(?:until|till|before|after|since|from|hasta|desde|antes|después|jusqu\S*|depuis|avant"
    r"|après|bis|ab|seit|vor|nach|fino|dopo|prima|dal|dalle|até|depois|tot|vanaf|sinds|na)\s)"
)
_ANCHOR = (
    rf"(?:{_NOT_PASSED}\S+\s+|\w+')?(?:{_NOT_PASSED}\S+\s+)?"
    rf"(?:\d|(?:noon|midnight|tomorrow|today|tonight|{_MEALS})\b|"
    + "|".join(name.capitalize() for name in WEEKDAYS)
    + "|"
    + "|".join(name.capitalize() for name in MONTHS)
    + "|"
    + "|".join(_NUMBER_WORDS_EN)
    + ")"
)
_ORDER: dict[str, dict[str, str]] = {
    "before": {
        "en": r"\bbefore",
        "es": r"\bantes",
        "fr": r"\bavant",
        "de": r"\b(?:vor|bevor)",
        "it": r"\bprima",
        "pt": r"\bantes",
        "nl": r"\b(?:vóór|voordat)",
    },
    "after": {
        "en": r"\bafter",
        "es": r"\bdespués",
        "fr": r"\baprès",
        "de": r"\bnach",
        "it": r"\bdopo",
        "pt": r"\b(?:depois|após)",
        "nl": r"\b(?:na|nadat)",
    },
}
#: Until a time or day, or from or since it ("hasta el lunes" translated "da lunedì"); a range
#: says both, and is read as neither.
_SPAN: dict[str, dict[str, str]] = {
    "until": {
        "en": r"\b(?:until|till)",
        "es": r"\bhasta",
        "fr": r"\bjusqu'(?:à|au|aux|at)",
        "de": r"\bbis",
        "it": r"\bfino\s+(?:a|al|alle|all'|at)",
        "pt": r"\baté",
        "nl": r"\b(?:tot|totdat)",
    },
    "since": {
        "en": r"\b(?:since|from|(?:starts?|begins?)\s+at)",
        "es": r"\b(?:desde|a\s+partir\s+del?|(?:empieza|empiezan|comienza|comienzan)\s+at)",
        "fr": r"\b(?:depuis|dès|à\s+partir\s+d[eu']|at\s+partir\s+d[eu']|commencen?t\s+at)",
        "de": r"\b(?:seit|ab|von|vom|(?:beginnt|beginnen|startet)\s+(?:at|um))",
        # ("da" before a count is "for": "una camera da 2 persone", "la tassa da 10 euro")
        "it": r"\b(?:da(?!\s+\d+\s+[a-zà-ú])|dal|dalla|dai|dalle|a\s+partire\s+da"
        r"|(?:inizia|iniziano|comincia)\s+at)",
        "pt": r"\b(?:desde|a\s+partir\s+d[eoa]s?|(?:começa|começam|inicia)\s+at)",
        "nl": r"\b(?:sinds|vanaf|van|(?:begint|beginnen|start)\s+at)",
    },
}
#: Where "before" and "after" are time words wherever they stand ("antes de salir", "avant de
#: partir", "prima di uscire"), the anchor is not needed; German "vor"/"nach" (also "ago" and
#: "to") and until/since keep it.
_FREE = frozenset({"en", "es", "fr", "it", "pt"})
#: German and Dutch words of order that are time words without a time after them: the
#: conjunctions ("bevor", "nachdem", "voordat", "nadat") and "after" before an article ("nach
#: dem Signalton", "na het eten"; "nach Berlin" is "to").
_ORDER_ALONE: dict[str, dict[str, str]] = {
    "before": {"de": r"\bbevor\b", "nl": r"\bvoordat\b"},
    "after": {"de": r"\bnachdem\b|\bnach\s+(?:dem|der)\b", "nl": r"\bnadat\b|\bna\s+(?:de|het)\b"},
}
_ORDER_RES, _SPAN_RES = (
    {
        order: {
            lang: re.compile(
                rf"{p}\b"
                if table is _ORDER and lang in _FREE
                else rf"{p}\s+{_ANCHOR}|" + _ORDER_ALONE.get(order, {}).get(lang, "(?!)"),
                re.IGNORECASE,
            )
            for lang, p in by_lang.items()
        }
        for order, by_lang in table.items()
    }
    for table in (_ORDER, _SPAN)
)
#: At the latest or at the earliest ("spätestens" translated "at the earliest").
_BOUNDS: dict[str, dict[str, str]] = {
    "at the latest": {
        "en": r"\bat\s+the\s+latest\b|\bno\s+later\s+than\b",
        "es": r"\b(?:a\s+más\s+tardar|como\s+muy\s+tarde|como\s+máximo)\b",
        "fr": r"\bau\s+plus\s+tard\b",
        "de": r"\bspätestens\b",
        "it": r"\b(?:al\s+più\s+tardi|entro)\b",
        "pt": r"\b(?:o\s+mais\s+tardar|no\s+máximo)\b",
        "nl": r"\b(?:uiterlijk|op\s+zijn\s+laatst)\b",
    },
    "at the earliest": {
        "en": r"\bat\s+the\s+earliest\b|\bno\s+earlier\s+than\b",
        "es": r"\bcomo\s+muy\s+pronto\b",
        "fr": r"\bau\s+plus\s+tôt\b",
        "de": r"\bfrühestens\b",
        "it": r"\bnon\s+prima\s+d[ie]",
        "pt": r"\bno\s+mínimo\b|\bo\s+mais\s+cedo\b",
        "nl": r"\b(?:op\s+zijn\s+vroegst|ten\s+vroegste)\b",
    },
}
#: Early or late (ahead of time, behind it, sooner, later): "in anticipo" translated
#: "atrasado", "plus tôt" translated "later". Spanish "tarde" not after "la", "por", "esta"
#: (the afternoon); Dutch "laat" only as "te laat" (else also "let").
_PUNCTUAL: dict[str, dict[str, str]] = {
    "early": {
        "en": r"\b(?:early|earlier|ahead\s+of\s+time|sooner)\b",
        "es": r"\b(?:temprano|con\s+antelación|más\s+pronto)\b",
        "fr": r"\b(?:en\s+avance|tôt)\b",
        "de": r"\b(?:früh|früher|zu\s+früh)\b",
        "it": r"\b(?:in\s+anticipo|presto|più\s+presto|un\s+po'\s*prima)(?!\w)",
        "pt": r"\b(?:cedo|adiantad[oa]s?|mais\s+cedo)\b",
        "nl": r"\b(?:vroeg|eerder|te\s+vroeg)\b",
    },
    "late": {
        "en": r"\b(?:late|later|behind\s+schedule|delayed)\b",
        "es": r"(?<!la\s)(?<!las\s)(?<!por\s)(?<!esta\s)\btarde\b|\bcon\s+retraso\b",
        "fr": r"\b(?:en\s+retard|tard)\b",
        "de": r"\b(?:spät|später|verspätet|zu\s+spät)\b",
        "it": r"\b(?:in\s+ritardo|tardi|più\s+tardi)\b",
        "pt": r"\b(?:atrasad[oa]s?|mais\s+tarde)\b|(?<!à\s)(?<!a\s)(?<!da\s)(?<!esta\s)\btarde\b",
        "nl": r"\b(?:te\s+laat|later)\b",
    },
}


#: The start or the end of a week, month or year, per language (on the normalised text, where
#: the lexicons made "fin de semana", "fine settimana", "fim de semana" "weekend"): "early next
#: week" translated "Ende nächster Woche".
_EDGES: dict[str, dict[str, str]] = {
    "start": {
        "en": r"\bearly\s+(?:next|this|last|in|morning|afternoon|evening)\b"
        r"|\b(?:beginning|start)\s+of\b",
        "es": r"\b(?:principios|comienzos|inicios?)\s+de\b|\bprimera\s+hora\b",
        "fr": r"\bdébut\b",
        "de": r"\banfang\b|\bzu\s+beginn\b|\bfrühen?\b",
        "it": r"\binizio\b|\bprimo\s+pomeriggio\b|\bprima\s+(?:mattina|serata)\b",
        "pt": r"\b(?:início|começo|princípio)\s+d[eoa]s?\b",
        "nl": r"\bbegin\b",
    },
    "end": {
        "en": r"\blate\s+(?:next|this|last|in|morning|afternoon|evening)\b|\bend\s+of\b",
        "es": r"\b(?:finales|fin)\s+de\b|\búltima\s+hora\b",
        "fr": r"\bfin\s+(?:de|du|des|d')",
        "de": r"\bende\b|\bspäten?\b",
        "it": r"\bfine\s+(?:di|del|della|dello|dei|delle|d')"
        r"|\btard[oa]\s+(?:pomeriggio|mattinata|serata|sera)\b",
        "pt": r"\b(?:final|fim)\s+d[eoa]s?\b",
        "nl": r"\beinde?\b",
    },
}


def _compiled(table: dict[str, dict[str, str]]) -> dict[str, dict[str, re.Pattern[str]]]:
    return {
        name: {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in by_lang.items()}
        for name, by_lang in table.items()
    }


_EDGE_RES = _compiled(_EDGES)
_BOUND_RES = _compiled(_BOUNDS)
_PUNCTUAL_RES = _compiled(_PUNCTUAL)


#: "Until after" and its kin: a denied one is "not before" ("Don't call until after 6 pm" as
#: "Ruf nicht vor 18 Uhr an").
_UNTIL_THEN = re.compile(
    r"\b(?:until|till|hasta|jusqu['\u2019]?|bis|fino\s+a|até|tot)\s+(?:after|después|après"
    r"|nach|dopo|depois|na)\b",
    re.IGNORECASE,
)


def _named(
    patterns: dict[str, dict[str, re.Pattern[str]]],
    text: str,
    language: str,
    *,
    undenied: bool = False,
    denied: bool = False,
) -> set[str]:
    """Which of ``patterns`` (per name, per language) ``text`` says; ``undenied``: not where a
    denial comes before it in its clause ("don't come before 9" is from 9 on); ``denied``:
    only there."""

    def counted(match: re.Match[str]) -> bool:
        if not (undenied or denied):
            return True
        return translate_negation.denied(text, language, match.start()) == denied

    return {
        name
        for name, by_language in patterns.items()
        if language in by_language and any(map(counted, by_language[language].finditer(text)))
    }


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The order (before, after) and edge of a period (start, end) of ``source`` that
    ``translation`` contradicts (both normalised; see the module docstring)."""
    lost = []
    for patterns, name, undenied in (
        (_EDGE_RES, "{} of the period", False),
        (_ORDER_RES, "{} the time", True),  # (before and after, apart from until and since:
        (_SPAN_RES, "{} the time", True),  # "dopo cena ... fino alle otto" says one of each)
        (_BOUND_RES, "{}", False),
        (_PUNCTUAL_RES, "{}", False),
    ):
        said = _named(patterns, source, source_language, undenied=undenied)
        told = _named(patterns, translation, target_language, undenied=undenied)
        if len(said) == 1 and told and not said & told:
            (which,) = said
            lost.append(Fact("relative", name.format(which), which, ()))
        elif undenied and not (_UNTIL_THEN.search(source) or _UNTIL_THEN.search(translation)):
            # both denied, the other way round ("Don't feed the dog after 8 pm" as "nicht vor
            # 20 Uhr"); not "not until after", which is "not before"
            said = _named(patterns, source, source_language, denied=True)
            told = _named(patterns, translation, target_language, denied=True)
            if len(said) == 1 and told and not said & told:
                (which,) = said
                lost.append(Fact("relative", f"not {name.format(which)}", which, ()))
    if not lost:  # a deadline as a start ("by Friday at the latest" as "a partir del viernes")
        said = _limits(source, source_language)
        told = _limits(translation, target_language)
        if len(said) == 1 and told and not said & told:
            (which,) = said
            lost.append(Fact("relative", f"{which} the time", which, ()))
    return lost


def _limits(text: str, language: str) -> set[str]:
    """Whether ``text`` says a time is an end ("until", "at the latest") or a start ("since",
    "from", "at the earliest")."""
    spans = _named(_SPAN_RES, text, language, undenied=True)
    bounds = _named(_BOUND_RES, text, language)
    # (a time something must happen before is its end, after its start: "before 15 September"
    # as "a partir de 15 de setembro")
    order = _named(_ORDER_RES, text, language, undenied=True)
    found = set()
    if "until" in spans or "at the latest" in bounds or "before" in order:
        found.add("until")
    if "since" in spans or "at the earliest" in bounds or "after" in order:
        found.add("since")
    return found
