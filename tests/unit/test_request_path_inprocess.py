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
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.ohttp import GatewayKey
from privcloud.sdk.core import ResponseReader, build_request
from privcloud.services.gateway_core import ChunkedExchange, NodeTable, OneShotExchange
from privcloud.services.node import node_release_manifest
from privcloud.services.node_core import NodeCore, NodeExchange
from privcloud.trust.directory import encode_descriptor
from privcloud.wire.message import Event, WorkloadRequest
from privcloud.workloads import default_registry

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


def _events(exchange: NodeExchange) -> Iterator[Event]:
    registry = default_registry()
    assert not isinstance(exchange.work, errors.PrivcloudError)
    yield from registry.run(exchange.work)


def _node_answer(node: NodeCore, envelope: bytes) -> list[bytes]:
    """The node's sealed stream, frame by frame, as the node shell writes it."""
    exchange = node.open(envelope)
    frames = [exchange.header()]
    for event in _events(exchange):
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
