"""What the long-running commands share: the event loop they run on, waiting for
SIGINT/SIGTERM to stop cleanly, and a log that can neither leak nor flood
(docs/operations.md#logs-and-floods).

:func:`run_service` runs a service's main coroutine on the loop ``PRIVCLOUD_EVENT_LOOP`` names:
``asyncio`` (the default) or ``uvloop`` (libuv; measured in bench/request_path.py, docs/adr/0024).

:func:`configure_logging` writes records to standard error, or to a file rotated at
``limits.MAX_LOG_FILE_BYTES`` with ``limits.MAX_LOG_FILE_BACKUPS`` old files kept; it reduces
records of aiohttp's and asyncio's loggers to their type (they can quote a peer), writes at most
``limits.MAX_REPEATED_LOG_RECORDS`` records of one kind per ``limits.LOG_REPEAT_WINDOW_S`` (then
one line saying how many it left out) and cuts records longer than
``limits.MAX_LOG_RECORD_CHARS``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from privcloud import limits
from privcloud.errors import ConfigError
from privcloud.services.site import WithholdPeerData

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: A record of :class:`RepeatLimiter`'s own (its summary line), let through unchecked.
_SUMMARY_FLAG = "privcloud_repeat_summary"


_T = TypeVar("_T")

#: The environment variable that chooses a service's event loop, and its choices.
EVENT_LOOP_ENV = "PRIVCLOUD_EVENT_LOOP"
EVENT_LOOPS = ("asyncio", "uvloop")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory ``PRIVCLOUD_EVENT_LOOP`` asks for (None: asyncio's own).

    Raises :class:`ConfigError` for an unknown name, or for ``uvloop`` when it is not installed
    (asked for, it is never silently replaced)."""
    name = os.environ.get(EVENT_LOOP_ENV, "asyncio").strip().lower() or "asyncio"
    if name not in EVENT_LOOPS:
        raise ConfigError(f"{EVENT_LOOP_ENV} must be one of {', '.join(EVENT_LOOPS)}")
    if name == "asyncio":
        return None
    try:
        import uvloop  # noqa: PLC0415 - optional, imported only when asked for
    except ImportError as exc:
        raise ConfigError(f"{EVENT_LOOP_ENV}=uvloop but uvloop is not installed") from exc
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_service(main: Coroutine[Any, Any, _T]) -> _T:
    """Run a long-running service's ``main`` to completion on the chosen event loop."""
    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never awaited: no "coroutine was never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def until_stopped() -> None:
    """Return when the process gets SIGINT or SIGTERM (so ``finally`` blocks clean up).

    A service calls this once it serves: everything made while starting (modules, keys,
    tables) lives as long as the process, so it is moved out of the garbage collector's
    generations (``gc.freeze``). The collector's full passes then walk only what requests
    made: one over a started gateway's objects took 20 ms here, a pause inside some
    request's answer (docs/performance.md). Garbage left from starting (a model's loading) is
    collected first: frozen, it would never be freed. The signal handlers come first: a stop
    asked for while collecting (which takes a while in a big process) is taken, not the
    signal's default of ending the process without its ``finally`` blocks.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without signal handlers
            loop.add_signal_handler(sig, stop.set)
    gc.collect()
    gc.freeze()
    await stop.wait()


@dataclass
class _Window:
    """One kind's current window: when it began, records written and left out in it."""

    start: float
    written: int = 0
    left_out: int = 0


_Due = tuple[tuple[str, int, str], int]


class RepeatLimiter(logging.Filter):
    """Let through at most ``max_repeats`` records of one kind (logger, level and message
    *template*, so records differing only in their arguments are one kind) per ``window_s``;
    count the others, and when the kind's window has passed write one line saying how many
    were left out (on its next record, on any later record, or at :meth:`flush`).

    ``emit`` writes a summary record (the handler's ``handle``). Thread-safe.
    """

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        *,
        max_repeats: int = limits.MAX_REPEATED_LOG_RECORDS,
        window_s: float = limits.LOG_REPEAT_WINDOW_S,
        max_keys: int = limits.MAX_LOG_REPEAT_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._max = max_repeats
        self._window = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, int, str], _Window] = {}
        self._next_scan = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY_FLAG, False):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            # Other kinds' ended windows are looked for at most once a second.
            due = self._take_due(now, keep=kind) if now >= self._next_scan else []
            state = self._kinds.get(kind)
            if state is None or now - state.start >= self._window:
                if state is not None and state.left_out:
                    due.append((kind, state.left_out))
                if state is None and len(self._kinds) >= self._max_keys:
                    self._forget_oldest(due)
                self._kinds[kind] = state = _Window(now)
            passed = state.written < self._max
            if passed:
                state.written += 1
            else:
                state.left_out += 1
        for due_kind, count in due:
            self._summarise(due_kind, count)
        return passed

    def flush(self) -> None:
        """Write the summary of every kind that left records out (at exit)."""
        with self._lock:
            due = [(kind, state.left_out) for kind, state in self._kinds.items() if state.left_out]
            for state in self._kinds.values():
                state.left_out = 0
        for kind, count in due:
            self._summarise(kind, count)

    def _take_due(self, now: float, *, keep: tuple[str, int, str]) -> list[_Due]:
        self._next_scan = now + 1.0
        due = []
        for kind, state in self._kinds.items():
            if kind != keep and state.left_out and now - state.start >= self._window:
                due.append((kind, state.left_out))
                state.left_out = 0
        return due

    def _forget_oldest(self, due: list[_Due]) -> None:
        oldest = min(self._kinds, key=lambda k: self._kinds[k].start)
        if self._kinds[oldest].left_out:
            due.append((oldest, self._kinds[oldest].left_out))
        del self._kinds[oldest]

    def _summarise(self, kind: tuple[str, int, str], count: int) -> None:
        name, level, template = kind
        summary = logging.LogRecord(
            "privcloud.log",
            level,
            __file__,
            0,
            "suppressed %d records of %s like %r (at most %d per %.0f s are written)",
            None,
            None,
        )
        summary.args = (count, name, template[:120], self._max, self._window)
        setattr(summary, _SUMMARY_FLAG, True)
        self._emit(summary)


class BoundedFormatter(logging.Formatter):
    """:data:`LOG_FORMAT`, each record cut at ``limits.MAX_LOG_RECORD_CHARS``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) > limits.MAX_LOG_RECORD_CHARS:
            text = text[: limits.MAX_LOG_RECORD_CHARS] + " [cut]"
        return text


class RotatingLog(logging.handlers.RotatingFileHandler):
    """A log file rotated at ``limits.MAX_LOG_FILE_BYTES``, ``limits.MAX_LOG_FILE_BACKUPS`` old
    files kept, each created private (0600). When this process's standard output and error
    were the log file itself (``privcloud up --detach`` gives the child its log file), they
    follow it to each new file, so that nothing is written past the bound to a rotated file."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            maxBytes=limits.MAX_LOG_FILE_BYTES,
            backupCount=limits.MAX_LOG_FILE_BACKUPS,
            encoding="utf-8",
        )
        assert self.stream is not None
        self._std_fds = tuple(fd for fd in (1, 2) if _same_file(fd, self.stream.fileno()))

    def _open(self) -> Any:
        fd = os.open(
            self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600
        )
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def doRollover(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        super().doRollover()
        if self.stream is not None:
            for fd in self._std_fds:
                os.dup2(self.stream.fileno(), fd)


def _same_file(fd: int, other: int) -> bool:
    try:
        a, b = os.fstat(fd), os.fstat(other)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def configure_logging(*, verbose: bool = False, log_file: str | Path | None = None) -> None:
    """Set up the process's log: INFO with ``verbose``, else WARNING; to ``log_file`` (rotated,
    :class:`RotatingLog`) or to standard error. Every record passes :class:`WithholdPeerData`
    and a :class:`RepeatLimiter`, and is cut at ``limits.MAX_LOG_RECORD_CHARS``.

    Without ``log_file`` it does nothing when the root logger has handlers already (as
    :func:`logging.basicConfig`; a test harness keeps its own). Raises :class:`ConfigError` when
    ``log_file`` cannot be opened.
    """
    root = logging.getLogger()
    if log_file is None and root.handlers:
        return
    handler: logging.Handler
    try:
        handler = RotatingLog(Path(log_file)) if log_file is not None else logging.StreamHandler()
    except OSError as exc:
        raise ConfigError(f"cannot write the log file {log_file}: {exc.strerror}") from exc
    handler.setFormatter(BoundedFormatter(LOG_FORMAT))
    handler.addFilter(WithholdPeerData())
    limiter = RepeatLimiter(handler.handle)
    handler.addFilter(limiter)
    atexit.register(limiter.flush)  # runs before logging's own shutdown (registered earlier)
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.captureWarnings(True)
