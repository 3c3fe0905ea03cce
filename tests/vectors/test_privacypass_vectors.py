"""Privacy Pass token type 0x0002 (RFC 9578) and the PrivateToken scheme (RFC 9577) against
independent vectors, both ways.

Vectors (../shared/vectors/privacypass, from cloudflare/privacypass-ts ``test/test_data/``):
``pub_verif_rfc9578.go.json`` (RFC 9578 Appendix A.2: keys, challenge, nonce, blind ``r``, salt,
request, response, token), ``auth_scheme_token_v14.json`` (challenges and token authenticator
inputs) and ``auth_scheme_header_v14.json`` (WWW-Authenticate values).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from privcloud.crypto import blindrsa
from privcloud.privacypass import (
    IssuerKey,
    PrivateTokenChallenge,
    Token,
    TokenChallenge,
    TokenRequest,
    TokenResponse,
    challenge_digest,
    client_begin,
    client_finalize,
    encode_authorization,
    encode_www_authenticate,
    issuer_evaluate,
    parse_authorization,
    parse_www_authenticate,
    token_key_id,
    token_nonce,
    verify_token,
)
from vectors import shared_vector


def _load(name: str) -> list[dict[str, Any]]:
    return list(json.loads(shared_vector("privacypass", name).read_text()))


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _pub_verif() -> list[dict[str, Any]]:
    return _load("pub_verif_rfc9578.go.json")


@pytest.fixture(params=range(5), ids=lambda i: f"pub_verif[{i}]")
def pub_vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    vectors = _pub_verif()
    assert len(vectors) == 5
    return dict(vectors[request.param])


@pytest.fixture(params=range(5), ids=lambda i: f"token[{i}]")
def token_vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    vectors = _load("auth_scheme_token_v14.json")
    assert len(vectors) == 5
    return dict(vectors[request.param])


@pytest.fixture(params=range(2), ids=lambda i: f"header[{i}]")
def header_vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    vectors = _load("auth_scheme_header_v14.json")
    assert len(vectors) == 2
    return dict(vectors[request.param])


# --- RFC 9578 §6, token type 0x0002 ----------------------------------------------------------


def test_issuance_is_reproduced_byte_exactly(pub_vector: dict[str, Any]) -> None:
    v = pub_vector
    spki = _h(v["pkS"])
    private_key = blindrsa.private_key_from_pem(_h(v["skS"]))
    key = IssuerKey.from_spki(spki)
    assert key.key_id == token_key_id(spki)

    # Client: the request, with the vector's nonce, blind r and salt injected.
    request, state = client_begin(
        _h(v["token_challenge"]),
        spki,
        nonce=_h(v["nonce"]),
        blind_r=int(v["blind"], 16),
        salt=_h(v["salt"]),
    )
    assert request.hex() == v["token_request"]
    assert TokenRequest.decode(request).encode() == request

    # Issuer: the response (deterministic given the request).
    response = issuer_evaluate(private_key, request, key.key_id)
    assert response.hex() == v["token_response"]
    assert TokenResponse.decode(response).encode() == response

    # Client: the token.
    token = client_finalize(state, _h(v["token_response"]))
    assert token.encode().hex() == v["token"]
    assert Token.decode(_h(v["token"])) == token
    assert state.token_input == token.authenticator_input()

    # Origin: the token verifies against the vector's challenge and key.
    digest = challenge_digest(_h(v["token_challenge"]))
    verify_token(_h(v["token"]), {key.key_id: key}, challenge_digest=digest)
    assert token_nonce(_h(v["token"])) == _h(v["nonce"])


def test_vector_challenge_and_key_round_trip(pub_vector: dict[str, Any]) -> None:
    raw = _h(pub_vector["token_challenge"])
    challenge = TokenChallenge.decode(raw)
    assert challenge.token_type == 2
    assert challenge.issuer_name == b"issuer.example"
    assert challenge.encode() == raw
    key = IssuerKey.from_spki(_h(pub_vector["pkS"]))
    assert IssuerKey.from_public_key(key.public_key).spki == _h(pub_vector["pkS"])


def test_vector_token_travels_in_an_authorization_header(pub_vector: dict[str, Any]) -> None:
    token = _h(pub_vector["token"])
    header = encode_authorization(token)
    assert header.startswith('PrivateToken token="')
    assert parse_authorization(header) == token


# --- RFC 9577 §2.1, challenges and authenticator inputs --------------------------------------


def test_challenge_encoding_and_authenticator_input(token_vector: dict[str, Any]) -> None:
    v = token_vector
    challenge = TokenChallenge(
        token_type=int(v["token_type"], 16),
        issuer_name=_h(v["issuer_name"]),
        redemption_context=_h(v["redemption_context"]),
        origin_info=_h(v["origin_info"]),
    )
    encoded = challenge.encode()
    assert TokenChallenge.decode(encoded) == challenge
    expected = _h(v["token_authenticator_input"])
    built = _h(v["token_type"]) + _h(v["nonce"]) + challenge_digest(encoded) + _h(v["token_key_id"])
    assert built == expected
    token = Token(2, _h(v["nonce"]), challenge_digest(encoded), _h(v["token_key_id"]), bytes(256))
    assert token.authenticator_input() == expected


def test_origin_info_lists_are_split() -> None:
    vector = _load("auth_scheme_token_v14.json")[4]
    challenge = TokenChallenge(2, _h(vector["issuer_name"]), b"", _h(vector["origin_info"]))
    assert challenge.origin_names() == (b"foo.example", b"bar.example")


# --- RFC 9577 §2.1.1, WWW-Authenticate -------------------------------------------------------


def _expected_challenges(v: dict[str, Any]) -> list[tuple[int, bytes, bytes, int]]:
    out = []
    i = 0
    while f"token-type-{i}" in v:
        out.append(
            (
                int(v[f"token-type-{i}"]),
                _h(v[f"token-challenge-{i}"]),
                _h(v[f"token-key-{i}"]),
                int(v[f"max-age-{i}"]),
            )
        )
        i += 1
    return out


def test_www_authenticate_vector_parses(header_vector: dict[str, Any]) -> None:
    parsed = parse_www_authenticate(header_vector["WWW-Authenticate"])
    expected = _expected_challenges(header_vector)
    assert len(parsed) == len(expected) >= 1
    for got, (token_type, challenge, key, max_age) in zip(parsed, expected, strict=True):
        assert got.challenge == challenge
        assert got.token_key == key
        assert got.max_age == max_age
        assert got.token_challenge().token_type == token_type


def test_www_authenticate_encoding_round_trips(header_vector: dict[str, Any]) -> None:
    challenges = [
        PrivateTokenChallenge(challenge, key, max_age)
        for _type, challenge, key, max_age in _expected_challenges(header_vector)
    ]
    header = encode_www_authenticate(challenges)
    assert parse_www_authenticate(header) == challenges
    # Our encoding matches the vector's wherever the vector is not decorated.
    vector_header = header_vector["WWW-Authenticate"]
    first = header.split(", token-key=")[0]
    assert vector_header.startswith(first)
