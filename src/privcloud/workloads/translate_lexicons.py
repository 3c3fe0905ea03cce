"""The languages the translation fact check reads, put in the words of its English fact reader
(:func:`normalise`): month and weekday names, the number words two to twelve, "tomorrow" and
the like, day parts ("de la tarde" -> "pm"), the preposition of a clock time ("a las" -> "at"),
for es, fr, de, it, pt and nl (:data:`LEXICONS`); clock times said in words
(:mod:`.translate_clock`) and other numbers said in words, number marks and amounts
(:mod:`.translate_numbers`). See :mod:`privcloud.workloads.translate_facts`.
"""

from __future__ import annotations

import re

from privcloud.workloads import (
    translate_clock,
    translate_forms,
    translate_numbers,
    translate_outcomes,
)
from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS

__all__ = [
    "LATIN_SCRIPT",
    "LEXICONS",
    "READABLE",
    "normalise",
    "portuguese_weekdays",
    "quarter_hours",
]

#: Languages written in Latin script (names are compared letter for letter only between them).
LATIN_SCRIPT = frozenset(
    """af az bs ca cs cy da de en es et eu fi fo fr ga gl hr ht hu id is it jw la lb ln lt lv
    mg mi ms mt nl nn no oc pl pt ro sk sl sn so sq su sv sw tk tl tr uz vi yo""".split()  # noqa: SIM905
)


def _table(text: str) -> dict[str, str]:
    """``"a:b c:d"`` as {a: b, c: d} (underscores in a key or value stand for spaces)."""
    pairs = (item.split(":", 1) for item in text.split())
    return {k.replace("_", " "): v.replace("_", " ") for k, v in pairs}


#: The reader's month and weekday names, capitalised, in order (from its one table of them;
#: a month's first name there is its full one).
_MONTHS_EN = tuple(
    {n: name.capitalize() for name, n in reversed(MONTHS.items())}[n] for n in range(1, 13)
)
_DAYS_EN = tuple(name.capitalize() for name in WEEKDAYS)
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
        "anteayer:the_day_before_yesterday antes_de_ayer:the_day_before_yesterday "
        "ayer:yesterday esta_noche:tonight de_la_tarde:pm de_la_noche:pm de_la_mañana:am "
        "de_la_madrugada:am a_las:at a_la_una_del_mediodía:at_one_pm a_la_una:at_one a_la:at "
        "mediodía:noon "
        "medianoche:midnight "
        "la_semana_que_viene:next_week la_próxima_semana:next_week el_mes_que_viene:next_month "
        "el_próximo_mes:next_month el_año_que_viene:next_year el_próximo_año:next_year "
        "fin_de_semana:weekend sábados:Saturdays domingos:Sundays esta_tarde:this_afternoon "
        "el_año_pasado:last_year la_semana_pasada:last_week el_mes_pasado:last_month "
        "este_mes:this_month este_año:this_year esta_semana:this_week anoche:yesterday_night "
        "esta_mañana:this_morning hoy_por_la_noche:tonight "
        # (also without the article, which "a la", "para la" may have taken: "a la próxima semana")
        "próxima_semana:next_week semana_que_viene:next_week próximo_mes:next_month "
        "mes_que_viene:next_month próximo_año:next_year año_que_viene:next_year "
        "semana_pasada:last_week mes_pasado:last_month año_pasado:last_year "
        "decena:10 veintena:20 treintena:30 centenar:100",
    ),
    "fr": _lexicon(
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "lundi mardi mercredi jeudi vendredi samedi dimanche",
        "deux trois quatre cinq six sept huit - dix onze douze",
        "aujourd'hui:today d'aujourd'hui:today demain:tomorrow hier:yesterday ce_soir:tonight "
        "de_l'après-midi:pm du_soir:pm du_matin:am à:at midi:noon minuit:midnight "
        "après-demain:the_day_after_tomorrow avant-hier:the_day_before_yesterday "
        "la_semaine_prochaine:next_week semaine_prochaine:next_week le_mois_prochain:next_month "
        "mois_prochain:next_month l'année_prochaine:next_year année_prochaine:next_year "
        "l'an_prochain:next_year semaine_dernière:last_week mois_dernier:last_month "
        "week-end:weekend cet_après-midi:this_afternoon dizaine:10 douzaine:12 quinzaine:15 "
        "vingtaine:20 trentaine:30 quarantaine:40 cinquantaine:50 centaine:100 "
        "lundis:Mondays mardis:Tuesdays mercredis:Wednesdays jeudis:Thursdays "
        "vendredis:Fridays samedis:Saturdays dimanches:Sundays l'an_dernier:last_year "
        "l'année_dernière:last_year la_semaine_dernière:last_week le_mois_dernier:last_month "
        "ce_mois-ci:this_month cette_année:this_year cette_semaine:this_week ce_matin:this_morning",
    ),
    "de": _lexicon(
        "januar februar märz april mai juni juli august september oktober november dezember",
        "montag dienstag mittwoch donnerstag freitag samstag sonntag",
        "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf",
        "am:on heute:today morgen_früh:tomorrow_morning morgen:tomorrow am_morgen:in_the_morning "
        "guten_morgen:good_morning übermorgen:the_day_after_tomorrow "
        "gestern:yesterday heute_abend:tonight heute_nacht:tonight nachmittags:pm abends:pm "
        "morgens:am "
        "uhr:o'clock um:at mittag:noon mitternacht:midnight vorgestern:the_day_before_yesterday "
        "nächste_woche:next_week nächsten_woche:next_week nächster_woche:next_week "
        "diese_woche:this_week dieser_woche:this_week nächsten_monat:next_month "
        "nächstes_jahr:next_year "
        "wochenende:weekend heute_nachmittag:this_afternoon montags:Mondays dienstags:Tuesdays "
        "mittwochs:Wednesdays donnerstags:Thursdays freitags:Fridays samstags:Saturdays "
        "sonntags:Sundays letztes_jahr:last_year letzte_woche:last_week "
        "letzten_monat:last_month diesen_monat:this_month dieses_jahr:this_year "
        "heute_morgen:this_morning heute_früh:this_morning",
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
        "fine_settimana:weekend l'anno_scorso:last_year la_settimana_scorsa:last_week "
        "il_mese_scorso:last_month questo_mese:this_month quest'anno:this_year "
        "settimana_prossima:next_week prossima_settimana:next_week mese_prossimo:next_month "
        "prossimo_mese:next_month anno_prossimo:next_year settimana_scorsa:last_week "
        "mese_scorso:last_month anno_scorso:last_year "
        "questa_settimana:this_week decina:10 "
        "quindicina:15 "
        "ventina:20 trentina:30 quarantina:40 cinquantina:50 centinaio:100",
    ),
    "pt": _lexicon(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
        "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
        "- três quatro cinco seis sete oito nove dez onze doze",
        "hoje:today amanhã:tomorrow ontem:yesterday esta_noite:tonight da_tarde:pm da_noite:pm "
        "da_manhã:am às:at meio-dia:noon meia-noite:midnight dois:two duas:two "
        "depois_de_amanhã:the_day_after_tomorrow "
        "anteontem:the_day_before_yesterday na_próxima_semana:next_week semana_que_vem:next_week "
        "no_próximo_mês:next_month mês_que_vem:next_month no_próximo_ano:next_year "
        "próxima_semana:next_week próximo_mês:next_month próximo_ano:next_year "
        "ano_que_vem:next_year fim_de_semana:weekend segundas-feiras:Mondays "
        "terças-feiras:Tuesdays "
        "quartas-feiras:Wednesdays quintas-feiras:Thursdays sextas-feiras:Fridays "
        "sábados:Saturdays domingos:Sundays ano_passado:last_year semana_passada:last_week "
        "mês_passado:last_month este_mês:this_month este_ano:this_year esta_semana:this_week "
        "nesta_semana:this_week esta_tarde:this_afternoon desta_semana:this_week "
        "deste_mês:this_month deste_ano:this_year "
        "hoje_à_tarde:this_afternoon hoje_à_noite:tonight hoje_de_noite:tonight "
        "esta_manhã:this_morning hoje_de_manhã:this_morning dezena:10 vintena:20 trintena:30 "
        "centena:100",
    ),
    "nl": _lexicon(
        "januari februari maart april mei juni juli augustus september oktober november december",
        "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
        "twee drie vier vijf zes zeven acht negen tien elf twaalf",
        "vandaag:today morgen:tomorrow gisteren:yesterday vanavond:tonight 's_middags:pm "
        "'s_avonds:pm 's_ochtends:am uur:o'clock om:at middag:noon middernacht:midnight "
        # (a whole or every afternoon, not noon)
        "hele_middag:whole_afternoon elke_middag:every_afternoon iedere_middag:every_afternoon "
        "deze_middag:this_afternoon die_middag:that_afternoon "
        "overmorgen:the_day_after_tomorrow eergisteren:the_day_before_yesterday "
        "volgende_week:next_week volgende_maand:next_month volgend_jaar:next_year "
        "weekend:weekend 's_maandags:on_Mondays 's_zondags:on_Sundays vorig_jaar:last_year "
        "maandagen:Mondays dinsdagen:Tuesdays woensdagen:Wednesdays donderdagen:Thursdays "
        "vrijdagen:Fridays zaterdagen:Saturdays zondagen:Sundays "
        "vorige_week:last_week vorige_maand:last_month tiental:10 deze_maand:this_month "
        "dit_jaar:this_year deze_week:this_week gisteravond:yesterday_evening "
        "gisternacht:yesterday_night tussen_de_middag:at_lunchtime de_middag:the_afternoon "
        "morgenochtend:tomorrow_morning morgenvroeg:tomorrow_morning "
        "morgenmiddag:tomorrow_afternoon morgenavond:tomorrow_evening vanochtend:this_morning "
        "vanmorgen:this_morning vanmiddag:this_afternoon vannacht:tonight",
    ),
}
#: The languages whose month, weekday and number words can be read (English is the reader's).
READABLE = frozenset({"en", *LEXICONS})

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
#: "3 de March" (es, pt; "del" in it): a day number before its month.
#: A month then a number that is no year: in the languages of the lexicons a day comes before
#: its month ("6. Mai", "6 de mayo"), so "im Mai sechs" ("turns six in May") is a month and a
#: number, not 6 May; a semicolon keeps the reader from joining them.
_MONTH_THEN_NUMBER_RE = re.compile(r"\b(" + "|".join(_MONTHS_EN) + r")\s+(?=\d{1,2}\b(?![.:,]?\d))")
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


#: A weekday and a part of the day in one word ("Freitagabend", "vrijdagavond"): the weekday,
#: then the part of the day as the lexicon reads it on its own ("abends": pm).
_DAY_PART_COMPOUNDS = {
    lang: (
        re.compile(rf"\b({days})({'|'.join(parts)})\b", re.IGNORECASE),
        parts,
    )
    for lang, days, parts in (
        (
            "de",
            "montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag",
            {
                "morgen": "morgens",
                "vormittag": "morgens",
                "nachmittag": "nachmittags",
                "abend": "abends",
                "nacht": "nachts",
                "mittag": "mittags",
            },
        ),
        (
            "nl",
            "maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag",
            {
                "ochtend": "'s ochtends",
                "morgen": "'s ochtends",
                "middag": "'s middags",
                "avond": "'s avonds",
                "nacht": "'s nachts",
            },
        ),
    )
}


#: Portuguese weekdays said without "-feira" ("de segunda a quarta", "na quinta à noite"),
#: which are also ordinals ("a quarta vez"): a weekday after a word that names a day ("na",
#: "até", "próxima") unless a noun an ordinal goes with follows ("na segunda vez"), or after
#: "de", "a", "e", "ou", "esta" before the end of the phrase or a word that goes with a day.
_PT_DAYS = r"(segunda|terça|quarta|quinta|sexta)(s?)(?![\w-])"
_PT_ORDINAL_NOUNS = (
    r"vez|vezes|parte|mão|classe|opção|página|fila|linha|tentativa|volta|posição|lugar|série"
    r"|edição|rua|porta|andar|chamada|metade|dose|etapa|fase|pessoa|filha|filho|casa|feira"
)
_PT_SHORT_DAY_RES = (
    re.compile(
        r"\b(na|nas|às|até|desde|próxima|próximas|nesta|toda|todas|cada|última)\s+"
        + _PT_DAYS
        + rf"(?!\s+(?:{_PT_ORDINAL_NOUNS})\b)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(de|a|e|ou|esta)\s+"
        + _PT_DAYS
        + r"(?=\s*(?:$|[,.;:!?)]|(?:de|à|às|a|e|ou|até|que|passada|dia|pela|é|foi|será)\b|\d))",
        re.IGNORECASE,
    ),
    # before a clock time ("tem marcação quarta às 10h30")
    re.compile(r"()\b" + _PT_DAYS + r"(?=\s+(?:às|as)\s+\d)", re.IGNORECASE),
)


def portuguese_weekdays(text: str) -> str:
    """``text`` (Portuguese) with its weekdays said without "-feira" written in full (see
    :data:`_PT_SHORT_DAY_RES`): "de segunda a quarta" -> "de segunda-feira a quarta-feira"."""
    for pattern in _PT_SHORT_DAY_RES:
        text = pattern.sub(lambda m: f"{m[1]} {m[2]}{m[3]}-feira{m[3]}", text)
    return text


#: "this evening" in a translation: the reader's "tonight" ("heute Abend", "ce soir" are),
#: not only "today". A source's is left as the reader reads it (as is "last night" below).
_THIS_EVENING_RE = re.compile(r"\bthis evening\b", re.IGNORECASE)
#: "this month's", "next week's" in a translation: this month, next week.
_THIS_PERIODS_RE = re.compile(
    r"\b(this|next|last)\s+(week|month|year|weekend)['\u2019]s\b", re.IGNORECASE
)
#: "last night" in a translation: the reader's "yesterday night" ("ontem à noite" is).
_LAST_NIGHT_RE = re.compile(r"\blast night\b", re.IGNORECASE)


#: A date in digits in the day-month-year order of every language read but English ("09.03.2026",
#: "9/3/2026", "09-03-2026"): the reader's "9 March 2026" (it read "09.03.2026" as a phone
#: number). English is left alone: "03/09/2026" may be March there.
_NUMERIC_DATE_RE = re.compile(
    r"\b(0?[1-9]|[12]\d|3[01])([./-])(0?[1-9]|1[0-2])\2((?:19|20)\d\d)\b(?![.,]?\d)"
)


def _numeric_date(match: re.Match[str]) -> str:
    return f"{int(match[1])} {_MONTHS_EN[int(match[3]) - 1]} {match[4]}"


#: The same without a year, after a word that introduces a date ("für den 14.08.", "jusqu'au
#: 15/09", "el 3/4"): with a full stop, only with one after it too, since "14.08" alone is
#: also an amount.
_DAY_MONTH_RE = re.compile(
    r"\b((?:le|au|du|jusqu'au|am|vom|zum|bis|den|dem|el|al|del|il|dal|o|até|ao|op|tot|per|para"
    r"|pour|voor|für|spätestens|frühestens|ab|seit|uiterlijk|vanaf|sinds|entro|dès|depuis"
    r"|desde|hasta)\s+)"
    r"(0?[1-9]|[12]\d|3[01])(?:/(0?[1-9]|1[0-2])(?![/\d]|[.,]\d)|\.(0?[1-9]|1[0-2])\.(?!\d))"
)


def _day_month(match: re.Match[str]) -> str:
    return f"{match[1]}{int(match[2])} {_MONTHS_EN[int(match[3] or match[4]) - 1]}"


#: An American date in English whose day cannot be a month ("10/31/2026"): "October 31, 2026".
_US_DATE_RE = re.compile(r"\b(0?[1-9]|1[0-2])/(1[3-9]|2\d|3[01])/((?:19|20)\d\d)\b")


#: A quarter of an hour after a count of hours ("due ore e un quarto", "two hours and a
#: quarter"): 15 minutes, before a quarter is read as a clock time's or a 4th.
_QUARTER_HOUR_RE = re.compile(
    r"\b(hours?|horas?|heures?|stunden?|ore|ora|uur|uren)\s+(and|y|et|und|e|en)\s+"
    r"(?:(?:a|un|um|ein|een)\s+)?(?:quarter|cuarto|quart|viertel|quarto|kwartier)\b",
    re.IGNORECASE,
)


#: Words before a count of hours that make it a clock time ("à huit heures et quart").
_CLOCK_BEFORE_RE = re.compile(
    r"\b(?:at|à|às|as|a\s+las|a\s+la|um|om|alle|all'|vers|gegen|rond|until|till|bis|hasta"
    r"|after|before|après|avant|dopo|prima\s+delle|antes\s+de\s+las|después\s+de\s+las|nach|vor"
    r"|na|voor|depois\s+das|antes\s+das"
    r"|jusqu'à|tot|dalle|desde|from|dès|van|ab|sobre|por\s+volta\s+das|verso\s+le)\s+\S+\s+$",
    re.IGNORECASE,
)


#: Noon or midnight said with its twelve ("twelve noon", "12 midnight"), which the reader
#: would take for a twelve o'clock on either half of the day.
_TWELVE_RE = re.compile(r"\b(?:twelve|12)(?:[:.]00)?\s+(noon|midnight)\b", re.IGNORECASE)
#: Dozens, in every language read ("zwölf Eier": "une douzaine d'œufs", "24 rose": "two dozen
#: roses"), with the count before them.
_DOZEN_COUNTS = {
    **dict.fromkeys("a one une una un ein eine einem einer uma um een".split(), 12),  # noqa: SIM905
    **dict.fromkeys("two deux dos zwei due duas dois twee".split(), 24),  # noqa: SIM905
    **dict.fromkeys("three trois tres drei tre três drie".split(), 36),  # noqa: SIM905
    "half a": 6,
    "une demi-": 6,
    "media": 6,
    "ein halbes": 6,
    "mezza": 6,
    "meia": 6,
    "een half": 6,
}
#: Per language, the word for a dozen (Dutch "dozen" is boxes).
_DOZEN_WORDS = {
    "en": "dozens?",
    "fr": "douzaines?",
    "es": "docenas?",
    "de": "dutzend",
    "it": "dozzin[ae]",
    "pt": "dúzias?",
    "nl": "dozijn",
}
_DOZEN_RES = {
    lang: re.compile(
        r"\b(" + "|".join(sorted(_DOZEN_COUNTS, key=len, reverse=True)) + rf")\s*(?:{word})\b",
        re.IGNORECASE,
    )
    for lang, word in _DOZEN_WORDS.items()
}
#: A score said in words ("three-one", "dois a um"), read in digits where the text tells a
#: match's result or names a match (:mod:`.translate_outcomes`).
_SCORE_WORDS = {
    **dict.fromkeys("nil zero nul null cero zéro".split(), "0"),  # noqa: SIM905
    **dict.fromkeys("one um uno un une ein eins een".split(), "1"),  # noqa: SIM905
    **{w: str(n) for n, w in enumerate("two three four five six seven eight nine".split(), 2)},  # noqa: SIM905
}
_SCORE_WORDS_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(_SCORE_WORDS)
    + r"|\d)(?:-|\s+(?:a|à|at|to|zu|tegen)\s+)("
    + "|".join(_SCORE_WORDS)
    + r"|\d)(?![\w-])",
    re.IGNORECASE,
)
#: A match without goals ("goalless", "torlos", "sem golos"): 0-0.
_GOALLESS_RE = re.compile(
    r"\b(?:goalless|scoreless|torlos|sin\s+goles|sem\s+golos|sem\s+gols|senza\s+reti"
    r"|a\s+reti\s+inviolate|nul\s+et\s+vierge|doelpuntloos)\b",
    re.IGNORECASE,
)
#: A draw in words ("one-all", "two all", "un partout", "uno pari", "empate a uno").
_ALL_RE = re.compile(
    r"(?<![\w-])(one|two|three|four|five|un|deux|trois|uno|due|tre|\d)(?:[- ]all|\s+partout"
    r"|\s+pari)\b|\bempate\s+a\s+(uno|dos|tres|um|dois|três)\b",
    re.IGNORECASE,
)
_DRAW_WORDS = {
    **_SCORE_WORDS,
    **dict.fromkeys(("uno", "un"), "1"),
    **{"deux": "2", "trois": "3", "due": "2", "tre": "3", "dos": "2", "tres": "3"},
    **{"dois": "2", "três": "3"},
}
#: A score told with its unit between ("won 2 sets to 1", "3 games to 2").
_UNITS_TO_RE = re.compile(
    r"\b(\d{1,2})\s+(sets?|games?|goals?|points?|frames?)\s+to\s+(\d{1,2})\b", re.IGNORECASE
)
#: A score's nought ("drew nil-nil", "won two-nil").
_NIL_RE = re.compile(r"\bnil\b", re.IGNORECASE)


#: Twelve at night, which the reader would take for 12 pm (noon): midnight, in the language's
#: own word ("hasta las doce de la noche" translated "until midnight").
_MIDNIGHT_RES: dict[str, tuple[re.Pattern[str], str]] = {
    lang: (re.compile(pattern, re.IGNORECASE), word)
    for lang, (pattern, word) in {
        "es": (r"\b(?:las\s+)?(?:doce|12)(?:[:.]00)?\s+de\s+la\s+noche\b", "medianoche"),
        "de": (r"\b(?:zwölf|12)(?:[:.]00)?\s+Uhr\s+nachts\b", "Mitternacht"),
        "it": (r"\b(?:le\s+)?(?:dodici|12)(?:[:.]00)?\s+di\s+notte\b", "mezzanotte"),
        "pt": (r"\b(?:as\s+)?(?:doze|12)(?:[:.]00)?\s+da\s+noite\b", "meia-noite"),
        "nl": (r"\b(?:twaalf|12)(?:[:.]00)?\s+uur\s+'s\s+nachts\b", "middernacht"),
    }.items()
}


#: "This night", which is tonight or last night by the tense: read as tonight in a
#: translation only ("Esta noche" translated "Cette nuit"), never in a source.
_THIS_NIGHT_RES = {
    lang: re.compile(pattern, re.IGNORECASE)
    for lang, pattern in {
        "fr": r"\bcette\s+nuit\b",
        "de": r"\bheute\s+nacht\b",
        "it": r"\bstanotte\b|\bquesta\s+notte\b",
        "pt": r"\besta\s+noite\b",
        "nl": r"\bvannacht\b",
    }.items()
}


def scores_in_words(text: str) -> str:
    """``text`` (normalised) with its scores in words as digits ("three-one": "3-1", "two a
    um": "2-1"), where it tells a match's result or names one."""
    text = _GOALLESS_RE.sub("0-0", text)
    if not translate_outcomes.about_a_match(text):
        return text

    def digits(match: re.Match[str]) -> str:
        home, away = (_SCORE_WORDS.get(g.lower(), g) for g in match.groups())
        return f"{home}-{away}"

    def draw(match: re.Match[str]) -> str:
        word = (match.group(1) or match.group(2)).lower()
        goals = word if word.isdigit() else _DRAW_WORDS[word]
        return f"{goals}-{goals}"

    text = _ALL_RE.sub(draw, text)
    return _SCORE_WORDS_RE.sub(digits, text)


#: A Dutch count of hours after a word of duration ("duurt bijna drie uur", "over twee uur"),
#: which the lexicon would read as a clock time ("uur": o'clock): written "uren" (hours).
_NL_HOURS_RE = re.compile(
    r"\b((?:duurt|duren|duurde|bijna|ruim|zo'n|ongeveer|minstens|maximaal|hooguit|binnen|over"
    r"|in|per|nog|al|maar|slechts)\s+\S+)\s+uur\b",
    re.IGNORECASE,
)


def quarter_hours(text: str) -> str:
    """``text`` with a quarter of an hour after a count of hours as 15 minutes ("une heure et
    quart de route"), not a clock time's quarter ("à huit heures et quart")."""

    def minutes(match: re.Match[str]) -> str:
        if _CLOCK_BEFORE_RE.search(text[: match.start()]):
            return match.group()
        return f"{match.group(1)} {match.group(2)} 15 minutes"

    return _QUARTER_HOUR_RE.sub(minutes, text)


#: An elided article or preposition before a capitalised name (French and Italian).
_ELIDED_NAME_RE = re.compile(r"(?<![\w'])((?:[dl]|dall|dell|nell|all|sull)['\u2019])(?=[A-ZÀ-Ý])")


def normalise(text: str, language: str, *, strict: bool = True) -> str:
    """``text`` in the fact reader's words (see the module docstring); unchanged for English
    and for languages without a lexicon, apart from "15h30" clock times. ``strict``: read as a
    source (:func:`.translate_numbers.english`)."""
    text = _H_TIME_RE.sub(r"\1:\2", text)
    text = quarter_hours(text)
    if language in _DOZEN_RES:
        text = _DOZEN_RES[language].sub(lambda m: str(_DOZEN_COUNTS[m.group(1).lower()]), text)
    if language == "en":
        text = _US_DATE_RE.sub(lambda m: f"{_MONTHS_EN[int(m[1]) - 1]} {int(m[2])}, {m[3]}", text)
        if not strict:
            text = _THIS_EVENING_RE.sub("tonight", text)
            text = _LAST_NIGHT_RE.sub("yesterday night", text)
            text = _THIS_PERIODS_RE.sub(r"\1 \2", text)  # "This month's bill"
        text = _TWELVE_RE.sub(r"\1", _NIL_RE.sub("0", text))  # "twelve noon": noon
        text = _UNITS_TO_RE.sub(r"\1-\3 \2", text)  # "2 sets to 1": a score, "2-1 sets"
        text = translate_numbers.idioms(text, language)
        return scores_in_words(translate_forms.shared(translate_numbers.english_money(text)))
    table = LEXICONS.get(language)
    if table is None:
        return text
    text = _NUMERIC_DATE_RE.sub(_numeric_date, text)
    text = _DAY_MONTH_RE.sub(_day_month, text)
    if language in _MIDNIGHT_RES:
        pattern, midnight = _MIDNIGHT_RES[language]
        text = pattern.sub(midnight, text)
    if not strict and language in _THIS_NIGHT_RES:  # a translation's "cette nuit" may be tonight
        text = _THIS_NIGHT_RES[language].sub("tonight", text)
    # Clock times in words first ("ocho y cuarto": text2num would make "cuarto" a 4th), then
    # the other number words, then the clock forms those made ("las siete y doce": "las 7 y 12").
    if language == "pt":
        text = portuguese_weekdays(text)
    if language == "nl":
        text = _NL_HOURS_RE.sub(r"\1 uren", text)
    text = translate_clock.english(text, language)
    text = translate_numbers.english(text, language, strict=strict)
    text = translate_clock.english(text, language)
    if language == "de":
        text = _DAY_DOT_RE.sub(r"\1", text)
    if language in _DAY_PART_COMPOUNDS:
        pattern, parts = _DAY_PART_COMPOUNDS[language]
        text = pattern.sub(lambda m: f"{m.group(1)} {parts[m.group(2).lower()]}", text)

    def swap(match: re.Match[str]) -> str:
        return table[match.group(1).lower()]

    # "primero de March", "le premier July", "am ersten May": the 1st; "3 de March" (es, pt;
    # "del" in it): the reader's "3 March".
    text = _LEXICON_RES[language].sub(swap, text)
    text = _FIRST_OF_RE.sub(lambda m: _SMALL_DAYS[m.group(1).lower()] + " ", text)
    text = _MONTH_THEN_NUMBER_RE.sub(r"\1; ", text)
    if language in ("fr", "it"):  # "d'Allemagne", "dall'Italia": the name a word of its own
        text = _ELIDED_NAME_RE.sub(r"\1 ", text)
    return scores_in_words(translate_forms.shared(_DAY_OF_RE.sub(r"\1 ", text)))
