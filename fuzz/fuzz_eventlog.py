"""Fuzz target: TCG PC Client event logs, crypto agile and SHA-1 (attest/tpm/eventlog.py).

Operations: ``parse``; ``replay``: parse, then extend every bank; ``facts``: parse, then read
secure boot and the kernel command line (which checks those events' digests against their data).
"""

from __future__ import annotations

from pathlib import Path

from fuzz import harness
from privcloud.attest.tpm.eventlog import (
    EV_EFI_VARIABLE_DRIVER_CONFIG,
    EV_IPL,
    EV_SEPARATOR,
    Event,
    EventLog,
    encode_event_log,
    parse_event_log,
    read_facts,
    replay,
)
from privcloud.attest.tpm.structures import ALG_SHA1, ALG_SHA256, ALG_SHA384, HASH_SIZES, digest

_EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")
_BANKS = (ALG_SHA1, ALG_SHA256, ALG_SHA384)


def _spec_id(banks: tuple[int, ...]) -> bytes:
    algs = b"".join(a.to_bytes(2, "little") + HASH_SIZES[a].to_bytes(2, "little") for a in banks)
    head = b"Spec ID Event03\x00" + bytes(4) + bytes([0, 2, 0, 2])
    return head + len(banks).to_bytes(4, "little") + algs + b"\x00"


def _event(pcr: int, etype: int, data: bytes, measured: bytes, banks: tuple[int, ...]) -> Event:
    return Event(pcr, etype, {a: digest(a, measured) for a in banks}, data)


def boot_log(*, secure_boot: bool = True, agile: bool = True) -> bytes:
    """A small boot log: the SecureBoot variable, a separator, a kernel command line."""
    banks = _BANKS if agile else (ALG_SHA1,)
    name = "SecureBoot".encode("utf-16-le")
    value = b"\x01" if secure_boot else b"\x00"
    var = _EFI_GLOBAL + (10).to_bytes(8, "little") + (1).to_bytes(8, "little") + name + value
    cmdline = b"ro root=/dev/dm-0 root_hexdigest=" + b"ab" * 32
    events = (
        _event(7, EV_EFI_VARIABLE_DRIVER_CONFIG, var, var, banks),
        _event(7, EV_SEPARATOR, bytes(4), bytes(4), banks),
        _event(8, EV_IPL, b"kernel_cmdline: " + cmdline + b"\x00", cmdline, banks),
    )
    return encode_event_log(EventLog(banks, 0, events, agile, _spec_id(banks) if agile else b""))


def _replay(data: bytes) -> None:
    replay(parse_event_log(data))


def _facts(data: bytes) -> None:
    read_facts(parse_event_log(data))


OPS: harness.Ops = (("parse", parse_event_log), ("replay", _replay), ("facts", _facts))


def own_seeds() -> list[bytes]:
    logs = [boot_log(), boot_log(secure_boot=False), boot_log(agile=False)]
    return [harness.seed(OPS, name, log) for name, _ in OPS for log in logs]


def shared_seeds(vectors: Path) -> list[bytes]:
    """The real COS log (../shared/vectors/attestation/tpm)."""
    log = (vectors / "attestation" / "tpm" / "cos-101-amd-sev.bin").read_bytes()
    return [harness.seed(OPS, name, log) for name, _ in OPS]


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
