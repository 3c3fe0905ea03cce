"""The INSECURE simulated TEE: loud, opt-in, refused by default policy."""

from __future__ import annotations

import logging

import pytest

from privcloud.attest import (
    TEE_SIMULATED,
    Evidence,
    Policy,
    TrustRoots,
    check_binding,
    report_data_for,
    verify_evidence,
)
from privcloud.attest.simulated import (
    MAGIC,
    REPORT_SIZE,
    InsecureSimulatedTee,
    InsecureSimulatedVerifier,
)
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.errors import DecodeError, PolicyError, UsageError, VerificationError

NOW = 1_750_000_000.0
MEASUREMENT = bytes(range(48))
NODE_KEY = b"\x04" + b"k" * 64


@pytest.fixture(scope="module")
def tee() -> InsecureSimulatedTee:
    return InsecureSimulatedTee.generate(MEASUREMENT)


def _roots(tee: InsecureSimulatedTee) -> TrustRoots:
    return TrustRoots(insecure_simulated_keys=(tee.public_key,))


def _dev_policy(**kw: object) -> Policy:
    return Policy(
        allowed_tee_types=frozenset({TEE_SIMULATED}),
        allow_insecure_simulated=True,
        **kw,  # type: ignore[arg-type]
    )


def test_simulated_evidence_refused_by_default_policy(tee: InsecureSimulatedTee) -> None:
    evidence = tee.evidence(report_data_for(NODE_KEY), now=NOW)
    with pytest.raises(PolicyError):
        verify_evidence(evidence, now=NOW, policy=Policy(), roots=_roots(tee))
    # Allowing the TEE type alone is not enough: the explicit insecure opt-in is needed too.
    only_type = Policy(allowed_tee_types=frozenset({TEE_SIMULATED}))
    with pytest.raises(PolicyError):
        verify_evidence(evidence, now=NOW, policy=only_type, roots=_roots(tee))
    # The verifier itself refuses before parsing, even garbage.
    verifier = InsecureSimulatedVerifier([tee.public_key])
    with pytest.raises(PolicyError):
        verifier.verify(Evidence(TEE_SIMULATED, b"garbage"), now=NOW, policy=only_type)


def test_opted_in_policy_accepts_and_binds_the_key(tee: InsecureSimulatedTee) -> None:
    evidence = tee.evidence(report_data_for(NODE_KEY), now=NOW)
    assert len(evidence.raw) == REPORT_SIZE and evidence.raw.startswith(MAGIC)
    result = verify_evidence(evidence, now=NOW + 1, policy=_dev_policy(), roots=_roots(tee))
    assert result.insecure is True
    assert result.measurement == MEASUREMENT
    assert result.issued_at == NOW
    check_binding(result, NODE_KEY)
    with pytest.raises(VerificationError):
        check_binding(result, b"\x04" + b"x" * 64)
    dev = Policy.insecure_for_development()
    assert verify_evidence(evidence, now=NOW, policy=dev, roots=_roots(tee)).insecure


def test_every_use_logs_an_insecure_warning(
    tee: InsecureSimulatedTee, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="privcloud.attest"):
        evidence = tee.evidence(bytes(64), now=NOW)
        verify_evidence(evidence, now=NOW, policy=_dev_policy(), roots=_roots(tee))
        with pytest.raises(PolicyError):
            InsecureSimulatedVerifier([tee.public_key]).verify(evidence, now=NOW, policy=Policy())
    messages = [r.getMessage() for r in caplog.records if r.name == "privcloud.attest"]
    assert len(messages) == 3
    assert all("INSECURE" in m for m in messages)


def test_unknown_dev_root_is_refused(tee: InsecureSimulatedTee) -> None:
    other = InsecureSimulatedTee.generate(MEASUREMENT)
    with pytest.raises(VerificationError):
        verify_evidence(
            other.evidence(bytes(64), now=NOW), now=NOW, policy=_dev_policy(), roots=_roots(tee)
        )


def test_tampered_measurement_is_refused(tee: InsecureSimulatedTee) -> None:
    raw = bytearray(tee.evidence(bytes(64), now=NOW).raw)
    raw[40] ^= 1
    with pytest.raises(VerificationError):
        verify_evidence(
            Evidence(TEE_SIMULATED, bytes(raw)), now=NOW, policy=_dev_policy(), roots=_roots(tee)
        )
    policy = _dev_policy(allowed_measurements=frozenset({b"\x00" * 48}))
    with pytest.raises(PolicyError):
        verify_evidence(tee.evidence(bytes(64), now=NOW), now=NOW, policy=policy, roots=_roots(tee))


def test_debug_enabled_report_is_refused() -> None:
    debug_tee = InsecureSimulatedTee.generate(MEASUREMENT, debug=True)
    evidence = debug_tee.evidence(bytes(64), now=NOW)
    with pytest.raises(PolicyError):
        verify_evidence(evidence, now=NOW, policy=_dev_policy(), roots=_roots(debug_tee))
    allowed = _dev_policy(allow_debug=True)
    assert verify_evidence(evidence, now=NOW, policy=allowed, roots=_roots(debug_tee)).debug


def test_stale_or_future_evidence_is_refused(tee: InsecureSimulatedTee) -> None:
    evidence = tee.evidence(bytes(64), now=NOW)
    policy = _dev_policy(max_age_s=60.0)
    assert verify_evidence(evidence, now=NOW + 60, policy=policy, roots=_roots(tee))
    with pytest.raises(PolicyError):
        verify_evidence(evidence, now=NOW + 61, policy=policy, roots=_roots(tee))
    with pytest.raises(PolicyError):
        verify_evidence(evidence, now=NOW - 3600, policy=policy, roots=_roots(tee))


def test_truncated_and_oversized_reports_are_refused(tee: InsecureSimulatedTee) -> None:
    raw = tee.evidence(bytes(64), now=NOW).raw
    for bad in (raw[:-1], raw + b"\x00", b"", raw[:10]):
        with pytest.raises(DecodeError):
            verify_evidence(
                Evidence(TEE_SIMULATED, bad), now=NOW, policy=_dev_policy(), roots=_roots(tee)
            )
    bad_magic = b"X" + raw[1:]
    with pytest.raises(DecodeError):
        verify_evidence(
            Evidence(TEE_SIMULATED, bad_magic), now=NOW, policy=_dev_policy(), roots=_roots(tee)
        )


def test_producer_rejects_misuse() -> None:
    with pytest.raises(UsageError):
        InsecureSimulatedTee.generate(b"short")
    with pytest.raises(UsageError):
        InsecureSimulatedTee(EcPrivateKey.generate(Curve.P256), MEASUREMENT)
    with pytest.raises(UsageError):
        InsecureSimulatedTee.generate(MEASUREMENT).evidence(b"short", now=NOW)


def test_dev_root_key_round_trips() -> None:
    key = EcPrivateKey.generate(Curve.P384)
    again = EcPrivateKey.from_bytes(Curve.P384, key.to_bytes())
    a = InsecureSimulatedTee(key, MEASUREMENT)
    b = InsecureSimulatedTee(again, MEASUREMENT)
    assert a.public_key == b.public_key
    evidence = b.evidence(bytes(64), now=NOW)
    assert verify_evidence(evidence, now=NOW, policy=_dev_policy(), roots=_roots(a)).insecure
