"""AI feature commands: each sends one request through the full private path.

privcloud transcribe FILE [--translate] [--language en|auto|CODE]
privcloud summarize FILE|- [--max-sentences N] [--mark]
privcloud translate FILE|- [--text --from CODE] [--to CODE]
privcloud search --items FILE QUERY [--top-k N]
privcloud imagine PROMPT -o out.png [--width W --height H --steps N --seed S]
privcloud extract FILE|- [--reference-time ISO-8601]
privcloud erase IMAGE MASK -o out.png [--method telea|ns|diffusion --radius R --prompt P]
privcloud chat [PROMPT...] [--system S] [--max-tokens N] [--temperature T] [--stop S]
privcloud speak [TEXT...] -o out.wav [--language CODE] [--rate WPM]

Answers go to stdout (``--json``: the result's metadata as one JSON object); progress goes to
stderr. Each command uses the cloud ``privcloud up`` runs, or starts one for itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from privcloud import limits
from privcloud.cli.session import connect, progress
from privcloud.errors import ConfigError, DecodeError
from privcloud.localcloud import cloudconfig
from privcloud.sdk.client_types import Result
from privcloud.wire import jsonio
from privcloud.wire.message import Event, JSONObject
from privcloud.workloads.models import MINILM_L6, QWEN_1_5B, WHISPER_BASE, WHISPER_TINY_EN


def _read_input(name: str) -> bytes:
    """The bytes of file ``name`` (``-``: standard input), bounded by the request limit."""
    bound = limits.MAX_WORKLOAD_INPUT
    try:
        if name == "-":
            data = sys.stdin.buffer.read(bound + 1)
        else:
            with Path(name).open("rb") as fh:
                data = fh.read(bound + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc.strerror}") from exc
    if len(data) > bound:
        raise ConfigError(f"{name} is larger than {bound // limits.MiB} MiB")
    return data


async def _run(
    args: argparse.Namespace,
    feature: str,
    params: JSONObject,
    body: bytes,
    *,
    warm: tuple[str, ...],
    on_partial: Callable[[Event], None] | None = None,
) -> Result:
    """Send one streamed request; show progress; return the final result."""
    async with connect(cloudconfig.load(args.config), warm=warm) as client:
        nodes = ", ".join(
            f"{a.descriptor.node_id}[{a.descriptor.region}]" for a in client.trail.admitted
        )
        progress(f"admitted nodes: {nodes}")
        if not any(feature in a.descriptor.features for a in client.trail.admitted):
            raise ConfigError(_missing_feature_fix(feature))
        started = time.perf_counter()
        partials: list[Event] = []
        async for event in client.stream(feature, params, body):
            if not partials and not event.final:
                progress(f"sealed to {', '.join(client.trail.chosen)}; answer streaming")
            if event.final:
                took = time.perf_counter() - started
                progress(f"{feature} done in {took:.1f} s (one anonymous token spent)")
                return Result(event.meta, event.data, tuple(partials))
            partials.append(event)
            if on_partial is not None:
                on_partial(event)
    raise ConfigError("the answer ended without a result")


def _missing_feature_fix(feature: str) -> str:
    if feature == "generate_image":
        return (
            "no node serves generate_image: give the cloud an image model "
            "(PRIVCLOUD_IMAGE_MODEL=<diffusers directory>, or models.image_model_dir in "
            "privcloud.toml) and restart it"
        )
    return (
        f"no node serves {feature}: the cloud runs without the AI models (--no-ai or "
        "models.ai = false); restart it with them (make setup installs them)"
    )


def write_output(out: Path, data: bytes) -> None:
    """Write a feature's answer to ``out``; :class:`ConfigError` naming the file when it cannot."""
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from exc


def _print_result(args: argparse.Namespace, result: Result, text: str) -> None:
    if args.json:
        print(json.dumps(result.meta, ensure_ascii=False, indent=2))
    else:
        print(text)


def _segment_progress(event: Event) -> None:
    meta = event.meta
    if "text" in meta and "start" in meta:
        progress(f"[{meta['start']:7.2f}s] {str(meta['text']).strip()}")


def _stage_progress(event: Event) -> None:
    meta = event.meta
    if "stage" in meta:
        extra = f" ({meta['tokens']} tokens)" if "tokens" in meta else ""
        progress(f"{meta['stage']}{extra}")
    elif "step" in meta:
        progress(f"step {meta['step']}/{meta.get('steps', '?')}")
    else:
        _segment_progress(event)


async def _transcribe(args: argparse.Namespace) -> None:
    audio = _read_input(args.file)
    if args.translate:
        params: JSONObject = {"mode": "speech", "target_language": "en"}
        result = await _run(
            args, "translate", params, audio, warm=(WHISPER_BASE,), on_partial=_segment_progress
        )
    else:
        params = {"language": args.language}
        warm = (WHISPER_TINY_EN,) if args.language == "en" else (WHISPER_BASE,)
        result = await _run(
            args, "transcribe", params, audio, warm=warm, on_partial=_segment_progress
        )
    _print_result(args, result, str(result.meta.get("text", "")).strip())


async def _summarize(args: argparse.Namespace) -> None:
    text = _read_input(args.file)
    params: JSONObject = {
        "max_sentences": args.max_sentences,
        "guard": "mark" if args.mark else "drop",
        "kind": args.kind,
    }
    result = await _run(
        args, "summarize", params, text, warm=(QWEN_1_5B, MINILM_L6), on_partial=_stage_progress
    )
    report = result.meta.get("grounding") or {}
    if not args.json:
        kept, dropped = report.get("kept", "?"), report.get("dropped", "?")
        fallback = result.meta.get("fallback")
        note = f"; fallback: {fallback} summary" if fallback else ""
        progress(f"hallucination guard: kept {kept} sentences, dropped {dropped}{note}")
        for sentence in report.get("sentences", []):
            if not sentence.get("kept"):
                progress(f"  dropped: {'; '.join(sentence.get('reasons', []))}")
    _print_result(args, result, result.data.decode("utf-8", errors="replace"))


async def _translate(args: argparse.Namespace) -> None:
    body = _read_input(args.file)
    if args.text:
        if not args.source:
            raise ConfigError("--text needs --from LANGUAGE (an ISO 639-1 code such as es)")
        params: JSONObject = {
            "mode": "text",
            "source_language": args.source,
            "target_language": args.target,
        }
        warm: tuple[str, ...] = (QWEN_1_5B,)
    else:
        params = {"mode": "speech", "target_language": args.target}
        if args.source:
            params["source_language"] = args.source
        warm = (WHISPER_BASE,)
    result = await _run(args, "translate", params, body, warm=warm, on_partial=_stage_progress)
    if not args.json:
        for step in result.meta.get("steps", []):
            progress(f"{step.get('task')}: {step.get('model')}")
    _print_result(args, result, str(result.meta.get("text", "")).strip())


def _load_items(path: str) -> list[dict[str, str]]:
    raw = _read_input(path)
    try:
        doc = jsonio.loads(raw, max_bytes=limits.MAX_WORKLOAD_INPUT)
    except DecodeError:
        # Not JSON (or nested past MAX_JSON_DEPTH): one item per non-empty line.
        lines = raw.decode("utf-8", errors="replace").splitlines()
        return [{"id": str(n), "text": line} for n, line in enumerate(lines, 1) if line.strip()]
    items = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ConfigError("--items must be a JSON list of {id, text}, or text lines")
    out = []
    for n, item in enumerate(items, 1):
        if isinstance(item, str):
            out.append({"id": str(n), "text": item})
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            out.append({"id": str(item.get("id", n)), "text": item["text"]})
        else:
            raise ConfigError("each item is a string or an object with a text field")
    return out


async def _search(args: argparse.Namespace) -> None:
    items = _load_items(args.items)
    body = json.dumps({"query": args.query, "items": items, "top_k": args.top_k}).encode()
    result = await _run(args, "search", {}, body, warm=(MINILM_L6,))
    texts = {item["id"]: item["text"] for item in items}
    lines = []
    for hit in result.meta.get("results", []):
        snippet = texts.get(str(hit.get("id")), "")[:80].replace("\n", " ")
        lines.append(f"{hit.get('rank')}. {hit.get('score'):.3f}  [{hit.get('id')}] {snippet}")
    _print_result(args, result, "\n".join(lines) or "(no results)")


async def _imagine(args: argparse.Namespace) -> None:
    params: dict[str, Any] = {"prompt": args.prompt, "steps": args.steps}
    for name in ("width", "height", "seed"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    result = await _run(args, "generate_image", params, b"", warm=(), on_partial=_stage_progress)
    out = Path(args.output)
    write_output(out, result.data)
    meta = result.meta
    _print_result(
        args,
        result,
        f"wrote {out} ({meta.get('width')}x{meta.get('height')}, seed {meta.get('seed')})",
    )


async def _extract(args: argparse.Namespace) -> None:
    text = _read_input(args.file)
    params: JSONObject = {}
    if args.reference_time:
        params["reference_time"] = args.reference_time
    result = await _run(args, "extract", params, text, warm=())
    if args.json:
        _print_result(args, result, "")
        return
    lines = []
    for kind in ("events", "reminders", "alarms", "contacts"):
        for item in result.meta.get(kind, []):
            fields = {k: v for k, v in item.items() if k not in ("source", "derived")}
            lines.append(f"{kind[:-1]:8} {json.dumps(fields, ensure_ascii=False)}")
    print("\n".join(lines) or "(nothing found)")


async def _erase(args: argparse.Namespace) -> None:
    from privcloud.workloads.erase import encode_body  # noqa: PLC0415

    body = encode_body(_read_input(args.image), _read_input(args.mask))
    out = Path(args.output)
    params: JSONObject = {"format": "jpeg" if out.suffix.lower() in (".jpg", ".jpeg") else "png"}
    for name in ("method", "radius", "prompt", "steps", "seed"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    result = await _run(args, "erase", params, body, warm=())
    write_output(out, result.data)
    filled, model = result.meta.get("masked_pixels"), result.meta.get("model")
    _print_result(args, result, f"wrote {out} ({filled} pixels filled by {model})")


def _handler(coro: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], None]:
    return lambda args: asyncio.run(coro(args))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the feature commands."""

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument("--config", help="the local cloud's privcloud.toml (to find it)")
        return parser

    p = add("transcribe", "speech to text (WAV, MP3, M4A/AAC, OGG/Opus, FLAC)")
    p.add_argument("file", help="an audio file, or - for standard input")
    p.add_argument("--translate", action="store_true", help="translate the speech to English")
    p.add_argument("--language", default="en", help="en (default), auto, or a language code")
    p.set_defaults(handler=_handler(_transcribe))

    p = add("summarize", "a guarded summary of a transcript or note")
    p.add_argument("file", help="a text file, or - for standard input")
    p.add_argument("--max-sentences", type=int, default=3)
    p.add_argument("--kind", choices=["call", "recording", "note"], default="call")
    p.add_argument("--mark", action="store_true", help="mark unsupported sentences, keep them")
    p.set_defaults(handler=_handler(_summarize))

    p = add("translate", "call translation: speech (default) or text to another language")
    p.add_argument("file", help="audio (or text with --text), or - for standard input")
    p.add_argument("--text", action="store_true", help="the input is text, not speech")
    p.add_argument("--from", dest="source", help="the source language (needed with --text)")
    p.add_argument("--to", dest="target", default="en", help="target language (default en)")
    p.set_defaults(handler=_handler(_translate))

    p = add("search", "private semantic search over your own items")
    p.add_argument("query")
    p.add_argument("--items", required=True, help="JSON list of {id, text}, or text lines")
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(handler=_handler(_search))

    p = add("imagine", "generate an image from a prompt (needs PRIVCLOUD_IMAGE_MODEL)")
    p.add_argument("prompt")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int)
    p.set_defaults(handler=_handler(_imagine))

    p = add("extract", "events, reminders, alarms and contacts from a transcript or note")
    p.add_argument("file", help="a text file, or - for standard input")
    p.add_argument("--reference-time", help="ISO 8601 time relative dates resolve against")
    p.set_defaults(handler=_handler(_extract))

    p = add("erase", "remove an object from a photo: IMAGE (PNG/JPEG), MASK (PNG, white = erase)")
    p.add_argument("image", help="the photo (PNG or JPEG)")
    p.add_argument("mask", help="a PNG of the same size; non-zero pixels are erased")
    p.add_argument("-o", "--output", required=True, help="file to write (.png, or .jpg)")
    p.add_argument("--method", choices=["telea", "ns", "diffusion"])
    p.add_argument("--radius", type=int, help="OpenCV inpainting radius in pixels (default 5)")
    p.add_argument("--prompt", help="what to paint (diffusion only)")
    p.add_argument("--steps", type=int, help="denoising steps (diffusion only)")
    p.add_argument("--seed", type=int, help="seed (diffusion only)")
    p.set_defaults(handler=_handler(_erase))

    # privcloud chat (privcloud.cli.chat, which uses _run above: imported here, not at the top).
    from privcloud.cli import chat  # noqa: PLC0415

    chat.register(add)

    # privcloud speak (privcloud.cli.speak, likewise).
    from privcloud.cli import speak  # noqa: PLC0415

    speak.register(add)

    # privcloud live (privcloud.cli.live, likewise: live call translation, docs/adr/0023).
    from privcloud.cli import live  # noqa: PLC0415

    live.register(add)
