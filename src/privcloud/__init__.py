"""privcloud: an open, verifiable private computing cloud.

The protocol cores (``wire``, ``crypto``, ``ohttp``, ``envelope``, ...) are sans-IO; the
services and the SDK are thin asyncio shells around them. See ``docs/architecture.md``.
"""

__version__ = "0.1.0"
