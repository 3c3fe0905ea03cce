"""The sealed envelope (docs/envelope.md): each test is named after the attack it stops."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privcloud.crypto import Random
from privcloud.crypto.hpke import (
    X25519_SHA256_AES128GCM,
    X25519_SHA256_CHACHA20,
    KemId,
    PrivateKey,
    derive_keypair,
    open_base,
    seal_base,
)
from privcloud.envelope import (
    VERSION,
    ClientSession,
    EnvelopeHeader,
    NodeSession,
    Recipient,
    envelope_overhead,
    key_id_for,
    open_request,
    parse_header,
    prepare_seal,
    seal_request,
)
from privcloud.envelope import stream as stream_mod
from privcloud.envelope.format import LABEL_WRAP, split_envelope
from privcloud.errors import (
    CryptoError,
    DecodeError,
    PeerError,
    TooLargeError,
    TruncatedStreamError,
    UnknownKeyError,
    UnsupportedError,
    UsageError,
)
from privcloud.limits import MAX_ENVELOPE_CHUNK, MAX_ENVELOPE_RECIPIENTS, MAX_ENVELOPE_REQUEST

X25519 = KemId.DHKEM_X25519_HKDF_SHA256
KEYS: list[PrivateKey] = [
    derive_keypair(X25519, hashlib.sha256(b"test node %d" % i).digest()) for i in range(10)
]
RECIPIENTS = [Recipient.from_public_key(k.public_bytes) for k in KEYS]
CHOSEN = RECIPIENTS[:3]
OUTSIDER = 3
HEADER_3 = 8 + 32 * 3
WRAP = 32 + 32 + 16
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Exchange = tuple[ClientSession, bytes, list[bytes], bytes]
ROUND = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _open_as(envelope: bytes, i: int) -> tuple[bytes, NodeSession]:
    return open_request(envelope, RECIPIENTS[i].key_id, KEYS[i])


def _stream(envelope: bytes, i: int, chunks: list[bytes]) -> bytes:
    """Node ``i`` opens ``envelope`` and answers with ``chunks``, the last one final."""
    _, node = open_request(envelope, RECIPIENTS[i].key_id, KEYS[i])
    sealer = node.stream_sealer()
    return sealer.header() + b"".join(
        sealer.seal_chunk(c, final=n == len(chunks) - 1) for n, c in enumerate(chunks)
    )


def _chunks_of(stream: bytes) -> tuple[bytes, list[bytes]]:
    """Split a stream into its header and framed chunks."""
    spans = []
    pos = 33
    while pos < len(stream):
        end = pos + 5 + int.from_bytes(stream[pos + 1 : pos + 5], "big")
        spans.append(stream[pos:end])
        pos = end
    return stream[:33], spans


@pytest.fixture
def exchange() -> Exchange:
    """A request to the chosen three, answered by node 1 with a four-chunk stream."""
    envelope, client = seal_request(CHOSEN, b"what did I say in the call?")
    chunks = [b"You said", b" that", b" it was fine.", b""]
    stream = _stream(envelope, 1, chunks)
    return client, envelope, chunks, stream


# --- constants and construction ------------------------------------------------------------


def test_recipient_with_a_key_id_for_another_key_is_refused() -> None:
    with pytest.raises(UsageError):
        Recipient(RECIPIENTS[1].key_id, KEYS[0].public_bytes)
    assert Recipient(RECIPIENTS[0].key_id, KEYS[0].public_bytes) == RECIPIENTS[0]
    with pytest.raises(UsageError):  # a key of the wrong length has no key id
        key_id_for(X25519, KEYS[0].public_bytes[:-1])


# --- who can open ---------------------------------------------------------------------------


def test_node_outside_the_chosen_k_cannot_open() -> None:
    envelope, _ = seal_request(CHOSEN, b"secret")
    with pytest.raises(UnknownKeyError):
        _open_as(envelope, OUTSIDER)
    # Claiming a chosen node's key id with another key is a usage error, not a way in.
    with pytest.raises(UsageError):
        open_request(envelope, RECIPIENTS[0].key_id, KEYS[OUTSIDER])
    # And no wrap decapsulates under the outsider's key.
    parts = split_envelope(envelope)
    for enc, wrapped in parts.wraps:
        with pytest.raises(CryptoError):
            open_base(
                X25519_SHA256_AES128GCM,
                enc,
                KEYS[OUTSIDER],
                LABEL_WRAP,
                parts.header.encode(),
                wrapped,
            )


def test_any_one_of_k_nodes_can_open() -> None:
    envelope, client = seal_request(CHOSEN, b"secret request")
    assert parse_header(envelope).key_ids == tuple(r.key_id for r in CHOSEN)
    for i in range(3):
        plaintext, node = open_request(envelope, RECIPIENTS[i].key_id, KEYS[i])
        assert plaintext == b"secret request"
        assert client.open_response(node.seal_response(b"answer %d" % i)) == [b"answer %d" % i]


def test_gateway_reads_only_the_header() -> None:
    envelope, _ = seal_request(CHOSEN, b"the content")
    header = parse_header(envelope)
    assert header == EnvelopeHeader(
        VERSION, X25519_SHA256_AES128GCM, tuple(r.key_id for r in CHOSEN)
    )
    assert b"the content" not in envelope


# --- tampering with the request --------------------------------------------------------------


def test_every_tampered_byte_of_request_is_detected() -> None:
    envelope, _ = seal_request(RECIPIENTS[:2], b"hi", pad=False)
    for pos in range(len(envelope)):
        for mask in (0x01, 0x80):
            tampered = bytearray(envelope)
            tampered[pos] ^= mask
            for i in range(2):
                with pytest.raises(PeerError):
                    _open_as(bytes(tampered), i)
    for cut in range(len(envelope)):
        for i in range(2):
            with pytest.raises(PeerError):
                _open_as(envelope[:cut], i)
    for i in range(2):
        with pytest.raises(CryptoError):
            _open_as(envelope + b"\x00", i)


def _remove(envelope: bytes, j: int, k: int = 3) -> bytes:
    ids = envelope[8 : 8 + 32 * k]
    wraps = envelope[8 + 32 * k : 8 + 32 * k + WRAP * k]
    content = envelope[8 + 32 * k + WRAP * k :]
    new_ids = ids[: 32 * j] + ids[32 * (j + 1) :]
    new_wraps = wraps[: WRAP * j] + wraps[WRAP * (j + 1) :]
    return envelope[:7] + bytes([k - 1]) + new_ids + new_wraps + content


def test_recipient_removed_by_gateway_is_detected() -> None:
    envelope, _ = seal_request(CHOSEN, b"to three nodes")
    for j in range(3):
        shrunk = _remove(envelope, j)
        assert len(parse_header(shrunk).key_ids) == 2  # well-formed: only crypto can tell
        for i in range(3):
            if i == j:
                with pytest.raises(UnknownKeyError):
                    _open_as(shrunk, i)
            else:
                with pytest.raises(CryptoError):
                    _open_as(shrunk, i)


def test_recipient_added_by_gateway_is_detected() -> None:
    envelope, _ = seal_request(CHOSEN, b"to three nodes")
    ids = envelope[8:HEADER_3] + RECIPIENTS[OUTSIDER].key_id
    header = envelope[:7] + bytes([4]) + ids
    # The gateway wraps a CEK of its own to its node, with the new header as AAD.
    enc, wrapped = seal_base(
        X25519_SHA256_AES128GCM,
        KEYS[OUTSIDER].public_bytes,
        LABEL_WRAP,
        header,
        bytes(32),
    )
    grown = header + envelope[HEADER_3 : HEADER_3 + 3 * WRAP] + enc + wrapped
    grown += envelope[HEADER_3 + 3 * WRAP :]
    for i in (0, 1, 2, OUTSIDER):
        with pytest.raises(CryptoError):
            _open_as(grown, i)


def test_recipient_swapped_is_detected() -> None:
    envelope, _ = seal_request(CHOSEN, b"to three nodes")
    # 1. Recipient 0 replaced by the gateway's own node, with a fresh wrap to it.
    ids = RECIPIENTS[OUTSIDER].key_id + envelope[8 + 32 : HEADER_3]
    header = envelope[:8] + ids
    enc, wrapped = seal_base(
        X25519_SHA256_AES128GCM, KEYS[OUTSIDER].public_bytes, LABEL_WRAP, header, bytes(32)
    )
    swapped = header + enc + wrapped + envelope[HEADER_3 + WRAP :]
    for i in (1, 2, OUTSIDER):
        with pytest.raises(CryptoError):
            _open_as(swapped, i)
    # 2. Two recipients exchanged (key ids and wraps together).
    k0, k1 = envelope[8:40], envelope[40:72]
    w0, w1 = envelope[HEADER_3 : HEADER_3 + WRAP], envelope[HEADER_3 + WRAP : HEADER_3 + 2 * WRAP]
    reordered = (
        envelope[:8] + k1 + k0 + envelope[72:HEADER_3] + w1 + w0 + envelope[HEADER_3 + 2 * WRAP :]
    )
    for i in range(3):
        with pytest.raises(CryptoError):
            _open_as(reordered, i)
    # 3. Only the wraps exchanged.
    rewrapped = envelope[:HEADER_3] + w1 + w0 + envelope[HEADER_3 + 2 * WRAP :]
    for i in range(3):
        with pytest.raises(CryptoError):
            _open_as(rewrapped, i)


def test_suite_or_version_change_is_detected() -> None:
    envelope, _ = seal_request(CHOSEN, b"x")
    to_chacha = envelope[:5] + (3).to_bytes(2, "big") + envelope[7:]
    assert parse_header(to_chacha).suite == X25519_SHA256_CHACHA20
    with pytest.raises(CryptoError):
        _open_as(to_chacha, 0)
    with pytest.raises(UnsupportedError):
        _open_as(bytes([2]) + envelope[1:], 0)
    with pytest.raises(UnsupportedError):  # unknown KDF
        parse_header(envelope[:3] + b"\x00\xff" + envelope[5:])
    with pytest.raises(UnsupportedError):  # the export-only AEAD
        parse_header(envelope[:5] + b"\xff\xff" + envelope[7:])
    to_p256 = envelope[:1] + (0x10).to_bytes(2, "big") + envelope[3:]
    with pytest.raises(PeerError):
        _open_as(to_p256, 0)


def test_replayed_request_yields_nothing_without_the_cek() -> None:
    # Documented: a node keeps no state, so replay is the token layer's job. A replayed request
    # gets a fresh response that only the holder of the CEK (the client) can read.
    envelope, client = seal_request(CHOSEN, b"once")
    _, node_a = _open_as(envelope, 0)
    _, node_b = _open_as(envelope, 0)
    r1, r2 = node_a.seal_response(b"answer"), node_b.seal_response(b"answer")
    assert r1 != r2
    assert client.open_response(r1) == client.open_response(r2) == [b"answer"]
    _, other = seal_request(CHOSEN, b"once")
    with pytest.raises(CryptoError):
        other.open_response(r1)


# --- the response stream --------------------------------------------------------------------


def test_response_for_another_request_is_refused() -> None:
    env_a, client_a = seal_request(CHOSEN, b"same words")
    env_b, client_b = seal_request(CHOSEN, b"same words")
    _, node_a = _open_as(env_a, 0)
    _, node_b = _open_as(env_b, 0)
    with pytest.raises(CryptoError):
        client_b.open_response(node_a.seal_response(b"for A"))
    with pytest.raises(CryptoError):
        client_a.open_response(node_b.seal_response(b"for B"))
    assert client_a.open_response(node_a.seal_response(b"for A")) == [b"for A"]


def test_round_trip_stream(exchange: Exchange) -> None:
    client, _, chunks, stream = exchange
    opener = client.response_opener()
    got: list[bytes] = []
    for b in stream:  # one byte at a time
        got += opener.feed(bytes([b]))
    assert not opener.feed(b"")
    assert opener.finished
    opener.close()
    assert got == chunks


def test_truncated_stream_is_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    for cut in range(len(stream)):
        opener = client.response_opener()
        opener.feed(stream[:cut])
        assert not opener.finished
        with pytest.raises(TruncatedStreamError):
            opener.close()
        with pytest.raises(TruncatedStreamError):
            client.open_response(stream[:cut])


def test_reordered_chunks_are_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    header, (c0, c1, c2, c3) = _chunks_of(stream)
    for order in ([c1, c0, c2, c3], [c0, c2, c1, c3], [c0, c1, c3, c2]):
        with pytest.raises(CryptoError):
            client.open_response(header + b"".join(order))


def test_replayed_chunk_is_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    header, (c0, c1, c2, c3) = _chunks_of(stream)
    opener = client.response_opener()
    assert opener.feed(header + c0 + c1) == [b"You said", b" that"]
    with pytest.raises(CryptoError):
        opener.feed(c1)
    with pytest.raises(UsageError):  # a failed opener stays dead
        opener.feed(c2)
    with pytest.raises(CryptoError):
        client.open_response(header + c0 + c0 + c1 + c2 + c3)


def test_dropped_chunk_is_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    header, (c0, c1, c2, c3) = _chunks_of(stream)
    for kept in ([c1, c2, c3], [c0, c2, c3], [c0, c1, c3]):
        with pytest.raises(CryptoError):
            client.open_response(header + b"".join(kept))


def test_forged_final_marker_is_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    header, chunks = _chunks_of(stream)
    # A non-final chunk relabelled final, to end the stream early.
    for n in range(3):
        forged = b"\x01" + chunks[n][1:]
        with pytest.raises(CryptoError):
            client.open_response(header + b"".join(chunks[:n]) + forged)
    # The final chunk relabelled non-final.
    with pytest.raises(CryptoError):
        client.open_response(header + b"".join(chunks[:3]) + b"\x00" + chunks[3][1:])
    # Any other flag value.
    with pytest.raises(DecodeError):
        client.open_response(header + b"\x02" + chunks[0][1:])


def test_response_header_tampering_is_detected(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    for pos in range(33):
        tampered = bytearray(stream)
        tampered[pos] ^= 0x01
        with pytest.raises(PeerError):
            client.open_response(bytes(tampered))
    with pytest.raises(UnsupportedError):
        client.open_response(b"\x02" + stream[1:])


def test_trailing_bytes_after_final_are_refused(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    with pytest.raises(DecodeError):
        client.open_response(stream + b"\x00")
    opener = client.response_opener()
    opener.feed(stream)
    assert opener.finished
    with pytest.raises(DecodeError):
        opener.feed(b"\x00")
    # A whole second stream appended is refused too.
    with pytest.raises(DecodeError):
        client.open_response(stream + stream)


def test_sealer_refuses_chunks_after_final_and_oversize_data() -> None:
    envelope, client = seal_request(CHOSEN, b"x")
    _, node = _open_as(envelope, 0)
    sealer = node.stream_sealer()
    with pytest.raises(UsageError):
        sealer.seal_chunk(bytes(MAX_ENVELOPE_CHUNK + 1), final=True)
    big = bytes(MAX_ENVELOPE_CHUNK)  # the largest chunk still round-trips
    assert client.open_response(node.seal_response(big)) == [big]
    sealer.seal_chunk(b"last", final=True)
    assert sealer.finished
    with pytest.raises(UsageError):
        sealer.seal_chunk(b"more", final=False)


def test_too_many_chunks_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_mod, "MAX_ENVELOPE_CHUNKS", 3)
    envelope, client = seal_request(CHOSEN, b"x")
    _, node = _open_as(envelope, 0)
    sealer = node.stream_sealer()
    parts = [sealer.header(), sealer.seal_chunk(b"a", final=False)]
    parts.append(sealer.seal_chunk(b"b", final=False))
    with pytest.raises(UsageError):  # the last allowed chunk must be final
        sealer.seal_chunk(b"c", final=False)
    parts.append(sealer.seal_chunk(b"c", final=True))
    assert client.open_response(b"".join(parts)) == [b"a", b"b", b"c"]
    # An opener refuses a non-final chunk in the last allowed slot, before its ciphertext.
    monkeypatch.setattr(stream_mod, "MAX_ENVELOPE_CHUNKS", 2)
    with pytest.raises(TooLargeError):
        client.open_response(b"".join(parts))


def test_oversize_chunk_length_is_refused(exchange: Exchange) -> None:
    client, _, _, stream = exchange
    limit = stream_mod.max_chunk_ciphertext(X25519_SHA256_AES128GCM)
    assert limit == 4 + MAX_ENVELOPE_CHUNK + 16  # the top bucket, framed, and a tag
    for length in (limit + 1, 0xFFFF_FFFF):
        opener = client.response_opener()
        with pytest.raises(TooLargeError):  # refused from the 5-byte chunk header alone
            opener.feed(stream[:33] + b"\x00" + length.to_bytes(4, "big"))
    for length in (0, 19):
        with pytest.raises(DecodeError):
            client.response_opener().feed(stream[:33] + b"\x00" + length.to_bytes(4, "big"))


# --- sizes, padding and limits --------------------------------------------------------------


def test_padding_hides_request_size_within_bucket() -> None:
    sizes = {len(seal_request(CHOSEN, bytes(n))[0]) for n in range(253)}
    assert sizes == {256 + envelope_overhead(X25519_SHA256_AES128GCM, 3)}
    assert len(seal_request(CHOSEN, bytes(253))[0]) == 512 + envelope_overhead(
        X25519_SHA256_AES128GCM, 3
    )
    envelope, _ = seal_request(CHOSEN, b"x")
    _, node = _open_as(envelope, 0)
    assert {len(node.seal_response(bytes(n))) for n in range(0, 253, 7)} == {33 + 5 + 256 + 16}
    unpadded = {len(seal_request(CHOSEN, bytes(n), pad=False)[0]) for n in (1, 2)}
    assert len(unpadded) == 2


def test_overhead_for_three_recipients() -> None:
    # header 8 + 3*32, wraps 3*(32 + 32 + 16), content tag 16; the padding framing is 4 more.
    assert envelope_overhead(X25519_SHA256_AES128GCM, 3) == 104 + 240 + 16
    envelope, _ = seal_request(CHOSEN, b"", pad=False)
    assert len(envelope) == 360 + 4


def test_too_many_recipients_refused() -> None:
    with pytest.raises(UsageError):
        seal_request(RECIPIENTS[: MAX_ENVELOPE_RECIPIENTS + 1], b"x")
    with pytest.raises(UsageError):
        seal_request([], b"x")
    with pytest.raises(UsageError):
        seal_request([RECIPIENTS[0], RECIPIENTS[1], RECIPIENTS[0]], b"x")
    with pytest.raises(UsageError):
        seal_request(
            [
                RECIPIENTS[0],
                Recipient.from_public_key(KEYS[1].public_bytes, X25519_SHA256_CHACHA20),
            ],
            b"x",
        )
    envelope, _ = seal_request(RECIPIENTS[:MAX_ENVELOPE_RECIPIENTS], b"x")
    assert len(parse_header(envelope).key_ids) == MAX_ENVELOPE_RECIPIENTS
    # From the wire: a count above the limit, a zero count, duplicate ids.
    with pytest.raises(TooLargeError):
        parse_header(
            envelope[:7] + bytes([MAX_ENVELOPE_RECIPIENTS + 1]) + envelope[8:] + bytes(200)
        )
    with pytest.raises(DecodeError):
        parse_header(envelope[:7] + b"\x00" + envelope[8:])
    dup = envelope[:8] + envelope[8:40] * 2 + envelope[72:]
    with pytest.raises(DecodeError):
        parse_header(dup)


def test_oversize_envelope_is_refused() -> None:
    envelope, _ = seal_request(CHOSEN, b"x")
    huge = envelope + bytes(MAX_ENVELOPE_REQUEST + 1 - len(envelope))
    with pytest.raises(TooLargeError):
        parse_header(huge)
    with pytest.raises(TooLargeError):
        _open_as(huge, 0)
    too_big = MAX_ENVELOPE_REQUEST - envelope_overhead(X25519_SHA256_AES128GCM, 3) - 3
    with pytest.raises(UsageError):
        seal_request(CHOSEN, bytes(too_big), pad=False)


def test_largest_request_fits_the_top_bucket() -> None:
    largest = MAX_ENVELOPE_REQUEST - envelope_overhead(X25519_SHA256_AES128GCM, 3) - 4
    envelope, _ = seal_request(CHOSEN, bytes(largest))
    assert len(envelope) == MAX_ENVELOPE_REQUEST
    plaintext, _ = _open_as(envelope, 2)
    assert len(plaintext) == largest


# --- secrets --------------------------------------------------------------------------------


def test_sessions_keep_their_secrets() -> None:
    envelope, client = seal_request(CHOSEN, b"x")
    _, node = _open_as(envelope, 0)
    for session in (client, node):
        assert "secret" in repr(session)
        with pytest.raises(UsageError):
            pickle.dumps(session)
    assert "StreamOpener" in repr(client.response_opener())


def test_prepared_seal_reused_for_a_second_request_is_refused() -> None:
    """Two plaintexts under one prepared CEK would share the request key and nonce (an AEAD
    nonce reuse that leaks both): a prepared seal seals once, keeps its secret out of its
    repr and cannot be pickled out of the process."""
    prepared = prepare_seal(CHOSEN)
    envelope, client = prepared.seal(b"first")
    with pytest.raises(UsageError):
        prepared.seal(b"second")
    assert prepared.used and "secret" in repr(prepared)
    with pytest.raises(UsageError):
        pickle.dumps(prepare_seal(CHOSEN))
    plaintext, node = _open_as(envelope, 1)
    assert plaintext == b"first"
    assert client.open_response(node.seal_response(b"ok")) == [b"ok"]


def test_sealing_ahead_gives_the_envelope_sealing_at_once_gives() -> None:
    """The wraps done before the request (prepare_seal) and the content sealed after are the
    envelope of seal_request, byte for byte, with the same randomness."""

    def counter() -> Random:
        stream = itertools.count()
        return lambda n: bytes(next(stream) % 251 + 1 for _ in range(n))

    for plaintext in (b"", b"x", bytes(5000)):
        at_once, _ = seal_request(CHOSEN, plaintext, rand=counter())
        ahead, _ = prepare_seal(CHOSEN, rand=counter()).seal(plaintext)
        assert ahead == at_once
    too_big = prepare_seal(CHOSEN)
    with pytest.raises(UsageError):
        too_big.seal(bytes(MAX_ENVELOPE_REQUEST))
    assert not too_big.used  # refused before any key was used: still good for a request


# --- properties -----------------------------------------------------------------------------


@ROUND
@given(
    plaintext=st.binary(max_size=3000),
    k=st.integers(min_value=1, max_value=4),
    opener_index=st.integers(min_value=0, max_value=3),
    use_padding=st.booleans(),
)
def test_round_trip_request(plaintext: bytes, k: int, opener_index: int, use_padding: bool) -> None:
    envelope, client = seal_request(RECIPIENTS[:k], plaintext, pad=use_padding)
    i = opener_index % k
    opened, node = _open_as(envelope, i)
    assert opened == plaintext
    assert client.open_response(node.seal_response(plaintext[::-1])) == [plaintext[::-1]]


@ROUND
@given(
    chunks=st.lists(st.binary(max_size=600), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    use_padding=st.booleans(),
)
def test_round_trip_stream_any_split(
    chunks: list[bytes], cuts: list[int], use_padding: bool
) -> None:
    envelope, client = seal_request(CHOSEN, b"stream please")
    _, node = _open_as(envelope, 2)
    sealer = node.stream_sealer(pad=use_padding)
    stream = sealer.header() + b"".join(
        sealer.seal_chunk(c, final=n == len(chunks) - 1) for n, c in enumerate(chunks)
    )
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    opener = client.response_opener()
    got: list[bytes] = []
    for a, b in itertools.pairwise(points):
        got += opener.feed(stream[a:b])
    opener.close()
    assert got == chunks


@FUZZ
@given(data=st.binary(max_size=2000))
def test_garbage_raises_only_our_errors(data: bytes) -> None:
    for call in (
        lambda: parse_header(data),
        lambda: _open_as(data, 0),
        lambda: seal_request(CHOSEN, b"x")[1].open_response(data),
    ):
        with contextlib.suppress(PeerError):
            call()


_VALID, _VALID_CLIENT = seal_request(CHOSEN, b"fuzz me", pad=False)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(0, 255)), max_size=4
    ),
    cut=st.integers(min_value=0, max_value=10_000),
    as_header=st.booleans(),
)
def test_mutated_envelopes_raise_only_our_errors(
    edits: list[tuple[int, int]], cut: int, as_header: bool
) -> None:
    data = bytearray(_VALID)
    for pos, value in edits:
        data[pos % len(data)] = value
    mutated = bytes(data[: len(data) - cut % 40]) if cut % 3 == 0 else bytes(data)
    if as_header:
        with contextlib.suppress(PeerError):
            parse_header(mutated)
    if mutated == _VALID:
        return
    with pytest.raises(PeerError):
        _open_as(mutated, 1)


@FUZZ
@given(prefix_len=st.integers(min_value=0, max_value=80), tail=st.binary(max_size=400))
def test_garbage_after_a_valid_stream_prefix_raises_only_our_errors(
    prefix_len: int, tail: bytes
) -> None:
    _, node = _open_as(_VALID, 0)
    stream = node.seal_response(b"answer")
    opener = _VALID_CLIENT.response_opener()
    try:
        opener.feed(stream[:prefix_len] + tail)
        opener.close()
    except PeerError:
        return
    assert stream[:prefix_len] + tail == stream  # only the genuine stream succeeds
