"""Arguments and helpers the trust commands share (``log audit``, ``release verify``,
``node verify``): where the log is and which keys to pin, from flags or from the local cloud."""

from __future__ import annotations

import argparse

from privcloud import limits
from privcloud.attest import TrustRoots
from privcloud.cli.session import read_run_file
from privcloud.errors import ConfigError
from privcloud.localcloud import cloudconfig
from privcloud.netio import new_session, read_bounded
from privcloud.trust.directory import NodeDescriptor, decode_descriptor
from privcloud.wire import jsonio


async def fetch_descriptor(url: str) -> NodeDescriptor:
    """The node descriptor a node at ``url`` serves (``GET /v1/attestation``); not verified."""
    async with (
        new_session(total=limits.UPSTREAM_TOTAL_TIMEOUT_S) as session,
        session.get(url.rstrip("/") + "/v1/attestation", allow_redirects=False) as resp,
    ):
        body = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
        if resp.status != 200:
            raise jsonio.decode_error_body(body, resp.status, peer="node")
    return decode_descriptor(body)


def trust_roots(args: argparse.Namespace) -> TrustRoots:
    """The pinned vendor roots, plus the INSECURE simulated-TEE roots given on the command line."""
    try:
        dev = tuple(bytes.fromhex(k) for k in args.insecure_simulated_root or [])
    except ValueError as exc:
        raise ConfigError("--insecure-simulated-root is hex") from exc
    return TrustRoots.pinned(insecure_simulated_keys=dev)


def local_args(p: argparse.ArgumentParser) -> None:
    """Add ``--local`` and ``--cloud-config`` (read by :func:`from_local`)."""
    p.add_argument(
        "--local",
        action="store_true",
        help="take the log URL and the keys to pin from the local cloud `privcloud up` runs",
    )
    p.add_argument("--cloud-config", help="that cloud's privcloud.toml (with --local)")


def from_local(args: argparse.Namespace, require_log: bool = True) -> argparse.Namespace:
    """Fill --log, --log-vkey, --witness-vkey and the simulated root from the running local
    cloud's run file (``--local``); then check that a log and its key are known."""
    if args.local:
        doc = read_run_file(cloudconfig.load(args.cloud_config))
        if doc is None:
            raise ConfigError("no local cloud runs: start one with `privcloud up --detach`")
        args.log = args.log or doc.get("log")
        args.log_vkey = args.log_vkey or doc.get("log_vkey")
        args.witness_vkey = args.witness_vkey or list(doc.get("witness_vkeys") or [])
        if hasattr(args, "insecure_simulated_root") and not args.insecure_simulated_root:
            args.insecure_simulated_root = [doc.get("insecure_simulated_root")]
        nodes = doc.get("nodes") or {}
        if isinstance(getattr(args, "url", None), str) and args.url in nodes:
            args.url = nodes[args.url]
    if (require_log or args.log) and not (args.log and args.log_vkey):
        raise ConfigError("give --log URL and --log-vkey VKEY, or --local for the local cloud")
    return args


def log_trust_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    """Add the log's URL and key, the witnesses' keys and the INSECURE simulated roots."""
    p.add_argument("--log", required=required, help="the transparency log's base URL")
    p.add_argument("--log-vkey", required=required, help="the log's note verifier key")
    p.add_argument("--witness-vkey", action="append", help="a witness's vkey (repeat)")
    p.add_argument(
        "--insecure-simulated-root",
        action="append",
        metavar="HEX",
        help="INSECURE: a simulated-TEE dev root public key to trust (development only)",
    )
