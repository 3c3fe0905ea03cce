"""The node's language model on a GPU: the same prompts the node's workloads send, answered on
the GPU, and those answers put back through the workloads (issue 15: "if a GPU machine is lent
to your session, run the node workloads on it and report the figures"). Three steps:

    # 1. here (CPU, llama.cpp): run the workloads and record every prompt they send
    .venv/bin/python bench/gpu_node.py record --out .gpu/prompts.json
    # 2. on the GPU machine (PyTorch + transformers + gguf, no privcloud import): answer them
    python3 bench/gpu_node.py answer --prompts .gpu/prompts.json --gguf MODEL.gguf --out OUT.json
    # 3. here: replay the GPU's answers through the workloads (guard, role and fact checks)
    .venv/bin/python bench/gpu_node.py replay --prompts .gpu/prompts.json --answers OUT.json

``record`` runs bench/eval_models.py's eval calls through ``summarize``, sentences of
bench/data/translate_pairs through ``translate`` (text), and three chat turns, with the node
model (Qwen2.5-Coder 1.5B Instruct, GGUF Q4_K_M) on llama.cpp, and keeps each prompt *as the
token ids the in-process engine built* (ChatML, contents as plain text), its settings, the
answer llama.cpp gave and its time. The recording wraps the engine's generation step in this
script only; nothing in src/ changes.

``answer`` loads the same GGUF file with transformers (weights dequantized to bfloat16: the
Q4_K_M values exactly, in another number format; llama.cpp computes on the quantized blocks, so
greedy answers can differ where two tokens are close), feeds each recorded prompt's token ids
unchanged and decodes greedily to the recorded end-of-generation tokens or ``max_tokens``.
Figures: per prompt, time to first token and answer tokens/s at batch 1; the same prompts in
one batch (aggregate tokens/s: what one GPU serves to concurrent requests); prompt (prefill)
tokens/s. It is PyTorch eager through ``generate`` (no CUDA graphs, no paged attention, no
continuous batching), so a serving engine (vLLM) is faster: these are upper bounds on latency.
Baseline in the same run: the recorded llama.cpp times on this project's 2-core CPU.

``replay`` runs the same workloads again with the GPU's answer in place of each generation
(matched by prompt token ids; a prompt the GPU never saw, e.g. a retry that only the GPU's
answer provoked, is counted as ``unmatched`` and its case left out) and prints, in one JSON
line, fact recall, invented facts, guard keep share and role checks of the summaries (as
bench/eval_models.py), and the translation fact check's figures, for CPU and GPU answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAIRS = HERE / "data" / "translate_pairs" / "d_independent.json"
CHAT_TURNS = (
    "What should I pack for three days of hiking in the Alps in October?",
    "Explain in two sentences why the sky is blue.",
    "Write a polite two-line reply declining a meeting on Friday.",
)
TRANSLATIONS = 16


# ---------------------------------------------------------------------------------- record --


def _recording_engine() -> tuple[list[dict[str, Any]], Any]:
    """Wrap the in-process engine's generation step so that each call's prompt ids, settings,
    answer and time are kept (the list returned), and its end-of-generation ids (a getter)."""
    from privcloud.workloads.engine import local  # noqa: PLC0415

    kept: list[dict[str, Any]] = []
    ends: set[int] = set()
    original = local._generate

    def recorded(llm: Any, markers: Any, prompt: list[int], *rest: Any) -> Any:
        settings = rest[1]
        ends.update(markers.ends | local._end_of_generation(llm))
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        for event in original(llm, markers, prompt, *rest):
            if first is None:
                first = time.perf_counter() - started
            if isinstance(event, local.TextDelta):
                pieces.append(event.text)
            else:
                kept.append(
                    {
                        "prompt": list(prompt),
                        "max_tokens": settings.max_tokens,
                        "stop": list(settings.stop),
                        "repeat_penalty": settings.repeat_penalty,
                        "cpu_text": "".join(pieces),
                        "cpu_tokens": event.completion_tokens,
                        "cpu_s": round(time.perf_counter() - started, 3),
                        "cpu_first_s": round(first, 3),
                    }
                )
            yield event

    local._generate = recorded  # type: ignore[assignment]
    return kept, lambda: sorted(ends)


def _cases() -> tuple[list[tuple[str, str, list[str]]], list[dict[str, Any]]]:
    sys.path.insert(0, str(HERE))
    from eval_models import calls  # noqa: PLC0415

    pairs = json.loads(PAIRS.read_text())
    seen: set[str] = set()
    sources: list[dict[str, Any]] = []
    for pair in pairs:
        if pair["source"] not in seen and len(sources) < TRANSLATIONS:
            seen.add(pair["source"])
            sources.append(pair)
    return calls(12, 7), sources


def _run_workloads(models: Any) -> dict[str, Any]:
    """The workloads over the eval cases; per case what the replay compares."""
    sys.path.insert(0, str(HERE))
    from eval_models import evaluate  # noqa: PLC0415
    from privcloud.wire.message import WorkloadRequest  # noqa: PLC0415
    from privcloud.workloads.chat import ChatWorkload  # noqa: PLC0415
    from privcloud.workloads.models import QWEN_1_5B  # noqa: PLC0415
    from privcloud.workloads.translate import TranslateWorkload  # noqa: PLC0415

    summaries, sources = _cases()
    out: dict[str, Any] = {"summaries": evaluate(models, QWEN_1_5B, summaries, 3)}
    translate = TranslateWorkload(models)
    facts = {"checked": 0, "lost": 0, "withheld": 0, "retried": 0}
    for pair in sources:
        params = {"mode": "text", "source_language": pair["sl"], "target_language": pair["tl"]}
        params["model"] = QWEN_1_5B
        events = list(translate.run(WorkloadRequest("translate", params, pair["source"].encode())))
        meta = events[-1].meta
        for key in facts:
            facts[key] += int(meta["facts"][key])
    out["translation_facts"] = facts
    chat = ChatWorkload(models)
    for turn in CHAT_TURNS:
        params = {"messages": [{"role": "user", "content": turn}], "max_tokens": 96}
        list(chat.run(WorkloadRequest("chat", params, b"")))
    return out


def record(out: Path) -> None:
    from privcloud.workloads.models import shared_models  # noqa: PLC0415

    kept, ends = _recording_engine()
    figures = _run_workloads(shared_models())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"eog": ends(), "prompts": kept, "cpu": figures}))
    print(json.dumps({"prompts": len(kept), "cpu": figures["summaries"]["fact_recall"]}))


# ---------------------------------------------------------------------------------- answer --


def _load(gguf: Path) -> tuple[Any, str, float]:
    """The GGUF model through transformers (weights dequantized to bfloat16) on the GPU if
    there is one: (model, device, seconds it took)."""
    import torch  # noqa: PLC0415
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
    ).to(device)
    model.eval()
    return model, device, time.perf_counter() - started


def answer(prompts_file: Path, gguf: Path, out: Path, batch: int, limit: int | None) -> None:
    import torch  # noqa: PLC0415

    data = json.loads(prompts_file.read_text())
    eog = [int(t) for t in data["eog"]]
    prompts: list[dict[str, Any]] = data["prompts"][:limit]
    model, device, load_s = _load(gguf)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    def generate(ids: list[list[int]], max_new: int, penalty: float) -> tuple[Any, float]:
        width = max(len(i) for i in ids)
        pad = eog[0]
        rows = [[pad] * (width - len(i)) + i for i in ids]  # left padding
        mask = [[0] * (width - len(i)) + [1] * len(i) for i in ids]
        tensor = torch.tensor(rows, device=device)
        attention = torch.tensor(mask, device=device)
        sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            result = model.generate(
                input_ids=tensor,
                attention_mask=attention,
                max_new_tokens=max_new,
                do_sample=False,
                repetition_penalty=penalty if penalty != 1.0 else None,
                eos_token_id=eog,
                pad_token_id=pad,
            )
        sync()
        return result[:, width:], time.perf_counter() - t0

    def answer_ids(row: Any) -> list[int]:
        ids: list[int] = []
        for t in row.tolist():
            if t in eog:
                break
            ids.append(t)
        return ids

    generate([prompts[0]["prompt"]], 8, 1.0)  # warm-up (kernels, allocator)
    answers: list[dict[str, Any]] = []
    for p in prompts:
        _, first = generate([p["prompt"]], 1, p["repeat_penalty"])
        rows, seconds = generate([p["prompt"]], p["max_tokens"], p["repeat_penalty"])
        ids = answer_ids(rows[0])
        answers.append({"ids": ids, "s": round(seconds, 4), "first_s": round(first, 4)})
    # Prefill alone: the longest prompt, one forward pass.
    longest = max(prompts, key=lambda p: len(p["prompt"]))["prompt"]
    tensor = torch.tensor([longest], device=device)
    sync()
    t0 = time.perf_counter()
    with torch.inference_mode():
        model(tensor)
    sync()
    prefill = len(longest) / (time.perf_counter() - t0)
    # Concurrency: the summary-sized prompts, ``batch`` at a time (repeated to fill a batch).
    group = [p for p in prompts if p["max_tokens"] >= 128] or prompts
    batched: dict[str, Any] = {}
    for size in sorted({1, min(8, batch), batch}):
        chosen = [group[i % len(group)] for i in range(size)]
        rows, seconds = generate([p["prompt"] for p in chosen], 160, 1.0)
        made = sum(len(answer_ids(r)) for r in rows)
        batched[str(size)] = {"tokens": made, "s": round(seconds, 3)}
        batched[str(size)]["tokens_per_s"] = round(made / seconds, 1)
    figures = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "load_s": round(load_s, 1),
        "prefill_tokens_per_s": round(prefill, 1),
        "prefill_prompt_tokens": len(longest),
        "batched": batched,
    }
    out.write_text(json.dumps({"figures": figures, "answers": answers}))
    print(json.dumps(figures))


def throughput(prompts_file: Path, gguf: Path, out: Path, sizes: list[int], steps: int) -> None:
    """Decode rate by batch size: one summary prompt repeated ``size`` times, each row made to
    write exactly ``steps`` tokens (so every step decodes the whole batch); the step time is
    (time of ``steps`` tokens - time of 1 token) / (steps - 1), after a warm-up of that shape.
    Then the same at batch 1 with a static KV cache and ``torch.compile`` (CUDA graphs), the
    kind of decode loop a serving engine runs, if it compiles within the run."""
    import torch  # noqa: PLC0415

    prompt = json.loads(prompts_file.read_text())["prompts"][0]["prompt"]
    model, device, load_s = _load(gguf)
    figures: dict[str, Any] = {"load_s": round(load_s, 1)}

    def timed(size: int, count: int) -> float:
        ids = torch.tensor([prompt] * size, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=count,
                min_new_tokens=count,
                do_sample=False,
                pad_token_id=0,
            )
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    def rate(size: int) -> dict[str, float]:
        timed(size, 4)
        one = timed(size, 1)
        many = timed(size, steps)
        step = (many - one) / (steps - 1)
        return {
            "step_ms": round(step * 1000, 2),
            "tokens_per_s": round(size / step, 1),
            "prefill_s": round(one, 4),
        }

    figures["eager"] = {str(size): rate(size) for size in sizes}
    try:
        model.generation_config.cache_implementation = "static"
        model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
        compiling = time.perf_counter()
        timed(1, 4)
        timed(1, 4)
        figures["compiled_warmup_s"] = round(time.perf_counter() - compiling, 1)
        figures["compiled"] = {"1": rate(1)}
    except Exception as error:  # a figure, not a feature: say why it is absent
        figures["compiled_error"] = type(error).__name__
    out.write_text(json.dumps(figures))
    print(json.dumps(figures))


# ---------------------------------------------------------------------------------- replay --


def replay(prompts_file: Path, answers_file: Path) -> None:
    import statistics  # noqa: PLC0415

    from privcloud.workloads.engine import local  # noqa: PLC0415
    from privcloud.workloads.models import QWEN_1_5B, shared_models  # noqa: PLC0415

    data = json.loads(prompts_file.read_text())
    gpu = json.loads(answers_file.read_text())
    models = shared_models()
    with models.use(QWEN_1_5B) as llm:
        texts = [
            llm.detokenize(a["ids"], special=False).decode("utf-8", "replace")
            for a in gpu["answers"]
        ]
    by_prompt = {tuple(p["prompt"]): t for p, t in zip(data["prompts"], texts, strict=True)}
    unmatched = 0

    def replayed(llm: Any, markers: Any, prompt: list[int], dropped: int, settings: Any, *_: Any):  # type: ignore[no-untyped-def]
        nonlocal unmatched
        text = by_prompt.get(tuple(prompt))
        if text is None:
            unmatched += 1
            raise RuntimeError("a prompt the GPU did not answer")
        scanner = local.StopScanner(settings.stop)
        piece = scanner.feed(text) + scanner.flush()
        if piece:
            yield local.TextDelta(piece)
        count = len(llm.tokenize(piece.encode(), add_bos=False))
        yield local.ChatEnd("stop", len(prompt), count, dropped)

    local._generate = replayed  # type: ignore[assignment]
    try:
        gpu_run = _run_workloads(models)
    except RuntimeError as error:
        gpu_run = {"error": str(error)}
    prompts = data["prompts"]
    answers = gpu["answers"]
    same = sum(p["cpu_text"].strip() == t.strip() for p, t in zip(prompts, texts, strict=True))
    rates = [len(a["ids"]) / a["s"] for a in answers if a["ids"] and a["s"] > 0]
    cpu_rates = [p["cpu_tokens"] / p["cpu_s"] for p in prompts if p["cpu_tokens"]]
    print(
        json.dumps(
            {
                "prompts": len(prompts),
                "identical_answers": same,
                "unmatched": unmatched,
                "gpu": gpu["figures"],
                "gpu_first_token_s_p50": statistics.median(a["first_s"] for a in answers),
                "gpu_answer_tokens_per_s_p50": round(statistics.median(rates), 1),
                "gpu_s_per_prompt_p50": statistics.median(a["s"] for a in answers),
                "baseline_cpu_first_token_s_p50": statistics.median(
                    p["cpu_first_s"] for p in prompts
                ),
                "baseline_cpu_answer_tokens_per_s_p50": round(statistics.median(cpu_rates), 1),
                "baseline_cpu_s_per_prompt_p50": statistics.median(p["cpu_s"] for p in prompts),
                "cpu_workloads": data["cpu"],
                "gpu_workloads": gpu_run,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("record").add_argument("--out", type=Path, required=True)
    step = sub.add_parser("answer")
    step.add_argument("--prompts", type=Path, required=True)
    step.add_argument("--gguf", type=Path, required=True)
    step.add_argument("--out", type=Path, required=True)
    step.add_argument("--batch", type=int, default=64)
    step.add_argument("--limit", type=int, default=None, help="the first N prompts only (a trial)")
    step = sub.add_parser("throughput")
    step.add_argument("--prompts", type=Path, required=True)
    step.add_argument("--gguf", type=Path, required=True)
    step.add_argument("--out", type=Path, required=True)
    step.add_argument("--sizes", default="1,8,32,64,128,256")
    step.add_argument("--steps", type=int, default=64)
    step = sub.add_parser("replay")
    step.add_argument("--prompts", type=Path, required=True)
    step.add_argument("--answers", type=Path, required=True)
    args = parser.parse_args()
    if args.step == "record":
        record(args.out)
    elif args.step == "answer":
        answer(args.prompts, args.gguf, args.out, args.batch, args.limit)
    elif args.step == "throughput":
        sizes = [int(n) for n in args.sizes.split(",")]
        throughput(args.prompts, args.gguf, args.out, sizes, args.steps)
    else:
        replay(args.prompts, args.answers)


if __name__ == "__main__":
    main()
