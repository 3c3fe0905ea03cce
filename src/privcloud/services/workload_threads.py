"""Threads for a node's blocking workloads: each request on a thread of its own, at most
``limits.MAX_NODE_WORKLOAD_THREADS`` at a time.

A blocking workload's generator advances one event at a time off the event loop. It holds its
model's lock across the events it yields (a streamed chat answer: one event per piece), and
another request for that model waits for the lock on its own step's thread. On the event
loop's shared pool (``min(32, cpus + 4)`` threads) enough waiters took every thread, the holder
had none left for its next step, so it never let the lock go: one streamed chat and six more
requests stopped every model workload of a node until it was restarted (a red-team review,
2026-12-06). Here a request's steps run on a thread only it uses, so a waiter blocks nobody
but itself; a slot bounds the threads, and a request waits for one on the event loop, no
longer than its deadline, behind at most ``limits.MAX_NODE_WORKLOAD_QUEUE`` others (one more is
refused at once: :class:`RateLimitedError`, 429). ``Models.use`` waits for a model no longer
than the deadline either, and refuses a request past ``limits.MAX_MODEL_WAITERS`` waiting for
one model, so waiters for a busy model cannot take every thread.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor

from privcloud import limits
from privcloud.errors import RateLimitedError, RequestTimeoutError
from privcloud.wire.message import Event
from privcloud.workloads import Deadline


class WorkloadThreads:
    """At most ``limit`` blocking requests at a time, each advancing on its own thread, and at
    most ``max_waiting`` more waiting for one."""

    def __init__(self, limit: int, max_waiting: int = limits.MAX_NODE_WORKLOAD_QUEUE) -> None:
        self.limit = limit
        self.max_waiting = max_waiting
        #: Requests holding a thread now (a content-free gauge).
        self.busy = 0
        #: Requests waiting for a thread now (a content-free gauge).
        self.waiting = 0
        self._slots = asyncio.Semaphore(limit)

    async def claim(self, deadline: Deadline | None) -> RequestThread:
        """A thread for one request, once a slot is free. Raises :class:`RateLimitedError` at
        once when none is free and ``max_waiting`` requests already wait for one, and
        :class:`RequestTimeoutError` when none frees before ``deadline``."""
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise RateLimitedError("the node has its most requests waiting for a thread")
        timeout = None if deadline is None else max(0.0, deadline.remaining())
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError as exc:
            raise RequestTimeoutError("the node stayed busy until the request's deadline") from exc
        finally:
            self.waiting -= 1
        self.busy += 1
        return RequestThread(self._give_back)

    def _give_back(self) -> None:
        self.busy -= 1
        self._slots.release()


class RequestThread:
    """One request's thread: its steps run there, one at a time, in the caller's context (as
    ``asyncio.to_thread`` runs them)."""

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back = give_back
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workload")
        self._released = False

    def step(self, events: Generator[Event, None, None]) -> asyncio.Future[Event | None]:
        """The next event of ``events`` (None at its end), computed on this thread."""
        context = contextvars.copy_context()

        def advance() -> Event | None:
            return context.run(next, events, None)

        return asyncio.get_running_loop().run_in_executor(self._executor, advance)

    def release(self) -> None:
        """Give the slot back and let the thread end (once no step runs: the caller's duty)."""
        if not self._released:
            self._released = True
            self._executor.shutdown(wait=False)
            self._give_back()


__all__ = ["RequestThread", "WorkloadThreads"]
