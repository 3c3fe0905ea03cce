"""The Live tab's page protocol, without I/O: what the console page may send the device agent
over ``/api/live``, and what the agent sends back (docs/console.md §Live).

Page -> agent, one WebSocket:

* text ``{"type": "start", "language": "en", "target": "es"}`` first (the language spoken, or
  ``"auto"``, and the language it is translated into), then later ``{"type": "stop"}``;
* binary messages in between: the microphone as 16 kHz s16le mono PCM, at most
  ``limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE`` bytes each, of even length.

Agent -> page: text ``{"type": "started" | "caption" | "translation" | "notice" | "ended" |
"error", ...}`` and binary speech: one byte of channel, then 16 kHz s16le mono PCM.

:class:`PageGate` bounds the page: message sizes, messages per second, and audio ahead of real
time (a microphone cannot send faster than it records; a page that does is refused, not
buffered). Errors are our exception tree; the agent closes the socket with
``CLOSE_REFUSED_BASE + http_status`` and the error's code as the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from privcloud import limits
from privcloud.errors import DecodeError, PrivcloudError, RateLimitedError, TooLargeError
from privcloud.live.protocol import LiveEvent
from privcloud.wire import jsonio

#: Close code of a refusal: this plus the error's HTTP status (as the live tunnel does).
CLOSE_REFUSED_BASE: Final = 4000
#: Bytes per second of 16 kHz s16le mono.
PCM_BYTES_PER_S: Final = 32_000
#: The spoken language the node detects itself.
AUTO: Final = "auto"
#: A language tag the page may name (the node checks that Whisper and a model know it).
_TAG = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class Start:
    """The page's first message: the language spoken on the microphone, and the target."""

    language: str
    target: str


@dataclass(frozen=True)
class Stop:
    """The page's last message: no more audio; the node drains, then the call ends."""


def parse_control(text: str) -> Start | Stop:
    """A text message of the page. Raises :class:`TooLargeError` or :class:`DecodeError`."""
    doc = jsonio.loads(
        text,
        max_bytes=limits.CONSOLE_LIVE_MAX_CONTROL_BYTES,
        allow_floats=False,
        allow_duplicate_keys=False,
    )
    if not isinstance(doc, dict):
        raise DecodeError("a control message is a JSON object")
    kind = doc.get("type")
    if kind == "stop":
        return Stop()
    if kind != "start":
        raise DecodeError("unknown control message")
    language, target = doc.get("language", AUTO), doc.get("target")
    if not isinstance(language, str) or not (language == AUTO or _TAG.fullmatch(language)):
        raise DecodeError("language must be a language code or auto")
    if not isinstance(target, str) or not _TAG.fullmatch(target):
        raise DecodeError("target must be a language code")
    return Start(language, target)


class PageGate:
    """Admits or refuses the page's messages; ``now`` is a monotonic clock in seconds."""

    def __init__(self, now: float) -> None:
        self.started = now
        self.audio_bytes = 0
        self._rate = float(limits.CONSOLE_LIVE_MAX_MESSAGES_PER_S)
        self._tokens = 2 * self._rate
        self._last = now

    def restart(self, now: float) -> None:
        """Count audio from ``now`` (the call's start), not from the socket's."""
        self.started, self.audio_bytes = now, 0

    def _count(self, now: float) -> None:
        self._tokens = min(2 * self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = max(self._last, now)
        if self._tokens < 1:
            raise RateLimitedError("the page sends too many messages")
        self._tokens -= 1

    def control(self, text: str, now: float) -> Start | Stop:
        self._count(now)
        return parse_control(text)

    def audio(self, pcm: bytes, now: float) -> bytes:
        """``pcm`` if it may be fed to the call. Raises :class:`TooLargeError`,
        :class:`DecodeError` (odd length) or :class:`RateLimitedError` (too fast)."""
        self._count(now)
        if len(pcm) > limits.CONSOLE_LIVE_MAX_AUDIO_MESSAGE:
            raise TooLargeError("audio message too large")
        if len(pcm) % 2:
            raise DecodeError("16-bit PCM has an even number of bytes")
        self.audio_bytes += len(pcm)
        allowed = (now - self.started + limits.CONSOLE_LIVE_AUDIO_BURST_S) * PCM_BYTES_PER_S
        if self.audio_bytes > allowed:
            raise RateLimitedError("the page sends audio faster than real time")
        return pcm


def event_message(event: LiveEvent) -> str | bytes:
    """What the page gets for ``event``: speech as binary (channel byte, PCM), the rest JSON."""
    if event.kind == "audio":
        return bytes([event.channel]) + event.audio
    doc: dict[str, Any] = {
        "type": event.kind,
        "channel": event.channel,
        "text": event.text,
        "start_s": round(event.start_s, 3),
        "end_s": round(event.end_s, 3),
    }
    return json.dumps(doc, ensure_ascii=False)


def error_message(exc: PrivcloudError) -> str:
    return json.dumps({"type": "error", "error": exc.code, "message": str(exc)})


def close_code(exc: PrivcloudError) -> int:
    return CLOSE_REFUSED_BASE + exc.http_status


__all__ = [
    "AUTO",
    "CLOSE_REFUSED_BASE",
    "PageGate",
    "Start",
    "Stop",
    "close_code",
    "error_message",
    "event_message",
    "parse_control",
]
