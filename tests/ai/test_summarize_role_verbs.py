"""Who moves and who calls back (:mod:`privcloud.workloads.summarize_roles`): a summary must
not make a person do what the source says a thing does ("she leaves the flight" for "your
flight leaves"), nor have the speaker who asked to be called ("call us on 555-0142") be the one
who calls. Pure, no model. (Named apart from tests/unit/test_summarize_roles.py: pytest needs
unique test module names in a tree without ``__init__.py``.)"""

from __future__ import annotations

import pytest

from privcloud.workloads.summarize_roles import (
    ROLE_RULES,
    role_edits,
    role_problems,
    speakers,
)
from privcloud.workloads.summarize_roles_listener import possession_edits
from privcloud.workloads.summarize_roles_motion import motion_edits

# The demo's call as Whisper wrote it (the org split, the time in digits).
VOICEMAIL = (
    "Hi, this is Maria Lopez from North Wind Travel. I am calling about your trip to Lisbon. "
    "Your flight on Friday leaves at 10.30 in the morning. Can we meet on Monday at 3 pm to "
    "sign the contract? My number is 555-0142. Thank you, and have a nice day."
)
TRAIN = (
    "Hello, this is Omar Haddad from Rail Connect. The train to Porto departs at 7:15 on "
    "Saturday and the coach arrives in Braga at noon. The flight to Madrid leaves on Friday at "
    "10.30. I leave for Lisbon on Friday myself."
)
DENTIST = (
    "Hi, this is Anna Schmidt from Brightway Dental. I'm calling about your appointment on "
    "Thursday. Doctor Lee is away that day, so we would like to move your check-up to Monday at "
    "ten thirty. It is forty five dollars with your insurance. If anything changes, call us on "
    "555-0142. See you on Monday."
)
MOVES = "who moves: the source says '{}': the {} {}, no one {} it"


@pytest.mark.parametrize(
    ("sentence", "source", "reason"),
    [
        (
            "She leaves the flight on Friday at 10.30 in the morning.",
            VOICEMAIL,
            MOVES.format("flight on Friday leaves", "flight", "leaves", "leaves"),
        ),
        (
            "The customer leaves the flight on Friday.",
            VOICEMAIL,
            MOVES.format("flight on Friday leaves", "flight", "leaves", "leaves"),
        ),
        (
            "Omar Haddad departs the train at 7:15 on Saturday.",
            TRAIN,
            MOVES.format("train to Porto departs", "train", "departs", "departs"),
        ),
        (
            "The passenger arrived the coach in Braga at noon.",
            TRAIN,
            MOVES.format("coach arrives", "coach", "arrives", "arrives"),
        ),
    ],
    ids=["demo", "not-a-speaker", "departs", "arrived"],
)
def test_a_person_made_to_move_a_thing_that_moves_on_its_own_is_caught(
    sentence: str, source: str, reason: str
) -> None:
    assert reason in role_problems(sentence, source, speakers(source))


@pytest.mark.parametrize(
    ("kept", "caught", "source"),
    [
        # The thing's own verb, as the source has it.
        ("Her flight leaves on Friday at 10.30.", "She leaves the flight at 10.30.", TRAIN),
        ("The flight on Friday leaves at 10.30.", "She leaves the flight at 10.30.", VOICEMAIL),
        ("The train to Porto departs at 7:15.", "He departs the train at 7:15.", TRAIN),
        # A person leaving for a place, or on the thing: the person moves.
        ("Omar Haddad leaves for Lisbon on Friday.", "Omar Haddad leaves the flight.", TRAIN),
        ("He leaves on the train to Porto on Saturday.", "He leaves the flight to Madrid.", TRAIN),
        # Another object: a message, the flight's details.
        ("She leaves a message about the flight.", "She leaves the flight.", VOICEMAIL),
        ("Maria Lopez leaves the flight details.", "Maria Lopez leaves the flight.", VOICEMAIL),
    ],
    ids=["thing", "thing-first", "departs", "for-a-place", "on-the-thing", "message", "modifier"],
)
def test_faithful_uses_of_motion_verbs_are_kept(kept: str, caught: str, source: str) -> None:
    people = speakers(source)
    assert role_problems(kept, source, people) == []
    assert motion_edits(kept, source, people) == (kept, [])
    assert role_problems(caught, source, people)[-1].startswith("who moves:")


def test_the_thing_is_made_the_subject_again_when_the_person_is_a_pronoun_or_a_speaker() -> None:
    people = speakers(VOICEMAIL)
    reason = MOVES.format("flight on Friday leaves", "flight", "leaves", "leaves")
    # Qwen2.5 1.5B's sentence in the demo, possessive and all.
    text, edits = role_edits(
        "She leaves her flight on Friday at 10.30 in the morning.", VOICEMAIL, people
    )
    assert text == "The flight leaves on Friday at 10.30 in the morning."
    assert edits[-1] == f"'She leaves the flight' written 'The flight leaves': {reason}"
    assert role_problems(text, VOICEMAIL, people) == []
    cases = {
        "Maria Lopez from North Wind Travel leaves the flight on Friday.": (
            "The flight leaves on Friday."
        ),
        "On Friday, she will leave the flight.": "On Friday, the flight will leave.",
        "They leave the flight on Friday.": "The flight leaves on Friday.",
        "She has left the flight.": "The flight has left.",
    }
    for sentence, edited in cases.items():
        assert motion_edits(sentence, VOICEMAIL, people)[0] == edited, sentence
    # Someone the edit cannot take out of the sentence: reported, not rewritten.
    unchanged = "The customer leaves the flight on Friday."
    assert motion_edits(unchanged, VOICEMAIL, people) == (unchanged, [])


CALLBACK = "call-back: the source asks the listener to call {} ('{}')"


@pytest.mark.parametrize(
    ("sentence", "who"),
    [
        ("Anna Schmidt will call back on 555-0142.", "Anna Schmidt"),
        ("Anna Schmidt from Brightway Dental is going to call back on 555-0142.", "Anna Schmidt"),
        ("She will call the patient back on 555-0142.", "Anna Schmidt"),
        ("Brightway Dental will ring back if anything changes.", "Brightway Dental"),
    ],
    ids=["will", "going-to", "pronoun", "organisation"],
)
def test_the_speaker_who_asked_to_be_called_is_not_the_one_who_calls(
    sentence: str, who: str
) -> None:
    asked = CALLBACK.format(who, "call us on 555-0142")
    assert role_problems(sentence, DENTIST, speakers(DENTIST)) == [asked]


@pytest.mark.parametrize(
    "kept",
    [
        "She asks to be called back on 555-0142.",
        "Call Anna back on 555-0142.",
        "Anna Schmidt asks the patient to call her back on 555-0142.",
        "Anna Schmidt can be reached on 555-0142 if anything changes.",
        "Anna Schmidt called about the appointment on Thursday.",
    ],
    ids=["asks-to-be-called", "imperative", "asks-the-patient", "reached", "this-call"],
)
def test_faithful_call_back_sentences_are_kept(kept: str) -> None:
    people = speakers(DENTIST)
    assert role_problems(kept, DENTIST, people) == []
    assert role_problems("She will call back on 555-0142.", DENTIST, people) != []


def test_a_speaker_who_promises_to_call_back_may_be_said_to() -> None:
    promise = DENTIST.replace("call us on 555-0142", "I'll call you back tomorrow")
    sentence = "Anna Schmidt will call back tomorrow."
    assert role_problems(sentence, promise, speakers(promise)) == []
    assert role_problems(sentence, DENTIST, speakers(DENTIST)) != []


def test_who_asked_comes_from_the_line_label_or_the_only_speaker() -> None:
    labelled = (
        "Hugo: Hello, this is Hugo Hughes from Oakfield Repairs.\n"
        "Elena: Hi, this is Elena Schmidt. Please call me back at 350-7529."
    )
    people = speakers(labelled)
    assert role_problems("Elena Schmidt will call back at 350-7529.", labelled, people) == [
        CALLBACK.format("Elena Schmidt", "call me back at 350-7529")
    ]
    assert role_problems("Hugo Hughes will call back at 350-7529.", labelled, people) == []
    # Two people and no labels: who asked is not known, so nothing is said.
    unlabelled = labelled.replace("Hugo: ", "").replace("Elena: ", "")
    assert role_problems("Elena Schmidt will call back.", unlabelled, speakers(unlabelled)) == []
    # "I'll call" is the speaker's own promise, not a request to the listener.
    own = "Hi, this is Anna Schmidt. Maybe I'll call you later, or you call me."
    assert role_problems("Anna Schmidt will call later.", own, speakers(own)) == []


def test_every_role_reason_starts_as_role_rules_says() -> None:
    """bench/eval_models.py counts role errors by ``ROLE_RULES``: a reason that starts
    otherwise would go uncounted."""
    cases = [
        ("My number is 555-0142.", VOICEMAIL),
        ("Maria Lopez called North Wind Travel.", VOICEMAIL),
        ("Anna Schmidt moved the check-up from Monday to Thursday.", DENTIST),
        ("She wants to meet about her trip to Lisbon.", VOICEMAIL),
        ("The customer leaves the flight on Friday.", VOICEMAIL),
        ("Anna Schmidt will call back on 555-0142.", DENTIST),
    ]
    reasons = [r for s, src in cases for r in role_problems(s, src, speakers(src))]
    assert all(r.startswith(ROLE_RULES) for r in reasons)
    assert {rule for rule in ROLE_RULES if any(r.startswith(rule) for r in reasons)} == set(
        ROLE_RULES
    )


DELIVERY = (
    "Hi, this is Tom from Acme Deliveries. Your order arrives on Friday. If no one is home, we "
    "leave it at the door."
)
PARCEL = (
    "Hi, this is Maria Lopez from North Wind Travel. Your parcel arrives on Monday. If you are "
    "out, we'll leave it with your neighbour."
)
LANDS = "Hi, this is Maria Lopez from North Wind Travel. The flight lands at 6 pm on Friday."
SHIP = (
    "Hi, this is Maria Lopez from North Wind Travel. The ship leaves Lisbon on Friday; the day "
    "the ship leaves, the guide meets you at the port."
)
MORNING = (
    "Hi, this is Maria Lopez from North Wind Travel. Your flight on Friday morning leaves at 10:30."
)
DEPOT = "Hi, this is Tom from Acme Deliveries. Your parcel leaves the depot on Monday."


@pytest.mark.parametrize(
    ("sentence", "source"),
    [
        # Another verb than the source's: the order arrives, someone leaves it (puts it).
        ("If no one is home, Acme Deliveries leaves the order at the door.", DELIVERY),
        ("The driver will leave the order at the door on Friday.", DELIVERY),
        ("Maria Lopez will leave the parcel with a neighbour.", PARCEL),
        # The same verb as the source's, in its sense of put: a place or a person follows.
        ("Tom will leave the parcel with a neighbour.", DEPOT),
        ("Tom leaves the parcel at the door.", DEPOT),
        ("Tom leaves the parcel outside.", DEPOT),
        # A time after the verb, not a thing: the sentence's words stay as they are.
        ("She will arrive the same day the flight lands.", LANDS),
        ("The guide arrives the same evening the flight lands.", LANDS),
        ("She leaves the day the ship leaves.", SHIP),
        ("She leaves that morning at 10:30.", MORNING),
    ],
    ids=[
        "order-put",
        "driver-put",
        "parcel-arrives",
        "with-a-person",
        "at-a-place",
        "outside",
        "same-day",
        "same-evening",
        "the-day",
        "that-morning",
    ],
)
def test_a_faithful_sentence_is_neither_rewritten_nor_dropped(sentence: str, source: str) -> None:
    people = speakers(source)
    assert role_edits(sentence, source, people) == (sentence, [])
    assert role_problems(sentence, source, people) == []


def test_the_same_verb_on_a_thing_the_source_makes_its_subject_is_still_caught() -> None:
    cases = {
        ("Tom leaves the parcel on Monday.", DEPOT): "The parcel leaves on Monday.",
        ("She leaves the flight in the morning.", MORNING): "The flight leaves in the morning.",
        ("She leaves the morning flight at 10:30.", MORNING): "The morning flight leaves at 10:30.",
        ("She will land the flight on Friday.", LANDS): "The flight will land on Friday.",
        ("She arrives the parcel on Monday.", PARCEL): "The parcel arrives on Monday.",
    }
    for (sentence, source), edited in cases.items():
        assert role_edits(sentence, source, speakers(source))[0] == edited, sentence
    # The reason names the source's verb (here the same as the sentence's), and only a head
    # of the source's subject is a thing that moves ("morning" in "on Friday morning" is not).
    assert role_problems("She arrives the parcel.", PARCEL, speakers(PARCEL)) == [
        MOVES.format("parcel arrives", "parcel", "arrives", "arrives")
    ]
    assert role_problems("She leaves the morning.", MORNING, speakers(MORNING)) == []


INSURER = (
    "Hi, this is Anna Schmidt from Acme Bank. I have to ring the insurer first, so please call "
    "me back on 555-0142."
)
COURIER = (
    "Hi, this is Anna Schmidt from Acme Bank. Please call me back on 555-0142. Your card "
    "arrives on Monday and the branch will call the courier."
)


@pytest.mark.parametrize(
    ("kept", "source"),
    [
        ("Anna Schmidt will ring the insurer first.", INSURER),
        ("She will call the insurer first.", INSURER),
        ("Anna Schmidt from Acme Bank will then call the courier.", COURIER),
        ("She will call her bank.", COURIER),
        ("After the insurer calls, she will call them back.", INSURER),
    ],
    ids=["ring-insurer", "call-insurer", "courier", "her-bank", "them-the-insurer"],
)
def test_a_call_to_a_third_party_is_not_a_call_back(kept: str, source: str) -> None:
    assert role_problems(kept, source, speakers(source)) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "Anna Schmidt will call back on 555-0142.",
        "She will ring.",
        "Anna Schmidt will call you on Monday.",
        "Anna Schmidt will call the customer.",
        "Anna Schmidt will call her back.",
        "She will call 555-0142 later.",
    ],
    ids=["back", "no-object", "you", "customer", "her-back", "number"],
)
def test_a_call_back_without_an_object_or_to_the_listener_is_still_caught(sentence: str) -> None:
    assert role_problems(sentence, INSURER, speakers(INSURER)) == [
        CALLBACK.format("Anna Schmidt", "call me back on 555-0142")
    ]


def test_her_before_an_article_is_an_object_not_an_owner() -> None:
    source = "Hi, this is Maria Lopez from North Wind Travel. Your new tickets are ready."
    people = speakers(source)
    sentence = "Maria Lopez will send her the new tickets."
    assert possession_edits(sentence, source, people) == (sentence, [])
    assert role_problems(sentence, source, people) == []
    owned = "Maria Lopez will send her new tickets."
    assert possession_edits(owned, source, people)[0] == "Maria Lopez will send the new tickets."
