"""Where one private request's time goes on the live path (issue 14): ``bench/request_path.py
--parts timeline``.

The sans-IO breakdown (``breakdown_*``) times each step alone, with warm caches; this times the
same request as it runs, through the SDK, the relay, the gateway and a node of a local cloud in
one process (k=3 node keys, a Privacy Pass token, the request sealed ahead, as the SDK does by
default). A clock reading is taken on entering and leaving each service's handler and each of
its main steps; each consecutive pair is one segment of the request, and each segment's p50
over the requests is reported in microseconds, in the order the request meets them. A segment
between two services' marks is that hop's HTTP (the sender's client, the receiver's server and
routing). The marks are wrappers installed for this run only (``unittest.mock.patch``); each
costs about a microsecond, so the segments add up to a little more than the request's own p50.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from privcloud.localcloud.cloud import LocalCloud
from privcloud.sdk import Client
from privcloud.sdk import client as sdk_client
from privcloud.sdk.core import OneShotReader
from privcloud.sdk.wallet import Wallet
from privcloud.services import node_core
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_core import OneShotExchange
from privcloud.services.node import Node
from privcloud.services.redemption import TokenAuthorizer
from privcloud.services.relay import Relay
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
from privcloud.trust.admission import ClientPolicy

BODY = b"x" * 64

#: (owner, attribute, mark, whether it is a coroutine function): the steps marked, by name.
_MARKED: tuple[tuple[Any, str, str, bool], ...] = (
    (Wallet, "authorization", "client_token", True),
    (sdk_client, "build_request", "client_seal", False),
    (Relay, "forward_ohttp", "relay", True),
    (Gateway, "handle_ohttp", "gateway", True),
    (OneShotExchange, "__init__", "gateway_ohttp_open", False),
    (OneShotExchange, "inner", "gateway_bhttp", False),
    (TokenAuthorizer, "__call__", "gateway_token", True),
    (SqliteSpentTokenStore, "spend", "gateway_token_spend", True),
    (Node, "handle_envelope", "node", True),
    (node_core.NodeCore, "open", "node_open", False),
    (node_core.NodeExchange, "seal", "node_seal", False),
    (OneShotExchange, "answer", "gateway_ohttp_seal", False),
    (OneShotReader, "close", "client_open", False),
)


def _marked(fn: Callable[..., Any], name: str, stamps: dict[str, float], is_async: bool) -> Any:
    """``fn`` with a clock reading on entering (``name>``) and leaving (``name<``)."""
    clock = time.perf_counter
    if is_async:

        @functools.wraps(fn)
        async def marked_async(*args: Any, **kwargs: Any) -> Any:
            stamps[name + ">"] = clock()
            try:
                return await fn(*args, **kwargs)
            finally:
                stamps[name + "<"] = clock()

        return marked_async

    @functools.wraps(fn)
    def marked(*args: Any, **kwargs: Any) -> Any:
        stamps[name + ">"] = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            stamps[name + "<"] = clock()

    return marked


@contextlib.contextmanager
def _marks(stamps: dict[str, float]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for owner, attribute, name, is_async in _MARKED:
            fn = getattr(owner, attribute)
            stack.enter_context(
                mock.patch.object(owner, attribute, _marked(fn, name, stamps, is_async))
            )
        yield


async def timeline(requests: int) -> dict[str, object]:
    """p50 µs of each segment of the live path (``timeline_us``, in the request's order), the
    request's p50 with the marks on (``timeline_request_p50_us``) and their sum."""
    stamps: dict[str, float] = {}
    segments: dict[str, list[float]] = {}
    totals: list[float] = []
    order: dict[str, list[int]] = {}
    dev = ClientPolicy.insecure_local_dev()
    with _marks(stamps):
        async with LocalCloud() as cloud:
            wallet = cloud.new_wallet(batch_size=64)
            async with Client(
                cloud.relay_url, policy=dev, trust=cloud.client_trust(), wallet=wallet
            ) as client:
                for _ in range(20):
                    await client.call("echo", None, BODY)
                while len(wallet) < requests + 2 * wallet.low_water:
                    await wallet.fetch()
                for _ in range(requests):
                    for _ in range(4):  # what the last answer scheduled (sealing ahead) runs
                        await asyncio.sleep(0)
                    stamps.clear()
                    start = time.perf_counter()
                    await client.call("echo", None, BODY)
                    end = time.perf_counter()
                    totals.append((end - start) * 1e6)
                    marks = [("start", start), *sorted(stamps.items(), key=lambda kv: kv[1])]
                    marks.append(("end", end))
                    for i, ((a, ta), (b, tb)) in enumerate(itertools.pairwise(marks)):
                        key = f"{a} -> {b}"
                        segments.setdefault(key, []).append((tb - ta) * 1e6)
                        order.setdefault(key, []).append(i)
    # Segments seen in most requests, in their usual place (a rare reordering is left out).
    kept = [k for k, v in segments.items() if len(v) > requests // 2]
    kept.sort(key=lambda k: statistics.median(order[k]))
    spans = {k: round(statistics.median(segments[k]), 1) for k in kept}
    return {
        "timeline_us": spans,
        "timeline_sum_of_p50s_us": round(sum(spans.values()), 1),
        "timeline_request_p50_us": round(statistics.median(totals), 1),
    }


__all__ = ["timeline"]
