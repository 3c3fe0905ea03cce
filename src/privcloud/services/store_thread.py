"""One thread for a synchronous store, whose writes pass its reads.

The transparency log keeps its tree in SQLite (or PostgreSQL through a synchronous driver), used
from one thread at a time. Before, one :class:`~concurrent.futures.ThreadPoolExecutor` ran every
store step in arrival order: anyone may read the log (proofs, entries, tiles), so a flood of
reads queued ahead of the operator's appends and the checkpoint signing, delaying a release's
publication, and the queue itself had no bound.

:class:`StoreThread` keeps the one thread (the store needs no locking) with two queues: a
:meth:`~StoreThread.write` runs before any queued :meth:`~StoreThread.read`, so it waits at most
for the step in progress; at most :data:`~privcloud.limits.MAX_TLOG_QUEUED_READS` reads wait,
and a read beyond that is refused with :class:`UnavailableError` (503) before it is queued: the
log is overloaded, which its clients take for "unreachable, nothing decided" (a device proving
a key does not take it for a key the log lacks). A read whose caller is gone leaves the
queue at once, unrun: the log's and its readers' applications cancel a handler whose peer
disconnected (``new_app(cancel_on_disconnect=True)``; aiohttp does not by default, and a flood
of requests sent and dropped held the bound). The thread starts with the
first step, so a log object that never serves (``log init``, a refused start) holds none.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from privcloud import limits
from privcloud.errors import UnavailableError

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[..., Any], tuple[object, ...]]


class StoreThread:
    """Runs a store's steps on one daemon thread named ``name``: writes first, reads bounded."""

    def __init__(self, name: str, *, max_reads: int = limits.MAX_TLOG_QUEUED_READS) -> None:
        self.max_reads = max_reads
        self._writes: deque[_Job] = deque()
        self._reads: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    async def write(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the thread, before every read still queued."""
        return await self._submit(self._writes, fn, args)

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the thread after the writes queued; :class:`UnavailableError` when
        :attr:`max_reads` reads already wait."""
        if len(self._reads) >= self.max_reads:
            raise UnavailableError("the log is busy: try again later")
        return await self._submit(self._reads, fn, args)

    async def _submit(
        self, queue: deque[_Job], fn: Callable[..., T], args: tuple[object, ...]
    ) -> T:
        future: Future[T] = Future()
        job: _Job = (future, fn, args)
        with self._ready:
            if self._stopping:
                raise UnavailableError("the log's store is closed")
            if not self._thread.is_alive():
                self._thread.start()
            queue.append(job)
            self._ready.notify()
        # Cancelling the awaiting task cancels ``future`` (a job not yet started), which takes
        # the job out of its queue: an abandoned read holds no place in the bound.
        future.add_done_callback(
            lambda done: self._forget(queue, job) if done.cancelled() else None
        )
        return await asyncio.wrap_future(future)

    def _forget(self, queue: deque[_Job], job: _Job) -> None:
        with self._ready, contextlib.suppress(ValueError):  # the worker took it already
            queue.remove(job)

    def _next(self) -> _Job | None:
        with self._ready:
            while not (self._writes or self._reads or self._stopping):
                self._ready.wait()
            if self._writes:
                return self._writes.popleft()
            if self._reads:
                return self._reads.popleft()
            return None  # stopping, and nothing left

    def _work(self) -> None:
        while (job := self._next()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue  # its caller went away before it started
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self) -> None:
        """Run what is queued, refuse what comes after, and wait for the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
            started = self._thread.is_alive()
        if started:
            self._thread.join()

    def queued_reads(self) -> int:
        """How many reads wait now."""
        return len(self._reads)


__all__ = ["StoreThread"]
