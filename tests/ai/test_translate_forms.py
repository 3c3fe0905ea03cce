"""Facts that languages write in different forms (:mod:`privcloud.workloads.translate_forms`)
and number idioms (:mod:`privcloud.workloads.translate_numbers`) in the translation fact check.

The faithful cases were withheld before these rules (a withheld piece reaches the user
untranslated); most come from the fourth hand-labelled set (bench/data/translate_pairs/
d_independent.json), the rest are written here. Each wrong case must stay caught. No model:
fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

FAITHFUL = [
    # Two weeks, one week.
    ("Ci vediamo a Bologna tra quindici giorni.", "it", "See you in Bologna in a fortnight.", "en"),
    ("Ich rufe dich in vierzehn Tagen wieder an.", "de", "Je te rappelle dans quinze jours.", "fr"),
    ("Daqui a duas semanas vamos a Coimbra.", "pt", "In a fortnight we're going to Coimbra.", "en"),
    (
        "Votre carte sera envoyée d'ici huit jours.",
        "fr",
        "O cartão será enviado dentro de uma semana.",
        "pt",
    ),
    # A day of the month after its weekday.
    (
        "I'm calling to confirm your appointment on Tuesday the 14th at half past three.",
        "en",
        "Le llamo para confirmar su cita del martes 14 a las tres y media.",
        "es",
    ),
    (
        "Your appointment is confirmed for Monday the 9th at twenty past ten.",
        "en",
        "A sua consulta está confirmada para segunda-feira, dia 9, às dez e vinte.",
        "pt",
    ),
    # Ranges of clock times with one clock word.
    (
        "Das Paket kommt übermorgen zwischen zehn und vierzehn Uhr.",
        "de",
        "The parcel is coming the day after tomorrow between 10 a.m. and 2 p.m.",
        "en",
    ),
    (
        "The parcel will be delivered tomorrow between 6 and 9 in the evening.",
        "en",
        "Het pakket wordt morgen tussen 18.00 en 21.00 uur bezorgd.",
        "nl",
    ),
    (
        "La consegna del divano è prevista lunedì tra le otto e le tredici.",
        "it",
        "La entrega del sofá está prevista el lunes entre las ocho y la una.",
        "es",
    ),
    # An hour with its part of the day in words (set G).
    (
        "El técnico vendrá el lunes entre las ocho y las diez de la mañana.",
        "es",
        "The technician will come on Monday between eight and ten in the morning.",
        "en",
    ),
    # French hours placed in the day, "19h".
    (
        "La fête commence à partir de dix-neuf heures.",
        "fr",
        "A festa começa a partir das 19h.",
        "pt",
    ),
    # An English year said in words.
    (
        "My grandmother was born in Bilbao in nineteen forty-eight.",
        "en",
        "Mi abuela nació en Bilbao en 1948.",
        "es",
    ),
    # Last year.
    (
        "Inflation was 2.5% last year.",
        "en",
        "L'inflation a été de 2,5 % l'an dernier.",
        "fr",
    ),
    # Idioms whose number counts nothing.
    ("I'm on cloud nine!", "en", "Je suis aux anges !", "fr"),
    ("Sono al settimo cielo!", "it", "I'm over the moon!", "en"),
    ("Das ist für mich ein Buch mit sieben Siegeln.", "de", "That's a closed book to me.", "en"),
    ("J'ai vu trente-six chandelles.", "fr", "I saw stars.", "en"),
    ("En un dos por tres lo tenemos listo.", "es", "Lo sistemiamo in quattro e quattr'otto.", "it"),
]

WRONG = [
    ("Ci vediamo tra quindici giorni.", "it", "See you in three weeks.", "en"),
    (
        "Le llamo para confirmar su cita del martes 14 a las tres y media.",
        "es",
        "I'm calling to confirm your appointment on Tuesday the 15th at half past three.",
        "en",
    ),
    (
        "Das Paket kommt zwischen zehn und vierzehn Uhr.",
        "de",
        "The parcel is coming between 11 a.m. and 2 p.m.",
        "en",
    ),
    # "9 am" is not "21h", which the reader did not read as a time of its own.
    (
        "The courier will pick up the box between 9 and 11 am.",
        "en",
        "O estafeta vem buscar a caixa entre as 21h e as 23h.",
        "pt",
    ),
    ("My grandmother was born in nineteen forty-eight.", "en", "Mi abuela nació en 1958.", "es"),
    # A number beside an idiom is still a number.
    (
        "I'm on cloud nine: the flat costs 900 euros.",
        "en",
        "Je suis aux anges : l'appartement coûte 800 euros.",
        "fr",
    ),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_fact_written_in_another_form_is_kept(
    source: str, sl: str, translation: str, tl: str
) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_fact_in_those_forms_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept
