import sys
from pathlib import Path

import pytest

# Test helpers (vectors, proxies, cloud builders) live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _private_state_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Command-line clients persist trusted checkpoints under $XDG_STATE_HOME by default; keep
    every test's out of the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))
