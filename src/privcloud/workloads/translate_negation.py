"""A negation, which a translation must not drop (:func:`dropped`): "The museum is not open on
Mondays" translated "El museo abre los lunes", "Das Wasser ist nicht trinkbar" translated
"L'eau est potable", "Non dimenticare di spegnere il forno" translated "Vergeet de oven uit
te zetten" passed the fact check before, which read no negation.

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`: the words that deny ("not", "never", "no one", "nicht",
"kein", "jamais", "non", "não", "geen" ...). Only a drop is checked: a source that denies
something and a translation with no such word at all. A translation may add a negation to say
the same thing ("only 3" as "il n'y en a que 3"; French "ne ... que" is no negation here). It
may also say a negation with a word of its own: a source whose negation is such a phrase ("no
later than" as "spätestens", "non vedo l'ora" as "j'ai hâte": :data:`_NOT_DENIALS`) is not
read, and some positive words count as a translation's denial ("without", "closed", "remember"
for "don't forget", "broken" for "does not work": :data:`_LIKE_DENIALS`). Other rephrasings
are withheld: on set N, which was written to hold them, three faithful pairs of five before
"remember" and "broken" were read.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact

__all__ = ["denied", "dropped"]

#: Per language, the words that deny (lower case, regular expressions, whole words).
_DENIALS: dict[str, str] = {
    "en": r"not|n't|never|no|none|nobody|nothing|neither|nor|cannot",
    "es": r"no|nunca|jamás|ni|nadie|nada|ningún|ninguna|ninguno|tampoco",
    "fr": r"ne|jamais|aucun|aucune|rien|ni|non",
    "de": r"nicht|kein|keine|keinen|keiner|keinem|keines|nie|niemals|nichts|niemand|weder",
    "it": r"non|mai|nessun|nessuno|nessuna|niente|nulla|né",
    "pt": r"não|nunca|nenhum|nenhuma|nada|ninguém|nem|jamais",
    "nl": r"niet|geen|nooit|niets|niemand|noch",
}
#: Denials inside a word: English "n't" ("don't"), French "n'" ("n'aurez"; not "n'importe").
#: A denial may take a clitic ("nobody's there", "nothing'll change").
_JOINED = {"en": r"|n't\b", "fr": r"|\bn'(?!importe)"}
_DENIAL_RES = {
    lang: re.compile(
        rf"(?<![\w'])(?:{words})(?!\w)(?!'(?!s\b|ll\b|d\b)){_JOINED.get(lang, '')}",
        re.IGNORECASE,
    )
    for lang, words in _DENIALS.items()
}
#: A translation's denials: French "pas" without its "ne" too ("..., pas ma fille"), which a
#: source's is not read as ("à deux pas": a stone's throw).
_TOLD_RES = {
    **_DENIAL_RES,
    "fr": re.compile(_DENIAL_RES["fr"].pattern + r"|\bpas\b", re.IGNORECASE),
}
#: What a translation may say for a denial: "without" ("Geen probleem": "Sem problema"),
#: "closed" for "not open" ("Hoy no abrimos": "nous sommes fermés"), "remember" for "don't
#: forget" ("Vergeet niet ...": "Acuérdate de ..."), "broken" for "does not work" ("funktioniert
#: nicht": "is kapot").
_LIKE_DENIAL_WORDS: dict[str, str] = {
    "without": r"without|sin|sans|ohne|senza|sem|zonder",
    "closed": r"closed|cerrad[oa]s?|ferm[ée]e?s?|geschlossen|chius[oaie]|fechad[oa]s?|gesloten"
    r"|dicht",
    "remember": r"remember|acuérdate|acuérdese|recuerda|recuerde|rappelle-toi|rappelez-vous"
    r"|denk\s+daran|ricordiamo|recordamos|rappelons|lembramos|erinnern|herinneren"
    r"|denken\s+sie\s+daran|ricordati|ricordatevi|si\s+ricordi|lembra-te|lembre-se|denk\s+eraan"
    r"|pense\s+à|pensez\s+à|penses\s+à|denk\s+aan|denkt\s+aan|piensa\s+en|pensa\s+a",
    "broken": r"broken|kaputt|kapot|cassée?s?|en\s+panne|rott[oaie]|guast[oaie]|estropead[oa]s?"
    r"|avariad[oa]s?|stuk|defekt|defect[oa]?",
    "needless": r"inutile|unnecessary|needless|unnötig|innecesari[oa]|desnecessári[oa]|onnodig",
    # "free" for "pays nothing" ("zahlen keinen Eintritt": "get in for free")
    "free": r"free|gratis|gratuit[es]?|gratuitement|kostenlos|umsonst|gratuit[oa]s?|grátis"
    r"|gratuitamente",
    # "stay away" for "don't come" ("Bitte kommen Sie morgen nicht ins Büro")
    "away": r"stay\s+away|keep\s+away|bleiben\s+sie\s+weg|bleib\s+weg|blijf\s+weg"
    r"|blijft\s+u\s+weg|restez\s+à\s+l'écart|reste\s+à\s+l'écart|stai\s+lontano"
    r"|state\s+lontani|mantente\s+alejad[oa]|fique\s+longe",
}
#: The same, per kind (a translation's "remember" does not stand for a dropped "not" beside a
#: source's "closed": "Don't forget that the pharmacy is closed" as "Recuerda que la farmacia
#: cierra" says the negation with it).
_LIKE_DENIALS = {
    kind: re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
    for kind, words in _LIKE_DENIAL_WORDS.items()
}
#: Negations that a translation says without denying ("no later than": "spätestens", "no
#: problem": "d'accord", "ne ... que": only), and "no." as a number's mark. ("Not before 9" is
#: not among them: its "frühestens um 9" is read by :data:`_DENIED_ORDER` below, and a bare
#: "antes" for "no antes" is a dropped negation.)
_NOT_DENIALS = re.compile(
    r"\bno\s+(?:later|earlier|more|less|longer|sooner)\s+than\b|\bnot\s+(?:until|later"
    r"|earlier|only)\b|\bno\s+(?:problem|worries)\b"
    # "no problem" in the other languages ("Het is geen probleem" as "It's fine")
    r"|\bgeen\s+(?:probleem|punt|zorgen)\b|\bkein\s+problem\b|\bkeine\s+sorge\b"
    r"|\bpas\s+de\s+(?:problème|souci|soucis)\b|\bnessun\s+problema\b"
    r"|\bno\s+(?:hay|es)\s+(?:ningún\s+)?problema\b|\bno\s+pasa\s+nada\b"
    r"|\bnão\s+(?:há|tem|é)\s+(?:nenhum\s+)?problema\b|\bsem\s+problema\b|\bno\.\s*\d|\bne\b[^.!?]*\bque\b"
    r"|\bn'[^.!?]*\bque\b|\bnicht\s+(?:später|früher)\b|\bnon\s+(?:oltre|più\s+tardi)\b"
    r"|\bniet\s+(?:later|eerder)\b|\bni\s+plus\s+ni\b"
    r"|\bnon\s+vedo\s+l'ora\b|\bno\s+veo\s+la\s+hora\b"
    # nobody missed it: everyone was there ("Ninguém da orquestra faltou ao ensaio")
    r"|\b(?:ninguém|nadie|nobody|no\s+one|personne|niemand|nessuno)\b[^.!?]{0,40}"
    r"\b(?:falt\w+|miss\w*|manqu\w+|fehlt\w*|mancat\w+|manc\w+|ontbr\w+|absent\w*|assent\w+)\b"
    # "fällt nicht aus" (is not cancelled): "is still on", "findet statt"
    r"|\bfällt\b[^.!?,]{0,40}\bnicht\s+aus\b|\bnicht\s+ausfallen\b",
    re.IGNORECASE,
)


#: A denied "before" or "until" ("Please don't arrive before 8:45") ...
_DENIED_ORDER = re.compile(
    r"(?:\bnot|n't|\bnicht|\bpas|\bnon|\bnão|\bniet|\bno)(?:\s+[\w']+){0,6}?\s+(?:before|until"
    r"|till|antes|avant|vor|prima|voor|bis|hasta|jusqu|fino|até|tot)\b",
    re.IGNORECASE,
)
#: ... which a translation may say as "at the earliest", "from" or "only then" ("frühestens
#: um 8:45 Uhr, erst dann"); without such a word the negation must still come back.
_FROM_ON = re.compile(
    r"\b(?:at\s+the\s+earliest|from|onwards|only|frühestens|ab|erst|à\s+partir|dès|seulement"
    r"|wait|attends|attendez|warte|warten|aspetta|aspettate|espera|esperad?|wacht"
    r"|qu'à|a\s+partir|desde|sólo|solo|só|vanaf|pas|op\s+z[i']j?n\s+vroegst|non\s+prima)\b",
    re.IGNORECASE,
)


_BEFORE_WORDS = re.compile(r"\b(?:before|antes|avant|vor|prima|voor|voordat|bevor)\b", re.I)
_UNTIL_WORDS = re.compile(
    r"\b(?:until|till|hasta|jusqu|bis|fino|até|tot|totdat)\b|\bjusqu'", re.IGNORECASE
)


def dropped(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """A negation of ``source`` that ``translation`` drops (both as written; see the module
    docstring): one fact when the source denies and the translation has no denying word."""
    said = _DENIAL_RES.get(source_language)
    told = _TOLD_RES.get(target_language)
    if said is None or told is None or _NOT_DENIALS.search(source):
        return []
    match = said.search(source)
    if match is None or told.search(translation):
        return []
    # a word like a denial says the negation only if the source has no such word of its own
    # ("No se admiten devoluciones sin el tique" as "Les retours sont acceptés sans le
    # ticket": the "sans" is the source's "sin")
    if any(
        len(pattern.findall(translation)) > len(pattern.findall(source))
        for pattern in _LIKE_DENIALS.values()
    ):
        return []
    denied = _DENIED_ORDER.search(source)
    if denied and _FROM_ON.search(translation):
        # ... unless the translation says that "before" or "until" itself more often than the
        # source does undenied ("Don't wait until Friday" as "Espera hasta el viernes"; not
        # "No nos mudamos hasta ..., hasta entonces" as "erst nach ..., bis dahin")
        same = _UNTIL_WORDS if _UNTIL_WORDS.search(denied.group()) else _BEFORE_WORDS
        if len(same.findall(translation)) <= len(same.findall(source)) - 1:
            return []
    return [Fact("negation", match.group(), "not", ("negation",))]


#: The words of one clause before a word (no comma, colon, semicolon or sentence end between).
_CLAUSE_BEFORE = re.compile(r"(?:[^,;:.!?]*\s)?$")


def denied(text: str, language: str, start: int) -> bool:
    """Whether a denying word stands in the clause of ``text`` before position ``start``, at
    most six words before it ("don't come before 9": from 9 on; "not until Monday")."""
    # (French "pas" too, whose "ne" may stand further back: "Ne donnez pas à manger au chien
    # avant 20 h")
    pattern = _TOLD_RES.get(language)
    if pattern is None:
        return False
    head = text[:start]
    clause = head[_CLAUSE_BEFORE.search(head).start() :]  # type: ignore[union-attr]
    words = clause.split()[-6:]
    return bool(pattern.search(" ".join(words)))
