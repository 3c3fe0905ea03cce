"""Builds a loopback cloud for end-to-end tests with a recording proxy in front of every hop:

    client -> [relay proxy] -> relay -> [gateway proxy] -> gateway -> [node proxy] -> node

so a test can read exactly what each party received.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from netproxy import Proxy
from privcloud.services.gateway import Gateway
from privcloud.services.http import start_site
from privcloud.services.node import Node
from privcloud.services.relay import Relay


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

    @property
    def relay_url(self) -> str:
        return self.relay_proxy.url

    async def stop(self) -> None:
        for proxy in [self.relay_proxy, self.gateway_proxy, *self.node_proxies]:
            await proxy.stop()
        for runner in reversed(self.runners):
            await runner.cleanup()


async def start_cloud(
    regions: tuple[str, ...] = ("eu-west", "eu-west", "us-east"),
    *,
    relay_proxy: Proxy | None = None,
) -> Cloud:
    runners: list[web.AppRunner] = []
    nodes, node_proxies, node_urls = [], [], []
    for index, region in enumerate(regions):
        node = Node(f"node-{index + 1}", region=region, provider="local")
        runner, port = await start_site(node.app(), "127.0.0.1", 0)
        runners.append(runner)
        proxy = await Proxy(port).start()
        nodes.append(node)
        node_proxies.append(proxy)
        node_urls.append(f"http://127.0.0.1:{port}")
    gateway = Gateway([p.url for p in node_proxies])
    runner, gport = await start_site(gateway.app(), "127.0.0.1", 0)
    runners.append(runner)
    gateway_proxy = await Proxy(gport).start()
    relay = Relay(gateway_proxy.url)
    runner, rport = await start_site(relay.app(), "127.0.0.1", 0)
    runners.append(runner)
    if relay_proxy is None:
        relay_proxy = Proxy(rport)
    else:
        relay_proxy.target_port = rport
    await relay_proxy.start()
    return Cloud(
        nodes, node_proxies, gateway, gateway_proxy, relay, relay_proxy, node_urls, runners
    )
