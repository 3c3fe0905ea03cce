"""Typed readers for a workload request's JSON parameters.

Every reader bounds what it accepts and raises :class:`~privcloud.errors.DecodeError` with a
fixed message naming the parameter (never its value: the value is user content).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError
from privcloud.wire.message import JSONObject


def text(
    params: JSONObject,
    name: str,
    default: str | None = None,
    *,
    max_chars: int = limits.MAX_QUERY_CHARS,
    allow_empty: bool = False,
) -> str:
    """A string parameter of at most ``max_chars`` characters; missing: ``default`` (or an
    error when ``default`` is None)."""
    value: Any = params.get(name, default)
    if value is None:
        raise DecodeError(f"parameter '{name}' is required")
    if not isinstance(value, str):
        raise DecodeError(f"parameter '{name}' must be a string")
    if len(value) > max_chars:
        raise TooLargeError(f"parameter '{name}' is too long")
    if not allow_empty and not value.strip():
        raise DecodeError(f"parameter '{name}' is empty")
    return value


def optional_text(
    params: JSONObject, name: str, *, max_chars: int = limits.MAX_NAME_PARAM_CHARS
) -> str | None:
    """A string parameter that may be absent or null."""
    if params.get(name) is None:
        return None
    return text(params, name, max_chars=max_chars)


def choice(params: JSONObject, name: str, allowed: Collection[str], default: str) -> str:
    """One of ``allowed``."""
    value = text(params, name, default, max_chars=limits.MAX_NAME_PARAM_CHARS)
    if value not in allowed:
        raise DecodeError(f"parameter '{name}' must be one of: {', '.join(sorted(allowed))}")
    return value


def integer(params: JSONObject, name: str, default: int, *, lo: int, hi: int) -> int:
    """An integer from ``lo`` to ``hi`` inclusive."""
    value: Any = params.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise DecodeError(f"parameter '{name}' must be an integer from {lo} to {hi}")
    return value


def number(params: JSONObject, name: str, default: float, *, lo: float, hi: float) -> float:
    """A number from ``lo`` to ``hi`` inclusive."""
    value: Any = params.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not lo <= value <= hi:
        raise DecodeError(f"parameter '{name}' must be a number from {lo} to {hi}")
    return float(value)


def flag(params: JSONObject, name: str, default: bool = False) -> bool:
    """A boolean."""
    value: Any = params.get(name, default)
    if not isinstance(value, bool):
        raise DecodeError(f"parameter '{name}' must be true or false")
    return value


def body_text(body: bytes, *, max_chars: int = limits.MAX_SOURCE_TEXT_CHARS) -> str:
    """The request body as UTF-8 text of at most ``max_chars`` characters, not blank."""
    if len(body) > 4 * max_chars:
        raise TooLargeError("text too long")
    try:
        value = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("the text is not UTF-8") from exc
    if len(value) > max_chars:
        raise TooLargeError("text too long")
    if not value.strip():
        raise DecodeError("the text is empty")
    return value
