"""Chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp): streams split anywhere round-trip,
and truncation, reordering, replay, dropping and final-marker forgery are all detected.

These are property and negative tests; the draft's own worked example (Appendix A of
draft-ietf-ohai-chunked-ohttp-08) is reproduced byte for byte in test_ohttp_chunked_vectors.py.
See the module docstring of privcloud.ohttp.chunked for the rules and the draft's sections.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import (
    CryptoError,
    PrivcloudError,
    TooLargeError,
    TruncatedStreamError,
    UnknownKeyError,
    UsageError,
)
from privcloud.limits import MAX_OHTTP_CHUNK, MAX_OHTTP_REQUEST_CHUNKS
from privcloud.ohttp import (
    ChunkedClientContext,
    ChunkedGatewayContext,
    ChunkedRequestDecoder,
    GatewayKey,
    SymmetricSuite,
    encapsulate_chunked_request,
    encapsulate_request,
)
from privcloud.wire import varint

KEY = GatewayKey.generate(5)
KEYS = {5: KEY}


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for p in [*points, len(data)]:
        pieces.append(data[start:p])
        start = p
    return pieces


def _request(
    chunks: list[bytes], suite: SymmetricSuite | None = None
) -> tuple[bytes, list[bytes], ChunkedClientContext]:
    """A whole chunked request: the header, then each chunk (the last one final)."""
    head, client = encapsulate_chunked_request(KEY.config, suite=suite)
    framed = [client.seal_chunk(c, final=i == len(chunks) - 1) for i, c in enumerate(chunks)]
    return head, framed, client


def _decode_request(
    stream: bytes, cuts: list[int] | None = None
) -> tuple[list[bytes], bytes, ChunkedRequestDecoder]:
    decoder = ChunkedRequestDecoder(KEYS)
    out: list[bytes] = []
    for piece in _split(stream, cuts or []):
        out += decoder.feed(piece)
    return out, decoder.close(), decoder


def _gateway() -> tuple[ChunkedClientContext, ChunkedGatewayContext]:
    head, client = encapsulate_chunked_request(KEY.config)
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed(head)
    return client, decoder.context


_chunk = st.binary(min_size=1, max_size=64)


# --- round trips -----------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    chunks=st.lists(_chunk, min_size=0, max_size=6),
    last=st.binary(max_size=64),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    chacha=st.booleans(),
)
def test_request_stream_round_trips_under_any_split(
    chunks: list[bytes], last: bytes, cuts: list[int], chacha: bool
) -> None:
    suite = SymmetricSuite(
        KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305 if chacha else AeadId.AES_128_GCM
    )
    head, framed, _ = _request([*chunks, last], suite=suite)
    out, final, decoder = _decode_request(head + b"".join(framed), cuts)
    assert out == chunks
    assert final == last
    assert decoder.context.suite == suite


@settings(max_examples=60)
@given(
    chunks=st.lists(_chunk, min_size=0, max_size=6),
    last=st.binary(max_size=64),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_response_stream_round_trips_under_any_split(
    chunks: list[bytes], last: bytes, cuts: list[int]
) -> None:
    client, gateway = _gateway()
    stream = gateway.response_header()
    stream += b"".join(gateway.seal_chunk(c, final=False) for c in chunks)
    stream += gateway.seal_chunk(last, final=True)
    decoder = client.response_decoder()
    out: list[bytes] = []
    for piece in _split(stream, cuts):
        out += decoder.feed(piece)
    assert out == chunks
    assert decoder.close() == last


def test_byte_by_byte_feeding_yields_chunks_as_they_complete() -> None:
    head, framed, _ = _request([b"one", b"two", b"three"])
    decoder = ChunkedRequestDecoder(KEYS)
    for b in head:
        assert decoder.feed(bytes([b])) == []
    seen: list[bytes] = []
    for frame in framed[:2]:
        for i in range(len(frame)):
            got = decoder.feed(frame[i : i + 1])
            assert len(got) == (1 if i == len(frame) - 1 else 0)
            seen += got
    assert seen == [b"one", b"two"]
    decoder.feed(framed[2])
    assert decoder.close() == b"three"


def test_largest_chunk_round_trips() -> None:
    big = bytes(MAX_OHTTP_CHUNK)
    head, framed, _ = _request([big, big])
    out, final, _ = _decode_request(head + b"".join(framed))
    assert out == [big]
    assert final == big


# --- attacks -----------------------------------------------------------------------------------


def test_truncated_request_stream_without_final_chunk_is_detected() -> None:
    head, framed, _ = _request([b"a", b"b", b"c"])
    decoder = ChunkedRequestDecoder(KEYS)
    assert decoder.feed(head + framed[0] + framed[1]) == [b"a", b"b"]
    with pytest.raises(TruncatedStreamError):
        decoder.close()


def test_truncated_response_stream_without_final_chunk_is_detected() -> None:
    client, gateway = _gateway()
    stream = gateway.response_header() + gateway.seal_chunk(b"partial", final=False)
    decoder = client.response_decoder()
    assert decoder.feed(stream) == [b"partial"]
    with pytest.raises(TruncatedStreamError):
        decoder.close()


@pytest.mark.parametrize("cut", [0, 3, 7, 20])
def test_stream_ending_inside_the_header_is_truncated(cut: int) -> None:
    head, framed, _ = _request([b"x"])
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed((head + framed[0])[:cut])
    with pytest.raises(TruncatedStreamError):
        decoder.close()


def test_final_chunk_cut_short_is_detected() -> None:
    head, framed, _ = _request([b"a", b"the end"])
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed(head + framed[0] + framed[1][:-1])
    with pytest.raises(CryptoError):
        decoder.close()


def test_reordered_request_chunks_are_detected() -> None:
    head, framed, _ = _request([b"first", b"second", b"end"])
    decoder = ChunkedRequestDecoder(KEYS)
    with pytest.raises(CryptoError):
        decoder.feed(head + framed[1] + framed[0])


def test_reordered_response_chunks_are_detected() -> None:
    client, gateway = _gateway()
    header = gateway.response_header()
    c0 = gateway.seal_chunk(b"first", final=False)
    c1 = gateway.seal_chunk(b"second", final=False)
    with pytest.raises(CryptoError):
        client.response_decoder().feed(header + c1 + c0)


def test_replayed_request_chunk_is_detected() -> None:
    head, framed, _ = _request([b"pay 10", b"end"])
    decoder = ChunkedRequestDecoder(KEYS)
    assert decoder.feed(head + framed[0]) == [b"pay 10"]
    with pytest.raises(CryptoError):
        decoder.feed(framed[0])


def test_replayed_response_chunk_is_detected() -> None:
    client, gateway = _gateway()
    header = gateway.response_header()
    c0 = gateway.seal_chunk(b"chunk", final=False)
    decoder = client.response_decoder()
    assert decoder.feed(header + c0) == [b"chunk"]
    with pytest.raises(CryptoError):
        decoder.feed(c0)


def test_dropped_request_chunk_is_detected() -> None:
    head, framed, _ = _request([b"a", b"b", b"end"])
    decoder = ChunkedRequestDecoder(KEYS)
    with pytest.raises(CryptoError):
        decoder.feed(head + framed[0] + framed[2])
        decoder.close()


def test_dropped_response_chunk_is_detected() -> None:
    client, gateway = _gateway()
    header = gateway.response_header()
    c0 = gateway.seal_chunk(b"a", final=False)
    gateway.seal_chunk(b"b", final=False)
    c2 = gateway.seal_chunk(b"end", final=True)
    decoder = client.response_decoder()
    decoder.feed(header + c0 + c2)
    with pytest.raises(CryptoError):
        decoder.close()


def _as_final(frame: bytes) -> bytes:
    """Re-frame a non-final chunk as the final one (zero length, same sealed bytes)."""
    _, start = varint.decode(frame)
    return b"\x00" + frame[start:]


def _as_non_final(frame: bytes) -> bytes:
    sealed = frame[1:]
    return varint.encode(len(sealed)) + sealed


def test_non_final_request_chunk_marked_final_is_detected() -> None:
    # Truncation attack: cut after chunk 0 and pretend it was the last (AAD "final" differs).
    head, framed, _ = _request([b"transfer 100", b"to alice"])
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed(head + _as_final(framed[0]))
    with pytest.raises(CryptoError):
        decoder.close()


def test_non_final_response_chunk_marked_final_is_detected() -> None:
    client, gateway = _gateway()
    header = gateway.response_header()
    c0 = gateway.seal_chunk(b"not the end", final=False)
    decoder = client.response_decoder()
    decoder.feed(header + _as_final(c0))
    with pytest.raises(CryptoError):
        decoder.close()


def test_final_chunk_marked_non_final_is_detected() -> None:
    head, framed, _ = _request([b"a", b"end"])
    decoder = ChunkedRequestDecoder(KEYS)
    with pytest.raises(CryptoError):
        decoder.feed(head + framed[0] + _as_non_final(framed[1]))


def test_oversize_chunk_length_is_refused() -> None:
    head, _, _ = _request([b"x"])
    decoder = ChunkedRequestDecoder(KEYS)
    with pytest.raises(TooLargeError):
        decoder.feed(head + varint.encode(MAX_OHTTP_CHUNK + 17))


def test_oversize_final_chunk_is_refused() -> None:
    client, gateway = _gateway()
    decoder = client.response_decoder()
    decoder.feed(gateway.response_header() + b"\x00")
    decoder.feed(bytes(MAX_OHTTP_CHUNK + 16))
    with pytest.raises(TooLargeError):
        decoder.feed(b"\x00")


def test_a_request_of_one_byte_chunks_past_the_chunk_bound_is_refused_at_its_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1.86 million one-byte chunks (18 bytes each on the wire) held a gateway's event loop for
    # 14 s: a request may have MAX_OHTTP_REQUEST_CHUNKS chunks, the final one counted, and the
    # chunk past them is refused from its length prefix, before its bytes are in.
    bound = MAX_OHTTP_REQUEST_CHUNKS
    monkeypatch.setattr(limits, "MIN_OHTTP_REQUEST_CHUNK_AVERAGE", 0)  # (the count alone)
    with monkeypatch.context() as patched:  # a sender of ours would not seal one too many
        patched.setattr(limits, "MAX_OHTTP_REQUEST_CHUNKS", bound + 1)
        head, framed, _ = _request([b"x"] * bound + [b""])
    decoder = ChunkedRequestDecoder(KEYS)
    assert len(decoder.feed(head + b"".join(framed[: bound - 1]))) == bound - 1
    with pytest.raises(TooLargeError):
        decoder.feed(framed[bound - 1][:1])  # the length prefix of the chunk one too many
    # The bound itself is taken: bound - 1 chunks and the final one, which our senders seal.
    head, framed, _ = _request([b"x"] * (bound - 1) + [b""])
    out, final, _ = _decode_request(head + b"".join(framed))
    assert len(out) == bound - 1 and final == b""
    with pytest.raises(UsageError):
        _request([b"x"] * bound + [b""])


def test_a_request_of_small_chunks_costs_the_gateway_no_more_than_their_bytes() -> None:
    # A review (2026-12-07): under the count alone, 4,095 one-byte chunks (73 KB) cost a
    # gateway 24 ms of its loop, 130 times what the same bytes in one chunk cost. Past the
    # first OHTTP_REQUEST_SMALL_CHUNKS, chunks must average MIN_OHTTP_REQUEST_CHUNK_AVERAGE
    # bytes on the wire: the chunk that brings them under is refused at its length prefix.
    small = limits.OHTTP_REQUEST_SMALL_CHUNKS
    head, framed, _ = _request([b"x"] * (small + 1) + [b""])
    decoder = ChunkedRequestDecoder(KEYS)
    assert len(decoder.feed(head + b"".join(framed[:small]))) == small
    with pytest.raises(TooLargeError):
        decoder.feed(framed[small])
    # A few small chunks are taken (the draft's example has 3), and so are many of 1 KiB.
    head, framed, _ = _request([b"x"] * small + [b""])
    assert len(_decode_request(head + b"".join(framed))[0]) == small
    piece = bytes(limits.MIN_OHTTP_REQUEST_CHUNK_AVERAGE)
    head, framed, _ = _request([piece] * 200 + [b""])
    assert len(_decode_request(head + b"".join(framed))[0]) == 200


def test_a_response_of_more_chunks_than_the_bound_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, gateway = _gateway()  # sealing under the bound of 2**96 chunks
    monkeypatch.setattr(limits, "MAX_OHTTP_RESPONSE_CHUNKS", 4)
    stream = gateway.response_header() + b"".join(
        gateway.seal_chunk(b"x", final=False) for _ in range(4)
    )
    decoder = client.response_decoder()
    with pytest.raises(TooLargeError):
        decoder.feed(stream)
    _, bounded = _gateway()
    bounded.response_header()
    for _ in range(3):
        bounded.seal_chunk(b"x", final=False)
    with pytest.raises(UsageError):  # a gateway of ours leaves room for the final chunk
        bounded.seal_chunk(b"x", final=False)
    bounded.seal_chunk(b"", final=True)


def test_chunked_request_for_unknown_key_is_refused() -> None:
    head, _, _ = _request([b"x"])
    with pytest.raises(UnknownKeyError):
        ChunkedRequestDecoder({6: KEY}).feed(head)


def test_one_shot_request_is_not_accepted_as_chunked() -> None:
    # Domain separation: the HPKE info labels differ, so a one-shot request's ciphertext
    # cannot be opened as a chunked final chunk.
    enc_request, _ = encapsulate_request(KEY.config, b"req")
    head_size = 7 + KEY.config.kem.enc_size
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed(enc_request[:head_size] + b"\x00" + enc_request[head_size:])
    with pytest.raises(CryptoError):
        decoder.close()


def test_response_to_another_request_is_refused() -> None:
    client_a, _ = _gateway()
    _, gateway_b = _gateway()
    stream = gateway_b.response_header() + gateway_b.seal_chunk(b"for b", final=True)
    decoder = client_a.response_decoder()
    decoder.feed(stream)
    with pytest.raises(CryptoError):
        decoder.close()


# --- misuse ------------------------------------------------------------------------------------


def test_empty_non_final_chunk_is_a_usage_error() -> None:
    _, client = encapsulate_chunked_request(KEY.config)
    with pytest.raises(UsageError):
        client.seal_chunk(b"", final=False)
    assert client.seal_chunk(b"", final=True)[0] == 0


def test_sealing_after_final_is_a_usage_error() -> None:
    client, gateway = _gateway()
    client.seal_chunk(b"end", final=True)
    with pytest.raises(UsageError):
        client.seal_chunk(b"more", final=False)
    gateway.response_header()
    gateway.seal_chunk(b"end", final=True)
    with pytest.raises(UsageError):
        gateway.seal_chunk(b"more", final=True)


def test_response_header_comes_first_and_once() -> None:
    _, gateway = _gateway()
    with pytest.raises(UsageError):
        gateway.seal_chunk(b"x", final=False)
    gateway.response_header()
    with pytest.raises(UsageError):
        gateway.response_header()


def test_context_is_unavailable_before_the_header() -> None:
    decoder = ChunkedRequestDecoder(KEYS)
    decoder.feed(b"\x05\x00")
    with pytest.raises(UsageError):
        _ = decoder.context


def test_oversize_plaintext_chunk_is_a_usage_error() -> None:
    _, client = encapsulate_chunked_request(KEY.config)
    with pytest.raises(UsageError):
        client.seal_chunk(bytes(MAX_OHTTP_CHUNK + 1), final=False)


def test_decoder_refuses_use_after_close_or_failure() -> None:
    head, framed, _ = _request([b"end"])
    _, _, decoder = _decode_request(head + framed[0])
    with pytest.raises(UsageError):
        decoder.feed(b"")
    failed = ChunkedRequestDecoder({6: KEY})
    with pytest.raises(UnknownKeyError):
        failed.feed(head)
    with pytest.raises(UsageError):
        failed.feed(b"")


# --- garbage is rejected with our error type, never a crash ------------------------------------


@settings(max_examples=200)
@given(st.binary(max_size=200), st.lists(st.integers(min_value=0, max_value=400), max_size=5))
def test_garbage_request_stream_raises_only_our_errors(data: bytes, cuts: list[int]) -> None:
    decoder = ChunkedRequestDecoder(KEYS)
    try:
        for piece in _split(b"\x05" + data, cuts):
            decoder.feed(piece)
        decoder.close()
    except PrivcloudError:
        pass


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_garbage_response_stream_raises_only_our_errors(data: bytes) -> None:
    client, _ = _gateway()
    decoder = client.response_decoder()
    with pytest.raises(PrivcloudError):
        decoder.feed(data)
        decoder.close()
