"""How many CPU threads llama.cpp runs a language model with, chosen by measurement.

When no thread count is configured (``PRIVCLOUD_LLM_THREADS``), a language model is timed as it
first loads (:func:`measure_threads`) with each count of :func:`thread_candidates`, for answer
tokens (one at a time) and for the prompt (a batch), and runs with the fewest threads within 10%
of the fastest (:func:`pick_threads`). The probe is a fixed English text, never user content.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from privcloud import limits


@dataclass(frozen=True)
class LlmThreads:
    """The llama.cpp threads of a language model: for answer tokens (one at a time) and for
    the prompt (a batch), and the tokens/s measured for each candidate (empty: configured)."""

    threads: int
    batch_threads: int
    answer_rates: dict[int, float]
    prompt_rates: dict[int, float]

    def describe(self) -> str:
        return ", ".join(
            f"{n}: answer {self.answer_rates[n]:.1f} prompt {self.prompt_rates[n]:.1f}"
            for n in self.answer_rates
        )


def thread_candidates(cpus: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to the machine's CPUs (at most
    :data:`~privcloud.limits.MAX_MEASURED_LLM_THREADS`)."""
    top = max(1, min(cpus, limits.MAX_MEASURED_LLM_THREADS))
    candidates = [1]
    while candidates[-1] * 2 <= top:
        candidates.append(candidates[-1] * 2)
    if candidates[-1] != top:
        candidates.append(top)
    return tuple(candidates)


def pick_threads(rates: Mapping[int, float]) -> int:
    """The fewest threads within 10% of the fastest measured: more threads than that buy
    little, and on a busy machine each extra thread risks a stall (a llama.cpp thread pool
    waits for its slowest thread; 2 threads on 2 shared cores collapsed to 1-2 tokens/s)."""
    best = max(rates.values())
    return min(n for n, rate in rates.items() if rate >= 0.9 * best)


#: A fixed English text whose tokens time the prompt and answer speeds (never user content).
_PROBE_TEXT = (
    "The quick brown fox jumps over the lazy dog near the river bank, while three small birds "
    "sing in the old oak tree. A farmer walks along the road with his cart full of apples, "
    "pears and plums for the Saturday market in the village square, where the baker sells "
    "fresh bread and the children play with a red ball until the church bell rings at noon."
)
_PROBE_PROMPT_TOKENS = 64
_PROBE_ANSWER_TOKENS = 8


def measure_threads(
    llm: Any, candidates: Sequence[int], set_threads: Callable[[Any, int, int], None]
) -> LlmThreads:
    """Time a loaded llama.cpp model with each thread count of ``candidates``: a 64-token
    prompt (batch) and 8 single-token steps (answer), after one warm-up evaluation that pages
    the weights in. Sets and returns the choice (:func:`pick_threads` per kind). About two
    seconds per candidate for the 1.5B model on a busy 2-core machine."""
    tokens = llm.tokenize(_PROBE_TEXT.encode("utf-8"), add_bos=True)[:_PROBE_PROMPT_TOKENS]
    set_threads(llm.ctx, candidates[0], candidates[0])
    llm.reset()
    llm.eval(tokens[:8])
    answer: dict[int, float] = {}
    prompt: dict[int, float] = {}
    for n in candidates:
        set_threads(llm.ctx, n, n)
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        evaluated = time.perf_counter()
        for _ in range(_PROBE_ANSWER_TOKENS):
            llm.eval(tokens[-1:])
        done = time.perf_counter()
        prompt[n] = len(tokens) / max(evaluated - started, 1e-9)
        answer[n] = _PROBE_ANSWER_TOKENS / max(done - evaluated, 1e-9)
    llm.reset()
    choice = LlmThreads(pick_threads(answer), pick_threads(prompt), answer, prompt)
    set_threads(llm.ctx, choice.threads, choice.batch_threads)
    llm.n_threads, llm.n_threads_batch = choice.threads, choice.batch_threads
    return choice


__all__ = ["LlmThreads", "measure_threads", "pick_threads", "thread_candidates"]
