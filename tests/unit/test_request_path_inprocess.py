"""The whole request path in one process, through the shipped sans-IO cores only (no sockets):

    client (sdk.core) -> gateway (services.gateway_core) -> node (services.node_core)

and back, the way aioquic's tests drive ``QuicConnection``: bytes in, bytes out. Because every
hop's bytes are in hand, each test alters *every byte* a hop emits and checks that the client
(or the next hop) refuses it (docs/architecture.md: integrity end to end).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from privcloud import errors, limits
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.clock import Clock, FixedClock, SystemClock
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.ohttp import GatewayKey
from privcloud.sdk.core import ResponseReader, build_request
from privcloud.services.gateway_core import ChunkedExchange, NodeTable, OneShotExchange
from privcloud.services.node import node_release_manifest
from privcloud.services.node_core import NodeCore, NodeExchange, ReplayCache
from privcloud.trust.directory import encode_descriptor
from privcloud.wire.message import Event, EventKind, WorkloadRequest
from privcloud.workloads import Deadline, WorkloadRegistry, default_registry, error_event

CANARY = b"in-process canary 42"


@dataclass
class World:
    """A gateway key, three node cores and the gateway's node table, all in memory."""

    key: GatewayKey
    nodes: list[NodeCore]
    table: NodeTable

    @property
    def keys(self) -> dict[int, GatewayKey]:
        return {self.key.key_id: self.key}

    def node_for(self, envelope: bytes) -> NodeCore:
        record = self.table.candidates(envelope)[0]
        return next(n for n in self.nodes if n.descriptor.node_id == record.descriptor.node_id)  # type: ignore[union-attr]


def _events(
    exchange: NodeExchange,
    registry: WorkloadRegistry | None = None,
    clock: Clock | None = None,
) -> Iterator[Event]:
    """The workload's events as the node shell runs them: a refused request answers its sealed
    error; a runnable one runs under its deadline on ``clock``."""
    if isinstance(exchange.work, errors.PrivcloudError):
        yield error_event(exchange.work)
        return
    assert exchange.deadline_at is not None
    deadline = Deadline(exchange.deadline_at, clock or SystemClock())
    yield from (registry or default_registry()).run(exchange.work, deadline)


def _node_answer(
    node: NodeCore,
    envelope: bytes,
    *,
    registry: WorkloadRegistry | None = None,
    clock: Clock | None = None,
) -> list[bytes]:
    """The node's sealed stream, frame by frame, as the node shell writes it."""
    exchange = node.open(envelope, (clock or SystemClock()).now())
    frames = [exchange.header()]
    for event in _events(exchange, registry, clock):
        frames += exchange.seal(event)
    return frames


@pytest.fixture(scope="module")
def world() -> World:
    manifest = node_release_manifest()
    tee = InsecureSimulatedTee(EcPrivateKey.generate(Curve.P384), manifest.simulated_measurement)
    nodes = [
        NodeCore(
            f"n{i}",
            region="r",
            provider="p",
            suite=X25519_SHA256_AES128GCM,
            manifest=manifest,
            tee=tee,
            features=default_registry().features,
        )
        for i in range(3)
    ]
    table = NodeTable(["http://n0", "http://n1", "http://n2"])
    for record, node in zip(table.records, nodes, strict=True):
        table.update(record, encode_descriptor(node.descriptor))
    return World(GatewayKey.generate(key_id=7), nodes, table)


def _send(world: World, request: WorkloadRequest) -> tuple[bytes, str, ResponseReader]:
    return build_request(world.key.config, [n.descriptor for n in world.nodes], request)


def _gateway_one_shot(world: World, body: bytes, *, tamper_node_byte: int | None = None) -> bytes:
    exchange = OneShotExchange(world.keys, body)
    envelope = exchange.inner().content
    stream = b"".join(_node_answer(world.node_for(envelope), envelope))
    if tamper_node_byte is not None:
        b = bytearray(stream)
        b[tamper_node_byte] ^= 0x01
        stream = bytes(b)
    return exchange.answer(200, stream)


def _gateway_chunked(world: World, body: bytes, *, split: int | None = None) -> list[bytes]:
    """The chunked answer; the node's bytes reach the gateway whole frames at a time, or cut
    every ``split`` bytes (as TCP may deliver them)."""
    exchange = ChunkedExchange(world.keys, body)
    envelope = exchange.inner().content
    frames = _node_answer(world.node_for(envelope), envelope)
    if split is not None:
        joined = b"".join(frames)
        frames = [joined[i : i + split] for i in range(0, len(joined), split)]
    wire = [exchange.response_header(), exchange.head(200)]
    for frame in frames:
        wire += exchange.content(frame)
    wire.append(exchange.end())
    return wire


def test_one_shot_round_trip(world: World) -> None:
    body, _, reader = _send(world, WorkloadRequest("echo", {"a": 1}, CANARY))
    reader.feed(_gateway_one_shot(world, body))
    (event,) = reader.close()
    assert event.data == CANARY


def test_every_byte_the_node_sends_is_protected(world: World) -> None:
    """A gateway that alters any byte of the node's sealed stream is caught by the client."""
    body, _, _ = _send(world, WorkloadRequest("echo", {}, CANARY))
    envelope = OneShotExchange(world.keys, body).inner().content
    stream_len = len(b"".join(_node_answer(world.node_for(envelope), envelope)))
    for position in range(stream_len):
        body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
        reader.feed(_gateway_one_shot(world, body, tamper_node_byte=position))
        with pytest.raises(errors.PrivcloudError):
            reader.close()


def test_every_byte_the_gateway_sends_is_protected(world: World) -> None:
    """A relay that alters any byte of the gateway's encapsulated response is caught."""
    body, _, _ = _send(world, WorkloadRequest("echo", {}, CANARY))
    response = _gateway_one_shot(world, body)
    for position in range(len(response)):
        body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
        bad = bytearray(_gateway_one_shot(world, body))
        bad[position] ^= 0x80
        reader.feed(bytes(bad))
        with pytest.raises(errors.PrivcloudError):
            reader.close()


def test_every_byte_the_client_sends_is_protected(world: World) -> None:
    """Any altered byte of the encapsulated request is refused at the gateway or the node."""
    body, _, _ = _send(world, WorkloadRequest("echo", {}, CANARY))
    for position in range(len(body)):
        bad = bytearray(body)
        bad[position] ^= 0x01
        with pytest.raises(errors.PrivcloudError):
            _gateway_one_shot(world, bytes(bad))


def test_response_of_another_request_is_refused(world: World) -> None:
    _, _, reader_a = _send(world, WorkloadRequest("echo", {}, b"A"))
    body_b, _, _ = _send(world, WorkloadRequest("echo", {}, b"B"))
    reader_a.feed(_gateway_one_shot(world, body_b))
    with pytest.raises(errors.CryptoError):
        reader_a.close()


@pytest.mark.parametrize("split", [None, 1, 37, 4096], ids=["frames", "1", "37", "4096"])
def test_streamed_path_in_process(world: World, split: int | None) -> None:
    body, media, reader = _send(
        world, WorkloadRequest("echo_stream", {"parts": 3}, b"abcdef", stream=True)
    )
    assert media == "message/ohttp-chunked-req"
    joined = b"".join(_gateway_chunked(world, body, split=split))
    events = []
    for i in range(0, len(joined), 37):
        events += reader.feed(joined[i : i + 37])
    events += reader.close()
    assert [e.final for e in events] == [False, False, False, True]
    assert b"".join(e.data for e in events[:3]) == b"abcdef"


def test_node_chunks_line_up_with_ohttp_chunks(world: World) -> None:
    """Each chunk of the node's sealed stream is forwarded as one OHTTP chunk: no re-splitting
    at the gateway, whatever sizes the node's bytes arrive in."""
    big = bytes(range(256)) * (limits.MAX_ENVELOPE_CHUNK // 256 + 10)  # two envelope chunks
    body, _, reader = _send(world, WorkloadRequest("echo_stream", {"parts": 1}, big, stream=True))
    exchange = ChunkedExchange(world.keys, body)
    envelope = exchange.inner().content
    frames = _node_answer(world.node_for(envelope), envelope)
    assert len(frames) >= 3  # header, two chunks of the part, the final event
    joined = b"".join(frames)
    cut = [joined[i : i + 1000] for i in range(0, len(joined), 1000)]
    out = [exchange.response_header(), exchange.head(200)]
    forwarded = [c for piece in cut for c in exchange.content(piece)]
    assert len(forwarded) == len(frames)  # one OHTTP chunk per node frame
    out += [*forwarded, exchange.end()]
    events = reader.feed(b"".join(out)) + reader.close()
    assert b"".join(e.data for e in events if not e.final) == big


def test_node_stream_cut_short_gets_no_final_chunk(world: World) -> None:
    body, _, _ = _send(world, WorkloadRequest("echo_stream", {"parts": 2}, b"ab", stream=True))
    exchange = ChunkedExchange(world.keys, body)
    envelope = exchange.inner().content
    frames = _node_answer(world.node_for(envelope), envelope)
    exchange.response_header()
    exchange.head(200)
    for frame in frames[:-1]:
        exchange.content(frame)
    with pytest.raises(errors.TruncatedStreamError):
        exchange.end()


def test_gateway_refusal_is_sealed_inside_ohttp(world: World) -> None:
    body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
    exchange = OneShotExchange(world.keys, body)
    reader.feed(exchange.refuse(errors.NoHealthyNodeError("no healthy node")))
    with pytest.raises(errors.NoHealthyNodeError):
        reader.close()


def test_unknown_key_configuration_is_refused_before_decapsulation(world: World) -> None:
    other = GatewayKey.generate(key_id=8)
    body, _, _ = build_request(
        other.config, [n.descriptor for n in world.nodes], WorkloadRequest("echo", {}, CANARY)
    )
    with pytest.raises(errors.UnknownKeyError):
        OneShotExchange(world.keys, body)


def test_inner_request_to_another_route_or_media_type_is_refused_inside_ohttp() -> None:
    from privcloud.services.gateway_core import check_inner
    from privcloud.wire import bhttp

    def inner(path: bytes, media: bytes) -> bytes:
        return bhttp.encode_request(
            bhttp.Request(b"POST", b"https", b"g", path, ((b"content-type", media),), b"x")
        )

    from privcloud.envelope import MEDIA_TYPE_REQUEST

    with pytest.raises(errors.NotFoundError):
        check_inner(inner(b"/admin", MEDIA_TYPE_REQUEST.encode()))
    with pytest.raises(errors.UnsupportedError):
        check_inner(inner(b"/v1/envelope", b"text/plain"))


def test_node_error_body_is_forwarded_in_chunks_and_refusal_carries_the_challenge(
    world: World,
) -> None:
    from privcloud.errors import TokenRefusedError

    body, _, reader = _send(world, WorkloadRequest("echo", {}, b"x", stream=True))
    exchange = ChunkedExchange(world.keys, body)
    wire = [exchange.response_header(), exchange.head(503)]
    wire += exchange.content(b'{"error": "unavailable", "message": "busy"}')
    wire.append(exchange.end())
    reader.feed(b"".join(wire))
    with pytest.raises(errors.UnavailableError):
        reader.close()
    body2, _, reader2 = _send(world, WorkloadRequest("echo", {}, b"y"))
    challenge = "PrivateToken challenge=abc"
    refused = TokenRefusedError("a PrivateToken is required", www_authenticate=challenge)
    reader2.feed(OneShotExchange(world.keys, body2).refuse(refused))
    with pytest.raises(errors.TokenRequiredError) as info:
        reader2.close()
    assert info.value.www_authenticate == challenge.encode()  # sealed: only the device reads it


def test_node_table_drops_a_node_that_stops_answering_or_answers_garbage(world: World) -> None:
    table = NodeTable(["http://a", "http://b"])
    a, b = table.records
    assert not table.update(a, encode_descriptor(world.nodes[0].descriptor))
    assert not table.update(b, b"not a descriptor")  # never healthy: nothing to drop
    assert [d.node_id for d in table.healthy()] == ["n0"]
    assert table.update(a, None)  # it was healthy: now it is not
    assert table.healthy() == [] and table.directory()


def test_node_reattests_with_fresh_evidence_binding_the_same_key(world: World) -> None:
    from privcloud.services.node_core import LogPosition

    node = world.nodes[0]
    with pytest.raises(errors.UsageError):
        node.reattest(1_700_000_000)  # no log position yet
    node.install_log_position(LogPosition(0, b"note", ()), 1_700_000_000)
    first = node.descriptor.bundle
    node.reattest(1_700_000_060)
    second = node.descriptor.bundle
    assert first is not None and second is not None
    assert (first.issued_at, second.issued_at) == (1_700_000_000, 1_700_000_060)
    assert node.descriptor.public_key == world.nodes[0].descriptor.public_key


# --- hardening: replays, issue-time window, deadlines (docs/envelope.md §8) ---------------------

T0 = 1_900_000_000.0


class CountingEcho:
    """``echo`` that counts its runs."""

    name = "echo"
    blocking = False

    def __init__(self) -> None:
        self.runs = 0

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        self.runs += 1
        yield Event(EventKind.RESULT, {"size": len(request.body)}, request.body)


class SlowStream:
    """A test-only streaming workload: ``steps`` partial events, each taking one second of the
    (fixed) clock; records how far it got and whether it was stopped."""

    name = "slow_stream"
    blocking = False

    def __init__(self, clock: FixedClock, steps: int = 20) -> None:
        self.clock = clock
        self.steps = steps
        self.produced = 0
        self.stopped = False

    def run(self, request: WorkloadRequest) -> Iterator[Event]:
        try:
            for index in range(self.steps):
                self.clock.advance(1.0)  # the work of one step
                self.produced += 1
                yield Event(EventKind.PARTIAL, {"index": index})
            yield Event(EventKind.RESULT, {"steps": self.steps})
        except GeneratorExit:
            self.stopped = True
            raise


def _open_node(world: World) -> NodeCore:
    """A fresh node core (its own replay cache) with the world's release and TEE."""
    template = world.nodes[0]
    return NodeCore(
        "fresh",
        region="r",
        provider="p",
        suite=X25519_SHA256_AES128GCM,
        manifest=template.manifest,
        tee=template.tee,
        features=(*default_registry().features, "slow_stream"),
    )


def _sealed_to(
    node: NodeCore, request: WorkloadRequest, *, now: float, deadline_s: int | None = None
) -> tuple[bytes, ResponseReader, bytes]:
    """(OHTTP body, the client's reader, the envelope the gateway forwards) for ``request``
    sealed to ``node`` alone at ``now``."""
    key = GatewayKey.generate(key_id=9)
    body, _, reader = build_request(
        key.config, [node.descriptor], request, now=now, deadline_s=deadline_s
    )
    envelope = OneShotExchange({key.key_id: key}, body).inner().content
    return body, reader, envelope


def _client_events(node: NodeCore, request: WorkloadRequest, **kw: object) -> list[Event]:
    """Seal ``request`` to ``node``, let it answer (registry/clock in ``kw``) and open the
    answer as the client does."""
    clock = kw.pop("clock")
    assert isinstance(clock, FixedClock)
    key = GatewayKey.generate(key_id=9)
    body, _, reader = build_request(key.config, [node.descriptor], request, now=clock.now())
    exchange = OneShotExchange({key.key_id: key}, body)
    envelope = exchange.inner().content
    frames = _node_answer(node, envelope, clock=clock, **kw)  # type: ignore[arg-type]
    reader.feed(exchange.answer(200, b"".join(frames)))
    return reader.close()


def test_same_envelope_posted_twice_is_refused_as_a_replay_and_runs_once(world: World) -> None:
    node = _open_node(world)
    echo = CountingEcho()
    registry = WorkloadRegistry([echo])
    clock = FixedClock(T0)
    _, _, envelope = _sealed_to(node, WorkloadRequest("echo", {}, CANARY), now=T0)
    first = b"".join(_node_answer(node, envelope, registry=registry, clock=clock))
    clock.advance(5)
    with pytest.raises(errors.ReplayError):
        node.open(envelope, clock.now())  # refused before the workload request is even decoded
    assert echo.runs == 1
    assert first  # the first answer was sealed and sent


def test_replay_is_refused_until_the_request_could_no_longer_run_anyway(world: World) -> None:
    """The cache forgets an envelope only once its request is past its deadline (or the age
    window): a replay after that is refused by time, so a replay never runs."""
    node = _open_node(world)
    echo = CountingEcho()
    registry = WorkloadRegistry([echo])
    clock = FixedClock(T0)
    _, _, envelope = _sealed_to(node, WorkloadRequest("echo"), now=T0, deadline_s=30)
    _node_answer(node, envelope, registry=registry, clock=clock)
    for step in (10, 19, 1):  # at T0 + 10, + 29, + 30: still remembered
        clock.advance(step)
        with pytest.raises(errors.ReplayError):
            node.open(envelope, clock.now())
    clock.advance(1)  # past the deadline: forgotten, and refused by its deadline instead
    exchange = node.open(envelope, clock.now())
    assert isinstance(exchange.work, errors.RequestTimeoutError)
    assert len(node.replays) == 0 and echo.runs == 1


def test_request_older_than_the_window_is_refused_sealed(world: World) -> None:
    node = _open_node(world)
    echo = CountingEcho()
    clock = FixedClock(T0)
    old = T0 - limits.MAX_REQUEST_AGE_S - 1
    key = GatewayKey.generate(key_id=9)
    body, _, reader = build_request(
        key.config,
        [node.descriptor],
        WorkloadRequest("echo", {}, CANARY),
        now=old,
        deadline_s=limits.MAX_REQUEST_DEADLINE_S,  # so that only the age refuses it
    )
    exchange = OneShotExchange({key.key_id: key}, body)
    frames = _node_answer(
        node, exchange.inner().content, registry=WorkloadRegistry([echo]), clock=clock
    )
    reader.feed(exchange.answer(200, b"".join(frames)))
    (event,) = reader.close()
    assert event.kind is EventKind.ERROR and event.meta["code"] == "replay"
    assert echo.runs == 0 and len(node.replays) == 0


def test_request_from_too_far_in_the_future_is_refused_sealed(world: World) -> None:
    node = _open_node(world)
    echo = CountingEcho()
    clock = FixedClock(T0)
    future = WorkloadRequest("echo").stamped(T0 + limits.REQUEST_CLOCK_SKEW_S + 2)
    (event,) = _client_events(node, future, registry=WorkloadRegistry([echo]), clock=clock)
    assert event.kind is EventKind.ERROR and event.meta["code"] == "replay"
    assert echo.runs == 0


def test_request_within_the_window_runs(world: World) -> None:
    node = _open_node(world)
    clock = FixedClock(T0)
    for issued in (T0 - 100, T0 + limits.REQUEST_CLOCK_SKEW_S - 1):
        request = WorkloadRequest("echo", {}, b"ok").stamped(issued, limits.MAX_REQUEST_DEADLINE_S)
        (event,) = _client_events(node, request, clock=clock)
        assert event.kind is EventKind.RESULT and event.data == b"ok"


def test_version_1_request_without_issue_time_is_refused_sealed(world: World) -> None:
    from privcloud.envelope import Recipient, seal_request

    node = _open_node(world)
    v1 = bytes.fromhex("0100046563686f027b7d") + CANARY  # version 1: echo, {}, body
    d = node.descriptor
    envelope, session = seal_request([Recipient(d.key_id, d.public_key, d.suite)], v1)
    exchange = node.open(envelope, T0)
    assert isinstance(exchange.work, errors.UnsupportedError)
    stream = b"".join(
        [exchange.header(), *[c for e in _events(exchange) for c in exchange.seal(e)]]
    )
    from privcloud.wire.message import EventStreamDecoder

    decoder = EventStreamDecoder()
    (event,) = [e for chunk in session.open_response(stream) for e in decoder.feed(chunk)]
    assert event.meta["code"] == "unsupported"


def test_deadline_passing_mid_stream_gets_a_sealed_timeout_and_the_workload_stops(
    world: World,
) -> None:
    node = _open_node(world)
    clock = FixedClock(T0)
    slow = SlowStream(clock, steps=20)
    registry = WorkloadRegistry([slow])
    key = GatewayKey.generate(key_id=9)
    request = WorkloadRequest("slow_stream", stream=True)
    body, _, reader = build_request(key.config, [node.descriptor], request, now=T0, deadline_s=3)
    exchange = ChunkedExchange({key.key_id: key}, body)
    frames = _node_answer(node, exchange.inner().content, registry=registry, clock=clock)
    wire = [exchange.response_header(), exchange.head(200)]
    for frame in frames:
        wire += exchange.content(frame)
    wire.append(exchange.end())
    events = reader.feed(b"".join(wire)) + reader.close()
    # Steps end at T0+1, +2 (sent); the third ends at T0+3, the deadline: not sent.
    assert [e.meta.get("index") for e in events[:-1]] == [0, 1]
    final = events[-1]
    assert final.kind is EventKind.ERROR and final.meta["code"] == "timeout"
    assert isinstance(errors.error_from_code(final.meta["code"], ""), errors.RequestTimeoutError)
    assert slow.produced == 3 and slow.stopped  # closed at the deadline, not run to the end


def test_deadline_already_passed_on_arrival_is_refused_without_running(world: World) -> None:
    node = _open_node(world)
    echo = CountingEcho()
    clock = FixedClock(T0)
    late = WorkloadRequest("echo").stamped(T0 - 61, 60)
    (event,) = _client_events(node, late, registry=WorkloadRegistry([echo]), clock=clock)
    assert event.meta["code"] == "timeout" and echo.runs == 0


def test_client_clock_ahead_cannot_extend_the_deadline(world: World) -> None:
    node = _open_node(world)
    _, _, envelope = _sealed_to(
        node, WorkloadRequest("echo"), now=T0 + limits.REQUEST_CLOCK_SKEW_S, deadline_s=10
    )
    exchange = node.open(envelope, T0)
    assert exchange.deadline_at == T0 + 10  # counted from the node's clock, not the client's


def test_request_without_deadline_gets_the_feature_default(world: World) -> None:
    node = _open_node(world)
    stamped = WorkloadRequest("echo_stream", stream=True).stamped(T0)
    assert stamped.deadline_s == limits.REQUEST_DEADLINES_S["echo_stream"]
    from privcloud.envelope import Recipient, seal_request
    from privcloud.wire.message import encode_request

    d = node.descriptor
    bare = WorkloadRequest("summarize", issued_at=int(T0))  # no deadline on the wire
    envelope, _ = seal_request([Recipient(d.key_id, d.public_key, d.suite)], encode_request(bare))
    assert node.open(envelope, T0).deadline_at == T0 + limits.DEFAULT_REQUEST_DEADLINE_S


def test_full_replay_cache_refuses_new_envelopes_rather_than_forgetting_one(
    world: World,
) -> None:
    node = _open_node(world)
    node.replays = ReplayCache(capacity=2)
    sealed = [
        _sealed_to(node, WorkloadRequest("echo"), now=T0 + 20 * i, deadline_s=30)[2]
        for i in (0, 0, 1)
    ]
    node.open(sealed[0], T0)
    node.open(sealed[1], T0)
    with pytest.raises(errors.RateLimitedError):
        node.open(sealed[2], T0 + 20)
    with pytest.raises(errors.RateLimitedError):
        node.open(sealed[0], T0 + 30)  # full: refused before opening; nothing was forgotten
    assert len(node.replays) == 2
    node.open(sealed[2], T0 + 31)  # the first two are past their time: room again
    assert len(node.replays) == 1
    with pytest.raises(errors.ReplayError):
        node.open(sealed[2], T0 + 32)


def test_replay_cache_does_not_forget_when_the_wall_clock_steps_back() -> None:
    cache = ReplayCache(capacity=4)
    cache.tick(T0)
    cache.add(b"a" * 32, T0 + 10)
    assert cache.tick(T0 + 5) == T0 + 5
    assert cache.tick(T0 - 1000) == T0 + 5  # stepped back: the cache's time stands still
    assert b"a" * 32 in cache
    cache.tick(T0 + 11)
    assert b"a" * 32 not in cache


def test_replay_to_each_recipient_runs_at_most_once_per_recipient(world: World) -> None:
    """The known limit (docs/envelope.md §6): each of the k nodes keeps its own cache, so one
    envelope delivered to every recipient runs at most once on each, never twice on one."""
    a, b = _open_node(world), _open_node(world)
    key = GatewayKey.generate(key_id=9)
    body, _, _ = build_request(
        key.config, [a.descriptor, b.descriptor], WorkloadRequest("echo"), now=T0
    )
    envelope = OneShotExchange({key.key_id: key}, body).inner().content
    echo = CountingEcho()
    for node in (a, b):
        _node_answer(node, envelope, registry=WorkloadRegistry([echo]), clock=FixedClock(T0))
        with pytest.raises(errors.ReplayError):
            node.open(envelope, T0 + 1)
    assert echo.runs == 2


def test_a_gateway_cannot_mark_a_user_or_a_feature_by_the_size_of_a_large_body(
    world: World,
) -> None:
    # The attacks (red-team reviews, 2026-12-07): search sends the user's whole item set with
    # every query, and above 64 KiB buckets were 64 KiB wide: three users with 0.7, 0.8 and
    # 0.9 MB of notes showed the gateway one bucket each, stable across their queries; padding
    # search's requests alone to powers of two then marked which requests were searches. One
    # rule for every feature: the three users send one size, whatever the feature.
    sizes = set()
    for feature in ("search", "summarize", "echo"):
        for n in (700_000, 800_000, 900_000):
            body = b"x" * n
            sealed, _, _ = _send(world, WorkloadRequest(feature, {}, body))
            sizes.add(len(sealed))
            envelope = OneShotExchange(world.keys, sealed).inner().content
            work = world.node_for(envelope).open(envelope, SystemClock().now()).work
            assert isinstance(work, WorkloadRequest) and work.body == body  # (opened whole)
    assert len(sizes) == 1
