"""Summary quality and speed of the node's language models on the project's eval calls (issue
15). Prints ONE JSON line.

    .venv/bin/python bench/eval_models.py [--calls 12] [--seed 7] [--max-sentences 3]
        [--models qwen2.5-coder-1.5b-instruct,gemma-3-270m]

The calls are bench/eval_ai.py's synthetic calls (six templates with seeded names, companies,
days, times, amounts and phone numbers; the script as the transcript, no speech recognition,
so only the summariser is measured) plus the demo's sample call. Each call goes through the
``summarize`` workload with each model. Per model:

* ``fact_recall``: the share of the call's days, times and amounts that the summary *shown*
  states (after the guard), the figure of bench/eval_ai.py (issue target >= 0.8);
* ``invented_fact_rate``: the share of the facts in the model's own sentences (before the
  guard) that are not in the call; ``shown_invented_facts``: those left after it (should be 0);
* ``role_errors_caught``: model sentences the role check dropped (first person, direction of
  the call, before/after, whose, who moves, who calls back), with examples;
  ``role_edits_made``: sentences the role check kept after an edit ("her trip" written "the
  trip", "she leaves the flight" written "the flight leaves"), with examples;
  ``guard_keep_share`` and ``fallbacks`` as in eval_ai.py;
* ``tokens_per_s``: answer and prompt speed of one fixed generation with the chosen llama.cpp
  threads (``threads``, measured at load: docs/features.md §Models), and, as the **baseline**
  measured in the same run, the same generation with the threads the project used before
  (``n_threads`` = the CPU count); ``summary_s_per_call``.

The baseline for quality is the rest of the same run: Gemma 3 270M (the previous summariser)
and an extractive summary (the guard's fallback: the most central source sentences).

Standalone: imports nothing from tests/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_ai import Call, make_call
from privcloud.cli.samples import CALL_SCRIPT
from privcloud.wire.message import EventKind, WorkloadRequest
from privcloud.workloads import grounding
from privcloud.workloads.grounding_facts import SourceIndex
from privcloud.workloads.models import (
    GEMMA_270M,
    QWEN_1_5B,
    Models,
    shared_models,
)
from privcloud.workloads.summarize import CHAT_MODELS, SummarizeWorkload
from privcloud.workloads.summarize_roles import ROLE_RULES

#: The demo's sample call and the facts a summary should state (kind, text).
SAMPLE_FACTS = (("day", "Friday"), ("time", "10:30"), ("day", "Monday"), ("time", "3 pm"))
_SPEED_PROMPT = "Write a short paragraph about a walk in the park on a sunny afternoon."
_SPEED_TOKENS = 48
TEMPLATES = ("dentist", "delivery", "meeting", "restaurant", "bank", "repair")


def calls(count: int, seed: int) -> list[tuple[str, str, list[str]]]:
    """(template, text, facts as "at <value>." probes) of ``count`` eval calls and the sample."""
    rng = random.Random(seed)
    made: list[Call] = [make_call(rng, TEMPLATES[i % len(TEMPLATES)]) for i in range(count)]
    out = [
        (
            c.template,
            c.script,
            [s.text for s in c.slots.values() if s.kind in ("day", "time", "number")],
        )
        for c in made
    ]
    out.append(("sample", CALL_SCRIPT, [text for _, text in SAMPLE_FACTS]))
    return out


def summarise(
    workload: SummarizeWorkload, model: str, text: str, max_sentences: int
) -> dict[str, Any]:
    request = WorkloadRequest(
        "summarize", {"model": model, "kind": "call", "max_sentences": max_sentences}, text.encode()
    )
    result = list(workload.run(request))[-1]
    if result.kind != EventKind.RESULT:
        raise RuntimeError(f"summary failed: {result.meta}")
    return result.meta


def recall(index: SourceIndex, shown: str, facts: list[str]) -> tuple[int, int]:
    """(stated, checkable) of ``facts`` that the source holds."""
    summary = SourceIndex(shown)
    hits = total = 0
    for value in facts:
        for fact in grounding.extract_facts(f"at {value}."):
            if index.has(fact):
                total += 1
                hits += summary.has(fact)
    return hits, total


def speed(models: Models, name: str) -> dict[str, Any]:
    """Tokens/s of one fixed generation with the chosen threads and with the CPU count (the
    earlier default), on the loaded model."""
    llama_cpp = __import__("llama_cpp")
    figures: dict[str, Any] = {}
    choice = models.llm_threads(name)
    if choice is None:
        raise RuntimeError("model not loaded")
    old = os.cpu_count() or 1
    for label, threads, batch in (
        ("chosen", choice.threads, choice.batch_threads),
        ("baseline_cpu_count", old, old),
    ):
        with models.use(name) as llm:
            llama_cpp.llama_set_n_threads(llm.ctx, threads, batch)
            llm.reset()
            tokens = llm.tokenize(_SPEED_PROMPT.encode(), add_bos=True)
            started = time.perf_counter()
            llm.eval(tokens)
            prompted = time.perf_counter()
            count = 0
            for _ in llm.generate(tokens, temp=0.0, top_k=1, reset=False):
                count += 1
                if count >= _SPEED_TOKENS:
                    break
            done = time.perf_counter()
            llama_cpp.llama_set_n_threads(llm.ctx, choice.threads, choice.batch_threads)
            llm.reset()
        figures[label] = {
            "threads": threads,
            "prompt_tokens_per_s": round(len(tokens) / (prompted - started), 1),
            "answer_tokens_per_s": round(count / (done - prompted), 1),
        }
    figures["measured_at_load"] = {
        "answer": {str(k): round(v, 1) for k, v in choice.answer_rates.items()},
        "prompt": {str(k): round(v, 1) for k, v in choice.prompt_rates.items()},
    }
    return figures


def evaluate(
    models: Models, model: str, cases: list[tuple[str, str, list[str]]], max_sentences: int
) -> dict[str, Any]:
    workload = SummarizeWorkload(models)
    t: dict[str, Any] = {"hits": 0, "n": 0, "facts": 0, "invented": 0, "shown_invented": 0}
    t |= {"sentences": 0, "grounded": 0, "fallbacks": 0, "roles": 0, "seconds": 0.0, "tokens": 0}
    t["edits"] = 0
    examples: dict[str, list[str]] = {"role_errors": [], "role_edits": [], "summaries": []}
    for template, text, facts in cases:
        started = time.perf_counter()
        meta = summarise(workload, model, text, max_sentences)
        t["seconds"] += time.perf_counter() - started
        t["tokens"] += meta["tokens"]
        index = SourceIndex(text)
        hits, total = recall(index, str(meta["summary"]), facts)
        t["hits"] += hits
        t["n"] += total
        report = meta["grounding"]
        t["sentences"] += len(report["sentences"])
        t["grounded"] += report["grounded"]
        t["fallbacks"] += meta["fallback"] is not None
        for sentence in report["sentences"]:
            found = grounding.extract_facts(sentence["text"])
            t["facts"] += len(found)
            t["invented"] += sum(not index.has(f) for f in found)
            roles = [r for r in sentence["reasons"] if r.startswith(ROLE_RULES)]
            if roles:
                t["roles"] += 1
                examples["role_errors"].append(f"{sentence['text']} -> {roles}")
            if sentence.get("edits"):
                t["edits"] += 1
                examples["role_edits"].append(f"{sentence['text']} <- {sentence['edits']}")
        shown = grounding.extract_facts(str(meta["summary"]))
        t["shown_invented"] += sum(not index.has(f) for f in shown)
        if template == "sample" or len(examples["summaries"]) < 2:
            examples["summaries"].append(str(meta["summary"]))
    return {
        "fact_recall": _rate(t["hits"], t["n"]),
        "facts_checkable": t["n"],
        "invented_fact_rate": _rate(t["invented"], t["facts"]),
        "model_facts": t["facts"],
        "shown_invented_facts": t["shown_invented"],
        "role_errors_caught": t["roles"],
        "role_edits_made": t["edits"],
        "guard_keep_share": _rate(t["grounded"], t["sentences"]),
        "fallbacks": t["fallbacks"],
        "summary_s_per_call": round(t["seconds"] / len(cases), 2),
        "tokens_per_call": round(t["tokens"] / len(cases), 1),
        "prompt": "chat template" if model in CHAT_MODELS else "few-shot completion",
        "role_error_examples": examples["role_errors"][:4],
        "role_edit_examples": examples["role_edits"][:4],
        "summary_examples": examples["summaries"][-3:],
    }


def extractive(models: Models, cases: list[tuple[str, str, list[str]]], n: int) -> dict[str, Any]:
    hits = total = 0
    for _, text, facts in cases:
        shown = " ".join(grounding.extractive_summary(text, models.embed, n))
        h, t = recall(SourceIndex(text), shown, facts)
        hits, total = hits + h, total + t
    return {"fact_recall": _rate(hits, total), "facts_checkable": total}


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-sentences", type=int, default=3)
    parser.add_argument("--models", default=f"{QWEN_1_5B},{GEMMA_270M}")
    args = parser.parse_args()
    started = time.perf_counter()
    models = shared_models()
    cases = calls(args.calls, args.seed)
    figures: dict[str, Any] = {
        "calls": len(cases),
        "seed": args.seed,
        "max_sentences": args.max_sentences,
        "transcript": "script (no ASR) + the demo's sample call",
        "models": {},
    }
    for name in args.models.split(","):
        loaded = time.perf_counter()
        with models.use(name):
            pass
        entry = {"load_s": round(time.perf_counter() - loaded, 1)}
        entry |= evaluate(models, name, cases, args.max_sentences)
        entry["tokens_per_s"] = speed(models, name)
        figures["models"][name] = entry
    figures["baseline_extractive"] = extractive(models, cases, args.max_sentences)
    qwen = figures["models"].get(QWEN_1_5B, {})
    figures["targets"] = {"fact_recall_80": (qwen.get("fact_recall") or 0) >= 0.8}
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
