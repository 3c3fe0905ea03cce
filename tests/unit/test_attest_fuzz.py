"""Garbage into the attestation parsers and verifiers is rejected with our error types, never a
crash: the only exceptions that may escape are :class:`PrivcloudError` subclasses."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attest_synthetic import T0, real_snp_report, real_tdx_quote, real_vcek
from privcloud.attest import (
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    Evidence,
    Policy,
    TrustRoots,
    verify_evidence,
)
from privcloud.attest.sevsnp import extract_vcek, parse_report
from privcloud.attest.simulated import InsecureSimulatedTee
from privcloud.attest.tdx import parse_quote
from privcloud.crypto.der import der_oid_map
from privcloud.crypto.x509 import load_certificates, load_crl
from privcloud.errors import PrivcloudError

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ANY_POLICY = Policy(
    allowed_tee_types=frozenset({TEE_SEV_SNP, TEE_TDX, TEE_SIMULATED}),
    allow_insecure_simulated=True,
    allow_debug=True,
)


def _only_our_errors(fn: Callable[[], object]) -> None:
    with contextlib.suppress(PrivcloudError):
        fn()


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes overwritten, then maybe cut or extended."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    tail = draw(st.binary(max_size=16))
    return bytes(data[:cut]) + tail if draw(st.booleans()) else bytes(data)


@pytest.fixture(scope="module")
def roots() -> TrustRoots:
    sim = InsecureSimulatedTee.generate(bytes(48))
    return TrustRoots.pinned(insecure_simulated_keys=[sim.public_key])


@FUZZ
@given(st.binary(max_size=2048))
def test_garbage_into_parsers_raises_only_our_errors(data: bytes) -> None:
    for parse in (parse_report, parse_quote, extract_vcek, load_certificates, load_crl):
        _only_our_errors(lambda p=parse: p(data))  # type: ignore[misc]
    _only_our_errors(lambda: der_oid_map(data))


@FUZZ
@given(
    st.sampled_from([TEE_SEV_SNP, TEE_TDX, TEE_SIMULATED, "x"]),
    st.binary(max_size=2048),
    st.binary(max_size=512),
)
def test_garbage_evidence_raises_only_our_errors(
    roots: TrustRoots, tee: str, raw: bytes, certs: bytes
) -> None:
    _only_our_errors(
        lambda: verify_evidence(Evidence(tee, raw, certs), now=T0, policy=ANY_POLICY, roots=roots)
    )


@FUZZ
@given(st.data())
def test_mutated_real_snp_report_raises_only_our_errors(
    roots: TrustRoots, data: st.DataObject
) -> None:
    raw = data.draw(mutated(real_snp_report()))
    vcek = data.draw(st.one_of(st.just(real_vcek()), mutated(real_vcek())))
    evidence = Evidence(TEE_SEV_SNP, raw, vcek)
    _only_our_errors(lambda: verify_evidence(evidence, now=T0, policy=ANY_POLICY, roots=roots))


@FUZZ
@given(st.data())
def test_mutated_real_tdx_quote_raises_only_our_errors(
    roots: TrustRoots, data: st.DataObject
) -> None:
    raw = data.draw(mutated(real_tdx_quote()))
    evidence = Evidence(TEE_TDX, raw)
    _only_our_errors(lambda: verify_evidence(evidence, now=T0, policy=ANY_POLICY, roots=roots))
