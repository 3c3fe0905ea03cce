"""Durations of hours and minutes, and the afternoon against the evening, in the translation
fact check (:mod:`privcloud.workloads.translate_hours`, ``translate_periods.after_noon``).

Every wrong case passed the check before these rules; they come from the hand-labelled sets B
and H (bench/data/translate_pairs/), a few are written here. The faithful cases say the same
duration or part of the day another way, or tell a clock time with the same words ("à 7
heures", "om 7 uur"), and must not be withheld: both rules work by contradiction. No model:
fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check
from privcloud.workloads.translate_hours import minutes

WRONG = [
    # Durations of hours and minutes changed.
    ("The drive takes an hour and a half.", "en", "Die Fahrt dauert eine halbe Stunde.", "de"),
    ("Espere meia hora e volte a tentar.", "pt", "Wait an hour and try again.", "en"),
    ("De rit duurt anderhalf uur.", "nl", "The drive takes half an hour.", "en"),
    ("Le cours dure une heure et demie.", "fr", "De les duurt een half uur.", "nl"),
    (
        "Der Handwerker braucht ungefähr anderthalb Stunden für die Reparatur.",
        "de",
        "The handyman needs about two and a half hours for the repair.",
        "en",
    ),
    (
        "My son has football practice every Wednesday evening for an hour and a half.",
        "en",
        "Mi hijo tiene entrenamiento de fútbol todos los miércoles por la noche durante una hora.",
        "es",
    ),
    (
        "Il mio treno arriva a Firenze con un'ora di ritardo.",
        "it",
        "O meu comboio chega a Florença com duas horas de atraso.",
        "pt",
    ),
    ("The meeting lasted 2 hours and 15 minutes.", "en", "La reunión duró dos horas.", "es"),
    # The afternoon as the evening, and the other way round.
    (
        "Grandma's birthday party is next Sunday afternoon.",
        "en",
        "Het verjaardagsfeest van oma is volgende zondagavond.",
        "nl",
    ),
    (
        "Tens consulta no dentista amanhã à tarde.",
        "pt",
        "Tienes cita con el dentista mañana por la noche.",
        "es",
    ),
    (
        "Il ristorante è chiuso la domenica sera.",
        "it",
        "The restaurant is closed on Sunday afternoons.",
        "en",
    ),
]

FAITHFUL = [
    # The same duration in other words, or with another number.
    ("J'arrive dans un quart d'heure.", "fr", "I'll be there in 15 minutes.", "en"),
    ("We komen over tweeënhalf uur aan.", "nl", "Llegaremos dentro de dos horas y media.", "es"),
    ("The film lasts an hour and a half.", "en", "Der Film dauert 90 Minuten.", "de"),
    ("Il treno ha quarantacinque minuti di ritardo.", "it", "The train is 45 minutes late.", "en"),
    # A clock time said with the words of hours is no duration.
    (
        "Le train part à 7 heures et le trajet dure deux heures.",
        "fr",
        "The train leaves at 7 and the journey takes two hours.",
        "en",
    ),
    ("Je pars à sept heures et demie.", "fr", "Me voy a las siete y media.", "es"),
    # The evening said as the night, the afternoon as Spanish "tarde".
    (
        "We land in Geneva tomorrow night around eleven.",
        "en",
        "Nous atterrissons à Genève demain soir vers 23 heures.",
        "fr",
    ),
    ("See you this evening at seven.", "en", "Nos vemos esta tarde a las siete.", "es"),
    ("Ce soir on mange chez ma mère.", "fr", "Stasera mangiamo da mia madre.", "it"),
    (
        "Tussen de middag eten we thuis, 's avonds in de stad.",
        "nl",
        "We eat at home at lunchtime and in town in the evening.",
        "en",
    ),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_duration_of_hours_or_part_of_the_afternoon_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_the_same_duration_or_part_of_the_day_said_another_way_is_kept(
    source: str, sl: str, translation: str, tl: str
) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("about forty-five minutes", "en", {45}),
        ("dos horas y media", "es", {150}),
        ("zweieinhalb Stunden", "de", {150}),
        ("für 1,5 Stunden", "de", {90}),
        ("un'ora di ritardo", "it", {60}),
        ("tres cuartos de hora", "es", {45}),
        ("cuarenta y cinco minutos", "es", {45}),  # not five
        ("zwei Stunden und fünfzehn Minuten", "de", {135}),
        ("à sept heures et demie", "fr", set()),  # a clock time
        ("om 7 uur", "nl", set()),
        ("a las siete horas", "es", set()),
        ("dos horas", "ja", set()),  # a language it does not read
    ],
)
def test_durations_are_read_in_minutes(text: str, language: str, expected: set[int]) -> None:
    assert minutes(text, language) == expected
