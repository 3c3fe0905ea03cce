"""``SyncClient``: the blocking form of :class:`~privcloud.sdk.client.Client`, derived from it.

Each method is :class:`Client`'s own, wrapped to run on a private event loop in a background
thread: its signature (``regions`` included) is the async client's, checked by mypy through
``ParamSpec``, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from privcloud.sdk.client import Client
from privcloud.sdk.client_types import Trail
from privcloud.wire.message import Event

P = ParamSpec("P")
T = TypeVar("T")


def _blocking(
    method: Callable[Concatenate[Client, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[SyncClient, P], T]:
    """``method`` of :class:`Client`, run to completion on the client's loop."""

    def call(self: SyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(method(self._client, *args, **kwargs))

    return _named_like(call, method)


def _iterating(
    method: Callable[Concatenate[Client, P], AsyncIterator[Event]],
) -> Callable[Concatenate[SyncClient, P], Iterator[Event]]:
    """An async-generator ``method`` of :class:`Client`, as a blocking iterator."""

    def iterate(self: SyncClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[Event]:
        agen = method(self._client, *args, **kwargs)
        while True:
            try:
                yield self._run(_next(agen))
            except StopAsyncIteration:
                return

    return _named_like(iterate, method)


F = TypeVar("F", bound=Callable[..., Any])


def _named_like(wrapper: F, method: Callable[..., Any]) -> F:
    """Give ``wrapper`` the name, docstring and signature (for help()) of ``method``."""
    functools.update_wrapper(wrapper, method)
    return wrapper


async def _next(agen: AsyncIterator[Event]) -> Event:
    return await anext(agen)


class SyncClient:
    """A blocking :class:`Client` (same arguments), running its event loop in a private thread."""

    def __init__(self, relay_url: str, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = Client(relay_url, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def trail(self) -> Trail:
        return self._client.trail

    refresh = _blocking(Client.refresh)
    call = _blocking(Client.call)
    stream = _iterating(Client.stream)

    def close(self) -> None:
        """Close the client's connections and stop its thread."""
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["SyncClient"]
