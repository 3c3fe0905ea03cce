"""Compute a release manifest from what is installed here (reads files and package metadata).

The same install always gives the same manifest, byte for byte:

* **code** — every regular file under the installed ``privcloud`` package directory except
  ``__pycache__`` folders and ``.pyc``/``.pyo`` files, named by its POSIX path relative to the
  directory that holds the package (``privcloud/attest/base.py``), sorted by the UTF-8 bytes of
  that path. The digest is SHA-256 over the lines ``"<SHA-256 of the file, hex>  <path>\\n"``,
  which is the output of ``sha256sum`` on those paths, so anyone can recompute it with
  coreutils (docs/trust.md)::

      cd src && find privcloud -type f ! -path '*/__pycache__/*' ! -name '*.py[co]' \
          | LC_ALL=C sort | xargs sha256sum | sha256sum

  File bytes are hashed as they are (no line-ending rewrite);
  a symbolic link in the tree is refused.
* **dependencies** — ``name==version`` of every installed distribution the package requires,
  transitively, with PEP 508 markers evaluated for this interpreter (extras only where a
  requirement asks for them), PEP 503-normalised names, sorted. A required distribution that is
  not installed is an error: the release could not run.
* **models** — each model file given, by its configured path, with SHA-256 and size.
* **config** — the node configuration (a JSON object), canonicalised.
* **measurements** — the simulated TEE's is derived from the body; hardware ones are taken
  from the caller (a VM image build), else recorded as absent.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privcloud.errors import ConfigError
from privcloud.release.markers import current_environment, evaluate
from privcloud.trust.release_manifest import ModelFile, ReleaseManifest

#: The distribution whose release is built.
PACKAGE = "privcloud"
_REQ_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CodeFile:
    """One file of the code tree: its path as hashed and its SHA-256."""

    path: str
    sha256: bytes

    def line(self) -> str:
        """The ``sha256sum`` line of this file."""
        return f"{self.sha256.hex()}  {self.path}\n"


def package_dir() -> Path:
    """The directory of the installed ``privcloud`` package."""
    return Path(__file__).resolve().parent.parent


def _sha256_file(path: Path) -> tuple[bytes, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.digest(), size


def code_files(root: Path | None = None) -> list[CodeFile]:
    """Every file of the code tree under ``root`` (default: the installed package), sorted."""
    root = package_dir() if root is None else root
    prefix = root.name
    out: list[CodeFile] = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if path.is_symlink():
            raise ConfigError("the package tree holds a symbolic link")
        if not path.is_file():
            continue
        name = f"{prefix}/{rel.as_posix()}"
        if "\n" in name or "\\" in name:
            raise ConfigError("a file name in the package tree cannot be hashed")
        out.append(CodeFile(name, _sha256_file(path)[0]))
    out.sort(key=lambda f: f.path.encode("utf-8", "surrogateescape"))
    return out


def code_digest(files: Iterable[CodeFile]) -> bytes:
    """SHA-256 over the ``sha256sum`` lines of ``files`` (in the order given)."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.line().encode("utf-8", "surrogateescape"))
    return h.digest()


def normalise_name(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_dependencies(
    package: str = PACKAGE, env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """``name==version`` of every distribution ``package`` requires, transitively, sorted."""
    env = dict(current_environment() if env is None else env)
    root = normalise_name(package)
    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    queue: list[tuple[str, str]] = [(root, "")]
    while queue:
        name, extra = queue.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError("a required distribution is not installed") from exc
        if name != root:
            found[name] = dist.version
        for requirement in dist.requires or []:
            spec, _, marker = requirement.partition(";")
            m = _REQ_NAME.match(spec)
            if m is None:
                raise ConfigError("a requirement cannot be parsed")
            if marker.strip() and not evaluate(marker, {**env, "extra": extra}):
                continue
            dep = normalise_name(m.group(1))
            extras = [normalise_name(e) for e in (m.group(2) or "").split(",") if e.strip()]
            queue.extend((dep, e) for e in ["", *extras])
    return tuple(sorted(f"{n}=={v}" for n, v in found.items()))


def model_file(path: Path, configured_path: str | None = None) -> ModelFile:
    """A model file's entry: ``configured_path`` (default: ``path`` as given), SHA-256, size."""
    digest, size = _sha256_file(path)
    return ModelFile(configured_path if configured_path is not None else str(path), digest, size)


def package_version(package: str = PACKAGE) -> str:
    """The installed version of ``package``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError("the package is not installed") from exc


def build_manifest(
    *,
    config: Mapping[str, Any],
    models: Iterable[ModelFile] = (),
    hardware_measurements: Mapping[str, bytes | None] | None = None,
    root: Path | None = None,
) -> ReleaseManifest:
    """The release manifest of this install with ``config`` and ``models``.

    ``hardware_measurements`` are launch measurements from a VM image build (none exists in
    this repository, so they default to absent). Raises :class:`ConfigError`.
    """
    files = code_files(root)
    return ReleaseManifest(
        package_name=PACKAGE,
        package_version=package_version(),
        code_digest=code_digest(files),
        code_files=len(files),
        dependencies=locked_dependencies(),
        models=tuple(sorted(models, key=lambda m: m.path)),
        config=dict(config),
        hardware_measurements=dict(hardware_measurements or {}),
    )
