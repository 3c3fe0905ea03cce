"""The cleartext part of a sealed envelope: version, suite, recipient key ids (docs/envelope.md §2).

This module holds the wire constants and labels of envelope version 1 and the header codec. It is
what the gateway needs to route a request, so it does no cryptography beyond SHA-256 for key ids::

    header = version    (u8, = 1)
             kem_id     (u16)       HPKE KEM of every recipient key (RFC 9180 §7.1)
             kdf_id     (u16)       HPKE KDF, also the KDF of the envelope key schedule
             aead_id    (u16)       HPKE AEAD, also the AEAD of the content and the response
             count      (u8, 1..MAX_ENVELOPE_RECIPIENTS)
             key_id     (32 bytes) x count, distinct
    envelope = header || wrap x count || content
    wrap     = enc (Nenc) || HPKE ciphertext of the CEK (Nh + Nt)
    content  = AEAD ciphertext of the padded request (>= 4 + Nt)

All integers are big-endian. Every length is fixed by the suite, so the envelope carries no
length fields besides ``count``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from privcloud.crypto.hpke import KemId, Suite
from privcloud.crypto.symmetric import AeadId, KdfId, sha256
from privcloud.envelope.padding import FRAMING
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.limits import MAX_ENVELOPE_RECIPIENTS, MAX_ENVELOPE_REQUEST

#: The envelope version this code speaks; the first byte of a request and of a response stream.
VERSION: Final = 1
MEDIA_TYPE_REQUEST: Final = "application/privcloud-envelope"
MEDIA_TYPE_STREAM: Final = "application/privcloud-envelope-stream"

#: Size of a key id: SHA-256 over (kem_id || public key).
KEY_ID_SIZE: Final = 32
#: Size of the fresh random response nonce at the start of a response stream.
RESPONSE_NONCE_SIZE: Final = 32
#: Fixed part of the header: version, kem, kdf, aead, count.
HEADER_FIXED_SIZE: Final = 8

# --- labels (docs/envelope.md §3); every label names the version, so v2 cannot reuse a key --------
#: HPKE ``info`` of every CEK wrap; the wrap's AAD is the encoded header.
LABEL_WRAP: Final = b"privcloud envelope v1 cek wrap"
#: HKDF-Extract salt that turns the CEK into the request PRK.
LABEL_EXTRACT: Final = b"privcloud envelope v1 extract"
LABEL_REQUEST_KEY: Final = b"privcloud envelope v1 request key"
LABEL_REQUEST_NONCE: Final = b"privcloud envelope v1 request nonce"
LABEL_RESPONSE_SECRET: Final = b"privcloud envelope v1 response secret"
#: HKDF-Expand info prefixes of the response keys; the request hash follows them.
LABEL_RESPONSE_KEY: Final = b"privcloud envelope v1 response key"
LABEL_RESPONSE_NONCE: Final = b"privcloud envelope v1 response nonce"


def key_id_for(kem: KemId, public_key: bytes) -> bytes:
    """The 32-byte key id of a node key: ``SHA-256(u16(kem_id) || public_key)``.

    It commits to the key (and its KEM), so a gateway cannot pass one node's key off under another
    node's id. Raises :class:`UsageError` if the key has the wrong length for ``kem``.
    """
    if len(public_key) != kem.public_key_size:
        raise UsageError("public key has the wrong length for its KEM")
    return sha256(int(kem).to_bytes(2, "big") + bytes(public_key))


def wrap_size(suite: Suite) -> int:
    """Bytes of one recipient's wrap: ``Nenc + Nh + Nt`` (the CEK is ``Nh`` bytes)."""
    return suite.kem.enc_size + suite.kdf.hash_size + suite.aead.tag_size


def cek_size(suite: Suite) -> int:
    """Bytes of the content encryption key (the request secret): ``Nh`` of the suite's KDF."""
    return suite.kdf.hash_size


def header_size(count: int) -> int:
    """Bytes of an encoded header with ``count`` recipients."""
    return HEADER_FIXED_SIZE + KEY_ID_SIZE * count


def envelope_overhead(suite: Suite, count: int) -> int:
    """Bytes an envelope adds to its padded plaintext: header, wraps and the content tag."""
    return header_size(count) + count * wrap_size(suite) + suite.aead.tag_size


def _check_suite(suite: Suite) -> None:
    if suite.aead == AeadId.EXPORT_ONLY:
        raise UsageError("the export-only AEAD cannot seal an envelope")


@dataclass(frozen=True)
class EnvelopeHeader:
    """The cleartext header: all the gateway may read. Valid by construction."""

    version: int
    suite: Suite
    key_ids: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.version != VERSION:
            raise UsageError("unsupported envelope version")
        _check_suite(self.suite)
        if not 1 <= len(self.key_ids) <= MAX_ENVELOPE_RECIPIENTS:
            raise UsageError("envelope recipient count out of range")
        if any(len(k) != KEY_ID_SIZE for k in self.key_ids):
            raise UsageError("key id has the wrong length")
        if len(set(self.key_ids)) != len(self.key_ids):
            raise UsageError("duplicate recipient key id")

    def encode(self) -> bytes:
        """The header's wire bytes (the AAD of every wrap)."""
        return (
            bytes([self.version])
            + int(self.suite.kem).to_bytes(2, "big")
            + int(self.suite.kdf).to_bytes(2, "big")
            + int(self.suite.aead).to_bytes(2, "big")
            + bytes([len(self.key_ids)])
            + b"".join(self.key_ids)
        )

    @property
    def size(self) -> int:
        """Bytes of the encoded header."""
        return header_size(len(self.key_ids))


def _decode_suite(data: bytes | memoryview) -> Suite:
    kem_v = int.from_bytes(data[1:3], "big")
    kdf_v = int.from_bytes(data[3:5], "big")
    aead_v = int.from_bytes(data[5:7], "big")
    try:
        suite = Suite(KemId(kem_v), KdfId(kdf_v), AeadId(aead_v))
    except ValueError as exc:
        raise UnsupportedError("unsupported envelope suite") from exc
    if suite.aead == AeadId.EXPORT_ONLY:
        raise UnsupportedError("unsupported envelope suite")
    return suite


def parse_header(envelope: bytes) -> EnvelopeHeader:
    """Read the cleartext header of a request envelope, cheaply and without cryptography.

    Also checks that the envelope is long enough for the wraps and a minimal content, so the
    gateway drops truncated envelopes early. It does not (cannot) check authenticity: only a
    recipient node can. Raises :class:`TooLargeError` (envelope over
    ``limits.MAX_ENVELOPE_REQUEST`` or too many recipients), :class:`UnsupportedError` (version
    or suite) or :class:`DecodeError` (anything malformed).
    """
    # 1. Bound the size before reading anything.
    if len(envelope) > MAX_ENVELOPE_REQUEST:
        raise TooLargeError("envelope too large")
    if len(envelope) < HEADER_FIXED_SIZE:
        raise DecodeError("envelope too short")
    # 2. Version first: a later version may change everything after this byte.
    if envelope[0] != VERSION:
        raise UnsupportedError("unsupported envelope version")
    # 3. Suite and recipient count.
    suite = _decode_suite(envelope)
    count = envelope[7]
    if count == 0:
        raise DecodeError("envelope has no recipients")
    if count > MAX_ENVELOPE_RECIPIENTS:
        raise TooLargeError("too many envelope recipients")
    # 4. The whole envelope must hold header, wraps and at least a minimal content.
    minimum = header_size(count) + count * wrap_size(suite) + FRAMING + suite.aead.tag_size
    if len(envelope) < minimum:
        raise DecodeError("envelope too short")
    ids = envelope[HEADER_FIXED_SIZE : header_size(count)]
    key_ids = tuple(bytes(ids[i : i + KEY_ID_SIZE]) for i in range(0, len(ids), KEY_ID_SIZE))
    if len(set(key_ids)) != count:
        raise DecodeError("duplicate recipient key id")
    return EnvelopeHeader(VERSION, suite, key_ids)


@dataclass(frozen=True)
class EnvelopeParts:
    """An envelope split into its parts; what a node decrypts. Not authenticated yet."""

    header: EnvelopeHeader
    #: header || wraps: the AAD of the content encryption.
    prefix: bytes
    #: ``(enc, wrapped CEK)`` per recipient, in header order.
    wraps: tuple[tuple[bytes, bytes], ...]
    content: bytes


def split_envelope(envelope: bytes) -> EnvelopeParts:
    """Parse the header (as :func:`parse_header`) and split off the wraps and the content."""
    header = parse_header(envelope)
    suite = header.suite
    n_enc = suite.kem.enc_size
    w_size = wrap_size(suite)
    offset = header.size
    wraps = []
    for i in range(len(header.key_ids)):
        start = offset + i * w_size
        enc = bytes(envelope[start : start + n_enc])
        wraps.append((enc, bytes(envelope[start + n_enc : start + w_size])))
    prefix_end = offset + len(header.key_ids) * w_size
    return EnvelopeParts(
        header=header,
        prefix=bytes(envelope[:prefix_end]),
        wraps=tuple(wraps),
        content=bytes(envelope[prefix_end:]),
    )
