"""``privcloud speak TEXT... -o out.wav``: text to speech through the full private path.

The text is the arguments joined by spaces, or standard input when there are none (or the only
one is ``-``). The node answers a WAV file (16 kHz mono 16-bit PCM, espeak-ng; ADR 0022),
written to ``--output``; ``-`` writes it to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from privcloud.cli.features import _print_result, _read_input, _run, write_output
from privcloud.wire.message import JSONObject


def _text(args: argparse.Namespace) -> bytes:
    words = list(args.text)
    if not words or words == ["-"]:
        return _read_input("-")
    return " ".join(words).encode("utf-8")


async def _speak(args: argparse.Namespace) -> None:
    params: JSONObject = {"language": args.language, "rate": args.rate}
    result = await _run(args, "speak", params, _text(args), warm=())
    if args.output == "-":
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return
    out = Path(args.output)
    write_output(out, result.data)
    meta = result.meta
    _print_result(
        args,
        result,
        f"wrote {out} ({meta.get('duration')} s, {meta.get('voice')} voice, 16 kHz)",
    )


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``speak`` with ``add`` (the feature commands' parser maker)."""
    p = add("speak", "text to speech (a 16 kHz WAV; espeak-ng on the node)")
    p.add_argument("text", nargs="*", help="the text (none, or -: standard input)")
    p.add_argument("-o", "--output", required=True, help="WAV file to write (-: stdout)")
    p.add_argument("--language", default="en", help="ISO 639-1 code (default en)")
    p.add_argument("--rate", type=int, default=150, help="words per minute (80-300)")
    p.set_defaults(handler=lambda args: asyncio.run(_speak(args)))
