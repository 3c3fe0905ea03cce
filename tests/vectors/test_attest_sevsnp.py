"""SEV-SNP: the real Milan report from go-sev-guest, verified up to the pinned AMD roots at a fixed
time, and synthetic reports (own test ARK/ASK/VCEK) for the policy paths."""

from __future__ import annotations

import base64
import struct
import warnings

import pytest

from attest_synthetic import (
    T0,
    T_EXPIRED,
    make_vcek,
    real_snp_report,
    real_tdx_quote,
    real_vcek,
    set_snp_field,
    sign_snp_report,
    synthetic_amd,
    synthetic_snp_report,
)
from privcloud.attest import (
    TEE_SEV_SNP,
    AttestationResult,
    Evidence,
    Policy,
    TrustRoots,
    check_binding,
    report_data_for,
    verify_evidence,
)
from privcloud.attest.sevsnp import (
    GUID_VCEK,
    REPORT_SIZE,
    SevSnpVerifier,
    parse_report,
    pinned_amd_roots,
)
from privcloud.crypto.x509 import load_certificate
from privcloud.errors import (
    DecodeError,
    PolicyError,
    TooLargeError,
    UnsupportedError,
    VerificationError,
)

#: The real sample was taken with the guest policy's DEBUG bit set (policy 0x000B0000), so only a
#: policy that allows debug admits it: the default policy refusing it is itself a test below.
ALLOW_DEBUG = Policy(allow_debug=True)
CHIP = bytes(range(64))


def _verify(
    raw: bytes,
    certs: bytes,
    *,
    now: float = T0,
    policy: Policy = ALLOW_DEBUG,
    roots: TrustRoots | None = None,
) -> AttestationResult:
    return verify_evidence(
        Evidence(TEE_SEV_SNP, raw, certs),
        now=now,
        policy=policy,
        roots=roots if roots is not None else TrustRoots.pinned(),
    )


def test_real_report_verifies_up_to_pinned_milan_root() -> None:
    result = _verify(real_snp_report(), real_vcek())
    assert result.product == "Milan"
    assert result.debug is True
    assert result.measurement.hex() == (
        "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
        "6bdf8a9ece31a5a608eb0cf2e4872b01"
    )
    assert result.report_data == bytes([1, 2, 3, 4, 5]) + bytes(59)
    assert dict(result.tcb) == {
        "bootloader": 2,
        "tee": 0,
        "snp": 5,
        "microcode": 68,
        "guest_svn": 0,
    }
    vcek = load_certificate(real_vcek(), allow_non_positive_serial=True)
    assert result.platform_id == vcek.extension("1.3.6.1.4.1.3704.1.4")
    assert [s.split(",")[0] for s in result.signer_chain] == [
        "CN=SEV-VCEK",
        "CN=SEV-Milan",
        "CN=ARK-Milan",
    ]
    assert result.insecure is False


def test_vcek_accepted_as_pem_and_as_certificate_table() -> None:
    vcek = real_vcek()
    pem = (
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(vcek) + b"-----END CERTIFICATE-----\n"
    )
    assert _verify(real_snp_report(), pem).product == "Milan"
    # GHCB certificate table: (GUID, offset, length) entries, an all-zero entry, then the data.
    header_size = 2 * 24
    table = GUID_VCEK + struct.pack("<II", header_size, len(vcek)) + bytes(24) + vcek
    assert _verify(real_snp_report(), table).product == "Milan"


def test_vcek_serial_quirk_is_handled_deliberately() -> None:
    # AMD's VCEK has serial 0: refused unless the caller opts in, and then no warning leaks.
    with pytest.raises(DecodeError):
        load_certificate(real_vcek())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _verify(real_snp_report(), real_vcek())
    assert not [w for w in caught if "serial" in str(w.message)]


def test_debug_enabled_report_is_refused() -> None:
    # 1. A validly signed (synthetic chain) report with DEBUG on is refused by policy...
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    debug_report = synthetic_snp_report(key, chip_id=CHIP, debug=True)
    with pytest.raises(PolicyError):
        _verify(debug_report, vcek, policy=Policy(), roots=amd.roots)
    # ...while the same report with DEBUG off is admitted (the control).
    clean = synthetic_snp_report(key, chip_id=CHIP, debug=False)
    assert _verify(clean, vcek, policy=Policy(), roots=amd.roots).debug is False
    # 2. The real report has DEBUG on: the default policy refuses it.
    with pytest.raises(PolicyError):
        _verify(real_snp_report(), real_vcek(), policy=Policy())
    # 3. Clearing the bit breaks AMD's signature.
    raw = real_snp_report()
    (policy,) = struct.unpack_from("<Q", raw, 0x08)
    cleared = set_snp_field(raw, 0x08, struct.pack("<Q", policy & ~(1 << 19)))
    with pytest.raises(VerificationError) as exc:
        _verify(cleared, real_vcek())
    assert not isinstance(exc.value, PolicyError)


def test_wrong_vendor_chain_is_refused() -> None:
    amd = synthetic_amd()
    # A VCEK from a look-alike ASK (AMD's exact names), verified against AMD's pinned roots.
    key, fake_vcek = make_vcek(amd, CHIP)
    forged = synthetic_snp_report(key, chip_id=CHIP)
    with pytest.raises(VerificationError):
        _verify(forged, fake_vcek, policy=Policy())
    # A chain signed with PKCS#1 v1.5 instead of RSASSA-PSS is refused by algorithm.
    key, v15_vcek = make_vcek(amd, CHIP, rsa_pss=False)
    with pytest.raises(VerificationError):
        _verify(synthetic_snp_report(key, chip_id=CHIP), v15_vcek, roots=amd.roots)
    # The real evidence with only the Genoa and Turin roots pinned: no pinned issuer.
    raw, vcek = real_snp_report(), real_vcek()
    not_milan = TrustRoots(amd=tuple(r for r in pinned_amd_roots() if r.product != "Milan"))
    with pytest.raises(VerificationError):
        _verify(raw, vcek, roots=not_milan)
    # The real evidence against our own test roots instead of AMD's.
    with pytest.raises(VerificationError):
        _verify(raw, vcek, roots=amd.roots)
    # Intel's PCK certificate offered as a VCEK.
    pck_pem = real_tdx_quote()[real_tdx_quote().index(b"-----BEGIN") :]
    with pytest.raises((VerificationError, DecodeError)):
        _verify(raw, pck_pem)


def test_expired_chain_is_refused() -> None:
    with pytest.raises(VerificationError):
        _verify(real_snp_report(), real_vcek(), now=T_EXPIRED)
    # ... and a VCEK not yet valid (2022-01-01, before its notBefore of 2022-09-24).
    with pytest.raises(VerificationError):
        _verify(real_snp_report(), real_vcek(), now=1640995200.0)


def test_truncated_report_is_refused() -> None:
    raw = real_snp_report()
    for size in (0, 1, 0x50, 0x2A0, REPORT_SIZE - 1):
        with pytest.raises(DecodeError):
            _verify(raw[:size], real_vcek())
    with pytest.raises(DecodeError):
        _verify(raw, real_vcek()[:-10])
    with pytest.raises(DecodeError):
        _verify(raw, b"")


def test_oversized_report_is_refused() -> None:
    raw = real_snp_report()
    with pytest.raises(TooLargeError):
        _verify(raw + b"\x00", real_vcek())
    with pytest.raises(TooLargeError):
        _verify(raw * 100, real_vcek())
    with pytest.raises(TooLargeError):
        _verify(raw, real_vcek() * 100)


def test_tampered_measurement_is_refused() -> None:
    # A validly signed report with a measurement outside the allow-list.
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    good, evil = b"\x01" * 48, b"\x02" * 48
    policy = Policy(allowed_measurements=frozenset({good}))
    admitted = _verify(
        synthetic_snp_report(key, chip_id=CHIP, measurement=good),
        vcek,
        policy=policy,
        roots=amd.roots,
    )
    assert admitted.measurement == good
    with pytest.raises(PolicyError):
        _verify(
            synthetic_snp_report(key, chip_id=CHIP, measurement=evil),
            vcek,
            policy=policy,
            roots=amd.roots,
        )
    # One flipped bit in the real report's measurement breaks AMD's signature.
    raw = real_snp_report()
    tampered = set_snp_field(raw, 0x90, bytes([raw[0x90] ^ 1]))
    with pytest.raises(VerificationError):
        _verify(tampered, real_vcek())


def test_tampered_report_data_is_refused() -> None:
    raw = real_snp_report()
    with pytest.raises(VerificationError):
        _verify(set_snp_field(raw, 0x50, b"\x09"), real_vcek())


def test_key_swapped_after_attestation_is_refused() -> None:
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    node_key, other_key = b"\x04" + b"A" * 64, b"\x04" + b"B" * 64
    report = synthetic_snp_report(key, chip_id=CHIP, report_data=report_data_for(node_key))
    result = _verify(report, vcek, policy=Policy(), roots=amd.roots)
    check_binding(result, node_key)
    with pytest.raises(VerificationError):
        check_binding(result, other_key)


def test_vcek_of_another_chip_or_tcb_is_refused() -> None:
    amd = synthetic_amd()
    # VCEK for another chip.
    key, vcek = make_vcek(amd, bytes(reversed(CHIP)))
    with pytest.raises(VerificationError):
        _verify(synthetic_snp_report(key, chip_id=CHIP), vcek, roots=amd.roots)
    # VCEK for a newer SNP firmware than the report says it ran (TCB rollback).
    key, vcek = make_vcek(amd, CHIP, tcb=(2, 0, 8, 68))
    with pytest.raises(VerificationError):
        _verify(synthetic_snp_report(key, chip_id=CHIP, tcb=(2, 0, 5, 68)), vcek, roots=amd.roots)


def test_tcb_below_policy_minimum_is_refused() -> None:
    raw, vcek = real_snp_report(), real_vcek()
    ok = Policy(allow_debug=True, min_tcb={TEE_SEV_SNP: {"snp": 5, "microcode": 68}})
    assert _verify(raw, vcek, policy=ok).tcb["snp"] == 5
    for minimum in ({"snp": 6}, {"microcode": 69}, {"no_such_component": 0}):
        with pytest.raises(PolicyError):
            _verify(raw, vcek, policy=Policy(allow_debug=True, min_tcb={TEE_SEV_SNP: minimum}))


def test_unsupported_report_variants_are_refused() -> None:
    raw = real_snp_report()
    with pytest.raises(UnsupportedError):
        _verify(set_snp_field(raw, 0x00, struct.pack("<I", 99)), real_vcek())
    with pytest.raises(UnsupportedError):
        _verify(set_snp_field(raw, 0x34, struct.pack("<I", 2)), real_vcek())
    # SIGNING_KEY = 1 (VLEK) is not supported; 7 (no key) is an unsigned report.
    with pytest.raises(UnsupportedError):
        _verify(set_snp_field(raw, 0x48, struct.pack("<I", 1 << 2)), real_vcek())
    with pytest.raises(VerificationError):
        _verify(set_snp_field(raw, 0x48, struct.pack("<I", 7 << 2)), real_vcek())
    # MASK_CHIP_ID: the report cannot be tied to the VCEK's chip.
    with pytest.raises(VerificationError):
        _verify(set_snp_field(raw, 0x48, struct.pack("<I", 2)), real_vcek())


def test_signature_with_out_of_range_component_is_refused() -> None:
    raw = real_snp_report()
    with pytest.raises(DecodeError):
        parse_report(set_snp_field(raw, 0x2A0 + 60, b"\x01"))
    # r = 0 after re-encoding: signature does not verify.
    zero_r = set_snp_field(raw, 0x2A0, bytes(72))
    with pytest.raises(VerificationError):
        _verify(zero_r, real_vcek())


def test_resigned_report_with_wrong_key_is_refused() -> None:
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    other, _ = make_vcek(amd, CHIP)
    report = synthetic_snp_report(key, chip_id=CHIP)
    with pytest.raises(VerificationError):
        _verify(sign_snp_report(report, other), vcek, roots=amd.roots)


def test_verifier_holds_its_roots() -> None:
    verifier = SevSnpVerifier(pinned_amd_roots())
    result = verifier.verify(
        Evidence(TEE_SEV_SNP, real_snp_report(), real_vcek()), now=T0, policy=ALLOW_DEBUG
    )
    assert result.tee_type == TEE_SEV_SNP
