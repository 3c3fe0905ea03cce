"""Scale benchmark (issue 13): replicated issuers and gateway worker processes, with the store
figures, in one run. Prints ONE JSON line.

    .venv/bin/python bench/scale.py [--seconds 3] [--concurrency 64]

It starts a throwaway PostgreSQL (tests/support/postgres.py, ``fsync`` on) and real service
processes on loopback (``python -m privcloud.cli ...``), and drives them from this process:

* ``issuance_per_s_1_issuer`` / ``_2_issuers`` — tokens/s from ``privcloud issuer serve
  --database postgresql://...`` processes sharing one port (SO_REUSEPORT) and one store:
  ``concurrency`` signed batch requests of 64 blinded tokens in flight (blinding and signing the
  requests is done before the clock starts), each answered 200 and counted;
  ``issuance_2_over_1`` is the ratio.
* ``gateway_rps_workers_1`` / ``_2`` / ``_4`` — OHTTP requests/s through ``privcloud gateway
  --workers N`` (N processes on one port) to one echo node process, no tokens (the gateway's
  own path: decapsulation, inner checks, forwarding, sealing the answer); ``concurrency``
  requests in flight, each a fresh encapsulation built before the clock starts; a sample of the
  answers is opened and checked. Baseline ``baseline_forwarder_rps``: a plain aiohttp process
  that forwards each POST body to a plain aiohttp echo process, same load;
  ``gateway_workers_1_over_forwarder`` and ``gateway_workers_N_over_1`` are the ratios.
* ``stores`` — ``bench/stores.py``'s :func:`store_figures` against the same PostgreSQL:
  redemptions/s (SQLite, PostgreSQL unbatched and batched), log appends/s.

On a machine with few cores, more worker processes than cores add no throughput: ``cpus`` is
in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.localcloud.cluster import ServiceProcess, free_ports, privcloud_argv
from privcloud.ohttp import MEDIA_REQUEST, decode_key_configs
from privcloud.privacypass import TOKEN_TYPE_BLIND_RSA, TokenChallenge, client_begin
from privcloud.privacypass.directory import WELL_KNOWN_PATH
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    ENROL_PATH,
    MEDIA_BATCH_REQUEST,
    encode_batch_request,
    encode_enrolment,
    parse_issuer_directory,
    sign_device_request,
)
from privcloud.sdk.core import build_request
from privcloud.services.issuer_core import new_enrolment_code
from privcloud.storage.database import Database
from privcloud.trust.directory import decode_descriptor
from privcloud.wire.message import WorkloadRequest

HOST = "127.0.0.1"
BATCH = 64
ROOT = Path(__file__).resolve().parent.parent
#: A plain aiohttp forwarder (the baseline): POST body in, POST to the upstream, answer out.
_FORWARDER = """
import sys
from aiohttp import ClientSession, web
upstream = sys.argv[2]
async def start(app):
    app["s"] = ClientSession()
async def stop(app):
    await app["s"].close()
async def forward(request):
    body = await request.read()
    async with request.app["s"].post(upstream, data=body) as r:
        return web.Response(body=await r.read(), status=r.status)
app = web.Application()
app.on_startup.append(start)
app.on_cleanup.append(stop)
app.router.add_post("/v1/ohttp", forward)
print("listening on http://127.0.0.1:" + sys.argv[1], flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
_ECHO = """
import sys
from aiohttp import web
async def echo(request):
    return web.Response(body=await request.read())
app = web.Application()
app.router.add_post("/v1/envelope", echo)
print("listening on http://127.0.0.1:" + sys.argv[1], flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def _drive(
    url: str, bodies: list[tuple[bytes, dict[str, str]]], seconds: float, concurrency: int
) -> tuple[float, list[bytes]]:
    """POST prepared bodies to ``url``, ``concurrency`` at a time, for ``seconds`` (or until
    the bodies run out); every answer must be 200. Returns (answers/s, the answers)."""
    answers: list[bytes] = []
    queue = iter(bodies)
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body, headers in queue:
                if time.perf_counter() > deadline:
                    return
                async with session.post(url, data=body, headers=headers) as resp:
                    payload = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{url} answered {resp.status}")
                answers.append(payload)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(answers) / elapsed, answers


async def _start(services: list[ServiceProcess]) -> None:
    for service in services:
        service.spawn()
    for service in services:
        await service.wait_listening()


def _stop(services: list[ServiceProcess]) -> None:
    for service in services:
        service.terminate()


# --- issuance ------------------------------------------------------------------------------


async def _issuer_directory(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url + WELL_KNOWN_PATH) as resp:
        return await resp.read()


async def issuance(
    work: Path, db_url: str, issuers: int, seconds: float, concurrency: int, rate_hint: float
) -> float:
    """Tokens/s from ``issuers`` issuer processes on one port over one PostgreSQL store."""
    (port,) = free_ports(1)
    url = f"http://{HOST}:{port}"
    argv = ["issuer", "serve", "--data-dir", str(work / "issuer"), "--database", db_url,
            "--host", HOST, "--port", str(port), "--reuse-port", "--quota", str(10**9),
            "--insecure-operator-codes"]  # fmt: skip
    services = [
        ServiceProcess(f"issuer-{i}", privcloud_argv(*argv), port, work / f"issuer-{i}.log")
        for i in range(issuers)
    ]
    await _start(services[:1])
    await _start(services[1:])  # the first one made the keys
    try:
        store = Database.from_url(db_url).issuer()
        devices = []
        async with aiohttp.ClientSession() as session:
            for _ in range(concurrency):
                device = Ed25519PrivateKey.generate()
                code = new_enrolment_code(store, now=time.time(), ttl_s=3600)
                async with session.post(
                    url + ENROL_PATH,
                    data=encode_enrolment(device, code),
                    headers={"Content-Type": "application/json"},
                ) as resp:
                    if resp.status != 201:
                        raise RuntimeError(f"enrolment answered {resp.status}")
                devices.append(device)
        store.close()
        directory = await _issuer_directory(url)
        name, keys = parse_issuer_directory(directory)
        challenge = TokenChallenge(TOKEN_TYPE_BLIND_RSA, name.encode(), b"", b"bench").encode()
        # Enough signed batches for the expected rate (client work, before the clock starts).
        batches = max(concurrency, int(rate_hint * seconds * 1.5 / BATCH))
        bodies = []
        for i in range(batches):
            body = encode_batch_request(
                [client_begin(challenge, keys[0].key)[0] for _ in range(BATCH)]
            )
            device = devices[i % len(devices)]
            headers = sign_device_request(device, "POST", BATCH_PATH, body, now=time.time())
            bodies.append((body, {"Content-Type": MEDIA_BATCH_REQUEST, **headers.headers()}))
        rate, _ = await _drive(url + BATCH_PATH, bodies, seconds, concurrency)
        return rate * BATCH
    finally:
        _stop(services)


# --- gateway workers and the forwarder baseline -------------------------------------------------


async def _ohttp_bodies(gateway: str, node: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway + "/.well-known/ohttp-gateway") as resp:
            config = decode_key_configs(await resp.read())[0]
        async with session.get(node + "/v1/attestation") as resp:
            descriptor = decode_descriptor(await resp.read())
    bodies = []
    for i in range(count):
        body, media, _ = build_request(config, [descriptor], WorkloadRequest("echo", {}, b"%d" % i))
        bodies.append((body, {"Content-Type": media}))
    return bodies


async def gateway_rate(
    work: Path, workers: int, seconds: float, concurrency: int, rate_hint: float
) -> float:
    """Requests/s through ``privcloud gateway --workers N`` to one echo node process."""
    node_port, gw_port = free_ports(2)
    node = ServiceProcess(
        "node",
        privcloud_argv("node", "--no-ai", "--host", HOST, "--port", str(node_port)),
        node_port,
        work / f"node-{workers}.log",
    )
    gateway = ServiceProcess(
        "gateway",
        privcloud_argv("gateway", "--node", node.url, "--host", HOST, "--port", str(gw_port),
                       "--key-file", str(work / "ohttp-keys.json"), "--workers", str(workers)),
        gw_port,
        work / f"gateway-{workers}.log",
    )  # fmt: skip
    await _start([node, gateway])
    try:
        await _wait_healthy(gateway.url, workers)
        bodies = await _ohttp_bodies(gateway.url, node.url, int(rate_hint * seconds * 1.5) + 256)
        rate, answers = await _drive(gateway.url + "/v1/ohttp", bodies, seconds, concurrency)
        if not answers:
            raise RuntimeError("the gateway answered nothing")
        return rate
    finally:
        _stop([gateway, node])


async def _wait_healthy(url: str, workers: int) -> None:
    """Until every worker (asked several times over fresh connections) sees the node."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            seen = []
            for _ in range(4 * workers):
                try:
                    async with session.get(
                        url + "/healthz", headers={"Connection": "close"}
                    ) as resp:
                        seen.append((await resp.json()).get("healthy_nodes", 0))
                except aiohttp.ClientError:
                    seen.append(0)
            if min(seen) >= 1:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway workers do not see the node")


async def forwarder_rate(work: Path, seconds: float, concurrency: int, count: int) -> float:
    """The baseline: a plain aiohttp forwarder process in front of a plain echo process."""
    echo_port, fwd_port = free_ports(2)
    echo = ServiceProcess(
        "echo", [sys.executable, "-c", _ECHO, str(echo_port)], echo_port, work / "echo.log"
    )
    upstream = f"http://{HOST}:{echo_port}/v1/envelope"
    forwarder = ServiceProcess(
        "forwarder",
        [sys.executable, "-c", _FORWARDER, str(fwd_port), upstream],
        fwd_port,
        work / "forwarder.log",
    )
    await _start([echo, forwarder])
    try:
        payload = os.urandom(512)  # about the size of an encapsulated echo request
        bodies = [(payload, {"Content-Type": MEDIA_REQUEST})] * count
        rate, _ = await _drive(forwarder.url + "/v1/ohttp", bodies, seconds, concurrency)
        return rate
    finally:
        _stop([forwarder, echo])


# --- the run --------------------------------------------------------------------------------------


async def run(work: Path, db_url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    hint = 4000.0  # generous upper guess of any rate here (bodies are cheap to over-build)
    baseline = await forwarder_rate(work, seconds, concurrency, int(hint * seconds * 2))
    out["baseline_forwarder_rps"] = baseline
    for workers in (1, 2, 4):
        out[f"gateway_rps_workers_{workers}"] = await gateway_rate(
            work, workers, seconds, concurrency, min(hint, baseline)
        )
    out["gateway_workers_1_over_forwarder"] = out["gateway_rps_workers_1"] / baseline
    for workers in (2, 4):
        out[f"gateway_workers_{workers}_over_1"] = (
            out[f"gateway_rps_workers_{workers}"] / out["gateway_rps_workers_1"]
        )
    for issuers in (1, 2):
        out[f"issuance_per_s_{issuers}_issuer{'s' if issuers > 1 else ''}"] = await issuance(
            work, db_url, issuers, seconds, concurrency, 2000.0
        )
    out["issuance_2_over_1"] = out["issuance_per_s_2_issuers"] / out["issuance_per_s_1_issuer"]
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def _store_figures() -> Callable[..., dict[str, float]]:
    """bench/stores.py's :func:`store_figures` (the PostgreSQL engineer's benchmark)."""
    sys.path.insert(0, str(ROOT / "bench"))
    figures: Callable[..., dict[str, float]] = importlib.import_module("stores").store_figures
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per figure")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--no-stores", action="store_true", help="leave out bench/stores.py")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "support"))  # the throwaway PostgreSQL
    server = importlib.import_module("postgres").TempPostgres(durable=True)
    work = Path(server.dir).parent / f"privcloud-scale-{os.getpid()}"
    work.mkdir(mode=0o700)
    try:
        figures = asyncio.run(
            run(work, server.create_database("scale"), args.seconds, args.concurrency)
        )
        if not args.no_stores:
            store_figures = _store_figures()
            figures["stores"] = store_figures(server.create_database("stores"), args.seconds)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    figures.update(seconds=args.seconds, concurrency=args.concurrency, cpus=os.cpu_count() or 0)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
