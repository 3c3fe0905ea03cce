"""Sealing ahead: a request's public-key work done while the device is idle (docs/performance.md).

A request's k content-key wraps and its OHTTP encapsulation (five X25519 or X-Wing operations
for k = 3) depend on the keys it goes to, not on what it carries. So after each request the
client chooses the nodes of the *next* request of the same kind (feature, regions, streaming)
and does that work then, off the request path; the next request only seals its content.

What a sealed-ahead request may go to is exactly what a fresh one would: the nodes were drawn
at random from the admitted nodes that serve the feature, and the draw is used only while that
set is the same at the request (same nodes, same keys, none of them left out then), with the
same k and the same gateway key configuration; otherwise it is dropped and the request is
sealed fresh. Each draw serves one request (its parts refuse a second use: the CEK's key and
nonce, and the HPKE sender context, seal one message), and admission drops them all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from privcloud import limits
from privcloud.ohttp import KeyConfig
from privcloud.sdk.core import SealedAhead
from privcloud.trust.admission import AdmittedNode

#: What a request is sealed ahead for: its feature, its regions (``None``: any), streamed.
AheadKey = tuple[str, frozenset[str] | None, bool]
#: The admitted nodes a request could go to, by node id and sealing keys.
Serving = frozenset[tuple[str, tuple[bytes, ...]]]


def ahead_key(feature: str, regions: Collection[str] | None, stream: bool) -> AheadKey:
    return feature, None if regions is None else frozenset(regions), stream


def serving_of(nodes: Sequence[AdmittedNode]) -> Serving:
    return frozenset((a.descriptor.node_id, a.descriptor.key_ids) for a in nodes)


@dataclass(frozen=True, eq=False)
class _Drawn:
    serving: Serving
    k: int
    chosen: tuple[AdmittedNode, ...]
    sealed: SealedAhead


class AheadPool:
    """At most ``capacity`` sealed-ahead requests, one per :data:`AheadKey`, the least recently
    used dropped first. Sans-IO: the client decides when to fill it."""

    def __init__(self, capacity: int = limits.CLIENT_SEALED_AHEAD) -> None:
        self._capacity = capacity
        self._drawn: OrderedDict[AheadKey, _Drawn] = OrderedDict()

    def __len__(self) -> int:
        return len(self._drawn)

    def __contains__(self, key: object) -> bool:
        return key in self._drawn

    def drawn(self, key: AheadKey) -> tuple[str, ...] | None:
        """The ids of the nodes drawn ahead for ``key`` (not secret: the request's trail shows
        them once it is sent), or ``None``."""
        entry = self._drawn.get(key)
        return None if entry is None else tuple(a.descriptor.node_id for a in entry.chosen)

    def take(
        self, key: AheadKey, serving: Sequence[AdmittedNode], k: int, config: KeyConfig
    ) -> tuple[list[AdmittedNode], SealedAhead] | None:
        """The request sealed ahead for ``key``, when it was drawn ``k`` from exactly
        ``serving`` and to ``config``; ``None`` otherwise. Either way nothing is left for
        ``key``."""
        drawn = self._drawn.pop(key, None)
        if (
            drawn is None
            or drawn.sealed.used
            or drawn.k != k
            or drawn.serving != serving_of(serving)
            or drawn.sealed.key_config != config
        ):
            return None
        return list(drawn.chosen), drawn.sealed

    def put(
        self,
        key: AheadKey,
        serving: Sequence[AdmittedNode],
        k: int,
        chosen: Sequence[AdmittedNode],
        sealed: SealedAhead,
    ) -> None:
        self._drawn[key] = _Drawn(serving_of(serving), k, tuple(chosen), sealed)
        self._drawn.move_to_end(key)
        while len(self._drawn) > self._capacity:
            self._drawn.popitem(last=False)

    def clear(self) -> None:
        self._drawn.clear()


__all__ = ["AheadKey", "AheadPool", "ahead_key", "serving_of"]
