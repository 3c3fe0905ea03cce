"""Short call fragments translated: what the node renders without the language model (the
phrasebook of conversational formulas, the clock) against the language model alone (issue
16's translations of a live call; issue 15's translation). Prints ONE JSON line.

    .venv/bin/python bench/eval_fragments.py [--set FILE] [--dump FILE] [--judged FILE]
                                             [--baseline-from DUMP]

The sets (bench/data/fragments/, see its README): ``fragments.jsonl``, 170 utterances of 1-6
words in seven languages, each with a target language and the renderings a bilingual listener
accepts; 119 are conversational formulas ("Okay, thanks.", "¿Diga?"), 51 short content ("At
nine.", "Thanks for the flowers.") that must still reach the model; ``heldout.jsonl``, 126
short content utterances written later; ``times.jsonl``, 84 clock times alone (kind "time")
or with more said ("time+"); ``times2.jsonl``, 126 more, with "notime" pieces that only look
like a time (durations, prices, counts, platform numbers), which nothing may take. Each is
translated as a live call translates a piece (:class:`privcloud.live.steps.Translator`: the
``translate`` workload in text mode, the call's session prefix, the fact check):

* **baseline**: the same translator with the phrasebook and the clock switched off (the model
  for every piece);
* **phrasebook**: as the node translates now. A piece neither renders gets the model's
  answer, which is the baseline's for that piece (the model decodes greedily, so the same
  call gives the same answer; it is not called twice); a clock time and more, cut at a comma
  (``clock+model``), has its rest translated by the model here.

``accepted``: the answer is one of the listed renderings, case, punctuation and spacing set
aside (accents kept). The lists are not complete, so an answer not on its list is not
necessarily wrong: ``--judged FILE`` reads verdicts on such answers (``{"id", "answer",
"ok"}`` per line, written blind to which system gave the answer) and counts
``accepted_or_judged`` too; ``unjudged`` says how many answers off the lists have no verdict.
``took``: pieces rendered without the model, by kind and renderer (a content piece taken by
the phrasebook is a fault). ``model_seconds_per_piece``: the model's time per piece it
translated, in the baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

DATA = Path(__file__).parent / "data" / "fragments"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from privcloud.live.steps import Translator  # noqa: E402
from privcloud.workloads import translate_pieces  # noqa: E402
from privcloud.workloads.models import Models  # noqa: E402


def _norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[¿¡?!.,;:…\"«»()\u201c\u201d\u201e-]", " ", text)
    return " ".join(text.split())


_TRANSLATORS: dict[tuple[str, str], Translator] = {}
_MODELS: list[Models] = []


def _translator(pair: tuple[str, str], llm: str | None) -> Translator:
    """One live-call translator per language pair, over one set of loaded models."""
    if not _MODELS:
        _MODELS.append(Models())
    if pair not in _TRANSLATORS:
        _TRANSLATORS[pair] = Translator(_MODELS[0], llm)
        _TRANSLATORS[pair].prepare(*pair)
    return _TRANSLATORS[pair]


def _baseline(rows: list[dict[str, Any]], llm: str | None) -> tuple[list[str], float]:
    """The model's answer to every row, the phrasebook and the clock off; and its seconds per
    piece."""
    answers, seconds = [], 0.0
    with (
        mock.patch.object(translate_pieces, "without_model", return_value=None),
        mock.patch.object(translate_pieces, "time_and_rest", return_value=None),
    ):
        for row in rows:
            pair = (str(row["source_language"]), str(row["target_language"]))
            translator = _translator(pair, llm)
            start = time.perf_counter()
            answers.append(translator(str(row["text"]), *pair).text)
            seconds += time.perf_counter() - start
    return answers, seconds / max(1, len(rows))


def _rendered(row: dict[str, Any], llm: str | None) -> tuple[str, str] | None:
    """How the node renders ``row`` other than by the model alone: without it ("phrasebook",
    "clock") or a time by grammar and the rest by the model ("clock+model"); None: the model
    alone, the baseline's answer."""
    pair = (str(row["source_language"]), str(row["target_language"]))
    done = translate_pieces.without_model(str(row["text"]), *pair)
    if done is not None or translate_pieces.time_and_rest(str(row["text"]), *pair) is None:
        return done
    return _translator(pair, llm)(str(row["text"]), *pair).text, "clock+model"


def _score(
    rows: list[dict[str, Any]],
    answers: list[str],
    judged: dict[tuple[str, str], bool],
    kinds: list[str],
) -> dict[str, object]:
    out: dict[str, object] = {}
    for kind in (*kinds, "all"):
        picked = [
            (row, answer)
            for row, answer in zip(rows, answers, strict=True)
            if kind in ("all", row["kind"])
        ]
        listed = [_norm(answer) in {_norm(str(a)) for a in row["accept"]} for row, answer in picked]
        verdicts = [
            ok or judged.get((str(row["id"]), _norm(answer)), False)
            for ok, (row, answer) in zip(listed, picked, strict=True)
        ]
        unjudged = sum(
            not ok and (str(row["id"]), _norm(answer)) not in judged
            for ok, (row, answer) in zip(listed, picked, strict=True)
        )
        out[kind] = {
            "n": len(picked),
            "accepted": round(sum(listed) / len(picked), 3),
            "accepted_or_judged": round(sum(verdicts) / len(picked), 3),
            "unjudged": unjudged,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", default=str(DATA / "fragments.jsonl"))
    parser.add_argument("--model", default=None, help="language model (default: the node's)")
    parser.add_argument("--dump", help="write every row with both answers to this JSONL file")
    parser.add_argument("--judged", help="verdicts on answers off the lists (JSONL)")
    parser.add_argument(
        "--baseline-from",
        metavar="DUMP",
        help="take the model's answers from an earlier --dump of the same set instead of "
        "running the model again (the model decodes greedily: the same answers)",
    )
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.set).read_text("utf-8").splitlines() if line]
    judged: dict[tuple[str, str], bool] = {}
    if args.judged:
        for line in Path(args.judged).read_text("utf-8").splitlines():
            if line.strip():
                verdict = json.loads(line)
                judged[(verdict["id"], _norm(verdict["answer"]))] = bool(verdict["ok"])
    if args.baseline_from:
        dumped = [
            json.loads(line)
            for line in Path(args.baseline_from).read_text("utf-8").split("\n")
            if line
        ]
        if [d["id"] for d in dumped] != [row["id"] for row in rows]:
            parser.error("--baseline-from: the dump is of another set")
        base, seconds = [str(d["baseline"]) for d in dumped], float("nan")
    else:
        base, seconds = _baseline(rows, args.model)
    rendered = [_rendered(row, args.model) for row in rows]
    ours = [r[0] if r is not None else b for r, b in zip(rendered, base, strict=True)]
    kinds = sorted({str(row["kind"]) for row in rows})
    took = {
        kind: {
            status: sum(
                r is not None and r[1] == status and row["kind"] == kind
                for r, row in zip(rendered, rows, strict=True)
            )
            for status in ("phrasebook", "clock", "clock+model")
        }
        for kind in kinds
    }
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as fh:
            for row, b, o, r in zip(rows, base, ours, rendered, strict=True):
                record = {**row, "baseline": b, "phrasebook": o, "took": r is not None}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    out = {
        "bench": "eval_fragments",
        "rows": len(rows),
        "baseline": _score(rows, base, judged, kinds),
        "phrasebook": _score(rows, ours, judged, kinds),
        "took": took,
        "model_seconds_per_piece": None if args.baseline_from else round(seconds, 3),
    }
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
