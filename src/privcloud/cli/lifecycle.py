"""A long-running local cloud: ``privcloud up | down | status``.

privcloud up [--config privcloud.toml] [--detach]   start it (foreground, or in the background)
privcloud down [--config ...]                        stop it cleanly (SIGTERM, then wait)
privcloud status [--config ...]                      health of every service; exit 0 if all up

The configuration file is described in :mod:`privcloud.localcloud.cloudconfig`. A running cloud
writes ``<data_dir>/cloud.json`` (removed when it stops); a background cloud logs to
``<data_dir>/cloud.log``, rotated at ``limits.MAX_LOG_FILE_BYTES`` with
``limits.MAX_LOG_FILE_BACKUPS`` old files kept. Stopping leaves nothing behind but the data
directory.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from privcloud.cli.runtime import until_stopped
from privcloud.cli.session import (
    answers,
    private_dir,
    read_run_file,
    remove_run_file,
    write_run_file,
)
from privcloud.errors import ConfigError
from privcloud.fileio import os_cause
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LocalCloud
from privcloud.localcloud.cloudconfig import CloudConfig, check_models, load
from privcloud.workloads.models import shared_models

INSECURE_BANNER = (
    "WARNING: INSECURE local cloud. Nodes run in a *simulated* TEE that protects nothing;\n"
    "         clients admit them only with the insecure development policy.\n"
)
#: Seconds ``up --detach`` waits for the cloud to answer (model loading included), and
#: ``down`` waits for it to exit.
START_WAIT_S = 600.0
STOP_WAIT_S = 30.0


def _config(args: argparse.Namespace) -> CloudConfig:
    config = load(args.config)
    overrides: dict[str, Any] = {}
    if getattr(args, "nodes", None) is not None:
        if not 1 <= args.nodes <= 16:
            raise ConfigError("--nodes must be 1..16")
        overrides["node_count"] = args.nodes
    if getattr(args, "relay_port", None) is not None:
        overrides["relay_port"] = args.relay_port
    if getattr(args, "no_ai", False):
        overrides["ai"] = False
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return dataclasses.replace(config, **overrides)


LOCK_FILE = "cloud.lock"
#: The log of a background cloud, in its data directory (rotated: ``cloud.log.1`` ...).
LOG_FILE = "cloud.log"


def _hold_lock(config: CloudConfig) -> int | None:
    """Take the data directory's lock (held by a running cloud for its whole life); returns
    its descriptor, or None when another process holds it."""
    try:
        private_dir(config.data_dir)
        fd = os.open(config.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot use the data directory {config.data_dir}: {os_cause(exc)}; fix its "
            "permissions or choose another (--data-dir, cloud.data_dir in privcloud.toml)"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _running(config: CloudConfig) -> bool:
    """Whether a cloud holds this data directory (its lock, not a pid that may be reused)."""
    fd = _hold_lock(config)
    if fd is None:
        return True
    os.close(fd)
    return False


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refuse_if_running(config: CloudConfig) -> None:
    if _running(config):
        doc = read_run_file(config) or {}
        raise ConfigError(
            f"a local cloud already runs (pid {doc.get('pid', '?')}) with data directory "
            f"{config.data_dir}: stop it with `privcloud down`"
        )
    remove_run_file(config)  # a stale file from a cloud that was killed


async def _up(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # its nodes serve requests in this process
    config = _config(args)
    lock = _hold_lock(config)  # held until this process exits, before models load
    if lock is None:
        _refuse_if_running(config)
        return
    remove_run_file(config)  # a stale file from a cloud that was killed
    models = None
    if config.ai:
        models = shared_models(config.model_config())
        check_models(models.available(), config)
    cloud = LocalCloud(
        nodes=config.nodes(),
        host=config.host,
        relay_port=config.relay_port,
        data_dir=str(config.data_dir),
        database=config.database,
        witness_key_type=config.witness_key_type,
        require_tokens=config.tokens,
        models=models,
        warm_models=config.warm if models is not None else (),
    )
    print("starting the local cloud (loading models can take a minute)...", flush=True)
    await cloud.start()
    try:
        run_file = write_run_file(cloud, config)
        print(INSECURE_BANNER, file=sys.stderr)
        print(f"relay    {cloud.relay_url}   <- devices talk to this one only")
        print(f"gateway  {cloud.gateway_url}")
        for spec, url in zip(cloud.nodes, cloud.node_urls, strict=True):
            print(f"node     {url}   {spec.node_id} [{spec.region}/{spec.provider}]")
        print(f"log      {cloud.log_url}   (release entry {cloud.release_index})")
        print(f"witness  {cloud.witness_url}")
        if cloud.issuer is not None:
            print(f"issuer   {cloud.issuer_url}")
        features = ", ".join(cloud.node_objects[0].registry.features)
        print(f"features {features}")
        print(f"data     {config.data_dir}   (run file {run_file.name})")
        print("\nTry: privcloud transcribe call.wav | privcloud summarize notes.txt | ...")
        print("Stop with Ctrl-C or `privcloud down`.", flush=True)
        await until_stopped()
    finally:
        remove_run_file(config)
        await cloud.stop()
        print("the local cloud stopped", flush=True)


def _up_detached(args: argparse.Namespace) -> int:
    config = _config(args)
    _refuse_if_running(config)
    log_path = config.data_dir / LOG_FILE
    # The child writes its log itself, rotated and bounded (privcloud.cli.runtime.RotatingLog);
    # its standard output and error go to the same file and follow it when it rotates.
    command = [sys.executable, "-m", "privcloud.cli", "--log-file", str(log_path)]
    if getattr(args, "verbose", False):
        command.append("--verbose")
    command += ["up", "--data-dir", str(config.data_dir)]
    if args.config:
        command += ["--config", args.config]
    if args.nodes is not None:
        command += ["--nodes", str(args.nodes)]
    if args.relay_port is not None:
        command += ["--relay-port", str(args.relay_port)]
    if args.no_ai:
        command.append("--no-ai")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW
    with os.fdopen(os.open(log_path, flags, 0o600), "wb") as log:
        # Our own interpreter and module with validated arguments: no shell, no user program.
        child = subprocess.Popen(  # noqa: S603
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    print(f"starting the local cloud in the background (pid {child.pid}); loading models...")
    deadline = time.monotonic() + START_WAIT_S
    next_note = time.monotonic() + 10
    while time.monotonic() < deadline:
        if time.monotonic() > next_note:
            waited = START_WAIT_S - (deadline - time.monotonic())
            print(f"  still starting ({waited:.0f} s; see {log_path})", flush=True)
            next_note += 10
        if child.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise ConfigError("the cloud did not start: " + " | ".join(tail))
        doc = read_run_file(config)
        if doc is not None and asyncio.run(answers(f"{doc['relay']}/healthz")):
            print(f"local cloud running in the background (pid {child.pid})")
            print(f"relay {doc['relay']}; log file {log_path}; stop it with `privcloud down`")
            return 0
        time.sleep(0.5)
    child.terminate()
    raise ConfigError(f"the cloud did not answer within {START_WAIT_S:.0f} s; see {log_path}")


def _down(args: argparse.Namespace) -> int:
    config = _config(args)
    if not _running(config):
        stale = read_run_file(config) is not None
        remove_run_file(config)
        print(
            "the local cloud was not running (removed its stale run file)"
            if stale
            else f"no local cloud runs with data directory {config.data_dir}"
        )
        return 0
    doc = read_run_file(config)
    pid = doc.get("pid") if doc else None
    if not isinstance(pid, int) or pid <= 0:
        raise ConfigError("the cloud is still starting (no run file yet): try again shortly")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise ConfigError(f"process {pid} is not yours: the run file is stale") from exc
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        if not _running(config) and not _exists(pid):
            print(f"the local cloud (pid {pid}) stopped")
            return 0
        time.sleep(0.2)
    raise ConfigError(f"the cloud (pid {pid}) did not stop within {STOP_WAIT_S:.0f} s: kill {pid}")


async def _probe_all(doc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    checks: list[tuple[str, str]] = [("relay", f"{doc['relay']}/healthz")]
    checks.append(("gateway", f"{doc['gateway']}/healthz"))
    checks += [(name, f"{url}/healthz") for name, url in dict(doc.get("nodes") or {}).items()]
    if doc.get("issuer"):
        checks.append(("issuer", f"{doc['issuer']}/healthz"))
    checks.append(("log", f"{doc['log']}/v1/checkpoint"))
    results = await asyncio.gather(*(answers(url) for _, url in checks))
    return [(name, url, ok) for (name, url), ok in zip(checks, results, strict=True)]


def _status(args: argparse.Namespace) -> int:
    config = _config(args)
    doc = read_run_file(config) if _running(config) else None
    if doc is None:
        print(f"not running (data directory {config.data_dir})")
        return 3
    print(f"local cloud pid {doc['pid']}, data directory {config.data_dir}")
    try:
        rows = asyncio.run(_probe_all(doc))
    except KeyError as exc:
        raise ConfigError("the run file is damaged: privcloud down, then up again") from exc
    for name, url, ok in rows:
        print(f"  {'up  ' if ok else 'DOWN'}  {name:10} {url.rsplit('/', 2)[0]}")
    return 0 if all(ok for _, _, ok in rows) else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add up, down and status."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", help="privcloud.toml (default: ./privcloud.toml if any)")
        parser.add_argument("--data-dir", help="override cloud.data_dir")

    up = sub.add_parser("up", help="run a local cloud on loopback (Ctrl-C or `down` stops it)")
    common(up)
    up.add_argument("--nodes", type=int, help="override nodes.count")
    up.add_argument("--relay-port", type=int, help="override cloud.relay_port")
    up.add_argument("--no-ai", action="store_true", help="serve the echo workloads only")
    up.add_argument("--detach", action="store_true", help="run in the background")
    up.set_defaults(
        handler=lambda a: _up_detached(a) if a.detach else asyncio.run(_up(a)),
    )
    down = sub.add_parser("down", help="stop the local cloud that `up` started")
    common(down)
    down.set_defaults(handler=_down)
    status = sub.add_parser("status", help="health of the local cloud's services")
    common(status)
    status.set_defaults(handler=_status)
