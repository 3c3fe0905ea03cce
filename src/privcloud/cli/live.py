"""``privcloud live FILE|--mic [--other FILE2]``: live call translation through a private
session.

FILE (the device user's side of the call, channel 0) and optionally ``--other`` (the other
party, channel 1) are decoded to 16 kHz mono and played into a :class:`~privcloud.sdk.live.
LiveCall` at real time, 0.2 s at a time, as a microphone would deliver them. With ``--mic``
channel 0 is the microphone instead (:mod:`privcloud.cli.microphone`: ALSA's ``arecord``, or
the capture program ``--mic-command`` names), until Ctrl-C, ``--seconds`` or the program's
end. Captions and translations are printed as the node commits them (``--json``: one JSON
object per line), and ``--speech-out`` writes the synthesized translations of both channels
to a WAV file. docs/adr/0023-live-sessions.md says what the relay and the gateway can and
cannot see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import shutil
import signal
import time
import wave
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from privcloud import limits
from privcloud.cli.features import _read_input
from privcloud.cli.microphone import Microphone, arecord
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
#: Seconds the player may take to end after the call's events did.
_PLAYER_GRACE_S = 2.0


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


async def _play_microphone(
    call: LiveCall, command: tuple[str, ...], other: bytes, seconds: float, tail_s: float
) -> None:
    """Feed the microphone on channel 0 (and ``other``, in step, on channel 1) until Ctrl-C,
    ``seconds`` of audio or the capture program's end; then ``tail_s`` of silence, and end the
    call. A second Ctrl-C stops at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_interrupt() -> None:
        progress("stopping the microphone (Ctrl-C again to stop at once)")
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)

    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals on this platform
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    bound = int(seconds * _RATE)
    try:
        async with Microphone(command) as mic, contextlib.aclosing(mic.blocks()) as blocks:
            progress(f"listening ({command[0]}); Ctrl-C ends the call")
            async for block in blocks:
                call.feed(0, block)
                if chunk := other[mic.captured - len(block) : mic.captured]:
                    call.feed(1, chunk)
                if stop.is_set() or mic.captured >= bound:
                    break
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
    await _play(call, [b""], tail_s)


async def _ending_on_failure(call: LiveCall, play: Coroutine[Any, Any, None]) -> None:
    """Run ``play``; if it fails (the microphone), close the call, so its events end."""
    try:
        await play
    except Exception:
        await call.aclose()
        raise


def _capture_command(args: argparse.Namespace) -> tuple[str, ...]:
    """The capture program ``--mic`` runs, checked to exist before any session is opened."""
    command = tuple(shlex.split(args.mic_command)) if args.mic_command else arecord(args.mic_device)
    if not command:
        raise ConfigError("--mic-command is empty")
    if shutil.which(command[0]) is None:
        raise ConfigError(
            f"no capture program {command[0]!r}: install alsa-utils (arecord), or name another"
            " with --mic-command"
        )
    return command


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
    if (args.file is None) == (not args.mic):
        raise ConfigError("give an audio file or --mic (not both)")
    if not 0 < args.seconds <= limits.MAX_LIVE_SESSION_S:
        raise ConfigError(f"--seconds must be in (0, {limits.MAX_LIVE_SESSION_S}]")
    command = _capture_command(args) if args.mic else ()
    other = _pcm(args.other) if args.other else b""
    tracks = [] if args.mic else [_pcm(args.file)] + ([other] if other else [])
    speech = bytearray()
    async with connect(cloudconfig.load(args.config), warm=_WARM) as client:
        call = LiveCall(
            client,
            languages=(args.language, args.other_language),
            targets=(args.to, args.other_to),
            deadline_s=args.deadline,
        )
        await call.start()
        started = time.monotonic()
        if args.mic:
            progress(f"private session open with {call.nodes[0]}")
            play = _play_microphone(call, command, other, args.seconds, args.tail)
        else:
            progress(f"private session open with {call.nodes[0]}; playing at real time")
            play = _play(call, tracks, args.tail)
        player = asyncio.create_task(_ending_on_failure(call, play))
        try:
            async for event in call.events():
                _show(args, event, started)
                if event.kind == "audio":
                    speech += event.audio
            # The events end when the call does; a player that failed (the microphone) closed
            # it and ends just after: its error is the command's.
            await asyncio.wait({player}, timeout=_PLAYER_GRACE_S)
            if player.done() and not player.cancelled() and (failed := player.exception()):
                raise failed
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
    p = add("live", "live call translation of an audio file played at real time, or the microphone")
    p.add_argument("file", nargs="?", help="your side of the call (channel 0): an audio file")
    p.add_argument(
        "--mic", action="store_true", help="your side of the call from the microphone instead"
    )
    p.add_argument("--mic-device", help="the ALSA capture device for arecord (arecord -L)")
    p.add_argument(
        "--mic-command",
        help="another capture program writing 16 kHz s16le mono PCM to stdout, e.g."
        " 'parec --raw --format=s16le --rate=16000 --channels=1'",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=float(limits.MAX_LIVE_SESSION_S),
        help="with --mic: end the call after this much audio (default: the session's limit)",
    )
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
