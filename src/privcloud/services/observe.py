"""What each party observed: a development tap for the device console's inspector.

:class:`Observer` installs an aiohttp middleware in each service of a *local* cloud and keeps,
in memory only, what that service received at the HTTP layer: the peer address it saw, the
method and path, the header fields (values of fields that identify or authorize are reduced to
their kind and length) and the body's declared size and media type. It shows a newcomer, per
request, that the relay sees the device's address but only ciphertext, that the gateway sees
a token and ciphertext but not the address, and that the node sees neither.

It is off unless a local cloud is started with one (``LocalCloud(observer=...)``); it is never
written anywhere, holds at most ``OBSERVER_CAPACITY`` records, and keeps no body bytes.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from privcloud.services.lane import LANE

#: Most records kept (older ones are dropped).
OBSERVER_CAPACITY = 512
#: Header fields whose value is shown only as its kind and length.
_REDACTED = frozenset({"authorization", "cookie", "proxy-authorization"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Observation:
    """One request as one party received it."""

    seq: int
    party: str
    at: float
    peer: str
    method: str
    path: str
    headers: dict[str, str]
    body_size: int
    status: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "party": self.party,
            "at": round(self.at, 6),
            "peer": self.peer,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body_size": self.body_size,
            "status": self.status,
        }


@dataclass
class Observer:
    """In-memory record of what each service of a local cloud received."""

    capacity: int = OBSERVER_CAPACITY
    _records: collections.deque[Observation] = field(init=False)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._records = collections.deque(maxlen=self.capacity)

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._records[-1].seq if self._records else 0

    def since(self, seq: int) -> list[Observation]:
        """The records after sequence number ``seq``, oldest first."""
        with self._lock:
            return [r for r in self._records if r.seq > seq]

    def install(self, app: web.Application, party: str) -> None:
        """Tap ``app`` (before it starts) as ``party``. A tapped service serves without its
        one-shot lane (services.lane, docs/adr/0032): the lane passes no middleware, and the
        inspector is to see every request."""
        app.pop(LANE, None)
        app.middlewares.insert(0, self._middleware(party))

    def _middleware(self, party: str) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def tap(request: web.Request, handler: Handler) -> web.StreamResponse:
            response: web.StreamResponse | None = None
            try:
                response = await handler(request)
                return response
            finally:
                self._add(party, request, response.status if response else 0)

        return tap

    def _add(self, party: str, request: web.Request, status: int) -> None:
        headers = {}
        for name, value in request.headers.items():
            key = name.lower()
            if key in _REDACTED:
                kind = value.split(" ", 1)[0]
                headers[key] = f"{kind} … ({len(value)} bytes)"
            else:
                headers[key] = value[:200]
        peer = request.remote or "?"
        with self._lock:
            self._records.append(
                Observation(
                    seq=next(self._seq),
                    party=party,
                    at=time.time(),
                    peer=peer,
                    method=request.method,
                    path=request.path,
                    headers=headers,
                    body_size=request.content_length or 0,
                    status=status,
                )
            )
