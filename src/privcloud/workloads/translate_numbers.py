"""Numbers as the languages of :data:`.translate_lexicons.LEXICONS` write them, put in the form the
English fact reader reads (:func:`english`):

* numbers said in words, by ``text2num`` (Allo-Media, MIT): "treinta y dos" -> "32",
  "quatre-vingt-quinze" -> "95", "fünfundvierzig" -> "45", "vingt et un juin" -> "21 juin".
  Those up to three stay words (the lexicon reads "dos", "trois"; "un" and "una" are mostly
  articles), and a word that is also another word is read as a number only where it tells
  the time (Italian "sei", "you are", but "alle sei"; French "neuf", "new", but "neuf
  heures");
* the decimal comma and the thousands point: "3,5 %" -> "3.5 %", "1.500 euros" -> "1,500
  euros", "1.234,56" -> "1,234.56". A run of digits with other separators (a date
  "03.04.2025", a time "15.30") is left as it is.

Before, the lexicons knew the number words two to twelve only: "Mi hija tiene catorce años"
translated "My daughter is 14" had an *added* 14 and was withheld, "treinta y dos" lost a
"two" (the lexicon swapped the "dos" inside it), and "Son 1.500 euros" read as 1.5 euros let
a translation's "1.5 euros" through.
"""

from __future__ import annotations

import re
from functools import partial

from text_to_num import alpha2digit

__all__ = ["english", "english_money", "idioms"]

#: Words that are numbers and also other words, read as numbers only next to a word of the
#: clock (before: "alle", "le", "à", "vers"...; after: "heures", "ore", "uur", "Uhr").
_AMBIGUOUS: dict[str, tuple[str, str, str]] = {
    # "sei" is also "you are": six at a clock, or counting ("solo sei hanno", "dai sei agli
    # otto anni", "sei persone", "si sono iscritti in sei")
    "it": (
        "sei",
        r"(?:alle|le|dalle|verso le|sono le|zero|solo|soltanto|dai|ai|agli|degli|dei|i|gli|tra|in"
        r"|fra|circa|altri|altre|tutti|tutte|primi|prime|ultimi|ultime)",
        r"(?:ore|e|meno|anni|mesi|giorni|settimane|minuti|euro|persone|bambini|volte|posti"
        r"|notti|chilometri|km|metri|chili|litri|pezzi|hanno|sono|di\s+loro)",
    ),
    "fr": ("neuf", r"(?:à|vers|dès)", r"(?:heures?|h)"),
    # Portuguese "quinta" is also a farm ("o Rui da quinta") and "quarto" a room ("do quarto
    # 12"): the fifth and fourth only before what they count
    "pt": (
        "quinta|quarto",
        r"(?!)",
        r"(?:vez|vezes|posição|colocação|classe|edição|semana|fila|porta|geração|parte|casa)",
    ),
}
_MASK = "\u2060"  # WORD JOINER: an ambiguous word with it inside is no number word
#: An invisible separator left inside a number word of a set phrase: no reader after this one
#: (the lexicon, the English reader) takes it for a number either.
_IDIOM = "\u2063"
_AMBIGUOUS_RES = {
    lang: re.compile(
        rf"(?<!\w)(?P<word>{word})(?!\w)",
        re.IGNORECASE,
    )
    for lang, (word, _before, _after) in _AMBIGUOUS.items()
}
_CLOCK_CONTEXT_RES = {
    lang: (
        re.compile(rf"(?:^|\W){before}\s+$", re.IGNORECASE),
        re.compile(rf"^\s+{after}(?!\w)", re.IGNORECASE),
    )
    for lang, (_word, before, after) in _AMBIGUOUS.items()
}
#: text2num's ordinal marks ("1er", "21e", "2ª", "3º", "5ème"), which the reader does not read.
_ORDINAL_MARK_RE = re.compile(r"(?<=\d)(?:er|re|e|ème|eme|º|ª|°)(?!\w)")
#: A run of digits with separators: the numbers whose marks are swapped (see the docstring).
_MARKED_RE = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)+(?![\d.,]*\d)")
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_DECIMAL_RE = re.compile(r"\d+,\d+")


#: "por ciento" and its kin: text2num reads "ciento" as 100.
_PERCENT_RES = {
    lang: re.compile(rf"\s+{words}(?!\w)", re.IGNORECASE)
    for lang, words in {
        "es": r"por\s+ciento",
        "pt": r"por\s+cento",
        "it": r"per\s+cento",
        "fr": r"pour\s+cent",
        "de": r"prozent",
        "nl": r"procent",
    }.items()
}
#: Scale words after digits, by the reader's English word for them.
_SCALE_WORDS = {
    " million": "millón millones million millions milione milioni milhão milhões miljoen "
    "miljoenen millionen",
    " billion": "milliard milliards miliardo miliardi milliarde milliarden miljard miljarden",
    " thousand": "mil mille mila tausend duizend",
}
_SCALES = {word: scale for scale, words in _SCALE_WORDS.items() for word in words.split()}
#: The scales held out of text2num's reach until it is done (it reads "million" in German too).
_HELD = {scale: f"\u2060{i}\u2060" for i, scale in enumerate(sorted(set(_SCALES.values())))}
_SCALE_RE = re.compile(
    r"(\d(?:[.,]?\d)*)\s+(" + "|".join(sorted(_SCALES, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
#: "12 euros 50", "23 euros con 50", "12 euro e 50", "12 Euro 50": 12.50 euros (the cents
#: follow the currency in speech).
_MONEY_RE = re.compile(
    r"\b(\d+)\s+(euros?|dólares?|dollars?|pesos|francs?|franken|libras?|livres?|reais|real)"
    r"\s+(?:(?:con|e|et|und|en|y)\s+)?(\d{2})(?!\d|[.,:]\d|\s*(?:%|percent|cent|céntimo|centime"
    r"|centesim|centavo))",
    re.IGNORECASE,
)
_ZERO_RE = re.compile(  # (not "match nul 1-1": a draw)
    r"(?<!\w)(?<!match\s)(?:zero|zéro|cero|null|nul)\s+(?=\d)", re.IGNORECASE
)
#: "23 euros e 40 cêntimos", "5 euros et 20 centimes": 23.40 euros.
_CENTS_RE = re.compile(
    r"\b(\d+)\s+(euros?|dólares?|dollars?|francs?|franken|reais)\s+(?:con|e|et|und|en|y)\s+"
    r"(\d{1,2})\s+(?:cêntimos|céntimos|centimes|centesimi|centavos|cents?)\b",
    re.IGNORECASE,
)
#: "zwei Komma fünf" (after text2num: "2 Komma 5"): 2.5.
_DECIMAL_WORD_RE = re.compile(
    r"(\d+)\s+(?:komma|coma|virgule|virgola|vírgula)\s+(\d+)", re.IGNORECASE
)
#: Number words in a set phrase that counts nothing ("merci mille fois", "grazie mille",
#: "mil gracias", "tausend Dank"; idioms such as "on cloud nine", "au septième ciel", "ein Buch
#: mit sieben Siegeln", which a translation renders without their number), and Spanish and
#: Portuguese "unos veinte" (about twenty), which text2num reads as 1 and 20.
_IDIOM_RES = {
    lang: re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
    for lang, words in {
        "en": r"(?<=cloud\s)nine|seventh(?=\s+heaven)|sixes(?=\s+and\s+sevens)"
        r"|(?<=sixes\sand\s)sevens|(?<=in\s)two(?=\s+minds)|one(?=\s+in\s+a\s+million)"
        r"|(?<=one\sin\sa\s)million|two(?=\s+and\s+two\s+together)"
        r"|(?<=two\sand\s)two(?=\s+together)|two(?=\s+birds\s+with)",
        # (and a fraction after its article: "un cuarto del personal" is a share, not a 4th)
        "es": r"mil(?=\s+gracias|\s+demonios|\s+maravillas|\s+amores)|unos|unas"
        r"|(?<=un\s)(?:cuarto|tercio)(?=\s+de)"
        r"|(?<=a\s)dos(?=\s+pasos\b)"
        r"|un(?=\s+dos\s+por\s+tres)|(?<=un\s)dos(?=\s+por\s+tres)|(?<=dos\spor\s)tres"
        r"|cuatro(?=\s+gatos)|siete(?=\s+vidas)",
        "pt": r"mil(?=\s+vezes|\s+obrigad)|uns|umas|sétimo(?=\s+céu)|(?<=pintar\so\s)sete"
        r"|(?<=um\s)(?:quarto|terço)(?=\s+d)"
        r"|(?<=a\s)dois(?=\s+passos\b)"
        r"|sete(?=\s+palmos|\s+vidas)",
        "fr": r"mille(?=\s+fois|\s+mercis?)|trente-six(?=\s+chandelles|\s+du\s+mois)"
        r"|(?<=un\s)(?:quart|tiers)(?=\s+d)"
        r"|(?<=à\s)deux(?=\s+pas\b)"
        r"|(?<=poire\sen\s)deux|deux(?=\s+temps\s+trois\s+mouvements)"
        r"|(?<=deux\stemps\s)trois|(?<=son\s)trente[-\s]et[-\s]un|septième(?=\s+ciel)"
        r"|quatre(?=\s+cents\s+coups|\s+vérités|\s+à\s+quatre)"
        r"|(?<=quatre\s)cents(?=\s+coups)|(?<=quatre\sà\s)quatre",
        "it": r"(?<=grazie\s)mille|due(?=\s+passi|\s+chiacchiere)|settimo(?=\s+cielo)"
        r"|(?<=un\s)(?:quarto|terzo)(?=\s+d)"
        r"|quattro(?=\s+e\s+quattr|\s+chiacchiere|\s+gatti|\s+passi)"
        r"|(?<=quattro\se\s)quattr'otto|(?<=farsi\sin\s)quattro",
        "de": r"tausend(?=\s+dank)|sieben(?=\s+siegeln)|siebten(?=\s+himmel)"
        r"|(?<=allen\s)vieren|(?<=unter\s)vier(?=\s+augen)|fünf(?=\s+gerade)"
        r"|zwei(?=\s+fliegen)|einer(?=\s+klappe)",
        "nl": r"duizend(?=\s+maal\s+dank|\s+dank)|zevende(?=\s+hemel)|twee(?=\s+vliegen)"
        r"|(?<=onder\s)vier(?=\s+ogen)",
    }.items()
}


def idioms(text: str, language: str) -> str:
    """``text`` with the number words of :data:`_IDIOM_RES`'s set phrases marked, each of
    their words, so that no reader takes them for numbers."""
    pattern = _IDIOM_RES.get(language)
    if pattern is None:
        return text
    return pattern.sub(
        lambda m: re.sub(r"(\w)([\w']*)", lambda w: w[1] + _IDIOM + w[2], m.group()), text
    )


_ELIDED_TENS = {
    "vent": "venti",
    **{
        t: t + "a"
        for t in ("trent", "quarant", "cinquant", "sessant", "settant", "ottant", "novant")
    },
}
_ELIDED_TENS_RE = re.compile(
    r"(?<!\w)(" + "|".join(_ELIDED_TENS) + r")['\u2019](?=\w)", re.IGNORECASE
)
#: The digit words of each language (and Portuguese "meia", six, said for it in numbers):
#: four or more in a row are a number read out digit by digit ("tre tre nove, uno due tre").
_DIGIT_WORDS = {
    lang: dict(pair.split(":") for pair in words.split())
    for lang, words in {
        "es": "cero:0 uno:1 una:1 dos:2 tres:3 cuatro:4 cinco:5 seis:6 siete:7 ocho:8 nueve:9",
        "fr": "zéro:0 un:1 une:1 deux:2 trois:3 quatre:4 cinq:5 six:6 sept:7 huit:8 neuf:9",
        "de": "null:0 eins:1 zwei:2 zwo:2 drei:3 vier:4 fünf:5 sechs:6 sieben:7 acht:8 neun:9",
        "it": "zero:0 uno:1 una:1 due:2 tre:3 quattro:4 cinque:5 sei:6 sette:7 otto:8 nove:9",
        "pt": "zero:0 um:1 uma:1 dois:2 duas:2 três:3 quatro:4 cinco:5 seis:6 meia:6 sete:7 "
        "oito:8 nove:9",
        "nl": "nul:0 een:1 één:1 twee:2 drie:3 vier:4 vijf:5 zes:6 zeven:7 acht:8 negen:9",
    }.items()
}
_DIGIT_RUN_RES = {
    lang: re.compile(
        rf"(?<!\w)(?:{alternation})(?:[\s,]+(?:{alternation})){{3,}}(?!\w)", re.IGNORECASE
    )
    for lang, words in _DIGIT_WORDS.items()
    for alternation in ["|".join(sorted(words, key=len, reverse=True))]
}
#: A number with its thousands spaced ("1 500,50 €", "1\u202f234,56"): joined when a decimal
#: part or a currency follows, so a phone number's groups stay apart.
_SPACED_THOUSANDS_RE = re.compile(
    r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?=,\d|\s?(?:€|euros?|EUR|CHF|\$|£|livres?|pounds?"
    r"|libras?|sterline|sterlina|pfund|ponden|pond|dollars?|dólares?|dollari|francs?|franken"
    r"|franchi|francos?)(?!\w))",
    re.IGNORECASE,
)


def _read_out(words: dict[str, str], match: re.Match[str]) -> str:
    return " ".join(words[w.lower()] for w in re.findall(r"\w+", match.group()))


def _swap_marks(match: re.Match[str]) -> str:
    number = match.group()
    if _THOUSANDS_RE.fullmatch(number) or _DECIMAL_RE.fullmatch(number):
        return number.translate(str.maketrans(".,", ",."))
    return number


def _mask_ambiguous(text: str, language: str) -> str:
    pattern = _AMBIGUOUS_RES.get(language)
    if pattern is None:
        return text
    before, after = _CLOCK_CONTEXT_RES[language]

    def mask(match: re.Match[str]) -> str:
        clock = before.search(text[: match.start()]) or after.match(text[match.end() :])
        word = match.group()
        return word if clock else word[0] + _MASK + word[1:]

    return pattern.sub(mask, text)


#: An English amount said in words with its cents ("three hundred and forty-five pounds fifty",
#: "one hundred and twelve euros and forty cents"): read as 345.50 pounds, 112.40 euros.
_EN_MONEY_RE = re.compile(
    r"(?<![\w-])((?:[a-z]+[- ]+(?:and[ ]+)?){0,5}[a-z]+)[ ]+(pounds?|euros?|dollars?|francs?)"
    r"[ ]+(?:and[ ]+)?([a-z]+(?:-[a-z]+)?)(?:[ ]+(?:cents?|pence|p)\b)?",
    re.IGNORECASE,
)


def _en_amount(match: re.Match[str]) -> str:
    whole = alpha2digit(match.group(1), "en", threshold=0).split()
    cents = alpha2digit(match.group(3), "en", threshold=0)
    if whole and whole[-1].isdigit() and cents.isdigit() and len(cents) <= 2:
        head = " ".join(whole[:-1])
        amount = f"{whole[-1]}.{int(cents):02d} {match.group(2)}"
        return f"{head} {amount}" if head else amount
    return match.group()


def english_money(text: str) -> str:
    """English amounts said in words with their cents, in digits (:data:`_EN_MONEY_RE`)."""
    return _EN_MONEY_RE.sub(_en_amount, text)


#: German and Dutch counts of times written as one word ("dreimal täglich", "driemaal per
#: week"), which text2num does not read: the count split off. Not "einmal" or "eenmaal"
#: ("noch einmal", "nicht einmal": again, not even), nor "zweimal" and "tweemaal", which a
#: translation says "twice" (no number the reader reads).
_TIMES_RES = {
    "de": re.compile(
        r"\b(drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf)(mal)\b", re.IGNORECASE
    ),
    "nl": re.compile(
        r"\b(drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf)(maal|keer)\b", re.IGNORECASE
    ),
}


def english(text: str, language: str, *, strict: bool = True) -> str:
    """``text`` (in ``language``, one of the lexicons') with its number words as digits and
    its decimal and thousands marks as the reader reads them (see the module docstring).
    ``strict`` (a source): an ambiguous word is a number only where it tells the time; a
    translation is read generously, every such word a number."""
    text = _PERCENT_RES[language].sub(" percent", text) if language in _PERCENT_RES else text
    text = idioms(text, language)
    if language in _TIMES_RES:
        text = _TIMES_RES[language].sub(r"\1 \2", text)
    if language == "it":  # "quarant'anni": the ten's vowel elided before "anni"
        text = _ELIDED_TENS_RE.sub(lambda m: _ELIDED_TENS[m.group(1).lower()] + " ", text)
    text = _DIGIT_RUN_RES[language].sub(partial(_read_out, _DIGIT_WORDS[language]), text)
    text = _SPACED_THOUSANDS_RE.sub(lambda m: re.sub(r"[ \u00a0\u202f]", "", m.group()), text)
    if strict:
        text = _mask_ambiguous(text, language)
    # A scale after digits is the reader's English word ("2,5 Millionen": 2.5 million), which
    # text2num would read as a number of its own.
    text = _SCALE_RE.sub(lambda m: m.group(1) + _HELD[_SCALES[m.group(2).lower()]], text)
    # text2num writes "zwei Komma fünf" with the language's mark, "2,5"
    text = _DECIMAL_WORD_RE.sub(r"\1,\2", alpha2digit(text, language))
    for scale, held in _HELD.items():
        text = text.replace(held, scale)
    text = _MARKED_RE.sub(_swap_marks, text)
    text = _ZERO_RE.sub("0 ", text)  # "zero sei, quarantotto": a phone number's first digit
    text = _CENTS_RE.sub(lambda m: f"{m.group(1)}.{int(m.group(3)):02d} {m.group(2)}", text)
    text = _MONEY_RE.sub(r"\1.\3 \2", text)
    return _ORDINAL_MARK_RE.sub("", text).replace(_MASK, "")
