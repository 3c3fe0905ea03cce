"""Node workloads: each AI feature behind one interface, seeing only a plaintext request."""

from privcloud.workloads.base import (
    Deadline,
    Workload,
    WorkloadRegistry,
    check_deadline,
    error_event,
)
from privcloud.workloads.echo import EchoWorkload, StreamingEchoWorkload

__all__ = [
    "Deadline",
    "EchoWorkload",
    "StreamingEchoWorkload",
    "Workload",
    "WorkloadRegistry",
    "check_deadline",
    "error_event",
    "default_registry",
]


def default_registry() -> WorkloadRegistry:
    """The workloads every node serves without optional dependencies."""
    return WorkloadRegistry([EchoWorkload(), StreamingEchoWorkload()])
