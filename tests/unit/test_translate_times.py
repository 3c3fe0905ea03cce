"""Clock times translated by grammar (privcloud.workloads.translate_times): a small model got
short time pieces wrong ("At nine." -> "A nueve.", "Um halb zehn?" -> "¿A las 12:30?"), so a
piece that is only a time is read and written without it."""

from __future__ import annotations

from typing import cast

import pytest

from aikit import NoModels
from privcloud.workloads.models import QWEN_1_5B, Models
from privcloud.workloads.translate_facts import check
from privcloud.workloads.translate_pieces import PieceTranslator, Steps
from privcloud.workloads.translate_times import render

#: (piece, source, target, rendering), all of which the fact check accepts.
RENDERED = [
    # the model's failures, live
    ("At nine.", "en", "es", "A las nueve."),
    ("At nine.", "en", "de", "Um neun Uhr."),
    ("At nine.", "en", "nl", "Om negen uur."),
    ("Um halb zehn?", "de", "es", "¿A las nueve y media?"),
    ("Um halb zehn?", "de", "en", "At half past nine?"),
    ("Um halb zehn?", "de", "fr", "À neuf heures et demie ?"),
    ("Um halb zehn?", "de", "nl", "Om half tien?"),
    ("At half past six?", "en", "de", "Um halb sieben?"),
    ("At half past six?", "en", "nl", "Om half zeven?"),
    ("At half past six?", "en", "pt", "Às seis e meia?"),
    ("Vers midi et quart ?", "fr", "en", "Around a quarter past twelve in the afternoon?"),
    ("Vers midi et quart ?", "fr", "de", "Gegen Viertel nach zwölf mittags?"),
    ("Vers midi et quart ?", "fr", "it", "Verso mezzogiorno e un quarto?"),
    ("Om kwart voor vijf.", "nl", "de", "Um Viertel vor fünf."),
    ("Om kwart voor vijf.", "nl", "en", "At a quarter to five."),
    ("Om kwart voor vijf.", "nl", "fr", "À cinq heures moins le quart."),
    ("Om kwart voor vijf.", "nl", "pt", "Às cinco menos um quarto."),
    # the brief's renderings per target
    ("Um halb fünf?", "de", "it", "Alle quattro e mezza?"),
    ("At half past four?", "en", "es", "¿A las cuatro y media?"),
    ("À quatre heures et demie ?", "fr", "nl", "Om half vijf?"),
    ("At a quarter to eight.", "en", "es", "A las ocho menos cuarto."),
    ("At a quarter to eight.", "en", "it", "Alle otto meno un quarto."),
    ("Om kwart voor acht.", "nl", "fr", "À huit heures moins le quart."),
    # German and Dutch half hours, both ways
    ("Halb fünf?", "de", "en", "Half past four?"),
    ("Half vijf?", "nl", "es", "¿Las cuatro y media?"),
    ("Om half negen.", "nl", "de", "Um halb neun."),
    ("Um halb neun.", "de", "nl", "Om half negen."),
    ("Alle otto e mezza.", "it", "de", "Um halb neun."),
    ("Às oito e meia?", "pt", "nl", "Om half negen?"),
    ("Om vijf voor half vijf.", "nl", "en", "At twenty-five past four."),
    ("At twenty-five past four.", "en", "de", "Um fünf vor halb fünf."),
    ("At twenty-five to five.", "en", "nl", "Om vijf over half vijf."),
    ("Um fünf nach halb fünf.", "de", "es", "A las cinco menos veinticinco."),
    ("Gegen dreiviertel fünf.", "de", "fr", "Vers cinq heures moins le quart."),
    # quarters and minutes
    ("Kwart over drie.", "nl", "en", "A quarter past three."),
    ("Kwart over drie.", "nl", "de", "Viertel nach drei."),
    ("A las cuatro y cuarto.", "es", "pt", "Às quatro e um quarto."),
    ("A las cinco menos diez.", "es", "de", "Um zehn vor fünf."),
    ("Le cinque meno dieci.", "it", "es", "Las cinco menos diez."),
    ("Dez para as cinco.", "pt", "en", "Ten minutes to five."),
    ("Às dez para as cinco.", "pt", "it", "Alle cinque meno dieci."),
    ("À quatre heures vingt.", "fr", "nl", "Om twintig over vier."),
    ("Om tien voor half vijf.", "nl", "it", "Alle quattro e venti."),
    ("Ten past four then.", "en", "de", "Zehn nach vier dann."),
    ("Ten past four then.", "en", "es", "Las cuatro y diez entonces."),
    # one o'clock is singular
    ("At one.", "en", "es", "A la una."),
    ("At one.", "en", "fr", "À une heure."),
    ("At one.", "en", "pt", "À uma."),
    ("Um ein Uhr.", "de", "nl", "Om één uur."),
    ("All'una e un quarto.", "it", "en", "At a quarter past one."),
    ("A la una y media.", "es", "de", "Um halb zwei."),
    ("Vers une heure.", "fr", "en", "Around one o'clock."),
    # noon and midnight
    ("At noon.", "en", "es", "Al mediodía."),
    ("At noon.", "en", "fr", "À midi."),
    ("At noon.", "en", "de", "Um zwölf Uhr mittags."),
    ("At noon.", "en", "it", "A mezzogiorno."),
    ("At noon.", "en", "pt", "Ao meio-dia."),
    ("At noon.", "en", "nl", "Om twaalf uur 's middags."),
    ("À minuit.", "fr", "de", "Um Mitternacht."),
    ("À meia-noite.", "pt", "es", "A la medianoche."),
    ("Om middernacht.", "nl", "it", "A mezzanotte."),
    ("Ao meio-dia e meia.", "pt", "en", "At half past twelve in the afternoon."),
    ("Verso mezzogiorno?", "it", "fr", "Vers midi ?"),
    ("¿A mediodía?", "es", "en", "At noon?"),
    ("Às dez para o meio-dia?", "pt", "it", "A mezzogiorno meno dieci?"),
    # digits, as each target writes them
    ("À 16h30.", "fr", "en", "At 16:30."),
    ("À 16h30.", "fr", "de", "Um 16:30 Uhr."),
    ("Um 16.30 Uhr.", "de", "fr", "À 16 h 30."),
    ("At 16:30.", "en", "nl", "Om 16:30."),
    ("At 16:30.", "en", "pt", "Às 16:30."),
    ("Sobre las 9:30.", "es", "it", "Verso le 9:30."),
    ("Um 16 Uhr.", "de", "fr", "À 16 h."),
    ("Om 9 uur?", "nl", "de", "Um 9 Uhr?"),
    ("16:30?", "en", "es", "¿Las 16:30?"),
    ("À dix-sept heures.", "fr", "en", "At 17:00."),
    ("Um siebzehn Uhr.", "de", "nl", "Om 17 uur."),
    ("Alle diciassette e un quarto.", "it", "en", "At 17:15."),
    # around, then, statements and exclamations
    ("Around half past four?", "en", "es", "¿Sobre las cuatro y media?"),
    ("Around half past four?", "en", "it", "Verso le quattro e mezza?"),
    ("Around nine o'clock?", "en", "de", "Gegen neun Uhr?"),
    ("Around nine o'clock?", "en", "fr", "Vers neuf heures ?"),
    ("Rond half vijf.", "nl", "en", "Around half past four."),
    ("Gegen neun?", "de", "nl", "Rond negen uur?"),
    ("A eso de las diez.", "es", "de", "Gegen zehn Uhr."),
    ("Por volta das quatro e meia.", "pt", "de", "Gegen halb fünf."),
    ("At nine then?", "en", "es", "¿A las nueve entonces?"),
    ("At nine, then.", "en", "fr", "À neuf heures, alors."),
    ("Le nove e mezza allora.", "it", "en", "Half past nine then."),
    ("At nine!", "en", "es", "¡A las nueve!"),
    ("At nine!", "en", "fr", "À neuf heures !"),
    ("at nine", "en", "de", "um neun Uhr"),
    ("Om negen.", "nl", "en", "At nine."),
    # "then" first, "lá pelas", a comma kept before "then"
    ("Dann um zwanzig vor elf.", "de", "nl", "Dan om twintig voor elf."),
    ("Then at nine?", "en", "it", "Allora alle nove?"),
    ("Lá pelas dez e meia, então?", "pt", "en", "Around half past ten, then?"),
    ("Om middernacht, dan.", "nl", "fr", "À minuit, alors."),
    # minutes as a number, hours above twelve in words
    ("À seize heures trente ?", "fr", "en", "At 16:30?"),
    ("Alle tredici e trenta?", "it", "nl", "Om 13:30?"),
    ("Às onze e quarenta e cinco?", "pt", "fr", "À 11 h 45 ?"),
    ("Às vinte e duas horas?", "pt", "it", "Alle 22:00?"),
    ("At seven forty-five.", "en", "de", "Um 7:45 Uhr."),
    ("At seven oh five.", "en", "es", "A las 7:05."),
    ("A las ocho y veintidós.", "es", "en", "At 8:22."),
    ("Um sechzehn Uhr fünfzehn.", "de", "it", "Alle 16:15."),
    ("Om zestien uur vijfenveertig.", "nl", "pt", "Às 16:45."),
    ("Alle otto e ventitré.", "it", "de", "Um 8:23 Uhr."),
    # noon and midnight with minutes
    # parts of the day, written by the hour
    ("Alle nove di sera.", "it", "en", "At nine in the evening."),
    ("Nine in the evening.", "en", "fr", "Neuf heures du soir."),
    ("At nine p.m.", "en", "es", "A las nueve de la noche."),
    ("At nine p.m.?", "en", "de", "Um neun Uhr abends?"),
    ("At 9:30 a.m.", "en", "fr", "À 9 h 30 du matin."),
    ("Om half acht 's avonds.", "nl", "es", "A las siete y media de la tarde."),
    ("A las diez de la noche.", "es", "en", "At ten in the evening."),
    ("À onze heures du soir.", "fr", "de", "Um elf Uhr abends."),
    ("Às três da madrugada.", "pt", "en", "At three in the morning."),
    ("A las doce de la noche.", "es", "fr", "À minuit."),
    ("Om twaalf uur 's nachts.", "nl", "en", "At midnight."),
    ("At twelve p.m.", "en", "fr", "À midi."),
    # a day first or last, written first
    ("Tomorrow at ten?", "en", "es", "¿Mañana a las diez?"),
    ("Domani alle dieci.", "it", "de", "Morgen um zehn Uhr."),
    ("Morgen um halb acht.", "de", "en", "Tomorrow at half past seven."),
    ("À dix heures demain ?", "fr", "it", "Domani alle dieci?"),
    ("On Monday at nine.", "en", "de", "Am Montag um neun Uhr."),
    ("Tonight at eight?", "en", "nl", "Vanavond om acht uur?"),
    ("Amanhã às nove da manhã.", "pt", "fr", "Demain à neuf heures du matin."),
    ("A las ocho de la mañana.", "es", "en", "At eight in the morning."),
    ("Mañana a las ocho de la mañana.", "es", "de", "Morgen um acht Uhr morgens."),
    # a red team's finds: hours above twelve with minutes to them, parts of the day by the
    # hour, a day that names a part of it, noon with minutes before it, Dutch "Eén"
    ("Alle diciotto meno un quarto.", "it", "en", "At 17:45."),
    ("À dix-huit heures moins le quart.", "fr", "en", "At 17:45."),
    ("Um Viertel vor achtzehn.", "de", "en", "At 17:45."),
    ("At a quarter to five in the evening.", "en", "es", "A las cinco menos cuarto de la tarde."),
    ("At quarter to one p.m.", "en", "es", "A la una menos cuarto de la tarde."),
    ("A las seis de la madrugada.", "es", "de", "Um sechs Uhr morgens."),
    ("At two in the morning.", "en", "nl", "Om twee uur 's nachts."),
    ("Esta tarde a las nueve.", "es", "en", "This evening at nine."),
    ("This evening at ten.", "en", "es", "Esta noche a las diez."),
    ("This evening at seven.", "en", "es", "Esta tarde a las siete."),
    ("Tonight at two.", "en", "de", "Heute Nacht um zwei Uhr."),
    ("Esta noche a las doce.", "es", "fr", "Ce soir à minuit."),
    ("Mañana, a las diez.", "es", "en", "Tomorrow at ten."),  # the second round's
    ("Tonight at 2.", "en", "de", "Heute Nacht um 2 Uhr."),
    ("At a quarter to twelve at night.", "en", "fr", "À minuit moins le quart."),
    ("Nine o'clock tonight.", "en", "es", "Esta noche a las nueve."),
    ("Tonight at twelve.", "en", "fr", "Ce soir à minuit."),
    # three forms a blind set's speakers used
    ("Um Viertel nach eins mittags?", "de", "pt", "À uma e um quarto da tarde?"),
    ("Alle otto e tre quarti.", "it", "nl", "Om kwart voor negen."),
    ("At a quarter to twelve p.m.", "en", "de", "Um Viertel vor zwölf nachts."),
]

#: Renderings the fact check rejects although they are right: its clock readers need a lead
#: for French and Dutch minutes and hours, read no "por volta das", "sobre las" or "verso le"
#: before a whole hour, and glue Italian "all'" to the hour; they read noon and midnight
#: with minutes on one side only ("minuit moins cinq" as 23:55, "half past midnight" as
#: midnight), German "nachts" as after noon and Spanish "las doce ... de la noche" as p.m.;
#: and a part of the day the hour changes ("quatre heures du soir" is four in the
#: afternoon), "veinte" as an hour, "één" capitalised.
CHECKER_REJECTS = [
    ("¿A las doce y cuarto de madrugada?", "es", "de", "Um Viertel nach zwölf nachts?"),
    ("This afternoon at 7.", "en", "fr", "Ce soir à 7 h."),
    ("Um zehn nach halb zwölf nachts.", "de", "it", "A mezzanotte meno venti."),
    ("Heute Abend um sechs.", "de", "es", "Esta tarde a las seis."),
    ("Vanavond om vijf uur.", "nl", "pt", "Hoje à tarde às cinco."),
    ("A las veinte menos diez.", "es", "en", "At 19:50."),
    ("À quatre heures du soir.", "fr", "en", "At four in the afternoon."),
    ("Halb fünf abends.", "de", "en", "Half past four in the afternoon."),
    ("Um Viertel vor eins nachts.", "de", "en", "At a quarter to one in the morning."),
    ("At ten to noon.", "en", "de", "Um zehn vor zwölf mittags."),
    ("At ten to noon.", "en", "nl", "Om tien voor twaalf 's ochtends."),
    ("One o'clock.", "en", "nl", "Eén uur."),
    ("À minuit moins cinq.", "fr", "en", "At five to midnight."),
    ("Half past midnight?", "en", "fr", "Minuit et demi ?"),
    ("Ten to midnight.", "en", "de", "Zehn vor zwölf nachts."),
    ("Um drei Uhr nachts.", "de", "es", "A las tres de la madrugada."),
    ("A las doce y media de la noche.", "es", "en", "At half past midnight."),
    ("Ten past four then.", "en", "fr", "Quatre heures dix alors."),
    ("Ten past four then.", "en", "nl", "Tien over vier dan."),
    ("Half vijf?", "nl", "fr", "Quatre heures et demie ?"),
    ("A la una y media?", "es", "it", "All'una e mezza?"),
    ("Around nine o'clock?", "en", "es", "¿Sobre las nueve?"),
    ("Around nine o'clock?", "en", "pt", "Por volta das nove?"),
    ("Verso le cinque meno venti?", "it", "pt", "Por volta das cinco menos vinte?"),
]


@pytest.mark.parametrize(("piece", "source", "target", "expected"), RENDERED + CHECKER_REJECTS)
def test_a_time_alone_is_rendered_by_grammar(
    piece: str, source: str, target: str, expected: str
) -> None:
    assert render(piece, source, target) == expected


@pytest.mark.parametrize(("piece", "source", "target", "expected"), RENDERED)
def test_the_fact_check_accepts_every_rendering(
    piece: str, source: str, target: str, expected: str
) -> None:
    result = check(piece, source, expected, target)
    assert result.kept, result.lost_meta()


@pytest.mark.parametrize(("piece", "source", "target", "expected"), CHECKER_REJECTS)
def test_renderings_the_fact_check_cannot_read_yet(
    piece: str, source: str, target: str, expected: str
) -> None:
    # Kept here so that a fixed reader shows: move the case to RENDERED then.
    assert not check(piece, source, expected, target).kept


@pytest.mark.parametrize(
    ("piece", "source"),
    [
        ("At nine with Anna.", "en"),  # an extra word
        ("At nine o'clock sharp.", "en"),
        ("Nine euros.", "en"),
        ("Half of it.", "en"),
        ("Twenty past.", "en"),  # no hour
        ("Two hours.", "en"),  # a duration
        ("At two hours.", "en"),
        ("At thirteen.", "en"),  # above twelve in words, which English does not say
        ("Nine.", "en"),  # a count, maybe
        ("About nine?", "en"),
        ("Ten to five.", "en"),  # a score, maybe
        ("4.30.", "en"),  # a price, maybe
        ("At 25:00.", "en"),
        ("At 9:75.", "en"),
        ("At nine; then.", "en"),
        ("Um neun Euro?", "de"),
        ("Halb.", "de"),
        ("Um eins Uhr.", "de"),
        ("Halb siebzehn.", "de"),
        ("Dreiviertel fünf!", "de"),  # three quarters of five, maybe
        ("Vers la gare.", "fr"),
        ("Deux heures et demie.", "fr"),  # a duration too
        ("À neuf.", "fr"),
        ("A las una.", "es"),  # article and hour disagree
        ("A la dos.", "es"),
        ("A nueve.", "es"),
        ("A las mediodía.", "es"),
        ("À dez para as cinco.", "pt"),
        ("Quatro e meia.", "pt"),
        ("Negen uur.", "nl"),  # nine hours, maybe
        ("Om negen uur met Anna.", "nl"),
        ("Four thirty.", "en"),  # a price, maybe
        ("Dos horas.", "es"),  # a duration
        ("Duas horas.", "pt"),
        ("At 12 a.m.", "en"),  # midnight or noon: people disagree
        ("At twelve in the morning.", "en"),
        ("At midnight at night.", "en"),
        ("At 16:00 p.m.", "en"),
        ("A las diez de la madrugada.", "es"),
        ("Las nueve.", "es"),  # "las dos" may be "both": an hour needs "a" or a clock word
        ("As duas.", "pt"),
        ("A las dos horas.", "es"),  # two hours on
        ("A uma hora.", "pt"),
        ("1h30.", "fr"),  # a duration too
        ("At nine, ten.", "en"),  # nine or ten
        ("A las siete, ocho.", "es"),
        ("Às vinte e cinco.", "pt"),  # 20:05, or 25 past?
        ("Um fünf Uhr nachts.", "de"),  # 5 a.m.; "seis de la noche" is 6 p.m. in places
        ("Om zes uur 's nachts.", "nl"),
        ("2 heures ?", "fr"),  # a duration too
        ("A las 2 horas.", "es"),
        ("About four fifty.", "en"),  # a price, maybe
        ("Around 4.50?", "en"),
        ("At 18?", "en"),  # an age, maybe
        ("At twelve thirty tonight.", "en"),  # "12 h 30" reads as midday
        ("Tonight at half past twelve.", "en"),
        ("At two this morning.", "en"),  # the night before: "esta madrugada", "heute Nacht"
        ("Um fünf Uhr mittags.", "de"),  # "mittags" is noon to two or so
        ("Le nove meno tre quarti.", "it"),
        ("Tomorrow.", "en"),  # a day alone
        ("Tomorrow nine?", "en"),
        ("Morgen.", "de"),
    ],
)
def test_anything_but_a_time_is_left_to_the_model(piece: str, source: str) -> None:
    for target in ("en", "es", "fr", "de", "it", "pt", "nl"):
        assert render(piece, source, target) is None, target


def test_unknown_or_same_languages_are_left_to_the_model() -> None:
    assert render("At nine.", "en", "en") is None
    assert render("At nine.", "en", "ja") is None
    assert render("Klockan nio.", "sv", "en") is None


def test_a_piece_over_the_phrasebook_bounds_is_left_to_the_model() -> None:
    assert render("At nine" + " " * 80 + ".", "en", "de") is None


def test_twelve_is_not_written_as_noon_in_french() -> None:
    # "douze heures" is noon; English "twelve" may be midnight
    assert render("At twelve.", "en", "fr") is None
    assert render("At ten to twelve.", "en", "fr") is None
    assert render("At twelve.", "en", "de") == "Um zwölf Uhr."
    assert render("At noon.", "en", "fr") == "À midi."


@pytest.mark.parametrize("target", ["es", "fr", "de", "it", "pt", "nl"])
def test_every_hour_and_minute_of_english_renders(target: str) -> None:
    for hour in ("one", "six") if target == "fr" else ("one", "six", "twelve"):
        for said in ("{h} o'clock", "five past {h}", "a quarter past {h}", "half past {h}",
                     "twenty to {h}", "a quarter to {h}"):  # fmt: skip
            assert render(f"At {said.format(h=hour)}.", "en", target), (target, said, hour)


def test_a_time_piece_takes_no_model_call_and_says_so() -> None:
    steps = Steps()
    translator = PieceTranslator(cast(Models, NoModels()), QWEN_1_5B, "withhold", steps, None)
    piece = translator.piece("de", "es", "Um halb zehn?")
    assert (piece.text, piece.status, piece.facts) == ("¿A las nueve y media?", "clock", 0)
    assert translator.piece("en", "es", "Okay, thanks.").status == "phrasebook"
    assert steps.meta() == []
    with pytest.raises(AssertionError, match="reached the language model"):
        translator.piece("de", "es", "Um halb zehn, am Bahnhof?")
