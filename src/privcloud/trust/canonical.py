"""Canonical JSON of the trust documents (release manifests, key statements), sans-IO.

One transparency-log entry is a document's *canonical JSON*: UTF-8 (ASCII, non-ASCII escaped),
keys sorted, no whitespace, integers only (no floats), no duplicate keys. The same bytes always
mean the same document, so a leaf hash names one document.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.wire import jsonio

#: Largest integer magnitude in a canonical document (the signed 64-bit range).
MAX_INT: Final = 2**63 - 1


def canonical_json(obj: object, *, max_depth: int = limits.MAX_RELEASE_CONFIG_DEPTH + 1) -> bytes:
    """The canonical encoding: sorted keys, no whitespace, ASCII, no floats or NaN.

    Raises :class:`UsageError` for a value it cannot encode canonically (a float, a non-string
    key, an object other than dict/list/str/int/bool/None, nesting deeper than ``max_depth``;
    the default leaves room for a manifest around a config of the deepest allowed nesting).
    """
    _check_canonical_value(obj, 0, max_depth)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _check_canonical_value(obj: object, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise UsageError("value nests too deeply")
    if obj is None or isinstance(obj, bool | str):
        return
    if isinstance(obj, int):
        if not -MAX_INT <= obj <= MAX_INT:
            raise UsageError("integer out of range")
        return
    if isinstance(obj, list | tuple):
        for item in obj:
            _check_canonical_value(item, depth + 1, max_depth)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise UsageError("object keys must be strings")
            _check_canonical_value(value, depth + 1, max_depth)
        return
    raise UsageError("value has no canonical JSON form")


def loads_strict(data: bytes, what: str, max_bytes: int = limits.MAX_JSON_BYTES) -> Any:
    """Parse the JSON ``what`` (a fixed label) with :func:`privcloud.wire.jsonio.loads`,
    refusing duplicate keys, NaN/Infinity and floats: :class:`DecodeError` naming ``what``,
    :class:`TooLargeError` past ``max_bytes``."""
    try:
        return jsonio.loads(
            data, max_bytes=max_bytes, allow_floats=False, allow_duplicate_keys=False
        )
    except DecodeError as exc:
        raise DecodeError(f"{what}: {exc}") from exc


def load_entry(
    data: object, what: str, *, max_bytes: int, fields: frozenset[str], schema: str
) -> dict[str, Any]:
    """The JSON object of a log entry of the kind ``what`` (a fixed label), as every kind of
    statement is read: bytes, at most ``max_bytes`` (:class:`TooLargeError`), strict JSON
    (:func:`loads_strict`) with exactly ``fields``, and ``schema`` (:class:`UnsupportedError`
    for another). The caller rebuilds the entry and compares bytes (canonical form)."""
    if not isinstance(data, bytes):
        raise DecodeError(f"{what} is bytes")
    if len(data) > max_bytes:
        raise TooLargeError(f"{what} too large")
    doc = loads_strict(data, what, max_bytes)
    if not isinstance(doc, dict) or set(doc) != fields:
        raise DecodeError(f"{what} has the wrong fields")
    if doc["schema"] != schema:
        raise UnsupportedError(f"unsupported {what} schema")
    return doc


def json_object(doc: object, what: str, keys: set[str] | None) -> dict[str, Any]:
    """``doc`` as a dict with exactly ``keys`` (any keys when ``None``); :class:`DecodeError`."""
    if not isinstance(doc, dict):
        raise DecodeError(f"{what} is not an object")
    if keys is not None and set(doc) != keys:
        raise DecodeError(f"{what} has missing or unknown fields")
    return doc


def b64_text(data: bytes) -> str:
    """Standard padded base64 of ``data``, as the trust documents carry bytes."""
    return base64.b64encode(data).decode("ascii")


def from_b64_text(value: object) -> bytes:
    """The bytes of canonical standard base64 text (the one encoding :func:`b64_text` makes).

    Raises :class:`DecodeError` for anything else.
    """
    if not isinstance(value, str):
        raise DecodeError("expected base64 text")
    try:
        out = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("malformed base64") from exc
    if base64.b64encode(out).decode("ascii") != value:
        raise DecodeError("non-canonical base64")
    return out
