"""The fuzz targets of fuzz/, without atheris: garbage is refused with our errors only.

Each target's ``TestOneInput`` runs over its committed seed corpus (``fuzz/corpus/<target>``),
the seeds made from ``../shared/vectors`` when that folder is there, the reproducers of crashes
found and fixed (``fuzz/crashes/<target>``) and a few thousand inputs mutated from them by a
seeded pure-Python mutator. The invariant (fuzz/harness.py): an input is decoded or refused
with a :class:`~privcloud.errors.PrivcloudError`, never anything else, never in more than 1 s.
Coverage-guided runs are ``make fuzz`` (docs/fuzzing.md); this keeps CI to seconds per target.

``PRIVCLOUD_FUZZ_INPUTS`` sets how many mutated inputs each target gets (default 3000).
"""

from __future__ import annotations

import importlib
import os
import sys
import zlib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz import TARGETS, harness  # noqa: E402 - the repository root is on the path now
from fuzz.mutate import Mutator  # noqa: E402
from fuzz.seeds_shared import shared_seeds  # noqa: E402

INPUTS = int(os.environ.get("PRIVCLOUD_FUZZ_INPUTS", "3000"))
CRASHES = ROOT / "fuzz" / "crashes"
#: Reproducers of crashes found and not fixed yet (fuzz/harness.py): their test is a strict
#: xfail, so it turns red when the fix lands and the entry must go.
OPEN_CRASHES = {c.reproducer: c.summary for c in harness.OPEN_CRASHES}
#: Targets whose inputs are costly (FFmpeg): fewer mutated inputs.
_FEWER = {"fuzz_audio": 10}


def _files(folder: Path) -> list[bytes]:
    return (
        [f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()] if folder.is_dir() else []
    )


def _reproducers(name: str | None = None) -> list[Path]:
    folders = [CRASHES / name] if name else sorted(p for p in CRASHES.iterdir() if p.is_dir())
    return [f for d in folders if d.is_dir() for f in sorted(d.iterdir()) if f.is_file()]


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _target(name: str) -> ModuleType:
    if name == "fuzz_audio":
        pytest.importorskip("av", reason="the audio target needs the AI extra (PyAV)")
    return importlib.import_module(f"fuzz.{name}")


def _run(module: ModuleType, data: bytes) -> None:
    try:
        module.TestOneInput(data)
    except Exception as exc:
        op = module.OPS[data[0] % len(module.OPS)][0] if data else "-"
        raise AssertionError(
            f"{module.__name__} {op}: {type(exc).__name__}: {exc}; input "
            f"({len(data)} bytes) starts {data[:256].hex()}"
        ) from exc


@pytest.mark.parametrize("name", TARGETS)
def test_committed_corpus_has_a_seed_for_every_operation(name: str) -> None:
    """A target whose operation has no seed is fuzzed only from random bytes there."""
    module = _target(name)
    corpus = _files(ROOT / "fuzz" / "corpus" / name)
    covered = {module.OPS[data[0] % len(module.OPS)][0] for data in corpus if data}
    assert covered == {op for op, _ in module.OPS}


@pytest.mark.parametrize("name", TARGETS)
def test_garbage_is_refused_with_our_errors_only(name: str) -> None:
    module = _target(name)
    fixed = [p.read_bytes() for p in _reproducers(name) if _key(p) not in OPEN_CRASHES]
    corpus = _files(ROOT / "fuzz" / "corpus" / name) + shared_seeds(name) + fixed
    assert corpus, "no seed corpus: run python -m fuzz.make_corpus"
    for data in corpus:
        _run(module, data)
    count = INPUTS // _FEWER.get(name, 1)
    for data in Mutator(zlib.crc32(name.encode())).inputs(corpus, count, len(module.OPS)):
        _run(module, data)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            id=_key(p),
            marks=[
                pytest.mark.xfail(raises=AssertionError, strict=True, reason=OPEN_CRASHES[_key(p)])
            ]
            if _key(p) in OPEN_CRASHES
            else [],
        )
        for p in _reproducers()
    ],
)
def test_crash_reproducer_is_refused_with_our_errors(path: Path) -> None:
    """Each input that once crashed a target (fuzz/crashes/<target>/) stays refused cleanly."""
    _run(_target(path.parent.name), path.read_bytes())


def test_harness_lets_only_our_errors_through() -> None:
    from privcloud.errors import DecodeError

    def refuse(_data: bytes) -> None:
        raise DecodeError("malformed")

    def crash(data: bytes) -> None:
        data[10]  # an IndexError: what a decoder must never let out

    harness.check(refuse, b"")
    with pytest.raises(IndexError):
        harness.check(crash, b"")


def test_harness_fails_an_input_over_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "TIME_LIMIT_S", -1.0)
    with pytest.raises(harness.SlowInputError):
        harness.check(lambda _data: None, b"")


def test_atheris_runs_step_over_open_crashes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under atheris a known open crash does not end the run; any other crash still does."""
    monkeypatch.setattr(harness, "_step_over_open_crashes", True)
    for crash in harness.OPEN_CRASHES:
        path = CRASHES / crash.reproducer
        _run(_target(path.parent.name), path.read_bytes())
    with pytest.raises(UnicodeEncodeError):
        harness.check(lambda _data: "\ud800".encode(), b"")
