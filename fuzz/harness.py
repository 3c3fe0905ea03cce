"""The invariant every fuzz target asserts, and the atheris entry point.

Invariant (STYLE.md §9): a decoder given any bytes either returns or raises one of our errors
(:class:`~privcloud.errors.PrivcloudError`); it never raises anything else and never takes more
than :data:`TIME_LIMIT_S` on one input. Anything else propagates out of ``TestOneInput``, where
atheris records it as a crash (and the unit test fails).

Input layout shared by every target: the first byte picks one of the target's operations
(``data[0] % len(ops)``), the rest is that operation's input. Streaming operations read one
more byte, the size of the pieces the stream is fed in, 0 for all at once (:func:`pieces`).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from privcloud.errors import PrivcloudError

#: Longest one input may take, in seconds (``FUZZ_TIME_LIMIT_S`` overrides it, e.g. to find
#: the slowest inputs with a lower bound).
TIME_LIMIT_S: Final = float(os.environ.get("FUZZ_TIME_LIMIT_S", "1.0"))

#: One operation of a target: a decoder call on bytes. Its result is ignored.
Op = Callable[[bytes], object]
Ops = Sequence[tuple[str, Op]]


class SlowInputError(AssertionError):
    """An input took longer than :data:`TIME_LIMIT_S`: a crash for the fuzzer, not our error."""


@dataclass(frozen=True)
class OpenCrash:
    """A crash found and not fixed yet: its reproducer and where the exception comes from."""

    #: ``<target>/<file>`` under fuzz/crashes.
    reproducer: str
    #: The exception's class name.
    exception: str
    #: Its innermost frame: ``<path under privcloud/>:<function>``.
    where: str
    #: What is wrong, in a line (the reason of the unit test's xfail).
    summary: str


#: Crashes found and not fixed yet. Under atheris (:func:`main`) a target steps over them, so
#: that one known crash does not end every run of its target within seconds; the unit test
#: keeps each reproducer as a strict xfail, which turns red once the fix lands.
OPEN_CRASHES: Final[tuple[OpenCrash, ...]] = ()
_step_over_open_crashes = False


def _is_open_crash(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    inner = frames[-1]
    where = f"{inner.filename.replace(os.sep, '/').rpartition('/privcloud/')[2]}:{inner.name}"
    return any(c.exception == type(exc).__name__ and c.where == where for c in OPEN_CRASHES)


def check(op: Op, data: bytes) -> None:
    """Run ``op(data)``: success and :class:`PrivcloudError` pass; any other exception
    propagates (under atheris, but for the :data:`OPEN_CRASHES`); :class:`SlowInputError` if it
    took longer than :data:`TIME_LIMIT_S`."""
    start = time.perf_counter()
    try:
        op(data)
    except PrivcloudError:
        pass
    except Exception as exc:
        if not (_step_over_open_crashes and _is_open_crash(exc)):
            raise
    elapsed = time.perf_counter() - start
    if elapsed > TIME_LIMIT_S:
        raise SlowInputError(f"{elapsed:.3f} s on a {len(data)}-byte input")


def dispatch(ops: Ops, data: bytes) -> None:
    """``TestOneInput`` of a target: the first byte picks the operation (see the module doc)."""
    if not data:
        return
    _name, op = ops[data[0] % len(ops)]
    check(op, data[1:])


def seed(ops: Ops, name: str, payload: bytes) -> bytes:
    """The corpus entry that runs operation ``name`` on ``payload``."""
    for index, (op_name, _op) in enumerate(ops):
        if op_name == name:
            return bytes([index]) + payload
    raise KeyError(name)


def stream_seed(ops: Ops, name: str, piece: int, payload: bytes) -> bytes:
    """The corpus entry that feeds ``payload`` to streaming operation ``name`` in ``piece``-byte
    pieces (1..255), or whole (0)."""
    return seed(ops, name, bytes([piece]) + payload)


def pieces(data: bytes) -> Iterator[bytes]:
    """Split a streaming operation's input: byte 0 is the piece size (0: the whole stream in
    one piece, as a caller that has read the whole body feeds it), the rest is the stream,
    yielded in pieces of that size (the last may be shorter)."""
    if not data:
        return
    size = data[0] or len(data)
    for start in range(1, len(data), size):
        yield data[start : start + size]


def feed_all(feed: Callable[[bytes], object], close: Callable[[], object], data: bytes) -> None:
    """Feed a stream decoder the pieces of ``data``, then close it (errors propagate)."""
    for piece in pieces(data):
        feed(piece)
    close()


def _instrument(atheris: Any, prefixes: tuple[str, ...]) -> int:
    """Add atheris coverage instrumentation to every loaded function of our own packages.

    ``atheris.instrument_all()`` would instrument the whole interpreter; this keeps the
    feedback (and the cost) on the code under test.
    """
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and str(obj.__module__).startswith(prefixes):
            atheris.instrument_func(obj)
            count += 1
    return count


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Run ``test_one_input`` under atheris (libFuzzer flags come from ``sys.argv``)."""
    # Imported here: the unit test runs the targets without atheris. No type information.
    import atheris  # type: ignore[import-untyped]  # noqa: PLC0415

    global _step_over_open_crashes  # noqa: PLW0603 - set once, before fuzzing starts
    _step_over_open_crashes = True
    count = _instrument(atheris, ("privcloud", "fuzz"))
    sys.stderr.write(f"INFO: instrumented {count} functions of privcloud and fuzz\n")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
