"""Parts of the day, which week, durations' units and German cities in the translation fact check
(:mod:`privcloud.workloads.translate_periods`, ``translate_facts``).

The wrong cases come from the hand-labelled sets E and F (bench/data/translate_pairs/): each
passed the check before. The faithful ones say the same thing another way, and must not be
withheld for it: the checks work by contradiction, not by presence (the faithful cases passed
before these checks too; they keep them from withholding). No model: fixed translations.
"""

from __future__ import annotations

import pytest

from privcloud.workloads.translate_facts import check

WRONG = [
    # The part of the day changed.
    (
        "Die Lieferung kommt am Montagmorgen zwischen 7 und 9 Uhr.",
        "de",
        "La livraison arrive lundi soir entre 7 h et 9 h.",
        "fr",
    ),
    (
        "O Tiago chega a Berlim no domingo de manhã.",
        "pt",
        "Tiago kommt am Sonntagabend in Berlin an.",
        "de",
    ),
    (
        "A entrega do sofá é na sexta-feira de manhã.",
        "pt",
        "La consegna del divano è venerdì pomeriggio.",
        "it",
    ),
    (
        "Call Mrs. Bianchi on 347 210 5588 this afternoon.",
        "en",
        "Chiama la signora Bianchi al 347 210 5588 stamattina.",
        "it",
    ),
    # A duration's unit changed.
    (
        "My brother is coming to visit us in three weeks.",
        "en",
        "O meu irmão vem visitar-nos daqui a três dias.",
        "pt",
    ),
    (
        "Il meccanico dice che la macchina sarà pronta tra due giorni.",
        "it",
        "Der Mechaniker sagt, dass das Auto in zwei Wochen fertig ist.",
        "de",
    ),
    (
        "Sanne blijft twee weken in Den Haag.",
        "nl",
        "Sanne is staying in The Hague for two days.",
        "en",
    ),
    # Which week or weekend changed (sets E, F, G).
    (
        "Quedamos este fin de semana en Zaragoza con Lucía.",
        "es",
        "We're meeting Lucía in Zaragoza next weekend.",
        "en",
    ),
    (
        "It's my father's 65th birthday this weekend.",
        "en",
        "Mein Vater feiert am nächsten Wochenende seinen 65. Geburtstag.",
        "de",
    ),
    (
        "We'll meet in Milan the week after next.",
        "en",
        "Ci vediamo a Milano la settimana prossima.",
        "it",
    ),
    # A week, month or night without a number the check reads ("une semaine", "a month"), a
    # couple, nights (sets E, F, G, H).
    (
        "Nous partons à Londres le 23 décembre pour une semaine.",
        "fr",
        "We're leaving for London on 23 December for two weeks.",
        "en",
    ),
    (
        "The vet said Fido needs to lose two kilos before the next check-up in a month.",
        "en",
        "Il veterinario ha detto che Fido deve perdere due chili prima del controllo tra una"
        " settimana.",
        "it",
    ),
    (
        "We stayed at the hotel in Cologne for four nights.",
        "en",
        "Wir waren vier Wochen im Hotel in Köln.",
        "de",
    ),
    (
        "Resto a Venezia per un paio di settimane.",
        "it",
        "I'm staying in Venice for a couple of days.",
        "en",
    ),
    # Next Monday and the one after (sets F, G).
    (
        "Le livreur repassera lundi prochain.",
        "fr",
        "Der Paketbote kommt übernächsten Montag wieder vorbei.",
        "de",
    ),
    (
        "The school is closed the Monday after next because of a strike.",
        "en",
        "De school is volgende maandag dicht vanwege een staking.",
        "nl",
    ),
    # A city changed in a German sentence.
    (
        "Frau Becker zieht nächste Woche nach Köln.",
        "de",
        "Mrs. Becker is moving to Bonn next week.",
        "en",
    ),
    (
        "Meine Tochter ist seit drei Wochen in Brüssel.",
        "de",
        "Mijn dochter zit al drie weken in Antwerpen.",
        "nl",
    ),
]

FAITHFUL = [
    # A part of the day left out, or said in another word of the same half.
    ("Tomorrow morning at 9 the plumber comes.", "en", "Morgen um 9 Uhr kommt der Klempner.", "de"),
    ("On se voit samedi soir.", "fr", "Ci vediamo sabato sera.", "it"),
    ("Llego el viernes por la noche.", "es", "I arrive on Friday evening.", "en"),
    ("Ik bel je vanavond terug.", "nl", "Je te rappelle ce soir.", "fr"),
    # A duration in another unit of the same length.
    ("Ci vediamo tra quindici giorni.", "it", "See you in two weeks.", "en"),
    (
        "Das Projekt dauert ein Jahr, also zwölf Monate.",
        "de",
        "The project lasts a year, so twelve months.",
        "en",
    ),
    ("We stay for 14 days.", "en", "Nos quedamos dos semanas.", "es"),
    # The same week or weekend; the coming one (Dutch "komend") is either.
    (
        "Quedamos este fin de semana en Zaragoza.",
        "es",
        "On se retrouve à Saragosse ce week-end.",
        "fr",
    ),
    ("The school trip is next week.", "en", "La gita scolastica è la settimana prossima.", "it"),
    ("We gaan komend weekend naar Gent.", "nl", "We're going to Ghent this weekend.", "en"),
    # A German city by its name in the target language.
    (
        "Frau Becker zieht nächste Woche nach Köln.",
        "de",
        "Mrs. Becker is moving to Cologne next week.",
        "en",
    ),
    (
        "Meine Tochter ist seit drei Wochen in Brüssel.",
        "de",
        "Mijn dochter zit al drie weken in Brussel.",
        "nl",
    ),
    # One week or month said another way, a rate ("three days a week") is no week.
    ("Nous partons pour une semaine.", "fr", "We're leaving for a week.", "en"),
    ("The contract runs for a year.", "en", "Der Vertrag läuft zwölf Monate.", "de"),
    (
        "My cousin works in Oporto three days a week.",
        "en",
        "O meu primo trabalha no Porto três dias por semana.",
        "pt",
    ),
    (
        "Mio figlio ha quindici anni e gioca tre volte a settimana.",
        "it",
        "My son is fifteen and plays three times a week.",
        "en",
    ),
    ("He's eighty-one years old.", "en", "Hij is eenentachtig jaar oud.", "nl"),
    (
        "Le livreur repassera lundi prochain.",
        "fr",
        "Der Paketbote kommt nächsten Montag wieder.",
        "de",
    ),
    # A German noun that is no city stays unchecked.
    ("Das Paket liegt bei der Post.", "de", "The parcel is at the post office.", "en"),
]


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), WRONG)
def test_a_changed_part_of_the_day_duration_or_city_is_caught(
    source: str, sl: str, translation: str, tl: str
) -> None:
    assert not check(source, sl, translation, tl).kept


@pytest.mark.parametrize(("source", "sl", "translation", "tl"), FAITHFUL)
def test_the_same_period_or_city_said_another_way_is_kept(
    source: str, sl: str, translation: str, tl: str
) -> None:
    result = check(source, sl, translation, tl)
    assert result.kept, (result.lost, result.added)
