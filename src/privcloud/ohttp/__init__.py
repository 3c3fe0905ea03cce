"""Oblivious HTTP (RFC 9458) and chunked OHTTP (draft-ietf-ohai-chunked-ohttp), sans-IO.

Only :mod:`privcloud.crypto` touches cryptographic libraries; this package works in bytes.
"""

from __future__ import annotations

from privcloud.ohttp.chunked import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    ChunkedClientContext,
    ChunkedGatewayContext,
    ChunkedRequestDecoder,
    ChunkedResponseDecoder,
    encapsulate_chunked_request,
)
from privcloud.ohttp.keyconfig import (
    DEFAULT_SUITES,
    MEDIA_KEYS,
    X25519,
    GatewayKey,
    KeyConfig,
    SymmetricSuite,
    decode_key_configs,
    encode_key_configs,
)
from privcloud.ohttp.protocol import (
    MEDIA_REQUEST,
    MEDIA_RESPONSE,
    ClientContext,
    GatewayContext,
    PreparedEncapsulation,
    decapsulate_request,
    encapsulate_request,
    prepare_encapsulation,
)

__all__ = [
    "DEFAULT_SUITES",
    "MEDIA_CHUNKED_REQUEST",
    "MEDIA_CHUNKED_RESPONSE",
    "MEDIA_KEYS",
    "MEDIA_REQUEST",
    "MEDIA_RESPONSE",
    "X25519",
    "ChunkedClientContext",
    "ChunkedGatewayContext",
    "ChunkedRequestDecoder",
    "ChunkedResponseDecoder",
    "ClientContext",
    "GatewayContext",
    "GatewayKey",
    "KeyConfig",
    "PreparedEncapsulation",
    "SymmetricSuite",
    "decapsulate_request",
    "decode_key_configs",
    "encapsulate_chunked_request",
    "encapsulate_request",
    "encode_key_configs",
    "prepare_encapsulation",
]
