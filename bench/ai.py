"""Benchmark of the AI features (docs/features.md). Prints ONE JSON line.

1. ASR real-time factor: seconds of compute per second of audio, Whisper tiny.en and base,
   on espeak-ng speech made here (lower is faster; < 1 is faster than real time).
2. Summary generation speed: tokens/s of Gemma 3 270M (and SmolLM2 135M) on a call transcript.
3. The privacy layer's share of end-to-end time, per feature: each feature runs
   * direct:  the workload called in-process (no network, no cryptography), and
   * private: through the full path (SDK -> relay -> gateway -> node, OHTTP, envelope to k=3
     nodes, an anonymous token per request), interleaved in the same run;
   and an ``echo`` request with the same body through the same path (answering with the size
   only, as the features answer briefly) gives the privacy layer's own cost for that size.
   share = echo_private / feature_private (target <= 1%); the
   difference private - direct is printed too, but model-time noise dominates it.

The baseline for (1) and (2) is the same run's own audio duration and token count; figures
are medians of ``--repeat`` runs. ``--device cuda`` runs the models on a GPU machine.

    python bench/ai.py [--repeat 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.trust.admission import ClientPolicy
from privcloud.wire.message import WorkloadRequest
from privcloud.workloads.ai import ai_registry
from privcloud.workloads.models import (
    GEMMA_270M,
    SMOLLM2_135M,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    ModelConfig,
    Models,
)

SCRIPT = (
    "Hi Sam, this is Priya from the clinic. I am calling to move your appointment from "
    "Tuesday to Thursday at three in the afternoon. Please bring your insurance card and "
    "the letter from doctor Alvarez. If Thursday does not work, call us back before Wednesday "
    "evening and we will find another time. Thanks, and have a good day."
)
TRANSCRIPT = (
    "Priya: Hi Sam, this is Priya from the clinic.\n"
    "Priya: I am calling to move your appointment from Tuesday to Thursday at 3 pm.\n"
    "Sam: Thursday at 3 works. Should I bring anything?\n"
    "Priya: Please bring your insurance card and the letter from Dr. Alvarez.\n"
    "Sam: Sure. I will also ask about the blood test results from last week.\n"
    "Priya: Great. If Thursday does not work, call us back before Wednesday evening.\n"
)


def speak(text: str) -> bytes:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("bench/ai.py needs espeak-ng (make setup installs it)")
    return subprocess.run(
        ["espeak-ng", "-v", "en", "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_direct(models: Models, feature: str, params: dict[str, Any], body: bytes) -> dict[str, Any]:
    registry = ai_registry(models)
    events = list(registry.run(WorkloadRequest(feature, params, body)))
    if events[-1].kind.name != "RESULT":
        raise SystemExit(f"{feature} failed: {events[-1].meta}")
    return events[-1].meta


async def privacy_share(
    models: Models, cases: list[tuple[str, dict[str, Any], bytes]], repeat: int
) -> dict[str, Any]:
    nodes = [NodeSpec("node-1", "eu-west"), NodeSpec("node-2", "eu-west"), NodeSpec("node-3")]
    out: dict[str, Any] = {}
    async with LocalCloud(nodes=nodes, models=models) as cloud:
        # (a benchmark's load outruns any refill: INSECURE, never for devices)
        wallet = cloud.new_wallet(batch_size=64, insecure_fetch_on_request_path=True)
        async with Client(
            cloud.relay_url,
            policy=ClientPolicy.insecure_local_dev(),
            wallet=wallet,
            trust=cloud.client_trust(),
        ) as client:

            async def timed(feature: str, params: dict[str, Any], body: bytes) -> float:
                started = time.perf_counter()
                await client.call(feature, params, body)
                return time.perf_counter() - started

            for feature, params, body in cases:
                await client.call(feature, params, body)  # warm
                private, echo, direct = [], [], []
                for _ in range(repeat):
                    private.append(await timed(feature, params, body))
                    echo.append(await timed("echo", {"size_only": True}, body))
                    started = time.perf_counter()
                    await asyncio.to_thread(run_direct, models, feature, params, body)
                    direct.append(time.perf_counter() - started)
                p, e, d = (statistics.median(x) for x in (private, echo, direct))
                key = feature if feature not in out else f"{feature}_{params.get('mode')}"
                out[key] = {
                    "private_s": round(p, 4),
                    "direct_s": round(d, 4),
                    "echo_same_size_s": round(e, 4),
                    "privacy_share": round(e / p, 5),
                    "private_minus_direct_s": round(p - d, 4),
                    "meets_target": e / p <= 0.01,
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default=os.environ.get("PRIVCLOUD_MODEL_DEVICE", "cpu"))
    args = parser.parse_args()
    models = Models(ModelConfig(device=args.device, threads=min(8, os.cpu_count() or 2)))
    started = time.perf_counter()
    models.warm(models.available())
    load_s = time.perf_counter() - started

    audio = speak(SCRIPT)
    # espeak-ng's streamed WAV header gives no length: take the decoder's.
    seconds = float(run_direct(models, "transcribe", {"language": "en"}, audio)["duration"])
    asr = {}
    for name in (WHISPER_TINY_EN, WHISPER_BASE):
        params = {"model": name, "language": "en"}
        took = median_time(lambda p=params: run_direct(models, "transcribe", p, audio), args.repeat)
        asr[name] = {
            "audio_s": round(seconds, 2),
            "compute_s": round(took, 3),
            "rtf": round(took / seconds, 4),
        }

    llm = {}
    for name in (GEMMA_270M, SMOLLM2_135M):
        completions = []
        for _ in range(args.repeat):
            completions.append(
                models.complete(name, TRANSCRIPT + "\nSummary:", max_tokens=96, stop=["\n\n"])
            )
        tokens = sum(c.tokens for c in completions)
        secs = sum(c.seconds for c in completions)
        llm[name] = {
            "tokens": tokens,
            "seconds": round(secs, 3),
            "tokens_per_s": round(tokens / secs, 1),
        }

    cases: list[tuple[str, dict[str, Any], bytes]] = [
        ("transcribe", {"language": "en"}, audio),
        ("translate", {"mode": "speech"}, audio),
        ("summarize", {}, TRANSCRIPT.encode()),
        ("extract", {"reference_time": "2026-11-20T09:00:00+00:00"}, TRANSCRIPT.encode()),
        (
            "search",
            {},
            json.dumps(
                {
                    "query": "insurance card",
                    "items": [
                        {"id": str(i), "text": line}
                        for i, line in enumerate(TRANSCRIPT.splitlines())
                    ],
                }
            ).encode(),
        ),
    ]
    share = asyncio.run(privacy_share(models, cases, args.repeat))
    print(
        json.dumps(
            {
                "bench": "ai",
                "device": args.device,
                "threads": models.config.threads,
                "model_load_s": round(load_s, 2),
                "asr": asr,
                "summary_llm": llm,
                "privacy": share,
                "privacy_target_met": all(v["meets_target"] for v in share.values()),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
