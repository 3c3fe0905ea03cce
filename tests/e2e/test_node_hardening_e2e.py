"""A real node over loopback HTTP (services/node.py): an envelope posted twice runs once, and a
deadline that passes while a blocking workload streams ends the answer with a sealed timeout
and stops the workload (docs/envelope.md §8)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import pytest

from privcloud.envelope import MEDIA_TYPE_REQUEST, ClientSession, Recipient, seal_request
from privcloud.services.node import Node
from privcloud.services.site import start_site
from privcloud.wire.message import (
    Event,
    EventKind,
    EventStreamDecoder,
    WorkloadRequest,
    encode_request,
)
from privcloud.workloads import WorkloadRegistry


class CountingEcho:
    name = "echo"
    blocking = False

    def __init__(self) -> None:
        self.runs = 0

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        self.runs += 1
        yield Event(EventKind.RESULT, {}, request.body)


class SlowBlocking:
    """A test-only model-like workload: blocking steps of 0.3 s each, in a worker thread."""

    name = "slow"
    blocking = True
    STEP_S = 0.3

    def __init__(self) -> None:
        self.produced = 0
        self.stopped = threading.Event()

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        try:
            for index in range(100):
                time.sleep(self.STEP_S)
                self.produced += 1
                yield Event(EventKind.PARTIAL, {"index": index})
            yield Event(EventKind.RESULT, {})
        finally:
            self.stopped.set()


class Stuck:
    """A test-only workload whose one blocking step outlasts any short deadline."""

    name = "stuck"
    blocking = True
    STEP_S = 3.5

    def __init__(self) -> None:
        self.closed = threading.Event()

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        try:
            time.sleep(self.STEP_S)
            yield Event(EventKind.PARTIAL, {})
            yield Event(EventKind.RESULT, {})
        finally:
            self.closed.set()


@dataclass
class Served:
    node: Node
    url: str
    echo: CountingEcho
    slow: SlowBlocking
    stuck: Stuck

    def seal(
        self, request: WorkloadRequest, deadline_s: int | None = None
    ) -> tuple[bytes, ClientSession]:
        d = self.node.descriptor
        stamped = request.stamped(time.time(), deadline_s)
        return seal_request([Recipient(d.key_id, d.public_key, d.suite)], encode_request(stamped))


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    echo, slow, stuck = CountingEcho(), SlowBlocking(), Stuck()
    node = Node("hardening", registry=WorkloadRegistry([echo, slow, stuck]))
    runner, port = await start_site(node.app(), "127.0.0.1", 0)
    try:
        yield Served(node, f"http://127.0.0.1:{port}", echo, slow, stuck)
    finally:
        await runner.cleanup()


async def _post(url: str, envelope: bytes) -> tuple[int, bytes, float]:
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/v1/envelope", data=envelope, headers={"Content-Type": MEDIA_TYPE_REQUEST}
        ) as resp,
    ):
        return resp.status, await resp.read(), time.monotonic() - started


def _open(session: ClientSession, stream: bytes) -> list[Event]:
    decoder = EventStreamDecoder()
    events = [e for chunk in session.open_response(stream) for e in decoder.feed(chunk)]
    decoder.close()
    return events


async def test_same_envelope_posted_twice_over_http_is_refused_and_runs_once(
    served: Served,
) -> None:
    envelope, session = served.seal(WorkloadRequest("echo", {}, b"once"))
    status, body, _ = await _post(served.url, envelope)
    assert status == 200 and _open(session, body)[0].data == b"once"
    status, body, _ = await _post(served.url, envelope)
    assert status == 400 and b'"replay"' in body
    assert served.echo.runs == 1


async def test_deadline_passing_mid_stream_over_http_ends_with_a_sealed_timeout(
    served: Served,
) -> None:
    envelope, session = served.seal(WorkloadRequest("slow", stream=True), deadline_s=2)
    status, body, took = await _post(served.url, envelope)
    assert status == 200
    events = _open(session, body)
    assert events[-1].kind is EventKind.ERROR and events[-1].meta["code"] == "timeout"
    assert all(e.kind is EventKind.PARTIAL for e in events[:-1])
    # The issue time is whole seconds (rounded down), so the deadline falls 1 to 2 s after the
    # send: the answer ends then, not after 100 steps (30 s).
    assert took < 3.0
    await asyncio.to_thread(served.slow.stopped.wait, 2.0)
    assert served.slow.stopped.is_set()
    produced = served.slow.produced
    await asyncio.sleep(2 * SlowBlocking.STEP_S)
    assert served.slow.produced == produced < 10  # no step runs after it was stopped


async def test_step_still_running_at_the_deadline_is_not_waited_for(served: Served) -> None:
    """The sealed timeout goes out at the deadline even while a model step runs in its thread;
    the workload is closed as soon as that step returns."""
    # deadline_s=2: the issue time is whole seconds (rounded down), so with 1 a request sealed
    # in the last milliseconds of a second was past its deadline before the step ran
    envelope, session = served.seal(WorkloadRequest("stuck"), deadline_s=2)
    status, body, took = await _post(served.url, envelope)
    assert status == 200
    (event,) = _open(session, body)
    assert event.kind is EventKind.ERROR and event.meta["code"] == "timeout"
    assert took < Stuck.STEP_S - 0.5  # answered before the step ended
    assert not served.stuck.closed.is_set()
    await asyncio.to_thread(served.stuck.closed.wait, Stuck.STEP_S + 1)
    assert served.stuck.closed.is_set()
