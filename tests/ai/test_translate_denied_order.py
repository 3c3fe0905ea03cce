"""The twenty-second round of the translation fact check: an order word denied on both sides
and turned round, a third ordinal beside a kept ground floor, a German country after its
article, more roles (plumber, librarian, an Italian neighbour after a possessive) and German
roles after their articles, "bottom right", and the round's fixes of faithful pairs the check
had withheld (a size told with one unit, "halfuur", "fällt nicht aus", "Holanda").

The wrong cases passed the check before and the faithful ones were withheld before (from the
hand-labelled set V, bench/data/translate_pairs/v_independent.json, at 93fe369, and sets N,
O, R and S), except the "guard" cases, which passed before too and keep the new rules from
false alarms. No model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    (
        "Die Fahrradteile werden aus den Niederlanden geliefert.",
        "de",
        "Las piezas de la bicicleta llegan desde Bélgica.",
        "es",
    ),
    ("Meine Kollegin kommt aus den Niederlanden.", "de", "A minha colega é da Dinamarca.", "pt"),
    (
        "The library's children's section is on the ground floor, in the third room.",
        "en",
        "La section jeunesse de la bibliothèque est au rez-de-chaussée, dans la deuxième salle.",
        "fr",
    ),
    (
        "Don't feed the dog after 8 pm on the night before the operation.",
        "en",
        "Füttern Sie den Hund am Abend vor der Operation nicht vor 20 Uhr.",
        "de",
    ),
    (
        "The landlord has to pay the plumber, not us.",
        "en",
        "Der Klempner muss den Vermieter bezahlen, nicht wir.",
        "de",
    ),
    (
        "C'est la bibliothécaire qui appellera Lucas quand le livre sera rendu.",
        "fr",
        "Será Lucas quien llame a la bibliotecaria cuando devuelvan el libro.",
        "es",
    ),
    (
        "Paul a prêté sa perceuse à notre voisine pour monter l'étagère.",
        "fr",
        "La nostra vicina ha prestato il suo trapano a Paul per montare la mensola.",
        "it",
    ),
    (
        "Il dente che mi fa male è in basso a sinistra.",
        "it",
        "The tooth that hurts is on the bottom right.",
        "en",
    ),
    (
        "Der Vermieter muss dem Mieter die Kaution zurückzahlen.",
        "de",
        "Le locataire doit rembourser la caution au propriétaire.",
        "fr",
    ),
    (
        "Der Mieter hat den Vermieter wegen der Kaution verklagt.",
        "de",
        "The landlord sued the tenant over the deposit.",
        "en",
    ),
    (
        "Der Vermieter zahlt die Reparatur, nicht die Mieterin.",
        "de",
        "The tenant is paying for the repair, not the landlord.",
        "en",
    ),
]

FAITHFUL = [
    (
        "Le terrain de foot fait environ 100 mètres sur 60.",
        "fr",
        "Der Fußballplatz ist ungefähr 100 mal 60 Meter groß.",
        "de",
    ),
    (
        "Das Training fällt heute nicht aus, auch wenn es regnet.",
        "de",
        "Training is still on today, even if it rains.",
        "en",
    ),
    (
        "The repair will take about 30 minutes, you can wait in the shop.",
        "en",
        "De reparatie duurt ongeveer een halfuur, u kunt in de winkel wachten.",
        "nl",
    ),
    # guard: the Netherlands as Holland or by CLDR's name; a country after its article
    (
        "Die Fahrradteile werden aus den Niederlanden geliefert.",
        "de",
        "Las piezas de la bicicleta llegan desde Holanda.",
        "es",
    ),
    (
        "Die Fahrradteile werden aus den Niederlanden geliefert.",
        "de",
        "Las piezas de la bicicleta llegan desde los Países Bajos.",
        "es",
    ),
    ("Wir fahren im August in die Schweiz.", "de", "We're going to Switzerland in August.", "en"),
    ("Nach dem Essen gehen wir spazieren.", "de", "Después de comer salimos a pasear.", "es"),
    # guard: denied the same way; ordinals kept; roles in the same order
    ("Don't feed the dog after 8 pm.", "en", "Füttern Sie den Hund nicht nach 20 Uhr.", "de"),
    (
        "The library's children's section is on the ground floor, in the third room.",
        "en",
        "La section jeunesse de la bibliothèque est au rez-de-chaussée, dans la troisième salle.",
        "fr",
    ),
    (
        "The landlord has to pay the plumber, not us.",
        "en",
        "Der Vermieter muss den Klempner bezahlen, nicht wir.",
        "de",
    ),
    (
        "Il dente che mi fa male è in basso a sinistra.",
        "it",
        "The tooth that hurts is on the bottom left.",
        "en",
    ),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_place_order_ordinal_or_role_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
