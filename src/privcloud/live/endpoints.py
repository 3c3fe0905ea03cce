"""The two ends of a live session as state machines, without I/O (docs/adr/0023).

The shells (the node's route in :mod:`privcloud.services.live_node`, the SDK's
:mod:`privcloud.sdk.live` and :mod:`privcloud.sdk.live_openings`) only move bytes and read the
clock; every rule is here:

* both ends send exactly one fixed-size frame per tick of their :class:`FrameClock` (speech,
  silence, output or none), the node's first being ACCEPT; the device's first is due a drawn
  number of steps after it sent the opening (:meth:`DeviceEndpoint.first_frame_at`), not
  when the ACCEPT came, which would show the gateway the device's round-trip time;
* the node grants at most ``limits.MAX_LIVE_SESSION_S``; at its deadline, or when the device
  sent FINAL, it stops taking audio, keeps sending for exactly ``drain`` seconds (the tail's
  length reveals nothing), then sends FINAL;
* the node takes the device's frames at most at their rate: a device more than
  ``limits.LIVE_RECEIVE_AHEAD_FRAMES`` frames ahead of the node's clock is cut off;
* output the node's pipeline was still working on when FINAL went out counts as dropped;
* the device sends FINAL when the caller ended the call or at the granted deadline, then cover
  frames until the node's FINAL (so its frames run up to the close however the session ends),
  and refuses a node that keeps the session open past deadline + drain +
  ``limits.LIVE_TUNNEL_GRACE_S``; after the node's FINAL it goes on with cover frames and
  closes at a step of its grid (:meth:`DeviceEndpoint.close_at`), not when the FINAL came,
  which would show a gateway that keeps the tunnel open the device's round-trip time; a
  session that failed (:meth:`DeviceEndpoint.abandon`) and a refused opening close at such a
  step too, never when the failure or the refusal came.

Both ends read a monotonic clock for all of this (the shells pass ``time.monotonic()``): a
step of the wall clock would otherwise stall or skip frames, which an observer sees.
"""

from __future__ import annotations

import math

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.errors import DecodeError, RateLimitedError, RequestTimeoutError, UsageError
from privcloud.live.frames import FrameType
from privcloud.live.protocol import (
    Accept,
    Deadline,
    Ending,
    EndReason,
    EventDecoder,
    FrameClock,
    LiveEvent,
    OutboundQueue,
    audio_records,
    decode_audio,
    encode_audio,
    encode_event,
)
from privcloud.live.session import OpenedHello, SessionKeys

_INTERVAL_MS = limits.LIVE_FRAME_INTERVAL_MS


class NodeEndpoint:
    """The node's end of one session, from the moment it opened the hello (at ``now``)."""

    def __init__(self, opened: OpenedHello, now: float, *, drain_s: float = limits.LIVE_DRAIN_S):
        if not 0 <= drain_s <= limits.LIVE_DRAIN_S:
            raise UsageError("drain out of range")
        self.params = opened.params
        self._keys = opened.keys
        granted = min(opened.params.deadline_s, limits.MAX_LIVE_SESSION_S)
        self.terms = Accept(granted, round(drain_s * 1000), _INTERVAL_MS)
        self.deadline = Deadline(now, granted)
        self.clock = FrameClock(now, _INTERVAL_MS / 1000)
        self.queue = OutboundQueue()
        self._drain_s = drain_s
        self._drain_until: float | None = None
        self.reason: EndReason | None = None
        self._accepted = False
        self._received = 0
        #: Set by the shell while the pipeline works on a step whose output is not queued yet.
        self.working = False

    @property
    def taking_audio(self) -> bool:
        """Whether audio from the device is still used (not after its FINAL or the deadline)."""
        return self._drain_until is None

    @property
    def done(self) -> bool:
        """Whether the FINAL frame went out."""
        return self._keys.sealer.finished

    def accept_frame(self, now: float) -> bytes:
        """The first frame (ACCEPT), due at the clock's start."""
        if self._accepted:
            raise UsageError("the session was accepted already")
        self._accepted = True
        self.clock.due(now)  # the accept is frame 0 of the schedule
        return self._keys.sealer.seal(FrameType.ACCEPT, self.terms.encode())

    def end(self, reason: EndReason, now: float) -> None:
        """Stop taking audio; FINAL goes out ``drain`` seconds from ``now`` (first call wins)."""
        if self._drain_until is None:
            self._drain_until = now + self._drain_s
            self.reason = reason

    def receive(self, frame: bytes, now: float) -> tuple[bytes, bytes] | None:
        """Open one device frame: its two channels' PCM, or None (FINAL, or audio that came
        after the session stopped taking it). Raises what :meth:`FrameOpener.open` raises,
        and :class:`RateLimitedError` for a device that sends faster than its frame rate."""
        self._received += 1
        ahead = self._received - (now - self.clock.start) / self.clock.interval
        if ahead > limits.LIVE_RECEIVE_AHEAD_FRAMES:
            raise RateLimitedError("the device sends faster than its frame rate")
        kind, content = self._keys.opener.open(frame)
        if kind == FrameType.FINAL:
            self.end(EndReason.DONE, now)
            return None
        audio = decode_audio(content)
        if self.deadline.passed(now):
            self.end(EndReason.DEADLINE, now)
        return audio if self.taking_audio else None

    def push(self, event: LiveEvent) -> None:
        """Queue one output for the device, speech in records of a quarter second
        (:func:`audio_records`) behind any text (:class:`OutboundQueue`); a record is dropped,
        and counted, when the queue is full."""
        if not self.done:
            for record in audio_records(event):
                self.queue.push(encode_event(record), speech=record.kind == "audio")

    def tick(self, now: float) -> list[bytes]:
        """The frames due at ``now``: DATA with queued output (or padding), and FINAL once the
        drain is over. Ends the session at its deadline."""
        if not self._accepted:
            raise UsageError("send the accept frame first")
        if self.deadline.passed(now):
            self.end(EndReason.DEADLINE, now)
        frames = []
        for _ in range(self.clock.due(now)):
            if self.done:
                break
            if self._drain_until is not None and now >= self._drain_until:
                assert self.reason is not None
                self.queue.abandon()  # a record cut by the drain's end counts as dropped
                # so does what the pipeline had not finished: at least one record
                ending = Ending(self.reason, self.queue.dropped + int(self.working))
                frames.append(self._keys.sealer.seal(FrameType.FINAL, ending.encode()))
            else:
                frames.append(self._keys.sealer.seal(FrameType.DATA, self.queue.take()))
        return frames


def grid_point(origin: float, now: float, extra: int = 0) -> float:
    """The first point of a live call's grid (``origin`` plus whole
    ``limits.LIVE_FIRST_FRAME_STEP_S``) not before ``now``, ``extra`` steps further: where the
    device's first frames, later openings and close go, never at what it received."""
    step = limits.LIVE_FIRST_FRAME_STEP_S
    return origin + (max(0, math.ceil((now - origin) / step)) + extra) * step


class DeviceEndpoint:
    """The device's end of one session, from the hello it sent (its keys), which asked for
    ``asked_s`` seconds, at ``sent_at`` (when the opening went out, on this end's clock: a step
    of the call's grid). Whole steps drawn by the shell (up to ``limits.LIVE_MAX_GRID_STEPS``):
    ``steps`` before the first frame (:meth:`first_frame_at`), and ``tail_steps`` past the
    first step of the grid after the node's FINAL before this end closes (:attr:`close_at`)."""

    def __init__(
        self,
        keys: SessionKeys,
        *,
        sent_at: float,
        asked_s: int,
        steps: int = 1,
        tail_steps: int = 0,
    ) -> None:
        top = limits.LIVE_MAX_GRID_STEPS
        if not 1 <= steps <= top or not 0 <= tail_steps < top:
            raise UsageError("grid steps out of range")
        self._keys = keys
        self.sent_at = sent_at
        self.asked_s = asked_s
        self.steps, self.tail_steps = steps, tail_steps
        #: When this end closes the tunnel, once the node's FINAL came (:meth:`receive`).
        self.close_at: float | None = None
        self.terms: Accept | None = None
        self.deadline: Deadline | None = None
        self.clock: FrameClock | None = None
        self._decoder = EventDecoder()
        self.ending: Ending | None = None

    @property
    def wire_size(self) -> int:
        return self._keys.wire

    @property
    def sent_final(self) -> bool:
        return self._keys.sealer.finished

    @property
    def done(self) -> bool:
        """Whether the node's FINAL frame was opened."""
        return self.ending is not None

    @property
    def abandoned(self) -> bool:
        """Whether this end gave the session (or its opening) up without the node's FINAL
        (:meth:`abandon`): it closes at :attr:`close_at`."""
        return self.close_at is not None and self.ending is None

    def accept(self, frame: bytes, now: float) -> Accept:
        """Open the node's ACCEPT (from the gateway's answer, at ``now``): the node holds the
        key. Starts this end's deadline at ``now`` (after the node's: the later bound) and its
        frame clock at :meth:`first_frame_at`. Terms granting more than the hello asked for
        are refused (:class:`DecodeError`): the length asked is the caller's bound."""
        kind, content = self._keys.opener.open(frame)
        if kind != FrameType.ACCEPT:
            raise DecodeError("the session did not start with an accept")
        terms = Accept.decode(content)
        if terms.deadline_s > self.asked_s:
            raise DecodeError("the node granted a longer live session than asked")
        self.terms = terms
        self.deadline = Deadline(now, self.terms.deadline_s)
        self.clock = FrameClock(self.first_frame_at(now), self.terms.interval_ms / 1000)
        return self.terms

    def first_frame_at(self, now: float) -> float:
        """When this end's first frame is due, the ACCEPT having come at ``now``: :attr:`steps`
        of ``limits.LIVE_FIRST_FRAME_STEP_S`` after the opening went out, or the first later
        step not before ``now``. Anchored at the sending, not at the ACCEPT's arrival, so the
        first frame reaches the gateway a whole number of steps after the opening did, whatever
        the network's round trip; the gateway learns only how many steps.

        The steps are drawn: the first step late enough was a threshold the gateway chose for
        free, holding every answer to just under a step so that only the devices whose round
        trip fits in what is left started a step early (a second red-team review, 2026-12-07:
        0.08 s against 1.08 s from the answer). Now that shows only when the draw was the
        step held to (a chance of 1 / ``limits.LIVE_MAX_GRID_STEPS``). The node's clock started
        before its ACCEPT went out, so these frames never run ahead of it."""
        drawn = self.sent_at + self.steps * limits.LIVE_FIRST_FRAME_STEP_S
        return max(drawn, grid_point(self.sent_at, now))

    def due(self, now: float) -> int:
        """Frames to send now: after this end's FINAL too (:meth:`cover_frame`), after the
        node's FINAL too, until :attr:`close_at` (then 0)."""
        if self.clock is None:
            raise UsageError("the session is not accepted yet")
        n = self.clock.due(now)
        return 0 if self.must_close(now) else n

    def must_close(self, now: float) -> bool:
        """Whether this end closes the tunnel now (the node's FINAL came, or the session was
        abandoned, and :attr:`close_at` passed)."""
        return self.close_at is not None and now >= self.close_at

    def abandon(self, now: float) -> None:
        """Give the session up at ``now`` without the node's FINAL: no frame for the liveness
        timeout, a frame that did not open or came past the session's life, or, before the
        ACCEPT, an opening refused, answered badly or not in time. This end closes at
        :meth:`_close_at` (``now``), as after a FINAL, not at once; until then the shell goes
        on with frames that carry no audio, where a session is up (the rule is the same, so a
        failure and an ending look alike on the grid). Closed as the failure or refusal came,
        the close reached a gateway that caused it (stopped forwarding the node's frames,
        refused the opening, replayed a frame) and kept its side open a round trip after its
        act (a third red-team review, 2026-12-07: 0.006 s against 0.127 s for a stall, 0.003 s
        against 0.123 s for a refusal). A second call keeps the first close time."""
        if self.close_at is None:
            self.close_at = self._close_at(now)

    def _close_at(self, now: float) -> float:
        """When to close, the node's FINAL having come (or the session abandoned) at ``now``:
        the first step of this session's grid (``sent_at`` plus whole
        ``limits.LIVE_FIRST_FRAME_STEP_S``) not before ``now``, plus :attr:`tail_steps`, so at
        most ``limits.LIVE_MAX_GRID_STEPS`` steps after ``now``. Closed (and the cover frames
        stopped) as the FINAL came, a gateway that forwards the node's FINAL and keeps its side
        of the tunnel open read the device's round trip off the close and off the count of
        cover frames still coming (a second red-team review, 2026-12-07: 0.04 s against
        0.12 s). On the grid it learns only which step, as at a first frame."""
        return grid_point(self.sent_at, now, self.tail_steps)

    def cover_frame(self, rand: Random = system_random) -> bytes:
        """A frame after this end's FINAL, until the node's: random bytes of a sealed frame's
        size, which no hop can tell from one (the node reads nothing after FINAL). So the
        device's frames run up to the session's close however it ends: when the user hangs
        up (this end's FINAL first, the node's a drain later) as when the node ends it (its
        pipeline failed, which what was said can cause); otherwise the relay saw the device's
        frames stop a drain before the close on a hang-up only (a red-team review,
        2026-12-06)."""
        if not self.sent_final:
            raise UsageError("cover frames follow this end's FINAL")
        return rand(self.wire_size)

    def audio_frame(self, pcm0: bytes, pcm1: bytes) -> bytes:
        """One DATA frame with one tick of each channel (fewer bytes, or none, is fine)."""
        return self._keys.sealer.seal(FrameType.DATA, encode_audio(pcm0, pcm1))

    def idle_frame(self) -> bytes:
        """A DATA frame without audio, after :meth:`abandon` until the close (the call's audio
        waits for the next session). The node takes it as any frame; a FINAL would set off its
        drain and then its FINAL and close, and a cover frame (which does not open) its close
        at once, each at a time the gateway set and the node's close shows it."""
        return self.audio_frame(b"", b"")

    def final_frame(self) -> bytes:
        """This direction's FINAL (the call ended, or the deadline came)."""
        return self._keys.sealer.seal(FrameType.FINAL, Ending(EndReason.DONE).encode())

    def must_end(self, now: float) -> bool:
        """Whether the granted session length is over (send FINAL now)."""
        return self.deadline is not None and self.deadline.passed(now) and not self.sent_final

    def receive(self, frame: bytes, now: float) -> list[LiveEvent]:
        """Open one node frame; returns the output records it completed. Raises what
        :meth:`FrameOpener.open` raises, and :class:`RequestTimeoutError` for a frame that
        comes after the session's longest life (deadline + drain + grace)."""
        if self.terms is None or self.deadline is None:
            raise UsageError("the session is not accepted yet")
        late = self.deadline.at + self.terms.drain_ms / 1000 + limits.LIVE_TUNNEL_GRACE_S
        if now > late:
            raise RequestTimeoutError("the node kept the session past its deadline")
        kind, content = self._keys.opener.open(frame)
        if kind == FrameType.FINAL:
            self.ending = Ending.decode(content)
            self.close_at = self._close_at(now)
            if self.ending.dropped:
                self._decoder.discard()  # the node cut a record at the drain's end: said so
            else:
                self._decoder.close()  # nothing dropped: a partial record is malformed
            return []
        return self._decoder.feed(content)

    def close(self) -> None:
        """The tunnel closed: :class:`TruncatedStreamError` unless the node's FINAL came."""
        self._keys.opener.close()


__all__ = ["DeviceEndpoint", "NodeEndpoint", "grid_point"]
