"""``privcloud live FILE [--other FILE2]``: live call translation through a private session.

FILE (the device user's side of the call, channel 0) and optionally ``--other`` (the other
party, channel 1) are decoded to 16 kHz mono and played into a :class:`~privcloud.sdk.live.
LiveCall` at real time, 0.2 s at a time, as a microphone would deliver them; captions and
translations are printed as the node commits them (``--json``: one JSON object per line), and
``--speech-out`` writes the synthesized translations of both channels to a WAV file.
docs/adr/0023-live-sessions.md says what the relay and the gateway can and cannot see.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import wave
from collections.abc import Callable
from pathlib import Path

from privcloud.cli.features import _read_input
from privcloud.cli.session import connect, progress
from privcloud.errors import ConfigError
from privcloud.live.protocol import LiveEvent
from privcloud.localcloud import cloudconfig
from privcloud.sdk.live import LiveCall
from privcloud.workloads.audio import decode_audio
from privcloud.workloads.models import WHISPER_BASE, WHISPER_TINY_EN

#: Models a local cloud started for the command loads first (the live recogniser's).
_WARM = (WHISPER_TINY_EN, WHISPER_BASE)
#: Bytes of 16 kHz s16le per second, and per feed (0.2 s).
_RATE = 32_000
_STEP = _RATE // 5


def _pcm(name: str) -> bytes:
    """16 kHz s16le mono PCM of the audio file ``name``."""
    samples = decode_audio(_read_input(name)).samples
    return bytes((samples.clip(-1, 1) * 32767).astype("<i2").tobytes())


async def _play(call: LiveCall, tracks: list[bytes], tail_s: float) -> None:
    """Feed every track at real time, on its own channel, then ``tail_s`` of silence (the line
    stays open, as in a call, while the last words are committed), then end the call."""
    started = time.monotonic()
    longest = max(len(t) for t in tracks) + int(tail_s * _RATE) // 2 * 2
    tracks = [t + bytes(longest - len(t)) for t in tracks]
    for i, offset in enumerate(range(0, longest, _STEP)):
        for channel, track in enumerate(tracks):
            if chunk := track[offset : offset + _STEP]:
                call.feed(channel, chunk)
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.2 - time.monotonic()))
    await call.end()


def _show(args: argparse.Namespace, event: LiveEvent, started: float) -> None:
    if args.json:
        doc = {
            "channel": event.channel,
            "kind": event.kind,
            "text": event.text,
            "audio_bytes": len(event.audio),
            "start_s": event.start_s,
            "end_s": event.end_s,
            "at_s": round(time.monotonic() - started, 3),
        }
        print(json.dumps(doc, ensure_ascii=False), flush=True)
    elif event.kind in ("caption", "translation"):
        side = "you" if event.channel == 0 else "them"
        print(f"[{event.start_s:6.1f}s {side} {event.kind}] {event.text}", flush=True)
    elif event.kind == "notice":
        progress(f"live: {event.text}")


async def _live(args: argparse.Namespace) -> None:
    tracks = [_pcm(args.file)] + ([_pcm(args.other)] if args.other else [])
    speech = bytearray()
    async with connect(cloudconfig.load(args.config), warm=_WARM) as client:
        call = LiveCall(
            client,
            languages=(args.language, args.other_language),
            targets=(args.to, args.other_to),
            deadline_s=args.deadline,
        )
        await call.start()
        progress(f"private session open with {call.nodes[0]}; playing at real time")
        started = time.monotonic()
        player = asyncio.create_task(_play(call, tracks, args.tail))
        try:
            async for event in call.events():
                _show(args, event, started)
                if event.kind == "audio":
                    speech += event.audio
        finally:
            player.cancel()
            await asyncio.gather(player, return_exceptions=True)
            await call.aclose()
    progress(f"call ended ({call.ending}); {len(call.resumes)} resume(s)")
    if args.speech_out:
        try:
            with wave.open(str(Path(args.speech_out)), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(16_000)
                out.writeframes(bytes(speech))
        except OSError as exc:
            raise ConfigError(f"cannot write {args.speech_out}: {exc.strerror}") from exc


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``live`` with ``add`` (the feature commands' parser maker)."""
    p = add("live", "live call translation of an audio file played at real time")
    p.add_argument("file", help="your side of the call (channel 0): an audio file")
    p.add_argument("--other", help="the other party's side (channel 1): an audio file")
    p.add_argument("--language", default="auto", help="channel 0's language (default auto)")
    p.add_argument("--to", default="en", help="channel 0 is translated into (default en)")
    p.add_argument("--other-language", default="auto", help="channel 1's language")
    p.add_argument("--other-to", default="en", help="channel 1 is translated into")
    p.add_argument("--deadline", type=int, default=600, help="session length, s (max 600)")
    p.add_argument(
        "--tail", type=float, default=8.0, help="seconds of silence after the files (default 8)"
    )
    p.add_argument("--speech-out", help="WAV file for the synthesized translations")
    p.set_defaults(handler=lambda args: asyncio.run(_live(args)))
