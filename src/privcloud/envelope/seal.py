"""Sealing a request to k nodes, and opening it on one of them (docs/envelope.md §3).

Key schedule (``Extract``/``Expand``: HKDF with the suite's KDF; ``Nh``/``Nk``/``Nn``: its sizes)::

    cek             = random(Nh)                     the request secret, fresh per request
    wrap_i          = enc_i || HPKE.SealBase(pk_i, info = "privcloud envelope v1 cek wrap",
                                             aad = header, pt = cek)
    prk             = Extract(salt = "privcloud envelope v1 extract", ikm = cek)
    request_key     = Expand(prk, "privcloud envelope v1 request key", Nk)
    request_nonce   = Expand(prk, "privcloud envelope v1 request nonce", Nn)
    response_secret = Expand(prk, "privcloud envelope v1 response secret", Nh)
    content         = AEAD.Seal(request_key, request_nonce, padded(plaintext),
                                aad = header || wrap_1 || ... || wrap_k)
    request_hash    = SHA-256(envelope)              binds the response (stream.py)

The header is the AAD of every wrap and, together with all wraps, of the content, so a node
refuses an envelope whose version, suite, recipient list or any other recipient's wrap was
changed. The request key and nonce are used exactly once, since the CEK is fresh.

Replay: a node keeps no state, so a whole request replayed to a node is opened again. Refusing
replays is the job of the token layer (the gateway spends each anonymous token once), not of
this layer. A replayed request gets a new response under a fresh response nonce, readable only
with the CEK, which only the client and the recipient nodes hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from privcloud.crypto import Random, system_random
from privcloud.crypto.hpke import (
    X25519_SHA256_AES128GCM,
    PrivateKey,
    Suite,
    open_base,
    seal_base,
)
from privcloud.crypto.symmetric import Aead, hkdf_expand, hkdf_extract, sha256
from privcloud.envelope.format import (
    LABEL_EXTRACT,
    LABEL_REQUEST_KEY,
    LABEL_REQUEST_NONCE,
    LABEL_RESPONSE_SECRET,
    LABEL_WRAP,
    VERSION,
    EnvelopeHeader,
    cek_size,
    envelope_overhead,
    key_id_for,
    split_envelope,
)
from privcloud.envelope.padding import pad as pad_plaintext
from privcloud.envelope.padding import padded_size, unpad
from privcloud.envelope.stream import StreamOpener, StreamSealer
from privcloud.errors import CryptoError, UnknownKeyError, UsageError
from privcloud.limits import MAX_ENVELOPE_RECIPIENTS, MAX_ENVELOPE_REQUEST


@dataclass(frozen=True)
class Recipient:
    """A node key a request may be sealed to, as the node directory publishes it.

    ``key_id`` must equal :func:`key_id_for` of the suite's KEM and ``public_key``; construction
    raises :class:`UsageError` otherwise.
    """

    key_id: bytes
    public_key: bytes
    suite: Suite = X25519_SHA256_AES128GCM

    def __post_init__(self) -> None:
        if key_id_for(self.suite.kem, self.public_key) != self.key_id:
            raise UsageError("key id does not match the public key")

    @classmethod
    def from_public_key(
        cls, public_key: bytes, suite: Suite = X25519_SHA256_AES128GCM
    ) -> Recipient:
        """A recipient whose key id is computed from ``public_key``."""
        return cls(key_id_for(suite.kem, public_key), bytes(public_key), suite)


@dataclass(frozen=True)
class _RequestKeys:
    key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    response_secret: bytes = field(repr=False)

    def __reduce__(self) -> Any:
        raise UsageError("request keys cannot be pickled")


def _request_keys(suite: Suite, cek: bytes) -> _RequestKeys:
    kdf = suite.kdf
    prk = hkdf_extract(kdf, LABEL_EXTRACT, cek)
    return _RequestKeys(
        key=hkdf_expand(kdf, prk, LABEL_REQUEST_KEY, suite.aead.key_size),
        nonce=hkdf_expand(kdf, prk, LABEL_REQUEST_NONCE, suite.aead.nonce_size),
        response_secret=hkdf_expand(kdf, prk, LABEL_RESPONSE_SECRET, kdf.hash_size),
    )


class _Session:
    """The secrets one request's two ends share: suite, response secret, request hash. Never
    logged, never pickled."""

    __slots__ = ("_request_hash", "_response_secret", "_suite")

    def __init__(self, suite: Suite, response_secret: bytes, request_hash: bytes) -> None:
        self._suite = suite
        self._response_secret = response_secret
        self._request_hash = request_hash

    @property
    def request_hash(self) -> bytes:
        """SHA-256 of the request envelope this session belongs to (not secret)."""
        return self._request_hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<secret>)"

    def __reduce__(self) -> Any:
        raise UsageError("sessions cannot be pickled")


class ClientSession(_Session):
    """Client side of one request: opens the response stream to it."""

    __slots__ = ()

    def response_opener(self) -> StreamOpener:
        """A fresh incremental opener for one response stream to this request."""
        return StreamOpener(self._suite, self._response_secret, self._request_hash)

    def open_response(self, data: bytes) -> list[bytes]:
        """Open a whole response stream; returns its plaintext chunks (one for a plain response).

        Raises what :meth:`StreamOpener.feed` and :meth:`StreamOpener.close` raise, e.g.
        :class:`TruncatedStreamError` or :class:`CryptoError`.
        """
        opener = self.response_opener()
        chunks = opener.feed(data)
        opener.close()
        return chunks


class NodeSession(_Session):
    """Node side of one opened request: seals the response."""

    __slots__ = ()

    def stream_sealer(self, *, rand: Random = system_random, pad: bool = True) -> StreamSealer:
        """A sealer for a response stream, with a fresh random response nonce from ``rand``."""
        return StreamSealer(
            self._suite, self._response_secret, self._request_hash, rand=rand, pad=pad
        )

    def seal_response(
        self, plaintext: bytes, *, rand: Random = system_random, pad: bool = True
    ) -> bytes:
        """A whole non-streaming response: the stream header and one final chunk."""
        sealer = self.stream_sealer(rand=rand, pad=pad)
        return sealer.header() + sealer.seal_chunk(plaintext, final=True)


class PreparedSeal:
    """A request's CEK, freshly drawn and wrapped to its recipients before the request exists.

    Nothing of the wraps depends on the plaintext, so a device can do this public-key work
    while it is idle and seal the request with one AEAD when it is made
    (``privcloud.sdk.client``, "sealing ahead"). :meth:`seal` may be called **once**: the
    request key and nonce come from the CEK, so a second plaintext under them would reuse an
    AEAD nonce. Never logged, never pickled.
    """

    __slots__ = ("_count", "_keys", "_prefix", "_suite", "_used")

    def __init__(self, suite: Suite, count: int, prefix: bytes, keys: _RequestKeys) -> None:
        self._suite, self._count, self._prefix, self._keys = suite, count, prefix, keys
        self._used = False

    @property
    def used(self) -> bool:
        """Whether :meth:`seal` was called (a prepared seal serves one request only)."""
        return self._used

    def seal(self, plaintext: bytes, *, pad: bool = True) -> tuple[bytes, ClientSession]:
        """Seal ``plaintext`` under the prepared keys: the envelope bytes and the session that
        opens the response. Raises :class:`UsageError` on a second call, or for a plaintext
        whose envelope would exceed ``limits.MAX_ENVELOPE_REQUEST``."""
        if self._used:
            raise UsageError("a prepared seal seals exactly one request")
        # 2. Size: the padded plaintext is the bucket, capped so the envelope stays within the
        #    limit (the cap is itself a fixed size: the top bucket).
        max_padded = MAX_ENVELOPE_REQUEST - envelope_overhead(self._suite, self._count)
        if padded_size(len(plaintext), pad=False) > max_padded:
            raise UsageError("plaintext too large for an envelope")
        self._used = True
        padded = pad_plaintext(plaintext, min(padded_size(len(plaintext), pad=pad), max_padded))
        # 4. The content, under keys derived from the CEK, with header and wraps as AAD.
        keys = self._keys
        content = Aead(self._suite.aead, keys.key).seal(keys.nonce, padded, self._prefix)
        envelope = self._prefix + content
        return envelope, ClientSession(self._suite, keys.response_secret, sha256(envelope))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<secret>)"

    def __reduce__(self) -> Any:
        raise UsageError("prepared seals cannot be pickled")


def prepare_seal(recipients: Sequence[Recipient], *, rand: Random = system_random) -> PreparedSeal:
    """Draw a fresh CEK and wrap it to ``recipients``: everything of :func:`seal_request` but
    the content, which :meth:`PreparedSeal.seal` adds once.

    ``rand`` supplies the CEK first, then each wrap's ephemeral key in recipient order. Raises
    :class:`UsageError` for no recipients, more than ``limits.MAX_ENVELOPE_RECIPIENTS``,
    duplicate key ids or mixed suites, and :class:`DecodeError` if a recipient's public key is
    not a valid point.
    """
    # 1. Recipients: 1..MAX, one suite, distinct keys.
    if not recipients:
        raise UsageError("no envelope recipients")
    if len(recipients) > MAX_ENVELOPE_RECIPIENTS:
        raise UsageError("too many envelope recipients")
    suite = recipients[0].suite
    if any(r.suite != suite for r in recipients):
        raise UsageError("envelope recipients use different suites")
    header_bytes = EnvelopeHeader(VERSION, suite, tuple(r.key_id for r in recipients)).encode()
    # 3. A fresh CEK, wrapped to each recipient with the header as AAD.
    cek = rand(cek_size(suite))
    if len(cek) != cek_size(suite):
        raise UsageError("random source returned the wrong length")
    wraps = []
    for recipient in recipients:
        enc, wrapped = seal_base(
            suite, recipient.public_key, LABEL_WRAP, header_bytes, cek, rand=rand
        )
        wraps.append(enc + wrapped)
    prefix = header_bytes + b"".join(wraps)
    return PreparedSeal(suite, len(recipients), prefix, _request_keys(suite, cek))


def seal_request(
    recipients: Sequence[Recipient],
    plaintext: bytes,
    *,
    rand: Random = system_random,
    pad: bool = True,
) -> tuple[bytes, ClientSession]:
    """Seal ``plaintext`` so that any one of ``recipients`` can open it.

    Returns the envelope bytes and the session that opens the response. ``rand`` supplies the CEK
    first, then each wrap's ephemeral key in recipient order. Raises :class:`UsageError` for no
    recipients, more than ``limits.MAX_ENVELOPE_RECIPIENTS``, duplicate key ids, mixed suites,
    or a plaintext whose envelope would exceed ``limits.MAX_ENVELOPE_REQUEST``. Raises
    :class:`DecodeError` if a recipient's public key is not a valid point.
    """
    return prepare_seal(recipients, rand=rand).seal(plaintext, pad=pad)


def open_request(
    envelope: bytes, key_id: bytes, private_key: PrivateKey
) -> tuple[bytes, NodeSession]:
    """Open a request envelope as the node holding ``private_key`` (whose id is ``key_id``).

    Returns the plaintext and the session that seals the response. Raises
    :class:`TooLargeError`, :class:`UnsupportedError` or :class:`DecodeError` for a malformed
    envelope, :class:`UnknownKeyError` if ``key_id`` is not among the recipients,
    :class:`CryptoError` if anything in the envelope was altered, and :class:`UsageError` if
    ``key_id`` is not the id of ``private_key``.
    """
    # 1. Structure: version, suite, recipients, sizes (format.py).
    parts = split_envelope(envelope)
    header = parts.header
    suite = header.suite
    # 2. Find our wrap by key id; the id must be that of our own key.
    if key_id not in header.key_ids:
        raise UnknownKeyError("envelope is not sealed to this key")
    if key_id_for(private_key.kem, private_key.public_bytes) != key_id:
        raise UsageError("key id does not match the private key")
    if suite.kem != private_key.kem:
        raise CryptoError("envelope suite does not match the key")
    enc, wrapped = parts.wraps[header.key_ids.index(key_id)]
    # 3. Unwrap the CEK; the header is the AAD, so any change to it fails here.
    cek = open_base(suite, enc, private_key, LABEL_WRAP, header.encode(), wrapped)
    if len(cek) != cek_size(suite):
        raise CryptoError("unwrapped key has the wrong length")
    # 4. Open the content; header and all wraps are the AAD.
    keys = _request_keys(suite, cek)
    padded = Aead(suite.aead, keys.key).open(keys.nonce, parts.content, parts.prefix)
    # 5. Strip the padding; bind the response to the exact envelope bytes.
    plaintext = unpad(padded)
    return plaintext, NodeSession(suite, keys.response_secret, sha256(bytes(envelope)))
