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

This module holds the call: audio in, events out, its sessions and resumes. Its openings and its
closes on the grid are :mod:`privcloud.sdk.live_openings`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final

import aiohttp

from privcloud import limits
from privcloud.errors import PrivcloudError, RequestTimeoutError, UpstreamError, UsageError
from privcloud.live.endpoints import DeviceEndpoint
from privcloud.live.protocol import LiveEvent
from privcloud.sdk.live_openings import _NODE_FAILURES, LiveOpenings, Resume, _Open, _receive

#: Bytes of one tick of one channel, and the most bytes a channel buffers.
_TICK: Final = limits.LIVE_PCM_BYTES_PER_FRAME
_BACKLOG: Final = int(limits.MAX_LIVE_DEVICE_BACKLOG_S * 32_000)


class LiveCall(LiveOpenings):
    """One live call through ``client`` (admitted nodes, OHTTP key, wallet, clock).

    ``node_id`` pins the node (it must be admitted: :class:`PolicyError` otherwise); by
    default one is drawn at random. ``deadline_s`` is the call's length, from when its first
    opening went out, across resumes: a resume asks only for what is left (the node grants at
    most ``limits.MAX_LIVE_SESSION_S``, and never more than asked). Counted from the first
    ACCEPT's arrival, the device's FINAL in a resumed session (which ends it: the node's grant
    runs longer) came a round trip later for a far device than for a near one, which the
    gateway, knowing the length asked (600 s by default), read (a red-team review, 2026-12-07).
    """

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


__all__ = ["LiveCall", "LiveEvent", "Resume"]
