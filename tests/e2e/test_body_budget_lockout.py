"""Request-body lock-out (a red-team review, 2026-12-07): the relay reserved a body's whole
declared length in its body budget up front, while a body may arrive at ``MIN_BODY_RATE_BPS``
(64 KiB/s) for about nine minutes. Four uploads from one address, each declaring 32 MiB and
sending ~70 KiB/s, filled the budget (4 x 32 MiB): every POST with a body, from every device,
got 503 for minutes, renewable, at ~280 KiB/s of the attacker's bandwidth.

Now bytes are reserved as they arrive, one peer address holds at most
``MAX_INFLIGHT_BODY_BYTES_PER_PEER`` of the budget (429 past it), and the relay and the gateway
give a body's bytes back once they have passed it on, not when the answer's stream ends.
Relays in this process, on loopback, with a stand-in gateway (and a whole cloud for the last).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from cloudkit import start_cloud
from privcloud import limits
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    MEDIA_REQUEST,
    MEDIA_RESPONSE,
)
from privcloud.sdk import Client
from privcloud.services.http import SERVICE, BodyBudget
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads.echo import StreamingEchoWorkload

ATTACKER = "127.0.0.2"
DEVICE = "127.0.0.3"
#: Seconds within which every exchange of these tests ends.
WAIT_S = 10.0

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _budget(app: web.Application) -> BodyBudget:
    budget = app[SERVICE].budget
    assert budget is not None
    return budget


@contextlib.asynccontextmanager
async def _gateway(release: asyncio.Event) -> AsyncIterator[int]:
    """A stand-in gateway: one-shot requests answered at once; a chunked one answered with a
    stream that stays open until ``release`` is set."""

    async def ohttp(request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.content_type != MEDIA_CHUNKED_REQUEST:
            return web.Response(body=b"answer", content_type=MEDIA_RESPONSE)
        response = web.StreamResponse(headers={"Content-Type": MEDIA_CHUNKED_RESPONSE})
        await response.prepare(request)
        await response.write(b"first")
        await release.wait()
        await response.write(b"last")
        await response.write_eof()
        return response

    app = web.Application(client_max_size=2 * limits.MAX_HTTP_BODY)
    app.router.add_post("/v1/ohttp", ohttp)
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        yield port
    finally:
        release.set()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _relay() -> AsyncIterator[tuple[web.Application, int]]:
    release = asyncio.Event()
    async with _gateway(release) as gateway_port:
        app = Relay(f"http://127.0.0.1:{gateway_port}").app()
        runner, port = await start_site(app, "127.0.0.1", 0)
        try:
            yield app, port
        finally:
            release.set()
            await runner.cleanup()


def _head(length: int, media: str = MEDIA_REQUEST) -> bytes:
    return (
        f"POST /v1/ohttp HTTP/1.1\r\nHost: relay\r\nContent-Type: {media}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


async def _start_upload(port: int, source: str, declared: int, sent: int) -> Stream:
    """An upload declaring ``declared`` bytes, of which it sends ``sent``, then waits."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(_head(declared) + bytes(sent))
    await writer.drain()
    return reader, writer


async def _status(reader: asyncio.StreamReader) -> int | None:
    """The status the relay answered, or None if it answers nothing within a moment."""
    try:
        line = await asyncio.wait_for(reader.readline(), 1.0)
    except TimeoutError:
        return None
    return int(line.split()[1]) if line else None


async def _post(port: int, source: str, body: bytes, media: str = MEDIA_REQUEST) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(_head(len(body), media) + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), WAIT_S)
        return int(line.split()[1])
    finally:
        writer.close()


async def test_slow_uploads_declaring_the_largest_body_do_not_lock_out_other_devices() -> None:
    async with _relay() as (app, port):
        uploads = [
            await _start_upload(port, ATTACKER, limits.MAX_OHTTP_REQUEST, 64 * limits.KiB)
            for _ in range(4)
        ]
        try:
            await asyncio.sleep(0.5)  # the relay has read what they sent
            # A device's small request (the lane) and a larger one (aiohttp's read_body) pass,
            # as does another request from the uploads' own address, under its share.
            assert await _post(port, DEVICE, bytes(100)) == 200
            assert await _post(port, DEVICE, bytes(limits.MiB)) == 200
            assert await _post(port, ATTACKER, bytes(limits.MiB)) == 200
            # The uploads hold what they sent, not the 4 x 32 MiB they declared.
            held = _budget(app).in_use
            assert 0 < held <= 4 * 64 * limits.KiB
            statuses = await asyncio.gather(*(_status(r) for r, _ in uploads))
            assert statuses == [None] * 4  # still uploading: none refused
        finally:
            for _, writer in uploads:
                writer.close()


async def test_one_address_is_held_to_its_share_of_the_body_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "MAX_INFLIGHT_BODY_BYTES", 4 * limits.MiB)
    monkeypatch.setattr(limits, "MAX_INFLIGHT_BODY_BYTES_PER_PEER", limits.MiB)
    async with _relay() as (app, port):
        piece = 400 * limits.KiB
        uploads = [await _start_upload(port, ATTACKER, 2 * piece, piece) for _ in range(3)]
        try:
            statuses = await asyncio.gather(*(_status(r) for r, _ in uploads))
            # Two of the attacker's uploads fit its share of 1 MiB; one is refused 429 (the
            # one whose bytes came past the share: they arrive interleaved).
            assert statuses.count(429) == 1 and statuses.count(None) == 2
            assert _budget(app).held_by(ATTACKER) == 2 * piece
            assert await _post(port, DEVICE, bytes(limits.MiB)) == 200
        finally:
            for _, writer in uploads:
                writer.close()


async def test_a_streamed_answer_holds_no_request_body_at_the_relay() -> None:
    async with _relay() as (app, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(DEVICE, 0))
        try:
            writer.write(_head(limits.MiB, MEDIA_CHUNKED_REQUEST) + bytes(limits.MiB))
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
            assert head.startswith(b"HTTP/1.1 200 ")
            # The gateway's stream is open; the relay passed the body on and gave it back.
            assert _budget(app).in_use == 0
        finally:
            writer.close()


@pytest.fixture
def gated_echo_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """``echo_stream`` as a blocking workload that waits, after its first part, until the
    event is set (a stream that stays open as long as a test needs)."""
    gate = threading.Event()

    def run(_: StreamingEchoWorkload, request: WorkloadRequest) -> Iterator[Event]:
        yield Event(EventKind.PARTIAL, {"index": 0}, request.body[:1])
        gate.wait(WAIT_S)
        yield Event(EventKind.RESULT, {"size": len(request.body)})

    monkeypatch.setattr(StreamingEchoWorkload, "blocking", True)
    monkeypatch.setattr(StreamingEchoWorkload, "run", run)
    yield gate
    gate.set()


async def test_a_streamed_answer_holds_no_request_body_at_the_gateway_or_the_relay(
    gated_echo_stream: threading.Event,
) -> None:
    cloud = await start_cloud()
    try:
        budgets = {
            runner.app[SERVICE].service: _budget(runner.app)
            for runner in cloud.runners
            if runner.app is not None and SERVICE in runner.app
        }
        policy = ClientPolicy.insecure_local_dev()
        async with Client(cloud.relay_url, policy=policy, trust=cloud.client_trust()) as client:
            events = client.stream("echo_stream", {"parts": 2}, bytes(limits.MiB))
            first = await asyncio.wait_for(anext(aiter(events)), WAIT_S)
            assert first.data == b"\0"
            # The node holds its stream open; the body of 1 MiB was passed on at each hop.
            assert budgets["gateway"].in_use == 0
            assert budgets["relay"].in_use == 0
            gated_echo_stream.set()
            rest = [event async for event in events]
            assert rest[-1].final
    finally:
        await cloud.stop()
