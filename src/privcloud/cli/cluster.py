"""``privcloud cluster``: a private cloud as separate processes on this machine
(:mod:`privcloud.localcloud.cluster`): N relays, gateways and issuers, M nodes in the INSECURE
simulated TEE, a log and its witness, on loopback, until SIGINT or SIGTERM.

privcloud cluster [--relays 2] [--gateways 3] [--issuers 2] [--nodes 4] [--database URL]
                  [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from privcloud.cli.database_url import database_url
from privcloud.cli.lifecycle import INSECURE_BANNER
from privcloud.cli.runtime import until_stopped
from privcloud.localcloud.cluster import Cluster, ClusterSpec


async def _run(args: argparse.Namespace) -> None:
    spec = ClusterSpec(
        relays=args.relays,
        gateways=args.gateways,
        issuers=args.issuers,
        nodes=args.nodes,
        database=args.database,
    )
    data = Path(args.data_dir) if args.data_dir else None
    async with Cluster(spec, data) as cluster:
        # What a development client needs (public values only: URLs, verifier keys, the
        # simulated TEE's dev roots).
        print(
            json.dumps(
                {
                    "relays": cluster.relay_urls,
                    "gateway": cluster.gateway_url,
                    "issuer": cluster.issuer_url,
                    "log": cluster.log_url,
                    "log_vkey": cluster.log_vkey,
                    "witness_vkey": cluster.witness_vkey,
                    "insecure_simulated_roots": [r.hex() for r in cluster.insecure_roots],
                    "data_dir": str(cluster.root),
                }
            ),
            flush=True,
        )
        await until_stopped()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``privcloud cluster``."""
    p = sub.add_parser(
        "cluster", help="run a multi-process private cloud on loopback (simulated TEE: INSECURE)"
    )
    p.add_argument("--relays", type=int, default=2)
    p.add_argument("--gateways", type=int, default=3, help="gateway processes on one port")
    p.add_argument("--issuers", type=int, default=2, help="issuer processes on one port")
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument(
        "--database",
        metavar="URL",
        type=database_url,
        help="shared stores: postgresql://... (default: SQLite files in the data directory)",
    )
    p.add_argument("--data-dir", help="keys, stores and logs (default: a temporary directory)")

    def handler(args: argparse.Namespace) -> None:
        print(INSECURE_BANNER, file=sys.stderr)
        asyncio.run(_run(args))

    p.set_defaults(handler=handler)
