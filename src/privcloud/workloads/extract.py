"""The ``extract`` workload: calendar events, reminders, alarms and contacts from a note or a
transcript, every value grounded in the text.

Method (``"method": "rules"``): a deterministic rule-based parser (regular expressions and a
small date grammar), no language model. Gemma 3 270M (a base model, few-shot) was tried for event
titles: on eight note sentences 4 of its 8 titles occurred in the text (it recapitalises, and
pulls in dates: "Party tonight at 8!"), at 0.7 to 12 s per title on two busy CPU cores, while the
rules build titles from the text's own words (head, object, destination or purpose), so they
are grounded by construction.

The rule that matters (docs/features.md §Extract): every extracted value occurs in, or is
derived from, the source. Each item carries ``source`` = ``{"start", "end", "text"}`` (character
offsets, ``text[start:end] == source["text"]``); its text values (title, location, label, name,
phone, email, reminder text) are substrings of ``source["text"]``; each resolved date or time
carries ``derived`` = ``[{"field", "value", "from": [phrases]}]`` whose phrases occur in the
source and resolve, on their own, to the value. An event title is either a substring too or
*composed* ("meet ... to sign the contract" -> "meeting to sign the contract",
:mod:`privcloud.workloads.extract_titles`): then a ``"title"`` derivation quotes its phrases,
and :func:`~privcloud.workloads.extract_titles.compose_title` must make the title from them.
:func:`verify_grounded` checks all of this and drops any item that fails; :func:`extract` runs
it on every result before returning.

Dates and times follow the conventions of :mod:`privcloud.workloads.datetext`.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, InternalError, UsageError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.datetext import Found, When, resolve, scan
from privcloud.workloads.extract_contacts import NAME_WORD, NOT_NAMES, find_contacts, source_of
from privcloud.workloads.extract_titles import EVENT_WORDS, compose_title, find_title
from privcloud.workloads.models import Models
from privcloud.workloads.text.sentences import SplitRules, split_sentences

log = logging.getLogger("privcloud.workloads.extract")

KINDS = ("events", "reminders", "alarms", "contacts")
METHOD = "rules"
#: Longest title, reminder text or alarm label taken from a sentence (cut at a word boundary).
_TITLE_CHARS = 120
#: How a text is cut into sentences (:mod:`privcloud.workloads.text.sentences`): a note's
#: items end at semicolons too, and a stretch of unpunctuated transcript is cut at 400
#: characters.
SENTENCE_RULES = SplitRules(semicolons=True, max_chars=400)

# --- scanning ---------------------------------------------------------------------------------

_CASE = re.IGNORECASE


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ALARM = re.compile(r"\b(?:wake\s+me|alarm)\b", _CASE)
_REMINDER = re.compile(
    r"\b(?:remind\s+me(?:\s+to|\s+that|\s+about)?|(?:don'?t|do\s+not)\s+forget(?:\s+to)?|"
    r"remember\s+to|make\s+sure\s+(?:to|you)|note\s+to\s+self:?|to-?do:?|"
    r"(?:I|we)\s+(?:need|have|must|should)\s+to|(?:I|we)\s+must|need\s+to)\b",
    _CASE,
)
_EVENT = EVENT_WORDS
_LOCATION = re.compile(
    r"\b(?i:at|in)\s+(?P<loc>(?:the\s+)?"
    + NAME_WORD
    + r"(?:\s+(?:"
    + NAME_WORD
    + r"|of|de|del|la|&|\d{1,4}[A-Za-z]?))*|(?i:room|conference\s+room|building)\s+\w{1,8}|"
    r"(?i:the\s+office|home|work|school))"
)
_LABEL = re.compile(
    r"\b(?:called|labell?ed|named|titled)\s+[\"\u201c']?(?P<label>[^\"\u201d\n]+)", _CASE
)
_EVENT_LEAD = _words(
    "i we you i'm we're i've we've let's lets there there's is are was have has had got "
    "a an the my our so ok okay also and then oh um uh please schedule book set up add put "
    "having going gonna to will i'll we'll be on at for by that about hey well it's just "
    "doing don't miss attend attending join joining"
)
_TEXT_LEAD = _words("to that about and then please me : - so also")
_TRAIL = _words(
    "at on by in from and the for to with a an is are of this next until till between around "
    "it please then so or me that"
)


def _segment(
    text: str,
    start: int,
    end: int,
    holes: list[tuple[int, int]],
    lead: frozenset[str],
    prefer: re.Pattern[str] | None = None,
) -> tuple[int, int] | None:
    """The best stretch of ``text[start:end]`` between ``holes``, trimmed of filler words."""
    edges = sorted(h for h in holes if h[1] > start and h[0] < end)
    gaps, at = [], start
    for a, b in edges:
        gaps.append((at, max(at, a)))
        at = max(at, b)
    gaps.append((at, end))
    best: tuple[int, int] | None = None
    best_rank = (False, 0)
    for a, b in gaps:
        span = _trim(text, a, b, lead)
        if span is None:
            continue
        rank = (prefer is not None and prefer.search(text, *span) is not None, span[1] - span[0])
        if rank > best_rank:
            best, best_rank = span, rank
    return best


def _trim(text: str, a: int, b: int, lead: frozenset[str]) -> tuple[int, int] | None:
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,;:!?()\"\u201c\u201d]+", text[a:b])]
    words = [(a + s, a + e) for s, e in words]

    def bare(w: tuple[int, int]) -> str:
        return text[w[0] : w[1]].strip(".'\u2019-").lower()

    while words and (bare(words[0]) in lead or not bare(words[0])):
        words.pop(0)
    while words and (bare(words[-1]) in _TRAIL or not bare(words[-1])):
        words.pop()
    if not words:
        return None
    s, e = words[0][0], words[-1][1]
    while e > s and text[e - 1] in ".,'\u2019-":
        e -= 1
    while e - s > _TITLE_CHARS:
        e = text.rfind(" ", s, s + _TITLE_CHARS) if " " in text[s : s + _TITLE_CHARS] else s
        e = e if e > s else s + _TITLE_CHARS
    return (s, e) if e > s else None


# --- building items ---------------------------------------------------------------------------


def _derive(fields: dict[str, str], phrases: list[str]) -> list[JSONObject]:
    return [{"field": f, "value": v, "from": list(phrases)} for f, v in fields.items()]


def _clauses(found: list[Found], start: int, end: int, text: str) -> list[tuple[int, int]]:
    """Split a sentence between two times (``lunch at 12 and a call at 3``) at a separator."""
    times = [f for f in found if f.piece.kind in ("time", "moment")]
    cuts = [start]
    for left, right in itertools.pairwise(times):
        gap = text[left.end : right.start]
        seps = list(re.finditer(r",|\band\b|\bthen\b|\bbut\b", gap))
        if seps:
            cuts.append(left.end + seps[-1].start())
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]


def _sentence_items(
    text: str,
    start: int,
    end: int,
    ref: datetime,
    kinds: Collection[str],
    masked: list[tuple[int, int]],
    context: tuple[int, int] | None = None,
) -> Iterator[tuple[str, JSONObject]]:
    """The items of the sentence ``text[start:end]``; ``context`` is the sentence before it (a
    trip's destination, for an event's title)."""
    alarm = _ALARM.search(text, start, end) is not None and "alarms" in kinds
    found = scan(text, start, end, ref, alarm, masked)
    day: Found | None = None
    for cs, ce in _clauses(found, start, end, text):
        mine = [f for f in found if cs <= f.start < ce]
        dates = [f for f in mine if f.piece.kind == "date"]
        day = dates[0] if dates else day
        times = [f for f in mine if f.piece.kind in ("time", "moment")]
        hints = [f for f in mine if f.piece.kind == "hint" and f.piece.hint != "wake"]
        used = [*(dates[:1] or ([day] if day and times else [])), *times[:1], *hints[:1]]
        if alarm and times:
            used += [f for f in mine if f.piece.hint == "wake"][:1]
        used.sort(key=lambda f: f.start)
        phrases = [f.phrase for f in used]
        invalid = any(f.piece.kind == "invalid" for f in mine)
        when = resolve(phrases, ref) if used and not invalid else None
        holes = [(f.start, f.end) for f in found] + masked
        if alarm and when is not None and when.clock is not None:
            yield "alarms", _alarm(text, cs, ce, used, phrases, when)
            continue
        trigger = _REMINDER.search(text, cs, ce)
        if trigger and "reminders" in kinds:
            span = _segment(text, trigger.end(), ce, holes, _TEXT_LEAD)
            if span is not None:
                item: JSONObject = {"text": text[slice(*span)]}
                spans = [trigger.span(), span, *((f.start, f.end) for f in used)]
                if when is not None:
                    item["due"] = when.start
                    item["derived"] = _derive({"due": when.start}, phrases)
                item["source"] = source_of(text, spans)
                yield "reminders", item
            continue
        if (
            when is not None
            and "events" in kinds
            and (_EVENT.search(text, cs, ce) or re.search(r"\bwith\s+[A-Z]", text[cs:ce]))
        ):
            yield "events", _event(text, cs, ce, used, phrases, when, holes, context)


def _alarm(
    text: str, cs: int, ce: int, used: list[Found], phrases: list[str], when: When
) -> JSONObject:
    assert when.clock is not None
    fields = {"time": when.clock} | ({"date": when.day} if when.has_day else {})
    item: JSONObject = dict(fields)
    spans = [(f.start, f.end) for f in used]
    label = _LABEL.search(text, cs, ce)
    if label:
        span = _trim(text, label.start("label"), label.end("label"), _TEXT_LEAD)
        if span:
            item["label"] = text[slice(*span)]
            spans.append(span)
    item["derived"] = _derive(fields, phrases)
    item["source"] = source_of(text, spans)
    return item


def _event(
    text: str,
    cs: int,
    ce: int,
    used: list[Found],
    phrases: list[str],
    when: When,
    holes: list[tuple[int, int]],
    context: tuple[int, int] | None,
) -> JSONObject:
    spans = [(f.start, f.end) for f in used]
    location = None
    for m in _LOCATION.finditer(text, cs, ce):
        loc = _trim(text, m.start("loc"), m.end("loc"), frozenset({"the"}))
        if (
            loc
            and not any(loc[0] < b and loc[1] > a for a, b in holes)
            and text[loc[0] : loc[1]].split(maxsplit=1)[0].capitalize() not in NOT_NAMES
        ):
            location = (m.start(), loc[1]), loc
            break
    around = holes + ([location[0]] if location else [])
    named = find_title(text, cs, ce, around, context)
    title = None if named else _segment(text, cs, ce, around, _EVENT_LEAD, prefer=_EVENT)
    if named is not None:
        item: JSONObject = {"title": named.value}
        spans.extend(named.parts)
    else:
        item = {"title": text[slice(*title)] if title else text[spans[0][0] : spans[0][1]]}
    item["start"] = when.start
    fields = {"start": when.start}
    if when.end is not None:
        item["end"] = fields["end"] = when.end
    if when.all_day:
        item["all_day"] = True
    if location:
        item["location"] = text[slice(*location[1])]
        spans.append(location[1])
    if title:
        spans.append(title)
    item["derived"] = _derive(fields, phrases)
    if named is not None and named.composed:
        item["derived"].append(
            {"field": "title", "value": named.value, "from": [text[a:b] for a, b in named.parts]}
        )
    item["source"] = source_of(text, spans)
    return item


def extract(text: str, reference: datetime, kinds: Collection[str] = KINDS) -> JSONObject:
    """Events, reminders, alarms and contacts found in ``text``, resolved against
    ``reference`` (an aware datetime), each checked by :func:`verify_grounded`."""
    if reference.tzinfo is None:
        raise UsageError("reference must carry a UTC offset")
    result: JSONObject = {"reference_time": reference.isoformat(timespec="seconds")}
    result.update({k: [] for k in KINDS if k in kinds})
    count, truncated = 0, False
    seen: set[tuple[str | None, ...]] = set()
    previous: tuple[int, int] | None = None
    for sentence in split_sentences(text, SENTENCE_RULES):
        start, end = sentence.start, sentence.end
        contacts, masked = find_contacts(text, start, end)
        items = list(_sentence_items(text, start, end, reference, kinds, masked, previous))
        previous = (start, end)
        if "contacts" in kinds:
            for contact in contacts:
                key = tuple(contact.get(f) for f in ("name", "phone", "email"))
                if key not in seen:
                    seen.add(key)
                    items.append(("contacts", contact))
        for kind, item in items:
            if count >= limits.MAX_EXTRACTED_ITEMS:
                truncated = True
                break
            result[kind].append(item)
            count += 1
        if truncated:
            break
    result["method"] = METHOD
    result["truncated"] = truncated
    return verify_grounded(text, result)


# --- grounding ---------------------------------------------------------------------------------

_TEXT_FIELDS = frozenset({"title", "location", "text", "label", "name", "phone", "email"})
#: Text fields that may be composed of quoted phrases (:mod:`~privcloud.workloads.extract_titles`).
_COMPOSED_FIELDS = {"events": ("title",)}
_TIME_FIELDS = {"events": ("start", "end"), "reminders": ("due",), "alarms": ("time", "date")}
_ALLOWED = {
    "events": {"title", "start", "end", "all_day", "location", "source", "derived"},
    "reminders": {"text", "due", "source", "derived"},
    "alarms": {"time", "date", "label", "source", "derived"},
    "contacts": {"name", "phone", "email", "source"},
}


def _field_value(kind: str, field: str, when: When) -> str | None:
    if kind == "alarms":
        return when.clock if field == "time" else (when.day if when.has_day else None)
    return when.end if field == "end" else when.start


def verify_item(text: str, kind: str, item: Any, reference: datetime) -> None:
    """Raise :class:`InternalError` unless ``item`` (of ``kind``) is grounded in ``text``:
    its source span is exact, its text values lie inside it, and each date/time value is
    re-derived, by :func:`resolve`, from phrases that lie inside it."""
    if not isinstance(item, dict) or not set(item) <= _ALLOWED.get(kind, set()):
        raise InternalError("extracted item has an unknown shape")
    source = item.get("source")
    if not isinstance(source, dict) or set(source) != {"start", "end", "text"}:
        raise InternalError("extracted item has no source span")
    start, end, quoted = source["start"], source["end"], source["text"]
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise InternalError("extracted item's source span is out of range")
    if text[start:end] != quoted:
        raise InternalError("extracted item's source text is not the text at its span")
    entries = item.get("derived", [])
    if not isinstance(entries, list):
        raise InternalError("extracted item has a malformed derivation")
    titles = _COMPOSED_FIELDS.get(kind, ())
    derived = [e for e in entries if not (isinstance(e, dict) and e.get("field") in titles)]
    composed = {e["field"]: e for e in entries if isinstance(e, dict) and e.get("field") in titles}
    if len(composed) + len(derived) != len(entries):
        raise InternalError("extracted item's derivations do not match its values")
    values = {k: v for k, v in item.items() if k in _TEXT_FIELDS}
    if kind == "contacts" and not values:
        raise InternalError("extracted contact is empty")
    for field, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise InternalError("extracted value does not occur in its source")
        if field in composed:
            _verify_composed(composed[field], value, quoted)
        elif value not in quoted:
            raise InternalError("extracted value does not occur in its source")
    if not set(composed) <= set(values):
        raise InternalError("extracted item's derivations do not match its values")
    timed = {f: item[f] for f in _TIME_FIELDS.get(kind, ()) if f in item}
    if len(derived) != len(timed):
        raise InternalError("extracted item's derivations do not match its values")
    for entry in derived:
        if not isinstance(entry, dict) or set(entry) != {"field", "value", "from"}:
            raise InternalError("extracted item has a malformed derivation")
        field, phrases = entry["field"], entry["from"]
        if field not in timed or timed[field] != entry["value"] or not isinstance(phrases, list):
            raise InternalError("extracted item's derivations do not match its values")
        if not phrases or not all(isinstance(p, str) and p and p in quoted for p in phrases):
            raise InternalError("a derivation's phrase does not occur in its source")
        when = resolve(phrases, reference)
        if when is None or _field_value(kind, field, when) != entry["value"]:
            raise InternalError("a derived value does not follow from its phrases")
        if kind == "events" and field == "start" and item.get("all_day", False) != when.all_day:
            raise InternalError("an event's all-day flag does not follow from its phrases")
    if kind == "events" and ("start" not in item or not isinstance(item.get("title"), str)):
        raise InternalError("an event needs a title and a start")


def _verify_composed(entry: JSONObject, value: str, quoted: str) -> None:
    """A composed title: made by :func:`compose_title` from phrases that occur in the source."""
    phrases = entry.get("from")
    if set(entry) != {"field", "value", "from"} or entry["value"] != value:
        raise InternalError("extracted item's derivations do not match its values")
    if not isinstance(phrases, list) or not phrases:
        raise InternalError("a derivation's phrase does not occur in its source")
    if not all(isinstance(p, str) and p.strip() and p in quoted for p in phrases):
        raise InternalError("a derivation's phrase does not occur in its source")
    if compose_title(phrases) != value:
        raise InternalError("a composed title does not follow from its phrases")


def verify_grounded(text: str, result: JSONObject) -> JSONObject:
    """``result`` with every item that fails :func:`verify_item` dropped (counted in
    ``"dropped"``): what this returns holds no value the text does not support."""
    reference = datetime.fromisoformat(result["reference_time"])
    checked: JSONObject = dict(result)
    dropped = 0
    for kind in KINDS:
        if kind not in result:
            continue
        kept = []
        for item in result[kind]:
            try:
                verify_item(text, kind, item, reference)
            except InternalError:
                dropped += 1
                continue
            kept.append(item)
        checked[kind] = kept
    if dropped:
        log.warning("extract dropped %d ungrounded items", dropped)
    checked["dropped"] = dropped + int(result.get("dropped", 0))
    return checked


def _fit(result: JSONObject) -> JSONObject:
    """Drop items from the end until the result fits one event's JSON bound."""
    while len(json.dumps(result, ensure_ascii=False).encode()) > limits.MAX_WORKLOAD_JSON - 1024:
        kinds = [k for k in KINDS if result.get(k)]
        if not kinds:
            break
        result[max(kinds, key=lambda k: len(result[k]))].pop()
        result["truncated"] = True
    return result


# --- the workload ------------------------------------------------------------------------------


def _reference(request_params: JSONObject, now: Callable[[], datetime]) -> tuple[datetime, str]:
    raw = params.optional_text(request_params, "reference_time")
    if raw is None:
        return now().astimezone(UTC).replace(microsecond=0), "node_clock"
    try:
        reference = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise DecodeError("parameter 'reference_time' must be ISO 8601") from exc
    if reference.tzinfo is None or reference.utcoffset() is None:
        raise DecodeError("parameter 'reference_time' needs a UTC offset")
    return reference, "request"


def _kinds(request_params: JSONObject) -> tuple[str, ...]:
    value = request_params.get("kinds")
    if value is None:
        return KINDS
    if not isinstance(value, list) or len(value) > len(KINDS) * 2 or not value:
        raise DecodeError(
            "parameter 'kinds' must be a list of: alarms, contacts, events, reminders"
        )
    if not all(isinstance(k, str) and k in KINDS for k in value):
        raise DecodeError(
            "parameter 'kinds' must be a list of: alarms, contacts, events, reminders"
        )
    return tuple(k for k in KINDS if k in value)


class ExtractWorkload:
    """``extract``: body = UTF-8 text; params ``reference_time`` (ISO 8601 with offset; absent:
    the node's UTC clock, said in ``reference_time_source``) and ``kinds``."""

    name = "extract"
    blocking = True

    def __init__(
        self, models: Models | None = None, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self._now = now if now is not None else (lambda: datetime.now(UTC))

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        reference, origin = _reference(request.params, self._now)
        kinds = _kinds(request.params)
        text = params.body_text(request.body, max_chars=limits.MAX_SOURCE_TEXT_CHARS)
        result = _fit(extract(text, reference, kinds))
        result["reference_time_source"] = origin
        yield Event(EventKind.RESULT, result)
