"""A workload whose cleanup raises neither leaks its thread nor breaks the answer (a red-team
review, B2).

The node closed a workload (its ``finally``, a ``with`` exit) and only then gave its thread
back, and the registry closed it unguarded: any exception in a cleanup skipped the release, so
the node lost a thread slot for good, and the exception escaped ``_events`` raw (a 500 on the
one-shot path), even after a normal end. Now the close is guarded where the registry closes a
workload and where the node closes the registry's generator (at once, or after a step still
running at the deadline), the error's type alone is logged, and the slot is always given back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Iterator

import pytest

from nodekit import answer, exchange, wait_until
from privcloud.services.node import Node
from privcloud.services.workload_threads import WorkloadThreads
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads.base import Deadline, WorkloadRegistry

#: Text of the cleanup's exception: it must not reach a log (it could quote a request).
CANARY = "canary-3f9a request text"
#: The longest a stand-in blocks, so that no test can hang.
SAFETY_S = 10.0


class BadCleanup:
    """Its cleanup raises when it is closed (a bug in a ``finally`` or a ``with`` exit)."""

    name, blocking = "bad_cleanup", True

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        try:
            yield Event(EventKind.PARTIAL, {})
            yield Event(EventKind.RESULT, {})
        finally:
            raise RuntimeError(CANARY)


class Quick:
    name, blocking = "quick", True

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        yield Event(EventKind.RESULT, {})


class Slow:
    """One step that runs until ``release`` is set."""

    name, blocking = "slow", True

    def __init__(self) -> None:
        self.release = threading.Event()

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        self.release.wait(SAFETY_S)
        yield Event(EventKind.RESULT, {})


class RaisingCloseRegistry(WorkloadRegistry):
    """A registry whose generator itself raises when closed (past the registry's own guard)."""

    def run(
        self, request: WorkloadRequest, deadline: Deadline | None = None
    ) -> Generator[Event, None, None]:
        try:
            yield from super().run(request, deadline)
        finally:
            raise RuntimeError(CANARY)


def logged_type_only(caplog: pytest.LogCaptureFixture) -> bool:
    """A cleanup failure was logged, by its type, and its text was not."""
    return "RuntimeError" in caplog.text and CANARY not in caplog.text


# --- the registry ---------------------------------------------------------------------------


def test_a_raising_cleanup_after_the_result_leaves_the_registrys_answer_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = list(WorkloadRegistry([BadCleanup()]).run(WorkloadRequest("bad_cleanup", {})))
    assert [e.kind for e in events] == [EventKind.PARTIAL, EventKind.RESULT]
    assert logged_type_only(caplog)


def test_closing_the_registrys_answer_early_survives_a_raising_cleanup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = WorkloadRegistry([BadCleanup()]).run(WorkloadRequest("bad_cleanup", {}))
    assert next(events).kind is EventKind.PARTIAL
    events.close()  # the client went away
    assert logged_type_only(caplog)


# --- the node -------------------------------------------------------------------------------


@pytest.mark.parametrize("registry", [WorkloadRegistry, RaisingCloseRegistry])
async def test_a_raising_cleanup_at_a_normal_end_answers_and_gives_the_thread_back(
    caplog: pytest.LogCaptureFixture, registry: type[WorkloadRegistry]
) -> None:
    node = Node("node-under-test", registry=registry([BadCleanup(), Quick()]))
    node.workload_threads = WorkloadThreads(1)
    assert await answer(node, "bad_cleanup", 5) == ("RESULT", None)
    assert node.workload_threads.busy == 0
    assert await answer(node, "quick", 5) == ("RESULT", None)  # the one slot came back
    assert logged_type_only(caplog)


@pytest.mark.parametrize("registry", [WorkloadRegistry, RaisingCloseRegistry])
async def test_a_client_leaving_a_workload_with_a_raising_cleanup_gives_the_thread_back(
    caplog: pytest.LogCaptureFixture, registry: type[WorkloadRegistry]
) -> None:
    node = Node("node-under-test", registry=registry([BadCleanup(), Quick()]))
    node.workload_threads = WorkloadThreads(1)
    events = node._events(exchange("bad_cleanup", 5))
    assert (await anext(events)).kind is EventKind.PARTIAL
    await events.aclose()  # the client went away: no exception escapes
    assert node.workload_threads.busy == 0
    assert await answer(node, "quick", 5) == ("RESULT", None)
    assert logged_type_only(caplog)


async def test_a_raising_close_after_a_step_outlived_its_deadline_gives_the_thread_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = Slow()
    node = Node("node-under-test", registry=RaisingCloseRegistry([slow, Quick()]))
    node.workload_threads = WorkloadThreads(1)
    try:
        assert await answer(node, "slow", 0.3) == ("ERROR", "timeout")
        assert node.workload_threads.busy == 1  # its step still runs
    finally:
        slow.release.set()
    # The step returned: the workload is closed (which raises) and its thread given back.
    assert await wait_until(lambda: node.workload_threads.busy == 0)
    assert await answer(node, "quick", 5) == ("RESULT", None)
    assert logged_type_only(caplog)


@pytest.fixture(autouse=True)
def _capture_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
