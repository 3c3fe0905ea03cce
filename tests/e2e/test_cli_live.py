"""``privcloud live``: a file played at real time, or the microphone (``--mic``), through a
private session to a local cloud whose nodes run the test-only :class:`EchoPipeline` of
``test_live_session`` (no model: a caption and the audio back for each loud stretch).

The microphone is the real ``arecord`` (Debian's alsa-utils, which ``make setup`` installs)
reading ALSA devices these machines have: ``null`` (samples as fast as they are read) and,
standing in for a microphone that no machine here has, ALSA's ``file`` plugin playing a tone
from a file (``.asoundrc`` in a temporary ``HOME``). Each test is bounded: a second or two of
audio at real time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import sys
import time
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from test_cli_live_microphone import fake_mic, kill_left, running, until_ended
from test_live_session import DRAIN_S, EchoPipeline, client, silence, tone

from cloudkit import Cloud, start_cloud
from privcloud import limits
from privcloud.cli import build_parser, microphone
from privcloud.cli import live as live_cli
from privcloud.errors import ConfigError
from privcloud.sdk import Client

#: ALSA devices for arecord: "tonemic" plays :func:`tone_then_silence` from a file.
ASOUNDRC = """pcm.tonemic {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
"""


class Pipelines:
    """The echo pipelines the nodes made, one per session."""

    def __init__(self) -> None:
        self.made: list[EchoPipeline] = []

    def __call__(self, languages: tuple[str, str], targets: tuple[str, str]) -> EchoPipeline:
        self.made.append(EchoPipeline())
        return self.made[-1]


@pytest.fixture
async def cloud(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Cloud, Pipelines]]:
    c = await start_cloud(tokens=True)
    made = Pipelines()
    for node in c.nodes:
        node.live.pipelines = made
        node.live.drain_s = DRAIN_S

    @contextlib.asynccontextmanager
    async def connect(config: object, *, warm: tuple[str, ...] = ()) -> AsyncIterator[Client]:
        async with client(c, c.new_wallet(batch_size=2)) as connected:
            yield connected

    monkeypatch.setattr(live_cli, "connect", connect)
    yield c, made
    await c.stop()


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, for :func:`fake_mic`'s programs, killed at the end if a test left them."""
    yield tmp_path
    kill_left(tmp_path)


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["live", *argv, "--json", "--tail", "0.6"])


def events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def tone_then_silence() -> bytes:
    return tone(0.6) + silence(1.4)


def wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(pcm)
    return path


async def ended(run: asyncio.Future[None], within_s: float = 10.0) -> bool:
    """Whether ``run`` ended within ``within_s`` (cancelled if not, so that the test ends)."""
    done, _ = await asyncio.wait({run}, timeout=within_s)
    if not done:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    return bool(done)


async def test_live_plays_a_file_at_real_time_and_writes_the_speech_out(
    cloud: tuple[Cloud, Pipelines], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call = tmp_path / "call.wav"
    with wave.open(str(call), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(tone(0.6) + silence(0.4))
    out = tmp_path / "speech.wav"
    await live_cli._live(args(str(call), "--speech-out", str(out)))
    shown = events(capsys.readouterr().out)
    assert any(e["kind"] == "caption" and e["channel"] == 0 for e in shown)
    with wave.open(str(out), "rb") as w:
        assert w.getframerate() == 16_000 and w.getnframes() > 0  # the echoed tone


async def test_live_from_the_microphone_through_arecord(
    cloud: tuple[Cloud, Pipelines],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    infile = tmp_path / "mic.raw"
    infile.write_bytes(tone_then_silence())
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(infile=infile))
    monkeypatch.setenv("HOME", str(tmp_path))
    await live_cli._live(args("--mic", "--mic-device", "tonemic", "--seconds", "1"))
    captured = capsys.readouterr()
    heard = [e for e in events(captured.out) if e["kind"] == "caption"]
    assert heard and all(e["channel"] == 0 for e in heard)
    assert "listening (arecord)" in captured.err
    _, pipelines = cloud
    made = pipelines.made
    # One second of the microphone, then the tail's 0.6 s of silence (whole 40 ms frames).
    assert len(made) == 1 and 1.5 <= made[0].fed[0] / 32_000 <= 1.8


async def test_a_capture_program_faster_than_real_time_is_played_at_real_time(
    cloud: tuple[Cloud, Pipelines],
) -> None:
    # ALSA's null device gives its samples as fast as they are read (and not all zeros): a
    # microphone cannot, so the CLI hands them on no sooner than their time.
    started = time.monotonic()
    await live_cli._live(args("--mic", "--mic-device", "null", "--seconds", "0.8"))
    assert time.monotonic() - started >= 0.8 + 0.6
    _, pipelines = cloud
    made = pipelines.made
    assert len(made) == 1 and 1.3 <= made[0].fed[0] / 32_000 <= 1.6


async def test_ctrl_c_ends_the_call_with_its_last_words_committed(
    cloud: tuple[Cloud, Pipelines],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first Ctrl-C stops the microphone; the tail of silence and the drain still run, so
    # the call ends as a whole (FINAL), not cut. The call starts (and Ctrl-C is the command's)
    # a drawn number of first-frame steps after its opening went out, here pinned to one: the
    # signal comes 1 s after that.
    monkeypatch.setattr(limits, "LIVE_MAX_GRID_STEPS", 1)
    step = limits.LIVE_FIRST_FRAME_STEP_S
    loop = asyncio.get_running_loop()
    loop.call_later(step + 1.0, os.kill, os.getpid(), signal.SIGINT)
    started = time.monotonic()
    await live_cli._live(args("--mic", "--mic-device", "null", "--seconds", "30"))
    assert time.monotonic() - started < 10 + step
    assert "stopping the microphone" in capsys.readouterr().err
    _, pipelines = cloud
    assert 1.0 <= pipelines.made[0].fed[0] / 32_000 <= 3.0


async def test_live_from_a_capture_program_of_the_users_choice_until_it_ends(
    cloud: tuple[Cloud, Pipelines], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Any program writing 16 kHz s16le mono to stdout (parec, pw-record, sox -d); this one
    # writes a tone and ends, which ends the capture (an odd last byte is left out).
    pcm = tmp_path / "pcm.raw"
    pcm.write_bytes(tone(0.6) + silence(0.2) + b"\x01")
    write = f"import sys; sys.stdout.buffer.write(open({str(pcm)!r}, 'rb').read())"
    program = shlex.join([sys.executable, "-c", write])
    await live_cli._live(args("--mic", "--mic-command", program))
    assert any(e["kind"] == "caption" for e in events(capsys.readouterr().out))
    _, pipelines = cloud
    made = pipelines.made
    assert 1.3 <= made[0].fed[0] / 32_000 <= 1.6


async def test_a_missing_capture_program_is_refused_before_any_session(
    cloud: tuple[Cloud, Pipelines],
) -> None:
    with pytest.raises(ConfigError, match="no capture program 'no-such-recorder'"):
        await live_cli._live(args("--mic", "--mic-command", "no-such-recorder -r 16000"))
    _, pipelines = cloud
    made = pipelines.made
    assert made == []  # no session was opened, no token spent


async def test_a_microphone_that_cannot_be_opened_is_a_clear_error(
    cloud: tuple[Cloud, Pipelines], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no .asoundrc: the device does not exist
    with pytest.raises(ConfigError, match="the microphone gave no audio: arecord exited"):
        await live_cli._live(args("--mic", "--mic-device", "nosuchmic"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "an audio file or --mic"),
        (("call.wav", "--mic"), "an audio file or --mic"),
        (("--mic", "--seconds", "0"), "--seconds"),
        (("--mic", "--seconds", "601"), "--seconds"),
        (("--mic", "--mic-command", " "), "--mic-command is empty"),
    ],
)
async def test_live_arguments_that_name_no_single_source_are_refused(
    argv: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await live_cli._live(args(*argv))


@pytest.mark.parametrize(
    "command",
    [
        "parec '--raw",  # an unbalanced quote
        "parec --raw \\",  # a backslash at the end
    ],
)
async def test_a_capture_command_that_does_not_split_is_refused(command: str) -> None:
    with pytest.raises(ConfigError, match="--mic-command: No "):
        await live_cli._live(args("--mic", "--mic-command", command))


@pytest.mark.parametrize(
    "command",
    [
        "arecord -q -d 1 | tee call.raw",
        "arecord -q -d 1 > call.raw",
        "arecord -q -d 1 >call.raw",
        "arecord -q -d 1 2>/dev/null",
        "arecord -q -d 1 < /dev/null",
        "arecord -q -d 1 ; true",
        "arecord -q -d 1 && true",
        "arecord -q -d 1 || true",
        "arecord -q -d 1 &",
    ],
)
async def test_shell_operators_in_a_capture_command_are_refused(
    cloud: tuple[Cloud, Pipelines],
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No shell runs the command: arecord would take "|", "tee" and "call.raw" for file names
    # and record into them. The hint is sh -c; no session is opened, nothing is written.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"is a shell operator.*sh -c"):
        await live_cli._live(args("--mic", "--mic-command", command, "--seconds", "1"))
    _, pipelines = cloud
    assert pipelines.made == []
    assert [p.name for p in tmp_path.iterdir()] == []


async def test_a_pipeline_in_sh_c_is_a_capture_command(
    cloud: tuple[Cloud, Pipelines], programs: Path
) -> None:
    command = shlex.join(["sh", "-c", f"{shlex.join(fake_mic(programs, 'tone'))} | cat"])
    await live_cli._live(args("--mic", "--mic-command", command, "--seconds", "0.6"))
    _, pipelines = cloud
    assert pipelines.made[0].fed[0] > 0
    assert await until_ended(programs) == []


@pytest.mark.parametrize("tail", ["nan", "inf", "-1", "600.5", "1e12"])
async def test_a_tail_out_of_range_is_refused_before_any_session(
    cloud: tuple[Cloud, Pipelines], tmp_path: Path, tail: str
) -> None:
    call = wav(tmp_path / "call.wav", tone(0.2))
    argv = ["live", str(call), "--json", f"--tail={tail}"]
    with pytest.raises(ConfigError, match="--tail must be in"):
        await asyncio.wait_for(live_cli._live(build_parser().parse_args(argv)), 20)
    _, pipelines = cloud
    assert pipelines.made == []  # no session was opened, no token spent


async def test_ctrl_c_ends_a_call_whose_microphone_writes_nothing(
    cloud: tuple[Cloud, Pipelines], programs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The program runs but writes nothing (a device that never opens, a suspended sound
    # server): Ctrl-C does not wait for audio that does not come.
    command = shlex.join(fake_mic(programs, "silent"))
    run = asyncio.ensure_future(live_cli._live(args("--mic", "--mic-command", command)))
    while not running(programs) and not run.done():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    os.kill(os.getpid(), signal.SIGINT)
    assert await ended(run)
    run.result()
    assert "stopping the microphone" in capsys.readouterr().err
    assert await until_ended(programs) == []


@pytest.mark.parametrize(
    ("mode", "no_audio_s", "seconds", "message"),
    [
        # --seconds is kept on the clock too: a program that writes nothing is an error then.
        (("silent",), 10.0, "0.5", "no audio from the capture program for 1.5 s"),
        # A program that stops writing is given up on after NO_AUDIO_S, --seconds or not.
        (("stall", "0.4"), 1.0, "30", "no audio from the capture program for 1 s"),
    ],
)
async def test_a_microphone_that_writes_nothing_ends_the_call_with_an_error(
    cloud: tuple[Cloud, Pipelines],
    programs: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
    no_audio_s: float,
    seconds: str,
    message: str,
) -> None:
    monkeypatch.setattr(microphone, "NO_AUDIO_S", no_audio_s)
    command = shlex.join(fake_mic(programs, *mode))
    argv = args("--mic", "--mic-command", command, "--seconds", seconds)
    run = asyncio.ensure_future(live_cli._live(argv))
    assert await ended(run)
    with pytest.raises(ConfigError, match=message):
        run.result()
    assert await until_ended(programs) == []
