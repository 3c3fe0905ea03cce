"""Intel TDX quote layout, versions 4 and 5: decoding only, nothing cryptographic.

References: Intel *TDX DCAP Quoting Library API* (2023), Appendix A "Quote Format" (v4: header,
TD quote body, ECDSA quote signature data, QE certification data types 5 and 6), and §A.4
"Version 5" (the body descriptor: a u16 body type and a u32 body size between the header and
the body); Intel's QuoteVerification library (``QuoteConstants.h``, ``Quote.cpp``), which this
follows for what is accepted:

* v4: header (48) || TD report 1.0 (584) || u32 signature data length || signature data.
* v5: header (48) || u16 body type || u32 body size || body || u32 length || signature data,
  with body type 2 = TD report 1.0 (584 bytes) or 3 = TD report 1.5 (648 bytes: 1.0 followed
  by TEE_TCB_SVN2 and MRSERVICETD). Type 1 (an SGX enclave report) is not a TDX quote.
* The quote signature covers everything before the signature data length: header, the v5 body
  descriptor, and the body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.wire.cursor import ByteCursor

HEADER_SIZE: Final = 48
#: Size of a TD report 1.0 body (TDX 1.0, and v4 quotes).
BODY_SIZE: Final = 584
#: Size of a TD report 1.5 body (v5 body type 3).
BODY15_SIZE: Final = 648
QE_REPORT_SIZE: Final = 384
QUOTE_VERSION_4: Final = 4
QUOTE_VERSION_5: Final = 5
#: v5 body types (Intel's QVL ``BODY_*_TYPE``).
BODY_TYPE_SGX_ENCLAVE_REPORT: Final = 1
BODY_TYPE_TD_REPORT10: Final = 2
BODY_TYPE_TD_REPORT15: Final = 3
ATT_KEY_TYPE_ECDSA_P256: Final = 2
TEE_TYPE_TDX: Final = 0x81
CERT_TYPE_QE_REPORT: Final = 6
CERT_TYPE_PCK_CHAIN: Final = 5
INTEL_QE_VENDOR_ID: Final = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
TD_ATTRIBUTES_DEBUG: Final = 1 << 0

_HEADER = struct.Struct("<HHIHH16s20s")
#: TD report 1.0 fields, in order (TDX module base architecture spec, TDREPORT / TD quote body).
BODY_FIELDS: Final[tuple[tuple[str, int], ...]] = (
    ("tee_tcb_svn", 16),
    ("mrseam", 48),
    ("mrsignerseam", 48),
    ("seam_attributes", 8),
    ("td_attributes", 8),
    ("xfam", 8),
    ("mrtd", 48),
    ("mrconfigid", 48),
    ("mrowner", 48),
    ("mrownerconfig", 48),
    ("rtmr0", 48),
    ("rtmr1", 48),
    ("rtmr2", 48),
    ("rtmr3", 48),
    ("report_data", 64),
)
#: The fields TD report 1.5 appends.
BODY15_FIELDS: Final[tuple[tuple[str, int], ...]] = (("tee_tcb_svn2", 16), ("mrservicetd", 48))


@dataclass(frozen=True)
class QeReport:
    """The fields of the QE's SGX REPORT body this verifier uses."""

    cpusvn: bytes
    miscselect: int
    attributes: bytes
    mrenclave: bytes
    mrsigner: bytes
    isv_prod_id: int
    isv_svn: int
    report_data: bytes
    raw: bytes

    @classmethod
    def decode(cls, raw: bytes) -> QeReport:
        """Decode a 384-byte SGX report body (SGX SDM, "REPORT")."""
        (miscselect,) = struct.unpack_from("<I", raw, 16)
        prod_id, svn = struct.unpack_from("<HH", raw, 256)
        return cls(
            cpusvn=raw[0:16],
            miscselect=miscselect,
            attributes=raw[48:64],
            mrenclave=raw[64:96],
            mrsigner=raw[128:160],
            isv_prod_id=prod_id,
            isv_svn=svn,
            report_data=raw[320:384],
            raw=raw,
        )


@dataclass(frozen=True)
class TdxQuote:
    """A parsed TDX quote (v4, or v5 with a TD report 1.0 or 1.5 body)."""

    version: int
    #: The v5 body type (2 or 3); 2 for a v4 quote, whose body is a TD report 1.0.
    body_type: int
    header: bytes
    #: The v5 body descriptor (type and size), empty for v4.
    descriptor: bytes
    body: bytes
    fields: dict[str, bytes]
    signature: bytes
    attestation_key: bytes
    qe_report: QeReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes

    @property
    def signed_bytes(self) -> bytes:
        """What the attestation key signed: header, v5 body descriptor, body."""
        return self.header + self.descriptor + self.body

    @property
    def debug(self) -> bool:
        return bool(int.from_bytes(self.fields["td_attributes"], "little") & TD_ATTRIBUTES_DEBUG)


def _reader(data: bytes) -> ByteCursor:
    """Bounded little-endian reader; every overrun is a :class:`DecodeError`."""
    return ByteCursor(data, order="little", truncated="TDX quote truncated")


def _split_fields(body: bytes, layout: tuple[tuple[str, int], ...]) -> dict[str, bytes]:
    fields: dict[str, bytes] = {}
    pos = 0
    for name, size in layout:
        fields[name] = body[pos : pos + size]
        pos += size
    return fields


def _body(r: ByteCursor, version: int) -> tuple[int, bytes, bytes, dict[str, bytes]]:
    """The body type, v5 descriptor, body and its fields."""
    if version == QUOTE_VERSION_4:
        body = r.take(BODY_SIZE)
        return BODY_TYPE_TD_REPORT10, b"", body, _split_fields(body, BODY_FIELDS)
    descriptor = r.take(6)
    body_type, size = struct.unpack("<HI", descriptor)
    if body_type == BODY_TYPE_TD_REPORT10:
        expected, layout = BODY_SIZE, BODY_FIELDS
    elif body_type == BODY_TYPE_TD_REPORT15:
        expected, layout = BODY15_SIZE, BODY_FIELDS + BODY15_FIELDS
    else:
        raise UnsupportedError("unsupported TDX quote body type")
    if size != expected:
        raise DecodeError("TDX quote body size does not match its type")
    body = r.take(size)
    return body_type, descriptor, body, _split_fields(body, layout)


def parse_quote(raw: bytes) -> TdxQuote:
    """Decode a TDX quote v4 or v5; checks structure and lengths, nothing cryptographic.

    Raises :class:`TooLargeError` (over the bound, or non-zero bytes after the quote),
    :class:`UnsupportedError` (another version, key type, TEE, QE vendor, body type or
    certification data type) and :class:`DecodeError` (truncated, inconsistent lengths).
    """
    if len(raw) > limits.MAX_TDX_QUOTE_BYTES:
        raise TooLargeError("TDX quote too large")
    r = _reader(raw)
    header = r.take(HEADER_SIZE)
    version, key_type, tee_type, _, _, vendor, _ = _HEADER.unpack(header)
    if version not in (QUOTE_VERSION_4, QUOTE_VERSION_5):
        raise UnsupportedError("unsupported TDX quote version")
    if key_type != ATT_KEY_TYPE_ECDSA_P256:
        raise UnsupportedError("unsupported TDX attestation key type")
    if tee_type != TEE_TYPE_TDX:
        raise UnsupportedError("quote is not a TDX quote")
    if vendor != INTEL_QE_VENDOR_ID:
        raise UnsupportedError("quote is not from Intel's quoting enclave")
    body_type, descriptor, body, fields = _body(r, version)
    sig_len = r.u32()
    sig = _reader(r.take(sig_len))
    if any(raw[r.pos :]):
        raise TooLargeError("unsigned data after the TDX quote")
    signature = sig.take(64)
    attestation_key = sig.take(64)
    if sig.u16() != CERT_TYPE_QE_REPORT:
        raise UnsupportedError("unsupported TDX certification data type")
    outer = _reader(sig.take(sig.u32()))
    if sig.pos != len(sig.data):
        raise DecodeError("TDX signature data length mismatch")
    qe_report = QeReport.decode(outer.take(QE_REPORT_SIZE))
    qe_report_signature = outer.take(64)
    qe_auth_data = outer.take(outer.u16())
    if outer.u16() != CERT_TYPE_PCK_CHAIN:
        raise UnsupportedError("unsupported QE certification data type")
    pck_chain = outer.take(outer.u32())
    if outer.pos != len(outer.data):
        raise DecodeError("TDX certification data length mismatch")
    return TdxQuote(
        version=version,
        body_type=body_type,
        header=header,
        descriptor=descriptor,
        body=body,
        fields=fields,
        signature=signature,
        attestation_key=attestation_key,
        qe_report=qe_report,
        qe_report_signature=qe_report_signature,
        qe_auth_data=qe_auth_data,
        pck_chain_pem=pck_chain.rstrip(b"\x00"),
    )
