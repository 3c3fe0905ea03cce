"""Spoken English numbers: one lexicon and a table-driven grammar, both ways.

Words to value: :func:`read_number` reads the longest number at the start of a word sequence
("twenty five", "a hundred and two", "two thousand twenty six", "twelve hundred", ordinals
such as "twenty-first"), :func:`parse_number` and :func:`parse_ordinal` read a whole phrase,
:func:`read_digits` a run of digits read one by one ("five five five oh one four two").

Value to words: :func:`spell_number`, :func:`spell_ordinal` and :func:`spell_digits` write the
canonical spelling that the readers read back (``parse_number(spell_number(n)) == n``).

The grammar is the table :data:`_GRAMMAR`: the state after the last word (what kind of word
it was) and the kind of the next word give the step to take, or no entry, where the number
ends ("ten thirty" is 10, then 30). It reads one word ahead, no more, so a caller that bounds
the words it passes bounds the work.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from privcloud.errors import UsageError

__all__ = [
    "CARDINALS",
    "DIGIT_WORDS",
    "MULTIPLIERS",
    "ORDINALS",
    "SCALES",
    "TEENS",
    "TENS",
    "UNITS",
    "Reading",
    "digit_value",
    "is_number_part",
    "number_parts",
    "parse_number",
    "parse_ordinal",
    "read_digits",
    "read_number",
    "spell_digits",
    "spell_number",
    "spell_ordinal",
]


def _table(words: str, start: int = 0, step: int = 1) -> dict[str, int]:
    return {word: start + step * i for i, word in enumerate(words.split())}


# --- the lexicon ------------------------------------------------------------------------------

UNITS = _table("zero one two three four five six seven eight nine")
TEENS = _table(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen", 10
)
TENS = _table("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10)
HUNDRED = "hundred"
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
#: The words that multiply what came before them ("five hundred", "2 million").
MULTIPLIERS = {HUNDRED: 100, **SCALES}
#: Every cardinal number word, with its value.
CARDINALS = {**UNITS, **TEENS, **TENS, **MULTIPLIERS}
ORDINALS = {
    **_table("first second third fourth fifth sixth seventh eighth ninth", 1),
    **_table(
        "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
        "eighteenth nineteenth",
        10,
    ),
    **_table(
        "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth", 20, 10
    ),
}
#: Digits read one by one, as in phone numbers: the units, and "oh" for zero.
DIGIT_WORDS = {**UNITS, "oh": 0}
_ARTICLE = "a"
_AND = "and"
_SPELLED_UNITS = {value: word for word, value in {**UNITS, **TEENS, **TENS}.items()}
_SPELLED_ORDINALS = {value: word for word, value in ORDINALS.items()}


# --- the grammar ------------------------------------------------------------------------------


class _Kind(enum.Enum):
    """What a word is to the grammar; also the state after reading one."""

    START = "start"
    ARTICLE = "a"
    AND = "and"
    UNIT = "unit"
    TEEN = "teen"
    TENS = "tens"
    HUNDRED = "hundred"
    SCALE = "scale"
    ORDINAL = "ordinal"


class _Op(enum.Enum):
    ONE = "one"  # the article of "a hundred": the number so far is 1
    ADD = "add"  # current += value
    TIMES = "times"  # current *= value ("five hundred")
    SCALE = "scale"  # total += current * value, current = 0 ("two thousand")
    LAST = "last"  # current += value, and the number ends (an ordinal)
    SKIP = "skip"  # "and": read, not counted


@dataclass(frozen=True)
class _Step:
    op: _Op
    #: The state after the step.
    then: _Kind
    #: The kinds the *next* word must have for the step to apply (None: any).
    before: frozenset[_Kind] | None = None


_NUMBER_KINDS = frozenset(
    {_Kind.UNIT, _Kind.TEEN, _Kind.TENS, _Kind.HUNDRED, _Kind.SCALE, _Kind.ORDINAL}
)
S, K = _Step, _Kind
#: (state, kind of the next word) -> the step. A pair that is not here ends the number.
_GRAMMAR: dict[tuple[_Kind, _Kind], _Step] = {
    (K.START, K.ARTICLE): S(_Op.ONE, K.UNIT, frozenset({K.HUNDRED, K.SCALE})),
    (K.HUNDRED, K.AND): S(_Op.SKIP, K.HUNDRED, _NUMBER_KINDS),
    (K.SCALE, K.AND): S(_Op.SKIP, K.SCALE, _NUMBER_KINDS),
    **{(state, K.UNIT): S(_Op.ADD, K.UNIT) for state in (K.START, K.TENS, K.HUNDRED, K.SCALE)},
    **{(state, K.TEEN): S(_Op.ADD, K.TEEN) for state in (K.START, K.HUNDRED, K.SCALE)},
    **{(state, K.TENS): S(_Op.ADD, K.TENS) for state in (K.START, K.HUNDRED, K.SCALE)},
    **{(state, K.HUNDRED): S(_Op.TIMES, K.HUNDRED) for state in (K.UNIT, K.TEEN)},
    **{(state, K.SCALE): S(_Op.SCALE, K.SCALE) for state in (K.UNIT, K.TEEN, K.TENS, K.HUNDRED)},
    **{
        (state, K.ORDINAL): S(_Op.LAST, K.ORDINAL)
        for state in (K.START, K.TENS, K.HUNDRED, K.SCALE)
    },
}
del S, K


#: Every word the grammar reads: its kind and its value.
_LEXICON: dict[str, tuple[_Kind, int]] = {
    word: (kind, value)
    for kind, table in (
        (_Kind.UNIT, UNITS),
        (_Kind.TEEN, TEENS),
        (_Kind.TENS, TENS),
        (_Kind.HUNDRED, {HUNDRED: MULTIPLIERS[HUNDRED]}),
        (_Kind.SCALE, SCALES),
        (_Kind.ORDINAL, ORDINALS),
        (_Kind.ARTICLE, {_ARTICLE: 1}),
        (_Kind.AND, {_AND: 0}),
    )
    for word, value in table.items()
}


def _kind(word: str) -> tuple[_Kind, int] | None:
    """The grammar's kind of ``word`` (lower case) and its value; None for any other word."""
    return _LEXICON.get(word)


def is_number_part(word: str) -> bool:
    """Whether ``word`` (lower case) can be part of a spoken number: a cardinal or ordinal
    word, or the "a" and "and" of "a hundred and two"."""
    return _kind(word) is not None


@dataclass(frozen=True)
class Reading:
    """A spoken number read from the start of a word sequence."""

    value: int
    #: How many words of the sequence it spans (a trailing "and" is not part of it).
    end: int
    #: How many number words it has ("and" not counted).
    words: int
    #: Whether it ended on an ordinal ("twenty-first").
    ordinal: bool


def read_number(words: Iterable[str]) -> Reading | None:
    """The longest spoken number at the start of ``words`` (lower case; a hyphenated word
    split, as :func:`number_parts` does), by the table :data:`_GRAMMAR`; None when the first
    word starts none. Reads at most one word past the end of the number, so a caller that
    bounds the words it passes bounds the work."""
    parts = iter(words)
    word = next(parts, None)
    state, total, current, used, end, index = _Kind.START, 0, 0, 0, 0, 0
    while word is not None:
        found = _kind(word)
        step = _GRAMMAR.get((state, found[0])) if found is not None else None
        if step is None or found is None:
            break
        following = next(parts, None)  # one word ahead, no more: the grammar breaks early
        ahead = _kind(following) if following is not None else None
        if step.before is not None and (ahead is None or ahead[0] not in step.before):
            break
        value = found[1]
        index += 1
        state = step.then
        if step.op is _Op.SKIP:
            word = following
            continue
        if step.op is _Op.ONE:
            current = 1
        elif step.op is _Op.ADD or step.op is _Op.LAST:
            current += value
        elif step.op is _Op.TIMES:
            current *= value
        else:
            total, current = total + current * value, 0
        used, end = used + 1, index
        if step.op is _Op.LAST:
            break
        word = following
    if not used:
        return None
    return Reading(total + current, end, used, state is _Kind.ORDINAL)


def number_parts(phrase: str) -> list[str]:
    """The words of ``phrase`` as the grammar reads them: lower case, split at white space and
    hyphens ("Twenty-five" -> ["twenty", "five"])."""
    return phrase.lower().replace("-", " ").split()


def parse_number(phrase: str) -> int | None:
    """The value of ``phrase`` when all of it is one cardinal number ("twenty-five", "a hundred
    and two", "two thousand twenty six"); None otherwise (ordinals included)."""
    parts = number_parts(phrase)
    reading = read_number(parts)
    if reading is None or reading.ordinal or reading.end != len(parts):
        return None
    return reading.value


def parse_ordinal(phrase: str) -> int | None:
    """The value of ``phrase`` when all of it is one ordinal ("third", "twenty-first",
    "one hundred first"); None otherwise."""
    parts = number_parts(phrase)
    reading = read_number(parts)
    if reading is None or not reading.ordinal or reading.end != len(parts):
        return None
    return reading.value


def digit_value(word: str) -> int | None:
    """The digit that ``word`` (lower case) reads, in a number read digit by digit."""
    return DIGIT_WORDS.get(word)


def read_digits(words: Iterable[str]) -> str:
    """The digits of the digit words at the start of ``words`` ("five five oh one" -> "5501");
    empty when the first word is none."""
    digits: list[str] = []
    for word in words:
        digit = digit_value(word)
        if digit is None:
            break
        digits.append(str(digit))
    return "".join(digits)


# --- the way back ---------------------------------------------------------------------------

#: Largest value :func:`spell_number` writes (the largest scale's thousand, less one).
LARGEST_SPELLED = 1_000 * max(SCALES.values()) - 1


def _below_thousand(n: int) -> Iterator[str]:
    hundreds, rest = divmod(n, 100)
    if hundreds:
        yield f"{_SPELLED_UNITS[hundreds]} {HUNDRED}"
    if rest >= 20 and rest % 10:
        yield f"{_SPELLED_UNITS[rest - rest % 10]}-{_SPELLED_UNITS[rest % 10]}"
    elif rest:
        yield _SPELLED_UNITS[rest]


def spell_number(n: int) -> str:
    """``n`` in words, as :func:`parse_number` reads it back: "twenty-one", "one hundred
    five", "two thousand twenty-six". Raises :class:`UsageError` outside 0 to
    :data:`LARGEST_SPELLED`."""
    if not 0 <= n <= LARGEST_SPELLED:
        raise UsageError("number out of the spelled range")
    if n == 0:
        return _SPELLED_UNITS[0]
    words: list[str] = []
    for scale, size in sorted(SCALES.items(), key=lambda item: -item[1]):
        count, n = divmod(n, size)
        if count:
            words += [*_below_thousand(count), scale]
    words += _below_thousand(n)
    return " ".join(words)


def spell_ordinal(n: int) -> str:
    """``n`` as an ordinal in words, as :func:`parse_ordinal` reads it back: "first",
    "twenty-first", "one hundred fifth". Raises :class:`UsageError` for a number whose last
    word has no ordinal here (below 1, or a multiple of a hundred)."""
    rest = n % 100
    if n < 1 or not rest or n > LARGEST_SPELLED:
        raise UsageError("no ordinal spelling for that number")
    if rest in _SPELLED_ORDINALS:  # "fifth", "one hundred twelfth", "twentieth"
        head = spell_number(n - rest) + " " if n > rest else ""
        return head + _SPELLED_ORDINALS[rest]
    unit = rest % 10  # "twenty-first": the tens spelled, the unit an ordinal
    return f"{spell_number(n - unit)}-{_SPELLED_ORDINALS[unit]}"


def spell_digits(digits: str) -> str:
    """A string of digits read one by one ("555" -> "five five five"), as :func:`read_digits`
    reads it back. Raises :class:`UsageError` for anything but ASCII digits."""
    if digits.strip("0123456789"):
        raise UsageError("only digits can be spelled digit by digit")
    return " ".join(_SPELLED_UNITS[int(d)] for d in digits)
