"""Conversational formulas translated from a phrasebook, not by a language model.

A piece of a call that is nothing but formulas ("Okay, thanks.", "¿Diga?", "Sorry?", "Yes,
please.", "Un momento, por favor.") is the kind a small model gets wrong most often, and in
the worst way: it *answers* it instead of translating it (Qwen2.5-Coder 1.5B gave "¡De nada!"
for "Okay, thanks.", "Yes, okay." for "Eh,", "Say it." for "¿Diga?", "Welcome." for
"Encantado.", "Péngalo." for "Hold on."), and no fact check sees it: there is no number or
name to lose. Such a piece is rendered from :mod:`privcloud.workloads.phrasebook_table` in
the target language instead, unit by unit, keeping the speaker's punctuation; it takes no
model time, so it also reaches the listener a model call sooner.

:func:`render` reads a piece only when **every** word of it belongs to a formula of the
source language; anything else ("Thanks for the flowers.", "Sorry, I'm late.", "Yes, at
nine.", a name) is left to the model, whole. A unit (the words between two punctuation marks)
may hold several formulas ("okay thanks bye", as a recogniser writes them unpunctuated); they
are rendered with commas between them. A unit is a sentence: commas inside it are read as
spaces ("Sorry, what?" asks to repeat, as "Sorry what?" does). Only the seven languages of
the table are read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from privcloud import limits
from privcloud.workloads.phrasebook_table import (
    ASKABLE,
    ASKED,
    FORMULAS,
    LANGUAGES,
    NOT_ALONE,
    Formula,
)

#: A unit (a sentence) and the punctuation that ends it (the last unit may have none).
_UNIT = re.compile(r"([^.;:!?…]+)([.;:!?…]*)")
#: Marks in a unit that are no part of its words (commas: "Okay, thanks" is "okay thanks").
_MARKS = re.compile('[,"«»\u201c\u201d\u201e¿¡()\u2013\u2014]|(?<!\\w)-|-(?!\\w)')


@dataclass(frozen=True)
class _Unit:
    words: tuple[str, ...]
    after: str  # the punctuation after the unit, as written

    @property
    def asked(self) -> bool:
        return "?" in self.after


def render(piece: str, source: str, target: str) -> str | None:
    """``piece`` (in ``source``) in ``target`` from the phrasebook, or None when it is not
    all formulas of the table (or a language is not in it)."""
    if source not in LANGUAGES or target not in LANGUAGES or source == target:
        return None
    if len(piece) > limits.PHRASEBOOK_MAX_CHARS:
        return None
    units = _units(piece)
    if not units or sum(len(u.words) for u in units) > limits.PHRASEBOOK_MAX_WORDS:
        return None
    if source == "nl":
        units = [_without_hoor(u) for u in units]
    parsed = [_segment(u, source) for u in units]
    if any(p is None for p in parsed):
        return None
    said = [_tidy(p, u.asked) for p, u in zip(parsed, units, strict=True) if p is not None]
    if not all(said) or all(f.name in NOT_ALONE for formulas in said for f in formulas):
        return None
    return _write(units, said, target)


def _units(piece: str) -> list[_Unit]:
    units = []
    for match in _UNIT.finditer(piece.replace("\u2019", "'")):
        words = tuple(_MARKS.sub(" ", match.group(1)).lower().split())
        if words:
            units.append(_Unit(words, match.group(2)))
        elif match.group(2) and units:  # punctuation after punctuation ("?!", ". . .")
            last = units[-1]
            units[-1] = _Unit(last.words, last.after + match.group(2))
    if units and not units[-1].after and piece.rstrip().endswith(","):
        units[-1] = _Unit(units[-1].words, ",")  # a piece cut after "Eh,"
    return units


#: Words after which Dutch "hoor" is the verb ("Ik hoor je niet.", "Ik hoor niets.").
_HEARD = frozenset({
    "je", "jou", "u", "me", "mij", "ons", "jullie", "hem", "haar", "het", "ze", "dat",
    "niets", "niks", "iets", "wat", "nog", "niet", "goed", "slecht",
})  # fmt: skip


def _without_hoor(unit: _Unit) -> _Unit:
    """Dutch "hoor" after a reply ("Ja hoor.", "Dank je wel, hoor.", "Ja hoor, prima.") only
    softens it: left out. First, or before what is heard, it is the verb ("Hoor je me?",
    "Ik hoor je niet.")."""
    words = unit.words
    kept = [
        word
        for i, word in enumerate(words)
        if word != "hoor" or i == 0 or (i + 1 < len(words) and words[i + 1] in _HEARD)
    ]
    return _Unit(tuple(kept), unit.after)


@functools.cache
def _index(language: str) -> tuple[dict[tuple[str, ...], Formula], dict[tuple[str, ...], Formula]]:
    """The said forms of ``language``, as word tuples: those of any unit, those of an asked
    unit only."""
    plain: dict[tuple[str, ...], Formula] = {}
    asked: dict[tuple[str, ...], Formula] = {}
    for formula in FORMULAS:
        table = asked if formula.name in ASKED else plain
        for form in formula.said[language]:
            table.setdefault(tuple(form.split()), formula)
    return plain, asked


_Said = list[tuple[Formula, tuple[str, ...]]]


def _segment(unit: _Unit, language: str) -> _Said | None:
    """The fewest formulas whose forms make up ``unit``'s words in order, or None. In an asked
    unit the last formula may be an asked one (:data:`ASKED`) or one that can be asked
    (:data:`ASKABLE`); the others are read as said."""
    plain, asked = _index(language)
    words = unit.words
    n = len(words)
    # best[i]: the fewest formulas (with their words) covering words[:i], or None.
    best: list[_Said | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(end):
            before = best[start]
            if before is None:
                continue
            formula = _lookup(words[start:end], plain, asked, unit.asked and end == n)
            known = best[end]
            if formula is not None and (known is None or len(before) + 1 < len(known)):
                best[end] = [*before, (formula, words[start:end])]
    return best[n]


def _lookup(
    words: tuple[str, ...],
    plain: dict[tuple[str, ...], Formula],
    asked: dict[tuple[str, ...], Formula],
    question: bool,
) -> Formula | None:
    if not question:
        return plain.get(words)
    formula = asked.get(words)
    if formula is not None:
        return formula
    formula = plain.get(words)
    return formula if formula is not None and formula.name in ASKABLE else None


#: Formulas that apologise: before an asked "pardon" in one sentence they are part of it
#: ("Perdona, ¿cómo?", "Sorry, what did you say?": please repeat, not an apology).
_APOLOGIES = frozenset({"sorry", "very_sorry", "excuse_me"})
#: Formulas that are "please" with one and "you're welcome" with the other ("Bitte, kein
#: Problem.", "Alstublieft, graag gedaan."): such a unit goes to the model.
_WELCOMES = frozenset({"you_are_welcome", "no_problem"})
_BY_NAME = {formula.name: formula for formula in FORMULAS}


def _tidy(said: _Said, asked: bool) -> list[Formula]:
    """A unit's formulas as they are rendered, or [] to leave it to the model. An apology
    before an asked "pardon" is left out; one formula said twice in other words ("Certo, come
    no.", "Ach so, verstehe.") is rendered once, the same words said twice ("Sì, sì.") twice;
    a greeting before "can you hear me?" answers the phone ("Allô, vous m'entendez ?"). Left to
    the model: "please" beside "you're welcome" and a tag question ("Vale, ¿no?": "oder?",
    "toch?", not "nein?")."""
    names = [formula.name for formula, _ in said]
    if "please" in names and _WELCOMES.intersection(names):
        return []
    if asked and len(said) > 1 and names[-1] in ("yes", "no"):
        return []
    phone = asked and names[-1] == "can_you_hear_me"
    out: list[tuple[Formula, tuple[str, ...]]] = []
    for i, (heard, words) in enumerate(said):
        formula = _BY_NAME["answering"] if phone and heard.name == "hello" else heard
        following = said[i + 1][0].name if i + 1 < len(said) else None
        if formula.name in _APOLOGIES and following == "pardon":
            continue
        if out and out[-1][0] is formula and out[-1][1] != words:
            continue
        out.append((formula, words))
    return [formula for formula, _ in out]


def _write(units: list[_Unit], parsed: list[list[Formula]], target: str) -> str:
    """The units' formulas rendered in ``target`` with the source's punctuation: Spanish
    opens a question or an exclamation with its inverted mark, French spaces "?" and "!"; a
    sentence starts with a capital."""
    out: list[str] = []
    start = True
    for unit, formulas in zip(units, parsed, strict=True):
        said: list[str] = []
        for i, formula in enumerate(formulas):
            text = formula.rendering[target]
            # Two formulas the target says alike ("Hola, buenos días." in French) once.
            if i and formulas[i - 1] is not formula and said[-1].lower() == text.lower():
                continue
            said.append(text)
        if start:
            said[0] = said[0][:1].upper() + said[0][1:]
        after = unit.after
        if target == "es" and ("?" in after or "!" in after):
            # The inverted mark opens the question itself, the last formula: "Hola, ¿me oye?".
            mark = "¿" if "?" in after else "¡"
            said[-1] = mark + said[-1]
        if target == "fr" and after[:1] in ("?", "!", ";", ":"):
            after = " " + after
        out.append(", ".join(said) + after)
        # A pause ("...", "…") does not end the sentence.
        start = any(mark in after for mark in ".?!") and not after.endswith(("…", ".."))
    return " ".join(out)
