"""Fuzz target: Privacy Pass tokens (RFC 9577 §2.2, RFC 9578 §6) and privcloud's issuance
bodies (privacypass/issuance.py).

Operations, with the fixed issuer key, challenge and device key of :mod:`fuzz.fixtures`:

* ``token``, ``token_request``, ``token_response``, ``token_challenge``: the wire structures;
* ``verify_token``: the origin's check of a presented token;
* ``issuer_evaluate``: the issuer's answer to a TokenRequest;
* ``client_finalize``: the client's unblinding of the fixed request's TokenResponse;
* ``batch_request``; ``batch_response`` (byte 0: the number of answers expected);
* ``enrolment``: a device enrolment body and its proof of possession;
* ``device_auth``: the four signed-request fields (newline-separated) and their signature.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.privacypass import TokenChallenge
from privcloud.privacypass.challenge import challenge_digest
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    DeviceAuth,
    decode_batch_request,
    decode_batch_response,
    decode_enrolment,
    verify_device_request,
)
from privcloud.privacypass.tokens import (
    Token,
    TokenRequest,
    TokenResponse,
    client_finalize,
    issuer_evaluate,
    verify_token,
)

_ISSUER_KEY = fixtures.issuer_key()
_ISSUER_PRIVATE = fixtures.issuer_private_key()
_DIGEST = challenge_digest(fixtures.challenge())
_CLIENT_STATE = fixtures.token_client()[1]
_DEVICE_PUBLIC = fixtures.device_key().public_bytes()
#: When the fixed device request was signed (make_corpus.py signs it then).
DEVICE_NOW = 1_750_000_000
#: The signed-request fields, in the order ``device_auth`` reads them (one per line).
DEVICE_FIELDS = (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)


def _verify_token(data: bytes) -> None:
    verify_token(data, {_ISSUER_KEY.key_id: _ISSUER_KEY}, challenge_digest=_DIGEST)


def _issuer_evaluate(data: bytes) -> None:
    issuer_evaluate(_ISSUER_PRIVATE, data, _ISSUER_KEY.key_id, rand=fixtures.SeededRandom("issuer"))


def _batch_response(data: bytes) -> None:
    if data:
        decode_batch_response(data[1:], expected=data[0] % 65)


def _device_auth(data: bytes) -> None:
    """Fields as ``name`` -> line ``i`` (latin-1, as HTTP field values), then the body."""
    lines = data.split(b"\n", len(DEVICE_FIELDS))
    values = {
        name: line.decode("latin-1") for name, line in zip(DEVICE_FIELDS, lines, strict=False)
    }
    body = lines[len(DEVICE_FIELDS)] if len(lines) > len(DEVICE_FIELDS) else b""
    auth = DeviceAuth.from_headers(values)
    verify_device_request(_DEVICE_PUBLIC, auth, "POST", BATCH_PATH, body, now=DEVICE_NOW)


OPS: harness.Ops = (
    ("token", Token.decode),
    ("token_request", TokenRequest.decode),
    ("token_response", TokenResponse.decode),
    ("token_challenge", TokenChallenge.decode),
    ("verify_token", _verify_token),
    ("issuer_evaluate", _issuer_evaluate),
    ("client_finalize", lambda data: client_finalize(_CLIENT_STATE, data)),
    ("batch_request", decode_batch_request),
    ("batch_response", _batch_response),
    ("enrolment", decode_enrolment),
    ("device_auth", _device_auth),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
