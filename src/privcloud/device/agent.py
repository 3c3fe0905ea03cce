"""The device agent: a loopback web app that plays a phone for the device console.

It starts a local private cloud in-process (:class:`~privcloud.localcloud.cloud.LocalCloud`, with
its AI models, anonymous tokens and the :class:`~privcloud.services.observe.Observer` tap), owns
one SDK client to it with a token wallet (as a phone app would), and serves the console page
(``static/``) and a small JSON API:

    GET  /                       the console page (and /static/console.js, console.css)
    GET  /api/status             features served, nodes, tokens, the device's address
    GET  /api/nodes              admitted nodes (attestation, release, admission trail), refused
    GET  /api/log                checkpoints, latest entries, the release's inclusion proof
    POST /api/run/{feature}      raw input as the body, ``?params=<JSON object>``; answers a
                                 stream of NDJSON lines (request, partial…, result | error, end).
                                 With ``Content-Type: application/vnd.privcloud.params+json``
                                 the body is the params and the input is empty (chat)
    GET  /api/requests           the recent requests (newest first)
    GET  /api/requests/{id}      the inspector record: route, nodes, token, timings, sizes, and
                                 what the relay, gateway, each node and the issuer observed
    GET  /api/live               WebSocket: the page's microphone in, a live call's captions,
                                 translations and speech out (:mod:`privcloud.device.live`)

Requests run one at a time (a lock), so the observer's records between a request's start and
end belong to it or are background traffic that :mod:`privcloud.device.explain` labels.

Errors are our exception tree mapped to HTTP statuses (unknown feature 404, oversize 413, bad
parameters 400, and whatever the node answered, when it failed before its first event); after
the stream began, an error is a ``{"type": "error"}`` line. The agent keeps serving.

Safety of a local web app: it listens on loopback only; it answers only requests whose ``Host``
is its own address (DNS rebinding), refuses a foreign ``Origin`` and requires the
``X-Privcloud-Console`` header on POST (a cross-site page cannot send it without a CORS
preflight, which the agent never grants); the page gets a strict Content-Security-Policy. It
logs route names and statuses only (:func:`privcloud.services.http.make_middleware`), never
input, parameters or results, and keeps no content in its request history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, cast

from aiohttp import web

from privcloud import limits
from privcloud.device import explain
from privcloud.device.live import LiveConsole
from privcloud.device.netaddr import (
    DEVICE_LOOPBACK,
    DeviceClient,
    DeviceWallet,
    usable_source_address,
)
from privcloud.device.records import HISTORY_SIZE, History, RequestRecord
from privcloud.device.views import log_view, nodes_view
from privcloud.device.web import (
    CONSOLE_HEADER,
    PARAMS_BODY,
    STATIC,
    event_line,
    run_input,
    security_headers,
    static_file,
    static_response,
    write_line,
)
from privcloud.errors import (
    ConfigError,
    NotFoundError,
    PolicyError,
    PrivcloudError,
    UnavailableError,
    UpstreamError,
)
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LOOPBACK, LocalCloud, NodeSpec
from privcloud.logclient import LogClient
from privcloud.netio import is_loopback
from privcloud.sdk.keyproofs import protection_of
from privcloud.sdk.router import DeviceProfile, Placement, Router, UserSettings
from privcloud.sdk.wallet_state import WalletConfig
from privcloud.services.http import Handler, Metrics, read_body
from privcloud.services.observe import Observation, Observer
from privcloud.services.site import new_app, start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.wire.message import Event, JSONObject
from privcloud.workloads.models import Models

log = logging.getLogger("privcloud.device")

#: The console's default port.
DEFAULT_PORT = 8490
#: Tokens the device's wallet fetches per batch.
TOKEN_BATCH = 16
#: Seconds the agent waits, after an answer ended, for every hop's record to land.
SETTLE_S = 1.0
#: The same, after an error (the request may never have reached every hop).
SETTLE_ERROR_S = 0.3
#: Issuer records kept to say when the wallet last fetched tokens.
ISSUER_MEMORY = 32


def default_nodes() -> list[NodeSpec]:
    """Three nodes in two regions."""
    return [
        NodeSpec("node-1", "eu-west", "local"),
        NodeSpec("node-2", "us-east", "local"),
        NodeSpec("node-3", "eu-west", "local"),
    ]


class DeviceAgent:
    """The device agent and the local cloud it talks to (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = DEFAULT_PORT,
        models: Models | None = None,
        warm_models: tuple[str, ...] = (),
        nodes: Sequence[NodeSpec] | None = None,
        k: int = limits.DEFAULT_ENVELOPE_RECIPIENTS,
        device_address: str | None = DEVICE_LOOPBACK,
        history_size: int = HISTORY_SIZE,
    ) -> None:
        """``device_address``: the loopback address the device's own connections leave from
        (:mod:`privcloud.device.netaddr`; None, or one this machine cannot bind: the default).
        ``models``: the nodes' AI models (None: the echo workloads only)."""
        if not is_loopback(host, allow_localhost=True):
            raise ConfigError("the device console listens on loopback only")
        self.host = host
        self.port = port
        self.models = models
        self.warm_models = warm_models
        self.nodes = list(nodes) if nodes is not None else default_nodes()
        self.k = k
        self.requested_address = device_address
        self.device_address: str | None = None
        self.history = History(history_size)
        self.observer = Observer()
        self.cloud: LocalCloud | None = None
        self._client: DeviceClient | None = None
        self._pending_client: DeviceClient | None = None
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()
        self._static: dict[str, bytes] = {}
        self._issuer_seen: deque[Observation] = deque(maxlen=ISSUER_MEMORY)
        self._issuer_seq = 0
        self.live = LiveConsole(lambda: self.client)
        available = frozenset(models.available()) if models is not None else frozenset()
        # The console shows the private path: every feature goes to the cloud, with the reason.
        self.router = Router(DeviceProfile(models=available), UserSettings(placement="cloud"))

    # --- life cycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def client(self) -> DeviceClient:
        if self._client is None:
            raise UnavailableError("the device agent is starting")
        return self._client

    async def start(self) -> None:
        """Serve the console (first, so a port in use fails at once), then start the local
        cloud, enrol the wallet and admit the nodes; the API answers 503 until then."""
        self._runner, self.port = await start_site(self.app(), self.host, self.port)
        try:
            forbid_core_dumps()  # its nodes serve the console's requests in this process
            self.cloud = cloud = LocalCloud(
                nodes=self.nodes,
                models=self.models,
                warm_models=self.warm_models,
                observer=self.observer,
            )
            await cloud.start()
            assert cloud.issuer is not None
            wanted = self.requested_address
            self.device_address = wanted if wanted and usable_source_address(wanted) else None
            wallet = DeviceWallet(
                cloud.issuer_url,
                local_address=self.device_address,
                enrolment_code=cloud.issuer.core.new_enrolment_code(),
                config=WalletConfig(
                    batch_size=TOKEN_BATCH, consistency_url=f"{cloud.relay_url}/issuer"
                ),
            )
            client = DeviceClient(
                cloud.relay_url,
                local_address=self.device_address,
                policy=ClientPolicy.insecure_local_dev(),
                k=self.k,
                wallet=wallet,
                trust=cloud.client_trust(),
            )
            self._pending_client = client
            await client.refresh()
            self._client = client
            self._note_issuer()
        except BaseException:
            await self.stop()
            raise
        log.info("device console up: %d nodes admitted", len(client.trail.admitted))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        client = self._client or self._pending_client
        if client is not None:
            await client.close()
            self._client = self._pending_client = None
        if self.cloud is not None:
            await self.cloud.stop()
            self.cloud = None

    async def __aenter__(self) -> DeviceAgent:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # --- the web app -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = new_app("console", Metrics("console"))
        app.middlewares.append(self._guard())
        app.on_response_prepare.append(security_headers)
        self._static = {name: static_file(name) for name in STATIC}
        r = app.router
        r.add_get("/", self.handle_index, name="index")
        r.add_get("/static/{name}", self.handle_static, name="static")
        r.add_get("/api/status", self.handle_status, name="status")
        r.add_get("/api/nodes", self.handle_nodes, name="nodes")
        r.add_get("/api/log", self.handle_log, name="log")
        r.add_post("/api/run/{feature}", self.handle_run, name="run")
        r.add_get("/api/requests", self.handle_requests, name="requests")
        r.add_get("/api/requests/{id}", self.handle_request, name="request")
        r.add_get("/api/live", self.live.handle, name="live")
        app.on_shutdown.append(self.live.shutdown)
        return app

    def _allowed_hosts(self) -> set[str]:
        hosts = {f"{self.host}:{self.port}", f"localhost:{self.port}"}
        if ":" in self.host:
            hosts.add(f"[{self.host}]:{self.port}")
        return hosts

    def _guard(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        """Refuse requests not from the console's own page (see the module docstring)."""

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            allowed = self._allowed_hosts()
            if request.headers.get("Host", "") not in allowed:
                raise PolicyError("the console answers requests for its own address only")
            origin = request.headers.get("Origin")
            if origin is not None and origin not in {f"http://{h}" for h in allowed}:
                raise PolicyError("the console answers its own page only")
            unsafe = request.method not in ("GET", "HEAD")
            if unsafe and request.headers.get(CONSOLE_HEADER) != "1":
                raise PolicyError("the console answers its own page only")
            return await handler(request)

        return guard

    async def handle_index(self, _: web.Request) -> web.Response:
        return static_response(self._static, "index.html")

    async def handle_static(self, request: web.Request) -> web.Response:
        return static_response(self._static, request.match_info["name"])

    def features(self) -> list[str]:
        """Features served by at least one admitted node."""
        served: set[str] = set()
        for admitted in self.client.trail.admitted:
            served.update(admitted.descriptor.features)
        return sorted(served)

    async def handle_status(self, _: web.Request) -> web.Response:
        client = self.client
        trail = client.trail
        wallet = client.wallet
        return web.json_response(
            {
                "service": "privcloud device console",
                "insecure": any(a.insecure for a in trail.admitted),
                "features": self.features(),
                "nodes": {"admitted": len(trail.admitted), "refused": len(trail.refused)},
                "k": client.k,
                "relay_url": client.relay_url,
                "device_address": self.device_address,
                "tokens": len(wallet) if wallet is not None else None,
                # False: enrolled with the local cloud's INSECURE operator code (no phone here).
                "device_attested": wallet.attested if wallet is not None else None,
                "models": sorted(self.models.available()) if self.models is not None else [],
                "busy": self._lock.locked(),
                "requests": len(self.history),
                "live_calls": self.live.active,
            }
        )

    async def handle_nodes(self, _: web.Request) -> web.Response:
        return web.json_response(nodes_view(self.client.trail))

    async def handle_log(self, _: web.Request) -> web.Response:
        client = self.client
        state, trust = client.log_state, client.trust
        if state is None or trust is None:
            raise UnavailableError("no trusted log checkpoint yet")
        releases = {a.log_index: a.manifest for a in client.trail.admitted}
        # Read the log as the device does: through the relay, on the device's own connection,
        # by its tiles alone (the JSON proof endpoints name the device's trusted size exactly).
        log_client = LogClient(trust.log_url, session=client.session, read="tiles")
        view = await log_view(log_client, state, releases, now=time.time())
        return web.json_response(view)

    async def handle_requests(self, _: web.Request) -> web.Response:
        return web.json_response({"requests": self.history.summaries()})

    async def handle_request(self, request: web.Request) -> web.Response:
        record = self.history.get(request.match_info["id"])
        if record is None:
            raise NotFoundError("no such request")
        return web.json_response(record.to_json())

    # --- running a feature -----------------------------------------------------------------

    async def handle_run(self, request: web.Request) -> web.StreamResponse:
        feature = request.match_info["feature"]
        if feature not in self.features():
            raise NotFoundError("unknown feature")
        in_body = request.content_type == PARAMS_BODY
        limit = limits.MAX_WORKLOAD_JSON if in_body else limits.MAX_WORKLOAD_INPUT
        body = await read_body(request, limit=limit)
        params, body = run_input(request.content_type, request.query.get("params"), body)
        async with self._lock:
            return await self._run(request, feature, params, body)

    async def _run(
        self, request: web.Request, feature: str, params: JSONObject, body: bytes
    ) -> web.StreamResponse:
        client = self.client
        route = self.router.route(feature, len(body))
        assert route.placement is Placement.CLOUD
        self._note_issuer()
        record = RequestRecord(
            feature=feature,
            param_names=tuple(sorted(params)),
            input_bytes=len(body),
            route={"placement": route.placement.value, "reason": route.reason},
            k=client.k,
            device_address=self.device_address,
            seq0=self.observer.last_seq,
        )
        self.history.add(record)
        trail, chosen_before = client.trail, client.trail.chosen
        spent = client.wallet.spent if client.wallet is not None else []
        token_before = spent[-1] if spent else None
        stream = cast(
            AsyncGenerator[Event, None],
            client.stream(feature, params, body, regions=route.regions),
        )

        def note_request() -> None:
            now = client.trail
            if now is not trail or now.chosen is not chosen_before:
                record.chosen = tuple(now.chosen)
                record.protection = protection_of(now.key_statement, now.admitted, now.chosen)
            if spent and spent[-1] is not token_before:
                record.token = spent[-1].describe()

        try:
            try:
                first = await anext(stream)
            except StopAsyncIteration:
                raise UpstreamError("answer ended without a result") from None
        except PrivcloudError as exc:
            await stream.aclose()
            note_request()
            record.fail(exc)
            await self._finish(record)
            doc = {**(record.error or {}), "request_id": record.id}
            return web.json_response(doc, status=exc.http_status)
        note_request()
        record.first_event_ms = record.elapsed_ms()
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/x-ndjson", "X-Request-Id": record.id},
        )
        try:
            await response.prepare(request)
            await write_line(response, self._request_line(record))
            await self._pump(response, record, stream, first)
            await self._finish(record)
            await write_line(response, {"type": "end", **record.summary()})
            await response.write_eof()
        except ConnectionError:
            # The page went away mid-stream: stop reading the answer; the agent keeps serving.
            record.status = "error"
            record.error = {"error": "cancelled", "message": "the page closed the stream"}
            await self._finish(record)
        except asyncio.CancelledError:
            record.status = "error"
            record.error = {"error": "cancelled", "message": "the agent stopped"}
            raise
        finally:
            await stream.aclose()
        return response

    def _request_line(self, record: RequestRecord) -> dict[str, Any]:
        return {
            "type": "request",
            "id": record.id,
            "feature": record.feature,
            "route": record.route,
            "chosen": list(record.chosen),
            "protection": record.protection,
            "k": record.k,
            "token": record.token,
        }

    async def _pump(
        self,
        response: web.StreamResponse,
        record: RequestRecord,
        stream: AsyncGenerator[Event, None],
        event: Event,
    ) -> None:
        """Write ``event`` and the rest of the stream as NDJSON lines; an error ends it."""
        try:
            while True:
                record.events += 1
                await write_line(response, event_line(event))
                if event.final:
                    record.total_ms = record.elapsed_ms()
                    record.result_bytes = len(event.data)
                    record.status = "ok"
                    return
                event = await anext(stream)
        except StopAsyncIteration:
            error: PrivcloudError = UpstreamError("answer ended without a result")
        except PrivcloudError as exc:
            error = exc
        record.total_ms = record.elapsed_ms()
        record.fail(error)
        await write_line(response, {"type": "error", "error": error.code, "message": str(error)})

    async def _finish(self, record: RequestRecord) -> None:
        """Close the record: timings, and (once every hop's record landed) the party views."""
        record.total_ms = record.total_ms or record.elapsed_ms()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (SETTLE_S if record.status == "ok" else SETTLE_ERROR_S)
        while True:
            seen = self.observer.since(record.seq0)
            roles = {explain.role_of(o.party) for o in seen if explain.is_request_hop(o)}
            if {explain.RELAY, explain.GATEWAY, explain.NODE} <= roles or loop.time() >= deadline:
                break
            await asyncio.sleep(0.01)
        self._note_issuer()
        key_ids = {
            a.descriptor.node_id: a.descriptor.key_id.hex() for a in self.client.trail.admitted
        }
        facts = explain.RequestFacts(
            device_address=self.device_address,
            chosen=record.chosen,
            key_ids=key_ids,
            token=record.token,
            input_bytes=record.input_bytes,
            started_at=record.started_at,
        )
        record.parties = explain.party_views(
            seen,
            facts,
            node_ids=[spec.node_id for spec in self.nodes],
            issuer_history=list(self._issuer_seen),
        )
        ran = [p["party"] for p in record.parties if p["ran_request"]]
        record.ran_on = ran[0] if ran else None
        record.background = explain.background(seen)

    def _note_issuer(self) -> None:
        """Remember the issuer's records (enrolment, batches) beyond the observer's window."""
        for obs in self.observer.since(self._issuer_seq):
            self._issuer_seq = obs.seq
            if obs.party == explain.ISSUER:
                self._issuer_seen.append(obs)
