"""The device console command (docs/console.md).

privcloud console [--port 8490] [--host 127.0.0.1] [--open] [--nodes N] [--no-ai]

Starts a local private cloud and the device agent that uses it through the SDK, as a phone
would, and serves the console page on loopback until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser

from privcloud.cli.lifecycle import INSECURE_BANNER
from privcloud.cli.runtime import until_stopped
from privcloud.cli.session import default_nodes, progress
from privcloud.device import DEFAULT_PORT, DeviceAgent
from privcloud.localcloud.cloud import LOOPBACK
from privcloud.workloads.models import WHISPER_TINY_EN, shared_models


async def _console(args: argparse.Namespace) -> None:
    models = None if args.no_ai else shared_models()
    # The smallest speech model loads in about a second: warm it, so the first upload is quick.
    warm = (
        (WHISPER_TINY_EN,) if models is not None and WHISPER_TINY_EN in models.available() else ()
    )
    agent = DeviceAgent(
        host=args.host,
        port=args.port,
        models=models,
        warm_models=warm,
        nodes=default_nodes(args.nodes),
    )
    print(INSECURE_BANNER, file=sys.stderr)
    progress("starting a local private cloud and the device agent (models load first)...")
    await agent.start()
    try:
        print(f"privcloud console: {agent.url}", flush=True)
        features = ", ".join(agent.features())
        progress(f"{len(agent.client.trail.admitted)} nodes admitted; features: {features}")
        progress("Ctrl-C stops the console and its local cloud.")
        if args.open:
            webbrowser.open(agent.url)
        await until_stopped()
    finally:
        await agent.stop()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``console`` command."""
    console = sub.add_parser(
        "console", help="the device console: a web page to run every feature and inspect the path"
    )
    console.add_argument("--port", type=int, default=DEFAULT_PORT)
    console.add_argument("--host", default=LOOPBACK, help="a loopback address (default 127.0.0.1)")
    console.add_argument("--open", action="store_true", help="open the page in a browser")
    console.add_argument("--nodes", type=int, default=3, help="nodes of the local cloud")
    console.add_argument("--no-ai", action="store_true", help="serve the echo workloads only")
    console.set_defaults(handler=lambda args: asyncio.run(_console(args)))
