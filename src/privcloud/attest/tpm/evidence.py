"""The vTPM evidence container: what a node publishes as ``Evidence.raw`` for tee_type ``vtpm``.

Binary, every length explicit, every integer big-endian (docs/trust-model.md#vtpm)::

    magic   "PCVTPM" 0x00 0x01
    u16 len ‖ ak_public            TPMT_PUBLIC of the attestation key
    u16 len ‖ report_data          the 64 bytes the quotes' extraData binds (NodeClaims)
    u8  n   ‖ n x (u16 len ‖ quote ‖ u16 len ‖ signature)   TPMS_ATTEST, TPMT_SIGNATURE
    u8  b   ‖ b x (u16 alg ‖ u8 k ‖ k x (u8 pcr ‖ value))    presented PCR values per bank
    u32 len ‖ event_log            TCG event log (crypto agile or SHA-1)
    u8  len ‖ tee_type ‖ u32 len ‖ tee_raw ‖ u32 len ‖ tee_certificates
                                   the TEE report binding the AK ("" when none; "sev-snp")

``Evidence.certificates`` carries the AK's certificate chain (DER or PEM), when it has one.
:func:`parse_container` consumes every byte; :func:`encode_container` is its inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from privcloud import limits
from privcloud.attest.tpm.structures import HASH_SIZES, Reader
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError

MAGIC: Final = b"PCVTPM\x00\x01"


@dataclass(frozen=True)
class Quote:
    """One TPMS_ATTEST and its TPMT_SIGNATURE, as bytes."""

    attest: bytes
    signature: bytes


@dataclass(frozen=True)
class VtpmEvidence:
    """The parts of vTPM evidence (module docstring)."""

    ak_public: bytes
    report_data: bytes
    quotes: tuple[Quote, ...]
    pcrs: Mapping[int, Mapping[int, bytes]]
    event_log: bytes
    tee_type: str = ""
    tee_raw: bytes = b""
    tee_certificates: bytes = field(default=b"")


def _pcrs(r: Reader) -> dict[int, dict[int, bytes]]:
    banks = r.u8()
    if banks > limits.MAX_TPM_PCR_BANKS:
        raise DecodeError("too many PCR banks")
    out: dict[int, dict[int, bytes]] = {}
    for _ in range(banks):
        alg, count = r.u16(), r.u8()
        size = HASH_SIZES.get(alg)
        if size is None:
            raise UnsupportedError("PCR bank algorithm not supported")
        if alg in out or count > 24:
            raise DecodeError("repeated PCR bank or too many PCRs")
        bank: dict[int, bytes] = {}
        for _ in range(count):
            index = r.u8()
            if index >= 24 or index in bank:
                raise DecodeError("PCR index out of range or repeated")
            bank[index] = r.take(size)
        out[alg] = bank
    return out


def parse_container(data: bytes) -> VtpmEvidence:
    """Parse the container; :class:`DecodeError` / :class:`TooLargeError` for bad bytes."""
    if len(data) > limits.MAX_ATTEST_EVIDENCE_BYTES:
        raise TooLargeError("vTPM evidence too large")
    r = Reader(data)
    if r.take(len(MAGIC)) != MAGIC:
        raise DecodeError("not vTPM evidence")
    ak_public = r.tpm2b(limits.MAX_TPM_PUBLIC_BYTES)
    report_data = r.tpm2b(64)
    n = r.u8()
    if not 0 < n <= limits.MAX_TPM_QUOTES:
        raise DecodeError("quote count out of range")
    quotes = tuple(
        Quote(r.tpm2b(limits.MAX_TPM_ATTEST_BYTES), r.tpm2b(limits.MAX_TPM_SIGNATURE_BYTES))
        for _ in range(n)
    )
    pcrs = _pcrs(r)
    log_len = r.u32()
    if log_len > limits.MAX_TPM_EVENT_LOG_BYTES:
        raise TooLargeError("event log too large")
    event_log = r.take(log_len)
    tee_type_raw = r.take(r.u8())
    tee_raw = r.take(r.u32())
    tee_certs = r.take(r.u32())
    r.end()
    try:
        tee_type = tee_type_raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("TEE type is not ASCII") from exc
    return VtpmEvidence(
        ak_public, report_data, quotes, pcrs, event_log, tee_type, tee_raw, tee_certs
    )


def encode_container(ev: VtpmEvidence) -> bytes:
    """Encode ``ev`` (the inverse of :func:`parse_container`)."""

    def b16(value: bytes) -> bytes:
        return len(value).to_bytes(2, "big") + value

    out = [MAGIC, b16(ev.ak_public), b16(ev.report_data), bytes([len(ev.quotes)])]
    out += [b16(q.attest) + b16(q.signature) for q in ev.quotes]
    out.append(bytes([len(ev.pcrs)]))
    for alg, bank in ev.pcrs.items():
        out.append(alg.to_bytes(2, "big") + bytes([len(bank)]))
        out += [bytes([i]) + v for i, v in sorted(bank.items())]
    out.append(len(ev.event_log).to_bytes(4, "big") + ev.event_log)
    tee = ev.tee_type.encode("ascii")
    out.append(bytes([len(tee)]) + tee)
    out.append(len(ev.tee_raw).to_bytes(4, "big") + ev.tee_raw)
    out.append(len(ev.tee_certificates).to_bytes(4, "big") + ev.tee_certificates)
    return b"".join(out)
