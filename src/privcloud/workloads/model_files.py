"""Model files checked byte for byte: what a node compares with its release manifest before a
model is first used, and with the packaged parts before a joined file is reused (never by size
alone)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from privcloud.errors import UnavailableError
from privcloud.trust.release_manifest import ModelFile

Identity = tuple[int, int, int, int]


def sha256_hex(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def same_bytes(target: Path, sources: Sequence[Path]) -> bool:
    """Whether ``target`` holds exactly the bytes of ``sources`` one after the other (compared
    block by block: never by size alone)."""
    if not target.is_file() or target.stat().st_size != sum(p.stat().st_size for p in sources):
        return False
    with target.open("rb") as out:
        for source in sources:
            with source.open("rb") as fh:
                while block := fh.read(1 << 20):
                    if out.read(len(block)) != block:
                        return False
        return out.read(1) == b""


def join_hashed(parts: Sequence[Path], target: Path) -> str:
    """Write ``parts`` one after the other into ``target`` (replaced) and return the SHA-256
    (hex) of what was written, computed while writing: one pass over the parts."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when a file is rewritten or replaced: device, inode, size, mtime."""
    stat = path.stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def matching(
    files: Sequence[tuple[str, Path]], expected: dict[str, ModelFile]
) -> dict[Path, tuple[int, int, int, int]] | None:
    """Each file's identity if ``files`` are exactly the ``expected`` entries by name, size and
    SHA-256 (read whole); None at the first difference."""
    if not expected or {n for n, _ in files} != set(expected):
        return None
    identities: dict[Path, tuple[int, int, int, int]] = {}
    for entry_name, path in files:
        ident = identity(path)
        entry = expected[entry_name]
        if ident[2] != entry.size or sha256_hex(path) != entry.sha256.hex():
            return None
        identities[path] = ident
    return identities


def changed(path: Path, seen: Identity) -> bool:
    """Whether ``path`` is no longer the file that had identity ``seen``."""
    try:
        return identity(path) != seen
    except OSError:
        return True


def import_optional(module: str) -> Any:
    """Import an optional model library; absent: :class:`UnavailableError` naming the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UnavailableError(
            "this model needs the AI extra: pip install 'privcloud[ai]'"
        ) from exc


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError("a model package is not installed: pip install 'privcloud[ai]'")
    return Path(next(iter(spec.submodule_search_locations)))


def has_image_pipeline(directory: Path) -> bool:
    return (directory / "model_index.json").is_file()


__all__ = [
    "Identity",
    "changed",
    "has_image_pipeline",
    "identity",
    "import_optional",
    "join_hashed",
    "matching",
    "package_dir",
    "same_bytes",
    "sha256_hex",
]
