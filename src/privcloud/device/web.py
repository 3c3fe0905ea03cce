"""The device console's web plumbing, I/O-free where it can be: the page's static files and
their security headers, the ``params`` query parameter, and the NDJSON lines of a run.

Safety of a local web app (see :mod:`privcloud.device.agent`): a strict Content-Security-Policy,
no sniffing, no referrer, no caching; the POST header a cross-site page cannot send.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

from aiohttp import web

from privcloud import limits
from privcloud.errors import DecodeError, NotFoundError, TooLargeError
from privcloud.wire import jsonio
from privcloud.wire.message import Event, JSONObject

#: Header the page sends on every POST (see the agent's docstring).
CONSOLE_HEADER = "X-Privcloud-Console"
#: Content type of a run whose body is its parameters (a JSON object) and which has no input.
PARAMS_BODY = "application/vnd.privcloud.params+json"

STATIC = {
    "index.html": "text/html",
    "console.js": "text/javascript",
    "console.css": "text/css",
    # The Live tab's AudioWorklet: the microphone downsampled to 16 kHz s16le in the page.
    "live-worklet.js": "text/javascript",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def parse_params(raw: str | None) -> JSONObject:
    """The ``params`` query parameter: a JSON object (absent: empty). Raises
    :class:`DecodeError` (400) or :class:`TooLargeError` (413)."""
    if not raw:
        return {}
    if len(raw) > limits.MAX_WORKLOAD_JSON:
        raise TooLargeError("params too large")
    try:
        doc = jsonio.loads(raw, max_bytes=limits.MAX_WORKLOAD_JSON)
    except DecodeError as exc:
        raise DecodeError("params must be a JSON object") from exc
    if not isinstance(doc, dict):
        raise DecodeError("params must be a JSON object")
    return doc


def run_input(content_type: str, query: str | None, body: bytes) -> tuple[JSONObject, bytes]:
    """A run's parameters and input: ``?params=`` and the raw body, or, with the
    :data:`PARAMS_BODY` content type, the parameters as the body and no input (a chat's
    messages are too long for a URL). Raises :class:`DecodeError` (400) or
    :class:`TooLargeError` (413)."""
    if content_type != PARAMS_BODY:
        return parse_params(query), body
    if query:
        raise DecodeError("params go in the query or in the body, not both")
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("params must be a JSON object") from exc
    return parse_params(raw), b""


def event_line(event: Event) -> dict[str, Any]:
    """One NDJSON line for a workload event: text answers as text, others (a PNG) in base64."""
    line: dict[str, Any] = {"type": "result" if event.final else "partial", "meta": event.meta}
    if event.data:
        try:
            line["text"] = event.data.decode("utf-8")
        except UnicodeDecodeError:
            line["data_base64"] = base64.b64encode(event.data).decode("ascii")
    return line


async def write_line(response: web.StreamResponse, line: dict[str, Any]) -> None:
    await response.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")


async def security_headers(_: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def static_file(name: str) -> bytes:
    return resources.files("privcloud.device").joinpath("static", name).read_bytes()


def static_response(static: dict[str, bytes], name: str) -> web.Response:
    media = STATIC.get(name)
    if media is None:
        raise NotFoundError("no such file")
    return web.Response(body=static[name], content_type=media, charset="utf-8")


__all__ = [
    "CONSOLE_HEADER",
    "PARAMS_BODY",
    "SECURITY_HEADERS",
    "STATIC",
    "event_line",
    "parse_params",
    "run_input",
    "security_headers",
    "static_file",
    "static_response",
    "write_line",
]
