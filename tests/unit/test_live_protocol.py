"""The live session's I/O-free core (privcloud.live: session, frames, protocol, endpoints),
driven in memory with a fake clock. Named after the attack or the rule each test checks."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.crypto.hpke import (
    MLKEM768X25519_SHA256_CHACHA20,
    X25519_SHA256_AES128GCM,
    PrivateKey,
    Suite,
    derive_keypair,
)
from privcloud.envelope import Recipient
from privcloud.errors import (
    AuthenticationError,
    CryptoError,
    DecodeError,
    NotFoundError,
    PeerError,
    PrivcloudError,
    RateLimitedError,
    ReplayError,
    RequestTimeoutError,
    TokenRefusedError,
    TokenRequiredError,
    TruncatedStreamError,
    UnavailableError,
    UnknownKeyError,
    UsageError,
)
from privcloud.live.endpoints import DeviceEndpoint, NodeEndpoint
from privcloud.live.frames import FRAME_CAPACITY, FrameType, wire_size
from privcloud.live.protocol import (
    Accept,
    Ending,
    EndReason,
    EventDecoder,
    FrameClock,
    LiveEvent,
    OutboundQueue,
    RateBound,
    decode_audio,
    encode_audio,
    encode_event,
    speech_cuts,
)
from privcloud.live.session import (
    REFUSAL_PROOF_SIZE,
    OpenedHello,
    SessionKeys,
    SessionParams,
    hello_size,
    open_hello,
    parse_prefix,
    start_session,
)
from privcloud.live.tunnel import (
    MEDIA_TYPE_HELLO,
    OpenExchange,
    build_open,
    decode_open_answer,
    read_open_answer,
)
from privcloud.ohttp import ClientContext, GatewayKey, KeyConfig, encapsulate_request
from privcloud.wire import bhttp

NOW = 1_800_000_000.0
PARAMS = SessionParams(int(NOW), 60, ("en", "es"), ("es", "en"))


def node_key(suite: Suite = X25519_SHA256_AES128GCM) -> PrivateKey:
    return derive_keypair(suite.kem, b"live test node key" * 2)


def handshake(
    suite: Suite = X25519_SHA256_AES128GCM, params: SessionParams = PARAMS
) -> tuple[SessionKeys, OpenedHello]:
    key = node_key(suite)
    hello, device = start_session(Recipient.from_public_key(key.public_bytes, suite), params)
    return device, open_hello(hello, lambda _: key, NOW)


# --- hello ---------------------------------------------------------------------------------


def test_session_params_golden_bytes_both_ways() -> None:
    golden = (
        (1_800_000_000).to_bytes(8, "big")
        + (60).to_bytes(4, "big")
        + b"en\0\0\0\0\0\0es\0\0\0\0\0\0es\0\0\0\0\0\0en\0\0\0\0\0\0"
    )
    assert PARAMS.encode() == golden
    assert SessionParams.decode(golden) == PARAMS


@pytest.mark.parametrize("suite", [X25519_SHA256_AES128GCM, MLKEM768X25519_SHA256_CHACHA20])
def test_hello_opens_on_the_node_and_both_ends_share_frame_keys(suite: Suite) -> None:
    key = node_key(suite)
    hello, device = start_session(Recipient.from_public_key(key.public_bytes, suite), PARAMS)
    assert len(hello) == hello_size(suite)
    assert parse_prefix(hello).key_id == Recipient.from_public_key(key.public_bytes, suite).key_id
    opened = open_hello(hello, lambda _: key, NOW)
    assert opened.params == PARAMS
    frame = opened.keys.sealer.seal(FrameType.ACCEPT, b"terms")
    assert len(frame) == wire_size(suite)
    assert device.opener.open(frame) == (FrameType.ACCEPT, b"terms")
    assert opened.keys.opener.open(device.sealer.seal(FrameType.DATA, b"pcm")) == (
        FrameType.DATA,
        b"pcm",
    )


def test_hello_to_another_nodes_key_is_refused() -> None:
    key = node_key()
    hello, _ = start_session(Recipient.from_public_key(key.public_bytes), PARAMS)

    def not_ours(key_id: bytes) -> PrivateKey:
        raise UnknownKeyError("not sealed to this node's keys")

    with pytest.raises(UnknownKeyError):
        open_hello(hello, not_ours, NOW)
    other = derive_keypair(key.kem, b"another node" * 4)
    with pytest.raises(CryptoError):
        open_hello(hello, lambda _: other, NOW)


@pytest.mark.parametrize("where", [7, 40, -20, -1])
def test_tampered_hello_is_refused(where: int) -> None:
    key = node_key()
    hello, _ = start_session(Recipient.from_public_key(key.public_bytes), PARAMS)
    forged = bytearray(hello)
    forged[where] ^= 1
    with pytest.raises(CryptoError):
        open_hello(bytes(forged), lambda _: key, NOW)


def test_hello_outside_its_time_window_is_refused() -> None:
    key = node_key()
    hello, _ = start_session(Recipient.from_public_key(key.public_bytes), PARAMS)
    with pytest.raises(ReplayError):
        open_hello(hello, lambda _: key, NOW + limits.REQUEST_CLOCK_SKEW_S + 1)
    with pytest.raises(ReplayError):
        open_hello(hello, lambda _: key, NOW - limits.REQUEST_CLOCK_SKEW_S - 1)


def test_session_longer_than_the_cap_cannot_be_asked_for() -> None:
    with pytest.raises(UsageError):
        SessionParams(int(NOW), limits.MAX_LIVE_SESSION_S + 1, ("en", "es"), ("es", "en"))


# --- frames --------------------------------------------------------------------------------


def test_frames_have_one_size_whatever_they_carry() -> None:
    device, _ = handshake()
    sizes = {
        len(device.sealer.seal(FrameType.DATA, content))
        for content in (b"", b"x", bytes(FRAME_CAPACITY))
    }
    assert sizes == {wire_size(X25519_SHA256_AES128GCM)}


def test_reordered_frames_are_detected() -> None:
    device, node = handshake()
    first = device.sealer.seal(FrameType.DATA, b"one")
    second = device.sealer.seal(FrameType.DATA, b"two")
    with pytest.raises(CryptoError):
        node.keys.opener.open(second)
    with pytest.raises(UsageError):  # a failed opener stays dead
        node.keys.opener.open(first)


def test_dropped_frame_is_detected() -> None:
    device, node = handshake()
    device.sealer.seal(FrameType.DATA, b"dropped")
    with pytest.raises(CryptoError):
        node.keys.opener.open(device.sealer.seal(FrameType.DATA, b"next"))


def test_replayed_frame_is_detected() -> None:
    device, node = handshake()
    frame = device.sealer.seal(FrameType.DATA, b"once")
    node.keys.opener.open(frame)
    with pytest.raises(CryptoError):
        node.keys.opener.open(frame)


def test_frame_reflected_to_its_sender_is_refused() -> None:
    device, node = handshake()
    with pytest.raises(CryptoError):
        device.opener.open(device.sealer.seal(FrameType.DATA, b"mine"))
    with pytest.raises(CryptoError):
        node.keys.opener.open(node.keys.sealer.seal(FrameType.ACCEPT, b""))


def test_truncated_direction_is_detected() -> None:
    device, node = handshake()
    node.keys.opener.open(device.sealer.seal(FrameType.DATA, b"audio"))
    with pytest.raises(TruncatedStreamError):
        node.keys.opener.close()


def test_frame_after_final_is_refused() -> None:
    device, node = handshake()
    node.keys.opener.open(device.sealer.seal(FrameType.FINAL))
    node.keys.opener.close()  # complete
    with pytest.raises(UsageError):
        device.sealer.seal(FrameType.DATA)


def test_node_that_skips_its_accept_is_refused() -> None:
    device, node = handshake()
    with pytest.raises(DecodeError):
        device.opener.open(node.keys.sealer.seal(FrameType.DATA, b"early"))


def test_frame_of_another_size_is_refused() -> None:
    device, node = handshake()
    frame = device.sealer.seal(FrameType.DATA, b"x")
    with pytest.raises(DecodeError):
        node.keys.opener.open(frame + b"\0")


# --- payloads ------------------------------------------------------------------------------


def test_audio_roundtrip_and_bounds() -> None:
    pcm0, pcm1 = b"\1\2" * 640, b"\3\4" * 10
    assert decode_audio(encode_audio(pcm0, pcm1)) == (pcm0, pcm1)
    assert decode_audio(b"") == (b"", b"")
    with pytest.raises(UsageError):
        encode_audio(b"\0" * (limits.LIVE_PCM_BYTES_PER_FRAME + 2), b"")
    with pytest.raises(DecodeError):
        decode_audio((5000).to_bytes(2, "big") + b"\0" * 10)
    with pytest.raises(DecodeError):
        decode_audio((0).to_bytes(2, "big") + b"\0" * (limits.LIVE_PCM_BYTES_PER_FRAME + 2))


def test_events_survive_any_split_across_frames() -> None:
    events = [
        LiveEvent(0, "caption", "hola", b"", 0.0, 1.25),
        LiveEvent(1, "audio", "", b"\1\0" * 3000, 1.0, 2.0),
        LiveEvent(1, "translation", "héllo", b"", 1.0, 2.0),
    ]
    stream = b"".join(encode_event(e) for e in events)
    for step in (1, 7, 100, FRAME_CAPACITY):
        decoder = EventDecoder()
        got = []
        for i in range(0, len(stream), step):
            got += decoder.feed(stream[i : i + step])
        decoder.close()
        assert got == events


def test_oversize_record_is_refused_before_it_is_buffered() -> None:
    head = bytes([0, 0]) + bytes(8) + (limits.MAX_LIVE_TEXT_BYTES + 1).to_bytes(2, "big")
    with pytest.raises(Exception, match="too long"):
        EventDecoder().feed(head)


def test_outbound_queue_drops_whole_records_when_full() -> None:
    queue = OutboundQueue()
    assert queue.push(b"a" * 10)
    assert not queue.push(b"b" * limits.MAX_LIVE_OUTBOUND_BYTES)
    assert queue.dropped == 1
    assert queue.take(4) == b"aaaa" and queue.take() == b"a" * 6 and queue.take() == b""


def test_outbound_queue_sends_text_before_queued_speech_but_never_splits_a_record() -> None:
    """A caption queued behind a piece's speech would wait for all of it (about half a second
    per second of speech): text goes first, but only between records."""
    queue = OutboundQueue()
    assert queue.push(b"S" * 10, speech=True) and queue.push(b"T" * 10, speech=True)
    assert queue.take(4) == b"SSSS"  # the first speech record is started
    assert queue.push(b"c" * 3) and queue.push(b"d" * 3)
    assert queue.take(10) == b"SSSSSS" + b"ccc" + b"d"  # its rest, then the text lane
    assert queue.take(4) == b"dd" + b"TT"
    assert queue.push(b"e" * 2)
    assert queue.take() == b"T" * 8 + b"ee"  # a started record is finished before any text
    assert len(queue) == 0 and queue.take() == b""


def test_outbound_queue_abandon_counts_every_record_not_sent_whole() -> None:
    queue = OutboundQueue()
    queue.push(b"S" * 10, speech=True)
    queue.push(b"T" * 10, speech=True)
    assert queue.take(4) == b"SSSS"
    queue.push(b"c" * 3)
    assert queue.abandon() == 3 and queue.dropped == 3
    assert len(queue) == 0 and queue.take() == b""


def test_frame_clock_keeps_its_schedule_and_bounds_bursts() -> None:
    clock = FrameClock(0.0, 0.04)
    assert clock.due(0.0) == 1
    assert clock.due(0.01) == 0
    assert clock.due(0.04) == 1
    assert clock.due(0.2) == limits.MAX_LIVE_BURST_FRAMES  # 4 due: 3 sent, 1 skipped
    assert clock.skipped == 1
    assert clock.next_at == pytest.approx(0.24)


def test_rate_bound_passes_the_cadence_and_a_stalled_paths_burst_but_not_a_flood() -> None:
    burst = limits.LIVE_TUNNEL_BURST_FRAMES
    # A side on its frame clock passes for a whole session.
    bound = RateBound(0.0, 0.04)
    assert all(bound.take(i * 0.04) for i in range(5000))
    # A path that held frames for the liveness timeout releases them at once: they pass.
    bound = RateBound(0.0, 0.04)
    assert all(bound.take(i * 0.04) for i in range(100))
    held = int(limits.LIVE_LIVENESS_TIMEOUT_S / 0.04)
    assert all(bound.take(4.0 + limits.LIVE_LIVENESS_TIMEOUT_S) for _ in range(held))
    # A flood: the burst passes, the next frame does not, until the cadence has earned one.
    bound = RateBound(0.0, 0.04)
    assert all(bound.take(0.0) for _ in range(burst))
    assert not bound.take(0.0)
    assert bound.take(0.04) and not bound.take(0.05)
    # A side sending a little faster than the cadence is caught once its lead passes the burst.
    bound = RateBound(0.0, 0.04)
    passed = 0
    while bound.take(passed * 0.035):
        passed += 1
    assert passed == pytest.approx(burst * 0.04 / 0.005, rel=0.05)


# --- endpoints -----------------------------------------------------------------------------


def endpoints(deadline_s: int = 2, drain_s: float = 0.2) -> tuple[DeviceEndpoint, NodeEndpoint]:
    params = SessionParams(int(NOW), deadline_s, ("en", "es"), ("es", "en"))
    keys, opened = handshake(params=params)
    node = NodeEndpoint(opened, NOW, drain_s=drain_s)
    # The opening went out a step less one tick before the accept came: the device's first
    # frame is due one tick after the accept, as the node's is.
    interval = limits.LIVE_FRAME_INTERVAL_MS / 1000
    device = DeviceEndpoint(
        keys, sent_at=NOW + interval - limits.LIVE_FIRST_FRAME_STEP_S, asked_s=deadline_s
    )
    device.accept(node.accept_frame(NOW), NOW)
    return device, node


def run_node(node: NodeEndpoint, start: float, end: float) -> list[bytes]:
    frames: list[bytes] = []
    for step in range(round((end - start) * 100)):
        if node.done:
            break
        frames += node.tick(start + step / 100)
    return frames


def test_node_sends_the_same_frames_in_speech_and_silence() -> None:
    _, quiet = endpoints()
    _, busy = endpoints()
    for _ in range(50):
        busy.push(LiveEvent(0, "audio", "", b"\1\0" * 4000, 0, 1))
    a, b = run_node(quiet, NOW, NOW + 1), run_node(busy, NOW, NOW + 1)
    assert len(a) == len(b) == 24  # one per 40 ms tick in (0, 1) (the accept was tick 0)
    assert {len(f) for f in a + b} == {wire_size(X25519_SHA256_AES128GCM)}


def test_node_enforces_the_deadline_then_drains_for_a_fixed_time() -> None:
    device, node = endpoints(deadline_s=1, drain_s=0.2)
    late = device.audio_frame(b"\0\0", b"")
    frames = run_node(node, NOW, NOW + 5)
    assert node.done and node.reason == EndReason.DEADLINE
    # One frame per tick until deadline + drain, the last one FINAL (+-1: float ticks).
    assert abs(len(frames) - round((1 + 0.2) / 0.04)) <= 1
    assert node.receive(late, NOW + 1.1) is None  # audio after the deadline is not used
    events = [e for f in frames[:-1] for e in device.receive(f, NOW + 1)]
    assert events == []
    device.receive(frames[-1], NOW + 1.3)
    assert device.ending == Ending(EndReason.DEADLINE, 0)


def test_device_ends_at_its_deadline_and_refuses_a_node_that_overstays() -> None:
    device, node = endpoints(deadline_s=1, drain_s=0.2)
    assert not device.must_end(NOW + 0.9)
    assert device.must_end(NOW + 1.0)
    frame = node.tick(NOW + 0.04)[0]
    with pytest.raises(RequestTimeoutError):
        device.receive(frame, NOW + 1 + 0.2 + limits.LIVE_TUNNEL_GRACE_S + 0.01)


def test_device_sends_cover_frames_after_its_final_until_the_nodes() -> None:
    device, node = endpoints(deadline_s=60, drain_s=0.2)
    with pytest.raises(UsageError):
        device.cover_frame()  # only after this end's FINAL
    assert device.due(NOW + 0.04) == 1
    node.receive(device.final_frame(), NOW + 0.04)
    # After FINAL the device's frames go on, one per tick, of a sealed frame's size...
    assert device.due(NOW + 0.08) == 1
    assert len(device.cover_frame()) == device.wire_size
    for f in run_node(node, NOW + 0.04, NOW + 2):
        device.receive(f, NOW + 0.5)
    assert device.done and device.due(NOW + 2.0) == 0  # ...until the node's FINAL


def test_a_device_giving_a_session_up_closes_on_its_grid_and_keeps_the_node_unaware() -> None:
    """A session the device gives up (the node silent, a frame that did not open) closes at the
    same step of its grid as after the node's FINAL, not when the failure came, and until then
    its frames carry no audio and open at the node as any DATA frame: a FINAL or a cover frame
    would set off the node's drain or its close, at a time the gateway chose."""
    device, node = endpoints(deadline_s=60, drain_s=0.2)
    step = limits.LIVE_FIRST_FRAME_STEP_S
    failed_at = device.sent_at + 2.3 * step
    device.abandon(failed_at)
    assert device.abandoned and not device.done
    assert device.close_at == device.sent_at + 3 * step  # (tail_steps 0: the first step after)
    device.abandon(failed_at + step)  # a second call keeps the first close
    assert device.close_at == device.sent_at + 3 * step
    assert node.receive(device.idle_frame(), NOW + 0.04) == (b"", b"")
    assert node.taking_audio and not device.sent_final
    assert device.due(device.close_at - 0.01) > 0 and not device.must_close(device.close_at - 0.01)
    assert device.must_close(device.close_at) and device.due(device.close_at + 1) == 0
    drawn = DeviceEndpoint(device._keys, sent_at=0.0, asked_s=60, tail_steps=2)
    drawn.abandon(0.4)  # before an ACCEPT (a refused opening): the same rule
    assert drawn.close_at == 3 * step <= 0.4 + limits.LIVE_MAX_GRID_STEPS * step


def test_device_final_starts_the_node_drain() -> None:
    device, node = endpoints(deadline_s=60, drain_s=0.2)
    assert node.receive(device.audio_frame(b"\1\0" * 4, b""), NOW) == (b"\1\0" * 4, b"")
    assert node.receive(device.final_frame(), NOW + 0.04) is None
    assert not node.taking_audio
    frames = run_node(node, NOW + 0.04, NOW + 2)
    assert node.done and node.reason == EndReason.DONE
    for f in frames:
        device.receive(f, NOW + 0.5)
    assert device.done
    device.close()


# --- the opening through the gateway (tunnel.py) -----------------------------------------------


def _gateway_key() -> tuple[KeyConfig, dict[int, GatewayKey]]:
    key = GatewayKey.generate(7)
    return key.config, {7: key}


def test_opening_carries_token_and_hello_to_the_gateway_and_accept_back() -> None:
    config, keys = _gateway_key()
    device, node = handshake()
    hello = b"hello bytes"
    message, context = build_open(config, hello, authorization=b"PrivateToken token=abc")
    exchange = OpenExchange(keys, message)
    inner = exchange.inner()
    assert inner.content == hello and inner.header(b"authorization") == b"PrivateToken token=abc"
    accept = node.keys.sealer.seal(FrameType.ACCEPT, b"terms")
    assert read_open_answer(context, exchange.answer(accept)) == accept
    del device


def test_refused_token_comes_back_as_a_challenge() -> None:
    config, keys = _gateway_key()
    message, context = build_open(config, b"hello", authorization=None)
    exchange = OpenExchange(keys, message)
    refusal = TokenRefusedError("token already spent", www_authenticate="PrivateToken x=1")
    with pytest.raises(TokenRequiredError) as caught:
        read_open_answer(context, exchange.refuse(refusal))
    assert caught.value.www_authenticate == b"PrivateToken x=1"


def test_every_answer_to_an_opening_has_one_size_a_kilobytes_challenge_included() -> None:
    """An answer past the padding unit took the next multiple: a size of its own at the relay,
    and too large for the hops' first-message bound (it never arrived). A refusal whose
    challenge does not fit now goes without it, in the one size."""
    sizes = set()
    huge = "PrivateToken challenge=" + "A" * (2 * limits.LIVE_OPEN_ANSWER_BYTES)
    for answer in (
        lambda e: e.answer(bytes(wire_size(X25519_SHA256_AES128GCM))),
        lambda e: e.refuse(UnavailableError("x")),
        lambda e: e.refuse(TokenRefusedError("spent", www_authenticate="PrivateToken x=1")),
        lambda e: e.refuse(TokenRefusedError("spent", www_authenticate=huge)),
    ):
        config, keys = _gateway_key()
        message, context = build_open(config, b"hello", authorization=None)
        sent = answer(OpenExchange(keys, message))
        sizes.add(len(sent))
        assert len(sent) <= limits.MAX_LIVE_OPEN_BYTES
    assert len(sizes) == 1
    with pytest.raises(AuthenticationError) as caught:  # the refusal, without its challenge
        read_open_answer(context, sent)
    assert not isinstance(caught.value, TokenRequiredError)


def test_opening_for_another_route_is_refused() -> None:
    config, keys = _gateway_key()
    inner = bhttp.encode_request(
        bhttp.Request(
            method=b"POST",
            scheme=b"https",
            authority=b"privcloud.gateway",
            path=b"/v1/envelope",
            headers=((b"content-type", MEDIA_TYPE_HELLO.encode()),),
            content=b"hello",
        )
    )
    message, _ = encapsulate_request(config, inner)
    with pytest.raises(NotFoundError):
        OpenExchange(keys, message).inner()


# --- refusals the node proves (docs/adr/0023, "Refusals the node proves") ------------------


def _node_refusal(node_proof: bytes | None) -> tuple[SessionKeys, bytes, ClientContext]:
    """A device's opening, refused (503) by the gateway's answer with ``node_proof`` attached."""
    config, keys = _gateway_key()
    device, _ = handshake()
    message, context = build_open(config, b"hello", authorization=None)
    error = UnavailableError("this node serves no live translation")
    return device, OpenExchange(keys, message).refuse(error, node_proof=node_proof), context


def test_node_refusal_proof_is_the_sessions_and_binds_status_and_code() -> None:
    device, opened = handshake()
    proof = opened.keys.refusal_proof(503, "unavailable")
    assert len(proof) == REFUSAL_PROOF_SIZE
    assert device.proves_refusal(503, "unavailable", proof)
    assert not device.proves_refusal(429, "unavailable", proof)  # another status
    assert not device.proves_refusal(503, "upstream", proof)  # another code
    assert not device.proves_refusal(503, "unavailable", proof[:-1] + bytes([proof[-1] ^ 1]))
    other_device, _ = handshake()  # another session to the same node key
    assert not other_device.proves_refusal(503, "unavailable", proof)
    assert opened.keys.refusal_proof(503, "unavailable") == proof  # one per session and kind
    with pytest.raises(UsageError):
        opened.keys.refusal_proof(42, "unavailable")
    with pytest.raises(UsageError):
        opened.keys.refusal_proof(503, "n\u00e4")


def _refusal_answer(
    error: PrivcloudError, proof: bytes | None, status: int | None = None
) -> tuple[bytes, ClientContext]:
    """The gateway's answer to an opening: ``error`` (its body), under ``status`` when given
    (a gateway rewriting it), with ``proof`` as the node's."""
    config, keys = _gateway_key()
    message, context = build_open(config, b"hello", authorization=None)
    if status is not None:
        error.http_status = status
    return OpenExchange(keys, message).refuse(error, node_proof=proof), context


def test_node_refusal_with_its_proof_reaches_the_device_as_the_nodes() -> None:
    device, opened = handshake()
    proof = opened.keys.refusal_proof(503, "unavailable")
    answer, context = _refusal_answer(UnavailableError("x"), proof)
    read = decode_open_answer(context, answer, device)
    assert read.node_refused and isinstance(read.error, UnavailableError)
    with pytest.raises(UnavailableError):
        read.frame()
    # Without the session's keys nothing is proven (read_open_answer raises as before).
    assert not decode_open_answer(context, answer).node_refused


def test_gateway_forging_a_node_refusal_proof_is_not_believed() -> None:
    """The gateway writes every answer the device reads: a proof it made up, a proof of
    another session, and none are each a refusal of unknown origin."""
    _, other = handshake()
    for forged in (bytes(REFUSAL_PROOF_SIZE), other.keys.refusal_proof(503, "unavailable"), None):
        device, _ = handshake()
        answer, context = _refusal_answer(UnavailableError("x"), forged)
        assert not decode_open_answer(context, answer, device).node_refused


def test_gateway_moving_a_node_refusal_proof_to_another_status_or_code_is_not_believed() -> None:
    """A node's proof of a refusal that judged the hello (415, unsupported), given with a 503;
    and with its 415 kept but the body's code made ``unavailable`` (the device's error class
    comes from the body, which the gateway writes: red-team review of 2026-12-06)."""
    device, opened = handshake()
    proof = opened.keys.refusal_proof(415, "unsupported")
    answer, context = _refusal_answer(UnavailableError("x"), proof)
    assert not decode_open_answer(context, answer, device).node_refused
    answer, context = _refusal_answer(UnavailableError("x"), proof, status=415)
    read = decode_open_answer(context, answer, device)
    assert not read.node_refused


# --- garbage from a peer: our errors, never a crash -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_into_the_decoders_raises_our_errors_only(data: bytes) -> None:
    decoders = (
        lambda: EventDecoder().feed(data),
        lambda: decode_audio(data),
        lambda: SessionParams.decode(data),
        lambda: Accept.decode(data),
        lambda: Ending.decode(data),
        lambda: open_hello(data, lambda _: node_key(), NOW),
    )
    for decode in decoders:
        with contextlib.suppress(PeerError):  # bad input from a peer: never our caller's bug
            decode()


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=2592, max_size=2592))
def test_garbage_frame_of_the_right_size_is_refused(frame: bytes) -> None:
    _, node = handshake()
    with pytest.raises(CryptoError):
        node.keys.opener.open(frame)


def test_output_cut_by_the_end_of_the_drain_is_counted_and_the_call_still_ends_cleanly() -> None:
    """Speech queued during the drain that does not fit before FINAL: the node counts the cut
    record as dropped, and the device throws the partial record away instead of failing."""
    device, node = endpoints(deadline_s=60, drain_s=0.2)
    node.receive(device.final_frame(), NOW)  # the device ends the call: 0.2 s of drain
    node.push(LiveEvent(0, "audio", "", b"\1\0" * 16000, 0, 1))  # 1 s of speech: 32 KB
    events = []
    for frame in run_node(node, NOW, NOW + 2):
        events += device.receive(frame, NOW + 0.5)
    # Speech goes in records of 0.125, 0.125, then 0.25 s: the first two fit the drain, the
    # other three don't.
    assert device.ending is not None and device.ending.dropped == 3
    audio = [e.audio for e in events if e.kind == "audio"]
    first = b"\1\0" * (limits.LIVE_AUDIO_FIRST_RECORD_BYTES // 2)
    assert audio == [first, first]  # never half a record


def test_audio_flood_a_device_faster_than_its_frame_rate_is_cut_off() -> None:
    """A device that sends a minute of audio at once would drive the node's shared pipelines
    far faster than real time: the node takes at most a second of frames ahead of its clock."""
    device, node = endpoints(deadline_s=60)
    pcm = b"\1\0" * 640
    for _ in range(limits.LIVE_RECEIVE_AHEAD_FRAMES):
        node.receive(device.audio_frame(pcm, pcm), NOW)
    with pytest.raises(RateLimitedError):
        node.receive(device.audio_frame(pcm, pcm), NOW)


def test_frames_at_their_rate_or_bunched_after_a_stall_are_taken() -> None:
    device, node = endpoints(deadline_s=60)
    pcm = b"\1\0" * 640
    for i in range(100):  # on schedule, each frame a little late
        node.receive(device.audio_frame(pcm, pcm), NOW + i * 0.04 + 0.01)
    for _ in range(40):  # 1.6 s of frames held up by the network, then all at once
        node.receive(device.audio_frame(pcm, pcm), NOW + 100 * 0.04 + 1.6)


def test_output_the_pipeline_had_not_finished_at_final_is_counted_as_dropped() -> None:
    device, node = endpoints(deadline_s=60, drain_s=0.2)
    node.working = True  # the shell's flush still runs when the drain ends
    node.receive(device.final_frame(), NOW)
    for frame in run_node(node, NOW, NOW + 1):
        device.receive(frame, NOW + 0.5)
    assert device.ending is not None and device.ending.dropped == 1


def test_speech_goes_in_a_ramp_of_records_the_first_of_which_comes_at_once() -> None:
    """One second of speech arrives as records, in order, that together are the speech: a
    short first one, on the device within two frames, then each at most as long as all
    before it, up to a quarter second."""
    device, node = endpoints(deadline_s=60)
    pcm = bytes(range(256)) * 125  # 32,000 bytes: 1 s, every record different
    node.push(LiveEvent(1, "audio", "", pcm, 2.0, 3.0))
    node.push(LiveEvent(1, "translation", "hola", b"", 2.0, 3.0))
    arrivals: list[tuple[int, LiveEvent]] = []
    for i, frame in enumerate(run_node(node, NOW, NOW + 2)):
        arrivals += [(i, e) for e in device.receive(frame, NOW)]
    audio = [(i, e) for i, e in arrivals if e.kind == "audio"]
    sizes = [len(e.audio) for _, e in audio]
    assert sizes == [4000, 4000, 8000, 8000, 8000]
    assert sizes[0] == limits.LIVE_AUDIO_FIRST_RECORD_BYTES
    assert max(sizes) == limits.LIVE_AUDIO_RECORD_BYTES
    assert b"".join(e.audio for _, e in audio) == pcm
    assert all((e.channel, e.start_s, e.end_s) == (1, 2.0, 3.0) for _, e in audio)
    assert audio[0][0] <= 1  # in the first two frames (a full quarter second needs four)
    # The text queued after the speech overtakes it (OutboundQueue's lanes).
    assert [e.kind for _, e in arrivals] == ["translation"] + ["audio"] * len(audio)


@pytest.mark.parametrize("seconds", [0.1, 0.2, 0.3, 1.0, 2.7, 10.0])
def test_speech_played_as_its_records_arrive_never_waits_for_the_next(seconds: float) -> None:
    """The device starts playing when the first record is whole and plays the records back to
    back (16 kHz s16le: 32,000 bytes a second): every record must be whole, on the constant
    -rate frames, before the ones before it have been played."""
    device, node = endpoints(deadline_s=60)
    pcm = b"\1\0" * round(seconds * 16000)
    node.push(LiveEvent(0, "translation", "una frase", b"", 0.0, 1.0))
    node.push(LiveEvent(0, "audio", "", pcm, 0.0, 1.0))
    interval = limits.LIVE_FRAME_INTERVAL_MS / 1000
    whole_at: list[float] = []  # when each record is whole on the device
    for i, frame in enumerate(run_node(node, NOW, NOW + seconds + 2)):
        whole_at += [i * interval for e in device.receive(frame, NOW) if e.kind == "audio"]
    cuts = speech_cuts(len(pcm))
    assert len(whole_at) == len(cuts)
    started = whole_at[0]
    for (start, _), at in zip(cuts, whole_at, strict=True):
        assert at <= started + start / 32000, (cuts, whole_at)


def test_a_partial_record_at_a_final_that_drops_nothing_is_malformed() -> None:
    decoder = EventDecoder()
    decoder.feed(b"\0\0")
    with pytest.raises(DecodeError):
        decoder.close()
    decoder.discard()
    decoder.close()  # discarded: nothing left
