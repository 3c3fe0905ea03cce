"""The node's side of a live session (``GET /v1/live``, a WebSocket from the gateway;
docs/adr/0023): a shell over :class:`~privcloud.live.endpoints.NodeEndpoint`.

It opens the hello with the node's boot key (the node's replay cache refuses a hello seen
before), builds the call's pipeline (two channels: VAD, streaming Whisper, translation, speech;
:func:`privcloud.live.pipeline.make_pipeline`) in a worker thread, and sends ACCEPT. Then three
tasks share the session: the receiver opens the device's frames and queues their audio; the
worker feeds the audio to the pipeline in a worker thread (the event loop keeps its tick) and
queues the outputs; the sender sends one fixed-size frame per tick, output or padding, until
the drain after the device's FINAL (or the deadline) is over and FINAL went out.

A node's release pipelines live in a process of their own
(:class:`privcloud.live.process.PipelineHost`): the worker thread then only waits on a pipe, so
the pipeline's work cannot hold the interpreter lock the sender's tick needs. A pipeline with a
``close`` method (that one) is closed when the session ends.

Nothing of the call is kept: the pipeline, the queues and the keys live in this coroutine's
frame and go when it returns (in the pipelines' process, until the flush or the close);
nothing is logged but fixed codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock
from privcloud.crypto.hpke import PrivateKey
from privcloud.errors import (
    PrivcloudError,
    RateLimitedError,
    UnavailableError,
    UnsupportedError,
)
from privcloud.live.endpoints import NodeEndpoint
from privcloud.live.protocol import KINDS, EndReason, LiveEvent
from privcloud.live.session import OpenedHello, open_hello
from privcloud.services import live_tunnel as tunnel
from privcloud.services.node_core import ReplayCache
from privcloud.workloads.models import Models

log = logging.getLogger("privcloud.node")

#: Bytes of PCM per second of one channel (16 kHz s16le mono).
_PCM_RATE = 32_000

_T = TypeVar("_T")


class Output(Protocol):
    """What a pipeline returns (``privcloud.live.output.LiveOutput``'s shape)."""

    @property
    def channel(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def audio(self) -> bytes: ...
    @property
    def start_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...


class Pipeline(Protocol):
    """``privcloud.live.pipeline.LivePipeline``: PCM per channel in, outputs out."""

    def feed(self, channel: int, pcm: bytes) -> Sequence[Output]: ...

    def flush(self) -> Sequence[Output]: ...


#: Builds one call's pipeline from the languages of its two channels and their targets.
PipelineFactory = Callable[[tuple[str, str], tuple[str, str]], Pipeline]


def pipeline_factory(models: Models) -> PipelineFactory:
    """The release's pipeline (:func:`privcloud.live.pipeline.make_pipeline`) on ``models``."""

    def make(languages: tuple[str, str], targets: tuple[str, str]) -> Pipeline:
        from privcloud.live.pipeline import make_pipeline  # noqa: PLC0415 - heavy: numpy

        pipeline: Pipeline = make_pipeline(models, languages, targets)
        return pipeline

    return make


def _event(output: Output) -> LiveEvent | None:
    if output.kind not in KINDS:
        return None
    audio = output.audio[: limits.MAX_LIVE_AUDIO_BYTES]
    text = output.text.encode()[: limits.MAX_LIVE_TEXT_BYTES].decode(errors="ignore")
    start = max(0.0, output.start_s)
    return LiveEvent(output.channel, output.kind, text, audio, start, max(start, output.end_s))


class LiveNode:
    """Serves ``/v1/live`` for one node: its boot keys (``key_for``), its replay cache and
    clock, and the factory of call pipelines (``None``: a node without the AI models, which
    refuses live sessions with 503, proven to the device, which tries another node with a fresh
    token and leaves this one out of the call; the gateway released the first token under
    ``--spend when-accepted``, and spent it at its check by default).

    The wall ``clock`` dates the hello (the replay window); the frames and deadlines run on
    ``pace``, a monotonic clock, which a step of the wall clock does not move. Pipeline steps
    run on threads of the node's own (one per session it may serve), not on the event loop's
    default pool that the node's other requests stream from."""

    def __init__(
        self,
        key_for: Callable[[bytes], PrivateKey],
        replays: ReplayCache,
        clock: Clock,
        pipelines: PipelineFactory | None = None,
        *,
        drain_s: float = limits.LIVE_DRAIN_S,
        pace: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_for = key_for
        self._replays = replays
        self._clock = clock
        self.pace = pace
        self._threads: ThreadPoolExecutor | None = None
        self.pipelines = pipelines
        self.drain_s = drain_s
        #: Sessions open now, and frames the senders had to skip (content-free counters).
        self.active = 0
        self.skipped_frames = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = await tunnel.accept(request)
        try:
            hello = await tunnel.receive(ws, limits.LIVE_OPEN_TIMEOUT_S)
            if self.active >= limits.MAX_LIVE_SESSIONS_PER_NODE:
                raise RateLimitedError("the node serves its most live sessions")
            now = self._replays.tick(self._clock.now())
            self._replays.check_room()
            opened = open_hello(hello, self._key_for, now)
            self._replays.add(opened.digest, opened.params.issued_at + limits.REQUEST_CLOCK_SKEW_S)
        except PrivcloudError as exc:
            log.info("node: live session refused: %s", exc.code)
            await _refuse(ws, exc)
            return ws
        # The hello is ours and new. That this node serves no live translation is what it is,
        # not something a session can cause: proven to the device (SessionKeys.refusal_proof),
        # which leaves the node out of the call's draws. Nothing else is proven: a pipeline
        # that fails to start may be a passing fault of the process every session shares, and
        # the operator's own sessions could time one (red-team review of 2026-12-06).
        make = self.pipelines
        if make is None:
            await _refuse(ws, UnavailableError("this node serves no live translation"), opened)
            return ws
        self.active += 1
        try:
            p = opened.params
            unsupported = False
            try:
                pipeline: Pipeline = await self.run(make, p.languages, p.targets)
            except UnsupportedError:
                # The device checked the release's rule (privcloud.live.languages): this node's
                # models, its operator's choice, do not read the pair. Said inside the session
                # (an authenticated FINAL after the drain), not in a refusal whose code the
                # gateway reads and logs (a red-team review, 2026-12-07).
                pipeline, unsupported = _NoPipeline(), True
            except PrivcloudError as exc:
                await _refuse(ws, exc)
                return ws
            except Exception as exc:  # noqa: BLE001 - models missing or broken: refuse, log type
                log.error("node: live pipeline unavailable: %s", type(exc).__name__)  # noqa: TRY400
                await _refuse(ws, UnavailableError("live translation unavailable"))
                return ws
            endpoint = NodeEndpoint(opened, self.pace(), drain_s=self.drain_s)
            if unsupported:
                endpoint.end(EndReason.UNSUPPORTED, self.pace())
            await _Session(ws, endpoint, pipeline, self).run()
            self.skipped_frames += endpoint.clock.skipped
        finally:
            self.active -= 1
        return ws

    async def run(self, step: Callable[..., _T], *args: object) -> _T:
        """``step(*args)`` on one of the live sessions' threads."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                limits.MAX_LIVE_SESSIONS_PER_NODE, thread_name_prefix="live"
            )
        return await asyncio.get_running_loop().run_in_executor(self._threads, step, *args)

    def close(self) -> None:
        """Let the sessions' threads go (at the node's shutdown; a later session starts new
        ones)."""
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)


class _NoPipeline:
    """The pipeline of a session ended at once (:attr:`EndReason.UNSUPPORTED`): no output."""

    def feed(self, channel: int, pcm: bytes) -> Sequence[Output]:
        return []

    def flush(self) -> Sequence[Output]:
        return []


async def _refuse(
    ws: web.WebSocketResponse, exc: PrivcloudError, opened: OpenedHello | None = None
) -> None:
    """Refuse a session whose tunnel may be gone already (the gateway stops waiting after
    ``limits.LIVE_OPEN_TIMEOUT_S``, which a slow first pipeline can outlast); with the node's
    proof when given the ``opened`` hello (only for a refusal that is what the node is)."""
    proof = None if opened is None else opened.keys.refusal_proof(exc.http_status, exc.code)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await tunnel.refuse(ws, exc, proof=proof)


class _Session:
    """One accepted session's three tasks."""

    def __init__(
        self, ws: web.WebSocketResponse, endpoint: NodeEndpoint, pipeline: Pipeline, node: LiveNode
    ) -> None:
        self.ws, self.endpoint, self.pipeline, self.node = ws, endpoint, pipeline, node
        self.now = node.pace
        self.audio: deque[tuple[bytes, bytes]] = deque(
            maxlen=int(limits.MAX_LIVE_BACKLOG_S * 1000 / limits.LIVE_FRAME_INTERVAL_MS)
        )
        self.wake = asyncio.Event()

    async def run(self) -> None:
        ep = self.endpoint
        tasks: list[asyncio.Future[None]] = []
        try:
            await self.ws.send_bytes(ep.accept_frame(self.now()))
            tasks = [
                asyncio.ensure_future(self._receive()),
                asyncio.ensure_future(self._work()),
            ]
            await self._send()
        except (ConnectionError, RuntimeError):
            pass  # the tunnel went away (before the accept, or later): nothing to finish
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            close = getattr(self.pipeline, "close", None)  # one in another process: drop it
            if callable(close):
                await self.node.run(close)
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _send(self) -> None:
        ep = self.endpoint
        while not ep.done:
            for frame in ep.tick(self.now()):
                await self.ws.send_bytes(frame)
            if self.ws.closed:
                return
            await asyncio.sleep(max(0.0, ep.clock.next_at - self.now()))

    async def _receive(self) -> None:
        """Device frames -> audio queue. A bad frame, a silent device or a closed tunnel ends
        the session at once (no FINAL: the device sees the cut)."""
        ep = self.endpoint
        try:
            while True:
                frame = await tunnel.receive(
                    self.ws, limits.LIVE_LIVENESS_TIMEOUT_S * 4, size=tunnel.WIRE_FRAME
                )
                audio = ep.receive(frame, self.now())
                if audio is not None:
                    self.audio.append(audio)
                self.wake.set()
                if not ep.taking_audio:
                    return  # the rest is the drain; later frames are not read
        except PrivcloudError as exc:
            log.info("node: live session broken off: %s", exc.code)
            await self.ws.close()

    async def _work(self) -> None:
        """Audio queue -> pipeline (in a worker thread) -> output queue; flush at the end. Until
        the flush's output is queued, a FINAL counts the unfinished work as dropped."""
        ep = self.endpoint
        ep.working = True
        try:
            while ep.taking_audio or self.audio:
                if not self.audio:
                    self.wake.clear()
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the
                    # result when the wait ends in the same turn as a cancel, swallowing the
                    # cancel, and this loop then held its live-session slot for good.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.5):
                            await self.wake.wait()
                    continue
                chunks = [self.audio.popleft() for _ in range(len(self.audio))]
                for channel in (0, 1):
                    pcm = b"".join(c[channel] for c in chunks)
                    step = limits.LIVE_MAX_FEED_BYTES
                    for i in range(0, len(pcm), step):
                        outputs = await self.node.run(
                            self.pipeline.feed, channel, pcm[i : i + step]
                        )
                        self._queue(outputs)
            self._queue(await self.node.run(self.pipeline.flush))
        except Exception as exc:  # noqa: BLE001 - a pipeline failure ends the call, typed only
            log.error("node: live pipeline failed: %s", type(exc).__name__)  # noqa: TRY400
            ep.end(EndReason.FAILED, self.now())
        finally:
            ep.working = False

    def _queue(self, outputs: Sequence[Output]) -> None:
        for output in outputs:
            event = _event(output)
            if event is not None:
                self.endpoint.push(event)


__all__ = ["LiveNode", "Pipeline", "PipelineFactory", "pipeline_factory"]
