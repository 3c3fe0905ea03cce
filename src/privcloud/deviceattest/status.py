"""The attestation certificate status list (revocation), supplied by the operator, offline.

Format (Google's ``https://android.googleapis.com/attestation/status``, sample in
google/android-key-attestation ``src/test/resources/status.json``)::

    {"entries": {"<serial, lowercase hex, no leading zeros>":
                 {"status": "REVOKED" | "SUSPENDED", "reason": "...", ...}, ...}}

Every listed serial is refused, whatever its status: a suspended attestation key is not
trusted either. Pure: the issuer reads the file and hands the bytes here.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from privcloud import limits
from privcloud.errors import DecodeError
from privcloud.wire import jsonio

_HEX = frozenset(string.hexdigits.lower())


def serial_key(serial: int) -> str:
    """A certificate serial number as the list writes it (``BigInteger.toString(16)``)."""
    return format(serial, "x") if serial >= 0 else "-" + format(-serial, "x")


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One listed serial: its status and reason, as the list gives them."""

    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class AttestationStatusList:
    """The serials an attestation chain must not contain."""

    entries: dict[str, StatusEntry]

    def status_of(self, serial: int) -> StatusEntry | None:
        return self.entries.get(serial_key(serial))


def _key(text: str) -> str:
    key = text.lower().lstrip("0") or "0"
    if not 1 <= len(key) <= 64 or not set(key) <= _HEX:
        raise DecodeError("status list serial is not hex")
    return key


def parse_status_list(data: bytes) -> AttestationStatusList:
    """Parse a status list; raises :class:`DecodeError` (or :class:`TooLargeError`)."""
    document = jsonio.loads(
        data, max_bytes=limits.MAX_ATTESTATION_STATUS_LIST_BYTES, allow_duplicate_keys=False
    )
    if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
        raise DecodeError("status list has no entries object")
    raw = document["entries"]
    if len(raw) > limits.MAX_ATTESTATION_STATUS_ENTRIES:
        raise DecodeError("status list has too many entries")
    entries: dict[str, StatusEntry] = {}
    for serial, entry in raw.items():
        if not isinstance(entry, dict):
            raise DecodeError("status list entry is not an object")
        status, reason = entry.get("status"), entry.get("reason", "UNSPECIFIED")
        if not isinstance(status, str) or not isinstance(reason, str):
            raise DecodeError("status list entry has no status")
        key = _key(serial)
        if key in entries:
            raise DecodeError("status list lists a serial twice")
        entries[key] = StatusEntry(status[:32], reason[:32])
    return AttestationStatusList(entries)


__all__ = ["AttestationStatusList", "StatusEntry", "parse_status_list", "serial_key"]
