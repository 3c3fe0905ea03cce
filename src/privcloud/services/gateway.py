"""The gateway (RFC 9458 "Oblivious Gateway Resource" + load balancer).

It decapsulates OHTTP requests, checks the inner Binary HTTP request, reads the sealed
envelope's *cleartext header* to learn which k nodes the client encrypted to, and forwards the
envelope to one of them chosen at random among the healthy ones. It never holds a node key, so it
cannot read the envelope; it never learns the client's address, because the relay stands between.

A thin aiohttp shell over :mod:`privcloud.services.gateway_core` (decapsulation, inner checks,
response sealing, the choice of node): here are only the sockets, the token check (its store)
and the node health checks. Errors before decapsulation are plain HTTP errors (RFC 9458 §5.2);
errors after it are answered inside the encapsulated response, so the relay learns nothing.

A request's token is spent before the envelope goes to a node (the authorizer's default), or,
under its ``"when-accepted"`` policy, reserved then, consumed when a node answers with a
response head that charges it (:func:`~privcloud.services.gateway_core.node_accepted`), and
released on every other way out — no healthy node, connection refused, a node's 5xx,
cancellation — so that a device pays only for requests a node took (docs/tokens.md, ADR 0029).

Routes::

    POST /v1/ohttp                   message/ohttp-req | message/ohttp-chunked-req
    GET  /.well-known/ohttp-gateway  application/ohttp-keys (RFC 9540)
    GET  /v1/key-statements          the logged statement of each offered key (docs/adr/0009)
    GET  /v1/directory               the node directory: the nodes of the last logged directory
                                     statement, with it (docs/adr/0033)
    GET  /v1/live                    a live session's tunnel (WebSocket; services.live_gateway)

Keys: a :class:`~privcloud.services.gateway_key.KeyRing` with validity periods; with a key
file the gateway re-reads it when it changes, so keys rotate without a restart.

Directory: with a ``directory_log`` (the operator's append key to the transparency log) the
gateway logs a directory statement of its nodes at every half ``DIRECTORY_STATEMENT_LIFETIME_S``
and when a node comes up (:mod:`privcloud.services.gateway_directory`); devices use no
directory without one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.envelope import MEDIA_TYPE_REQUEST
from privcloud.errors import (
    NoHealthyNodeError,
    PrivcloudError,
    UnknownKeyError,
    UpstreamError,
    UpstreamUnreachableError,
)
from privcloud.netio import LazySession, read_bounded
from privcloud.netio.hop import HopAnswer, HopClient, LazyHop
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    MEDIA_KEYS,
    MEDIA_REQUEST,
    MEDIA_RESPONSE,
    GatewayKey,
    encode_key_configs,
)
from privcloud.services.gateway_admission import NodeCheck
from privcloud.services.gateway_core import (
    ChunkedExchange,
    NodeRecord,
    NodeTable,
    OneShotExchange,
    key_mismatch_problem,
    node_accepted,
)
from privcloud.services.gateway_directory import LoggedDirectory, named_keys_of
from privcloud.services.gateway_key import DEFAULT_SERVICE, KeyRing, read_ring
from privcloud.services.http import Metrics, read_body, release_body, require_media_type
from privcloud.services.keylog import KeyLog
from privcloud.services.lane import LANE, Lane, LaneAnswer
from privcloud.services.live_gateway import LiveGateway
from privcloud.services.redemption import Redemption, TokenAuthorizer
from privcloud.services.site import new_app
from privcloud.trust.directory import NodeDescriptor
from privcloud.trust.keys import KEY_STATEMENTS_PATH, MEDIA_KEY_STATEMENTS, encode_statement_list
from privcloud.wire import bhttp

log = logging.getLogger("privcloud.gateway")

#: The route of encapsulated requests.
OHTTP_PATH = "/v1/ohttp"
#: RFC 9458 §5.3's key-mismatch problem, as answered (a fixed document).
_KEY_MISMATCH = json.dumps(key_mismatch_problem()).encode()

#: Seconds between health checks of the nodes.
HEALTH_INTERVAL_S = 2.0

#: Checks the inner request's credentials (Privacy Pass, in its own module); raises on refusal.
#: A :class:`Redemption` it returns is consumed when a node accepts the request, else released.
Authorizer = Callable[[bhttp.Request], Awaitable[Redemption | None]]

#: A node's answer, its head read: over the hop client (one-shot) or aiohttp (streams).
_Answer = TypeVar("_Answer", HopAnswer, aiohttp.ClientResponse)


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
        directory_log: KeyLog | None = None,
        node_check: NodeCheck | None = None,
    ) -> None:
        """``ring`` holds the OHTTP keys; with ``key_file`` they are read from that file
        (:func:`~privcloud.services.gateway_key.load_or_create` made it) and re-read when it
        changes. With neither, in-memory keys (one per KEM) valid for ``OHTTP_KEY_LIFETIME_S``.
        ``directory_log`` logs the directory statements (module docstring); without it the
        directory is served unlogged, which devices refuse by default. ``node_check`` admits
        each node as devices will before it is listed (:mod:`.gateway_admission`); without it
        every healthy node is listed, and one whose bundle fails stops every device."""
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.key_file = Path(key_file) if key_file is not None else None
        self._key_file_seen: tuple[int, int] | None = None
        if ring is None:
            if self.key_file is not None:
                ring = read_ring(self.key_file)
                self._key_file_seen = self._key_file_stamp()
            else:
                now = self.clock.now()
                ring = KeyRing().with_missing_keys(  # hybrid and X25519 (ADR 0014)
                    DEFAULT_SERVICE, limits.OHTTP_KEY_LIFETIME_S, now
                )
        self.ring = ring
        self.table = NodeTable(node_urls)
        self.directory = LoggedDirectory(DEFAULT_SERVICE)
        self.directory_log = directory_log
        self.node_check = node_check
        #: The node address each listed key was listed from (docs/adr/0033, decision 5).
        self._listed_from: dict[bytes, str] = {}
        self._directory_lock = asyncio.Lock()
        self._directory_task: asyncio.Task[None] | None = None
        self.authorizer = authorizer
        self.metrics = Metrics("gateway")
        self._http = LazySession()
        self._hop = LazyHop()  # one-shot envelopes to nodes
        # Live tunnels hold their connection to a node for up to ~10 minutes: a pool of their
        # own, so they never make requests, health checks or directory fetches wait.
        self._live_http = LazySession(limit=limits.MAX_LIVE_TUNNELS)
        self.live = LiveGateway(lambda: self.keys, self.table, authorizer, self._live_http.get)
        self._health_task: asyncio.Task[None] | None = None
        self._reload_task: asyncio.Task[None] | None = None

    @property
    def nodes(self) -> list[NodeRecord]:
        """What the gateway knows of each node (url, descriptor, health)."""
        return self.table.records

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
        return self._http.get()

    @property
    def hop(self) -> HopClient:
        """The pooled client one-shot envelopes go to nodes by (made on first use)."""
        return self._hop.get()

    def app(self) -> web.Application:
        app = new_app("gateway", self.metrics)
        app.router.add_post(OHTTP_PATH, self.handle_ohttp, name="ohttp")
        # One-shot requests from relays' hop clients, on the lane (services.lane, ADR 0032).
        app[LANE] = Lane(OHTTP_PATH.encode(), MEDIA_REQUEST.encode(), "ohttp", self.one_shot)
        app.router.add_get("/.well-known/ohttp-gateway", self.handle_keys, name="keys")
        app.router.add_get(KEY_STATEMENTS_PATH, self.handle_statements, name="key_statements")
        app.router.add_get("/v1/directory", self.handle_directory, name="directory")
        app.router.add_get("/v1/live", self.live.handle, name="live")
        app.router.add_get("/healthz", self.handle_health, name="health")
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        if isinstance(self.authorizer, TokenAuthorizer):
            self.authorizer.attach(app)  # fetch the issuer directory at start, refresh it
        return app

    # --- node health ------------------------------------------------------------------------

    async def _start(self, _: web.Application) -> None:
        await self.check_nodes()
        self._log_directory_later()
        self._health_task = asyncio.create_task(self._health_loop())
        if self.key_file is not None:
            self._reload_task = asyncio.create_task(self._reload_loop())

    async def _stop(self, _: web.Application) -> None:
        for task in (self._health_task, self._reload_task, self._directory_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._http.close()
        await self._live_http.close()
        await self._hop.close()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_S)
            await self.check_nodes()
            self._log_directory_later()

    # --- the logged directory (docs/adr/0033) -----------------------------------------------

    async def log_directory(self) -> bool:
        """Log a directory statement if one is due (a node came up or restarted, or a step of
        the validity grid began: :meth:`LoggedDirectory.wanted`), wait for a cosigned
        checkpoint covering it, then serve it. True when one was logged. Raises the log's
        errors."""
        if self.directory_log is None:
            return False
        async with self._directory_lock:
            now = self.clock.now()
            offered = self.ring.offered(now)
            if not offered:  # no key, no service name to give the statement: nothing to serve
                return False
            sources = self._sources()  # (no await between these two)
            healthy, refused = await self._checked(self.table.healthy(), now, sources)
            # The service its key statements name (devices check the two agree).
            keys = named_keys_of(offered, now)
            due = self.directory.wanted(
                healthy, now, offered[0].service, refused=refused, keys=keys
            )
            if due is None:
                return False
            statement, nodes = due
            # The key statements first (appends are idempotent): no directory statement names a
            # key the log lacks, whatever order the operator logged and installed keys in.
            await self.directory_log.publish([*keys, statement])
            self.directory.adopt(statement, nodes)
            # Which address each listed key came from: only that address's word can drop it.
            self._listed_from = {
                n.key_id: sources.get(id(n), self._listed_from.get(n.key_id, "")) for n in nodes
            }
        log.info("gateway: directory statement logged, %d nodes", len(statement.key_ids))
        return True

    async def _checked(
        self, healthy: list[NodeDescriptor], now: float, sources: dict[int, str]
    ) -> tuple[list[NodeDescriptor], set[bytes]]:
        """What to list of the healthy nodes after the gateway's check, and the key ids it
        refused (all of them and none without a check). A node whose newest descriptor fails
        on its bundle's log proof or age alone, while the entry it was logged with under the
        same boot key still passes, is listed with that entry (the same boot key: the same
        measured software); a failure of its evidence, GPUs, measurement or policy is not
        covered so. A key that any healthy node serves with a passing entry is not refused,
        nor a listed key that fails under another node id or from another address than it
        was listed with (a descriptor copied elsewhere cannot push the node out). Raises the
        log's errors (then nothing is decided)."""
        check = self.node_check
        if check is None:
            return healthy, set()
        logged = {n.key_id: n for n in self.directory.logged()}
        await check.check([*healthy, *logged.values()], now)
        listable, refused = [], set()
        for node in healthy:
            earlier = logged.get(node.key_id)
            if check.passed(node, now):
                listable.append(node)
            elif (
                earlier is not None
                and earlier.node_id == node.node_id
                and check.failed_on_its_bundle_alone(node)
                and check.passed(earlier, now)
            ):
                listable.append(earlier)
            elif earlier is None or (
                earlier.node_id == node.node_id
                and self._listed_from.get(node.key_id) == sources.get(id(node))
            ):
                refused.add(node.key_id)
            # else: a listed key failing under another node id, or from another address than
            # it was listed from: not that node's word (a copy); it refuses nothing.
        # A listed node that is down now and whose logged entry failed: not kept listed.
        refused |= {k for k, n in logged.items() if check.failed(n)}
        return listable, refused - {n.key_id for n in listable}

    def _sources(self) -> dict[int, str]:
        """The address each healthy node's current descriptor came from (by object)."""
        return {id(r.descriptor): r.url for r in self.nodes if r.healthy and r.descriptor}

    def _log_directory_later(self) -> None:
        """Start :meth:`log_directory` unless a run is under way (it waits for the witnesses:
        the health checks do not wait for it)."""
        if self.directory_log is None:
            return
        if self._directory_task is None or self._directory_task.done():
            self._directory_task = asyncio.create_task(self._log_directory_quietly())

    async def _log_directory_quietly(self) -> None:
        try:
            await self.log_directory()
        except PrivcloudError as exc:  # the log is down or slow: the next check tries again
            log.warning("gateway: directory statement not logged (%s)", exc.code)
        except Exception as exc:  # noqa: BLE001 - a fault of ours: logged, tried again later
            log.error(  # noqa: TRY400 - only the type: no traceback in the logs
                "gateway: directory statement not logged: %s", type(exc).__name__
            )

    async def check_nodes(self) -> None:
        """Fetch each node's descriptor; a node that answers is healthy."""
        await asyncio.gather(*(self._check(record) for record in self.nodes))

    async def _check(self, record: NodeRecord) -> None:
        payload: bytes | None = None
        try:
            async with self.session.get(
                f"{record.url}/v1/attestation", timeout=aiohttp.ClientTimeout(total=2.0)
            ) as resp:
                payload = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
                if resp.status != 200:
                    payload = None
        except (aiohttp.ClientError, TimeoutError, PrivcloudError):
            payload = None
        if self.table.update(record, payload):
            log.warning("gateway: a node became unhealthy")

    # --- routes -----------------------------------------------------------------------------

    async def handle_health(self, _: web.Request) -> web.Response:
        """Ready (200) unless the gateway logs its directory and has no statement valid now
        to serve (503: devices would refuse its directory, so a load balancer should send
        them elsewhere)."""
        healthy = sum(1 for r in self.nodes if r.healthy)
        statement = self.directory.statement
        logged = 0 if statement is None else len(statement.key_ids)
        ready = self.directory_log is None or (
            statement is not None and statement.valid_at(self.clock.now())
        )
        refused = 0 if self.node_check is None else len(self.node_check.refused)
        return web.json_response(
            {
                "ok": ready,
                "service": "gateway",
                "healthy_nodes": healthy,
                "logged_nodes": logged,
                "refused_nodes": refused,  # by the check of what it lists (ADR 0033)
            },
            status=200 if ready else 503,
        )

    async def handle_keys(self, _: web.Request) -> web.Response:
        offered = self.ring.offered(self.clock.now())
        body = encode_key_configs([r.key.config for r in offered])
        return web.Response(
            body=body, content_type=MEDIA_KEYS, headers={"Cache-Control": "max-age=60"}
        )

    async def handle_statements(self, _: web.Request) -> web.Response:
        """The statement of each offered key, newest first: what a device proves in the log.
        As long-lived in caches as the directory, whose statement names the keys (a key is
        named only once it has been served longer: :meth:`log_directory`)."""
        offered = self.ring.offered(self.clock.now())[: limits.MAX_KEY_STATEMENTS]
        return web.Response(
            body=encode_statement_list([r.statement for r in offered]),
            content_type=MEDIA_KEY_STATEMENTS,
            headers={"Cache-Control": "max-age=10"},
        )

    async def handle_directory(self, _: web.Request) -> web.Response:
        known = [r.descriptor for r in self.nodes if r.descriptor]
        check, now = self.node_check, self.clock.now()
        withheld: set[bytes] = set()
        if check is not None:  # the newest descriptor of each node that passed the check
            known = [d for d in known if check.passed(d, now)]
            withheld = {n.key_id for n in self.directory.logged() if check.failed(n)}
        return web.Response(
            body=self.directory.document(self.table.healthy(), known, withheld=withheld),
            content_type="application/json",
            headers={"Cache-Control": "max-age=10"},
        )

    async def handle_ohttp(self, request: web.Request) -> web.StreamResponse:
        media = require_media_type(request, MEDIA_REQUEST, MEDIA_CHUNKED_REQUEST)
        body = await read_body(request, limit=limits.MAX_OHTTP_REQUEST)
        if media == MEDIA_REQUEST:
            answer = await self.one_shot(body)
            return web.Response(status=answer.status, body=answer.body, content_type=answer.media)
        try:
            exchange = ChunkedExchange(self.keys, body)
        except UnknownKeyError:
            return web.json_response(
                key_mismatch_problem(), status=400, content_type="application/problem+json"
            )
        del body  # the exchange holds the request now, until it is passed on (_chunked)
        return await self._chunked(request, exchange)

    async def one_shot(self, body: bytes) -> LaneAnswer:
        """The answer to a one-shot OHTTP request (``body``), on aiohttp's route or the lane
        (services.lane). Raises our errors for a request that cannot be decapsulated."""
        try:
            exchange = OneShotExchange(self.keys, body)
        except UnknownKeyError:
            # RFC 9458 §5.3: the client fetches the current key configuration and resends.
            return LaneAnswer(400, "application/problem+json", _KEY_MISMATCH)
        return LaneAnswer(200, MEDIA_RESPONSE, await self._one_shot(exchange))

    async def _forward(
        self,
        exchange: OneShotExchange | ChunkedExchange,
        send: Callable[[str, bytes], Awaitable[_Answer]],
    ) -> _Answer:
        """Check the inner request, spend or reserve its token (the authorizer's policy), and
        send its envelope to a node with ``send``: the node's answer, its head read.
        A reserved token is consumed when the node's status charges it (:func:`node_accepted`)
        and released on every other way out of here (docs/tokens.md, redemption steps 6-8)."""
        inner = exchange.inner()
        held = await self.authorizer(inner) if self.authorizer is not None else None
        try:
            answer = await self._to_a_recipient(inner.content, send)
            if held is not None and node_accepted(answer.status):
                try:
                    await held.consume()  # durable before any of the answer leaves
                except BaseException:  # refused, or cancelled: the answer is not passed on
                    answer.close()
                    raise
        finally:
            if held is not None:
                held.release()  # no node took the request (after a consume: does nothing)
        return answer

    async def _one_shot(self, exchange: OneShotExchange) -> bytes:
        try:
            head = await self._forward(exchange, self._post_one_shot)
            payload = await head.read()  # its token is charged already: the node did the work
            answer = exchange.answer(head.status, payload)
            self.metrics.count_inner(head.status)
        except PrivcloudError as exc:
            answer = exchange.refuse(exc)
            self.metrics.count_inner(exc.http_status)  # answered inside OHTTP, not as 200
        return answer

    async def _chunked(self, request: web.Request, exchange: ChunkedExchange) -> web.StreamResponse:
        """Answer a chunked request as the node's stream comes. Once the request is passed on,
        its bytes are dropped and its body's reservation given back: the stream may last up to
        the request's deadline (``MAX_REQUEST_DEADLINE_S``)."""
        response = web.StreamResponse(status=200, headers={"Content-Type": MEDIA_CHUNKED_RESPONSE})
        await response.prepare(request)
        await response.write(exchange.response_header())
        try:
            upstream = await self._forward(exchange, self._post_streamed)
        except PrivcloudError as exc:
            # Nothing of the inner response was sent yet: answer the error inside OHTTP.
            await response.write(exchange.refuse(exc))
            self.metrics.count_inner(exc.http_status)
            await response.write_eof()
            return response
        exchange.forwarded()
        release_body(request)
        async with upstream:
            await response.write(exchange.head(upstream.status))
            self.metrics.count_inner(upstream.status)
            try:
                while piece := await upstream.content.readany():
                    for chunk in exchange.content(piece):
                        await response.write(chunk)
                final = exchange.end()
            except (aiohttp.ClientError, TimeoutError, PrivcloudError):
                # The node's stream broke off or is malformed: end without a final chunk; the
                # client detects the cut.
                log.warning("gateway: node stream broke off")
                return response
        await response.write(final)
        await response.write_eof()
        return response

    async def _to_a_recipient(
        self, envelope: bytes, send: Callable[[str, bytes], Awaitable[_Answer]]
    ) -> _Answer:
        """Send the envelope to a healthy node among its recipients, trying each once while no
        connection can be made to it (then nothing was delivered, and the node is down)."""
        candidates = self.table.candidates(envelope)
        if not candidates:
            raise NoHealthyNodeError("no healthy node among the request's recipients")
        for record in candidates:
            try:
                return await send(f"{record.url}/v1/envelope", envelope)
            except UpstreamUnreachableError:
                record.healthy = False
                log.warning("gateway: node unreachable, trying another recipient")
        raise NoHealthyNodeError("every recipient node failed")

    async def _post_one_shot(self, url: str, envelope: bytes) -> HopAnswer:
        """The node's answer with its head read, over the pooled one-shot client (netio.hop).
        An error after a connection was made is an :class:`UpstreamError`: the envelope may
        have reached the node, so it is not run a second time elsewhere, and the node stays in
        the pool."""
        return await self.hop.post(url, envelope, MEDIA_TYPE_REQUEST, limit=limits.MAX_HTTP_BODY)

    async def _post_streamed(self, url: str, envelope: bytes) -> aiohttp.ClientResponse:
        """The node's response with its head read, its body left to stream (aiohttp)."""
        try:
            return await self.session.post(
                url, data=envelope, headers={"Content-Type": MEDIA_TYPE_REQUEST}
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise UpstreamUnreachableError("node unreachable") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError("node failed while answering") from exc
