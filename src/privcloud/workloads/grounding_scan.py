"""The reader behind :mod:`privcloud.workloads.grounding_facts`: a tokenizer and a scanner that
reads the facts of a text left to right (see that module for what a fact and its keys are).

Linear time on any text: every pattern starts only where its run of characters starts, and a
spelled-out number is read from at most :data:`_NUMBER_WORDS_SPAN` tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from privcloud.workloads.grounding_lexicon import (
    CLAUSE_OPENERS,
    COMMON_STARTERS,
    NAME_PARTICLES,
    NOT_NAME_SUFFIXES,
    NOT_NAMES,
    OBJECT_WORDS,
    PERIOD_WORDS,
    PHONE_SEPARATORS,
    RELATIVE_DAYS,
    RELATIVE_MARKS,
    STOPWORDS,
    TIME_PREPOSITIONS,
    TITLES,
    WEEKDAY_NAMES,
)
from privcloud.workloads.text import numbers
from privcloud.workloads.text.datewords import MONTHS

__all__ = ["Fact", "Scanner", "name_tokens"]


@dataclass(frozen=True)
class Fact:
    """One fact of a sentence: ``kind`` (number, time, date, day, phone, email, name), its
    surface ``text``, its normalised ``value``, and the source ``keys`` that would attest it."""

    kind: str
    text: str
    value: str
    keys: tuple[str, ...] = ()


# The e-mail and number alternatives start only where their run of characters starts (the
# lookbehinds): tried inside a run they would scan the rest of it again from every position,
# n^2 steps on a long run of dots, hyphens or digits that is no e-mail or number. A match from
# inside a run never existed anyway (it has the same end as the failed match from the start).
_TOKEN_RE = re.compile(
    r"(?P<email>(?<![\w.+-])[\w.+-]++@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<isodate>\d{4}-\d{1,2}-\d{1,2}(?!\d)|\d{1,2}/\d{1,2}(?:/\d{2,4})?(?!\d))"
    r"|(?P<mer>(?<![^\W\d_])[aApP]\.[ ]?[mM]\.?)"
    r"|(?P<num>(?<!\d)[$€£]?\d+(?:[.,:]\d+)*(?:st|nd|rd|th|[kK]|[aApP][mM]|%|[xX\u00d7])?(?!\w))"
    r"|(?P<word>[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*)"
    r"|(?P<sym>\S)"
)
#: "1.4x" is "1.4 times": the suffix ``x`` (or "\u00d7") leaves the value as it is.
_NUM_RE = re.compile(r"([$€£]?)(\d+(?:[.,:]\d+)*)(st|nd|rd|th|k|am|pm|%|x|\u00d7)?", re.IGNORECASE)
_DIGIT_GROUPS_RE = re.compile(r"\d+(?:\.\d+)*")
_COLON_GROUPS_RE = re.compile(r"\d+(?::\d+)+")
_CLOCK_RE = re.compile(r"(\d{1,2})([:.])(\d{2})")
#: Most words one spelled-out number is read from ("one million two hundred and thirty four
#: thousand ..."): the reader looks no further, so a long run of number words costs linear time.
_NUMBER_WORDS_SPAN = 16
#: Words after which a capitalised "May" is the month, not the verb ("from May", "in May").
_MONTH_PREPOSITIONS = frozenset(["from", "in", "since", "until", "till", "by", "early", "late"])
# and those of the languages whose month names the translation check writes in English ("im
# May", "a May", "en May": translate_lexicons.normalise)
_MONTH_PREPOSITIONS |= frozenset(
    "im a en em à au de di del vom zum ab seit bis desde hasta dès depuis nel fino entro tot"  # noqa: SIM905
    " vanaf sinds per para pour voor für no na al eind begin".split()
)
#: Most digits a number is compared by value; a longer one (past float precision, or a run of
#: thousands of digits that would overflow) is compared digit for digit.
_EXACT_DIGITS = 15


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int
    #: The text lower-cased, with typographic apostrophes straightened (read many times).
    low: str


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "sym"
        word = match.group()
        low = word.lower().replace("\u2019", "'")
        found.append(_Token(kind, word, match.start(), match.end(), low))
    return found


def _small_int(text: str) -> int | None:
    """``text`` as an int when it is a short run of digits (``int()`` refuses over 4,300)."""
    return int(text) if text.isdigit() and len(text) <= _EXACT_DIGITS else None


def _canonical(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


#: Counts of minutes read before a bare "to" ("ten to five"), and the words before them that
#: make it a clock time (:meth:`Scanner.minutes_past`).
_CLOCK_COUNTS = frozenset({"five", "ten", "twenty", "twenty-five", "twenty five"})
_CLOCK_TO_CONTEXT = frozenset({"at", "around", "until", "till", "til", "before", "about", "it's"})


def _time_keys(hour: int, minute: int, meridiem: str, generous: bool) -> tuple[str, ...]:
    if hour >= 13:
        meridiem = "pm"
    base = f"time:{hour % 12}:{minute:02d}"
    if not generous:
        return (base + meridiem,)
    keys = [base, *(base + m for m in ((meridiem,) if meridiem else ("am", "pm")))]
    keys.append(f"num:{hour}")
    if minute:
        keys.append(f"num:{minute}")
    return tuple(keys)


class Scanner:
    """Reads the facts of one text, left to right; each matcher consumes tokens or declines."""

    def __init__(self, text: str, generous: bool) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.generous = generous

    def low(self, i: int) -> str:
        return self.tokens[i].low if 0 <= i < len(self.tokens) else ""

    def surface(self, i: int, j: int) -> str:
        return self.text[self.tokens[i].start : self.tokens[j - 1].end]

    def facts(self) -> list[Fact]:
        found: list[Fact] = []
        i = 0
        matchers = (self.email, self.phone, self.time, self.date, self.number)
        while i < len(self.tokens):
            for matcher in (*matchers, *(() if self.generous else (self.name,))):
                hit = matcher(i)
                if hit is not None:
                    found.append(hit[0])
                    i = hit[1]
                    break
            else:
                i += 1
        return found

    # --- e-mail and phone -------------------------------------------------------------------

    def email(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        if token.kind != "email":
            return None
        return Fact("email", token.text, token.low, (f"email:{token.low}",)), i + 1

    def digit_run(self, i: int) -> tuple[str, int, int]:
        """Digits of the run of digit groups and digit words from ``i``: (digits, end, groups)."""
        digits: list[str] = []  # joined once: a run can be as long as the text
        j, end, groups = i, i, 0
        while j < len(self.tokens):
            token = self.tokens[j]
            if token.kind == "num" and _DIGIT_GROUPS_RE.fullmatch(token.text):
                digits.append(token.text.replace(".", ""))
            elif token.kind == "word" and (digit := numbers.digit_value(token.low)) is not None:
                if self.low(j + 1) in numbers.MULTIPLIERS:
                    break
                digits.append(str(digit))
            elif token.text in PHONE_SEPARATORS and digits:
                j += 1
                continue
            else:
                break
            groups += 1
            j += 1
            end = j
        return "".join(digits), end, groups

    def phone(self, i: int) -> tuple[Fact, int] | None:
        start = i + 1 if self.tokens[i].text == "+" else i
        if start >= len(self.tokens):
            return None
        digits, end, groups = self.digit_run(start)
        if len(digits) < 7 or (groups == 1 and self.tokens[start].kind != "num"):
            return None
        keys = [f"phone:{digits}"]  # a list: adding to a tuple per group is quadratic
        if self.generous:  # its written groups are numbers too: "on 7.00. 3 786" holds 7
            for k in range(start, end):
                if self.tokens[k].kind == "num" and (number := self.number(k)) is not None:
                    keys.extend(number[0].keys)
        return Fact("phone", self.surface(i, end), digits, tuple(keys)), end

    # --- clock times --------------------------------------------------------------------------

    def meridiem(self, j: int) -> str:
        token = self.low(j).replace(".", "").replace(" ", "")
        return token if token in ("am", "pm") else ""

    def multiplier(self, i: int) -> bool:
        """Whether the number at ``i`` counts times ("6.15 times", "3.5-fold", "up to 6.15")."""
        after = self.low(i + 1)
        fold = after == "-" and self.low(i + 2) == "fold"
        return after == "times" or fold or (self.low(i - 1) == "to" and self.low(i - 2) == "up")

    def time_context(self, i: int) -> bool:
        return self.low(i - 1) in TIME_PREPOSITIONS

    def clock(self, hour: int, minute: int, i: int, end: int, mer: str) -> tuple[Fact, int]:
        if not mer:
            mer = self.meridiem(end)
            end += 1 if mer else 0
        if self.low(end) == "o'clock":
            end += 1
            if not mer and (mer := self.meridiem(end)):  # "seven o'clock pm"
                end += 1
        value = f"{hour}:{minute:02d}" + (f" {mer}" if mer else "")
        return Fact(
            "time", self.surface(i, end), value, _time_keys(hour, minute, mer, self.generous)
        ), end

    def hour_at(self, j: int) -> int | None:
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None:
            return None
        value = numbers.CARDINALS.get(token.low)
        if token.kind == "num" and token.text.isdigit():
            value = _small_int(token.text)
        return value if value is not None and 1 <= value <= 12 else None

    def time(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        low = token.low
        if low in ("noon", "midday", "midnight"):
            return self.clock(12, 0, i, i + 1, "am" if low == "midnight" else "pm")
        if low in ("half", "quarter") and self.low(i + 1) in ("past", "after", "to"):
            hour = self.hour_at(i + 2)
            if hour is None:
                return None
            minute = 30 if low == "half" else 15
            if self.low(i + 1) == "to":
                hour, minute = (hour - 2) % 12 + 1, 60 - minute
            return self.clock(hour, minute, i, i + 3, "")
        if (counted := self.minutes_past(i)) is not None:
            return counted
        if token.kind == "num":
            match = _NUM_RE.fullmatch(token.text)
            if match and match.group(1):
                return None  # "€23.40" is money, not 23:40
            core, suffix = (match.group(2), (match.group(3) or "").lower()) if match else ("", "")
            mer = suffix if suffix in ("am", "pm") else ""
            clock = _CLOCK_RE.fullmatch(core)
            if clock and int(clock.group(1)) <= 23 and int(clock.group(3)) <= 59:
                hour, minute = int(clock.group(1)), int(clock.group(3))
                timely = clock.group(2) == ":" or mer or self.meridiem(i + 1)
                if self.generous and not timely and self.multiplier(i):
                    # "up to 6.15 times faster" is a decimal that "to" made look like a time:
                    # the number reader keeps both readings.
                    return None
                if timely or self.time_context(i):
                    return self.clock(hour, minute, i, i + 1, mer)
                return None
            hour = _small_int(core)
            if hour is not None and hour <= 23:
                timely = mer or self.meridiem(i + 1) or self.low(i + 1) == "o'clock"
                if timely:
                    return self.clock(hour, 0, i, i + 1, mer)
            return None
        hour = self.hour_at(i) if token.kind == "word" else None
        if hour is None:
            return None
        if self.meridiem(i + 1) or self.low(i + 1) == "o'clock":
            return self.clock(hour, 0, i, i + 1, "")
        minutes, end = self.minutes(i + 1)
        if minutes is not None and (self.generous or self.time_context(i) or self.meridiem(end)):
            return self.clock(hour, minutes, i, end, "")
        return None

    def minutes_past(self, i: int) -> tuple[Fact, int] | None:
        """A count of minutes before "past" or "to" and an hour: "twenty past ten", "5 past 8",
        "ten minutes to five", "twenty-five minutes after six". Without "minutes" the count is
        read before "to" only as a word of :data:`_CLOCK_COUNTS` after a word of
        :data:`_CLOCK_TO_CONTEXT` ("at ten to five"; "from ten to three" and "by 5 to 10" are
        ranges), and never before "after" ("ten after eight years")."""
        token = self.tokens[i]
        if token.kind == "num":
            minute, j = (_small_int(token.text), i + 1) if token.text.isdigit() else (None, i)
        else:
            value, j, _ = self.number_words(i)
            minute = int(value) if value is not None and value == int(value) else None
        if minute is None or not 1 <= minute <= 29:
            return None
        counted = self.low(j) in ("minutes", "minute", "mins", "min")
        j += counted
        link = self.low(j)
        if link not in ("past", "to", "after"):
            return None
        if not counted and link != "past":
            bare = " ".join(self.low(k) for k in range(i, j))
            if link == "after" or bare not in _CLOCK_COUNTS:
                return None
            if self.low(i - 1) not in _CLOCK_TO_CONTEXT:
                return None
        hour = self.hour_at(j + 1)
        if hour is None:
            return None
        if link == "to":
            hour, minute = (hour - 2) % 12 + 1, 60 - minute
        return self.clock(hour, minute, i, j + 2, "")

    def minutes(self, j: int) -> tuple[int | None, int]:
        if self.low(j) == "oh" and self.low(j + 1) in numbers.UNITS:
            return numbers.UNITS[self.low(j + 1)], j + 2
        value, end, _ = self.number_words(j)
        if value is not None and 10 <= value <= 59 and end - j <= 2:
            return int(value), end
        return None, j

    # --- dates and days -----------------------------------------------------------------------

    def day_of_month(self, j: int) -> tuple[int | None, int]:
        """A day number at ``j`` ("3", "3rd", "third", "twenty-first"), with its end."""
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None:
            return None, j
        if token.kind == "num":
            match = _NUM_RE.fullmatch(token.text)
            suffix = (match.group(3) or "").lower() if match else "x"
            day = _small_int(match.group(2)) if match else None
            if day is not None and suffix in ("", "st", "nd", "rd", "th"):
                return (day, j + 1) if 1 <= day <= 31 else (None, j)
            return None, j
        value, end, _ = self.number_words(j)
        if value is not None and 1 <= value <= 31 and value == int(value):
            return int(value), end
        return None, j

    def month_at(self, j: int) -> int | None:
        """The month a capitalised word at ``j`` names, possessive aside ("February's")."""
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None or token.kind != "word" or not token.text[0].isupper():
            return None
        return MONTHS.get(token.low.rstrip(".").removesuffix("'s"))

    def date_fact(self, i: int, end: int, month: int | None, day: int | None) -> tuple[Fact, int]:
        text = self.surface(i, end)
        if month is not None and day is not None:
            keys: tuple[str, ...] = (f"date:{month}-{day}",)
            if self.generous:
                keys += (f"month:{month}", f"dom:{day}", f"num:{day}")
            return Fact("date", text, f"{month}-{day}", keys), end
        if month is not None:
            return Fact("date", text, f"month {month}", (f"month:{month}",)), end
        return Fact(
            "date", text, f"day {day}", (f"dom:{day}",) + ((f"num:{day}",) if self.generous else ())
        ), end

    def date(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        low = token.low
        if token.kind == "isodate":
            parts = [str(int(p)) for p in re.split(r"[-/]", token.text)]
            value = "-".join(parts)
            return Fact("date", token.text, value, (f"date:{value}", f"num:{parts[0]}")), i + 1
        if low == "this" and self.low(i + 1) in ("morning", "afternoon", "evening"):
            return Fact("day", self.surface(i, i + 2), "today", ("day:today",)), i + 2
        if low == "weekends":  # ("at weekends": the weekend)
            low = "weekend"
        if low.rstrip("s") in WEEKDAY_NAMES or low in RELATIVE_DAYS:
            value = low.rstrip("s") if low.rstrip("s") in WEEKDAY_NAMES else low
            if self.low(i - 2) == "day" and self.low(i - 1) in ("after", "before"):
                value = f"day {self.low(i - 1)} {low}"  # "the day after tomorrow": not tomorrow
            return Fact("day", token.text, value, (f"day:{value}",)), i + 1
        if low in RELATIVE_MARKS and self.low(i + 1) in PERIOD_WORDS:
            value = f"{low} {self.low(i + 1)}"
            return Fact("date", self.surface(i, i + 2), value, (f"date:{value}",)), i + 2
        if low in RELATIVE_MARKS and self.low(i + 1).rstrip("s") in WEEKDAY_NAMES:
            return None  # the weekday itself is the fact
        month = self.month_at(i)
        if month is not None:
            j = i + 2 if self.low(i + 1) == "the" else i + 1
            day, end = self.day_of_month(j)
            if day is not None:
                return self.date_fact(i, end, month, day)
            if low == "may" and self.low(i - 1) not in _MONTH_PREPOSITIONS:
                return None  # "May I ...": only a month with a day or after "from", "in" ...
            return self.date_fact(i, i + 1, month, None)
        start = i + 1 if low == "the" else i
        day, end = self.day_of_month(start)
        if day is None:
            return None
        after = end + 1 if self.low(end) == "of" else end
        month = self.month_at(after)
        if month is not None:
            return self.date_fact(i, after + 1, month, day)
        digits = self.tokens[end - 1].kind == "num"
        ordinal = self.tokens[end - 1].low.endswith(("st", "nd", "rd", "th"))
        closing = self.low(end) in ("", ".", ",", "!", "?", ";", "of")
        if low == "the" and ordinal and (digits or closing):
            return self.date_fact(i, end, None, day)
        return None

    # --- numbers ------------------------------------------------------------------------------

    def number_parts(self, j: int, owners: list[int]) -> Iterator[str]:
        """The number words from ``j``, hyphenated ones split, at most
        :data:`_NUMBER_WORDS_SPAN` tokens; the token index of each word read goes to
        ``owners``."""
        for k in range(j, min(len(self.tokens), j + _NUMBER_WORDS_SPAN)):
            token = self.tokens[k]
            pieces = token.low.split("-")
            if token.kind != "word" or not all(numbers.is_number_part(p) for p in pieces):
                return
            for piece in pieces:
                owners.append(k)
                yield piece

    def number_words(self, j: int) -> tuple[int | None, int, int]:
        """The value of the number words from ``j`` ("twenty five", "a hundred and two",
        "twenty-first"; :func:`numbers.read_number`), the end, and how many words; a new number
        starts where the grammar breaks ("ten thirty" is 10, then 30)."""
        if j >= len(self.tokens) or self.tokens[j].kind != "word":
            return None, j, 0
        owners: list[int] = []
        reading = numbers.read_number(self.number_parts(j, owners))
        if reading is None:
            return None, j, 0
        return reading.value, owners[reading.end - 1] + 1, reading.words

    def number(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        if token.kind == "num":
            match = _NUM_RE.fullmatch(token.text)
            if match is None:
                return None
            core, suffix = match.group(2), (match.group(3) or "").lower()
            if ":" not in core and sum(c.isdigit() for c in core) > _EXACT_DIGITS:
                digits = re.sub(r"\D", "", core)
                return Fact("number", token.text, digits, (f"digits:{digits}",)), i + 1
            try:
                value = float(core.replace(",", "")) if core.count(".") <= 1 else None
            except ValueError:
                value = None
            if value is None and _DIGIT_GROUPS_RE.fullmatch(core):
                # "5.5.8": how ASR writes digits read one by one; compared digit for digit
                digits = core.replace(".", "")
                return Fact("number", token.text, core, (f"digits:{digits}",)), i + 1
            if value is None and ":" in core and _COLON_GROUPS_RE.fullmatch(core):
                # "3:1", or "26:20", which is no clock time: compared as written
                return Fact("number", token.text, core, (f"ratio:{core}",)), i + 1
            if value is None or ":" in core:
                return None
            end = i + 1
            if suffix == "k":
                value *= 1000
            if self.low(end) in numbers.MULTIPLIERS:
                value *= numbers.MULTIPLIERS[self.low(end)]
                end += 1
            elif self.low(end) == "-" and (word := self.low(end + 1).split("-")[0]) in (
                numbers.MULTIPLIERS
            ):  # "a 40-million-euro project"
                value *= numbers.MULTIPLIERS[word]
                end += 2
            if self.low(end) in ("percent", "per") and self.low(end + 1) in ("", "cent"):
                end += 1
            keys: tuple[str, ...] = (f"num:{_canonical(value)}",)
            clock = _CLOCK_RE.fullmatch(core)
            if self.generous and clock and int(clock.group(1)) <= 23:
                keys += _time_keys(int(clock.group(1)), int(clock.group(3)), "", True)
            if self.generous and self.time_context(i) and value == int(value):
                if 1 <= value <= 23:
                    keys += _time_keys(int(value), 0, "", True)
                elif 100 <= value <= 2359 and 1 <= value // 100 <= 23 and value % 100 < 60:
                    # ASR writes "at ten forty five" as "at 1045"
                    keys += _time_keys(int(value) // 100, int(value) % 100, "", True)
            return Fact("number", self.surface(i, end), _canonical(value), keys), end
        if token.kind != "word":
            return None
        compound = self.compound(i)
        if compound is not None:
            return compound
        value, end, used = self.number_words(i)
        if value is None:
            return None
        single = used == 1 and (token.low == "one" or token.low in numbers.ORDINALS)
        if single and not self.generous:
            return Fact("number", "", "", ()), end  # "one of them", "the first": not numbers
        if self.low(end) in ("percent",):
            end += 1
        word_keys: tuple[str, ...] = (f"num:{_canonical(value)}",)
        if self.generous and self.time_context(i) and value == int(value) and 1 <= value <= 12:
            word_keys += _time_keys(int(value), 0, "", True)
        return Fact("number", self.surface(i, end), _canonical(value), word_keys), end

    def compound(self, i: int) -> tuple[Fact, int] | None:
        """A number word joined to the word it counts: "two-staged", "five-day" (not
        "one-shot": a bare "one" is no number, nor "twenty-five", a number alone)."""
        head, _, tail = self.tokens[i].low.partition("-")
        value = numbers.CARDINALS.get(head)
        if not tail or value is None or head == "one" or numbers.is_number_part(tail.split("-")[0]):
            return None
        surface = self.tokens[i].text[: len(head)]
        return Fact("number", surface, _canonical(value), (f"num:{_canonical(value)}",)), i + 1

    def counted(self) -> list[tuple[Fact, str]]:
        """Each number with the word it counts, lower case: the next word, or the tail of a
        compound ("two words", "two-staged"); numbers before a stopword, a capitalised word
        or no word at all are left out. A lower-case word after the next word is counted as
        well: the next one is often a modifier ("two backend candidates")."""
        found = []
        i = 0
        while i < len(self.tokens):
            hit = self.number(i) if self.time(i) is None and self.date(i) is None else None
            if hit is None or not hit[0].keys:
                i += 1
                continue
            fact, end = hit
            token = self.tokens[i]
            compound = end == i + 1 and token.kind == "word" and "-" in token.low
            if compound:
                noun = token.low.partition("-")[2]
            elif end < len(self.tokens) and self.tokens[end].kind == "word":
                noun = "" if self.tokens[end].text[0].isupper() else self.tokens[end].low
            else:
                noun = ""
            if noun and noun not in STOPWORDS and not numbers.is_number_part(noun):
                found.append((fact, noun))
                if not compound and self.plain_word(end + 1):
                    found.append((fact, self.tokens[end + 1].low))
            i = end
        return found

    def plain_word(self, j: int) -> bool:
        """Whether token ``j`` is a lower-case word that is no stopword or number word."""
        token = self.tokens[j] if 0 <= j < len(self.tokens) else None
        return (
            token is not None
            and token.kind == "word"
            and token.text[0].islower()
            and token.low not in STOPWORDS
            and not numbers.is_number_part(token.low)
        )

    # --- names --------------------------------------------------------------------------------

    def at_sentence_start(self, i: int) -> bool:
        previous = self.tokens[i - 1].text if i > 0 else ""
        return i == 0 or previous in (
            ".",
            "!",
            "?",
            ":",
            ";",
            '"',
            "\u201c",
            "(",
            "-",
            "\u2014",
            "\u2013",
            "*",
        )

    def capitalised(self, j: int) -> bool:
        token = self.tokens[j] if j < len(self.tokens) else None
        return (
            token is not None
            and token.kind == "word"
            and token.text[0].isupper()
            and token.low.removesuffix("'s") not in NOT_NAMES
        )

    def name(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        if token.kind != "word" or not token.text[0].isupper():
            return None
        base = token.low.removesuffix("'s")
        if base in TITLES:
            j = i + 2 if self.low(i + 1) == "." else i + 1
            return self.name(j) if self.capitalised(j) else None
        if not self.capitalised(i):
            return None
        common = (
            base in COMMON_STARTERS
            or base.endswith(NOT_NAME_SUFFIXES)
            or base.removesuffix("s").endswith(NOT_NAME_SUFFIXES)  # "Experiments"
            or self.low(i + 1) in OBJECT_WORDS
        )
        if common and self.at_sentence_start(i):
            if not self.capitalised(i + 1):
                return None
            if base in CLAUSE_OPENERS:  # "While Tensor Product Representation is ..."
                return self.name(i + 1)
        end = i + 1
        while self.capitalised(end) or (
            self.low(end) in NAME_PARTICLES and self.capitalised(end + 1)
        ):
            if self.text[self.tokens[end - 1].end : self.tokens[end].start] not in (" ", ""):
                break
            end += 1
        text = self.surface(i, end)
        return Fact("name", text, " ".join(name_tokens(text)), ()), end


def name_tokens(text: str) -> list[str]:
    """Lower-case word tokens without possessive 's, for matching names as token sequences."""
    text = re.sub(r"['\u2019]s\b", "", text.lower())
    return re.findall(r"[^\W_]+", text)
