"""Helper threads of a node's workloads keep to the request's deadline (a red-team review, B1).

``generate_image`` (streamed) and ``summarize`` run their model call on a helper thread and pass
its output on from the request's own thread. The helper did not see the request's deadline (a
context variable), so it waited for a busy model without limit, and the request's thread waited
on the helper's queue without limit: past the deadline the node answered "timeout", but the
request kept its thread slot until the model came free. The live recognizer waited for its
Whisper model without limit too.

These tests run the node's real ``_events``, the real workloads' helper paths and the real
``Models.use`` lock over stand-in "loaded" models (no weights, no torch).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nodekit import answer, wait_until
from privcloud import limits
from privcloud.errors import RequestTimeoutError
from privcloud.live.recognizer import LIVE_WHISPER, WhisperRecognizer
from privcloud.services.node import Node
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads import imagegen
from privcloud.workloads.base import WorkloadRegistry
from privcloud.workloads.imagegen import GenerateImageWorkload
from privcloud.workloads.model_names import GEMMA_270M, IMAGE
from privcloud.workloads.models import ModelConfig, Models
from privcloud.workloads.summarize import SummarizeWorkload

#: The longest a stand-in holds anything, so that no test can hang.
SAFETY_S = 10.0


class Holder:
    """Holds ``model`` across PARTIAL events until ``release`` is set (a streamed answer)."""

    name, blocking = "holder", True

    def __init__(self, models: Models, model: str) -> None:
        self.models, self.model = models, model
        self.release = threading.Event()

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(self.model):
            end = time.monotonic() + SAFETY_S
            while not self.release.wait(0.05) and time.monotonic() < end:
                yield Event(EventKind.PARTIAL, {})
        yield Event(EventKind.RESULT, {})


class Summarize:
    """The real ``SummarizeWorkload._generate`` (its helper thread calls the language model)."""

    name, blocking = "summarize_generate", True

    def __init__(self, models: Models) -> None:
        self.summarize = SummarizeWorkload(models)

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        for item in self.summarize._generate(GEMMA_270M, "a transcript", 8):
            if isinstance(item, int):
                yield Event(EventKind.PARTIAL, {"tokens": item})
        yield Event(EventKind.RESULT, {})


#: (feature, the model its helper uses, the helper thread's name, request parameters)
HELPERS = [
    ("generate_image", IMAGE, "privcloud-imagegen", {"prompt": "a cat", "steps": 2}),
    ("summarize_generate", GEMMA_270M, "summarize-llm", {}),
]


@pytest.fixture
def models(tmp_path: Path) -> Models:
    models = Models(ModelConfig(cache_dir=tmp_path, image_model_dir=tmp_path))
    for name in (IMAGE, GEMMA_270M, LIVE_WHISPER):
        models._loaded[name] = object()  # stand-ins for loaded models: nothing to load
    return models


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """imagegen's render replaced by a stand-in (no torch): records its calls, two steps."""
    calls: list[object] = []

    def render(
        pipe: Any, spec: imagegen.ImageSpec, on_step: Callable[[int, int], None] | None = None
    ) -> tuple[bytes, dict[str, object]]:
        calls.append(pipe)
        for step in (1, 2):
            if on_step is not None:
                on_step(step, 2)
        return b"png", {}

    monkeypatch.setattr(imagegen, "render", render)
    return calls


def make_node(models: Models, *extra: object) -> Node:
    workloads = [GenerateImageWorkload(models), Summarize(models), *extra]
    return Node("node-under-test", registry=WorkloadRegistry(workloads))  # type: ignore[list-item]


def helper_alive(name: str) -> bool:
    return any(t.name == name and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize(("feature", "model", "helper", "params"), HELPERS)
async def test_a_helper_waiting_for_a_busy_model_stops_at_the_deadline_and_frees_the_thread(
    models: Models,
    rendered: list[object],
    feature: str,
    model: str,
    helper: str,
    params: dict[str, Any],
) -> None:
    holder = Holder(models, model)
    node = make_node(models, holder)
    hold = asyncio.create_task(answer(node, "holder", 20))
    try:
        assert await wait_until(models._use_locks[model].locked)
        assert await answer(node, feature, 0.5, params) == ("ERROR", "timeout")
        # While the model is still held: the request's thread is given back, and its helper
        # no longer waits for the model (it would take it, for nobody, once free).
        assert await wait_until(lambda: node.workload_threads.busy == 1)
        assert await wait_until(lambda: not helper_alive(helper))
        assert not hold.done()
    finally:
        holder.release.set()
    assert (await asyncio.wait_for(hold, SAFETY_S))[0] == "RESULT"
    assert await wait_until(lambda: node.workload_threads.busy == 0)
    assert not rendered  # the timed-out request never drew its image


@pytest.mark.parametrize(("feature", "model", "helper", "params"), HELPERS)
async def test_a_request_stops_waiting_for_a_stuck_helper_at_its_deadline(
    models: Models,
    monkeypatch: pytest.MonkeyPatch,
    feature: str,
    model: str,
    helper: str,
    params: dict[str, Any],
) -> None:
    # The helper has its model and then hangs (a model call that checks no deadline).
    stuck = threading.Event()

    def hang(*args: object, **kwargs: object) -> object:
        stuck.wait(SAFETY_S)
        raise RuntimeError("stand-in model call")

    monkeypatch.setattr(imagegen, "render", hang)
    monkeypatch.setattr(models, "complete", hang)
    node = make_node(models)
    try:
        assert await answer(node, feature, 0.5, params) == ("ERROR", "timeout")
        # The request's thread stopped waiting for the helper's output at the deadline.
        assert await wait_until(lambda: node.workload_threads.busy == 0)
        assert helper_alive(helper)
    finally:
        stuck.set()
    assert await wait_until(lambda: not helper_alive(helper))


def test_a_live_decode_waits_for_a_busy_whisper_no_longer_than_its_bound(
    models: Models, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "LIVE_MODEL_WAIT_S", 0.3)
    # A live decode is no request: the bound on requests waiting for a model does not refuse
    # it (its sessions have a bound of their own).
    monkeypatch.setattr(limits, "MAX_MODEL_WAITERS", 0)
    outcome: list[BaseException] = []

    def decode() -> None:
        try:
            WhisperRecognizer(models)(np.zeros(1600, dtype=np.float32), "en", "")
        except BaseException as exc:  # checked below
            outcome.append(exc)

    lock = models._use_locks[LIVE_WHISPER]
    lock.acquire()  # another call's decode holds Whisper
    decoding = threading.Thread(target=decode, daemon=True)
    try:
        decoding.start()
        decoding.join(SAFETY_S / 2)
        assert not decoding.is_alive()
    finally:
        lock.release()
        decoding.join(SAFETY_S)
    assert len(outcome) == 1 and isinstance(outcome[0], RequestTimeoutError)
