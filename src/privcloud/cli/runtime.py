"""What the long-running commands share: waiting for SIGINT/SIGTERM to stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal


async def until_stopped() -> None:
    """Return when the process gets SIGINT or SIGTERM (so ``finally`` blocks clean up)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without signal handlers
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
