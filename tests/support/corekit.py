"""A process's core-dump settings, read by the process itself: the tests of
privcloud.hardening check that every node process switches core dumps off."""

from __future__ import annotations

import ctypes
import sys

import pytest

#: The dumpable flag is Linux's (prctl).
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_GET_DUMPABLE is Linux's"
)
#: What a process that switched core dumps off reads: not dumpable, limits 0 and 0.
NO_CORE_DUMPS = (0, 0, 0)
_PR_GET_DUMPABLE = 3


def core_dump_settings() -> tuple[int, int, int]:
    """This process's dumpable flag (``PR_GET_DUMPABLE``: 0 none, 1 yes) and its soft and
    hard core file size limits (``RLIMIT_CORE``; -1 is unlimited)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    return int(ctypes.CDLL(None).prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0)), soft, hard
