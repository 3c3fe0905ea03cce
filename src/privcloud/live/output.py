"""What the live pipeline hands back: committed captions, translations and synthesized speech."""

from __future__ import annotations

from dataclasses import dataclass

#: ``LiveOutput.kind`` values.
CAPTION = "caption"
TRANSLATION = "translation"
AUDIO = "audio"
KINDS = (CAPTION, TRANSLATION, AUDIO)


@dataclass(frozen=True)
class LiveOutput:
    """One final piece of output for one channel (never retracted or revised later).

    ``channel`` 0 is the device user's speech, 1 the other party's. ``text`` is the committed
    caption or translation ("" for audio); ``audio`` is 16 kHz s16le mono PCM of the spoken
    translation (b"" unless ``kind`` is "audio"). ``start_s``..``end_s`` is the span of the
    channel's input audio (seconds since its first sample) that the output covers.
    """

    channel: int
    kind: str
    text: str
    audio: bytes
    start_s: float
    end_s: float
