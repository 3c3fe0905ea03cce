"""The capture program of ``privcloud live --mic`` (:class:`privcloud.cli.microphone.Microphone`)
stopped as a whole: a shell pipeline's programs too, a stop cancelled half-way, a stop called
twice; and a program that writes nothing is given up on.

The programs are :data:`FAKE_MIC` (a stand-in microphone: a small Python script that notes its
process id, then writes a tone at real time, or stops writing, or ignores SIGTERM), every one
ended by the test or after a minute on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from privcloud.cli import microphone
from privcloud.cli.microphone import Microphone
from privcloud.errors import ConfigError

#: fake_mic.py PIDFILE MODE [SECONDS]: its process id appended to PIDFILE, then 16 kHz s16le
#: mono on stdout: "tone" for ever; "stall" SECONDS of it, then nothing; "silent" nothing;
#: "stubborn" a tone, ignoring SIGTERM and SIGINT. Every mode ends after a minute.
FAKE_MIC = r"""
import math, os, signal, struct, sys, time
pidfile, mode = sys.argv[1], sys.argv[2]
with open(pidfile, "a") as f:
    f.write(f"{os.getpid()}\n")
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
chunk = struct.pack("<320h", *(int(8000 * math.sin(i * 0.2)) for i in range(320)))  # 20 ms
now = time.monotonic()
writes_until = now + (float(sys.argv[3]) if mode == "stall" else 0 if mode == "silent" else 60)
if mode == "stall":  # terminal controls, to be left out of an error quoting this
    sys.stderr.write("\x1b]0;title\x07\x1b[31mwaiting\x1b[0m for the device\r\n")
    sys.stderr.flush()
while time.monotonic() < now + 60:
    if time.monotonic() < writes_until:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    time.sleep(0.02)
"""


def fake_mic(tmp_path: Path, mode: str, *more: str) -> list[str]:
    """The command of a :data:`FAKE_MIC` in ``mode``; its process ids go to ``tmp_path/pids``."""
    script = tmp_path / "fake_mic.py"
    script.write_text(FAKE_MIC)
    return [sys.executable, str(script), str(tmp_path / "pids"), mode, *more]


def state(pid: int) -> str:
    """``"gone"``, or the process's state letter (R, S, Z...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


def pids(tmp_path: Path) -> list[int]:
    """The process ids the programs of :func:`fake_mic` noted (and any the test added)."""
    pidfile = tmp_path / "pids"
    return [int(x) for x in pidfile.read_text().split()] if pidfile.exists() else []


def running(tmp_path: Path) -> list[int]:
    return [pid for pid in pids(tmp_path) if state(pid) not in ("gone", "Z")]


async def until_ended(tmp_path: Path, within_s: float = 5.0) -> list[int]:
    """The programs still running after at most ``within_s`` (ended ones may take a moment to be
    reaped by their parent)."""
    deadline = time.monotonic() + within_s
    while (left := running(tmp_path)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return left


def kill_left(tmp_path: Path) -> None:
    """Kill what the programs of :func:`fake_mic` left running."""
    for pid in running(tmp_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, whose capture programs are killed at the end if a test left them."""
    yield tmp_path
    kill_left(tmp_path)


async def test_stop_ends_every_program_of_a_shell_pipeline(programs: Path) -> None:
    # sh -c '...': stop() signals the program's process group, not the shell alone, which
    # would leave what it started capturing (and holding the microphone): here a pipeline, and
    # a program in the background that writes nothing (so no closed pipe would end it either).
    silent = shlex.join(fake_mic(programs, "silent"))
    tone = shlex.join(fake_mic(programs, "tone"))
    command = ["sh", "-c", f"{silent} & {tone} | cat"]
    async with Microphone(command) as mic, contextlib.aclosing(mic.blocks()) as blocks:
        assert await anext(blocks)
        async with asyncio.timeout(10):
            while len(running(programs)) < 2:
                await asyncio.sleep(0.05)
    assert await until_ended(programs) == []


async def test_a_cancelled_stop_still_kills_the_program(programs: Path) -> None:
    # A second Ctrl-C cancels the call while stop() waits out the grace of a program that
    # ignores SIGTERM: the program is killed all the same.
    mic = Microphone(fake_mic(programs, "stubborn"))
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(mic)
        blocks = await stack.enter_async_context(contextlib.aclosing(mic.blocks()))
        assert await anext(blocks)
        stopping = asyncio.ensure_future(mic.stop())
        await asyncio.sleep(0.3)  # within the grace (2 s)
        assert not stopping.done()
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        assert await until_ended(programs, within_s=1.5) == []


async def test_stop_may_be_called_twice(programs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A program that left a process of another session holding its standard error: the first
    # stop() gives up on the stderr reader after the grace; a second stop() (an explicit one,
    # then the context manager's) returns, not raising CancelledError.
    monkeypatch.setattr(microphone, "_EXIT_GRACE_S", 0.3)
    escaped = shlex.join([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(20)"])
    pidfile = shlex.quote(str(programs / "pids"))
    tone = shlex.join(fake_mic(programs, "tone"))
    command = ["sh", "-c", f"{escaped} >/dev/null & echo $! >>{pidfile}; exec {tone}"]
    async with Microphone(command) as mic, contextlib.aclosing(mic.blocks()) as blocks:
        assert await anext(blocks)
        await mic.stop()
        await mic.stop()
    assert len(running(programs)) == 1  # the escaped one (killed by the fixture)


async def test_a_program_that_stops_writing_is_given_up_on(
    programs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It still runs, but no audio comes: an error after NO_AUDIO_S, quoting the program's last
    # line of standard error without its terminal controls.
    monkeypatch.setattr(microphone, "NO_AUDIO_S", 2.0)
    got = 0
    mic = Microphone(fake_mic(programs, "stall", "0.4"))
    with pytest.raises(ConfigError, match="no audio from the capture program for 2 s") as raised:
        async with mic, contextlib.aclosing(mic.blocks()) as blocks, asyncio.timeout(15):
            async for block in blocks:
                got += len(block)
    assert got > 0
    message = str(raised.value)
    assert message.isprintable() and "for the device" in message  # no ESC, BEL, CR...
    assert await until_ended(programs) == []
