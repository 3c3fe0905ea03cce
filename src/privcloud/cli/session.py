"""How a command reaches a private cloud: the one ``privcloud up`` runs, or one of its own.

``privcloud up`` writes a *run file* (``<data_dir>/cloud.json``, mode 0600) with the services'
URLs, what a device pins (log and witness keys, the INSECURE simulated-TEE root), the issuer URL,
one device enrolment code and its process id; it removes the file when it stops. A feature
command reads it, checks the relay answers, enrols a wallet kept beside it (once per cloud
run) and goes through the full private path. When no cloud runs, it starts a local one
in-process for the command's duration.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from privcloud import limits
from privcloud.errors import ConfigError, PrivcloudError
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.localcloud.cloudconfig import CloudConfig, check_models
from privcloud.netio import new_session
from privcloud.sdk import Client
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.trust.admission import ClientPolicy
from privcloud.wire import jsonio
from privcloud.workloads.models import shared_models

WALLET_FILE = "device-wallet.json"


def default_nodes(count: int = 3) -> list[NodeSpec]:
    """``count`` nodes spread over two regions (eu-west, us-east)."""
    return CloudConfig(node_count=count).nodes()


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can use (made 0700); refuses one owned by
    someone else or open to others, since the run file in it is what devices trust."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise ConfigError(f"the data directory {path} belongs to another user: choose another")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def write_run_file(cloud: LocalCloud, config: CloudConfig) -> Path:
    """Record how devices reach ``cloud`` (0600, in a 0700 directory, replaced atomically);
    returns the path."""
    target = config.run_file
    private_dir(target.parent)
    doc: dict[str, Any] = {
        "pid": os.getpid(),
        "relay": cloud.relay_url,
        "gateway": cloud.gateway_url,
        "nodes": dict(zip([s.node_id for s in cloud.nodes], cloud.node_urls, strict=True)),
        "issuer": cloud.issuer_url or None,
        "log": cloud.log_url,
        "witness": cloud.witness_url,
        "log_vkey": cloud.log_vkey,
        "witness_vkeys": cloud.witness_vkeys,
        "insecure_simulated_root": cloud.insecure_tee_public_key.hex(),
        "enrolment_code": cloud.issuer.core.new_enrolment_code() if cloud.issuer else None,
    }
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".cloud-", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    (target.parent / WALLET_FILE).unlink(missing_ok=True)
    return target


def remove_run_file(config: CloudConfig) -> None:
    config.run_file.unlink(missing_ok=True)
    (config.run_file.parent / WALLET_FILE).unlink(missing_ok=True)


def read_run_file(config: CloudConfig) -> dict[str, Any] | None:
    """The running cloud's run file, or None when there is none. A run file that is not this
    user's own private file is refused: it names the keys and relay a device trusts."""
    try:
        fd = os.open(config.run_file, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {config.run_file}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ConfigError(
                f"{config.run_file} is not your private file (owner or mode): remove it and "
                "start the cloud again"
            )
        raw = fh.read(limits.MAX_DIRECTORY_BYTES)
    try:
        doc = jsonio.loads(raw, max_bytes=limits.MAX_DIRECTORY_BYTES)
    except PrivcloudError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("relay"), str) else None


async def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within a few seconds."""
    try:
        async with new_session(total=3.0) as http, http.get(url) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def progress(text: str) -> None:
    """A progress line, on stderr (stdout carries the answer)."""
    print(f"privcloud: {text}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def connect(config: CloudConfig, *, warm: tuple[str, ...] = ()) -> AsyncIterator[Client]:
    """A client of the running local cloud, or of a local cloud started for this command."""
    doc = read_run_file(config)
    if doc is not None and await answers(f"{doc['relay']}/healthz"):
        progress(f"using the local cloud at {doc['relay']} (privcloud up)")
        async with _client_for(doc, config.run_file.parent) as client:
            yield client
        return
    progress("no local cloud runs (privcloud up): starting one for this command...")
    progress("INSECURE: its nodes run in a *simulated* TEE (development only)")
    models = shared_models(config.model_config())
    check_models(models.available(), config)
    forbid_core_dumps()  # its nodes serve this command's request in this process
    cloud = LocalCloud(nodes=config.nodes(), models=models, warm_models=warm)
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
        raise ConfigError(
            f"the run file in {state_dir} is damaged: stop the cloud (privcloud down) and start "
            "it again"
        ) from exc
    wallet = None
    if doc.get("issuer"):
        wallet_path = state_dir / WALLET_FILE
        code = None if wallet_path.exists() else doc.get("enrolment_code")
        wallet = Wallet(
            str(doc["issuer"]),
            path=wallet_path,
            enrolment_code=code,
            config=WalletConfig(batch_size=4, consistency_url=f"{doc['relay']}/issuer"),
        )
    policy = ClientPolicy.insecure_local_dev()
    async with Client(doc["relay"], policy=policy, wallet=wallet, trust=trust) as client:
        yield client
