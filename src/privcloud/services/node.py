"""A compute node: the only party that reads a request.

At boot it makes a fresh HPKE key pair (never written anywhere) and publishes a descriptor with
its public key and attestation evidence. For each sealed envelope addressed to it, it opens the
request, runs the feature's workload in a worker thread, and streams the events back as sealed
chunks under the response key only the client can derive.

What it never does: write a file, log request content, keep anything after answering, or learn
the client's address (requests come from the gateway). Envelope errors are answered with our
fixed error codes; workload errors are sealed inside the response, so not even the gateway sees
them.

This version runs in the *simulated* TEE only (insecure, opt-in on the client side).

Routes::

    POST /v1/envelope       application/privcloud-envelope -> application/privcloud-envelope-stream
    GET  /v1/attestation    the node descriptor (key, evidence, region, provider)
    GET  /healthz
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from privcloud import limits
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, Suite, generate_keypair
from privcloud.envelope import (
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_STREAM,
    key_id_for,
    open_request,
)
from privcloud.errors import PrivcloudError
from privcloud.services.http import Metrics, new_app, read_body, require_media_type
from privcloud.trust.admission import SIMULATED_TEE
from privcloud.trust.directory import NodeDescriptor, encode_descriptor
from privcloud.wire.message import Event, WorkloadRequest, decode_request, encode_event
from privcloud.workloads import WorkloadRegistry, default_registry, error_event


class Node:
    """State of one node: its boot key, its descriptor and its workloads."""

    def __init__(
        self,
        node_id: str,
        *,
        region: str = "local",
        provider: str = "local",
        registry: WorkloadRegistry | None = None,
        suite: Suite = X25519_SHA256_AES128GCM,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self._key = generate_keypair(suite.kem)
        self.key_id = key_id_for(suite.kem, self._key.public_bytes)
        self.descriptor = NodeDescriptor(
            node_id=node_id,
            key_id=self.key_id,
            suite=suite,
            public_key=self._key.public_bytes,
            region=region,
            provider=provider,
            tee=SIMULATED_TEE,
            evidence=b"",
            features=self.registry.features,
        )
        self.metrics = Metrics("node")

    def app(self) -> web.Application:
        app = new_app("node", self.metrics)
        app.router.add_post("/v1/envelope", self.handle_envelope, name="envelope")
        app.router.add_get("/v1/attestation", self.handle_attestation, name="attestation")
        app.router.add_get("/healthz", self.handle_health, name="health")
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
        plaintext, session = open_request(body, self.key_id, self._key)
        sealer = session.stream_sealer()
        try:
            work: WorkloadRequest | PrivcloudError = decode_request(plaintext)
        except PrivcloudError as exc:
            work = exc
        if isinstance(work, PrivcloudError) or not work.stream:
            # One answer: seal it whole and send it in one write.
            parts = [sealer.header()]
            async for event in self._events(work):
                parts.append(sealer.seal_chunk(encode_event(event), final=event.final))
            return web.Response(body=b"".join(parts), content_type=MEDIA_TYPE_STREAM)
        response = web.StreamResponse(status=200, headers={"Content-Type": MEDIA_TYPE_STREAM})
        await response.prepare(request)
        await response.write(sealer.header())
        async for event in self._events(work):
            await response.write(sealer.seal_chunk(encode_event(event), final=event.final))
        await response.write_eof()
        return response

    async def _events(self, work: WorkloadRequest | PrivcloudError) -> AsyncIterator[Event]:
        """Run the workload; yields its events, ending in exactly one final event.

        A blocking workload's generator advances in a worker thread, one event at a time, so
        partial results stream out while the model works and the event loop keeps serving.
        Workloads that declare ``blocking = False`` (the echo) run on the loop.
        """
        if isinstance(work, PrivcloudError):
            yield error_event(work)
            return
        events = self.registry.run(work)
        in_thread = self.registry.is_blocking(work.feature)
        try:
            while True:
                event = (
                    await asyncio.to_thread(next, events, None) if in_thread else next(events, None)
                )
                if event is None:
                    return
                yield event
                if event.final:
                    return
        finally:
            events.close()
