"""A clock time and more, cut at a comma (privcloud.workloads.translate_times_split): the
time written by grammar, only the rest translated by the model, the two joined as the target
writes them. The model here is a test double that answers from a table (no model runs in a
unit test; the real model's figures are bench/eval_fragments.py's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import pytest

from privcloud.workloads.model_calls import Completion
from privcloud.workloads.models import QWEN_1_5B, Models
from privcloud.workloads.translate_pieces import PieceTranslator, Steps
from privcloud.workloads.translate_times_split import TimeAndRest, join, split


class TableModel:
    """Not a model (a test double): answers each user turn from ``answers`` and records what
    it was asked."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def chat(self, name: str, messages: Sequence[Mapping[str, str]], **_: object) -> Completion:
        said = messages[-1]["content"]
        self.asked.append(said)
        return Completion(name, self.answers[said], 0, 0, 0.0)


def _translator(model: TableModel) -> PieceTranslator:
    return PieceTranslator(cast(Models, model), QWEN_1_5B, "withhold", Steps(), None)


@pytest.mark.parametrize(
    ("piece", "source", "target", "cut"),
    [
        ("Alle due, con Giulia.", "it", "nl", TimeAndRest("Om twee uur", "con Giulia", True, ".")),
        ("Am Bahnhof, um acht?", "de", "en", TimeAndRest("at eight", "Am Bahnhof", False, "?")),
        ("A las cinco, con Marta, en casa.", "es", "en",
         TimeAndRest("At five", "con Marta, en casa", True, ".")),
        ("Entonces, ¿a las cuatro menos veinte?", "es", "pt",
         TimeAndRest("às quatro menos vinte", "Entonces", False, "?")),
    ],
)  # fmt: skip
def test_a_time_and_more_is_cut_at_the_comma(
    piece: str, source: str, target: str, cut: TimeAndRest
) -> None:
    assert split(piece, source, target) == cut


@pytest.mark.parametrize(
    ("piece", "source"),
    [
        ("At nine at the station.", "en"),  # no comma: the model's, whole
        ("At seven, I could already read.", "en"),  # an age
        ("At three, push!", "en"),  # a count
        ("¡A la una, a las dos y a las tres!", "es"),
        ("At 4.50, that's cheap.", "en"),  # a price
        ("At 2,000 a month.", "en"),  # a number
        ("Alle 7,30 di sera.", "it"),
        ("At two fifty, that's a bargain.", "en"),  # a price
        ("It's cheap, about four fifty.", "en"),
        ("À deux heures, en voiture.", "fr"),  # two hours away
        ("C'est loin, à deux heures.", "fr"),
        ("Tomorrow, at the station.", "en"),  # no time
        ("Nine, please.", "en"),  # a count
        ("At nine, 10.", "en"),  # the rest has no word
        ("Two hours, more or less.", "en"),  # a duration
        ("Quatre euros cinquante, s'il vous plaît.", "fr"),
    ],
)
def test_anything_else_is_not_cut(piece: str, source: str) -> None:
    assert split(piece, source, "de") is None


@pytest.mark.parametrize(
    ("piece", "target", "translated", "joined"),
    [
        ("Alle due, con Giulia.", "nl", "Met Giulia.", "Om twee uur, met Giulia."),
        ("Alle due, con Giulia?", "es", "¿Con Giulia?", "¿A las dos, con Giulia?"),
        ("Alle due, con Giulia?", "fr", "Avec Giulia ?", "À deux heures, avec Giulia ?"),
        ("Alle due, Giulia.", "en", "Giulia.", "At two, Giulia."),  # a name keeps its capital
        ("At four o'clock, at the station.", "de", "Am Bahnhof.", "Um vier Uhr, am Bahnhof."),
        ("At half past four, Platform B.", "de", "Bahnsteig B.", "Um halb fünf, Bahnsteig B."),
        ("Am Bahnhof, um acht?", "en", "At the station?", "At the station, at eight?"),
    ],
)
def test_the_rest_is_joined_as_the_target_writes_it(
    piece: str, target: str, translated: str, joined: str
) -> None:
    source = {"Alle": "it", "At": "en", "Am": "de"}[piece.split(maxsplit=1)[0]]
    cut = split(piece, source, target)
    assert cut is not None
    assert join(cut, translated, piece, target) == joined


def test_only_the_rest_reaches_the_model() -> None:
    model = TableModel({"con Giulia": "met Giulia"})
    done = _translator(model).piece("it", "nl", "Alle due e mezza, con Giulia?")
    assert model.asked == ["con Giulia"]
    assert (done.text, done.status) == ("Om half drie, met Giulia?", "kept")
    assert done.facts == 2  # the time, and the name in the rest


def test_a_rest_that_loses_a_fact_withholds_the_whole_piece() -> None:
    # "Giulia" became "Julia": a name lost; withheld, so the listener gets the source, whole.
    model = TableModel({"con Giulia": "met Julia"})
    done = _translator(model).piece("it", "nl", "Alle due, con Giulia.")
    assert (done.text, done.status) == ("Alle due, con Giulia.", "withheld")
    assert done.lost
