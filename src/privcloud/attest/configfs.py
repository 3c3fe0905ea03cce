"""Producer shell for real hardware: read evidence through Linux configfs-tsm.

Kernel interface (Documentation/ABI/testing/configfs-tsm-report): a directory made under
``<root>/report/`` is one report request, with attributes

* ``inblob`` (write): up to 64 bytes of report data;
* ``outblob`` (read): the report (SEV-SNP ATTESTATION_REPORT, TDX quote);
* ``auxblob`` (read, optional): supplemental data (SEV-SNP: the certificate table with the VCEK);
* ``provider`` (read): ``sev_guest`` or ``tdx_guest``;
* ``generation`` (read): increments on every write to an input attribute.

Another process may write the same entry between our write and our read, and we would then return
a report over *its* report data. :func:`read_evidence` detects that race with ``generation``
(one write of ours means exactly +1, and no change while we read) and raises
:class:`ConfigfsRaceError` instead of returning mixed evidence.

This is the only attestation module that does file IO; ``root`` is an argument (normally
``/sys/kernel/config/tsm``) so that tests run it against a fake directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from privcloud import limits
from privcloud.attest.base import (
    REPORT_DATA_SIZE,
    TEE_SEV_SNP,
    TEE_TDX,
    Evidence,
)
from privcloud.errors import (
    ConfigError,
    ConfigfsRaceError,
    TooLargeError,
    UnavailableError,
    UsageError,
)

DEFAULT_ROOT: Final = Path("/sys/kernel/config/tsm")

#: configfs-tsm provider names and the evidence type each produces.
PROVIDERS: Final = {"sev_guest": TEE_SEV_SNP, "tdx_guest": TEE_TDX}

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _read_attribute(path: Path, limit: int) -> bytes:
    """Read at most ``limit`` bytes of one attribute; more is a :class:`TooLargeError`."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError("configfs-tsm attribute too large")
    return data


def _write_attribute(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)


def _generation(entry: Path) -> int:
    text = _read_attribute(entry / "generation", limits.MAX_CONFIGFS_TSM_ATTRIBUTE_BYTES).strip()
    if not text.isdigit():
        raise UnavailableError("configfs-tsm generation is not a number")
    return int(text)


def read_evidence(
    report_data: bytes, *, root: Path = DEFAULT_ROOT, name: str = "privcloud"
) -> Evidence:
    """Ask the TSM for evidence over ``report_data`` and return it, unverified.

    Steps: 1. make (or reuse) ``<root>/report/<name>``; 2. read ``generation``; 3. write
    ``inblob``; 4. read ``provider``, ``outblob`` and ``auxblob`` (when present); 5. read
    ``generation`` again: it must be exactly one more than in step 2, else
    :class:`ConfigfsRaceError`.

    Raises :class:`UsageError` for bad arguments, :class:`UnsupportedError` for an unknown
    provider, :class:`UnavailableError` when configfs-tsm is absent or fails.
    """
    if len(report_data) != REPORT_DATA_SIZE:
        raise UsageError("report data must be 64 bytes")
    if not _NAME.fullmatch(name):
        raise ConfigError("bad configfs-tsm report name")
    try:
        entry = root / "report" / name
        entry.mkdir(exist_ok=True)
        before = _generation(entry)
        _write_attribute(entry / "inblob", report_data)
        provider = (
            _read_attribute(entry / "provider", limits.MAX_CONFIGFS_TSM_ATTRIBUTE_BYTES)
            .strip()
            .decode()
        )
        outblob = _read_attribute(entry / "outblob", limits.MAX_ATTEST_EVIDENCE_BYTES)
        auxpath = entry / "auxblob"
        auxblob = (
            _read_attribute(auxpath, limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES)
            if auxpath.exists()
            else b""
        )
        after = _generation(entry)
    except (OSError, UnicodeDecodeError) as exc:
        raise UnavailableError("configfs-tsm is not available") from exc
    if after != before + 1:
        raise ConfigfsRaceError("configfs-tsm report changed while being read")
    tee_type = PROVIDERS.get(provider)
    if tee_type is None:
        raise ConfigError("unknown configfs-tsm provider")
    if not outblob:
        raise UnavailableError("configfs-tsm returned an empty report")
    return Evidence(tee_type=tee_type, raw=outblob, certificates=auxblob)
