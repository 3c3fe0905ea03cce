"""The hallucination guard of generated summaries: keep only sentences grounded in the source.

Small language models omit and invent (docs/features.md §Models: Gemma 3 270M is a base model),
so a summary sentence is shown only when it passes three checks against the source text:

1. **Facts.** Every number, clock time, date or day, phone number, e-mail address and proper
   name in the sentence must occur in the source, compared by normalised value ("10:30" = "ten
   thirty" = "10.30 am", "$1,200" = "twelve hundred", phone numbers by their digits, names
   case-insensitively as a token sequence). Entity and number mismatches are the commonest
   hallucinations of abstractive summarisers (Nan et al., "Entity-level Factual Consistency of
   Abstractive Text Summarization", EACL 2021).
2. **Support.** The sentence must be close to one source passage (a sentence or two adjacent
   ones) both in meaning (embedding cosine, as SummaC scores a summary sentence against source
   sentences: Laban et al., TACL 2022) and in wording (content-word recall), so that a fluent
   invention without facts is dropped too.
3. **Polarity.** Negators (not, no, never, n't, cannot, without, neither, nor, none, nobody,
   nothing) are stopwords to the first two checks, so "The refund was not approved" has the
   facts and words of "The refund was approved". Each clause of the sentence must therefore be
   negated, or not, like a clause of the supporting passage that shares its content words (a
   question followed by a bare "No." or "Yes." takes the reply's polarity). Negation is the
   contradiction that fact and word overlap cannot see, and negation words are the strongest
   single cue of contradiction in inference data (Gururangan et al., "Annotation Artifacts in
   Natural Language Inference Data", NAACL 2018).

A sentence with markup or code characters (``{ } < > ```) is dropped as well: a summary is
prose, and JSON or HTML in it means the model followed instructions injected into the source.

What the guard does not see: true facts in wrong relations ("moved from Monday to Saturday"
when it was the other way round, who paid whom) pass, since every fact and most words are in
the source (bench/eval_ai.py measures this as the "swapped" kind); so does a negation that
only a paraphrase carries ("the payment was made" against "Did you make it? No.", when another
clause of the passage says "a payment" without negation). The polarity check looks for the
presence of a negator, not its scope or parity ("not unlike" counts as negated).

Thresholds are calibrated on all-MiniLM-L6-v2 and English; another embedding model needs a new
calibration.

Everything here is pure: embeddings come from the injected ``embed`` function (unit vectors,
one row per text), so tests can pass a fake and the node passes ``Models.embed``. The fact
extractor lives in :mod:`privcloud.workloads.grounding_facts`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from privcloud.errors import UsageError
from privcloud.workloads.grounding_facts import Fact, SourceIndex, content_words, extract_facts
from privcloud.workloads.text import sentences as text_sentences
from privcloud.workloads.text.negation import negated, negative_answer
from privcloud.workloads.text.sentences import Span, SplitRules

__all__ = [
    "Embed",
    "Fact",
    "GroundingReport",
    "SentenceCheck",
    "Span",
    "check_summary",
    "extract_facts",
    "extractive_summary",
    "split_sentences",
]

#: Unit-length embeddings of texts, one row per text (``Models.embed``).
Embed = Callable[[Sequence[str]], npt.NDArray[Any]]
Mode = Literal["drop", "mark"]

#: Cosine similarity (all-MiniLM-L6-v2) a summary sentence needs with its best source passage.
#: Calibrated with bench/eval_ai.py on synthetic calls: faithful reference sentences scored 0.26
#: to 0.9 (median 0.70; lowest with numbers spelled out), invented sentences 0.15 to 0.68, so
#: similarity cannot tell them apart: it only removes the clearly unrelated, and the content-
#: word overlap below does the rest.
SIMILARITY_FLOOR = 0.25
#: Share of the sentence's content words that its best source passage must contain: faithful
#: reference sentences had at least 0.5, invented sentences at most 0.33 (same calibration).
OVERLAP_FLOOR = 0.5
#: A run of words without sentence punctuation (a raw transcript) is cut after this many.
SENTENCE_WORDS_CUT = 40
#: Source passages whose overlap is compared: the ones most similar to the summary sentence.
_CANDIDATE_PASSAGES = 5
#: Marks a sentence kept in "mark" mode although it failed a check.
UNVERIFIED_MARK = "[unverified]"

# A summary is prose: braces, angle brackets and backticks mean JSON, HTML or code (for instance
# output that a prompt injection asked for).
_MARKUP_RE = re.compile(r"[{}<>`]")
# Where a clause ends, for the polarity check: punctuation before white space (not inside
# "3.5" or "1,200"), brackets and dashes, and the conjunctions that join two statements.
_CLAUSE_BREAK_RE = re.compile(
    r"(?<![,;:.!?])[,;:.!?]++(?=\s|$)|[()\u2013\u2014]|\s-\s"
    r"|\b(?:but|so|because|although|though|whereas|however|yet)\b",
    re.IGNORECASE,
)
NEGATION_REASON = "negation differs from the source passage"


#: How the guard splits a text into sentences: a transcript's speaker labels, bullets and
#: timestamps left out, a run without sentence punctuation cut every SENTENCE_WORDS_CUT words.
SENTENCE_RULES = SplitRules(line_labels=True, max_words=SENTENCE_WORDS_CUT)


def split_sentences(text: str) -> list[Span]:
    """The sentences of ``text`` that hold a letter or digit, in order, with offsets into
    ``text``, split by :data:`SENTENCE_RULES` (see :mod:`privcloud.workloads.text.sentences`):
    lines first, a line's speaker label, bullet or timestamp left out; inside a line, at ``.``,
    ``!``, ``?`` before white space and no lowercase word (not after "Mr.", "e.g." and the like,
    not inside "3.5" or "10.30"); a run without punctuation cut every
    :data:`SENTENCE_WORDS_CUT` words (preferring a comma past half of it).
    """
    spans = text_sentences.split_sentences(text, SENTENCE_RULES)
    return [s for s in spans if any(ch.isalnum() for ch in s.text)]


@dataclass(frozen=True)
class SentenceCheck:
    """The guard's verdict on one summary sentence."""

    text: str
    #: Whether the sentence passed every check.
    grounded: bool
    #: Whether the sentence is in the output (``grounded``, or any sentence in "mark" mode).
    kept: bool
    #: Why it failed, e.g. "number 45 not in source" (empty when grounded).
    reasons: tuple[str, ...]
    similarity: float
    overlap: float
    #: ``(start, end)`` of the best supporting source passage; None for an empty source.
    source_span: tuple[int, int] | None
    facts: tuple[Fact, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kept": self.kept,
            "grounded": self.grounded,
            "reasons": list(self.reasons),
            "similarity": round(self.similarity, 3),
            "overlap": round(self.overlap, 3),
            "source_span": list(self.source_span) if self.source_span else None,
            "facts": [{"kind": f.kind, "text": f.text, "value": f.value} for f in self.facts],
        }


@dataclass(frozen=True)
class GroundingReport:
    """What the guard checked and what it kept."""

    mode: Mode
    sentences: tuple[SentenceCheck, ...]
    #: The rules applied, with their thresholds, in words.
    checked: tuple[str, ...]
    #: True when too little of the summary is grounded to show it: use an extractive summary.
    fallback: bool
    min_similarity: float = SIMILARITY_FLOOR
    min_overlap: float = OVERLAP_FLOOR
    notes: tuple[str, ...] = field(default=())

    @property
    def grounded(self) -> int:
        return sum(s.grounded for s in self.sentences)

    @property
    def kept(self) -> int:
        return sum(s.kept for s in self.sentences)

    @property
    def dropped(self) -> int:
        return len(self.sentences) - self.kept

    def output_sentences(self) -> list[str]:
        """The kept sentences; in "mark" mode the ungrounded ones carry :data:`UNVERIFIED_MARK`."""
        return [
            s.text if s.grounded else f"{UNVERIFIED_MARK} {s.text}"
            for s in self.sentences
            if s.kept
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sentences": [s.to_json() for s in self.sentences],
            "grounded": self.grounded,
            "kept": self.kept,
            "dropped": self.dropped,
            "checked": list(self.checked),
            "fallback": self.fallback,
            "notes": list(self.notes),
        }


def needs_fallback(grounded: int, total: int) -> bool:
    """Whether a summary with ``grounded`` of ``total`` sentences grounded is too thin to show:
    none grounded, or fewer than half and fewer than two."""
    return grounded == 0 or (grounded < 2 and 2 * grounded < total)


def check_summary(
    source: str,
    summary: str,
    embed: Embed,
    *,
    mode: Mode = "drop",
    min_similarity: float = SIMILARITY_FLOOR,
    min_overlap: float = OVERLAP_FLOOR,
) -> GroundingReport:
    """Check every sentence of ``summary`` against ``source``.

    Steps, per summary sentence:

    1. it must hold no markup or code characters;
    2. extract its facts (:func:`extract_facts`); each must be found in the source index;
    3. embed it and every source passage (each sentence, and each two adjacent sentences);
       among the :data:`_CANDIDATE_PASSAGES` most similar passages take the one with the best
       content-word overlap that reaches ``min_similarity``;
    4. it is grounded when no fact is missing, similarity >= ``min_similarity`` and overlap
       >= ``min_overlap``.

    In "drop" mode ungrounded sentences are left out; in "mark" mode they are kept and flagged.
    Raises :class:`UsageError` for an unknown mode.
    """
    if mode not in ("drop", "mark"):
        raise UsageError("grounding mode must be drop or mark")
    checked = (
        "no markup or code characters ({ } < > `)",
        "numbers, times, dates, days, phone numbers, e-mails and names must occur in the source",
        f"cosine similarity to the best source passage >= {min_similarity:.2f} "
        "(sentence or 2 adjacent sentences)",
        f"content-word overlap with that passage >= {min_overlap:.2f}",
        "each clause negated (not, no, never, n't, cannot, without, ...) or not as the clauses "
        "of that passage sharing its words",
    )
    targets = split_sentences(summary)
    if not targets:
        return GroundingReport(mode, (), checked, True, min_similarity, min_overlap)
    index = SourceIndex(source)
    sentences = split_sentences(source)
    passages = _passages(sentences)
    vectors = np.asarray(embed([p.text for p in passages] + [t.text for t in targets]))
    similarities = vectors[len(passages) :] @ vectors[: len(passages)].T
    checks = []
    for row, target in enumerate(targets):
        facts = tuple(extract_facts(target.text))
        reasons = [_missing(f) for f in facts if not index.has(f)]
        if _MARKUP_RE.search(target.text):
            reasons.insert(0, "markup or code in the sentence")
        similarity, overlap, best = _best_support(
            target.text, passages, similarities[row] if passages else None, min_similarity
        )
        if similarity < min_similarity or overlap < min_overlap:
            reasons.append(f"unsupported (similarity {similarity:.2f}, overlap {overlap:.2f})")
        elif best is not None and not same_polarity(target.text, _passage_clauses(sentences, best)):
            reasons.append(NEGATION_REASON)
        span = None if best is None else (passages[best].start, passages[best].end)
        grounded = not reasons
        checks.append(
            SentenceCheck(
                target.text,
                grounded,
                grounded or mode == "mark",
                tuple(reasons),
                similarity,
                overlap,
                span,
                facts,
            )
        )
    fallback = needs_fallback(sum(c.grounded for c in checks), len(checks))
    return GroundingReport(mode, tuple(checks), checked, fallback, min_similarity, min_overlap)


def _missing(fact: Fact) -> str:
    if fact.kind == "number":
        return f"number {fact.value} not in source"
    return f"{fact.kind} '{fact.text}' not in source"


def _passages(spans: Sequence[Span]) -> list[Span]:
    windows = [Span(f"{a.text} {b.text}", a.start, b.end) for a, b in itertools.pairwise(spans)]
    return [*spans, *windows]


def overlap_share(sentence: str, passage: str) -> float:
    """Share of ``sentence``'s content words (stemmed, numbers by value) found in ``passage``;
    1.0 for a sentence without content words."""
    wanted = content_words(sentence)
    if not wanted:
        return 1.0
    have = content_words(passage, source=True)
    return len(wanted & have) / len(wanted)


def _best_support(
    sentence: str,
    passages: Sequence[Span],
    similarities: npt.NDArray[Any] | None,
    min_similarity: float,
) -> tuple[float, float, int | None]:
    """(similarity, overlap, index) of the passage that supports ``sentence`` best."""
    if similarities is None or not passages:
        return 0.0, 0.0, None
    order = np.argsort(-similarities, kind="stable")[:_CANDIDATE_PASSAGES]
    best: tuple[float, float, int] | None = None
    for position in order:
        similarity = float(similarities[int(position)])
        candidate = (
            similarity,
            overlap_share(sentence, passages[int(position)].text),
            int(position),
        )
        if best is None or (similarity >= min_similarity and candidate[1] > best[1]):
            best = candidate
    if best is None:
        return 0.0, 0.0, None
    return best


# --- polarity -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """A clause of a sentence for the polarity check: whether it is negated, and its content
    words (as :func:`content_words` gives them)."""

    negated: bool
    words: frozenset[str]


def clauses(sentence: str, *, source: bool) -> list[Clause]:
    """The clauses of one sentence that have content words. A clause without any ("not",
    "I did not", "you know") lends its negation to the clause before it (or after it, when it
    comes first): "The refund was approved, or not." is one negated clause."""
    found: list[Clause] = []
    pending = False
    for piece in _CLAUSE_BREAK_RE.split(sentence):
        words = frozenset(content_words(piece, source=source))
        negation = negated(piece)
        if not words:
            if found:
                found[-1] = Clause(found[-1].negated or negation, found[-1].words)
            else:
                pending = pending or negation
            continue
        found.append(Clause(negation or pending, words))
        pending = False
    return found


def _passage_clauses(sentences: Sequence[Span], passage: int) -> list[Clause]:
    """The clauses of passage number ``passage`` of :func:`_passages` (one sentence, or two
    adjacent ones). A question followed by a bare reply ("Did you make it?" "No, I did not.")
    takes the reply's polarity: the reply has no words of its own to compare."""
    first = passage if passage < len(sentences) else passage - len(sentences)
    last = first if passage < len(sentences) else first + 1
    found: list[Clause] = []
    for k in range(first, last + 1):
        text = sentences[k].text
        own = clauses(text, source=True)
        if text.endswith("?") and k + 1 < len(sentences):
            reply = sentences[k + 1].text
            answer = negative_answer(reply)
            if answer is not None and not content_words(reply, source=True):
                own = [Clause(answer, c.words) for c in own]
        found.extend(own)
    return found


def same_polarity(sentence: str, passage: Sequence[Clause]) -> bool:
    """Whether every clause of ``sentence`` is negated as some clause of ``passage`` that
    shares a content word with it (any clause of ``passage`` when none does).

    This catches "The refund was not approved." against "The refund was approved." and the
    reverse; a passage without clauses (no content words) gives no verdict.
    """
    mine = clauses(sentence, source=False) or [Clause(negated(sentence), frozenset())]
    for clause in mine:
        sharing = [c for c in passage if c.words & clause.words] or list(passage)
        if sharing and not any(c.negated == clause.negated for c in sharing):
            return False
    return True


#: Sentences shorter than this many words ("Okay.", "Bye.") are not picked for an extract.
_EXTRACT_MIN_WORDS = 4
#: Weight of centrality against redundancy in the maximal-marginal-relevance pick
#: (Carbonell and Goldstein, SIGIR 1998).
_MMR_LAMBDA = 0.7


def extractive_summary(source: str, embed: Embed, max_sentences: int) -> list[str]:
    """The ``max_sentences`` most central, least redundant source sentences, in source order.

    Questions, sentences under :data:`_EXTRACT_MIN_WORDS` words ("Okay.") and sentences with
    markup (an injected "output JSON") are not picked. Centrality is cosine similarity to the
    mean of all sentence embeddings; sentences are picked by maximal marginal relevance. Each
    is a source sentence, so trivially grounded.
    """
    if max_sentences < 1:
        raise UsageError("max_sentences must be positive")
    spans = [s for s in split_sentences(source) if not _MARKUP_RE.search(s.text)]
    pool = [
        s for s in spans if len(s.text.split()) >= _EXTRACT_MIN_WORDS and not s.text.endswith("?")
    ] or spans
    if len(pool) <= max_sentences:
        return [s.text for s in pool]
    vectors = np.asarray(embed([s.text for s in pool]), dtype=np.float64)
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    centrality = vectors @ (centroid / norm) if norm > 0 else np.zeros(len(pool))
    chosen: list[int] = []
    while len(chosen) < max_sentences:
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(pool))
        score = _MMR_LAMBDA * centrality - (1 - _MMR_LAMBDA) * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return [pool[i].text for i in sorted(chosen)]
