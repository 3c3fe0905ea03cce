"""Who won a match, which a translation must not turn around (:func:`contradicted`): "La
Juventus ha perso 1-0 in casa" translated "Juventus hat zu Hause 1:0 gewonnen" passed the fact
check before, which read the score's two numbers, not the verb that says which side they favour.

Read on the texts as written, in English and the languages of
:data:`.translate_lexicons.LEXICONS`: a win ("won", "ganó", "a gagné", "gewonnen", "ha vinto",
"venceu", "wint"), a loss ("lost", "perdió", "a perdu", "verloren", "ha perso", "perdeu",
"verloor") or a draw ("drew", "empató", "match nul", "unentschieden", "pareggiato", "empatou",
"gelijkgespeeld"). Words whose side depends on the voice are left out ("beaten", "besiegt",
"sconfitto", "vaincu": "X beat Y" is X's win, "X was beaten" its loss).

Checked by contradiction, and only about a match: the source must state a score ("1-0") or
name a match ("the final", "el partido"), both texts must state an outcome, and none of the
translation's may be one of the source's. A translation that tells the other side's result
("Barça lost to Sevilla" as "Sevilla beat Barça") names the two sides in the other order;
when the names both texts share come in another order, nothing is read.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import Fact
from privcloud.workloads.translate_codes import score_parts

__all__ = ["about_a_match", "contradicted", "outcomes"]

#: Per outcome, the words that state it, in every language read (lower case, whole words).
_OUTCOMES: dict[str, str] = {
    "win": (
        r"won(?!['\u2019]t)|wins?|winning|beat|beats|victor(?:y|ious)"  # en (and nl "won")
        r"|gan(?:ó|a|an|aron|ado|ar|amos|ou|ha|ham|haram|hado|har)|venci(?:ó|eron|do)"  # es, pt
        r"|victoria|vitória|venc(?:eu|eram|e|em|er|emos|i)"
        r"|ganh(?:ámos|amos|ei|aste|ou|aram|ar|ado|a|am)"
        r"|gagn(?:é|e|ent|er|ait|èrent)|remport(?:é|e|ent|er)|victoire"  # fr
        r"|gewonnen|gewinn(?:t|en)|gewann(?:en)?|sieg(?:t|te|ten)?"  # de
        r"|vint[oaie]|vinc(?:e|ono|ere)|vittoria"  # it
        r"|wint|winnen|overwinning"  # nl
    ),
    "loss": (
        r"lost|los(?:e|es|ing)"  # en
        # (not the infinitives "perder", "perdre": "no me voy a perder el partido" is to miss it)
        r"|perd(?:ió|ieron|ido|e|en|emos|eu|eram|u|ent|ait|irent|uto|ono|i|imos|emmo|ons"
        r"|ions)?|derrota|défaite"
        r"|pers[oaie]|sconfitta"  # it
        r"|verlor(?:en)?|verliert|niederlage"  # de
        r"|verloor|verloren|verliest|verliezen|nederlaag"  # nl
    ),
    "draw": (
        r"drew|drawn|a\s+draw|tied"  # en
        r"|empat(?:ó|aron|ado|e|ar|ou|aram|amos|ámos)"  # es, pt
        r"|match\s+nul|(?:fait|font)\s+match\s+nul"  # fr
        r"|unentschieden"  # de
        r"|pareggi(?:o|ato|ano|are)|pari\s+e\s+patta"  # it
        r"|gelijkspel|gelijk\s*gespeeld|speelden\s+gelijk|speelt\s+gelijk"  # nl
    ),
}
_OUTCOME_RES: dict[str, re.Pattern[str]] = {
    outcome: re.compile(rf"(?<![\w])(?:{words})(?![\w])", re.IGNORECASE)
    for outcome, words in _OUTCOMES.items()
}
#: Words that name a match, in every language read.
_MATCH_RE = re.compile(
    r"(?<![\w])(?:match(?:es)?|game|final|partid[oa]s?|finale?|spiel\w*|partit[ae]|jogos?"
    r"|wedstrijd(?:en)?|derby|tournoi|torneo|turnier|toernooi)(?![\w])",
    re.IGNORECASE,
)
_NAME_RE = re.compile(r"(?<![\w])[A-ZÀ-Ý][\w'-]+")


def outcomes(text: str) -> set[str]:
    """The outcomes of a match ("win", "loss", "draw") that ``text`` (as written) states."""
    return {outcome for outcome, pattern in _OUTCOME_RES.items() if pattern.search(text)}


def about_a_match(text: str) -> bool:
    """Whether ``text`` (as written or normalised) states a score, names a match or tells a
    match's result."""
    return bool(score_parts(text) or _MATCH_RE.search(text) or outcomes(text))


def _shared_names(text: str, other: str) -> list[str]:
    """The capitalised words of ``text`` that ``other`` writes too, in ``text``'s order."""
    theirs = {m.group().lower() for m in _NAME_RE.finditer(other)}
    shared = [m.group().lower() for m in _NAME_RE.finditer(text)]
    return list(dict.fromkeys(w for w in shared if w in theirs))


def contradicted(
    source: str, source_language: str, translation: str, target_language: str
) -> list[Fact]:
    """The outcome of a match ``source`` states that ``translation`` contradicts (see the
    module docstring): one fact, or none."""
    del source_language, target_language  # every language's words are read on both sides
    if not score_parts(source) and not _MATCH_RE.search(source):
        return []  # (a result alone does not make a match: "lost my keys")
    said, told = outcomes(source), outcomes(translation)
    if not said or not told or said & told:
        return []
    if _shared_names(source, translation) != _shared_names(translation, source):
        return []  # the other side's result, told the other way round
    first = sorted(said)[0]
    return [Fact("outcome", f"a {first}", first, ())]
