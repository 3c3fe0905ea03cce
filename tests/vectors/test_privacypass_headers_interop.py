"""PrivateToken headers against a deployed implementation, @cloudflare/privacypass-ts.

The vectors (``tests/vectors/privacypass_ts_headers.json``) are the library's real output and its
reading of ours, recorded once with node (provenance: ``tests/vectors/
make_privacypass_ts_vectors.py``); nothing here runs node. The library writes parameter values
unquoted by default, base64url padding included (``challenge=AAIA...=``), which RFC 9110 §11.2
does not allow; ``parse_www_authenticate`` accepts exactly that deviation and nothing more, and
our encoders keep quoting. Then hand-written cases for the tolerant grammar and the refusals.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import DecodeError, PrivcloudError, TooLargeError
from privcloud.privacypass import (
    IssuerKey,
    PrivateTokenChallenge,
    Token,
    TokenChallenge,
    b64url_encode,
    challenge_digest,
    encode_authorization,
    encode_www_authenticate,
    parse_authorization,
    parse_www_authenticate,
    verify_token,
)
from privcloud.privacypass.headers import _parse_items

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "privacypass_ts_headers.json").read_text()
)
CHALLENGES: list[dict[str, Any]] = VECTORS["challenges"]
TOKEN_KEY = bytes.fromhex(VECTORS["token_key"])
# Padded forms of both lengths, for the hand-written cases: 35 bytes -> one '=', 67 -> '=='.
C1 = bytes.fromhex(CHALLENGES[0]["challenge"])
C2 = bytes.fromhex(CHALLENGES[2]["challenge"])
B1, B2, KEY = b64url_encode(C1), b64url_encode(C2), b64url_encode(TOKEN_KEY)


def _challenge(item: dict[str, Any]) -> PrivateTokenChallenge:
    return PrivateTokenChallenge(bytes.fromhex(item["challenge"]), TOKEN_KEY, item["max_age"])


def _library_read(challenge: PrivateTokenChallenge) -> dict[str, Any]:
    """A challenge as the check script records the library's reading of it."""
    return {
        "challenge": challenge.challenge.hex(),
        "token_key": challenge.token_key.hex(),
        "max_age": challenge.max_age,
    }


# --- the vectors themselves ------------------------------------------------------------------


def test_vectors_are_library_output_with_provenance() -> None:
    provenance = VECTORS["provenance"]
    assert provenance["versions"]["@cloudflare/privacypass-ts"] == "0.9.0"
    assert provenance["made"]
    assert VECTORS["token_type"] == 2
    # The deviation really is exercised: unquoted values with one and with two '=' of padding,
    # challenges with and without a redemption context and max-age.
    unquoted = [c["www-authenticate"] for c in CHALLENGES]
    assert all('"' not in header for header in unquoted)
    assert any(re.search(r"challenge=[A-Za-z0-9_-]+[^=]=,", h) for h in unquoted)
    assert any(re.search(r"challenge=[A-Za-z0-9_-]+==,", h) for h in unquoted)
    assert {len(c["redemption_context"]) for c in CHALLENGES} == {0, 64}
    assert {c["max_age"] for c in CHALLENGES} == {None, 10}
    assert B1.endswith("=") and not B1.endswith("==") and B2.endswith("==")


# --- what the library emits, we read ---------------------------------------------------------


@pytest.mark.parametrize("form", ["www-authenticate", "www-authenticate-quoted"])
@pytest.mark.parametrize("item", CHALLENGES, ids=[c["name"] for c in CHALLENGES])
def test_library_www_authenticate_is_read_exactly(item: dict[str, Any], form: str) -> None:
    (got,) = parse_www_authenticate(item[form])
    assert got == _challenge(item)
    decoded = got.token_challenge()
    assert decoded.token_type == 2
    assert decoded.issuer_name == VECTORS["issuer_name"].encode()
    assert decoded.redemption_context == bytes.fromhex(item["redemption_context"])
    assert decoded.origin_info == VECTORS["origin_info"].encode()
    assert decoded.encode() == got.challenge
    assert IssuerKey.from_spki(got.token_key).spki == TOKEN_KEY


@pytest.mark.parametrize("separator", [", ", ",", " ,\t", " , , "])
def test_library_challenges_combined_into_one_field_keep_their_order(separator: str) -> None:
    # Several field lines are combined with ',' (RFC 9110 §5.3); empty elements are ignored.
    header = separator.join(c["www-authenticate"] for c in CHALLENGES)
    assert parse_www_authenticate(header) == [_challenge(c) for c in CHALLENGES]
    mixed = separator.join(
        c["www-authenticate" if i % 2 else "www-authenticate-quoted"]
        for i, c in enumerate(CHALLENGES)
    )
    assert parse_www_authenticate(mixed) == [_challenge(c) for c in CHALLENGES]


def test_library_token_is_read_and_verifies_with_our_verifier() -> None:
    vector = VECTORS["token"]
    token = bytes.fromhex(vector["token"])
    assert vector["library_verifies"] is True
    for form in ("authorization", "authorization-quoted"):
        assert parse_authorization(vector[form]) == token
    # Type 0x0002 tokens are 354 bytes (a multiple of 3): the library's unquoted form carries no
    # padding, so it is already RFC 9110 token syntax and Authorization needs no deviation.
    assert len(token) == 354
    assert "=" not in vector["authorization"].removeprefix("PrivateToken token=")
    decoded = Token.decode(token)
    assert decoded.challenge_digest == challenge_digest(bytes.fromhex(vector["challenge"]))
    verify_token(
        token,
        IssuerKey.from_spki(TOKEN_KEY),
        challenge_digest=challenge_digest(bytes.fromhex(vector["challenge"])),
    )


# --- what we emit, the library read ----------------------------------------------------------


def test_our_www_authenticate_was_read_by_the_library() -> None:
    entries = VECTORS["privcloud_emitted"]["www-authenticate"]
    assert any(len(entry["challenges"]) == len(CHALLENGES) for entry in entries)
    for entry in entries:
        offered = [_challenge(CHALLENGES[i]) for i in entry["challenges"]]
        # The recorded reading applies to what the encoder writes today.
        assert encode_www_authenticate(offered) == entry["header"]
        assert entry["library_error"] is None
        assert entry["library_read"] == [_library_read(c) for c in offered]


def test_our_authorization_was_read_and_verified_by_the_library() -> None:
    entry = VECTORS["privcloud_emitted"]["authorization"]
    token = bytes.fromhex(VECTORS["token"]["token"])
    assert encode_authorization(token) == entry["header"]
    assert entry["library_error"] is None
    assert entry["library_read"] == [{"token": token.hex(), "library_verifies": True}]


def test_we_emit_every_value_quoted() -> None:
    header = encode_www_authenticate([_challenge(c) for c in CHALLENGES])
    values = re.findall(r"(?:^|, )(?:PrivateToken )?([a-z-]+)=(\S)", header)
    assert {name for name, _ in values} == {"challenge", "token-key", "max-age"}
    assert {first for _, first in values} == {'"'}
    assert encode_authorization(bytes(354)).startswith('PrivateToken token="')


# --- the tolerant grammar --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        f"PrivateToken challenge={B1},token-key={KEY}",
        f"PrivateToken challenge={B1}, token-key={KEY}",
        f"PrivateToken token-key={KEY},challenge={B1}",
        f"privatetoken CHALLENGE = {B1} ,\tToken-Key={KEY}  ",
        f"  PrivateToken   challenge={B1},token-key={KEY}",
        f'PrivateToken challenge="{B1}",token-key={KEY}',
        f"PrivateToken challenge={B1.rstrip('=')},token-key={KEY}",
        f"PrivateToken challenge={B1},token-key={KEY},unknown=AAAA==,other=x",
        f"Basic realm=abc=, PrivateToken challenge={B1},token-key={KEY}",
        f"Bearer abc=, Newauth dGVzdA==, PrivateToken challenge={B1},token-key={KEY}",
        f", ,PrivateToken challenge={B1},token-key={KEY},",
    ],
)
def test_unquoted_padded_values_are_read_in_every_syntax_variant(header: str) -> None:
    assert parse_www_authenticate(header) == [PrivateTokenChallenge(C1, TOKEN_KEY)]


def test_several_challenges_with_max_age_in_both_forms_are_read_in_order() -> None:
    header = (
        f"PrivateToken challenge={B2}, token-key={KEY}, max-age=10,"
        f' PrivateToken challenge="{B1}", token-key="{KEY}", MAX-AGE="0",'
        f" PrivateToken challenge={B1},token-key={KEY}"
    )
    assert parse_www_authenticate(header) == [
        PrivateTokenChallenge(C2, TOKEN_KEY, 10),
        PrivateTokenChallenge(C1, TOKEN_KEY, 0),
        PrivateTokenChallenge(C1, TOKEN_KEY, None),
    ]


@settings(max_examples=200, deadline=None)
@given(
    challenge=st.binary(min_size=1, max_size=300),
    key=st.binary(min_size=1, max_size=600),
    max_age=st.none() | st.integers(1, limits.MAX_PRIVACYPASS_CHALLENGE_MAX_AGE_S),
)
def test_any_value_in_the_library_unquoted_form_round_trips(
    challenge: bytes, key: bytes, max_age: int | None
) -> None:
    # The library's toString(): name=value joined by ',' with no space, max-age only when set.
    header = f"PrivateToken challenge={b64url_encode(challenge)},token-key={b64url_encode(key)}"
    if max_age is not None:
        header += f",max-age={max_age}"
    expected = PrivateTokenChallenge(challenge, key, max_age)
    assert parse_www_authenticate(header) == [expected]
    assert parse_www_authenticate(encode_www_authenticate(expected)) == [expected]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        f"PrivateToken challenge={B1[:8]}={B1[8:]},token-key={KEY}",  # '=' inside the value
        f"PrivateToken challenge={B1}=,token-key={KEY}",  # '==' where the length takes one
        f"PrivateToken challenge={B2}=,token-key={KEY}",  # a third '='
        f"PrivateToken challenge={B1}x,token-key={KEY}",  # text glued after the padding
        f'PrivateToken challenge={B1}",token-key={KEY}',
        f"PrivateToken challenge=={B1},token-key={KEY}",
        f"PrivateToken challenge= ={B1},token-key={KEY}",
        f"PrivateToken challenge={B1} = ,token-key={KEY}",
        f"PrivateToken challenge={B1} token-key={KEY}",  # no comma
        f"PrivateToken challenge={B1};token-key={KEY}",
        f"PrivateToken challenge=AB+/AA==,token-key={KEY}",  # standard base64, not base64url
        f"PrivateToken challenge=AAF=,token-key={KEY}",  # non-canonical final bits
        f"PrivateToken challenge=AAAAA=,token-key={KEY}",  # padding that does not fill 4
        f"PrivateToken challenge={B1}",  # no token-key
        f"PrivateToken token-key={KEY}",  # no challenge
        f"PrivateToken challenge={B1},token-key={KEY},max-age=10=",
        f"PrivateToken challenge={B1},token-key={KEY},max-age=-1",
        f"PrivateToken challenge={B1},token-key={KEY},max-age=99999999999",
        f"PrivateToken {B1}",  # token68 is not PrivateToken syntax
        f"PrivateToken challenge={B1},token-key={KEY}, Broken x=y=z",
    ],
)
def test_malformed_or_ambiguous_padded_values_are_refused(header: str) -> None:
    with pytest.raises(DecodeError):
        parse_www_authenticate(header)


@pytest.mark.parametrize(
    "header",
    [
        f"PrivateToken challenge={B1},token-key={KEY},challenge={B2}",
        f'PrivateToken challenge={B1},token-key={KEY},CHALLENGE="{B1}"',
        f"PrivateToken challenge={B1},token-key={KEY},Token-Key={KEY}",
        f"PrivateToken challenge={B1},token-key={KEY},max-age=1,max-age=1",
    ],
)
def test_repeated_parameters_are_refused_in_any_spelling(header: str) -> None:
    # A second value could smuggle another challenge or key past a check that read the first.
    with pytest.raises(DecodeError):
        parse_www_authenticate(header)


def test_oversized_fields_and_too_many_challenges_or_parameters_are_refused() -> None:
    one = f"PrivateToken challenge={B1},token-key={KEY}"
    with pytest.raises(TooLargeError):
        parse_www_authenticate(f"PrivateToken challenge={'A' * limits.MAX_HTTP_FIELD_SIZE}==")
    most = limits.MAX_PRIVACYPASS_AUTH_CHALLENGES
    with pytest.raises(TooLargeError):
        parse_www_authenticate(", ".join(["Basic realm=abc="] * most + [one]))
    assert len(parse_www_authenticate(", ".join(["Basic realm=abc="] * (most - 1) + [one]))) == 1
    extra = limits.MAX_PRIVACYPASS_AUTH_PARAMS - 2  # room left beside challenge and token-key
    with pytest.raises(TooLargeError):
        parse_www_authenticate(one + "," + ",".join(f"p{i}=AA==" for i in range(extra + 1)))
    limit_ok = one + "," + ",".join(f"p{i}=AA==" for i in range(extra))
    assert parse_www_authenticate(limit_ok) == [PrivateTokenChallenge(C1, TOKEN_KEY)]


def test_unquoted_padded_token_in_authorization_stays_refused() -> None:
    # No type-0x0002 token needs padding (354 bytes); the credential keeps RFC 9110 syntax.
    padded = b64url_encode(b"\x00\x02" + bytes(8))
    assert padded.endswith("=")
    with pytest.raises(DecodeError):
        parse_authorization(f"PrivateToken token={padded}")
    assert parse_authorization(f'PrivateToken token="{padded}"') == b"\x00\x02" + bytes(8)


HEADERISH = st.text(alphabet='PrivateTokn chalegy-kmx=AQ_w,\t "\\\x00;', max_size=160)


def _only_our_errors(parse: Callable[[str], object], text: str) -> None:
    with contextlib.suppress(PrivcloudError):
        parse(text)


@settings(max_examples=600, deadline=None)
@given(text=HEADERISH)
def test_padding_heavy_garbage_raises_only_our_errors(text: str) -> None:
    _only_our_errors(parse_www_authenticate, text)
    _only_our_errors(parse_authorization, text)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from([c["www-authenticate"] for c in CHALLENGES]),
    cut=st.integers(0, 2000),
    insert=st.sampled_from(["=", "==", ",", " ", '"', "\t", "A", "", "=,", "\x00"]),
)
def test_mutated_library_headers_raise_only_our_errors(prefix: str, cut: int, insert: str) -> None:
    cut %= len(prefix) + 1
    for text in (prefix[:cut], prefix[:cut] + insert + prefix[cut:]):
        _only_our_errors(parse_www_authenticate, text)


# Near-valid fields: RFC 9110 shapes whose values are valid, padded or broken.
_VALUE = st.sampled_from(["AA", '"A="', "a", '""']) | st.sampled_from(
    ["AA=", "AA==", "AA===", "A=A", "", "=", "AA= x"]
)
_PARAM = st.builds(
    "{}{}{}".format,
    st.sampled_from(["challenge", "a", "AA"]),
    st.sampled_from(["=", " = "]),
    _VALUE,
)
_ITEM = st.builds(
    lambda scheme, params: scheme + ", ".join(params),
    st.sampled_from(["PrivateToken ", "Basic ", "x  "]),
    st.lists(_PARAM, min_size=1, max_size=3),
) | st.sampled_from(["PrivateToken", "B AA==", "B AA=", ""])
NEAR_VALID = st.builds(
    lambda items, sep: sep.join(items),
    st.lists(_ITEM, max_size=3),
    st.sampled_from([",", ", ", " , ,"]) | st.sampled_from([" ", ""]),
)


@settings(max_examples=1500, deadline=None)
@given(text=NEAR_VALID | HEADERISH)
def test_deviation_changes_the_meaning_of_no_strictly_valid_field(text: str) -> None:
    # Whatever RFC 9110 syntax already accepted parses to the same challenges with the deviation.
    try:
        strict = _parse_items(text, padded_values=False)
    except PrivcloudError:
        return
    assert _parse_items(text, padded_values=True) == strict


def test_token_challenge_of_vectors_matches_our_encoding() -> None:
    item = CHALLENGES[2]
    ours = TokenChallenge(
        2,
        VECTORS["issuer_name"].encode(),
        bytes.fromhex(item["redemption_context"]),
        VECTORS["origin_info"].encode(),
    ).encode()
    assert ours.hex() == item["challenge"]
