"""The command line: each service started on its own as a process, then one private request
through them with ``privcloud call`` — the way an operator would wire a deployment by hand."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PRIVCLOUD = [sys.executable, "-m", "privcloud.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                doc = json.loads(resp.read())
                if doc.get("healthy_nodes", 1):
                    return doc  # type: ignore[no-any-return]
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[str]:
    node, gateway, relay = _free_port(), _free_port(), _free_port()
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "node",
                    "--id",
                    "cli-node",
                    "--region",
                    "eu-west",
                    "--port",
                    str(node),
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{node}/healthz")
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "gateway",
                    "--node",
                    f"http://127.0.0.1:{node}",
                    "--port",
                    str(gateway),
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{gateway}/healthz")
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "relay",
                    "--gateway",
                    f"http://127.0.0.1:{gateway}",
                    "--port",
                    str(relay),
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{relay}/healthz")
        yield f"http://127.0.0.1:{relay}"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            assert p.wait(timeout=10) in (0, -15)
    assert list(tmp_path.iterdir()) == []  # no service wrote a file


def test_call_through_separately_started_services(services: str) -> None:
    out = subprocess.run(
        [
            *PRIVCLOUD,
            "call",
            "echo",
            "--relay",
            services,
            "--data",
            "hello",
            "-k",
            "1",
            "--insecure-allow-simulated",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout)["data"] == "hello"


def test_default_policy_refuses_the_simulated_node(services: str) -> None:
    out = subprocess.run(
        [*PRIVCLOUD, "call", "echo", "--relay", services, "--data", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "NoHealthyNodeError" in out.stderr


def test_port_in_use_gives_one_clear_message() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [*PRIVCLOUD, "node", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 2
    assert "port" in out.stderr.lower()
