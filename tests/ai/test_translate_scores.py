"""The nineteenth round of the translation fact check: scores in words, ordinals to the
twentieth, codes with hyphens, a deadline told as a start, cousins, and the round's fixes of
faithful pairs the check had withheld.

The wrong cases passed the check before, the faithful ones were withheld before (from the
hand-labelled set S, bench/data/translate_pairs/s_independent.json, and D, L), except the
"guard" cases, which passed before too and keep the new rules from false alarms. No model:
fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    ("Abbiamo vinto tre a uno sabato!", "it", "On a gagné trois à deux samedi !", "fr"),
    (
        "You're fifth on the waiting list for the allotment, so it shouldn't be long.",
        "en",
        "U staat als vijftiende op de wachtlijst voor de volkstuin, dus het duurt vast niet lang.",
        "nl",
    ),
    (
        "Uw dossiernummer bij de belastingdienst is 88-4420-B.",
        "nl",
        "Ihr Aktenzeichen beim Finanzamt lautet 88-4420-D.",
        "de",
    ),
    (
        "Please return the keys by Friday at the latest.",
        "en",
        "Por favor, devuelva las llaves a partir del viernes.",
        "es",
    ),
    (
        "Mi tío le ha vendido el coche a mi primo.",
        "es",
        "O meu primo vendeu o carro ao meu tio.",
        "pt",
    ),
    (
        "De les begint om negen uur, maar kom gerust iets later.",
        "nl",
        "La lezione inizia alle nove, ma vieni pure un po' prima.",
        "it",
    ),
]

FAITHFUL = [
    (
        "Grandma lands on the twenty-first, so we'll have the birthday lunch the next day.",
        "en",
        "La abuela llega el día 21, así que haremos la comida de cumpleaños al día siguiente.",
        "es",
    ),
    (
        "C'est Mathilde, la maman de Jules, je récupère les deux garçons après le foot.",
        "fr",
        "It's Mathilde, Jules's mum; I'll pick up both boys after football.",
        "en",
    ),
    (
        "Onze nieuwe buren komen uit Noorwegen en spreken nog geen Nederlands.",
        "nl",
        "I nostri nuovi vicini vengono dalla Norvegia e non parlano ancora l'olandese.",
        "it",
    ),
    (
        "Mi servono tre etti di prosciutto e mezzo chilo di pane per domani.",
        "it",
        "I need 300 grams of ham and half a kilo of bread for tomorrow.",
        "en",
    ),
    (
        "We won three-one, and Tom scored twice!",
        "en",
        "On a gagné 3 à 1, et Tom a marqué deux fois !",
        "fr",
    ),
    (
        "Ganhámos por dois a um no prolongamento, foi uma loucura!",
        "pt",
        "Wir haben in der Verlängerung 2:1 gewonnen, es war der Wahnsinn!",
        "de",
    ),
    (
        "Ieri i ragazzi hanno pareggiato uno a uno in trasferta.",
        "it",
        "Yesterday the boys drew one-all away from home.",
        "en",
    ),
    (
        "Please arrive at least fifteen minutes before your appointment.",
        "en",
        "Merci d'arriver au moins un quart d'heure avant votre rendez-vous.",
        "fr",
    ),
    (
        "Mijn schoonzoon komt je helpen met de verhuizing, niet mijn dochter.",
        "nl",
        "C'est mon gendre qui viendra t'aider pour le déménagement, pas ma fille.",
        "fr",
    ),
    (
        "Hi, it's Julia: the rent is £1,150 a month.",
        "en",
        "Bonjour, c'est Julia : le loyer est de 1 150 livres par mois.",
        "fr",
    ),
    (
        "Bom dia, é da florista: entregamos as 24 rosas amanhã.",
        "pt",
        "Good morning, this is the florist: we'll deliver the two dozen roses tomorrow.",
        "en",
    ),
    # Guards: passed before, and must still ("dozen" is Dutch for boxes).
    (
        "Your order of 3 boxes will be delivered on 2 April.",
        "en",
        "Je bestelling van drie dozen wordt op 2 april geleverd.",
        "nl",
    ),
    ("Il est à deux pas de la gare.", "fr", "It's a stone's throw from the station.", "en"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_score_ordinal_code_deadline_or_role_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
