"""Driving a node's blocking workloads in process, for the workload-thread tests: one request's
answer through ``Node._events`` (as the node's HTTP shell runs it), and a bounded wait (on the
event loop, or in a thread)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from privcloud.services.node import Node
from privcloud.wire.message import WorkloadRequest


def exchange(feature: str, deadline_s: float, params: dict[str, Any] | None = None) -> Any:
    """What ``Node._events`` reads of one opened request: its workload and deadline."""
    return SimpleNamespace(
        work=WorkloadRequest(feature, params or {}, stream=True),
        deadline_at=time.time() + deadline_s,
    )


async def answer(
    node: Node, feature: str, deadline_s: float, params: dict[str, Any] | None = None
) -> tuple[str, str | None]:
    """The last event's kind and its error code."""
    last = None
    async for event in node._events(exchange(feature, deadline_s, params)):
        last = event
    assert last is not None
    return last.kind.name, last.meta.get("code")


async def wait_until(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (polled every 20 ms)."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.02)
    return True


def eventually(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (polled every 10 ms), for a test
    that waits in its own thread."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True
