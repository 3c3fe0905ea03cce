"""The operator's signed append (privcloud.transparency.append_auth; docs/transparency.md §2)."""

from __future__ import annotations

import pytest

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import AuthenticationError, UsageError
from privcloud.transparency.append_auth import (
    AppendAuthorization,
    append_message,
    check_append_key_and_time,
    operator_key_id,
    parse_append_authorization,
    sign_append,
    verify_append_authorization,
)

KEY = Ed25519PrivateKey.from_seed(b"\x05" * 32)
TS = 1_750_000_000


def test_append_signature_covers_method_path_time_nonce_and_body() -> None:
    header = sign_append(KEY, b"entry", TS, nonce="ab" * 16)
    auth = parse_append_authorization(header)
    assert header.startswith('Signature keyid="') and auth.ts == TS
    assert append_message("POST", "/v1/entries", 1, "ab" * 16, b"") == (
        b"privcloud-log-append/v1\nPOST\n/v1/entries\n1\n" + b"ab" * 16 + b"\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    )
    keys = {auth.key_id: KEY.public_bytes()}
    verify_append_authorization(auth, keys, "POST", "/v1/entries", b"entry", TS)
    for method, path, body, now in [
        ("PUT", "/v1/entries", b"entry", TS),
        ("POST", "/v1/other", b"entry", TS),
        ("POST", "/v1/entries", b"entry!", TS),
        ("POST", "/v1/entries", b"entry", TS + 301),
    ]:
        with pytest.raises(AuthenticationError):
            verify_append_authorization(auth, keys, method, path, body, now)
    other_nonce = AppendAuthorization(auth.key_id, auth.ts, "cd" * 16, auth.signature)
    with pytest.raises(AuthenticationError):
        verify_append_authorization(other_nonce, keys, "POST", "/v1/entries", b"entry", auth.ts)
    for bad in ("", header + " ", header.replace("Signature", "signature"), header[:-3] + '"'):
        with pytest.raises(AuthenticationError):
            parse_append_authorization(bad)


def test_header_golden_form_with_a_fixed_nonce_source() -> None:
    header = sign_append(KEY, b"entry", TS, rand=lambda n: b"\x11" * n)
    kid = operator_key_id(KEY.public_bytes())
    assert len(kid) == 16
    assert header.startswith(f'Signature keyid="{kid}", ts="{TS}", nonce="{"11" * 16}", sig="')
    assert sign_append(KEY, b"entry", TS, rand=lambda n: b"\x11" * n) == header  # Ed25519


def test_unknown_operator_key_is_refused_before_the_body_is_read() -> None:
    auth = parse_append_authorization(sign_append(KEY, b"entry", TS))
    stranger = Ed25519PrivateKey.from_seed(b"\x06" * 32).public_bytes()
    with pytest.raises(AuthenticationError, match="unknown operator key"):
        check_append_key_and_time(auth, {operator_key_id(stranger): stranger}, TS)
    keys = {auth.key_id: KEY.public_bytes()}
    assert check_append_key_and_time(auth, keys, TS + 300) == KEY.public_bytes()
    for now in (TS - 301, TS + 301, float("nan")):
        with pytest.raises(AuthenticationError, match="time window"):
            check_append_key_and_time(auth, keys, now)


def test_replay_tag_names_key_and_nonce_and_lives_until_the_window_closes() -> None:
    auth = parse_append_authorization(sign_append(KEY, b"entry", TS, nonce="cd" * 16))
    assert auth.replay_tag == bytes.fromhex(auth.key_id) + b"\xcd" * 16
    assert auth.remember_until() == TS + 300
    again = parse_append_authorization(sign_append(KEY, b"other entry", TS, nonce="cd" * 16))
    assert again.replay_tag == auth.replay_tag  # one nonce, one request, whatever the body


def test_signing_refuses_malformed_timestamps_and_nonces() -> None:
    for ts in (-1, 10**12, True):
        with pytest.raises(UsageError):
            sign_append(KEY, b"entry", ts)
    for nonce in ("AB" * 16, "ab" * 15, "zz" * 16):
        with pytest.raises(UsageError):
            sign_append(KEY, b"entry", TS, nonce=nonce)
