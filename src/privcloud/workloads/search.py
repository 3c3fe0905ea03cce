"""The ``search`` workload: private semantic search over items the device sends with the query.

The device sends its own items (notes, messages, file names and their text) with each query and
the node keeps nothing: no index, no cache of embeddings between requests, no file. Items are
embedded with all-MiniLM-L6-v2 (sentence-transformers; unit vectors, so a dot product is the
cosine similarity) and ranked by how close they are to the query.

Body (UTF-8 JSON, bounded before parsing)::

    {"query": str, "items": [{"id": str, "text": str}, ...],
     "top_k": int (1..MAX_SEARCH_RESULTS, default 5), "min_score": float (optional, -1..1),
     "lexical_weight": float (optional, 0..1, default 0.2)}

Scoring, in order:

1. Each item's text is cut into passages of ``PASSAGE_WORDS`` words that overlap by
   ``PASSAGE_OVERLAP`` words: the model reads at most 256 word pieces (about 190 English
   words), so a long item would otherwise be judged by its first paragraph only.
2. A passage's semantic score is the cosine of its embedding and the query's, in [-1, 1].
3. Its lexical score is BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework:
   BM25 and Beyond", 2009; k1 = 1.2, b = 0.75) of the query's words (less common function
   words) over this request's passages, divided by the most a passage could score (all the
   query's words, many times over), so that it lies in [0, 1]. It helps with names, numbers and
   rare words, which small embedding models blur.
4. A passage's score is ``(1 - w) * semantic + w * lexical`` (``w`` = ``lexical_weight``; 0 gives
   the pure cosine), so it stays in [-1, 1].
5. An item's score is its best passage's, reported with that passage's character offsets
   (``"passage": {"start", "end"}``). Blank items are never results.
6. Items are ranked by score (ties: the order they were sent in), those under ``min_score``
   are dropped, and the first ``top_k`` returned.

Result meta: ``{"results": [{"id", "score", "rank", "passage"}], "model", "items", "passages",
"lexical_weight"}``. No items: ``results`` is empty and no model is touched.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError
from privcloud.wire import jsonio
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.base import ModelWorkload
from privcloud.workloads.models import MINILM_L6, Models

#: Words per passage and words shared by neighbouring passages (see step 1).
PASSAGE_WORDS = 160
PASSAGE_OVERLAP = 40
DEFAULT_LEXICAL_WEIGHT = 0.2
_BM25_K1 = 1.2
_BM25_B = 0.75
_FIELDS = frozenset({"query", "items", "top_k", "min_score", "lexical_weight"})
_ITEM_FIELDS = frozenset({"id", "text"})
_WORD = re.compile(r"\S+")
_TERM = re.compile(r"\w+")
#: English function words left out of the lexical score (they match everything).
_STOPWORDS = frozenset(
    _TERM.findall(
        "a an and are as at be but by can do does for from had has have how i if in into is it "
        "its me my no not of on or our so that the their then there these they this to was we "
        "what when where which who why will with you your"
    )
)


@dataclass(frozen=True)
class SearchRequest:
    """A parsed, bounded search request."""

    query: str
    ids: tuple[str, ...]
    texts: tuple[str, ...]
    top_k: int
    min_score: float | None
    lexical_weight: float


def parse_request(body: bytes) -> SearchRequest:
    """Parse and bound a search body; raises :class:`DecodeError` or :class:`TooLargeError`
    with fixed messages (never quoting the body)."""
    if len(body) > limits.MAX_WORKLOAD_INPUT:
        raise TooLargeError("search request too large")
    obj: Any = jsonio.loads(body, max_bytes=limits.MAX_WORKLOAD_INPUT)
    if not isinstance(obj, dict):
        raise DecodeError("the search request must be a JSON object")
    if not set(obj) <= _FIELDS:
        raise DecodeError("the search request has an unknown field")
    query = params.text(obj, "query", max_chars=limits.MAX_QUERY_CHARS)
    items = obj.get("items")
    if not isinstance(items, list):
        raise DecodeError("parameter 'items' must be a list")
    if len(items) > limits.MAX_SEARCH_ITEMS:
        raise TooLargeError("too many search items")
    ids: list[str] = []
    texts: list[str] = []
    for item in items:
        if not isinstance(item, dict) or set(item) != _ITEM_FIELDS:
            raise DecodeError("each search item must be an object with 'id' and 'text'")
        ids.append(params.text(item, "id", max_chars=limits.MAX_NAME_PARAM_CHARS))
        texts.append(
            params.text(item, "text", max_chars=limits.MAX_SEARCH_ITEM_CHARS, allow_empty=True)
        )
    if len(set(ids)) != len(ids):
        raise DecodeError("search item ids must be unique")
    min_score = None
    if obj.get("min_score") is not None:
        min_score = params.number(obj, "min_score", -1.0, lo=-1.0, hi=1.0)
    return SearchRequest(
        query=query,
        ids=tuple(ids),
        texts=tuple(texts),
        top_k=params.integer(obj, "top_k", 5, lo=1, hi=limits.MAX_SEARCH_RESULTS),
        min_score=min_score,
        lexical_weight=params.number(obj, "lexical_weight", DEFAULT_LEXICAL_WEIGHT, lo=0.0, hi=1.0),
    )


def passages(text: str) -> list[tuple[int, int]]:
    """Character spans of the overlapping passages of ``text`` (none when it is blank)."""
    words = [m.span() for m in _WORD.finditer(text)]
    spans = []
    step = PASSAGE_WORDS - PASSAGE_OVERLAP
    for first in range(0, max(1, len(words)), step):
        chunk = words[first : first + PASSAGE_WORDS]
        if chunk:
            spans.append((chunk[0][0], chunk[-1][1]))
        if first + PASSAGE_WORDS >= len(words):
            break
    return spans


def bm25(query: str, docs: Sequence[str]) -> list[float]:
    """BM25 of ``query``'s words (less common English function words) for each of ``docs``,
    divided by the most any document could score (every word, many times): in [0, 1]."""
    terms = set(_TERM.findall(query.lower())) - _STOPWORDS
    bags = [Counter(_TERM.findall(doc.lower())) for doc in docs]
    if not terms or not bags:
        return [0.0] * len(docs)
    lengths = [sum(bag.values()) for bag in bags]
    average = max(1.0, sum(lengths) / len(lengths))
    idf = {}
    for term in terms:
        df = sum(1 for bag in bags if term in bag)
        idf[term] = math.log(1 + (len(bags) - df + 0.5) / (df + 0.5))
    ceiling = sum(idf.values()) * (_BM25_K1 + 1)
    scores = []
    for bag, length in zip(bags, lengths, strict=True):
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * length / average)
        score = sum(idf[t] * bag[t] * (_BM25_K1 + 1) / (bag[t] + norm) for t in terms if t in bag)
        scores.append(min(1.0, score / ceiling))
    return scores


def rank(request: SearchRequest, models: Models) -> JSONObject:
    """Score and rank the request's items (steps 1 to 6 of the module docstring)."""
    owners: list[int] = []
    spans: list[tuple[int, int]] = []
    for index, text in enumerate(request.texts):
        for span in passages(text):
            owners.append(index)
            spans.append(span)
            if len(spans) > limits.MAX_SEARCH_PASSAGES:
                raise TooLargeError("too much text to search")
    meta: JSONObject = {
        "results": [],
        "model": MINILM_L6,
        "items": len(request.texts),
        "passages": len(spans),
        "lexical_weight": request.lexical_weight,
    }
    if not spans:
        return meta
    docs = [request.texts[i][a:b] for i, (a, b) in zip(owners, spans, strict=True)]
    vectors = models.embed([request.query, *docs])
    semantic = (vectors[1:] @ vectors[0]).tolist()
    lexical = bm25(request.query, docs) if request.lexical_weight > 0 else [0.0] * len(docs)
    w = request.lexical_weight
    best: dict[int, tuple[float, int]] = {}
    for p, (owner, cosine, lex) in enumerate(zip(owners, semantic, lexical, strict=True)):
        score = max(-1.0, min(1.0, (1 - w) * float(cosine) + w * lex))
        if owner not in best or score > best[owner][0]:
            best[owner] = (score, p)
    order = sorted(best, key=lambda i: (-best[i][0], i))
    if request.min_score is not None:
        order = [i for i in order if best[i][0] >= request.min_score]
    for position, index in enumerate(order[: request.top_k], start=1):
        score, p = best[index]
        meta["results"].append(
            {
                "id": request.ids[index],
                "score": round(score, 6),
                "rank": position,
                "passage": {"start": spans[p][0], "end": spans[p][1]},
            }
        )
    return meta


class SearchWorkload(ModelWorkload):
    """``search``: ranks the items of the request body against its query (one RESULT)."""

    name = "search"

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        yield Event(EventKind.RESULT, rank(parse_request(request.body), self._models))
