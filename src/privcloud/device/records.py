"""The inspector's request records, kept in memory only and bounded.

A record holds what the device knows of one request (feature, route, the nodes it was sealed
to, the token's description, timings and sizes) and, once the request ended, what each party
observed (:mod:`privcloud.device.explain`). It keeps no request content: the parameters' names
but not their values, the input's size but not the input, the answer's size but not the answer.
"""

from __future__ import annotations

import collections
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from privcloud.errors import PrivcloudError

#: Requests the inspector remembers (older ones are dropped).
HISTORY_SIZE = 50


@dataclass
class RequestRecord:
    """One request, from the device's side (no content)."""

    feature: str
    param_names: tuple[str, ...]
    input_bytes: int
    route: dict[str, Any]
    k: int
    device_address: str | None
    #: The observer's last sequence number when the request started.
    seq0: int
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    started_at: float = field(default_factory=time.time)
    status: str = "running"
    error: dict[str, Any] | None = None
    chosen: tuple[str, ...] = ()
    #: Per layer, "hybrid" (post-quantum) or "classical" (docs/adr/0014).
    protection: dict[str, str] = field(default_factory=dict)
    ran_on: str | None = None
    token: str | None = None
    first_event_ms: float | None = None
    total_ms: float | None = None
    events: int = 0
    result_bytes: int = 0
    parties: list[dict[str, Any]] = field(default_factory=list)
    background: list[dict[str, Any]] = field(default_factory=list)
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._t0) * 1000, 1)

    def fail(self, exc: PrivcloudError) -> None:
        """Mark the request failed with one of our errors (fixed, content-free text)."""
        self.status = "error"
        self.error = {"error": exc.code, "message": str(exc), "http_status": exc.http_status}

    def summary(self) -> dict[str, Any]:
        """The short form the request list shows."""
        return {
            "id": self.id,
            "feature": self.feature,
            "status": self.status,
            "started_at": round(self.started_at, 3),
            "total_ms": self.total_ms,
            "error": None if self.error is None else self.error["error"],
        }

    def to_json(self) -> dict[str, Any]:
        """The inspector's full view of the request."""
        return {
            **self.summary(),
            "error": self.error,
            "param_names": list(self.param_names),
            "route": self.route,
            "k": self.k,
            "chosen": list(self.chosen),
            "protection": self.protection,
            "ran_on": self.ran_on,
            "token": self.token,
            "device_address": self.device_address,
            "timings": {"first_event_ms": self.first_event_ms, "total_ms": self.total_ms},
            "sizes": {
                "input_bytes": self.input_bytes,
                "events": self.events,
                "result_bytes": self.result_bytes,
            },
            "parties": self.parties,
            "background": self.background,
        }


class History:
    """The last ``size`` records, by id."""

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self.size = size
        self._records: collections.OrderedDict[str, RequestRecord] = collections.OrderedDict()

    def add(self, record: RequestRecord) -> None:
        self._records[record.id] = record
        while len(self._records) > self.size:
            self._records.popitem(last=False)

    def get(self, request_id: str) -> RequestRecord | None:
        return self._records.get(request_id)

    def __len__(self) -> int:
        return len(self._records)

    def summaries(self) -> list[dict[str, Any]]:
        """Newest first."""
        return [r.summary() for r in reversed(self._records.values())]
