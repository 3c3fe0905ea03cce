"""Live call translation from the device: :class:`LiveCall` (docs/adr/0023-live-sessions.md).

    async with Client(relay_url, trust=..., wallet=...) as client:
        async with LiveCall(client, languages=("en", "es"), targets=("es", "en")) as call:
            call.feed(0, mic_pcm)          # 16 kHz s16le mono, any amount, as it is recorded
            call.feed(1, downlink_pcm)     # the other party
            async for event in call.events():   # captions, translations, speech, notices
                ...
            await call.end()               # the node drains, then the session ends

A call is a private session with one admitted node, chosen at random among those the client
admitted (the device chooses), opened through the relay and the gateway with one anonymous
token (:mod:`privcloud.live.tunnel`). Before the first opening the client's admission is run
again when the request path would run it (its age, the logged validity of its key or directory,
a failed key refresh); before a resume or a draw again only when it can be used no more (a
validity over, a failed key refresh), since those follow a cut or a refusal the gateway can
write (docs/adr/0033, decision 6). Once open,
the device sends one fixed-size frame every ``limits.LIVE_FRAME_INTERVAL_MS`` — a tick of each
channel's audio, or nothing — whether anyone speaks or not, and the node answers the same way.

What the device sends keeps to the call's grid: the send time of its first opening plus whole
steps of ``limits.LIVE_FIRST_FRAME_STEP_S``. A session's first frame goes a drawn 1 to
``limits.LIVE_MAX_GRID_STEPS`` steps after its opening (or the first later step when the
ACCEPT comes later), not when the ACCEPT arrives; a later opening (a resume, a draw again, a
resend) goes, its tunnel up, at a step a drawn 0 to ``LIVE_MAX_GRID_STEPS - 1`` past the
first one, not when the cut or refusal arrives; after the node's FINAL the cover frames go on
and the tunnel closes at a step drawn so too, not when the FINAL arrives; every other close of
a tunnel whose opening went out (a session that failed or was attacked, an opening refused or
given up) goes at such a step too (:meth:`LiveCall._close_on_the_grid`), and a failure reaches
the app only then; and the call's length (``deadline_s``) counts from the grid's origin, not
from the first ACCEPT's arrival. The gateway would read the device's round-trip time (its
network position, which the relay hides) off anything that answered what the device receives;
what is left is the step a gateway holding its answer picks as a threshold, which shows only
when the draw was that step (the reviews of 2026-12-07; docs/adr/0023-live-sessions.md, "A
second review (2026-12-07)" and "A third review (2026-12-07)").

When the node fails (the tunnel closes before its FINAL frame, or no frame comes for
``limits.LIVE_LIVENESS_TIMEOUT_S``) the call resumes with a fresh token, at most
``limits.MAX_LIVE_RESUMES`` times and within ``limits.MAX_LIVE_RESUME_GAP_S`` of the failure
(one opening onto a node whose pipeline starts cold fits), for what is left of the call's
length (``deadline_s`` is per call, not per session); audio recorded meanwhile waits (at most
``limits.MAX_LIVE_DEVICE_BACKLOG_S``: the delay it adds does not grow past that over resumes,
since frames never go faster than their rate), and a ``"resumed"`` notice marks the gap. A
forged, reordered or dropped frame is not a failure but an attack: the call stops with the
error. An
opening refused for a failure of the node or the path (503, 502, 408: no models, a pipeline
that would not start, a node gone) is drawn again, at the start and at a resume alike, at most
``limits.MAX_LIVE_RESUMES + 1`` times per opening and ``limits.MAX_LIVE_DRAWS`` times per call
(with a fresh token: the gateway spent the first at its check, or released it under
``--spend when-accepted``). Only the call's first opening may fetch tokens from the issuer on
the spot; a resume or a draw again takes one the wallet holds, or the call ends with
:class:`~privcloud.errors.NoTokenLeftError` (an issuance straight after a refusal or a cut the
gateway can write would let the issuer tie the call to the device: docs/adr/0009, decision
6). A call takes at most ``limits.MAX_LIVE_CALL_TOKENS`` tokens, each only once the tunnel to
the relay is up (a failed connect spends none): its openings are one device's, which the
gateway could otherwise drain by refusing them (the review of 2026-12-07).

Every draw is uniform over the admitted nodes, a node that refused an opening included: the
gateway writes the refusals (it holds the OHTTP key) and sees which node each hello is sealed
to; leaving a node out for a refusal the gateway can write would let it walk the draw to the
node it wants, unseen. It can only buy another uniform draw by denying service, at most
``limits.MAX_LIVE_DRAWS`` per call. Two kinds of failure leave a node out of the call's later
draws, because the gateway cannot cause them alone: a node that refused with 503 and proved the
refusal its own (a proof from the session's keys that only the node could compute:
:meth:`~privcloud.live.session.SessionKeys.refusal_proof`: the node serves no live
translation; the client's later calls leave it out too, for
:data:`~privcloud.limits.CLIENT_NO_LIVE_NODE_S` or until it admits again), and a node whose
session failed once open (after its authenticated
ACCEPT: the gateway can cut a tunnel too, but each cut interrupts the call where the user hears
it, at most ``limits.MAX_LIVE_RESUMES`` times). Docs/adr/0023-live-sessions.md, "Review of
2026-12-06" and "Refusals the node proves".

Frames and deadlines run on a monotonic clock (``pace``); the client's wall clock only dates
the hello. A step of the wall clock (NTP) then neither stalls the frames nor bunches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
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
    UsageError,
    error_from_code,
)
from privcloud.live.endpoints import DeviceEndpoint, grid_point
from privcloud.live.protocol import LiveEvent
from privcloud.live.session import SessionKeys, SessionParams, start_session
from privcloud.live.tunnel import TUNNEL_PATH, build_open, decode_open_answer
from privcloud.sdk.client import Client
from privcloud.sdk.keyproofs import post_quantum_choice
from privcloud.trust.admission import AdmittedNode
from privcloud.trust.keys import KeyStatement

#: Largest WebSocket message the device accepts (the gateway's answer, or one frame).
_MESSAGE_LIMIT: Final = max(limits.MAX_LIVE_OPEN_BYTES, limits.LIVE_FRAME_PLAINTEXT + 16)
#: Bytes of one tick of one channel, and the most bytes a channel buffers.
_TICK: Final = limits.LIVE_PCM_BYTES_PER_FRAME
_BACKLOG: Final = int(limits.MAX_LIVE_DEVICE_BACKLOG_S * 32_000)
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


class LiveCall:
    """One live call through ``client`` (admitted nodes, OHTTP key, wallet, clock).

    ``node_id`` pins the node (it must be admitted: :class:`PolicyError` otherwise); by
    default one is drawn at random. ``deadline_s`` is the call's length, from when its first
    opening went out, across resumes: a resume asks only for what is left (the node grants at
    most ``limits.MAX_LIVE_SESSION_S``, and never more than asked). Counted from the first
    ACCEPT's arrival, the device's FINAL in a resumed session (which ends it: the node's grant
    runs longer) came a round trip later for a far device than for a near one, which the
    gateway, knowing the length asked (600 s by default), read (a red-team review, 2026-12-07).
    """

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
        #: node is left out for it (the failure is not authenticated: see the module's doc).
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

    async def __aenter__(self) -> LiveCall:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # --- audio in --------------------------------------------------------------------------

    def feed(self, channel: int, pcm: bytes) -> None:
        """Queue 16 kHz s16le mono PCM of ``channel`` (0: this device's user, 1: the other
        party). Beyond ``limits.MAX_LIVE_DEVICE_BACKLOG_S`` the oldest audio is dropped."""
        if channel not in (0, 1) or len(pcm) % 2:
            raise UsageError("channel 0 or 1, and 16-bit PCM")
        if self._ended:
            raise UsageError("the call was ended")
        buf = self._audio[channel]
        buf += pcm
        over = len(buf) - _BACKLOG
        if over > 0:
            over += over % 2
            del buf[:over]
            self.dropped_audio += over

    async def end(self) -> None:
        """No more audio: the rest is sent, then FINAL; returns when the node's FINAL came
        (after its drain) and the tunnel closed on the call's grid (up to
        ``limits.LIVE_MAX_GRID_STEPS`` steps later), or the call failed (its tunnels closed on
        the grid too)."""
        self._ended = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def aclose(self) -> None:
        """Stop at once (no drain): the session's tunnel, and any still waiting for its close on
        the grid, are closed and :meth:`events` ends."""
        self._ended = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        closing, self._closing = self._closing, []
        for task in closing:
            task.cancel()  # (each closes its tunnel at once)
        await asyncio.gather(*closing, return_exceptions=True)
        opened, self._opened = self._opened, None
        if opened is not None:  # the task was cancelled before its first step
            await opened.ws.close()
        self._end_events()

    def _end_events(self) -> None:
        """Queue the end marker for :meth:`events`, once."""
        if not self._ended_events:
            self._ended_events = True
            self._events.put_nowait(None)

    # --- events out ------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LiveEvent]:
        """Captions, translations, speech and notices as they come; ends with the call. A
        failure that ended the call is raised here."""
        while True:
            item = await self._events.get()
            if item is None:
                return
            if isinstance(item, LiveEvent):
                self._queued_bytes -= _event_bytes(item)
            if isinstance(item, PrivcloudError):
                raise item
            yield item

    # --- sessions --------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the first session (raises its refusal once the refused tunnels closed on the
        call's grid; :meth:`events` then ends at once), then run the call in the background
        (:meth:`_open_drawing`). Returns when the session's first frame is due (1 to
        ``limits.LIVE_MAX_GRID_STEPS`` steps of ``limits.LIVE_FIRST_FRAME_STEP_S`` after its
        opening went out, drawn): audio fed before then would wait in the buffer, a delay for
        the rest of the call."""
        try:
            opened = await self._open_drawing()
        except BaseException as exc:
            try:
                if isinstance(exc, PrivcloudError):
                    await self._closes_done()
            finally:
                self._end_events()
            raise
        self._opened = opened
        self._task = asyncio.create_task(self._run(opened))
        assert opened.endpoint.clock is not None
        await asyncio.sleep(max(0.0, opened.endpoint.clock.start - self.pace()))

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

    def _no_resume(self, lost_at: float) -> bool:
        """Whether a session that failed at ``lost_at`` ends the call: its most resumes were
        made, its length is over, or it took its most tokens."""
        return (
            len(self.resumes) >= limits.MAX_LIVE_RESUMES
            or self._call_over(lost_at)
            or self._tokens_spent()
        )

    async def _resume(self) -> _Open:
        """Open the next session through the start's loop, within
        ``limits.MAX_LIVE_RESUME_GAP_S``; :class:`RequestTimeoutError` past it."""
        try:
            async with asyncio.timeout(limits.MAX_LIVE_RESUME_GAP_S):
                return await self._open_drawing()
        except TimeoutError as exc:
            raise RequestTimeoutError("the live call could not resume in time") from exc

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

    async def _run(self, opened: _Open) -> None:
        """The call after its first opening: its sessions and resumes. Its end, and a failure
        that ends it, reach :meth:`events` once every tunnel closed on the grid
        (:meth:`_closes_done`), so that an app reacting to them (an ``async with`` block's
        :meth:`aclose`, a new call) does not close a tunnel the gateway keeps open at once.
        A gateway that closes its side chooses when they arrive, as it does with any cut. A
        failure is queued even when :meth:`aclose` stops the wait (a review: a detected
        replay was lost when the user hung up in the seconds before the close)."""
        failure: PrivcloudError | None = None
        try:
            try:
                while True:
                    try:
                        await self._session(opened)
                    except _NODE_FAILURES:
                        lost_at = self.pace()
                        self._failed.append(opened.node_id)
                        self._lost.add(opened.node_id)
                        if self._no_resume(lost_at):
                            raise
                        old = opened.node_id
                        opened = await self._resume()  # (the old tunnel closes meanwhile)
                        self._opened = opened
                        gap = self.pace() - lost_at
                        self.resumes.append(Resume(old, opened.node_id, gap))
                        self._emit(LiveEvent(0, "notice", "resumed"))
                    else:
                        break
            except PrivcloudError as exc:
                failure = exc
            try:
                await self._closes_done()
            finally:
                if failure is not None:
                    self._events.put_nowait(failure)
        finally:
            self._opened = None
            self._end_events()

    async def _session(self, opened: _Open) -> None:
        """Run one session until the node's FINAL, then close it on the call's grid
        (:meth:`_close_on_the_grid`). Raises what broke it, the session given up
        (:meth:`_abandon`: its tunnel closes on the grid, in the background, while the call
        resumes); cancelled (:meth:`aclose`), closes at once."""
        ep = opened.endpoint
        sender = asyncio.ensure_future(self._send(opened))
        try:
            await self._receive_all(opened)
        except PrivcloudError:
            self._abandon(opened.ws, ep, sender)
            raise
        except BaseException:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await opened.ws.close()
            raise
        assert ep.close_at is not None  # (set by the node's FINAL)
        await self._close_on_the_grid(opened.ws, ep.close_at, sender)

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

    async def _send(self, opened: _Open) -> None:
        ep, pace = opened.endpoint, self.pace
        assert ep.clock is not None
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            while not ep.must_close(pace()):  # (cover frames after the node's FINAL too)
                now = pace()
                for _ in range(ep.due(now)):
                    if ep.sent_final:
                        await opened.ws.send_bytes(ep.cover_frame())
                    elif ep.abandoned:  # (the audio waits for the next session)
                        await opened.ws.send_bytes(ep.idle_frame())
                    elif self._must_end(ep, now):
                        await opened.ws.send_bytes(ep.final_frame())
                    else:
                        frame = ep.audio_frame(self._take(0), self._take(1))
                        await opened.ws.send_bytes(frame)
                await asyncio.sleep(max(0.0, ep.clock.next_at - pace()))

    def _must_end(self, ep: DeviceEndpoint, now: float) -> bool:
        """Whether this session's next frame is the device's FINAL: the granted length or the
        call's is over, the node sent its FINAL, or the caller ended the call and its audio is
        sent."""
        return (
            ep.must_end(now)
            or self._call_over(now)
            or ep.done
            or (self._ended and not any(self._audio))
        )

    def _take(self, channel: int) -> bytes:
        buf = self._audio[channel]
        pcm = bytes(buf[:_TICK])
        del buf[:_TICK]
        return pcm

    async def _receive_all(self, opened: _Open) -> None:
        ep = opened.endpoint
        while not ep.done:
            try:
                frame = await _receive(opened.ws, limits.LIVE_LIVENESS_TIMEOUT_S)
            except UpstreamError:
                ep.close()  # TruncatedStreamError: the node went away before its FINAL
                raise
            if len(frame) != ep.wire_size:
                raise UpstreamError("live frame of the wrong size")
            for event in ep.receive(frame, self.pace()):
                self._emit(event)
        assert ep.ending is not None
        self.ending = ep.ending.reason.name.lower()
        if ep.ending.reason.name != "DONE":
            self._emit(LiveEvent(0, "notice", self.ending))

    def _emit(self, event: LiveEvent) -> None:
        """Queue ``event`` for :meth:`events`; while the unread events would exceed
        ``limits.MAX_LIVE_DEVICE_EVENT_BYTES``, drop the oldest. Only events are queued until
        the call ends (the end marker and a failure come last), so the oldest is an event."""
        size = _event_bytes(event)
        while self._queued_bytes + size > limits.MAX_LIVE_DEVICE_EVENT_BYTES:
            oldest = self._events.get_nowait()
            assert isinstance(oldest, LiveEvent)
            self._queued_bytes -= _event_bytes(oldest)
            self.dropped_events += 1
        self._events.put_nowait(event)
        self._queued_bytes += size


def _event_bytes(event: LiveEvent) -> int:
    """What one event holds, for the unread-events bound (its text and audio, and a record's
    fixed cost so that many empty notices count too)."""
    return len(event.audio) + len(event.text.encode()) + 64


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


__all__ = ["LiveCall", "LiveEvent", "Resume"]
