"""Two rules of the summary guard's polarity check against planted negations
(privcloud.workloads.grounding_negation): a far statement contradicts a negated second
statement of a summary sentence (``stated_elsewhere``), and "not X without Y" denies a source's
"X without Y" (``without_denied``). For each, a negation error dropped and faithful near misses
kept.

A deterministic fake embedding (hashed bag of words, tests/support/aikit.py): the rules are
read from the words, so no model is needed.
"""

from __future__ import annotations

from aikit import fake_verdicts as _verdicts
from privcloud.workloads.grounding import NEGATION_REASON
from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.grounding_negation import stated_elsewhere
from privcloud.workloads.grounding_polarity import clauses, sentence_clauses

DROPPED = (False, (NEGATION_REASON,))
KEPT = (True, ())

# A newsletter whose sentences are all about the meeting, and one late pair about the seed
# swap: a summary sentence joining the two is placed by the meeting, so the seed swap's
# sentences are not among those closest to it.
_CLUB = (
    "The spring meeting of the garden club in the town hall voted to buy a new greenhouse. "
    "The garden club voted at the spring meeting in the town hall to buy a greenhouse for the "
    "allotment without a loan. "
    "At the spring meeting, the garden club in the town hall discussed the new greenhouse. "
    "The new greenhouse of the garden club was the main topic of the spring meeting. "
    "The spring meeting of the garden club agreed on the price of the new greenhouse. "
    "The garden club will buy the new greenhouse after the spring meeting in the town hall. "
    "Members of the garden club at the spring meeting in the town hall liked the new greenhouse. "
    "The treasurer of the garden club told the spring meeting that the greenhouse is affordable. "
    "The garden club in the town hall thanked the members who came to the spring meeting. "
    "The garden club asks members to help build the new greenhouse after the spring meeting. "
    "The garden club will report on the new greenhouse at the summer meeting in the town hall. "
    "Seed swaps happen every Sunday. "
)
_MET = "The spring meeting of the garden club in the town hall voted to buy a new greenhouse, and "


def test_a_far_statement_contradicts_a_negated_second_statement() -> None:
    club = _CLUB + "Neighbours are welcome at every seed swap."
    assert _verdicts(
        club,
        _MET + "neighbours are not welcome at the seed swap.",
        _MET + "neighbours are welcome at the seed swap.",
        # a hedged denial denies nothing
        _MET + "neighbours may not be welcome at the seed swap.",
    ) == [DROPPED, KEPT, KEPT]


def test_a_far_denial_or_intention_keeps_the_negated_second_statement() -> None:
    # The source denies "welcome" elsewhere: the summary's negation may stand on that.
    denied = (
        _CLUB + "Neighbours are welcome at every seed swap, but in winter they are not welcome."
    )
    assert _verdicts(denied, _MET + "neighbours are not welcome at the seed swap in winter.") == [
        KEPT
    ]
    # What was meant to be states nothing.
    meant = _CLUB + "Neighbours were supposed to be welcome at every seed swap."
    assert _verdicts(meant, _MET + "neighbours are not welcome at the seed swap.") == [KEPT]
    # The far statement is of members; what it lacks, the neighbours, the source denies room
    # to: that is what the summary's negation is about.
    members = _CLUB + "Members are welcome at every seed swap. There is no room for neighbours."
    assert _verdicts(members, _MET + "neighbours are not welcome at the seed swap.") == [KEPT]


def test_not_x_without_y_is_contradicted_by_x_without_y() -> None:
    # "not hard without a car" says it is easy without one; the source says it is hard. A gap
    # word ("hard") is matched by any word stating a gap ("difficult").
    farm = (
        "Speaker 1: Without a car it's really difficult to get to the farm.\n"
        "Speaker 2: I'll take a taxi then."
    )
    assert _verdicts(
        farm,
        "Getting to the farm is not hard without a car.",
        "Getting to the farm is hard without a car.",
    ) == [DROPPED, KEPT]
    sofa = "Speaker 1: We can deliver the sofa without an extra fee on Saturday.\nSpeaker 2: Great."
    assert _verdicts(sofa, "The sofa cannot be delivered on Saturday without an extra fee.") == [
        DROPPED
    ]


def test_not_x_without_y_stands_on_a_source_that_denies_x_or_says_x_of_another() -> None:
    summary = "The sofa cannot be delivered on Saturday without an extra fee."
    # The source's own "can't ... without" may state what the summary says, though another
    # sentence delivered the sofa on Saturday without a fee.
    denied = (
        "Speaker 1: Sorry, we can't deliver the sofa on Saturday without an extra fee. Last "
        "year we delivered the sofa on Saturday without a fee."
    )
    assert _verdicts(denied, summary) == [KEPT]
    # Delivered without a fee on Friday is no "delivered on Saturday without a fee".
    friday = (
        "Speaker 1: We can deliver the sofa without a fee on Friday. On Saturday deliveries "
        "cost thirty pounds extra."
    )
    assert _verdicts(friday, summary) == [KEPT]
    # "without" in another clause of the summary is no "not X without Y".
    boiler = (
        "Speaker 1: The boiler has not worked since Saturday, so I am without hot water.\n"
        "Speaker 2: I'll send someone."
    )
    assert _verdicts(
        boiler, "The boiler has not worked since Saturday, leaving the caller without hot water."
    ) == [KEPT]


def _stated_elsewhere(summary: str, source: list[str], close: list[str]) -> bool:
    clause = next(c for c in clauses(summary, source=False) if c.negated)
    document = sentence_clauses(source)
    near = [c for s in sentence_clauses(close) for c in s]
    return stated_elsewhere(clause, near, document, [frozenset(content_words(summary))])


def test_a_far_statement_must_speak_of_the_same_thing_with_no_denial_near() -> None:
    summary = "Members of the pool do not unlock the lockers with a coin."
    stated = "Members of the pool unlock the lockers with a coin."
    assert _stated_elsewhere(summary, [stated], [])
    # A sentential negation near the summary sentence may deny the same in other words.
    near = "On Sundays members of the pool don't need a coin."
    assert not _stated_elsewhere(summary, [stated, near], [near])
    # A denial of "unlock" anywhere in the source may be what the summary restates.
    far = "Since the renovation, nobody unlocks the lockers with coins."
    assert not _stated_elsewhere(summary, [stated, far], [])
    # Visitors of the gym are not the members of the pool: two of the words outside the
    # negation's scope are missing.
    assert not _stated_elsewhere(
        summary, ["Visitors of the gym unlock the lockers with a coin."], []
    )
