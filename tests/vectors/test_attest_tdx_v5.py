"""TDX quote v5: the real quote of go-tdx-guest (TD report 1.5 body, PCK chain up to the real
Intel SGX Root CA) verified at a fixed time, with Intel's real TCB Info v5 for the TCB status;
every byte of every signed region flipped; synthetic v5 quotes for the policy paths.

Provenance: ../shared/vectors/PROVENANCE.md, "Added 2026-12-02" (quote_v5_sample.dat,
sample_tcbinfo_response_v5 from google/go-tdx-guest testing/testdata). See
tests/support/intel_collateral_kit.py for what is real and what is synthetic in the collateral.
"""

from __future__ import annotations

import struct

import pytest

from attest_synthetic import T0, synthetic_intel
from intel_collateral_kit import (
    T_V5,
    build_tdx_quote_v5,
    real_v5_quote,
    sign_document,
    signing_material,
    synthetic_collateral,
    synthetic_tcb_info,
    v5_collateral,
)
from privcloud.attest import (
    TEE_TDX,
    AttestationResult,
    Evidence,
    Policy,
    TrustRoots,
    verify_evidence,
)
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.attest.tdx import parse_quote
from privcloud.crypto.x509_issue import build_crl
from privcloud.errors import (
    DecodeError,
    PeerError,
    PolicyError,
    TooLargeError,
    UnsupportedError,
    VerificationError,
)

_HEADER, _DESCRIPTOR, _BODY15 = 48, 6, 648
_SIGNED = _HEADER + _DESCRIPTOR + _BODY15
#: The QE report starts after the signed part, the u32 length, signature, key and type/size.
_QE_REPORT = _SIGNED + 4 + 64 + 64 + 6


def _roots(collateral: IntelCollateral | None = None, crls: tuple[object, ...] = ()) -> TrustRoots:
    """The pinned Intel root (the real PCK chain) and the test root (collateral chains)."""
    intel = synthetic_intel()
    return TrustRoots(
        intel=(TrustRoots.pinned().intel[0], intel.root),
        intel_collateral=collateral,
        crls=crls,  # type: ignore[arg-type]
    )


def _verify(
    raw: bytes,
    *,
    now: float = T_V5,
    policy: Policy | None = None,
    roots: TrustRoots | None = None,
) -> AttestationResult:
    return verify_evidence(
        Evidence(TEE_TDX, raw),
        now=now,
        policy=policy or Policy(),
        roots=roots if roots is not None else _roots(v5_collateral()),
    )


def _flip(raw: bytes, offset: int) -> bytes:
    return raw[:offset] + bytes([raw[offset] ^ 1]) + raw[offset + 1 :]


def test_real_v5_quote_parses_as_td_report_15() -> None:
    quote = parse_quote(real_v5_quote())
    assert (quote.version, quote.body_type, len(quote.body)) == (5, 3, 648)
    assert quote.fields["tee_tcb_svn"].hex() == "0b010400000000000000000000000000"
    assert quote.fields["tee_tcb_svn2"].hex() == "0d010400000000000000000000000000"
    assert quote.fields["mrservicetd"] == bytes(48)
    assert quote.signed_bytes == real_v5_quote()[:_SIGNED]


def test_real_v5_quote_verifies_up_to_pinned_intel_root_without_collateral() -> None:
    result = _verify(real_v5_quote(), roots=TrustRoots.pinned())
    assert result.product == "TDX 1.5"
    assert result.tcb_status is None
    assert result.registers["fmspc"].hex() == "90c06f000000"
    assert result.measurement.hex().startswith("7348651a34b2d2d3")
    assert result.tcb["pcesvn"] == 13 and result.tcb["qe_isvsvn"] == 7
    assert [c.name for c in result.checks] == [
        "quote-parsed",
        "pck-chain",
        "qe-report",
        "quote-signature",
    ]
    assert result.signer_chain[-1].endswith("CN=Intel SGX Root CA")


def test_real_v5_quote_with_real_tcb_info_v5_is_up_to_date() -> None:
    result = _verify(real_v5_quote())
    assert result.tcb_status == "UpToDate"
    assert result.advisory_ids == ()
    assert result.checks[-1].name == "tcb-status"
    assert "TDX module UpToDate" in result.checks[-1].detail


@pytest.mark.parametrize(
    ("region", "start", "end"),
    [
        ("header", 0, _HEADER),
        ("body-descriptor", _HEADER, _HEADER + _DESCRIPTOR),
        ("td-report-15-body", _HEADER + _DESCRIPTOR, _SIGNED),
        ("qe-report", _QE_REPORT, _QE_REPORT + 384),
    ],
)
def test_byte_flip_in_signed_region_of_real_v5_quote_is_refused(
    region: str, start: int, end: int
) -> None:
    raw = real_v5_quote()
    roots = TrustRoots.pinned()
    for offset in range(start, end):
        with pytest.raises(PeerError):
            _verify(_flip(raw, offset), roots=roots)


def test_unsupported_v5_body_types_are_refused() -> None:
    raw = real_v5_quote()
    for body_type in (0, 1, 4):
        evil = raw[:_HEADER] + struct.pack("<H", body_type) + raw[_HEADER + 2 :]
        with pytest.raises(UnsupportedError):
            parse_quote(evil)
    # Type 2 (TD report 1.0) with the 1.5 size: the size must match the type.
    with pytest.raises(DecodeError):
        parse_quote(raw[:_HEADER] + struct.pack("<H", 2) + raw[_HEADER + 2 :])
    with pytest.raises(DecodeError):
        parse_quote(raw[: _HEADER + 2] + struct.pack("<I", 584) + raw[_HEADER + 6 :])


def test_truncated_or_padded_v5_quote() -> None:
    raw = real_v5_quote()
    for size in (0, 48, 50, 54, 700, _SIGNED + 3, len(raw) - 1):
        with pytest.raises(DecodeError):
            parse_quote(raw[:size])
    assert parse_quote(raw + bytes(64)).version == 5
    with pytest.raises(TooLargeError):
        parse_quote(raw + b"x")


def test_synthetic_v5_quotes_with_both_body_types_verify() -> None:
    intel = synthetic_intel()
    roots = TrustRoots(intel=(intel.root,), intel_collateral=synthetic_collateral())
    for body_type, product in ((2, "TDX"), (3, "TDX 1.5")):
        result = _verify(build_tdx_quote_v5(intel, body_type=body_type), now=T0, roots=roots)
        assert (result.product, result.tcb_status) == (product, "UpToDate")


def test_tdx_v5_with_out_of_date_tcb_is_refused_by_default_policy() -> None:
    intel = synthetic_intel()
    roots = TrustRoots(intel=(intel.root,), intel_collateral=synthetic_collateral())
    old = build_tdx_quote_v5(intel, tee_tcb_svn=bytes([3, 0, 2]) + bytes(13))
    with pytest.raises(PolicyError):
        _verify(old, now=T0, roots=roots)
    lenient = Policy(allowed_tcb_statuses=frozenset({"UpToDate", "OutOfDate"}))
    result = _verify(old, now=T0, roots=roots, policy=lenient)
    assert result.tcb_status == "OutOfDate"
    assert result.advisory_ids == ("INTEL-SA-00837",)


def test_real_v5_quote_out_of_date_under_a_newer_tcb_info_is_refused() -> None:
    # The real TCB Info v5 with its top level raised to PCESVN 14: the real quote (PCESVN 13)
    # falls to the next level, OutOfDate with its advisories.
    from intel_collateral_kit import real_content

    content = real_content("sample_tcbinfo_response_v5", "tcbInfo")
    content["tcbLevels"][0]["tcb"]["pcesvn"] = 14
    newer = v5_collateral(tcb_info=sign_document("tcbInfo", content))
    with pytest.raises(PolicyError):
        _verify(real_v5_quote(), roots=_roots(newer))
    allow = Policy(allowed_tcb_statuses=frozenset({"OutOfDate"}))
    result = _verify(real_v5_quote(), roots=_roots(newer), policy=allow)
    assert result.tcb_status == "OutOfDate"
    assert "INTEL-SA-01036" in result.advisory_ids


def test_sw_hardening_needed_is_accepted_only_when_the_operator_allows_it() -> None:
    intel = synthetic_intel()
    info = synthetic_tcb_info(levels=[(3, 11, 4, "SWHardeningNeeded")])
    roots = TrustRoots(intel=(intel.root,), intel_collateral=synthetic_collateral(info))
    quote = build_tdx_quote_v5(intel)
    with pytest.raises(PolicyError):
        _verify(quote, now=T0, roots=roots)
    allow = Policy(allowed_tcb_statuses=frozenset({"UpToDate", "SWHardeningNeeded"}))
    assert _verify(quote, now=T0, roots=roots, policy=allow).tcb_status == "SWHardeningNeeded"


def test_tcb_status_required_by_policy_without_collateral_is_refused() -> None:
    need = Policy(require_tcb_status=frozenset({TEE_TDX}))
    with pytest.raises(PolicyError):
        _verify(real_v5_quote(), roots=TrustRoots.pinned(), policy=need)
    assert _verify(real_v5_quote(), policy=need).tcb_status == "UpToDate"


def test_tdx_v5_revoked_pck_is_refused() -> None:
    intel = synthetic_intel()
    revoked = build_crl(
        intel.ca, intel.ca_key, revoked_serials=[3], this_update=T0 - 10, next_update=T0 + 10
    )
    roots = TrustRoots(
        intel=(intel.root,), crls=(revoked,), intel_collateral=synthetic_collateral()
    )
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote_v5(intel), now=T0, roots=roots)


def test_tdx_v5_with_revoked_tcb_signing_certificate_is_refused() -> None:
    intel = synthetic_intel()
    serial = signing_material()[1].serial_number
    revoked = build_crl(
        intel.root,
        intel.root_key,
        revoked_serials=[serial],
        this_update=T0 - 10,
        next_update=T0 + 10,
    )
    roots = TrustRoots(
        intel=(intel.root,), crls=(revoked,), intel_collateral=synthetic_collateral()
    )
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote_v5(intel), now=T0, roots=roots)


def test_tdx_module_not_in_tcb_info_is_refused() -> None:
    # Module major version 1 needs a "TDX_01" identity, which the synthetic TCB Info lacks.
    intel = synthetic_intel()
    roots = TrustRoots(intel=(intel.root,), intel_collateral=synthetic_collateral())
    quote = build_tdx_quote_v5(intel, tee_tcb_svn=bytes([3, 1, 4]) + bytes(13))
    with pytest.raises(VerificationError):
        _verify(quote, now=T0, roots=roots)


def test_platform_without_tcb_info_for_its_fmspc_is_refused() -> None:
    intel = synthetic_intel()
    other = synthetic_collateral(synthetic_tcb_info(fmspc="90c06f000000"))
    roots = TrustRoots(intel=(intel.root,), intel_collateral=other)
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote_v5(intel), now=T0, roots=roots)
