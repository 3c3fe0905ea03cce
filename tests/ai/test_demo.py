"""``privcloud demo``: the README's first command ends in a whole, verified run of the system.

One run of the real command (a subprocess, as a newcomer runs it) with private temporary and
state directories, checked section by section.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from aikit import needs_ai

pytestmark = [needs_ai, pytest.mark.slow]


class Demo(NamedTuple):
    out: str
    tmp: Path
    err: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    tmp = tmp_path_factory.mktemp("demo")
    (tmp / "tmp").mkdir()
    env = dict(os.environ, TMPDIR=str(tmp / "tmp"), XDG_STATE_HOME=str(tmp / "state"))
    run = subprocess.run(
        [sys.executable, "-m", "privcloud.cli", "demo"],
        capture_output=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    return Demo(run.stdout.decode(), tmp, run.stderr.decode())


def test_demo_admits_every_node_through_the_full_procedure(demo: Demo) -> None:
    out = demo.out
    assert out.count("admitted") >= 3
    for check in ("evidence-valid", "report-data-binds-key", "release-in-log", "policy"):
        assert check in out
    assert "log signature + witness cosignature verified" in out
    assert "eu-west" in out and "us-east" in out


def test_demo_runs_the_sample_call_through_every_feature(demo: Demo) -> None:
    out = demo.out
    transcript = out.split("transcribe (", 1)[1].split("summarize (", 1)[0].lower()
    for word in ("maria", "lisbon", "friday", "monday", "contract"):
        assert word in transcript
    assert "guard: kept " in out
    assert "detected es" in out
    extracted = out.split("extract (", 1)[1].split("[5/5]", 1)[0]
    assert "T15:00:00" in extracted  # "Monday at 3pm", resolved
    assert "555-0142" in extracted
    # Titles name the thing, with its destination or purpose.
    assert '"title": "flight to Lisbon"' in extracted
    assert '"title": "meeting to sign the contract"' in extracted


def test_demo_prints_no_library_chatter_only_one_line_that_sums_it_up(demo: Demo) -> None:
    # Standard error holds the INSECURE banner and nothing else: llama.cpp's messages, progress
    # bars, warnings and log records are counted in one line at the end of the output.
    assert demo.err.strip().startswith("WARNING: INSECURE local cloud")
    assert len(demo.err.strip().splitlines()) == 2, demo.err
    summary = [line for line in demo.out.splitlines() if "kept quiet while it ran: " in line]
    assert len(summary) == 1 and "logged by privcloud" in summary[0], summary
    steps = demo.out.replace(summary[0], "")
    for raw in ("llama_", "ggml", "it/s]", "WARNING privcloud", "Warning:"):
        assert raw not in steps, raw


def test_demo_shows_each_dropped_sentence_with_its_reason(demo: Demo) -> None:
    guard = demo.out.split("guard: kept ", 1)[1].split("translate (", 1)[0]
    dropped = int(re.match(r"\d+, dropped (\d+)", guard).group(1))  # type: ignore[union-attr]
    lines = [line.strip() for line in guard.splitlines() if line.strip().startswith("dropped")]
    assert len(lines) == dropped
    for line in lines:  # the sentence, quoted, then why
        assert re.fullmatch(r'dropped "[^"]+": \S.*', line), line


def test_demo_shows_the_token_spent_but_not_the_token(demo: Demo) -> None:
    out = demo.out
    assert "anonymous tokens in one blind batch" in out
    assert "last token spent: key id " in out and "nonce hash " in out
    assert "PrivateToken" not in out


def test_demo_shows_the_node_directory_proven_in_the_log(demo: Demo) -> None:
    assert "node directory: the logged statement of its 3 nodes" in demo.out


def test_demo_shows_what_each_party_saw(demo: Demo) -> None:
    out = demo.out
    views = out.split("each party received:", 1)[1]
    for party in ("relay", "gateway", "node-", "issuer"):
        assert party in views
    assert "message/ohttp-req" in views and "application/privcloud-envelope" in views


def test_demo_leaves_no_temporary_file(demo: Demo) -> None:
    assert list((demo.tmp / "tmp").iterdir()) == []
