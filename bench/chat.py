"""Chat speed: time to first token and answer tokens/s, on the node's engine and through the
full private path (issue 15). Prints ONE JSON line.

    .venv/bin/python bench/chat.py [--runs 3] [--max-tokens 48]
        [--models smollm2-135m-instruct,qwen2.5-coder-1.5b-instruct] [--server]

Per model, the median of ``--runs`` answers to one fixed question (greedy, so every run writes
the same answer):

* ``engine``: the **baseline**, measured in the same run: the in-process llama.cpp engine
  called directly (no sealing, no relay, no token): ``ttft_s`` (first text delta) and
  ``answer_tok_s`` (answer tokens after the first, per second after it);
* ``private``: the same request as an app sends it (``client.stream("chat")``: OHTTP through
  the relay and gateway, sealed to one node, one anonymous token each), timed at the app:
  ``ttft_s`` (first ``PARTIAL``), ``answer_tok_s``, and ``ttft_overhead_s`` (private - engine);
* with ``--server`` (SmolLM2 only): llama.cpp's OpenAI-compatible server on loopback through
  the remote engine, with ``salt`` isolation and with ``flush`` (the context overwritten with
  node randomness first: what no shared prefix costs on a single-context server).

The load average is printed too: the machine is shared, so the figures move with it.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.trust.admission import ClientPolicy
from privcloud.workloads.engine import (
    CacheSalt,
    ChatEnd,
    ChatEngine,
    ChatMessage,
    ChatSettings,
    EngineConfig,
    LlamaCppEngine,
    OpenAIEngine,
    TextDelta,
)
from privcloud.workloads.models import SMOLLM2_135M, shared_models

QUESTION = "Explain in a few sentences why the sky is blue."


def _timed(
    events: Iterator[Any], is_text: Callable[[Any], bool], tokens: Callable[[Any], int]
) -> dict[str, float]:
    started = time.perf_counter()
    first: float | None = None
    count = 0
    for event in events:
        if first is None and is_text(event):
            first = time.perf_counter()
        count = tokens(event) or count
    done = time.perf_counter()
    assert first is not None, "no text"
    return {"ttft_s": first - started, "answer_tok_s": (count - 1) / max(done - first, 1e-9)}


def _engine_run(engine: ChatEngine, model: str, max_tokens: int) -> dict[str, float]:
    events = engine.chat(
        model, [ChatMessage("user", QUESTION)], ChatSettings(max_tokens), salt=CacheSalt.fresh()
    )
    return _timed(
        events,
        lambda e: isinstance(e, TextDelta),
        lambda e: e.completion_tokens if isinstance(e, ChatEnd) else 0,
    )


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


async def _private(model: str, runs: int, max_tokens: int) -> list[dict[str, float]]:
    models = shared_models()
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as data:
        cloud = LocalCloud(
            nodes=[NodeSpec("node-1", "eu-west")],
            data_dir=data,
            models=models,
            warm_models=(model,),
        )
        async with (
            cloud,
            Client(
                cloud.relay_url,
                policy=ClientPolicy.insecure_local_dev(),
                wallet=cloud.new_wallet(batch_size=runs + 2),
                trust=cloud.client_trust(),
            ) as client,
        ):
            await client.call("echo", {}, b"warm-up")
            params = {
                "messages": [{"role": "user", "content": QUESTION}],
                "model": model,
                "max_tokens": max_tokens,
            }
            for _ in range(runs):
                started = time.perf_counter()
                first: float | None = None
                count = 0
                async for event in client.stream("chat", params):
                    if first is None and not event.final:
                        first = time.perf_counter()
                    if event.final:
                        count = int(event.meta["usage"]["completion_tokens"])
                done = time.perf_counter()
                assert first is not None
                out.append(
                    {
                        "ttft_s": first - started,
                        "answer_tok_s": (count - 1) / max(done - first, 1e-9),
                    }
                )
    return out


def _server(runs: int, max_tokens: int) -> dict[str, Any]:
    path = shared_models().path(SMOLLM2_135M)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path),
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1",
         "--verbose", "False", "--interrupt_requests", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/v1/models")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        result = {}
        for isolation in ("salt", "flush"):
            config = EngineConfig(f"http://127.0.0.1:{port}/v1", (("smol", "smol"),), isolation)
            engine = OpenAIEngine(config)
            result[isolation] = _median(
                [_engine_run(engine, "smol", max_tokens) for _ in range(runs)]
            )
        return result
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--models", default="")
    parser.add_argument("--server", action="store_true")
    args = parser.parse_args()
    models = shared_models()
    engine = LlamaCppEngine(models)
    names = [m for m in args.models.split(",") if m] or list(engine.models())
    report: dict[str, Any] = {"bench": "chat", "runs": args.runs, "max_tokens": args.max_tokens}
    for name in names:
        models.warm([name])
        threads = models.llm_threads(name) if hasattr(models, "llm_threads") else None
        baseline = _median([_engine_run(engine, name, args.max_tokens) for _ in range(args.runs)])
        private = _median(asyncio.run(_private(name, args.runs, args.max_tokens)))
        private["ttft_overhead_s"] = round(private["ttft_s"] - baseline["ttft_s"], 3)
        report[name] = {
            "engine": baseline,
            "private": private,
            "llm_threads": getattr(threads, "threads", None),
        }
    if args.server:
        report["llama_cpp_server_smollm2"] = _server(args.runs, args.max_tokens)
    report["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
