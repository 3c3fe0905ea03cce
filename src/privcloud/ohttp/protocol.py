"""Oblivious HTTP one-shot encapsulation (RFC 9458 §4.3 requests, §4.4 responses), sans-IO.

Wire formats::

    hdr = Key Identifier (8) || HPKE KEM ID (16) || HPKE KDF ID (16) || HPKE AEAD ID (16)
    Encapsulated Request  = hdr || enc (Nenc bytes) || HPKE-protected request
    Encapsulated Response = response_nonce (max(Nn, Nk) bytes) || AEAD-protected response

The client keeps a :class:`ClientContext` per request and the gateway a
:class:`GatewayContext`; each response can be opened only with the context of its own request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privcloud.crypto import Random, hpke, system_random
from privcloud.crypto.hpke import PrivateKey
from privcloud.crypto.symmetric import Aead, AeadId, KdfId, hkdf_expand, hkdf_extract
from privcloud.errors import (
    DecodeError,
    TooLargeError,
    UnknownKeyError,
    UnsupportedError,
    UsageError,
)
from privcloud.limits import MAX_OHTTP_REQUEST
from privcloud.ohttp.keyconfig import GatewayKey, KeyConfig, SymmetricSuite

MEDIA_REQUEST = "message/ohttp-req"
MEDIA_RESPONSE = "message/ohttp-res"

#: HPKE info label of a request (RFC 9458 §4.3).
REQUEST_LABEL = b"message/bhttp request"
#: HPKE exporter context of the response secret (RFC 9458 §4.4).
RESPONSE_LABEL = b"message/bhttp response"

#: Size of ``hdr``: key id (1) + KEM id (2) + KDF id (2) + AEAD id (2).
HEADER_SIZE = 7


# --- shared steps (also used by privcloud.ohttp.chunked) -------------------------------------


def _encode_header(key_id: int, kem: hpke.KemId, suite: SymmetricSuite) -> bytes:
    return (
        key_id.to_bytes(1, "big")
        + int(kem).to_bytes(2, "big")
        + int(suite.kdf).to_bytes(2, "big")
        + int(suite.aead).to_bytes(2, "big")
    )


def _info(label: bytes, hdr: bytes) -> bytes:
    """HPKE info = label || 0x00 || hdr (RFC 9458 §4.3 step 2)."""
    return label + b"\x00" + hdr


def _choose_suite(config: KeyConfig, suite: SymmetricSuite | None) -> SymmetricSuite:
    if suite is None:
        return config.suites[0]
    if suite not in config.suites:
        raise UsageError("the key configuration does not offer this suite")
    return suite


def _seal_header(
    config: KeyConfig,
    label: bytes,
    suite: SymmetricSuite | None,
    rand: Random,
    ephemeral: PrivateKey | None,
) -> tuple[bytes, bytes, SymmetricSuite, hpke.Context]:
    """Client steps 1-3 of RFC 9458 §4.3: returns ``(hdr || enc, enc, suite, context)``."""
    chosen = _choose_suite(config, suite)
    hdr = _encode_header(config.key_id, config.kem, chosen)
    enc, context = hpke.setup_base_sender(
        chosen.hpke_suite(config.kem),
        config.public_key,
        _info(label, hdr),
        rand=rand,
        ephemeral=ephemeral,
    )
    return hdr + enc, enc, chosen, context


def _check_header(keys: Mapping[int, GatewayKey], hdr: bytes) -> tuple[GatewayKey, SymmetricSuite]:
    """Gateway checks of ``hdr`` (RFC 9458 §4.3, §5.2); ``hdr`` is exactly 7 bytes.

    Raises :class:`UnknownKeyError` for a key id we do not hold and :class:`UnsupportedError`
    for a KEM, KDF or AEAD that key does not offer.
    """
    # 1. The key identifier names one of our keys.
    key = keys.get(hdr[0])
    if key is None:
        raise UnknownKeyError("unknown OHTTP key identifier")
    # 2. The KEM is that key's KEM.
    if int.from_bytes(hdr[1:3], "big") != int(key.config.kem):
        raise UnsupportedError("KEM does not match the key configuration")
    # 3. The (KDF, AEAD) pair is one the key configuration offers.
    kdf_id = int.from_bytes(hdr[3:5], "big")
    aead_id = int.from_bytes(hdr[5:7], "big")
    for offered in key.config.suites:
        if int(offered.kdf) == kdf_id and int(offered.aead) == aead_id:
            return key, offered
    raise UnsupportedError("symmetric suite not offered by this key")


def _open_header(key: GatewayKey, suite: SymmetricSuite, label: bytes, head: bytes) -> hpke.Context:
    """SetupBaseR from ``head = hdr || enc``; raises :class:`CryptoError` if ``enc`` is bad."""
    hdr, enc = head[:HEADER_SIZE], head[HEADER_SIZE:]
    return hpke.setup_base_recipient(
        suite.hpke_suite(key.config.kem), enc, key.private_key, _info(label, hdr)
    )


def _response_aead(
    context: hpke.Context, label: bytes, suite: SymmetricSuite, enc: bytes, response_nonce: bytes
) -> tuple[Aead, bytes]:
    """Steps 1 and 3-5 of RFC 9458 §4.4: the response AEAD and its nonce."""
    kdf: KdfId = suite.kdf
    aead: AeadId = suite.aead
    # 1. secret = context.Export(label, max(Nn, Nk))
    secret = context.export(label, suite.response_nonce_size)
    # 3. prk = Extract(salt = enc || response_nonce, ikm = secret)
    prk = hkdf_extract(kdf, enc + response_nonce, secret)
    # 4-5. aead_key = Expand(prk, "key", Nk); aead_nonce = Expand(prk, "nonce", Nn)
    key = hkdf_expand(kdf, prk, b"key", aead.key_size)
    nonce = hkdf_expand(kdf, prk, b"nonce", aead.nonce_size)
    return Aead(aead, key), nonce


def _make_response_nonce(
    suite: SymmetricSuite, rand: Random, response_nonce: bytes | None
) -> bytes:
    """Step 2 of RFC 9458 §4.4: a fresh max(Nn, Nk)-byte nonce (or the injected test value)."""
    size = suite.response_nonce_size
    nonce = rand(size) if response_nonce is None else bytes(response_nonce)
    if len(nonce) != size:
        raise UsageError("response nonce has the wrong length")
    return nonce


# --- client ----------------------------------------------------------------------------------


class ClientContext:
    """What a client keeps to open the response to one encapsulated request."""

    __slots__ = ("_context", "_enc", "_suite")

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._context = context
        self._enc = enc
        self._suite = suite

    @property
    def suite(self) -> SymmetricSuite:
        return self._suite

    def decapsulate_response(self, enc_response: bytes) -> bytes:
        """Open an Encapsulated Response (RFC 9458 §4.4) and return the response bytes.

        Raises :class:`DecodeError` if it is too short to hold a nonce and a tag, and
        :class:`CryptoError` if it was altered or belongs to another request.
        """
        enc_response = bytes(enc_response)
        # 1. Split response_nonce || ct.
        nonce_size = self._suite.response_nonce_size
        if len(enc_response) < nonce_size + self._suite.aead.tag_size:
            raise DecodeError("truncated encapsulated response")
        response_nonce, ct = enc_response[:nonce_size], enc_response[nonce_size:]
        # 2. Derive the response key and nonce as the gateway did, then open.
        aead, nonce = _response_aead(
            self._context, RESPONSE_LABEL, self._suite, self._enc, response_nonce
        )
        return aead.open(nonce, ct, b"")


class PreparedEncapsulation:
    """Steps 1-3 of RFC 9458 §4.3 (header, HPKE ephemeral key, sender context) done before the
    request exists; :meth:`seal` (step 4) encapsulates exactly one request with them. Nothing
    here depends on the request, so a device can do the public-key work while it is idle."""

    __slots__ = ("_chosen", "_context", "_enc", "_head", "_used")

    def __init__(
        self, head: bytes, enc: bytes, chosen: SymmetricSuite, context: hpke.Context
    ) -> None:
        self._head, self._enc, self._chosen, self._context = head, enc, chosen, context
        self._used = False

    @property
    def used(self) -> bool:
        """Whether :meth:`seal` was called (a prepared encapsulation serves one request)."""
        return self._used

    def seal(self, request: bytes) -> tuple[bytes, ClientContext]:
        """Encapsulate ``request``: ``(enc_request, context)``. Raises :class:`UsageError` on
        a second call (the HPKE context seals one message) or for an oversize request."""
        if self._used:
            raise UsageError("a prepared encapsulation seals exactly one request")
        if len(self._head) + len(request) + self._chosen.aead.tag_size > MAX_OHTTP_REQUEST:
            raise UsageError("request too large to encapsulate")
        self._used = True
        # 4. ct = Seal(aad = "", request); enc_request = hdr || enc || ct.
        ct = self._context.seal(bytes(request), b"")
        return self._head + ct, ClientContext(self._context, self._enc, self._chosen)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<secret>)"

    def __reduce__(self) -> Any:
        raise UsageError("prepared encapsulations cannot be pickled")


def prepare_encapsulation(
    config: KeyConfig,
    *,
    suite: SymmetricSuite | None = None,
    rand: Random = system_random,
    ephemeral: PrivateKey | None = None,
) -> PreparedEncapsulation:
    """Steps 1-3 of RFC 9458 §4.3 for one request to ``config``, ahead of it (``suite``,
    ``ephemeral``: as for :func:`encapsulate_request`)."""
    # 1-3. hdr, info = "message/bhttp request" || 0 || hdr, enc and the HPKE sender context.
    head, enc, chosen, context = _seal_header(config, REQUEST_LABEL, suite, rand, ephemeral)
    return PreparedEncapsulation(head, enc, chosen, context)


def encapsulate_request(
    config: KeyConfig,
    request: bytes,
    *,
    suite: SymmetricSuite | None = None,
    rand: Random = system_random,
    ephemeral: PrivateKey | None = None,
) -> tuple[bytes, ClientContext]:
    """Encapsulate ``request`` (a Binary HTTP message) to ``config`` (RFC 9458 §4.3).

    ``suite`` defaults to the first suite the configuration offers; ``ephemeral`` is a test-only
    seam fixing the HPKE ephemeral key. Returns ``(enc_request, context)``. Raises
    :class:`UsageError` for a suite the configuration does not offer or an oversize request.
    """
    prepared = prepare_encapsulation(config, suite=suite, rand=rand, ephemeral=ephemeral)
    return prepared.seal(request)


# --- gateway ---------------------------------------------------------------------------------


class GatewayContext:
    """What a gateway keeps to encapsulate the one response to a decapsulated request."""

    __slots__ = ("_context", "_enc", "_suite", "_used")

    def __init__(self, context: hpke.Context, enc: bytes, suite: SymmetricSuite) -> None:
        self._context = context
        self._enc = enc
        self._suite = suite
        self._used = False

    @property
    def suite(self) -> SymmetricSuite:
        return self._suite

    def encapsulate_response(
        self, response: bytes, *, rand: Random = system_random, response_nonce: bytes | None = None
    ) -> bytes:
        """Encapsulate ``response`` (RFC 9458 §4.4); may be called once per request.

        ``response_nonce`` is a test-only seam. Raises :class:`UsageError` on a second call or
        a nonce of the wrong length.
        """
        if self._used:
            raise UsageError("a request gets exactly one response")
        # 2. response_nonce = random(max(Nn, Nk))
        nonce_bytes = _make_response_nonce(self._suite, rand, response_nonce)
        self._used = True
        # 1, 3-5. The response key and nonce.
        aead, nonce = _response_aead(
            self._context, RESPONSE_LABEL, self._suite, self._enc, nonce_bytes
        )
        # 6. enc_response = response_nonce || Seal(key, nonce, "", response)
        return nonce_bytes + aead.seal(nonce, bytes(response), b"")


def decapsulate_request(
    keys: Mapping[int, GatewayKey], enc_request: bytes
) -> tuple[bytes, GatewayContext]:
    """Open an Encapsulated Request (RFC 9458 §4.3) with one of ``keys`` (by key id).

    Returns ``(request, context)``. Raises :class:`TooLargeError` above ``MAX_OHTTP_REQUEST``,
    :class:`DecodeError` if truncated, :class:`UnknownKeyError` for an unknown key id,
    :class:`UnsupportedError` for a KEM or suite the key does not offer, and
    :class:`CryptoError` if decryption fails.
    """
    # 1. Bound the input before looking at it.
    if len(enc_request) > MAX_OHTTP_REQUEST:
        raise TooLargeError("encapsulated request too large")
    enc_request = bytes(enc_request)
    if len(enc_request) < HEADER_SIZE:
        raise DecodeError("truncated encapsulated request")
    # 2. Check hdr: the key id, KEM and (KDF, AEAD) pair.
    key, suite = _check_header(keys, enc_request[:HEADER_SIZE])
    head_size = HEADER_SIZE + key.config.kem.enc_size
    if len(enc_request) < head_size + suite.aead.tag_size:
        raise DecodeError("truncated encapsulated request")
    # 3. SetupBaseR(enc, skR, "message/bhttp request" || 0 || hdr).
    context = _open_header(key, suite, REQUEST_LABEL, enc_request[:head_size])
    # 4. request = Open(aad = "", ct).
    request = context.open(enc_request[head_size:], b"")
    return request, GatewayContext(context, enc_request[HEADER_SIZE:head_size], suite)
