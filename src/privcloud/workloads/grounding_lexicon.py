"""The word lists of the fact reader (:mod:`privcloud.workloads.grounding_scan`) and of the
content-word overlap (:func:`privcloud.workloads.grounding_facts.content_words`): function words,
words that are not names, and the small vocabularies of dates and times.

Numbers, months and weekdays come from the text toolkit (:mod:`privcloud.workloads.text`).
"""

from __future__ import annotations

from privcloud.workloads.text.datewords import MONTHS, WEEKDAYS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


WEEKDAY_NAMES = frozenset(WEEKDAYS)
RELATIVE_DAYS = _words("today tonight tomorrow yesterday weekend")
PERIOD_WORDS = _words("week month year")
RELATIVE_MARKS = _words("next this last coming following")
TIME_PREPOSITIONS = _words("at by from until till til around before after between to")
TITLES = _words("mr mrs ms miss dr doctor prof professor sir madam dear")
NAME_PARTICLES = _words("van von de der den da del la le di")
PHONE_SEPARATORS = frozenset("-.()+,/")

#: Words of reporting verbs that summaries use for what a source only does ("said", "asked").
REPORTING_WORDS = _words(
    """said say says saying told tell tells mention mentioned mentions discuss discussed discusses
    ask asked asks agree agreed agrees confirm confirmed confirms explain explained explains
    note noted notes state stated talk talked call called calls caller calling speaker summary
    conversation transcript recording want wants wanted need needs needed going get got
    """
)
#: Function words, and the reporting words.
STOPWORDS = REPORTING_WORDS | _words(
    """a an the and or but nor so yet if then than that this these those there here it its
    i me my mine we us our you your he him his she her they them their theirs who whom whose
    which what when where why how all any both each few more most other some such no not only
    own same too very can will just should would could may might must shall do does did done
    doing be is am are was were been being have has had having of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further once also as well per via let lets i'm i'll i've i'd it's that's
    there's don't doesn't didn't won't can't isn't aren't wasn't weren't okay ok yes yeah hi
    hello hey bye goodbye thanks thank please sorry sure um uh oh ah right alright great good
    """
)
#: Capitalised words that are not names: greetings, labels and what the date parser reads.
NOT_NAMES = (
    STOPWORDS
    | WEEKDAY_NAMES
    | RELATIVE_DAYS
    | TITLES
    | frozenset(MONTHS)
    | _words("""i ai am pm ps fyi asap english speaker note call summary transcript recording
    customer client caller agent support team office sales dear regards best cheers
    """)
)
#: Words that qualify a number rather than name it: "Nearly 30 people came".
NUMBER_QUALIFIERS = _words(
    "nearly almost around roughly exactly approximately about over under some only just barely "
    "another"
)
#: Ordinary words that open summary sentences; at a sentence start only other capitalised
#: words are taken for names.
COMMON_STARTERS = NOT_NAMES | _words(
    """everyone everybody someone somebody nobody nothing something anyone people person
    participants parties patient manager meeting appointment payment invoice order delivery
    package account company project report plan plans budget price cost total refund issue
    problem question request reason details update updates next later finally afterwards
    overall additionally however meanwhile instead otherwise currently unfortunately
    apparently besides therefore also then first second third one two three another
    user users staff doctor boss colleague colleagues friend family parent mother father
    customers clients payments orders deliveries invoices meetings calls details items
    meet email send bring remember check contact reply pick drop sign pay book
    everything neither either many several even
    because although though while whereas since unless regardless despite given unlike
    whether once when where after before during within without among across
    """
)
#: Words that open a clause before a name ("While Tensor Product Representation is ...",
#: "After Maria Lopez called"): no part of the name.
CLAUSE_OPENERS = _words(
    """because although though while whereas since unless regardless despite unlike whether
    once when where after before during within without among across however meanwhile instead
    otherwise currently unfortunately apparently besides therefore also then finally
    additionally overall"""
)
#: Words that follow a verb, not a name: a sentence-initial word before one of them is taken for
#: an imperative or a verb ("See you", "Bring the card"), not a name.
OBJECT_WORDS = _words(
    "you me him her us them it the a an this that these those your my our their his its some "
    "all for about to"
)
NOT_NAME_SUFFIXES = ("ing", "ed", "ly", "tion", "sion", "ment", "ness", "ity", "ance", "ence")
