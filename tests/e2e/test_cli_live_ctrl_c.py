"""Ctrl-C in ``privcloud live --mic``, as the command runs: ``privcloud.cli.main`` under its own
``asyncio.run``, in a process of its own (this file run as a script) against a local cloud of
echo pipelines (as in ``test_cli_live``) started in that loop, sent SIGINT by the test. In a
process of its own because a SIGINT the command leaves to Python's default handler would
interrupt the test run itself.

The first Ctrl-C ends the audio and the call ends whole; a second cancels it at once (exit
status 130). Either way the capture program is gone when the command returns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from test_cli_live import Pipelines
from test_cli_live_microphone import fake_mic, kill_left, pids, state
from test_live_session import DRAIN_S, client

from cloudkit import start_cloud
from privcloud.cli import live as live_cli
from privcloud.cli import main
from privcloud.sdk import Client

HERE = Path(__file__).resolve().parent


def run_privcloud_live(
    tmp_path: Path, argv: list[str], sigint_after_s: list[float]
) -> tuple[dict[str, object], str]:
    """Run ``privcloud live ARGV`` in a child process; send it SIGINT ``sigint_after_s`` after its
    capture program started (each after the one before); its report and standard error."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent / "support"), str(HERE)]),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    child = subprocess.Popen(
        [sys.executable, __file__, str(tmp_path / "pids"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not pids(tmp_path) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        for after_s in sigint_after_s:
            time.sleep(after_s)
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        kill_left(tmp_path)
    reports = [json.loads(line) for line in out.splitlines() if line.startswith('{"status"')]
    assert reports, err[-2000:]
    return reports[-1], err


def test_ctrl_c_after_the_microphone_stopped_cuts_the_tail_and_ends_the_call(
    tmp_path: Path,
) -> None:
    # The capture ended (--seconds); the first Ctrl-C in the tail of silence (30 s here) ends
    # the call as a whole, the drain included: no KeyboardInterrupt, exit status 0.
    command = shlex.join(fake_mic(tmp_path, "tone"))
    argv = ["--mic", "--mic-command", command, "--seconds", "0.4", "--tail", "30"]
    report, err = run_privcloud_live(tmp_path, argv, [3.0])
    assert report["status"] == 0, err[-2000:]
    assert "ending the call (Ctrl-C again to stop at once)" in err
    assert "call ended" in err
    assert isinstance(fed := report["fed_s"], float) and 0.4 <= fed < 20
    assert report["programs"] == ["gone"]


def test_a_second_ctrl_c_stops_at_once_and_kills_a_program_that_ignores_sigterm(
    tmp_path: Path,
) -> None:
    # The first Ctrl-C stops the microphone, whose program ignores SIGTERM (killed after a
    # grace of 2 s); a second, within the grace, cancels the call: the program is killed all
    # the same, before the command returns.
    command = shlex.join(fake_mic(tmp_path, "stubborn"))
    report, err = run_privcloud_live(tmp_path, ["--mic", "--mic-command", command], [1.0, 0.5])
    assert report["status"] == 130, err[-2000:]
    assert "stopping the microphone" in err
    assert report["programs"] == ["gone"]


def _child(pidfile: Path, argv: list[str]) -> None:
    """``privcloud live ARGV`` against a local cloud started in the command's own loop; then one
    line of JSON: the exit status, the capture programs' states, the seconds fed on channel 0."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal
    live = live_cli._live
    made = Pipelines()

    async def live_with_a_cloud(args: argparse.Namespace) -> None:
        cloud = await start_cloud(tokens=True)
        for node in cloud.nodes:
            node.live.pipelines = made
            node.live.drain_s = DRAIN_S

        @contextlib.asynccontextmanager
        async def connect(config: object, *, warm: tuple[str, ...] = ()) -> AsyncIterator[Client]:
            async with client(cloud, cloud.new_wallet(batch_size=2)) as connected:
                yield connected

        live_cli.connect = connect
        try:
            await live(args)
        finally:
            await cloud.stop()

    live_cli._live = live_with_a_cloud
    status = main(["live", *argv, "--json"])
    fed = [p.fed[0] / 32_000 for p in made.made]
    programs = [state(pid) for pid in [int(x) for x in pidfile.read_text().split()]]
    report = {"status": status, "programs": programs, "fed_s": fed[0] if fed else None}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    _child(Path(sys.argv[1]), sys.argv[2:])
