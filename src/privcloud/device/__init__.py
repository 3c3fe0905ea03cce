"""The device side of the console: a local agent that uses the SDK as a phone would, and the
web page it serves (docs/console.md).

Layering: this package sits beside :mod:`privcloud.services` (it may import the SDK, the
workloads and the services, to start a local cloud); only :mod:`privcloud.cli` imports it.
"""

from __future__ import annotations

from privcloud.device.agent import DEFAULT_PORT, DeviceAgent

__all__ = ["DEFAULT_PORT", "DeviceAgent"]
