"""The pieces of one ``translate`` request (:mod:`privcloud.workloads.translate`), translated
one by one with their facts checked (:class:`PieceTranslator`), and what the result says of
them (:class:`Piece`, :class:`Steps`).

Every translated piece is fact-checked (:mod:`privcloud.workloads.translate_facts`): the
source's numbers, clock times, dates and days, phone numbers, e-mails and names must be in the
translation, and a number, time, date or phone number written with digits in the translation
must be in the source (an invented "a las 10:00" is an added fact, listed in ``lost`` as
``{"kind": "added"}``). A piece that lost one is translated once more with the facts to keep
named in the system message (chat models only; at most ``limits.MAX_TRANSLATION_RETRIES`` per
request). If it still lacks one, by ``facts`` (:data:`FACT_POLICIES`): "withhold" answers the
*source* piece in its place (a listener hears the true number in the wrong language rather than
a wrong number in the right one), "flag" keeps the translation; either way the piece's
``status`` says so ("withheld" / "flagged", else "kept" or "retried") with the lost facts
(``lost``: kind and text as written in the source). An answer that cannot be a translation at
all (:func:`~privcloud.workloads.translate_answers.not_a_translation`) is always withheld, with
``{"kind": "format"}``.

Some pieces need no model (:func:`without_model`: conversational formulas, a clock time
alone); a clock time and more, cut at a comma, has only its rest translated by the model and
the time written by grammar (:func:`time_and_rest`), the rest's status and lost facts being
the piece's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privcloud import limits
from privcloud.wire.message import JSONObject
from privcloud.workloads import (
    translate_facts,
    translate_phrasebook,
    translate_times,
    translate_times_split,
)
from privcloud.workloads.engine.local import SessionPrefix
from privcloud.workloads.models import Models
from privcloud.workloads.translate_answers import clean_answer, not_a_translation
from privcloud.workloads.translate_prompts import (
    CHAT_MODELS,
    build_prompt,
    chat_messages,
    group_sentences,
    split_sentences,
)

#: What ``facts`` may ask for a piece whose translation lost a fact.
FACT_POLICIES = ("withhold", "flag")
#: Tokens the model may write per source character (plus :data:`_EXTRA_TOKENS`): enough for a
#: translation, too few for a runaway continuation.
_TOKENS_PER_CHAR = 0.6
_EXTRA_TOKENS = 16
#: Tokens a chat model may write per source character (plus :data:`_EXTRA_TOKENS`): a
#: sentence of Japanese or Chinese takes more tokens in a Latin-script language than it has
#: characters.
_CHAT_TOKENS_PER_CHAR = 1.2


class Steps:
    """Which model did what, and for how long (the result's ``steps``)."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[str, str], float] = {}

    def add(self, task: str, model: str, seconds: float) -> None:
        key = (task, model)
        self._seconds[key] = self._seconds.get(key, 0.0) + seconds

    def meta(self) -> list[JSONObject]:
        return [
            {"task": task, "model": model, "seconds": round(seconds, 3)}
            for (task, model), seconds in self._seconds.items()
        ]


@dataclass(frozen=True)
class Piece:
    """One translated piece, aligned with its source: ``status`` is "kept" (every fact
    carried over), "retried" (after a second call), "withheld" (``text`` is the source),
    "flagged" (a fact lost, kept by request), "unchanged" (same language), "phrasebook"
    (conversational formulas only, rendered without the model:
    :mod:`~privcloud.workloads.translate_phrasebook`) or "clock" (a clock time only, rendered
    without the model: :mod:`~privcloud.workloads.translate_times`)."""

    index: int
    source: str
    text: str
    status: str
    facts: int
    lost: tuple[dict[str, str], ...] = ()

    def meta(self) -> JSONObject:
        meta: JSONObject = {
            "index": self.index,
            "source": self.source,
            "text": self.text,
            "status": self.status,
            "facts": self.facts,
        }
        if self.lost:
            meta["lost"] = list(self.lost)
        return meta


def without_model(piece: str, source: str, target: str) -> tuple[str, str] | None:
    """``piece`` rendered without the language model, and its status: conversational formulas
    from the phrasebook ("phrasebook"), a clock time alone by grammar ("clock"); None: the
    model translates it."""
    formulas = translate_phrasebook.render(piece, source, target)
    if formulas is not None:
        return formulas, "phrasebook"
    time = translate_times.render(piece, source, target)
    return None if time is None else (time, "clock")


def time_and_rest(piece: str, source: str, target: str) -> translate_times_split.TimeAndRest | None:
    """``piece`` cut at a comma into a clock time, written without the model, and the rest,
    for the model (:mod:`~privcloud.workloads.translate_times_split`); None: the model
    translates it whole."""
    return translate_times_split.split(piece, source, target)


class PieceTranslator:
    """Translates the pieces of one request with language model ``llm``, checking each one's
    facts and counting the retries the request has left."""

    def __init__(
        self, models: Models, llm: str, policy: str, steps: Steps, prefix: SessionPrefix | None
    ) -> None:
        self._models = models
        self._prefix = prefix
        self.llm = llm
        self._policy = policy
        self._steps = steps
        self._retries = limits.MAX_TRANSLATION_RETRIES
        self.pieces: list[Piece] = []

    def text(self, source: str, target: str, text: str) -> list[Piece]:
        """``text`` translated piece by piece (its pieces cut before the first call)."""
        return [self.piece(source, target, p) for p in group_sentences(split_sentences(text))]

    def piece(self, source: str, target: str, piece: str) -> Piece:
        """``piece`` translated, its facts checked (retried, withheld or flagged as the module
        docstring says), and added to :attr:`pieces`."""
        index = len(self.pieces)
        if source == target:
            done = Piece(index, piece, piece, "unchanged", 0)
            self.pieces.append(done)
            return done
        rendered = without_model(piece, source, target)
        if rendered is not None:
            done = Piece(index, piece, rendered[0], rendered[1], 0)
            self.pieces.append(done)
            return done
        cut = time_and_rest(piece, source, target)
        if cut is None:
            out, status, facts, lost = self._translate(source, target, piece)
        else:  # the time by grammar, the rest by the model, joined; withheld whole or not at all
            out, status, facts, lost = self._translate(source, target, cut.rest)
            out = (
                piece
                if status == "withheld"
                else translate_times_split.join(cut, out, piece, target)
            )
            facts += 1
        done = Piece(index, piece, out, status, facts, lost)
        self.pieces.append(done)
        return done

    def _translate(
        self, source: str, target: str, piece: str
    ) -> tuple[str, str, int, tuple[dict[str, str], ...]]:
        """``piece`` through the model, its facts checked: the text, its status, the facts
        checked and the facts lost."""
        out = self._call(source, target, piece, ())
        result = translate_facts.check(piece, source, out, target)
        status = "kept"
        keep = translate_facts.must_keep(result)
        if not result.kept and self.llm in CHAT_MODELS and self._retries > 0 and keep:
            self._retries -= 1
            again = self._call(source, target, piece, keep)
            second = translate_facts.check(piece, source, again, target)
            if second.faults < result.faults and not_a_translation(piece, again, source) is None:
                out, result = again, second
            status = "retried" if result.kept else status
        lost = tuple(result.lost_meta())
        reason = not_a_translation(piece, out, source)
        if reason is not None:
            # Whatever ``facts`` asks: this is no translation (an obeyed instruction, a
            # runaway answer), so the listener gets the source.
            status, out = "withheld", piece
            lost = (*lost, {"kind": "format", "text": reason})
        elif not result.kept:
            status = "withheld" if self._policy == "withhold" else "flagged"
            out = piece if status == "withheld" else out
        return out, status, len(result.facts), lost

    def _call(self, source: str, target: str, piece: str, keep: Sequence[str]) -> str:
        if self.llm in CHAT_MODELS:
            budget = int(len(piece) * _CHAT_TOKENS_PER_CHAR) + _EXTRA_TOKENS
            done = self._models.chat(
                self.llm,
                chat_messages(source, target, piece, keep),
                max_tokens=min(limits.MAX_GENERATED_TOKENS, budget),
                # A retry's instruction names the piece's facts: read for that retry only,
                # not kept as the session's prefix.
                prefix=None if keep else self._prefix,
            )
        else:
            budget = int(len(piece) * _TOKENS_PER_CHAR) + _EXTRA_TOKENS
            done = self._models.complete(
                self.llm,
                build_prompt(source, target, piece),
                max_tokens=min(limits.MAX_GENERATED_TOKENS, budget),
                stop=["\n"],
            )
        self._steps.add("text_translation", self.llm, done.seconds)
        return clean_answer(done.text)

    def facts_meta(self) -> JSONObject:
        """Counts over the request's pieces: facts checked and lost, pieces retried, withheld
        and flagged."""
        return {
            "checked": sum(p.facts for p in self.pieces),
            "lost": sum(len(p.lost) for p in self.pieces),
            "retried": sum(p.status == "retried" for p in self.pieces),
            "withheld": sum(p.status == "withheld" for p in self.pieces),
            "flagged": sum(p.status == "flagged" for p in self.pieces),
        }


def join_pieces(pieces: Sequence[Piece], language: str) -> str:
    """The texts of ``pieces`` (empty ones left out) as one text in ``language``: with no
    space between them in Chinese, Japanese and Cantonese, else with one."""
    separator = "" if language in ("zh", "ja", "yue") else " "
    return separator.join(p.text for p in pieces if p.text)
