"""A started service's objects are taken out of the garbage collector's passes (``gc.freeze``
in ``until_stopped``), in a process of its own: freezing this test process would keep every
earlier test's garbage alive."""

from __future__ import annotations

import subprocess
import sys

_SERVICE = """
import asyncio, gc, os, signal
from privcloud.cli.runtime import until_stopped

async def main():
    before = gc.get_freeze_count()
    waiting = asyncio.ensure_future(until_stopped())
    await asyncio.sleep(0.05)  # serving now
    serving = gc.get_freeze_count()
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(waiting, 10)
    print(before, serving)

asyncio.run(main())
"""


def test_a_serving_service_has_its_start_up_objects_frozen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVICE], capture_output=True, text=True, timeout=60, check=True
    )
    before, serving = (int(n) for n in done.stdout.split())
    assert before == 0
    assert serving > 10_000  # the modules and objects made while starting
