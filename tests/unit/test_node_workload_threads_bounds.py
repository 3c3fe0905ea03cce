"""Requests that would only wait are refused, so they cannot take every thread of a node (a
red-team review, B3 and B4).

B3: a request takes a thread before it knows that its model is busy, then waits for the model
on it. One streamed answer and 31 requests for its model took all MAX_NODE_WORKLOAD_THREADS, and
every other feature waited for its whole deadline. Now at most ``limits.MAX_MODEL_WAITERS``
requests wait for any one model (``limits.MAX_MODEL_WAITERS_TOTAL`` for all), and one more is
refused at once (429). B4: requests waiting for a thread queued without bound (each holding its
opened envelope); now at most ``limits.MAX_NODE_WORKLOAD_QUEUE`` wait, and one more is refused.

The node's real ``_events``, threads and ``Models.use`` run over stand-in models (no weights).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodekit import answer, wait_until
from privcloud import limits
from privcloud.services.node import Node
from privcloud.services.workload_threads import WorkloadThreads
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads import models as models_module
from privcloud.workloads.base import WorkloadRegistry
from privcloud.workloads.model_names import GEMMA_270M, IMAGE, MINILM_L6
from privcloud.workloads.models import ModelConfig, Models

#: The longest a stand-in holds a model, so that no test can hang.
SAFETY_S = 10.0
#: The models the tests hold busy, each with the name its features have here.
BUSY = {MINILM_L6: "minilm", GEMMA_270M: "gemma", IMAGE: "image"}


class Holder:
    """Holds ``model`` across PARTIAL events until ``release`` is set (a streamed answer)."""

    blocking = True

    def __init__(self, models: Models, model: str, release: threading.Event) -> None:
        self.name, self.models, self.model = f"hold_{BUSY[model]}", models, model
        self.release = release

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(self.model):
            end = time.monotonic() + SAFETY_S
            while not self.release.wait(0.05) and time.monotonic() < end:
                yield Event(EventKind.PARTIAL, {})
        yield Event(EventKind.RESULT, {})


class Waiter:
    """Needs ``model`` for a moment."""

    blocking = True

    def __init__(self, models: Models, model: str) -> None:
        self.name, self.models, self.model = f"wait_{BUSY[model]}", models, model

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(self.model):
            yield Event(EventKind.RESULT, {})


class Other:
    """Another feature, no model."""

    name, blocking = "other", True

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        yield Event(EventKind.RESULT, {})


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # whatever happened, the holders let go


@pytest.fixture
def node(tmp_path: Path, release: threading.Event) -> Node:
    models = Models(ModelConfig(cache_dir=tmp_path, image_model_dir=tmp_path))
    workloads: list[object] = [Other()]
    for model in BUSY:
        models._loaded[model] = object()  # a stand-in for the loaded model: nothing to load
        workloads += [Holder(models, model, release), Waiter(models, model)]
    node = Node("node-under-test", registry=WorkloadRegistry(workloads))  # type: ignore[arg-type]
    node.models = models  # type: ignore[attr-defined]
    return node


def test_the_bounds_leave_threads_to_features_that_need_no_busy_model() -> None:
    holders = len(models_module._ALL_MODELS)  # at most one request holds each model
    assert limits.MAX_MODEL_WAITERS < limits.MAX_MODEL_WAITERS_TOTAL
    assert holders + limits.MAX_MODEL_WAITERS_TOTAL < limits.MAX_NODE_WORKLOAD_THREADS


async def test_one_stream_and_requests_for_its_model_cannot_take_every_thread(
    node: Node, release: threading.Event
) -> None:
    hold = asyncio.create_task(answer(node, "hold_minilm", 20))
    assert await wait_until(lambda: node.workload_threads.busy == 1)
    # With the stream, they are as many as the node has threads.
    count = node.workload_threads.limit - 1
    refused = count - limits.MAX_MODEL_WAITERS
    waiters = [asyncio.create_task(answer(node, "wait_minilm", 20)) for _ in range(count)]
    # Those past the bound are refused at once; the others wait for the model on a thread.
    assert await wait_until(lambda: sum(w.done() for w in waiters) == refused)
    assert await wait_until(lambda: node.workload_threads.busy == 1 + limits.MAX_MODEL_WAITERS)
    # Another feature finds a thread at once (it waited for its whole deadline before).
    assert await asyncio.wait_for(answer(node, "other", 5), 5) == ("RESULT", None)
    release.set()
    assert (await asyncio.wait_for(hold, SAFETY_S))[0] == "RESULT"
    answers = Counter(await asyncio.wait_for(asyncio.gather(*waiters), SAFETY_S))
    assert answers == {
        ("RESULT", None): limits.MAX_MODEL_WAITERS,
        ("ERROR", "rate_limited"): refused,
    }
    assert await wait_until(lambda: node.workload_threads.busy == 0)
    assert not any(node.models._waiting.values())  # type: ignore[attr-defined]


async def test_requests_waiting_for_several_busy_models_are_bounded_together(
    node: Node, release: threading.Event
) -> None:
    holds = [asyncio.create_task(answer(node, f"hold_{BUSY[m]}", 20)) for m in BUSY]
    assert await wait_until(lambda: node.workload_threads.busy == len(BUSY))
    waiters = [
        asyncio.create_task(answer(node, f"wait_{BUSY[m]}", 20))
        for m in BUSY
        for _ in range(limits.MAX_MODEL_WAITERS)
    ]
    refused = len(waiters) - limits.MAX_MODEL_WAITERS_TOTAL
    assert refused > 0  # each model's own bound alone would let them all wait
    assert await wait_until(lambda: sum(w.done() for w in waiters) == refused)
    assert await asyncio.wait_for(answer(node, "other", 5), 5) == ("RESULT", None)
    release.set()
    await asyncio.wait_for(asyncio.gather(*holds), SAFETY_S)
    answers = Counter(await asyncio.wait_for(asyncio.gather(*waiters), SAFETY_S))
    assert answers == {
        ("RESULT", None): limits.MAX_MODEL_WAITERS_TOTAL,
        ("ERROR", "rate_limited"): refused,
    }
    assert await wait_until(lambda: node.workload_threads.busy == 0)


async def test_requests_queued_for_a_thread_past_the_bound_are_refused(
    node: Node, release: threading.Event
) -> None:
    node.workload_threads = WorkloadThreads(1)
    hold = asyncio.create_task(answer(node, "hold_minilm", 20))
    assert await wait_until(lambda: node.workload_threads.busy == 1)
    extra = 10
    queued = [
        asyncio.create_task(answer(node, "other", 20))
        for _ in range(limits.MAX_NODE_WORKLOAD_QUEUE + extra)
    ]
    assert await wait_until(lambda: sum(q.done() for q in queued) == extra)
    assert node.workload_threads.waiting == limits.MAX_NODE_WORKLOAD_QUEUE
    release.set()
    assert (await asyncio.wait_for(hold, SAFETY_S))[0] == "RESULT"
    answers = Counter(await asyncio.wait_for(asyncio.gather(*queued), SAFETY_S))
    assert answers == {
        ("RESULT", None): limits.MAX_NODE_WORKLOAD_QUEUE,
        ("ERROR", "rate_limited"): extra,
    }
    assert node.workload_threads.busy == 0 and node.workload_threads.waiting == 0
