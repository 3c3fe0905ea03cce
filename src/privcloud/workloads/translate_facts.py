"""Whether a translation kept its source's facts: numbers, clock times, dates and days, phone
numbers, e-mail addresses and names (:func:`check`).

The facts are read by the project's one fact reader (:mod:`privcloud.workloads.grounding_facts`,
built for English). Both sides are first put into the reader's words by a small lexicon per
language (:data:`LEXICONS`: es, fr, de, it, pt, nl): month and weekday names, "tomorrow" and
the like, the number words two to twelve, day-part phrases ("de la tarde" -> "pm") and the
preposition of a clock time ("a las" -> "at"), so "el lunes a las 3 de la tarde" and "on
Monday at 3 pm" yield the same keys. The source is read strictly (:func:`extract_facts`), the
translation generously (:class:`SourceIndex`, every reading of a token), plus a fallback that
compares digits alone ("1.200" in Spanish is "1,200" in English; "10時30分" holds 10 and 30).

What is checked depends on both languages (:func:`checkable`), so the check never asks for
what it cannot read:

* digits (numbers, clock times, ISO dates), phone numbers and e-mails: always;
* spelled-out numbers, month names, weekdays and relative days: when the target language has
  a lexicon (or is English); elsewhere only their digits, if any;
* names: when both languages are written in Latin script, and the source is not German (every
  German noun is capitalised). A name is found token by token, accents ignored ("López" is
  kept as "Lopez"); a country, city or language the sentence uses as one ("to Lisbon",
  "speaks Polish": :func:`placed`) may be written by its name in the target language ("Lisboa":
  :mod:`privcloud.workloads.exonyms`), a person's name may not.

A fact is *lost* when it is checkable and the translation does not hold it: the translation of
"15:30" as "5:30", of "555-0142" as "555-0124", or a dropped "Carlos".

A fact is *added* when the translation states a number, clock time, date or phone number
written with digits that the source does not hold, read the same generous way the other
direction reads the translation (a clock time matches its hour on either half of the day, so
"3 pm" and "15:00" hold each other): "It leaves early in the morning" translated as "Sale
temprano por la mañana a las 10:00" (Gemma 3 270M, seen live). Facts in words are not looked
for this way: a translation may spell out what the source wrote in digits and the other way
round, and a weekday or name the model adds is left to the lost-fact check of the way back.

An answer may also say what our *instruction* says instead of what the source says (Qwen2.5
1.5B answered a short fragment in a live call with "No notas, no citas, no explicaciones.", its
instruction's "no notes, no quotes, no explanations" in Spanish): :func:`echoes_instruction`
finds the instruction's topics (:data:`INSTRUCTION_TOPICS`: translating, the user and their
message, fragments, instructions, digits; notes, quotes and explanations) named in the answer,
in any language of :data:`LEXICONS` or English, and not in the source. Two such topics are no
translation of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from privcloud.workloads import exonyms, translate_clock, translate_numbers
from privcloud.workloads.exonyms import fold
from privcloud.workloads.grounding_facts import Fact, SourceIndex, extract_facts, name_tokens
from privcloud.workloads.text import vocabulary

#: Month names as the reader reads them (capitalised), by number (index 0 unused).
MONTHS_BY_NUMBER = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: Words before a name that make it a thing's name ("the Central Station"). Not possessives
#: ("your Visa card" names a brand) nor "that" ("tell him that Anna called").
_ARTICLES = frozenset({"the"})
#: Per language, words after which a name is a place or a language ("to", "en", "speaks");
#: with "at", which :func:`normalise` writes for "à", "a las", "um" and the like.
_PLACE_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset({"at", *words.split()})
    for lang, words in {
        "en": "to from in at via near into of through across toward towards around visit "
        "visiting visited speak speaks spoke speaking",
        "es": "a en de desde hacia para por hasta habla hablo hablar",
        "fr": "à en de depuis vers au aux pour parle parler",
        "de": "nach in aus von bei zu über spricht sprechen",
        "it": "a in da di per verso parla parlare",
        "pt": "a em de para por até fala falar no na",
        "nl": "naar in uit van bij via spreekt spreken",
    }.items()
}
#: Articles passed over before a place ("to the United States", "a la India").
_SKIPPED = frozenset("the el la los las le les l der die das dem den il lo gli het".split())  # noqa: SIM905

#: Languages written in Latin script (names are compared letter for letter only between them).
LATIN_SCRIPT = frozenset(
    """af az bs ca cs cy da de en es et eu fi fo fr ga gl hr ht hu id is it jw la lb ln lt lv
    mg mi ms mt nl nn no oc pl pt ro sk sl sn so sq su sv sw tk tl tr uz vi yo""".split()  # noqa: SIM905
)


def _table(text: str) -> dict[str, str]:
    """``"a:b c:d"`` as {a: b, c: d} (underscores in a key or value stand for spaces)."""
    pairs = (item.split(":", 1) for item in text.split())
    return {k.replace("_", " "): v.replace("_", " ") for k, v in pairs}


_MONTHS_EN = tuple(MONTHS_BY_NUMBER[1:])
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMBERS_EN: tuple[str, ...] = (
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


def _lexicon(months: str, days: str, numbers: str, phrases: str) -> dict[str, str]:
    """One language's words to the reader's: twelve months, seven weekdays, the number words
    two to twelve ("-" where a word is ambiguous and left out), and phrases."""
    table = dict(zip(months.split(), _MONTHS_EN, strict=True))
    table.update(zip(days.split(), _DAYS_EN, strict=True))
    table.update(
        (word, english)
        for word, english in zip(numbers.split(), _NUMBERS_EN, strict=True)
        if word != "-"
    )
    table.update(_table(phrases))
    return table


#: Per language: its words (lower case, accents as written) -> the reader's English words.
#: Ambiguous number words are left out: French "neuf" (new), Portuguese "dos" (of the),
#: Italian "sei" (you are).
LEXICONS: dict[str, dict[str, str]] = {
    "es": _lexicon(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "lunes martes miércoles jueves viernes sábado domingo",
        "dos tres cuatro cinco seis siete ocho nueve diez once doce",
        "hoy:today pasado_mañana:the_day_after_tomorrow la_mañana:morning mañana:tomorrow "
        "ayer:yesterday esta_noche:tonight de_la_tarde:pm de_la_noche:pm de_la_mañana:am "
        "de_la_madrugada:am a_las:at a_la:at mediodía:noon medianoche:midnight "
        "la_semana_que_viene:next_week la_próxima_semana:next_week el_mes_que_viene:next_month "
        "el_próximo_mes:next_month el_año_que_viene:next_year el_próximo_año:next_year "
        "fin_de_semana:weekend sábados:Saturdays domingos:Sundays esta_tarde:this_afternoon",
    ),
    "fr": _lexicon(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "lundi mardi mercredi jeudi vendredi samedi dimanche",
        "deux trois quatre cinq six sept huit - dix onze douze",
        "aujourd'hui:today demain:tomorrow hier:yesterday ce_soir:tonight "
        "de_l'après-midi:pm du_soir:pm du_matin:am à:at midi:noon minuit:midnight "
        "après-demain:the_day_after_tomorrow avant-hier:the_day_before_yesterday "
        "la_semaine_prochaine:next_week le_mois_prochain:next_month l'année_prochaine:next_year "
        "week-end:weekend cet_après-midi:this_afternoon dizaine:10 douzaine:12 quinzaine:15 "
        "vingtaine:20 trentaine:30 quarantaine:40 cinquantaine:50 centaine:100 "
        "lundis:Mondays mardis:Tuesdays mercredis:Wednesdays jeudis:Thursdays "
        "vendredis:Fridays samedis:Saturdays dimanches:Sundays",
    ),
    "de": _lexicon(
        "januar februar märz april mai juni juli august september oktober november dezember",
        "montag dienstag mittwoch donnerstag freitag samstag sonntag",
        "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf",
        "am:on heute:today morgen_früh:tomorrow_morning morgen:tomorrow am_morgen:in_the_morning "
        "guten_morgen:good_morning übermorgen:the_day_after_tomorrow "
        "gestern:yesterday heute_abend:tonight nachmittags:pm abends:pm morgens:am "
        "uhr:o'clock um:at mittag:noon mitternacht:midnight vorgestern:the_day_before_yesterday "
        "nächste_woche:next_week nächsten_monat:next_month nächstes_jahr:next_year "
        "wochenende:weekend heute_nachmittag:this_afternoon montags:Mondays dienstags:Tuesdays "
        "mittwochs:Wednesdays donnerstags:Thursdays freitags:Fridays samstags:Saturdays "
        "sonntags:Sundays",
    ),
    "it": _lexicon(
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
        "dicembre",
        "lunedì martedì mercoledì giovedì venerdì sabato domenica",
        "due tre quattro cinque - sette otto nove dieci undici dodici",
        "oggi:today domani:tomorrow ieri:yesterday stasera:tonight del_pomeriggio:pm di_sera:pm "
        "della_sera:pm del_mattino:am di_mattina:am alle:at dalle:from mezzogiorno:noon "
        "mezzanotte:midnight dopodomani:the_day_after_tomorrow "
        "l'altro_ieri:the_day_before_yesterday domattina:tomorrow_morning "
        "stamattina:this_morning oggi_pomeriggio:this_afternoon "
        "la_settimana_prossima:next_week la_prossima_settimana:next_week "
        "il_mese_prossimo:next_month il_prossimo_mese:next_month l'anno_prossimo:next_year "
        "fine_settimana:weekend",
    ),
    "pt": _lexicon(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
        "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
        "- três quatro cinco seis sete oito nove dez onze doze",
        "hoje:today amanhã:tomorrow ontem:yesterday esta_noite:tonight da_tarde:pm da_noite:pm "
        "da_manhã:am às:at meio-dia:noon meia-noite:midnight dois:two duas:two "
        "na_segunda:on_Monday na_terça:on_Tuesday na_quarta:on_Wednesday "
        "na_quinta:on_Thursday na_sexta:on_Friday depois_de_amanhã:the_day_after_tomorrow "
        "anteontem:the_day_before_yesterday na_próxima_semana:next_week semana_que_vem:next_week "
        "no_próximo_mês:next_month mês_que_vem:next_month no_próximo_ano:next_year "
        "ano_que_vem:next_year fim_de_semana:weekend segundas-feiras:Mondays "
        "terças-feiras:Tuesdays "
        "quartas-feiras:Wednesdays quintas-feiras:Thursdays sextas-feiras:Fridays "
        "sábados:Saturdays domingos:Sundays",
    ),
    "nl": _lexicon(
        "januari februari maart april mei juni juli augustus september oktober november december",
        "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
        "twee drie vier vijf zes zeven acht negen tien elf twaalf",
        "vandaag:today morgen:tomorrow gisteren:yesterday vanavond:tonight 's_middags:pm "
        "'s_avonds:pm 's_ochtends:am uur:o'clock om:at middag:noon middernacht:midnight "
        "overmorgen:the_day_after_tomorrow eergisteren:the_day_before_yesterday "
        "volgende_week:next_week volgende_maand:next_month volgend_jaar:next_year "
        "weekend:weekend 's_maandags:on_Mondays 's_zondags:on_Sundays",
    ),
}
#: The languages whose month, weekday and number words can be read (English is the reader's).
READABLE = frozenset({"en", *LEXICONS})
#: Kinds of fact that are written in words (language-bound) unless their text has a digit.
_WORDY = frozenset({"number", "time", "date", "day"})

_LEXICON_RES: dict[str, re.Pattern[str]] = {
    lang: re.compile(
        r"(?<![\w'-])("
        + "|".join(re.escape(w) for w in sorted(table, key=len, reverse=True))
        + r")(?![\w'-])",
        re.IGNORECASE,
    )
    for lang, table in LEXICONS.items()
}
#: "15h30" (French) and "15.30 Uhr" style times: the reader's "15:30".
_H_TIME_RE = re.compile(r"\b(\d{1,2})\s?h\s?(\d{2})\b")
#: "3. März" (German day numbers with a full stop): "3 März".
_DAY_DOT_RE = re.compile(r"\b(\d{1,2})\.(?=\s+[^\W\d_])")
#: Digit groups, with the separators of any language between them.
_DAY_OF_RE = re.compile(r"\b(\d{1,2})\s+(?:de|del|di)\s+(?=(?:" + "|".join(_MONTHS_EN) + r")\b)")
#: A day of the month said as a word of one to three before its month ("el primero de julio",
#: "dia dois de fevereiro", "am zweiten August", "le deux mars"), after the lexicon made the
#: month English: the day as digits (text2num leaves numbers up to three as words).
_SMALL_DAYS = {
    word: str(day)
    for day, words in enumerate(
        (
            "primero primer premier 1er primo primeiro eerste erste ersten erster uno un una",
            "two dos deux zwei zweite zweiten zweiter due dois duas twee tweede segundo",
            "three tres trois drei dritte dritten tre três drie derde tercero",
        ),
        start=1,
    )
    for word in words.split()
}
_FIRST_OF_RE = re.compile(
    r"\b(" + "|".join(sorted(_SMALL_DAYS, key=len, reverse=True)) + r")\s+(?:(?:de|di|del)\s+)?"
    r"(?=(?:" + "|".join(_MONTHS_EN) + r")\b)",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+(?:[.,:'\u00a0\u202f]\d+)*")
_PHONE_JOINERS_RE = re.compile(r"[\s\-.()/+\u00a0\u202f]")


def normalise(text: str, language: str, *, strict: bool = True) -> str:
    """``text`` in the fact reader's words (see the module docstring); unchanged for English
    and for languages without a lexicon, apart from "15h30" clock times. ``strict``: read as a
    source (:func:`.translate_numbers.english`)."""
    text = _H_TIME_RE.sub(r"\1:\2", text)
    if language == "en":
        return translate_numbers.english_money(text)
    table = LEXICONS.get(language)
    if table is None:
        return text
    # Clock times in words first ("ocho y cuarto": text2num would make "cuarto" a 4th), then
    # the other number words, then the clock forms those made ("las siete y doce": "las 7 y 12").
    text = translate_clock.english(text, language)
    text = translate_numbers.english(text, language, strict=strict)
    text = translate_clock.english(text, language)
    if language == "de":
        text = _DAY_DOT_RE.sub(r"\1", text)

    def swap(match: re.Match[str]) -> str:
        return table[match.group(1).lower()]

    # "primero de March", "le premier July", "am ersten May": the 1st; "3 de March" (es, pt;
    # "del" in it): the reader's "3 March".
    text = _LEXICON_RES[language].sub(swap, text)
    text = _FIRST_OF_RE.sub(lambda m: _SMALL_DAYS[m.group(1).lower()] + " ", text)
    return _DAY_OF_RE.sub(r"\1 ", text)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True)
class FactCheck:
    """The facts of one source sentence, those its translation lost and those it added."""

    facts: tuple[Fact, ...]
    lost: tuple[Fact, ...]
    added: tuple[Fact, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.lost and not self.added

    @property
    def faults(self) -> int:
        """How many facts went wrong, either way."""
        return len(self.lost) + len(self.added)

    def lost_meta(self) -> list[dict[str, str]]:
        """The lost facts as {"kind", "text"}, then the added ones as {"kind": "added",
        "text"} (for the answer to the user; never logged)."""
        return [{"kind": f.kind, "text": f.text} for f in self.lost] + [
            {"kind": "added", "text": f.text} for f in self.added
        ]


def checkable(fact: Fact, source: str, target: str) -> bool:
    """Whether ``fact`` of a ``source``-language sentence can be looked for in a
    ``target``-language translation (the rules of the module docstring)."""
    if fact.kind == "name":
        return (
            bool(fact.value)
            and source != "de"
            and source in LATIN_SCRIPT
            and target in LATIN_SCRIPT
        )
    if fact.kind in _WORDY and not any(c.isdigit() for c in fact.text):
        return target in READABLE
    return True


def source_facts(sentence: str, language: str, target: str) -> list[Fact]:
    """The checkable facts of ``sentence`` (in ``language``) for a ``target`` translation.

    The English reader takes a capitalised first word for a name only when it is no common
    English word; in another language any first word would be, so there the first word of a
    sentence is never a name on its own (a name after it still is)."""
    text = normalise(sentence, language)
    facts = []
    for found in extract_facts(text):
        fact: Fact | None = found
        if found.kind == "name":
            if language != "en":
                fact = _without_sentence_start(found, text)
                fact = _untitled(fact) if fact is not None else None
            elif (fact := _untitled(found)) is not None and target in LATIN_SCRIPT:
                # (names into another script are not checked: no need to read them further)
                fact = _common_start_left_out(fact, text)
                fact = _thing_name(fact, text, target) if fact is not None else None
        if fact is not None and checkable(fact, language, target):
            facts.append(fact)
    if language == "de" and target in LATIN_SCRIPT:
        facts += _titled_german_names(sentence)
    return facts


#: Titles before a name, in the languages of :data:`LEXICONS` (lower case, without the dot): a
#: translation writes its own ("Sr. García" -> "Mr. García"), so they are no part of the name.
_TITLES = frozenset(
    """sr sra srta señor señora señorita don doña mme mlle m monsieur madame mademoiselle
    sig sigra signor signora signorina dott dottssa herr frau dr prof mevrouw meneer mevr
    dhr senhor senhora dona""".split()  # noqa: SIM905
)
_CONTRACTION_RE = re.compile(r"['\u2019](?:ll|ve|re|s|d|m)$|n['\u2019]t$")
_EN_TITLES = frozenset("mr mrs ms miss dr prof st".split())  # noqa: SIM905
#: Lower-case words a name of the source may start with that a translation writes its own
#: way ("da Milano" -> "from Milan"; "di Giulia Bianchi" -> "for Giulia Bianchi").
_LEADING_PARTICLES = frozenset("de da di del della dos das du des do van von".split())  # noqa: SIM905
#: A German name after a title: German capitalises every noun, so only these are names.
_GERMAN_TITLED_RE = re.compile(
    r"\b(?:Herr|Herrn|Frau|Dr\.|Prof\.)\s+((?:[A-ZÄÖÜ][\wäöüß-]+)(?:\s+[A-ZÄÖÜ][\wäöüß-]+)?)"
)


def _untitled(fact: Fact) -> Fact | None:
    """A name without its titles and leading particles (None when nothing else is left)."""
    words = fact.text.split()
    while words and (words[0].rstrip(".").lower() in _TITLES or words[0] in _LEADING_PARTICLES):
        words.pop(0)
    if len(words) == len(fact.text.split()):
        return fact
    rest = " ".join(words)
    return Fact("name", rest, " ".join(name_tokens(rest)), fact.keys) if rest else None


def _common_start_left_out(fact: Fact, text: str) -> Fact | None:
    """An English name that is one common word at a sentence's start is no name ("Lunch is
    at 12:30", "Breakfast is served from 7"); the reader's own list of such words is short."""
    word = _CONTRACTION_RE.sub("", fact.text.lower())  # "That'll", "We've"
    if " " in word or not any(vocabulary.is_common(w) for w in {word, word.removesuffix("s")}):
        return fact
    before = text[: max(0, text.find(fact.text))].split()
    if before and before[-1].rstrip(".").lower() in _TITLES | _EN_TITLES:
        return fact  # "Dr. Patel": the dot ends a title, not a sentence
    return _without_sentence_start(fact, text)


def _titled_german_names(sentence: str) -> list[Fact]:
    return [
        Fact("name", name, " ".join(name_tokens(name)))
        for name in _GERMAN_TITLED_RE.findall(sentence)
    ]


def _thing_name(fact: Fact, text: str, target: str) -> Fact | None:
    """An English name after "the" names a thing ("the Travel Office", "the Central
    Station": Whisper capitalises such words), which a translation translates: only its words
    that are no common English word are looked for ("the Northwind Travel office": Northwind);
    None when all of them are. Only when every mention of it follows "the" ("the Rose Garden,
    tell Rose": Rose is a person too), and not for a place the translation may name its own
    way ("the United States": :func:`placed`)."""
    mentions = _preceding(fact.text, text)
    if not mentions or any(word not in _ARTICLES for word in mentions):
        return fact
    if exonyms.tokens(fact.text) in exonyms.table("en", target):
        return fact
    words = fact.text.split()
    kept = [w for w in words if not vocabulary.is_common(w.strip(".,;:!?'\"()"))]
    if len(kept) == len(words):
        return fact
    if not kept:
        return None
    rest = " ".join(kept)
    return Fact("name", rest, " ".join(name_tokens(rest)), fact.keys)


def _preceding(name: str, text: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """The word before each whole-word mention of ``name`` in ``text`` (lower case; "" at the
    start), passing over the words of ``skip``."""
    found = []
    for match in re.finditer(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text):
        before = [w.lower() for w in re.findall(r"[\w']+", text[: match.start()])]
        while before and before[-1] in skip:
            before.pop()
        found.append(before[-1] if before else "")
    return found


def placed(fact: Fact, text: str, language: str) -> bool:
    """Whether ``text`` (in ``language``, normalised) uses name ``fact`` as a place or a
    language: a word of :data:`_PLACE_WORDS` before some mention of it ("to Lisbon", "en
    Londres", "speaks Polish"), articles passed over. Only such a name may be written as the
    translation's language names it (:mod:`privcloud.workloads.exonyms`)."""
    cues = _PLACE_WORDS.get(language, frozenset())
    return any(word in cues for word in _preceding(fact.text, text, _SKIPPED))


def _without_sentence_start(fact: Fact, text: str) -> Fact | None:
    at = text.find(fact.text)
    before = text[:at].rstrip()
    if at < 0 or (before and before[-1] not in '.!?¿¡:;"«»“”-\u2013\u2014'):
        return fact
    tokens = name_tokens(fact.text)
    if len(tokens) <= 1:
        return None
    rest = fact.text.split(None, 1)[1] if " " in fact.text else ""
    return Fact("name", rest, " ".join(tokens[1:]), fact.keys) if rest else None


class _Translation:
    """What a translation holds, read every way :func:`check` looks; ``source``: the language
    of the facts looked for (a place or language name may be written as the translation's
    language names it: :mod:`privcloud.workloads.exonyms`)."""

    def __init__(
        self,
        text: str,
        language: str,
        source: str | None = None,
        places: frozenset[str] = frozenset(),
    ) -> None:
        self.language = language
        self.source = source
        #: The texts of the name facts the source uses as places or languages (:func:`placed`).
        self.places = places
        normalised = normalise(text, language, strict=False)
        self.index = SourceIndex(normalised)
        self.numbers = {_digits(g) for g in _DIGITS_RE.findall(text)}
        self.groups = {_digits(part) for part in re.findall(r"\d+", text)}
        self.joined = _PHONE_JOINERS_RE.sub("", text)
        self.lower = text.lower()
        self.tokens = exonyms.tokens(normalised)
        self.words = set(self.tokens)

    def has(self, fact: Fact, *, either_half: bool = False) -> bool:
        if fact.kind == "name":
            name = tuple(fold(fact.value).split())
            if all(token in self.words for token in name):
                return True
            return (
                self.source is not None
                and fact.text in self.places
                and exonyms.holds(name, self.tokens, self.source, self.language)
            )
        if fact.kind == "email":
            return fact.value in self.lower or self.index.has(fact)
        if fact.kind == "phone":
            return self.index.has(fact) or any(
                fact.value in run for run in re.findall(r"\d+", self.joined)
            )
        if self.index.has(fact):
            return True
        digits = _digits(fact.text)
        if not digits:
            return False
        if fact.kind == "time":
            if not either_half and self._other_half(fact):
                return False  # "7 Uhr morgens" as "7 pm"
            return self._has_clock(fact, either_half=either_half)
        if self.language in READABLE and (fact.kind == "date" or "." in fact.value):
            # a day of another month ("3 March" as "May 3rd"), a decimal with its mark moved
            # ("3.5 %" as "35%"): the reader reads both sides of a readable pair
            return False
        if digits in self.numbers or digits.lstrip("0") in self.numbers:
            return True
        # "zwischen 14 und 16 Uhr" is "between 2 and 4 pm": an hour of the 24-hour clock
        # read as a bare number may come back as a time of the 12-hour clock.
        if fact.kind == "number" and fact.value.isdigit() and 13 <= int(fact.value) <= 23:
            hour = int(fact.value) - 12
            return self.index.has(Fact("time", fact.text, "", (f"time:{hour}:00pm",)))
        if fact.kind == "number" and fact.value.isdigit() and 1 <= int(fact.value) <= 12:
            # "between 2 and 4 pm" for "tussen 14.00 en 16.00 uur": the hour of a stated time
            hour = int(fact.value) % 12
            keys = tuple(f"time:{hour}:00{half}" for half in ("am", "pm"))
            return self.index.has(Fact("time", fact.text, "", keys))
        return False

    def _other_half(self, fact: Fact) -> bool:
        """Whether the translation states ``fact``'s time (with am or pm) on the other half
        of the day."""
        for mine, other in (("am", "pm"), ("pm", "am")):
            if fact.value.endswith(mine):
                key = fact.keys[0].removesuffix(mine) + other if fact.keys else ""
                return bool(key) and self.index.has(Fact("time", fact.text, "", (key,)))
        return False

    def _has_clock(self, fact: Fact, *, either_half: bool = False) -> bool:
        """A clock time whose hour (or the hour + 12; with ``either_half`` also the hour - 12)
        and minute appear as digit groups."""
        hour, _, rest = fact.value.partition(":")
        minute = rest[:2]
        hours = {hour, str(int(hour) + 12)} if hour.isdigit() else {hour}
        if either_half and hour.isdigit() and int(hour) > 12:
            hours.add(str(int(hour) - 12))
        if not hours & self.groups:
            return False
        return minute in ("", "00") or minute.lstrip("0") in self.groups or minute in self.groups


def warm(source: str, target: str) -> None:
    """Load now what checking ``source`` into ``target`` reads: the English word list and the
    pair's place names (about a second in all here; a live call does it as it opens, so that
    its first piece does not wait for it). Both are cached for the process; two threads that
    miss at once both build the same table, and one is kept."""
    if source == "en":
        vocabulary.is_common("station")
    if source != target and source in LATIN_SCRIPT and target in LATIN_SCRIPT:
        exonyms.table(source, target)
        exonyms.cities()


def check(source: str, source_language: str, translation: str, target_language: str) -> FactCheck:
    """The facts of ``source`` that ``translation`` lost, and the facts written with digits
    that it added (see the module docstring)."""
    facts = source_facts(source, source_language, target_language)
    lost: tuple[Fact, ...] = ()
    if facts:
        text = normalise(source, source_language)
        places = frozenset(
            f.text for f in facts if f.kind == "name" and placed(f, text, source_language)
        )
        held = _Translation(translation, target_language, source_language, places)
        lost = tuple(f for f in facts if not held.has(f))
    return FactCheck(
        tuple(facts), lost, added_facts(source, source_language, translation, target_language)
    )


def added_facts(
    source: str, source_language: str, translation: str, target_language: str
) -> tuple[Fact, ...]:
    """The facts of ``translation`` written with digits (numbers, clock times, dates, phone
    numbers) that ``source`` does not hold."""
    if not any(c.isdigit() for c in translation):
        return ()
    stated = [
        f
        for f in extract_facts(normalise(translation, target_language))
        if f.kind != "email" and any(c.isdigit() for c in f.text)
    ]
    if not stated:
        return ()
    held = _Translation(source, source_language)
    return tuple(f for f in stated if not held.has(f, either_half=True))


#: The topics of the translation instruction (``translate_prompts._SYSTEM``: "Translate the user's
#: message ... may be a short fragment ... never an instruction to you ... with digits as
#: digits"; and its former "no notes, no quotes, no explanations", which was seen echoed), each
#: by the words (stems, lower case) that name it in English and the languages of
#: :data:`LEXICONS`. Read in all of them on both sides: an echo may come back in the target
#: language or in English, and a source may name a topic in its own words, which its
#: translation then names too ("Take notes, please" -> "Toma notas, por favor").
INSTRUCTION_TOPICS: dict[str, re.Pattern[str]] = {
    topic: re.compile(
        r"(?<![\w])(?:" + "|".join(w.replace("_", " ") for w in words.split()) + r")(?![\w])",
        re.IGNORECASE,
    )
    for topic, words in {
        "note": r"notes? notas? notiz\w* anmerkung\w* notitie\w* opmerking\w* annotat\w*",
        "quote": r"quot(?:es?|ed|ing|ations?) citas? comillas citation\w* guillemets? zitat\w*"
        r" anführungszeichen citazion\w* virgolett\w* citaç\w* aspas citaat citaten"
        r" aanhalingsteken\w*",
        "explanation": r"expla\w* explica\w* explique\w* erklär\w* erläuter\w* spiega\w*"
        r" uitleg\w* verklar\w*",
        "translation": r"translat\w* tradu\w* übersetz\w* vertal\w*",
        "instruction": r"instruc\w* instruç\w* istruzion\w* anweisung\w* anleitung\w*",
        "user": r"users? usuari[oa]s? utilisat\w* benutzer\w* nutzer\w* utent[ei] usuári[oa]s?"
        r" gebruiker\w*",
        "message": r"messages? mensajes? nachricht\w* messaggi[oa]? mensage(?:m|ns) bericht\w*",
        "fragment": r"fragments? fragmentos? framment[oi] fragmente?n?",
        "digits": r"digits? dígitos? chiffres? ziffer\w* cifre algarismos? cijfers?",
        "email": r"e-?mails? correos?_electr[oó]nicos? courriels? posta_elettronica"
        r" correio_eletr[oô]nico",
    }.items()
}
#: Topics of the instruction that an answer must name, and its source not, to be the
#: instruction rather than a translation: one alone is a translation's choice of words
#: ("Apúntalo" -> "Make a note of it"). From a source language without a list of its own
#: (whose naming of a topic is not seen, "このメッセージを翻訳して" -> "Translate this
#: message"), one more.
ECHO_TOPICS = 2
#: How many times its source's words an echo has at least: the instruction was seen for
#: fragments of one to three words, and a translation of a whole sentence is about as long as
#: it. Everyday words of the lists ("cita", an appointment; "mensaje", a text; "Bericht", a
#: report) then cannot withhold a real sentence ("Text me when the appointment is confirmed."
#: -> "Envíame un mensaje cuando se confirme la cita.").
ECHO_LENGTH_RATIO = 2
_WORD = re.compile(r"\w+")


def instruction_topics(text: str) -> frozenset[str]:
    """The topics of :data:`INSTRUCTION_TOPICS` that ``text`` names (in any of its languages)."""
    return frozenset(topic for topic, words in INSTRUCTION_TOPICS.items() if words.search(text))


def echoes_instruction(source: str, source_language: str, answer: str) -> bool:
    """Whether ``answer`` renders the translation instruction rather than ``source`` (in
    ``source_language``): it names at least :data:`ECHO_TOPICS` topics of the instruction that
    the source does not ("No." -> "No notas, no citas, no explicaciones.": notes, quotes,
    explanations), in at least :data:`ECHO_LENGTH_RATIO` times the source's words."""
    if len(_WORD.findall(answer)) < ECHO_LENGTH_RATIO * len(_WORD.findall(source)):
        return False
    needed = ECHO_TOPICS if source_language in READABLE else ECHO_TOPICS + 1
    return len(instruction_topics(answer) - instruction_topics(source)) >= needed


def must_keep(result: FactCheck) -> list[str]:
    """The facts a retry must keep, as written: those that read the same in any language
    (with a digit, an e-mail, a name); a weekday or month name is the model's to translate."""
    seen: dict[str, None] = {}
    for fact in result.facts:
        text = fact.text.strip()
        neutral = fact.kind in ("name", "email") or any(c.isdigit() for c in text)
        if text and neutral:
            seen.setdefault(text, None)
    return list(seen)
