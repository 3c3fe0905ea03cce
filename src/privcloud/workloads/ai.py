"""The AI workloads a node serves, chosen by which models are installed.

Imported only when a node is configured with models: the workload modules import their heavy
libraries lazily, but this keeps even their import out of the protocol core.
"""

from __future__ import annotations

from collections.abc import Callable

from privcloud.release.build import model_file
from privcloud.trust.release_manifest import ModelFile
from privcloud.workloads.base import Workload, WorkloadRegistry
from privcloud.workloads.echo import EchoWorkload, StreamingEchoWorkload
from privcloud.workloads.models import (
    GEMMA_270M,
    IMAGE,
    MINILM_L6,
    QWEN_1_5B,
    SMOLLM2_135M,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    Models,
)

#: Every AI feature and the models it needs (all of them, for the feature to be served).
FEATURE_MODELS: dict[str, tuple[str, ...]] = {
    "transcribe": (WHISPER_TINY_EN, WHISPER_BASE),
    "translate": (WHISPER_BASE, GEMMA_270M),
    "summarize": (QWEN_1_5B, MINILM_L6),
    "search": (MINILM_L6,),
    "extract": (),
    "generate_image": (IMAGE,),
    # OpenCV by default; the inpainting model (INPAINT) when one is configured.
    "erase": (),
    # The node's engine (docs/adr/0021): in-process llama.cpp (the 1.5B model where installed,
    # else SmolLM2) or an OpenAI-compatible server in the same TEE.
    "chat": (SMOLLM2_135M,),
    # espeak-ng, a separate program of the node image (docs/adr/0022): no packaged model.
    "speak": (),
}


def ai_workloads(models: Models) -> list[Workload]:
    """The AI workloads whose models are all available."""
    # Imported here, not above: these modules need numpy (the ai extra), and this module is
    # imported by the light core (services, CLI) that must run without it.
    from privcloud.workloads.chat import ChatWorkload  # noqa: PLC0415
    from privcloud.workloads.erase import EraseWorkload  # noqa: PLC0415
    from privcloud.workloads.extract import ExtractWorkload  # noqa: PLC0415
    from privcloud.workloads.imagegen import GenerateImageWorkload  # noqa: PLC0415
    from privcloud.workloads.search import SearchWorkload  # noqa: PLC0415
    from privcloud.workloads.speak import SpeakWorkload  # noqa: PLC0415
    from privcloud.workloads.summarize import SummarizeWorkload  # noqa: PLC0415
    from privcloud.workloads.transcribe import TranscribeWorkload  # noqa: PLC0415
    from privcloud.workloads.translate import TranslateWorkload  # noqa: PLC0415

    available = set(models.available())
    makers: dict[str, Callable[[Models], Workload]] = {
        "transcribe": TranscribeWorkload,
        "translate": TranslateWorkload,
        "summarize": SummarizeWorkload,
        "search": SearchWorkload,
        "extract": ExtractWorkload,
        "generate_image": GenerateImageWorkload,
        "erase": EraseWorkload,
        "chat": ChatWorkload,
        "speak": SpeakWorkload,
    }
    chosen: list[Workload] = []
    for feature, needed in FEATURE_MODELS.items():
        if available.issuperset(needed):
            chosen.append(makers[feature](models))
    return chosen


def ai_registry(models: Models) -> WorkloadRegistry:
    """The echo workloads and every AI workload this install can serve."""
    return WorkloadRegistry([EchoWorkload(), StreamingEchoWorkload(), *ai_workloads(models)])


_digests: dict[tuple[str, int, int], ModelFile] = {}


def release_model_files(models: Models) -> list[ModelFile]:
    """The model files a node's release manifest records (SHA-256 each; hashed once per file,
    size and mtime per process), and pins ``models`` to them (:meth:`Models.pin`): a model
    whose files no longer match is refused before its first use. Joins split models first
    (:meth:`Models.prepare`)."""
    models.prepare()
    entries = []
    for name, path in models.manifest_files():
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _digests:
            _digests[key] = model_file(path, name)
        entries.append(_digests[key])
    # The digests above may come from an earlier call (same size and mtime); the pin re-hashes
    # every file before its model's first use, so a file changed in between is still refused.
    models.pin(entries)
    return entries
