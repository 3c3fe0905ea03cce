"""The whole request path in one process, through the sans-IO cores only (no sockets):

    client (sdk.core) -> gateway (ohttp + bhttp + envelope header) -> node (envelope + workload)

and back. Because every hop's bytes are in hand, each test can alter *every byte* a hop emits
and check that the client detects it (DESIGN.md §2: integrity end to end).
"""

from __future__ import annotations

import pytest

from privcloud import errors
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, KemId, generate_keypair
from privcloud.envelope import key_id_for, open_request, parse_header
from privcloud.ohttp import (
    ChunkedRequestDecoder,
    GatewayKey,
    decapsulate_request,
)
from privcloud.sdk.core import build_request
from privcloud.trust.directory import NodeDescriptor
from privcloud.wire import bhttp
from privcloud.wire.message import (
    ENVELOPE_ROUTE,
    WorkloadRequest,
    decode_request,
    frame_event,
)
from privcloud.workloads import default_registry

CANARY = b"in-process canary 42"


class NodeCore:
    def __init__(self, name: str) -> None:
        self.key = generate_keypair(KemId.DHKEM_X25519_HKDF_SHA256)
        self.key_id = key_id_for(KemId.DHKEM_X25519_HKDF_SHA256, self.key.public_bytes)
        self.descriptor = NodeDescriptor(
            node_id=name,
            key_id=self.key_id,
            suite=X25519_SHA256_AES128GCM,
            public_key=self.key.public_bytes,
            region="r",
            provider="p",
            tee="simulated-insecure",
            features=("echo", "echo_stream"),
        )
        self.registry = default_registry()

    def serve(self, envelope: bytes) -> bytes:
        plaintext, session = open_request(envelope, self.key_id, self.key)
        sealer = session.stream_sealer()
        out = [sealer.header()]
        for event in self.registry.run(decode_request(plaintext)):
            out.append(sealer.seal_chunk(frame_event(event), final=event.final))
        return b"".join(out)


@pytest.fixture(scope="module")
def world() -> tuple[GatewayKey, list[NodeCore]]:
    return GatewayKey.generate(key_id=7), [NodeCore(f"n{i}") for i in range(3)]


def _gateway_one_shot(
    key: GatewayKey, nodes: list[NodeCore], body: bytes, *, tamper_node_bytes: int | None = None
) -> bytes:
    inner_bytes, ctx = decapsulate_request({key.key_id: key}, body)
    inner = bhttp.decode_request(inner_bytes)
    assert inner.path == ENVELOPE_ROUTE
    header = parse_header(inner.content)
    node = next(n for n in nodes if n.key_id in header.key_ids)
    stream = node.serve(inner.content)
    if tamper_node_bytes is not None:
        b = bytearray(stream)
        b[tamper_node_bytes] ^= 0x01
        stream = bytes(b)
    response = bhttp.Response(status=200, content=stream)
    return ctx.encapsulate_response(bhttp.encode_response(response))


def _send(world: tuple[GatewayKey, list[NodeCore]], request: WorkloadRequest):  # type: ignore[no-untyped-def]
    key, nodes = world
    return build_request(key.config, [n.descriptor for n in nodes], request)


def test_one_shot_round_trip(world: tuple[GatewayKey, list[NodeCore]]) -> None:
    key, nodes = world
    body, _, reader = _send(world, WorkloadRequest("echo", {"a": 1}, CANARY))
    reader.feed(_gateway_one_shot(key, nodes, body))
    (event,) = reader.close()
    assert event.data == CANARY


def test_every_byte_the_node_sends_is_protected(world: tuple[GatewayKey, list[NodeCore]]) -> None:
    """A gateway that alters any byte of the node's sealed stream is caught by the client."""
    key, nodes = world
    body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
    inner_bytes, _ = decapsulate_request({key.key_id: key}, body)
    stream_len = len(nodes[0].serve(bhttp.decode_request(inner_bytes).content))
    for position in range(stream_len):
        body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
        reader.feed(_gateway_one_shot(key, nodes, body, tamper_node_bytes=position))
        with pytest.raises(errors.PrivcloudError):
            reader.close()


def test_every_byte_the_gateway_sends_is_protected(
    world: tuple[GatewayKey, list[NodeCore]],
) -> None:
    """A relay that alters any byte of the gateway's encapsulated response is caught."""
    key, nodes = world
    body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
    response = _gateway_one_shot(key, nodes, body)
    for position in range(len(response)):
        body, _, reader = _send(world, WorkloadRequest("echo", {}, CANARY))
        good = _gateway_one_shot(key, nodes, body)
        bad = bytearray(good)
        bad[position] ^= 0x80
        reader.feed(bytes(bad))
        with pytest.raises(errors.PrivcloudError):
            reader.close()


def test_every_byte_the_client_sends_is_protected(world: tuple[GatewayKey, list[NodeCore]]) -> None:
    """Any altered byte of the encapsulated request is refused at the gateway or the node."""
    key, nodes = world
    body, _, _ = _send(world, WorkloadRequest("echo", {}, CANARY))
    for position in range(len(body)):
        bad = bytearray(body)
        bad[position] ^= 0x01
        with pytest.raises(errors.PrivcloudError):
            _gateway_one_shot(key, nodes, bytes(bad))


def test_response_of_another_request_is_refused(world: tuple[GatewayKey, list[NodeCore]]) -> None:
    key, nodes = world
    _, _, reader_a = _send(world, WorkloadRequest("echo", {}, b"A"))
    body_b, _, _ = _send(world, WorkloadRequest("echo", {}, b"B"))
    reader_a.feed(_gateway_one_shot(key, nodes, body_b))
    with pytest.raises(errors.CryptoError):
        reader_a.close()


def test_streamed_path_in_process(world: tuple[GatewayKey, list[NodeCore]]) -> None:
    key, nodes = world
    body, media, reader = _send(
        world, WorkloadRequest("echo_stream", {"parts": 3}, b"abcdef", stream=True)
    )
    assert media == "message/ohttp-chunked-req"
    decoder = ChunkedRequestDecoder({key.key_id: key})
    inner_bytes = b"".join([*decoder.feed(body), decoder.close()])
    ctx = decoder.context
    envelope = bhttp.decode_request(inner_bytes).content
    stream = nodes[0].serve(envelope)
    wire = [ctx.response_header()]
    wire.append(
        ctx.seal_chunk(bhttp.encode_response_head(200, [(b"content-type", b"x")]), final=False)
    )
    for i in range(0, len(stream), 50):  # re-chunk arbitrarily: layers are independent
        wire.append(ctx.seal_chunk(bhttp.encode_content_chunk(stream[i : i + 50]), final=False))
    wire.append(ctx.seal_chunk(bhttp.encode_response_tail(), final=True))
    events = []
    joined = b"".join(wire)
    for i in range(0, len(joined), 37):
        events += reader.feed(joined[i : i + 37])
    events += reader.close()
    assert [e.final for e in events] == [False, False, False, True]
    assert b"".join(e.data for e in events[:3]) == b"abcdef"
