"""A client that runs each request where the :class:`~privcloud.sdk.router.Router` says: on
the device, with the same workload code and the smallest model, or in the private cloud through
the full private path (:class:`~privcloud.sdk.client.Client`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from privcloud.errors import ConfigError, UpstreamError, error_from_code
from privcloud.sdk.client import Client
from privcloud.sdk.client_types import Result
from privcloud.sdk.router import Placement, Route, Router
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads.ai import ai_registry
from privcloud.workloads.base import WorkloadRegistry
from privcloud.workloads.models import Models


@dataclass(frozen=True)
class RoutedResult:
    """A result and where it was computed."""

    route: Route
    result: Result


class HybridClient:
    """Routes each request to the device or to the private cloud.

    ``client`` may be None for a device that has no cloud (then only device routes work);
    ``models`` are the device's own models (None: nothing runs on the device).
    """

    def __init__(self, router: Router, client: Client | None, models: Models | None) -> None:
        self.router = router
        self.client = client
        self.models = models
        self._registry: WorkloadRegistry | None = None

    def _local(self) -> WorkloadRegistry:
        if self.models is None:
            raise ConfigError("this device has no local models")
        if self._registry is None:
            self._registry = ai_registry(self.models)
        return self._registry

    def route(self, feature: str, body: bytes) -> Route:
        return self.router.route(feature, len(body))

    async def stream(
        self, feature: str, params: JSONObject | None = None, body: bytes = b""
    ) -> AsyncIterator[tuple[Route, Event]]:
        """The events of ``feature``, each with the route that produced it."""
        route = self.route(feature, body)
        if route.placement is Placement.CLOUD:
            if self.client is None:
                raise ConfigError("this device has no private cloud configured")
            async for event in self.client.stream(feature, params, body, regions=route.regions):
                yield route, event
            return
        request = WorkloadRequest(feature, {**(params or {}), **route.params}, body, stream=True)
        events: Iterator[Event] = self._local().run(request)

        def step() -> Event | None:
            return next(events, None)

        while (local := await asyncio.to_thread(step)) is not None:
            if local.kind is EventKind.ERROR:
                raise error_from_code(local.meta.get("code"), local.meta.get("message"))
            yield route, local

    async def call(
        self, feature: str, params: JSONObject | None = None, body: bytes = b""
    ) -> RoutedResult:
        """The final result of ``feature`` and where it ran."""
        partials: list[Event] = []
        async for route, event in self.stream(feature, params, body):
            if event.final:
                return RoutedResult(route, Result(event.meta, event.data, tuple(partials)))
            partials.append(event)
        raise UpstreamError("answer ended without a result")
