"""A started service's objects are taken out of the garbage collector's passes (``gc.freeze``
in ``until_stopped``), in a process of its own: freezing this test process would keep every
earlier test's garbage alive."""

from __future__ import annotations

import subprocess
import sys

_SERVICE = """
import asyncio, gc, os, signal, weakref
from privcloud.cli.runtime import until_stopped

class Cycle:
    def __init__(self):
        self.me = self

async def main():
    gc.disable()  # only until_stopped collects
    garbage = weakref.ref(Cycle())  # left from starting: a cycle no reference reaches
    before = gc.get_freeze_count()
    waiting = asyncio.ensure_future(until_stopped())
    await asyncio.sleep(0.05)  # serving now
    serving = gc.get_freeze_count()
    left = garbage() is not None
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(waiting, 10)
    print(before, serving, int(left))

asyncio.run(main())
"""


def test_a_serving_service_has_its_start_up_objects_frozen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVICE], capture_output=True, text=True, timeout=60, check=True
    )
    before, serving, left = (int(n) for n in done.stdout.split())
    assert before == 0
    assert serving > 10_000  # the modules and objects made while starting
    assert left == 0  # garbage from starting was collected, not frozen for good


_STOPPED_WHILE_COLLECTING = """
import asyncio, gc, os, signal
from privcloud.cli.runtime import until_stopped

collect = gc.collect

def collect_and_get_stopped(*args):
    os.kill(os.getpid(), signal.SIGTERM)  # a stop asked for while the service collects
    return collect(*args)

gc.collect = collect_and_get_stopped

async def main():
    try:
        await asyncio.wait_for(until_stopped(), 10)
    finally:
        print("cleaned up")

asyncio.run(main())
"""


def test_a_stop_asked_for_while_collecting_is_a_clean_stop() -> None:
    """The signal handlers are in place before the start-up collection: a SIGTERM then ends
    ``until_stopped`` (and runs the service's ``finally`` blocks), not the process (CI saw a
    cluster and two gateways killed by the signal's default action)."""
    done = subprocess.run(
        [sys.executable, "-c", _STOPPED_WHILE_COLLECTING],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.split() == ["cleaned", "up"]
