"""Fuzz target: the node directory and what it carries (trust/directory.py, trust/bundle.py,
trust/release_manifest.py).

Operations: ``directory`` (:func:`decode_directory`), ``descriptor``
(:func:`decode_descriptor`), ``bundle`` (:meth:`NodeBundle.decode`), ``release_manifest``
(:meth:`ReleaseManifest.decode`).
"""

from __future__ import annotations

from fuzz import harness
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import decode_descriptor, decode_directory
from privcloud.trust.release_manifest import ReleaseManifest

OPS: harness.Ops = (
    ("directory", decode_directory),
    ("descriptor", decode_descriptor),
    ("bundle", NodeBundle.decode),
    ("release_manifest", ReleaseManifest.decode),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
