"""Run a :class:`~privcloud.device.agent.DeviceAgent` on its own event loop in a private thread,
for blocking callers: tests that drive a browser, or an app embedding the console."""

from __future__ import annotations

import asyncio
import threading

from privcloud.device.agent import DeviceAgent
from privcloud.errors import UnavailableError

#: Seconds :meth:`BackgroundAgent.start` waits for the agent (models may load first).
START_TIMEOUT_S = 300.0


class BackgroundAgent:
    """``with BackgroundAgent(DeviceAgent(port=0)) as url: ...`` serves until the block ends."""

    def __init__(self, agent: DeviceAgent) -> None:
        self.agent = agent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="device-agent", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.agent.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised by start(), in the caller's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.agent.stop()

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Start the agent; return its URL once it serves. Re-raises a failed start."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise UnavailableError("the device agent did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self.agent.url

    def stop(self) -> None:
        """Stop the agent and its local cloud; wait for the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
