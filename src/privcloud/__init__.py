"""privcloud: an open, verifiable private computing cloud.

The protocol cores (``wire``, ``crypto``, ``ohttp``, ``envelope``, ...) are sans-IO; the
services and the SDK are thin asyncio shells around them. See ``docs/architecture.md``.

``privcloud.Client`` and ``privcloud.SyncClient`` are the device SDK (imported lazily, so that
``import privcloud.errors`` stays light).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Client", "SyncClient", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Client", "SyncClient"):
        from privcloud import sdk  # noqa: PLC0415 - lazy: keeps `import privcloud.errors` light

        return getattr(sdk, name)
    raise AttributeError(name)
