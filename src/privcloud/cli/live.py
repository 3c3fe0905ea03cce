"""``privcloud live FILE|--mic [--other FILE2]``: live call translation through a private
session.

FILE (the device user's side of the call, channel 0) and optionally ``--other`` (the other
party, channel 1) are decoded to 16 kHz mono and played into a :class:`~privcloud.sdk.live.
LiveCall` at real time, 0.2 s at a time, as a microphone would deliver them. With ``--mic``
channel 0 is the microphone instead (:mod:`privcloud.cli.microphone`: ALSA's ``arecord``, or
the capture program ``--mic-command`` names), until Ctrl-C, ``--seconds`` or the program's
end. A first Ctrl-C ends the audio (the microphone, or the rest of a file or of the tail of
silence) and lets the call end whole; a second stops it at once. Captions and translations are
printed as the node commits them (``--json``: one JSON object per line), and ``--speech-out``
writes the synthesized translations of both channels to a WAV file.
docs/adr/0023-live-sessions.md says what the relay and the gateway can and cannot see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shlex
import shutil
import signal
import time
import wave
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from privcloud import limits
from privcloud.cli.features import _read_input
from privcloud.cli.microphone import LATE_S, Microphone, arecord
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
#: A token of ``--mic-command`` that is, or starts with, a shell's operator or redirection
#: (``|``, ``||``, ``&``, ``&&``, ``;``, ``>``, ``2>``, ``<``...). No shell runs the command:
#: ``arecord ... | tee call.raw`` would record to files named ``|``, ``tee`` and ``call.raw``.
_SHELL_OPERATOR = re.compile(r"[|&;]+|\d*[<>]+")


def _pcm(name: str) -> bytes:
    """16 kHz s16le mono PCM of the audio file ``name``."""
    samples = decode_audio(_read_input(name)).samples
    return bytes((samples.clip(-1, 1) * 32767).astype("<i2").tobytes())


class _CtrlC:
    """Ctrl-C (SIGINT) during a call: one handler from the call's start to its end. The first
    stops the microphone (the tail of silence and the node's drain still run: the last words
    are committed) or, once it has stopped or with a file, cuts the rest of the audio and of
    the tail, and ends the call (the drain still runs). A second cancels the call at once."""

    def __init__(self) -> None:
        #: Set by the first Ctrl-C.
        self.stop = asyncio.Event()
        #: What the first Ctrl-C does, as its progress line says.
        self.stopping = "ending the call"
        self._count = 0
        self._task = asyncio.current_task()

    def __call__(self) -> None:
        self._count += 1
        if self._count == 1:
            progress(f"{self.stopping} (Ctrl-C again to stop at once)")
            self.stop.set()
        elif self._task is not None:
            self._task.cancel()

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Handle SIGINT inside the block, then put back the handler that was there before
        (asyncio.run's, which cancels the main task)."""
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGINT)
        try:
            loop.add_signal_handler(signal.SIGINT, self)
        except (NotImplementedError, RuntimeError):  # no signals here (Windows, not main thread)
            installed = False
        else:
            installed = True
        try:
            yield
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)  # which puts Python's default back
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)


async def _play(
    call: LiveCall, tracks: list[bytes], tail_s: float, stop: asyncio.Event | None = None
) -> None:
    """Feed every track at real time, on its own channel, then ``tail_s`` of silence (the line
    stays open, as in a call, while the last words are committed), then end the call. ``stop``
    (Ctrl-C) cuts the rest of the tracks and the tail; the call still ends as a whole."""
    started = time.monotonic()
    longest = max(len(t) for t in tracks) + int(tail_s * _RATE) // 2 * 2
    for i, offset in enumerate(range(0, longest, _STEP)):
        if stop is not None and stop.is_set():
            break
        size = min(_STEP, longest - offset)
        for channel, track in enumerate(tracks):
            chunk = track[offset : offset + size]
            call.feed(channel, chunk + bytes(size - len(chunk)))  # the tail: silence
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.2 - time.monotonic()))
    await call.end()


async def _next(blocks: AsyncIterator[bytes]) -> bytes | None:
    """The next block of ``blocks``, or None at their end."""
    try:
        return await anext(blocks)
    except StopAsyncIteration:
        return None


async def _play_microphone(
    call: LiveCall,
    command: tuple[str, ...],
    other: bytes,
    seconds: float,
    tail_s: float,
    ctrl_c: _CtrlC,
) -> None:
    """Feed the microphone on channel 0 (and ``other``, in step, on channel 1) until Ctrl-C,
    ``seconds`` of audio (on the clock, ``seconds`` + :data:`LATE_S`: a program that falls
    behind or writes nothing) or the capture program's end; then ``tail_s`` of silence, and end
    the call. Each read is raced against Ctrl-C and the clock, so neither waits for audio."""
    loop = asyncio.get_running_loop()
    bound = int(seconds * _RATE)
    until = loop.time() + seconds + LATE_S
    ctrl_c.stopping = "stopping the microphone"
    stopped = asyncio.ensure_future(ctrl_c.stop.wait())
    by_ctrl_c = by_clock = False
    try:
        async with Microphone(command) as mic, contextlib.aclosing(mic.blocks()) as blocks:
            progress(f"listening ({command[0]}); Ctrl-C ends the call")
            while mic.captured < bound:
                read = asyncio.ensure_future(_next(blocks))
                try:
                    await asyncio.wait(
                        {read, stopped},
                        timeout=max(0.0, until - loop.time()),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    if not read.done():  # Ctrl-C, the clock, or this player cancelled
                        read.cancel()
                        await asyncio.gather(read, return_exceptions=True)
                if read.cancelled():  # no audio came in time
                    by_ctrl_c = ctrl_c.stop.is_set()
                    by_clock = not by_ctrl_c
                    break
                if (block := read.result()) is None:  # the program ended
                    break
                call.feed(0, block)
                if chunk := other[mic.captured - len(block) : mic.captured]:
                    call.feed(1, chunk)
                if ctrl_c.stop.is_set():
                    by_ctrl_c = True
                    break
            ctrl_c.stopping = "ending the call"
            if by_clock and mic.captured == 0:
                raise ConfigError(mic.no_audio(seconds + LATE_S))
    finally:
        stopped.cancel()
    # A Ctrl-C that stopped the microphone leaves the tail whole; one during the tail cuts it.
    await _play(call, [b""], tail_s, None if by_ctrl_c else ctrl_c.stop)


async def _ending_on_failure(call: LiveCall, play: Coroutine[Any, Any, None]) -> None:
    """Run ``play``; if it fails (the microphone), close the call, so its events end."""
    try:
        await play
    except Exception:
        await call.aclose()
        raise


def _capture_command(args: argparse.Namespace) -> tuple[str, ...]:
    """The capture program ``--mic`` runs, checked to exist before any session is opened."""
    if not args.mic_command:
        return _existing(arecord(args.mic_device))
    try:
        command = tuple(shlex.split(args.mic_command))
    except ValueError as exc:  # an unbalanced quote, a backslash at the end
        raise ConfigError(f"--mic-command: {exc}") from exc
    if not command:
        raise ConfigError("--mic-command is empty")
    for token in command:
        if operator := _SHELL_OPERATOR.match(token):
            raise ConfigError(
                f"--mic-command: {operator.group()!r} is a shell operator, but no shell runs"
                " the command: for a pipeline or a redirection, write sh -c '...'"
            )
    return _existing(command)


def _existing(command: tuple[str, ...]) -> tuple[str, ...]:
    """``command``, whose program is checked to exist."""
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
    if not 0 <= args.tail <= limits.MAX_LIVE_SESSION_S:  # nan and inf fail too
        raise ConfigError(f"--tail must be in [0, {limits.MAX_LIVE_SESSION_S}]")
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
        ctrl_c = _CtrlC()
        with ctrl_c.handling():
            if args.mic:
                progress(f"private session open with {call.nodes[0]}")
                play = _play_microphone(call, command, other, args.seconds, args.tail, ctrl_c)
            else:
                progress(f"private session open with {call.nodes[0]}; playing at real time")
                play = _play(call, tracks, args.tail, ctrl_c.stop)
            player = asyncio.create_task(_ending_on_failure(call, play))
            try:
                async for event in call.events():
                    _show(args, event, started)
                    if event.kind == "audio":
                        speech += event.audio
                # The events end when the call does; a player that failed (the microphone)
                # closed it and ends just after: its error is the command's.
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
    p.add_argument(
        "--deadline", type=int, default=600, help="call length across resumes, s (max 600)"
    )
    p.add_argument(
        "--tail",
        type=float,
        default=8.0,
        help="seconds of silence after the audio, while the last words are committed (default 8)",
    )
    p.add_argument("--speech-out", help="WAV file for the synthesized translations")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> None:
    """Run the command; a call cancelled by a second Ctrl-C ends as asyncio.run's own Ctrl-C
    does, with KeyboardInterrupt (exit status 130)."""
    try:
        asyncio.run(_live(args))
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
