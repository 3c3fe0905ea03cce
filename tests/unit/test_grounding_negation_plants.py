"""Rules of the summary guard's polarity check against planted negations
(privcloud.workloads.grounding_negation): a word negated by its prefix denies the word, and
"not under-staffed" denies a gap. Call-style examples: a faithful sentence kept and a negation
error dropped for each rule.

A deterministic fake embedding (hashed bag of words, tests/support/aikit.py): the
rules are read from the words, so no model is needed.
"""

from __future__ import annotations

from aikit import fake_verdicts as _verdicts
from privcloud.workloads.grounding import NEGATION_REASON

DROPPED = (False, (NEGATION_REASON,))
KEPT = (True, ())


def test_a_word_negated_by_its_prefix_denies_the_word() -> None:
    parcel = (
        "Speaker 1: Your parcel is undeliverable to the flat, the courier will leave it at the "
        "post office on Elm Street.\nSpeaker 2: Okay."
    )
    assert _verdicts(
        parcel,
        "The parcel is deliverable to the flat.",
        "The parcel will be left at the post office on Elm Street.",
    ) == [DROPPED, KEPT]
    # Dr. Lee's absence says nothing of Dr. Okafor, and a condition states nothing.
    doctors = (
        "Speaker 1: Dr. Lee is unavailable on Thursday, but Dr. Okafor can see you at ten.\n"
        "Speaker 2: Fine."
    )
    assert _verdicts(doctors, "Dr. Okafor is available on Thursday at ten.") == [KEPT]
    # The sentence puts the summary's "size L" in a clause of its own: a contrast.
    jacket = "Speaker 1: Sorry, the blue jacket in size M is unavailable, but we have it in size L."
    assert _verdicts(jacket, "The blue jacket is available in size L.") == [KEPT]
    room = "Speaker 1: If the room is unavailable on Friday, we will refund the deposit."
    assert _verdicts(room, "The room is available on Friday.") == [KEPT]


def test_a_negated_under_word_denies_the_gap_the_source_states() -> None:
    # "under-staffed" states a gap as "understaffed" does: "not under-staffed" is a positive
    # claim, which the source's gap ("too few nurses") contradicts; the negation near it
    # denies something else.
    clinic = (
        "Speaker 1: Hi, this is the Maple Street clinic. We have too few nurses at the clinic "
        "this week, so we cannot see you on Saturday."
    )
    assert _verdicts(
        clinic,
        "The Maple Street clinic is not under-staffed this week.",
        "The Maple Street clinic cannot see the caller on Saturday.",
    ) == [DROPPED, KEPT]
    staffed = (
        "Speaker 1: The Maple Street clinic has enough nurses now, it is not under-staffed. "
        "Your check-up is on Monday."
    )
    assert _verdicts(staffed, "The Maple Street clinic is not under-staffed.") == [KEPT]
