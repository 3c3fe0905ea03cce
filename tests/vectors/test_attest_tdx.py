"""TDX: the real Sapphire Rapids quote v4 from go-tdx-guest, verified up to the pinned Intel SGX
Root CA with Intel's CRLs at a fixed time, and synthetic quotes (own test root and PCK) for the
policy paths."""

from __future__ import annotations

import struct

import pytest

from attest_synthetic import (
    T0,
    T_EXPIRED,
    TDX_SAMPLE_SUFFIX,
    build_tdx_quote,
    real_tdx_quote,
    real_tdx_quote_file,
    synthetic_amd,
    synthetic_intel,
)
from privcloud import limits
from privcloud.attest import (
    TEE_TDX,
    AttestationResult,
    Evidence,
    Policy,
    TrustRoots,
    check_binding,
    report_data_for,
    verify_evidence,
)
from privcloud.attest.tdx import parse_quote
from privcloud.crypto.x509 import load_certificates
from privcloud.crypto.x509_issue import build_crl
from privcloud.errors import (
    DecodeError,
    PolicyError,
    TooLargeError,
    UnsupportedError,
    VerificationError,
)
from vectors import shared_vector

_BODY = 48  # the TD report body starts after the 48-byte header
_OFF = {"td_attributes": _BODY + 120, "mrtd": _BODY + 136, "report_data": _BODY + 520}
_SIG_DATA = _BODY + 584 + 4  # ECDSA signature, then the attestation key


def _crls() -> list[bytes]:
    return [
        shared_vector("attestation", "tdx", "pckcrl").read_bytes(),
        shared_vector("attestation", "tdx", "rootcrl.der").read_bytes(),
    ]


def _verify(
    raw: bytes,
    *,
    now: float = T0,
    policy: Policy | None = None,
    roots: TrustRoots | None = None,
) -> AttestationResult:
    return verify_evidence(
        Evidence(TEE_TDX, raw),
        now=now,
        policy=policy or Policy(),
        roots=roots if roots is not None else TrustRoots.pinned(crls=_crls()),
    )


def _flip(raw: bytes, offset: int, mask: int = 1) -> bytes:
    return raw[:offset] + bytes([raw[offset] ^ mask]) + raw[offset + 1 :]


def test_real_quote_verifies_up_to_pinned_intel_root_with_crls() -> None:
    result = _verify(real_tdx_quote())
    assert result.debug is False
    assert result.product == "TDX"
    assert result.measurement.hex() == (
        "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f"
        "22fc00b8dcd404bc10d5e119d7215cbb"
    )
    assert result.registers["fmspc"].hex() == "50806f000000"
    assert result.tcb["pcesvn"] == 11
    assert result.tcb["qe_isvsvn"] == 4
    assert [result.tcb[f"tdx_tcb_{i}"] for i in range(3)] == [3, 0, 4]
    assert [result.tcb[f"sgx_tcb_{i}"] for i in range(8)] == [3, 3, 2, 2, 2, 1, 0, 2]
    assert [s.split(",")[-1] for s in result.signer_chain] == [
        "CN=Intel SGX PCK Certificate",
        "CN=Intel SGX PCK Platform CA",
        "CN=Intel SGX Root CA",
    ]


def test_unsigned_trailing_data_is_refused() -> None:
    # The file as go-tdx-guest ships it carries 39 bytes of text after the quote: refused.
    assert real_tdx_quote_file().endswith(TDX_SAMPLE_SUFFIX)
    with pytest.raises(TooLargeError):
        _verify(real_tdx_quote_file())
    # Zero padding (fixed-size quote buffers) is accepted.
    assert _verify(real_tdx_quote() + bytes(100)).debug is False


def test_debug_enabled_report_is_refused() -> None:
    # A validly signed (synthetic chain) quote of a debug TD is refused by policy.
    intel = synthetic_intel()
    debug = build_tdx_quote(intel, td_attributes=0x10000001)
    with pytest.raises(PolicyError):
        _verify(debug, roots=intel.roots)
    assert _verify(debug, roots=intel.roots, policy=Policy(allow_debug=True)).debug is True
    assert _verify(build_tdx_quote(intel), roots=intel.roots).debug is False
    # Setting the TD DEBUG bit in the real quote breaks the attestation key's signature.
    with pytest.raises(VerificationError) as exc:
        _verify(_flip(real_tdx_quote(), _OFF["td_attributes"]))
    assert not isinstance(exc.value, PolicyError)


def test_wrong_vendor_chain_is_refused() -> None:
    intel = synthetic_intel()
    # A quote through a look-alike "Intel SGX Root CA" (Intel's exact names) against the pinned
    # Intel root.
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote(intel), roots=TrustRoots.pinned())
    # The real quote against a test root, or against an AMD-style RSA root.
    with pytest.raises(VerificationError):
        _verify(real_tdx_quote(), roots=intel.roots)
    amd_ark = TrustRoots(intel=(synthetic_amd().ark,))
    with pytest.raises(VerificationError):
        _verify(real_tdx_quote(), roots=amd_ark)


def test_expired_chain_is_refused() -> None:
    with pytest.raises(VerificationError):
        _verify(real_tdx_quote(), now=T_EXPIRED, roots=TrustRoots.pinned())


def test_stale_crl_is_refused() -> None:
    # 2023-08-01: the PCK CRL's nextUpdate (2023-07-08) has passed.
    later = 1690848000.0
    with pytest.raises(VerificationError):
        _verify(real_tdx_quote(), now=later)
    assert _verify(real_tdx_quote(), now=later, roots=TrustRoots.pinned()).debug is False


def test_revoked_pck_is_refused() -> None:
    intel = synthetic_intel()
    crl = build_crl(
        intel.ca, intel.ca_key, revoked_serials=[3], this_update=T0 - 10, next_update=T0 + 10
    )
    roots = TrustRoots(intel=intel.roots.intel, crls=(crl,))
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote(intel), roots=roots)
    ok_crl = build_crl(
        intel.ca, intel.ca_key, revoked_serials=[99], this_update=T0 - 10, next_update=T0 + 10
    )
    roots = TrustRoots(intel=intel.roots.intel, crls=(ok_crl,))
    assert _verify(build_tdx_quote(intel), roots=roots).tee_type == TEE_TDX


def test_truncated_report_is_refused() -> None:
    raw = real_tdx_quote()
    for size in (0, 10, 48, 632, 640, 1000, len(raw) - 1):
        with pytest.raises(DecodeError):
            _verify(raw[:size])


def test_oversized_report_is_refused() -> None:
    with pytest.raises(TooLargeError):
        parse_quote(real_tdx_quote() + bytes(limits.MAX_TDX_QUOTE_BYTES))
    with pytest.raises(TooLargeError):
        _verify(real_tdx_quote() * 20)
    # A signature-data length pointing past the end.
    raw = real_tdx_quote()
    (sig_len,) = struct.unpack_from("<I", raw, _BODY + 584)
    bigger = raw[: _BODY + 584] + struct.pack("<I", sig_len + 1) + raw[_BODY + 588 :]
    with pytest.raises(DecodeError):
        _verify(bigger)


def test_tampered_measurement_is_refused() -> None:
    intel = synthetic_intel()
    good, evil = b"\x01" * 48, b"\x02" * 48
    policy = Policy(allowed_measurements=frozenset({good}))
    assert _verify(build_tdx_quote(intel, mrtd=good), roots=intel.roots, policy=policy)
    with pytest.raises(PolicyError):
        _verify(build_tdx_quote(intel, mrtd=evil), roots=intel.roots, policy=policy)
    with pytest.raises(VerificationError):
        _verify(_flip(real_tdx_quote(), _OFF["mrtd"]))


def test_rtmr_outside_allow_list_is_refused() -> None:
    real = _verify(real_tdx_quote())
    pinned = Policy(allowed_registers={"rtmr0": frozenset({real.registers["rtmr0"]})})
    assert _verify(real_tdx_quote(), policy=pinned)
    with pytest.raises(PolicyError):
        _verify(real_tdx_quote(), policy=Policy(allowed_registers={"rtmr0": frozenset({b"x"})}))
    with pytest.raises(PolicyError):
        _verify(real_tdx_quote(), policy=Policy(allowed_registers={"rtmr9": frozenset({b"x"})}))


def test_key_swapped_after_attestation_is_refused() -> None:
    intel = synthetic_intel()
    node_key, other_key = b"N" * 32, b"M" * 32
    quote = build_tdx_quote(intel, report_data=report_data_for(node_key))
    result = _verify(quote, roots=intel.roots)
    check_binding(result, node_key)
    with pytest.raises(VerificationError):
        check_binding(result, other_key)
    # The real quote's report data binds no privcloud key.
    with pytest.raises(VerificationError):
        check_binding(_verify(real_tdx_quote()), node_key)


def test_attestation_key_not_bound_by_qe_is_refused() -> None:
    intel = synthetic_intel()
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote(intel, qe_binds_key=False), roots=intel.roots)
    # Swap the attestation key in the real quote: the QE report no longer vouches for it.
    with pytest.raises(VerificationError):
        _verify(_flip(real_tdx_quote(), _SIG_DATA + 64 + 5))


def test_quote_from_non_intel_quoting_enclave_is_refused() -> None:
    intel = synthetic_intel()
    with pytest.raises(VerificationError):
        _verify(build_tdx_quote(intel, qe_mrsigner=b"\x01" * 32), roots=intel.roots)


def test_tampered_qe_report_is_refused() -> None:
    # Byte 0 of the QE report (its CPUSVN) sits after signature, key and the 6-byte type/size.
    with pytest.raises(VerificationError):
        _verify(_flip(real_tdx_quote(), _SIG_DATA + 128 + 6))


def test_tcb_below_policy_minimum_is_refused() -> None:
    ok = Policy(min_tcb={TEE_TDX: {"pcesvn": 11, "qe_isvsvn": 4, "tdx_tcb_2": 4}})
    assert _verify(real_tdx_quote(), policy=ok)
    for minimum in ({"pcesvn": 12}, {"tdx_tcb_2": 5}, {"sgx_tcb_0": 5}):
        with pytest.raises(PolicyError):
            _verify(real_tdx_quote(), policy=Policy(min_tcb={TEE_TDX: minimum}))


def test_unsupported_quote_variants_are_refused() -> None:
    raw = real_tdx_quote()
    for offset, value in ((0, 3), (0, 6), (2, 3), (4, 0)):
        with pytest.raises(UnsupportedError):
            _verify(raw[:offset] + struct.pack("<H", value) + raw[offset + 2 :])
    with pytest.raises(UnsupportedError):
        _verify(_flip(raw, 12))  # QE vendor id


def test_pinned_intel_root_matches_the_chain_root() -> None:
    root = shared_vector("attestation", "tdx", "verify_trusted_root.pem").read_bytes()
    assert load_certificates(root)[0].der == TrustRoots.pinned().intel[0].der
