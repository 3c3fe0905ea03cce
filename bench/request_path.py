"""Benchmark of the private request path (issue 2). Prints ONE JSON line.

1. Latency, p50/p99, of a small ``echo`` request sent one at a time:
   * private: SDK -> relay -> gateway -> node over loopback (OHTTP + envelope to k=3 nodes),
   * plain:   the same three hops as plain aiohttp forwarders built from the same service
     helpers (bounded body reads, pooled client sessions), no cryptography, measured in the
     same run, interleaved, so the ratio is meaningful on a shared, noisy machine.
2. Gateway throughput: requests/s that one gateway *process* serves, with the node in another
   process and a load generator in this one (2 cores are shared by all three, as in CI), and
   the CPU µs each process spends per request (``cpu_us_per_request``, from /proc: the
   gateway's own cost against the plain forwarder's, whatever else takes the cores; the load
   generator's too); then the same with every process on uvloop (``uvloop``, when installed;
   ``PRIVCLOUD_EVENT_LOOP``). Two baselines: a plain forwarder in front of a plain node
   (``baseline_plain_forwarder_rps``: no cryptography anywhere) and, the issue's measure, a
   plain forwarder in front of the *same* node process, loaded with envelopes sealed to it
   (``baseline_plain_forwarder_same_node_rps``, ``gateway_over_plain_forwarder_same_node``:
   the node opens and seals as it does behind the gateway; only the gateway's OHTTP, Binary
   HTTP and shell differ; ``..._by_cpu``: the same ratio from the three processes' CPU per
   request, steadier than requests/s on a shared machine).
3. Gateway core throughput: the sans-IO work the gateway does per request (OHTTP decapsulation,
   Binary HTTP decode, envelope header parse, response encapsulation) on one core.
4. Post-quantum overhead (ADR 0014): the whole request's sans-IO cryptography (client: OHTTP
   encapsulation and envelope sealed to k=3 keys; gateway: decapsulation and response
   encapsulation; node: opening and sealing the answer; client: opening it), X25519 next to
   hybrid ML-KEM-768 + X25519, interleaved in the same run, and the request's size for each.
   The private path of 1. and the load of 2. use the hybrid suite (the SDK prefers it; the
   gateway offers it first); 3. is measured for X25519 and for the hybrid KEM.
5. Breakdown (issue 14): each sans-IO step of one private request (k=3, with a token) timed on
   its own, for both suites (``breakdown_x25519``, ``breakdown_hybrid``), and each plain hop's
   HTTP (``http_hop_*``); ``shell_overhead_k3_token_p50_ms`` is the privacy overhead less the
   hybrid steps' sum, what the services' shells cost. ``ab_*``: the CEK wraps and one unwrap
   through cryptography's native HPKE and through pyhpke / our key schedule, interleaved.
   ``baseline_x25519_us``: one X25519 key generation and exchange through ``cryptography``, the
   floor unit of the KEM steps. ``sans_io_on_path_us``: the steps' sum with the client's part
   sealed ahead (what is left of it at the request), as the SDK sends by default.
6. Timeline (issue 14, ``bench/request_timeline.py``): the same request on the live path, each
   segment between marks at the services' handlers and main steps (``timeline_us``, p50).

    python bench/request_path.py [--requests 400] [--seconds 5] [--rounds 300]
                                 [--parts breakdown,latency,throughput,core,suites,timeline]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privcloud.cli.runtime import EVENT_LOOP_ENV, run_service
from privcloud.crypto import blindrsa
from privcloud.crypto.hpke import (
    MLKEM768X25519_SHA256_CHACHA20,
    X25519_SHA256_AES128GCM,
    KemId,
    Suite,
    generate_keypair,
    seal_base,
)
from privcloud.crypto.hpke import open_base as hpke_open_base
from privcloud.crypto.symmetric import Aead
from privcloud.envelope import key_id_for, open_request, parse_header
from privcloud.envelope.format import (
    LABEL_WRAP,
    MEDIA_TYPE_REQUEST,
    VERSION,
    EnvelopeHeader,
    cek_size,
)
from privcloud.envelope.seal import Recipient, _request_keys, prepare_seal, seal_request
from privcloud.limits import MAX_HTTP_BODY
from privcloud.localcloud.cloud import LocalCloud
from privcloud.netio import new_session
from privcloud.netio.hop import HopClient, LazyHop
from privcloud.ohttp import (
    GatewayKey,
    decapsulate_request,
    decode_key_configs,
    encapsulate_request,
    prepare_encapsulation,
)
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    IssuerKey,
    Token,
    TokenChallenge,
    challenge_digest,
    client_begin,
    client_finalize,
    encode_authorization,
    issuer_evaluate,
    parse_authorization,
    verify_token,
)
from privcloud.sdk import Client
from privcloud.sdk.core import build_request
from privcloud.services.http import Metrics, read_body
from privcloud.services.lane import LANE, Lane, LaneAnswer
from privcloud.services.site import new_app, start_site
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.directory import NodeDescriptor, decode_directory
from privcloud.wire import bhttp
from privcloud.wire.message import (
    Event,
    EventKind,
    WorkloadRequest,
    decode_request,
    encode_event,
    encode_request,
    frame_event,
)
from privcloud.workloads import default_registry
from request_timeline import timeline

BODY = b"x" * 64
#: The media type of the plain hops' bodies.
PLAIN_MEDIA = "application/octet-stream"
#: Sealed envelopes prepared per second of a load run: more than the fastest run here answers
#: (a run that uses them all stops early; its rate and CPU per request stay right).
FED_RPS = 4000
#: Seconds of load before each measured run, not counted (:func:`_load`).
WARMUP_S = 1.0


async def _settle() -> None:
    """Run what is ready on the loop (e.g. a client's sealing ahead, scheduled as its answer
    came) before the next timed request, without leaving the loop idle."""
    for _ in range(4):
        await asyncio.sleep(0)


PARTS = ("breakdown", "latency", "throughput", "core", "suites", "timeline")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _plain_node() -> web.Application:
    registry = default_registry()

    async def node_handler(request: web.Request) -> web.Response:
        body = await read_body(request)
        events = list(registry.run(decode_request(body)))
        return web.Response(body=b"".join(encode_event(e) for e in events))

    node = new_app("plain-node", Metrics("plain-node"))
    node.router.add_post("/plain", node_handler)
    return node


def _plain_forwarder(target: str, client: str = "aiohttp") -> web.Application:
    """A plain forwarding hop: ``client`` "aiohttp" (a pooled ClientSession: the issue's
    baseline) or "hop" (the pooled one-shot client the relay and the gateway use,
    privcloud.netio.hop: the same hop without the privacy); "lane" is "hop" whose server
    answers one-shot posts on the lane, as the relay and the gateway do (docs/adr/0032)."""
    session: list[aiohttp.ClientSession] = []
    hop = LazyHop()

    async def lane_answer(body: bytes) -> LaneAnswer:
        answer = await hop.get().post(target, body, PLAIN_MEDIA, limit=MAX_HTTP_BODY)
        return LaneAnswer(answer.status, PLAIN_MEDIA, await answer.read())

    async def handler(request: web.Request) -> web.Response:
        body = await read_body(request)
        if client in ("hop", "lane"):
            answer = await hop.get().post(target, body, request.content_type, limit=MAX_HTTP_BODY)
            return web.Response(body=await answer.read(), status=answer.status)
        if not session:
            session.append(new_session())
        headers = {"Content-Type": request.content_type}
        async with session[0].post(target, data=body, headers=headers) as resp:
            return web.Response(body=await resp.read(), status=resp.status)

    async def close(_: web.Application) -> None:
        for s in session:
            await s.close()
        await hop.close()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = new_app("plain-hop", Metrics("plain-hop"))
    app.router.add_post("/plain", handler)
    if client == "lane":
        app[LANE] = Lane(b"/plain", PLAIN_MEDIA.encode(), "plain", lane_answer)
    app.router.add_get("/healthz", health)
    app.on_cleanup.append(close)
    return app


async def _plain_hops(client: str = "aiohttp") -> tuple[list[str], list[web.AppRunner]]:
    """relay -> gateway -> node, plain HTTP, built from the same helpers as the services, each
    forwarding hop on ``client`` (:func:`_plain_forwarder`); the URLs of the node, of the
    gateway hop and of the relay hop."""
    runners: list[web.AppRunner] = []
    runner, node_port = await start_site(_plain_node(), "127.0.0.1", 0)
    runners.append(runner)
    runner, gw_port = await start_site(
        _plain_forwarder(f"http://127.0.0.1:{node_port}/plain", client), "127.0.0.1", 0
    )
    runners.append(runner)
    runner, relay_port = await start_site(
        _plain_forwarder(f"http://127.0.0.1:{gw_port}/plain", client), "127.0.0.1", 0
    )
    runners.append(runner)
    return [f"http://127.0.0.1:{p}/plain" for p in (node_port, gw_port, relay_port)], runners


async def latency(requests: int) -> dict[str, float]:
    """Interleaved, one request at a time: plain hops; the private path with k=3 and k=1 node
    keys and no token; the full private path (k=3 and a Privacy Pass token), with each
    request's public-key work done while the device is idle (the client's default: sealing
    ahead, privcloud.sdk.ahead) and, as ``k3_token_fresh``, done when the request is made.

    Before each request the loop runs what is ready (:func:`_settle`): what a client does
    after its answer is not timed as part of the next request, whichever it is."""
    hop_urls, runners = await _plain_hops()
    plain_url = hop_urls[-1]
    # The same three plain hops on the client the relay and the gateway forward with: the
    # privacy overhead like for like (the baseline is the aiohttp one above).
    lean_urls, lean_runners = await _plain_hops("hop")
    runners += lean_runners
    # And on the lane, from a hop client: the HTTP the private path's client, relay and
    # gateway now use (docs/adr/0032), so the difference is what privacy itself costs.
    lane_urls, lane_runners = await _plain_hops("lane")
    runners += lane_runners
    lane_client = HopClient()
    plain_body = encode_request(WorkloadRequest("echo", {}, BODY))
    times: dict[str, list[float]] = {
        "plain": [], "k3": [], "k1": [], "k3_token": [], "k3_token_fresh": [],
        "plain_1hop": [], "plain_2hops": [], "plain_hop_client": [], "plain_lane": [],
    }  # fmt: skip
    dev = ClientPolicy.insecure_local_dev()
    async with (
        LocalCloud(require_tokens=False) as open_cloud,
        LocalCloud() as token_cloud,
        Client(open_cloud.relay_url, policy=dev, trust=open_cloud.client_trust()) as k3,
        Client(open_cloud.relay_url, policy=dev, trust=open_cloud.client_trust(), k=1) as k1,
        Client(
            token_cloud.relay_url,
            policy=dev,
            trust=token_cloud.client_trust(),
            # (a benchmark's load outruns any refill: INSECURE, never for devices)
            wallet=token_cloud.new_wallet(batch_size=64, insecure_fetch_on_request_path=True),
        ) as k3_token,
        Client(
            token_cloud.relay_url,
            policy=dev,
            trust=token_cloud.client_trust(),
            # (a benchmark's load outruns any refill: INSECURE, never for devices)
            wallet=token_cloud.new_wallet(batch_size=64, insecure_fetch_on_request_path=True),
            seal_ahead=False,
        ) as k3_token_fresh,
        aiohttp.ClientSession() as session,
    ):
        clients = {"k3": k3, "k1": k1, "k3_token": k3_token, "k3_token_fresh": k3_token_fresh}

        async def plain(url: str = plain_url) -> None:
            async with session.post(url, data=plain_body) as r:
                await r.read()

        async def plain_lane() -> None:
            answer = await lane_client.post(
                lane_urls[-1], plain_body, PLAIN_MEDIA, limit=MAX_HTTP_BODY
            )
            await answer.read()

        for _ in range(20):  # warm up every path
            await plain()
            await plain(lean_urls[-1])
            await plain_lane()
            for c in clients.values():
                await c.call("echo", None, BODY)
        # Fill the wallet for the whole run: the local cloud's issuer shares this process, so a
        # refill during the run would stall the loop and be measured as request latency.
        for wallet in (k3_token.wallet, k3_token_fresh.wallet):
            assert wallet is not None
            while len(wallet) < requests + 2 * wallet.low_water:
                await wallet.fetch()
        for _ in range(requests):
            await _settle()
            t0 = time.perf_counter()
            await plain()
            times["plain"].append((time.perf_counter() - t0) * 1000)
            for name, url in (
                ("plain_1hop", hop_urls[0]),
                ("plain_2hops", hop_urls[1]),
                ("plain_hop_client", lean_urls[-1]),
            ):
                await _settle()
                t0 = time.perf_counter()
                await plain(url)
                times[name].append((time.perf_counter() - t0) * 1000)
            await _settle()
            t0 = time.perf_counter()
            await plain_lane()
            times["plain_lane"].append((time.perf_counter() - t0) * 1000)
            for name, c in clients.items():
                await _settle()
                t0 = time.perf_counter()
                result = await c.call("echo", None, BODY)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert result.data == BODY
    await lane_client.close()
    for runner in runners:
        await runner.cleanup()
    plain50 = statistics.median(times["plain"])
    out: dict[str, float] = {
        "plain_p50_ms": round(plain50, 3),
        "plain_p99_ms": round(_percentile(times["plain"], 0.99), 3),
    }
    # Each plain hop's HTTP: client -> node, then what the gateway hop and the relay hop add.
    one, two = statistics.median(times["plain_1hop"]), statistics.median(times["plain_2hops"])
    out["http_hop_node_p50_ms"] = round(one, 3)
    out["http_hop_gateway_p50_ms"] = round(two - one, 3)
    out["http_hop_relay_p50_ms"] = round(plain50 - two, 3)
    lean50 = statistics.median(times["plain_hop_client"])
    out["plain_hop_client_p50_ms"] = round(lean50, 3)
    lane50 = statistics.median(times["plain_lane"])
    out["plain_lane_p50_ms"] = round(lane50, 3)
    for name in ("k3", "k1", "k3_token", "k3_token_fresh"):
        p50 = statistics.median(times[name])
        out[f"private_{name}_p50_ms"] = round(p50, 3)
        out[f"private_{name}_p99_ms"] = round(_percentile(times[name], 0.99), 3)
        out[f"privacy_overhead_{name}_p50_ms"] = round(p50 - plain50, 3)
        out[f"privacy_overhead_{name}_over_hop_client_plain_p50_ms"] = round(p50 - lean50, 3)
        out[f"privacy_overhead_{name}_over_lane_plain_p50_ms"] = round(p50 - lane50, 3)
    # What the token adds (wallet, the gateway's check and spend, larger messages), and what
    # sealing ahead takes off, each as a difference of two p50s of the same run.
    out["token_share_p50_ms"] = round(out["private_k3_token_p50_ms"] - out["private_k3_p50_ms"], 3)
    out["sealing_ahead_saves_p50_ms"] = round(
        out["private_k3_token_fresh_p50_ms"] - out["private_k3_token_p50_ms"], 3
    )
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loop_env(loop: str) -> dict[str, str]:
    return {**os.environ, EVENT_LOOP_ENV: loop}


def _spawn(args: list[str], loop: str = "asyncio") -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("privcloud")
    return subprocess.Popen(
        [str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_loop_env(loop)
    )


def _own_cpu_s(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc), with
    ``reaped`` those of its children that ended and were waited for; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (Linux /proc: each thread's ``children``)."""
    pids = [pid]
    for p in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    pids += [
                        int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()
                    ]
    return pids


def _cpu_s(pid: int) -> float:
    """CPU seconds process ``pid`` and its children (a node's pipeline process) have used,
    those that ended during the run included."""
    return sum(_own_cpu_s(p, reaped=True) for p in _tree(pid))


async def _quiet(pid: int, timeout: float = 120.0) -> None:
    """Wait until process ``pid`` and its children use under 5% of a core in each of two
    half seconds in a row.

    A node starts its call pipelines' process at once, and that process loads Whisper and a
    translation model for about ten seconds (privcloud.live.process): a load run in that time
    shares the cores with it (until 2026-12-06 the gateway's did, and the baselines' after it
    did not, which put the gateway's req/s ratio 0.1-0.2 lower than its CPU ratio)."""
    deadline = time.monotonic() + timeout
    used = _cpu_s(pid)
    quiet = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = _cpu_s(pid)
        quiet = quiet + 1 if now - used < 0.025 else 0
        if quiet == 2:  # a second in all: a pause between two models' loads is not the end
            return
        used = now
    raise RuntimeError("the node did not settle")


class _CpuMeter:
    """CPU seconds each of some processes uses between :meth:`start` and :meth:`stop`: what a
    request costs the forwarder alone, whatever else shares the cores."""

    def __init__(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        self.procs = procs
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: _cpu_s(p.pid) for name, p in self.procs.items()}
        self.before["load_generator"] = _own_cpu_s(os.getpid())  # (its children are measured)

    def per_request_us(self, requests: int) -> dict[str, float]:
        """CPU µs per request of each process with its children, and of this one alone
        (``load_generator``)."""
        used = {name: _cpu_s(p.pid) for name, p in self.procs.items()}
        used["load_generator"] = _own_cpu_s(os.getpid())
        return {
            name: round((used[name] - self.before[name]) / max(1, requests) * 1e6, 1)
            for name in used
        }


async def _wait_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            try:
                async with s.get(url) as r:
                    if r.status == 200:
                        doc = await r.json()
                        if doc.get("healthy_nodes", 1) >= 1:
                            return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


class _Loaded(NamedTuple):
    """What a load run measured: requests/s answered 200, other answers, all answers."""

    rps: float
    errors: int
    answered: int


async def _load(
    url: str,
    bodies: list[bytes],
    media: str,
    seconds: float,
    concurrency: int = 32,
    *,
    reuse: bool = True,
    meter: _CpuMeter | None = None,
) -> _Loaded:
    """POST ``bodies`` in turn to ``url`` from ``concurrency`` workers: first for
    ``WARMUP_S`` (not counted), then for ``seconds``.

    ``reuse=False`` sends each body once and stops early when they run out (sealed envelopes:
    a node opens each envelope once, so a repeat would measure its replay refusal). ``meter``
    is started when the counted load starts; read it after, per request *answered* (a run that
    stops early answers fewer than its rate times ``seconds``). The warm-up puts each process
    of the path in its steady state before it is measured (its pools, caches, allocator): a
    cold one answers its first second at two thirds of its later rate (docs/performance.md)."""
    done = 0
    errors = 0
    taken = 0
    counting = False
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as s:

        async def worker(until: float) -> None:
            nonlocal done, errors, taken
            while time.perf_counter() < until and (reuse or taken < len(bodies)):
                body = bodies[taken % len(bodies)]
                taken += 1
                async with s.post(url, data=body, headers={"Content-Type": media}) as r:
                    await r.read()
                    if not counting:
                        continue
                    if r.status == 200:
                        done += 1
                    else:
                        errors += 1

        warm_until = time.perf_counter() + WARMUP_S
        await asyncio.gather(*(worker(warm_until) for _ in range(concurrency)))
        counting = True
        if meter is not None:
            meter.start()
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return _Loaded(done / elapsed, errors, done + errors)


def _spawn_bench(args: list[str], loop: str = "asyncio") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_loop_env(loop),
    )


async def _forwarder_before_node(
    seconds: float,
    node: subprocess.Popen[bytes],
    node_port: int,
    nodes: list[NodeDescriptor],
    loop: str,
    client: str = "aiohttp",
) -> dict[str, float]:
    """The issue's baseline: a plain aiohttp forwarder process in front of the *same* node,
    loaded with envelopes sealed to it (the node opens, runs and seals each as it does behind
    the gateway; the forwarder does no OHTTP, no Binary HTTP, no token); with ``client``
    "hop", the same forwarder on the gateway's own client to nodes. Requests/s, errors, and
    the forwarder's and the node's CPU µs per request."""
    port = _free_port()
    target = f"http://127.0.0.1:{node_port}/v1/envelope"
    fwd = _spawn_bench(["--serve-plain-forwarder", str(port), target, client], loop)
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        recipients = [Recipient(n.key_id, n.public_key, n.suite) for n in nodes]
        now = time.time()
        request = encode_request(WorkloadRequest("echo", {}, BODY).stamped(now, None))
        envelopes = [
            seal_request(recipients, request)[0] for _ in range(int(FED_RPS * (seconds + WARMUP_S)))
        ]
        meter = _CpuMeter({"node": node, "forwarder": fwd})
        loaded = await _load(
            f"http://127.0.0.1:{port}/plain",
            envelopes,
            MEDIA_TYPE_REQUEST,
            seconds,
            reuse=False,
            meter=meter,
        )
        cpu = meter.per_request_us(loaded.answered)
        return {
            "rps": loaded.rps,
            "errors": loaded.errors,
            "forwarder_cpu_us": cpu["forwarder"],
            "node_cpu_us": cpu["node"],
            "load_generator_cpu_us": cpu["load_generator"],
        }
    finally:
        fwd.terminate()
        fwd.wait(timeout=10)


async def _gateway_rps(
    seconds: float,
    workers: int,
    loop: str = "asyncio",
    cpu: dict[str, float] | None = None,
    same_node: dict[str, float] | None = None,
    same_node_hop: dict[str, float] | None = None,
) -> tuple[float, int]:
    """Load a gateway of ``workers`` processes (node in another process; both on ``loop``) with
    pre-built requests; with one worker, ``cpu`` gets each process's CPU µs per request.
    ``same_node`` gets :func:`_forwarder_before_node`'s figures, measured after the gateway's
    with the same node process; ``same_node_hop`` the same for a forwarder on the hop client."""
    node_port, gw_port = _free_port(), _free_port()
    procs = [_spawn(["node", "--id", "bench-node", "--port", str(node_port)], loop)]
    key_dir = tempfile.TemporaryDirectory()
    try:
        await _wait_healthy(f"http://127.0.0.1:{node_port}/healthz")
        await _quiet(procs[0].pid)
        gateway = ["gateway", "--node", f"http://127.0.0.1:{node_port}", "--port", str(gw_port)]
        gateway += ["--workers", str(workers), "--key-file", f"{key_dir.name}/gateway.key"]
        procs.append(_spawn(gateway, loop))
        gw = f"http://127.0.0.1:{gw_port}"
        await _wait_healthy(f"{gw}/healthz")
        # The gateway alone is measured: no relay, no tokens. Requests are sealed to the nodes
        # its directory lists (admission is the client's business: bench/trust.py).
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{gw}/.well-known/ohttp-gateway") as r:
                config = decode_key_configs(await r.read())[0]
            async with s.get(f"{gw}/v1/directory") as r:
                nodes = decode_directory(await r.read())
        # Fresh envelopes only (a node opens each once): FED_RPS a second.
        now = time.time()
        request = WorkloadRequest("echo", {}, BODY)
        prepared = [
            build_request(config, nodes, request, now=now)[0]
            for _ in range(int(FED_RPS * (seconds + WARMUP_S)))
        ]
        meter = _CpuMeter({"node": procs[0], "gateway": procs[1]}) if workers == 1 else None
        loaded = await _load(
            f"{gw}/v1/ohttp", prepared, "message/ohttp-req", seconds, reuse=False, meter=meter
        )
        if meter is not None and cpu is not None:
            cpu.update(meter.per_request_us(loaded.answered))
        if same_node is not None:
            figures = await _forwarder_before_node(seconds, procs[0], node_port, nodes, loop)
            same_node.update(figures)
        if same_node_hop is not None:
            figures = await _forwarder_before_node(
                seconds, procs[0], node_port, nodes, loop, client="hop"
            )
            same_node_hop.update(figures)
        return loaded.rps, loaded.errors
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        key_dir.cleanup()


async def _plain_rps(
    seconds: float, loop: str = "asyncio", cpu: dict[str, float] | None = None
) -> float:
    """Requests/s of a plain aiohttp forwarder process (plain node in another process) loaded
    as the gateway is; ``cpu`` gets each process's CPU µs per request."""
    plain_node, plain_fwd = _free_port(), _free_port()
    procs = [_spawn_bench(["--serve-plain-node", str(plain_node)], loop)]
    try:
        procs.append(
            _spawn_bench(
                [
                    "--serve-plain-forwarder",
                    str(plain_fwd),
                    f"http://127.0.0.1:{plain_node}/plain",
                    "aiohttp",
                ],
                loop,
            )
        )
        await _wait_healthy(f"http://127.0.0.1:{plain_fwd}/healthz")
        body = encode_request(WorkloadRequest("echo", {}, BODY))
        meter = _CpuMeter({"node": procs[0], "forwarder": procs[1]})
        loaded = await _load(
            f"http://127.0.0.1:{plain_fwd}/plain",
            [body],
            "application/octet-stream",
            seconds,
            meter=meter,
        )
        if cpu is not None:
            cpu.update(meter.per_request_us(loaded.answered))
        return loaded.rps
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


async def gateway_throughput(seconds: float) -> dict[str, object]:
    """Gateway requests/s with one and with two worker processes and, as the baseline, a plain
    aiohttp forwarder process (plain node in another process) loaded the same way; the CPU
    each process spends per request; the same with every process on uvloop."""
    gw_cpu: dict[str, float] = {}
    plain_cpu: dict[str, float] = {}
    same_node: dict[str, float] = {}
    same_hop: dict[str, float] = {}
    rps, errors = await _gateway_rps(
        seconds, workers=1, cpu=gw_cpu, same_node=same_node, same_node_hop=same_hop
    )
    rps2, errors2 = await _gateway_rps(seconds, workers=2)
    plain_rps = await _plain_rps(seconds, cpu=plain_cpu)
    out: dict[str, object] = {
        "gateway_rps": round(rps, 1),
        "gateway_2_workers_rps": round(rps2, 1),
        "gateway_errors": errors + errors2,
        "baseline_plain_forwarder_rps": round(plain_rps, 1),
        "gateway_over_plain_forwarder": round(rps / plain_rps, 3),
        # What one request costs each process (CPU µs): the gateway against the forwarder
        # alone, whatever the node and the load generator take of the shared cores.
        "cpu_us_per_request": {
            "gateway": gw_cpu.get("gateway"),
            "gateway_node": gw_cpu.get("node"),
            "plain_forwarder": plain_cpu.get("forwarder"),
            "plain_node": plain_cpu.get("node"),
            "same_node_forwarder": same_node["forwarder_cpu_us"],
            "same_node_forwarder_node": same_node["node_cpu_us"],
            "gateway_load_generator": gw_cpu.get("load_generator"),
            "same_node_load_generator": same_node["load_generator_cpu_us"],
        },
        # The measure: a plain forwarder in front of the same node (envelopes sealed
        # to it), so the node's own work weighs on both sides of the ratio.
        "baseline_plain_forwarder_same_node_rps": round(same_node["rps"], 1),
        "baseline_plain_forwarder_same_node_errors": int(same_node["errors"]),
        "gateway_over_plain_forwarder_same_node": round(rps / same_node["rps"], 3),
        # Like for like: the same forwarder on the client the gateway itself forwards with.
        "baseline_hop_forwarder_same_node_rps": round(same_hop["rps"], 1),
        "gateway_over_hop_forwarder_same_node": round(rps / same_hop["rps"], 3),
        "hop_forwarder_cpu_us": same_hop["forwarder_cpu_us"],
        "hop_forwarder_node_cpu_us": same_hop["node_cpu_us"],
    }
    # The same ratio from CPU µs per request of all three processes (steadier than req/s on
    # a shared machine): the throughput ratio where the cores, not waits, set the pace.
    gw_total = sum(gw_cpu.get(n, 0.0) for n in ("gateway", "node", "load_generator"))
    same_total = sum(
        same_node[n] for n in ("forwarder_cpu_us", "node_cpu_us", "load_generator_cpu_us")
    )
    hop_total = sum(
        same_hop[n] for n in ("forwarder_cpu_us", "node_cpu_us", "load_generator_cpu_us")
    )
    if gw_total:
        out["gateway_over_plain_forwarder_same_node_by_cpu"] = round(same_total / gw_total, 3)
        out["gateway_over_hop_forwarder_same_node_by_cpu"] = round(hop_total / gw_total, 3)
    if gw_cpu.get("gateway") and plain_cpu.get("forwarder"):
        out["gateway_cpu_over_forwarder_cpu"] = round(gw_cpu["gateway"] / plain_cpu["forwarder"], 3)
    if importlib.util.find_spec("uvloop") is not None:
        uv_gw_cpu: dict[str, float] = {}
        uv_plain_cpu: dict[str, float] = {}
        uv_rps, uv_errors = await _gateway_rps(seconds, workers=1, loop="uvloop", cpu=uv_gw_cpu)
        uv_plain = await _plain_rps(seconds, loop="uvloop", cpu=uv_plain_cpu)
        out["uvloop"] = {
            "cpu_us_per_request": {
                "gateway": uv_gw_cpu.get("gateway"),
                "gateway_node": uv_gw_cpu.get("node"),
                "plain_forwarder": uv_plain_cpu.get("forwarder"),
                "plain_node": uv_plain_cpu.get("node"),
            },
            "gateway_rps": round(uv_rps, 1),
            "gateway_errors": uv_errors,
            "baseline_plain_forwarder_rps": round(uv_plain, 1),
            "gateway_over_plain_forwarder": round(uv_rps / uv_plain, 3),
            "gateway_rps_over_asyncio": round(uv_rps / rps, 3),
        }
    return out


async def _serve(app: web.Application, port: int) -> None:
    runner, _ = await start_site(app, "127.0.0.1", port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def gateway_core(
    seconds: float = 2.0, kem: KemId = KemId.DHKEM_X25519_HKDF_SHA256
) -> dict[str, float]:
    """The gateway's per-request sans-IO work on one core (OHTTP to a ``kem`` key), and a
    SHA-256 baseline."""
    key = GatewayKey.generate(key_id=1, kem=kem)
    nodes = []
    for i in range(3):
        k = generate_keypair(KemId.DHKEM_X25519_HKDF_SHA256)
        nodes.append(
            NodeDescriptor(
                f"n{i}",
                key_id_for(k.kem, k.public_bytes),
                X25519_SHA256_AES128GCM,
                k.public_bytes,
                "r",
                "p",
                "simulated-insecure",
            )
        )
    bodies = [
        build_request(key.config, nodes, WorkloadRequest("echo", {}, BODY))[0] for _ in range(500)
    ]
    keys = {key.key_id: key}
    reply = bhttp.encode_response(bhttp.Response(status=200, content=b"y" * 400))
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        inner, ctx = decapsulate_request(keys, bodies[n % len(bodies)])
        parse_header(bhttp.decode_request(inner).content)
        ctx.encapsulate_response(reply)
        n += 1
    core_rps = n / (time.perf_counter() - t0)
    m = 0
    t0 = time.perf_counter()
    data = b"z" * 1024
    while time.perf_counter() - t0 < 0.5:
        hashlib.sha256(data).digest()
        m += 1
    sha_rate = m / (time.perf_counter() - t0)
    return {
        "gateway_core_rps_one_core": round(core_rps, 1),
        "baseline_sha256_1k_per_s": round(sha_rate, 1),
        "gateway_core_cost_in_sha256_1k": round(sha_rate / core_rps, 1),
    }


def _suite_round_trip(suite: Suite) -> tuple[object, int]:
    """A prepared sans-IO round trip over ``suite`` (gateway key of its KEM, k=3 node keys);
    returns ``(run, request_bytes)`` where ``run()`` does one whole request's cryptography."""
    key = GatewayKey.generate(key_id=1, kem=suite.kem)
    privs = [generate_keypair(suite.kem) for _ in range(3)]
    nodes = [
        NodeDescriptor(f"n{i}", key_id_for(k.kem, k.public_bytes), suite, k.public_bytes, "r",
                       "p", "simulated-insecure")
        for i, k in enumerate(privs)
    ]  # fmt: skip
    keys = {key.key_id: key}
    answer = frame_event(Event(EventKind.RESULT, {}, b"y" * 64))
    request = WorkloadRequest("echo", {}, BODY)

    def run() -> None:
        body, _, reader = build_request(key.config, nodes, request)
        inner, gateway_ctx = decapsulate_request(keys, body)
        envelope = bhttp.decode_request(inner).content
        _, session = open_request(envelope, nodes[0].key_id, privs[0])
        sealed = session.seal_response(answer)
        reply = bhttp.encode_response(bhttp.Response(status=200, content=sealed))
        reader.feed(gateway_ctx.encapsulate_response(reply))
        assert reader.close()[0].data == b"y" * 64

    size = len(build_request(key.config, nodes, request)[0])
    return run, size


def _tokens(n: int) -> tuple[list[bytes], dict[bytes, IssuerKey], bytes]:
    """``n`` Privacy Pass tokens from a fresh issuer key (not timed), the key map and the
    challenge digest the gateway checks them against."""
    challenge = TokenChallenge(TOKEN_TYPE_BLIND_RSA, b"issuer.bench", b"", b"gw").encode()
    sk = blindrsa.generate_private_key()
    key = IssuerKey.from_public_key(sk.public_key())
    made = []
    for _ in range(n):
        req, state = client_begin(challenge, key)
        made.append(client_finalize(state, issuer_evaluate(sk, req, key.key_id)).encode())
    return made, {key.key_id: key}, challenge_digest(challenge)


def _x25519_floor(rounds: int = 2000) -> float:
    """Median µs of one X25519 key generation and exchange (``cryptography``)."""
    peer = X25519PrivateKey.generate().public_key()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        X25519PrivateKey.generate().exchange(peer)
        samples.append((time.perf_counter() - t0) * 1e6)
    return round(statistics.median(samples), 1)


def _inner_request(headers: tuple[bhttp.Field, ...], envelope: bytes) -> bytes:
    return bhttp.encode_request(
        bhttp.Request(b"POST", b"https", b"gw", b"/v1/envelope", headers, envelope)
    )


def breakdown(suite: Suite, rounds: int = 300, k: int = 3) -> dict[str, float]:
    """Where the sans-IO microseconds of one private request go, for ``suite`` (k node keys and
    a token): each step timed on its own, in request order, medians over ``rounds`` requests.

    Client: the content key and content AEAD (CEK, HKDF, seal), the k CEK wraps (HPKE
    single-shot), the whole envelope (both), Binary HTTP encoding, OHTTP encapsulation; and,
    outside the total, the same sealed ahead: the part done while idle and the part left at
    the request (``ab_client_sealed_ahead_*``). Gateway:
    OHTTP decapsulation, Binary HTTP decode and envelope header parse, the token check (decode,
    RSA-PSS verify, the spend in the SQLite spent-token store), response encapsulation. Node:
    opening the envelope, sealing the answer. Client: opening the answer (OHTTP and envelope).
    """
    key = GatewayKey.generate(key_id=1, kem=suite.kem)
    privs = [generate_keypair(suite.kem) for _ in range(k)]
    nodes = [
        NodeDescriptor(f"n{i}", key_id_for(p.kem, p.public_bytes), suite, p.public_bytes, "r",
                       "p", "simulated-insecure")
        for i, p in enumerate(privs)
    ]  # fmt: skip
    recipients = [Recipient(n.key_id, n.public_key, n.suite) for n in nodes]
    header = EnvelopeHeader(VERSION, suite, tuple(n.key_id for n in nodes)).encode()
    keys = {key.key_id: key}
    tokens, token_keys, digest = _tokens(rounds)
    tmp = tempfile.TemporaryDirectory()
    store = SqliteSpentTokenStore(Path(tmp.name) / "spent.sqlite3")
    payload = encode_request(WorkloadRequest("echo", {}, BODY).stamped(time.time(), None))
    answer = frame_event(Event(EventKind.RESULT, {}, b"y" * 64))
    steps: dict[str, list[float]] = {}

    def lap(name: str, t0: float) -> float:
        """Record the time since ``t0`` as one sample of step ``name``; return a fresh start."""
        now = time.perf_counter()
        steps.setdefault(name, []).append((now - t0) * 1e6)
        return time.perf_counter()

    for i in range(rounds):
        t = time.perf_counter()
        cek = os.urandom(cek_size(suite))
        ks = _request_keys(suite, cek)
        Aead(suite.aead, ks.key).seal(ks.nonce, payload, header)
        t = lap("client_content_key_and_aead", t)
        for r in recipients:
            seal_base(suite, r.public_key, LABEL_WRAP, header, cek)
        t = lap(f"client_{k}_wraps", t)
        wrapped = []
        for r in recipients:
            wrapped.append(seal_base(suite, r.public_key, LABEL_WRAP, header, cek, native=False))
        lap(f"ab_client_{k}_wraps_not_native", t)
        t = time.perf_counter()
        hpke_open_base(suite, wrapped[0][0], privs[0], LABEL_WRAP, header, wrapped[0][1])
        t = lap("ab_node_unwrap_native", t)
        hpke_open_base(
            suite, wrapped[0][0], privs[0], LABEL_WRAP, header, wrapped[0][1], native=False
        )
        lap("ab_node_unwrap_not_native", t)
        t = time.perf_counter()
        envelope, client_session = seal_request(recipients, payload)
        lap("client_envelope_total", t)
        authorization = ((b"authorization", encode_authorization(tokens[i]).encode()),)
        t = time.perf_counter()
        inner = _inner_request(authorization, envelope)
        t = lap("client_bhttp_encode", t)
        body, client_ctx = encapsulate_request(key.config, inner)
        t = lap("client_ohttp_encapsulate", t)
        # The same client work sealed ahead (docs/adr/0028): what is done while the device is
        # idle, and what is left when the request is made (its envelope, Binary HTTP, OHTTP).
        ahead, ahead_ohttp = prepare_seal(recipients), prepare_encapsulation(key.config)
        t = lap("ab_client_sealed_ahead_while_idle", t)
        ahead_envelope, _ = ahead.seal(payload)
        ahead_ohttp.seal(_inner_request(authorization, ahead_envelope))
        t = lap("ab_client_sealed_ahead_at_request", t)
        inner2, gw_ctx = decapsulate_request(keys, body)
        t = lap("gateway_ohttp_decapsulate", t)
        req = bhttp.decode_request(inner2)
        parse_header(req.content)
        t = lap("gateway_bhttp_decode_and_header", t)
        token = Token.decode(parse_authorization(req.headers[0][1]))
        verify_token(token, token_keys, challenge_digest=digest)
        store.spend_sync(token.nonce, key_id=token.token_key_id, expires=2**40)
        t = lap("gateway_token_check", t)
        _, node_session = open_request(req.content, nodes[0].key_id, privs[0])
        t = lap("node_open_envelope", t)
        sealed = node_session.seal_response(answer)
        t = lap("node_seal_response", t)
        reply = bhttp.encode_response(bhttp.Response(status=200, content=sealed))
        enc_reply = gw_ctx.encapsulate_response(reply)
        t = lap("gateway_ohttp_encapsulate_response", t)
        res = bhttp.decode_response(client_ctx.decapsulate_response(enc_reply))
        client_session.open_response(res.content)
        lap("client_open_response", t)
    tmp.cleanup()
    out = {f"{name}_us": round(statistics.median(v), 1) for name, v in steps.items()}
    out["sans_io_total_us"] = round(
        sum(v for n, v in out.items() if n != "client_envelope_total_us" and n[:3] != "ab_")
        - out["client_content_key_and_aead_us"] - out[f"client_{k}_wraps_us"]
        + out["client_envelope_total_us"], 1,
    )  # fmt: skip
    # Sealed ahead (the SDK's default), the client's envelope, Binary HTTP and OHTTP sealing at
    # the request are what ab_client_sealed_ahead_at_request takes.
    out["sans_io_on_path_us"] = round(
        out["sans_io_total_us"] - out["client_envelope_total_us"] - out["client_bhttp_encode_us"]
        - out["client_ohttp_encapsulate_us"] + out["ab_client_sealed_ahead_at_request_us"], 1,
    )  # fmt: skip
    return out


def suite_overhead(rounds: int = 300) -> dict[str, float]:
    """Per-request cryptography of X25519 and of the hybrid suite, interleaved (microseconds,
    median), and the request size each gives (a 64-byte echo, k=3)."""
    x_run, x_size = _suite_round_trip(X25519_SHA256_AES128GCM)
    h_run, h_size = _suite_round_trip(MLKEM768X25519_SHA256_CHACHA20)
    times: dict[str, list[float]] = {"x25519": [], "hybrid": []}
    for _ in range(rounds):
        for name, run in (("x25519", x_run), ("hybrid", h_run)):
            t0 = time.perf_counter()
            run()  # type: ignore[operator]
            times[name].append((time.perf_counter() - t0) * 1e6)
    x_us, h_us = statistics.median(times["x25519"]), statistics.median(times["hybrid"])
    return {
        "x25519_request_crypto_us": round(x_us, 1),
        "hybrid_request_crypto_us": round(h_us, 1),
        "hybrid_overhead_us": round(h_us - x_us, 1),
        "hybrid_over_x25519_crypto_ratio": round(h_us / x_us, 2),
        "x25519_request_bytes": x_size,
        "hybrid_request_bytes": h_size,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=300, help="breakdown rounds per suite")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of {','.join(PARTS)}",
    )
    parser.add_argument("--serve-plain-node", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-plain-forwarder", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain_node:
        await _serve(_plain_node(), args.serve_plain_node)
        return
    if args.serve_plain_forwarder:
        port, target, client = args.serve_plain_forwarder
        await _serve(_plain_forwarder(target, client), int(port))
        return
    parts = set(args.parts.split(","))
    figures: dict[str, object] = {"bench": "request_path", "cpus": os.cpu_count()}
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    if "breakdown" in parts:
        figures["baseline_x25519_us"] = _x25519_floor()
        figures["breakdown_x25519"] = breakdown(X25519_SHA256_AES128GCM, args.rounds)
        figures["breakdown_hybrid"] = breakdown(MLKEM768X25519_SHA256_CHACHA20, args.rounds)
    if "latency" in parts:
        lat = await latency(args.requests)
        figures.update(lat)
        if "breakdown" in parts:
            # The private path's p50 over plain HTTP, less its hybrid sans-IO cryptography (the
            # client's sealed ahead): what the services' shells (HTTP handling, SDK, token store)
            # add beyond plain hops.
            crypto_ms = figures["breakdown_hybrid"]["sans_io_on_path_us"] / 1000  # type: ignore[index]
            figures["shell_overhead_k3_token_p50_ms"] = round(
                lat["privacy_overhead_k3_token_p50_ms"] - crypto_ms, 3
            )
    if "throughput" in parts:
        figures.update(await gateway_throughput(args.seconds))
    if "core" in parts:
        figures.update(gateway_core())
        hybrid_core = gateway_core(kem=KemId.MLKEM768_X25519)["gateway_core_rps_one_core"]
        figures["gateway_core_hybrid_rps_one_core"] = hybrid_core
    if "suites" in parts:
        figures.update(suite_overhead())
    if "timeline" in parts:
        figures.update(await timeline(args.requests))
    figures["targets"] = {
        "privacy_overhead_k3_token_p50_ms": "<= 1.0",
        "gateway_over_plain_forwarder": ">= 0.9",
        "gateway_rps": ">= 2000",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    run_service(main())  # the event loop PRIVCLOUD_EVENT_LOOP names (asyncio by default)
