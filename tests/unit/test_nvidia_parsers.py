"""The SPDM report parser and the RIM (signed SWID tag) reader: golden decoding of synthetic
reports, every malformed shape refused with our errors, and hostile XML (DTDs, entities,
signature wrapping) refused before or by the signature check."""

from __future__ import annotations

import struct

import pytest

from nvidia_kit import (
    NOW,
    ReportSpec,
    build_report,
    rim_xml,
    sign_rim,
    synthetic_device,
    synthetic_rim_ca,
)
from privcloud import limits
from privcloud.attest.nvidia.rim import verify_rim
from privcloud.attest.nvidia.spdm import (
    REQUEST_SIZE,
    SIGNATURE_SIZE,
    parse_report,
    parse_request,
    parse_response,
)
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, VerificationError

DEVICE = synthetic_device()
CA = synthetic_rim_ca()


def report(spec: ReportSpec | None = None) -> bytes:
    return build_report(DEVICE, spec or ReportSpec())


def test_synthetic_report_decodes_field_by_field() -> None:
    spec = ReportSpec(nonce=bytes(range(32)))
    raw = report(spec)
    parsed = parse_report(raw)
    assert parsed.request.nonce == bytes(range(32))
    assert (parsed.request.param1, parsed.request.param2) == (1, 0xFF)
    assert parsed.response.measurements() == spec.values
    assert parsed.driver_version == "550.90.07"
    assert parsed.vbios_version == "96.00.9f.00.01"
    assert parsed.feature_flag == "SPT"
    assert parsed.fwid == DEVICE.fwid
    assert not parsed.nvdec0_disabled
    assert parsed.signed_bytes + parsed.signature == raw
    assert len(parsed.signature) == SIGNATURE_SIZE


def test_truncated_reports_are_refused() -> None:
    raw = report()
    for cut in (0, 10, REQUEST_SIZE, REQUEST_SIZE + 8, len(raw) - SIGNATURE_SIZE, len(raw) - 1):
        with pytest.raises(DecodeError):
            parse_report(raw[:cut])


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(DecodeError):
        parse_report(report() + b"\x00")


def test_oversized_report_is_refused() -> None:
    with pytest.raises(TooLargeError):
        parse_report(b"\x11" * (limits.MAX_SPDM_REPORT_BYTES + 1))


def test_other_spdm_version_is_unsupported() -> None:
    raw = bytearray(report())
    raw[0] = 0x12
    with pytest.raises(UnsupportedError):
        parse_report(bytes(raw))


def test_request_that_is_not_get_measurements_is_refused() -> None:
    raw = bytearray(report()[:REQUEST_SIZE])
    raw[1] = 0x81
    with pytest.raises(DecodeError):
        parse_request(bytes(raw))


def test_response_that_is_not_measurements_is_refused() -> None:
    raw = bytearray(report()[REQUEST_SIZE:])
    raw[1] = 0x61
    with pytest.raises(DecodeError):
        parse_response(bytes(raw))


def test_repeated_measurement_index_is_refused() -> None:
    raw = bytearray(report())
    # Block 2's index byte follows block 1 (4-byte header + 3-byte DMTF header + 48 bytes).
    raw[REQUEST_SIZE + 8 + 4 + 3 + 48] = 1
    with pytest.raises(DecodeError, match="repeated"):
        parse_report(bytes(raw))


def test_non_dmtf_measurement_is_unsupported() -> None:
    raw = bytearray(report())
    raw[REQUEST_SIZE + 8 + 1] = 0x02
    with pytest.raises(UnsupportedError):
        parse_report(bytes(raw))


def test_repeated_opaque_field_is_refused() -> None:
    parsed = parse_report(report())
    assert parsed.response.opaque
    resp = report()[REQUEST_SIZE:]
    record_len = int.from_bytes(resp[5:8], "little")
    pos = 8 + record_len + 32
    opaque_len = struct.unpack_from("<H", resp, pos)[0]
    opaque = resp[pos + 2 : pos + 2 + opaque_len]
    doubled = opaque + opaque
    new = resp[:pos] + struct.pack("<H", len(doubled)) + doubled + resp[-SIGNATURE_SIZE:]
    with pytest.raises(DecodeError, match="repeated"):
        parse_response(new)


def test_too_many_opaque_fields_are_refused() -> None:
    resp = report()[REQUEST_SIZE:]
    record_len = int.from_bytes(resp[5:8], "little")
    pos = 8 + record_len + 32
    many = b"".join(
        struct.pack("<HH", 1000 + i, 0) for i in range(limits.MAX_SPDM_OPAQUE_FIELDS + 1)
    )
    new = resp[:pos] + struct.pack("<H", len(many)) + many + resp[-SIGNATURE_SIZE:]
    with pytest.raises(TooLargeError):
        parse_response(new)


# --- RIMs ----------------------------------------------------------------------------------


GOLDEN = {0: (b"\x01" * 48,), 1: (b"\x02" * 48, b"\x03" * 48)}


def signed_rim() -> bytes:
    return sign_rim(CA, rim_xml("550.90.07", GOLDEN, inactive=(2,)))


def test_signed_rim_reads_versions_and_alternatives() -> None:
    rim = verify_rim(signed_rim(), [CA.root], now=NOW)
    assert rim.version == "550.90.07"
    assert set(rim.active()) == {0, 1}
    assert rim.measurements[1].values == GOLDEN[1]
    assert not rim.measurements[2].active


def test_rim_with_a_dtd_is_refused_before_parsing() -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + signed_rim()
    with pytest.raises(DecodeError, match="DTD"):
        verify_rim(doc, [CA.root], now=NOW)


def test_rim_billion_laughs_is_refused() -> None:
    lol = (
        b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>'
    )
    with pytest.raises(DecodeError):
        verify_rim(lol, [CA.root], now=NOW)


def test_rim_with_an_unsigned_element_added_after_signing_is_refused() -> None:
    doc = signed_rim().replace(b"</ns0:Payload>", b'<ns0:Resource index="9"/></ns0:Payload>')
    with pytest.raises(VerificationError):
        verify_rim(doc, [CA.root], now=NOW)


def test_rim_with_a_second_signature_is_refused() -> None:
    doc = signed_rim()
    start = doc.index(b"<ds:Signature")
    sig = doc[start : doc.index(b"</ds:Signature>") + len(b"</ds:Signature>")]
    wrapped = doc.replace(b"</ns0:Payload>", sig + b"</ns0:Payload>")
    with pytest.raises(DecodeError, match="one enveloped signature"):
        verify_rim(wrapped, [CA.root], now=NOW)


def test_rim_signature_over_a_fragment_is_refused() -> None:
    doc = signed_rim().replace(b'<ds:Reference URI="">', b'<ds:Reference URI="#x">')
    with pytest.raises(VerificationError, match="whole document"):
        verify_rim(doc, [CA.root], now=NOW)


def test_rim_without_certificates_is_refused() -> None:
    doc = signed_rim()
    start, end = doc.index(b"<ds:KeyInfo>"), doc.index(b"</ds:KeyInfo>") + len(b"</ds:KeyInfo>")
    with pytest.raises(DecodeError, match="no certificate"):
        verify_rim(doc[:start] + doc[end:], [CA.root], now=NOW)


def test_rim_without_active_measurements_is_refused() -> None:
    doc = sign_rim(CA, rim_xml("1.0", {}, inactive=(0, 1)))
    with pytest.raises(DecodeError, match="no active"):
        verify_rim(doc, [CA.root], now=NOW)


def test_rim_with_a_short_measurement_is_refused() -> None:
    doc = sign_rim(CA, rim_xml("1.0", {0: (b"\x01" * 48,)}).replace(b'size="48"', b'size="32"'))
    with pytest.raises(DecodeError):
        verify_rim(doc, [CA.root], now=NOW)


def test_oversized_rim_is_refused() -> None:
    with pytest.raises(TooLargeError):
        verify_rim(b"<a/>" + b" " * limits.MAX_NVIDIA_RIM_BYTES, [CA.root], now=NOW)


def test_rim_with_too_many_elements_is_refused() -> None:
    body = b"<x/>" * (limits.MAX_RIM_ELEMENTS + 1)
    with pytest.raises(DecodeError, match="too many elements"):
        verify_rim(b"<a>" + body + b"</a>", [CA.root], now=NOW)


@pytest.mark.parametrize("chunk", range(4))
def test_each_byte_flip_in_a_synthetic_rim_signed_region_is_refused(chunk: int) -> None:
    """Every byte of the signed payload and of ds:SignedInfo and ds:SignatureValue."""
    doc = signed_rim()
    verify_rim(doc, [CA.root], now=NOW)
    end = doc.index(b"<ds:KeyInfo>")
    for pos in range(chunk, end, 4):
        flipped = bytearray(doc)
        flipped[pos] ^= 0x01
        with pytest.raises((DecodeError, VerificationError)):
            verify_rim(bytes(flipped), [CA.root], now=NOW)
