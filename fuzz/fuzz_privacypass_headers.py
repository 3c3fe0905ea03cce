"""Fuzz target: Privacy Pass HTTP authentication fields (RFC 9577 §2.1, §2.2).

Operations: ``www_authenticate`` and ``authorization`` on the field value as bytes (what the
Binary HTTP decoder hands over) and as text (what aiohttp hands over: UTF-8 with surrogate
escapes); every parsed challenge is then decoded as a TokenChallenge, as the wallet does.
``b64url`` is the base64url decoder both use.
"""

from __future__ import annotations

from fuzz import harness
from privcloud.privacypass.headers import (
    b64url_decode,
    parse_authorization,
    parse_www_authenticate,
)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _www_authenticate(value: str | bytes) -> None:
    for challenge in parse_www_authenticate(value):
        challenge.token_challenge()


OPS: harness.Ops = (
    ("www_authenticate_bytes", _www_authenticate),
    ("www_authenticate_text", lambda data: _www_authenticate(_text(data))),
    ("authorization_bytes", parse_authorization),
    ("authorization_text", lambda data: parse_authorization(_text(data))),
    ("b64url", lambda data: b64url_decode(_text(data))),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
