"""Loading each kind of model with the library that runs it, and the process settings those
libraries read when they load.

The heavy libraries (faster-whisper, llama.cpp, sentence-transformers, diffusers, torch) are
imported here only when a model is first loaded (:func:`~.model_files.import_optional`), so the
protocol core installs and runs without them (the ``ai`` extra). Every loader reads local files
only, from ``locate()``, called once its library is imported (so a missing library is reported
first); :class:`~privcloud.workloads.models.Models` decides when to load, verifies the files
first and serialises use.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from privcloud.workloads import model_files
from privcloud.workloads.model_names import LLM_CONTEXT_TOKENS
from privcloud.workloads.model_threads import LlmThreads, measure_threads, thread_candidates

log = logging.getLogger("privcloud.models")

#: True while a node loads its models at boot (``Models.warm``): only then does a load's log
#: name the model, its timings and its threads. A load for a request (the first of a feature, a
#: live call's language pair) logged then would tell the log which feature a request used, and
#: when; the time to hash and load, and the tokens/s measured, name the model as well.
warming: contextvars.ContextVar[bool] = contextvars.ContextVar("privcloud_warming", default=False)

#: Loggers of model libraries and the lowest level they may emit at (see :func:`configure_process`).
_QUIET_LOGGERS = {
    "faster_whisper": logging.WARNING,
    "ctranslate2": logging.WARNING,
    "llama_cpp": logging.WARNING,
    "sentence_transformers": logging.WARNING,
    "huggingface_hub": logging.WARNING,
    "diffusers": logging.ERROR,
    "transformers": logging.ERROR,
}
#: The Hugging Face libraries that set up logging of their own when first imported: a stderr
#: handler on their top logger, which no longer propagates, at WARNING (see
#: :func:`route_library_logs`). Both quote a request: diffusers the part of a prompt CLIP cut,
#: verbatim; transformers a prompt's token count.
PROMPT_LOGGERS = ("diffusers", "transformers")


def configure_process(cache_dir: Path) -> None:
    """Set, once for the whole process and before any model library loads, what those libraries
    read: passive OpenMP threads, no telemetry, no hub, quiet loggers, and torch's compile cache
    under ``cache_dir``. Values already in the environment are kept."""
    # llama.cpp and torch run OpenMP thread pools; by default their idle threads spin, and
    # on a shared 2-core machine a spinning pool of one model starves the other (llama.cpp
    # measured 3x slower under contention). Read by each runtime when it loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # No telemetry and no hub: onnxruntime (Whisper's VAD) otherwise writes a session id
    # to $TMPDIR/.ses on import (found by tests/ai/test_demo.py); the HF libraries must never
    # try the network.
    for name in ("ORT_DISABLE_TELEMETRY", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # The model libraries log facts about requests (faster-whisper at INFO: each clip's
    # duration and detected language; diffusers at WARNING: the part of a prompt CLIP cut,
    # verbatim). Raised once for the whole process. diffusers and transformers set their own
    # level again when imported (later: at their first model): they read it from these
    # variables, and each loader routes their logs once it imported them (route_library_logs).
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # Importing sentence-transformers/diffusers makes torch create its compile cache
    # directory (in $TMPDIR by default); keep it with the other model caches.
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir / "torchinductor"))


def route_library_logs() -> None:
    """Bring the logs of diffusers and transformers (:data:`PROMPT_LOGGERS`) under the
    process's own logging: their level ERROR, their own stderr handler removed, their records
    passed on to the root logger's handlers and their filters
    (``privcloud.services.site.WithholdPeerData`` withholds these libraries' text). A library
    that is not installed is skipped. Importing either undoes what :func:`configure_process`
    set (its handler wrote to raw standard error: under ``privcloud up --detach``, the log
    file), so each loader of a model that runs on them calls this right after the import."""
    for name in PROMPT_LOGGERS:
        try:
            library = importlib.import_module(f"{name}.utils.logging")
        except ImportError:
            continue
        library.set_verbosity_error()
        library.disable_default_handler()
        library.enable_propagation()


class _QuietPromptLoggers:
    """:func:`prompt_loggers_quiet`'s count of open blocks, and the levels the first found."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._levels: list[int] = []

    @contextlib.contextmanager
    def block(self) -> Iterator[None]:
        loggers = [logging.getLogger(name) for name in PROMPT_LOGGERS]
        with self._lock:
            if self._open == 0:
                self._levels = [logger.level for logger in loggers]
                for logger in loggers:
                    logger.setLevel(max(logger.level, logging.ERROR))
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                if self._open == 0:
                    for logger, level in zip(loggers, self._levels, strict=True):
                        logger.setLevel(level)


_QUIET_PROMPT_LOGGERS = _QuietPromptLoggers()


def prompt_loggers_quiet() -> contextlib.AbstractContextManager[None]:
    """For the ``with`` block, :data:`PROMPT_LOGGERS` at ERROR or above whatever their level:
    wrapped around every diffusers pipeline call (it quotes a prompt past CLIP's 77 tokens at
    WARNING), in case something lowered them since :func:`route_library_logs`. Blocks may
    overlap on several threads (an image and an erase at once): the first raises the levels,
    the last to leave puts them back."""
    return _QUIET_PROMPT_LOGGERS.block()


def load_whisper(locate: Callable[[], Path], device: str, threads: int) -> Any:
    """A faster-whisper model from directory ``locate()`` (int8 on a CPU, float16 on a GPU)."""
    faster_whisper = model_files.import_optional("faster_whisper")
    compute = "int8" if device == "cpu" else "float16"
    return faster_whisper.WhisperModel(
        str(locate()),
        device=device,
        compute_type=compute,
        cpu_threads=threads,
        local_files_only=True,
    )


def load_llm(
    name: str, locate: Callable[[], Path], device: str, threads: int, llm_threads: int | None
) -> tuple[Any, LlmThreads]:
    """Language model ``name`` from GGUF file ``locate()`` on llama.cpp, and the threads it runs
    with: ``llm_threads`` if set, ``threads`` on a GPU (the layers run there: nothing to
    measure), else measured now (:func:`~.model_threads.measure_threads`, logged)."""
    llama_cpp = model_files.import_optional("llama_cpp")
    fixed = llm_threads
    if fixed is None and device == "cuda":
        fixed = threads  # the layers run on the GPU: nothing to measure
    count = fixed if fixed is not None else 1
    llm = llama_cpp.Llama(
        model_path=str(locate()),
        n_ctx=LLM_CONTEXT_TOKENS,
        n_threads=count,
        n_threads_batch=count,
        n_gpu_layers=-1 if device == "cuda" else 0,
        seed=0,
        verbose=False,
    )
    if fixed is None:
        candidates = thread_candidates(os.cpu_count() or 1)
        choice = measure_threads(llm, candidates, llama_cpp.llama_set_n_threads)
        if warming.get():
            log.info(
                "%s: llama.cpp threads %d (answer), %d (prompt); measured tokens/s %s",
                name,
                choice.threads,
                choice.batch_threads,
                choice.describe(),
            )
    else:
        choice = LlmThreads(count, count, {}, {})
    return llm, choice


def load_embedder(locate: Callable[[], Path], device: str) -> Any:
    """A sentence-transformers model from directory ``locate()``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    st = model_files.import_optional("sentence_transformers")
    route_library_logs()  # sentence-transformers runs on transformers
    return st.SentenceTransformer(str(locate()), device=device, local_files_only=True)


def load_image(locate: Callable[[], Path], device: str) -> Any:
    """A diffusers text-to-image pipeline from directory ``locate()``, progress bars off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    diffusers = model_files.import_optional("diffusers")
    route_library_logs()
    pipe = diffusers.AutoPipelineForText2Image.from_pretrained(str(locate()), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def load_inpaint(locate: Callable[[], Path], device: str) -> Any:
    """A diffusers inpainting pipeline from directory ``locate()``, progress bars off; raises
    :class:`ValueError` on a directory diffusers cannot load."""
    diffusers = model_files.import_optional("diffusers")
    route_library_logs()
    try:
        pipe = diffusers.AutoPipelineForInpainting.from_pretrained(
            str(locate()), local_files_only=True
        )
    except (KeyError, TypeError, AttributeError) as exc:
        # diffusers fails this way too on an incomplete directory (a missing config key):
        # a ValueError, so that Models._get answers UnavailableError.
        raise ValueError("not a loadable inpainting pipeline") from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


__all__ = [
    "PROMPT_LOGGERS",
    "configure_process",
    "load_embedder",
    "load_image",
    "load_inpaint",
    "load_llm",
    "load_whisper",
    "prompt_loggers_quiet",
    "route_library_logs",
]
