"""Who did what in a call (:mod:`privcloud.workloads.summarize_roles`): the speakers a
transcript introduces, and the role check of summary sentences (pure, no model)."""

from __future__ import annotations

import pytest

from privcloud.workloads.summarize_roles import (
    Speaker,
    move_targets,
    role_problems,
    speaker_hint,
    speakers,
)
from privcloud.workloads.summarize_roles_listener import possession_edits

SAMPLE = (
    "Hi, this is Maria Lopez from Northwind Travel. I am calling about your trip to Lisbon. "
    "Your flight on Friday leaves at ten thirty in the morning. Can we meet on Monday at 3 pm "
    "to sign the contract? My number is 555-0142. Thank you, and have a nice day."
)
DENTIST = (
    "Hi, this is Anna Schmidt from Brightway Dental. I'm calling about your appointment on "
    "Thursday. Doctor Lee is away that day, so we would like to move your check-up to Monday at "
    "ten thirty. Monday at ten thirty works for me."
)
RESTAURANT = (
    "Good evening, The Blue Door, this is Jack Walsh. Hello, I would like to book a table for 8 "
    "people on Saturday at 4:30. May I have your name? It's Ben Novak. My number is 350-7529."
)
REPAIR = (
    "Hello, Oakfield Repairs, Hugo Hughes speaking. Hi, this is Elena Schmidt. The boiler in my "
    "flat stopped working this morning. I can send a technician on Wednesday at 2:15."
)
BANK = (
    "Hello, this is Martin Keller from Summit Savings security. Am I speaking with Paula Walsh? "
    "Yes, speaking. We noticed a payment of 682 dollars to Mega Outlet on Thursday evening."
)


def test_a_caller_who_says_she_is_calling_placed_the_call_from_her_organisation() -> None:
    assert speakers(SAMPLE) == [Speaker("Maria Lopez", "Northwind Travel", True)]
    assert speaker_hint(speakers(SAMPLE)) == "Caller: Maria Lopez (from Northwind Travel)."


def test_an_answering_greeting_marks_who_answered_and_the_other_side_called() -> None:
    assert speakers(RESTAURANT) == [
        Speaker("Jack Walsh", "The Blue Door", False),
        Speaker("Ben Novak", None, True),
    ]
    assert speakers(REPAIR) == [
        Speaker("Hugo Hughes", "Oakfield Repairs", False),
        Speaker("Elena Schmidt", None, True),
    ]


def test_asking_for_someone_means_they_were_called() -> None:
    assert speakers(BANK) == [
        Speaker("Martin Keller", "Summit Savings", True),
        Speaker("Paula Walsh", None, False),
    ]


def test_days_and_greetings_are_not_names() -> None:
    assert speakers("It is Monday. Hello, it's fine. Yes, this is Sorry.") == []


def test_calling_an_organisation_one_calls_from_is_the_wrong_direction() -> None:
    people = speakers(SAMPLE)
    assert role_problems("Maria Lopez called Northwind Travel.", SAMPLE, people) == [
        "direction: Northwind Travel placed the call",
        "direction: Maria Lopez called from Northwind Travel, not to it",
    ]
    for faithful in (
        "Maria Lopez from Northwind Travel called about the trip to Lisbon.",
        "Maria Lopez called about a trip to Lisbon.",
        "Northwind Travel called about the flight on Friday.",
    ):
        assert role_problems(faithful, SAMPLE, people) == [], faithful


def test_the_one_who_answered_did_not_place_the_call() -> None:
    people = speakers(RESTAURANT)
    assert role_problems("Jack Walsh from The Blue Door called Ben Novak.", RESTAURANT, people) == [
        "direction: Jack Walsh received the call",
        "direction: Ben Novak placed the call",
    ]
    assert role_problems("Ben Novak called The Blue Door.", RESTAURANT, people) == []
    assert role_problems("Ben Novak was called by the restaurant.", RESTAURANT, people) == [
        "direction: Ben Novak placed the call"
    ]


def test_a_summary_in_the_first_person_is_flagged_but_quoted_speech_is_not() -> None:
    people = speakers(SAMPLE)
    assert role_problems("My number is 555-0142.", SAMPLE, people) == [
        "first person ('My') in a summary sentence"
    ]
    assert role_problems("We can meet on Monday.", SAMPLE, people) == [
        "first person ('We') in a summary sentence"
    ]
    assert role_problems('She said "I am calling about the trip".', SAMPLE, people) == []
    assert role_problems("Maria Lopez's number is 555-0142.", SAMPLE, people) == []


def test_moved_from_and_to_must_be_the_right_way_round() -> None:
    people = speakers(DENTIST)
    assert move_targets(DENTIST) == ["monday"]
    assert role_problems("The check-up moved from Thursday to Monday.", DENTIST, people) == []
    assert role_problems("The check-up moved from Monday to Thursday.", DENTIST, people) == [
        "before/after: the source moves to Monday, not from it"
    ]
    assert role_problems("The check-up was moved to Thursday.", DENTIST, people) == [
        "before/after: the source does not move anything to Thursday"
    ]
    assert role_problems("The check-up was moved to Monday at 10:30.", DENTIST, people) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "Anna Schmidt from Brightway Dental called to move the check-up to Monday.",
        "Doctor Lee is away on Thursday.",
        "The check-up costs 45 dollars with insurance.",
    ],
)
def test_faithful_sentences_pass(sentence: str) -> None:
    assert role_problems(sentence, DENTIST, speakers(DENTIST)) == []


def test_a_call_without_introductions_checks_only_person_and_moves() -> None:
    source = "Can we move the meeting to Friday? Sure, Friday works."
    assert speakers(source) == []
    assert role_problems("Ben called Anna about the meeting.", source, []) == []
    assert role_problems("I moved the meeting to Friday.", source, []) == [
        "first person ('I') in a summary sentence"
    ]


def test_the_listeners_things_are_not_the_speakers_in_a_one_sided_call() -> None:
    # Qwen2.5 1.5B summarised the demo's voicemail as "Maria Lopez ... calls about her trip to
    # Lisbon. She leaves her flight on Friday": the trip and the flight are the listener's.
    people = speakers(SAMPLE)
    whose = "whose: the source says 'your {}', the listener's"
    assert role_problems("Maria Lopez calls about her trip to Lisbon.", SAMPLE, people) == [
        whose.format("trip")
    ]
    assert role_problems("She leaves on her flight on Friday.", SAMPLE, people) == [
        whose.format("flight")
    ]
    assert role_problems("Anna Schmidt moved her check-up to Monday.", DENTIST, speakers(DENTIST))
    # Hers as the source says, the listener named, or nobody's: nothing to say.
    assert role_problems("Her number is 555-0142.", SAMPLE, people) == []
    assert (
        role_problems("She told the recipient that her flight is on Friday.", SAMPLE, people) == []
    )
    assert role_problems("The trip to Lisbon starts with a flight on Friday.", SAMPLE, people) == []
    # Two introduced people: "her" may be either's, so the rule is silent.
    assert (
        role_problems("Ben Novak booked her table for 8.", RESTAURANT, speakers(RESTAURANT)) == []
    )


def test_the_listeners_thing_given_to_the_speaker_is_written_as_nobodys() -> None:
    people = speakers(DENTIST)
    text, edits = possession_edits(
        "Anna Schmidt called to move her check-up to Monday. Her number is 555-0142.",
        DENTIST,
        people,
    )
    assert text == "Anna Schmidt called to move the check-up to Monday. Her number is 555-0142."
    assert edits == [
        "'her check-up' written 'the check-up': the source says 'your check-up', the listener's"
    ]
    assert role_problems(text, DENTIST, people) == []
    assert possession_edits("Her flight is on Friday.", SAMPLE, speakers(SAMPLE))[0] == (
        "The flight is on Friday."
    )
    unchanged = "Ben Novak booked her table for 8."
    assert possession_edits(unchanged, RESTAURANT, speakers(RESTAURANT)) == (unchanged, [])
