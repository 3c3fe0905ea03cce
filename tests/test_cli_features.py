"""The feature commands against a running local cloud (``privcloud up --detach``), and the
hybrid client's device route: the same workload code, run on the device with the smallest
model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aikit import models, needs_ai
from privcloud.sdk.hybrid import HybridClient
from privcloud.sdk.router import DeviceProfile, Placement, Router, UserSettings
from privcloud.workloads.models import SMOLLM2_135M

pytestmark = needs_ai

CLI = [sys.executable, "-m", "privcloud.cli"]
NOTE = (
    "Call with Maria Lopez on Monday. We will meet on Friday at 10:30 to sign the contract. "
    "Remind me to send the passport copy tomorrow. Maria's number is 555 0142."
)


@pytest.fixture(scope="module")
def running_cloud(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("cli-cloud")
    env = dict(os.environ, XDG_STATE_HOME=str(tmp / "state"))
    config = tmp / "privcloud.toml"
    config.write_text(
        f'[cloud]\nrelay_port = 0\ndata_dir = "{tmp / "data"}"\n'
        '[nodes]\ncount = 2\n[models]\nwarm = ["whisper-tiny.en"]\n'
    )
    up = subprocess.run(
        [*CLI, "up", "--config", str(config), "--detach"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    try:
        yield config, env
    finally:
        subprocess.run([*CLI, "down", "--config", str(config)], env=env, timeout=60, check=False)


def _cli(config: Path, env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(
        [*CLI, *args, "--config", str(config)],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"using the local cloud" in result.stderr  # not a cloud of its own
    return result.stdout.decode()


@pytest.mark.slow
def test_transcribe_command_goes_through_the_running_cloud(
    running_cloud: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    from speech import speak

    config, env = running_cloud
    audio = tmp_path / "call.wav"
    audio.write_bytes(speak("Please call the dentist on Thursday morning."))
    out = _cli(config, env, "transcribe", str(audio))
    assert "dentist" in out.lower() and "thursday" in out.lower()


@pytest.mark.slow
def test_extract_command_reads_standard_input_and_prints_json(
    running_cloud: tuple[Path, dict[str, str]],
) -> None:
    config, env = running_cloud
    out = _cli(
        config,
        env,
        "extract",
        "-",
        "--json",
        "--reference-time",
        "2026-11-20T09:00:00+00:00",
        stdin=NOTE.encode(),
    )
    meta = json.loads(out)
    assert any(e["start"].startswith("2026-11-27T10:30") for e in meta["events"])
    assert any("5550142" in (c.get("phone") or "").replace(" ", "") for c in meta["contacts"])


async def test_device_route_runs_the_same_workload_with_the_smallest_model() -> None:
    phone = DeviceProfile(models=frozenset({SMOLLM2_135M, "all-minilm-l6-v2"}))
    hybrid = HybridClient(Router(phone, UserSettings(cloud_allowed=False)), None, models())
    routed = await hybrid.call(
        "extract", {"reference_time": "2026-11-20T09:00:00+00:00"}, NOTE.encode()
    )
    assert routed.route.placement is Placement.DEVICE
    assert routed.result.meta["events"]
    routed = await hybrid.call("summarize", {"max_sentences": 2}, NOTE.encode())
    assert routed.route.placement is Placement.DEVICE
    assert routed.result.meta["model"] == SMOLLM2_135M
    assert routed.result.data
