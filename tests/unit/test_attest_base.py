"""The shared attestation interface: key binding, common policy checks, the registry."""

from __future__ import annotations

import hashlib

import pytest

from privcloud import limits
from privcloud.attest import (
    NODE_CLAIMS_LABEL,
    NODE_KEY_LABEL,
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    AttestationResult,
    Evidence,
    NodeClaims,
    Policy,
    TrustRoots,
    check_binding,
    check_claims,
    check_policy,
    report_data_for,
    verifier_for,
    verify_evidence,
)
from privcloud.errors import (
    PolicyError,
    TooLargeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)

KEY = b"\x04" + b"k" * 64


def _result(**kw: object) -> AttestationResult:
    fields: dict[str, object] = {
        "tee_type": TEE_SEV_SNP,
        "measurement": b"m" * 48,
        "report_data": report_data_for(KEY),
        "debug": False,
        "tcb": {"snp": 8},
        "platform_id": b"",
        "signer_chain": (),
    }
    fields.update(kw)
    return AttestationResult(**fields)  # type: ignore[arg-type]


def test_report_data_is_sha512_of_label_zero_key() -> None:
    expected = hashlib.sha512(NODE_KEY_LABEL + b"\x00" + KEY).digest()
    assert report_data_for(KEY) == expected
    assert len(expected) == 64
    assert report_data_for(KEY, b"other label") != expected
    with pytest.raises(UsageError):
        report_data_for(KEY, b"bad\x00label")
    with pytest.raises(UsageError):
        report_data_for(KEY, b"")


def test_key_swapped_after_attestation_is_refused() -> None:
    result = _result()
    check_binding(result, KEY)
    with pytest.raises(VerificationError):
        check_binding(result, b"\x04" + b"x" * 64)
    # Same key, other domain label: not a binding either.
    with pytest.raises(VerificationError):
        check_binding(result, KEY, b"privcloud something else v1")


def test_default_policy_refuses_debug_simulated_and_unknown_types() -> None:
    check_policy(_result(), Policy(), now=0)
    for bad in (
        _result(debug=True),
        _result(tee_type=TEE_SIMULATED, insecure=True),
        _result(tee_type="nitro"),
    ):
        with pytest.raises(PolicyError):
            check_policy(bad, Policy(), now=0)
    # Even if a policy allows the type, insecure evidence needs the explicit opt-in.
    with pytest.raises(PolicyError):
        check_policy(
            _result(tee_type=TEE_SIMULATED, insecure=True),
            Policy(allowed_tee_types=frozenset({TEE_SIMULATED})),
            now=0,
        )


def test_tcb_minimums_fail_closed() -> None:
    check_policy(_result(), Policy(min_tcb={TEE_SEV_SNP: {"snp": 8}}), now=0)
    check_policy(_result(), Policy(min_tcb={TEE_TDX: {"pcesvn": 99}}), now=0)
    with pytest.raises(PolicyError):
        check_policy(_result(), Policy(min_tcb={TEE_SEV_SNP: {"snp": 9}}), now=0)
    with pytest.raises(PolicyError):
        check_policy(_result(), Policy(min_tcb={TEE_SEV_SNP: {"missing": 0}}), now=0)


def test_results_and_policies_are_immutable() -> None:
    result = _result()
    with pytest.raises(TypeError):
        result.tcb["snp"] = 0  # type: ignore[index]
    policy = Policy(min_tcb={TEE_SEV_SNP: {"snp": 1}})
    with pytest.raises(TypeError):
        policy.min_tcb[TEE_SEV_SNP]["snp"] = 0  # type: ignore[index]
    with pytest.raises(UsageError):
        _result(report_data=b"short")


def test_registry_refuses_unknown_types_and_oversize_before_parsing() -> None:
    roots = TrustRoots()
    everything = Policy(allowed_tee_types=frozenset({"nitro", TEE_SEV_SNP}))
    with pytest.raises(UnsupportedError):
        verify_evidence(Evidence("nitro", b"x"), now=0, policy=everything, roots=roots)
    with pytest.raises(UnsupportedError):
        verifier_for("nitro", roots)
    with pytest.raises(PolicyError):
        verify_evidence(Evidence(TEE_SIMULATED, b"x"), now=0, policy=Policy(), roots=roots)
    big = Evidence(TEE_SEV_SNP, bytes(limits.MAX_ATTEST_EVIDENCE_BYTES + 1))
    with pytest.raises(TooLargeError):
        verify_evidence(big, now=0, policy=Policy(), roots=roots)


def test_pinned_roots_are_the_package_data() -> None:
    roots = TrustRoots.pinned()
    assert [r.product for r in roots.amd] == ["Milan", "Genoa", "Turin"]
    for chain in roots.amd:
        assert chain.ark.subject_common_name == f"ARK-{chain.product}"
        assert chain.ask.subject_common_name == f"SEV-{chain.product}"
    assert roots.intel[0].subject_common_name == "Intel SGX Root CA"
    assert roots.intel[0].fingerprint_sha256.hex() == (
        "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
    )


def test_node_claims_encoding_golden_bytes() -> None:
    # Hand-assembled from the NodeClaims layout: u16 key length, key, u64 issued_at, u8 region
    # length, region, u8 provider length, provider, u16 kem, u16 kdf, u16 aead (big-endian).
    claims = NodeClaims(b"\x04" * 3, 1_750_000_000, "eu-west", "acme", (0x20, 1, 1))
    golden = bytes.fromhex(
        "000304040400000000684ee18007" + b"eu-west".hex() + "04" + b"acme".hex() + "002000010001"
    )
    assert claims.encode() == golden
    assert claims.report_data() == hashlib.sha512(NODE_CLAIMS_LABEL + b"\x00" + golden).digest()
    # Each field changes the report data (no two claims share an encoding).
    others = [
        NodeClaims(b"\x04" * 4, 1_750_000_000, "eu-west", "acme", (0x20, 1, 1)),
        NodeClaims(b"\x04" * 3, 1_750_000_001, "eu-west", "acme", (0x20, 1, 1)),
        NodeClaims(b"\x04" * 3, 1_750_000_000, "eu-wes", "tacme", (0x20, 1, 1)),
        NodeClaims(b"\x04" * 3, 1_750_000_000, "eu-west", "acme", (0x20, 1, 3)),
    ]
    assert len({c.report_data() for c in [claims, *others]}) == 5
    for bad in (
        dict(public_key=b""),
        dict(issued_at=-1),
        dict(issued_at=2**64),
        dict(region="é"),
        dict(provider="x" * 256),
        dict(suite=(0x20, 1)),
        dict(suite=(0x20, 1, 2**16)),
    ):
        fields = dict(public_key=b"k", issued_at=0, region="r", provider="p", suite=(0x20, 1, 1))
        fields.update(bad)
        with pytest.raises(UsageError):
            NodeClaims(**fields)  # type: ignore[arg-type]


def test_check_claims_refuses_evidence_for_other_claims() -> None:
    claims = NodeClaims(KEY, 1_750_000_000, "eu-west", "acme", (0x20, 1, 1))
    result = AttestationResult(
        tee_type=TEE_SEV_SNP,
        measurement=bytes(48),
        report_data=claims.report_data(),
        debug=False,
        tcb={},
        platform_id=b"",
        signer_chain=(),
    )
    check_claims(result, claims)
    rewritten = NodeClaims(KEY, 1_750_000_000 + 86400 * 30, "eu-west", "acme", (0x20, 1, 1))
    with pytest.raises(VerificationError, match="does not bind"):
        check_claims(result, rewritten)
    # The key-only binding is another domain: it does not satisfy the claims check.
    keyonly = AttestationResult(TEE_SEV_SNP, bytes(48), report_data_for(KEY), False, {}, b"", ())
    with pytest.raises(VerificationError):
        check_claims(keyonly, claims)
