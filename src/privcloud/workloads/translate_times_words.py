"""The words of clock times in en, es, fr, de, it, pt and nl, as
:mod:`privcloud.workloads.translate_times` reads and writes them: hours, minutes (as "past"
words and as numbers 1-59), noon and midnight, leads ("at", "around") and the hour's article,
"then", the clock word, parts of the day.

Tables only; the grammar that uses them is in :mod:`~privcloud.workloads.translate_times`.
(:mod:`~privcloud.workloads.translate_clock` reads the fact check's clock times with its own
tables, which cover only the hour and minute words the check needs.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = [
    "DAYS",
    "DAYS_WRITTEN",
    "ARTICLES",
    "CLOCK",
    "CONTRACTED",
    "HOURS",
    "HOUR_NAMES",
    "JOIN",
    "LEADS",
    "MINUTE_NAMES",
    "NAMED",
    "NAMED_ARTICLE",
    "NUMBERS",
    "PARTS",
    "PARTS_WRITTEN",
    "PART_NAMES",
    "PAST",
    "THEN",
    "TO",
]


def _table(spec: str, start: int = 1) -> dict[str, int]:
    """``"a b|c"`` as {a: start, b: start + 1, c: start + 1}, or ``"5:a 10:b"`` with the
    numbers given; "_" stands for a space. The first form of a number is the one written."""
    table: dict[str, int] = {}
    for n, item in enumerate(spec.split(), start):
        number, _, forms = item.rpartition(":")
        table.update({form.replace("_", " "): int(number or n) for form in forms.split("|")})
    return table


#: Hours said in words, 1-12, then 13-23 where the language says them ("dix-sept heures").
HOURS = {lang: _table(spec) for lang, spec in {
    "en": "one two three four five six seven eight nine ten eleven twelve",
    "fr": "une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze"
          " seize dix-sept dix-huit dix-neuf vingt vingt_et_une|vingt-et-une vingt-deux"
          " vingt-trois",
    "de": "eins|ein zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn"
          " fünfzehn sechzehn siebzehn achtzehn neunzehn zwanzig einundzwanzig zweiundzwanzig"
          " dreiundzwanzig",
    "it": "una due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici"
          " quindici sedici diciassette diciotto diciannove venti ventuno ventidue"
          " ventitré|ventitre",
    "es": "una dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince"
          " dieciséis diecisiete dieciocho diecinueve veinte veintiuna|veintiún veintidós"
          " veintitrés",
    "pt": "uma duas três|tres quatro cinco seis sete oito nove dez onze doze treze"
          " catorze|quatorze quinze dezesseis|dezasseis dezessete|dezassete dezoito"
          " dezenove|dezanove vinte vinte_e_uma vinte_e_duas vinte_e_três",
    "nl": "één|een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien"
          " vijftien zestien zeventien achttien negentien twintig eenentwintig tweeëntwintig"
          " drieëntwintig",
}.items()}  # fmt: skip
#: Minutes past the hour, then before it.
PAST = {lang: _table(spec) for lang, spec in {
    "en": "5:five 10:ten 20:twenty 25:twenty-five|twenty_five 15:quarter|a_quarter 30:half",
    "es": "5:cinco 10:diez 20:veinte 25:veinticinco 15:cuarto 30:media",
    "fr": "5:cinq 10:dix 20:vingt 25:vingt-cinq 15:et_quart 30:et_demie|et_demi",
    "de": "5:fünf 10:zehn 20:zwanzig 15:viertel",
    "it": "5:cinque 10:dieci 20:venti 25:venticinque 15:un_quarto|quarto 30:mezza|mezzo"
          " 45:tre_quarti",
    "pt": "5:cinco 10:dez 20:vinte 25:vinte_e_cinco 15:um_quarto 30:meia",
    "nl": "5:vijf 10:tien 20:twintig 15:kwart",
}.items()}  # fmt: skip


def _numbers(
    units: str, tens: str, compose: Callable[[str, int, str, int], Iterable[str]]
) -> dict[str, int]:
    """Number words 1-59: ``units`` 1-19 (or more), ``tens`` from 20 (or the next after the
    units) in tens; ``compose(ten, t, unit, u)`` the forms of ten + unit."""
    table = _table(units)
    first = max(table.values()) + 1
    for ten, index in _table(tens, first).items():
        t = first + (index - first) * 10
        table[ten] = t
        for unit, u in _table(units).items():
            if u < 10 and t + u < 60:
                table.update(dict.fromkeys(compose(ten, t, unit, u), t + u))
    return table


def _italian(ten: str, t: int, unit: str, u: int) -> Iterable[str]:
    stem = ten[:-1] if u in (1, 8) else ten  # "ventuno", "trentotto"
    return (stem + "tré", stem + "tre") if u == 3 else (stem + unit,)


def _dutch(ten: str, t: int, unit: str, u: int) -> Iterable[str]:
    unit = "een" if u == 1 else unit
    return (unit + ("ën" if unit.endswith("e") else "en") + ten,)  # "tweeëntwintig"


def _german(ten: str, t: int, unit: str, u: int) -> Iterable[str]:
    return (("ein" if u == 1 else unit) + "und" + ten,)


#: Minutes said as a number after the hour ("seize heures trente", "seven forty-five").
NUMBERS = {
    "en": _numbers("one two three four five six seven eight nine ten eleven twelve thirteen"
                   " fourteen fifteen sixteen seventeen eighteen nineteen",
                   "twenty thirty forty fifty",
                   lambda ten, t, unit, u: (f"{ten}-{unit}", f"{ten} {unit}")),
    "es": _numbers("uno|un|una dos tres cuatro cinco seis siete ocho nueve diez once doce trece"
                   " catorce quince dieciséis diecisiete dieciocho diecinueve veinte"
                   " veintiuno|veintiún|veintiuna veintidós veintitrés veinticuatro"
                   " veinticinco veintiséis veintisiete veintiocho veintinueve",
                   "treinta cuarenta cincuenta",
                   lambda ten, t, unit, u: (f"{ten} y {unit}",)),
    "fr": _numbers("un|une deux trois quatre cinq six sept huit neuf dix onze douze treize"
                   " quatorze quinze seize dix-sept dix-huit dix-neuf",
                   "vingt trente quarante cinquante",
                   lambda ten, t, unit, u: (f"{ten} et {unit}", f"{ten}-et-{unit}") if u == 1
                   else (f"{ten}-{unit}", f"{ten} {unit}")),
    "de": _numbers("eins|ein zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn"
                   " vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn",
                   "zwanzig dreißig|dreissig vierzig fünfzig", _german),
    "it": _numbers("uno|un due tre quattro cinque sei sette otto nove dieci undici dodici tredici"
                   " quattordici quindici sedici diciassette diciotto diciannove",
                   "venti trenta quaranta cinquanta", _italian),
    "pt": _numbers("um|uma dois|duas três|tres quatro cinco seis sete oito nove dez onze doze"
                   " treze catorze|quatorze quinze dezesseis|dezasseis dezessete|dezassete"
                   " dezoito dezenove|dezanove",
                   "vinte trinta quarenta cinquenta",
                   lambda ten, t, unit, u: (f"{ten} e {unit}",)),
    "nl": _numbers("een|één twee drie vier vijf zes zeven acht negen tien elf twaalf dertien"
                   " veertien vijftien zestien zeventien achttien negentien",
                   "twintig dertig veertig vijftig", _dutch),
}  # fmt: skip
NUMBERS["en"].update({f"{oh} {w}": n for w, n in list(NUMBERS["en"].items()) if n < 10
                       for oh in ("oh", "o")})  # fmt: skip
TO = {lang: {w: n for w, n in past.items() if n != 30 and not w.startswith("et ")}
       for lang, past in PAST.items()}  # fmt: skip
TO["fr"]["le quart"] = 15
TO["pt"]["quinze"] = 15
del TO["it"]["tre quarti"]  # "meno tre quarti" (a quarter past) is rare: not read
#: The names of the hours and minutes written (the first form of each).
HOUR_NAMES = {lang: {n: w for w, n in reversed(t.items())} for lang, t in HOURS.items()}
MINUTE_NAMES = {lang: {n: w for w, n in reversed(t.items())} for lang, t in PAST.items()}
#: Noon and midnight, and the article each takes after a lead ("al mediodía", "à meia-noite").
NAMED = {"en": {"noon": "noon", "midday": "noon", "midnight": "midnight"},
          "es": {"mediodía": "noon", "medianoche": "midnight"},
          "fr": {"midi": "noon", "minuit": "midnight"}, "de": {"mitternacht": "midnight"},
          "it": {"mezzogiorno": "noon", "mezzanotte": "midnight"},
          "pt": {"meio-dia": "noon", "meia-noite": "midnight"},
          "nl": {"middernacht": "midnight"}}  # fmt: skip
NAMED_ARTICLE = {("es", "noon"): "m", ("es", "midnight"): "s", ("pt", "noon"): "m",
                  ("pt", "midnight"): "s"}  # fmt: skip
#: Leads by kind; the first of each is written.
LEADS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"at": ("at",), "around": ("around", "about", "at around", "at about")},
    "es": {"at": ("a",), "around": ("sobre", "hacia", "a eso de")},
    "fr": {"at": ("à",), "around": ("vers",)},
    "de": {"at": ("um",), "around": ("gegen",)},
    "it": {"at": ("a",), "around": ("verso",)},
    "pt": {"at": ("a",), "around": ("por volta de", "lá para", "lá por", "por")},
    "nl": {"at": ("om",), "around": ("rond", "omstreeks", "tegen")},
}
#: An hour's article: plural ("las dos"), singular feminine ("la una"), masculine; contracted.
ARTICLES = {"es": {"p": "las", "s": "la", "m": "el"}, "it": {"p": "le", "s": "l'"},
             "pt": {"p": "as", "s": "a", "m": "o"}}  # fmt: skip
CONTRACTED = {"a el": "al", "de el": "del", "a le": "alle", "a l'": "all'", "a as": "às",
               "a a": "à", "a o": "ao", "de as": "das", "de a": "da", "de o": "do",
               "por as": "pelas", "por a": "pela", "por o": "pelo"}  # fmt: skip
THEN = {"en": "then", "es": "entonces", "fr": "alors", "de": "dann", "it": "allora",
         "pt": "então", "nl": "dan"}  # fmt: skip
#: Words that make a number an hour (a whole hour with one needs no "at").
CLOCK = {"en": "o'clock", "es": "en punto|horas", "fr": "heures?", "de": "uhr",
          "it": "in punto", "pt": "em ponto|horas?", "nl": "uur"}  # fmt: skip
#: Parts of the day said after a time, as read ("am" and "pm" are English "a.m.", "p.m.").
PARTS = {
    "en": {"in the morning": "morning", "am": "am", "in the afternoon": "afternoon",
           "pm": "pm", "in the evening": "evening", "at night": "night"},
    "es": {"de la mañana": "morning", "de la tarde": "afternoon", "de la noche": "night",
           "de la madrugada": "small", "de madrugada": "small"},
    "fr": {"du matin": "morning", "de l'après-midi": "afternoon", "du soir": "evening",
           "de la nuit": "night"},
    "de": {"morgens": "morning", "früh": "morning", "vormittags": "morning",
           "am morgen": "morning", "nachmittags": "afternoon", "am nachmittag": "afternoon",
           "abends": "evening", "am abend": "evening", "nachts": "night",
           "in der nacht": "night", "mittags": "midday"},
    "it": {"di mattina": "morning", "del mattino": "morning", "della mattina": "morning",
           "di pomeriggio": "afternoon", "del pomeriggio": "afternoon", "di sera": "evening",
           "della sera": "evening", "di notte": "night", "della notte": "night"},
    "pt": {"da manhã": "morning", "da tarde": "afternoon", "da noite": "night",
           "da madrugada": "small"},
    "nl": {"'s ochtends": "morning", "'s morgens": "morning", "in de ochtend": "morning",
           "'s middags": "afternoon", "in de middag": "afternoon", "'s avonds": "evening",
           "in de avond": "evening", "'s nachts": "night", "in de nacht": "night"},
}  # fmt: skip
#: Parts of the day written: morning, afternoon, evening, night, small hours (1-5 at night).
PARTS_WRITTEN = {
    "en": ("in the morning", "in the afternoon", "in the evening", "at night", "in the morning"),
    "es": ("de la mañana", "de la tarde", "de la noche", "de la noche", "de la madrugada"),
    "fr": ("du matin", "de l'après-midi", "du soir", "du soir", "du matin"),
    "de": ("morgens", "nachmittags", "abends", "nachts", "nachts"),
    "it": ("di mattina", "del pomeriggio", "di sera", "di notte", "di notte"),
    "pt": ("da manhã", "da tarde", "da noite", "da noite", "da madrugada"),
    "nl": ("'s ochtends", "'s middags", "'s avonds", "'s nachts", "'s nachts"),
}  # fmt: skip
PART_NAMES = ("morning", "afternoon", "evening", "night", "small")
#: Connectives: es, it, pt "y"/"menos"; de, nl "nach"/"vor" and "halb".
JOIN = {"en": ("past", "to", ""), "es": ("y", "menos", ""), "it": ("e", "meno", ""),
         "pt": ("e", "menos", ""), "fr": ("", "moins", ""), "de": ("nach", "vor", "halb"),
         "nl": ("over", "voor", "half")}  # fmt: skip
#: Days said with a time ("tomorrow at ten", "à dix heures demain"), as read: today, tomorrow,
#: tonight, this/tomorrow morning, afternoon, evening, and the weekdays (mon ... sun).
DAYS: dict[str, dict[str, str]] = {
    lang: {form.replace("_", " "): day for forms, day in (item.split(":") for item in spec.split())
           for form in forms.split("|")}
    for lang, spec in {
        "en": "today:today tomorrow:tomorrow tonight:tonight this_morning:this_morning "
              "this_afternoon:this_afternoon this_evening:this_evening "
              "tomorrow_morning:tomorrow_morning tomorrow_afternoon:tomorrow_afternoon "
              "tomorrow_evening|tomorrow_night:tomorrow_evening monday|on_monday:mon "
              "tuesday|on_tuesday:tue wednesday|on_wednesday:wed thursday|on_thursday:thu "
              "friday|on_friday:fri saturday|on_saturday:sat sunday|on_sunday:sun",
        "es": "hoy:today mañana:tomorrow esta_noche:tonight esta_mañana:this_morning "
              "esta_tarde:this_afternoon mañana_por_la_mañana:tomorrow_morning "
              "mañana_por_la_tarde:tomorrow_afternoon mañana_por_la_noche:tomorrow_evening "
              "el_lunes:mon el_martes:tue el_miércoles:wed el_jueves:thu el_viernes:fri "
              "el_sábado:sat el_domingo:sun",
        "fr": "aujourd'hui:today demain:tomorrow ce_soir:tonight ce_matin:this_morning "
              "cet_après-midi:this_afternoon demain_matin:tomorrow_morning "
              "demain_après-midi:tomorrow_afternoon demain_soir:tomorrow_evening lundi:mon "
              "mardi:tue mercredi:wed jeudi:thu vendredi:fri samedi:sat dimanche:sun",
        "de": "heute:today morgen:tomorrow heute_abend:tonight "
              "heute_morgen|heute_früh|heute_vormittag:this_morning "
              "heute_nachmittag:this_afternoon morgen_früh|morgen_vormittag:tomorrow_morning "
              "morgen_nachmittag:tomorrow_afternoon morgen_abend:tomorrow_evening "
              "am_montag|montag:mon am_dienstag|dienstag:tue am_mittwoch|mittwoch:wed "
              "am_donnerstag|donnerstag:thu am_freitag|freitag:fri "
              "am_samstag|samstag|am_sonnabend:sat am_sonntag|sonntag:sun",
        "it": "oggi:today domani:tomorrow stasera:tonight stamattina|stamani:this_morning "
              "oggi_pomeriggio:this_afternoon domani_mattina|domattina:tomorrow_morning "
              "domani_pomeriggio:tomorrow_afternoon domani_sera:tomorrow_evening lunedì:mon "
              "martedì:tue mercoledì:wed giovedì:thu venerdì:fri sabato:sat domenica:sun",
        "pt": "hoje:today amanhã:tomorrow hoje_à_noite|esta_noite:tonight "
              "hoje_de_manhã|esta_manhã:this_morning hoje_à_tarde|esta_tarde:this_afternoon "
              "amanhã_de_manhã:tomorrow_morning amanhã_à_tarde:tomorrow_afternoon "
              "amanhã_à_noite:tomorrow_evening na_segunda|na_segunda-feira|segunda-feira:mon "
              "na_terça|na_terça-feira|terça-feira:tue na_quarta|na_quarta-feira|quarta-feira:wed "
              "na_quinta|na_quinta-feira|quinta-feira:thu na_sexta|na_sexta-feira|sexta-feira:fri "
              "no_sábado|sábado:sat no_domingo|domingo:sun",
        "nl": "vandaag:today morgen:tomorrow vanavond:tonight vanochtend|vanmorgen:this_morning "
              "vanmiddag:this_afternoon morgenochtend|morgenvroeg:tomorrow_morning "
              "morgenmiddag:tomorrow_afternoon morgenavond:tomorrow_evening "
              "maandag|op_maandag:mon dinsdag|op_dinsdag:tue woensdag|op_woensdag:wed "
              "donderdag|op_donderdag:thu vrijdag|op_vrijdag:fri zaterdag|op_zaterdag:sat "
              "zondag|op_zondag:sun",
    }.items()
}  # fmt: skip
_DAY_NAMES = ("today", "tomorrow", "tonight", "this_morning", "this_afternoon", "this_evening",
              "tomorrow_morning", "tomorrow_afternoon", "tomorrow_evening",
              "mon", "tue", "wed", "thu", "fri", "sat", "sun", "tonight_small",
              "tomorrow_night")  # fmt: skip
#: Days written before a time, in the order of :data:`_DAY_NAMES`.
DAYS_WRITTEN: dict[str, dict[str, str]] = {
    lang: dict(zip(_DAY_NAMES, (w.replace("_", " ") for w in spec.split()), strict=True))
    for lang, spec in {
        "en": "today tomorrow tonight this_morning this_afternoon this_evening "
              "tomorrow_morning tomorrow_afternoon tomorrow_evening on_Monday on_Tuesday "
              "on_Wednesday on_Thursday on_Friday on_Saturday on_Sunday tonight tomorrow_night",
        "es": "hoy mañana esta_noche esta_mañana esta_tarde esta_noche mañana_por_la_mañana "
              "mañana_por_la_tarde mañana_por_la_noche el_lunes el_martes el_miércoles "
              "el_jueves el_viernes el_sábado el_domingo esta_noche mañana_por_la_noche",
        "fr": "aujourd'hui demain ce_soir ce_matin cet_après-midi ce_soir demain_matin "
              "demain_après-midi demain_soir lundi mardi mercredi jeudi vendredi samedi dimanche "
              "cette_nuit demain_dans_la_nuit",
        "de": "heute morgen heute_Abend heute_Morgen heute_Nachmittag heute_Abend morgen_früh "
              "morgen_Nachmittag morgen_Abend am_Montag am_Dienstag am_Mittwoch am_Donnerstag "
              "am_Freitag am_Samstag am_Sonntag heute_Nacht morgen_Nacht",
        "it": "oggi domani stasera stamattina oggi_pomeriggio stasera domani_mattina "
              "domani_pomeriggio "
              "domani_sera lunedì martedì mercoledì giovedì venerdì sabato domenica stanotte "
              "domani_notte",
        "pt": "hoje amanhã hoje_à_noite hoje_de_manhã hoje_à_tarde hoje_à_noite amanhã_de_manhã "
              "amanhã_à_tarde amanhã_à_noite na_segunda-feira na_terça-feira na_quarta-feira "
              "na_quinta-feira na_sexta-feira no_sábado no_domingo esta_noite amanhã_à_noite",
        "nl": "vandaag morgen vanavond vanochtend vanmiddag vanavond morgenochtend morgenmiddag "
              "morgenavond maandag dinsdag woensdag donderdag vrijdag zaterdag zondag vannacht "
              "morgennacht",
    }.items()
}  # fmt: skip
