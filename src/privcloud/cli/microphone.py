"""The microphone of ``privcloud live --mic``: 16 kHz s16le mono PCM from a capture program.

Python's standard library has no audio capture, and every desktop already has a program that
writes a microphone's raw PCM to its standard output: ALSA's ``arecord`` (Debian's
``alsa-utils``; the default, :data:`ARECORD`), PulseAudio's ``parec``, PipeWire's
``pw-record``, ``sox -d``. So :class:`Microphone` runs one (``--mic-command`` names another)
and reads its output in blocks; no audio library is linked into the CLI, and the audio is held
in memory only, as the file player's is.

Blocks are handed on no faster than real time: a microphone cannot deliver sooner, and a
program that does (a file, ALSA's ``null`` device) is then played like a file. A program that
is missing, exits before any audio, gives no audio for :data:`NO_AUDIO_S` (a device that never
opens, a suspended sound server, a command whose audio goes elsewhere) or writes an odd number
of bytes at its end is handled here, with errors of :mod:`privcloud.errors`.

The program runs in a process group of its own (``sh -c 'a | b'`` included), which is signalled
as a whole when the capture stops: nothing it started keeps the microphone open. Being in its
own session, it does not get the terminal's Ctrl-C either: the caller stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncGenerator, Sequence
from types import TracebackType

from privcloud.errors import ConfigError

#: 16 kHz s16le mono: bytes per second.
RATE = 32_000
#: The capture command: ALSA's default device, 16 kHz, 16-bit little-endian, mono, raw.
ARECORD = ("arecord", "-q", "-t", "raw", "-f", "S16_LE", "-r", "16000", "-c", "1")
#: How much of a failing program's standard error an error message quotes.
_STDERR_QUOTED = 200
#: Seconds a stopped program gets to exit before it is killed.
_EXIT_GRACE_S = 2.0
#: Seconds without a block after which a capture program is given up on (an error): a
#: microphone delivers a block every 0.2 s, and opening a device, even a suspended sound
#: server's, takes a second or two.
NO_AUDIO_S = 10.0
#: Seconds a capture program may take to deliver its first audio (open its device) beyond the
#: audio a caller bounds the capture to: the capture's bound on the clock.
LATE_S = 1.0


def arecord(device: str | None = None) -> tuple[str, ...]:
    """:data:`ARECORD`, on ALSA device ``device`` when given (``arecord -L`` lists them)."""
    return ARECORD + (("-D", device) if device else ())


class Microphone:
    """A capture program's PCM, ``block_s`` seconds a block (an async context manager).

    ``command`` writes 16 kHz s16le mono PCM to its standard output until it is stopped.
    Raises :class:`ConfigError` when it cannot be started, ends before writing any audio or
    writes nothing for ``no_audio_s`` (default :data:`NO_AUDIO_S`).
    """

    def __init__(
        self, command: Sequence[str], *, block_s: float = 0.2, no_audio_s: float | None = None
    ) -> None:
        if not command:
            raise ConfigError("an empty capture command")
        self.command = tuple(command)
        self.block_bytes = int(RATE * block_s) // 2 * 2
        self.block_s = self.block_bytes / RATE
        self.no_audio_s = NO_AUDIO_S if no_audio_s is None else no_audio_s
        #: Bytes of audio read so far.
        self.captured = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_tail = b""
        self._stderr_task: asyncio.Task[None] | None = None
        self._stopped = False

    async def __aenter__(self) -> Microphone:
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a process group of its own (stop() signals it all)
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot start the capture program {self.command[0]!r} ({exc.strerror}):"
                " install alsa-utils for arecord, or name another with --mic-command"
            ) from exc
        self._stderr_task = asyncio.create_task(self._read_stderr())
        return self

    async def _read_stderr(self) -> None:
        """Keep the end of the program's standard error (read all along, so that a talkative
        program never blocks on a full pipe)."""
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(4096):
            self._stderr_tail = (self._stderr_tail + chunk)[-4 * _STDERR_QUOTED :]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """End the capture program and whatever it started (its process group: terminated,
        killed after a grace period). Idempotent; when cancelled, the group is still killed."""
        proc = self._proc
        if proc is None or self._stopped:
            return
        self._stopped = True
        # Read what the program still writes: blocked on a full pipe, it would never act on the
        # signal, and asyncio's wait() also waits for the pipes' ends.
        drain = asyncio.create_task(_discard(proc.stdout))
        exited = asyncio.ensure_future(proc.wait())
        try:
            self._signal(signal.SIGTERM)
            await asyncio.wait({exited}, timeout=_EXIT_GRACE_S)
        finally:
            # What the grace left (a program that ignores SIGTERM, a member of its pipeline),
            # and all of it when this stop is cancelled.
            self._signal(signal.SIGKILL)
            helpers = [exited, drain] + ([self._stderr_task] if self._stderr_task else [])
            try:
                await asyncio.wait(helpers, timeout=_EXIT_GRACE_S)
            finally:
                for task in helpers:
                    task.cancel()
                # Our ends of the pipes, which a process that left the group may still hold
                # (asyncio's Process has no public close; its transport closes them).
                transport = getattr(proc, "_transport", None)
                if transport is not None:
                    transport.close()
            await asyncio.gather(*helpers, return_exceptions=True)

    def _signal(self, signum: int) -> None:
        """Send ``signum`` to the program's process group (its own: see :meth:`__aenter__`)."""
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    async def blocks(self) -> AsyncGenerator[bytes, None]:
        """The PCM, block by block, each at or after its time in real time since the first;
        the last may be shorter (whole samples only). Ends when the program does."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise ConfigError("the microphone was not started")
        started = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(self.no_audio_s):
                    block = await proc.stdout.readexactly(self.block_bytes)
            except asyncio.IncompleteReadError as short:
                block = short.partial[: len(short.partial) // 2 * 2]
            except TimeoutError:
                raise ConfigError(self.no_audio(self.no_audio_s)) from None
            if not block:
                break
            self.captured += len(block)
            ahead = started + (self.captured - len(block)) / RATE - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            yield block
            if len(block) < self.block_bytes:
                break
        if self.captured == 0:
            raise ConfigError(await self._failure())

    def no_audio(self, seconds: float) -> str:
        """The error of a program that is running but gave no audio for ``seconds``."""
        return (
            f"no audio from the capture program for {seconds:.3g} s: {self.command[0]} runs"
            f" but writes nothing to its standard output{self._said()}"
        )

    async def _failure(self) -> str:
        """Why the program gave no audio: its exit status and the end of its standard error."""
        proc = self._proc
        assert proc is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _EXIT_GRACE_S)
        if self._stderr_task is not None:
            await asyncio.wait({self._stderr_task}, timeout=_EXIT_GRACE_S)
        status = f"exited with status {proc.returncode}" if proc.returncode is not None else "ended"
        return f"the microphone gave no audio: {self.command[0]} {status}{self._said()}"

    def _said(self) -> str:
        """`` (its last line of standard error)``, printable characters only, or ``""``."""
        said = self._stderr_tail.decode("utf-8", "replace")
        lines = ["".join(c for c in line if c.isprintable()) for line in said.splitlines()]
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return f" ({last[-_STDERR_QUOTED:]})" if last else ""


async def _discard(stream: asyncio.StreamReader | None) -> None:
    while stream is not None and await stream.read(64 * 1024):
        pass


__all__ = ["ARECORD", "LATE_S", "NO_AUDIO_S", "RATE", "Microphone", "arecord"]
