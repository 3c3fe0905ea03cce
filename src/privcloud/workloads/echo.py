"""The ``echo`` workloads: protocol tests and benchmarks without any model."""

from __future__ import annotations

from collections.abc import Iterator

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.wire.message import Event, EventKind, WorkloadRequest


class EchoWorkload:
    """Returns the request body and parameters unchanged, in one result; with the parameter
    ``"size_only": true``, only the body's size (a benchmark baseline for features that take a
    large input and answer briefly)."""

    name = "echo"
    blocking = False

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        body = b"" if request.params.get("size_only") is True else request.body
        yield Event(EventKind.RESULT, {"params": request.params, "size": len(request.body)}, body)


class StreamingEchoWorkload:
    """Returns the body in ``parts`` partial events, then a result with the total size."""

    name = "echo_stream"
    blocking = False

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        parts = request.params.get("parts", 4)
        if (
            not isinstance(parts, int)
            or isinstance(parts, bool)
            or not 1 <= parts <= limits.MAX_ECHO_PARTS
        ):
            raise DecodeError("parts must be an integer from 1 to 1024")
        body = request.body
        step = max(1, -(-len(body) // parts))
        for index, start in enumerate(range(0, len(body), step)):
            yield Event(EventKind.PARTIAL, {"index": index}, body[start : start + step])
        yield Event(EventKind.RESULT, {"size": len(body)})
