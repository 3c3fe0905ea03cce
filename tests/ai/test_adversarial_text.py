"""Adversarial text against the text parsers of the AI workloads: long runs of the characters
their patterns repeat (dots, spaces, digits, "dot", hyphens, capitals, commas).

A node has no per-request deadline, so a parser that is quadratic, or a regular expression that
backtracks, on some input stalls a shared worker thread. Every input here is about 100 KB (the
largest text body, ``limits.MAX_SOURCE_TEXT_CHARS``): on the parsers these tests were written
against they took minutes (20,000 dots took 7.9 s in extract's sentence splitter and 7.5 s in
the guard's, "dr. " * 10,000 took 18.5 s, and each grows with the square of the length); linear
code takes a fraction of a second each. The tests assert sane results, never timings: a
regression shows as a run that stalls for minutes, not as a flaky failure. They are marked
``slow`` (the whole file takes about 15 s on two cores), so ``-m "not slow"`` can leave them out.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from privcloud import limits  # noqa: E402
from privcloud.wire.message import EventKind, WorkloadRequest  # noqa: E402
from privcloud.workloads import translate_prompts  # noqa: E402
from privcloud.workloads.extract import KINDS, extract  # noqa: E402
from privcloud.workloads.grounding import (  # noqa: E402
    SENTENCE_WORDS_CUT,
    check_summary,
    extractive_summary,
    split_sentences,
)
from privcloud.workloads.grounding_facts import SourceIndex, extract_facts  # noqa: E402
from privcloud.workloads.models import Completion  # noqa: E402
from privcloud.workloads.summarize import SummarizeWorkload  # noqa: E402

pytestmark = pytest.mark.slow

SIZE = limits.MAX_SOURCE_TEXT_CHARS
REFERENCE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run_of(unit: str, tail: str = "") -> str:
    """``unit`` repeated to about :data:`SIZE` characters, then ``tail``."""
    return unit * ((SIZE - len(tail)) // len(unit)) + tail


#: Runs that made a sentence splitter (extract's, the guard's, translate's) or the date
#: scanner quadratic, or that probe them the same way.
SENTENCE_RUNS = {
    "dots then a letter": run_of(".", "x"),
    "dr. dr. dr.": run_of("dr. "),
    "Dr. Dr. Dr.": run_of("Dr. "),
    "a. a. a.": run_of("a. "),
    "a.m. a.m.": run_of("a.m. "),
    "!?!?": run_of("!?"),
    "spaces then a letter": run_of(" ", "x"),
    "spaces and tabs before a line break": run_of(" \t", "\nx"),
    "capitals": run_of("A"),
    "A-A-A": run_of("A-"),
    "at 1 at 1": run_of("at 1 "),
}
#: Runs that made the fact reader (e-mail, number and spoken e-mail patterns, number words)
#: quadratic or crash.
FACT_RUNS = {
    "a.a.a.": run_of("a."),
    "x dot x dot": run_of("x dot "),
    "1-1-1-": run_of("1-"),
    "A A A": run_of("A "),
    "twenty twenty": run_of("twenty "),
    "digits then a letter": run_of("1", "x"),
    "digits": run_of("1"),
    "1,1,1,": run_of("1,"),
    "-a-a-a": run_of("-a"),
    "x.y then @": run_of("x.y", "@"),
}


def fake_embed(texts: Sequence[str]) -> Any:
    """Unit vectors of hashed word counts (the first 2,000 characters of each text)."""
    out = np.zeros((len(texts), 256))
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9]+", text[:2000].lower()):
            out[row, zlib.crc32(word.encode()) % 256] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


@pytest.mark.parametrize("text", SENTENCE_RUNS.values(), ids=SENTENCE_RUNS.keys())
def test_extract_returns_grounded_items_on_adversarial_runs(text: str) -> None:
    result = extract(text, REFERENCE)
    assert result["method"] == "rules" and result["dropped"] == 0
    items = [item for kind in KINDS for item in result[kind]]
    assert len(items) <= limits.MAX_EXTRACTED_ITEMS
    for item in items:
        source = item["source"]
        assert text[source["start"] : source["end"]] == source["text"]


@pytest.mark.parametrize("text", SENTENCE_RUNS.values(), ids=SENTENCE_RUNS.keys())
def test_guard_sentences_cover_adversarial_runs_in_bounded_pieces(text: str) -> None:
    spans = split_sentences(text)
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert all(len(s.text.split()) <= SENTENCE_WORDS_CUT for s in spans)
    covered = "".join(s.text for s in spans)
    assert sum(c.isalnum() for c in covered) == sum(c.isalnum() for c in text)


@pytest.mark.parametrize("text", SENTENCE_RUNS.values(), ids=SENTENCE_RUNS.keys())
def test_translate_splitter_keeps_every_word_of_adversarial_runs(text: str) -> None:
    pieces = translate_prompts.split_sentences(text)
    assert all(0 < len(p) <= translate_prompts.SENTENCE_CHARS for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


@pytest.mark.parametrize("text", FACT_RUNS.values(), ids=FACT_RUNS.keys())
def test_fact_reader_reads_adversarial_runs(text: str) -> None:
    facts = extract_facts(text)
    assert all(f.text in text and f.keys for f in facts if f.kind != "name")


def test_a_number_of_thousands_of_digits_is_compared_digit_for_digit() -> None:
    long = "1" * 5000
    [fact] = extract_facts(f"The fee is ${long}.")
    assert fact.kind == "number" and fact.keys == (f"digits:{long}",)
    assert SourceIndex(f"It costs {long} dollars.").has(fact)
    assert not SourceIndex(f"It costs {long}2 dollars.").has(fact)
    assert extract_facts("It costs $" + "9," * 400 + "9.")  # once an OverflowError


#: Sources for the whole guard (fact index, sentences, passages): the runs that were slowest.
GUARD_RUNS = {
    name: {**FACT_RUNS, **SENTENCE_RUNS}[name]
    for name in ("a.a.a.", "x dot x dot", "1-1-1-", "A A A", "digits", "Dr. Dr. Dr.")
}


@pytest.mark.parametrize("text", GUARD_RUNS.values(), ids=GUARD_RUNS.keys())
def test_guard_checks_a_summary_against_an_adversarial_source(text: str) -> None:
    report = check_summary(text, "The refund of 200 dollars was approved on Monday.", fake_embed)
    [check] = report.sentences
    assert not check.kept
    assert "number 200 not in source" in check.reasons


def test_guard_reads_the_parties_of_an_adversarial_transcript() -> None:
    # One turn of ~11,000 greeted names without a full stop, then a self-introduction of as
    # many: the call-party reader looks at a bounded window before each name, and the relation
    # checks look up at most a few names of a summary sentence in the source.
    half = SIZE // 2
    text = f"Speaker 1: {run_of('hi Anna, ')[:half]}\nSpeaker 2: this is {run_of('Ben, ')[:half]}"
    summary = "Ben called Anna from Monday to Friday, before Anna called Ben and Carla Diaz."
    [check] = check_summary(text, summary, fake_embed).sentences
    assert not check.kept
    assert "name 'Carla Diaz' not in source" in check.reasons


@pytest.mark.parametrize("text", SENTENCE_RUNS.values(), ids=SENTENCE_RUNS.keys())
def test_extractive_summary_picks_source_text_from_adversarial_runs(text: str) -> None:
    picked = extractive_summary(text, fake_embed, 3)
    assert len(picked) <= 3
    assert all(p in text for p in picked)


class _FakeModels:
    """The part of ``Models`` the summarize workload uses: token counts (plain and chat), a
    language model (completion and chat) whose answer the guard rejects (so the extractive
    fallback runs too), hashed embeddings."""

    embed = staticmethod(fake_embed)

    def count_tokens(self, name: str, text: str) -> int:
        return len(text) // 4 + 1

    def chat_tokens(self, name: str, messages: Sequence[dict[str, str]]) -> int:
        return sum(self.count_tokens(name, m["content"]) + 8 for m in messages) + 8

    def chat(
        self,
        name: str,
        messages: Sequence[dict[str, str]],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: object = None,
    ) -> Completion:
        prompt = " ".join(m["content"] for m in messages)
        return Completion(name, " Nothing to summarise.", self.count_tokens(name, prompt), 4, 0.0)

    def complete(
        self,
        name: str,
        prompt: str,
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: object = None,
    ) -> Completion:
        return Completion(name, " Nothing to summarise.", self.count_tokens(name, prompt), 4, 0.0)


@pytest.mark.parametrize(
    "text",
    [SENTENCE_RUNS["dots then a letter"], SENTENCE_RUNS["Dr. Dr. Dr."], SENTENCE_RUNS["!?!?"]],
    ids=["dots then a letter", "Dr. Dr. Dr.", "!?!?"],
)
def test_summarize_chunks_an_adversarial_text_and_answers(text: str) -> None:
    workload = SummarizeWorkload(_FakeModels())  # type: ignore[arg-type]
    events = list(workload.run(WorkloadRequest("summarize", {}, text.encode())))
    result = events[-1]
    assert result.kind == EventKind.RESULT
    assert result.meta["fallback"] == "extractive"
    assert set(result.meta["summary"].split()) <= set(text.split())
