"""The checkable facts of a sentence, normalised so that they can be looked up in a source text.

Used by the hallucination guard (:mod:`privcloud.workloads.grounding`). A fact is a number,
clock time, date or day, phone number, e-mail address or proper name. Each carries the *keys*
under which the source must hold it: ``num:1200`` for "1,200", "$1,200" or "twelve hundred";
``time:10:30`` for "10:30", "10.30" after "at", "ten thirty" or "half past ten" (a meridiem,
when stated, must agree: ``time:10:30pm``); ``day:monday``; ``date:3-3`` for "March 3" or "the
3rd of March". Phone numbers compare by digits, names as lower-case token sequences.

The source is read *generously* (:class:`SourceIndex`): every reading of an ambiguous token is
indexed ("10.30" is both 10.3 and half past ten; a time without am/pm matches either), so that a
faithful summary is not dropped for a transcript's spelling. A summary sentence is read
*strictly* (:func:`extract_facts`): one reading per token, and a meridiem only when stated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Fact", "SourceIndex", "content_words", "extract_facts", "negated", "negative_answer"]


@dataclass(frozen=True)
class Fact:
    """One fact of a sentence: ``kind`` (number, time, date, day, phone, email, name), its
    surface ``text``, its normalised ``value``, and the source ``keys`` that would attest it."""

    kind: str
    text: str
    value: str
    keys: tuple[str, ...] = ()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _table(words: str, start: int = 0, step: int = 1) -> dict[str, int]:
    return {word: start + step * i for i, word in enumerate(words.split())}


_UNITS = _table("zero one two three four five six seven eight nine")
_TEENS = _table(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen", 10
)
_TENS = _table("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10)
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    **_table("first second third fourth fifth sixth seventh eighth ninth", 1),
    **_table(
        "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
        "eighteenth nineteenth",
        10,
    ),
    "twentieth": 20,
    "thirtieth": 30,
}
_NUMBER_WORDS = {**_UNITS, **_TEENS, **_TENS, "hundred": 100, **_SCALES}
_WEEKDAYS = _words("monday tuesday wednesday thursday friday saturday sunday")
_RELATIVE_DAYS = _words("today tonight tomorrow yesterday weekend")
_MONTHS = {
    **_table(
        "january february march april may june july august september october november december",
        1,
    ),
    **{"jan": 1, "feb": 2, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9},
    **{"oct": 10, "nov": 11, "dec": 12},
}
_PERIOD_WORDS = _words("week month year")
_RELATIVE_MARKS = _words("next this last coming following")
_TIME_PREPOSITIONS = _words("at by from until till til around before after between to")
_TITLES = _words("mr mrs ms miss dr doctor prof professor sir madam dear")
_NAME_PARTICLES = _words("van von de der den da del la le di")
_PHONE_SEPARATORS = frozenset("-.()+,/")

#: Function words, and words of reporting verbs that summaries use for what a source only does.
STOPWORDS = _words(
    """a an the and or but nor so yet if then than that this these those there here it its
    i me my mine we us our you your he him his she her they them their theirs who whom whose
    which what when where why how all any both each few more most other some such no not only
    own same too very can will just should would could may might must shall do does did done
    doing be is am are was were been being have has had having of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further once also as well per via let lets i'm i'll i've i'd it's that's
    there's don't doesn't didn't won't can't isn't aren't wasn't weren't okay ok yes yeah hi
    hello hey bye goodbye thanks thank please sorry sure um uh oh ah right alright great good
    said say says saying told tell tells mention mentioned mentions discuss discussed discusses
    ask asked asks agree agreed agrees confirm confirmed confirms explain explained explains
    note noted notes state stated talk talked call called calls caller calling speaker summary
    conversation transcript recording want wants wanted need needs needed going get got
    """
)
#: Capitalised words that are not names: greetings, labels and what the date parser reads.
_NOT_NAMES = (
    STOPWORDS
    | _WEEKDAYS
    | _RELATIVE_DAYS
    | _TITLES
    | frozenset(_MONTHS)
    | _words("""i ai am pm ps fyi asap english speaker note call summary transcript recording
    customer client caller agent support team office sales dear regards best cheers
    """)
)
#: Ordinary words that open summary sentences; at a sentence start only other capitalised
#: words are taken for names.
_COMMON_STARTERS = _NOT_NAMES | _words(
    """everyone everybody someone somebody nobody nothing something anyone people person
    participants parties patient manager meeting appointment payment invoice order delivery
    package account company project report plan plans budget price cost total refund issue
    problem question request reason details update updates next later finally afterwards
    overall additionally however meanwhile instead otherwise currently unfortunately
    apparently besides therefore also then first second third one two three another
    user users staff doctor boss colleague colleagues friend family parent mother father
    customers clients payments orders deliveries invoices meetings calls details items
    meet email send bring remember check contact reply pick drop sign pay book
    everything neither either many several
    """
)
#: Words that follow a verb, not a name: a sentence-initial word before one of them is taken for
#: an imperative or a verb ("See you", "Bring the card"), not a name.
_OBJECT_WORDS = _words(
    "you me him her us them it the a an this that these those your my our their his its some "
    "all for about to"
)
#: Words that negate their clause. "no" counts only before a word ("no fee"), not as the
#: interjection of "No, that's fine" or "Oh no."; contractions in "n't" count too, and their
#: spellings without the apostrophe that transcripts and small models write.
NEGATORS = _words("not never cannot without neither nor none nobody nothing nowhere")
_BARE_CONTRACTIONS = _words(
    "dont doesnt didnt isnt wasnt arent werent wont cant couldnt wouldnt shouldnt hasnt havent "
    "hadnt mustnt neednt aint"
)
#: How a bare reply to a question starts ("Yes." "No, I did not.").
_YES_WORDS = _words("yes yeah yep yup sure correct right certainly absolutely okay ok")
_NO_WORDS = _words("no nope nah")
_POLARITY_TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]")
_NOT_NAME_SUFFIXES = ("ing", "ed", "ly", "tion", "sion", "ment", "ness", "ity", "ance", "ence")

# The e-mail and number alternatives start only where their run of characters starts (the
# lookbehinds): tried inside a run they would scan the rest of it again from every position,
# n^2 steps on a long run of dots, hyphens or digits that is no e-mail or number. A match from
# inside a run never existed anyway (it has the same end as the failed match from the start).
_TOKEN_RE = re.compile(
    r"(?P<email>(?<![\w.+-])[\w.+-]++@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<isodate>\d{4}-\d{1,2}-\d{1,2}(?!\d)|\d{1,2}/\d{1,2}(?:/\d{2,4})?(?!\d))"
    r"|(?P<mer>(?<![^\W\d_])[aApP]\.[ ]?[mM]\.?)"
    r"|(?P<num>(?<!\d)[$€£]?\d+(?:[.,:]\d+)*(?:st|nd|rd|th|[kK]|[aApP][mM]|%)?(?!\w))"
    r"|(?P<word>[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*)"
    r"|(?P<sym>\S)"
)
_NUM_RE = re.compile(r"([$€£]?)(\d+(?:[.,:]\d+)*)(st|nd|rd|th|k|am|pm|%)?", re.IGNORECASE)
_DIGIT_GROUPS_RE = re.compile(r"\d+(?:\.\d+)*")
_CLOCK_RE = re.compile(r"(\d{1,2})([:.])(\d{2})")
_SPEAKER_LABEL_RE = re.compile(r"(?im)^[ \t]*speaker[ \t]*\w{1,3}[ \t]*:")
# "anna dot lee at example dot com". The parts are bounded ({0,8}) and start where a word starts
# (the lookbehind, not \b, which also holds after each hyphen): unbounded, every word of a long
# "x dot x dot ..." run would rescan the rest of the run looking for " at ".
_SPOKEN_EMAIL_RE = re.compile(
    r"(?<![a-z0-9_-])((?:[a-z0-9_-]+ dot ){0,8}[a-z0-9_-]+) at "
    r"((?:[a-z0-9-]+ dot ){1,8}[a-z]{2,})\b"
)
#: Most words one spelled-out number is read from ("one million two hundred and thirty four
#: thousand ..."): the reader looks no further, so a long run of number words costs linear time.
_NUMBER_WORDS_SPAN = 16
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


class _Scanner:
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
            elif token.kind == "word" and (token.low in _UNITS or token.low == "oh"):
                if self.low(j + 1) in ("hundred", *_SCALES):
                    break
                digits.append(str(_UNITS.get(token.low, 0)))
            elif token.text in _PHONE_SEPARATORS and digits:
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

    def time_context(self, i: int) -> bool:
        return self.low(i - 1) in _TIME_PREPOSITIONS

    def clock(self, hour: int, minute: int, i: int, end: int, mer: str) -> tuple[Fact, int]:
        if not mer:
            mer = self.meridiem(end)
            end += 1 if mer else 0
        if self.low(end) == "o'clock":
            end += 1
        value = f"{hour}:{minute:02d}" + (f" {mer}" if mer else "")
        return Fact(
            "time", self.surface(i, end), value, _time_keys(hour, minute, mer, self.generous)
        ), end

    def hour_at(self, j: int) -> int | None:
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None:
            return None
        value = _UNITS.get(token.low, _TEENS.get(token.low))
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
        if token.kind == "num":
            match = _NUM_RE.fullmatch(token.text)
            core, suffix = (match.group(2), (match.group(3) or "").lower()) if match else ("", "")
            mer = suffix if suffix in ("am", "pm") else ""
            clock = _CLOCK_RE.fullmatch(core)
            if clock and int(clock.group(1)) <= 23 and int(clock.group(3)) <= 59:
                hour, minute = int(clock.group(1)), int(clock.group(3))
                timely = clock.group(2) == ":" or mer or self.meridiem(i + 1)
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

    def minutes(self, j: int) -> tuple[int | None, int]:
        if self.low(j) == "oh" and self.low(j + 1) in _UNITS:
            return _UNITS[self.low(j + 1)], j + 2
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
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None or token.kind != "word" or not token.text[0].isupper():
            return None
        return _MONTHS.get(token.low.rstrip("."))

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
        if low.rstrip("s") in _WEEKDAYS or low in _RELATIVE_DAYS:
            value = low.rstrip("s") if low.rstrip("s") in _WEEKDAYS else low
            return Fact("day", token.text, value, (f"day:{value}",)), i + 1
        if low in _RELATIVE_MARKS and self.low(i + 1) in _PERIOD_WORDS:
            value = f"{low} {self.low(i + 1)}"
            return Fact("date", self.surface(i, i + 2), value, (f"date:{value}",)), i + 2
        if low in _RELATIVE_MARKS and self.low(i + 1).rstrip("s") in _WEEKDAYS:
            return None  # the weekday itself is the fact
        month = self.month_at(i)
        if month is not None:
            j = i + 2 if self.low(i + 1) == "the" else i + 1
            day, end = self.day_of_month(j)
            if day is not None:
                return self.date_fact(i, end, month, day)
            if low == "may":
                return None  # "May I ...": only a month with a day
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

    def number_parts(self, j: int) -> Iterator[tuple[int, str]]:
        """(token index, word) of the number words from ``j``, hyphenated ones split, at most
        :data:`_NUMBER_WORDS_SPAN` tokens."""
        for k in range(j, min(len(self.tokens), j + _NUMBER_WORDS_SPAN)):
            token = self.tokens[k]
            pieces = token.low.split("-")
            if token.kind != "word" or not all(
                p in _NUMBER_WORDS or p in _ORDINALS or p in ("and", "a") for p in pieces
            ):
                return
            yield from ((k, p) for p in pieces)

    def number_words(self, j: int) -> tuple[float | None, int, int]:
        """The value of the number words from ``j`` ("twenty five", "a hundred and two",
        "twenty-first"), the end, and how many words; a new number starts where the grammar
        breaks ("ten thirty" is 10, then 30)."""
        if j >= len(self.tokens) or self.tokens[j].kind != "word":
            return None, j, 0
        parts = self.number_parts(j)
        item = next(parts, None)
        total, current, last, used, end = 0, 0, "", 0, j
        while item is not None:
            k, part = item
            item = next(parts, None)  # read one part ahead, no more: the grammar breaks early
            nxt = item[1] if item is not None else ""
            if part == "a" and not last and nxt in ("hundred", *_SCALES):
                current, last = 1, "unit"
            elif part == "and" and last in ("hundred", "scale") and nxt in _NUMBER_WORDS:
                continue
            elif part in _UNITS and last in ("", "tens", "hundred", "scale"):
                current, last = current + _UNITS[part], "unit"
            elif part in _TEENS and last in ("", "hundred", "scale"):
                current, last = current + _TEENS[part], "teen"
            elif part in _TENS and last in ("", "hundred", "scale"):
                current, last = current + _TENS[part], "tens"
            elif part == "hundred" and last in ("unit", "teen"):
                current, last = current * 100, "hundred"
            elif part in _SCALES and last in ("unit", "teen", "tens", "hundred"):
                total, current, last = total + current * _SCALES[part], 0, "scale"
            elif part in _ORDINALS and last in ("", "tens", "hundred", "scale"):
                current, used, end = current + _ORDINALS[part], used + 1, k + 1
                return float(total + current), end, used
            else:
                break
            used, end = used + 1, k + 1
        if not used or last == "":
            return None, j, 0
        return float(total + current), end, used

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
            if value is None or ":" in core:
                return None
            end = i + 1
            if suffix == "k":
                value *= 1000
            if self.low(end) in ("hundred", *_SCALES):
                value *= _NUMBER_WORDS[self.low(end)]
                end += 1
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
        value, end, used = self.number_words(i)
        if value is None:
            return None
        single = used == 1 and (token.low == "one" or token.low in _ORDINALS)
        if single and not self.generous:
            return Fact("number", "", "", ()), end  # "one of them", "the first": not numbers
        if self.low(end) in ("percent",):
            end += 1
        word_keys: tuple[str, ...] = (f"num:{_canonical(value)}",)
        if self.generous and self.time_context(i) and value == int(value) and 1 <= value <= 12:
            word_keys += _time_keys(int(value), 0, "", True)
        return Fact("number", self.surface(i, end), _canonical(value), word_keys), end

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
            and token.low.removesuffix("'s") not in _NOT_NAMES
        )

    def name(self, i: int) -> tuple[Fact, int] | None:
        token = self.tokens[i]
        if token.kind != "word" or not token.text[0].isupper():
            return None
        base = token.low.removesuffix("'s")
        if base in _TITLES:
            j = i + 2 if self.low(i + 1) == "." else i + 1
            return self.name(j) if self.capitalised(j) else None
        if not self.capitalised(i):
            return None
        common = (
            base in _COMMON_STARTERS
            or base.endswith(_NOT_NAME_SUFFIXES)
            or self.low(i + 1) in _OBJECT_WORDS
        )
        if common and self.at_sentence_start(i) and not self.capitalised(i + 1):
            return None
        end = i + 1
        while self.capitalised(end) or (
            self.low(end) in _NAME_PARTICLES and self.capitalised(end + 1)
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


def extract_facts(sentence: str) -> list[Fact]:
    """The checkable facts of one sentence, each read one way (see the module docstring).

    Proper names are runs of capitalised words that are not sentence-initial common words,
    weekdays, months, titles or greetings; a bare "one" or ordinal is not a number.
    """
    return [f for f in _Scanner(sentence, generous=False).facts() if f.keys or f.kind == "name"]


class SourceIndex:
    """Every reading of every fact of a source text, for :meth:`has` lookups."""

    def __init__(self, source: str) -> None:
        # "Speaker 2:" labels a turn; its number is no fact of the conversation.
        source = _SPEAKER_LABEL_RE.sub(lambda m: " " * len(m.group()), source)
        scanner = _Scanner(source, generous=True)
        self._keys: set[str] = set()
        for fact in scanner.facts():
            self._keys.update(fact.keys)
        lowered = " ".join(source.lower().split())
        for local, domain in _SPOKEN_EMAIL_RE.findall(lowered):
            address = f"{local.replace(' dot ', '.')}@{domain.replace(' dot ', '.')}"
            self._keys.add(f"email:{address}")
        self._digit_runs = []
        i = 0
        while i < len(scanner.tokens):
            digits, end, _ = scanner.digit_run(i)
            if digits:
                self._digit_runs.append(digits)
            i = max(end, i + 1)
        self._names = " " + " ".join(name_tokens(source)) + " "

    def has(self, fact: Fact) -> bool:
        """Whether the source attests ``fact``."""
        if fact.kind == "phone":
            return any(fact.value in run for run in self._digit_runs)
        if fact.kind == "name":
            return bool(fact.value) and f" {fact.value} " in self._names
        return any(key in self._keys for key in fact.keys)


def _polarity_tokens(text: str) -> list[str]:
    return [t.replace("\u2019", "'") for t in _POLARITY_TOKEN_RE.findall(text.lower())]


def negated(text: str) -> bool:
    """Whether ``text`` holds a negator (:data:`NEGATORS`, a word in "n't", or "no" before a
    word). Presence, not parity: "not unlike" counts as negated, a rare miss that only drops."""
    words = _polarity_tokens(text)
    for index, word in enumerate(words):
        if word in NEGATORS or word in _BARE_CONTRACTIONS or word.endswith("n't"):
            return True
        following = words[index + 1] if index + 1 < len(words) else ""
        if word == "no" and following[:1].isalnum():
            return True
    return False


def negative_answer(text: str) -> bool | None:
    """How a bare reply answers a question: True for "No." or "No, I did not.", False for
    "Yes." or "Sure, it is.", None when ``text`` does not start like a reply."""
    tokens = _polarity_tokens(text)
    first = tokens[0] if tokens else ""
    if first in _NO_WORDS:
        return True
    if first in _YES_WORDS:
        return negated(text)
    return None


def _stem(word: str) -> str:
    """A light suffix-stripper (plural, -ed, -ing, final e): "calls", "called", "calling" ->
    "call"; "schedules", "scheduled" -> "schedul". Both sides of a comparison use it."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and (word.endswith(("ches", "shes")) or word[-3] in "sxz"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) >= 6:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) >= 5:
        word = _undouble(word[:-2])
    elif word.endswith("s") and not word.endswith(("us", "is")):
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


_CURRENCY_WORDS = {"$": "dollar", "€": "euro", "£": "pound", "%": "percent"}


def content_words(text: str, *, source: bool = False) -> set[str]:
    """The stemmed content words of ``text`` (no stopwords), with its numbers, times, dates,
    phone numbers and e-mails as fact keys, so that "$45" and "forty five" count as one word.

    ``source=True`` reads the text generously (every reading of each fact; for a passage), else
    strictly (one key per fact; for the sentence whose words are looked for).
    """
    words = re.findall(r"[^\W_]+(?:'[a-z]+)?", text.lower().replace("\u2019", "'"))
    found = {
        _stem(base)
        for w in words
        if (base := w.removesuffix("'s")) not in STOPWORDS
        and w not in STOPWORDS
        and base not in _NUMBER_WORDS
        and not base.isdigit()
        and base not in ("oh", "am", "pm", "o'clock")
    }
    found.update(_CURRENCY_WORDS[symbol] for symbol in _CURRENCY_WORDS if symbol in text)
    for fact in _Scanner(text, generous=source).facts():
        if fact.kind in ("number", "time", "date", "phone", "email") and fact.keys:
            found.update(fact.keys if source else fact.keys[:1])
    return found
