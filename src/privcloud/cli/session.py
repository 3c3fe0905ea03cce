"""How a command reaches a private cloud: the one ``privcloud up`` runs, or one of its own.

``privcloud up`` writes a *cloud file* (``$XDG_STATE_HOME/privcloud/cloud.json``, mode 0600)
with what a device needs to pin: relay URL, log and witness keys, the INSECURE simulated-TEE
root, the issuer URL and one enrolment code. A feature command reads it, checks the relay
answers, enrols a wallet kept beside it (once per cloud run), and goes through the full private
path. When no cloud runs it starts a local one in-process for the command's duration.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from privcloud import limits
from privcloud.errors import ConfigError
from privcloud.netio import new_session
from privcloud.sdk import Client
from privcloud.sdk.client import ClientTrust
from privcloud.sdk.trust_store import default_state_dir
from privcloud.sdk.wallet import Wallet
from privcloud.services.cloud import LocalCloud, NodeSpec
from privcloud.trust.admission import ClientPolicy
from privcloud.workloads.models import shared_models

CLOUD_FILE = "cloud.json"
WALLET_FILE = "cloud-wallet.json"


def cloud_file(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / CLOUD_FILE


def default_nodes(count: int = 3) -> list[NodeSpec]:
    """``count`` nodes spread over two regions (eu-west, us-east)."""
    regions = ["eu-west", "us-east"]
    return [NodeSpec(f"node-{i + 1}", regions[i % 2], "local") for i in range(count)]


def write_cloud_file(cloud: LocalCloud, path: Path | None = None) -> Path:
    """Record how devices reach ``cloud`` (0600, replaced atomically); returns the path."""
    target = path or cloud_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "relay": cloud.relay_url,
        "log_vkey": cloud.log_vkey,
        "witness_vkeys": cloud.witness_vkeys,
        "insecure_simulated_root": cloud.insecure_tee_public_key.hex(),
        "issuer": cloud.issuer_url or None,
        "enrolment_code": cloud.issuer.core.new_enrolment_code() if cloud.issuer else None,
        "pid": os.getpid(),
    }
    partial = target.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
    partial.replace(target)
    (target.parent / WALLET_FILE).unlink(missing_ok=True)
    return target


def remove_cloud_file(path: Path | None = None) -> None:
    target = path or cloud_file()
    target.unlink(missing_ok=True)
    (target.parent / WALLET_FILE).unlink(missing_ok=True)


def _read_cloud_file(path: Path) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()[: limits.MAX_DIRECTORY_BYTES]
        doc = json.loads(raw)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("relay"), str) else None


async def _relay_answers(relay: str) -> bool:
    try:
        async with new_session(total=3.0) as http, http.get(f"{relay}/healthz") as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def progress(text: str) -> None:
    """A progress line, on stderr (stdout carries the answer)."""
    print(f"privcloud: {text}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def connect(*, warm: tuple[str, ...] = ()) -> AsyncIterator[Client]:
    """A client of the running local cloud, or of a local cloud started for this command."""
    path = cloud_file()
    doc = _read_cloud_file(path)
    if doc is not None and await _relay_answers(doc["relay"]):
        progress(f"using the local cloud at {doc['relay']} (privcloud up)")
        async with _client_for(doc, path.parent) as client:
            yield client
        return
    progress("no local cloud runs (privcloud up): starting one for this command...")
    progress("INSECURE: its nodes run in a *simulated* TEE (development only)")
    cloud = LocalCloud(nodes=default_nodes(), models=shared_models(), warm_models=warm)
    async with cloud:
        progress(f"local cloud up: relay {cloud.relay_url}, {len(cloud.node_urls)} nodes")
        wallet = cloud.new_wallet(batch_size=4)
        policy = ClientPolicy.insecure_local_dev()
        async with Client(
            cloud.relay_url, policy=policy, wallet=wallet, trust=cloud.client_trust()
        ) as client:
            yield client


@contextlib.asynccontextmanager
async def _client_for(doc: dict[str, Any], state_dir: Path) -> AsyncIterator[Client]:
    try:
        root = bytes.fromhex(str(doc["insecure_simulated_root"]))
        trust = ClientTrust.pinned(
            f"{doc['relay']}/log",
            str(doc["log_vkey"]),
            [str(k) for k in doc["witness_vkeys"]],
            insecure_simulated_keys=(root,),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the cloud file {state_dir / CLOUD_FILE} is damaged") from exc
    wallet = None
    if doc.get("issuer"):
        wallet_path = state_dir / WALLET_FILE
        code = None if wallet_path.exists() else doc.get("enrolment_code")
        wallet = Wallet(
            str(doc["issuer"]),
            path=wallet_path,
            enrolment_code=code,
            batch_size=4,
            consistency_url=f"{doc['relay']}/issuer",
        )
    policy = ClientPolicy.insecure_local_dev()
    async with Client(doc["relay"], policy=policy, wallet=wallet, trust=trust) as client:
        yield client


@dataclass(frozen=True)
class NodeInfo:
    """One admitted node, for progress output."""

    node_id: str
    region: str


def admitted(client: Client) -> list[NodeInfo]:
    return [NodeInfo(a.descriptor.node_id, a.descriptor.region) for a in client.trail.admitted]
