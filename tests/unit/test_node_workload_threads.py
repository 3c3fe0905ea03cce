"""A node's blocking workloads, each request on a thread of its own
(privcloud.services.workload_threads), and ``Models.use`` bounded by the request's deadline.

A red-team review (2026-12-06) wedged a node for good with one streamed chat and six more: the
stream holds its model's lock across its events, the six waited for it on every thread of the
event loop's shared pool, and the stream had no thread left for its next event. These tests run
the node's real ``_events`` and ``Models.use`` over test workloads (no model: a stand-in object
is the "loaded" model; the lock and the threads are the real ones).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from privcloud import limits
from privcloud.services.node import Node
from privcloud.services.workload_threads import WorkloadThreads
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads.base import WorkloadRegistry
from privcloud.workloads.model_names import MINILM_L6
from privcloud.workloads.models import ModelConfig, Models

#: The event loop's default pool on this machine: the waiters outnumber it.
_SHARED_POOL = min(32, (os.cpu_count() or 1) + 4)


class Streamer:
    """Holds the model across ``pieces`` events, ``every`` seconds apart (a streamed answer)."""

    name, blocking = "streamer", True

    def __init__(self, models: Models, pieces: int = 30, every: float = 0.05) -> None:
        self.models, self.pieces, self.every = models, pieces, every

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(MINILM_L6):
            for i in range(self.pieces):
                time.sleep(self.every)
                yield Event(EventKind.PARTIAL, {"piece": i})
        yield Event(EventKind.RESULT, {"pieces": self.pieces})


class Waiter:
    """Needs the same model for a moment."""

    name, blocking = "waiter", True

    def __init__(self, models: Models) -> None:
        self.models = models

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        with self.models.use(MINILM_L6):
            yield Event(EventKind.RESULT, {})


class Other:
    """Another feature, no model: 0.05 s of work."""

    name, blocking = "other", True

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        time.sleep(0.05)
        yield Event(EventKind.RESULT, {})


@pytest.fixture
def node(tmp_path: Path) -> Node:
    models = Models(ModelConfig(cache_dir=tmp_path))
    models._loaded[MINILM_L6] = object()  # a stand-in for the loaded model: nothing to load
    registry = WorkloadRegistry([Streamer(models), Waiter(models), Other()])
    return Node("node-under-test", registry=registry)


async def answer(node: Node, feature: str, deadline_s: float) -> tuple[str, str | None, float]:
    """The last event's kind, its error code, and when it came."""
    started = time.monotonic()
    exchange = SimpleNamespace(
        work=WorkloadRequest(feature, {}, stream=True), deadline_at=time.time() + deadline_s
    )
    last = None
    async for event in node._events(exchange):  # type: ignore[arg-type]
        last = event
    assert last is not None
    return last.kind.name, last.meta.get("code"), time.monotonic() - started


async def threads_given_back(node: Node) -> bool:
    for _ in range(100):
        if node.workload_threads.busy == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_waiters_for_a_streaming_model_do_not_starve_the_stream_or_other_features(
    node: Node,
) -> None:
    stream = asyncio.create_task(answer(node, "streamer", 20))
    await asyncio.sleep(0.2)  # the stream holds the model
    waiters = [asyncio.create_task(answer(node, "waiter", 20)) for _ in range(_SHARED_POOL + 1)]
    await asyncio.sleep(0.2)  # every waiter waits for the model on a thread
    kind, _, took = await asyncio.wait_for(answer(node, "other", 5), 5)
    assert kind == "RESULT" and took < 1.0  # another feature is not held up by the waiters
    assert (await asyncio.wait_for(stream, 10))[0] == "RESULT"  # nor is the stream itself
    # All wait for the model and get it, but those past limits.MAX_MODEL_WAITERS (a machine
    # with many cores), which are refused at once (test_node_workload_threads_bounds).
    answers = [w[:2] for w in await asyncio.wait_for(asyncio.gather(*waiters), 10)]
    served = min(len(waiters), limits.MAX_MODEL_WAITERS)
    assert answers.count(("RESULT", None)) == served
    assert answers.count(("ERROR", "rate_limited")) == len(waiters) - served
    assert await threads_given_back(node)


async def test_a_request_waits_for_a_busy_model_no_longer_than_its_deadline(node: Node) -> None:
    stream = asyncio.create_task(answer(node, "streamer", 20))  # holds the model ~1.5 s
    await asyncio.sleep(0.2)
    kind, code, took = await answer(node, "waiter", 0.4)
    assert (kind, code) == ("ERROR", "timeout") and took < 1.0
    # The waiter stopped waiting for the model at its deadline, and its thread ended then,
    # while the stream still holds the model (it did not wait for the stream to end).
    for _ in range(10):
        if node.workload_threads.busy == 1:
            break
        await asyncio.sleep(0.05)
    assert node.workload_threads.busy == 1 and not stream.done()
    assert (await stream)[0] == "RESULT"
    assert await threads_given_back(node)


async def test_past_the_thread_limit_a_request_waits_for_a_slot_up_to_its_deadline(
    node: Node,
) -> None:
    node.workload_threads = WorkloadThreads(1)
    stream = asyncio.create_task(answer(node, "streamer", 20))
    await asyncio.sleep(0.2)
    kind, code, took = await answer(node, "other", 0.4)
    assert (kind, code) == ("ERROR", "timeout") and took < 1.0
    assert (await stream)[0] == "RESULT"
    assert (await answer(node, "other", 5))[0] == "RESULT"  # the slot came back
    assert await threads_given_back(node)
