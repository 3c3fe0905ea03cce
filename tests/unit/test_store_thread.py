"""The log's store thread (privcloud.services.store_thread): the log's own steps pass the public
reads queued before them, the read queue is bounded, a read whose caller left is not run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from privcloud.errors import RateLimitedError, UnavailableError
from privcloud.services.store_thread import StoreThread


@pytest.fixture
async def worker() -> AsyncIterator[StoreThread]:
    thread = StoreThread("test-store", max_reads=4)
    yield thread
    thread.shutdown()


async def _hold(worker: StoreThread) -> tuple[threading.Event, asyncio.Future[object]]:
    """Occupy the thread with a read until the returned event is set."""
    gate, started = threading.Event(), threading.Event()

    def blocked() -> None:
        started.set()
        gate.wait(10)

    held = asyncio.ensure_future(worker.read(blocked))
    while not started.is_set():
        await asyncio.sleep(0.001)
    return gate, held


async def test_a_write_runs_before_every_read_queued_ahead_of_it(worker: StoreThread) -> None:
    gate, held = await _hold(worker)
    order: list[str] = []
    reads = [asyncio.ensure_future(worker.read(order.append, f"read {i}")) for i in range(4)]
    while worker.queued_reads() < 4:
        await asyncio.sleep(0.001)
    write = asyncio.ensure_future(worker.write(order.append, "write"))
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(held, write, *reads)
    assert order == ["write", "read 0", "read 1", "read 2", "read 3"]


async def test_a_read_flood_past_the_bound_is_refused_not_queued(worker: StoreThread) -> None:
    gate, held = await _hold(worker)
    reads = [asyncio.ensure_future(worker.read(lambda: "ok")) for _ in range(4)]
    while worker.queued_reads() < 4:
        await asyncio.sleep(0.001)
    with pytest.raises(RateLimitedError):
        await worker.read(lambda: "one too many")
    own = asyncio.ensure_future(worker.write(lambda: "the log's own"))  # never refused
    await asyncio.sleep(0.01)
    gate.set()
    assert await own == "the log's own"
    assert await asyncio.gather(*reads) == ["ok"] * 4
    await held


async def test_a_read_whose_caller_left_is_not_run(worker: StoreThread) -> None:
    gate, held = await _hold(worker)
    ran: list[str] = []
    gone = asyncio.ensure_future(worker.read(ran.append, "gone"))
    while worker.queued_reads() < 1:
        await asyncio.sleep(0.001)
    gone.cancel()
    await asyncio.sleep(0.01)  # the cancellation reaches the queued job on the loop's next turn
    gate.set()
    await held
    await worker.write(ran.append, "after")
    assert ran == ["after"]


async def test_errors_reach_the_caller_and_the_thread_goes_on(worker: StoreThread) -> None:
    def broken() -> None:
        raise UnavailableError("database gone")

    with pytest.raises(UnavailableError):
        await worker.read(broken)
    assert await worker.read(lambda: 7) == 7


async def test_after_shutdown_steps_are_refused() -> None:
    thread = StoreThread("test-store")
    assert await thread.write(lambda: 1) == 1
    thread.shutdown()
    with pytest.raises(UnavailableError):
        await thread.read(lambda: 2)
