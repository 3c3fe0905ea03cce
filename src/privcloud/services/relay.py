"""The OHTTP relay (RFC 9458 §2, "Oblivious Relay Resource").

It forwards encapsulated requests to the one gateway it is configured for and streams the
encapsulated responses back. It sees the client's address, sizes and timing, and nothing else:
the body is ciphertext to it. It builds every upstream request afresh — only the media type is
carried over — so no client address, cookie, user agent or forwarding header ever reaches the
gateway. It never logs bodies or addresses; it uses a device's address only in memory, to cap
the connections (``limits.MAX_RELAY_CONNECTIONS_PER_PEER``), the live tunnels
(``limits.MAX_RELAY_LIVE_TUNNELS_PER_PEER``) and the request bodies and answers in flight
(``limits.MAX_INFLIGHT_BODY_BYTES_PER_PEER``, ``limits.MAX_INFLIGHT_ANSWER_BYTES_PER_PEER``)
one address may hold. The public documents and log reads it passes back are written at the
pace the device must keep (services.answers); OHTTP answers are not (a red-team review,
2026-12-07: a pace reset honest streams when the service's own loop was slow, and slow links'
large answers, whose token was spent).

Routes::

    POST /v1/ohttp                        message/ohttp-req | message/ohttp-chunked-req
    GET  /v1/live                         a live session's tunnel (WebSocket) to the gateway:
                                          fixed-size frames passed through unopened
    GET  /.well-known/ohttp-gateway       the gateway's key configurations, passed through
    GET  /v1/directory                    the gateway's node directory, passed through
    GET  /v1/key-statements               the gateway's logged key statements, passed through
    GET  /log/v1/...                      public transparency-log reads (with ``log_url``)
    GET  /log/checkpoint, /log/tile/<L>/<N>[.p/<W>]
                                          the log's C2SP tlog-tiles checkpoint and hash tiles
                                          (with ``log_url``): what a device's proofs need.
                                          Entry bundles are not passed (a device reads the
                                          few entries it needs from ``/log/v1/entries``)
    GET  /issuer/.well-known/private-token-issuer-directory
                                          the token issuer's public directory (with
                                          ``issuer_url``): a second path for a wallet's key
                                          consistency check, on which the issuer does not see
                                          the device's address
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    NotFoundError,
    PrivcloudError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
)
from privcloud.netio import LazySession, read_bounded
from privcloud.netio.hop import HopClient, LazyHop
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    MEDIA_KEYS,
    MEDIA_REQUEST,
    MEDIA_RESPONSE,
)
from privcloud.privacypass.directory import WELL_KNOWN_PATH as ISSUER_DIRECTORY_PATH
from privcloud.services import live_tunnel
from privcloud.services.answers import hold_answer, read_answer, send_answer
from privcloud.services.http import (
    Metrics,
    Reservation,
    peer_key,
    read_body,
    release_body,
    require_media_type,
)
from privcloud.services.lane import LANE, Lane, LaneAnswer
from privcloud.services.site import new_app, peer_gone
from privcloud.transparency.tiles import CHECKPOINT_PATH, parse_path
from privcloud.trust.keys import KEY_STATEMENTS_PATH

#: Upstream response headers the relay passes back; everything else is dropped.
_PASSED_RESPONSE_HEADERS = ("Content-Type", "Cache-Control")
#: A device's tunnel went away while the relay wrote to it, or the gateway's did.
_TUNNEL_GONE = (aiohttp.ClientError, ConnectionError)

log = logging.getLogger("privcloud.relay")
#: Seconds between the relay's own fetches of the issuer directory it serves.
ISSUER_COPY_REFRESH_S = 60.0


def _error_media(media: str) -> str:
    """The media type the gateway's own error (malformed, unknown key ...; read within
    ``limits.MAX_RELAYED_GATEWAY_ERROR``) is passed on with: JSON whatever it claimed to be."""
    json_types = ("application/json", "application/problem+json")
    return media if media in json_types else "application/json"


class Relay:
    """State of one relay: the gateway it forwards to and its client session."""

    def __init__(
        self, gateway_url: str, *, log_url: str | None = None, issuer_url: str | None = None
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        #: The transparency log whose public reads the relay passes through (optional), so that
        #: the log operator, like the gateway, never sees a device's address.
        self.log_url = log_url.rstrip("/") if log_url else None
        #: The token issuer whose public directory the relay passes through (optional), so that
        #: wallets can check it shows everyone the same keys (docs/tokens.md).
        self.issuer_url = issuer_url.rstrip("/") if issuer_url else None
        self.metrics = Metrics("relay")
        self._http = LazySession()
        self._hop = LazyHop()  # one-shot requests to the gateway
        # Live tunnels hold their connection to the gateway for minutes: they have a pool of
        # their own, so they can never make the requests and fetches above wait for one.
        self._live_http = LazySession(limit=limits.MAX_LIVE_TUNNELS)
        #: Live tunnels open now (a content-free gauge), and how many each peer address holds
        #: (addresses are keys in memory only, for the life of their tunnels; never logged).
        self.live_tunnels = 0
        self._live_by_peer: Counter[str] = Counter()
        # The issuer directory is fetched on the relay's own schedule and served from this copy,
        # so a device's read through the relay never reaches the issuer when the device's
        # direct read does (the issuer cannot pair the two and answer both the same way).
        self._issuer_copy: web.Response | None = None
        self._issuer_task: asyncio.Task[None] | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._http.get()

    @property
    def hop(self) -> HopClient:
        """The pooled client one-shot requests go to the gateway by (made on first use)."""
        return self._hop.get()

    def app(self) -> web.Application:
        # The relay's peers are devices (as the issuer's are): one address may hold only so
        # many of its connections, so that it cannot lock the others out.
        app = new_app(
            "relay", self.metrics, per_peer_connections=limits.MAX_RELAY_CONNECTIONS_PER_PEER
        )
        app.router.add_post("/v1/ohttp", self.forward_ohttp, name="ohttp")
        # Devices' one-shot requests, on the lane (services.lane, ADR 0032).
        app[LANE] = Lane(b"/v1/ohttp", MEDIA_REQUEST.encode(), "ohttp", self.one_shot)
        app.router.add_get("/v1/live", self.forward_live, name="live")
        app.router.add_get("/.well-known/ohttp-gateway", self.forward_get, name="keys")
        app.router.add_get("/v1/directory", self.forward_get, name="directory")
        app.router.add_get(KEY_STATEMENTS_PATH, self.forward_get, name="key_statements")
        app.router.add_get("/healthz", self.health, name="health")
        if self.log_url is not None:
            app.router.add_get(
                r"/log/v1/{read:checkpoint|proof/inclusion|proof/consistency|entries|leaf}",
                self.forward_log,
                name="log",
            )
            app.router.add_get(
                "/log/" + CHECKPOINT_PATH, self.forward_log_checkpoint, name="log-checkpoint"
            )
            app.router.add_get("/log/tile/{path:.+}", self.forward_log_tile, name="log-tile")
        if self.issuer_url is not None:
            app.router.add_get(
                "/issuer" + ISSUER_DIRECTORY_PATH, self.forward_issuer, name="issuer-directory"
            )
            app.on_startup.append(self._start_issuer_copy)
        app.on_cleanup.append(self._close)
        return app

    async def _start_issuer_copy(self, _: web.Application) -> None:
        with contextlib.suppress(UpstreamError):
            await self._refresh_issuer_copy()
        self._issuer_task = asyncio.create_task(self._issuer_copy_loop())

    async def _issuer_copy_loop(self) -> None:
        while True:
            await asyncio.sleep(ISSUER_COPY_REFRESH_S)
            with contextlib.suppress(UpstreamError):
                await self._refresh_issuer_copy()

    async def _refresh_issuer_copy(self) -> None:
        assert self.issuer_url is not None
        status, payload, headers = await self._fetch(
            self.issuer_url + ISSUER_DIRECTORY_PATH, limits.MAX_DIRECTORY_BYTES
        )
        if status == 200:
            self._issuer_copy = web.Response(status=status, body=payload, headers=headers)

    async def _close(self, _: web.Application) -> None:
        if self._issuer_task is not None:
            self._issuer_task.cancel()
            await asyncio.gather(self._issuer_task, return_exceptions=True)
        await self._http.close()
        await self._live_http.close()
        await self._hop.close()

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "relay"})

    async def forward_ohttp(self, request: web.Request) -> web.StreamResponse:
        """Forward one encapsulated request; pass the encapsulated response back. Once the
        request is passed on, its body's reservation is given back (services.http
        ``release_body``): the answer, a stream above all, may take long to go out."""
        media = require_media_type(request, MEDIA_REQUEST, MEDIA_CHUNKED_REQUEST)
        body = await read_body(request, limit=limits.MAX_OHTTP_REQUEST)
        if media == MEDIA_REQUEST:
            answer = await self.one_shot(body)
            del body
            release_body(request)
            return web.Response(status=answer.status, body=answer.body, content_type=answer.media)
        upstream = await self._post_chunked(body)
        del body
        release_body(request)
        return await self._stream_back(request, upstream)

    async def one_shot(self, body: bytes) -> LaneAnswer:
        """Forward a one-shot encapsulated request (on aiohttp's route or the lane,
        services.lane). Its answer is small and whole: read over the pooled one-shot client
        (netio.hop) and passed on in one write."""
        try:
            answer = await self.hop.post(
                f"{self.gateway_url}/v1/ohttp", body, MEDIA_REQUEST, limit=limits.MAX_HTTP_BODY
            )
        except UpstreamError as exc:
            raise UpstreamError("gateway unreachable") from exc
        if answer.status != 200 or answer.content_type != MEDIA_RESPONSE:
            payload = await answer.read(limits.MAX_RELAYED_GATEWAY_ERROR)
            return LaneAnswer(answer.status, _error_media(answer.content_type), payload)
        return LaneAnswer(200, MEDIA_RESPONSE, await answer.read())

    async def _post_chunked(self, body: bytes) -> aiohttp.ClientResponse:
        """Send a chunked encapsulated request to the gateway: its answer, the head read."""
        try:
            return await self.session.post(
                f"{self.gateway_url}/v1/ohttp",
                data=body,
                headers={"Content-Type": MEDIA_CHUNKED_REQUEST},
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError("gateway unreachable") from exc

    async def _stream_back(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        """A chunked answer is streamed back as it comes."""
        async with upstream:
            if upstream.status != 200 or upstream.content_type != MEDIA_CHUNKED_RESPONSE:
                payload = await read_bounded(upstream.content, limits.MAX_RELAYED_GATEWAY_ERROR)
                media = _error_media(upstream.content_type)
                return web.Response(status=upstream.status, body=payload, content_type=media)
            response = web.StreamResponse(
                status=200, headers={"Content-Type": MEDIA_CHUNKED_RESPONSE}
            )
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (aiohttp.ClientError, TimeoutError):
                # The client will see a truncated stream and detect it cryptographically.
                return response
            await response.write_eof()
            return response

    async def forward_live(self, request: web.Request) -> web.WebSocketResponse:
        """Tunnel a live session to the gateway: the device's opening message (OHTTP) and
        the gateway's answer pass whole, then fixed-size frames both ways (docs/adr/0023).

        1. Refuse at the handshake a peer address holding ``MAX_RELAY_LIVE_TUNNELS_PER_PEER``
           tunnels (429), or any tunnel past ``MAX_LIVE_TUNNELS`` in all (503).
        2. Wait at most ``LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S`` for the device's opening; a
           tunnel without one is closed (4408) and never reaches the gateway.
        3. Only then connect to the gateway (the live pool), pass the opening on, and pipe.
        """
        transport = request.transport
        peer = peer_key(transport.get_extra_info("peername")) if transport is not None else None
        if peer is not None and self._live_by_peer[peer] >= limits.MAX_RELAY_LIVE_TUNNELS_PER_PEER:
            raise RateLimitedError("this address holds its most live tunnels")
        if self.live_tunnels >= limits.MAX_LIVE_TUNNELS:
            raise UnavailableError("the relay carries its most live tunnels")
        self.live_tunnels += 1
        if peer is not None:
            self._live_by_peer[peer] += 1
        try:
            return await self._tunnel(request)
        finally:
            self.live_tunnels -= 1
            if peer is not None:
                self._live_by_peer[peer] -= 1
                if self._live_by_peer[peer] <= 0:
                    del self._live_by_peer[peer]

    async def _tunnel(self, request: web.Request) -> web.WebSocketResponse:
        """Steps 2 and 3 of :meth:`forward_live`."""
        ws = await live_tunnel.accept(request)
        try:
            opening = await live_tunnel.receive(ws, limits.LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S)
        except PrivcloudError as exc:
            await live_tunnel.refuse(ws, exc)
            return ws
        try:
            upstream = await live_tunnel.connect(
                self._live_http.get(), f"{self.gateway_url}/v1/live"
            )
        except UpstreamError as exc:
            await live_tunnel.refuse(ws, exc)
            return ws
        try:
            await upstream.send_bytes(opening)
            await live_tunnel.pipe(ws, upstream, answer=True)
        except _TUNNEL_GONE as exc:
            log.info("relay: live tunnel ended, a side went away: %s", type(exc).__name__)
            await live_tunnel.refuse(ws, UpstreamError("next tunnel hop unreachable"))
        finally:
            await upstream.close()
        return ws

    async def forward_get(self, request: web.Request) -> web.StreamResponse:
        """Pass a public document (key configs, directory) through, without client headers."""
        return await self._pass_through(
            request, f"{self.gateway_url}{request.path}", limits.MAX_NODE_DIRECTORY_BYTES
        )

    async def forward_log(self, request: web.Request) -> web.StreamResponse:
        """Pass a public read of the transparency log through (checkpoint, proofs, entries)."""
        assert self.log_url is not None
        query = request.rel_url.raw_query_string
        target = f"{self.log_url}{request.path.removeprefix('/log')}"
        return await self._pass_through(
            request, f"{target}?{query}" if query else target, limits.MAX_RELAYED_LOG_RESPONSE
        )

    async def forward_log_checkpoint(self, request: web.Request) -> web.StreamResponse:
        """Pass the log's tlog-tiles checkpoint through (a signed note, bounded as one)."""
        assert self.log_url is not None
        return await self._pass_through(
            request, f"{self.log_url}/{CHECKPOINT_PATH}", limits.MAX_NOTE_BYTES
        )

    async def forward_log_tile(self, request: web.Request) -> web.StreamResponse:
        """Pass one hash tile through (at most ``MAX_TLOG_TILE_BYTES``). The path must be a
        canonical tile path (else 400, before anything is asked upstream); entry bundles are
        refused (404), as are tiles of widths the log does not have."""
        assert self.log_url is not None
        tile = parse_path(request.rel_url.raw_path.removeprefix("/log/"))
        if tile.is_bundle:
            raise NotFoundError("the relay passes hash tiles, not entry bundles")
        return await self._pass_through(
            request, f"{self.log_url}/{tile.path()}", limits.MAX_TLOG_TILE_BYTES
        )

    async def forward_issuer(self, _: web.Request) -> web.Response:
        """Serve the relay's own copy of the issuer directory (fetched on the relay's schedule,
        the same bytes for every device)."""
        copy = self._issuer_copy
        if copy is None:
            raise UpstreamError("issuer directory not available yet")
        return web.Response(status=200, body=copy.body, headers=dict(copy.headers))

    async def _pass_through(self, request: web.Request, url: str, limit: int) -> web.StreamResponse:
        """Pass a public read through (services.answers): its bytes held in the relay's answer
        budget, under the device's address, from the first read upstream until the device has
        taken them, and sent at the pace the device must keep."""
        held = hold_answer(request)
        try:
            with peer_gone(request) as gone:
                # The device left: this handler (its upstream read with it) is cancelled, so
                # that it holds no place in the upstream's own bounds (the log's read queue)
                # for an answer nobody reads.
                handler = asyncio.current_task()
                stop = (lambda _: handler.cancel()) if handler is not None else None
                if stop is not None:
                    gone.add_done_callback(stop)
                try:
                    status, payload, headers = await self._fetch(url, limit, held)
                finally:
                    if stop is not None:
                        gone.remove_done_callback(stop)
            return await send_answer(request, payload, status=status, headers=headers)
        finally:
            held.release()

    async def _fetch(
        self, url: str, limit: int, held: Reservation | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """GET ``url`` upstream: its status, its body (at most ``limit`` bytes, reserved in
        ``held`` as it comes) and the headers the relay passes on."""
        try:
            # Never follow redirects: an upstream must not point the relay at other addresses.
            # The whole exchange is bounded; these are small public documents, not streams.
            async with self.session.get(
                url,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=limits.UPSTREAM_TOTAL_TIMEOUT_S),
            ) as upstream:
                if held is None:
                    payload = await read_bounded(upstream.content, limit)
                else:
                    payload = await read_answer(upstream.content, limit, held)
                headers = {
                    name: upstream.headers[name]
                    for name in _PASSED_RESPONSE_HEADERS
                    if name in upstream.headers
                }
                return upstream.status, payload, headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError("upstream unreachable") from exc


__all__ = ["MEDIA_KEYS", "Relay"]
