"""The objects :mod:`privcloud.sdk.chat` returns, with the attribute shape of the OpenAI Python
client's (``choices[0].message.content``, ``choices[0].delta.content``, ``finish_reason``,
``usage``, ``model_dump()``), and the message an app may give as an object. Attributes OpenAI's
objects have and this feature never fills are there, always ``None``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol


class _Dumpable:
    """``model_dump()`` and ``model_dump_json()`` of the OpenAI client's (pydantic) objects, for
    the dataclasses below: the same field names, nested objects as dicts."""

    def model_dump(self, *, exclude_none: bool = False) -> dict[str, Any]:
        """The fields as a plain dict (``exclude_none``: without those that are ``None``)."""
        return _dump_fields(self, exclude_none)

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False) -> str:
        """:meth:`model_dump` as JSON (compact unless ``indent``), like pydantic's."""
        dumped = self.model_dump(exclude_none=exclude_none)
        if indent is None:
            return json.dumps(dumped, separators=(",", ":"), ensure_ascii=False)
        return json.dumps(dumped, indent=indent, ensure_ascii=False)


def _dump_fields(obj: object, exclude_none: bool) -> dict[str, Any]:
    dumped: dict[str, Any] = {}
    for field in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, field.name)
        if isinstance(value, _Dumpable):
            value = _dump_fields(value, exclude_none)
        elif isinstance(value, list):
            value = [
                _dump_fields(v, exclude_none) if isinstance(v, _Dumpable) else v for v in value
            ]
        if value is not None or not exclude_none:
            dumped[field.name] = value
    return dumped


@dataclass(frozen=True)
class CompletionUsage(_Dumpable):
    """The token counts; OpenAI's ``*_tokens_details`` are always ``None`` here."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: None = None
    prompt_tokens_details: None = None


@dataclass(frozen=True)
class ChatCompletionMessage(_Dumpable):
    """The answer; ``refusal``, ``tool_calls``, ``function_call``, ``audio`` and
    ``annotations`` are always ``None`` (no tools, no audio, no citations here)."""

    content: str
    role: Literal["assistant"] = "assistant"
    refusal: None = None
    tool_calls: None = None
    annotations: None = None
    audio: None = None
    function_call: None = None


@dataclass(frozen=True)
class Choice(_Dumpable):
    index: int
    message: ChatCompletionMessage
    finish_reason: str
    logprobs: None = None


@dataclass(frozen=True)
class ChatCompletion(_Dumpable):
    id: str
    choices: list[Choice]
    created: int
    model: str
    usage: CompletionUsage
    object: Literal["chat.completion"] = "chat.completion"
    system_fingerprint: None = None
    service_tier: None = None


@dataclass(frozen=True)
class ChoiceDelta(_Dumpable):
    content: str | None = None
    role: Literal["assistant"] | None = None
    refusal: None = None
    tool_calls: None = None
    function_call: None = None


@dataclass(frozen=True)
class ChunkChoice(_Dumpable):
    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: None = None


@dataclass(frozen=True)
class ChatCompletionChunk(_Dumpable):
    """One piece of a streamed answer. ``model`` is the caller's ``model`` from the first chunk
    on; without one, the node's choice is known only from its last event, so only the last
    chunk carries it (the others ``""``). ``usage`` is on the chunk with the finish reason;
    with ``stream_options={"include_usage": True}``, as OpenAI's, on one more chunk instead,
    the last, whose ``choices`` is empty."""

    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    usage: CompletionUsage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    system_fingerprint: None = None
    service_tier: None = None


class MessageLike(Protocol):
    """A message given as an object (like OpenAI's ``ChatCompletionMessage``)."""

    @property
    def role(self) -> object: ...

    @property
    def content(self) -> object: ...


Message = Mapping[str, Any] | MessageLike


__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "CompletionUsage",
    "Message",
    "MessageLike",
]
