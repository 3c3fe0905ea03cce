"""Call pipelines in a process of their own, so their work cannot delay the node's frames.

A node sends a live session's frames at a constant rate from its event loop (docs/adr/0023).
Run in the node's own process, the pipeline's Python work (VAD, the agreement policy, numpy
glue between the model calls) holds the interpreter lock the event loop needs, and a loaded
machine then stretched the gaps between frames while someone spoke more than in silence: the
relay could see speech activity in the tail of the intervals. :class:`PipelineHost` keeps every
call's pipeline in one child process instead (its own interpreter and models), reached through a
pipe: the node's event loop only copies PCM in and outputs out. The child runs the calls side
by side on threads of its own (as the node's threads did), so one call's slow step does not hold
up another's.

The child holds nothing of a call beyond its pipeline object, dropped when the call flushes or
closes; it writes nothing to disk. A child that dies or stops answering within
``limits.LIVE_PIPELINE_STEP_TIMEOUT_S`` is killed: the calls it held end, each with the node's
authenticated FINAL (``EndReason.FAILED``) after its drain, and the next call starts a fresh
child. Their devices do not resume them elsewhere: a resume right after a FAILED ending would
show the relay and the gateway that the pipeline failed, which what was said can cause (the
review of 2026-12-07; docs/adr/0023, "Failure").
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from privcloud import errors, limits
from privcloud.errors import PrivcloudError, UnavailableError
from privcloud.hardening import forbid_core_dumps
from privcloud.live.output import LiveOutput
from privcloud.workloads.models import LIVE_TRANSLATION, ModelConfig, Models

if TYPE_CHECKING:
    from privcloud.live.pipeline import LivePipeline

#: Builds one call's pipeline from its channels' languages and their targets.
PipelineMaker = Callable[[tuple[str, str], tuple[str, str]], "LivePipeline"]
#: Runs in the child, once: returns its :data:`PipelineMaker`. Must pickle (a module-level
#: function or a ``functools.partial`` of one): the child is started with "spawn".
Builder = Callable[[], PipelineMaker]


def release_maker(config: ModelConfig) -> PipelineMaker:
    """The release's pipelines (:func:`~privcloud.live.pipeline.make_pipeline`) on the
    models ``config`` names. The child starts loading the models a call uses (Whisper and the
    first live translation model) on a thread of its own at once, so the first call finds
    them loaded or loading, not first asked for when its first words need them."""
    from privcloud.live.pipeline import make_pipeline  # noqa: PLC0415 - heavy: numpy
    from privcloud.live.recognizer import LIVE_WHISPER  # noqa: PLC0415

    models = Models(config)
    available = models.available()
    first = [m for m in LIVE_TRANSLATION[config.live_translation] if m in available][:1]
    threading.Thread(
        target=_warm, args=(models, [LIVE_WHISPER, *first]), name="live-warm", daemon=True
    ).start()

    def make(languages: tuple[str, str], targets: tuple[str, str]) -> LivePipeline:
        return make_pipeline(models, languages, targets)

    return make


def _warm(models: Models, names: list[str]) -> None:
    """Load ``names``; one that cannot load fails the call that needs it, as it would have."""
    for name in names:
        with contextlib.suppress(PrivcloudError):
            models.warm([name])


def release_builder(config: ModelConfig) -> Builder:
    """What a node passes to :class:`PipelineHost` for the release's pipelines."""
    return functools.partial(release_maker, config)


def _step(
    pipelines: dict[int, LivePipeline], make: PipelineMaker, op: str, call: int, args: list[Any]
) -> tuple[str, Any, str]:
    """One request on one call: ``(status, result, message)``."""
    try:
        result: Any = None
        if op == "open":
            pipelines[call] = make(*args)
        elif op == "feed":
            result = _plain(pipelines[call].feed(*args))
        elif op == "flush":
            result = _plain(pipelines.pop(call).flush())
        elif op == "close":
            _drop(pipelines, call)
    except PrivcloudError as exc:  # our errors carry fixed texts only
        _drop(pipelines, call)
        return "refused", type(exc).__name__, str(exc)
    except Exception as exc:  # noqa: BLE001 - the call fails, the child keeps serving
        _drop(pipelines, call)
        return "failed", type(exc).__name__, ""
    return "ok", result, ""


def _drop(pipelines: dict[int, LivePipeline], call: int) -> None:
    """Forget a call's pipeline, closing it (its translation worker stops)."""
    pipeline = pipelines.pop(call, None)
    if pipeline is not None:
        with contextlib.suppress(Exception):
            pipeline.close()


def _plain(outputs: Sequence[LiveOutput]) -> tuple[tuple[object, ...], ...]:
    """Outputs as tuples of plain values: the node rebuilds them (:func:`_outputs`)."""
    return tuple(
        (int(o.channel), str(o.kind), str(o.text), bytes(o.audio), float(o.start_s), float(o.end_s))
        for o in outputs
    )


def _outputs(result: object) -> list[LiveOutput]:
    """The child's outputs, checked field by field, counted, and their text and audio summed
    (a pickle may name one value many times: the decoded answer is bounded as the wire one
    is) before any is built; :class:`UnavailableError` when they are not a step's (the host
    then drops the child: one that answers so was subverted or is broken)."""
    types = (int, str, str, bytes, float, float)
    if not isinstance(result, tuple) or len(result) > limits.MAX_LIVE_PIPELINE_OUTPUTS:
        raise UnavailableError("the live pipeline answered malformed outputs")
    size = 0
    for item in result:
        if (
            not isinstance(item, tuple)
            or len(item) != len(types)
            or not all(type(v) is t for v, t in zip(item, types, strict=True))
        ):
            raise UnavailableError("the live pipeline answered malformed outputs")
        size += len(item[2]) + len(item[3])
        if size > limits.MAX_LIVE_PIPELINE_REPLY_BYTES:
            raise UnavailableError("the live pipeline answered malformed outputs")
    return [LiveOutput(*item) for item in result]


class _PlainUnpickler(pickle.Unpickler):
    """Reads the child's answers: plain values only (tuples, str, bytes, numbers, None); any
    class or function is refused, so a child subverted through the audio it decodes cannot
    make the node run code by what it sends back."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError("the live pipeline may answer plain values only")


def _loads(data: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(data)).load()


def _serve(conn: Connection, builder: Builder) -> None:
    """The child: answer ``(request id, op, call id, *args)`` requests, each on a worker thread
    (calls run side by side, as they did in the node's threads; one call's steps come one at a
    time), until the pipe closes or "stop"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node stops it; Ctrl-C is the node's
    forbid_core_dumps()  # a spawned interpreter: the node's dumpable flag did not carry over
    make = builder()
    conn.send_bytes(pickle.dumps((0, "ready", None, "")))
    pipelines: dict[int, LivePipeline] = {}
    send_lock = threading.Lock()
    workers = ThreadPoolExecutor(
        max_workers=limits.MAX_LIVE_SESSIONS_PER_NODE, thread_name_prefix="live-call"
    )

    def run(request: int, op: str, call: int, args: list[Any]) -> None:
        reply = _step(pipelines, make, op, call, args)
        with send_lock, contextlib.suppress(OSError):
            conn.send_bytes(pickle.dumps((request, *reply)))

    try:
        while True:
            try:
                request, op, call, *args = conn.recv()
            except (EOFError, OSError):
                return  # the node is gone
            if op == "stop":
                with send_lock:
                    conn.send_bytes(pickle.dumps((request, "ok", None, "")))
                return
            workers.submit(run, request, op, call, args)
    finally:
        workers.shutdown(wait=False, cancel_futures=True)


def _error(name: str, message: str) -> PrivcloudError:
    """Our exception of class ``name`` from the child, or UnavailableError."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, PrivcloudError):
        with contextlib.suppress(Exception):
            return cls(message)
    return UnavailableError("the live pipeline failed")


class _Child:
    """One started child: its pipe, the requests waiting for an answer, and the thread that
    hands answers to them. When the pipe breaks every waiting request fails."""

    def __init__(self, builder: Builder, start_timeout_s: float) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs, builder), name="privcloud-live", daemon=True
        )
        self.process.start()
        theirs.close()
        self.conn = ours
        # Ready (interpreter up, builder run) before any step's own timeout starts.
        try:
            ready = ours.poll(start_timeout_s) and _loads(ours.recv_bytes(1024))
        except (EOFError, OSError, ValueError, TypeError, pickle.UnpicklingError):
            ready = None
        if ready != (0, "ready", None, ""):
            self.process.kill()
            self.process.join(timeout=5)
            ours.close()
            raise UnavailableError("the live pipeline did not start")
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[tuple[str, Any, str]]] = {}
        self._ids = itertools.count(1)
        self.alive = True
        threading.Thread(target=self._read, name="privcloud-live-replies", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                message = _loads(self.conn.recv_bytes(limits.MAX_LIVE_PIPELINE_REPLY_BYTES))
            except (EOFError, OSError, ValueError, TypeError, pickle.UnpicklingError):
                break  # gone, or an answer too large or not plain: the child is dropped
            if not (
                isinstance(message, tuple)
                and len(message) == 4
                and type(message[0]) is int
                and type(message[1]) is str
                and type(message[3]) is str
            ):
                break  # not an answer of ours: the child is dropped
            request, status, result, text = message
            with self._lock:
                waiting = self._waiting.pop(request, None)
            if waiting is not None:
                waiting.set_result((status, result, text))
        self._fail_all()

    def _fail_all(self) -> None:
        with self._lock:
            self.alive = False
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(UnavailableError("the live pipeline stopped"))

    def ask(self, op: str, call: int, args: tuple[object, ...]) -> Future[tuple[str, Any, str]]:
        """Send one request; its answer comes in the future (UnavailableError: child gone)."""
        future: Future[tuple[str, Any, str]] = Future()
        with self._lock:
            if not self.alive:
                raise UnavailableError("the live pipeline stopped")
            request = next(self._ids)
            self._waiting[request] = future
        try:
            with self._send_lock:
                self.conn.send((request, op, call, *args))
        except (OSError, ValueError) as exc:
            with self._lock:
                self._waiting.pop(request, None)
            raise UnavailableError("the live pipeline stopped") from exc
        return future

    def stop(self, *, gently: bool) -> None:
        """End the child: ask it to stop (``gently``), then kill it; waiting requests fail."""
        if gently and self.alive:
            with contextlib.suppress(FutureTimeout, PrivcloudError):
                self.ask("stop", 0, ()).result(timeout=5)
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()
        self._fail_all()


class PipelineHost:
    """A :data:`PipelineMaker` whose pipelines live in one child process (started on first
    use, or by :meth:`start`). Thread-safe: calls come from the node's worker threads, and the
    child runs them side by side."""

    def __init__(
        self,
        builder: Builder,
        *,
        step_timeout_s: float = limits.LIVE_PIPELINE_STEP_TIMEOUT_S,
        start_timeout_s: float = limits.LIVE_PIPELINE_STEP_TIMEOUT_S,
    ) -> None:
        """``step_timeout_s`` bounds each step, ``start_timeout_s`` the child's start."""
        self._builder = builder
        self._timeout = step_timeout_s
        self._start_timeout = start_timeout_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._child: _Child | None = None
        #: How many children were started (a restart after a failure adds one).
        self.starts = 0

    def start(self) -> None:
        """Start the child now (else the first call does)."""
        self._current()

    def _current(self) -> _Child:
        with self._lock:
            child = self._child
            if child is None or not child.alive or not child.process.is_alive():
                if child is not None:
                    child.stop(gently=False)
                self._child = None
                child = self._child = _Child(self._builder, self._start_timeout)
                self.starts += 1
            return child

    def _drop(self, child: _Child) -> None:
        with self._lock:
            if self._child is child:
                self._child = None
        child.stop(gently=False)

    def call(self, op: str, call: int, *args: object) -> Any:
        """One request to the child and its answer; raises the child's PrivcloudError, or
        UnavailableError when the child failed, died or did not answer in time (then it is
        killed: the calls it held fail)."""
        child = self._current()
        try:
            status, result, message = child.ask(op, call, args).result(timeout=self._timeout)
        except FutureTimeout:
            self._drop(child)
            raise UnavailableError("the live pipeline did not answer in time") from None
        if status == "ok":
            if op not in ("feed", "flush"):
                return None
            try:
                return _outputs(result)
            except UnavailableError:
                self._drop(child)  # its calls fail; the next call starts a fresh child
                raise
        if status == "refused" and isinstance(result, str):
            raise _error(result, message)
        raise UnavailableError("the live pipeline failed")

    def __call__(self, languages: tuple[str, str], targets: tuple[str, str]) -> RemotePipeline:
        call = next(self._ids)
        self.call("open", call, tuple(languages), tuple(targets))
        return RemotePipeline(self, call)

    def close(self) -> None:
        """Stop the child (the calls it holds end)."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop(gently=True)


class RemotePipeline:
    """One call's pipeline in the host's child (:class:`LivePipeline`, plus :meth:`close`)."""

    def __init__(self, host: PipelineHost, call: int) -> None:
        self._host, self._call = host, call
        self._open = True

    def feed(self, channel: int, pcm: bytes) -> list[LiveOutput]:
        outputs: list[LiveOutput] = self._host.call("feed", self._call, channel, bytes(pcm))
        return outputs

    def flush(self) -> list[LiveOutput]:
        self._open = False
        outputs: list[LiveOutput] = self._host.call("flush", self._call)
        return outputs

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
