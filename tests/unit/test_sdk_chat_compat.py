"""The OpenAI-shaped chat client (``privcloud.sdk.chat``) used the way apps written for the
``openai`` Python client (v1.x) use it, over a fake node: no network, no model.

``FakeChatNode`` and ``FakeSyncChatNode`` stand in for :class:`~privcloud.sdk.Client` and
:class:`~privcloud.sdk.SyncClient`: they answer ``call``/``stream`` of the ``chat`` feature the
way the node's workload does (``PARTIAL`` deltas, then one ``RESULT``) and record what was sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest

from privcloud.errors import UsageError
from privcloud.sdk import Client, SyncClient
from privcloud.sdk.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    PrivateOpenAI,
    PrivateOpenAISync,
)
from privcloud.sdk.client_types import Result
from privcloud.wire.message import Event, EventKind, JSONObject

NODE_MODEL = "fake-node-default-model"


class FakeChatNode:
    """A fake of the two methods of ``Client`` the chat SDK uses. Answers "Hello there."."""

    def __init__(self, deltas: tuple[str, ...] = ("Hello", " there", ".")) -> None:
        self.deltas = deltas
        self.sent: list[tuple[JSONObject, dict[str, Any]]] = []
        self.stream_closed = False

    def _result(self, params: JSONObject) -> Event:
        meta: JSONObject = {
            "text": "".join(self.deltas),
            "finish_reason": "stop",
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
            "model": params.get("model", NODE_MODEL),
            "dropped_messages": 0,
        }
        return Event(EventKind.RESULT, meta, str(meta["text"]).encode())

    async def call(self, feature: str, params: JSONObject, **options: Any) -> Result:
        assert feature == "chat"
        self.sent.append((params, options))
        return Result(self._result(params).meta)

    async def stream(
        self, feature: str, params: JSONObject, **options: Any
    ) -> AsyncIterator[Event]:
        assert feature == "chat"
        self.sent.append((params, options))
        try:
            for delta in self.deltas:
                yield Event(EventKind.PARTIAL, {"delta": delta})
            yield self._result(params)
        finally:
            self.stream_closed = True


class FakeSyncChatNode(FakeChatNode):
    """A fake of the two methods of ``SyncClient`` the chat SDK uses."""

    def call(self, feature: str, params: JSONObject, **options: Any) -> Result:  # type: ignore[override]
        assert feature == "chat"
        self.sent.append((params, options))
        return Result(self._result(params).meta)

    def stream(self, feature: str, params: JSONObject, **options: Any) -> Iterator[Event]:  # type: ignore[override]
        assert feature == "chat"
        self.sent.append((params, options))
        try:
            for delta in self.deltas:
                yield Event(EventKind.PARTIAL, {"delta": delta})
            yield self._result(params)
        finally:
            self.stream_closed = True


def _openai(node: FakeChatNode) -> PrivateOpenAI:
    return PrivateOpenAI(cast(Client, node))


def _openai_sync(node: FakeSyncChatNode) -> PrivateOpenAISync:
    return PrivateOpenAISync(cast(SyncClient, node))


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# --- 1. the reply's message appended to the history ----------------------------------------------


def test_the_cookbook_pattern_appending_the_reply_message_to_the_history_works() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    messages = _user("Hi")
    reply = client.chat.completions.create(messages=messages)
    messages.append(reply.choices[0].message)
    messages.append({"role": "user", "content": "And again?"})
    client.chat.completions.create(messages=messages)
    assert node.sent[-1][0]["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello there."},
        {"role": "user", "content": "And again?"},
    ]


def test_a_replys_model_dump_appended_to_the_history_is_accepted() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    reply = client.chat.completions.create(messages=_user("Hi"))
    history = [*_user("Hi"), reply.choices[0].message.model_dump(), *_user("More")]
    client.chat.completions.create(messages=history)
    assert node.sent[-1][0]["messages"][1] == {"role": "assistant", "content": "Hello there."}


@pytest.mark.parametrize(
    "messages",
    [
        [42],
        ["just a string"],
        [None],
        [object()],
        "Hi",
        {"role": "user", "content": "Hi"},
        None,
        42,
    ],
)
def test_a_message_neither_mapping_nor_role_and_content_object_is_a_usage_error(
    messages: Any,
) -> None:
    client = _openai_sync(FakeSyncChatNode())
    with pytest.raises(UsageError):
        client.chat.completions.create(messages=messages)


def test_a_message_object_with_tool_calls_or_a_refusal_is_refused_not_dropped() -> None:
    class WithToolCalls:
        role = "assistant"
        content = None
        tool_calls = ({"id": "call_1", "type": "function"},)

    class Refused:
        role = "assistant"
        content = None
        refusal = "I can't help with that."

    client = _openai_sync(FakeSyncChatNode())
    for obj, name in ((WithToolCalls(), "tool_calls"), (Refused(), "refusal")):
        with pytest.raises(UsageError, match=name):
            client.chat.completions.create(messages=[*_user("Hi"), obj, *_user("Go on")])


# --- 2. the blocking stream as a context manager ----------------------------------------------


def test_the_blocking_stream_is_a_context_manager_that_closes_the_request() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    with client.chat.completions.create(messages=_user("Hi"), stream=True) as stream:
        first = next(iter(stream))
        assert first.choices[0].delta.content == "Hello"
        assert not node.stream_closed
    assert node.stream_closed  # leaving ``with`` stopped the underlying generator
    assert list(stream) == []  # and the stream ends


def test_the_blocking_stream_close_stops_the_generator_and_iterates_fully_otherwise() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    stream = client.chat.completions.create(messages=_user("Hi"), stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello there."
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is not None
    half = client.chat.completions.create(messages=_user("Hi"), stream=True)
    next(half)
    node.stream_closed = False
    half.close()
    assert node.stream_closed
    with pytest.raises(StopIteration):
        next(half)


async def test_the_async_stream_still_works_with_async_with() -> None:
    node = FakeChatNode()
    client = _openai(node)
    stream = await client.chat.completions.create(messages=_user("Hi"), stream=True)
    async with stream:
        async for chunk in stream:
            assert chunk.choices[0].delta.content == "Hello"
            break
    assert node.stream_closed


# --- 3. attributes and model_dump -------------------------------------------------------------


async def test_the_reply_has_openais_none_attributes_and_model_dump() -> None:
    reply = await _openai(FakeChatNode()).chat.completions.create(messages=_user("Hi"))
    assert isinstance(reply, ChatCompletion)
    choice, message = reply.choices[0], reply.choices[0].message
    assert message.tool_calls is None and message.refusal is None
    assert choice.logprobs is None and reply.system_fingerprint is None
    dumped = reply.model_dump()
    assert dumped == {
        "id": reply.id,
        "choices": [
            {
                "index": 0,
                "message": {
                    "content": "Hello there.",
                    "role": "assistant",
                    "refusal": None,
                    "tool_calls": None,
                    "annotations": None,
                    "audio": None,
                    "function_call": None,
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "created": reply.created,
        "model": NODE_MODEL,
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "completion_tokens_details": None,
            "prompt_tokens_details": None,
        },
        "object": "chat.completion",
        "system_fingerprint": None,
        "service_tier": None,
    }
    assert json.loads(reply.model_dump_json()) == dumped
    assert choice.model_dump() == dumped["choices"][0]
    assert message.model_dump() == dumped["choices"][0]["message"]
    assert json.loads(message.model_dump_json()) == message.model_dump()
    assert reply.usage.model_dump() == dumped["usage"]
    assert json.loads(reply.usage.model_dump_json()) == dumped["usage"]
    assert message.model_dump(exclude_none=True) == {"content": "Hello there.", "role": "assistant"}


def test_stream_chunks_have_openais_none_attributes_and_model_dump() -> None:
    client = _openai_sync(FakeSyncChatNode())
    chunks = list(client.chat.completions.create(messages=_user("Hi"), stream=True))
    first, last = chunks[0], chunks[-1]
    assert first.system_fingerprint is None and first.choices[0].logprobs is None
    assert first.choices[0].delta.tool_calls is None and first.choices[0].delta.refusal is None
    dumped = first.model_dump()
    assert dumped["object"] == "chat.completion.chunk" and dumped["usage"] is None
    assert dumped["choices"][0]["delta"]["content"] == "Hello"
    assert dumped["choices"][0]["delta"]["role"] == "assistant"
    assert json.loads(first.model_dump_json()) == dumped
    assert last.model_dump()["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
        "completion_tokens_details": None,
        "prompt_tokens_details": None,
    }


# --- 4. n and max_completion_tokens -----------------------------------------------------------


def test_n_1_is_accepted_and_other_n_refused() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    client.chat.completions.create(messages=_user("Hi"), n=1)
    assert "n" not in node.sent[-1][0]
    for n in (2, 0, True, "1"):
        with pytest.raises(UsageError):
            client.chat.completions.create(messages=_user("Hi"), n=n)


def test_max_completion_tokens_is_max_tokens() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    client.chat.completions.create(messages=_user("Hi"), max_completion_tokens=12)
    assert node.sent[-1][0]["max_tokens"] == 12 and "max_completion_tokens" not in node.sent[-1][0]
    client.chat.completions.create(messages=_user("Hi"), max_tokens=9, max_completion_tokens=9)
    assert node.sent[-1][0]["max_tokens"] == 9
    with pytest.raises(UsageError, match="max_completion_tokens"):
        client.chat.completions.create(messages=_user("Hi"), max_tokens=9, max_completion_tokens=8)


@pytest.mark.parametrize(
    "extra",
    [{"top_p": 0.9}, {"frequency_penalty": 0.5}, {"presence_penalty": 0.5}, {"tools": []}],
)
def test_parameters_the_node_does_not_honour_are_still_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match=next(iter(extra))):
        _openai_sync(FakeSyncChatNode()).chat.completions.create(messages=_user("Hi"), **extra)


# --- 5. timeout -------------------------------------------------------------------------------


class FakeHttpxTimeout:
    """Stands in for ``httpx.Timeout`` (not installed here): per-phase limits, no number."""

    connect = read = write = pool = 5.0


@pytest.mark.parametrize("timeout", [FakeHttpxTimeout(), "30", True, [5], float("nan")])
def test_a_timeout_that_is_not_a_number_of_seconds_is_a_usage_error(timeout: Any) -> None:
    with pytest.raises(UsageError, match="timeout"):
        _openai_sync(FakeSyncChatNode()).chat.completions.create(
            messages=_user("Hi"), timeout=timeout
        )


def test_a_numeric_timeout_is_the_requests_deadline() -> None:
    node = FakeSyncChatNode()
    _openai_sync(node).chat.completions.create(messages=_user("Hi"), timeout=2.5)
    assert node.sent[-1][1] == {"deadline_s": 3}


# --- 6. message keys are refused, not dropped -------------------------------------------------


@pytest.mark.parametrize("key", ["name", "tool_call_id", "tool_calls", "refusal"])
def test_a_message_key_other_than_role_and_content_is_refused_by_name(key: str) -> None:
    message = {"role": "user", "content": "Hi", key: "bob"}
    with pytest.raises(UsageError, match=key):
        _openai_sync(FakeSyncChatNode()).chat.completions.create(messages=[message])


def test_a_message_dict_with_openais_none_fields_is_accepted() -> None:
    node = FakeSyncChatNode()
    message = {"role": "user", "content": "Hi", "tool_calls": None, "refusal": None}
    _openai_sync(node).chat.completions.create(messages=[message])
    assert node.sent[-1][0]["messages"] == [{"role": "user", "content": "Hi"}]


# --- 7. the model of stream chunks ------------------------------------------------------------


def test_stream_chunks_carry_the_callers_model_from_the_first() -> None:
    chunks = list(
        _openai_sync(FakeSyncChatNode()).chat.completions.create(
            messages=_user("Hi"), model="m-1", stream=True
        )
    )
    assert {c.model for c in chunks} == {"m-1"}


def test_without_a_model_the_last_chunk_carries_the_nodes_choice() -> None:
    """The node names its default model only in its final event (its ``PARTIAL`` events carry
    only the delta), so the chunks before it cannot know it: they carry ``""``."""
    chunks = list(
        _openai_sync(FakeSyncChatNode()).chat.completions.create(messages=_user("Hi"), stream=True)
    )
    assert chunks[-1].model == NODE_MODEL
    assert {c.model for c in chunks[:-1]} == {""}


def test_a_blocking_reply_without_a_model_reports_the_nodes_choice() -> None:
    reply = _openai_sync(FakeSyncChatNode()).chat.completions.create(messages=_user("Hi"))
    assert reply.model == NODE_MODEL and isinstance(reply.choices[0].message, ChatCompletionMessage)


async def test_the_async_client_sends_the_same_request_as_the_blocking_one() -> None:
    node, sync_node = FakeChatNode(), FakeSyncChatNode()
    kwargs: dict[str, Any] = {
        "messages": _user("Hi"),
        "model": "m",
        "max_completion_tokens": 5,
        "n": 1,
        "timeout": 10,
    }
    await _openai(node).chat.completions.create(**kwargs)
    _openai_sync(sync_node).chat.completions.create(**kwargs)
    assert node.sent == sync_node.sent
