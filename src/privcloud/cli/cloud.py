"""Cloud commands of the ``privcloud`` command line.

privcloud relay|gateway|node ...       one service on its own
privcloud call FEATURE --relay URL     one request through the private path
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from privcloud import limits
from privcloud.cli.database_url import database_url
from privcloud.cli.lifecycle import INSECURE_BANNER
from privcloud.cli.pacing import paced
from privcloud.cli.runtime import run_service, until_stopped
from privcloud.cli.trust_args import trust_roots
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.errors import ConfigError, PrivcloudError, UsageError
from privcloud.hardening import forbid_core_dumps
from privcloud.live.process import PipelineHost, release_builder
from privcloud.localcloud.cloud import LOOPBACK
from privcloud.sdk import Client
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.trust_store import FileTrustStore, default_state_dir, pinned_state
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_admission import NodeCheck, NodeCheckConfig
from privcloud.services.gateway_key import load_or_create
from privcloud.services.keylog import KeyLog
from privcloud.services.node import Node, node_release_manifest
from privcloud.services.redemption import SPEND_POLICIES, TokenAuthorizer
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.storage.database import child_database, open_database
from privcloud.storage.tlog_store import load_key
from privcloud.trust.admission import ClientPolicy
from privcloud.wire import jsonio
from privcloud.workloads.ai import ai_registry, release_model_files
from privcloud.workloads.models import shared_models

log = logging.getLogger("privcloud.gateway")


async def _run_service(
    app_factory: object, host: str, port: int, name: str, *, reuse_port: bool = False
) -> None:
    assert callable(app_factory)
    runner, bound = await start_site(app_factory(), host, port, reuse_port=reuse_port)
    print(f"privcloud {name} listening on http://{host}:{bound}", flush=True)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


async def _call(args: argparse.Namespace) -> None:
    policy = ClientPolicy.insecure_local_dev() if args.insecure_allow_simulated else ClientPolicy()
    try:
        params = jsonio.loads(args.params or "{}", max_bytes=limits.MAX_WORKLOAD_JSON)
    except PrivcloudError as exc:
        raise ConfigError("--params must be a JSON object") from exc
    if not isinstance(params, dict):
        raise ConfigError("--params must be a JSON object")
    if args.file:
        with open(args.file, "rb") as fh:
            body = fh.read()
    else:
        body = (args.data or "").encode()
    if args.wallet and not args.issuer:
        raise ConfigError("--wallet needs --issuer URL")
    # The wallet checks that the issuer shows it the same keys directly and through the relay
    # (key consistency: no per-device issuer key).
    wallet = (
        Wallet(
            args.issuer,
            path=args.wallet,
            config=WalletConfig(consistency_url=f"{args.relay.rstrip('/')}/issuer"),
        )
        if args.wallet
        else None
    )
    trust = None
    if args.log or args.log_vkey:
        if not args.log_vkey:
            raise ConfigError("--log needs --log-vkey (and the witnesses' --witness-vkey)")
        try:
            dev = tuple(bytes.fromhex(k) for k in args.insecure_simulated_root or [])
        except ValueError as exc:
            raise ConfigError("--insecure-simulated-root is hex") from exc
        trust = ClientTrust.pinned(
            args.log or f"{args.relay.rstrip('/')}/log",
            args.log_vkey,
            args.witness_vkey or [],
            required_witnesses=args.quorum,
            insecure_simulated_keys=dev,
            # Persisted by default, so that a restart cannot roll the trusted checkpoint back.
            store=FileTrustStore(args.trust_state or default_state_dir()),
        )
    async with (
        Client(args.relay, policy=policy, k=args.k, wallet=wallet, trust=trust) as admitted,
        paced(admitted, _note) as client,
    ):
        if args.stream:
            async for event in client.stream(args.feature, params, body):
                print(
                    json.dumps(
                        {
                            "final": event.final,
                            "meta": event.meta,
                            "data": event.data.decode(errors="replace"),
                        }
                    ),
                    flush=True,
                )
        else:
            result = await client.call(args.feature, params, body)
            data = result.data.decode(errors="replace")
            print(json.dumps({"meta": result.meta, "data": data}), flush=True)


def _note(text: str) -> None:
    print(f"privcloud: {text}", file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the cloud commands: demo, up, relay, gateway, node, call."""
    relay = sub.add_parser("relay", help="run an OHTTP relay")
    relay.add_argument("--gateway", required=True, help="the gateway's base URL")
    relay.add_argument("--host", default=LOOPBACK)
    relay.add_argument("--port", type=int, default=8470)
    relay.add_argument(
        "--log", help="a transparency log whose public reads the relay passes through (/log/...)"
    )
    relay.add_argument(
        "--issuer",
        help="a token issuer whose public directory the relay passes through (/issuer/...)",
    )
    relay.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    relay.set_defaults(handler=_run_relay)

    gateway = sub.add_parser("gateway", help="run an OHTTP gateway / load balancer")
    gateway.add_argument(
        "--node", action="append", required=True, help="a node's base URL (repeat)"
    )
    gateway.add_argument("--host", default=LOOPBACK)
    gateway.add_argument("--port", type=int, default=8471)
    gateway.add_argument("--issuer", help="require tokens of the issuer at this base URL")
    gateway.add_argument("--spent-tokens", help="spent-token SQLite file (shared by gateways)")
    gateway.add_argument(
        "--database",
        metavar="URL",
        type=database_url,
        help="spent-token store shared by gateways: sqlite:///path/file or postgresql://... "
        "(env:NAME: the URL in environment variable NAME)",
    )
    gateway.add_argument(
        "--spend",
        choices=SPEND_POLICIES,
        help="with --issuer: when a token is charged: at the check (the default: one store "
        "write per request), or once a node accepted the request (two writes; released when "
        "none did) (docs/adr/0029)",
    )
    gateway.add_argument(
        "--key-file",
        help="the OHTTP key ring, created there if absent (shared by gateway processes, "
        "re-read when it changes: privcloud gateway-key new rotates)",
    )
    gateway.add_argument(
        "--workers",
        type=int,
        default=1,
        help="gateway processes sharing the port (needs --key-file)",
    )
    gateway.add_argument(
        "--log",
        help="the transparency log's base URL: the gateway logs the statement of its node "
        "directory there whenever its nodes change; devices use no unlogged directory "
        "(docs/adr/0033)",
    )
    gateway.add_argument("--operator-key", help="with --log: the operator's log append key file")
    gateway.add_argument(
        "--cosignatures",
        type=int,
        default=1,
        help="with --log: witness cosignatures a checkpoint must carry before the gateway "
        "serves a new directory statement",
    )
    gateway.add_argument(
        "--log-vkey",
        help="with --log: the log's note verifier key; the gateway then lists only nodes that "
        "pass the devices' admission (devices refuse a logged directory with a node that "
        "fails; docs/adr/0033)",
    )
    gateway.add_argument(
        "--witness-vkey", action="append", help="with --log-vkey: a witness's vkey (repeat)"
    )
    gateway.add_argument(
        "--quorum",
        type=int,
        help="with --log-vkey: witnesses that must cosign a checkpoint the check follows "
        "(default: all of them, as devices)",
    )
    gateway.add_argument(
        "--insecure-allow-simulated",
        action="store_true",
        help="with --log-vkey: list simulated-TEE nodes (INSECURE; local development only)",
    )
    gateway.add_argument(
        "--insecure-simulated-root",
        action="append",
        metavar="HEX",
        help="INSECURE: a simulated-TEE dev root public key to trust (development only)",
    )
    gateway.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    gateway.set_defaults(handler=_run_gateway)

    node = sub.add_parser("node", help="run a compute node (simulated TEE: INSECURE)")
    node.add_argument("--id", default="node-1")
    node.add_argument("--region", default="local")
    node.add_argument("--provider", default="local")
    node.add_argument("--host", default=LOOPBACK)
    node.add_argument("--port", type=int, default=8480)
    node.add_argument("--no-ai", action="store_true", help="serve the echo workloads only")
    node.add_argument(
        "--log", help="the transparency log holding this node's release (privcloud release publish)"
    )
    node.add_argument(
        "--insecure-tee-key",
        metavar="FILE",
        help="INSECURE: the simulated TEE's dev root key (the P-384 scalar, 48 bytes) to attest "
        "with, so that nodes given one file share one root across restarts (default: one made "
        "at start; development only)",
    )
    node.set_defaults(handler=_node)

    call = sub.add_parser("call", help="send one request through the private path")
    call.add_argument("feature")
    call.add_argument("--relay", default="http://127.0.0.1:8470")
    call.add_argument("--params", help="JSON object of parameters")
    call.add_argument("--data", help="request body as text")
    call.add_argument("--file", help="request body from a file")
    call.add_argument("--stream", action="store_true")
    call.add_argument("-k", type=int, default=3, help="number of nodes to seal to")
    call.add_argument("--wallet", help="a token wallet file (privcloud wallet enrol)")
    call.add_argument("--issuer", help="the token issuer's base URL (with --wallet)")
    call.add_argument(
        "--insecure-allow-simulated",
        action="store_true",
        help="admit simulated-TEE nodes (INSECURE; local development only)",
    )
    call.add_argument(
        "--log",
        help="the transparency log node admission reads, through the relay (the default, "
        "RELAY/log: read directly, the log would see this device's address)",
    )
    call.add_argument("--log-vkey", help="the log's note verifier key")
    call.add_argument("--witness-vkey", action="append", help="a witness's vkey (repeat)")
    call.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    call.add_argument(
        "--trust-state",
        help="directory keeping the trusted log checkpoint across runs "
        "(default: $XDG_STATE_HOME/privcloud, else ~/.local/state/privcloud)",
    )
    call.add_argument(
        "--insecure-simulated-root",
        action="append",
        metavar="HEX",
        help="INSECURE: a simulated-TEE dev root public key to trust (development only)",
    )
    call.set_defaults(handler=lambda args: asyncio.run(_call(args)))


def _directory_log(args: argparse.Namespace) -> KeyLog | None:
    """Where the gateway logs its directory statements (``--log`` with ``--operator-key``)."""
    if (args.log is None) != (args.operator_key is None):
        raise ConfigError("give --log and --operator-key together")
    if args.log is None:
        return None
    return KeyLog(args.log, load_key(args.operator_key), min_cosignatures=args.cosignatures)


def _node_check(args: argparse.Namespace) -> NodeCheck | None:
    """The gateway's check of the nodes it lists (``--log`` with ``--log-vkey``), under the
    production policy or, with ``--insecure-allow-simulated``, the INSECURE development one."""
    if args.log_vkey is None:
        if args.insecure_allow_simulated or args.witness_vkey or args.insecure_simulated_root:
            raise ConfigError("the node check needs --log-vkey")
        if args.quorum is not None:
            raise ConfigError("the node check needs --log-vkey")
        if args.log is not None:
            log.warning(
                "gateway: no --log-vkey: nodes are listed unchecked, and one whose bundle "
                "fails makes every device refuse the directory (docs/adr/0033)"
            )
        return None
    if args.log is None:
        raise ConfigError("--log-vkey needs --log")
    witnesses = args.witness_vkey or []
    quorum = args.quorum  # default: every witness, as devices pin them
    if quorum is not None and quorum > len(witnesses):
        raise ConfigError("the node check needs as many --witness-vkey as its quorum")
    policy = ClientPolicy.insecure_local_dev() if args.insecure_allow_simulated else ClientPolicy()
    state = pinned_state(args.log_vkey, witnesses, quorum)
    return NodeCheck(NodeCheckConfig(policy, args.log, state, trust_roots(args)))


def _gateway(args: argparse.Namespace) -> Gateway:
    if args.key_file:
        load_or_create(args.key_file, now=time.time())  # a key valid now, made if none is
    directory_log = _directory_log(args)
    node_check = _node_check(args)
    if args.issuer is None:
        return Gateway(
            args.node, key_file=args.key_file, directory_log=directory_log, node_check=node_check
        )
    if args.spent_tokens is None and args.database is None:
        raise ConfigError("--issuer needs --database URL (or --spent-tokens FILE)")
    if args.spent_tokens is not None and args.database is not None:
        raise ConfigError("give --database URL or --spent-tokens FILE, not both")
    store = open_database(args.database, args.spent_tokens).spent_tokens()
    spend = TokenAuthorizer.spend if args.spend is None else args.spend  # (the class default)
    authorizer = TokenAuthorizer(store, issuer_url=args.issuer, spend=spend)
    return Gateway(
        args.node,
        key_file=args.key_file,
        authorizer=authorizer,
        directory_log=directory_log,
        node_check=node_check,
    )


def gateway_worker_argv(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The command line of one more ``--workers`` process: this gateway's arguments, on the
    same port (``--reuse-port``); and what its environment adds (the database's URL, never on
    a command line: :mod:`privcloud.cli.database_url`)."""
    worker = [sys.executable, "-m", "privcloud.cli", "gateway", "--host", args.host]
    worker += ["--port", str(args.port), "--key-file", args.key_file, "--reuse-port"]
    for url in args.node:
        worker += ["--node", url]
    if args.log is not None:
        worker += ["--log", args.log, "--operator-key", args.operator_key]
        worker += ["--cosignatures", str(args.cosignatures)]
    if args.log_vkey is not None:
        worker += ["--log-vkey", args.log_vkey]
        worker += [a for v in args.witness_vkey or [] for a in ("--witness-vkey", v)]
        worker += [] if args.quorum is None else ["--quorum", str(args.quorum)]
        worker += ["--insecure-allow-simulated"] if args.insecure_allow_simulated else []
        roots = args.insecure_simulated_root or []
        worker += [a for r in roots for a in ("--insecure-simulated-root", r)]
    env: dict[str, str] = {}
    if args.issuer:
        worker += ["--issuer", args.issuer]
        if args.spend is not None:
            worker += ["--spend", args.spend]
        if args.database is not None:
            database, env = child_database(args.database)
            worker += database
        else:
            worker += ["--spent-tokens", args.spent_tokens or ""]
    return worker, env


def _run_relay(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # its memory holds the addresses of the devices it serves
    relay = Relay(args.gateway, log_url=args.log, issuer_url=args.issuer)
    run_service(_run_service(relay.app, args.host, args.port, "relay", reuse_port=args.reuse_port))


def _run_gateway(args: argparse.Namespace) -> None:
    """One gateway process, or ``--workers N`` processes on one port with one OHTTP key (the
    kernel spreads connections; spent tokens are shared through ``--spent-tokens``)."""
    forbid_core_dumps()  # its memory holds the OHTTP private key (each worker sets it too)
    if not 1 <= args.workers <= limits.MAX_GATEWAY_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {limits.MAX_GATEWAY_WORKERS}")
    if args.issuer is None and args.spend is not None:  # (before any worker or file)
        raise ConfigError("--spend needs --issuer (without it no token is asked for)")
    children: list[subprocess.Popen[bytes]] = []
    if args.workers > 1:
        if not args.key_file or args.port == 0:
            raise ConfigError("--workers needs --key-file FILE and a fixed --port")
        load_or_create(args.key_file, now=time.time())  # written once, before workers read it
        worker, env = gateway_worker_argv(args)
        env = {**os.environ, **env}
        # Our own interpreter and module, with arguments we validated: no shell, no user program.
        children = [subprocess.Popen(worker, env=env) for _ in range(args.workers - 1)]  # noqa: S603
    reuse = args.reuse_port or args.workers > 1
    try:
        run_service(
            _run_service(_gateway(args).app, args.host, args.port, "gateway", reuse_port=reuse)
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


def _insecure_tee_key(path: str | None) -> EcPrivateKey | None:
    """The simulated TEE's dev root key from ``path`` (``--insecure-tee-key``), or None."""
    if path is None:
        return None
    try:
        scalar = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError("--insecure-tee-key: the file cannot be read") from exc
    try:
        return EcPrivateKey.from_bytes(Curve.P384, scalar)
    except UsageError as exc:
        raise ConfigError("--insecure-tee-key: not a P-384 scalar of 48 bytes") from exc


def _node(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # before any request, key or model is in memory
    print(INSECURE_BANNER, file=sys.stderr)
    manifest = registry = None
    if not args.no_ai:
        models = shared_models()
        registry = ai_registry(models)
        manifest = node_release_manifest(registry, models=release_model_files(models))
    node = Node(
        args.id,
        region=args.region,
        provider=args.provider,
        log_url=args.log,
        registry=registry,
        manifest=manifest,
        insecure_tee_key=_insecure_tee_key(args.insecure_tee_key),
    )
    host = None
    if not args.no_ai:  # live call translation (docs/adr/0023), in a process of its own
        host = PipelineHost(release_builder(shared_models().config))
        host.start()  # ready before the first call
        node.live.pipelines = host
    print(f"release measurement[simulated] {node.manifest.simulated_measurement.hex()}")
    print(f"simulated TEE dev root (INSECURE) {node.insecure_tee_public_key.hex()}", flush=True)
    factory = node.app
    try:
        run_service(_run_service(factory, args.host, args.port, "node"))
    finally:
        if host is not None:
            host.close()
