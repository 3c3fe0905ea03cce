"""Tokens per second of the node language model under two llama.cpp builds (ADR 0008, "AVX-512").
Prints ONE JSON line.

The baseline is the project's build (the venv's ``llama_cpp``); the other is a build installed
into a folder with ``pip install --target`` (its ``llama_cpp`` put first on the path). Each build
runs in a process of its own, the two interleaved ``--rounds`` times; each process times, for
each thread count, the prompt (one batch of a fixed English text) and 24 answer tokens (greedy),
best of three. Figures: the best of the rounds per build, and the other build's ratio to the
baseline.

    python bench/llama_build.py --other /tmp/l512/site [--threads 1,2] [--rounds 2]

A build with AVX-512 (the flags in ADR 0008's section) is made with::

    CMAKE_ARGS="<Makefile's LLAMA_CMAKE_ARGS with -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON \\
      -DGGML_AVX512_VNNI=ON>" pip install --no-deps --no-cache-dir --target DIR \\
      llama-cpp-python==0.3.36
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_PROMPT = (
    "Translate into Spanish: Your train leaves tomorrow morning from the central station, and "
    "please bring your passport with you because the conductor will check it."
)
_ANSWER_TOKENS = 24


def measure(threads: list[int]) -> dict[str, dict[str, float]]:
    """In this process: prompt and answer tokens/s per thread count (best of three)."""
    import llama_cpp  # noqa: PLC0415 - the build on sys.path of this process

    from privcloud.workloads.model_assembly import join_qwen  # noqa: PLC0415
    from privcloud.workloads.models import QWEN_1_5B, Models  # noqa: PLC0415

    path = join_qwen(Models().path(QWEN_1_5B))
    rates: dict[str, dict[str, float]] = {}
    for count in threads:
        llm = llama_cpp.Llama(
            model_path=str(path), n_ctx=1024, n_threads=count, n_threads_batch=count, verbose=False
        )
        tokens = llm.tokenize(_PROMPT.encode())
        prompt, answer = 0.0, 0.0
        for _ in range(3):
            llm.reset()
            start = time.perf_counter()
            llm.eval(tokens)
            prompt = max(prompt, len(tokens) / (time.perf_counter() - start))
            made, start = 0, time.perf_counter()
            for _token in llm.generate(tokens, temp=0.0):
                made += 1
                if made == _ANSWER_TOKENS:
                    break
            answer = max(answer, made / (time.perf_counter() - start))
        rates[str(count)] = {"prompt_tps": round(prompt, 1), "answer_tps": round(answer, 1)}
        del llm
    return rates


def _run(site: str | None, threads: str) -> dict[str, dict[str, float]]:
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--threads", threads],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", help="a folder holding another llama_cpp build")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure([int(n) for n in args.threads.split(",")])))
        return
    if not args.other:
        parser.error("--other is required")
    best: dict[str, dict[str, dict[str, float]]] = {"baseline": {}, "other": {}}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, site in (("baseline", None), ("other", args.other)):
            for count, figures in _run(site, args.threads).items():
                kept = best[name].setdefault(count, {})
                for key, value in figures.items():
                    kept[key] = max(kept.get(key, 0.0), value)
    load.append(os.getloadavg()[0])
    ratio = {
        count: {
            key: round(best["other"][count][key] / best["baseline"][count][key], 3)
            for key in best["baseline"][count]
        }
        for count in best["baseline"]
    }
    print(
        json.dumps(
            {
                "bench": "llama_build",
                "model": "qwen2.5-coder-1.5b-instruct q4_k_m",
                "baseline": best["baseline"],
                "other": best["other"],
                "other_over_baseline": ratio,
                "rounds": args.rounds,
                "load_avg_1min": [round(x, 2) for x in load],
            }
        )
    )


if __name__ == "__main__":
    main()
