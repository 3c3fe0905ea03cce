"""The gateway's side of a live tunnel (``GET /v1/live``, a WebSocket; docs/adr/0023).

1. The first message is an OHTTP request (:class:`~privcloud.live.tunnel.OpenExchange`):
   errors before decapsulation close the tunnel with a refusal code; after it, every refusal
   is answered inside the encapsulation, so the relay learns nothing.
2. Its token is spent, or reserved under the ``"when-accepted"`` policy (the gateway's
   authorizer and spent-token store, as for requests; docs/adr/0029).
3. The hello's cleartext key id names one node; it must be healthy (else 503; a reserved token
   is released).
4. The hello goes to that node's tunnel; the node answers with its ACCEPT frame, or refuses
   with a close code (and, for a refusal of its own after opening the hello, its proof, which
   the gateway passes on to the device unread: it cannot check it). A reserved token is
   consumed when the node took the session (its ACCEPT, or a refusal that judged the hello:
   :func:`~privcloud.services.gateway_core.node_accepted`), else released.
5. The device gets the ACCEPT inside the OHTTP answer; then frames pass both ways, unopened,
   until either end closes or the tunnel's lifetime is over.

Every answer inside the encapsulation, the ACCEPT or a refusal, has one size
(``limits.LIVE_OPEN_ANSWER_BYTES``: :class:`~privcloud.live.tunnel.OpenExchange`). Tunnels to
nodes are at most ``limits.MAX_LIVE_TUNNELS`` at once (the gateway's live pool; one more is
refused with 503, inside the encapsulation). A peer that goes away mid-opening ends the tunnel:
the device's leaving is logged by its exception's type only, the node's is refused as
:class:`UpstreamError`.

The gateway never holds the session's keys: it sees the key id, sizes and timing — one
fixed-size frame per tick each way, speech or silence.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.errors import (
    NoHealthyNodeError,
    PrivcloudError,
    UnavailableError,
    UnknownKeyError,
    UpstreamError,
)
from privcloud.live.session import parse_prefix
from privcloud.live.tunnel import TUNNEL_PATH, OpenExchange
from privcloud.ohttp import GatewayKey
from privcloud.services import live_tunnel as tunnel
from privcloud.services.gateway_core import NodeRecord, NodeTable, node_accepted
from privcloud.services.redemption import Redemption
from privcloud.wire import bhttp

log = logging.getLogger("privcloud.gateway")

#: The gateway's token check (the same callable it uses for OHTTP requests).
LiveAuthorizer = Callable[[bhttp.Request], Awaitable[Redemption | None]]
#: What aiohttp raises when a side of the tunnel went away while the gateway wrote to it
#: (``ClientConnectionResetError`` and its kin).
_PEER_GONE = (aiohttp.ClientError, ConnectionError)


class LiveGateway:
    """Serves ``/v1/live`` for one gateway: its keys, node table, authorizer and HTTP session
    are the gateway's own (passed as callables, so rotation and re-creation show through)."""

    def __init__(
        self,
        keys: Callable[[], dict[int, GatewayKey]],
        table: NodeTable,
        authorizer: LiveAuthorizer | None,
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._keys = keys
        self._table = table
        self._authorizer = authorizer
        self._session = session
        #: Tunnels open now, and those of them connected to a node (content-free gauges).
        self.open_tunnels = 0
        self.node_tunnels = 0

    def _node_for(self, key_id: bytes) -> NodeRecord:
        for record in self._table.records:
            d = record.descriptor
            if record.healthy and d is not None and key_id in d.key_ids:
                return record
        raise NoHealthyNodeError("the session's node is not healthy")

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = await tunnel.accept(request)
        self.open_tunnels += 1
        node_ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            try:
                first = await tunnel.receive(ws, limits.LIVE_OPEN_TIMEOUT_S)
                exchange = OpenExchange(self._keys(), first)
            except UnknownKeyError as exc:
                await tunnel.refuse(ws, exc)  # RFC 9458 §5.3: the device fetches the keys
                return ws
            except PrivcloudError as exc:
                await tunnel.refuse(ws, exc)
                return ws
            try:
                opened = await self._open(exchange)
            except PrivcloudError as exc:
                log.info("gateway: live session refused: %s", exc.code)
                answer = exchange.refuse(exc)
            else:
                if isinstance(opened, tunnel.Refused):
                    log.info("gateway: live session refused by the node: %s", opened.error.code)
                    answer = exchange.refuse(opened.error, node_proof=opened.proof)
                else:
                    node_ws, accept = opened
                    answer = exchange.answer(accept)
            try:
                await ws.send_bytes(answer)
            except _PEER_GONE as exc:
                # The relay (the device) left before its answer: nothing to tell anyone.
                log.info("gateway: live tunnel left before its answer: %s", type(exc).__name__)
                return ws
            if node_ws is None:
                await ws.close()
                return ws
            await tunnel.pipe(ws, node_ws)
            return ws
        finally:
            self.open_tunnels -= 1
            if node_ws is not None:
                await self._close_node(node_ws)

    async def _connect_node(self, url: str) -> aiohttp.ClientWebSocketResponse:
        """A tunnel to the node at ``url``, counted in :attr:`node_tunnels` until
        :meth:`_close_node`. Raises :class:`UnavailableError` at ``MAX_LIVE_TUNNELS``,
        :class:`UpstreamError` when the node cannot be reached."""
        if self.node_tunnels >= limits.MAX_LIVE_TUNNELS:
            raise UnavailableError("the gateway carries its most live tunnels")
        self.node_tunnels += 1
        try:
            return await tunnel.connect(self._session(), url)
        except BaseException:
            self.node_tunnels -= 1
            raise

    async def _close_node(self, node_ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await node_ws.close()
        finally:
            self.node_tunnels -= 1

    async def _open(
        self, exchange: OpenExchange
    ) -> tuple[aiohttp.ClientWebSocketResponse, bytes] | tunnel.Refused:
        """Steps 2-4: the token, the node, the node's ACCEPT (or the node's refusal, its tunnel
        closed)."""
        inner = exchange.inner()
        held = await self._authorizer(inner) if self._authorizer is not None else None
        node_ws = None
        try:
            record = self._node_for(parse_prefix(inner.content).key_id)
            node_ws = await self._connect_node(f"{record.url}{TUNNEL_PATH}")
            try:
                await node_ws.send_bytes(inner.content)
            except _PEER_GONE as exc:
                log.info("gateway: live node left before the hello: %s", type(exc).__name__)
                raise UpstreamError("next tunnel hop unreachable") from exc
            accept = await tunnel.receive_or_refusal(
                node_ws, limits.LIVE_OPEN_TIMEOUT_S, size=tunnel.WIRE_FRAME
            )
            if isinstance(accept, tunnel.Refused):
                if held is not None and node_accepted(accept.status):
                    await held.consume()  # the node judged the hello itself
                refused_ws, node_ws = node_ws, None
                await self._close_node(refused_ws)
                return accept
            if held is not None:
                await held.consume()  # durable before the session starts
        except BaseException:
            if node_ws is not None:
                await self._close_node(node_ws)
            raise
        else:
            return node_ws, accept
        finally:
            if held is not None:
                held.release()  # no node took the session (after a consume: nothing)


__all__ = ["LiveAuthorizer", "LiveGateway"]
