"""The command line: each service started on its own as a process, then one private request
through them with ``privcloud call`` — the way an operator would wire a deployment by hand:
a witness and a transparency log, the node release published with ``privcloud release publish``,
a node that fetches the proof of its release, a gateway and a relay; the client pins the log's
and the witness's keys and (INSECURE, development) the node's simulated-TEE dev root."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from privcloud import limits
from privcloud.cli import build_parser
from privcloud.cli.cloud import _gateway, gateway_worker_argv
from privcloud.cli.runtime import EVENT_LOOP_ENV
from privcloud.localcloud.transparency import LOCAL_WITNESS_NAME
from privcloud.ohttp import decode_key_configs
from privcloud.services.redemption import TokenAuthorizer
from privcloud.services.tlog import DEFAULT_ORIGIN, LOG_KEY_FILE, OPERATOR_KEY_FILE
from privcloud.storage.tlog_store import load_or_create_key
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.note import Ed25519NoteSigner

PRIVCLOUD = [sys.executable, "-m", "privcloud.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 30.0, *, logged: bool = False) -> dict[str, object]:
    """Wait until ``url`` (a /healthz) answers, a gateway's seeing a node and, with
    ``logged``, having logged its directory (devices use no other, ADR 0033)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                doc = json.loads(resp.read())
                if doc.get("healthy_nodes", 1) and (not logged or doc.get("logged_nodes")):
                    return doc  # type: ignore[no-any-return]
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} never opened")


@pytest.fixture
def services(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[str]]:
    """Start the deployment; yield the ``privcloud call`` arguments that reach and trust it.
    Its relay, gateway and node run on the event loop the test names (asyncio by default)."""
    monkeypatch.setenv(EVENT_LOOP_ENV, getattr(request, "param", "asyncio"))
    node, gateway, relay = _free_port(), _free_port(), _free_port()
    witness, log = _free_port(), _free_port()
    data = tmp_path_factory.mktemp("deployment")
    log_dir, witness_dir = data / "log", data / "witness"
    log_dir.mkdir(mode=0o700)
    witness_dir.mkdir(mode=0o700)
    # The operator makes the log's and the witness's keys first, so each can name the other.
    log_key, _ = load_or_create_key(log_dir / LOG_KEY_FILE)
    witness_key, _ = load_or_create_key(witness_dir / "witness.key")
    log_vkey = Ed25519NoteSigner(DEFAULT_ORIGIN, log_key).verifier().vkey()
    witness_vkey = WitnessKey(LOCAL_WITNESS_NAME, witness_key).verifier().vkey()
    log_url = f"http://127.0.0.1:{log}"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "witness",
                    "--log-vkey",
                    log_vkey,
                    "--data-dir",
                    str(witness_dir),
                    "--port",
                    str(witness),
                ],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
            )
        )
        _wait_port(witness)
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "log",
                    "--data-dir",
                    str(log_dir),
                    "--port",
                    str(log),
                    "--witness",
                    f"http://127.0.0.1:{witness}={witness_vkey}",
                ],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
            )
        )
        _wait_port(log)
        subprocess.run(
            [
                *PRIVCLOUD,
                "release",
                "publish",
                "--log",
                log_url,
                "--operator-key",
                str(log_dir / OPERATOR_KEY_FILE),
            ],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=60,
        )
        node_proc = subprocess.Popen(
            [
                *PRIVCLOUD,
                "node",
                "--no-ai",
                "--id",
                "cli-node",
                "--region",
                "eu-west",
                "--port",
                str(node),
                "--log",
                log_url,
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(node_proc)
        assert node_proc.stdout is not None
        dev_root = ""
        for line in node_proc.stdout:
            if line.startswith("simulated TEE dev root (INSECURE) "):
                dev_root = line.split()[-1]
                break
        _wait(f"http://127.0.0.1:{node}/healthz")
        # The operator makes the gateway's OHTTP key and logs its statement before devices use
        # it (key consistency): a device refuses a key configuration that is not logged.
        key_file = data / "gateway-keys.json"
        subprocess.run(
            [
                *PRIVCLOUD,
                "gateway-key",
                "new",
                "--key-file",
                str(key_file),
                "--log",
                log_url,
                "--operator-key",
                str(log_dir / OPERATOR_KEY_FILE),
                "--cosignatures",
                "1",
            ],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=60,
        )
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "gateway",
                    "--node",
                    f"http://127.0.0.1:{node}",
                    "--port",
                    str(gateway),
                    "--key-file",
                    str(key_file),
                    "--log",
                    log_url,
                    "--operator-key",
                    str(log_dir / OPERATOR_KEY_FILE),
                    # It lists the node only once it passes the devices' admission.
                    "--log-vkey",
                    log_vkey,
                    "--witness-vkey",
                    witness_vkey,
                    "--insecure-allow-simulated",
                    "--insecure-simulated-root",
                    dev_root,
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{gateway}/healthz", logged=True)
        procs.append(
            subprocess.Popen(
                [
                    *PRIVCLOUD,
                    "relay",
                    "--gateway",
                    f"http://127.0.0.1:{gateway}",
                    "--port",
                    str(relay),
                    # Devices read the log through the relay (its address kept from the log).
                    "--log",
                    log_url,
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{relay}/healthz")
        yield [
            "--relay",
            f"http://127.0.0.1:{relay}",
            "--log-vkey",
            log_vkey,
            "--witness-vkey",
            witness_vkey,
            "--insecure-simulated-root",
            dev_root,
        ]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            assert p.wait(timeout=10) in (0, -15)
    assert list(tmp_path.iterdir()) == []  # no service wrote a file


@pytest.mark.parametrize("services", ["asyncio", "uvloop"], indirect=True)
def test_call_through_separately_started_services(services: list[str]) -> None:
    out = subprocess.run(
        [
            *PRIVCLOUD,
            "call",
            "echo",
            *services,
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


def test_default_policy_refuses_the_simulated_node(services: list[str]) -> None:
    out = subprocess.run(
        [*PRIVCLOUD, "call", "echo", *services, "--data", "hello"],
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
            [*PRIVCLOUD, "node", "--no-ai", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 2
    assert "port" in out.stderr.lower()


def test_gateway_workers_share_one_port_and_one_key(tmp_path: Path) -> None:
    node, gateway = _free_port(), _free_port()
    key_file = tmp_path / "gateway.key"
    procs = []
    try:
        procs.append(
            subprocess.Popen([*PRIVCLOUD, "node", "--no-ai", "--port", str(node)], cwd=tmp_path)
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
                    "--workers",
                    "2",
                    "--key-file",
                    str(key_file),
                ],
                cwd=tmp_path,
            )
        )
        _wait(f"http://127.0.0.1:{gateway}/healthz")
        assert key_file.stat().st_mode & 0o777 == 0o600
        # Every connection (spread over the workers by the kernel) sees the same key config.
        configs = set()
        for _ in range(20):
            with urllib.request.urlopen(
                f"http://127.0.0.1:{gateway}/.well-known/ohttp-gateway", timeout=5
            ) as r:
                configs.add(r.read())
        assert len(configs) == 1
        # Rotation without a restart: a key added to the file is offered (first) by every
        # worker within GATEWAY_KEY_RELOAD_S, and the old one still accepted.
        added = subprocess.run(
            [*PRIVCLOUD, "gateway-key", "new", "--key-file", str(key_file)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        new_id = json.loads(added.stdout)["key_id"]
        deadline = time.monotonic() + 4 * limits.GATEWAY_KEY_RELOAD_S
        answers: list[tuple[int, ...]] = []
        while time.monotonic() < deadline and len(answers) < 8:  # 8 in a row: both workers
            with urllib.request.urlopen(
                f"http://127.0.0.1:{gateway}/.well-known/ohttp-gateway", timeout=5
            ) as r:
                answers.append(tuple(c.key_id for c in decode_key_configs(r.read())))
            if len(answers[-1]) < 3:  # two first keys (hybrid and X25519), then the new one
                answers.clear()  # a worker has not reloaded yet
            time.sleep(0.2)
        assert len(set(answers)) == 1
        ids = answers[-1]
        assert ids[0] == new_id and len(ids) == 3
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)


def _gateway_refused(*args: str) -> str:
    """``privcloud gateway`` with ``args`` (and a node) exits 2: its standard error."""
    out = subprocess.run(
        [*PRIVCLOUD, "gateway", "--node", "http://127.0.0.1:9", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    return out.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--spend", "never"), "at-check"),  # argparse lists the choices
        (("--spend", "when-accepted"), "--spend needs --issuer"),
        (("--workers", "2", "--port", "1"), "--key-file"),
    ],
    ids=[
        "unknown spend policy",
        "spend policy without an issuer",
        "workers without a key file",
    ],
)
def test_gateway_arguments_that_cannot_work_are_one_clear_message(
    args: tuple[str, ...], said: str
) -> None:
    assert said in _gateway_refused(*args)


def test_gateway_workers_with_a_spend_policy_but_no_issuer_start_and_write_nothing(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "gateway.key"
    said = _gateway_refused(
        "--spend", "at-check", "--workers", "2", "--port", "1", "--key-file", str(key_file)
    )
    assert "--spend needs --issuer" in said
    assert not key_file.exists()


@pytest.mark.parametrize("spend", [None, "at-check", "when-accepted"])
def test_gateway_spend_policy_reaches_the_authorizer(spend: str | None, tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["gateway", "--node", "http://127.0.0.1:9", "--issuer", "http://127.0.0.1:9",
         "--spent-tokens", str(tmp_path / "spent.sqlite3"),
         *(["--spend", spend] if spend else [])]
    )  # fmt: skip
    authorizer = _gateway(args).authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    try:
        assert authorizer.spend == (spend or "at-check")
    finally:
        asyncio.run(authorizer.close())
    # ... and to every --workers process, as given (a worker left without it takes the default).
    worker, _ = gateway_worker_argv(args)
    assert ("--spend" in worker) == (spend is not None)
    if spend is not None:
        assert worker[worker.index("--spend") + 1] == spend


def test_a_database_password_never_reaches_a_gateway_workers_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review (2026-12-07): the gateway copied its --database URL, password and all, into the
    # command line of every --workers process, which every process of the host reads
    # (/proc/PID/cmdline), as k8s's "--database $(DATABASE_URL)" put it into the gateway's own.
    url = "postgresql://privcloud:S3cretPW@db/privcloud"
    base = ["gateway", "--node", "http://n:1", "--issuer", "http://i:1", "--workers", "2",
            "--key-file", "/k", "--port", "8471"]  # fmt: skip
    monkeypatch.setenv("SECRET_DATABASE_URL", url)
    args = build_parser().parse_args([*base, "--database", "env:SECRET_DATABASE_URL"])
    assert args.database == url and "warning" not in capsys.readouterr().err
    worker, env = gateway_worker_argv(args)
    assert not any("S3cretPW" in a for a in worker)
    assert worker[worker.index("--database") + 1] == "env:PRIVCLOUD_DATABASE_URL"
    assert env == {"PRIVCLOUD_DATABASE_URL": url}
    # The worker reads it back from its environment.
    monkeypatch.setenv("PRIVCLOUD_DATABASE_URL", url)
    assert build_parser().parse_args(worker[3:]).database == url
    # A URL with a password on the command line still works, with a warning; its workers get
    # it through the environment all the same.
    args = build_parser().parse_args([*base, "--database", url])
    assert "carries a password" in capsys.readouterr().err
    assert not any("S3cretPW" in a for a in gateway_worker_argv(args)[0])


def test_a_database_named_by_a_missing_environment_variable_is_refused() -> None:
    said = _gateway_refused("--issuer", "http://i:1", "--database", "env:PRIVCLOUD_NO_SUCH_VAR")
    assert "PRIVCLOUD_NO_SUCH_VAR is not set" in said


def test_gateway_node_check_reaches_the_gateway_and_every_worker(tmp_path: Path) -> None:
    vkey = "log.example+01234567+AQ" + "A" * 42
    args = build_parser().parse_args(
        ["gateway", "--node", "http://127.0.0.1:9", "--log", "http://127.0.0.1:9",
         "--operator-key", str(tmp_path / "k"), "--log-vkey", vkey,
         "--insecure-allow-simulated", "--insecure-simulated-root", "ab" * 97,
         "--key-file", str(tmp_path / "keys.json")]
    )  # fmt: skip
    worker, _ = gateway_worker_argv(args)
    assert worker[worker.index("--log-vkey") + 1] == vkey
    assert "--insecure-allow-simulated" in worker
    assert worker[worker.index("--insecure-simulated-root") + 1] == "ab" * 97
    # The check's flags without the log's key are refused, not ignored.
    assert "needs --log-vkey" in _gateway_refused("--insecure-allow-simulated")


def test_a_log_operator_cannot_read_the_devices_address_off_a_direct_log_read(
    services: list[str],
) -> None:
    # A review: `privcloud call --log URL` read the log from the device's own address, right
    # before its request; the log's operator, who runs the gateway too, could tie the two.
    # The client reads the log through the relay only.
    direct = "http://127.0.0.1:9"  # (any URL but the relay's /log)
    out = subprocess.run(
        [*PRIVCLOUD, "call", "echo", *services, "--log", direct, "--data", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0 and "through the relay" in out.stderr
