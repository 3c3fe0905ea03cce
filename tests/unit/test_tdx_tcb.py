"""The TDX TCB status rules of privcloud.attest.tdx_tcb (Intel QVL's TcbLevelCheck,
TdxModuleCheck and TDRelaunchCheck), on hand-made TCB Info values."""

from __future__ import annotations

import pytest

from privcloud.attest.intel_collateral import IdentityLevel, TcbLevel, TdxModuleIdentity, TdxTcbInfo
from privcloud.attest.tdx_tcb import TdxTcbInput, tdx_status
from privcloud.errors import VerificationError

_FMSPC, _PCE = bytes.fromhex("90c06f000000"), b"\x00\x00"
_UP = IdentityLevel(4, "UpToDate", ())


def _level(tdx: tuple[int, ...], status: str, *, pcesvn: int = 13) -> TcbLevel:
    advisories = () if status == "UpToDate" else (f"SA-{status}",)
    return TcbLevel((3,) * 16, pcesvn, tdx + (0,) * (16 - len(tdx)), status, advisories)


def _info(levels: list[TcbLevel], module_levels: list[IdentityLevel]) -> TdxTcbInfo:
    zero = TdxModuleIdentity("", bytes(48), bytes(8), b"\xff" * 8, ())
    module = TdxModuleIdentity("TDX_01", bytes(48), bytes(8), b"\xff" * 8, tuple(module_levels))
    return TdxTcbInfo(0, 1, _FMSPC, _PCE, 18, zero, (module,), tuple(levels))


def _input(svn: bytes, svn2: bytes | None = None, *, pcesvn: int = 13) -> TdxTcbInput:
    return TdxTcbInput(_FMSPC, _PCE, (3,) * 16, pcesvn, svn, bytes(48), bytes(8), svn2)


_INFO = _info(
    [_level((5, 0, 3), "UpToDate"), _level((5, 0, 2), "OutOfDate")],
    [IdentityLevel(6, "UpToDate", ()), IdentityLevel(4, "OutOfDate", ("SA-M",))],
)


def test_module_version_one_skips_the_module_bytes_and_uses_its_identity() -> None:
    # Bytes 0 and 1 (module SVN 6, version 1) are judged by TDX_01, not by the TCB level's 5, 0.
    status = tdx_status(_INFO, _input(bytes([6, 1, 3]) + bytes(13)), _UP)
    assert (status.status, status.advisory_ids) == ("UpToDate", ())


def test_out_of_date_module_makes_an_up_to_date_level_out_of_date() -> None:
    status = tdx_status(_INFO, _input(bytes([4, 1, 3]) + bytes(13)), _UP)
    assert (status.status, status.advisory_ids) == ("OutOfDate", ("SA-M",))


def test_td_relaunch_advised_when_the_updated_module_is_installed() -> None:
    # TD report 1.5: the TD runs module SVN 4 (out of date) but TEE_TCB_SVN2 shows SVN 6.
    svn, svn2 = bytes([4, 1, 3]) + bytes(13), bytes([6, 1, 3]) + bytes(13)
    assert tdx_status(_INFO, _input(svn, svn2), _UP).status == "TDRelaunchAdvised"
    assert tdx_status(_INFO, _input(svn, svn), _UP).status == "OutOfDate"
    qe_old = IdentityLevel(2, "OutOfDate", ())
    assert tdx_status(_INFO, _input(svn, svn2), qe_old).status == "OutOfDate"


def test_revoked_quoting_enclave_revokes_the_platform() -> None:
    qe = IdentityLevel(1, "Revoked", ("SA-QE",))
    status = tdx_status(_INFO, _input(bytes([6, 1, 3]) + bytes(13)), qe)
    assert (status.status, status.advisory_ids) == ("Revoked", ("SA-QE",))


def test_configuration_needed_level_becomes_out_of_date_configuration_needed() -> None:
    info = _info([_level((5, 0, 3), "ConfigurationNeeded")], [IdentityLevel(4, "OutOfDate", ())])
    status = tdx_status(info, _input(bytes([4, 1, 3]) + bytes(13)), _UP)
    assert status.status == "OutOfDateConfigurationNeeded"


def test_version_zero_module_compares_all_sixteen_components() -> None:
    assert tdx_status(_INFO, _input(bytes([5, 0, 3]) + bytes(13)), _UP).status == "UpToDate"
    assert tdx_status(_INFO, _input(bytes([5, 0, 2]) + bytes(13)), _UP).status == "OutOfDate"
    with pytest.raises(VerificationError):
        tdx_status(_INFO, _input(bytes([4, 0, 3]) + bytes(13)), _UP)


def test_platform_below_every_level_or_of_another_fmspc_is_refused() -> None:
    with pytest.raises(VerificationError):
        tdx_status(_INFO, _input(bytes([6, 1, 3]) + bytes(13), pcesvn=12), _UP)
    other = TdxTcbInput(
        b"\x01" * 6, _PCE, (3,) * 16, 13, bytes([6, 1, 3]) + bytes(13), bytes(48), bytes(8), None
    )
    with pytest.raises(VerificationError):
        tdx_status(_INFO, other, _UP)
    with pytest.raises(VerificationError):  # module SVN 3 reaches no TDX_01 level
        tdx_status(_INFO, _input(bytes([3, 1, 3]) + bytes(13)), _UP)
    with pytest.raises(VerificationError):  # no TDX_02 identity
        tdx_status(_INFO, _input(bytes([6, 2, 3]) + bytes(13)), _UP)
