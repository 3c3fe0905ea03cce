"""The sealed envelope: a request encrypted once and wrapped to k attested nodes, and the sealed
response stream back to the client (docs/trust-model.md#inner-layer, docs/envelope.md,
docs/adr/0003).

Sans-IO: bytes and randomness in, bytes out. The gateway uses only :func:`parse_header`.
"""

from __future__ import annotations

from privcloud.crypto.hpke import X25519_SHA256_AES128GCM
from privcloud.envelope.format import (
    KEY_ID_SIZE,
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_STREAM,
    VERSION,
    EnvelopeHeader,
    envelope_overhead,
    key_id_for,
    parse_header,
)
from privcloud.envelope.padding import padded_size
from privcloud.envelope.seal import (
    ClientSession,
    NodeSession,
    PreparedSeal,
    Recipient,
    open_request,
    prepare_seal,
    seal_request,
)
from privcloud.envelope.stream import StreamFramer, StreamOpener, StreamSealer

__all__ = [
    "KEY_ID_SIZE",
    "MEDIA_TYPE_REQUEST",
    "MEDIA_TYPE_STREAM",
    "VERSION",
    "X25519_SHA256_AES128GCM",
    "ClientSession",
    "EnvelopeHeader",
    "NodeSession",
    "PreparedSeal",
    "Recipient",
    "StreamFramer",
    "StreamOpener",
    "StreamSealer",
    "envelope_overhead",
    "key_id_for",
    "open_request",
    "padded_size",
    "parse_header",
    "prepare_seal",
    "seal_request",
]
