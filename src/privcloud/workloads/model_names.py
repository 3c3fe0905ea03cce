"""The names of the models a node serves, and the facts about them that every part of the model
registry reads: which are language models and Whisper models, the language models' context
window, and the order live calls translate in.

The names are re-exported by :mod:`privcloud.workloads.models`, where the rest of the code
imports them from; they live here, below the registry's modules (:mod:`.model_assembly`,
:mod:`.model_loaders`, :mod:`.model_calls`), so that those need not import the registry.
"""

from __future__ import annotations

#: Whisper tiny.en (English only), the smallest model: on-device tier and English default.
WHISPER_TINY_EN = "whisper-tiny.en"
#: Whisper base (99 languages): language detection, non-English speech, speech translation.
WHISPER_BASE = "whisper-base"
#: Gemma 3 270M, a *base* model (not instruction-tuned): summaries and text translation.
GEMMA_270M = "gemma-3-270m"
#: Qwen2.5-Coder 1.5B Instruct (Apache-2.0): the node's language model (summaries, chat), run
#: with its own chat template (:meth:`Models.chat`).
QWEN_1_5B = "qwen2.5-coder-1.5b-instruct"
#: SmolLM2 135M Instruct: the on-device text model.
SMOLLM2_135M = "smollm2-135m-instruct"
#: all-MiniLM-L6-v2 sentence embeddings (384 dimensions): search and grounding.
MINILM_L6 = "all-minilm-l6-v2"
#: The language models a live call translates with, in the order tried (the first installed
#: that reads the pair), per :attr:`ModelConfig.live_translation`. Measured on this 2-core
#: machine (bench/live_translation.py, the same two-speaker call, load ~0.8, 2026-12-03; seven
#: runs of Qwen, two of Gemma): "accurate", Qwen2.5 1.5B, 0.7-2.0 s a piece, translation 3.6-4.5 s
#: behind each word (p50), every piece kept and right; "fast", Gemma 3 270M, 3.1-3.3 s behind
#: each word, but its fact check withheld 15 of 48 words and kept pieces were wrong ("bring your
#: passport" became "contact your ID card"). So "accurate" is the default, on a CPU too.
LIVE_TRANSLATION = {"fast": (GEMMA_270M, QWEN_1_5B), "accurate": (QWEN_1_5B, GEMMA_270M)}
#: A diffusers text-to-image pipeline from the configured directory.
IMAGE = "image"
#: A diffusers inpainting pipeline from the configured directory (the ``erase`` feature).
INPAINT = "inpaint"

LLM_MODELS = (GEMMA_270M, SMOLLM2_135M, QWEN_1_5B)
WHISPER_MODELS = (WHISPER_TINY_EN, WHISPER_BASE)

#: The language model's context window, in tokens (prompt and answer together).
LLM_CONTEXT_TOKENS = 2048

__all__ = [
    "GEMMA_270M",
    "IMAGE",
    "INPAINT",
    "LIVE_TRANSLATION",
    "LLM_CONTEXT_TOKENS",
    "LLM_MODELS",
    "MINILM_L6",
    "QWEN_1_5B",
    "SMOLLM2_135M",
    "WHISPER_BASE",
    "WHISPER_MODELS",
    "WHISPER_TINY_EN",
]
