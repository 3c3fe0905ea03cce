"""``SyncClient``: the blocking form of :class:`~privcloud.sdk.client.Client`, derived from it.

Each method is :class:`Client`'s own, wrapped to run on a private event loop in a background
thread: its signature (``regions`` included) is the async client's, checked by mypy through
``ParamSpec``, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
    """An async-generator ``method`` of :class:`Client`, as a blocking iterator
    (:class:`_Events`)."""

    def iterate(self: SyncClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[Event]:
        return _Events(self._loop, method(self._client, *args, **kwargs))

    return _named_like(iterate, method)


class _Events(Iterator[Event]):
    """The events of an async generator of the client's, each read on the client's loop.

    :meth:`close` may be called from any thread, also while another thread waits in
    ``next()`` (a "stop" button): it cancels the read in flight, closes the generator on the
    loop (so the request ends: its exchange with the relay is closed) and returns when that is
    done; the waiting ``next()`` ends the iteration, without an error."""

    def __init__(self, loop: asyncio.AbstractEventLoop, agen: AsyncIterator[Event]) -> None:
        self._loop = loop
        self._agen = agen
        self._closed = False
        #: The task reading the next event, if one is (set and read on the loop only).
        self._reading: asyncio.Task[Any] | None = None

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> Event:
        if self._closed:
            raise StopIteration
        future = asyncio.run_coroutine_threadsafe(self._read(), self._loop)
        try:
            return future.result()
        except StopAsyncIteration:
            raise StopIteration from None
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            if self._closed:
                raise StopIteration from None
            raise

    async def _read(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        self._reading = asyncio.current_task()
        try:
            return await anext(self._agen)
        finally:
            self._reading = None

    def close(self) -> None:
        """End the iteration and close the generator (see the class docstring); after the
        client's close (its loop stopped: its connections are closed), only end the iteration."""
        self._closed = True
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result()

    async def _shut(self) -> None:
        reading = self._reading
        if reading is not None:
            reading.cancel()
            await asyncio.wait({reading})
        aclose = getattr(self._agen, "aclose", None)
        if aclose is not None:
            await aclose()


F = TypeVar("F", bound=Callable[..., Any])


def _named_like(wrapper: F, method: Callable[..., Any]) -> F:
    """Give ``wrapper`` the name, docstring and signature (for help()) of ``method``."""
    functools.update_wrapper(wrapper, method)
    return wrapper


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
