"""The workload interface, the registry a node dispatches through, and request deadlines.

A node runs each request under a :class:`Deadline` (docs/envelope.md §8): the registry checks it
before the workload starts and between its events, and while a workload step runs the deadline
is the *current* one (:func:`check_deadline`), so a model call that produces tokens one by one
(:meth:`privcloud.workloads.models.Models.complete`) stops at it too.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from privcloud.clock import Clock
from privcloud.errors import (
    InternalError,
    NotFoundError,
    PeerError,
    PrivcloudError,
    RequestTimeoutError,
    UsageError,
)
from privcloud.wire.message import Event, EventKind, WorkloadRequest

if TYPE_CHECKING:
    from privcloud.workloads.models import Models

log = logging.getLogger("privcloud.workloads")

T = TypeVar("T")


@dataclass(frozen=True)
class Deadline:
    """The time ``at`` (on ``clock``, Unix seconds) after which a request's answer is no longer
    wanted."""

    at: float
    clock: Clock

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - self.clock.now()

    def expired(self) -> bool:
        return self.clock.now() >= self.at

    def check(self) -> None:
        """Raise :class:`RequestTimeoutError` once the deadline has passed."""
        if self.expired():
            raise RequestTimeoutError("the request's deadline passed")


#: The deadline of the request whose workload step runs in this context (set by
#: :meth:`WorkloadRegistry.run` around each step; a thread a workload starts sees it only when
#: started by :func:`start_helper`).
_current_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "privcloud_deadline", default=None
)


def current_deadline() -> Deadline | None:
    """The deadline of the request being run in this context, if any."""
    return _current_deadline.get()


#: A further stop condition of the step running in this context, set by :func:`stop_when`:
#: called where the deadline is checked, it raises to stop the step.
_current_stop: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "privcloud_stop", default=None
)


def check_deadline() -> None:
    """Raise :class:`RequestTimeoutError` if the current request's deadline has passed (a stop
    condition for long model calls; a no-op outside a request with a deadline), and let the
    current :func:`stop_when` condition raise what it raises."""
    deadline = _current_deadline.get()
    if deadline is not None:
        deadline.check()
    stop = _current_stop.get()
    if stop is not None:
        stop()


@contextlib.contextmanager
def stop_when(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, in this context, :func:`check_deadline` also calls ``check`` (after
    the stop condition already in force, if any), which raises to stop the model call in
    progress (between two tokens): a live call's guessed translation that nobody will read
    (:mod:`privcloud.live.guess`), a helper's call whose reader has gone (:func:`helper`). A
    model call given a ``deadline`` of its own checks that instead, and not ``check``."""
    outer = _current_stop.get()

    def both() -> None:
        if outer is not None:
            outer()
        check()

    token = _current_stop.set(both)
    try:
        yield
    finally:
        _current_stop.reset(token)


def start_helper(work: Callable[[], None], name: str) -> threading.Thread:
    """Start ``work`` on a daemon thread of its own, in a copy of this context: the current
    request's deadline and stop condition hold there too, so a model it uses
    (:meth:`~privcloud.workloads.models.Models.use`) is waited for no longer than the
    request's deadline, and the wait counts as the request's."""
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(work,), name=name, daemon=True
    )
    thread.start()
    return thread


class _ReaderGone(Exception):
    """A stop signal, not an error: raised between two tokens or steps of a helper's model
    call once nobody reads its output (:func:`helper`); nobody sees it."""


@contextlib.contextmanager
def helper(work: Callable[[], None], name: str) -> Iterator[threading.Thread]:
    """Run ``work`` on a helper thread (:func:`start_helper`) for the ``with`` block, which
    reads its output: once the block is left (it returned or raised, or its generator was
    closed because the client went away), :func:`check_deadline` raises in the helper, so the
    model call there stops between two tokens or steps and gives its model back, instead of
    generating for nobody, holding the model, until it ends or the deadline passes. So give
    the model call there no ``deadline`` of its own (it would check that instead): the
    request's deadline holds in the helper already."""
    gone = threading.Event()

    def stop() -> None:
        if gone.is_set():
            raise _ReaderGone

    def guarded() -> None:
        with stop_when(stop), contextlib.suppress(_ReaderGone):
            work()

    thread = start_helper(guarded, name)
    try:
        yield thread
    finally:
        gone.set()


def get_by_deadline(inbox: queue.Queue[T]) -> T:
    """The next item of ``inbox`` (a helper thread's output), waited for no longer than the
    current request's deadline: raises :class:`RequestTimeoutError` past it, so a step
    returns, and gives its node thread back, however the helper behaves."""
    deadline = _current_deadline.get()
    timeout = None if deadline is None else max(0.0, deadline.remaining())
    try:
        return inbox.get(timeout=timeout)
    except queue.Empty:
        raise RequestTimeoutError("the request's deadline passed") from None


class Workload(Protocol):
    """One feature. ``run`` is a blocking generator (nodes call it in a worker thread).

    It yields zero or more ``PARTIAL`` events and ends with one ``RESULT`` event. It raises
    :class:`PeerError` subclasses for bad input; it never logs or stores the request.
    """

    name: str
    #: Whether ``run`` blocks (model inference): if so the node runs it in a worker thread.
    blocking: bool

    def run(self, request: WorkloadRequest) -> Iterator[Event]: ...


class WorkloadRegistry:
    """Maps feature names to workloads."""

    def __init__(self, workloads: Iterable[Workload] = ()) -> None:
        self._by_name: dict[str, Workload] = {}
        for workload in workloads:
            self.register(workload)

    def register(self, workload: Workload) -> None:
        if workload.name in self._by_name:
            raise UsageError("a workload with this name is already registered")
        self._by_name[workload.name] = workload

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def is_blocking(self, feature: str) -> bool:
        """Whether the feature's workload blocks (unknown features do not: they fail at once)."""
        workload = self._by_name.get(feature)
        return workload is not None and workload.blocking

    def run(
        self, request: WorkloadRequest, deadline: Deadline | None = None
    ) -> Generator[Event, None, None]:
        """Run the request's feature; yields its events, ending in exactly one final event.

        Errors become a final ``ERROR`` event carrying only the error's fixed code and message,
        so the node never needs to put anything about a request into a log or an HTTP status.

        With a ``deadline``, in this order: (1) a deadline already passed answers
        :class:`RequestTimeoutError` without starting the workload; (2) each step of the
        workload runs with the deadline current (:func:`check_deadline`); (3) an event that
        comes after the deadline is not sent: the answer ends with :class:`RequestTimeoutError`
        and the workload is closed (its generator gets ``GeneratorExit``), so it stops there.
        A workload whose cleanup raises as it is closed is logged (the exception's type) and
        the answer stands.
        """
        workload = self._by_name.get(request.feature)
        if workload is None:
            yield error_event(NotFoundError("unknown feature"))
            return
        if deadline is not None and deadline.expired():
            yield error_event(RequestTimeoutError("the request's deadline passed"))
            return
        events = iter(workload.run(request))
        try:
            while True:
                try:
                    event = _step(events, deadline)
                except PrivcloudError as exc:
                    yield error_event(exc)
                    return
                except Exception as exc:  # noqa: BLE001 - a workload bug must not kill the stream
                    # Only the type is logged: the exception's text could quote the request.
                    log.error("workload %s failed: %s", request.feature, type(exc).__name__)  # noqa: TRY400
                    yield error_event(InternalError("workload failed"))
                    return
                if event is None:
                    yield error_event(InternalError("workload ended without a result"))
                    return
                if deadline is not None and deadline.expired():
                    yield error_event(RequestTimeoutError("the request's deadline passed"))
                    return
                yield event
                if event.final:
                    return
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 - the answer stands; a cleanup bug is logged
                    # Only the type is logged: the exception's text could quote the request.
                    log.error("workload %s cleanup failed: %s", request.feature, type(exc).__name__)  # noqa: TRY400


def _step(events: Iterator[Event], deadline: Deadline | None) -> Event | None:
    """The workload's next event (None at its end), computed with ``deadline`` current. The
    variable is set and reset within this call, so it holds in whatever thread or context
    advances the registry's generator."""
    token = _current_deadline.set(deadline)
    try:
        return next(events, None)
    finally:
        _current_deadline.reset(token)


def error_event(exc: PrivcloudError) -> Event:
    """The sealed error event for ``exc`` (its code, status and fixed message only)."""
    fault = "peer" if isinstance(exc, PeerError) else "node"
    return Event(
        EventKind.ERROR,
        {"code": exc.code, "status": exc.http_status, "message": str(exc), "fault": fault},
    )


class ModelWorkload:
    """Base of the workloads served by the node's models: they hold the shared :class:`Models`
    and are *blocking* (the node advances them in a worker thread, one event at a time)."""

    name: str
    blocking = True

    def __init__(self, models: Models) -> None:
        self._models = models
