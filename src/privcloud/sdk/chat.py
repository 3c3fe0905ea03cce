"""Chat completions shaped like the OpenAI Python client's, over the private path.

An app that uses ``openai.AsyncOpenAI`` switches by changing the client object::

    client = PrivateOpenAI(privcloud_client)          # was: AsyncOpenAI()
    reply = await client.chat.completions.create(
        model="qwen2.5-coder-1.5b-instruct", messages=[{"role": "user", "content": "Hi"}]
    )
    print(reply.choices[0].message.content, reply.usage.total_tokens)

    async for chunk in await client.chat.completions.create(..., stream=True):
        print(chunk.choices[0].delta.content or "", end="")

(:class:`PrivateOpenAISync` over a :class:`~privcloud.sdk.sync.SyncClient` is the blocking
form, like ``openai.OpenAI``.) Each call is one ``chat`` request: sealed to an admitted node,
paid with one anonymous token, unlinkable to the others; the node keeps nothing, so every call
carries the whole conversation, as with OpenAI's API. ``timeout`` (a number of seconds)
becomes the request's deadline. Arguments this feature has no use for (``tools``, ``n`` other
than 1, ``top_p``, ...) and message keys other than ``role`` and ``content`` raise
:class:`~privcloud.errors.UsageError` instead of being silently dropped. A message is a mapping
or an object with ``role`` and ``content`` (a reply's ``choices[0].message``, appended to the
history). The objects returned have the attribute shape of OpenAI's
(``choices[0].message.content``, ``choices[0].delta.content``, ``finish_reason``, ``usage``,
``model_dump()``); their ``id`` is made here, at random, and names nothing on the node.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, overload

from privcloud import limits
from privcloud.errors import UpstreamError, UsageError
from privcloud.sdk.client import Client
from privcloud.sdk.client_types import RequestOptions
from privcloud.sdk.sync import SyncClient
from privcloud.wire.message import Event, JSONObject

FEATURE = "chat"
#: Arguments accepted for compatibility and ignored: usage is always reported.
_IGNORED = frozenset({"stream_options", "user"})
#: Message fields of OpenAI's that carry nothing when ``None`` (a reply's message, or its
#: ``model_dump()``, has them); any other value is refused, never dropped.
_NONE_FIELDS = ("refusal", "tool_calls", "function_call", "audio")


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
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class ChatCompletionMessage(_Dumpable):
    """The answer; ``refusal`` and ``tool_calls`` are always ``None`` (no tools here)."""

    content: str
    role: Literal["assistant"] = "assistant"
    refusal: None = None
    tool_calls: None = None


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


@dataclass(frozen=True)
class ChoiceDelta(_Dumpable):
    content: str | None = None
    role: Literal["assistant"] | None = None
    refusal: None = None
    tool_calls: None = None


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
    chunk carries it (the others ``""``)."""

    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    usage: CompletionUsage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    system_fingerprint: None = None


class MessageLike(Protocol):
    """A message given as an object (like OpenAI's ``ChatCompletionMessage``)."""

    @property
    def role(self) -> object: ...

    @property
    def content(self) -> object: ...


Message = Mapping[str, Any] | MessageLike


def build_params(
    model: str | None,
    messages: Iterable[Message],
    max_tokens: int | None,
    temperature: float | None,
    stop: str | list[str] | None,
    extra: Mapping[str, Any],
) -> JSONObject:
    """The ``chat`` request's parameters. ``extra`` may hold ``n`` (only 1),
    ``max_completion_tokens`` (OpenAI's newer name for ``max_tokens``) and the ignored
    ``stream_options`` and ``user``. Raises :class:`UsageError` for an argument or message key
    the feature does not support (named; its value is not quoted), for ``max_tokens`` and
    ``max_completion_tokens`` that differ, and for a message that is neither a mapping nor an
    object with ``role`` and ``content``. The values are checked by the node."""
    extra = dict(extra)
    n = extra.pop("n", None)
    if n is not None and (type(n) is not int or n != 1):
        raise UsageError("chat.completions.create supports only n=1")
    max_completion_tokens = extra.pop("max_completion_tokens", None)
    if max_completion_tokens is not None:
        if max_tokens is not None and max_tokens != max_completion_tokens:
            raise UsageError("max_tokens and max_completion_tokens differ: give one of them")
        max_tokens = max_completion_tokens
    unsupported = sorted(set(extra) - _IGNORED)
    if unsupported:
        raise UsageError(f"chat.completions.create does not support: {', '.join(unsupported)}")
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise UsageError("messages must be a list of messages")
    params: JSONObject = {"messages": [_message(i, m) for i, m in enumerate(messages)]}
    if model:
        params["model"] = model
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    if stop is not None:
        params["stop"] = stop
    return params


def _message(index: int, message: object) -> JSONObject:
    """One message's ``role`` and ``content``: from a mapping, which may have no other key (but
    the fields of :data:`_NONE_FIELDS` set to ``None``), or from an object's attributes, whose
    :data:`_NONE_FIELDS` must be ``None`` or absent. Raises :class:`UsageError` otherwise."""
    if isinstance(message, Mapping):
        refused = sorted(
            str(key)[:64]
            for key, value in message.items()
            if key not in ("role", "content") and not (key in _NONE_FIELDS and value is None)
        )
        role, content = message.get("role"), message.get("content")
    elif hasattr(message, "role") and hasattr(message, "content"):
        refused = [name for name in _NONE_FIELDS if getattr(message, name, None) is not None]
        role, content = message.role, message.content
    else:
        raise UsageError(
            f"message {index} is neither a mapping nor an object with role and content"
        )
    if refused:
        raise UsageError(f"message {index}: chat does not support: {', '.join(refused)}")
    return {"role": role, "content": content}


def request_options(timeout: float | None) -> RequestOptions:
    """``timeout`` (a number of seconds) as the request's deadline (whole seconds, rounded up).
    Raises :class:`UsageError` for anything else (an ``httpx.Timeout`` too: its limits are per
    phase of a connection, not one for the whole answer) or a value out of range."""
    if timeout is None:
        return {}
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise UsageError("timeout must be a number of seconds (an httpx.Timeout is not supported)")
    if not 0 < timeout <= limits.MAX_REQUEST_DEADLINE_S:
        raise UsageError("timeout must be more than 0 and at most MAX_REQUEST_DEADLINE_S")
    return {"deadline_s": math.ceil(timeout)}


def completion_from(meta: JSONObject, cid: str, created: int) -> ChatCompletion:
    """A :class:`ChatCompletion` from the node's ``RESULT`` metadata."""
    try:
        usage = meta["usage"]
        return ChatCompletion(
            id=cid,
            choices=[
                Choice(0, ChatCompletionMessage(str(meta["text"])), str(meta["finish_reason"]))
            ],
            created=created,
            model=str(meta["model"]),
            usage=CompletionUsage(
                int(usage["prompt_tokens"]),
                int(usage["completion_tokens"]),
                int(usage["total_tokens"]),
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError("the chat answer is malformed") from exc


class _ChunkMaker:
    """Node events of one streamed answer to :class:`ChatCompletionChunk` objects: the first
    carries the role, the last the finish reason and the usage."""

    def __init__(self, model: str | None) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model or ""
        self._first = True

    def chunk(self, event: Event) -> ChatCompletionChunk:
        if not event.final:
            delta = event.meta.get("delta")
            if not isinstance(delta, str):
                raise UpstreamError("the chat answer is malformed")
            role: Literal["assistant"] | None = "assistant" if self._first else None
            self._first = False
            return ChatCompletionChunk(
                self.id, [ChunkChoice(0, ChoiceDelta(delta, role))], self.created, self.model
            )
        done = completion_from(event.meta, self.id, self.created)
        self.model = done.model
        return ChatCompletionChunk(
            self.id,
            [ChunkChoice(0, ChoiceDelta(), done.choices[0].finish_reason)],
            self.created,
            done.model,
            usage=done.usage,
        )


class AsyncChatStream:
    """The streamed answer: an async iterator of :class:`ChatCompletionChunk` (like OpenAI's
    ``AsyncStream``); :meth:`close` (or leaving ``async with``) stops reading it."""

    def __init__(self, events: AsyncIterator[Event], model: str | None) -> None:
        self._events = events
        self._maker = _ChunkMaker(model)

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        event = await anext(self._events)
        return self._maker.chunk(event)

    async def close(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class ChatStream:
    """The streamed answer, blocking: an iterator of :class:`ChatCompletionChunk` (like OpenAI's
    ``Stream``); :meth:`close` (or leaving ``with``) stops reading it and closes the request's
    event iterator. After it, iteration ends."""

    def __init__(self, events: Iterator[Event], model: str | None) -> None:
        self._events = events
        self._maker = _ChunkMaker(model)
        self._closed = False

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if self._closed:
            raise StopIteration
        return self._maker.chunk(next(self._events))

    def close(self) -> None:
        self._closed = True
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncCompletions:
    """``client.chat.completions`` of :class:`PrivateOpenAI`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = ...,
        stream: Literal[False] = ...,
        max_tokens: int | None = ...,
        temperature: float | None = ...,
        stop: str | list[str] | None = ...,
        timeout: float | None = ...,
        **extra: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = ...,
        stream: Literal[True],
        max_tokens: int | None = ...,
        temperature: float | None = ...,
        stop: str | list[str] | None = ...,
        timeout: float | None = ...,
        **extra: Any,
    ) -> AsyncChatStream: ...

    async def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: str | list[str] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> ChatCompletion | AsyncChatStream:
        """One chat completion (``stream=True``: an :class:`AsyncChatStream`). Raises the
        node's errors (our exception tree), e.g. :class:`~privcloud.errors.TooLargeError` for
        too many or too long messages."""
        params = build_params(model, messages, max_tokens, temperature, stop, extra)
        options = request_options(timeout)
        if stream:
            return AsyncChatStream(self._client.stream(FEATURE, params, **options), model)
        result = await self._client.call(FEATURE, params, **options)
        maker = _ChunkMaker(model)
        return completion_from(result.meta, maker.id, maker.created)


class _AsyncChat:
    def __init__(self, client: Client) -> None:
        self.completions = AsyncCompletions(client)


class PrivateOpenAI:
    """An ``openai.AsyncOpenAI`` look-alike for chat completions over a privcloud
    :class:`~privcloud.sdk.client.Client` (see the module docstring)."""

    def __init__(self, client: Client) -> None:
        self.chat = _AsyncChat(client)


class Completions:
    """``client.chat.completions`` of :class:`PrivateOpenAISync`."""

    def __init__(self, client: SyncClient) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = ...,
        stream: Literal[False] = ...,
        max_tokens: int | None = ...,
        temperature: float | None = ...,
        stop: str | list[str] | None = ...,
        timeout: float | None = ...,
        **extra: Any,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = ...,
        stream: Literal[True],
        max_tokens: int | None = ...,
        temperature: float | None = ...,
        stop: str | list[str] | None = ...,
        timeout: float | None = ...,
        **extra: Any,
    ) -> ChatStream: ...

    def create(
        self,
        *,
        messages: Iterable[Message],
        model: str | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: str | list[str] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> ChatCompletion | ChatStream:
        """As :meth:`AsyncCompletions.create`, blocking (``stream=True``: a :class:`ChatStream`)."""
        params = build_params(model, messages, max_tokens, temperature, stop, extra)
        options = request_options(timeout)
        if stream:
            return ChatStream(self._client.stream(FEATURE, params, **options), model)
        result = self._client.call(FEATURE, params, **options)
        maker = _ChunkMaker(model)
        return completion_from(result.meta, maker.id, maker.created)


class _Chat:
    def __init__(self, client: SyncClient) -> None:
        self.completions = Completions(client)


class PrivateOpenAISync:
    """An ``openai.OpenAI`` look-alike for chat completions over a privcloud
    :class:`~privcloud.sdk.sync.SyncClient`."""

    def __init__(self, client: SyncClient) -> None:
        self.chat = _Chat(client)


__all__ = [
    "AsyncChatStream",
    "AsyncCompletions",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatStream",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Completions",
    "CompletionUsage",
    "Message",
    "MessageLike",
    "PrivateOpenAI",
    "PrivateOpenAISync",
]
