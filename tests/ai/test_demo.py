"""``privcloud demo``: the README's first command ends in a whole, verified run of the system.

One run of the real command (a subprocess, as a newcomer runs it) with private temporary and
state directories, checked section by section.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aikit import needs_ai

pytestmark = [needs_ai, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
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
    return run.stdout.decode(), tmp


def test_demo_admits_every_node_through_the_full_procedure(demo: tuple[str, Path]) -> None:
    out, _ = demo
    assert out.count("admitted") >= 3
    for check in ("evidence-valid", "report-data-binds-key", "release-in-log", "policy"):
        assert check in out
    assert "log signature + witness cosignature verified" in out
    assert "eu-west" in out and "us-east" in out


def test_demo_runs_the_sample_call_through_every_feature(demo: tuple[str, Path]) -> None:
    out, _ = demo
    transcript = out.split("transcribe (", 1)[1].split("summarize (", 1)[0].lower()
    for word in ("maria", "lisbon", "friday", "monday", "contract"):
        assert word in transcript
    assert "guard: kept " in out
    assert "detected es" in out
    extracted = out.split("extract (", 1)[1].split("[5/5]", 1)[0]
    assert "T15:00:00" in extracted  # "Monday at 3pm", resolved
    assert "555-0142" in extracted


def test_demo_shows_the_token_spent_but_not_the_token(demo: tuple[str, Path]) -> None:
    out, _ = demo
    assert "anonymous tokens in one blind batch" in out
    assert "last token spent: key id " in out and "nonce hash " in out
    assert "PrivateToken" not in out


def test_demo_shows_what_each_party_saw(demo: tuple[str, Path]) -> None:
    out, _ = demo
    views = out.split("each party received:", 1)[1]
    for party in ("relay", "gateway", "node-", "issuer"):
        assert party in views
    assert "message/ohttp-req" in views and "application/privcloud-envelope" in views


def test_demo_leaves_no_temporary_file(demo: tuple[str, Path]) -> None:
    _, tmp = demo
    assert list((tmp / "tmp").iterdir()) == []
