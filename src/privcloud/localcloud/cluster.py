"""A private cloud as separate processes on loopback: N relays, N gateways, 2+ issuers, M nodes,
a transparency log (one sequencer, optionally log readers that the relays read through) and its
witness, each a ``python -m privcloud.cli ...`` service command.

Replicas share what they must through files or one database and nothing else:

* gateways share one OHTTP :class:`~privcloud.services.gateway_key.KeyRing` file (ADR 0009:
  every gateway offers the same logged key) and one spent-token store; they listen on **one
  port** with ``SO_REUSEPORT``, so the kernel spreads connections over the live ones (what a
  Kubernetes Service does across pods);
* issuers share one issuer store (keys, devices, quotas) and one port, so they are one issuer
  (one name, one key set) to devices;
* relays are independent, each on its own port (a device uses one);
* nodes run in the INSECURE simulated TEE, as the local cloud's do, each on its own port.

With ``ClusterSpec.database`` (a ``postgresql://`` URL) the stores are in PostgreSQL
(``--database URL`` on each service); without it they are SQLite files (WAL) under the data
directory, shared by the processes on this machine.

Each process writes standard output and error to ``<data_dir>/logs/<name>.log``; its URL is read
from the ``listening on`` line it prints. :meth:`Cluster.kill` SIGKILLs one process and
:meth:`Cluster.restart` starts it again on the same port with the same arguments (the chaos test,
``tests/e2e/test_chaos_cluster.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from privcloud import limits
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.errors import ConfigError, PrivcloudError
from privcloud.fileio import write_atomic
from privcloud.logclient import LogClient
from privcloud.netio import is_loopback, read_bounded
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.trust_store import TrustStore
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.gateway_key import load_or_create
from privcloud.services.keylog import KeyLog
from privcloud.services.redemption import SpendPolicy
from privcloud.storage.database import child_database
from privcloud.storage.tlog_store import load_key
from privcloud.trust.directory import decode_descriptor
from privcloud.wire import jsonio

LOOPBACK = "127.0.0.1"
#: The line every service command prints once it serves.
_LISTENING = re.compile(r"listening on (http://\S+)")
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
_REGIONS = ("eu-west", "us-east")
#: Seconds to wait for the nodes' bundles before publishing the release again, and how often.
_ATTEST_WAIT_S = 15.0
_PUBLISH_ATTEMPTS = 4


@dataclass(frozen=True)
class ClusterSpec:
    """How many of each service, and where the shared state lives."""

    relays: int = 2
    gateways: int = 3
    issuers: int = 2
    nodes: int = 4
    #: Log readers (``privcloud log --read-only``) beside the one sequencer; the relays read
    #: the log through them. Needs a PostgreSQL ``database``.
    log_readers: int = 0
    #: ``postgresql://...`` (or ``sqlite:///...``) passed as ``--database`` to the gateways,
    #: issuers and log; None: SQLite files under the data directory.
    database: str | None = None
    #: Tokens per device per period (the chaos test spends thousands from few devices).
    issuer_quota: int = 100_000
    host: str = LOOPBACK
    #: The witness's key type (``privcloud witness --key-type``): "ed25519" or "ml-dsa-44".
    witness_key_type: str = "ed25519"
    #: When the gateways charge a token (``privcloud gateway --spend``; docs/adr/0029).
    spend: SpendPolicy = "at-check"

    def __post_init__(self) -> None:
        if not is_loopback(self.host):
            raise ConfigError("the cluster launcher listens on loopback only")
        for what, count, least in (
            ("relays", self.relays, 1),
            ("gateways", self.gateways, 1),
            ("issuers", self.issuers, 1),
            ("nodes", self.nodes, 1),
            ("log_readers", self.log_readers, 0),
        ):
            if not least <= count <= limits.MAX_CLUSTER_REPLICAS:
                raise ConfigError(
                    f"{what}: between {least} and {limits.MAX_CLUSTER_REPLICAS} processes"
                )
        if self.log_readers and not (self.database or "").startswith("postgresql"):
            raise ConfigError("log readers share the log's PostgreSQL store: set database")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports free on ``host`` now (bound at once, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def privcloud_argv(*args: str) -> list[str]:
    """The command line of one ``privcloud`` command run by this interpreter."""
    return [sys.executable, "-m", "privcloud.cli", *args]


async def wait_attested(node_urls: list[str], timeout: float = _START_TIMEOUT_S) -> None:
    """Wait until each node serves a descriptor with an attestation bundle (it has proven its
    release in the log; clients refuse a node without one)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for url in node_urls:
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, PrivcloudError):
                    async with session.get(
                        f"{url}/v1/attestation", timeout=aiohttp.ClientTimeout(total=2.0)
                    ) as resp:
                        body = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
                        if resp.status == 200 and decode_descriptor(body).bundle is not None:
                            break
                if time.monotonic() > deadline:
                    raise ConfigError(f"a node did not prove its release in the log: {url}")
                await asyncio.sleep(0.2)


@dataclass
class ServiceProcess:
    """One service process: its command line (kept, so a restart is the same service), its
    port and log file."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    host: str = LOOPBACK
    #: What the process's environment adds (a database URL: never on a command line).
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _offset: int = 0
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def spawn(self) -> None:
        """Start the process (its output appended to :attr:`log_path`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as out:
            # Our own interpreter and module, arguments built here: no shell, no user program.
            self.proc = subprocess.Popen(  # noqa: S603
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        self.starts += 1

    def output(self) -> str:
        """What this start of the process has printed so far."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._offset)
                return fh.read(limits.MAX_CLUSTER_LOG_READ).decode(errors="replace")
        except OSError:
            return ""

    async def wait_listening(self, timeout: float = _START_TIMEOUT_S) -> str:
        """Wait for the ``listening on URL`` line; return the URL. :class:`ConfigError` when
        the process exits first or does not listen within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            match = _LISTENING.search(self.output())
            if match is not None:
                return match.group(1)
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise ConfigError(
                    f"{self.name} exited (status {code}) before listening: see {self.log_path}"
                )
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"{self.name} did not listen in {timeout:.0f} s: see {self.log_path}"
                )
            await asyncio.sleep(0.05)

    def banner(self, label: str) -> str:
        """The value of the first ``label  value`` line this start printed."""
        match = re.search(rf"^{re.escape(label)}\s+(\S+)", self.output(), re.MULTILINE)
        if match is None:
            raise ConfigError(f"{self.name} did not print its {label}: see {self.log_path}")
        return match.group(1)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=_STOP_TIMEOUT_S)

    def terminate(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within ``_STOP_TIMEOUT_S``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Cluster:
    """Starts and stops the processes of a :class:`ClusterSpec`; the URLs and keys a client
    pins are attributes once :meth:`start` returned."""

    spec: ClusterSpec = field(default_factory=ClusterSpec)
    #: Keys, SQLite files and logs; None: a temporary directory, removed by :meth:`stop`.
    data_dir: Path | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    log_url: str = ""
    log_vkey: str = ""
    #: The log readers' URLs (``ClusterSpec.log_readers``).
    log_reader_urls: list[str] = field(default_factory=list)
    witness_vkey: str = ""
    gateway_url: str = ""
    issuer_url: str = ""
    relay_urls: list[str] = field(default_factory=list)
    node_urls: list[str] = field(default_factory=list)
    #: Dev roots of the nodes' INSECURE simulated TEEs (one, shared by every node process
    #: through its key file, restarts included).
    insecure_roots: list[bytes] = field(default_factory=list)
    _tmp: str | None = None

    # --- paths and arguments ------------------------------------------------------------------

    @property
    def root(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir

    @property
    def operator_key_file(self) -> Path:
        return self.root / "log" / "operator.key"

    @property
    def gateway_key_file(self) -> Path:
        return self.root / "gateway" / "ohttp-keys.json"

    @property
    def _env(self) -> dict[str, str]:
        """What every process's environment adds: the database's URL, when there is one."""
        return child_database(self.spec.database)[1]

    def _store_args(self, role: str) -> list[str]:
        """Where ``role``'s state lives: ``--database env:NAME`` (the URL in the processes'
        environment: :attr:`_env`), or its SQLite file."""
        if self.spec.database is not None:
            return child_database(self.spec.database)[0]
        if role == "gateway":
            return ["--spent-tokens", str(self.root / "gateway" / "spent-tokens.sqlite3")]
        return []

    def _add(self, name: str, port: int, *args: str) -> ServiceProcess:
        service = ServiceProcess(
            name,
            privcloud_argv(*args),
            port,
            self.root / "logs" / f"{name}.log",
            host=self.spec.host,
            # The database's URL only to the services given a store (not relays, nodes).
            env=self._env if "--database" in args else {},
        )
        self.processes[name] = service
        return service

    async def _run(self, *args: str) -> str:
        """Run one short ``privcloud`` command; its standard output. ConfigError on failure."""
        proc = await asyncio.create_subprocess_exec(
            *privcloud_argv(*args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(self._env if "--database" in args else {})},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), _START_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ConfigError(f"privcloud {args[0]} {args[1]} did not finish in time") from None
        if proc.returncode != 0:
            cause = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ConfigError(f"privcloud {args[0]} {args[1]} failed: {cause[0]}")
        return out.decode(errors="replace")

    # --- start and stop -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every process in dependency order and wait until the gateways see every node.
        Raises :class:`ConfigError` (naming the process and its log file) when one fails;
        nothing started stays running."""
        if self.data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="privcloud-cluster-")
            self.data_dir = Path(self._tmp)
        for sub in ("log", "witness", "gateway", "issuer", "logs"):
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            await self._start_transparency()
            await self._start_nodes()
            await self._start_tokens_and_gateways()
            await self._start_relays()
        except BaseException:
            await self.stop()
            raise

    async def _start_transparency(self) -> None:
        host = self.spec.host
        log_dir = str(self.root / "log")
        db = self._store_args("log")
        init = await self._run("log", "--data-dir", log_dir, *db, "init")
        match = re.search(r"^log vkey\s+(\S+)", init, re.MULTILINE)
        if match is None:
            raise ConfigError("privcloud log init printed no vkey")
        self.log_vkey = match.group(1)
        witness_port, log_port = free_ports(2, host)
        witness = self._add(
            "witness", witness_port, "witness", "--host", host, "--port", str(witness_port),
            "--data-dir", str(self.root / "witness"), "--log-vkey", self.log_vkey,
            "--key-type", self.spec.witness_key_type,
        )  # fmt: skip
        witness.spawn()
        await witness.wait_listening()
        self.witness_vkey = witness.banner("witness vkey")
        tlog = self._add(
            "log", log_port, "log", "--host", host, "--port", str(log_port), "--data-dir",
            log_dir, *db, "--witness", f"{witness.url}={self.witness_vkey}",
        )  # fmt: skip
        tlog.spawn()
        self.log_url = await tlog.wait_listening()
        await self._start_log_readers()
        await self._publish_release()

    async def _start_log_readers(self) -> None:
        host, db = self.spec.host, self._store_args("log")
        readers = []
        for i, port in enumerate(free_ports(self.spec.log_readers, host), start=1):
            readers.append(self._add(
                f"log-reader-{i}", port, "log", "--read-only", *db, "--log-vkey", self.log_vkey,
                "--data-dir", str(self.root / f"log-reader-{i}"), "--host", host,
                "--port", str(port),
            ))  # fmt: skip
        for reader in readers:
            reader.spawn()
        for reader in readers:
            self.log_reader_urls.append(await reader.wait_listening())

    async def _publish_release(self) -> None:
        """Publish the nodes' release (the echo workloads: no model; idempotent) and wait for a
        cosigned checkpoint covering it: nodes prove it in their attestation bundles. Done
        before each node (re)start, as an operator publishes a release before rolling it out
        (the manifest covers this install's code files)."""
        out = await self._run(
            "release", "publish", "--log", self.log_url,
            "--operator-key", str(self.operator_key_file),
        )  # fmt: skip
        index = re.search(r"^index (\d+)", out, re.MULTILINE)
        if index is None:
            raise ConfigError("privcloud release publish printed no index")
        async with LogClient(self.log_url) as client:
            await client.wait_for_checkpoint(
                int(index.group(1)) + 1, min_cosignatures=1, timeout=_START_TIMEOUT_S
            )

    async def _start_nodes(self) -> None:
        host = self.spec.host
        ports = free_ports(self.spec.nodes, host)
        # One simulated TEE dev root for every node, restarts included (INSECURE), as a real
        # fleet has its vendors' roots: the gateways check each node against it before they
        # list it, and devices admit a logged directory whole (docs/adr/0033).
        tee_key = self.root / "node" / "insecure-tee.key"
        tee_key.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomic(tee_key, EcPrivateKey.generate(Curve.P384).to_bytes())
        started = []
        for i, port in enumerate(ports, start=1):
            node = self._add(
                f"node-{i}", port, "node", "--no-ai", "--id", f"node-{i}",
                "--region", _REGIONS[(i - 1) % len(_REGIONS)], "--log", self.log_url,
                "--host", host, "--port", str(port), "--insecure-tee-key", str(tee_key),
            )  # fmt: skip
            node.spawn()
            started.append(node)
        for node in started:
            self.node_urls.append(await node.wait_listening())
            self._note_root(node)
        await self._wait_attested(self.node_urls)

    async def _wait_attested(self, urls: list[str]) -> None:
        """Wait until the nodes at ``urls`` prove their release. When the code files changed
        between the release's publication and a node's start (a working tree being edited),
        the node's manifest is not the logged one: publish again (what the node runs) and
        wait once more."""
        for attempt in range(_PUBLISH_ATTEMPTS):
            try:
                await wait_attested(urls, timeout=_ATTEST_WAIT_S)
            except ConfigError:
                if attempt == _PUBLISH_ATTEMPTS - 1:
                    raise
                await self._publish_release()
            else:
                return

    def _note_root(self, node: ServiceProcess) -> None:
        root = bytes.fromhex(node.banner("simulated TEE dev root (INSECURE)"))
        if root not in self.insecure_roots:
            self.insecure_roots.append(root)

    async def _start_tokens_and_gateways(self) -> None:
        host, spec = self.spec.host, self.spec
        issuer_port, gateway_port = free_ports(2, host)
        self.issuer_url = f"http://{host}:{issuer_port}"
        issuer_args = [
            "issuer", "serve", "--data-dir", str(self.root / "issuer"),
            *self._store_args("issuer"), "--host", host, "--port", str(issuer_port),
            "--reuse-port", "--quota", str(spec.issuer_quota), "--public-url", self.issuer_url,
            "--log", self.log_url, "--operator-key", str(self.operator_key_file),
            "--insecure-operator-codes",  # a development cloud has no phone to attest
        ]  # fmt: skip
        issuers = [
            self._add(f"issuer-{i}", issuer_port, *issuer_args) for i in range(1, spec.issuers + 1)
        ]
        # The first issuer makes the keys in the shared store and logs their statements; the
        # others find them there.
        issuers[0].spawn()
        await issuers[0].wait_listening()
        for issuer in issuers[1:]:
            issuer.spawn()
        for issuer in issuers[1:]:
            await issuer.wait_listening()
        # One OHTTP key ring for every gateway, its statement logged and cosigned before use.
        ring = load_or_create(self.gateway_key_file, now=time.time())
        key_log = KeyLog(self.log_url, load_key(self.operator_key_file), min_cosignatures=1)
        await key_log.publish([r.statement for r in ring.offered(time.time())])
        self.gateway_url = f"http://{host}:{gateway_port}"
        node_args = [arg for url in self.node_urls for arg in ("--node", url)]
        gateway_args = [
            "gateway", *node_args, "--host", host, "--port", str(gateway_port), "--reuse-port",
            "--issuer", self.issuer_url, "--spend", spec.spend, *self._store_args("gateway"),
            "--key-file", str(self.gateway_key_file),
            "--log", self.log_url, "--operator-key", str(self.operator_key_file),
            # Each node is checked as devices will before it is listed (INSECURE dev policy).
            "--log-vkey", self.log_vkey, "--witness-vkey", self.witness_vkey,
            "--insecure-allow-simulated",
            *(a for r in self.insecure_roots for a in ("--insecure-simulated-root", r.hex())),
        ]  # fmt: skip
        gateways = [
            self._add(f"gateway-{i}", gateway_port, *gateway_args)
            for i in range(1, spec.gateways + 1)
        ]
        for gateway in gateways:
            gateway.spawn()
        for gateway in gateways:
            await gateway.wait_listening()
        await self.wait_gateways_see_nodes()

    async def _start_relays(self) -> None:
        host = self.spec.host
        relays = []
        # The relays pass the devices' log reads to the readers when there are some.
        log_urls = self.log_reader_urls or [self.log_url]
        for i, port in enumerate(free_ports(self.spec.relays, host), start=1):
            log_url = log_urls[(i - 1) % len(log_urls)]
            relay_args = [
                "relay", "--gateway", self.gateway_url, "--log", log_url,
                "--issuer", self.issuer_url, "--host", host, "--port", str(port),
            ]  # fmt: skip
            relays.append(self._add(f"relay-{i}", port, *relay_args))
        for relay in relays:
            relay.spawn()
        for relay in relays:
            self.relay_urls.append(await relay.wait_listening())

    async def wait_gateways_see_nodes(self, timeout: float = _START_TIMEOUT_S) -> None:
        """Wait until the gateways (asked several times: the kernel spreads the connections)
        report every node healthy and listed in their logged directory statement (devices use
        no unlogged directory, docs/adr/0033)."""
        want = self.spec.nodes
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                seen = []
                for _ in range(2 * self.spec.gateways):
                    with contextlib.suppress(
                        aiohttp.ClientError, TimeoutError, ValueError, PrivcloudError
                    ):
                        async with session.get(
                            f"{self.gateway_url}/healthz",
                            timeout=aiohttp.ClientTimeout(total=2.0),
                            headers={"Connection": "close"},
                        ) as resp:
                            body = await read_bounded(resp.content, limits.MAX_JSON_BYTES)
                            seen.append(_ready_nodes(body))
                if seen and min(seen) >= want:
                    return
                if time.monotonic() > deadline:
                    raise ConfigError(f"the gateways do not list {want} healthy nodes")
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) in reverse start order; remove a
        temporary data directory."""
        for service in reversed(list(self.processes.values())):
            await asyncio.to_thread(service.terminate)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def __aenter__(self) -> Cluster:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- chaos --------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """SIGKILL the process ``name`` (``gateway-2``, ``node-1``, ``issuer-1``, ...)."""
        self._service(name).kill()

    async def restart(self, name: str) -> None:
        """Start ``name`` again, same port and arguments; wait until it listens (a node: until
        the gateways see it again)."""
        service = self._service(name)
        if service.alive:
            raise ConfigError(f"{name} is still running")
        if name.startswith("node-"):
            await self._publish_release()
        service.spawn()
        await service.wait_listening()
        if name.startswith("node-"):
            self._note_root(service)
            await self._wait_attested([service.url])
            await self.wait_gateways_see_nodes()

    def _service(self, name: str) -> ServiceProcess:
        try:
            return self.processes[name]
        except KeyError:
            raise ConfigError(f"no process named {name!r} in this cluster") from None

    # --- what a client needs --------------------------------------------------------------------

    def client_trust(self, relay: int = 0, *, store: TrustStore | None = None) -> ClientTrust:
        """What a development client of relay ``relay`` pins: the log's and the witness's
        vkeys (the log read through that relay) and the nodes' INSECURE simulated-TEE roots."""
        return ClientTrust.pinned(
            f"{self.relay_urls[relay]}/log",
            self.log_vkey,
            [self.witness_vkey],
            insecure_simulated_keys=tuple(self.insecure_roots),
            store=store,
        )

    async def new_enrolment_code(self) -> str:
        """A one-time device enrolment code (``privcloud issuer new-code`` on the shared
        store, as an operator would run it)."""
        out = await self._run(
            "issuer", "new-code", "--data-dir", str(self.root / "issuer"),
            *self._store_args("issuer"),
        )  # fmt: skip
        return out.strip()

    async def new_wallet(self, relay: int = 0, **config: Any) -> Wallet:
        """An enrolled-to-be device wallet of this cluster's issuer; the issuer's keys are
        checked through relay ``relay`` too (key consistency). ``config``:
        :class:`~privcloud.sdk.wallet_state.WalletConfig` fields."""
        config.setdefault("consistency_url", f"{self.relay_urls[relay]}/issuer")
        return Wallet(
            self.issuer_url,
            enrolment_code=await self.new_enrolment_code(),
            config=WalletConfig(**config),
        )


__all__ = ["Cluster", "ClusterSpec", "ServiceProcess", "free_ports", "privcloud_argv"]


def _ready_nodes(body: bytes) -> int:
    """The lesser of ``healthy_nodes`` and ``logged_nodes`` of a gateway's ``/healthz`` body
    (bounded JSON; 0 when absent)."""
    doc = jsonio.loads(body)
    counts = [
        doc.get(f, 0) if isinstance(doc, dict) else 0 for f in ("healthy_nodes", "logged_nodes")
    ]
    return min(c if isinstance(c, int) else 0 for c in counts)
