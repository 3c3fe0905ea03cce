"""A live call's openings, on its grid: :class:`LiveOpenings`, the part of a
:class:`~privcloud.sdk.live.LiveCall` that opens its sessions and closes the tunnels it gives up
(the call builds on it: audio in, events out, its sessions and resumes; the call's module says
why each rule holds, and docs/adr/0023-live-sessions.md).

What a call holds, and each of its openings: a node drawn uniformly among the admitted ones, less
those the call leaves out, and drawn again after a refusal of the node or the path; the token,
taken once the tunnel to the relay is up; the hello sealed to the node; the resend to the same
node after a key mismatch or a 401; the node's ACCEPT. Then the call's grid: a later opening,
and every close of a tunnel whose opening went out, at a drawn step of it; the call's length,
counted from its origin.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import aiohttp

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.envelope import Recipient
from privcloud.errors import (
    NoHealthyNodeError,
    NoTokenLeftError,
    PolicyError,
    PrivcloudError,
    RequestTimeoutError,
    TokenRequiredError,
    TruncatedStreamError,
    UnavailableError,
    UnknownKeyError,
    UpstreamError,
    error_from_code,
)
from privcloud.live.endpoints import DeviceEndpoint, grid_point
from privcloud.live.languages import check_call_languages
from privcloud.live.protocol import LiveEvent
from privcloud.live.session import SessionKeys, SessionParams, start_session
from privcloud.live.tunnel import TUNNEL_PATH, build_open, decode_open_answer
from privcloud.sdk.client import Client
from privcloud.sdk.keyproofs import post_quantum_choice
from privcloud.trust.admission import AdmittedNode
from privcloud.trust.keys import KeyStatement

#: Largest WebSocket message the device accepts (the gateway's answer, or one frame).
_MESSAGE_LIMIT: Final = max(limits.MAX_LIVE_OPEN_BYTES, limits.LIVE_FRAME_PLAINTEXT + 16)
#: Errors that mean the node (or the path to it) failed: the call draws a node again.
_NODE_FAILURES = (TruncatedStreamError, UnavailableError, RequestTimeoutError)


@dataclass(frozen=True)
class Resume:
    """A call moved from one node to another: the seconds between the last frame of the old
    session and the new session's accept (``gap_s``)."""

    from_node: str
    to_node: str
    gap_s: float


@dataclass
class _Token:
    """The token of one opening (``first``: the call's first): taken from the wallet once the
    tunnel to the relay is up (:meth:`LiveCall._token`), so a failed connect spends none, and
    kept for a resend to the same node after a key mismatch (the gateway could not read it)."""

    first: bool
    value: bytes | None = None
    taken: bool = False


@dataclass
class _Open:
    ws: aiohttp.ClientWebSocketResponse
    endpoint: DeviceEndpoint
    node_id: str


class LiveOpenings:
    """A :class:`~privcloud.sdk.live.LiveCall`'s state, its openings and its closes on the
    call's grid (see the module's doc); constructed as :class:`~privcloud.sdk.live.LiveCall`
    says."""

    def __init__(
        self,
        client: Client,
        *,
        languages: tuple[str, str] = ("auto", "auto"),
        targets: tuple[str, str] = ("en", "en"),
        deadline_s: int = limits.MAX_LIVE_SESSION_S,
        node_id: str | None = None,
        rand: Random = system_random,
        pace: Callable[[], float] = time.monotonic,
    ) -> None:
        # The release's rule, before anything goes out: a node refusing the languages would
        # refuse in the clear to the gateway (privcloud.live.languages).
        check_call_languages(languages, targets)
        self.client = client
        self.pace = pace
        self.languages, self.targets, self.deadline_s = languages, targets, deadline_s
        self.node_id = node_id
        self._rand = rand
        self._random = secrets.SystemRandom()
        self._audio = (bytearray(), bytearray())
        self._ended = False
        self._events: asyncio.Queue[LiveEvent | PrivcloudError | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: The session open now (closed by :meth:`aclose` if the task never ran).
        self._opened: _Open | None = None
        #: Tunnels given up and kept until their close on the call's grid
        #: (:meth:`_close_on_the_grid`), while the call goes on (a resume, a draw again).
        self._closing: list[asyncio.Future[None]] = []
        self._ended_events = False
        #: Nodes whose opening or session failed, once per failure, in order. Only a pinned
        #: node is left out for it (the failure is not authenticated: see privcloud.sdk.live).
        self._failed: list[str] = []
        #: Nodes whose session, once open, failed: left out of the call's later draws.
        self._lost: set[str] = set()
        #: Nodes that proved a 503 refusal their own: left out of the call's later draws.
        self._refused: set[str] = set()
        self._draws = 0
        #: Tokens this call took from the wallet (at most ``limits.MAX_LIVE_CALL_TOKENS``).
        self._tokens = 0
        #: The call's grid's origin: when its first opening went out (``pace``), once sent.
        self._origin: float | None = None
        #: When the call's length is over (``deadline_s`` from the first opening's sending).
        self._call_ends_at: float | None = None
        #: Nodes this call used, in order, and the resumes between them.
        self.nodes: list[str] = []
        self.resumes: list[Resume] = []
        #: Audio bytes dropped because the backlog was full (during a resume, or a slow feed).
        self.dropped_audio = 0
        #: Events dropped, oldest first, because the app had not read
        #: ``limits.MAX_LIVE_DEVICE_EVENT_BYTES`` of them.
        self.dropped_events = 0
        self._queued_bytes = 0
        #: The node's reason for its FINAL frame, once the call ended.
        self.ending: str | None = None

    # --- openings --------------------------------------------------------------------------

    async def _open_drawing(self) -> _Open:
        """Open a session, at the start or at a resume: draw a node and open; when the opening
        is refused for a failure of the node or the path (``_NODE_FAILURES``), draw again over
        all the admitted nodes, at most ``limits.MAX_LIVE_RESUMES + 1`` times here and
        ``limits.MAX_LIVE_DRAWS`` times in the call. When none is left to draw, raises the last
        refusal, not "no node left"."""
        refused: PrivcloudError | None = None
        for _ in range(limits.MAX_LIVE_RESUMES + 1):
            if self._draws >= limits.MAX_LIVE_DRAWS or self._tokens_spent():
                break
            await self._admit_if_stale()
            try:
                chosen = self._choose()
            except NoHealthyNodeError:
                if refused is not None:
                    raise refused from None  # every node left refused: say why
                raise
            self._draws += 1
            try:
                return await self._open(chosen)
            except NoTokenLeftError as exc:  # (no token to draw again with: say why)
                if refused is not None:
                    raise refused from exc
                raise
            except _NODE_FAILURES as exc:
                self._failed.append(chosen.descriptor.node_id)  # the node, or the path to it
                refused = exc
        if refused is None:
            raise NoHealthyNodeError("the call drew its most nodes, or spent its most tokens")
        raise refused

    def _tokens_spent(self) -> bool:
        """Whether the call took its most tokens (``limits.MAX_LIVE_CALL_TOKENS``)."""
        return self._tokens >= limits.MAX_LIVE_CALL_TOKENS

    async def _admit_if_stale(self) -> None:
        """Before an opening, a resume or a draw again, admit only when the admission can be
        used no more (``Client._refresh_if_due``: none, a failed one, a validity over): the
        client admits again in the background, at random times, and one set off here would be
        a fetch the gateway ties to the call (docs/adr/0009, decision 7). Once for all the
        calls and requests that find it so (the client's refresh lock)."""
        await self.client._refresh_if_due()

    def _choose(self) -> AdmittedNode:
        """A node drawn uniformly among the admitted ones the post-quantum policy allows
        (:func:`post_quantum_choice` over all of them, as the request path chooses), those
        that proved lately that they serve no live translation and those whose session failed
        in this call aside; the pinned one while it has not failed.

        The policy comes first: applied after the leaving out, it fell back to the classical
        nodes once the hybrid ones were left out, and the gateway can cut any session (a red-
        team review, 2026-12-07). When no node is left the call fails closed
        (:class:`NoHealthyNodeError`), never sealed to a classical key instead."""
        admitted = self.client.trail.admitted
        if self.node_id is not None:
            pinned = [a for a in admitted if a.descriptor.node_id == self.node_id]
            if not pinned:
                raise PolicyError("the node is not admitted")
            if self.node_id in self._failed:
                raise NoHealthyNodeError("the pinned node failed")
            return pinned[0]
        client = self.client
        eligible = post_quantum_choice(admitted, require_post_quantum=client.require_post_quantum)
        left_out = client.no_live_nodes | self._lost | self._refused
        serving = [a for a in eligible if a.descriptor.node_id not in left_out]
        if not serving:
            raise NoHealthyNodeError("no admitted node of the call's protection left")
        return self._random.choice(serving)

    async def _open(self, chosen: AdmittedNode) -> _Open:
        """One session with ``chosen``: hello, token, tunnel, the node's ACCEPT.

        1. When the gateway does not know the key configuration (it rotated its key: RFC 9458
           §5.3), fetch and prove its current one for this opening only
           (``Client.key_for_resend``; the admission keeps its key) and open once more with the
           same token, to the same node. A gateway that holds the key can claim it does not
           after reading the hello: a new draw then would be one it gets outside
           ``MAX_LIVE_DRAWS`` (a red-team review, 2026-12-07).
        2. After a 401 the wallet takes the challenge in and the opening is tried once more, to
           the same node, with a fresh token: a refusal the gateway writes earns it no other
           draw. Not once the call took its most tokens (``limits.MAX_LIVE_CALL_TOKENS``): the
           401 ends the call.
        """
        client = self.client
        statement = client.trail.key_statement
        if statement is None:
            raise NoHealthyNodeError("no gateway key admitted")
        statement = await client._key_for_request() or statement  # (past the key's end)
        token = _Token(first=self._draws <= 1)
        try:
            return await self._open_once(chosen, statement, token)
        except UnknownKeyError:
            statement = await client.key_for_resend()  # (the same token: it was not read)
        except TokenRequiredError as exc:
            if client.wallet is None or self._tokens_spent():
                raise
            await client.wallet.on_challenge(exc.www_authenticate)
            token = _Token(first=False)  # (after the gateway's 401)
        return await self._open_once(chosen, statement, token)

    async def _token(self, token: _Token) -> bytes | None:
        """The opening's ``Authorization``: ``token``'s, taken from the wallet (and counted
        against the call's tokens) the first time."""
        if not token.taken:
            token.value = await self._authorization(first=token.first)
            token.taken = True
            self._tokens += int(token.value is not None)
        return token.value

    async def _authorization(self, *, first: bool) -> bytes | None:
        """A token for the opening (``first``: the call's first), as for a request
        (:meth:`Wallet.for_request`: never fetched on the spot, where the issuer would tie the
        issuance to the call)."""
        wallet = self.client.wallet
        return await wallet.for_request(first=first) if wallet is not None else None

    async def _open_once(
        self, chosen: AdmittedNode, statement: KeyStatement, token: _Token
    ) -> _Open:
        """One opening: the hello sealed to ``chosen``, the tunnel, then ``token``'s token (only
        once the tunnel is up), the opening (a later one at a step of the call's grid:
        :meth:`_on_the_grid`) and the node's ACCEPT."""
        client = self.client
        params, hello, keys = self._hello(chosen)
        if client.wallet is not None and not len(client.wallet):
            # None held: NoTokenLeftError now, not after a connect the relay would see end
            # without a message (under insecure_fetch_on_request_path, a fetch).
            await self._token(token)
        ws = await self._connect()
        endpoint: DeviceEndpoint | None = None
        try:
            authorization = await self._token(token)
            message, context = build_open(
                statement.key_config, hello, authorization=authorization, rand=self._rand
            )
            on_grid = await self._on_the_grid()
            await ws.send_bytes(message)
            sent_at = self.pace() if on_grid is None else on_grid  # (frames start steps later)
            if self._origin is None:  # the call's first opening: its length starts now
                self._origin, self._call_ends_at = sent_at, sent_at + self.deadline_s
            steps, tail = self._draw(), self._draw() - 1
            endpoint = DeviceEndpoint(
                keys, sent_at=sent_at, asked_s=params.deadline_s, steps=steps, tail_steps=tail
            )
            answer = await _receive(ws, limits.LIVE_OPEN_TIMEOUT_S)
            read = decode_open_answer(context, answer, keys)
            if read.node_refused and read.error is not None and read.error.http_status == 503:
                self._refused.add(chosen.descriptor.node_id)  # proven: the node's own
                client.mark_no_live(chosen.descriptor.node_id)  # and for the next calls
            endpoint.accept(read.frame(), self.pace())
        except BaseException:
            if endpoint is None:  # nothing reached the gateway: the relay waits for the opening
                await ws.close()
            else:  # a refusal, a bad answer, none in time, the resume's time-out
                self._abandon(ws, endpoint)
            raise
        self.nodes.append(chosen.descriptor.node_id)
        return _Open(ws, endpoint, chosen.descriptor.node_id)

    def _hello(self, chosen: AdmittedNode) -> tuple[SessionParams, bytes, SessionKeys]:
        """The session's parameters, and its hello sealed to ``chosen`` with its keys."""
        node = chosen.descriptor.sealing(chosen.descriptor.pq_key is not None)
        params = SessionParams(
            int(self.client.clock.now()), self._session_length(), self.languages, self.targets
        )
        recipient = Recipient(node.key_id, node.public_key, node.suite)
        hello, keys = start_session(recipient, params, rand=self._rand)
        return params, hello, keys

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        """The tunnel's WebSocket to the relay (:class:`UnavailableError` when it cannot)."""
        client = self.client
        try:
            return await client.session.ws_connect(
                f"{client.relay_url}{TUNNEL_PATH}", compress=0, max_msg_size=_MESSAGE_LIMIT
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("relay unreachable") from exc

    # --- the call's grid -------------------------------------------------------------------

    async def _on_the_grid(self) -> float | None:
        """Before a later opening of the call (a resume, a draw again, a resend after a 401 or a
        key mismatch), its tunnel up: wait for the next step of the call's grid (its first
        opening's send time plus whole ``limits.LIVE_FIRST_FRAME_STEP_S``) and a drawn number
        of steps more (:meth:`_draw`, less one), and return it; for the first opening, None at
        once.

        A later opening answers what the gateway did (a cut, a refusal): sent at once, it came
        a round trip gateway -> relay -> device and back, and the device's connect to the
        relay, after the gateway's cut, which showed the device's network position (a second
        red-team review, 2026-12-07: 0.005 s against 0.25 s for a device 120 ms further away).
        On the grid it comes at the same offset as the device's frames do; the gateway learns
        only which step, a draw unless it cut just before a step's edge (then a chance of
        1 / ``limits.LIVE_MAX_GRID_STEPS`` that the round trip shows). The connect
        goes first, since its time depends on the network too (the relay waits
        ``limits.LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S`` for the opening: more than the wait)."""
        if self._origin is None:
            return None
        at = grid_point(self._origin, self.pace(), self._draw() - 1)
        await asyncio.sleep(max(0.0, at - self.pace()))
        return at

    def _draw(self) -> int:
        """Steps of one wait on the call's grid: uniform in 1 .. ``limits.LIVE_MAX_GRID_STEPS``
        (a secret the gateway cannot predict: see the limit)."""
        return 1 + secrets.randbelow(limits.LIVE_MAX_GRID_STEPS)

    def _session_length(self) -> int:
        """Seconds a session asks for: the call's length, and at a resume what is left of it
        (at least 1 s: a session so short that it ends before its first frame sends FINAL
        first). A gateway that cut each session just before its end made every resume a session
        of the whole length (a red-team review, 2026-12-07)."""
        if self._call_ends_at is None:
            return self.deadline_s
        left = math.ceil(self._call_ends_at - self.pace())
        return max(1, min(self.deadline_s, left))

    def _call_over(self, now: float) -> bool:
        """Whether the call's length, across its sessions, is over (counted from the first
        opening's sending, on the call's grid: the gateway learns nothing new from it)."""
        return self._call_ends_at is not None and now >= self._call_ends_at

    # --- closes on the grid ----------------------------------------------------------------

    def _abandon(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        ep: DeviceEndpoint,
        sender: asyncio.Future[None] | None = None,
    ) -> None:
        """Give up a session, or an opening whose message went out, now
        (:meth:`DeviceEndpoint.abandon`): its tunnel closes at ``ep``'s close on the call's
        grid, in the background (:attr:`_closing`), with ``sender`` (a session's frames) going
        on until then; the call goes on meanwhile (a resume or a draw again opens on the grid
        too, at its own drawn step: neither shows when the other came)."""
        ep.abandon(self.pace())
        assert ep.close_at is not None
        closing = self._close_on_the_grid(ws, ep.close_at, sender)
        self._closing.append(asyncio.ensure_future(closing))

    async def _close_on_the_grid(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        at: float,
        sender: asyncio.Future[None] | None = None,
    ) -> None:
        """The device's one way to close a tunnel whose opening went out: at ``at``, a step of
        the call's grid (``DeviceEndpoint.close_at``: at most ``limits.LIVE_MAX_GRID_STEPS``
        steps after what set it off, so a gateway cannot hold the device), with ``sender`` (a
        session's cover frames, or after a failure frames without audio, which stop there too)
        going on meanwhile; or as soon as the tunnel closes from the other end (an honest
        gateway closes it after the node's FINAL or a refusal, and the relay then the device's
        side: the gateway has nothing left to time). Cancelled (:meth:`aclose`), at once.
        Closed as the node's FINAL, a failure or a refusal came, the close reached a gateway
        that kept its side open a round trip after what it did (the second and third red-team
        reviews of 2026-12-07: :meth:`DeviceEndpoint.abandon`)."""
        waits: list[asyncio.Future[None]] = [
            asyncio.ensure_future(_closed(ws)),
            asyncio.ensure_future(asyncio.sleep(max(0.0, at - self.pace()))),
        ]
        if sender is not None:
            waits.append(sender)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
            await ws.close()

    async def _closes_done(self) -> None:
        """Wait for the tunnels given up (:meth:`_abandon`) to close on the grid."""
        while self._closing:
            closing, self._closing = self._closing, []
            await asyncio.gather(*closing, return_exceptions=True)


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Returns once the tunnel closed (its peer's close, or an error); anything else that comes
    while the tunnel waits for its close on the grid is read and dropped (after the node's FINAL
    the node sends nothing more; after a failure or a refusal nothing more is read)."""
    while (await ws.receive()).type == aiohttp.WSMsgType.BINARY:
        pass


async def _receive(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> bytes:
    """The next binary message; a refusal close raises the error it names, another end
    :class:`UpstreamError`, silence past ``timeout`` :class:`UnavailableError`."""
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError as exc:
        raise UnavailableError("the live session went silent") from exc
    if msg.type == aiohttp.WSMsgType.BINARY:
        data: bytes = msg.data
        return data
    if msg.type == aiohttp.WSMsgType.CLOSE and isinstance(msg.data, int) and msg.data >= 4000:
        raise error_from_code(msg.extra, "the live session was refused")
    raise UpstreamError("the tunnel closed")
