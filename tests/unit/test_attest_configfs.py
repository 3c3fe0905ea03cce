"""The configfs-tsm producer against a fake configfs directory.

A real configfs bumps ``generation`` on every write to ``inblob``; the fake does the same by
wrapping the module's write helper. A concurrent writer is simulated by bumping it once more
while we read ``outblob``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from privcloud import limits
from privcloud.attest import TEE_SEV_SNP, TEE_TDX, configfs
from privcloud.attest.configfs import ConfigfsRaceError, read_evidence
from privcloud.errors import ConfigError, TooLargeError, UnavailableError, UsageError

REPORT_DATA = bytes(range(64))


def _make_fake(root: Path, provider: str = "sev_guest", *, aux: bytes | None = b"certs") -> Path:
    entry = root / "report" / "privcloud"
    entry.mkdir(parents=True)
    (entry / "generation").write_text("7\n")
    (entry / "provider").write_text(provider + "\n")
    (entry / "outblob").write_bytes(b"REPORT")
    (entry / "inblob").write_bytes(b"")
    if aux is not None:
        (entry / "auxblob").write_bytes(aux)
    return entry


def _bump(entry: Path) -> None:
    gen = entry / "generation"
    gen.write_text(f"{int(gen.read_text()) + 1}\n")


@pytest.fixture
def kernel_like(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes to inblob bump generation, as the kernel does."""
    original = configfs._write_attribute

    def write(path: Path, data: bytes) -> None:
        original(path, data)
        if path.name == "inblob":
            _bump(path.parent)

    monkeypatch.setattr(configfs, "_write_attribute", write)


@pytest.mark.usefixtures("kernel_like")
def test_reads_evidence_from_configfs(tmp_path: Path) -> None:
    entry = _make_fake(tmp_path)
    evidence = read_evidence(REPORT_DATA, root=tmp_path)
    assert evidence.tee_type == TEE_SEV_SNP
    assert evidence.raw == b"REPORT"
    assert evidence.certificates == b"certs"
    assert (entry / "inblob").read_bytes() == REPORT_DATA


@pytest.mark.usefixtures("kernel_like")
def test_tdx_provider_without_auxblob(tmp_path: Path) -> None:
    _make_fake(tmp_path, "tdx_guest", aux=None)
    evidence = read_evidence(REPORT_DATA, root=tmp_path)
    assert evidence.tee_type == TEE_TDX
    assert evidence.certificates == b""


@pytest.mark.usefixtures("kernel_like")
def test_configfs_generation_race_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _make_fake(tmp_path)
    original = configfs._read_attribute

    def read(path: Path, limit: int) -> bytes:
        if path.name == "outblob":
            _bump(entry)  # another process writes inblob while we read
        return original(path, limit)

    monkeypatch.setattr(configfs, "_read_attribute", read)
    with pytest.raises(ConfigfsRaceError):
        read_evidence(REPORT_DATA, root=tmp_path)


def test_configfs_without_generation_bump_is_a_race(tmp_path: Path) -> None:
    # Our write did not register (or the generation went backwards): do not trust the outblob.
    _make_fake(tmp_path)
    with pytest.raises(ConfigfsRaceError):
        read_evidence(REPORT_DATA, root=tmp_path)


@pytest.mark.usefixtures("kernel_like")
def test_unknown_provider_and_bad_arguments(tmp_path: Path) -> None:
    _make_fake(tmp_path, "some_future_tsm")
    with pytest.raises(ConfigError):
        read_evidence(REPORT_DATA, root=tmp_path)
    with pytest.raises(UsageError):
        read_evidence(b"short", root=tmp_path)
    for name in ("../escape", "", "a/b", "."):
        with pytest.raises(ConfigError):
            read_evidence(REPORT_DATA, root=tmp_path, name=name)


def test_missing_configfs_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(UnavailableError):
        read_evidence(REPORT_DATA, root=tmp_path / "nope")


@pytest.mark.usefixtures("kernel_like")
def test_oversized_outblob_is_refused(tmp_path: Path) -> None:
    entry = _make_fake(tmp_path)
    (entry / "outblob").write_bytes(bytes(limits.MAX_ATTEST_EVIDENCE_BYTES + 1))
    with pytest.raises(TooLargeError):
        read_evidence(REPORT_DATA, root=tmp_path)
