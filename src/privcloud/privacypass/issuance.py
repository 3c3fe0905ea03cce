"""The project's issuance protocol over RFC 9578: device enrolment, device-signed batch
requests, key expiry in the directory. Sans-IO (docs/tokens.md).

Shared by the wallet (device side, :mod:`privcloud.sdk.wallet_issuance`), the issuer service
(verifier side, :mod:`privcloud.services.issuer`) and the gateway's redemption (directory expiry,
:mod:`privcloud.services.redemption`). Nothing here reaches the relay or the gateway: device
identity travels only on the device's direct connection to the issuer.

1. **Batch bodies**, shaped after the generic batch of draft-ietf-privacypass-batched-tokens
   (a varint-framed vector of RFC 9578 TokenRequests; each answer framed on its own)::

       BatchTokenRequest  = varint(len) || TokenRequest[N]                  N = 1..MAX_TOKEN_BATCH
       BatchTokenResponse = varint(len) || (varint(len) || TokenResponse)[N]

2. **Device request signatures**: every issuance request carries four header fields::

       privcloud-device:    base64url(device_id)        16 bytes
       privcloud-timestamp: decimal Unix seconds         within ISSUANCE_REQUEST_WINDOW_S
       privcloud-nonce:     base64url(request nonce)     16 bytes, never accepted twice
       privcloud-signature: base64url(Ed25519 signature) 64 bytes

   over ``DEVICE_REQUEST_LABEL || u16-framed(method) || u16-framed(path) || device_id ||
   u64(timestamp) || nonce || SHA-256(body)``. A retryable request adds a fifth field,

       privcloud-batch:     base64url(batch id)          16 random bytes the device chose

   and is signed over ``DEVICE_BATCH_REQUEST_LABEL || ... || nonce || batch_id ||
   SHA-256(body)`` (its own label, so neither form can pass for the other). The issuer charges a
   (device, batch id) once and answers a retry of the same body again without charging
   (docs/adr/0011-idempotent-issuance.md).

3. **Enrolment**: ``{"code": ..., "device-key": b64url, "proof": b64url}`` where ``proof`` is the
   device key's signature over ``ENROLMENT_LABEL || SHA-256(code) || device_key`` (possession of
   the key being registered). The device id is derived from the key (:func:`device_id_for`).
   INSECURE: only development issuers accept codes.

   **Attested enrolment** (3b, production): ``{"attestation": "android-key", "challenge",
   "chain", "device-key", "proof", "key-proof"}``, the challenge from
   :data:`ENROL_CHALLENGE_PATH`; both proofs sign :func:`attested_enrolment_message`; the
   issuer verifies the chain (:mod:`privcloud.deviceattest`) and derives the device id from
   the attested key (docs/tokens.md#attested-enrolment).

4. **Directory expiry**: the issuer adds ``"privcloud-expires": <Unix seconds>`` to each entry of
   its RFC 9578 §4 directory (an extension member other parsers ignore), so the gateway refuses
   tokens of an expired key and the wallet drops them, even while the issuer is unreachable.

Verifiers raise (:class:`AuthenticationError` for a bad or stale signature, :class:`DecodeError`
for malformed input, :class:`TooLargeError` past a bound); they never return a bool.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.crypto.signing import ED25519_PUBLIC_KEY_SIZE, Ed25519PrivateKey, ed25519_verify
from privcloud.errors import (
    AuthenticationError,
    CryptoError,
    DecodeError,
    TooLargeError,
    UnsupportedError,
    UsageError,
)
from privcloud.privacypass.directory import IssuerDirectory
from privcloud.privacypass.headers import b64url_decode, b64url_encode
from privcloud.privacypass.tokens import TOKEN_REQUEST_SIZE, TOKEN_TYPE_BLIND_RSA, IssuerKey
from privcloud.wire import jsonio, varint

#: Media types of the batch bodies (privcloud's own: the batch draft's may still change).
MEDIA_BATCH_REQUEST: Final = "application/privcloud-token-batch-request"
MEDIA_BATCH_RESPONSE: Final = "application/privcloud-token-batch-response"
#: Paths of the issuer's routes (the directory's issuer-request-uri names the batch route).
ENROL_PATH: Final = "/v1/enrol"
BATCH_PATH: Final = "/v1/token-batch"

#: Domain separation labels of the device signatures (a request without, and with, a batch id).
DEVICE_REQUEST_LABEL: Final = b"privcloud issuance request v1\x00"
DEVICE_BATCH_REQUEST_LABEL: Final = b"privcloud issuance batch request v1\x00"
ENROLMENT_LABEL: Final = b"privcloud device enrolment v1\x00"
_DEVICE_ID_LABEL: Final = b"privcloud device id v1\x00"

#: Sizes of the device id, of the request nonce and of the batch id, in bytes.
DEVICE_ID_SIZE: Final = 16
REQUEST_NONCE_SIZE: Final = 16
BATCH_ID_SIZE: Final = 16

#: Header fields of a signed issuance request (lower case, as Binary HTTP and aiohttp compare).
HEADER_DEVICE: Final = "privcloud-device"
HEADER_TIMESTAMP: Final = "privcloud-timestamp"
HEADER_NONCE: Final = "privcloud-nonce"
HEADER_SIGNATURE: Final = "privcloud-signature"
HEADER_BATCH: Final = "privcloud-batch"
_MAX_TIMESTAMP_DIGITS: Final = 12


def device_id_for(device_public_key: bytes) -> bytes:
    """The device id: the first 16 bytes of SHA-256 over a label and the Ed25519 public key."""
    if len(device_public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise UsageError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(_DEVICE_ID_LABEL + device_public_key).digest()[:DEVICE_ID_SIZE]


# --- 1. batch bodies -------------------------------------------------------------------------


def encode_batch_request(token_requests: Sequence[bytes]) -> bytes:
    """Frame 1..MAX_TOKEN_BATCH encoded TokenRequests; raises :class:`UsageError` otherwise."""
    if not 1 <= len(token_requests) <= limits.MAX_TOKEN_BATCH:
        raise UsageError("a batch holds 1..MAX_TOKEN_BATCH token requests")
    body = b"".join(token_requests)
    return varint.encode(len(body)) + body


def decode_batch_request(data: bytes) -> list[bytes]:
    """The encoded TokenRequests of a batch, in order (not yet parsed one by one).

    Raises :class:`TooLargeError` past the bounds, :class:`UnsupportedError` for a token type
    other than 0x0002 and :class:`DecodeError` for any framing error or an empty batch.
    """
    if len(data) > limits.MAX_TOKEN_BATCH_REQUEST_BYTES:
        raise TooLargeError("token batch too large")
    length, offset = varint.decode(data)
    if offset + length != len(data):
        raise DecodeError("token batch length does not match the body")
    out = []
    while offset < len(data):
        if offset + 2 > len(data):
            raise DecodeError("truncated token request")
        if int.from_bytes(data[offset : offset + 2], "big") != TOKEN_TYPE_BLIND_RSA:
            raise UnsupportedError("token type not supported")
        end = offset + TOKEN_REQUEST_SIZE
        if end > len(data):
            raise DecodeError("truncated token request")
        out.append(bytes(data[offset:end]))
        if len(out) > limits.MAX_TOKEN_BATCH:
            raise TooLargeError("too many token requests in one batch")
        offset = end
    if not out:
        raise DecodeError("empty token batch")
    return out


def encode_batch_response(token_responses: Sequence[bytes]) -> bytes:
    """Frame the encoded TokenResponses, one varint-framed entry each."""
    body = b"".join(varint.encode(len(r)) + r for r in token_responses)
    return varint.encode(len(body)) + body


def decode_batch_response(data: bytes, *, expected: int) -> list[bytes]:
    """The ``expected`` encoded TokenResponses of a batch answer; raises :class:`DecodeError`
    for any framing error or another count, :class:`TooLargeError` past the bound."""
    if len(data) > limits.MAX_TOKEN_BATCH_RESPONSE_BYTES:
        raise TooLargeError("token batch response too large")
    length, offset = varint.decode(data)
    if offset + length != len(data):
        raise DecodeError("token batch response length does not match the body")
    out = []
    while offset < len(data):
        size, offset = varint.decode(data, offset)
        if offset + size > len(data):
            raise DecodeError("truncated token response")
        out.append(bytes(data[offset : offset + size]))
        offset += size
        if len(out) > expected:
            break
    if len(out) != expected:
        raise DecodeError("token batch response has the wrong number of answers")
    return out


# --- 2. device request signatures ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    """The signature header fields of one issuance request (four, or five with a batch id);
    valid by construction."""

    device_id: bytes
    timestamp: int
    nonce: bytes
    signature: bytes = field(repr=False)
    batch_id: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.device_id) != DEVICE_ID_SIZE or len(self.nonce) != REQUEST_NONCE_SIZE:
            raise UsageError("device id and request nonce are 16 bytes")
        if not 0 <= self.timestamp < 10**_MAX_TIMESTAMP_DIGITS:
            raise UsageError("timestamp out of range")
        if self.batch_id is not None and len(self.batch_id) != BATCH_ID_SIZE:
            raise UsageError("a batch id is 16 bytes")

    def headers(self) -> dict[str, str]:
        """The header fields to send."""
        out = {
            HEADER_DEVICE: b64url_encode(self.device_id),
            HEADER_TIMESTAMP: str(self.timestamp),
            HEADER_NONCE: b64url_encode(self.nonce),
            HEADER_SIGNATURE: b64url_encode(self.signature),
        }
        if self.batch_id is not None:
            out[HEADER_BATCH] = b64url_encode(self.batch_id)
        return out

    @classmethod
    def from_headers(cls, get: Callable[[str], str | None] | Mapping[str, str]) -> DeviceAuth:
        """Read the fields (``get`` looks a name up, case-insensitively).

        Raises :class:`AuthenticationError` when one is missing or malformed: the issuer answers
        401, as for any other failed device authentication.
        """
        lookup = get.get if isinstance(get, Mapping) else get
        values = [lookup(name) for name in (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE)]
        signature = lookup(HEADER_SIGNATURE)
        batch = lookup(HEADER_BATCH)
        device, timestamp, nonce = values
        if device is None or timestamp is None or nonce is None or signature is None:
            raise AuthenticationError("issuance request is not signed by a device")
        if not timestamp.isascii() or not timestamp.isdigit():
            raise AuthenticationError("malformed device signature fields")
        if len(timestamp) > _MAX_TIMESTAMP_DIGITS:
            raise AuthenticationError("malformed device signature fields")
        try:
            fields = (b64url_decode(device), b64url_decode(nonce), b64url_decode(signature))
        except DecodeError as exc:
            raise AuthenticationError("malformed device signature fields") from exc
        device_id, nonce_bytes, sig = fields
        if len(device_id) != DEVICE_ID_SIZE or len(nonce_bytes) != REQUEST_NONCE_SIZE:
            raise AuthenticationError("malformed device signature fields")
        batch_id = None
        if batch is not None:
            try:
                batch_id = b64url_decode(batch)
            except DecodeError as exc:
                raise AuthenticationError("malformed device signature fields") from exc
            if len(batch_id) != BATCH_ID_SIZE:
                raise AuthenticationError("malformed device signature fields")
        return cls(device_id, int(timestamp), nonce_bytes, sig, batch_id)


def _framed(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise UsageError("field too long to sign")
    return len(value).to_bytes(2, "big") + value


def device_request_message(
    method: str,
    path: str,
    device_id: bytes,
    timestamp: int,
    nonce: bytes,
    body: bytes,
    batch_id: bytes | None = None,
) -> bytes:
    """The bytes a device signs for one issuance request (see the module docstring); with a
    ``batch_id``, under its own label and with the id before the body's hash."""
    label = DEVICE_REQUEST_LABEL if batch_id is None else DEVICE_BATCH_REQUEST_LABEL
    return b"".join(
        (
            label,
            _framed(method.encode("ascii")),
            _framed(path.encode("utf-8")),
            device_id,
            timestamp.to_bytes(8, "big"),
            nonce,
            b"" if batch_id is None else batch_id,
            hashlib.sha256(body).digest(),
        )
    )


def sign_device_request(
    key: Ed25519PrivateKey,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float,
    rand: Random = system_random,
    batch_id: bytes | None = None,
    device_id: bytes | None = None,
) -> DeviceAuth:
    """Sign one issuance request with the device key, at time ``now``, with a fresh nonce.

    ``device_id`` is the id the issuer gave an attested device (derived from its attested key);
    by default the id derived from ``key`` (a device enrolled with a code).

    ``batch_id`` (16 random bytes the device chose for this batch, kept for its retries) makes
    the request retryable: the issuer charges a batch id once and answers a retry of the same
    body again. Each attempt is signed anew (a fresh nonce and timestamp).
    """
    if batch_id is not None and len(batch_id) != BATCH_ID_SIZE:
        raise UsageError("a batch id is 16 bytes")
    if device_id is None:
        device_id = device_id_for(key.public_bytes())
    timestamp = int(now)
    nonce = rand(REQUEST_NONCE_SIZE)
    message = device_request_message(method, path, device_id, timestamp, nonce, body, batch_id)
    return DeviceAuth(device_id, timestamp, nonce, key.sign(message), batch_id)


def verify_device_request(
    device_public_key: bytes,
    auth: DeviceAuth,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float,
    window: float = limits.ISSUANCE_REQUEST_WINDOW_S,
    registered_id: bytes | None = None,
) -> None:
    """Check a request's device signature; returns only when it holds.

    Steps: (1) the timestamp is within ``window`` seconds of ``now``; (2) the device id is the
    one of ``device_public_key``, or ``registered_id`` (the id the issuer's store holds the key
    under: an attested device's id derives from its attested key); (3) the Ed25519 signature
    covers method, path, device id, timestamp, nonce, the batch id when there is one, and the
    body's hash. The caller refuses a nonce it has seen (replay).
    Raises :class:`AuthenticationError` with a fixed message.
    """
    # 1. Fresh: a captured request cannot be replayed after the window closes.
    if abs(now - auth.timestamp) > window:
        raise AuthenticationError("issuance request timestamp outside the window")
    # 2. The id names this key.
    expected = registered_id if registered_id is not None else device_id_for(device_public_key)
    if expected != auth.device_id:
        raise AuthenticationError("device signature does not verify")
    # 3. The signature covers every part of the request that changes its meaning.
    message = device_request_message(
        method, path, auth.device_id, auth.timestamp, auth.nonce, body, auth.batch_id
    )
    try:
        ed25519_verify(device_public_key, message, auth.signature)
    except (CryptoError, DecodeError) as exc:
        raise AuthenticationError("device signature does not verify") from exc


# --- 3. enrolment ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A verified enrolment request: the one-time code and the device key it registers."""

    code: str = field(repr=False)
    device_public_key: bytes

    @property
    def device_id(self) -> bytes:
        return device_id_for(self.device_public_key)


def _enrolment_message(code: str, device_public_key: bytes) -> bytes:
    return ENROLMENT_LABEL + hashlib.sha256(code.encode("utf-8")).digest() + device_public_key


def encode_enrolment(key: Ed25519PrivateKey, code: str) -> bytes:
    """The enrolment request body for ``key``, authorised by the operator's one-time ``code``."""
    if not 1 <= len(code) <= limits.MAX_ENROLMENT_CODE_CHARS:
        raise UsageError("enrolment code length out of range")
    public = key.public_bytes()
    document = {
        "code": code,
        "device-key": b64url_encode(public),
        "proof": b64url_encode(key.sign(_enrolment_message(code, public))),
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def decode_enrolment(data: bytes) -> Enrolment:
    """Parse an enrolment request and check its proof of possession.

    Raises :class:`TooLargeError` past the bound, :class:`DecodeError` for malformed JSON or
    fields, :class:`AuthenticationError` when the proof does not verify. The code itself is
    checked by the issuer's store (one use, not expired).
    """
    if len(data) > limits.MAX_ENROLMENT_BODY_BYTES:
        raise TooLargeError("enrolment request too large")
    document = jsonio.loads(data, max_bytes=limits.MAX_ENROLMENT_BODY_BYTES)
    if not isinstance(document, dict):
        raise DecodeError("enrolment request is not an object")
    code, key_text, proof_text = (document.get(k) for k in ("code", "device-key", "proof"))
    if not isinstance(code, str) or not 1 <= len(code) <= limits.MAX_ENROLMENT_CODE_CHARS:
        raise DecodeError("bad enrolment code")
    if not code.isascii() or not code.isprintable():  # codes are URL-safe text; no surrogates
        raise DecodeError("bad enrolment code")
    if not isinstance(key_text, str) or not isinstance(proof_text, str):
        raise DecodeError("bad device key or proof")
    public = b64url_decode(key_text)
    proof = b64url_decode(proof_text)
    if len(public) != ED25519_PUBLIC_KEY_SIZE:
        raise DecodeError("bad device key")
    try:
        ed25519_verify(public, _enrolment_message(code, public), proof)
    except (CryptoError, DecodeError) as exc:
        raise AuthenticationError("enrolment proof does not verify") from exc
    return Enrolment(code, public)


# --- 3b. attested enrolment (Android hardware key attestation; docs/tokens.md) ----------------

#: Path of the issuer's enrolment challenge (POST, empty body; answers JSON).
ENROL_CHALLENGE_PATH: Final = "/v1/enrol/challenge"
ATTESTED_ENROLMENT_LABEL: Final = b"privcloud attested device enrolment v1\x00"
#: Size of the issuer's enrolment challenge, in bytes.
ENROLMENT_CHALLENGE_SIZE: Final = 32


@dataclass(frozen=True, slots=True)
class AttestedEnrolment:
    """An attested enrolment request whose Ed25519 proof verified; the chain and the hardware
    key's proof are the issuer's to verify (:mod:`privcloud.deviceattest`)."""

    challenge: bytes
    chain: tuple[bytes, ...] = field(repr=False)
    device_public_key: bytes
    key_proof: bytes = field(repr=False)

    @property
    def message(self) -> bytes:
        """What both the Ed25519 key and the attested hardware key signed."""
        return attested_enrolment_message(self.challenge, self.device_public_key, self.chain[0])


def attested_enrolment_message(challenge: bytes, device_public_key: bytes, leaf: bytes) -> bytes:
    """``label || SHA-256(challenge) || Ed25519 key || SHA-256(leaf certificate DER)``."""
    return (
        ATTESTED_ENROLMENT_LABEL
        + hashlib.sha256(challenge).digest()
        + device_public_key
        + hashlib.sha256(leaf).digest()
    )


def encode_attested_enrolment(
    key: Ed25519PrivateKey,
    challenge: bytes,
    chain: Sequence[bytes],
    sign_with_attested_key: Callable[[bytes], bytes],
) -> bytes:
    """The attested enrolment body: the attestation ``chain`` (DER, leaf first) made for
    ``challenge``, and the message signed by ``key`` and by the attested key."""
    if not chain:
        raise UsageError("an attestation chain has a leaf")
    public = key.public_bytes()
    message = attested_enrolment_message(challenge, public, chain[0])
    document = {
        "attestation": "android-key",
        "challenge": b64url_encode(challenge),
        "chain": [b64url_encode(c) for c in chain],
        "device-key": b64url_encode(public),
        "proof": b64url_encode(key.sign(message)),
        "key-proof": b64url_encode(sign_with_attested_key(message)),
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def _b64_field(document: dict[str, object], name: str, limit: int) -> bytes:
    text = document.get(name)
    if not isinstance(text, str) or len(text) > limit:
        raise DecodeError("bad attested enrolment field")
    return b64url_decode(text)


def decode_enrolment_request(data: bytes) -> Enrolment | AttestedEnrolment:
    """Parse either enrolment form (an ``attestation`` member marks the attested one) and
    check its Ed25519 proof. Raises like :func:`decode_enrolment`."""
    if len(data) > limits.MAX_ATTESTED_ENROLMENT_BODY_BYTES:
        raise TooLargeError("enrolment request too large")
    document = jsonio.loads(data, max_bytes=limits.MAX_ATTESTED_ENROLMENT_BODY_BYTES)
    if not isinstance(document, dict):
        raise DecodeError("enrolment request is not an object")
    if "attestation" not in document:
        return decode_enrolment(data)
    if document["attestation"] != "android-key":
        raise UnsupportedError("device attestation format not supported")
    chain_text = document.get("chain")
    if not isinstance(chain_text, list) or not chain_text:
        raise DecodeError("bad attestation chain")
    if len(chain_text) > limits.MAX_ANDROID_ATTESTATION_CERTIFICATES:
        raise TooLargeError("attestation chain too long")
    chain = []
    for item in chain_text:
        if not isinstance(item, str) or len(item) > 2 * limits.MAX_ANDROID_ATTESTATION_CHAIN_BYTES:
            raise DecodeError("bad attestation chain")
        chain.append(b64url_decode(item))
    if sum(len(c) for c in chain) > limits.MAX_ANDROID_ATTESTATION_CHAIN_BYTES:
        raise TooLargeError("attestation chain too large")
    challenge = _b64_field(document, "challenge", 4 * ENROLMENT_CHALLENGE_SIZE)
    public = _b64_field(document, "device-key", 64)
    proof = _b64_field(document, "proof", 128)
    key_proof = _b64_field(document, "key-proof", 2048)
    if len(challenge) != ENROLMENT_CHALLENGE_SIZE or len(public) != ED25519_PUBLIC_KEY_SIZE:
        raise DecodeError("bad challenge or device key")
    request = AttestedEnrolment(challenge, tuple(chain), public, key_proof)
    try:
        ed25519_verify(public, request.message, proof)
    except (CryptoError, DecodeError) as exc:
        raise AuthenticationError("enrolment proof does not verify") from exc
    return request


# --- 4. the issuer directory with key expiry -------------------------------------------------

#: Directory member (an extension RFC 9578 §4 parsers ignore) carrying a key's expiry.
EXPIRES_MEMBER: Final = "privcloud-expires"
#: Largest expiry accepted (far beyond any real key; keeps arithmetic in SQLite's range).
_MAX_EXPIRES: Final = 2**62


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A type-2 issuer key of the directory, valid from ``not_before`` until ``expires``
    (either may be absent: then that side is open)."""

    key: IssuerKey
    not_before: int | None = None
    expires: int | None = None

    def valid_at(self, now: float, *, skew: float = 0.0) -> bool:
        """Whether the key may sign or be redeemed at ``now`` (``skew`` seconds early)."""
        started = self.not_before is None or self.not_before - skew <= now
        return started and (self.expires is None or now < self.expires)


def parse_issuer_directory(data: bytes) -> tuple[IssuerDirectory, list[PublishedKey]]:
    """The directory and its type-2 keys with their expiry member, in the directory's order.

    Raises :class:`DecodeError` / :class:`TooLargeError` for a malformed directory (RFC 9578 §4
    rules, a malformed expiry, a type-2 key that is not the RFC 9578 §6.5 SPKI of a 2048-bit
    key); keys of other token types are skipped.
    """
    directory = IssuerDirectory.decode(data)
    # Shape, size and depth checked by decode() above.
    entries = jsonio.loads(data, max_bytes=limits.MAX_DIRECTORY_BYTES)["token-keys"]
    out = []
    for entry, key in zip(entries, directory.token_keys, strict=True):
        if key.token_type != TOKEN_TYPE_BLIND_RSA:
            continue
        expires = entry.get(EXPIRES_MEMBER)
        if expires is not None and (
            not isinstance(expires, int)
            or isinstance(expires, bool)
            or not 0 <= expires < _MAX_EXPIRES
        ):
            raise DecodeError("bad key expiry in issuer directory")
        out.append(PublishedKey(IssuerKey.from_spki(key.token_key), key.not_before, expires))
    return directory, out


def issuer_name_for(issuer_url: str) -> str:
    """The issuer name challenges carry for the issuer at ``issuer_url``: its authority
    (``host[:port]``). The gateway and the wallet both derive it so, unless configured."""
    authority = urlsplit(issuer_url).netloc
    if not authority or "@" in authority:
        raise UsageError("issuer URL needs a plain host[:port] authority")
    return authority


__all__ = [
    "ENROLMENT_CHALLENGE_SIZE",
    "ENROL_CHALLENGE_PATH",
    "AttestedEnrolment",
    "attested_enrolment_message",
    "decode_enrolment_request",
    "encode_attested_enrolment",
    "BATCH_ID_SIZE",
    "BATCH_PATH",
    "DEVICE_ID_SIZE",
    "ENROL_PATH",
    "EXPIRES_MEMBER",
    "HEADER_BATCH",
    "MEDIA_BATCH_REQUEST",
    "MEDIA_BATCH_RESPONSE",
    "REQUEST_NONCE_SIZE",
    "DeviceAuth",
    "Enrolment",
    "PublishedKey",
    "decode_batch_request",
    "decode_batch_response",
    "decode_enrolment",
    "device_id_for",
    "device_request_message",
    "encode_batch_request",
    "encode_batch_response",
    "encode_enrolment",
    "issuer_name_for",
    "parse_issuer_directory",
    "sign_device_request",
    "verify_device_request",
]
