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
carries the whole conversation, as with OpenAI's API. ``timeout`` becomes the request's
deadline. Arguments this feature has no use for (``tools``, ``n``, ...) raise
:class:`~privcloud.errors.UsageError` instead of being silently dropped. The objects returned
have the attribute shape of OpenAI's (``choices[0].message.content``,
``choices[0].delta.content``, ``finish_reason``, ``usage``); their ``id`` is made here, at
random, and names nothing on the node.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from privcloud import limits
from privcloud.errors import UpstreamError, UsageError
from privcloud.sdk.client import Client
from privcloud.sdk.client_types import RequestOptions
from privcloud.sdk.sync import SyncClient
from privcloud.wire.message import Event, JSONObject

FEATURE = "chat"
#: Arguments accepted for compatibility and ignored: usage is always reported.
_IGNORED = frozenset({"stream_options", "user"})


@dataclass(frozen=True)
class CompletionUsage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class ChatCompletionMessage:
    content: str
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class Choice:
    index: int
    message: ChatCompletionMessage
    finish_reason: str


@dataclass(frozen=True)
class ChatCompletion:
    id: str
    choices: list[Choice]
    created: int
    model: str
    usage: CompletionUsage
    object: Literal["chat.completion"] = "chat.completion"


@dataclass(frozen=True)
class ChoiceDelta:
    content: str | None = None
    role: Literal["assistant"] | None = None


@dataclass(frozen=True)
class ChunkChoice:
    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None


@dataclass(frozen=True)
class ChatCompletionChunk:
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    usage: CompletionUsage | None = None
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"


def build_params(
    model: str | None,
    messages: Iterable[Mapping[str, Any]],
    max_tokens: int | None,
    temperature: float | None,
    stop: str | list[str] | None,
    extra: Mapping[str, Any],
) -> JSONObject:
    """The ``chat`` request's parameters; raises :class:`UsageError` for an argument the
    feature does not support (named; its value is not quoted)."""
    unsupported = sorted(set(extra) - _IGNORED)
    if unsupported:
        raise UsageError(f"chat.completions.create does not support: {', '.join(unsupported)}")
    params: JSONObject = {
        "messages": [{"role": m.get("role"), "content": m.get("content")} for m in messages]
    }
    if model:
        params["model"] = model
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    if stop is not None:
        params["stop"] = stop
    return params


def request_options(timeout: float | None) -> RequestOptions:
    """``timeout`` (seconds) as the request's deadline (whole seconds, rounded up)."""
    if timeout is None:
        return {}
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


class AsyncCompletions:
    """``client.chat.completions`` of :class:`PrivateOpenAI`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
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
        messages: Iterable[Mapping[str, Any]],
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
        messages: Iterable[Mapping[str, Any]],
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
        messages: Iterable[Mapping[str, Any]],
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
        messages: Iterable[Mapping[str, Any]],
        model: str | None = ...,
        stream: Literal[True],
        max_tokens: int | None = ...,
        temperature: float | None = ...,
        stop: str | list[str] | None = ...,
        timeout: float | None = ...,
        **extra: Any,
    ) -> Iterator[ChatCompletionChunk]: ...

    def create(
        self,
        *,
        messages: Iterable[Mapping[str, Any]],
        model: str | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: str | list[str] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> ChatCompletion | Iterator[ChatCompletionChunk]:
        """As :meth:`AsyncCompletions.create`, blocking (``stream=True``: an iterator)."""
        params = build_params(model, messages, max_tokens, temperature, stop, extra)
        options = request_options(timeout)
        if stream:
            return _chunks(self._client.stream(FEATURE, params, **options), model)
        result = self._client.call(FEATURE, params, **options)
        maker = _ChunkMaker(model)
        return completion_from(result.meta, maker.id, maker.created)


def _chunks(events: Iterator[Event], model: str | None) -> Iterator[ChatCompletionChunk]:
    maker = _ChunkMaker(model)
    for event in events:
        yield maker.chunk(event)


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
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Completions",
    "CompletionUsage",
    "PrivateOpenAI",
    "PrivateOpenAISync",
]
