"""Currencies, 24-hour clocks and other forms of round 5 of the translation fact check
(:mod:`privcloud.workloads.translate_currency`, ``translate_forms``, ``translate_facts``).

Most cases come from the fifth hand-labelled set (bench/data/translate_pairs/e_independent.json):
the wrong ones passed the check before, the faithful ones were withheld. The first five
faithful cases, a currency written another way, passed before too (there was no currency check):
they keep the new check from withholding a faithful amount (a first version of it withheld
"€12.90" for "12,90 €"). No model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

FAITHFUL = [
    # A currency moved, spelled or signed otherwise.
    ("Ça coûte 12,90 €.", "fr", "It costs €12.90.", "en"),
    ("Deu R$ 49,90.", "pt", "It came to R$49.90.", "en"),
    ("Das macht zusammen vierzehn Euro achtzig.", "de", "That comes to €14.80 altogether.", "en"),
    ("J'ai payé 2 350 € pour la réparation.", "fr", "I paid €2,350 for the repair.", "en"),
    (
        "The hotel in Geneva costs 210 francs a night.",
        "en",
        "Das Hotel in Genf kostet 210 Franken pro Nacht.",
        "de",
    ),
    # A range whose day part comes after its second end, in words.
    (
        "The package should arrive between 2 and 4 pm.",
        "en",
        "El paquete debería llegar entre las dos y las cuatro de la tarde.",
        "es",
    ),
    (
        "O técnico vem amanhã entre as duas e as quatro da tarde.",
        "pt",
        "Le technicien vient demain entre 14 h et 16 h.",
        "fr",
    ),
    # A weekday, then a time with a.m.: no day of the month.
    (
        "Meeting with Tom Walsh moved to next Tuesday, 11 a.m., room 204.",
        "en",
        "Das Meeting mit Tom Walsh wurde auf nächsten Dienstag, 11 Uhr, Raum 204, verschoben.",
        "de",
    ),
    # An age in a month; a letter of a room number; approximate numbers; weekday compounds.
    (
        "Unsere Tochter wird im Mai zwölf Jahre alt.",
        "de",
        "Our daughter turns twelve in May.",
        "en",
    ),
    (
        "La reunión es el miércoles 21 a las once, en la sala 4B.",
        "es",
        "The meeting is on Wednesday the 21st at eleven, in room 4B.",
        "en",
    ),
    (
        "Il y a une trentaine de personnes inscrites.",
        "fr",
        "Ci sono una trentina di persone iscritte.",
        "it",
    ),
    ("Arrivo a L'Aia venerdì sera.", "it", "Ik kom vrijdagavond aan in Den Haag.", "nl"),
]

WRONG = [
    # The currency changed.
    (
        "I'll transfer the $1,250 tomorrow morning.",
        "en",
        "Transferiré los 1.250 euros mañana por la mañana.",
        "es",
    ),
    ("El préstamo es de 1.500 euros.", "es", "The loan is 1,500 dollars.", "en"),
    (
        "Das Hotel in Genf kostet 210 Franken pro Nacht.",
        "de",
        "The hotel in Geneva costs 210 euros per night.",
        "en",
    ),
    ("Gastei cento e vinte reais no mercado.", "pt", "Ho speso centoventi euro al mercato.", "it"),
    # An afternoon hour written as the morning's on a 24-hour clock.
    (
        "Please book a table for six at 7:30 p.m.",
        "en",
        "Bitte reservieren Sie einen Tisch für sechs Personen um 7:30 Uhr.",
        "de",
    ),
    ("Mi vuelo a Ginebra sale a las 7 de la tarde.", "es", "Mon vol pour Genève part à 7 h.", "fr"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_a_faithful_translation_is_kept(source: str, sl: str, translation: str, tl: str) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_currency_or_half_of_the_day_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


def test_a_word_that_names_a_currency_elsewhere_is_no_currency_without_a_number() -> None:
    # "a pound of apples": no amount, so no currency for the translation to keep
    assert check(
        "Buy a pound of apples for 3 euros.",
        "en",
        "Compra medio kilo de manzanas por 3 euros.",
        "es",
    ).kept
