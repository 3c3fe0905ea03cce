"""Release manifests: compute, deterministically, what a node runs, and compare it with what was
logged (DESIGN.md §3, "Release manifest"; issue 4 §2).

* :mod:`.build` — the manifest of this install: code tree digest, locked dependencies, model
  files, node config, expected measurement per TEE type (reads files and package metadata).
* :mod:`.verify` — field-by-field comparison of two manifests (sans-IO).
* :mod:`.markers` — PEP 508 marker evaluation for the dependency walk.

The manifest format itself lives in :mod:`privcloud.trust.release_manifest`, below this package,
because the client's admission reads it.
"""

from privcloud.release.build import build_manifest, code_files, locked_dependencies
from privcloud.release.verify import FieldComparison, Outcome, compare, require_same

__all__ = [
    "FieldComparison",
    "Outcome",
    "build_manifest",
    "code_files",
    "compare",
    "locked_dependencies",
    "require_same",
]
