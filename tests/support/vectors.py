"""Locate the shared test vectors in ``../shared/vectors`` (see PROVENANCE.md there)."""

from __future__ import annotations

from pathlib import Path

import pytest


def shared_vector(*parts: str) -> Path:
    """Path of a file under ``../shared/vectors``; skips the calling test if it is absent."""
    path = Path(__file__).resolve().parents[3].joinpath("shared", "vectors", *parts)
    if not path.exists():
        pytest.skip(f"../shared/vectors absent: {'/'.join(parts)}")
    return path
