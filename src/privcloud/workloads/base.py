"""The workload interface and the registry a node dispatches through."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from typing import Protocol

from privcloud.errors import InternalError, NotFoundError, PeerError, PrivcloudError, UsageError
from privcloud.wire.message import Event, EventKind, WorkloadRequest

log = logging.getLogger("privcloud.workloads")


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

    def run(self, request: WorkloadRequest) -> Generator[Event, None, None]:
        """Run the request's feature; yields its events, ending in exactly one final event.

        Errors become a final ``ERROR`` event carrying only the error's fixed code and message,
        so the node never needs to put anything about a request into a log or an HTTP status.
        """
        workload = self._by_name.get(request.feature)
        if workload is None:
            yield error_event(NotFoundError("unknown feature"))
            return
        try:
            for event in workload.run(request):
                yield event
                if event.final:
                    return
        except PrivcloudError as exc:
            yield error_event(exc)
            return
        except Exception as exc:  # noqa: BLE001 - a workload bug must not kill the stream
            # Only the type is logged: the exception's text could quote the request.
            log.error("workload %s failed: %s", request.feature, type(exc).__name__)  # noqa: TRY400
            yield error_event(InternalError("workload failed"))
            return
        yield error_event(InternalError("workload ended without a result"))


def error_event(exc: PrivcloudError) -> Event:
    """The sealed error event for ``exc`` (its code, status and fixed message only)."""
    fault = "peer" if isinstance(exc, PeerError) else "node"
    return Event(
        EventKind.ERROR,
        {"code": exc.code, "status": exc.http_status, "message": str(exc), "fault": fault},
    )
