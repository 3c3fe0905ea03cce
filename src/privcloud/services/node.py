"""A compute node: the only party that reads a request.

At boot it computes its release manifest (:mod:`privcloud.release`: what it runs), makes a fresh
HPKE key pair (never written anywhere), and has its TEE sign evidence that binds the key and
its claims (report data = ``NodeClaims(key, issued_at, region, provider, suite).report_data()``,
so the bundle's issue time and the labels are signed too) and carries the launch measurement.
Once the release is in the transparency log it fetches the inclusion proof of its manifest and a
witness-cosigned checkpoint, and publishes a descriptor with its public key and *bundle*
(:mod:`privcloud.trust.bundle`: evidence, manifest, log index, proof, checkpoint, issue time),
refreshed every ``limits.NODE_BUNDLE_REFRESH_S`` so that it stays fresh for clients.

For each sealed envelope addressed to it, it opens the request, runs the feature's workload in
a worker thread, and streams the events back as sealed chunks under the response key only the
client can derive. An envelope opens once per boot, within a window of the issue time sealed in
it, and its workload stops at the request's deadline with a sealed timeout error
(docs/envelope.md §8).

What it never does: write a file, log request content, keep anything after answering, or learn
the client's address (requests come from the gateway). Envelope errors are answered with our
fixed error codes; workload errors are sealed inside the response, so not even the gateway sees
them.

This version runs in the *simulated* TEE only (INSECURE, opt-in on the client side): the "TEE"
is a dev root key held by the same process, and the measurement is the node's own hash of its
release manifest — nothing measures the node from outside, so the evidence proves nothing about
what runs (see docs/trust.md).

Routes::

    POST /v1/envelope       application/privcloud-envelope -> application/privcloud-envelope-stream
    GET  /v1/attestation    the node descriptor (key, region, provider, features, bundle)
    GET  /v1/live           a live session's tunnel from the gateway (WebSocket; services.live_node)
    GET  /healthz
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Generator, Iterable
from typing import Any

from aiohttp import web

from privcloud import limits
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.clock import Clock, SystemClock
from privcloud.crypto.hpke import MLKEM768X25519_SHA256_CHACHA20, X25519_SHA256_AES128GCM, Suite
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.envelope import MEDIA_TYPE_REQUEST, MEDIA_TYPE_STREAM
from privcloud.errors import PrivcloudError, RateLimitedError, RequestTimeoutError
from privcloud.logclient import EntryProof, LogClient
from privcloud.release import build_manifest
from privcloud.services.http import Metrics, read_body, require_media_type
from privcloud.services.live_node import LiveNode
from privcloud.services.node_core import LogPosition, NodeCore, NodeExchange
from privcloud.services.site import new_app
from privcloud.services.workload_threads import RequestThread, WorkloadThreads
from privcloud.trust.directory import NodeDescriptor, encode_descriptor
from privcloud.trust.release_manifest import ModelFile, ReleaseManifest, hpke_suite_config
from privcloud.wire.message import Event
from privcloud.workloads import Deadline, WorkloadRegistry, default_registry, error_event

log = logging.getLogger("privcloud.node")


def node_release_config(
    registry: WorkloadRegistry | None = None,
    suite: Suite = X25519_SHA256_AES128GCM,
    pq_suite: Suite | None = MLKEM768X25519_SHA256_CHACHA20,
) -> dict[str, Any]:
    """The node configuration a release manifest records: the features it serves and its HPKE
    suites (classical, and the hybrid boot key's: :func:`hpke_suite_config`). Per-node labels
    (id, region, provider) are deployment facts, not software: they are not in the manifest
    and nothing attests them."""
    registry = registry if registry is not None else default_registry()
    return {"features": sorted(registry.features), **hpke_suite_config(suite, pq_suite)}


def node_release_manifest(
    registry: WorkloadRegistry | None = None,
    suite: Suite = X25519_SHA256_AES128GCM,
    models: Iterable[ModelFile] = (),
) -> ReleaseManifest:
    """The release manifest of this install, now, for a node with ``registry``, ``suite`` and
    model files ``models`` (:func:`privcloud.workloads.ai.release_model_files`). Hashing the
    code tree takes some tens of milliseconds; a node does it once, at boot."""
    return build_manifest(config=node_release_config(registry, suite), models=models)


class Node:
    """One node: an aiohttp shell over :class:`~privcloud.services.node_core.NodeCore`.

    ``insecure_tee_key`` is the dev root of the INSECURE simulated TEE this node "runs in" (the
    local cloud shares one among its nodes, and clients pin its public key); a fresh one is made
    when it is not given. ``log_url`` is the transparency log where the node's release is
    published; without it the node has no bundle until :meth:`install_log_proof` is called, and
    clients refuse it.
    """

    def __init__(
        self,
        node_id: str,
        *,
        region: str = "local",
        provider: str = "local",
        registry: WorkloadRegistry | None = None,
        suite: Suite = X25519_SHA256_AES128GCM,
        manifest: ReleaseManifest | None = None,
        insecure_tee_key: EcPrivateKey | None = None,
        log_url: str | None = None,
        min_cosignatures: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.clock: Clock = clock if clock is not None else SystemClock()
        manifest = manifest if manifest is not None else node_release_manifest(self.registry, suite)
        self.log_url = log_url
        self.min_cosignatures = min_cosignatures
        tee_key = insecure_tee_key or EcPrivateKey.generate(Curve.P384)
        # INSECURE: the "hardware" measurement is the node's own hash of its release manifest.
        tee = InsecureSimulatedTee(tee_key, manifest.simulated_measurement)
        self.core = NodeCore(
            node_id,
            region=region,
            provider=provider,
            suite=suite,
            manifest=manifest,
            tee=tee,
            features=self.registry.features,
        )
        self.metrics = Metrics("node")
        #: Live sessions (docs/adr/0023); ``live.pipelines`` builds each call's pipeline.
        self.live = LiveNode(self.core.boot_key, self.core.replays, self.clock)
        self._refresh_task: asyncio.Task[None] | None = None
        #: Blocking workloads: each request on a thread of its own (services.workload_threads).
        self.workload_threads = WorkloadThreads(
            limits.MAX_NODE_WORKLOAD_THREADS, limits.MAX_NODE_WORKLOAD_QUEUE
        )

    @property
    def descriptor(self) -> NodeDescriptor:
        return self.core.descriptor

    @property
    def manifest(self) -> ReleaseManifest:
        return self.core.manifest

    @property
    def key_id(self) -> bytes:
        return self.core.key_id

    @property
    def tee(self) -> InsecureSimulatedTee:
        return self.core.tee

    # --- attestation bundle -----------------------------------------------------------------

    @property
    def insecure_tee_public_key(self) -> bytes:
        """The simulated TEE's dev root public key (what a development client pins)."""
        return self.core.tee.public_key

    def install_log_proof(self, proof: EntryProof) -> None:
        """Take the log position of this node's release and (re-)issue the bundle now."""
        position = LogPosition(proof.index, proof.checkpoint_note, tuple(proof.proof))
        self.core.install_log_position(position, self.clock.now())

    def reattest(self) -> None:
        """Issue a new bundle at the current time: new evidence (same key), the last proof."""
        self.core.reattest(self.clock.now())

    async def refresh_bundle(self) -> None:
        """Fetch a fresh proof of the release (and a cosigned checkpoint) from the log, then
        re-issue the bundle. Raises :class:`~privcloud.errors.NotFoundError` if the release is
        not in the log, :class:`~privcloud.errors.UnavailableError` if the log is unreachable."""
        if self.log_url is None:
            self.reattest()
            return
        async with LogClient(self.log_url) as client:
            proof = await client.prove_entry(
                self.manifest.encode(), min_cosignatures=self.min_cosignatures
            )
        self.install_log_proof(proof)

    async def _refresh_loop(self) -> None:
        while True:
            if self.core.log_position is None:
                await asyncio.sleep(limits.NODE_LOG_PROOF_RETRY_S)
            else:
                await asyncio.sleep(limits.NODE_BUNDLE_REFRESH_S)
            if self.log_url is None and self.core.log_position is None:
                continue  # nothing to refresh until someone installs a proof
            try:
                await self.refresh_bundle()
            except PrivcloudError as exc:
                log.warning("node: bundle refresh failed: %s", exc.code)

    async def _start(self, _: web.Application) -> None:
        """Fetch the release's proof before serving; without it the node serves no bundle
        (clients refuse it) and keeps asking the log."""
        if self.log_url is not None and self.core.log_position is None:
            try:
                await self.refresh_bundle()
            except PrivcloudError as exc:
                log.warning("node: release not provable in the log yet: %s", exc.code)
        self._refresh_task = asyncio.create_task(self._refresh_loop())

    async def _stop(self, _: web.Application) -> None:
        self.live.close()
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            await asyncio.gather(self._refresh_task, return_exceptions=True)

    # --- HTTP -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = new_app("node", self.metrics)
        app.router.add_post("/v1/envelope", self.handle_envelope, name="envelope")
        app.router.add_get("/v1/attestation", self.handle_attestation, name="attestation")
        app.router.add_get("/v1/live", self.live.handle, name="live")
        app.router.add_get("/healthz", self.handle_health, name="health")
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def handle_health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "node"})

    async def handle_attestation(self, _: web.Request) -> web.Response:
        return web.Response(
            body=encode_descriptor(self.descriptor), content_type="application/json"
        )

    async def handle_envelope(self, request: web.Request) -> web.StreamResponse:
        require_media_type(request, MEDIA_TYPE_REQUEST)
        body = await read_body(request, limit=limits.MAX_ENVELOPE_REQUEST)
        # Envelope errors (tampering, not a recipient) are answered in the clear: they carry
        # only a fixed code, and the gateway may know that a request could not be opened.
        exchange = self.core.open(body, self.clock.now())
        if not exchange.streamed:
            # One answer: seal it whole and send it in one write.
            parts = [exchange.header()]
            async for event in self._events(exchange):
                parts += exchange.seal(event)
            return web.Response(body=b"".join(parts), content_type=MEDIA_TYPE_STREAM)
        response = web.StreamResponse(status=200, headers={"Content-Type": MEDIA_TYPE_STREAM})
        await response.prepare(request)
        try:
            await response.write(exchange.header())
            async for event in self._events(exchange):
                for sealed in exchange.seal(event):
                    await response.write(sealed)
        except Exception as exc:  # noqa: BLE001 - headers are sent: only a cut stream is left
            # The client sees a stream without its final chunk and refuses it
            # (TruncatedStreamError); only the exception's type is logged.
            log.error("node: streamed answer broke off: %s", type(exc).__name__)  # noqa: TRY400
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _events(self, exchange: NodeExchange) -> AsyncIterator[Event]:
        """Run the workload; yields its events, ending in exactly one final event.

        A blocking workload's generator advances in a worker thread, one event at a time, so
        partial results stream out while the model works and the event loop keeps serving.
        Workloads that declare ``blocking = False`` (the echo) run on the loop.

        The request's deadline is enforced twice: the registry checks it between events (and
        model calls check it per token), and here a step still running at the deadline is not
        waited for: the sealed :class:`RequestTimeoutError` goes out at once, and the workload
        is closed as soon as that step returns (a thread cannot be interrupted mid-step). Its
        thread is given back then even if its cleanup raises (:func:`_close`). With every
        thread taken and ``limits.MAX_NODE_WORKLOAD_QUEUE`` requests waiting for one, the
        answer is :class:`RateLimitedError` (429) at once.
        """
        work = exchange.work
        if isinstance(work, PrivcloudError):
            yield error_event(work)
            return
        deadline = None
        if exchange.deadline_at is not None:
            deadline = Deadline(exchange.deadline_at, self.clock)
        thread: RequestThread | None = None
        if self.registry.is_blocking(work.feature):
            try:
                thread = await self.workload_threads.claim(deadline)
            except (RateLimitedError, RequestTimeoutError) as exc:
                yield error_event(exc)
                return
        events = self.registry.run(work, deadline)
        pending: asyncio.Future[Event | None] | None = None
        try:
            while True:
                if thread is None:
                    event = next(events, None)
                else:
                    pending = thread.step(events)
                    timeout = None if deadline is None else max(0.0, deadline.remaining())
                    done, _ = await asyncio.wait({pending}, timeout=timeout)
                    if not done:
                        yield error_event(RequestTimeoutError("the request's deadline passed"))
                        return
                    event = pending.result()
                    pending = None
                if event is None:
                    return
                yield event
                if event.final:
                    return
        finally:
            if pending is None or pending.done():
                _close(events, thread)
            else:
                # The step still runs in its thread (the client left, or the deadline passed):
                # close the workload when it returns; closing now would fail.
                pending.add_done_callback(lambda step: _close_after(step, events, thread))


def _close_after(
    step: asyncio.Future[Event | None],
    events: Generator[Event, None, None],
    thread: RequestThread | None,
) -> None:
    """Close the workload ``events`` once its last ``step`` has returned (its result is
    dropped: the answer has ended), then give its thread back."""
    if not step.cancelled():
        step.exception()  # retrieved, so that asyncio does not report it as lost
    _close(events, thread)


def _close(events: Generator[Event, None, None], thread: RequestThread | None) -> None:
    """Close the workload ``events`` (its cleanup runs), then give its thread back, also when
    the cleanup raises: that is logged (its type only: the text could quote the request) and
    the answer stands, for a slot not given back would be lost for the node's life."""
    try:
        events.close()
    except Exception as exc:  # noqa: BLE001 - the answer has ended; only the slot is left to save
        log.error("node: closing a workload failed: %s", type(exc).__name__)  # noqa: TRY400
    finally:
        if thread is not None:
            thread.release()
