"""Conversational formulas translated from the phrasebook (privcloud.workloads.
translate_phrasebook): a small model answered them instead of translating them ("Okay,
thanks." -> "¡De nada!"), which no fact check sees."""

from __future__ import annotations

from typing import cast

import pytest

from aikit import NoModels
from privcloud.workloads.models import QWEN_1_5B, Models
from privcloud.workloads.phrasebook_table import ASKED, FORMULAS, LANGUAGES
from privcloud.workloads.translate_phrasebook import render
from privcloud.workloads.translate_pieces import PieceTranslator, Steps


def test_every_formula_is_written_in_every_language() -> None:
    for formula in FORMULAS:
        assert set(formula.rendering) == set(LANGUAGES), formula.name
        assert all(formula.rendering[lang].strip() for lang in LANGUAGES), formula.name


def test_no_form_belongs_to_two_formulas() -> None:
    for lang in LANGUAGES:
        seen: dict[tuple[bool, str], str] = {}
        for formula in FORMULAS:
            for form in formula.said[lang]:
                key = (formula.name in ASKED, form)
                assert seen.setdefault(key, formula.name) == formula.name, (lang, form)


def test_every_form_renders_its_formula_in_every_language() -> None:
    for formula in FORMULAS:
        mark = "?" if formula.name in ASKED else "."
        for source in LANGUAGES:
            for form in formula.said[source]:
                for target in LANGUAGES:
                    if target == source or formula.name == "please":
                        continue
                    out = render(form + mark, source, target)
                    assert out is not None, (formula.name, source, form)
                    expected = formula.rendering[target]
                    assert expected.lower() in out.lower(), (form, target, out)


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        ("Okay, thanks.", "en", "es", "De acuerdo, gracias."),
        ("Okay thanks bye", "en", "nl", "Oké, bedankt, tot ziens"),
        ("Thanks, bye.", "en", "de", "Danke, auf Wiederhören."),
        ("Yes, please.", "en", "fr", "Oui, s'il vous plaît."),
        ("Un momento, por favor.", "es", "en", "One moment, please."),
        ("Sí, sí, claro.", "es", "de", "Ja, ja, natürlich."),
        ("No.", "en", "de", "Nein."),
        ("Hold on.", "en", "es", "Un momento."),
        ("Pues nada.", "es", "en", "Anyway."),
        ("Encantado.", "es", "en", "Nice to meet you."),
        ("Eh,", "es", "en", "Uh,"),
        ("Ah, d'accord.", "fr", "en", "Ah, okay."),
        ("Va be'.", "it", "en", "Okay."),
        ("Yes. Thank you!", "en", "es", "Sí. ¡Gracias!"),
    ],
)
def test_formulas_are_rendered(piece: str, source: str, target: str, expected: str) -> None:
    assert render(piece, source, target) == expected


def test_a_thanks_is_translated_not_answered() -> None:
    """Qwen2.5-Coder 1.5B answered "Okay, thanks." with "¡De nada!" (you're welcome)."""
    out = render("Okay, thanks.", "en", "es")
    assert out is not None and "gracias" in out and "nada" not in out
    assert render("You're welcome.", "en", "es") == "De nada."


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        ("Sorry?", "en", "es", "¿Cómo?"),
        ("Sorry, what?", "en", "es", "¿Cómo?"),
        ("Bitte?", "de", "en", "Sorry?"),
        ("Pardon ?", "fr", "it", "Come?"),
        ("Sorry.", "en", "es", "Disculpe."),  # a light "sorry", not "I regret"
        ("I'm sorry.", "en", "es", "Lo siento."),
        ("Scusi.", "it", "en", "Sorry."),
    ],
)
def test_asking_to_repeat_is_not_an_apology(
    piece: str, source: str, target: str, expected: str
) -> None:
    assert render(piece, source, target) == expected


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        ("¿Diga?", "es", "en", "Hello?"),
        ("Pronto?", "it", "de", "Hallo?"),
        ("Hello?", "en", "fr", "Allô ?"),
        ("Hello.", "en", "fr", "Bonjour."),
        ("Allô ?", "fr", "pt", "Alô?"),
    ],
)
def test_answering_the_phone(piece: str, source: str, target: str, expected: str) -> None:
    assert render(piece, source, target) == expected


@pytest.mark.parametrize(
    ("piece", "source"),
    [
        ("Thanks for the flowers.", "en"),
        ("Sorry, I'm late.", "en"),
        ("Yes, at nine.", "en"),
        ("No, the other one.", "en"),
        ("Hello, is Anna there?", "en"),
        ("Okay, see you at six.", "en"),
        ("Gracias, Marta.", "es"),
        ("Ja, morgen.", "de"),
        ("Sì, due.", "it"),
    ],
)
def test_content_after_a_formula_goes_to_the_model(piece: str, source: str) -> None:
    assert render(piece, source, "en" if source != "en" else "es") is None


@pytest.mark.parametrize(
    ("piece", "source"),
    [
        ("Please.", "en"),  # alone, no formula to go with
        ("Bitte.", "de"),  # please, you're welcome, here you are
        ("Prego.", "it"),  # you're welcome, go ahead
        ("Ciao.", "it"),  # hello and goodbye
        ("Dag.", "nl"),  # hello and goodbye
        ("Morgen.", "de"),  # tomorrow, or good morning
        ("Buenas noches.", "es"),  # good evening, good night
        ("So?", "en"),  # "well" is no question
    ],
)
def test_ambiguous_formulas_go_to_the_model(piece: str, source: str) -> None:
    assert render(piece, source, "fr") is None


def test_spanish_and_french_punctuation_and_capitals() -> None:
    assert render("Okay?", "en", "es") == "¿De acuerdo?"
    assert render("Great!", "en", "es") == "¡Genial!"
    assert render("Really?", "en", "fr") == "Vraiment ?"
    assert render("okay. thanks.", "en", "it") == "Va bene. Grazie."
    assert render("Yes, of course.", "en", "de") == "Ja, natürlich."


def test_languages_outside_the_table_and_long_pieces_go_to_the_model() -> None:
    assert render("Thank you.", "en", "ja") is None
    assert render("Arigato.", "ja", "en") is None
    assert render("Thank you.", "en", "en") is None
    assert render("Yes, " * 20 + "yes.", "en", "es") is None


def test_a_formula_piece_takes_no_model_call() -> None:
    steps = Steps()
    translator = PieceTranslator(cast(Models, NoModels()), QWEN_1_5B, "withhold", steps, None)
    piece = translator.piece("en", "es", "Okay, thanks.")
    assert (piece.text, piece.status, piece.facts) == ("De acuerdo, gracias.", "phrasebook", 0)
    assert steps.meta() == []
    with pytest.raises(AssertionError, match="reached the language model"):
        translator.piece("en", "es", "The train leaves at nine.")


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        # One formula in two wordings is said once; the same word twice stays twice.
        ("Certo, come no.", "it", "en", "Of course."),
        ("Ach so, verstehe.", "de", "nl", "Ik begrijp het."),
        ("Sì, sì, esatto.", "it", "pt", "Sim, sim, exatamente."),
        # An apology before asking to repeat is part of the asking.
        ("Perdona, ¿cómo?", "es", "fr", "Pardon ?"),
        ("Sorry, wat zei je?", "nl", "fr", "Pardon ?"),
        # Degree and person kept: "very", "well", "it's me" (not "speaking").
        ("Lo siento mucho.", "es", "en", "I'm very sorry."),
        ("No te oigo bien.", "es", "nl", "Ik hoor u slecht."),
        ("Entschuldigung, ich höre nichts.", "de", "es", "Disculpe, no oigo nada."),
        ("Hoi, met mij.", "nl", "en", "Hello, it's me."),
        ("Speaking.", "en", "de", "Am Apparat."),
        ("Danke, gleichfalls.", "de", "nl", "Bedankt, u ook."),
    ],
)
def test_formulas_of_the_independent_set_first_rendered_wrongly(
    piece: str, source: str, target: str, expected: str
) -> None:
    """Cases of bench/data/fragments/ that the first phrasebook (ffa574e) rendered wrongly or
    left to the model, which answered them wrongly ("Ik begrijp het, ik begrijp het.",
    "Désolé, pardon ?", "Sorry." for "Lo siento mucho.", "Hello, speaking." for "Hoi, met
    mij."); written after that set was measured, so in-sample."""
    assert render(piece, source, target) == expected


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        # A question that is not the formula's: "Are you sure?", "Right?", "Oh yes".
        ("Sure?", "en", "es", "¿Está seguro?"),
        ("Sicher?", "de", "en", "Are you sure?"),
        ("Stimmt?", "de", "en", None),
        ("Correct?", "en", "es", None),
        ("Ah, sí.", "es", "en", "Ah, yes."),
        ("C'est vrai.", "fr", "en", "That's true."),
        ("Verdade?", "pt", "en", "Really?"),
        # "Fine, thanks" is no reluctant "na ja"; "bueno" alone agrees.
        ("Bem, obrigado.", "pt", "de", "Gut, danke."),
        ("Well, thank you.", "en", "de", "Also, danke."),
        ("Bueno, gracias.", "es", "de", "Also, danke."),
        # Greetings that are also farewells, and Italian "buongiorno" said when leaving.
        ("Merci, salut.", "fr", "en", None),
        ("Servus, bis dann.", "de", "en", None),
        ("Grazie, buongiorno.", "it", "de", "Danke, hallo."),
        # "Bitte" as "you're welcome", "Ja, bitte?" answering the phone.
        ("Bitte, kein Problem.", "de", "en", None),
        ("Bitte schön, gern geschehen.", "de", "en", None),
        ("Ja, bitte?", "de", "en", "Hello?"),
        # Answers that are not "anyway", "nice to meet you", "good morning", "great".
        ("Egal.", "de", "en", None),
        ("Insomma.", "it", "en", None),
        ("Na gut.", "de", "en", "Okay."),
        ("Freut mich.", "de", "en", None),
        ("Un placer.", "es", "en", None),
        ("Morning.", "en", "es", None),
        ("Grande.", "it", "en", None),
        ("So so.", "en", "de", None),
        ("Hoe bedoelt u?", "nl", "en", None),
        # The phone's hello wherever it stands in a question; French "allô" is only that.
        ("Hello, can you hear me?", "en", "fr", "Allô, vous m'entendez ?"),
        ("Allô.", "fr", "it", "Pronto."),
        ("Hola, buenos días.", "es", "fr", "Bonjour."),
        ("Coucou, ça va ?", "fr", "en", "Hello, how are you?"),  # a greeting, not the phone's
        # A tag question is the model's; Spanish opens the question where it starts.
        ("Vale, ¿no?", "es", "de", None),
        ("Hello, can you hear me?", "en", "es", "Hola, ¿me oye?"),
        ("Sí... claro.", "es", "en", "Yes... of course."),
        ("Oh, no.", "en", "de", "Oh, nein."),
        ("Sorry, one moment please.", "en", "de", "Entschuldigung, einen Moment, bitte."),
        # Frequent call formulas the first table lacked.
        ("Tudo bem?", "pt", "fr", "Comment allez-vous ?"),
        ("Bien, ¿y usted?", "es", "en", "Good, and you?"),
        ("Gracias por llamar.", "es", "en", "Thank you for calling."),
        ("Schönes Wochenende!", "de", "it", "Buon fine settimana!"),
        ("No se preocupe.", "es", "nl", "Geen zorgen."),
    ],
)
def test_a_reviews_cases(piece: str, source: str, target: str, expected: str | None) -> None:
    """A helper's review of 4394dc8 (about 330 inputs in seven languages): each case was
    rendered wrongly there ("Sure?" as "Of course?", now "are you sure?"; "Bem, obrigado." as
    "Na ja, danke."; "Merci, salut." as "Thank you, hello."; "Vale, ¿no?" as "Okay, nein?") or
    not at all."""
    assert render(piece, source, target) == expected


@pytest.mark.parametrize(
    ("piece", "source", "target", "expected"),
    [
        ("Are you sure?", "en", "es", "¿Está seguro?"),
        ("Sicher?", "de", "fr", "Vous êtes sûr ?"),
        ("Zeker weten?", "nl", "it", "È sicuro?"),
        ("Sure.", "en", "de", "Natürlich."),  # said, it agrees
        ("Ja hoor.", "nl", "en", "Yes."),
        ("Dank je wel, hoor.", "nl", "es", "Gracias."),
        ("Ja hoor, prima.", "nl", "pt", "Sim, está bem."),
        ("Ik hoor je niet.", "nl", "en", "I can't hear you."),  # the verb, kept
        ("Ik hoor niets.", "nl", "en", "I can't hear anything."),
        ("Hoor je me?", "nl", "en", "Can you hear me?"),
    ],
)
def test_the_reviews_missing_forms(
    piece: str, source: str, target: str, expected: str | None
) -> None:
    """Two of the review's "not done": asking "are you sure?" (it had gone to the model since
    "Sure?" was no longer "Of course?"), and Dutch "hoor" softening a reply."""
    assert render(piece, source, target) == expected
