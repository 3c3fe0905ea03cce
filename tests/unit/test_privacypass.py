"""Privacy Pass core: the full client -> issuer -> origin flow with a fresh key, the attacks it
must stop, the codecs' edges, and fuzzing (garbage is refused with our errors, never a crash)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privcloud.crypto import blindrsa
from privcloud.errors import (
    AuthenticationError,
    CryptoError,
    DecodeError,
    PrivcloudError,
    TooLargeError,
    UnknownKeyError,
    UnsupportedError,
    UsageError,
)
from privcloud.privacypass import (
    DirectoryKey,
    IssuerDirectory,
    IssuerKey,
    PrivateTokenChallenge,
    Token,
    TokenChallenge,
    TokenRequest,
    TokenResponse,
    b64url_decode,
    b64url_encode,
    challenge_digest,
    client_begin,
    client_finalize,
    encode_authorization,
    encode_www_authenticate,
    issuer_evaluate,
    issuer_key_map,
    parse_authorization,
    parse_www_authenticate,
    token_nonce,
    verify_token,
)


@dataclass(frozen=True)
class Issuer:
    private_key: blindrsa.PrivateKey
    key: IssuerKey


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    private_key = blindrsa.generate_private_key(2048)  # slow: once per module
    return Issuer(private_key, IssuerKey.from_public_key(private_key.public_key()))


@pytest.fixture(scope="module")
def other_issuer(issuer: Issuer) -> Issuer:
    """Another key, whose truncated key id differs from ``issuer``'s (two fresh keys share
    it one time in 256)."""
    while True:
        private_key = blindrsa.generate_private_key(2048)
        key = IssuerKey.from_public_key(private_key.public_key())
        if key.truncated_key_id != issuer.key.truncated_key_id:
            return Issuer(private_key, key)


CHALLENGE = TokenChallenge(2, b"issuer.example", os.urandom(32), b"gateway.example").encode()
OTHER_CHALLENGE = TokenChallenge(2, b"issuer.example", os.urandom(32), b"gateway.example").encode()


def _issue(issuer: Issuer, challenge: bytes = CHALLENGE) -> Token:
    request, state = client_begin(challenge, issuer.key.spki)
    response = issuer_evaluate(issuer.private_key, request, issuer.key.key_id)
    return client_finalize(state, response)


@pytest.fixture(scope="module")
def token(issuer: Issuer) -> Token:
    return _issue(issuer)


# --- the flow --------------------------------------------------------------------------------


def test_round_trip_through_headers(issuer: Issuer) -> None:
    # Origin -> client: the challenge and the issuer key.
    www = encode_www_authenticate(PrivateTokenChallenge(CHALLENGE, issuer.key.spki, max_age=60))
    (offered,) = parse_www_authenticate(www)
    assert offered.token_challenge().issuer_name == b"issuer.example"
    # Client <-> issuer.
    request, state = client_begin(offered.challenge, offered.token_key)
    response = issuer_evaluate(issuer.private_key, request, issuer.key.key_id)
    token = client_finalize(state, response)
    # Client -> origin.
    presented = parse_authorization(encode_authorization(token.encode()))
    keys = issuer_key_map([issuer.key])
    verify_token(presented, keys, challenge_digest=challenge_digest(CHALLENGE))
    verify_token(
        Token.decode(presented), issuer.key, challenge_digest={challenge_digest(CHALLENGE)}
    )
    assert token_nonce(presented) == token_nonce(token) == state.nonce


def test_two_tokens_for_one_challenge_are_unlinkable_by_nonce(issuer: Issuer) -> None:
    first, second = _issue(issuer), _issue(issuer)
    assert first.nonce != second.nonce
    assert first.authenticator != second.authenticator


def test_issuer_sees_nothing_of_the_token(issuer: Issuer) -> None:
    request, state = client_begin(CHALLENGE, issuer.key)
    token = client_finalize(state, issuer_evaluate(issuer.private_key, request, issuer.key.key_id))
    for part in (token.nonce, token.challenge_digest, token.authenticator):
        assert part not in request


# --- attacks ---------------------------------------------------------------------------------


def test_forged_token_is_refused(issuer: Issuer, other_issuer: Issuer, token: Token) -> None:
    digest = challenge_digest(CHALLENGE)
    flipped = bytearray(token.authenticator)
    flipped[100] ^= 1
    forgeries = [
        replace(token, authenticator=bytes(flipped)),
        replace(token, authenticator=os.urandom(256)),
        replace(token, nonce=os.urandom(32)),  # a replayed signature on a fresh nonce
        # Signed by another issuer's key, but claiming ours.
        replace(_issue(other_issuer), token_key_id=issuer.key.key_id),
    ]
    for forged in forgeries:
        with pytest.raises(CryptoError):
            verify_token(forged, issuer.key, challenge_digest=digest)


def test_token_for_other_challenge_is_refused(issuer: Issuer, token: Token) -> None:
    with pytest.raises(AuthenticationError):
        verify_token(token, issuer.key, challenge_digest=challenge_digest(OTHER_CHALLENGE))
    with pytest.raises(AuthenticationError):
        verify_token(token, issuer.key, challenge_digest={challenge_digest(OTHER_CHALLENGE)})
    # Rewriting the digest to the origin's challenge breaks the signature.
    moved = replace(token, challenge_digest=challenge_digest(OTHER_CHALLENGE))
    with pytest.raises(CryptoError):
        verify_token(moved, issuer.key, challenge_digest=challenge_digest(OTHER_CHALLENGE))


def test_wrong_key_id_is_refused(issuer: Issuer, other_issuer: Issuer, token: Token) -> None:
    digest = challenge_digest(CHALLENGE)
    with pytest.raises(UnknownKeyError):
        verify_token(token, other_issuer.key, challenge_digest=digest)
    with pytest.raises(UnknownKeyError):
        verify_token(token, issuer_key_map([other_issuer.key]), challenge_digest=digest)
    # The issuer refuses a request made for another of its keys.
    request, _state = client_begin(CHALLENGE, other_issuer.key)
    with pytest.raises(UnknownKeyError):
        issuer_evaluate(issuer.private_key, request, issuer.key.key_id)


def test_wrong_token_type_is_refused(issuer: Issuer, token: Token) -> None:
    encoded = token.encode()
    with pytest.raises(UnsupportedError):
        Token.decode(b"\x00\x01" + encoded[2:])
    with pytest.raises(UnsupportedError):
        verify_token(b"\x00\x03" + encoded[2:], issuer.key, challenge_digest=token.challenge_digest)
    type1 = TokenChallenge(1, b"issuer.example").encode()
    with pytest.raises(UnsupportedError):
        client_begin(type1, issuer.key)
    request, _state = client_begin(CHALLENGE, issuer.key)
    with pytest.raises(UnsupportedError):
        issuer_evaluate(issuer.private_key, b"\x00\x01" + request[2:], issuer.key.key_id)


def test_malformed_authorization_header_is_refused(token: Token) -> None:
    good = b64url_encode(token.encode())
    malformed = [
        "",
        "PrivateToken",
        "PrivateToken ",
        "PrivateToken token=AAI=",  # padding '=' is not a token character: must be quoted
        f'PrivateToken token="{good}" extra',
        f'PrivateToken token="{good}", token="{good}"',
        f'PrivateToken token="{good}", PrivateToken token="{good}"',
        f'PrivateToken token="{good[:-3]}!"',
        f'PrivateToken token="{good}',
        'PrivateToken realm="x"',
        f'PrivateToken token="{good.rstrip("=")}A"',
        f"PrivateToken {good}",
        f'PrivateTokentoken="{good}"',
        'PrivateToken token="AAE+"',  # standard base64, not base64url
        'PrivateToken token="AAE"\x00',
        'PrivateToken token="\u0100"',
    ]
    for header in malformed:
        with pytest.raises(DecodeError):
            parse_authorization(header)
    with pytest.raises(UnsupportedError):
        parse_authorization("Bearer abc.def")
    with pytest.raises(TooLargeError):
        parse_authorization(f'PrivateToken token="{"A" * 9000}"')
    with pytest.raises(DecodeError):  # parses as a header, then is not a token
        Token.decode(parse_authorization('PrivateToken token="AAI="'))


def test_authorization_syntax_variants_are_accepted(token: Token) -> None:
    encoded = token.encode()
    unpadded = b64url_encode(encoded).rstrip("=")
    for header in (
        f'privatetoken TOKEN="{b64url_encode(encoded)}"',
        f"PrivateToken token={unpadded}",
        f'PrivateToken   token = "{unpadded}" , other=1',
        f'PrivateToken other="a\\"b", token="{unpadded}"',
        f'PrivateToken token="{unpadded}",',
    ):
        assert parse_authorization(header) == encoded


def test_malicious_issuer_response_is_refused(issuer: Issuer) -> None:
    _request, state = client_begin(CHALLENGE, issuer.key)
    with pytest.raises(CryptoError):
        client_finalize(state, os.urandom(256))
    with pytest.raises(DecodeError):
        client_finalize(state, os.urandom(255))


def test_token_request_for_other_sizes_is_refused(issuer: Issuer) -> None:
    request, _state = client_begin(CHALLENGE, issuer.key)
    for bad in (request[:-1], request + b"\x00", request[:2], b"\x00"):
        with pytest.raises(DecodeError):
            issuer_evaluate(issuer.private_key, bad, issuer.key.key_id)
    too_big = request[:3] + b"\xff" * 256  # blinded_msg >= n
    with pytest.raises(DecodeError):
        issuer_evaluate(issuer.private_key, too_big, issuer.key.key_id)


def test_issuer_key_of_wrong_size_or_form_is_refused(issuer: Issuer) -> None:
    with pytest.raises(DecodeError):
        IssuerKey.from_spki(blindrsa.rsa_public_key_to_spki(issuer.key.public_key))
    big = blindrsa.generate_private_key(3072)
    with pytest.raises(DecodeError):
        IssuerKey.from_spki(blindrsa.rsa_pss_public_key_to_spki(big.public_key()))
    with pytest.raises(UsageError):
        IssuerKey.from_public_key(big.public_key())
    with pytest.raises(UsageError):
        issuer_evaluate(big, b"", issuer.key.key_id)


# --- WWW-Authenticate ------------------------------------------------------------------------


def test_www_authenticate_skips_other_schemes_and_handles_syntax(issuer: Issuer) -> None:
    ours = b64url_encode(CHALLENGE)
    key = b64url_encode(issuer.key.spki)
    header = (
        'Basic realm="a, b", , Negotiate, Bearer abc=,'
        f' privatetoken Challenge="{ours}" ,TOKEN-KEY={key.rstrip("=")},'
        f' PrivateToken challenge="{ours}", token-key="{key}", max-age=0, NewAuth xyz=="'
    )
    with pytest.raises(DecodeError):  # the last challenge is broken
        parse_www_authenticate(header)
    header = header.rsplit(", NewAuth", 1)[0] + ", NewAuth dGVzdA=="
    parsed = parse_www_authenticate(header)
    assert [p.challenge for p in parsed] == [CHALLENGE, CHALLENGE]
    assert [p.max_age for p in parsed] == [None, 0]
    assert parse_www_authenticate("Basic realm=x") == []
    assert parse_www_authenticate(b"") == []


def test_malformed_www_authenticate_is_refused() -> None:
    c = b64url_encode(CHALLENGE)
    for header in (
        f'PrivateToken challenge="{c}"',  # no token-key
        f'PrivateToken token-key="{c}"',  # no challenge
        f'PrivateToken challenge="{c}", token-key="AA", challenge="{c}"',
        f'PrivateToken challenge="{c}", token-key="AA", max-age=-1',
        f'PrivateToken challenge="{c}", token-key="AA", max-age="99999999999"',
        f'PrivateToken challenge="{c}", token-key="A"',
        f'PrivateToken challenge="{c}" token-key="AA"',
        f"PrivateToken {c}",
        '"PrivateToken"',
    ):
        with pytest.raises(DecodeError):
            parse_www_authenticate(header)
    with pytest.raises(TooLargeError):
        parse_www_authenticate(", ".join(["Basic realm=x"] * 17))
    with pytest.raises(TooLargeError):
        parse_www_authenticate("PrivateToken " + ", ".join(f"p{i}=1" for i in range(17)))


# --- the challenge ---------------------------------------------------------------------------


def test_malformed_challenge_is_refused() -> None:
    good = TokenChallenge(2, b"i", b"\x07" * 32, b"o").encode()
    TokenChallenge.decode(good)
    for bad in (
        good + b"\x00",
        good[:-1],
        b"\x00\x02\x00\x00\x00\x00\x00",  # empty issuer name
        b"\x00\x02\x00\x01i\x10" + bytes(16) + b"\x00\x00",  # 16-byte redemption context
        b"\x00\x02\x00\x01i\x21" + bytes(33) + b"\x00\x00",
        b"\x00",
    ):
        with pytest.raises(DecodeError):
            TokenChallenge.decode(bad)
    with pytest.raises(UsageError):
        TokenChallenge(2, b"", b"", b"")
    with pytest.raises(UsageError):
        TokenChallenge(2, b"i", b"short", b"")


@given(
    st.integers(0, 0xFFFF),
    st.binary(min_size=1, max_size=300),
    st.sampled_from([b"", bytes(range(32))]),
    st.binary(max_size=300),
)
def test_challenge_round_trips(
    token_type: int, issuer: bytes, context: bytes, origin: bytes
) -> None:
    challenge = TokenChallenge(token_type, issuer, context, origin)
    assert TokenChallenge.decode(challenge.encode()) == challenge


# --- the directory ---------------------------------------------------------------------------


def test_directory_round_trips_and_selects_active_keys(
    issuer: Issuer, other_issuer: Issuer
) -> None:
    directory = IssuerDirectory(
        "https://issuer.example/token-request",
        (
            DirectoryKey(2, other_issuer.key.spki, not_before=2_000),
            DirectoryKey(2, issuer.key.spki, not_before=1_000),
            DirectoryKey(1, b"\x01" * 49),
            DirectoryKey(2, issuer.key.spki),
        ),
    )
    encoded = directory.encode()
    assert IssuerDirectory.decode(encoded) == directory
    assert json.loads(encoded)["token-keys"][0] == {
        "token-type": 2,
        "token-key": b64url_encode(other_issuer.key.spki),
        "not-before": 2000,
    }
    assert [k.not_before for k in directory.active_keys(2, now=1_500)] == [1_000, None]
    assert len(directory.active_keys(2, now=2_000)) == 3
    assert directory.active_keys(1, now=0) == (DirectoryKey(1, b"\x01" * 49),)
    # Unknown members are ignored.
    extended = json.loads(encoded)
    extended["future"] = {"x": 1}
    extended["token-keys"][0]["extra"] = True
    assert IssuerDirectory.decode(json.dumps(extended).encode()) == directory


def test_malformed_directory_is_refused() -> None:
    key = b64url_encode(b"k" * 10)

    def doc(**entry: object) -> bytes:
        base: dict[str, object] = {"token-type": 2, "token-key": key}
        base.update(entry)
        return json.dumps({"issuer-request-uri": "/r", "token-keys": [base]}).encode()

    for bad in (
        b"",
        b"[]",
        b"\xff",
        b'{"issuer-request-uri": "/r"}',
        b'{"issuer-request-uri": 1, "token-keys": []}',
        b'{"issuer-request-uri": "/r", "token-keys": [], "token-keys": []}',
        b'{"issuer-request-uri": "/r", "token-keys": [1]}',
        doc(**{"token-type": True}),
        doc(**{"token-type": 70000}),
        doc(**{"token-type": "2"}),
        doc(**{"token-key": "a+b/"}),
        doc(**{"token-key": ""}),
        doc(**{"not-before": 1.5}),
        doc(**{"not-before": -1}),
        b'{"issuer-request-uri": "/r", "token-keys": [{"token-type": 2, "token-key": "AA",'
        b' "not-before": NaN}]}',
        b"[" * 100_000,
    ):
        with pytest.raises(DecodeError):
            IssuerDirectory.decode(bad)
    many = {"issuer-request-uri": "/r", "token-keys": [{"token-type": 2, "token-key": key}] * 33}
    with pytest.raises(TooLargeError):
        IssuerDirectory.decode(json.dumps(many).encode())
    with pytest.raises(TooLargeError):
        IssuerDirectory.decode(b" " * (1024 * 1024 + 1))


# --- base64url -------------------------------------------------------------------------------


@given(st.binary(max_size=100))
def test_b64url_round_trips_with_and_without_padding(data: bytes) -> None:
    text = b64url_encode(data)
    assert b64url_decode(text) == data
    assert b64url_decode(text.rstrip("=")) == data


def test_non_canonical_b64url_is_refused() -> None:
    for bad in ("A", "AB=", "AB===", "AB=A", "AAE+", "AAE/", "AB", "AAF=", " AA"):
        with pytest.raises(DecodeError):
            b64url_decode(bad)


# --- fuzzing: garbage is refused with our errors, never a crash ------------------------------

DECODERS: dict[str, Callable[[bytes], object]] = {
    "TokenChallenge.decode": TokenChallenge.decode,
    "Token.decode": Token.decode,
    "TokenRequest.decode": TokenRequest.decode,
    "TokenResponse.decode": TokenResponse.decode,
    "IssuerKey.from_spki": IssuerKey.from_spki,
    "IssuerDirectory.decode": IssuerDirectory.decode,
    "parse_www_authenticate": parse_www_authenticate,
    "parse_authorization": parse_authorization,
    "b64url_decode": lambda data: b64url_decode(data.decode("latin-1")),
    "token_nonce": token_nonce,
}

HEADERISH = st.text(alphabet='PrivateTokn chalegy=-"\\,\t AQ_+/=xX\x00\x7f\xff', max_size=120)


def _only_our_errors(decoder: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(PrivcloudError):
        decoder(data)


@pytest.mark.parametrize("name", sorted(DECODERS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_garbage_into_every_decoder_raises_only_our_errors(name: str, data: bytes) -> None:
    _only_our_errors(DECODERS[name], data)


@settings(max_examples=500, deadline=None)
@given(text=HEADERISH)
def test_header_shaped_garbage_raises_only_our_errors(text: str) -> None:
    _only_our_errors(lambda _data: parse_www_authenticate(text), b"")
    _only_our_errors(lambda _data: parse_authorization(text), b"")


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.integers(0, 400))
def test_mutated_messages_raise_only_our_errors(
    issuer: Issuer, token: Token, position: int, value: int, cut: int
) -> None:
    digest = challenge_digest(CHALLENGE)
    for message in (token.encode(), CHALLENGE, issuer.key.spki):
        mutated = bytearray(message)
        mutated[position % len(mutated)] = value
        for candidate in (bytes(mutated), bytes(mutated[:cut])):
            _only_our_errors(TokenChallenge.decode, candidate)
            _only_our_errors(IssuerKey.from_spki, candidate)
            _only_our_errors(
                lambda data: verify_token(data, issuer.key, challenge_digest=digest), candidate
            )


@pytest.mark.parametrize(
    "value",
    [
        'PrivateToken token="AAEC"',
        'PrivateToken token="AAE="',
        'PrivateToken token="AA=="',
        'PrivateToken token=""',
        'PrivateToken token="AAF"',  # non-canonical: spare bits set
        'PrivateToken token="A"',  # impossible length
        'PrivateToken token="AAEC=="',  # padding where none belongs
        'PrivateToken  token="AAEC"',
        'privatetoken token="AAEC"',
        "PrivateToken token=AAEC",
        'PrivateToken token="AAEC", PrivateToken token="AAEC"',
        'PrivateToken token="AAEC",',
    ],
)
def test_the_sent_form_reads_as_the_rfc_9110_parser_reads_it(value: str) -> None:
    # parse_authorization reads bytes in the devices' one form by a single match; text goes
    # through the general parser. Both must give the same token, or the same error class.
    def outcome(v: str | bytes) -> object:
        try:
            return parse_authorization(v)
        except PrivcloudError as exc:
            return type(exc)

    assert outcome(value.encode()) == outcome(value)
