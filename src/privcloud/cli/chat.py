"""``privcloud chat [PROMPT...]``: one question to the private assistant, the answer streamed.

The prompt is the arguments joined by spaces, or standard input when there are none (or the
only one is ``-``). The answer's text goes to stdout as it arrives; progress, the finish reason
and the token counts go to stderr (``--json``: the result's metadata on stdout at the end).
On a terminal, the model's text is written without its control characters (escape sequences,
C0 but newline and tab, C1): an answer steered by injected content cannot move the cursor,
rewrite earlier lines or set the clipboard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable

from privcloud.cli.features import _read_input, _run
from privcloud.cli.session import progress
from privcloud.errors import ConfigError
from privcloud.wire.message import Event, JSONObject
from privcloud.workloads.models import SMOLLM2_135M


def _prompt(args: argparse.Namespace) -> str:
    words = list(args.prompt)
    if not words or words == ["-"]:
        text = _read_input("-").decode("utf-8", errors="replace")
    else:
        text = " ".join(words)
    if not text.strip():
        raise ConfigError("no prompt: give it as arguments or on standard input")
    return text


#: An escape sequence, in its 7-bit (ESC ...) or 8-bit (C1) form: CSI (to its final byte),
#: OSC, DCS, SOS, PM and APC (to BEL or ST), or ESC and one character.
_ESCAPE_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]P^_X]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -~]"
)
#: What is left of control characters: C0 but newline and tab, DEL, C1 (an ESC cut off from its
#: sequence by the end of a delta is removed here; the rest of that sequence is plain text).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def for_terminal(text: str) -> str:
    """``text`` without escape sequences and control characters but newline and tab."""
    return _CONTROL_RE.sub("", _ESCAPE_RE.sub("", text))


def _write_answer(text: str) -> None:
    """Write model text to stdout, as :func:`for_terminal` when stdout is a terminal."""
    sys.stdout.write(for_terminal(text) if sys.stdout.isatty() else text)
    sys.stdout.flush()


def _print_delta(event: Event) -> None:
    delta = event.meta.get("delta")
    if isinstance(delta, str):
        _write_answer(delta)


async def _chat(args: argparse.Namespace) -> None:
    messages = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": _prompt(args)})
    params: JSONObject = {
        "messages": messages,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
    }
    if args.model:
        params["model"] = args.model
    if args.stop:
        params["stop"] = args.stop
    warm = (args.model,) if args.model else ()
    on_partial = None if args.json else _print_delta
    result = await _run(args, "chat", params, b"", warm=warm, on_partial=on_partial)
    if args.json:
        print(json.dumps(result.meta, ensure_ascii=False, indent=2))
        return
    if not result.partials:  # (a node that answered in one piece)
        _write_answer(str(result.meta.get("text", "")))
    sys.stdout.write("\n")
    usage = result.meta.get("usage") or {}
    progress(
        f"{result.meta.get('model')}: finish {result.meta.get('finish_reason')}, "
        f"{usage.get('prompt_tokens')} prompt + {usage.get('completion_tokens')} answer tokens"
    )


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``chat`` with ``add`` (the feature commands' parser maker)."""
    p = add("chat", "ask the private assistant; the answer streams to stdout")
    p.add_argument("prompt", nargs="*", help="the question (none, or -: standard input)")
    p.add_argument("--system", help="a system message")
    p.add_argument("--model", help=f"a chat model the nodes serve (e.g. {SMOLLM2_135M})")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--stop", action="append", help="a stop string (repeatable)")
    p.set_defaults(handler=lambda args: asyncio.run(_chat(args)))
