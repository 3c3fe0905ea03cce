"""Oblivious HTTP (RFC 9458): the Appendix A worked example byte for byte, round trips, and the
attacks the gateway and client must refuse.

Provenance of the golden bytes: ``../shared/vectors/ohttp/rfc9458_appendix_a.json``, transcribed
from RFC 9458 Appendix A (see the file's ``_notes`` and ../shared/vectors/PROVENANCE.md).
"""

from __future__ import annotations

import contextlib
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud.crypto import hpke
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import (
    CryptoError,
    DecodeError,
    PrivcloudError,
    TooLargeError,
    UnknownKeyError,
    UnsupportedError,
    UsageError,
)
from privcloud.limits import MAX_OHTTP_KEY_CONFIGS, MAX_OHTTP_REQUEST
from privcloud.ohttp import (
    DEFAULT_SUITES,
    GatewayKey,
    KeyConfig,
    SymmetricSuite,
    decapsulate_request,
    decode_key_configs,
    encapsulate_request,
    encode_key_configs,
    prepare_encapsulation,
)
from vectors import shared_vector

X25519 = hpke.KemId.DHKEM_X25519_HKDF_SHA256
AES128 = SymmetricSuite(KdfId.HKDF_SHA256, AeadId.AES_128_GCM)
CHACHA = SymmetricSuite(KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305)


def _appendix_a() -> dict[str, bytes]:
    raw: dict[str, Any] = json.loads(shared_vector("ohttp", "rfc9458_appendix_a.json").read_text())
    return {k: bytes.fromhex(v) for k, v in raw.items() if isinstance(v, str)}


@pytest.fixture(scope="module")
def vec() -> dict[str, bytes]:
    return _appendix_a()


@pytest.fixture(scope="module")
def gateway_key(vec: dict[str, bytes]) -> GatewayKey:
    private = hpke.load_private_key(X25519, vec["gateway_sk_x25519"])
    # Appendix A's configuration offers (HKDF-SHA256, AES-128-GCM) and (HKDF-SHA256, ChaCha20).
    return GatewayKey(1, private, (AES128, CHACHA))


@pytest.fixture(scope="module")
def key() -> GatewayKey:
    return GatewayKey.generate(7)


# --- RFC 9458 Appendix A, both ways ----------------------------------------------------------


def test_appendix_a_key_config_encodes_to_the_vector(
    vec: dict[str, bytes], gateway_key: GatewayKey
) -> None:
    assert gateway_key.config.encode() == vec["key_config"]
    assert KeyConfig.decode(vec["key_config"]) == gateway_key.config


def test_appendix_a_request_encapsulates_to_the_vector(
    vec: dict[str, bytes], gateway_key: GatewayKey
) -> None:
    config = KeyConfig.decode(vec["key_config"])
    ephemeral = hpke.load_private_key(X25519, vec["client_ephemeral_sk"])
    assert ephemeral.public_bytes == vec["client_ephemeral_pk_enc"]
    enc_request, _ = encapsulate_request(config, vec["request_bhttp"], ephemeral=ephemeral)
    assert enc_request == vec["encapsulated_request"]


def test_appendix_a_request_prepared_ahead_encapsulates_to_the_vector(
    vec: dict[str, bytes], gateway_key: GatewayKey
) -> None:
    """Steps 1-3 done before the request exists give the same bytes as all four at once."""
    config = KeyConfig.decode(vec["key_config"])
    ephemeral = hpke.load_private_key(X25519, vec["client_ephemeral_sk"])
    prepared = prepare_encapsulation(config, ephemeral=ephemeral)
    enc_request, _ = prepared.seal(vec["request_bhttp"])
    assert enc_request == vec["encapsulated_request"]


def test_prepared_encapsulation_reused_for_a_second_request_is_refused(key: GatewayKey) -> None:
    """A second request under one HPKE sender context would be sealed under the next nonce
    of a context the gateway opens once: the prepared encapsulation refuses it, and cannot be
    pickled out of the process."""
    prepared = prepare_encapsulation(key.config)
    enc_request, client = prepared.seal(b"first")
    with pytest.raises(UsageError):
        prepared.seal(b"second")
    assert prepared.used and "secret" in repr(prepared)
    with pytest.raises(UsageError):
        pickle.dumps(prepare_encapsulation(key.config))
    request, gateway = decapsulate_request({key.config.key_id: key}, enc_request)
    assert request == b"first"
    assert client.decapsulate_response(gateway.encapsulate_response(b"ok")) == b"ok"


def test_appendix_a_gateway_decapsulates_the_vector(
    vec: dict[str, bytes], gateway_key: GatewayKey
) -> None:
    request, _ = decapsulate_request({1: gateway_key}, vec["encapsulated_request"])
    assert request == vec["request_bhttp"]


def test_appendix_a_response_encapsulates_to_the_vector(
    vec: dict[str, bytes], gateway_key: GatewayKey
) -> None:
    _, gateway = decapsulate_request({1: gateway_key}, vec["encapsulated_request"])
    enc_response = gateway.encapsulate_response(
        vec["response_bhttp"], response_nonce=vec["response_nonce"]
    )
    assert enc_response == vec["encapsulated_response"]


def test_appendix_a_client_decapsulates_the_vector_response(vec: dict[str, bytes]) -> None:
    config = KeyConfig.decode(vec["key_config"])
    ephemeral = hpke.load_private_key(X25519, vec["client_ephemeral_sk"])
    _, client = encapsulate_request(config, vec["request_bhttp"], ephemeral=ephemeral)
    assert client.decapsulate_response(vec["encapsulated_response"]) == vec["response_bhttp"]


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("suite", [AES128, CHACHA], ids=["aes128gcm", "chacha20"])
def test_round_trip(key: GatewayKey, suite: SymmetricSuite) -> None:
    enc_request, client = encapsulate_request(key.config, b"hello gateway", suite=suite)
    request, gateway = decapsulate_request({key.key_id: key}, enc_request)
    assert request == b"hello gateway"
    enc_response = gateway.encapsulate_response(b"hello client")
    assert client.decapsulate_response(enc_response) == b"hello client"


@pytest.mark.parametrize(
    ("kem", "suite"),
    [
        (hpke.KemId.DHKEM_P256_HKDF_SHA256, SymmetricSuite(KdfId.HKDF_SHA256, AeadId.AES_128_GCM)),
        (hpke.KemId.DHKEM_X448_HKDF_SHA512, SymmetricSuite(KdfId.HKDF_SHA512, AeadId.AES_256_GCM)),
    ],
)
def test_round_trip_other_kems(kem: hpke.KemId, suite: SymmetricSuite) -> None:
    key = GatewayKey.generate(3, kem=kem, suites=(suite,))
    assert KeyConfig.decode(key.config.encode()) == key.config
    enc_request, client = encapsulate_request(key.config, b"")
    request, gateway = decapsulate_request({3: key}, enc_request)
    assert request == b""
    assert client.decapsulate_response(gateway.encapsulate_response(b"x" * 1000)) == b"x" * 1000


def test_fresh_encapsulations_differ(key: GatewayKey) -> None:
    a, _ = encapsulate_request(key.config, b"same")
    b, _ = encapsulate_request(key.config, b"same")
    assert a != b


def test_deterministic_with_injected_randomness(key: GatewayKey) -> None:
    def rand(n: int) -> bytes:
        return bytes(range(1, n + 1))

    a, _ = encapsulate_request(key.config, b"same", rand=rand)
    b, _ = encapsulate_request(key.config, b"same", rand=rand)
    assert a == b


# --- attacks and misuse ------------------------------------------------------------------------


def test_unknown_key_id_is_refused(key: GatewayKey) -> None:
    enc_request, _ = encapsulate_request(key.config, b"req")
    with pytest.raises(UnknownKeyError):
        decapsulate_request({key.key_id + 1: key}, enc_request)


def test_tampered_request_byte_is_detected(key: GatewayKey) -> None:
    enc_request, _ = encapsulate_request(key.config, b"tiny")
    for i in range(len(enc_request)):
        tampered = bytearray(enc_request)
        tampered[i] ^= 0x01
        with pytest.raises(PrivcloudError):
            decapsulate_request({key.key_id: key}, bytes(tampered))


def test_tampered_response_is_detected(key: GatewayKey) -> None:
    enc_request, client = encapsulate_request(key.config, b"req")
    _, gateway = decapsulate_request({key.key_id: key}, enc_request)
    enc_response = gateway.encapsulate_response(b"response body")
    for i in range(len(enc_response)):
        tampered = bytearray(enc_response)
        tampered[i] ^= 0x80
        with pytest.raises(CryptoError):
            client.decapsulate_response(bytes(tampered))


def test_response_cannot_be_opened_by_another_request_context(key: GatewayKey) -> None:
    enc_a, client_a = encapsulate_request(key.config, b"a")
    enc_b, _client_b = encapsulate_request(key.config, b"b")
    _, gateway_b = decapsulate_request({key.key_id: key}, enc_b)
    response_b = gateway_b.encapsulate_response(b"for b only")
    with pytest.raises(CryptoError):
        client_a.decapsulate_response(response_b)
    del enc_a


def test_truncated_request_is_refused(key: GatewayKey) -> None:
    enc_request, _ = encapsulate_request(key.config, b"req")
    for n in range(len(enc_request)):
        with pytest.raises((DecodeError, CryptoError)):
            decapsulate_request({key.key_id: key}, enc_request[:n])


def test_truncated_response_is_refused(key: GatewayKey) -> None:
    enc_request, client = encapsulate_request(key.config, b"req")
    _, gateway = decapsulate_request({key.key_id: key}, enc_request)
    enc_response = gateway.encapsulate_response(b"resp")
    for n in range(len(enc_response)):
        with pytest.raises((DecodeError, CryptoError)):
            client.decapsulate_response(enc_response[:n])


def test_suite_not_offered_by_the_key_is_refused(key: GatewayKey) -> None:
    narrow = GatewayKey(key.key_id, key.private_key, (AES128,))
    enc_request, _ = encapsulate_request(key.config, b"req", suite=CHACHA)
    with pytest.raises(UnsupportedError):
        decapsulate_request({key.key_id: narrow}, enc_request)


def test_kem_mismatch_is_refused(key: GatewayKey) -> None:
    enc_request = bytearray(encapsulate_request(key.config, b"req")[0])
    enc_request[1:3] = (0x0010).to_bytes(2, "big")
    with pytest.raises(UnsupportedError):
        decapsulate_request({key.key_id: key}, bytes(enc_request))


def test_unknown_aead_id_is_refused(key: GatewayKey) -> None:
    enc_request = bytearray(encapsulate_request(key.config, b"req")[0])
    enc_request[5:7] = (0xFFFF).to_bytes(2, "big")
    with pytest.raises(UnsupportedError):
        decapsulate_request({key.key_id: key}, bytes(enc_request))


def test_oversize_request_is_refused_before_parsing(key: GatewayKey) -> None:
    with pytest.raises(TooLargeError):
        decapsulate_request({key.key_id: key}, bytes(MAX_OHTTP_REQUEST + 1))


def test_client_refuses_a_suite_the_config_does_not_offer(key: GatewayKey) -> None:
    other = SymmetricSuite(KdfId.HKDF_SHA512, AeadId.AES_256_GCM)
    with pytest.raises(UsageError):
        encapsulate_request(key.config, b"req", suite=other)


def test_gateway_answers_once(key: GatewayKey) -> None:
    enc_request, _ = encapsulate_request(key.config, b"req")
    _, gateway = decapsulate_request({key.key_id: key}, enc_request)
    gateway.encapsulate_response(b"one")
    with pytest.raises(UsageError):
        gateway.encapsulate_response(b"two")


def test_response_nonce_of_wrong_length_is_refused(key: GatewayKey) -> None:
    enc_request, _ = encapsulate_request(key.config, b"req")
    _, gateway = decapsulate_request({key.key_id: key}, enc_request)
    with pytest.raises(UsageError):
        gateway.encapsulate_response(b"resp", response_nonce=bytes(15))


def test_export_only_aead_cannot_be_offered() -> None:
    with pytest.raises(UsageError):
        SymmetricSuite(KdfId.HKDF_SHA256, AeadId.EXPORT_ONLY)


def test_private_key_is_not_in_repr(key: GatewayKey) -> None:
    assert key.private_key.private_bytes().hex() not in repr(key)


# --- key configurations ------------------------------------------------------------------------


def test_key_config_list_round_trips(vec: dict[str, bytes], key: GatewayKey) -> None:
    configs = [KeyConfig.decode(vec["key_config"]), key.config]
    encoded = encode_key_configs(configs)
    assert encoded[:2] == len(vec["key_config"]).to_bytes(2, "big")
    assert decode_key_configs(encoded) == configs


def test_key_config_list_skips_unsupported_kem(key: GatewayKey) -> None:
    unknown = b"\x09\x00\x99" + bytes(32) + b"\x00\x04\x00\x01\x00\x01"
    doc = len(unknown).to_bytes(2, "big") + unknown + encode_key_configs([key.config])
    assert decode_key_configs(doc) == [key.config]


def test_key_config_skips_unknown_symmetric_algorithms(key: GatewayKey) -> None:
    encoded = bytearray(key.config.encode())
    # Replace the algorithm list by: (KDF 0x0009, AEAD 1), (KDF 1, export-only), (KDF 1, AEAD 1).
    pk_end = 3 + X25519.public_key_size
    encoded[pk_end:] = b"\x00\x0c" + b"\x00\x09\x00\x01" + b"\x00\x01\xff\xff" + b"\x00\x01\x00\x01"
    assert KeyConfig.decode(bytes(encoded)).suites == (AES128,)


def test_key_config_with_no_usable_suite_is_unsupported(key: GatewayKey) -> None:
    encoded = bytearray(key.config.encode())
    pk_end = 3 + X25519.public_key_size
    encoded[pk_end:] = b"\x00\x04\x00\x01\xff\xff"
    with pytest.raises(UnsupportedError):
        KeyConfig.decode(bytes(encoded))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b[:-1], id="truncated"),
        pytest.param(lambda b: b + b"\x00", id="trailing-byte"),
        pytest.param(lambda b: b[:2], id="no-public-key"),
        pytest.param(lambda b: b[:35] + b"\x00\x00", id="empty-suite-list"),
        pytest.param(lambda b: b[:35] + b"\x00\x03\x00\x01\x00", id="suite-list-not-multiple-of-4"),
        pytest.param(lambda b: b[:35] + b"\x00\x0c" + b[37:], id="suite-length-overstated"),
    ],
)
def test_malformed_key_config_is_refused(key: GatewayKey, mutate: Any) -> None:
    with pytest.raises(DecodeError):
        KeyConfig.decode(mutate(key.config.encode()))


def test_key_config_with_invalid_point_is_refused() -> None:
    p256 = GatewayKey.generate(2, kem=hpke.KemId.DHKEM_P256_HKDF_SHA256).config.encode()
    bad = bytearray(p256)
    bad[3] = 0x05  # not an uncompressed-point marker
    with pytest.raises(DecodeError):
        KeyConfig.decode(bytes(bad))


def test_key_config_with_too_many_suites_is_too_large(key: GatewayKey) -> None:
    pk_end = 3 + X25519.public_key_size
    n = 17
    body = key.config.encode()[:pk_end] + (4 * n).to_bytes(2, "big") + b"\x00\x01\x00\x01" * n
    with pytest.raises(TooLargeError):
        KeyConfig.decode(body)


def test_too_many_key_configs_is_too_large(key: GatewayKey) -> None:
    one = key.config.encode()
    doc = (len(one).to_bytes(2, "big") + one) * (MAX_OHTTP_KEY_CONFIGS + 1)
    with pytest.raises(TooLargeError):
        decode_key_configs(doc)


@pytest.mark.parametrize(
    "doc", [b"", b"\x00", b"\x00\x00", b"\x00\x05abc"], ids=["empty", "half-len", "zero", "short"]
)
def test_malformed_key_config_list_is_refused(doc: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_key_configs(doc)


def test_key_config_is_valid_by_construction() -> None:
    with pytest.raises(UsageError):
        KeyConfig(256, X25519, bytes(32), DEFAULT_SUITES)
    with pytest.raises(UsageError):
        KeyConfig(1, X25519, bytes(31), DEFAULT_SUITES)
    with pytest.raises(UsageError):
        KeyConfig(1, X25519, bytes(32), ())


# --- garbage is rejected with our error type, never a crash ------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_key_config_raises_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(PrivcloudError):
        KeyConfig.decode(data)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_key_config_list_raises_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(PrivcloudError):
        decode_key_configs(data)


_KEY = GatewayKey.generate(0)


@settings(max_examples=300)
@given(st.binary(max_size=120).map(lambda b: b"\x00" + b))
def test_garbage_request_raises_only_our_errors(data: bytes) -> None:
    with pytest.raises(PrivcloudError):
        decapsulate_request({0: _KEY}, data)


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_garbage_response_raises_only_our_errors(data: bytes) -> None:
    _, client = encapsulate_request(_KEY.config, b"req")
    with pytest.raises(PrivcloudError):
        client.decapsulate_response(data)
