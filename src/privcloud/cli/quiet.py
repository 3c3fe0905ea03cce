"""Keep a command's output readable: collect what libraries write while it runs and say it in
one line at the end.

``privcloud demo`` prints its steps; without this, llama.cpp's and ggml's own messages (written
by C code straight to file descriptor 2), progress bars of model loaders, Python warnings and
the log's records land between them. :func:`collected_chatter` gathers them for the length of
a ``with`` block:

* log records (Python warnings included: :func:`logging.captureWarnings`) go to a counting
  handler instead of the root logger's handlers;
* file descriptor 2 is pointed at a pipe that a thread drains, so output from C code and from
  child processes is caught too, kept in memory only (the last :data:`TAIL_BYTES`), never
  written anywhere.

:meth:`Chatter.summary` says what was collected, by source and count, in one line, without the
messages (they may quote anything). If the block raises, the collected tail is written to the
real standard error first, so that a failure is never hidden.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator

__all__ = ["TAIL_BYTES", "Chatter", "collected_chatter"]

#: How much of the raw output is kept (in memory) to show when the block fails.
TAIL_BYTES = 16 * 1024
_READ = 64 * 1024
_PROGRESS = re.compile(r"\d+%\||\bit/s\]|\|[\u2588-\u258f ]+\|")
_NATIVE = re.compile(r"^(?:llama|ggml|gguf|llm_|load_|print_info|clip_|whisper_|common_)", re.I)
_JOIN_SECONDS = 2.0


class Chatter:
    """What was collected: log records by logger and level, and raw lines by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: Counter[tuple[str, str]] = Counter()
        self.lines: Counter[str] = Counter()
        self.bars: set[str] = set()
        self._tail = bytearray()
        self._partial = b""

    def record(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records[(record.name, record.levelname)] += 1

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._tail += data
            del self._tail[:-TAIL_BYTES]
            pieces = re.split(rb"[\r\n]", self._partial + data)
            self._partial = pieces.pop()[-TAIL_BYTES:]
            for piece in pieces:
                self._line(piece.decode("utf-8", errors="replace").strip())

    def close(self) -> None:
        with self._lock:
            self._line(self._partial.decode("utf-8", errors="replace").strip())
            self._partial = b""

    def _line(self, line: str) -> None:
        if not line:
            return
        if _PROGRESS.search(line):
            self.bars.add(line.split(":", 1)[0][:40] if ":" in line else "?")
        elif _NATIVE.match(line):
            self.lines["llama.cpp/ggml"] += 1
        else:
            self.lines["other"] += 1

    def tail(self) -> bytes:
        with self._lock:
            return bytes(self._tail)

    def summary(self) -> str | None:
        """One line: how many records, lines and progress bars were kept quiet (None: none)."""
        parts: list[str] = []
        logged = Counter[tuple[str, str]]()
        for (name, level), n in self.records.items():
            logged[(name.split(".", 1)[0], level.lower())] += n
        for (top, level), n in sorted(logged.items()):
            if top == "py":
                parts.append(_count(n, "Python warning"))
            else:
                parts.append(f"{_count(n, level)} logged by {top}")
        if self.lines["llama.cpp/ggml"]:
            parts.append(_count(self.lines["llama.cpp/ggml"], "line") + " from llama.cpp/ggml")
        if self.lines["other"]:
            parts.append(_count(self.lines["other"], "other line") + " on standard error")
        if self.bars:
            parts.append(
                f"{_count(len(self.bars), 'progress bar')} ({', '.join(sorted(self.bars))})"
            )
        if not parts:
            return None
        return "kept quiet while it ran: " + ", ".join(parts)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


class _Collect(logging.Handler):
    def __init__(self, chatter: Chatter) -> None:
        super().__init__(logging.NOTSET)
        self.chatter = chatter

    def emit(self, record: logging.LogRecord) -> None:
        self.chatter.record(record)


def _drain(fd: int, chatter: Chatter) -> None:
    while True:
        try:
            data = os.read(fd, _READ)
        except OSError:
            break
        if not data:
            break
        chatter.feed(data)
    chatter.close()


@contextlib.contextmanager
def collected_chatter() -> Iterator[Chatter]:
    """Collect log records and everything written to file descriptor 2 until the block ends."""
    chatter = Chatter()
    root = logging.getLogger()
    handlers = root.handlers[:]
    collector = _Collect(chatter)
    logging.captureWarnings(True)
    for handler in handlers:
        root.removeHandler(handler)
    root.addHandler(collector)
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(
        target=_drain, args=(read_end, chatter), name="quiet-stderr", daemon=True
    )
    reader.start()
    failed = False
    try:
        yield chatter
    except BaseException:
        failed = True
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees its end
        os.close(saved)
        reader.join(_JOIN_SECONDS)  # a child process that still holds the pipe: stop waiting
        if not reader.is_alive():
            os.close(read_end)
        root.removeHandler(collector)
        for handler in handlers:
            root.addHandler(handler)
        if failed:
            _write_all(2, chatter.tail())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except OSError:
            return
