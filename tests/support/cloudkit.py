"""Builds a loopback cloud for end-to-end tests with a recording proxy in front of every hop:

    client -> [relay proxy] -> relay -> [gateway proxy] -> gateway -> [node proxy] -> node

so a test can read exactly what each party received. With ``tokens=True`` the gateway asks
for anonymous tokens, and an issuer runs behind its own recording proxy:

    wallet -> [issuer proxy] -> issuer        (direct: device identity goes only there)

Every cloud also runs a transparency log with one witness: the nodes' release is published
there, the nodes attest with one INSECURE simulated TEE dev root, and ``Cloud.client_trust()``
is what a development client pins to admit them (full admission, docs/trust.md).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from netproxy import Proxy
from privcloud import limits
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import publish_entry
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_key import KeyRing
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.keylog import KeyLog
from privcloud.services.node import Node, node_release_manifest
from privcloud.services.redemption import (
    Redemption,
    SpendPolicy,
    TokenAuthorizer,
    TokenRefusedError,
)
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
from privcloud.trust.keys import issuer_step
from privcloud.wire import bhttp


@dataclass
class Cloud:
    nodes: list[Node]
    node_proxies: list[Proxy]
    gateway: Gateway
    gateway_proxy: Proxy
    relay: Relay
    relay_proxy: Proxy
    node_urls: list[str]
    runners: list[web.AppRunner] = field(default_factory=list)
    #: With tokens: the issuer, its recording proxy, and the directory of their SQLite files.
    issuer: Issuer | None = None
    issuer_proxy: Proxy | None = None
    token_dir: Path | None = None
    #: The transparency log and witness, and the simulated TEE's dev root (INSECURE).
    transparency: LocalTransparency | None = None
    insecure_tee_key: EcPrivateKey | None = None
    #: Publishes key statements (the gateway's and the issuer's) to the log.
    key_log: KeyLog | None = None

    @property
    def relay_url(self) -> str:
        return self.relay_proxy.url

    def client_trust(self) -> ClientTrust:
        """What a development client pins: the log, its witness, the simulated TEE's dev root."""
        assert self.transparency is not None and self.insecure_tee_key is not None
        t = self.transparency
        return ClientTrust.pinned(
            f"{self.relay_url}/log",  # the device reads the log through the relay
            t.log_vkey,
            t.witness_vkeys,
            insecure_simulated_keys=(self.insecure_tee_key.public_key().to_bytes(),),
        )

    @property
    def issuer_url(self) -> str:
        assert self.issuer_proxy is not None
        return self.issuer_proxy.url

    def new_wallet(self, **kwargs: Any) -> Wallet:
        """A wallet with a fresh one-time enrolment code, talking to the issuer's proxy."""
        assert self.issuer is not None
        code = self.issuer.core.new_enrolment_code()
        # Key consistency: the wallet also reads the issuer's directory through the relay.
        kwargs.setdefault("consistency_url", f"{self.relay_url}/issuer")
        return Wallet(self.issuer_url, enrolment_code=code, config=WalletConfig(**kwargs))

    async def rotate_gateway_key(
        self,
        *,
        retire_old: bool,
        lifetime_s: int = limits.OHTTP_KEY_LIFETIME_S,
        begun_s: int = limits.KEY_STATEMENT_SKEW_S,
    ) -> int:
        """Give the gateway a new OHTTP key valid for ``lifetime_s`` from ``begun_s`` ago (by
        default long enough for the directory statement to name it at once), log its
        statement (waiting for a cosigned checkpoint), with ``retire_old`` take every older key
        out, and log the directory statement naming the keys (as the gateway's health loop
        does within seconds); returns the new key id."""
        assert self.key_log is not None
        now = time.time()
        old = {r.key.key_id for r in self.gateway.ring.records}
        ring, record = self.gateway.ring.with_new_key(
            "privcloud.gateway", int(now) - begun_s, lifetime_s, now
        )
        await self.key_log.publish([record.statement])
        self.gateway.ring = ring
        if retire_old:
            self.gateway.ring = KeyRing(
                tuple(r for r in self.gateway.ring.records if r.key.key_id not in old)
            )
        await self.gateway.log_directory()
        return record.key.key_id

    async def add_issuer_key(self, *, to_relay: bool = True) -> None:
        """Give the issuer a new token key, that of the first step of the issuer key schedule
        after now without one (not valid yet), logged as its rotation logs a successor; the
        relay's copy of the issuer directory (unless not ``to_relay``: an issuer showing the
        key only to who reads it directly) and the gateway's issuer keys are refreshed at
        once."""
        assert self.issuer is not None and self.key_log is not None
        core = self.issuer.core
        stored = core.store.keys()
        start = issuer_step(time.time()) + limits.ISSUER_KEY_STEP_S
        while any(k.not_before == start for k in stored):  # (the step's last day: made)
            start += limits.ISSUER_KEY_STEP_S
        core._keys._add_key(stored, start, start + limits.ISSUER_KEY_LIFETIME_S)
        core._keys._keys = ()
        core.rotate()
        await self.key_log.publish(core.key_statements(self.issuer.issuer_name))
        if to_relay:
            await self.relay._refresh_issuer_copy()
        authorizer = self.gateway.authorizer
        assert isinstance(authorizer, TokenAuthorizer)
        await authorizer.refresh()

    async def stop(self) -> None:
        proxies = [self.relay_proxy, self.gateway_proxy, *self.node_proxies]
        if self.issuer_proxy is not None:
            proxies.append(self.issuer_proxy)
        for proxy in proxies:
            await proxy.stop()
        for runner in reversed(self.runners):
            await runner.cleanup()
        if self.issuer is not None:
            self.issuer.core.store.close()
        if self.token_dir is not None:
            shutil.rmtree(self.token_dir, ignore_errors=True)
        if self.transparency is not None:
            await self.transparency.stop()


def refuse_first(
    authorizer: TokenAuthorizer, www_authenticate: str
) -> Callable[[bhttp.Request], Awaitable[Redemption]]:
    """The gateway's authorizer, answering the first request it checks with a 401 carrying
    ``www_authenticate`` (as the gateway can, for any request it likes) and every later one as
    ``authorizer`` does."""
    refused: list[bool] = []

    async def check(inner: bhttp.Request) -> Redemption:
        if not refused:
            refused.append(True)
            raise TokenRefusedError("a PrivateToken is required", www_authenticate=www_authenticate)
        return await authorizer(inner)

    return check


async def start_cloud(
    regions: tuple[str, ...] = ("eu-west", "eu-west", "us-east"),
    *,
    relay_proxy: Proxy | None = None,
    tokens: bool = False,
    issuer_config: IssuerConfig | None = None,
    spend: SpendPolicy = "at-check",
) -> Cloud:
    runners: list[web.AppRunner] = []
    issuer = issuer_proxy = authorizer = token_dir = None
    if tokens:
        token_dir = Path(tempfile.mkdtemp(prefix="privcloud-test-tokens-"))
        issuer = Issuer(
            token_dir, issuer_config or IssuerConfig(insecure_operator_codes=True, quota=1000)
        )
        runner, iport = await start_site(issuer.app(), "127.0.0.1", 0)
        runners.append(runner)
        issuer_proxy = await Proxy(iport).start()
        store = SqliteSpentTokenStore(token_dir / "spent-tokens.sqlite3")
        # The gateway fetches the directory directly; the challenge names the proxied issuer.
        authorizer = TokenAuthorizer(
            store,
            issuer_url=f"http://127.0.0.1:{iport}",
            issuer_name=issuer_proxy.url[7:],
            spend=spend,
        )
    transparency = await LocalTransparency.start("127.0.0.1")
    release = node_release_manifest()
    await publish_entry(transparency.log_url, transparency.operator_key, release.encode())
    tee_key = EcPrivateKey.generate(Curve.P384)
    nodes, node_proxies, node_urls = [], [], []
    for index, region in enumerate(regions):
        node = Node(
            f"node-{index + 1}",
            region=region,
            provider="local",
            manifest=release,
            insecure_tee_key=tee_key,
            log_url=transparency.log_url,
        )
        runner, port = await start_site(node.app(), "127.0.0.1", 0)
        runners.append(runner)
        proxy = await Proxy(port).start()
        nodes.append(node)
        node_proxies.append(proxy)
        node_urls.append(f"http://127.0.0.1:{port}")
    gateway = Gateway(
        [p.url for p in node_proxies],
        authorizer=authorizer,
        node_check=transparency.insecure_node_check(tee_key.public_key().to_bytes()),
    )
    runner, gport = await start_site(gateway.app(), "127.0.0.1", 0)
    runners.append(runner)
    gateway_proxy = await Proxy(gport).start()
    relay = Relay(
        gateway_proxy.url,
        log_url=transparency.log_url,
        issuer_url=issuer_proxy.url if issuer_proxy is not None else None,
    )
    runner, rport = await start_site(relay.app(), "127.0.0.1", 0)
    runners.append(runner)
    if relay_proxy is None:
        relay_proxy = Proxy(rport)
    else:
        relay_proxy.target_port = rport
    await relay_proxy.start()
    # Key consistency: the gateway's and the issuer's keys are logged before devices use them.
    key_log = KeyLog(transparency.log_url, transparency.operator_key, min_cosignatures=1)
    statements = [r.statement for r in gateway.ring.offered(time.time())]
    if issuer is not None and issuer_proxy is not None:
        issuer.key_log, issuer.issuer_name = key_log, issuer_proxy.url[7:]
        statements += issuer.core.key_statements(issuer.issuer_name)
    await key_log.publish(statements)
    # Directory consistency: the gateway logs the statement of its nodes (docs/adr/0033).
    gateway.directory_log = key_log
    await gateway.log_directory()
    return Cloud(
        nodes,
        node_proxies,
        gateway,
        gateway_proxy,
        relay,
        relay_proxy,
        node_urls,
        runners,
        issuer=issuer,
        issuer_proxy=issuer_proxy,
        token_dir=token_dir,
        transparency=transparency,
        insecure_tee_key=tee_key,
        key_log=key_log,
    )


class Interceptor:
    """An attacker on the path to ``upstream``: its ``app`` sends every request to
    :meth:`forward` (by default :func:`pass_on`, unchanged), after the routes of its own that
    :meth:`routes` adds; subclasses say what they change."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream

    def app(self) -> web.Application:
        app = web.Application()
        self.routes(app)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    def routes(self, app: web.Application) -> None:
        """Routes answered before the catch-all (none here)."""

    async def forward(self, request: web.Request) -> web.Response:
        return await pass_on(request, self.upstream, await request.read())


InterceptorT = TypeVar("InterceptorT", bound=Interceptor)


@contextlib.asynccontextmanager
async def behind(
    make: Callable[[str], InterceptorT], *, tokens: bool = False
) -> AsyncIterator[tuple[Cloud, InterceptorT, str, ClientTrust]]:
    """A test cloud (with ``tokens``) and an interceptor ``make(relay_url)`` in front of its
    relay: the cloud, the interceptor, the URL devices reach it by, and the trust that reads
    the log through it."""
    cloud = await start_cloud(tokens=tokens)
    proxy = make(cloud.relay_url)
    runner, port = await start_site(proxy.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        trust = cloud.client_trust()
        yield cloud, proxy, url, type(trust)(f"{url}/log", trust.log, trust.roots)
    finally:
        await runner.cleanup()
        await cloud.stop()


async def pass_on(request: web.Request, upstream: str, body: bytes = b"") -> web.Response:
    """An attacker's forwarding, unchanged: ``request`` (with ``body``) to the same path at
    ``upstream``, and its answer back."""
    import aiohttp

    headers = {"Content-Type": request.content_type} if body else {}
    async with (
        aiohttp.ClientSession() as s,
        s.request(
            request.method, upstream + request.path_qs, data=body or None, headers=headers
        ) as r,
    ):
        payload = await r.read()
        return web.Response(status=r.status, body=payload, content_type=r.content_type)
