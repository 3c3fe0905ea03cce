"""The hallucination guard of generated summaries: keep only sentences grounded in the source.

Small language models omit and invent (docs/features.md §Models: Gemma 3 270M is a base model),
so a summary sentence is shown only when it passes four checks against the source text:

1. **Facts.** Every number, clock time, date or day, phone number, e-mail address and proper
   name in the sentence must occur in the source, compared by normalised value ("10:30" = "ten
   thirty" = "10.30 am", "$1,200" = "twelve hundred", phone numbers by their digits, names
   case-insensitively as a token sequence, plural and digits aside: "the Novaks'", "VQA-v2").
   A capitalised word that the source writes in lower case opens a sentence ("Engineers found
   ..."): it is no name, nor is the first word of a run that the source writes only in lower
   case ("Existing Chinese methods" names "Chinese") or a hyphenated lower-case tail
   ("LDA-based" names "LDA"). A number that counts a word ("seven words", "two-staged")
   fails when the source sentences near it count that word with other numbers only and none
   of them holds the number ("the two words"): found elsewhere in the source, it is still a
   changed number; so does a number after a name or label ("SQuAD 3.0") that the source
   writes after that label with other numbers only ("SQuAD 2.0"). Entity and number
   mismatches are the commonest hallucinations of abstractive summarisers (Nan et al.,
   "Entity-level Factual Consistency of Abstractive Text Summarization", EACL 2021).
2. **Support.** The sentence must be close in meaning (embedding cosine, as SummaC scores a
   summary sentence against source sentences: Laban et al., TACL 2022) to a source sentence,
   and its content words must be found in up to :data:`SUPPORT_SENTENCES` source sentences
   together (a human summary merges sentences from all over a document), so that a fluent
   invention without facts is dropped too.
3. **Polarity** (:mod:`privcloud.workloads.grounding_polarity`). Negators are stopwords to the
   first two checks, so "The refund was not approved" has the facts and words of "The refund
   was approved". A negated clause needs a negation in the source sentences closest to it and
   fails when a closer source clause states what it denies ("is gaining attention" against "is
   not gaining attention"); a positive clause fails when its words are in the scope of a source
   negation ("nobody came"), or when the source only asks it: an unanswered yes-no question, a
   condition, an embedded "if" or "whether" ("Can you tell me if the parcel arrived or not?":
   :mod:`privcloud.workloads.grounding_questions`).
4. **Relations** (:mod:`privcloud.workloads.grounding_relations`). True facts in wrong
   relations: who called whom in a labelled transcript ("Marie Lopez called Northwind Travel"
   when she called *from* it), two names joined by a verb the other way round ("City beat
   Rovers") or each standing where the source has the other ("the Denmark oak table ... in
   Fjord"), a place and what it holds exchanged ("the National Library will be displayed at
   the Portsend Map"), "from X to Y" reversed, "before" and "after" exchanged. Each gives a
   verdict only where the source states the relation in a form it can read. A name the source
   only rejects ("in Berlin, not Munich", "rather than Tom") fails when the summary states it
   (:mod:`privcloud.workloads.grounding_contrast`).

A sentence with markup or code characters (braces, backticks, tags such as ``<b>``) is dropped
as well: a summary is prose, and JSON or HTML in it means the model followed instructions
injected into the source.

**Interface.** :func:`check_summary` takes the source as text, or as a
:class:`SourceDocument` from :func:`prepare_source` when several summaries (or chunks) are
checked against one document: the source is split, embedded and indexed once (this is most of
the cost; there is deliberately no cache across documents or requests). Each
:class:`SentenceCheck` carries ``relations``: the relation errors in words (also among its
``reasons``, prefixed with :data:`RELATION_REASON`), so a caller can tell "who did what" errors
from missing facts, e.g. to re-ask a model or to explain the drop.

What the guard does not see: relations stated in forms its word-order heuristics cannot read
(a passive without "by", a relation spread over two sentences, antonyms: "the boiler stopped
working" against "has worked"), negation carried by a paraphrase only, numbers a summary
computes ("two nights" for "the nights of 17 and 18 June"), pronouns. bench/eval_guard.py
measures catch and false-alarm rates by kind on an independent set.

Thresholds are calibrated on all-MiniLM-L6-v2 and English; another embedding model needs a new
calibration.

Everything here is pure: embeddings come from the injected ``embed`` function (unit vectors,
one row per text), so tests can pass a fake and the node passes ``Models.embed``. The fact
extractor lives in :mod:`privcloud.workloads.grounding_facts`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from privcloud.errors import UsageError
from privcloud.workloads.grounding_contrast import contrast_errors
from privcloud.workloads.grounding_facts import Fact, SourceIndex, content_words, extract_facts
from privcloud.workloads.grounding_lexicon import NOT_NAMES, NUMBER_QUALIFIERS
from privcloud.workloads.grounding_polarity import (
    Clause,
    clauses,
    polarity_conflict,
    sentence_clauses,
)
from privcloud.workloads.grounding_questions import asked_only, reports_question, unasked_words
from privcloud.workloads.grounding_relations import (
    CallParties,
    SourceSentence,
    call_conflicts,
    call_parties,
    direction_conflicts,
    mentions,
    order_conflicts,
    place_conflicts,
    role_conflicts,
    swap_conflicts,
)
from privcloud.workloads.grounding_scan import Scanner
from privcloud.workloads.text import sentences as text_sentences
from privcloud.workloads.text.sentences import Span, SplitRules
from privcloud.workloads.text.stemming import stem

__all__ = [
    "Embed",
    "Fact",
    "GroundingReport",
    "SentenceCheck",
    "SourceDocument",
    "Span",
    "check_summary",
    "extract_facts",
    "extractive_summary",
    "prepare_source",
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
#: Share of the sentence's content words that its supporting sentences must contain: faithful
#: reference sentences had at least 0.5, invented sentences at most 0.33 (same calibration).
OVERLAP_FLOOR = 0.5
#: A run of words without sentence punctuation (a raw transcript) is cut after this many.
SENTENCE_WORDS_CUT = 40
#: Source sentences whose overlap is compared: the ones most similar to the summary sentence
#: (10, not 5: in a document of hundreds of words the sentence holding a summary's date is
#: often not among the five most similar).
_CANDIDATE_PASSAGES = 10
#: Marks a sentence kept in "mark" mode although it failed a check.
UNVERIFIED_MARK = "[unverified]"

# A summary is prose: braces, backticks and tags mean JSON, HTML or code (for instance output
# that a prompt injection asked for). A lone "<" or ">" before a number is arithmetic.
_MARKUP_RE = re.compile(r"[{}`]|<\s*/?\s*[A-Za-z!]|[A-Za-z\"'/]/?>")
NEGATION_REASON = "negation differs from the source passage"
#: The source only asks what the sentence states (:mod:`.grounding_questions`).
QUESTION_REASON = "the source only asks this"
#: Prefix of the reasons that are relation errors (:mod:`.grounding_relations`).
RELATION_REASON = "relation differs from the source"
#: Most source sentences that together support one summary sentence.
SUPPORT_SENTENCES = 3
#: A sentence this similar to its best source sentence is a paraphrase when it shares
#: PARAPHRASE_OVERLAP of its content words with its supporting sentences.
PARAPHRASE_SIMILARITY = 0.6
PARAPHRASE_OVERLAP = 0.34


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
    #: Relation errors (who called whom, roles, from/to, before/after), each in words; they
    #: are also among ``reasons`` with the prefix :data:`RELATION_REASON`.
    relations: tuple[str, ...] = ()
    #: Changes made to the model's sentence before it was kept, each in words (a wrong owner
    #: taken out: "'her trip' written 'the trip'"); the facts checked are unchanged.
    edits: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "kept": self.kept,
            "grounded": self.grounded,
            "reasons": list(self.reasons),
            "similarity": round(self.similarity, 3),
            "overlap": round(self.overlap, 3),
            "source_span": list(self.source_span) if self.source_span else None,
            "facts": [{"kind": f.kind, "text": f.text, "value": f.value} for f in self.facts],
            "relations": list(self.relations),
        }
        if self.edits:
            out["edits"] = list(self.edits)
        return out


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


@dataclass(frozen=True)
class SourceDocument:
    """A source text read once for any number of summary checks (:func:`prepare_source`): its
    sentences with their embeddings, content words, clauses, fact index and mentions.

    The caller holds it for one document and drops it with the document: there is no cache
    across documents or requests inside the guard (a shared cache would keep one user's text
    for the next and tell by its speed whether a text was seen before).
    """

    text: str
    sentences: tuple[Span, ...]
    vectors: npt.NDArray[Any]
    words: tuple[frozenset[str], ...]
    clauses: tuple[tuple[Clause, ...], ...]
    index: SourceIndex
    relations: tuple[SourceSentence, ...]
    parties: CallParties | None
    #: Lower-case words the source writes capitalised inside a sentence (names).
    proper: frozenset[str]
    #: Per sentence, the number keys written before each counted word (stemmed): "two words"
    #: gives {"word": {"num:2"}}.
    counts: tuple[dict[str, frozenset[str]], ...] = ()
    #: The numbers the source writes after each word, by the word in lower case
    #: (:func:`_labelled_numbers`).
    labels: dict[str, frozenset[float]] = field(default_factory=dict)
    #: The content words of its clauses that are not asked; None when none is
    #: (:func:`.grounding_questions.unasked_words`).
    unasked: frozenset[str] | None = None


_PROPER_RE = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][\w-]*")


def prepare_source(source: str, embed: Embed) -> SourceDocument:
    """Read ``source`` for :func:`check_summary`: split it into sentences, embed them in one
    batch, and index their facts, content words, clauses and mentions."""
    spans = tuple(split_sentences(source))
    texts = [s.text for s in spans]
    vectors = np.asarray(embed(texts)) if texts else np.zeros((0, 1))
    source_clauses = tuple(tuple(c) for c in sentence_clauses(texts))
    return SourceDocument(
        source,
        spans,
        vectors,
        tuple(frozenset(content_words(t, source=True)) for t in texts),
        source_clauses,
        SourceIndex(source),
        tuple(SourceSentence.read(t) for t in texts),
        call_parties(source),
        frozenset(w.lower() for w in _PROPER_RE.findall(source)),
        tuple(counted_numbers(t) for t in texts),
        _labelled_numbers(source),
        unasked_words(source_clauses),
    )


def check_summary(
    source: str | SourceDocument,
    summary: str,
    embed: Embed,
    *,
    mode: Mode = "drop",
    min_similarity: float = SIMILARITY_FLOOR,
    min_overlap: float = OVERLAP_FLOOR,
) -> GroundingReport:
    """Check every sentence of ``summary`` against ``source`` (a text, or a document read once
    by :func:`prepare_source` when several summaries are checked against it).

    Steps, per summary sentence:

    1. it must hold no markup or code characters;
    2. extract its facts (:func:`extract_facts`); each must be found in the source index;
    3. embed it (all sentences of the summary in one batch) and compare it with every source
       sentence; among the :data:`_CANDIDATE_PASSAGES` most similar ones that reach
       ``min_similarity`` take the one with the best content-word overlap, then add up to
       :data:`SUPPORT_SENTENCES` - 1 more (candidates or its neighbours) that cover more of the
       sentence's words: a summary sentence often merges several source sentences;
    4. it is supported when similarity >= ``min_similarity`` and the overlap with those
       sentences together >= ``min_overlap`` (or >= :data:`PARAPHRASE_OVERLAP` when similarity
       >= :data:`PARAPHRASE_SIMILARITY`);
    5. polarity (:mod:`privcloud.workloads.grounding_polarity`) and relations
       (:mod:`privcloud.workloads.grounding_relations`: who called whom, roles, from/to,
       before/after) must agree with the source.

    In "drop" mode ungrounded sentences are left out; in "mark" mode they are kept and flagged.
    Raises :class:`UsageError` for an unknown mode.
    """
    if mode not in ("drop", "mark"):
        raise UsageError("grounding mode must be drop or mark")
    checked = (
        "no markup or code characters ({ } < > `)",
        "numbers, times, dates, days, phone numbers, e-mails and names must occur in the source",
        f"cosine similarity to the best source sentence >= {min_similarity:.2f}",
        f"content-word overlap with up to {SUPPORT_SENTENCES} supporting sentences >= "
        f"{min_overlap:.2f} (>= {PARAPHRASE_OVERLAP:.2f} at similarity >= "
        f"{PARAPHRASE_SIMILARITY:.2f})",
        "each clause negated (not, no, never, n't, cannot, without, ...) or not as the "
        "supporting sentences",
        "who called whom, roles, from/to and before/after as the source states them",
    )
    targets = split_sentences(summary)
    if not targets:
        return GroundingReport(mode, (), checked, True, min_similarity, min_overlap)
    doc = source if isinstance(source, SourceDocument) else prepare_source(source, embed)
    vectors = np.asarray(embed([t.text for t in targets]))
    similarities = vectors @ doc.vectors.T if doc.sentences else None
    checks = []
    for row, target in enumerate(targets):
        text = target.text
        facts = tuple(extract_facts(text))
        reasons = [_missing(f) for f in facts if not doc.index.has(f)]
        if _MARKUP_RE.search(text):
            reasons.insert(0, "markup or code in the sentence")
        similarity, overlap, support, pool = _support(
            text, doc, None if similarities is None else similarities[row], min_similarity
        )
        supported = similarity >= min_similarity and (
            overlap >= min_overlap
            or (similarity >= PARAPHRASE_SIMILARITY and overlap >= PARAPHRASE_OVERLAP)
        )
        relations: list[str] = []
        if not supported:
            reasons.append(f"unsupported (similarity {similarity:.2f}, overlap {overlap:.2f})")
        else:
            wide = [(k, doc.clauses[k]) for k in dict.fromkeys([*support, *pool])]
            if polarity_conflict(text, [doc.clauses[k] for k in support], wide, doc.clauses):
                reasons.append(NEGATION_REASON)
            elif _asked_only(text, doc):
                reasons.append(QUESTION_REASON)
            nearby = [*dict.fromkeys([*support, *pool])]
            reasons += _count_errors(text, doc, nearby)
            reasons += _label_errors(text, doc)
            reasons += contrast_errors(text, doc.text)
            relations = _relation_errors(text, doc, nearby)
            reasons += [f"{RELATION_REASON}: {r}" for r in relations]
        best = support[0] if support else None
        span = None if best is None else (doc.sentences[best].start, doc.sentences[best].end)
        grounded = not reasons
        checks.append(
            SentenceCheck(
                text,
                grounded,
                grounded or mode == "mark",
                tuple(reasons),
                similarity,
                overlap,
                span,
                facts,
                tuple(relations),
            )
        )
    fallback = needs_fallback(sum(c.grounded for c in checks), len(checks))
    return GroundingReport(mode, tuple(checks), checked, fallback, min_similarity, min_overlap)


def _relation_errors(text: str, doc: SourceDocument, nearby: Sequence[int]) -> list[str]:
    # A single letter is an initial, a variable or a label ("J. Smith", "F1 score"), no party
    # that acts on another: "BERT models by achieving a 79.10 F1 score" relates no two names.
    mine = [m for m in mentions(text, doc.proper) if m.fact.kind != "name" or len(m.fact.value) > 1]
    found = call_conflicts(text, mine, doc.parties)
    found += role_conflicts(text, mine, doc.relations)
    found += swap_conflicts(text, mine, doc.relations)
    found += direction_conflicts(mine, doc.relations)
    found += place_conflicts(text, mine, doc.relations)
    found += order_conflicts(text, [doc.relations[k] for k in nearby])
    return found


def counted_numbers(source: str) -> dict[str, frozenset[str]]:
    """The number keys that ``source`` writes before each counted word (stemmed)."""
    found: dict[str, set[str]] = {}
    for fact, noun in Scanner(source, generous=True).counted():
        found.setdefault(stem(noun), set()).update(fact.keys)
    return {noun: frozenset(keys) for noun, keys in found.items()}


def _asked_only(text: str, doc: SourceDocument) -> bool:
    """Whether a positive clause of the summary sentence ``text`` is stated only as a
    question in the source (:func:`.grounding_questions.asked_only`)."""
    if doc.unasked is None or reports_question(text):
        return False
    stated = doc.unasked
    return any(asked_only(c, doc.clauses, stated) for c in clauses(text, source=False))


def _count_errors(text: str, doc: SourceDocument, nearby: Sequence[int]) -> list[str]:
    """Numbers that count a word which the ``nearby`` source sentences (those supporting the
    sentence and the candidates they were chosen from) count with other numbers only, none of
    those sentences holding the number at all ("seven words" against "the two words"; "9.5
    million pounds" passes against "from 6.2 million pounds to 9.5 million")."""
    found = []
    for fact, noun in Scanner(text, generous=False).counted():
        counting = [k for k in nearby if stem(noun) in doc.counts[k]]
        if counting and not any(set(fact.keys) & doc.words[k] for k in counting):
            found.append(f"number {fact.value} of '{noun}' differs from the source")
    return found


# A word with the number that follows it: "SQuAD 2.0", "Windows 10", "Table 3", also at a
# sentence's end ("SQuAD 2.0.") or before a suffix ("Windows 10-based"); not one part of a
# range or a longer number ("Table 3-5", "1.2.3"). In a summary only a capitalised word is
# taken for a label.
_WORD_NUMBER_RE = re.compile(r"(?<![\w.-])([^\W\d_][\w-]*) (\d+(?:\.\d+)?)(?!\w|[.-]\d)")


def _labelled_numbers(source: str) -> dict[str, frozenset[float]]:
    """The numbers ``source`` writes after each word, by the word in lower case ("SQuAD 2.0"
    and "squad 1.1" give {"squad": {2.0, 1.1}})."""
    found: dict[str, set[float]] = {}
    for word, number in _WORD_NUMBER_RE.findall(source):
        found.setdefault(word.lower(), set()).add(float(number))
    return {word: frozenset(numbers) for word, numbers in found.items()}


def _label_errors(text: str, doc: SourceDocument) -> list[str]:
    """Numbers that follow a name or label ("SQuAD 3.0") that the source writes with other
    numbers only ("SQuAD 2.0"): found elsewhere in the source, the number is still changed.
    Months, weekdays, function words and number qualifiers ("March 3", "In 2019", "Nearly
    30") are no labels, and the source is read in any case: a word that starts a sentence is
    a label only if the source never writes it, in any case, with the same number."""
    found = []
    for label, number in _WORD_NUMBER_RE.findall(text):
        low = label.lower()
        if not label[0].isupper() or low in NOT_NAMES or low in NUMBER_QUALIFIERS:
            continue
        written = doc.labels.get(low)
        if written and float(number) not in written:
            found.append(f"number {number} of '{label}' differs from the source")
    return found


def _missing(fact: Fact) -> str:
    if fact.kind == "number":
        return f"number {fact.value} not in source"
    return f"{fact.kind} '{fact.text}' not in source"


def overlap_share(sentence: str, passage: str) -> float:
    """Share of ``sentence``'s content words (stemmed, numbers by value) found in ``passage``;
    1.0 for a sentence without content words."""
    wanted = content_words(sentence)
    if not wanted:
        return 1.0
    have = content_words(passage, source=True)
    return len(wanted & have) / len(wanted)


def _support(
    sentence: str,
    doc: SourceDocument,
    similarities: npt.NDArray[Any] | None,
    min_similarity: float,
) -> tuple[float, float, list[int], list[int]]:
    """(similarity, overlap, sentence indices) of the source sentences that support
    ``sentence`` best, the best first (see :func:`check_summary`, step 3), and the candidates
    it was chosen from."""
    if similarities is None or not doc.sentences:
        return 0.0, 0.0, [], []
    order = [int(k) for k in np.argsort(-similarities, kind="stable")[:_CANDIDATE_PASSAGES]]
    wanted = frozenset(content_words(sentence))
    pool = [k for k in order if similarities[k] >= min_similarity] or order[:1]
    best = max(pool, key=lambda k: (len(wanted & doc.words[k]), float(similarities[k])))
    support = [best]
    covered = wanted & doc.words[best]
    extra = [*pool, best - 1, best + 1]
    while len(support) < SUPPORT_SENTENCES and len(covered) < len(wanted):
        gains = [
            (len((wanted & doc.words[k]) - covered), -n, k)
            for n, k in enumerate(extra)
            if 0 <= k < len(doc.sentences) and k not in support
        ]
        if not gains or max(gains)[0] == 0:
            break
        pick = max(gains)[2]
        support.append(pick)
        covered |= wanted & doc.words[pick]
    overlap = len(covered) / len(wanted) if wanted else 1.0
    return float(similarities[best]), overlap, support, pool


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
