"""The operator's signed append to the transparency log (docs/transparency.md §2), sans-IO.

An append (``POST /v1/entries``) carries::

    Authorization: Signature keyid="<16 hex>", ts="<unix seconds>", nonce="<32 hex>",
                   sig="<base64>"      (one line; ", " between the parameters)

* ``keyid`` = the first 8 bytes of SHA-256(the operator's 32-byte Ed25519 public key), in hex
  (:func:`operator_key_id`);
* ``nonce`` = 16 random bytes in hex, fresh for every request;
* ``sig`` = Ed25519 over :func:`append_message`, i.e. the UTF-8 text
  ``"privcloud-log-append/v1\\n" + method + "\\n" + path + "\\n" + ts + "\\n" + nonce +
  "\\n" + hex(SHA-256(body)) + "\\n"`` (method ``POST``, path ``/v1/entries``).

The log accepts ``ts`` within ``limits.TLOG_AUTH_WINDOW_S`` of its clock and refuses a nonce it
has already seen in that window (a replay): it remembers :attr:`AppendAuthorization.replay_tag`
until :meth:`AppendAuthorization.remember_until`. Appending the same entry again with a new
request is not a replay: it answers the entry's existing index.

The signer is :func:`sign_append` (used by :class:`privcloud.logclient.LogClient`); the verifier
is :func:`parse_append_authorization` then :func:`verify_append_authorization` (used by
:mod:`privcloud.services.tlog`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.crypto.signing import Ed25519PrivateKey, ed25519_verify
from privcloud.errors import AuthenticationError, CryptoError, DecodeError, UsageError

#: Domain label of the signed append message (first line).
APPEND_LABEL: Final = "privcloud-log-append/v1"
#: The path operators append to.
ENTRIES_PATH: Final = "/v1/entries"
_AUTH = re.compile(
    r'Signature keyid="([0-9a-f]{16})", ts="(0|[1-9][0-9]{0,11})", nonce="([0-9a-f]{32})",'
    r' sig="([A-Za-z0-9+/]{86}==)"'
)
_NONCE = re.compile(r"[0-9a-f]{32}")


def operator_key_id(public_key: bytes) -> str:
    """``hex(SHA-256(public key)[:8])``: how an append names the operator key that signed it."""
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise UsageError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(public_key).digest()[:8].hex()


def append_message(method: str, path: str, ts: int, nonce: str, body: bytes) -> bytes:
    """The bytes an operator signs for one request (see the module docstring)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{APPEND_LABEL}\n{method}\n{path}\n{ts}\n{nonce}\n{digest}\n".encode()


def sign_append(
    key: Ed25519PrivateKey,
    body: bytes,
    ts: int,
    *,
    nonce: str | None = None,
    path: str = ENTRIES_PATH,
    rand: Random = system_random,
) -> str:
    """The ``Authorization`` header value for appending ``body`` at Unix time ``ts``.

    ``nonce`` (32 lowercase hex digits) defaults to 16 fresh bytes of ``rand``. Raises
    :class:`UsageError` for a timestamp or nonce out of form.
    """
    if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts < 10**12:
        raise UsageError("invalid timestamp")
    nonce = rand(16).hex() if nonce is None else nonce
    if not _NONCE.fullmatch(nonce):
        raise UsageError("a nonce is 32 lowercase hex digits")
    sig = base64.b64encode(key.sign(append_message("POST", path, ts, nonce, body))).decode()
    kid = operator_key_id(key.public_bytes())
    return f'Signature keyid="{kid}", ts="{ts}", nonce="{nonce}", sig="{sig}"'


@dataclass(frozen=True)
class AppendAuthorization:
    """A parsed ``Authorization`` header of an append; nothing verified yet."""

    key_id: str
    ts: int
    nonce: str
    signature: bytes

    @property
    def replay_tag(self) -> bytes:
        """What the log remembers to refuse this request again: key id and nonce (24 bytes)."""
        return bytes.fromhex(self.key_id + self.nonce)

    def remember_until(self, window_s: float = limits.TLOG_AUTH_WINDOW_S) -> float:
        """Until when the log must remember :attr:`replay_tag`: past it, ``ts`` is stale."""
        return self.ts + window_s


def parse_append_authorization(header: str | None) -> AppendAuthorization:
    """Parse the header strictly; raises :class:`AuthenticationError` (401) if it is unusable."""
    match = _AUTH.fullmatch(header or "")
    if match is None:
        raise AuthenticationError("missing or malformed operator signature")
    try:
        sig = base64.b64decode(match.group(4), validate=True)
    except binascii.Error as exc:  # pragma: no cover - the pattern admits only valid base64
        raise AuthenticationError("missing or malformed operator signature") from exc
    return AppendAuthorization(match.group(1), int(match.group(2)), match.group(3), sig)


def check_append_key_and_time(
    auth: AppendAuthorization,
    operator_keys: dict[str, bytes],
    now: float,
    window_s: float = limits.TLOG_AUTH_WINDOW_S,
) -> bytes:
    """Steps 1 and 2 of :func:`verify_append_authorization`, cheap enough to run before the
    body is read; returns the operator's public key. Raises :class:`AuthenticationError`."""
    # 1. The key id names a configured operator key.
    public_key = operator_keys.get(auth.key_id)
    if public_key is None:
        raise AuthenticationError("unknown operator key")
    # 2. The timestamp is within the window of the log's clock.
    if not math.isfinite(now) or abs(now - auth.ts) > window_s:
        raise AuthenticationError("operator signature outside its time window")
    return public_key


def verify_append_authorization(
    auth: AppendAuthorization,
    operator_keys: dict[str, bytes],
    method: str,
    path: str,
    body: bytes,
    now: float,
    window_s: float = limits.TLOG_AUTH_WINDOW_S,
) -> None:
    """Check an append's signature; return only if it is valid now.

    1. ``keyid`` names one of ``operator_keys`` (key ID -> 32-byte public key).
    2. ``ts`` is within ``window_s`` of ``now``.
    3. The Ed25519 signature over :func:`append_message` verifies.

    Any failure raises :class:`AuthenticationError`. Refusing replays is the caller's job
    (it remembers ``auth.replay_tag`` until ``auth.remember_until(window_s)``).
    """
    public_key = check_append_key_and_time(auth, operator_keys, now, window_s)
    # 3. The signature covers method, path, time, nonce and the body's hash.
    try:
        message = append_message(method, path, auth.ts, auth.nonce, body)
        ed25519_verify(public_key, message, auth.signature)
    except (CryptoError, DecodeError) as exc:
        raise AuthenticationError("operator signature does not verify") from exc


__all__ = [
    "APPEND_LABEL",
    "ENTRIES_PATH",
    "AppendAuthorization",
    "append_message",
    "check_append_key_and_time",
    "operator_key_id",
    "parse_append_authorization",
    "sign_append",
    "verify_append_authorization",
]
