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
history). The arguments' types, and that they encode into a request, are checked here, before a
token is taken (:class:`~privcloud.errors.UsageError`); their bounds are the node's to check.
A stream sends its request when it is first read, not in ``create()``. The objects returned
have the attribute shape of OpenAI's (``choices[0].message.content``,
``choices[0].delta.content``, ``finish_reason``, ``usage``, ``model_dump()``); their ``id`` is
made here, at random, and names nothing on the node.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import numbers
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Literal, overload

from privcloud import limits
from privcloud.errors import UpstreamError, UsageError
from privcloud.sdk.chat_types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionUsage,
    Message,
    MessageLike,
)
from privcloud.sdk.client import Client
from privcloud.sdk.client_types import RequestOptions
from privcloud.sdk.sync import SyncClient
from privcloud.wire.message import Event, JSONObject, WorkloadRequest, encode_request

FEATURE = "chat"
#: Arguments accepted for compatibility and ignored (``stream_options`` is read by ``create``:
#: its ``include_usage`` adds OpenAI's usage chunk to a stream).
_IGNORED = frozenset({"stream_options", "user"})
#: Message fields of OpenAI's that carry nothing when ``None`` (a reply's message, or its
#: ``model_dump()``, has them); any other value is refused, never dropped.
_NONE_FIELDS = ("refusal", "tool_calls", "function_call", "audio", "annotations")
#: The roles the node takes (OpenAI's "developer", "tool" and "function" are refused here).
_ROLES = ("system", "user", "assistant")
#: Keys of ``stream_options``: ``include_usage`` is honoured, ``include_obfuscation`` ignored.
_STREAM_OPTIONS = frozenset({"include_usage", "include_obfuscation"})


def build_params(
    model: str | None,
    messages: Iterable[Message],
    max_tokens: int | None,
    temperature: float | None,
    stop: str | list[str] | None,
    extra: Mapping[str, Any],
) -> JSONObject:
    """The ``chat`` request's parameters, checked and encoded here, before the client takes a
    token. ``extra`` may hold ``n`` (only 1), ``max_completion_tokens`` (OpenAI's newer name
    for ``max_tokens``) and the ignored ``stream_options`` and ``user``.

    Raises :class:`UsageError` (the argument named, its value never quoted) for an argument or
    message key the feature does not support; ``max_tokens`` and ``max_completion_tokens`` that
    differ; a message that is neither a mapping nor an object with ``role`` and ``content``, a
    role other than system, user or assistant, or a content that is not a string; ``model``
    that is not a non-empty string; ``max_tokens`` that is not an integer; ``temperature`` that
    is not a finite number; ``stop`` that is not a string or a list of strings; and parameters
    with no JSON form (text that is not UTF-8) or too large for a request. The bounds of the
    feature (message count and length, ``max_tokens``, ...) are the node's to check."""
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
    include_usage(extra.get("stream_options"))
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise UsageError("messages must be a list of messages")
    params: JSONObject = {"messages": [_message(i, m) for i, m in enumerate(messages)]}
    if model is not None:
        if not isinstance(model, str) or not model:
            raise UsageError("model must be a non-empty string (or left out: the node's default)")
        params["model"] = model
    if max_tokens is not None:
        if type(max_tokens) is not int:
            raise UsageError("max_tokens must be an integer")
        params["max_tokens"] = max_tokens
    if temperature is not None:
        if not _finite_number(temperature):
            raise UsageError("temperature must be a finite number")
        params["temperature"] = float(temperature)
    if stop is not None:
        params["stop"] = _stop(stop)
    # What the client would fail to encode (no JSON form, too large) fails here, before a token
    # is taken from the wallet.
    encode_request(WorkloadRequest(FEATURE, params, stream=True))
    return params


def include_usage(stream_options: object) -> bool:
    """``stream_options["include_usage"]`` (``False`` without it). Raises :class:`UsageError`
    for options that are not a mapping, a key other than ``include_usage`` and the ignored
    ``include_obfuscation``, or an ``include_usage`` that is not a bool."""
    if stream_options is None:
        return False
    if not isinstance(stream_options, Mapping):
        raise UsageError("stream_options must be a mapping")
    unsupported = sorted(str(key)[:64] for key in stream_options if key not in _STREAM_OPTIONS)
    if unsupported:
        raise UsageError(f"stream_options does not support: {', '.join(unsupported)}")
    value = stream_options.get("include_usage", False)
    if not isinstance(value, bool):
        raise UsageError("stream_options include_usage must be true or false")
    return value


def _finite_number(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
    )


def _stop(stop: object) -> str | list[str]:
    """``stop`` as sent: a string, or a list (or tuple) of strings as a list."""
    if isinstance(stop, str):
        return stop
    if isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise UsageError("stop must be a string or a list of strings")


def _message(index: int, message: object) -> JSONObject:
    """One message's ``role`` and ``content``: from a mapping, which may have no other key (but
    the fields of :data:`_NONE_FIELDS` set to ``None``), or from an object, which may have no
    other data attribute that is not ``None`` (:func:`_object_fields`). The role is one of
    :data:`_ROLES`, the content a string. Raises :class:`UsageError` otherwise."""
    if isinstance(message, Mapping):
        refused = sorted(
            str(key)[:64]
            for key, value in message.items()
            if key not in ("role", "content") and not (key in _NONE_FIELDS and value is None)
        )
        role, content = message.get("role"), message.get("content")
    elif hasattr(message, "role") and hasattr(message, "content"):
        refused = sorted(
            name[:64]
            for name, value in _object_fields(message).items()
            if name not in ("role", "content") and value is not None
        )
        role, content = message.role, message.content
    else:
        raise UsageError(
            f"message {index} is neither a mapping nor an object with role and content"
        )
    if refused:
        raise UsageError(f"message {index}: chat does not support: {', '.join(refused)}")
    if role not in _ROLES:
        raise UsageError(f"message {index}: the role must be system, user or assistant")
    if not isinstance(content, str):
        raise UsageError(f"message {index}: the content must be a string (not parts, not None)")
    return {"role": role, "content": content}


def _object_fields(message: object) -> dict[str, object]:
    """The public data attributes of an object message: its own (a plain object's, a
    ``SimpleNamespace``'s, a dataclass's, a pydantic model's fields and extras) and those its
    classes define, but methods and pydantic's ``model_*``."""
    names: set[str] = set()
    sources: list[object] = [getattr(message, "__dict__", None)]
    sources += [getattr(message, "model_extra", None)]
    sources += [
        vars(klass)
        for klass in type(message).__mro__
        if klass is not object and not klass.__module__.startswith("pydantic")
    ]
    for source in sources:
        if isinstance(source, Mapping):
            names.update(name for name in source if isinstance(name, str))
    if dataclasses.is_dataclass(message):
        names.update(field.name for field in dataclasses.fields(message))
    fields: dict[str, object] = {}
    for name in names:
        if name.startswith(("_", "model_")):
            continue
        value = getattr(message, name, None)
        if not callable(value):
            fields[name] = value
    return fields


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
    carries the role, the last the finish reason and the usage; with ``include_usage``, as
    OpenAI's, the usage comes on one more chunk, the last, with no choices (and no other
    chunk carries it)."""

    def __init__(self, model: str | None, include_usage: bool = False) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model or ""
        self._first = True
        self._include_usage = include_usage

    def chunks(self, event: Event) -> list[ChatCompletionChunk]:
        if not event.final:
            delta = event.meta.get("delta")
            if not isinstance(delta, str):
                raise UpstreamError("the chat answer is malformed")
            role: Literal["assistant"] | None = "assistant" if self._first else None
            self._first = False
            return [
                ChatCompletionChunk(
                    self.id, [ChunkChoice(0, ChoiceDelta(delta, role))], self.created, self.model
                )
            ]
        done = completion_from(event.meta, self.id, self.created)
        self.model = done.model
        finish = ChunkChoice(0, ChoiceDelta(), done.choices[0].finish_reason)
        if not self._include_usage:
            return [
                ChatCompletionChunk(self.id, [finish], self.created, done.model, usage=done.usage)
            ]
        return [
            ChatCompletionChunk(self.id, [finish], self.created, done.model),
            ChatCompletionChunk(self.id, [], self.created, done.model, usage=done.usage),
        ]


class AsyncChatStream:
    """The streamed answer: an async iterator of :class:`ChatCompletionChunk` (like OpenAI's
    ``AsyncStream``); :meth:`close` (or leaving ``async with``) stops reading it and closes the
    request, also from another task while one waits for the next chunk (a "stop" button): that
    read is cancelled and the iteration ends, without an error."""

    def __init__(
        self, events: AsyncIterator[Event], model: str | None, include_usage: bool = False
    ) -> None:
        self._events = events
        self._maker = _ChunkMaker(model, include_usage)
        self._ready: collections.deque[ChatCompletionChunk] = collections.deque()
        self._closed = False
        #: The task waiting for the next event, if one is; set when :meth:`close` cancelled it.
        self._reader: asyncio.Task[Any] | None = None
        self._cancelled_reader = False
        self._idle = asyncio.Event()
        self._idle.set()

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            self._ready.extend(self._maker.chunks(await self._read()))
        return self._ready.popleft()

    async def _read(self) -> Event:
        task = asyncio.current_task()
        self._reader = task
        self._idle.clear()
        try:
            return await anext(self._events)
        except asyncio.CancelledError:
            # close() cancelled this read (and nothing else cancelled this task): the end.
            if self._cancelled_reader and task is not None and task.uncancel() == 0:
                raise StopAsyncIteration from None
            raise
        finally:
            self._reader = None
            self._idle.set()

    async def close(self) -> None:
        """Stop reading and close the request (cancelling a read another task is waiting in;
        it ends its iteration). Returns when the request is closed."""
        if not self._closed:
            self._closed = True
            reader = self._reader
            if reader is not None and reader is not asyncio.current_task():
                self._cancelled_reader = True
                reader.cancel()
        await self._idle.wait()
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
    event iterator, also from another thread while one waits for the next chunk (a
    :class:`~privcloud.sdk.sync.SyncClient`'s stream is closed at once; another iterator, when
    its next event comes). After it, iteration ends."""

    def __init__(
        self, events: Iterator[Event], model: str | None, include_usage: bool = False
    ) -> None:
        self._events = events
        self._maker = _ChunkMaker(model, include_usage)
        self._ready: collections.deque[ChatCompletionChunk] = collections.deque()
        self._closed = False

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        while not self._ready:
            if self._closed:
                raise StopIteration
            event = next(self._events)
            if self._closed:  # closed by another thread while this one waited
                self._close_events()
                raise StopIteration
            self._ready.extend(self._maker.chunks(event))
        return self._ready.popleft()

    def close(self) -> None:
        self._closed = True
        self._close_events()

    def _close_events(self) -> None:
        close = getattr(self._events, "close", None)
        if close is None:
            return
        try:
            close()
        except ValueError:
            # A plain generator that another thread is running cannot be closed now: that
            # thread closes it when its next event comes (see __next__).
            if not getattr(self._events, "gi_running", False):
                raise

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
            return AsyncChatStream(
                self._client.stream(FEATURE, params, **options),
                model,
                include_usage(extra.get("stream_options")),
            )
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
            return ChatStream(
                self._client.stream(FEATURE, params, **options),
                model,
                include_usage(extra.get("stream_options")),
            )
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
