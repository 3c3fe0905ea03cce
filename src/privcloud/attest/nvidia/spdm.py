"""NVIDIA GPU attestation reports: an SPDM 1.1 GET_MEASUREMENTS request and its signed
MEASUREMENTS response, as NVML returns them (sans-IO, bounded, nothing cryptographic here).

References: DMTF DSP0274 *SPDM* 1.1.x, §10.11 "GET_MEASUREMENTS request and MEASUREMENTS
response" (Tables 40-45: request, response, measurement block, DMTF measurement); NVIDIA's
opaque-data TLV field ids as NVIDIA's open-source local GPU verifier reads them.

Layout (all integers little-endian)::

    request  (37 bytes): version 0x11 | code 0xE0 | param1 (bit 0: signature) | param2
                         (measurement operation, 0xFF: all) | nonce[32] | slot id
    response:            version 0x11 | code 0x60 | param1 | param2 (slot) | u8 blocks
                         | u24 record length | record | nonce[32] | u16 opaque length
                         | opaque | signature[96]
    block:               u8 index | u8 spec (1: DMTF) | u16 size | u8 value type | u16 value
                         size | value
    opaque field:        u16 type | u16 size | value

The signature is ECDSA P-384 (raw ``r || s``) with SHA-384 over ``request || response`` without
the signature (SPDM 1.1 "L1/L2" transcript of one request/response pair).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError

SPDM_VERSION_1_1: Final = 0x11
GET_MEASUREMENTS: Final = 0xE0
MEASUREMENTS: Final = 0x60
REQUEST_SIZE: Final = 37
NONCE_SIZE: Final = 32
SIGNATURE_SIZE: Final = 96
#: Request param1 bit 0: the requester asked for a signature.
SIGNATURE_REQUESTED: Final = 0x01
#: MeasurementSpecification bit 0: DMTF.
DMTF_SPEC: Final = 0x01

# Opaque data field types (NVIDIA).
OPAQUE_DRIVER_VERSION: Final = 3
OPAQUE_GPU_INFO: Final = 4
OPAQUE_VBIOS_VERSION: Final = 6
OPAQUE_NVDEC0_STATUS: Final = 11
OPAQUE_MSRSCNT: Final = 12
OPAQUE_CHIP_SKU: Final = 15
OPAQUE_PROJECT: Final = 17
OPAQUE_PROJECT_SKU: Final = 18
OPAQUE_FWID: Final = 20
OPAQUE_PROTECTED_PCIE_STATUS: Final = 21
OPAQUE_DATA_VERSION: Final = 34
OPAQUE_CHIP_INFO: Final = 35
OPAQUE_FEATURE_FLAG: Final = 36
#: OPAQUE_FEATURE_FLAG values: single-GPU and multi-GPU passthrough (CC on), protected PCIe.
FEATURE_FLAGS: Final = {0: "SPT", 1: "MPT", 2: "PPCIE"}
#: NVDEC0 status values.
NVDEC0_ENABLED: Final = 0xAA
NVDEC0_DISABLED: Final = 0x55

_BLOCK_HEADER = struct.Struct("<BBH")
_DMTF_HEADER = struct.Struct("<BH")
_OPAQUE_HEADER = struct.Struct("<HH")


@dataclass(frozen=True)
class MeasurementRequest:
    """The SPDM GET_MEASUREMENTS request the GPU answered."""

    version: int
    param1: int
    param2: int
    nonce: bytes
    slot_id: int


@dataclass(frozen=True)
class MeasurementBlock:
    """One DMTF measurement block: its index (1-based) and value."""

    index: int
    value_type: int
    value: bytes


@dataclass(frozen=True)
class MeasurementResponse:
    """The SPDM MEASUREMENTS response (signature kept apart)."""

    version: int
    param1: int
    param2: int
    blocks: tuple[MeasurementBlock, ...]
    nonce: bytes
    opaque: Mapping[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opaque", MappingProxyType(dict(self.opaque)))

    def measurements(self) -> dict[int, bytes]:
        """Measurement values by 0-based index (block index - 1), as RIMs number them."""
        return {b.index - 1: b.value for b in self.blocks}


@dataclass(frozen=True)
class SpdmReport:
    """A parsed attestation report: request, response, the signed bytes and the signature."""

    request: MeasurementRequest
    response: MeasurementResponse
    signed_bytes: bytes
    signature: bytes

    def text_field(self, field_type: int) -> str:
        """An ASCII opaque field up to its first zero byte, ``""`` when absent."""
        value = self.response.opaque.get(field_type, b"").split(b"\x00", 1)[0]
        try:
            return value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError("SPDM opaque text field is not ASCII") from exc

    @property
    def driver_version(self) -> str:
        return self.text_field(OPAQUE_DRIVER_VERSION)

    @property
    def vbios_version(self) -> str:
        """``xx.xx.xx.xx.xx`` as NVIDIA prints it (lower case), ``""`` when absent."""
        raw = self.response.opaque.get(OPAQUE_VBIOS_VERSION, b"")
        if not raw:
            return ""
        if len(raw) != 8:
            raise DecodeError("SPDM VBIOS version field has the wrong size")
        # Little-endian u64; the version is bytes 3, 2, 1, 0 then byte 4.
        return ".".join(f"{b:02x}" for b in (raw[3], raw[2], raw[1], raw[0], raw[4]))

    @property
    def fwid(self) -> bytes:
        return self.response.opaque.get(OPAQUE_FWID, b"")

    @property
    def feature_flag(self) -> str | None:
        """ "SPT", "MPT" or "PPCIE" when the report carries the flag (opaque version >= 1)."""
        raw = self.response.opaque.get(OPAQUE_FEATURE_FLAG)
        if raw is None:
            return None
        if not raw or len(raw) > 4:
            raise DecodeError("SPDM feature flag field has the wrong size")
        value = int.from_bytes(raw, "little")
        return FEATURE_FLAGS.get(value, f"unknown-{value}")

    @property
    def nvdec0_disabled(self) -> bool:
        return self.response.opaque.get(OPAQUE_NVDEC0_STATUS) == bytes([NVDEC0_DISABLED])


def parse_request(raw: bytes) -> MeasurementRequest:
    """Decode the 37-byte GET_MEASUREMENTS request (with a nonce and slot id)."""
    if len(raw) != REQUEST_SIZE:
        raise DecodeError("SPDM request has the wrong size")
    if raw[0] != SPDM_VERSION_1_1:
        raise UnsupportedError("unsupported SPDM version")
    if raw[1] != GET_MEASUREMENTS:
        raise DecodeError("SPDM request is not GET_MEASUREMENTS")
    return MeasurementRequest(
        version=raw[0], param1=raw[2], param2=raw[3], nonce=raw[4:36], slot_id=raw[36]
    )


def _parse_blocks(record: bytes, count: int) -> tuple[MeasurementBlock, ...]:
    blocks: list[MeasurementBlock] = []
    seen: set[int] = set()
    pos = 0
    for _ in range(count):
        if pos + _BLOCK_HEADER.size > len(record):
            raise DecodeError("SPDM measurement record truncated")
        index, spec, size = _BLOCK_HEADER.unpack_from(record, pos)
        pos += _BLOCK_HEADER.size
        if spec != DMTF_SPEC:
            raise UnsupportedError("SPDM measurement block is not a DMTF measurement")
        if index == 0 or index in seen:
            raise DecodeError("SPDM measurement block index invalid or repeated")
        seen.add(index)
        if pos + size > len(record) or size < _DMTF_HEADER.size:
            raise DecodeError("SPDM measurement block truncated")
        value_type, value_size = _DMTF_HEADER.unpack_from(record, pos)
        if value_size != size - _DMTF_HEADER.size:
            raise DecodeError("SPDM measurement value size mismatch")
        value = record[pos + _DMTF_HEADER.size : pos + size]
        blocks.append(MeasurementBlock(index=index, value_type=value_type, value=value))
        pos += size
    if pos != len(record):
        raise DecodeError("SPDM measurement record has trailing bytes")
    return tuple(blocks)


def _parse_opaque(data: bytes) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if len(fields) >= limits.MAX_SPDM_OPAQUE_FIELDS:
            raise TooLargeError("SPDM opaque data has too many fields")
        if pos + _OPAQUE_HEADER.size > len(data):
            raise DecodeError("SPDM opaque data truncated")
        field_type, size = _OPAQUE_HEADER.unpack_from(data, pos)
        pos += _OPAQUE_HEADER.size
        if pos + size > len(data):
            raise DecodeError("SPDM opaque field truncated")
        if field_type in fields:
            raise DecodeError("SPDM opaque field repeated")
        fields[field_type] = data[pos : pos + size]
        pos += size
    return fields


def parse_response(raw: bytes) -> MeasurementResponse:
    """Decode a MEASUREMENTS response, signature included (the last 96 bytes, not decoded)."""
    if len(raw) < 8 + NONCE_SIZE + 2 + SIGNATURE_SIZE:
        raise DecodeError("SPDM response truncated")
    if raw[0] != SPDM_VERSION_1_1:
        raise UnsupportedError("unsupported SPDM version")
    if raw[1] != MEASUREMENTS:
        raise DecodeError("SPDM response is not MEASUREMENTS")
    count = raw[4]
    record_length = int.from_bytes(raw[5:8], "little")
    end = 8 + record_length
    if end + NONCE_SIZE + 2 + SIGNATURE_SIZE > len(raw):
        raise DecodeError("SPDM measurement record length out of range")
    blocks = _parse_blocks(raw[8:end], count)
    nonce = raw[end : end + NONCE_SIZE]
    pos = end + NONCE_SIZE
    opaque_length = int.from_bytes(raw[pos : pos + 2], "little")
    pos += 2
    if pos + opaque_length + SIGNATURE_SIZE != len(raw):
        raise DecodeError("SPDM response length does not match its fields")
    opaque = _parse_opaque(raw[pos : pos + opaque_length])
    return MeasurementResponse(
        version=raw[0], param1=raw[2], param2=raw[3], blocks=blocks, nonce=nonce, opaque=opaque
    )


def parse_report(raw: bytes) -> SpdmReport:
    """Decode an NVML attestation report: the request, then the signed response.

    Raises :class:`TooLargeError`, :class:`DecodeError` or :class:`UnsupportedError`.
    """
    if len(raw) > limits.MAX_SPDM_REPORT_BYTES:
        raise TooLargeError("SPDM report too large")
    request = parse_request(raw[:REQUEST_SIZE])
    response = parse_response(raw[REQUEST_SIZE:])
    if response.version != request.version:
        raise DecodeError("SPDM response version differs from the request's")
    return SpdmReport(
        request=request,
        response=response,
        signed_bytes=raw[: len(raw) - SIGNATURE_SIZE],
        signature=raw[len(raw) - SIGNATURE_SIZE :],
    )
