"""No core dumps from a serving process (privcloud.hardening): a native crash in llama.cpp or
CTranslate2 would write the requests it held, and the node's keys, into a core file; a relay's
core holds device addresses, a gateway's its OHTTP key, an issuer's, log's or witness's its
signing keys. Each switches them off when it starts: ``privcloud node``, ``privcloud up``,
``relay``, ``gateway``, ``issuer serve``, ``log`` and ``witness`` (checked here, their entry
points run in a fresh interpreter up to the point where they would serve) and the live pipeline
child (tests/e2e/test_live_process.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corekit import NO_CORE_DUMPS, linux_only

SUPPORT = Path(__file__).resolve().parents[1] / "support"

#: Runs ``privcloud ARGS``, and where the command would start serving, prints its settings.
_ENTRY = """
import sys, types
from corekit import core_dump_settings
from privcloud.cli import cloud, lifecycle, main, tlog, tokens

class Reported(Exception):
    pass

def report(*args, **kwargs):
    for arg in args:
        getattr(arg, "close", lambda: None)()  # a coroutine that will not run
    print("settings", *core_dump_settings())
    raise Reported

cloud.run_service = report  # privcloud node, relay, gateway: where it would serve
tokens.run_service = report  # privcloud issuer serve
tlog.asyncio = types.SimpleNamespace(run=report)  # privcloud log, witness
lifecycle._config = report  # privcloud up: before it reads its configuration
try:
    main(sys.argv[1:])
except Reported:
    pass
"""


def _settings_of(*args: str, tmp_path: Path) -> tuple[int, ...]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SUPPORT), *sys.path])
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    result = subprocess.run(
        [sys.executable, "-c", _ENTRY, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("settings ")]
    assert lines, result.stdout + result.stderr[-2000:]
    return tuple(int(value) for value in lines[-1].split()[1:])


@linux_only
def test_a_node_process_crash_leaves_no_core_dump(tmp_path: Path) -> None:
    assert _settings_of("node", "--no-ai", "--port", "0", tmp_path=tmp_path) == NO_CORE_DUMPS


@linux_only
def test_a_local_cloud_process_crash_leaves_no_core_dump(tmp_path: Path) -> None:
    assert _settings_of("up", "--no-ai", "--data-dir", str(tmp_path / "d"), tmp_path=tmp_path) == (
        NO_CORE_DUMPS
    )


@linux_only
@pytest.mark.parametrize(
    "args",
    [
        ("relay", "--gateway", "http://127.0.0.1:9", "--port", "0"),
        ("gateway", "--node", "http://127.0.0.1:9", "--port", "0"),
        ("issuer", "serve", "--data-dir", "issuer", "--port", "0"),
        ("log", "--data-dir", "log", "--port", "0"),
        ("witness", "--data-dir", "witness", "--log-vkey", "any", "--port", "0"),
    ],
    ids=["relay", "gateway", "issuer", "log", "witness"],
)
def test_a_service_process_crash_leaves_no_core_dump_of_addresses_or_keys(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    assert _settings_of(*args, tmp_path=tmp_path) == NO_CORE_DUMPS


_FORBID = """
import resource, subprocess
from corekit import core_dump_settings
from privcloud.hardening import forbid_core_dumps
forbid_core_dumps()
forbid_core_dumps()  # twice: the second changes nothing
print(*core_dump_settings())
try:
    resource.setrlimit(resource.RLIMIT_CORE, (1 << 20, 1 << 20))
except ValueError:
    print("cannot raise the limit again")
print("child", subprocess.run(["sh", "-c", "ulimit -c"], capture_output=True, text=True).stdout)
"""


@linux_only
def test_core_dumps_once_off_stay_off_in_the_process_and_its_programs() -> None:
    """The hard limit is 0 too, so the process cannot raise it again, and programs it runs
    (espeak-ng) inherit it; the dumpable flag is reset by exec, each Python child sets it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SUPPORT), *sys.path]))
    result = subprocess.run(
        [sys.executable, "-c", _FORBID],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["0 0 0", "cannot raise the limit again", "child 0"]
