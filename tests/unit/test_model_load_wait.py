"""A request waits for a model that another request is loading as it waits for a busy one: no
longer than its deadline, and counted among the model's waiters (``limits.MAX_MODEL_WAITERS``).

Loading a model hashes its files against the release manifest and then loads them: seconds,
minutes for the 1.1 GB Qwen file or an image pipeline. Every other request for that model waited
on the model's load lock without limit, past its own deadline, each on a workload thread of the
node's few. Real threads, the real ``Models.use``, a stand-in loader (no model library).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nodekit import eventually
from privcloud import limits
from privcloud.clock import SystemClock
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads.base import Deadline, WorkloadRegistry
from privcloud.workloads.models import MINILM_L6, ModelConfig, Models

#: The longest a stand-in blocks, so that no test can hang.
SAFETY_S = 10.0


class SlowLoad:
    """A loader that loads until ``done`` is set (hashing and loading a large model)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.done = threading.Event()
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        self.started.set()
        self.done.wait(SAFETY_S)
        return object()


class Embed:
    """A request that needs the embedding model for a moment."""

    name, blocking = "embed", True

    def __init__(self, models: Models) -> None:
        self.models = models

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(MINILM_L6):
            yield Event(EventKind.RESULT, {})


@pytest.fixture
def load() -> Iterator[SlowLoad]:
    load = SlowLoad()
    yield load
    load.done.set()  # whatever happened, the load ends


@pytest.fixture
def models(tmp_path: Path, load: SlowLoad, monkeypatch: pytest.MonkeyPatch) -> Models:
    """Models whose embedding model loads until ``load.done`` is set; nothing to join."""
    models = Models(ModelConfig(cache_dir=tmp_path))
    monkeypatch.setattr(models, "prepare", lambda: None)
    monkeypatch.setattr(models, "_load_embedder", load)
    return models


def in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """``target`` run on a thread of its own, and the list its outcome will be put in."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(target()), daemon=True)
    thread.start()
    return thread, outcome


def first_loads(models: Models, load: SlowLoad) -> threading.Thread:
    """A first use of the model (no request: no deadline), which loads it."""

    def use() -> None:
        with models.use(MINILM_L6):
            pass

    thread, _ = in_thread(use)
    assert load.started.wait(SAFETY_S)
    return thread


def embed(models: Models, seconds: float) -> tuple[str, str | None]:
    """One request's answer (its last event's kind and error code), with a deadline."""
    deadline = Deadline(at=time.time() + seconds, clock=SystemClock())
    registry = WorkloadRegistry([Embed(models)])  # type: ignore[list-item]
    last = list(registry.run(WorkloadRequest("embed", {}), deadline))[-1]
    return last.kind.name, last.meta.get("code")


def test_a_request_waits_for_a_model_another_is_loading_no_longer_than_its_deadline(
    models: Models, load: SlowLoad
) -> None:
    loading = first_loads(models, load)
    waiter, outcome = in_thread(lambda: embed(models, 0.2))
    waiter.join(SAFETY_S / 2)
    assert not waiter.is_alive()  # it gave its thread back while the model still loads
    assert outcome == [("ERROR", "timeout")]
    assert loading.is_alive() and MINILM_L6 not in models._loaded
    load.done.set()
    loading.join(SAFETY_S)
    # The load went on, for the others: the next request finds the model loaded.
    assert MINILM_L6 in models._loaded
    assert embed(models, SAFETY_S) == ("RESULT", None)
    assert load.calls == 1


def test_requests_waiting_for_a_loading_model_count_against_its_waiter_bound(
    models: Models, load: SlowLoad, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_MODEL_WAITERS", 1)
    loading = first_loads(models, load)
    waiter, outcome = in_thread(lambda: embed(models, SAFETY_S))
    assert eventually(lambda: models._waiting[MINILM_L6] == 1)
    # One more would only wait on a thread too: it is refused at once.
    assert embed(models, SAFETY_S) == ("ERROR", "rate_limited")
    load.done.set()
    loading.join(SAFETY_S)
    waiter.join(SAFETY_S)
    assert outcome == [("RESULT", None)]
    assert models._waiting[MINILM_L6] == 0
    assert load.calls == 1
