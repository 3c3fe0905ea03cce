"""What live frames carry, and the rules both ends keep, without I/O (docs/adr/0023).

* **Audio** (device -> node, one DATA frame per tick): ``len0 (u16) || pcm0 || pcm1`` — up to
  ``limits.LIVE_PCM_BYTES_PER_FRAME`` of 16 kHz s16le mono PCM of each channel (channel 0:
  the device user's speech; channel 1: the other party's). Silence travels as zeros or as no
  bytes; either way the frame has the same size on the wire.
* **Output records** (node -> device): :class:`LiveEvent` encoded by :func:`encode_event`,
  queued in an :class:`OutboundQueue` and cut into DATA frames of whatever size fits, so one
  record may span many frames; the device reassembles them (:class:`EventDecoder`). Speech
  is cut into records of at most ``limits.LIVE_AUDIO_RECORD_BYTES``, the first shorter
  (:func:`audio_records`), so the device can play the first eighth of a second while the rest
  is on its way.
* **ACCEPT** content: the granted session length, the drain time and the frame interval.
  **FINAL** content: why the direction ended, and whether the node dropped outputs.
* **Timing**: :class:`FrameClock` (a frame every ``limits.LIVE_FRAME_INTERVAL_MS`` on an
  absolute schedule, no drift; a sender that fell behind sends at most
  ``limits.MAX_LIVE_BURST_FRAMES`` at once), :class:`Deadline`, and :class:`RateBound`, the
  most frames a tunnel hop passes on from one side: the cadence, plus a stalled path's burst.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError
from privcloud.live.frames import FRAME_CAPACITY

#: Output kinds on the wire.
KINDS: Final = ("caption", "translation", "audio", "notice")
#: Bytes in front of a record's text: kind, channel, start and end (ms), text length.
_RECORD_HEAD: Final = 1 + 1 + 4 + 4 + 2
_U32: Final = (1 << 32) - 1


@dataclass(frozen=True)
class LiveEvent:
    """One output of a live session as the device gets it: a committed caption or translation
    (``text``), synthesized speech (``audio``: 16 kHz s16le mono PCM), or a notice from the
    node or the SDK (``text`` is a fixed code, e.g. ``"deadline"``, ``"resumed"``). ``start_s``
    and ``end_s`` span the channel's input audio the output covers."""

    channel: int
    kind: str
    text: str = ""
    audio: bytes = b""
    start_s: float = 0.0
    end_s: float = 0.0

    def __post_init__(self) -> None:
        if self.channel not in (0, 1):
            raise UsageError("a live channel is 0 or 1")
        if self.kind not in KINDS:
            raise UsageError("unknown live output kind")
        if len(self.text.encode()) > limits.MAX_LIVE_TEXT_BYTES:
            raise UsageError("live output text too long")
        if len(self.audio) > limits.MAX_LIVE_AUDIO_BYTES or len(self.audio) % 2:
            raise UsageError("live output audio too long or not 16-bit")
        if not 0 <= self.start_s <= self.end_s <= _U32 / 1000:
            raise UsageError("live output span out of range")


def audio_records(event: LiveEvent) -> list[LiveEvent]:
    """``event`` as the records it is sent in (each with the event's span; played in order
    they are the whole), anything but speech as it is.

    Speech is cut into a ramp: a first record of ``limits.LIVE_AUDIO_FIRST_RECORD_BYTES``,
    then records each at most as long as all before it together, and at most
    ``limits.LIVE_AUDIO_RECORD_BYTES``. The device plays a record once it is whole, so a short
    first record starts the speech sooner; and since the frames carry speech about twice as
    fast as it plays, a record no longer than what came before it is whole before that has
    been played (with the first record's half as slack), so playing never waits."""
    pieces = speech_cuts(len(event.audio)) if event.kind == "audio" else []
    if len(pieces) <= 1:
        return [event]
    return [dataclasses.replace(event, audio=event.audio[i:j]) for i, j in pieces]


def speech_cuts(size: int) -> list[tuple[int, int]]:
    """Where :func:`audio_records` cuts ``size`` bytes of speech: (start, end) of each record."""
    cuts: list[tuple[int, int]] = []
    done = 0
    while done < size:
        step = min(done or limits.LIVE_AUDIO_FIRST_RECORD_BYTES, limits.LIVE_AUDIO_RECORD_BYTES)
        cuts.append((done, min(done + step, size)))
        done += step
    return cuts


# --- audio (device -> node) ----------------------------------------------------------------


def encode_audio(pcm0: bytes, pcm1: bytes) -> bytes:
    """The content of one device DATA frame: both channels' PCM for one tick."""
    for pcm in (pcm0, pcm1):
        if len(pcm) > limits.LIVE_PCM_BYTES_PER_FRAME or len(pcm) % 2:
            raise UsageError("a frame carries at most one tick of 16-bit PCM per channel")
    return len(pcm0).to_bytes(2, "big") + pcm0 + pcm1


def decode_audio(content: bytes) -> tuple[bytes, bytes]:
    """Both channels' PCM from a device DATA frame; an empty frame is silence on both.
    Raises :class:`DecodeError` for lengths out of range or odd."""
    if not content:
        return b"", b""
    if len(content) < 2:
        raise DecodeError("malformed live audio")
    n0 = int.from_bytes(content[:2], "big")
    pcm0, pcm1 = content[2 : 2 + n0], content[2 + n0 :]
    if len(pcm0) != n0:
        raise DecodeError("malformed live audio")
    for pcm in (pcm0, pcm1):
        if len(pcm) > limits.LIVE_PCM_BYTES_PER_FRAME or len(pcm) % 2:
            raise DecodeError("live audio out of range")
    return bytes(pcm0), bytes(pcm1)


# --- output records (node -> device) -------------------------------------------------------


def encode_event(event: LiveEvent) -> bytes:
    """``kind (u8) || channel (u8) || start_ms (u32) || end_ms (u32) || text_len (u16) || text
    || audio_len (u32) || audio``."""
    text = event.text.encode()
    return (
        bytes([KINDS.index(event.kind), event.channel])
        + round(event.start_s * 1000).to_bytes(4, "big")
        + round(event.end_s * 1000).to_bytes(4, "big")
        + len(text).to_bytes(2, "big")
        + text
        + len(event.audio).to_bytes(4, "big")
        + event.audio
    )


class EventDecoder:
    """Reassembles output records from the node's DATA frame contents, in any split.

    Bounds what it buffers by the largest record; raises :class:`DecodeError` or
    :class:`TooLargeError` on a malformed record, and is dead after.
    """

    __slots__ = ("_buf", "_failed")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._failed = False

    def feed(self, data: bytes) -> list[LiveEvent]:
        if self._failed:
            raise UsageError("event decoder already failed")
        self._buf += data
        try:
            return self._records()
        except (DecodeError, TooLargeError):
            self._failed = True
            self._buf.clear()
            raise

    def _records(self) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        buf = self._buf
        while len(buf) >= _RECORD_HEAD:
            kind, channel = buf[0], buf[1]
            if kind >= len(KINDS) or channel > 1:
                raise DecodeError("malformed live output record")
            text_len = int.from_bytes(buf[10:12], "big")
            if text_len > limits.MAX_LIVE_TEXT_BYTES:
                raise TooLargeError("live output text too long")
            audio_at = _RECORD_HEAD + text_len
            if len(buf) < audio_at + 4:
                break
            audio_len = int.from_bytes(buf[audio_at : audio_at + 4], "big")
            if audio_len > limits.MAX_LIVE_AUDIO_BYTES or audio_len % 2:
                raise TooLargeError("live output audio too long")
            end = audio_at + 4 + audio_len
            if len(buf) < end:
                break
            try:
                text = bytes(buf[_RECORD_HEAD:audio_at]).decode()
                event = LiveEvent(
                    channel=channel,
                    kind=KINDS[kind],
                    text=text,
                    audio=bytes(buf[audio_at + 4 : end]),
                    start_s=int.from_bytes(buf[2:6], "big") / 1000,
                    end_s=int.from_bytes(buf[6:10], "big") / 1000,
                )
            except (UnicodeDecodeError, UsageError) as exc:
                raise DecodeError("malformed live output record") from exc
            out.append(event)
            del buf[:end]
        return out

    def close(self) -> None:
        """The stream ended: a partial record left over is :class:`DecodeError`."""
        if self._buf:
            raise DecodeError("live output stream ended inside a record")

    def discard(self) -> None:
        """The stream ended and the node said it dropped output (its FINAL counts records it
        could not send whole): a partial record left over is thrown away."""
        self._buf.clear()


class OutboundQueue:
    """The node's output bytes waiting for frames: whole records in, any number of bytes out.

    Two lanes. **Text** records (captions, translations, notices) go out before **speech**
    records: a text is read the moment it arrives, while speech is played at its own pace and
    the frames carry it about twice as fast as it plays (``limits.LIVE_AUDIO_RECORD_BYTES`` a
    quarter second of 16 kHz speech, about ``FRAME_CAPACITY`` every 40 ms), so speech lost
    nothing by waiting behind a text, and a text queued behind a piece's speech waited as long
    as it took to send all of it (1.5 s for three seconds of speech). A record once started is
    finished before the next begins: the device reads whole records, in the order their first
    bytes arrive. Within a lane the order is kept. The frames stay the same size and rate; only
    what fills them is reordered.

    A record that would take the queue past ``limits.MAX_LIVE_OUTBOUND_BYTES`` is dropped
    whole (counted in :attr:`dropped`), so the device never sees half a record.
    """

    __slots__ = ("_current", "_size", "_speech", "_text", "dropped")

    def __init__(self) -> None:
        self._current = b""  # the rest of a record already started
        self._text: deque[bytes] = deque()
        self._speech: deque[bytes] = deque()
        self._size = 0
        self.dropped = 0

    def __len__(self) -> int:
        return self._size

    def push(self, record: bytes, *, speech: bool = False) -> bool:
        """Queue one encoded record in its lane; False when it was dropped (the queue is
        full)."""
        if self._size + len(record) > limits.MAX_LIVE_OUTBOUND_BYTES:
            self.dropped += 1
            return False
        (self._speech if speech else self._text).append(record)
        self._size += len(record)
        return True

    def abandon(self) -> int:
        """Drop every record not yet sent whole (the drain is over, FINAL goes out next), the
        one cut by the last frame included; how many, also counted in :attr:`dropped`."""
        abandoned = len(self._text) + len(self._speech) + bool(self._current)
        self._text.clear()
        self._speech.clear()
        self._current = b""
        self._size = 0
        self.dropped += abandoned
        return abandoned

    def take(self, n: int = FRAME_CAPACITY) -> bytes:
        """Up to ``n`` bytes: the started record's rest, then text, then speech (b"" when
        empty: the frame is padding only)."""
        out = bytearray()
        while len(out) < n:
            if not self._current:
                lane = self._text or self._speech
                if not lane:
                    break
                self._current = lane.popleft()
            room = n - len(out)
            out += self._current[:room]
            self._current = self._current[room:]
        self._size -= len(out)
        return bytes(out)


# --- accept and final ----------------------------------------------------------------------


@dataclass(frozen=True)
class Accept:
    """The node's terms, in its ACCEPT frame: session length (s), drain (ms), interval (ms)."""

    deadline_s: int
    drain_ms: int
    interval_ms: int

    def encode(self) -> bytes:
        return (
            self.deadline_s.to_bytes(4, "big")
            + self.drain_ms.to_bytes(4, "big")
            + self.interval_ms.to_bytes(2, "big")
        )

    @classmethod
    def decode(cls, data: bytes) -> Accept:
        if len(data) != 10:
            raise DecodeError("malformed live accept")
        accept = cls(
            int.from_bytes(data[:4], "big"),
            int.from_bytes(data[4:8], "big"),
            int.from_bytes(data[8:10], "big"),
        )
        if not 1 <= accept.deadline_s <= limits.MAX_LIVE_SESSION_S:
            raise DecodeError("live session length out of range")
        if accept.drain_ms > limits.LIVE_DRAIN_S * 1000 or not 1 <= accept.interval_ms <= 1000:
            raise DecodeError("live session timing out of range")
        return accept


class EndReason(enum.IntEnum):
    """Why a direction ended (FINAL content)."""

    DONE = 0  #: the device ended the call
    DEADLINE = 1  #: the session reached its deadline
    FAILED = 2  #: the node's pipeline failed (nothing more will come)
    #: the node's models do not read the call's languages (ones the release's rule allows:
    #: privcloud.live.languages), said inside the session, not in a refusal the gateway reads
    UNSUPPORTED = 3


@dataclass(frozen=True)
class Ending:
    """A FINAL frame's content: why, and how many output records the node had to drop."""

    reason: EndReason
    dropped: int = 0

    def encode(self) -> bytes:
        return bytes([self.reason]) + min(self.dropped, _U32).to_bytes(4, "big")

    @classmethod
    def decode(cls, data: bytes) -> Ending:
        if len(data) != 5:
            raise DecodeError("malformed live final frame")
        try:
            reason = EndReason(data[0])
        except ValueError as exc:
            raise DecodeError("unknown live end reason") from exc
        return cls(reason, int.from_bytes(data[1:5], "big"))


# --- timing --------------------------------------------------------------------------------


class FrameClock:
    """A constant-rate schedule: frame ``i`` is due at ``start + i * interval``.

    :meth:`due` says how many frames to send now. A sender that fell behind (the event loop was
    busy) catches up by at most ``limits.MAX_LIVE_BURST_FRAMES`` frames and skips the rest
    (:attr:`skipped`): the schedule stays anchored, so lateness never shifts later frames.
    """

    __slots__ = ("_next", "interval", "skipped", "start")

    def __init__(self, start: float, interval_s: float = limits.LIVE_FRAME_INTERVAL_MS / 1000):
        if interval_s <= 0:
            raise UsageError("a frame interval is positive")
        self.start = start
        self.interval = interval_s
        self._next = 0
        self.skipped = 0

    @property
    def next_at(self) -> float:
        """When the next frame is due."""
        return self.start + self._next * self.interval

    def due(self, now: float) -> int:
        """Frames to send at ``now`` (0 if the next one is not due yet); advances the clock."""
        if now < self.next_at:
            return 0
        late = max(1, int((now - self.start) / self.interval) + 1 - self._next)
        send = min(late, limits.MAX_LIVE_BURST_FRAMES)
        self.skipped += late - send
        self._next += late
        return send


class RateBound:
    """The frames one side of a tunnel may have sent by now: one per frame interval since the
    start, plus ``limits.LIVE_TUNNEL_BURST_FRAMES`` ahead of that (a token bucket).

    A tunnel hop ends the tunnel at the first frame over it. Without it the gateway could send
    the device frames faster than the cadence and read off the relay, by when it stopped
    taking them, how fast the relay's path to the device drains (a review, 2026-12-07); an
    honest side sends on its :class:`FrameClock`, and a network that held its frames releases
    at most a liveness timeout of them at once. A longer stall of the node's frames ends the
    session at the device anyway; one of the device's frames, which the node waits for longer
    (4 liveness timeouts), ends it here, and the device resumes on another node.
    """

    __slots__ = ("_allowance", "_last", "interval")

    def __init__(self, start: float, interval_s: float = limits.LIVE_FRAME_INTERVAL_MS / 1000):
        if interval_s <= 0:
            raise UsageError("a frame interval is positive")
        self.interval = interval_s
        self._allowance = float(limits.LIVE_TUNNEL_BURST_FRAMES)
        self._last = start

    def take(self, now: float) -> bool:
        """Count one frame at ``now``: whether it is within the bound."""
        earned = max(0.0, now - self._last) / self.interval
        self._allowance = min(float(limits.LIVE_TUNNEL_BURST_FRAMES), self._allowance + earned)
        self._last = max(self._last, now)
        if self._allowance < 1.0:
            return False
        self._allowance -= 1.0
        return True


class Deadline:
    """When a session ends, on this end's clock: ``start + seconds``."""

    __slots__ = ("at",)

    def __init__(self, start: float, seconds: float) -> None:
        self.at = start + seconds

    def passed(self, now: float) -> bool:
        return now >= self.at

    def remaining(self, now: float) -> float:
        return max(0.0, self.at - now)


__all__ = [
    "KINDS",
    "Accept",
    "Deadline",
    "EndReason",
    "Ending",
    "EventDecoder",
    "FrameClock",
    "LiveEvent",
    "OutboundQueue",
    "RateBound",
    "decode_audio",
    "encode_audio",
    "encode_event",
]
