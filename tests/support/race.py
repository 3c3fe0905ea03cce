"""Concurrency for store tests: run jobs on threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def race(n: int, job: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``job(0..n-1)`` on ``n`` threads released together; results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T | BaseException:
        barrier.wait()
        try:
            return job(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
