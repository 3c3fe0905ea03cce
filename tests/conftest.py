import sys
from pathlib import Path

import pytest

# Tests come in layers: unit/ (sans-IO), vectors/ (official and real vectors), e2e/ (real
# services over loopback), ai/ (real models). Shared helpers and fakes (vectors, proxies, cloud
# builders) live in support/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


@pytest.fixture(autouse=True)
def _private_state_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Command-line clients persist trusted checkpoints under $XDG_STATE_HOME by default; keep
    every test's out of the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))
