"""The chat feature's red-team findings (text that is not UTF-8, checks before a token is taken,
openai compatibility, the remote engine's bounds, terminal output, closing a stream that is
being read), each with the attack or misuse it stops. No model: ``FakeChatEngine`` stands in for
an engine, ``FakeEngineServer`` for an OpenAI-compatible server (loopback, canned answers),
``FakeWallet`` for a wallet, and the fake nodes of ``test_sdk_chat_compat`` for the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, cast

import pydantic
import pytest
from test_sdk_chat_compat import FakeChatNode, FakeSyncChatNode, _openai, _openai_sync

from privcloud import limits
from privcloud.cli import chat as cli_chat
from privcloud.errors import ConfigError, DecodeError, UpstreamError, UsageError
from privcloud.sdk import Client
from privcloud.sdk.chat import AsyncChatStream, ChatStream, PrivateOpenAI, build_params
from privcloud.sdk.client_types import Result
from privcloud.sdk.sync import SyncClient
from privcloud.sdk.wallet import Wallet
from privcloud.wire import jsonio
from privcloud.wire.message import (
    Event,
    EventKind,
    WorkloadRequest,
    encode_event,
    encode_request,
)
from privcloud.workloads.base import Deadline, WorkloadRegistry
from privcloud.workloads.chat import ChatWorkload, parse_request
from privcloud.workloads.engine import (
    CacheSalt,
    ChatEnd,
    ChatEvent,
    ChatMessage,
    ChatSettings,
    EngineConfig,
    OpenAIEngine,
    TextDelta,
    config_from_env,
)
from privcloud.workloads.engine.remote import parse_stream
from privcloud.workloads.models import Models

MODEL = "fake-model"
HI = [{"role": "user", "content": "Hi"}]


def _noop() -> None:
    return None


class FakeChatEngine:
    """A fake engine: encodes the messages and stops as UTF-8, as both real engines do (the
    in-process one to tokenize them, the remote one to send them), and answers "ok"."""

    kind = "fake"

    def models(self) -> tuple[str, ...]:
        return (MODEL,)

    def chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        settings: ChatSettings,
        *,
        salt: CacheSalt,
        deadline: Deadline | None = None,
    ) -> Iterator[ChatEvent]:
        for message in messages:
            message.content.encode("utf-8")
        for stop in settings.stop:
            stop.encode("utf-8")
        yield TextDelta("ok")
        yield ChatEnd("stop", 1, 1)


def _run_workload(workload: ChatWorkload, params: dict[str, Any]) -> list[Event]:
    registry = WorkloadRegistry([workload])
    return list(registry.run(WorkloadRequest("chat", params, stream=True)))


# --- finding 2: text that is not UTF-8 is the peer's fault (400), not the node's (500) ----------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"messages": [{"role": "user", "content": "hello \\ud800 secret"}]}',
        b'{"messages": [{"role": "user", "content": "hi"}], "stop": "\\udfff"}',
        b'{"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b\\ud800"]}',
    ],
)
def test_a_lone_surrogate_in_a_message_or_stop_is_refused_as_malformed_not_a_node_fault(
    raw: bytes,
) -> None:
    params = jsonio.loads(raw)  # (the node's decoder takes the escape: JSON allows it)
    with pytest.raises(DecodeError) as caught:
        parse_request(params, (MODEL,))
    assert "secret" not in str(caught.value)
    events = _run_workload(ChatWorkload(cast(Models, None), engine=FakeChatEngine()), params)
    assert events[-1].kind is EventKind.ERROR
    assert events[-1].meta["code"] == DecodeError.code and events[-1].meta["status"] == 400


# --- finding 4: values checked and encoded before a token is taken ------------------------------


@pytest.mark.parametrize(
    ("messages", "kwargs"),
    [
        ([{"role": "user", "content": b"hi"}], {}),
        (HI, {"stop": {"a"}}),
        (HI, {"stop": ["a", 5]}),
        (HI, {"temperature": float("nan")}),
        (HI, {"temperature": float("inf")}),
        (HI, {"temperature": "0.5"}),
        (HI, {"max_tokens": "5"}),
        (HI, {"max_tokens": True}),
        (HI, {"model": ""}),
        (HI, {"model": 5}),
        ([{"role": "user", "content": "x" * 300_000}], {}),
        ([{"role": "user", "content": "hello \ud800"}], {}),
        ([{"role": "developer", "content": "Be brief."}, *HI], {}),
        ([{"role": "tool", "content": "42"}, *HI], {}),
        ([{"role": "assistant", "content": None}, *HI], {}),
        ([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}], {}),
    ],
)
def test_a_bad_value_is_a_usage_error_and_nothing_is_sent(
    messages: list[Any], kwargs: dict[str, Any]
) -> None:
    node = FakeSyncChatNode()
    with pytest.raises(UsageError):
        _openai_sync(node).chat.completions.create(messages=messages, **kwargs)
    assert node.sent == []


def test_a_stop_tuple_and_an_int_temperature_are_sent_as_json_values() -> None:
    params = build_params(None, HI, 5, 1, ("a", "b"), {})
    assert params == {"messages": HI, "max_tokens": 5, "temperature": 1.0, "stop": ["a", "b"]}


class FakeWallet:
    """A fake of the wallet: counts the tokens taken."""

    def __init__(self) -> None:
        self.taken = 0

    async def authorization(self) -> bytes:
        self.taken += 1
        return b"PrivateToken token=fake"

    async def on_challenge(self, www_authenticate: str | bytes) -> None:
        return None

    async def close(self) -> None:
        return None


class FakeAdmittedClient(Client):
    """A fake of an admitted client: its ``_send`` does what the real one does first, takes a
    token from the wallet, then encodes the request (and sends nothing)."""

    async def _send(
        self, request: WorkloadRequest, regions: Collection[str] | None = None
    ) -> AsyncIterator[Event]:
        assert self.wallet is not None
        await self.wallet.authorization()
        encode_request(request)
        yield Event(EventKind.RESULT, {"text": "", "finish_reason": "stop"})


async def test_a_request_that_cannot_be_encoded_takes_no_token_from_the_wallet() -> None:
    """The client refuses what it cannot send before it takes a token, for any feature."""
    wallet = FakeWallet()
    client = FakeAdmittedClient("http://127.0.0.1:9", wallet=cast(Wallet, wallet))
    try:
        with pytest.raises(UsageError):
            await client.call("chat", {"messages": [{"role": "user", "content": "x" * 300_000}]})
        with pytest.raises(UsageError):
            await client.call("chat", {"temperature": float("nan")})
        with pytest.raises(UsageError):
            async for _ in client.stream("chat", {"messages": [{"content": "\ud800"}]}):
                pass
        assert wallet.taken == 0
        with pytest.raises(UsageError):
            await PrivateOpenAI(client).chat.completions.create(
                messages=[{"role": "user", "content": "x" * 300_000}]
            )
        assert wallet.taken == 0
        await client.call("chat", {"messages": HI})
        assert wallet.taken == 1
    finally:
        await client.close()


# --- finding 5: openai compatibility ------------------------------------------------------------


@dataclasses.dataclass
class DataclassMessage:
    role: str
    content: str
    name: str | None = None


class PydanticMessage(pydantic.BaseModel):
    role: str
    content: str
    tool_call_id: str | None = None


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (SimpleNamespace(role="user", content="hi", name="alice"), "name"),
        (SimpleNamespace(role="user", content="42", tool_call_id="call_1"), "tool_call_id"),
        (
            SimpleNamespace(role="user", content="See [1]", annotations=[{"type": "x"}]),
            "annotations",
        ),
        (DataclassMessage("user", "hi", name="alice"), "name"),
        (PydanticMessage(role="user", content="hi", tool_call_id="call_1"), "tool_call_id"),
    ],
)
def test_an_object_messages_extra_fields_are_refused_like_a_dicts_not_dropped(
    message: object, field: str
) -> None:
    node = FakeSyncChatNode()
    with pytest.raises(UsageError, match=field):
        _openai_sync(node).chat.completions.create(messages=[message])
    with pytest.raises(UsageError, match=field):
        _openai_sync(node).chat.completions.create(messages=[vars(message) | {}])
    assert node.sent == []


def test_an_object_message_whose_other_fields_are_none_is_accepted() -> None:
    node = FakeSyncChatNode()
    client = _openai_sync(node)
    messages: list[Any] = [
        SimpleNamespace(role="user", content="a", name=None, annotations=None),
        DataclassMessage("assistant", "b"),
        PydanticMessage(role="user", content="c"),
    ]
    client.chat.completions.create(messages=messages)
    assert node.sent[-1][0]["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    reply = client.chat.completions.create(messages=HI)
    client.chat.completions.create(messages=[*HI, reply.choices[0].message, *HI])
    dumped = reply.choices[0].message.model_dump()
    client.chat.completions.create(messages=[*HI, dumped, *HI])


def test_the_attributes_openais_objects_have_exist_and_are_none() -> None:
    reply = _openai_sync(FakeSyncChatNode()).chat.completions.create(messages=HI)
    message = reply.choices[0].message
    assert reply.service_tier is None
    assert message.function_call is None and message.audio is None
    assert message.annotations is None
    assert reply.usage.prompt_tokens_details is None
    assert reply.usage.completion_tokens_details is None
    chunk = next(
        iter(_openai_sync(FakeSyncChatNode()).chat.completions.create(messages=HI, stream=True))
    )
    assert chunk.service_tier is None and chunk.choices[0].delta.function_call is None


def _usage_the_openai_way(chunks: list[Any]) -> tuple[str, Any]:
    """The loop of OpenAI's cookbook for ``include_usage``."""
    text, usage = "", None
    for chunk in chunks:
        if not chunk.choices:
            usage = chunk.usage
        else:
            text += chunk.choices[0].delta.content or ""
    return text, usage


def test_include_usage_adds_openais_last_chunk_with_no_choices_and_the_usage() -> None:
    chunks = list(
        _openai_sync(FakeSyncChatNode()).chat.completions.create(
            messages=HI, stream=True, stream_options={"include_usage": True}
        )
    )
    text, usage = _usage_the_openai_way(chunks)
    assert text == "Hello there." and usage is not None and usage.total_tokens == 10
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert len({c.id for c in chunks}) == 1


async def test_include_usage_adds_the_usage_chunk_to_the_async_stream_too() -> None:
    stream = await _openai(FakeChatNode()).chat.completions.create(
        messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize(
    "options", [{"include_usage": "yes"}, {"continuous_usage_stats": True}, ["include_usage"]]
)
def test_stream_options_that_are_not_openais_are_a_usage_error(options: Any) -> None:
    node = FakeSyncChatNode()
    with pytest.raises(UsageError):
        _openai_sync(node).chat.completions.create(messages=HI, stream=True, stream_options=options)
    assert node.sent == []


# --- finding 6: the remote engine's answer is bounded and checked --------------------------------


def _payloads(*chunks: Any) -> Iterator[bytes]:
    for chunk in chunks:
        yield json.dumps(chunk).encode()
    yield b"[DONE]"


def _delta(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


@pytest.mark.parametrize("choices", [5, True, "abc", {"delta": {}}])
def test_a_malformed_engine_chunk_is_an_upstream_error_not_a_type_error(choices: Any) -> None:
    with pytest.raises(UpstreamError):
        list(parse_stream(_payloads({"choices": choices}, _delta("", "stop")), _noop))


def test_engine_text_that_is_not_utf8_is_an_upstream_error() -> None:
    raw = iter([b'{"choices": [{"delta": {"content": "a\\ud800"}, "finish_reason": "stop"}]}'])
    with pytest.raises(UpstreamError):
        list(parse_stream(raw, _noop))


def test_engine_text_past_what_max_tokens_allows_is_cut_and_ends_as_length() -> None:
    read: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(1)
            yield json.dumps(_delta("y" * 1000)).encode()

    events = list(parse_stream(endless(), _noop, max_chars=2500))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "y" * 2500 and len(read) == 3
    end = events[-1]
    assert isinstance(end, ChatEnd) and end.finish_reason == "length"


class FakeEngineServer:
    """A fake OpenAI-compatible server on loopback: answers every chat completion with
    ``deltas`` (server-sent events), whatever the request's ``max_tokens``."""

    def __init__(self, deltas: Sequence[str]) -> None:
        body = b"".join(b"data: " + json.dumps(_delta(d)).encode() + b"\n\n" for d in deltas)
        body += b"data: " + json.dumps(_delta("", "stop")).encode() + b"\n\ndata: [DONE]\n\n"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeEngineServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("max_tokens", "piece"),
    [(4, "x" * 3600), (limits.MAX_CHAT_TOKENS, "\x01" * 5000)],
    ids=["4-tokens", "most-tokens-of-control-characters"],
)
def test_an_engine_answer_past_max_tokens_is_cut_so_that_the_result_can_be_sealed(
    max_tokens: int, piece: str
) -> None:
    """An engine that ignores ``max_tokens`` (here 100 pieces of 3,600 characters for 4
    tokens; or control characters, 6 JSON bytes each, for the most tokens a request may ask)
    gets its answer cut: the node's RESULT still fits an event."""
    with FakeEngineServer([piece] * 100) as server:
        engine = OpenAIEngine(EngineConfig(server.url, ((MODEL, MODEL),)))
        params = {"messages": HI, "max_tokens": max_tokens}
        events = _run_workload(ChatWorkload(cast(Models, None), engine=engine), params)
    result = events[-1]
    assert result.kind is EventKind.RESULT, result.meta
    assert result.meta["finish_reason"] == "length"
    assert len(result.meta["text"]) == max_tokens * limits.MAX_CHAT_CHARS_PER_TOKEN
    for event in events:
        encode_event(event)


@pytest.mark.parametrize("port", ["99999", "abc", "0", "-1"])
def test_a_bad_engine_port_is_a_config_error(port: str) -> None:
    with pytest.raises(ConfigError):
        EngineConfig(f"http://127.0.0.1:{port}/v1", ((MODEL, MODEL),))
    with pytest.raises(ConfigError):
        config_from_env(
            {
                "PRIVCLOUD_CHAT_ENGINE_URL": f"http://127.0.0.1:{port}/v1",
                "PRIVCLOUD_CHAT_ENGINE_MODEL": MODEL,
            }
        )


# --- finding 7: the chat command writes no control sequence of the model's to a terminal -------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


EVIL = "Sure.\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2K\x1b[1A\x1b[2Kall\r\x9b2J\x00 good\n\tdone\x1b"


def test_model_text_on_a_terminal_loses_its_escape_sequences_and_control_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stdout", terminal)
    cli_chat._print_delta(Event(EventKind.PARTIAL, {"delta": EVIL}))
    assert terminal.getvalue() == "Sure.all good\n\tdone"


def test_model_text_to_a_pipe_is_written_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stdout", pipe)
    cli_chat._print_delta(Event(EventKind.PARTIAL, {"delta": EVIL}))
    assert pipe.getvalue() == EVIL


async def test_an_answer_in_one_piece_is_cleaned_for_a_terminal_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_run(*_: Any, **__: Any) -> Result:  # a node that answered in one piece
        meta = {"text": EVIL, "finish_reason": "stop", "model": MODEL, "usage": {}}
        return Result(meta, EVIL.encode(), ())

    terminal = FakeTerminal()
    monkeypatch.setattr(cli_chat, "_run", fake_run)
    monkeypatch.setattr("sys.stdout", terminal)
    args = SimpleNamespace(
        prompt=["hi"], system=None, model=None, max_tokens=8, temperature=0.0, stop=None, json=False
    )
    await cli_chat._chat(cast(Any, args))
    assert "\x1b" not in terminal.getvalue() and "\x07" not in terminal.getvalue()


# --- finding 3: closing a stream that another task or thread is reading -------------------------


class SlowEvents:
    """A fake of the client's event stream: a delta every ``gap`` seconds, 100 of them; records
    whether the request was closed (the generator's ``finally`` ran)."""

    def __init__(self, gap: float = 0.05) -> None:
        self.gap = gap
        self.closed = threading.Event()

    async def events(self) -> AsyncIterator[Event]:
        try:
            for i in range(100):
                await asyncio.sleep(self.gap)
                yield Event(EventKind.PARTIAL, {"delta": f"t{i} "})
        finally:
            self.closed.set()


async def test_closing_an_async_stream_another_task_reads_ends_the_request_without_error() -> None:
    slow = SlowEvents(gap=0.3)
    stream = AsyncChatStream(slow.events(), MODEL)
    seen: list[str] = []

    async def reader() -> None:
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.45)  # (halfway through the wait for the second delta)
    await stream.close()  # the "stop" button
    assert slow.closed.is_set()  # the request is closed when close() returns
    await asyncio.wait_for(task, 1)  # the reader ends, without an error
    assert 1 <= len(seen) < 100


async def test_cancelling_the_reader_of_an_async_stream_still_cancels_it() -> None:
    stream = AsyncChatStream(SlowEvents().events(), MODEL)

    async def reader() -> None:
        async for _ in stream:
            pass

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.08)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class FakeSlowClient(Client):
    """A fake of an admitted client whose node answers slowly (:class:`SlowEvents`)."""

    slow = SlowEvents()

    async def _send(
        self, request: WorkloadRequest, regions: Collection[str] | None = None
    ) -> AsyncIterator[Event]:
        async for event in self.slow.events():
            yield event


@contextlib.contextmanager
def _sync_client(gap: float) -> Iterator[tuple[SyncClient, SlowEvents]]:
    """A :class:`SyncClient` (its loop in a thread) over a :class:`FakeSlowClient`."""
    sync = SyncClient("http://127.0.0.1:9")
    fake = FakeSlowClient("http://127.0.0.1:9")
    fake.slow = SlowEvents(gap)
    sync._client = fake  # (the client the blocking one runs on its loop)
    try:
        yield sync, fake.slow
    finally:
        sync.close()


def test_closing_a_blocking_stream_another_thread_reads_ends_the_request_without_error() -> None:
    with _sync_client(0.3) as (sync, slow):
        stream = ChatStream(sync.stream("chat", {"messages": HI}), MODEL)
        seen: list[str] = []
        errors: list[BaseException] = []

        def reader() -> None:
            try:
                for chunk in stream:
                    seen.append(chunk.choices[0].delta.content or "")
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.45)  # (halfway through the wait for the second delta)
        stream.close()  # the "stop" button, from this thread
        assert slow.closed.is_set()  # the request is closed when close() returns
        thread.join(1)
        assert not thread.is_alive() and errors == [] and 1 <= len(seen) < 100


def test_closing_a_blocking_stream_nobody_reads_closes_the_request() -> None:
    """(The client's inner generators are closed by the loop's finalizer, soon after.)"""
    with _sync_client(0.01) as (sync, slow):
        stream = ChatStream(sync.stream("chat", {"messages": HI}), MODEL)
        next(stream)
        stream.close()
        assert slow.closed.wait(2)
        assert list(stream) == []


def test_closing_a_blocking_stream_after_its_client_is_closed_does_not_hang() -> None:
    with _sync_client(0.01) as (sync, _):
        stream = ChatStream(sync.stream("chat", {"messages": HI}), MODEL)
        next(stream)
    stream.close()  # (the client's loop is stopped: nothing to wait for)
    assert list(stream) == []
