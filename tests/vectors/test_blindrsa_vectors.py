"""RSA blind signatures (RFC 9474) against the RFC's Appendix A vectors, step by step.

Vectors: ../shared/vectors/blind-rsa/test_vectors_rfc9474.json (RFC 9474 Appendix A, as shipped
by cloudflare/blindrsa-ts); the RSASSA-PSS SPKI comes from the RFC 9578 token vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud.crypto import blindrsa
from privcloud.crypto.blindrsa import Variant
from privcloud.errors import (
    ConfigError,
    CryptoError,
    DecodeError,
    InternalError,
    UsageError,
)
from vectors import shared_vector


def _load() -> list[dict[str, Any]]:
    path = shared_vector("blind-rsa", "test_vectors_rfc9474.json")
    return list(json.loads(path.read_text()))


@cache
def _pp_vector() -> dict[str, Any]:
    path = shared_vector("privacypass", "pub_verif_rfc9578.go.json")
    return dict(json.loads(path.read_text())[0])


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _i(value: str) -> int:
    return int(value, 16)


@cache
def _key(p: int, q: int, d: int, e: int) -> rsa.RSAPrivateKey:
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def _vector_key(v: dict[str, Any]) -> rsa.RSAPrivateKey:
    key = _key(_i(v["p"]), _i(v["q"]), _i(v["d"]), _i(v["e"]))
    assert key.public_key().public_numbers().n == _i(v["n"])
    return key


def _seeded(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic byte stream (SHAKE-256 of a seed and a counter), for repeatable tests."""
    counter = iter(range(1 << 30))
    return lambda n: hashlib.shake_256(seed + next(counter).to_bytes(4, "big")).digest(n)


VARIANT_NAMES = [variant.value for variant in Variant]


@pytest.fixture(params=VARIANT_NAMES)
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    by_name = {v["name"]: v for v in _load()}
    if request.param not in by_name:
        pytest.fail(f"vector file lacks {request.param}")
    return by_name[request.param]


def test_every_variant_has_a_vector() -> None:
    assert sorted(v["name"] for v in _load()) == sorted(VARIANT_NAMES)


def test_vector_steps_are_reproduced_byte_exactly(vector: dict[str, Any]) -> None:
    variant = Variant(vector["name"])
    key = _vector_key(vector)
    public_key = key.public_key()
    n, e = _i(vector["n"]), _i(vector["e"])
    assert variant.salt_length == _i(vector["sLen"])
    assert variant.randomized == bool(_i(vector["is_randomized"]))

    # §4.1 Prepare, with the vector's prefix as the randomness.
    prefix = _h(vector["msg_prefix"])
    prepared = blindrsa.prepare(
        _h(vector["msg"]), randomized=variant.randomized, rand=lambda _n: prefix
    )
    assert prepared.hex() == vector["input_msg"]

    # EMSA-PSS-ENCODE with the vector's salt (one vector omits encoded_msg: derive it).
    salt = _h(vector["salt"])
    encoded = blindrsa.emsa_pss_encode(prepared, n.bit_length() - 1, salt)
    inv = _i(vector["inv"])
    blinded_int = _i(vector["blinded_msg"])
    if "encoded_msg" in vector:
        assert encoded.hex() == vector["encoded_msg"]
    assert int.from_bytes(encoded, "big") == blinded_int * pow(inv, e, n) % n

    # §4.2 Blind, with r = inv^-1.
    blinded, inv_bytes = blindrsa.blind(
        public_key, prepared, variant=variant, r=pow(inv, -1, n), salt=salt
    )
    assert blinded.hex() == vector["blinded_msg"]
    assert int.from_bytes(inv_bytes, "big") == inv
    assert len(inv_bytes) == (n.bit_length() + 7) // 8  # the vectors use a 4096-bit key

    # §4.3 BlindSign.
    blind_sig = blindrsa.blind_sign(key, blinded)
    assert blind_sig.hex() == vector["blind_sig"]

    # §4.4 Finalize, §4.5 Verify.
    sig = blindrsa.finalize(public_key, prepared, blind_sig, inv_bytes, variant=variant)
    assert sig.hex() == vector["sig"]
    blindrsa.verify(public_key, prepared, _h(vector["sig"]), variant=variant)


def test_fresh_round_trip_with_real_randomness(vector: dict[str, Any]) -> None:
    variant = Variant(vector["name"])
    key = _vector_key(vector)
    prepared = blindrsa.prepare(b"hello", randomized=variant.randomized)
    assert len(prepared) == (37 if variant.randomized else 5)
    blinded, inv = blindrsa.blind(key.public_key(), prepared, variant=variant)
    sig = blindrsa.finalize(
        key.public_key(), prepared, blindrsa.blind_sign(key, blinded), inv, variant=variant
    )
    blindrsa.verify(key.public_key(), prepared, sig, variant=variant)


def test_side_channel_blinding_does_not_change_the_signature(vector: dict[str, Any]) -> None:
    key = _vector_key(vector)
    blinded = _h(vector["blinded_msg"])
    first = blindrsa.blind_sign(key, blinded, rand=_seeded(b"one"))
    second = blindrsa.blind_sign(key, blinded, rand=_seeded(b"two"))
    assert first == second == _h(vector["blind_sig"])


# --- negative vectors ------------------------------------------------------------------------


def test_altered_signature_is_refused(vector: dict[str, Any]) -> None:
    variant = Variant(vector["name"])
    sig = bytearray(_h(vector["sig"]))
    sig[-1] ^= 1
    with pytest.raises(CryptoError):
        blindrsa.verify(
            _vector_key(vector).public_key(), _h(vector["input_msg"]), bytes(sig), variant=variant
        )


def test_signature_over_another_message_is_refused(vector: dict[str, Any]) -> None:
    variant = Variant(vector["name"])
    with pytest.raises(CryptoError):
        blindrsa.verify(
            _vector_key(vector).public_key(),
            _h(vector["input_msg"]) + b"x",
            _h(vector["sig"]),
            variant=variant,
        )


def test_signature_checked_under_the_other_salt_length_is_refused(
    vector: dict[str, Any],
) -> None:
    variant = Variant(vector["name"])
    other = {
        Variant.SHA384_PSS_RANDOMIZED: Variant.SHA384_PSSZERO_RANDOMIZED,
        Variant.SHA384_PSSZERO_RANDOMIZED: Variant.SHA384_PSS_RANDOMIZED,
        Variant.SHA384_PSS_DETERMINISTIC: Variant.SHA384_PSSZERO_DETERMINISTIC,
        Variant.SHA384_PSSZERO_DETERMINISTIC: Variant.SHA384_PSS_DETERMINISTIC,
    }[variant]
    with pytest.raises(CryptoError):
        blindrsa.verify(
            _vector_key(vector).public_key(),
            _h(vector["input_msg"]),
            _h(vector["sig"]),
            variant=other,
        )


def test_tampered_blind_signature_is_refused_at_finalize(vector: dict[str, Any]) -> None:
    variant = Variant(vector["name"])
    blind_sig = bytearray(_h(vector["blind_sig"]))
    blind_sig[10] ^= 0x40
    inv = _h(vector["blinded_msg"])  # only its length matters before the check
    inv = _i(vector["inv"]).to_bytes(len(inv), "big")
    with pytest.raises(CryptoError):
        blindrsa.finalize(
            _vector_key(vector).public_key(),
            _h(vector["input_msg"]),
            bytes(blind_sig),
            inv,
            variant=variant,
        )
    with pytest.raises(DecodeError):
        blindrsa.finalize(
            _vector_key(vector).public_key(),
            _h(vector["input_msg"]),
            _h(vector["blind_sig"])[1:],
            inv,
            variant=variant,
        )


def test_blinded_message_not_below_n_is_refused(vector: dict[str, Any]) -> None:
    key = _vector_key(vector)
    n = _i(vector["n"])
    size = (n.bit_length() + 7) // 8
    for value in (n, n + 1, 2 ** (8 * size) - 1):
        with pytest.raises(DecodeError):
            blindrsa.blind_sign(key, value.to_bytes(size, "big"))


def test_blinded_message_of_wrong_length_is_refused(vector: dict[str, Any]) -> None:
    key = _vector_key(vector)
    blinded = _h(vector["blinded_msg"])
    for bad in (b"", blinded[1:], b"\x00" + blinded):
        with pytest.raises(DecodeError):
            blindrsa.blind_sign(key, bad)


def test_faulty_signature_is_never_released(
    vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _vector_key(vector)
    monkeypatch.setattr(blindrsa, "_rsasp1_blinded", lambda _priv, m, _rand: m + 1)
    with pytest.raises(InternalError, match="signing failure"):
        blindrsa.blind_sign(key, _h(vector["blinded_msg"]))


def test_wrong_salt_length_is_a_usage_error() -> None:
    v = _load()[0]
    with pytest.raises(UsageError):
        blindrsa.blind(
            _vector_key(v).public_key(), b"m", variant=Variant.SHA384_PSS_RANDOMIZED, salt=b"x"
        )


# --- keys and the RSASSA-PSS SPKI of RFC 9578 §6.5 -------------------------------------------


def test_pss_spki_round_trips_the_privacy_pass_vector_key() -> None:
    v = _pp_vector()
    spki = _h(v["pkS"])
    public_key = blindrsa.rsa_pss_public_key_from_spki(spki)
    assert blindrsa.rsa_pss_public_key_to_spki(public_key) == spki
    private_key = blindrsa.private_key_from_pem(_h(v["skS"]))
    assert private_key.public_key().public_numbers() == public_key.public_numbers()
    assert blindrsa.rsa_pss_public_key_to_spki(private_key.public_key()) == spki
    # The generic loader accepts both encodings of the same key.
    plain = blindrsa.rsa_public_key_to_spki(public_key)
    assert blindrsa.rsa_public_key_from_spki(plain).public_numbers() == public_key.public_numbers()
    assert blindrsa.rsa_public_key_from_spki(spki).public_numbers() == public_key.public_numbers()


def test_pss_spki_with_other_parameters_is_refused() -> None:
    spki = _h(_pp_vector()["pkS"])
    public_key = blindrsa.rsa_pss_public_key_from_spki(spki)
    salt_at = spki.index(bytes.fromhex("a203020130"))
    bad_salt = spki[: salt_at + 4] + b"\x20" + spki[salt_at + 5 :]  # saltLength 32
    cases = [
        blindrsa.rsa_public_key_to_spki(public_key),  # rsaEncryption, not RSASSA-PSS
        bad_salt,
        spki + b"\x00",
        spki[:-1],
        b"",
        b"\x30\x80" + spki[4:],  # indefinite length
    ]
    for bad in cases:
        with pytest.raises(DecodeError):
            blindrsa.rsa_pss_public_key_from_spki(bad)


def test_small_key_from_a_peer_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(DecodeError):
        blindrsa.rsa_pss_public_key_from_spki(
            blindrsa.rsa_pss_public_key_to_spki(small.public_key())
        )
    with pytest.raises(DecodeError):
        blindrsa.rsa_public_key_from_spki(blindrsa.rsa_public_key_to_spki(small.public_key()))


def test_private_key_serialization_round_trips() -> None:
    key = blindrsa.private_key_from_pem(_h(_pp_vector()["skS"]))
    der = blindrsa.private_key_to_der(key)
    assert blindrsa.private_key_from_der(der).private_numbers() == key.private_numbers()
    pem = blindrsa.private_key_to_pem(key)
    assert blindrsa.private_key_from_pem(pem).private_numbers() == key.private_numbers()
    with pytest.raises(ConfigError):
        blindrsa.private_key_from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    with pytest.raises(ConfigError):
        blindrsa.private_key_from_der(der[:-1])
    with pytest.raises(UsageError):
        blindrsa.generate_private_key(1024)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_spki_raises_only_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        blindrsa.rsa_pss_public_key_from_spki(data)
    with pytest.raises(DecodeError):
        blindrsa.rsa_public_key_from_spki(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 7))
def test_bit_flipped_pss_spki_is_refused_or_another_key(position: int, bit: int) -> None:
    spki = bytearray(_h(_pp_vector()["pkS"]))
    position %= len(spki)
    spki[position] ^= 1 << bit
    try:
        key = blindrsa.rsa_pss_public_key_from_spki(bytes(spki))
    except DecodeError:
        return
    # A flip inside the modulus may still parse; it must then be a different key.
    assert blindrsa.rsa_pss_public_key_to_spki(key) == bytes(spki)
