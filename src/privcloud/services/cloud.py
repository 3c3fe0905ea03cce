"""A whole private cloud on loopback, in one event loop: relay, gateway and several nodes.

Used by ``privcloud up``/``demo`` and by the end-to-end tests. Every service listens on
127.0.0.1 only and talks to the next hop over real HTTP sockets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web

from privcloud.errors import ConfigError
from privcloud.services.gateway import Gateway
from privcloud.services.http import start_site
from privcloud.services.node import Node
from privcloud.services.relay import Relay

log = logging.getLogger("privcloud.cloud")

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    region: str = "local"
    provider: str = "local"


@dataclass
class LocalCloud:
    """Starts and stops the services; ``relay_url`` is what a client needs."""

    nodes: list[NodeSpec] = field(
        default_factory=lambda: [
            NodeSpec("node-1", "eu-west", "local"),
            NodeSpec("node-2", "eu-west", "local"),
            NodeSpec("node-3", "us-east", "local"),
        ]
    )
    host: str = LOOPBACK
    relay_port: int = 0
    gateway_port: int = 0
    node_objects: list[Node] = field(default_factory=list)
    gateway: Gateway | None = None
    relay: Relay | None = None
    relay_url: str = ""
    gateway_url: str = ""
    node_urls: list[str] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)

    async def start(self) -> None:
        if not self.host.startswith("127.") and self.host != "::1":
            raise ConfigError("the local cloud listens on loopback only")
        if not self.nodes:
            raise ConfigError("the local cloud needs at least one node")
        try:
            for spec in self.nodes:
                node = Node(spec.node_id, region=spec.region, provider=spec.provider)
                runner, port = await start_site(node.app(), self.host, 0)
                self._runners.append(runner)
                self.node_objects.append(node)
                self.node_urls.append(f"http://{self.host}:{port}")
            self.gateway = Gateway(self.node_urls)
            runner, port = await start_site(self.gateway.app(), self.host, self.gateway_port)
            self._runners.append(runner)
            self.gateway_url = f"http://{self.host}:{port}"
            self.relay = Relay(self.gateway_url)
            runner, port = await start_site(self.relay.app(), self.host, self.relay_port)
            self._runners.append(runner)
            self.relay_url = f"http://{self.host}:{port}"
        except OSError as exc:
            await self.stop()
            raise ConfigError("a port of the local cloud is in use or not allowed") from exc
        log.info("local cloud up: %d nodes", len(self.node_objects))

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> LocalCloud:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()
