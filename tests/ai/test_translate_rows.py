"""The twentieth round of the translation fact check: a row's letter, square against cubic
metres, a relative of another kind, a bride against a groom, a person and a relative turned
round, and the round's fixes of faithful pairs the check had withheld.

The wrong cases passed the check before, the faithful ones were withheld before (from the
hand-labelled set T, bench/data/translate_pairs/t_independent.json, and D), except the
"guard" cases, which passed before too and keep the new rules from false alarms. No model:
fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    # a year added beside one said with two digits (which excuses only its own)
    (
        "Me casé en el noventa y ocho.",
        "es",
        "I got married in 1998 and moved here in 2005.",
        "en",
    ),
    (
        "This is the Odeon: your two tickets for Sunday at 7:45 pm are in screen 4, row F.",
        "en",
        "Met het Odeon: uw twee kaartjes voor zondag om 19.45 uur zijn voor zaal 4, rij E.",
        "nl",
    ),
    (
        "Le camion fait 20 mètres cubes, ça devrait suffire pour tout.",
        "fr",
        "The lorry holds 20 square metres, which should be enough for everything.",
        "en",
    ),
    (
        "C'est ma belle-mère qui a payé le traiteur, pas mes parents.",
        "fr",
        "It was my sister-in-law who paid the caterer, not my parents.",
        "en",
    ),
    (
        "El tío de la novia dará el discurso en la boda.",
        "es",
        "Lo zio dello sposo terrà il discorso al matrimonio.",
        "it",
    ),
    (
        "Luca ha prestato la sua tenda a mio fratello per il campeggio.",
        "it",
        "My brother lent his tent to Luca for the camping trip.",
        "en",
    ),
]

FAITHFUL = [
    (
        "Il parrucchiere mi ha spostato l'appuntamento alle quindici e un quarto.",
        "it",
        "El peluquero me ha cambiado la cita a las tres y cuarto de la tarde.",
        "es",
    ),
    (
        "La prof de piano demande si on peut déplacer le cours de cette semaine à vendredi.",
        "fr",
        "A professora de piano pergunta se podemos passar a aula desta semana para sexta-feira.",
        "pt",
    ),
    (
        "De film duurt bijna drie uur, dus neem iets te eten mee.",
        "nl",
        "The film is nearly three hours long, so bring something to eat.",
        "en",
    ),
    (
        "A receita é válida por seis meses a partir de hoje.",
        "pt",
        "L'ordonnance est valable six mois à compter d'aujourd'hui.",
        "fr",
    ),
    (
        "Ils ont perdu quatre à zéro, l'entraîneur était furieux.",
        "fr",
        "They lost 4-0, and the coach was furious.",
        "en",
    ),
    (
        "Het werd 0-0, maar onze keeper was fantastisch.",
        "nl",
        "It finished goalless, but our keeper was brilliant.",
        "en",
    ),
    (
        "Olá, é a Rita do cabeleireiro: tem marcação quarta às 10h30, corte e madeixas, 65 euros.",
        "pt",
        "Hi, it's Rita from the hairdresser's: you're booked in on Wednesday at 10.30 for a cut "
        "and highlights, €65.",
        "en",
    ),
    (
        "De voorstelling begint vanavond om acht uur en duurt twee uur.",
        "nl",
        "The show starts tonight at eight and lasts two hours.",
        "en",
    ),
    # Guards: passed before, and must still.
    ("Ik ben om drie uur thuis.", "nl", "I'll be home at three o'clock.", "en"),
    (
        "A fatura da luz deste mês é de 63,20 euros.",
        "pt",
        "This month's electricity bill is 63.20 euros.",
        "en",
    ),
    (
        "Quedamos este fin de semana en Zaragoza con Lucía.",
        "es",
        "We're meeting Lucía in Zaragoza this weekend.",
        "en",
    ),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_row_measure_relative_or_role_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
