"""Write the seed corpora of the fuzz targets.

    python -m fuzz.make_corpus                 # own and shared seeds of every target
    python -m fuzz.make_corpus --shared-only   # only build/fuzz/seeds-shared (make fuzz)
    python -m fuzz.make_corpus fuzz_bhttp      # some targets

Two kinds of seeds (provenance: docs/fuzzing.md):

* **own seeds** (:mod:`fuzz.seeds`), committed in ``fuzz/corpus/<target>/``: made by
  privcloud's encoders and from the repository's own golden vectors;
* **shared seeds** (:mod:`fuzz.seeds_shared`), from ``../shared/vectors`` when it is there,
  written to ``build/fuzz/seeds-shared/<target>/`` and never committed.

Files are named by the SHA-256 of their content; each run replaces a target's folder. Signed
seeds (ECDSA, RSA-PSS) differ from run to run; the keys that verify them do not.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from fuzz import ROOT, TARGETS
from fuzz.seeds import OWN
from fuzz.seeds_shared import SHARED, SHARED_VECTORS

CORPUS_DIR: Final = ROOT / "fuzz" / "corpus"
SHARED_SEEDS_DIR: Final = ROOT / "build" / "fuzz" / "seeds-shared"


def write(folder: Path, seeds: Iterable[bytes]) -> int:
    """Replace the files of ``folder`` with ``seeds``, named by content hash; returns the count."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    names = set()
    for data in seeds:
        name = hashlib.sha256(data).hexdigest()[:16]
        names.add(name)
        (folder / name).write_bytes(data)
    return len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared-only", action="store_true", help="leave fuzz/corpus alone")
    parser.add_argument("--vectors", type=Path, default=SHARED_VECTORS)
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    args = parser.parse_args()
    for target in args.targets:
        line = f"{target}:"
        if not args.shared_only:
            line += f" {write(CORPUS_DIR / target, OWN[target]())} own seeds"
        if target in SHARED and args.vectors.is_dir():
            line += f" {write(SHARED_SEEDS_DIR / target, SHARED[target](args.vectors))} shared"
        print(line)


if __name__ == "__main__":
    main()
