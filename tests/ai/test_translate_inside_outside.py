"""The twenty-fourth round of the translation fact check: outside or inside, Spanish
"trasero", an amount's own currency, a Portuguese win ("ganhou"), a time to act before told as
a start ("before 15 September" as "a partir de 15 de setembro"), and the round's fixes of
faithful pairs the check had withheld ("a la una del mediodía", "o Rui da quinta", "2
partout", "geen probleem", "più o meno otto ore").

The wrong cases passed the check before and the faithful ones were withheld before (from the
hand-labelled set Y, bench/data/translate_pairs/y_independent.json, at 322a1db), except the
"guard" cases, which passed before too and keep the new rules from false alarms. No model:
fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    (
        "De kinderen spelen vanmiddag buiten als het droog blijft.",
        "nl",
        "Esta tarde los niños jugarán dentro si no llueve.",
        "es",
    ),
    (
        "Las bicis se dejan en el patio trasero antes de las ocho.",
        "es",
        "The bikes should be left in the front yard before eight.",
        "en",
    ),
    (
        "Die Fahrradmiete kostet 15 Euro pro Tag, dazu kommen 50 Euro Kaution.",
        "de",
        "Il noleggio della bici costa 15 euro al giorno, più 50 dollari di cauzione.",
        "it",
    ),
    (
        "A nossa equipa ganhou por 3-1 no torneio de voleibol da residência.",
        "pt",
        "Nuestro equipo perdió por 3-1 en el torneo de voleibol de la residencia.",
        "es",
    ),
    # (caught before only by accident, the farm's "quinta" read as an added 5; the round's
    # "quinta" fix would have let it through without the limits rule)
    (
        "Please sign your children up before 15 September for the farm trip.",
        "en",
        "Por favor, inscrevam os vossos filhos a partir de 15 de setembro para a visita à quinta.",
        "pt",
    ),
]

FAITHFUL = [
    (
        "Il dog sitter passa alle 13, quindi lascia il guinzaglio vicino alla porta.",
        "it",
        "El cuidador del perro pasa a la una del mediodía, así que deja la correa junto a la "
        "puerta.",
        "es",
    ),
    (
        "Boa tarde, fala o Rui da quinta. O cabaz grande custa 18 euros e o pequeno 11,50; se "
        "quiserem, entregamos em casa às quintas-feiras por mais 2 euros.",
        "pt",
        "Buon pomeriggio, sono Rui della fattoria. La cassetta grande costa 18 euro e quella "
        "piccola 11,50; se volete, la consegniamo a domicilio il giovedì con 2 euro in più.",
        "it",
    ),
    (
        "On a fait match nul, 2 partout, contre les voisins du quatrième.",
        "fr",
        "Wir haben gegen die Nachbarn aus dem vierten Stock 2:2 gespielt.",
        "de",
    ),
    (
        "Het is geen probleem als je later komt, ik ben toch thuis.",
        "nl",
        "It's fine if you come later, I'm at home anyway.",
        "en",
    ),
    (
        "Il trasloco dovrebbe durare tutta la giornata, più o meno otto ore.",
        "it",
        "The move should take all day, roughly eight hours.",
        "en",
    ),
    # guard: noon stays noon; "within" is no inside; an exchange rate beside the amount
    (
        "Please call me back on 0161 496 0732 before noon.",
        "en",
        "Por favor, llámame al 0161 496 0732 antes del mediodía.",
        "es",
    ),
    ("Ik ben binnen twee dagen terug.", "nl", "Estaré de vuelta dentro de dos días.", "es"),
    ("It costs $50, about 46 euros.", "en", "Cuesta 50 dólares, unos 46 euros.", "es"),
    (
        "De kinderen spelen vanmiddag buiten als het droog blijft.",
        "nl",
        "Esta tarde los niños jugarán fuera si no llueve.",
        "es",
    ),
    ("Please send it before Friday.", "en", "Schick es bitte bis Freitag.", "de"),
    ("Fuori ci sono meno 5 gradi.", "it", "Il fait moins 5 degrés dehors.", "fr"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_place_currency_outcome_or_limit_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
