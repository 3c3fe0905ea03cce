"""Call pipelines in a process of their own, so their work cannot delay the node's frames.

A node sends a live session's frames at a constant rate from its event loop (docs/adr/0023).
Run in the node's own process, the pipeline's Python work (VAD, the agreement policy, numpy
glue between the model calls) holds the interpreter lock the event loop needs, and a loaded
machine then stretched the gaps between frames while someone spoke more than in silence: the
relay could see speech activity in the tail of the intervals. :class:`PipelineHost` keeps every
call's pipeline in one child process instead (its own interpreter and models), reached through a
pipe: the node's event loop only copies PCM in and outputs out.

The child holds nothing of a call beyond its pipeline object, dropped when the call flushes or
closes; it writes nothing to disk. A child that dies or stops answering within
``limits.LIVE_PIPELINE_STEP_TIMEOUT_S`` is killed: the calls it held fail (their devices resume
on another node) and the next call starts a fresh child. One child serves the node's calls one
step at a time.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from privcloud import errors, limits
from privcloud.errors import PrivcloudError, UnavailableError
from privcloud.live.output import LiveOutput
from privcloud.workloads.models import ModelConfig, Models

if TYPE_CHECKING:
    from privcloud.live.pipeline import LivePipeline

#: Builds one call's pipeline from its channels' languages and their targets.
PipelineMaker = Callable[[tuple[str, str], tuple[str, str]], "LivePipeline"]
#: Runs in the child, once: returns its :data:`PipelineMaker`. Must pickle (a module-level
#: function or a ``functools.partial`` of one): the child is started with "spawn".
Builder = Callable[[], PipelineMaker]


def release_maker(config: ModelConfig) -> PipelineMaker:
    """The release's pipelines (:func:`~privcloud.live.pipeline.make_pipeline`) on the
    models ``config`` names."""
    from privcloud.live.pipeline import make_pipeline  # noqa: PLC0415 - heavy: numpy

    models = Models(config)

    def make(languages: tuple[str, str], targets: tuple[str, str]) -> LivePipeline:
        return make_pipeline(models, languages, targets)

    return make


def release_builder(config: ModelConfig) -> Builder:
    """What a node passes to :class:`PipelineHost` for the release's pipelines."""
    return functools.partial(release_maker, config)


def _serve(conn: Connection, builder: Builder) -> None:
    """The child: answer ``(op, call id, *args)`` requests until the pipe closes or "stop"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node stops it; Ctrl-C is the node's
    make = builder()
    pipelines: dict[int, LivePipeline] = {}
    while True:
        try:
            op, call, *args = conn.recv()
        except (EOFError, OSError):
            return  # the node is gone
        try:
            reply: Any = None
            if op == "open":
                pipelines[call] = make(*args)
            elif op == "feed":
                reply = tuple(pipelines[call].feed(*args))
            elif op == "flush":
                reply = tuple(pipelines.pop(call).flush())
            elif op == "close":
                pipelines.pop(call, None)
            elif op == "stop":
                conn.send(("ok", None))
                return
            conn.send(("ok", reply))
        except PrivcloudError as exc:  # our errors carry fixed texts only
            pipelines.pop(call, None)
            conn.send(("refused", type(exc).__name__, str(exc)))
        except Exception as exc:  # noqa: BLE001 - the call fails, the child keeps serving
            pipelines.pop(call, None)
            conn.send(("failed", type(exc).__name__, ""))


def _error(name: str, message: str) -> PrivcloudError:
    """Our exception of class ``name`` from the child, or UnavailableError."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, PrivcloudError):
        with contextlib.suppress(Exception):
            return cls(message)
    return UnavailableError("the live pipeline failed")


class PipelineHost:
    """A :data:`PipelineMaker` whose pipelines live in one child process (started on first
    use, or by :meth:`start`). Thread-safe: calls come from the node's worker threads."""

    def __init__(
        self, builder: Builder, *, step_timeout_s: float = limits.LIVE_PIPELINE_STEP_TIMEOUT_S
    ) -> None:
        self._builder = builder
        self._timeout = step_timeout_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        #: How many children were started (a restart after a failure adds one).
        self.starts = 0

    def start(self) -> None:
        """Start the child now (else the first call does)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._stop_child()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_serve, args=(theirs, self._builder), name="privcloud-live", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours
        self.starts += 1
        return ours

    def _stop_child(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        self._process = self._conn = None

    def call(self, op: str, call: int, *args: object) -> Any:
        """One request to the child and its answer; raises the child's PrivcloudError, or
        UnavailableError when the child failed, died or did not answer in time."""
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((op, call, *args))
                if not conn.poll(self._timeout):
                    self._stop_child()
                    raise UnavailableError("the live pipeline did not answer in time")
                reply = conn.recv()
            except (EOFError, OSError) as exc:
                self._stop_child()
                raise UnavailableError("the live pipeline stopped") from exc
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "refused":
            raise _error(reply[1], reply[2])
        raise UnavailableError("the live pipeline failed")

    def __call__(self, languages: tuple[str, str], targets: tuple[str, str]) -> RemotePipeline:
        call = next(self._ids)
        self.call("open", call, tuple(languages), tuple(targets))
        return RemotePipeline(self, call)

    def close(self) -> None:
        """Stop the child (the calls it holds end)."""
        with self._lock:
            if self._conn is not None and self._process is not None and self._process.is_alive():
                with contextlib.suppress(EOFError, OSError):
                    self._conn.send(("stop", 0))
                    if self._conn.poll(5):
                        self._conn.recv()
            self._stop_child()


class RemotePipeline:
    """One call's pipeline in the host's child (:class:`LivePipeline`, plus :meth:`close`)."""

    def __init__(self, host: PipelineHost, call: int) -> None:
        self._host, self._call = host, call
        self._open = True

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        outputs: Sequence[LiveOutput] = self._host.call("feed", self._call, channel, bytes(pcm))
        return list(outputs)

    def flush(self) -> list[LiveOutput]:
        self._open = False
        outputs: Sequence[LiveOutput] = self._host.call("flush", self._call)
        return list(outputs)

    def close(self) -> None:
        """Drop the call's pipeline in the child unless it was flushed (never raises)."""
        if self._open:
            self._open = False
            with contextlib.suppress(PrivcloudError):
                self._host.call("close", self._call)


__all__ = [
    "Builder",
    "PipelineHost",
    "PipelineMaker",
    "RemotePipeline",
    "release_builder",
    "release_maker",
]
