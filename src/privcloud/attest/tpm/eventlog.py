"""TCG PC Client event logs: parse, replay against PCRs, and read the facts policy needs.

Formats (TCG PC Client Platform Firmware Profile, §10; all integers little-endian):

* **crypto agile** — a first TCG_PCR_EVENT (SHA-1 form) of type EV_NO_ACTION carrying the
  ``TCG_EfiSpecIDEvent`` ("Spec ID Event03", the banks and their digest sizes), then
  TCG_PCR_EVENT2s: ``pcrIndex u32 ‖ eventType u32 ‖ TPML_DIGEST_VALUES (count u32, {algId u16,
  digest}) ‖ eventSize u32 ‖ event``. Every event carries one digest per bank.
* **SHA-1 (TPM 1.2 style)** — TCG_PCR_EVENTs only: ``pcrIndex ‖ eventType ‖ SHA-1[20] ‖
  eventSize ‖ event`` (Windows logs of some GCE Shielded VMs).

:func:`replay` extends each bank's digests in order (EV_NO_ACTION events are not extended; a
``StartupLocality`` event sets PCR 0's initial value, §10.4.5.3). :func:`read_facts` reads what
the vTPM policy looks at, and only from events whose digest in every bank is the hash of what the
event says (so a fact cannot be one thing in the log and another in the PCRs):

* **secure boot** — the EV_EFI_VARIABLE_DRIVER_CONFIG event of the ``SecureBoot`` variable in
  PCR 7 (UEFI_VARIABLE_DATA, §10.4.4): ``True`` when its data is ``01``;
* **kernel command line** — GRUB's ``kernel_cmdline: ...`` EV_IPL event in PCR 8 (GRUB measures
  the text after the prefix).

Raises :class:`~privcloud.errors.DecodeError`, :class:`~privcloud.errors.TooLargeError` or
:class:`~privcloud.errors.UnsupportedError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from privcloud import limits
from privcloud.attest.tpm.structures import ALG_SHA1, HASH_SIZES, digest
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError
from privcloud.wire.cursor import ByteCursor

EV_NO_ACTION: Final = 0x00000003
EV_SEPARATOR: Final = 0x00000004
EV_IPL: Final = 0x0000000D
EV_EFI_VARIABLE_DRIVER_CONFIG: Final = 0x80000001
#: Number of PCRs of a PC Client TPM.
PCR_COUNT: Final = 24
_SPEC_ID: Final = b"Spec ID Event03\x00"
_STARTUP_LOCALITY: Final = b"StartupLocality\x00"
_EFI_GLOBAL_VARIABLE: Final = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")
_KERNEL_CMDLINE: Final = b"kernel_cmdline: "


@dataclass(frozen=True)
class Event:
    """One measured event: its PCR, type, digest per bank (TPM algorithm id) and data."""

    pcr: int
    type: int
    digests: Mapping[int, bytes]
    data: bytes

    def measures(self, data: bytes) -> bool:
        """True when every bank's digest is the hash of ``data``."""
        return all(digest(alg, data) == value for alg, value in self.digests.items())


@dataclass(frozen=True)
class EventLog:
    """A parsed log: the banks it records, PCR 0's startup locality, and its events in order."""

    banks: tuple[int, ...]
    startup_locality: int
    events: tuple[Event, ...]
    crypto_agile: bool
    #: The first event's data (the TCG_EfiSpecIDEvent) of a crypto-agile log, else empty.
    spec_id: bytes = b""


def _reader(data: bytes) -> ByteCursor:
    """Bounded little-endian reader of a TCG event log."""
    return ByteCursor(data, order="little", truncated="event log is truncated")


def _event_data(r: ByteCursor) -> bytes:
    size = r.u32()
    if size > limits.MAX_TPM_EVENT_DATA_BYTES:
        raise TooLargeError("event too large")
    return r.take(size)


def _pcr(r: ByteCursor) -> int:
    pcr = r.u32()
    if pcr >= PCR_COUNT:
        raise DecodeError("event PCR index out of range")
    return pcr


def _spec_id_banks(data: bytes) -> tuple[int, ...]:
    """The banks of a TCG_EfiSpecIDEvent (§10.4.5.1), each with its standard digest size."""
    r = _reader(data)
    if r.take(16) != _SPEC_ID:
        raise DecodeError("first event is not a Spec ID Event03")
    r.take(4 + 4)  # platformClass, specVersionMinor/Major, specErrata, uintnSize
    count = r.u32()
    if not 0 < count <= limits.MAX_TPM_PCR_BANKS:
        raise DecodeError("Spec ID event bank count out of range")
    banks = []
    for _ in range(count):
        alg, size = r.u16(), r.u16()
        if HASH_SIZES.get(alg) not in (None, size):
            raise DecodeError("Spec ID event digest size is wrong")
        if alg in banks:
            raise DecodeError("Spec ID event repeats a bank")
        banks.append(alg)
    vendor = r.take(1)[0]
    r.take(vendor)
    if r.more():
        raise DecodeError("trailing bytes in Spec ID event")
    if any(alg not in HASH_SIZES for alg in banks):
        raise UnsupportedError("event log bank algorithm not supported")
    return tuple(banks)


def parse_event_log(data: bytes) -> EventLog:
    """Parse a crypto-agile or SHA-1 event log (module docstring); consumes every byte."""
    if len(data) > limits.MAX_TPM_EVENT_LOG_BYTES:
        raise TooLargeError("event log too large")
    r = _reader(data)
    pcr, etype, sha1 = _pcr(r), r.u32(), r.take(20)
    first = _event_data(r)
    agile = etype == EV_NO_ACTION and first.startswith(_SPEC_ID)
    events: list[Event] = []
    if agile:
        banks = _spec_id_banks(first)
    else:
        banks = (ALG_SHA1,)
        events.append(Event(pcr, etype, MappingProxyType({ALG_SHA1: sha1}), first))
    locality = 0
    while r.more():
        if len(events) >= limits.MAX_TPM_EVENTS:
            raise TooLargeError("too many events")
        pcr, etype = _pcr(r), r.u32()
        if agile:
            count = r.u32()
            if count != len(banks):
                raise DecodeError("event digest count differs from the log's banks")
            digests: dict[int, bytes] = {}
            for _ in range(count):
                alg = r.u16()
                if alg not in banks or alg in digests:
                    raise DecodeError("event digest of an unknown or repeated bank")
                digests[alg] = r.take(HASH_SIZES[alg])
        else:
            digests = {ALG_SHA1: r.take(20)}
        data_ = _event_data(r)
        if etype == EV_NO_ACTION and pcr == 0 and data_.startswith(_STARTUP_LOCALITY):
            if len(data_) != 17 or events:
                raise DecodeError("malformed StartupLocality event")
            locality = data_[16]
        events.append(Event(pcr, etype, MappingProxyType(digests), data_))
    return EventLog(banks, locality, tuple(events), agile, first if agile else b"")


def encode_event_log(log: EventLog) -> bytes:
    """Encode ``log`` (the inverse of :func:`parse_event_log`; for tests and tooling)."""

    def le(value: int) -> bytes:
        return value.to_bytes(4, "little")

    out = []
    events = log.events
    if log.crypto_agile:
        out.append(le(0) + le(EV_NO_ACTION) + bytes(20) + le(len(log.spec_id)) + log.spec_id)
    else:
        first, events = events[0], events[1:]
        head = le(first.pcr) + le(first.type) + first.digests[ALG_SHA1]
        out.append(head + le(len(first.data)) + first.data)
    for e in events:
        if log.crypto_agile:
            digests = b"".join(a.to_bytes(2, "little") + e.digests[a] for a in log.banks)
            head = le(e.pcr) + le(e.type) + le(len(log.banks)) + digests
        else:
            head = le(e.pcr) + le(e.type) + e.digests[ALG_SHA1]
        out.append(head + le(len(e.data)) + e.data)
    return b"".join(out)


def replay(log: EventLog) -> dict[int, dict[int, bytes]]:
    """PCR values per bank after extending every event: ``{alg: {pcr: value}}`` for the PCRs
    the log extends (PCR 0 also when only its startup locality is set)."""
    out: dict[int, dict[int, bytes]] = {alg: {} for alg in log.banks}
    for alg in log.banks:
        size = HASH_SIZES[alg]
        pcrs = out[alg]
        if log.startup_locality:
            pcrs[0] = bytes(size - 1) + bytes([log.startup_locality])
        for event in log.events:
            if event.type == EV_NO_ACTION:
                continue
            old = pcrs.get(event.pcr, bytes(size))
            pcrs[event.pcr] = digest(alg, old + event.digests[alg])
    return out


@dataclass(frozen=True)
class Facts:
    """What policy reads from a replayed log (each ``None`` when the log does not say)."""

    secure_boot: bool | None
    kernel_cmdline: str | None


def _secure_boot(event: Event) -> bool | None:
    """The SecureBoot value of an EV_EFI_VARIABLE_DRIVER_CONFIG event, or ``None`` for another
    variable."""
    data = event.data
    if len(data) < 32 or data[:16] != _EFI_GLOBAL_VARIABLE:
        return None
    name_len = int.from_bytes(data[16:24], "little")
    data_len = int.from_bytes(data[24:32], "little")
    if 32 + 2 * name_len + data_len != len(data):
        raise DecodeError("malformed UEFI_VARIABLE_DATA")
    if data[32 : 32 + 2 * name_len] != "SecureBoot".encode("utf-16-le"):
        return None
    value = data[32 + 2 * name_len :]
    if not event.measures(data):
        raise DecodeError("SecureBoot event digest is not the hash of its data")
    return value == b"\x01"


def read_facts(log: EventLog) -> Facts:
    """Secure boot state and kernel command line (module docstring). :class:`DecodeError` for a
    fact-bearing event whose digest does not match its data, or for a fact measured twice (a
    boot measures each once; two would leave policy to guess which one held)."""
    secure_boot: bool | None = None
    cmdline: str | None = None
    for event in log.events:
        if event.pcr == 7 and event.type == EV_EFI_VARIABLE_DRIVER_CONFIG:
            value = _secure_boot(event)
            if value is not None:
                if secure_boot is not None:
                    raise DecodeError("SecureBoot measured twice")
                secure_boot = value
        elif event.pcr == 8 and event.type == EV_IPL and event.data.startswith(_KERNEL_CMDLINE):
            text = event.data[len(_KERNEL_CMDLINE) :]
            if not (event.measures(text) or event.measures(text.rstrip(b"\x00"))):
                raise DecodeError("kernel command line digest is not the hash of its text")
            if cmdline is not None:
                raise DecodeError("kernel command line measured twice")
            try:
                cmdline = text.rstrip(b"\x00").decode("ascii")
            except UnicodeDecodeError as exc:
                raise DecodeError("kernel command line is not ASCII") from exc
    return Facts(secure_boot, cmdline)
