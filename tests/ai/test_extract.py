"""The ``extract`` workload: dates and times resolved by the documented conventions, and no value
that the text does not support (privcloud.workloads.extract, privcloud.workloads.datetext).

Pure logic: no model is loaded. The reference time is fixed: Sunday 22 November 2026, 09:00 UTC.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import DecodeError, InternalError, TooLargeError
from privcloud.wire.message import EventKind, WorkloadRequest, encode_event
from privcloud.workloads.datetext import resolve
from privcloud.workloads.extract import ExtractWorkload, extract, verify_grounded, verify_item

REF = datetime.fromisoformat("2026-11-22T09:00:00+00:00")  # a Sunday
CANARY = "zebra-canary-7f3a"


def only(result: dict[str, Any], kind: str) -> dict[str, Any]:
    assert len(result[kind]) == 1, result
    item: dict[str, Any] = result[kind][0]
    return item


def run(body: bytes, **params: Any) -> dict[str, Any]:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    events = list(ExtractWorkload(now=lambda: now).run(WorkloadRequest("extract", params, body)))
    assert [e.kind for e in events] == [EventKind.RESULT]
    encode_event(events[0])  # fits one event
    return events[0].meta


def assert_grounded(text: str, result: dict[str, Any]) -> None:
    reference = datetime.fromisoformat(result["reference_time"])
    for kind in ("events", "reminders", "alarms", "contacts"):
        for item in result.get(kind, []):
            verify_item(text, kind, item, reference)
            source = item["source"]
            assert text[source["start"] : source["end"]] == source["text"]


# --- dates and times, by convention -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Dentist appointment tomorrow at 10:30.", "2026-11-23T10:30:00+00:00"),
        # Whisper writes clock times with a dot.
        ("Dentist appointment tomorrow at 10.30.", "2026-11-23T10:30:00+00:00"),
        ("Dentist appointment today at 4pm.", "2026-11-22T16:00:00+00:00"),
        ("Party tonight at 8!", "2026-11-22T20:00:00+00:00"),
        ("Meeting the day after tomorrow at 9 a.m.", "2026-11-24T09:00:00+00:00"),
        ("Team meeting next Monday at 10:00.", "2026-11-23T10:00:00+00:00"),
        ("Lunch with Ana on Friday at noon.", "2026-11-27T12:00:00+00:00"),
        ("Dinner this Sunday at 7.", "2026-11-22T19:00:00+00:00"),
        ("Dinner on Sunday at 7.", "2026-11-29T19:00:00+00:00"),
        ("Interview in 3 days at 10 am.", "2026-11-25T10:00:00+00:00"),
        ("Interview in two weeks at 10 am.", "2026-12-06T10:00:00+00:00"),
        ("Review in a month at 10 am.", "2026-12-22T10:00:00+00:00"),
        ("Call with the bank in two hours.", "2026-11-22T11:00:00+00:00"),
        ("Call with the bank in 45 minutes.", "2026-11-22T09:45:00+00:00"),
        ("Call with the bank in half an hour.", "2026-11-22T09:30:00+00:00"),
        ("Dentist appointment on March 3rd at 10:30.", "2027-03-03T10:30:00+00:00"),
        ("Dentist appointment on 3 March at 10:30.", "2027-03-03T10:30:00+00:00"),
        ("Dentist appointment on the third of March at 10:30.", "2027-03-03T10:30:00+00:00"),
        ("Dentist appointment on Dec 1 at 10:30.", "2026-12-01T10:30:00+00:00"),
        ("Conference on 3/4 at 9 am.", "2027-03-04T09:00:00+00:00"),
        ("Conference on 25/12 at 9 am.", "2026-12-25T09:00:00+00:00"),
        ("Conference on 2027-05-06 at 14:00.", "2027-05-06T14:00:00+00:00"),
        ("Doctor appointment on the 5th at quarter to 10.", "2026-12-05T09:45:00+00:00"),
        ("Dinner with John on Friday at half past seven.", "2026-11-27T19:30:00+00:00"),
        ("Meet Tom at 5 o'clock on Wednesday.", "2026-11-25T17:00:00+00:00"),
        ("Standup tomorrow at ten past nine.", "2026-11-23T09:10:00+00:00"),
        ("Flight on December 31st at 11:45 pm.", "2026-12-31T23:45:00+00:00"),
        ("Meeting tomorrow at 07:30.", "2026-11-23T07:30:00+00:00"),
        ("Meeting tomorrow at 3:30.", "2026-11-23T15:30:00+00:00"),
        ("Class tomorrow morning at 8.", "2026-11-23T08:00:00+00:00"),
        ("Class tomorrow at 8 in the evening.", "2026-11-23T20:00:00+00:00"),
        ("Meeting at 10.", "2026-11-22T10:00:00+00:00"),
        ("Meeting at 8.", "2026-11-23T08:00:00+00:00"),  # 08:00 has passed today
        ("Party at midnight.", "2026-11-23T00:00:00+00:00"),
        ("Tomorrow morning I have a meeting with the team.", "2026-11-23T09:00:00+00:00"),
        # Spoken clock times, as the demo's call is said: an hour word and a minutes word.
        ("Your flight on Friday leaves at ten thirty in the morning.", "2026-11-27T10:30:00+00:00"),
        ("Dinner at seven oh five pm.", "2026-11-22T19:05:00+00:00"),
        ("Meeting tomorrow at eleven forty-five.", "2026-11-23T11:45:00+00:00"),
    ],
)
def test_event_start_follows_the_documented_convention(text: str, start: str) -> None:
    event = only(extract(text, REF), "events")
    assert event["start"] == start
    assert_grounded(text, {"reference_time": REF.isoformat(), "events": [event]})


def test_date_without_time_is_an_all_day_event() -> None:
    event = only(extract("Birthday party on January 2nd.", REF), "events")
    assert event == {
        "title": "Birthday party",
        "start": "2027-01-02",
        "all_day": True,
        "derived": [{"field": "start", "value": "2027-01-02", "from": ["on January 2nd"]}],
        "source": {"start": 0, "end": 29, "text": "Birthday party on January 2nd"},
    }


def test_time_range_gives_start_and_end_with_shared_meridiem() -> None:
    text = "Team meeting next Monday from 2 to 3pm in Room 4B."
    event = only(extract(text, REF), "events")
    assert (event["start"], event["end"]) == (
        "2026-11-23T14:00:00+00:00",
        "2026-11-23T15:00:00+00:00",
    )
    assert event["title"] == "Team meeting"
    assert event["location"] == "Room 4B"
    assert event["derived"][0]["from"] == ["next Monday", "from 2 to 3pm"]


@pytest.mark.parametrize(
    ("phrases", "reference", "start", "end"),
    [
        (["tomorrow"], "2026-12-31T22:00:00+00:00", "2027-01-01", None),
        (["in 3 days"], "2026-02-27T10:00:00+00:00", "2026-03-02", None),
        (["in 3 days"], "2028-02-27T10:00:00+00:00", "2028-03-01", None),  # leap year
        (["in a month"], "2027-01-31T10:00:00+00:00", "2027-02-28", None),  # clamped
        (["next Monday"], "2026-12-29T10:00:00+00:00", "2027-01-04", None),
        (["January 2nd"], "2026-12-30T10:00:00+00:00", "2027-01-02", None),
        (["February 29"], "2026-11-22T10:00:00+00:00", "2028-02-29", None),
        (["the 31st"], "2026-11-22T10:00:00+00:00", "2026-12-31", None),
        (["the 30th"], "2027-02-05T10:00:00+00:00", "2027-03-30", None),
        (["12/25/27"], "2026-11-22T10:00:00+00:00", "2027-12-25", None),
        (["in two hours"], "2026-11-22T23:30:00+05:30", "2026-11-23T01:30:00+05:30", None),
        (["tomorrow", "at 9"], "2026-11-22T23:30:00-05:00", "2026-11-23T09:00:00-05:00", None),
        (["at midnight"], "2026-12-31T11:00:00+00:00", "2027-01-01T00:00:00+00:00", None),
        (
            ["Friday", "10pm-2am"],
            "2026-11-22T11:00:00+00:00",
            "2026-11-27T22:00:00+00:00",
            "2026-11-28T02:00:00+00:00",
        ),
        (
            ["Friday", "between 7 and 9"],
            "2026-11-22T11:00:00+00:00",
            "2026-11-27T19:00:00+00:00",
            "2026-11-27T21:00:00+00:00",
        ),
        (
            ["Friday", "from 11 to 1pm"],
            "2026-11-22T11:00:00+00:00",
            "2026-11-27T11:00:00+00:00",
            "2026-11-27T13:00:00+00:00",
        ),
    ],
)
def test_resolution_rolls_over_months_years_and_keeps_the_reference_offset(
    phrases: list[str], reference: str, start: str, end: str | None
) -> None:
    when = resolve(phrases, datetime.fromisoformat(reference))
    assert when is not None
    assert (when.start, when.end) == (start, end)


@pytest.mark.parametrize(
    "phrases",
    [["tomorrow", "on Friday"], ["at 10", "at 11"], ["in two hours", "tomorrow"], ["banana"], []],
)
def test_phrases_that_do_not_fit_together_resolve_to_nothing(phrases: list[str]) -> None:
    assert resolve(phrases, REF) is None


@pytest.mark.parametrize(
    ("phrase", "start"),
    [
        # Once read as "twenty" alone (10:20): the minutes are one spoken number, read whole.
        ("twenty five past ten", "2026-11-22T10:25:00+00:00"),
        ("twenty-five past ten", "2026-11-22T10:25:00+00:00"),
        ("in ninety minutes", "2026-11-22T10:30:00+00:00"),
        ("in twenty one days", "2026-12-13"),
        ("on March twenty-first", "2027-03-21"),
        ("on the thirty-first of December", "2026-12-31"),
    ],
)
def test_spoken_numbers_in_phrases_are_read_by_the_one_number_grammar(
    phrase: str, start: str
) -> None:
    when = resolve([phrase], REF)
    assert when is not None and when.start == start


@pytest.mark.parametrize("day", ["February 30th", "13/13", "2026-02-29", "the 32nd"])
def test_a_date_that_does_not_exist_gives_no_event(day: str) -> None:
    assert extract(f"Party on {day} at 8pm.", REF)["events"] == []
    reminder = only(extract(f"Remind me to pay rent on {day}.", REF), "reminders")
    assert "due" not in reminder


# --- event titles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # A verb that names an event becomes its noun, with its purpose or its object.
        ("Can we meet on Monday at 3 pm to sign the contract?", "meeting to sign the contract"),
        ("Let's meet on Thursday at 4 to discuss the budget.", "meeting to discuss the budget"),
        ("Meet Tom at 5 o'clock on Wednesday.", "Meeting with Tom"),
        ("We're flying to Berlin on Tuesday at 7am.", "flight to Berlin"),
        ("I'm travelling to Tokyo next Monday.", "trip to Tokyo"),
        ("We're meeting the landlord on Wednesday at 5 to sign the lease.",
         "meeting with the landlord to sign the lease"),
        # A noun keeps its modifiers and its destination, company or purpose, not the verb
        # after it nor the words that open the sentence.
        ("My train to Paris leaves tomorrow at 9.", "train to Paris"),
        ("Our flight back to Madrid departs Sunday at 6 pm.", "flight back to Madrid"),
        ("Flight from Lisbon to Paris on Friday at 9.", "Flight from Lisbon to Paris"),
        ("The kickoff meeting for the Atlas project is on Monday at 10.",
         "kickoff meeting for the Atlas project"),
        ("I have a doctor's appointment on Wednesday at 2:15.", "doctor's appointment"),
        ("On Friday at 3 we have the quarterly review with finance.",
         "quarterly review with finance"),
        ("Tomorrow morning I have a meeting with the team.", "meeting with the team"),
        ("Dinner at 7 with Pedro de la Cruz and his wife on Friday.",
         "Dinner with Pedro de la Cruz"),
        # Complements after the date and time phrases join the head; a duration does not.
        ("Lunch with Ana tomorrow at 1 to plan the party.", "Lunch with Ana to plan the party"),
        ("Meeting for an hour tomorrow at 10 with Priya to review the slides.",
         "Meeting with Priya to review the slides"),
        ("Quick sync with design tomorrow at 11 about the new onboarding flow.",
         "Quick sync with design about the new onboarding flow"),
        # A pronoun object is left out; a named one stays as said.
        ("Can you call me tomorrow at 5 about the invoice?", "call about the invoice"),
        ("Call the bank tomorrow at 10.", "Call the bank"),
        ("Visit grandma on Saturday at 2.", "Visit grandma"),
        ("Yoga class on Wednesday evening.", "Yoga class"),
        ("Party tonight at 8!", "Party"),
    ],
)  # fmt: skip
def test_event_titles_name_the_thing_with_its_destination_or_purpose(text: str, title: str) -> None:
    result = extract(text, REF)
    assert only(result, "events")["title"] == title
    assert_grounded(text, result)


SAMPLE_CALL = (
    "Hi, this is Maria Lopez from Northwind Travel. I am calling about your trip to Lisbon. "
    "Your flight on Friday leaves at 10.30 in the morning. Can we meet on Monday at 3pm to sign "
    "the contract? My number is 555-0142."
)


def test_a_trip_takes_its_destination_from_the_sentence_before() -> None:
    result = extract(SAMPLE_CALL, REF)
    flight, meeting = result["events"]
    assert (flight["title"], flight["start"]) == ("flight to Lisbon", "2026-11-27T10:30:00+00:00")
    assert (meeting["title"], meeting["start"]) == (
        "meeting to sign the contract",
        "2026-11-23T15:00:00+00:00",
    )
    # Composed titles name the phrases they were made of; each lies in the item's source.
    assert flight["derived"][-1] == {
        "field": "title",
        "value": "flight to Lisbon",
        "from": ["flight", "to Lisbon"],
    }
    assert flight["source"]["text"].startswith("to Lisbon. Your flight on Friday")
    assert meeting["derived"][-1]["from"] == ["meet", "to sign the contract"]
    assert_grounded(SAMPLE_CALL, result)
    # Without the sentence that names the trip, the flight is just a flight.
    alone = extract(SAMPLE_CALL.split(". ", 2)[2], REF)
    assert alone["events"][0]["title"] == "flight"


def _planted_title(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    result = copy.deepcopy(extract(SAMPLE_CALL, REF))
    change(result["events"][1])
    return result


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(item: dict[str, Any]) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        # A composed title that its phrases do not make.
        _set(("title",), "meeting to cancel the contract"),
        # Phrases that compose to the title, but one is not in the source.
        lambda e: (
            e.update(title="meeting to cancel the contract")
            or e["derived"][-1].update(
                value=e["title"], **{"from": ["meet", "to cancel the contract"]}
            )
        ),
        # A title not in the source whose derivation was removed.
        lambda e: e["derived"].pop(),
        # The same title derived twice, or a derivation of a field that has none.
        lambda e: e["derived"].append(dict(e["derived"][-1])),
        lambda e: e["derived"].append({"field": "location", "value": "x", "from": ["meet"]}),
    ],
)
def test_a_planted_composed_title_is_dropped(change: Callable[[dict[str, Any]], None]) -> None:
    planted = _planted_title(change)
    checked = verify_grounded(SAMPLE_CALL, planted)
    assert [e["title"] for e in checked["events"]] == ["flight to Lisbon"]
    assert checked["dropped"] == 1


# --- reminders, alarms, contacts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reminder", "due"),
    [
        ("Remind me to call Maria Lopez tomorrow at 10:30.", "call Maria Lopez",
         "2026-11-23T10:30:00+00:00"),
        ("Remind me tomorrow at 9 to send the report.", "send the report",
         "2026-11-23T09:00:00+00:00"),
        ("Don't forget to buy milk.", "buy milk", None),
        ("I need to submit the report by 5pm on Friday.", "submit the report",
         "2026-11-27T17:00:00+00:00"),
        ("Remember to water the plants on Tuesday.", "water the plants", "2026-11-24"),
    ],
)  # fmt: skip
def test_reminders_keep_their_words_and_resolve_their_due_time(
    text: str, reminder: str, due: str | None
) -> None:
    item = only(extract(text, REF), "reminders")
    assert item["text"] == reminder
    assert item.get("due") == due


@pytest.mark.parametrize(
    ("text", "time_", "date"),
    [
        ("Wake me up at 6:30 tomorrow.", "06:30", "2026-11-23"),
        ("Set an alarm for 7.", "07:00", None),
        ("Set an alarm for 7 pm.", "19:00", None),
        ("Set an alarm for 6 am on Monday.", "06:00", "2026-11-23"),
        ("Set an alarm in 20 minutes.", "09:20", "2026-11-22"),
        ("Wake me at 5 tonight.", "17:00", "2026-11-22"),
    ],
)
def test_alarm_hours_are_morning_unless_said_otherwise(
    text: str, time_: str, date: str | None
) -> None:
    alarm = only(extract(text, REF), "alarms")
    assert alarm["time"] == time_
    assert alarm.get("date") == date


def test_alarm_label_is_taken_from_the_text() -> None:
    alarm = only(extract("Set an alarm for 6:45 called Gym class.", REF), "alarms")
    assert (alarm["time"], alarm["label"]) == ("06:45", "Gym class")


@pytest.mark.parametrize(
    "phone",
    ["+1 (555) 123-4567", "555-123-4567", "555.123.4567", "+44 20 7946 0958", "07700 900123",
     "+4915123456789"],
)  # fmt: skip
def test_phone_numbers_in_common_formats_are_found_verbatim(phone: str) -> None:
    contact = only(extract(f"Her number is {phone}, call after lunch.", REF), "contacts")
    assert contact["phone"] == phone


def test_a_named_contact_gathers_its_phone_and_email() -> None:
    text = "Maria's number is +1 (555) 123-4567 and her email is maria.lopez@example.com."
    contact = only(extract(text, REF), "contacts")
    assert contact["name"] == "Maria"
    assert contact["phone"] == "+1 (555) 123-4567"
    assert contact["email"] == "maria.lopez@example.com"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Call Maria Lopez about the lease.", "Maria Lopez"),
        ("Meeting with John on Friday at 3.", "John"),
        ("Lunch with Sarah tomorrow at noon.", "Sarah"),
        ("Talk to Dr. Chen's office.", "Dr. Chen"),
        ("Talk to Dr about it.", None),
    ],
)
def test_people_named_after_call_or_with_become_contacts(text: str, name: str | None) -> None:
    names = [c.get("name") for c in extract(text, REF)["contacts"]]
    assert names == ([name] if name else [])


def test_dates_and_times_are_not_read_as_phone_numbers() -> None:
    result = extract("Conference on 2027-05-06 from 10:00-11:30, room 12.", REF)
    assert result["contacts"] == []
    assert only(result, "events")["end"] == "2027-05-06T11:30:00+00:00"


def test_several_events_in_one_sentence_are_split_at_the_clause() -> None:
    result = extract("Interview in 3 days at 10 am, then coffee with Ana at 3.", REF)
    assert [(e["title"], e["start"]) for e in result["events"]] == [
        ("Interview", "2026-11-25T10:00:00+00:00"),
        ("coffee with Ana", "2026-11-25T15:00:00+00:00"),
    ]
    assert_grounded("Interview in 3 days at 10 am, then coffee with Ana at 3.", result)


def test_sentences_are_split_the_same_after_many_abbreviations() -> None:
    # A full stop after "Dr" or before a lowercase word ends no sentence; the splitter looks
    # only at the few characters before each stop (a bounded window), which sees the same.
    text = "Ask the dr. about it. " * 200 + "Lunch with Dr. Lee tomorrow at noon. Done."
    result = extract(text, REF)
    assert [(e["title"], e["start"]) for e in result["events"]] == [
        ("Lunch with Dr. Lee", "2026-11-23T12:00:00+00:00")
    ]
    assert result["events"][0]["source"]["text"].startswith("Lunch with Dr. Lee")
    assert_grounded(text, result)


# --- grounding --------------------------------------------------------------------------------

TRANSCRIPT = (
    "Okay so quick notes from the call. Dentist appointment on March 3rd at 10:30. "
    "Remind me to call Maria Lopez tomorrow at 10:30. Wake me up at 6:30 tomorrow. "
    "Maria's number is 555-123-4567. Let's have lunch with Sarah on Friday at noon at Café Rio."
)


def test_every_value_of_a_realistic_transcript_is_grounded() -> None:
    result = extract(TRANSCRIPT, REF)
    assert {k: len(result[k]) for k in ("events", "reminders", "alarms", "contacts")} == {
        "events": 2,
        "reminders": 1,
        "alarms": 1,
        "contacts": 3,  # Maria Lopez; Maria and her number; Sarah
    }
    assert result["dropped"] == 0
    assert_grounded(TRANSCRIPT, result)


def _plant(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(extract(TRANSCRIPT, REF))
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("events", 0, "title"), "Board meeting"),  # a title the text never says
        (("events", 0, "start"), "2027-03-04T10:30:00+00:00"),  # a day later than derived
        (("events", 0, "derived", 0, "value"), "2027-03-04T10:30:00+00:00"),
        (("events", 0, "derived", 0, "from"), ["on March 4th", "at 10:30"]),  # not in source
        (("events", 0, "derived", 0, "from"), ["at 10:30"]),  # does not give that value
        (("events", 0, "source", "start"), 1),  # span no longer matches its text
        (("events", 0, "location"), "Paris"),
        (("events", 0, "all_day"), True),
        (("events", 0, "attendees"), ["Bob"]),  # a field nobody derived
        (("reminders", 0, "text"), "call Maria Lopez and wire her 500 dollars"),
        (("alarms", 0, "time"), "05:30"),
        (("contacts", 1, "phone"), "555-987-6543"),
        (("contacts", 2, "name"), "Maria Garcia"),
    ],
)
def test_a_planted_ungrounded_value_is_dropped(path: tuple[Any, ...], value: Any) -> None:
    planted = _plant(path, value)
    kind, index = path[0], path[1]
    checked = verify_grounded(TRANSCRIPT, planted)
    assert planted[kind][index] not in checked[kind]
    assert checked["dropped"] == 1
    with pytest.raises(InternalError):
        verify_item(TRANSCRIPT, kind, planted[kind][index], REF)


def test_a_derived_event_without_its_derivation_is_dropped() -> None:
    planted = _plant(("events", 0, "derived"), [])
    assert len(verify_grounded(TRANSCRIPT, planted)["events"]) == 1


# --- hostile and odd input --------------------------------------------------------------------


def test_empty_text_is_refused_and_non_utf8_too() -> None:
    with pytest.raises(DecodeError):
        run(b"   \n ")
    with pytest.raises(DecodeError):
        run(b"\xff\xfe meeting tomorrow at 10")


def test_text_over_the_limit_is_refused() -> None:
    with pytest.raises(TooLargeError):
        run(b"a" * (limits.MAX_SOURCE_TEXT_CHARS + 1))


def test_huge_input_is_bounded_by_the_item_limit_and_fits_one_event() -> None:
    line = "Call Bob at 555-123-4567 and meeting with Ann tomorrow at 10. "
    text = (line * (limits.MAX_SOURCE_TEXT_CHARS // len(line)))[: limits.MAX_SOURCE_TEXT_CHARS]
    started = time.perf_counter()
    result = run(text.encode(), reference_time="2026-11-22T09:00:00+00:00")
    assert time.perf_counter() - started < 20
    total = sum(len(result[k]) for k in ("events", "reminders", "alarms", "contacts"))
    assert total == limits.MAX_EXTRACTED_ITEMS
    assert result["truncated"] is True
    assert len(json.dumps(result).encode()) <= limits.MAX_WORKLOAD_JSON


def test_a_result_that_would_not_fit_one_event_is_cut_to_fit() -> None:
    # Control characters cost six bytes each in JSON: 200 such events overflow the bound.
    text = ("\x01" * 115 + " meeting tomorrow at 10. ") * limits.MAX_EXTRACTED_ITEMS
    result = run(text.encode(), reference_time=REF.isoformat())
    assert result["truncated"] is True
    assert 0 < len(result["events"]) < limits.MAX_EXTRACTED_ITEMS
    assert len(json.dumps(result).encode()) <= limits.MAX_WORKLOAD_JSON


def test_random_text_never_crashes_and_everything_returned_is_grounded() -> None:
    rng = random.Random(5)
    vocabulary = re.split(
        " ",
        "at 10 tomorrow call Maria Lopez 555-123-4567 a@b.co meeting with John on Friday "
        "remind me to : / - 3/4 in two hours noon wake alarm . ! \n 12:30 pm from to "
        "March 3rd the 5th half past 7 o'clock é 日本 \x00",
    )
    for size in (10, 1_000, 30_000):
        text = " ".join(rng.choice(vocabulary) for _ in range(size // 4))
        result = extract(text, REF)
        assert result["dropped"] == 0
        assert_grounded(text, result)
    noise = "".join(chr(rng.randrange(1, 0x3000)) for _ in range(50_000))
    assert_grounded(noise, extract(noise, REF))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ["at", "10", "10:30", "pm", "a.m.", "tomorrow", "next", "Monday", "March", "3rd",
             "in", "two", "hours", "from", "to", "-", "3/4", "call", "Ann", "with", "remind",
             "me", "alarm", "wake", "meeting", ".", ",", "555-123-4567", "x@y.io", "noon",
             "half", "past", "the", "5th", "o'clock", "between", "and", "tonight", "\n",
             "meet", "fly", "flight", "trip", "Lisbon", "sign", "for", "about", "back", "Dr.",
             "ten", "thirty", "oh", "five"]
        ),
        max_size=40,
    ),
    st.sampled_from(["+00:00", "-05:00", "+05:30", "+14:00", "-12:00"]),
)  # fmt: skip
def test_any_word_salad_yields_only_grounded_items(words: list[str], offset: str) -> None:
    text = " ".join(words)
    reference = datetime.fromisoformat(f"2026-12-31T23:59:00{offset}")
    result = extract(text, reference)
    assert result["dropped"] == 0
    assert_grounded(text, result)


# --- parameters -------------------------------------------------------------------------------


def test_without_reference_time_the_node_clock_is_used_and_said() -> None:
    result = run(b"Dentist appointment tomorrow at 10:30.")
    assert result["reference_time"] == "2026-11-22T09:00:00+00:00"
    assert result["reference_time_source"] == "node_clock"
    assert result["events"][0]["start"] == "2026-11-23T10:30:00+00:00"


def test_reference_time_offset_carries_into_the_results() -> None:
    result = run(b"Dentist appointment tomorrow at 10:30.", reference_time="2026-11-22T23:00-08:00")
    assert result["reference_time_source"] == "request"
    assert result["events"][0]["start"] == "2026-11-23T10:30:00-08:00"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-11-22T09:00:00", DecodeError),  # no UTC offset
        (f"not a time {CANARY}", DecodeError),
        (12, DecodeError),
        ("2026-11-22T09:00:00+00:00" + " " * 100, TooLargeError),
    ],
)
def test_bad_reference_time_is_refused_without_quoting_it(value: Any, error: type) -> None:
    with pytest.raises(error) as info:
        run(b"Meeting tomorrow at 10.", reference_time=value)
    assert CANARY not in str(info.value)


def test_kinds_limits_what_is_extracted() -> None:
    result = run(TRANSCRIPT.encode(), reference_time=REF.isoformat(), kinds=["alarms"])
    assert "events" not in result
    assert "contacts" not in result
    assert len(result["alarms"]) == 1


@pytest.mark.parametrize("kinds", ["events", ["events", "secrets"], [], [1]])
def test_bad_kinds_are_refused(kinds: Any) -> None:
    with pytest.raises(DecodeError):
        run(b"Meeting tomorrow at 10.", kinds=kinds)


def test_result_meta_names_the_method() -> None:
    result = run(b"Meeting tomorrow at 10.", reference_time=REF.isoformat())
    assert result["method"] == "rules"
    assert result["dropped"] == 0
