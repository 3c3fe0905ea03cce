"""The issuer directory (RFC 9578 §4), served at :data:`WELL_KNOWN_PATH`::

    {
      "issuer-request-uri": "https://issuer.example.net/request",
      "token-keys": [
        {"token-type": 2, "token-key": "MI...AB", "not-before": 1686913811}
      ]
    }

Keys are listed most preferred first. ``not-before`` is optional. Keys of any token type parse
(their bytes stay opaque); :meth:`IssuerDirectory.active_keys` picks the usable ones at a time
the caller passes in. Unknown members are ignored, as RFC 9578 §4 lets directories grow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, TypeGuard

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError
from privcloud.privacypass.headers import b64url_decode, b64url_encode
from privcloud.wire import jsonio

#: Media type of the directory.
MEDIA_TYPE: Final = "application/private-token-issuer-directory"
#: Well-known path of the directory.
WELL_KNOWN_PATH: Final = "/.well-known/private-token-issuer-directory"

#: Largest ``not-before`` timestamp: the range of a signed 64-bit integer (not a policy bound).
_MAX_TIMESTAMP: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class DirectoryKey:
    """One entry of ``token-keys``: a key for ``token_type``, usable from ``not_before`` on."""

    token_type: int
    token_key: bytes
    not_before: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.token_type <= 0xFFFF:
            raise UsageError("token type out of range")
        if not 1 <= len(self.token_key) <= limits.MAX_PRIVACYPASS_TOKEN_KEY_BYTES:
            raise UsageError("token key size out of range")
        if self.not_before is not None and not 0 <= self.not_before <= _MAX_TIMESTAMP:
            raise UsageError("not-before out of range")


@dataclass(frozen=True, slots=True)
class IssuerDirectory:
    """The issuer directory; valid by construction."""

    issuer_request_uri: str
    token_keys: tuple[DirectoryKey, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.issuer_request_uri) <= limits.MAX_PRIVACYPASS_ISSUER_URI:
            raise UsageError("issuer-request-uri length out of range")
        if len(self.token_keys) > limits.MAX_PRIVACYPASS_DIRECTORY_TOKEN_KEYS:
            raise UsageError("too many token keys")

    def active_keys(self, token_type: int, now: float) -> tuple[DirectoryKey, ...]:
        """Keys of ``token_type`` whose ``not-before`` has passed at ``now``, preferred first."""
        return tuple(
            key
            for key in self.token_keys
            if key.token_type == token_type and (key.not_before is None or key.not_before <= now)
        )

    def encode(self) -> bytes:
        """Compact JSON (UTF-8), members in RFC order."""
        keys = []
        for key in self.token_keys:
            entry: dict[str, object] = {
                "token-type": key.token_type,
                "token-key": b64url_encode(key.token_key),
            }
            if key.not_before is not None:
                entry["not-before"] = key.not_before
            keys.append(entry)
        document = {"issuer-request-uri": self.issuer_request_uri, "token-keys": keys}
        return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> IssuerDirectory:
        """Parse a directory. Raises :class:`TooLargeError` past the bounds and
        :class:`DecodeError` for anything else wrong: bad UTF-8 or JSON (nesting deeper than
        ``limits.MAX_JSON_DEPTH``, NaN or Infinity), duplicate members,
        missing or mistyped fields, a token key that is not base64url."""
        if len(data) > limits.MAX_DIRECTORY_BYTES:
            raise TooLargeError("issuer directory too large")
        document = jsonio.loads(
            bytes(data), max_bytes=limits.MAX_DIRECTORY_BYTES, allow_duplicate_keys=False
        )
        if not isinstance(document, dict):
            raise DecodeError("issuer directory is not an object")
        uri = document.get("issuer-request-uri")
        if not isinstance(uri, str) or not uri:
            raise DecodeError("bad issuer-request-uri")
        if len(uri) > limits.MAX_PRIVACYPASS_ISSUER_URI:
            raise TooLargeError("issuer-request-uri too long")
        entries = document.get("token-keys")
        if not isinstance(entries, list):
            raise DecodeError("bad token-keys")
        if len(entries) > limits.MAX_PRIVACYPASS_DIRECTORY_TOKEN_KEYS:
            raise TooLargeError("too many token keys")
        return cls(uri, tuple(_decode_key(entry) for entry in entries))


def _decode_key(entry: object) -> DirectoryKey:
    if not isinstance(entry, dict):
        raise DecodeError("token key entry is not an object")
    token_type = entry.get("token-type")
    if not _is_int(token_type) or not 0 <= token_type <= 0xFFFF:
        raise DecodeError("bad token-type")
    encoded = entry.get("token-key")
    if not isinstance(encoded, str):
        raise DecodeError("bad token-key")
    if len(encoded) > (limits.MAX_PRIVACYPASS_TOKEN_KEY_BYTES + 2) // 3 * 4:
        raise TooLargeError("token key too large")
    token_key = b64url_decode(encoded)
    if not token_key:
        raise DecodeError("empty token-key")
    not_before = entry.get("not-before")
    if not_before is not None and (
        not _is_int(not_before) or not 0 <= not_before <= _MAX_TIMESTAMP
    ):
        raise DecodeError("bad not-before")
    return DirectoryKey(token_type, token_key, not_before)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
