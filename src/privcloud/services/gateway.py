"""The gateway (RFC 9458 "Oblivious Gateway Resource" + load balancer).

It decapsulates OHTTP requests, checks the inner Binary HTTP request, reads the sealed
envelope's *cleartext header* to learn which k nodes the client encrypted to, and forwards the
envelope to one of them chosen at random among the healthy ones. It never holds a node key, so it
cannot read the envelope; it never learns the client's address, because the relay stands between.

Errors before decapsulation are plain HTTP errors (RFC 9458 §5.2); errors after it are answered
inside the encapsulated response, so the relay learns nothing from them.

Routes::

    POST /v1/ohttp                   message/ohttp-req | message/ohttp-chunked-req
    GET  /.well-known/ohttp-gateway  application/ohttp-keys (RFC 9540)
    GET  /v1/directory               the node directory (healthy nodes)
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.envelope import MEDIA_TYPE_REQUEST, MEDIA_TYPE_STREAM, parse_header
from privcloud.errors import (
    NoHealthyNodeError,
    NotFoundError,
    PrivcloudError,
    UnknownKeyError,
    UnsupportedError,
    UpstreamError,
)
from privcloud.netio import new_session, read_bounded
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    MEDIA_KEYS,
    MEDIA_REQUEST,
    MEDIA_RESPONSE,
    ChunkedRequestDecoder,
    GatewayKey,
    decapsulate_request,
    encode_key_configs,
)
from privcloud.services.http import Metrics, new_app, read_body, require_media_type
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.trust.directory import NodeDescriptor, decode_descriptor, encode_directory
from privcloud.wire import bhttp
from privcloud.wire.message import ENVELOPE_ROUTE

log = logging.getLogger("privcloud.gateway")

#: RFC 9458 §5.3 problem type for a request to an unknown or outdated key configuration.
OHTTP_KEY_PROBLEM = "https://iana.org/assignments/http-problem-types#ohttp-key"

#: Seconds between health checks of the nodes.
HEALTH_INTERVAL_S = 2.0

#: Checks the inner request's credentials (Privacy Pass, in its own module); raises on refusal.
Authorizer = Callable[[bhttp.Request], Awaitable[None]]


@dataclass
class NodeRecord:
    """What the gateway knows of one node: where it is and what it published."""

    url: str
    descriptor: NodeDescriptor | None = None
    healthy: bool = False


def error_bhttp(exc: PrivcloudError) -> bhttp.Response:
    """An inner (encapsulated) error response carrying only our fixed code and text, and for a
    refused token the ``WWW-Authenticate: PrivateToken`` challenge (RFC 9577 §2.1)."""
    body = json.dumps({"error": exc.code, "message": str(exc)}).encode()
    headers: tuple[bhttp.Field, ...] = ((b"content-type", b"application/json"),)
    if isinstance(exc, TokenRefusedError):
        headers += ((b"www-authenticate", exc.www_authenticate.encode("ascii")),)
    return bhttp.Response(status=exc.http_status, headers=headers, content=body)


class Gateway:
    """State of one gateway: its OHTTP keys and its view of the nodes."""

    def __init__(
        self,
        node_urls: list[str],
        *,
        key: GatewayKey | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.key = key if key is not None else GatewayKey.generate(key_id=secrets.randbelow(256))
        self.keys = {self.key.config.key_id: self.key}
        self.nodes = [NodeRecord(url.rstrip("/")) for url in node_urls]
        self.authorizer = authorizer
        self.metrics = Metrics("gateway")
        self._session: aiohttp.ClientSession | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._random = secrets.SystemRandom()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    def app(self) -> web.Application:
        app = new_app("gateway", self.metrics)
        app.router.add_post("/v1/ohttp", self.handle_ohttp, name="ohttp")
        app.router.add_get("/.well-known/ohttp-gateway", self.handle_keys, name="keys")
        app.router.add_get("/v1/directory", self.handle_directory, name="directory")
        app.router.add_get("/healthz", self.handle_health, name="health")
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        if isinstance(self.authorizer, TokenAuthorizer):
            self.authorizer.attach(app)  # fetch the issuer directory at start, refresh it
        return app

    # --- node health ------------------------------------------------------------------------

    async def _start(self, _: web.Application) -> None:
        await self.check_nodes()
        self._health_task = asyncio.create_task(self._health_loop())

    async def _stop(self, _: web.Application) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            await asyncio.gather(self._health_task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_S)
            await self.check_nodes()

    async def check_nodes(self) -> None:
        """Fetch each node's descriptor; a node that answers is healthy."""
        await asyncio.gather(*(self._check(record) for record in self.nodes))

    async def _check(self, record: NodeRecord) -> None:
        try:
            async with self.session.get(
                f"{record.url}/v1/attestation", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as resp:
                payload = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
                if resp.status != 200:
                    raise UpstreamError("node answered with an error")
            record.descriptor = decode_descriptor(payload)
            record.healthy = True
        except (aiohttp.ClientError, TimeoutError, PrivcloudError):
            if record.healthy:
                log.warning("gateway: a node became unhealthy")
            record.healthy = False

    def _candidates(self, key_ids: tuple[bytes, ...]) -> list[NodeRecord]:
        wanted = set(key_ids)
        found = [
            r
            for r in self.nodes
            if r.healthy and r.descriptor is not None and r.descriptor.key_id in wanted
        ]
        self._random.shuffle(found)
        return found

    # --- routes -----------------------------------------------------------------------------

    async def handle_health(self, _: web.Request) -> web.Response:
        healthy = sum(1 for r in self.nodes if r.healthy)
        return web.json_response({"ok": True, "service": "gateway", "healthy_nodes": healthy})

    async def handle_keys(self, _: web.Request) -> web.Response:
        body = encode_key_configs([k.config for k in self.keys.values()])
        return web.Response(
            body=body, content_type=MEDIA_KEYS, headers={"Cache-Control": "max-age=60"}
        )

    async def handle_directory(self, _: web.Request) -> web.Response:
        nodes = [r.descriptor for r in self.nodes if r.healthy and r.descriptor is not None]
        return web.Response(
            body=encode_directory(nodes),
            content_type="application/json",
            headers={"Cache-Control": "max-age=10"},
        )

    async def handle_ohttp(self, request: web.Request) -> web.StreamResponse:
        media = require_media_type(request, MEDIA_REQUEST, MEDIA_CHUNKED_REQUEST)
        body = await read_body(request, limit=limits.MAX_OHTTP_REQUEST)
        try:
            if media == MEDIA_REQUEST:
                return await self._one_shot(body)
            return await self._chunked(request, body)
        except UnknownKeyError:
            # RFC 9458 §5.3: a key configuration mismatch is a 400 with the "ohttp-key"
            # problem type, so a client knows to fetch the current configuration.
            problem = {
                "type": OHTTP_KEY_PROBLEM,
                "title": "unknown key configuration",
                "error": UnknownKeyError.code,
                "message": "unknown key configuration",
            }
            return web.json_response(problem, status=400, content_type="application/problem+json")

    async def _one_shot(self, body: bytes) -> web.Response:
        # Outside the encapsulation: errors here are plain HTTP errors (RFC 9458 §5.2).
        inner_bytes, context = decapsulate_request(self.keys, body)
        try:
            envelope = await self._check_inner(inner_bytes)
            status, payload = await self._forward_buffered(envelope)
            inner = bhttp.Response(
                status=status,
                headers=(
                    (
                        b"content-type",
                        MEDIA_TYPE_STREAM.encode() if status == 200 else b"application/json",
                    ),
                ),
                content=payload,
            )
        except PrivcloudError as exc:
            inner = error_bhttp(exc)
        return web.Response(
            body=context.encapsulate_response(bhttp.encode_response(inner)),
            content_type=MEDIA_RESPONSE,
        )

    async def _chunked(self, request: web.Request, body: bytes) -> web.StreamResponse:
        decoder = ChunkedRequestDecoder(self.keys)
        parts = decoder.feed(body)
        parts.append(decoder.close())
        context = decoder.context
        inner_bytes = b"".join(parts)
        response = web.StreamResponse(status=200, headers={"Content-Type": MEDIA_CHUNKED_RESPONSE})
        await response.prepare(request)
        await response.write(context.response_header())
        try:
            envelope = await self._check_inner(inner_bytes)
            upstream, _ = await self._post_to_node(envelope)
        except PrivcloudError as exc:
            # Nothing was sent of the inner response yet: answer the error inside OHTTP.
            # Indeterminate-length framing: the client reads this path as a stream.
            error = bhttp.encode_response_indeterminate(error_bhttp(exc))
            await response.write(context.seal_chunk(error, final=True))
            await response.write_eof()
            return response
        async with upstream:
            content_type = MEDIA_TYPE_STREAM if upstream.status == 200 else "application/json"
            head = bhttp.encode_response_head(
                upstream.status, [(b"content-type", content_type.encode())]
            )
            await response.write(context.seal_chunk(head, final=False))
            try:
                # Bounded reads keep each OHTTP chunk under MAX_OHTTP_CHUNK with its framing.
                step = limits.MAX_OHTTP_CHUNK - 16
                while piece := await upstream.content.read(step):
                    chunk = bhttp.encode_content_chunk(piece)
                    await response.write(context.seal_chunk(chunk, final=False))
            except (aiohttp.ClientError, TimeoutError):
                # The node failed mid-stream: end without a final chunk; the client detects it.
                log.warning("gateway: node stream broke off")
                return response
        await response.write(context.seal_chunk(bhttp.encode_response_tail(), final=True))
        await response.write_eof()
        return response

    async def _check_inner(self, inner_bytes: bytes) -> bytes:
        """Decode the inner request, check route and credentials; return the envelope."""
        inner = bhttp.decode_request(inner_bytes)
        if inner.method != b"POST" or inner.path != ENVELOPE_ROUTE:
            raise NotFoundError("unknown inner route")
        if inner.header(b"content-type") != MEDIA_TYPE_REQUEST.encode():
            raise UnsupportedError("inner request is not an envelope")
        if self.authorizer is not None:
            await self.authorizer(inner)
        return inner.content

    async def _post_to_node(self, envelope: bytes) -> tuple[aiohttp.ClientResponse, NodeRecord]:
        """POST the envelope to a healthy node among its recipients, trying each once."""
        header = parse_header(envelope)
        candidates = self._candidates(header.key_ids)
        if not candidates:
            raise NoHealthyNodeError("no healthy node among the request's recipients")
        for record in candidates:
            try:
                resp = await self.session.post(
                    f"{record.url}/v1/envelope",
                    data=envelope,
                    headers={"Content-Type": MEDIA_TYPE_REQUEST},
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
                # Nothing was delivered: the node is down. Try another of the k recipients.
                record.healthy = False
                log.warning("gateway: node unreachable, trying another recipient")
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                # The envelope may have reached the node: do not run it a second time elsewhere,
                # and do not take the node out of the pool for what one request did to it.
                raise UpstreamError("node failed while answering") from exc
            return resp, record
        raise NoHealthyNodeError("every recipient node failed")

    async def _forward_buffered(self, envelope: bytes) -> tuple[int, bytes]:
        resp, _ = await self._post_to_node(envelope)
        async with resp:
            try:
                payload = await read_bounded(resp.content, limits.MAX_HTTP_BODY)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise UpstreamError("node response broke off") from exc
        return resp.status, payload
