"""The ``chat`` workload: a private assistant, streamed (docs/features.md §Chat).

Request parameters (all bounded in :mod:`privcloud.limits`): ``messages`` (a list of
``{"role": "system"|"user"|"assistant", "content": str}``, a system message only first, the
last one the user's), ``model`` (one the node's engine serves; default its first),
``max_tokens``, ``temperature`` (0: greedy), ``stop`` (a string or a list of strings),
``stream`` (whether to send ``PARTIAL`` deltas; default: the request's own streaming flag). Any
other parameter is refused: in particular a caller cannot choose the engine's cache salt
(:class:`~privcloud.workloads.engine.CacheSalt` is the node's, fresh per request).

Answer: when streaming, one ``PARTIAL`` event per piece of text
(``{"delta": "..."}``), then one ``RESULT``: ``{"text", "finish_reason", "usage": {...},
"model", "dropped_messages"}`` with the text as data. The node builds every event and its
JSON; the model's text is only ever the *value* of ``delta``/``text``, so whatever a message or
the model writes (an injected "reply in JSON", a fake ``finish_reason``) cannot change the
answer's format. The answer stops at the request's deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

from privcloud import limits
from privcloud.errors import DecodeError, InternalError, TooLargeError
from privcloud.wire.message import Event, EventKind, JSONObject, WorkloadRequest
from privcloud.workloads import params
from privcloud.workloads.base import current_deadline
from privcloud.workloads.engine import (
    CacheSalt,
    ChatEnd,
    ChatEngine,
    ChatMessage,
    ChatSettings,
    TextDelta,
    chat_engine,
)
from privcloud.workloads.engine.types import ROLES
from privcloud.workloads.models import Models

#: The parameters a chat request may carry (anything else is refused).
PARAMS = frozenset({"messages", "model", "max_tokens", "temperature", "stop", "stream"})


class ChatWorkload:
    """Streaming chat completions on the node's engine (see the module docstring)."""

    name = "chat"
    blocking = True

    def __init__(self, models: Models, engine: ChatEngine | None = None) -> None:
        self._engine = engine if engine is not None else chat_engine(models)

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        model, messages, settings = parse_request(request.params, self._engine.models())
        stream = params.flag(request.params, "stream", request.stream)
        deadline = current_deadline()
        pieces: list[str] = []
        end: ChatEnd | None = None
        # Closed here, not left to the garbage collector, when this generator is closed (the
        # deadline, a client gone): the engine holds its model until its generator ends.
        with closing(
            self._engine.chat(model, messages, settings, salt=CacheSalt.fresh(), deadline=deadline)
        ) as events:
            for event in events:
                if isinstance(event, TextDelta):
                    pieces.append(event.text)
                    if stream:
                        yield Event(EventKind.PARTIAL, {"delta": event.text})
                else:
                    end = event
        if end is None:
            raise InternalError("the engine ended without a finish reason")
        text = "".join(pieces)
        meta: JSONObject = {
            "text": text,
            "finish_reason": end.finish_reason,
            "usage": {
                "prompt_tokens": end.prompt_tokens,
                "completion_tokens": end.completion_tokens,
                "total_tokens": end.prompt_tokens + end.completion_tokens,
            },
            "model": model,
            "dropped_messages": end.dropped_messages,
        }
        yield Event(EventKind.RESULT, meta, text.encode("utf-8"))


def parse_request(
    raw: JSONObject, served: tuple[str, ...]
) -> tuple[str, list[ChatMessage], ChatSettings]:
    """The model, messages and settings of a chat request, checked in this order: (1) only
    known parameters; (2) a model the engine serves; (3) the messages; (4) ``max_tokens``,
    ``temperature`` and ``stop``. Raises :class:`DecodeError` or :class:`TooLargeError` (413)
    with a fixed message naming the parameter, never its value."""
    unknown = set(raw) - PARAMS
    if unknown:
        raise DecodeError("unknown chat parameter (allowed: " + ", ".join(sorted(PARAMS)) + ")")
    if not served:
        raise DecodeError("no chat model is served here")
    model = params.choice(raw, "model", served, served[0])
    messages = parse_messages(raw.get("messages"))
    max_tokens = params.integer(
        raw, "max_tokens", limits.DEFAULT_MAX_CHAT_TOKENS, lo=1, hi=limits.MAX_CHAT_TOKENS
    )
    temperature = params.number(raw, "temperature", 0.0, lo=0.0, hi=limits.MAX_CHAT_TEMPERATURE)
    return model, messages, ChatSettings(max_tokens, temperature, parse_stop(raw.get("stop")))


def parse_messages(value: Any) -> list[ChatMessage]:
    """1 to ``MAX_CHAT_MESSAGES`` messages of at most ``MAX_CHAT_MESSAGE_CHARS`` each and
    ``MAX_CHAT_TOTAL_CHARS`` together; a system message only first; the last from the user;
    every content text that encodes as UTF-8 (no lone surrogate). Raises :class:`DecodeError`
    or :class:`TooLargeError`."""
    if not isinstance(value, list) or not value:
        raise DecodeError("parameter 'messages' must be a non-empty list")
    if len(value) > limits.MAX_CHAT_MESSAGES:
        raise TooLargeError("parameter 'messages' has too many messages")
    out: list[ChatMessage] = []
    total = 0
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"role", "content"}:
            raise DecodeError("each message is an object with a role and a content")
        role, content = item.get("role"), item.get("content")
        if role not in ROLES or (role == "system" and index > 0):
            raise DecodeError("a message's role is system (first only), user or assistant")
        if not isinstance(content, str) or not _is_utf8(content):
            raise DecodeError("a message's content must be a string")
        if len(content) > limits.MAX_CHAT_MESSAGE_CHARS:
            raise TooLargeError("a chat message is too long")
        total += len(content)
        if total > limits.MAX_CHAT_TOTAL_CHARS:
            raise TooLargeError("the chat messages are too long together")
        out.append(ChatMessage(role, content))
    if out[-1].role != "user" or not out[-1].content.strip():
        raise DecodeError("the last message must be a non-empty user message")
    return out


def parse_stop(value: Any) -> tuple[str, ...]:
    """``stop``: absent, one string, or a list of at most ``MAX_CHAT_STOPS`` non-empty strings
    of at most ``MAX_CHAT_STOP_CHARS`` characters, each encoding as UTF-8. Raises
    :class:`DecodeError` or :class:`TooLargeError`."""
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(
        isinstance(s, str) and s and _is_utf8(s) for s in stops
    ):
        raise DecodeError("parameter 'stop' must be a string or a list of strings")
    if len(stops) > limits.MAX_CHAT_STOPS or any(
        len(s) > limits.MAX_CHAT_STOP_CHARS for s in stops
    ):
        raise TooLargeError("parameter 'stop' is too long")
    return tuple(stops)


def _is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: JSON's ``"\\ud800"`` escape decodes to a lone
    surrogate, which no engine can take (it would fail later, as a fault of the node's)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


__all__ = ["PARAMS", "ChatWorkload", "parse_messages", "parse_request", "parse_stop"]
