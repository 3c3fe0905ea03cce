"""``privcloud up | down | status`` and the configuration file: a long-running local cloud
that starts from a config, answers health checks, and stops leaving only its data directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from privcloud.errors import ConfigError
from privcloud.localcloud.cloudconfig import CloudConfig, check_models, load

CLI = [sys.executable, "-m", "privcloud.cli"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "privcloud.toml"
    path.write_text(text)
    return path


def test_missing_file_means_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load()
    assert config == CloudConfig()
    assert [n.region for n in config.nodes()] == ["eu-west", "us-east", "eu-west"]


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"""
[cloud]
relay_port = 0
data_dir = "{tmp_path / "data"}"
tokens = false
[nodes]
count = 4
regions = ["eu-central", "ap-south"]
[models]
ai = false
warm = ["whisper-tiny.en"]
live_translation = "fast"
""",
    )
    config = load(path)
    assert config.relay_port == 0 and not config.tokens and not config.ai
    assert config.model_config().live_translation == "fast"
    assert CloudConfig().model_config().live_translation == "accurate"
    assert config.data_dir == tmp_path / "data"
    assert [n.region for n in config.nodes()] == ["eu-central", "ap-south"] * 2
    assert config.run_file == tmp_path / "data" / "cloud.json"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[cloud]\nrelay_port = 70000\n", "cloud.relay_port"),
        ('[cloud]\nrelay_port = "8470"\n', "cloud.relay_port"),
        ('[cloud]\nhost = "0.0.0.0"\n', "cloud.host"),
        ("[cloud]\nport = 1\n", "cloud.port"),
        ("[clouds]\n", "[clouds]"),
        ("[nodes]\ncount = 0\n", "nodes.count"),
        ("[nodes]\nregions = []\n", "nodes.regions"),
        ('[models]\nwarm = ["gpt-5"]\n', "models.warm"),
        ('[models]\ndevice = "tpu"\n', "models.device"),
        ('[models]\nlive_translation = "best"\n', "models.live_translation"),
        ('[models]\nimage_model_dir = "/nonexistent"\n', "models.image_model_dir"),
        ('[models]\ninpaint_model_dir = "/nonexistent"\n', "models.inpaint_model_dir"),
        ("[cloud\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_message_naming_the_key(
    tmp_path: Path, text: str, names: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert names in str(err.value)
    assert str(path) in str(err.value)


def test_unreadable_config_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        load(tmp_path / "missing.toml")


def test_missing_model_packages_name_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"make setup.*models\.ai = false"):
        check_models((), CloudConfig())
    check_models((), CloudConfig(ai=False))  # no AI asked: nothing missing


def _run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    return env


@pytest.mark.slow
def test_up_status_down_leaves_only_the_data_directory(tmp_path: Path) -> None:
    env = _env(tmp_path)
    data = tmp_path / "data"
    text = f'[cloud]\nrelay_port = 0\ndata_dir = "{data}"\n[models]\nai = false\n'
    config = _write(tmp_path, text)
    up = _run("up", "--config", str(config), "--detach", env=env)
    assert up.returncode == 0, up.stderr
    try:
        run_file = json.loads((data / "cloud.json").read_text())
        pid = run_file["pid"]
        assert oct((data / "cloud.json").stat().st_mode & 0o777) == "0o600"

        status = _run("status", "--config", str(config), env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        for party in ("relay", "gateway", "node-1", "node-2", "node-3", "issuer", "log"):
            assert f"up    {party}" in status.stdout

        # Researcher commands, pinned from the running cloud's run file (they keep their own
        # trusted checkpoint: a state directory of their own).
        cc = ["--local", "--cloud-config", str(config)]
        researcher = dict(env, XDG_STATE_HOME=str(tmp_path / "researcher"))
        verify = _run("node", "verify", "node-2", *cc, "--insecure-allow-simulated", env=researcher)
        assert verify.returncode == 0, verify.stderr
        assert "release-in-log" in verify.stdout and "policy" in verify.stdout
        # The default policy refuses the simulated TEE.
        refused = _run("node", "verify", "node-2", *cc, env=researcher)
        assert refused.returncode != 0 and "TEE type not allowed" in refused.stderr
        audit = _run("log", "audit", *cc, env=researcher)
        assert audit.returncode == 0, audit.stderr
        release = _run("release", "verify", *cc, "--index", "0", env=researcher)
        assert release.returncode == 0, release.stdout + release.stderr

        again = _run("up", "--config", str(config), "--detach", env=env)
        assert again.returncode == 2 and "already runs" in again.stderr
    finally:
        down = _run("down", "--config", str(config), env=env)
    assert down.returncode == 0, down.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (data / "cloud.json").exists()
    assert _run("status", "--config", str(config), env=env).returncode == 3
    # Nothing outside the data directory: no temporary files, no state files.
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("*.json"))
    assert sorted(p.name for p in data.iterdir()) == [
        "cloud.lock",
        "cloud.log",
        "gateway",  # the OHTTP key ring (its statements are in the log)
        "log",
        "tokens",
        "witness",
    ]
    assert data.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_port_in_use_is_one_clear_message(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = _run(
            "up", "--no-ai", "--relay-port", str(port), "--data-dir", str(tmp_path / "d"), env=env
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "relay-port" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "d" / "cloud.json").exists()


def test_down_without_a_cloud_says_so(tmp_path: Path) -> None:
    env = _env(tmp_path)
    result = _run("down", "--data-dir", str(tmp_path / "nothing"), env=env)
    assert result.returncode == 0 and "no local cloud runs" in result.stdout
    assert tempfile.gettempdir()  # the runner's own temp dir is untouched


def test_a_run_file_others_could_write_is_refused(tmp_path: Path) -> None:
    from privcloud.cli.session import read_run_file

    config = CloudConfig(data_dir=tmp_path)
    config.run_file.write_text('{"relay": "http://attacker.example"}')
    config.run_file.chmod(0o644)
    with pytest.raises(ConfigError, match="not your private file"):
        read_run_file(config)
    config.run_file.unlink()
    config.run_file.symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text("{}")
    with pytest.raises(ConfigError):
        read_run_file(config)


def test_a_name_that_starts_like_loopback_is_not_loopback(tmp_path: Path) -> None:
    path = _write(tmp_path, '[cloud]\nhost = "127.0.0.1.attacker.example"\n')
    with pytest.raises(ConfigError, match=r"cloud\.host"):
        load(path)
