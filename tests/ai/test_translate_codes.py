"""Web addresses, codes and scores (:mod:`privcloud.workloads.translate_codes`), time order and
the start or end of a period (:mod:`privcloud.workloads.translate_timing`), and the eleventh
and twelfth rounds' other rules in the translation fact check: a share, a temperature below
zero and a spoon must come back, dates in digits without a year, American dates, a name
after a sentence's first word, a common word before a code, German family names and
countries, family words and "Heute Nacht".

The wrong cases passed the check before (from the hand-labelled sets K and L, bench/data/
translate_pairs/); the faithful ones from those sets were withheld before, the others guard
the new checks against false alarms. No model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_codes import score_parts, source_codes
from privcloud.workloads.translate_facts import check

WRONG = [
    # Round 14 (sets M, N): a booking reference changed, "before" as "after" with no time
    # after it, the morning as the evening beside "früh" (early).
    ("Your booking reference is QX7K2P.", "en", "Ihre Buchungsnummer lautet QX7K2B.", "de"),
    ("Llámame antes de salir del trabajo.", "es", "Liga-me depois de saíres do trabalho.", "pt"),
    (
        "Mañana por la mañana hay mucho tráfico, sal temprano.",
        "es",
        "Morgen Abend gibt es viel Verkehr, fahr früh los.",
        "de",
    ),
    # Round 12 (set L): time order turned round, a German family name or country changed,
    # tablespoons as teaspoons.
    ("Call me after lunch.", "en", "Appelle-moi avant le déjeuner.", "fr"),
    (
        "Die Unterlagen müssen spätestens am Montag bei uns sein.",
        "de",
        "The documents must reach us on Monday at the earliest.",
        "en",
    ),
    ("La oficina está cerrada hasta el lunes.", "es", "L'ufficio è chiuso da lunedì.", "it"),
    ("Arriverò un po' in anticipo.", "it", "Vou chegar um pouco atrasado.", "pt"),
    ("Le magasin ferme plus tôt le samedi.", "fr", "De winkel sluit op zaterdag later.", "nl"),
    (
        "Die Lieferung ist für Familie Hoffmann.",
        "de",
        "The delivery is for the Hartmann family.",
        "en",
    ),
    (
        "Wir fliegen nächsten Monat nach Dänemark.",
        "de",
        "El mes que viene volamos a Noruega.",
        "es",
    ),
    (
        "Faites revenir avec 2 cuillères à soupe d'huile.",
        "fr",
        "Sauté with 2 teaspoons of oil.",
        "en",
    ),
    # A web address or a code changed.
    ("Le menu est sur www.chezpaulette.fr.", "fr", "Il menù è su www.chezpaulette.com.", "it"),
    (
        "Je kunt online betalen via www.parkeren-utrecht.nl.",
        "nl",
        "Vous pouvez payer en ligne sur www.stationnement-utrecht.nl.",
        "fr",
    ),
    (
        "De trein naar Amersfoort vertrekt van spoor 5b.",
        "nl",
        "Der Zug nach Amersfoort fährt von Gleis 5 ab.",
        "de",
    ),
    # Before as after, early as late.
    (
        "Llega antes de las ocho, por favor, que cerramos pronto.",
        "es",
        "Chega depois das oito, por favor, que fechamos cedo.",
        "pt",
    ),
    (
        "Die Kündigung muss vor dem 1. März bei uns eingehen.",
        "de",
        "Your notice must reach us after 1 March.",
        "en",
    ),
    ("Ich komme am frühen Nachmittag vorbei.", "de", "I'll drop by in the late afternoon.", "en"),
    # A share as an amount, a temperature below zero as above.
    ("Remise de 25 % pour les étudiants.", "fr", "25 Euro Rabatt für Studierende.", "de"),
    ("Hace cinco grados bajo cero.", "es", "It's five degrees.", "en"),
]

FAITHFUL = [
    # Round 14: "Tonight's", a date after "para", a country after Portuguese "à", "2.º" for
    # "segundo", "before" and "after" in other senses.
    ("Le concert de ce soir est annulé.", "fr", "Tonight's concert has been cancelled.", "en"),
    (
        "A consulta foi remarcada para 22/05.",
        "pt",
        "The appointment has been moved to 22 May.",
        "en",
    ),
    ("Este verão vamos de férias à Grécia.", "pt", "Cet été, on part en vacances en Grèce.", "fr"),
    (
        "Vivo en la calle Mayor, número 7, segundo izquierda.",
        "es",
        "Moro na Calle Mayor, n.º 7, 2.º esquerdo.",
        "pt",
    ),
    ("Can you look after the kids?", "en", "¿Puedes cuidar a los niños?", "es"),
    ("Je l'ai déjà vu avant.", "fr", "L'ho già visto prima.", "it"),
    # Round 12: the same time order, country and spoons said another way; "Grandma" is no
    # name, "Heute Nacht" is tonight, a range says both ends.
    ("Heute Nacht soll es Frost geben.", "de", "There's supposed to be frost tonight.", "en"),
    (
        "Tell Grandma that Peter will pick her up.",
        "en",
        "Zeg tegen oma dat Peter haar komt ophalen.",
        "nl",
    ),
    (
        "De training is donderdag van vijf tot half zeven.",
        "nl",
        "Practice is on Thursday from five to half past six.",
        "en",
    ),
    ("Llegaré tarde, empezad sin mí.", "es", "I'll be late, start without me.", "en"),
    ("Nos vemos esta tarde a las cinco.", "es", "On se voit cet après-midi à cinq heures.", "fr"),
    ("The office is closed until Monday.", "en", "Het kantoor is tot maandag gesloten.", "nl"),
    (
        "Die Unterlagen müssen spätestens am Montag da sein.",
        "de",
        "Les documents doivent arriver lundi au plus tard.",
        "fr",
    ),
    (
        "Wir fliegen nächsten Monat nach Dänemark.",
        "de",
        "El mes que viene volamos a Dinamarca.",
        "es",
    ),
    ("Añade 2 cucharadas de aceite.", "es", "Aggiungi 2 cucchiai d'olio.", "it"),
    # The same address, code or score written another way.
    ("Le menu est sur www.chezpaulette.fr.", "fr", "The menu is at www.chezpaulette.fr.", "en"),
    (
        "Bayern hat 2:0 gegen Dortmund gewonnen.",
        "de",
        "Il Bayern ha battuto il Dortmund 2-0.",
        "it",
    ),
    (
        "Flight BA 304 to Nice now boarding at gate 22.",
        "en",
        "Vol BA 304 à destination de Nice : embarquement immédiat porte 22.",
        "fr",
    ),
    ("Your seat is 12C.", "en", "Su asiento es el 12 C.", "es"),
    ("Send it to ana.lopez@correo.es today.", "en", "Envíalo hoy a ana.lopez@correo.es.", "es"),
    # Before and after kept; "nach" as "to" and "vor" as "ago" are neither.
    ("Ruf mich vor 9 Uhr an.", "de", "Call me before 9.", "en"),
    (
        "Wir fahren nach Berlin und kommen nach 18 Uhr an.",
        "de",
        "Vamos a Berlín y llegamos después de las 18.",
        "es",
    ),
    ("Ich habe vor 2 Tagen angerufen.", "de", "I called 2 days ago.", "en"),
    ("Il fera moins 5 degrés demain.", "fr", "Domani ci saranno meno 5 gradi.", "it"),
    ("Le taux est de 3 %.", "fr", "The rate is 3 percent.", "en"),
    # Dates in digits without a year, and American ones.
    ("Der Umzug ist für den 14.08. geplant.", "de", "The move is planned for 14 August.", "en"),
    (
        "Les inscriptions sont ouvertes jusqu'au 15/09.",
        "fr",
        "Inschrijven kan tot 15 september.",
        "nl",
    ),
    ("Our lease ends on 10/31/2026.", "en", "Unser Mietvertrag endet am 31.10.2026.", "de"),
    # A name after a sentence's first word.
    (
        "C'est Mathieu qui s'occupe des réservations.",
        "fr",
        "Mathieu es quien se encarga de las reservas.",
        "es",
    ),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_address_code_order_or_sign_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_the_same_fact_in_other_words_is_kept(
    source: str, sl: str, translation: str, tl: str
) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.org/path?q=1 now", [("url", "https://example.org/path?q=1")]),
        ("on www.Example.com.", [("url", "www.example.com")]),
        ("write to ana@correo.es", []),  # an e-mail address, read as such
        ("the file report.pdf", []),  # no web address
        (
            "platform 5b, seat 12C, flight BA 304",
            [("code", "5b"), ("code", "12c"), ("code", "ba304")],
        ),
        ("the 5e arrondissement at 21h, 5 m away", []),  # an ordinal's mark, an hour, a unit
        ("A 5-minute walk", []),  # an article before a number
    ],
)
def test_addresses_and_codes_are_read(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.kind, f.value) for f in source_codes(text)] == expected


def test_scores_are_read_with_any_separator() -> None:
    assert score_parts("won 2:0, then 3-1 and 2 a 0") == {("2", "0"), ("3", "1")}
