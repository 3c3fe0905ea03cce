import os
import resource
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# No timing assertions in tests: Hypothesis's default 200 ms deadline per example is one, and it
# failed a Bhttp fuzz test once on a loaded 2-core machine (325 ms). Every property test runs
# without it; the ones that set their own settings inherit this.
settings.register_profile("privcloud", deadline=None)
settings.load_profile("privcloud")

# Tests come in layers: unit/ (sans-IO), vectors/ (official and real vectors), e2e/ (real
# services over loopback), ai/ (real models). Shared helpers and fakes (vectors, proxies, cloud
# builders) live in support/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


def pytest_report_header() -> str:
    """What a failure on another machine may hinge on, at the head of every run's output: its
    CPUs, its descriptor limits (a CI failure once came from a hard limit of 1,024), its load."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} CPUs, open files {soft}/{hard} (soft/hard), load {load}"


@pytest.fixture(autouse=True)
def _private_state_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Command-line clients persist trusted checkpoints under $XDG_STATE_HOME by default; keep
    every test's out of the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))


@pytest.fixture(autouse=True)
def _no_remembered_log_api() -> None:
    """The log client remembers, per base URL, whether a log serves tiles (so short-lived
    clients do not probe). Tests start servers on ports the OS reuses: a test's fake log at
    127.0.0.1:N must not inherit what an earlier test's real log at the same address answered
    (seen once in CI: a proof fetched as tiles from a server that has none, 404)."""
    from privcloud import logclient

    logclient._probed.clear()
