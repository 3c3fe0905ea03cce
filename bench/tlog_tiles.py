"""Benchmark of the log's C2SP tlog-tiles read path against its JSON proof endpoints; one JSON
line.

One local log (loopback, SQLite) of ``--leaves`` entries, in one run:

* ``checkpoint_get_ms`` (baseline): one ``GET /checkpoint``, a loopback round trip;
* ``inclusion_api_ms``: an inclusion proof from ``GET /v1/proof/inclusion`` (the log computes);
* ``inclusion_tiles_cold_ms``: the same proof computed by the client from tiles, with an empty
  client tile cache over a warm connection (``tiles_per_proof`` tiles fetched in parallel;
  the log's tile cache warm or not, as the random index makes it);
* ``inclusion_tiles_warm_ms``: one proof again with the client's tile cache filled (no request:
  the cost of computing the proof from tiles);
* ``export_s`` / ``export_mib``: ``export_tiles`` of the whole tree to a temporary directory.

Every figure is also given as a ratio to the baseline (the machine is shared and noisy).

Run: .venv/bin/python bench/tlog_tiles.py [--leaves N] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient
from privcloud.services.tlog_tiles import export_tiles
from privcloud.transparency.tiles import tiles_for_inclusion


async def _median_ms(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def main(leaves: int, repeat: int) -> dict[str, object]:
    logging.getLogger("privcloud").setLevel(logging.ERROR)
    data = Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    t = await LocalTransparency.start("127.0.0.1", data / "data")
    try:
        for start in range(0, leaves, 10_000):
            batch = [b"entry %d" % i for i in range(start, min(leaves, start + 10_000))]
            await asyncio.to_thread(t.log.store.append, batch)
        await t.log.publish()
        size = t.log.checkpoint.size
        rng = random.Random(13)
        async with aiohttp.ClientSession() as session:

            async def get() -> bytes:
                async with session.get(t.log_url + "/checkpoint") as r:
                    return await r.read()

            baseline = await _median_ms(get, repeat)
        async with LogClient(t.log_url, read="api") as api:
            api_ms = await _median_ms(
                lambda: api.inclusion_proof(rng.randrange(size), size), repeat
            )

        async with aiohttp.ClientSession(auto_decompress=False) as shared:

            async def cold() -> object:  # a new client (empty tile cache), a warm connection
                client = LogClient(t.log_url, read="tiles", session=shared)
                return await client.inclusion_proof(rng.randrange(size), size)

            cold_ms = await _median_ms(cold, repeat)
        async with LogClient(t.log_url, read="tiles") as warm_client:
            index = rng.randrange(size)
            await warm_client.inclusion_proof(index, size)
            warm_ms = await _median_ms(lambda: warm_client.inclusion_proof(index, size), repeat)
        tiles_per_proof = statistics.mean(
            len(tiles_for_inclusion(rng.randrange(size), size)) for _ in range(200)
        )
        out = data / "static"
        began = time.perf_counter()
        await asyncio.to_thread(export_tiles, t.log.store, t.log.checkpoint_note, out)
        export_s = time.perf_counter() - began
        export_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        await t.stop()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "bench": "tlog_tiles",
        "python": platform.python_version(),
        "leaves": size,
        "repeat": repeat,
        "checkpoint_get_ms": round(baseline, 3),
        "inclusion_api_ms": round(api_ms, 3),
        "inclusion_tiles_cold_ms": round(cold_ms, 3),
        "inclusion_tiles_warm_ms": round(warm_ms, 3),
        "tiles_per_proof": round(tiles_per_proof, 2),
        "export_s": round(export_s, 2),
        "export_mib": round(export_bytes / 2**20, 1),
        "ratio_api_to_baseline": round(api_ms / baseline, 2),
        "ratio_tiles_cold_to_baseline": round(cold_ms / baseline, 2),
        "ratio_tiles_warm_to_baseline": round(warm_ms / baseline, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.leaves, args.repeat))))
