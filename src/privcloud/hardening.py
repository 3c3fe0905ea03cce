"""What a serving process sets for itself before it holds a request: no core dumps.

A native crash in a model library (llama.cpp, CTranslate2, torch) would otherwise leave a core
file with the process's memory in it: the prompts, transcripts and answers of the requests it
was serving, and the node's keys. :func:`forbid_core_dumps` is called first thing by every
process that serves requests on a node: ``privcloud node``, ``privcloud up``, ``privcloud demo``,
the console and a feature command's own local cloud (their nodes run in their process), and the
live-call pipeline child (``privcloud.live.process``); and by the services whose memory holds
what no file may: ``privcloud relay`` (device addresses), ``gateway`` (its OHTTP private key),
``issuer serve``, ``log`` and ``witness`` (their signing keys).

On Linux it sets both

1. ``RLIMIT_CORE`` to 0, soft and hard (``setrlimit(2)``): the kernel writes no core file, and
   the process cannot raise the limit again. The limit is inherited across ``fork`` and
   ``exec``, so the programs a node starts (espeak-ng) write none either; and
2. ``PR_SET_DUMPABLE`` to 0 (``prctl(2)``): no core at all, not even to a ``core_pattern``
   pipe (the kernel does not hold a pipe to the limit: the program behind it decides); and no
   process of the same user may ``ptrace`` this one or read its ``/proc/PID/mem``. Reset by
   ``exec``: a child process of ours that runs Python calls this function itself.

Elsewhere (macOS, the BSDs) only the limit is set; where Python has no :mod:`resource` module
(Windows) nothing is: the function is a stated no-op there. A deployment whose
``fs.suid_dumpable`` is 2 still dumps non-dumpable processes, as root: leave it at 0.
"""

from __future__ import annotations

import ctypes
import sys

from privcloud.errors import UnavailableError

#: ``PR_SET_DUMPABLE`` and ``PR_GET_DUMPABLE`` of ``<linux/prctl.h>``.
_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3


def forbid_core_dumps() -> None:
    """Switch off core dumps for this process for good (see the module docstring). Raises
    :class:`UnavailableError` when the system refuses either setting (a node then does not
    start); on a system without them it does nothing."""
    try:
        import resource  # noqa: PLC0415 - absent on Windows
    except ImportError:
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:
        raise UnavailableError("core dumps could not be switched off (RLIMIT_CORE)") from exc
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 or libc.prctl(_PR_GET_DUMPABLE) != 0:
        raise UnavailableError("core dumps could not be switched off (PR_SET_DUMPABLE)")


__all__ = ["forbid_core_dumps"]
