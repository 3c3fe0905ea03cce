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
    GET  /v1/key-statements          the logged statement of each offered key (docs/adr/0009)
    GET  /v1/directory               the node directory (healthy nodes)

Keys: a :class:`~privcloud.services.gateway_key.KeyRing` with validity periods; with a key
file the gateway re-reads it when it changes, so keys rotate without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
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
from privcloud.services.gateway_key import DEFAULT_SERVICE, KeyRing, read_ring
from privcloud.services.http import Metrics, new_app, read_body, require_media_type
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.trust.directory import NodeDescriptor, decode_descriptor, encode_directory
from privcloud.trust.keys import KEY_STATEMENTS_PATH, MEDIA_KEY_STATEMENTS, encode_statement_list
from privcloud.wire import bhttp
from privcloud.wire.jsonio import encode_error_body
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
    body = encode_error_body(exc)
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
        ring: KeyRing | None = None,
        key_file: str | os.PathLike[str] | None = None,
        authorizer: Authorizer | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``ring`` holds the OHTTP keys; with ``key_file`` they are read from that file
        (:func:`~privcloud.services.gateway_key.load_or_create` made it) and re-read when it
        changes. With neither, one in-memory key valid for ``OHTTP_KEY_LIFETIME_S``."""
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.key_file = Path(key_file) if key_file is not None else None
        self._key_file_seen: tuple[int, int] | None = None
        if ring is None:
            if self.key_file is not None:
                ring = read_ring(self.key_file)
                self._key_file_seen = self._key_file_stamp()
            else:
                now = self.clock.now()
                ring, _ = KeyRing().with_new_key(
                    DEFAULT_SERVICE, int(now), limits.OHTTP_KEY_LIFETIME_S, now
                )
        self.ring = ring
        self.nodes = [NodeRecord(url.rstrip("/")) for url in node_urls]
        self.authorizer = authorizer
        self.metrics = Metrics("gateway")
        self._session: aiohttp.ClientSession | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._reload_task: asyncio.Task[None] | None = None
        self._random = secrets.SystemRandom()

    @property
    def keys(self) -> dict[int, GatewayKey]:
        """The keys requests may be encapsulated to now (every key not yet expired)."""
        return self.ring.decapsulation_keys(self.clock.now())

    # --- key rotation (docs/adr/0009) ------------------------------------------------------

    def _key_file_stamp(self) -> tuple[int, int] | None:
        assert self.key_file is not None
        try:
            st = self.key_file.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def reload_keys(self) -> bool:
        """Re-read the key file if it changed; True when the ring was replaced. A file that
        does not load leaves the current ring in place (and is logged, without content)."""
        if self.key_file is None:
            return False
        stamp = self._key_file_stamp()
        if stamp is None or stamp == self._key_file_seen:
            return False
        try:
            ring = read_ring(self.key_file)
        except PrivcloudError as exc:
            log.warning("gateway: key file did not load (%s); keeping the current keys", exc.code)
            return False
        self._key_file_seen = stamp
        self.ring = ring
        log.info("gateway: key file reloaded, %d keys", len(ring.records))
        return True

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(limits.GATEWAY_KEY_RELOAD_S)
            await asyncio.to_thread(self.reload_keys)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    def app(self) -> web.Application:
        app = new_app("gateway", self.metrics)
        app.router.add_post("/v1/ohttp", self.handle_ohttp, name="ohttp")
        app.router.add_get("/.well-known/ohttp-gateway", self.handle_keys, name="keys")
        app.router.add_get(KEY_STATEMENTS_PATH, self.handle_statements, name="key_statements")
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
        if self.key_file is not None:
            self._reload_task = asyncio.create_task(self._reload_loop())

    async def _stop(self, _: web.Application) -> None:
        for task in (self._health_task, self._reload_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
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
        offered = self.ring.offered(self.clock.now())
        body = encode_key_configs([r.key.config for r in offered])
        return web.Response(
            body=body, content_type=MEDIA_KEYS, headers={"Cache-Control": "max-age=60"}
        )

    async def handle_statements(self, _: web.Request) -> web.Response:
        """The statement of each offered key, newest first: what a device proves in the log."""
        offered = self.ring.offered(self.clock.now())[: limits.MAX_KEY_STATEMENTS]
        return web.Response(
            body=encode_statement_list([r.statement for r in offered]),
            content_type=MEDIA_KEY_STATEMENTS,
            headers={"Cache-Control": "max-age=60"},
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
