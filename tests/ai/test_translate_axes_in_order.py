"""The twenty-sixth round of the translation fact check, written against set AA
(bench/data/translate_pairs/aa_independent.json, measured at 0a0092c) with no newer set to
measure it on: both sides of one axis named in order ("turn right; ... on your left" as "vire à
esquerda; ... à sua esquerda"), French "pas" as a denial before an order word ("Ne donnez pas
à manger au chien avant 20 h"), Portuguese "da frente", "Vi ricordiamo" as the source's own
"remember", and Portuguese "quarto" (a room) counting only before what it counts.

The wrong cases passed the check before and the faithful ones were withheld before (from AA
and U), except the "guard" cases, which passed before too. No model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    (
        "Go past the church and turn right; the garage is on your left after the bridge.",
        "en",
        "Passe a igreja e vire à esquerda; a oficina fica à sua esquerda depois da ponte.",
        "pt",
    ),
    (
        "Don't feed the dog after 8 pm, the operation is tomorrow morning.",
        "en",
        "Ne donnez pas à manger au chien avant 20 h, l'opération a lieu demain matin.",
        "fr",
    ),
    (
        "Vi ricordiamo che in mensa non si accetta il pagamento con carta.",
        "it",
        "Please remember that card payments are accepted in the canteen.",
        "en",
    ),
    (
        "O cão fugiu pelo portão da frente enquanto descarregávamos as compras.",
        "pt",
        "Le chien s'est échappé par le portail de derrière pendant que nous déchargions les "
        "courses.",
        "fr",
    ),
    (
        "Llama al técnico después de hablar con el casero, no antes.",
        "es",
        "Appelle le technicien avant de parler au propriétaire, pas après.",
        "fr",
    ),
]

FAITHFUL = [
    (
        "La habitación de tu abuela es la 215, en la segunda planta, al lado de la sala común.",
        "es",
        "O quarto da tua avó é o 215, no segundo andar, ao lado da sala de convívio.",
        "pt",
    ),
    (
        "O senhor Costa, do quarto 12, tem de tomar o medicamento às 8h e às 20h.",
        "pt",
        "Herr Costa aus Zimmer 12 muss sein Medikament um 8 und um 20 Uhr einnehmen.",
        "de",
    ),
    # guard: the same sides in the same order; the fourth time is still a fourth
    (
        "Go past the church and turn right; the garage is on your left after the bridge.",
        "en",
        "Passe a igreja e vire à direita; a oficina fica à sua esquerda depois da ponte.",
        "pt",
    ),
    ("Ne donnez pas à manger au chien après 20 h.", "fr", "Don't feed the dog after 8 pm.", "en"),
    ("É a quarta vez que ligo.", "pt", "C'est la quatrième fois que j'appelle.", "fr"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_side_order_or_negation_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
