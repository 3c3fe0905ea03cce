"""The log's store thread (privcloud.services.store_thread): the log's own steps pass the public
reads queued before them, the read queue is bounded (503: overloaded, nothing decided), a read
whose caller left is not run and holds no place in the bound, no thread before the first step."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from privcloud.errors import UnavailableError
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
    with pytest.raises(UnavailableError) as refused:
        await worker.read(lambda: "one too many")
    assert refused.value.http_status == 503
    own = asyncio.ensure_future(worker.write(lambda: "the log's own"))  # never refused
    await asyncio.sleep(0.01)
    gate.set()
    assert await own == "the log's own"
    assert await asyncio.gather(*reads) == ["ok"] * 4
    await held


async def test_a_read_whose_caller_left_is_not_run_and_frees_its_place(
    worker: StoreThread,
) -> None:
    """Requests sent and abandoned while a slow step runs must not fill the bound for the
    callers still waiting (review of 8b7bc18: four abandoned reads got a live caller 429)."""
    gate, held = await _hold(worker)
    ran: list[str] = []
    gone = [asyncio.ensure_future(worker.read(ran.append, "gone")) for _ in range(4)]
    while worker.queued_reads() < 4:
        await asyncio.sleep(0.001)
    for caller in gone:
        caller.cancel()
    await asyncio.sleep(0.01)  # the cancellation reaches the queued job on the loop's next turn
    assert worker.queued_reads() == 0
    live = asyncio.ensure_future(worker.read(ran.append, "live"))
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(held, live)
    await worker.write(ran.append, "after")
    assert ran == ["live", "after"]


async def test_errors_reach_the_caller_and_the_thread_goes_on(worker: StoreThread) -> None:
    def broken() -> None:
        raise UnavailableError("database gone")

    with pytest.raises(UnavailableError):
        await worker.read(broken)
    assert await worker.read(lambda: 7) == 7


def test_no_thread_runs_before_the_first_step() -> None:
    """A log object that never serves (``log init``, a start refused after the store was
    opened) must leave no thread behind."""
    before = {t.name for t in threading.enumerate()}
    thread = StoreThread("test-store-unused")
    assert "test-store-unused" not in {t.name for t in threading.enumerate()} - before
    thread.shutdown()


async def test_after_shutdown_steps_are_refused() -> None:
    thread = StoreThread("test-store")
    assert await thread.write(lambda: 1) == 1
    thread.shutdown()
    with pytest.raises(UnavailableError):
        await thread.read(lambda: 2)
