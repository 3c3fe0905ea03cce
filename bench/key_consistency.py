"""Benchmark of key consistency (docs/adr/0009-key-consistency.md); prints one JSON line.

On a local cloud (loopback, echo workloads, tokens on), in one run:

* ``refresh_cold_ms``: ``Client.refresh()`` of a new client — checkpoint, statement list, for
  the gateway key and the issuer key a leaf lookup and an inclusion proof each, node directory
  and admission, wallet prefetch;
* ``refresh_warm_ms``: the same client again (proven statements are cached);
* ``prove_cold_ms`` / ``prove_warm_ms``: :meth:`KeyProofs.prove` alone for the gateway's
  statements, with an empty and a filled cache;
* baseline ``get_ms``: one GET of the statement list through the relay (one loopback round
  trip through two hops), and every figure as a ratio to it.

Run: .venv/bin/python bench/key_consistency.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp

from privcloud.localcloud.cloud import LocalCloud, NodeSpec
from privcloud.sdk import Client
from privcloud.sdk.keyproofs import KeyProofs
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.keys import (
    DEFAULT_GATEWAY_SERVICE,
    KEY_STATEMENTS_PATH,
    KeyKind,
    decode_statement_list,
)


async def _median_ms(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def main(repeat: int) -> dict[str, object]:
    logging.getLogger("privcloud").setLevel(logging.ERROR)  # the INSECURE warnings, muted
    cloud = LocalCloud(nodes=[NodeSpec("node-1", "eu-west"), NodeSpec("node-2", "eu-west")])
    await cloud.start()
    try:
        policy = ClientPolicy.insecure_local_dev()
        async with aiohttp.ClientSession() as session:

            async def get() -> bytes:
                async with session.get(cloud.relay_url + KEY_STATEMENTS_PATH) as r:
                    return await r.read()

            get_ms = await _median_ms(get, repeat)
            statements = decode_statement_list(await get())

        async def cold_refresh() -> None:
            client = Client(
                cloud.relay_url,
                policy=policy,
                trust=cloud.client_trust(),
                wallet=cloud.new_wallet(batch_size=4),
            )
            await client.refresh()
            await client.close()

        refresh_cold = await _median_ms(cold_refresh, repeat)
        warm = Client(cloud.relay_url, policy=policy, trust=cloud.client_trust())
        await warm.refresh()
        refresh_warm = await _median_ms(warm.refresh, repeat)
        state = warm.log_state

        async def prove(proofs: KeyProofs) -> None:
            await proofs.prove(
                statements, kind=KeyKind.OHTTP, service=DEFAULT_GATEWAY_SERVICE, now=time.time()
            )

        async def prove_cold() -> None:
            proofs = KeyProofs(
                f"{cloud.relay_url}/log", session=lambda: warm.session, state=lambda: state
            )
            await prove(proofs)

        cached = KeyProofs(
            f"{cloud.relay_url}/log", session=lambda: warm.session, state=lambda: state
        )
        await prove(cached)
        prove_cold_ms = await _median_ms(prove_cold, repeat)
        prove_warm_ms = await _median_ms(lambda: prove(cached), repeat)
        await warm.close()
    finally:
        await cloud.stop()
    figures = {
        "refresh_cold_ms": refresh_cold,
        "refresh_warm_ms": refresh_warm,
        "prove_cold_ms": prove_cold_ms,
        "prove_warm_ms": prove_warm_ms,
    }
    return {
        "bench": "key_consistency",
        "python": platform.python_version(),
        "repeat": repeat,
        "baseline_get_ms": round(get_ms, 3),
        **{k: round(v, 3) for k, v in figures.items()},
        **{f"{k}_x_get": round(v / get_ms, 2) for k, v in figures.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    print(json.dumps(asyncio.run(main(parser.parse_args().repeat))))
