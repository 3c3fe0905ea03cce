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


@pytest.mark.slow
def test_summarize_command_prints_the_summary_and_the_guard(
    running_cloud: tuple[Path, dict[str, str]],
) -> None:
    config, env = running_cloud
    result = subprocess.run(
        [*CLI, "summarize", "-", "--config", str(config)],
        env=env,
        input=NOTE.encode(),
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip()
    assert b"hallucination guard: kept" in result.stderr


@pytest.mark.slow
def test_translate_commands_for_text_and_speech(
    running_cloud: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    from speech import speak

    config, env = running_cloud
    out = _cli(config, env, "translate", "-", "--text", "--from", "es", stdin=b"Hola, amigo.")
    assert out.strip()
    audio = tmp_path / "es.wav"
    audio.write_bytes(speak("Hola, soy Carlos. Mañana tenemos una reunión.", "es", rate=120))
    meta = json.loads(_cli(config, env, "transcribe", str(audio), "--translate", "--json"))
    assert meta["source_language"] == "es" and meta["target_language"] == "en"
    assert meta["text"].strip()


@pytest.mark.slow
def test_search_command_ranks_the_items_file(
    running_cloud: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    config, env = running_cloud
    items = tmp_path / "notes.txt"
    items.write_text(
        "Buy oat milk and eggs\nDentist on Thursday at 9\nCall the bank about the card\n"
    )
    out = _cli(config, env, "search", "when is my dentist appointment", "--items", str(items))
    assert out.splitlines()[0].startswith("1.") and "[2]" in out.splitlines()[0]


def test_imagine_without_an_image_model_names_the_fix(
    running_cloud: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    config, env = running_cloud
    result = subprocess.run(
        [*CLI, "imagine", "a lighthouse", "-o", str(tmp_path / "x.png"), "--config", str(config)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert b"PRIVCLOUD_IMAGE_MODEL" in result.stderr and b"Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_a_command_starts_its_own_cloud_when_none_runs(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    config = tmp_path / "privcloud.toml"
    config.write_text(f'[cloud]\ndata_dir = "{tmp_path / "none"}"\n')
    result = subprocess.run(
        [
            *CLI,
            "extract",
            "-",
            "--json",
            "--config",
            str(config),
            "--reference-time",
            "2026-11-20T09:00:00+00:00",
        ],
        env=env,
        input=NOTE.encode(),
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"starting one for this command" in result.stderr
    assert json.loads(result.stdout)["events"]
