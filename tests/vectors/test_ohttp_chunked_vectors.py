"""Chunked Oblivious HTTP pinned by the draft's own worked example, byte for byte, both ways.

Provenance of the golden bytes: ``../shared/vectors/ohttp/chunked_ohttp_draft_example.json``,
transcribed from Appendix A ("Example") of draft-ietf-ohai-chunked-ohttp-08 (the repository
ietf-wg-ohai/draft-ohai-chunked-ohttp at tag ``draft-ietf-ohai-chunked-ohttp-08``, commit
5abd05c4, 2026-02-18; see ../shared/vectors/PROVENANCE.md). The draft's example was generated
with martinthomson/ohttp (an independent implementation, over NSS).

Unlike the property tests in test_ohttp_chunked.py, these tests do not skip when the file is
missing: they are the only independent check that our chunked OHTTP interoperates, so a missing
vector is a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from privcloud.crypto import hpke
from privcloud.crypto.symmetric import Aead, AeadId, KdfId, hkdf_expand, hkdf_extract
from privcloud.errors import CryptoError
from privcloud.limits import MAX_OHTTP_CHUNK
from privcloud.ohttp import (
    GatewayKey,
    KeyConfig,
    SymmetricSuite,
    encapsulate_chunked_request,
)
from privcloud.ohttp.chunked import (
    CHUNKED_REQUEST_LABEL,
    CHUNKED_RESPONSE_LABEL,
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    ChunkedGatewayContext,
    ChunkedRequestDecoder,
)
from privcloud.wire import varint

X25519 = hpke.KemId.DHKEM_X25519_HKDF_SHA256
AES128 = SymmetricSuite(KdfId.HKDF_SHA256, AeadId.AES_128_GCM)
CHACHA = SymmetricSuite(KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305)

_VECTOR = ("ohttp", "chunked_ohttp_draft_example.json")

# The draft's example splits the 25-byte request as 12 + 13 bytes + an empty final chunk, and
# the 3-byte response as 1 + 2 bytes + an empty final chunk (Appendix A).
_REQUEST_SPLIT = (12, 13, 0)
_RESPONSE_SPLIT = (1, 2, 0)


def _required_vector(*parts: str) -> Path:
    """Path of a file under ``../shared/vectors``; fails (never skips) when it is absent."""
    path = Path(__file__).resolve().parents[3].joinpath("shared", "vectors", *parts)
    if not path.is_file():
        pytest.fail(f"required test vector missing: ../shared/vectors/{'/'.join(parts)}")
    return path


def _split(data: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    assert sum(sizes) == len(data)
    out, start = [], 0
    for size in sizes:
        out.append(data[start : start + size])
        start += size
    return out


class Example:
    """The draft's Appendix A, decoded from hex."""

    def __init__(self, raw: dict[str, Any]) -> None:
        def hx(name: str) -> bytes:
            return bytes.fromhex(raw[name])

        self.gateway_sk = hx("gateway_sk_x25519")
        self.key_config = hx("key_config")
        self.request = hx("request_bhttp")
        self.client_sk = hx("client_ephemeral_sk")
        self.client_pk = hx("client_ephemeral_pk")
        self.hpke_info = hx("hpke_info")
        self.encapsulated_request = hx("encapsulated_request")
        self.response = hx("response_bhttp")
        self.secret = hx("response_secret_export")
        self.salt = hx("response_salt")
        self.prk = hx("response_prk")
        self.aead_key = hx("response_aead_key")
        self.aead_nonce = hx("response_aead_nonce")
        self.encapsulated_response = hx("encapsulated_response")
        self.response_chunk_nonces = [bytes.fromhex(n) for n in raw["response_chunk_nonces"]]
        req = raw["encapsulated_request_parts"]
        self.header = bytes.fromhex(req["header"])
        self.enc = bytes.fromhex(req["enc"])
        self.request_chunks = [bytes.fromhex(c) for c in req["chunks"]]
        res = raw["encapsulated_response_parts"]
        self.response_nonce = bytes.fromhex(res["response_nonce"])
        self.response_chunks = [bytes.fromhex(c) for c in res["chunks"]]


@pytest.fixture(scope="module")
def ex() -> Example:
    return Example(json.loads(_required_vector(*_VECTOR).read_text()))


@pytest.fixture(scope="module")
def gateway_key(ex: Example) -> GatewayKey:
    # The example's configuration offers (HKDF-SHA256, AES-128-GCM) and (HKDF-SHA256, ChaCha20).
    return GatewayKey(1, hpke.load_private_key(X25519, ex.gateway_sk), (AES128, CHACHA))


def _gateway_after_request(ex: Example, gateway_key: GatewayKey) -> ChunkedGatewayContext:
    decoder = ChunkedRequestDecoder({1: gateway_key})
    decoder.feed(ex.encapsulated_request)
    decoder.close()
    return decoder.context


# --- the vector file agrees with itself --------------------------------------------------------


def test_example_parts_concatenate_to_the_whole_messages(ex: Example) -> None:
    assert ex.header + ex.enc + b"".join(ex.request_chunks) == ex.encapsulated_request
    assert ex.response_nonce + b"".join(ex.response_chunks) == ex.encapsulated_response
    assert ex.salt == ex.enc + ex.response_nonce
    assert ex.enc == ex.client_pk


# --- §3, §8: media types ---------------------------------------------------------------------


def test_media_types_are_the_drafts() -> None:
    assert MEDIA_CHUNKED_REQUEST == "message/ohttp-chunked-req"
    assert MEDIA_CHUNKED_RESPONSE == "message/ohttp-chunked-res"


def test_receivers_accept_chunks_of_the_size_the_draft_requires() -> None:
    # §3: implementations MUST support receiving chunks of 2^14 octets of plaintext.
    assert MAX_OHTTP_CHUNK >= 1 << 14


# --- §4, §6.1: the request, both ways ---------------------------------------------------------


def test_example_key_config_encodes_to_the_vector(ex: Example, gateway_key: GatewayKey) -> None:
    assert gateway_key.config.encode() == ex.key_config
    assert KeyConfig.decode(ex.key_config) == gateway_key.config


def test_example_hpke_info_uses_the_chunked_request_label(ex: Example) -> None:
    # §6.1: info = "message/bhttp chunked request" || 0x00 || hdr.
    assert CHUNKED_REQUEST_LABEL + b"\x00" + ex.header == ex.hpke_info


def test_example_request_encapsulates_to_the_vector(ex: Example) -> None:
    config = KeyConfig.decode(ex.key_config)
    ephemeral = hpke.load_private_key(X25519, ex.client_sk)
    assert ephemeral.public_bytes == ex.client_pk
    head, client = encapsulate_chunked_request(config, ephemeral=ephemeral)
    assert head == ex.header + ex.enc
    pieces = _split(ex.request, _REQUEST_SPLIT)
    framed = [client.seal_chunk(p, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]
    assert framed == ex.request_chunks
    assert head + b"".join(framed) == ex.encapsulated_request


def test_example_gateway_decapsulates_the_vector_request(
    ex: Example, gateway_key: GatewayKey
) -> None:
    decoder = ChunkedRequestDecoder({1: gateway_key})
    chunks = decoder.feed(ex.encapsulated_request)
    final = decoder.close()
    assert [*chunks, final] == _split(ex.request, _REQUEST_SPLIT)
    assert decoder.context.suite == AES128


def test_example_request_decodes_fed_one_byte_at_a_time(
    ex: Example, gateway_key: GatewayKey
) -> None:
    decoder = ChunkedRequestDecoder({1: gateway_key})
    chunks: list[bytes] = []
    for i in range(len(ex.encapsulated_request)):
        chunks += decoder.feed(ex.encapsulated_request[i : i + 1])
    assert [*chunks, decoder.close()] == _split(ex.request, _REQUEST_SPLIT)


# --- §5, §6.2: the response, both ways --------------------------------------------------------


def test_example_response_keys_follow_the_drafts_derivation(ex: Example) -> None:
    # §6.2 step by step, with the primitives only: pins the exporter label, the salt, and the
    # "key"/"nonce" expansion labels independently of privcloud.ohttp.
    suite = AES128.hpke_suite(X25519)
    ephemeral = hpke.load_private_key(X25519, ex.client_sk)
    config = KeyConfig.decode(ex.key_config)
    enc, context = hpke.setup_base_sender(
        suite, config.public_key, ex.hpke_info, ephemeral=ephemeral
    )
    assert enc == ex.enc
    secret = context.export(CHUNKED_RESPONSE_LABEL, AES128.response_nonce_size)
    assert secret == ex.secret
    prk = hkdf_extract(KdfId.HKDF_SHA256, ex.enc + ex.response_nonce, secret)
    assert prk == ex.prk
    assert hkdf_expand(KdfId.HKDF_SHA256, prk, b"key", 16) == ex.aead_key
    assert hkdf_expand(KdfId.HKDF_SHA256, prk, b"nonce", 12) == ex.aead_nonce


def test_example_response_chunk_nonces_are_the_base_nonce_xor_the_counter(ex: Example) -> None:
    # §6.2: chunk_nonce = aead_nonce XOR encode(Nn, counter); the vector lists them in order.
    # Open each sealed chunk with exactly that nonce and the draft's AAD.
    aead = Aead(AeadId.AES_128_GCM, ex.aead_key)
    base = int.from_bytes(ex.aead_nonce, "big")
    expected = _split(ex.response, _RESPONSE_SPLIT)
    for counter, (nonce, framed) in enumerate(
        zip(ex.response_chunk_nonces, ex.response_chunks, strict=True)
    ):
        assert nonce == (base ^ counter).to_bytes(12, "big")
        length, start = varint.decode(framed)
        final = counter == len(ex.response_chunks) - 1
        assert length == (0 if final else len(framed) - start)
        aad = b"final" if final else b""
        assert aead.open(nonce, framed[start:], aad) == expected[counter]


def test_example_response_encapsulates_to_the_vector(ex: Example, gateway_key: GatewayKey) -> None:
    gateway = _gateway_after_request(ex, gateway_key)
    header = gateway.response_header(response_nonce=ex.response_nonce)
    assert header == ex.response_nonce
    pieces = _split(ex.response, _RESPONSE_SPLIT)
    framed = [gateway.seal_chunk(p, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]
    assert framed == ex.response_chunks
    assert header + b"".join(framed) == ex.encapsulated_response


def test_example_client_decapsulates_the_vector_response(ex: Example) -> None:
    config = KeyConfig.decode(ex.key_config)
    ephemeral = hpke.load_private_key(X25519, ex.client_sk)
    _, client = encapsulate_chunked_request(config, ephemeral=ephemeral)
    decoder = client.response_decoder()
    chunks = decoder.feed(ex.encapsulated_response)
    assert [*chunks, decoder.close()] == _split(ex.response, _RESPONSE_SPLIT)


def test_example_response_decodes_fed_one_byte_at_a_time(ex: Example) -> None:
    config = KeyConfig.decode(ex.key_config)
    _, client = encapsulate_chunked_request(
        config, ephemeral=hpke.load_private_key(X25519, ex.client_sk)
    )
    decoder = client.response_decoder()
    chunks: list[bytes] = []
    for i in range(len(ex.encapsulated_response)):
        chunks += decoder.feed(ex.encapsulated_response[i : i + 1])
    assert [*chunks, decoder.close()] == _split(ex.response, _RESPONSE_SPLIT)


# --- §6: the length prefix is not authenticated; order and finality are ---------------------


def _reframe(framed: bytes, width: int) -> bytes:
    """The same chunk with its length prefix in a longer (non-shortest) varint of ``width``."""
    length, start = varint.decode(framed)
    marker = {1: 0x00, 2: 0x40, 4: 0x80, 8: 0xC0}[width]
    prefix = length.to_bytes(width, "big")
    return bytes([prefix[0] | marker]) + prefix[1:] + framed[start:]


@pytest.mark.parametrize("width", [2, 4, 8])
def test_non_shortest_length_prefixes_are_accepted(
    ex: Example, gateway_key: GatewayKey, width: int
) -> None:
    # §6: "the variable-length encoding used for lengths allows for different expressions of
    # the same value"; the final chunk indicator too is any encoding of 0.
    stream = ex.header + ex.enc + b"".join(_reframe(c, width) for c in ex.request_chunks)
    decoder = ChunkedRequestDecoder({1: gateway_key})
    chunks = decoder.feed(stream)
    assert [*chunks, decoder.close()] == _split(ex.request, _REQUEST_SPLIT)


def test_example_truncated_after_a_non_final_chunk_is_refused(
    ex: Example, gateway_key: GatewayKey
) -> None:
    # §7.1: a message is complete only once a zero-length-prefixed chunk opened with "final".
    # A relay that cuts the stream and re-labels the last chunk it kept as final is caught.
    _, start = varint.decode(ex.request_chunks[1])
    forged = ex.header + ex.enc + ex.request_chunks[0] + b"\x00" + ex.request_chunks[1][start:]
    decoder = ChunkedRequestDecoder({1: gateway_key})
    decoder.feed(forged)
    with pytest.raises(CryptoError):
        decoder.close()


def test_empty_non_final_chunk_is_refused_as_a_decryption_error(
    ex: Example, gateway_key: GatewayKey
) -> None:
    # §6: "A receiver MUST treat the receipt of a chunk that contains no data as equivalent to
    # a decryption error, unless that chunk is the final chunk." An empty non-final chunk,
    # correctly sealed as chunk 0 of the example's request, must not be accepted.
    suite = AES128.hpke_suite(X25519)
    config = KeyConfig.decode(ex.key_config)
    ephemeral = hpke.load_private_key(X25519, ex.client_sk)
    _, context = hpke.setup_base_sender(suite, config.public_key, ex.hpke_info, ephemeral=ephemeral)
    sealed = context.seal(b"", b"")
    decoder = ChunkedRequestDecoder({1: gateway_key})
    with pytest.raises(CryptoError):
        decoder.feed(ex.header + ex.enc + varint.encode(len(sealed)) + sealed)


def test_empty_non_final_response_chunk_is_refused_as_a_decryption_error(ex: Example) -> None:
    aead = Aead(AeadId.AES_128_GCM, ex.aead_key)
    sealed = aead.seal(ex.response_chunk_nonces[0], b"", b"")
    config = KeyConfig.decode(ex.key_config)
    _, client = encapsulate_chunked_request(
        config, ephemeral=hpke.load_private_key(X25519, ex.client_sk)
    )
    decoder = client.response_decoder()
    with pytest.raises(CryptoError):
        decoder.feed(ex.response_nonce + varint.encode(len(sealed)) + sealed)
