"""Bounded JSON: the one decoder for every JSON document that comes from a peer or from disk,
and the one codec of remote error bodies (docs/adr/0010-bounded-json.md).

``json.loads`` recurses once per nested array or object, against the interpreter's recursion
limit: a body of a few thousand ``[`` (far under every size bound) raises ``RecursionError``,
which is not ours, is not caught where our errors are, and reaches the caller as a crash.
:func:`loads` measures the nesting first, with a linear scan that does not recurse, and hands
the text to ``json.loads`` only when it is shallow enough.

Steps of :func:`loads`:

1. The size is at most ``max_bytes`` (:class:`TooLargeError`).
2. Bytes are strict UTF-8 (:class:`DecodeError`); no UTF-16/32 sniffing, no BOM.
3. The nesting depth is at most ``max_depth`` (:class:`DecodeError`): escape pairs (``\\x``)
   and then strings are cut out, everything but brackets is dropped, and the running depth is
   summed by C-level iterators, a chunk at a time (so a deep prefix stops the scan early).
4. ``json.loads`` parses it, refusing ``NaN``/``Infinity`` and numbers that overflow to them
   (RFC 8259 §6 has no such numbers) and, when the caller asks, floats and duplicate member
   names (RFC 8259 §4: their meaning is up to each parser, so two parsers may read one
   document two ways).

The scan is exact for every document ``json.loads`` accepts, and for the prefix it reads of one
it refuses: escape pairs only occur inside strings there (a backslash outside one ends the parse
where it stands), so cutting them out pairs them as the parser does.

Every error is :class:`DecodeError` or :class:`TooLargeError` with a fixed message: no byte of
the document reaches an exception.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Final

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    PrivcloudError,
    TooLargeError,
    UpstreamError,
    error_from_code,
)

#: An escape pair inside a string (``\\"``, ``\\\\``, ``\\u``...); cut out before strings are.
_ESCAPE_PAIR: Final = re.compile(rb"\\[\s\S]")
#: A string once escape pairs are gone; an unterminated one runs to the end (no backtracking).
_STRING: Final = re.compile(rb'"[^"]*"?')
#: Every byte that is not a bracket: deleted by ``bytes.translate``.
_NOT_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
#: Brackets to depth steps as signed bytes: +1 for an opening one, -1 (0xFF) for a closing one.
_STEP: Final = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
#: Brackets summed per turn of the scan loop.
_SCAN_CHUNK: Final = 64 * 1024


def nesting_depth_exceeds(raw: bytes, max_depth: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects deeper than ``max_depth``.

    Brackets inside strings do not count. Linear in ``len(raw)``, without recursion; never
    raises. (``[]`` has depth 1, a scalar depth 0.)
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # cheap exit: too few openers to get that deep
    if b"\\" in raw:
        raw = _ESCAPE_PAIR.sub(b"", raw)
    steps = _STRING.sub(b"", raw).translate(_STEP, _NOT_BRACKET)
    signed = memoryview(steps).cast("b")
    depth = 0
    for start in range(0, len(steps), _SCAN_CHUNK):
        end = start + _SCAN_CHUNK
        if max(accumulate(signed[start:end], initial=depth)) > max_depth:
            return True
        depth += steps.count(b"\x01", start, end) - steps.count(b"\xff", start, end)
    return False


def _refuse_constant(_name: str) -> Any:
    raise DecodeError("NaN or Infinity in JSON")


def _refuse_float(_text: str) -> Any:
    raise DecodeError("non-integer number in JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise DecodeError("NaN or Infinity in JSON")
    return value


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise DecodeError("duplicate member name in JSON")
        out[name] = value
    return out


def loads(
    data: bytes | str,
    *,
    max_bytes: int = limits.MAX_JSON_BYTES,
    max_depth: int = limits.MAX_JSON_DEPTH,
    allow_floats: bool = True,
    allow_duplicate_keys: bool = True,
) -> Any:
    """Parse the JSON text ``data`` (UTF-8 bytes, or text already decoded) with bounds.

    Raises :class:`TooLargeError` when ``data`` is over ``max_bytes`` (text: its UTF-8 size),
    and :class:`DecodeError` for bytes that are not UTF-8, nesting deeper than ``max_depth``,
    malformed JSON, ``NaN``/``Infinity``, a float when ``allow_floats`` is false, or a repeated
    member name in one object when ``allow_duplicate_keys`` is false. Never ``RecursionError``.
    """
    if len(data) > max_bytes:
        raise TooLargeError("JSON document too large")
    if isinstance(data, str):
        text = data
        raw = data.encode("utf-8", "surrogatepass")
        if len(raw) > max_bytes:
            raise TooLargeError("JSON document too large")
    else:
        raw = data
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("JSON is not UTF-8") from exc
    if nesting_depth_exceeds(raw, max_depth):
        raise DecodeError("JSON nested too deeply")
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float if allow_floats else _refuse_float,
            object_pairs_hook=None if allow_duplicate_keys else _refuse_duplicates,
        )
    except RecursionError as exc:  # only when called with the stack already nearly full
        raise DecodeError("JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and ints past sys.get_int_max_str_digits()
        raise DecodeError("malformed JSON") from exc


# --- remote error bodies: {"error": <code>, "message": <fixed text>} ------------------------


def encode_error_body(exc: PrivcloudError) -> bytes:
    """The body a service answers an error with: the error's code and its fixed text."""
    return json.dumps({"error": exc.code, "message": str(exc)}).encode()


def decode_error_body(body: bytes, status: int, *, peer: str = "peer") -> PrivcloudError:
    """The error a peer reported with HTTP ``status`` and error ``body``, as one of ours.

    A body written by :func:`encode_error_body` becomes the class its code names
    (:func:`~privcloud.errors.error_from_code`; unknown codes: :class:`UpstreamError`). Any
    other body — over ``limits.MAX_REMOTE_ERROR_BODY``, not JSON, nested too deeply, not an
    object with an ``error`` member — becomes :class:`UpstreamError` naming ``peer`` (a fixed
    label of the caller's, e.g. ``"relay"``) and the status. Returns the error; never raises.
    """
    doc: object = None
    if len(body) <= limits.MAX_REMOTE_ERROR_BODY:
        try:
            doc = loads(body, max_bytes=limits.MAX_REMOTE_ERROR_BODY)
        except PrivcloudError:
            doc = None
    if isinstance(doc, dict) and "error" in doc:
        return error_from_code(doc.get("error"), doc.get("message"))
    return UpstreamError(f"{peer} answered status {int(status)}")


__all__ = ["decode_error_body", "encode_error_body", "loads", "nesting_depth_exceeds"]
