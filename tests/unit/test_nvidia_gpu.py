"""The NVIDIA GPU verifier on *synthetic* evidence (test CAs only these tests pin; nvidia_kit.py):
one test per check, named after the attack it stops, and byte flips over the synthetic signed
regions (the real evidence's are in tests/vectors/test_nvidia_real.py)."""

from __future__ import annotations

import dataclasses

import pytest

from nvidia_kit import (
    NOW,
    ReportSpec,
    SyntheticGpu,
    build_report,
    pem,
    rim_xml,
    sign_rim,
    synthetic_device,
    synthetic_gpu,
    synthetic_rim_ca,
)
from privcloud.attest import Evidence, NodeClaims
from privcloud.attest.nvidia import (
    GpuAttestation,
    GpuPolicy,
    NvidiaGpuVerifier,
    check_gpu_binding,
    gpu_id,
    gpu_nonce_for,
)
from privcloud.errors import (
    DecodeError,
    PeerError,
    PolicyError,
    UsageError,
    VerificationError,
)

POLICY = GpuPolicy()
CLAIMS = NodeClaims(b"k" * 32, NOW, "eu-west", "local", (32, 1, 1), gpus=(b"\x01" * 32,))


@pytest.fixture(scope="module")
def gpu() -> SyntheticGpu:
    return synthetic_gpu()


def verify(
    gpu: SyntheticGpu, spec: ReportSpec | None = None, rims: tuple[bytes, ...] | None = None
) -> GpuAttestation:
    return gpu.verifier(rims).verify(gpu.evidence(spec), now=NOW, policy=POLICY)


def test_synthetic_gpu_verifies_every_check(gpu: SyntheticGpu) -> None:
    result = verify(gpu)
    assert [c.name for c in result.checks] == [
        "gpu-device-chain",
        "gpu-fwid",
        "gpu-report-signature",
        "gpu-cc-mode",
        "gpu-rims",
        "gpu-measurements",
    ]
    assert result.mode == "SPT"
    assert result.driver_version == "550.90.07"
    assert result.vbios_version == "96.00.9f.00.01"
    assert result.gpu_id == gpu_id(gpu.device.chain_pem())
    assert [r[0] for r in result.rims] == ["driver", "vbios"]


def test_gpu_nonce_binding_the_claims_passes(gpu: SyntheticGpu) -> None:
    claims = dataclasses.replace(CLAIMS, gpus=(gpu_id(gpu.device.chain_pem()),))
    result = verify(gpu, dataclasses.replace(gpu.spec, nonce=gpu_nonce_for(claims)))
    check_gpu_binding(result, claims)


def test_gpu_nonce_not_binding_the_node_key_is_refused(gpu: SyntheticGpu) -> None:
    claims = dataclasses.replace(CLAIMS, gpus=(gpu_id(gpu.device.chain_pem()),))
    other_key = dataclasses.replace(claims, public_key=b"x" * 32)
    result = verify(gpu, dataclasses.replace(gpu.spec, nonce=gpu_nonce_for(other_key)))
    with pytest.raises(VerificationError, match="nonce does not bind"):
        check_gpu_binding(result, claims)


def test_gpu_not_named_in_the_claims_is_refused(gpu: SyntheticGpu) -> None:
    result = verify(gpu, dataclasses.replace(gpu.spec, nonce=gpu_nonce_for(CLAIMS)))
    with pytest.raises(VerificationError, match="not named"):
        check_gpu_binding(result, CLAIMS)


def test_rim_signature_invalid_is_refused(gpu: SyntheticGpu) -> None:
    driver, vbios = gpu.rims
    forged = driver.replace(b'active="True" alternatives="2"', b'active="True" alternatives="1"', 1)
    assert forged != driver
    with pytest.raises(VerificationError, match="no valid signed RIM for the GPU's driver"):
        verify(gpu, rims=(forged, vbios))


def test_measurement_not_in_the_rim_is_refused(gpu: SyntheticGpu) -> None:
    values = dict(gpu.spec.values)
    values[3] = b"\x99" * 48  # a driver-measured index the GPU reports differently
    with pytest.raises(VerificationError, match="measurement not in the signed RIM"):
        verify(gpu, dataclasses.replace(gpu.spec, values=values))


def test_measurement_missing_from_the_report_is_refused(gpu: SyntheticGpu) -> None:
    values = dict(gpu.spec.values)
    del values[8]
    values[20] = b"\x01" * 48  # keep the count; index 8 (VBIOS) is now absent
    with pytest.raises(VerificationError, match="measurement not in the signed RIM"):
        verify(gpu, dataclasses.replace(gpu.spec, values=values))


def test_device_chain_to_an_unpinned_root_is_refused(gpu: SyntheticGpu) -> None:
    stranger = synthetic_device()
    verifier = dataclasses.replace(gpu.verifier(), device_roots=(stranger.root,))
    with pytest.raises(VerificationError, match="pinned root"):
        verifier.verify(gpu.evidence(), now=NOW, policy=POLICY)


def test_device_chain_that_brings_its_own_root_is_refused(gpu: SyntheticGpu) -> None:
    # A self-made chain with the same names: the root it carries is not the pinned one.
    fake = synthetic_device()
    evidence = Evidence("nvidia-gpu", build_report(fake, gpu.spec), fake.chain_pem())
    with pytest.raises(VerificationError, match="pinned root"):
        gpu.verifier().verify(evidence, now=NOW, policy=POLICY)


def test_gpu_not_in_cc_mode_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(PolicyError, match="not in confidential-computing mode"):
        verify(gpu, dataclasses.replace(gpu.spec, feature_flag=2))  # PPCIE: CC off


def test_gpu_with_unknown_mode_flag_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(PolicyError, match="not in confidential-computing mode"):
        verify(gpu, dataclasses.replace(gpu.spec, feature_flag=7))


def test_gpu_report_without_mode_is_refused_when_policy_requires_it(gpu: SyntheticGpu) -> None:
    spec = dataclasses.replace(gpu.spec, feature_flag=None)
    assert verify(gpu, spec).mode == "CC (by measurements)"
    strict = GpuPolicy(require_mode=True)
    with pytest.raises(PolicyError, match="does not name"):
        gpu.verifier().verify(gpu.evidence(spec), now=NOW, policy=strict)


def test_report_signed_by_another_key_is_refused(gpu: SyntheticGpu) -> None:
    other = synthetic_device()
    raw = build_report(other, gpu.spec)
    evidence = Evidence("nvidia-gpu", raw, gpu.device.chain_pem())
    with pytest.raises(VerificationError, match="does not verify"):
        gpu.verifier().verify(evidence, now=NOW, policy=POLICY)


def test_fwid_differing_from_the_certificate_is_refused(gpu: SyntheticGpu) -> None:
    device = dataclasses.replace(gpu.device, fwid=b"\x77" * 48)  # same cert, other report FWID
    evidence = Evidence("nvidia-gpu", build_report(device, gpu.spec), gpu.device.chain_pem())
    with pytest.raises(VerificationError, match="FWID differs"):
        gpu.verifier().verify(evidence, now=NOW, policy=POLICY)


def test_report_without_signature_request_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(VerificationError, match="ask for a signature"):
        verify(gpu, dataclasses.replace(gpu.spec, param1=0))


def test_report_of_a_subset_of_measurements_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(VerificationError, match="all measurements"):
        verify(gpu, dataclasses.replace(gpu.spec, param2=1))


def test_device_chain_of_the_wrong_length_is_refused(gpu: SyntheticGpu) -> None:
    short = b"".join(pem(c) for c in gpu.device.chain[:-1])  # without the root: 4 certificates
    evidence = Evidence("nvidia-gpu", build_report(gpu.device, gpu.spec), short)
    with pytest.raises(VerificationError, match="unexpected length"):
        gpu.verifier().verify(evidence, now=NOW, policy=POLICY)


def test_expired_device_certificate_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(VerificationError, match="not valid at the verification time"):
        gpu.verifier().verify(gpu.evidence(), now=NOW + 86400 * 400, policy=POLICY)


def test_rim_for_another_driver_version_is_refused(gpu: SyntheticGpu) -> None:
    with pytest.raises(VerificationError, match="driver version"):
        verify(gpu, dataclasses.replace(gpu.spec, driver="535.104.05"))


def test_rim_signed_under_an_unpinned_root_is_refused(gpu: SyntheticGpu) -> None:
    stranger = synthetic_rim_ca()
    _, vbios = gpu.rims
    resigned = sign_rim(stranger, rim_xml("550.90.07", {0: (gpu.spec.values[0],)}))
    with pytest.raises(VerificationError, match="no valid signed RIM"):
        verify(gpu, rims=(resigned, vbios))


def test_driver_and_vbios_rims_measuring_the_same_index_are_refused(gpu: SyntheticGpu) -> None:
    values = gpu.spec.values
    driver = sign_rim(gpu.rim_ca, rim_xml("550.90.07", {i: (values[i],) for i in range(7)}))
    vbios = sign_rim(gpu.rim_ca, rim_xml("96.00.9f.00.01", {i: (values[i],) for i in range(6, 12)}))
    with pytest.raises(VerificationError, match="same index"):
        verify(gpu, rims=(driver, vbios))


def test_driver_version_not_allowed_by_policy_is_refused(gpu: SyntheticGpu) -> None:
    policy = GpuPolicy(allowed_vbios_versions=frozenset({"96.00.5e.00.01"}))
    with pytest.raises(PolicyError, match="VBIOS version"):
        gpu.verifier().verify(gpu.evidence(), now=NOW, policy=policy)


def test_evidence_of_another_type_is_a_usage_error(gpu: SyntheticGpu) -> None:
    with pytest.raises(UsageError):
        gpu.verifier().verify(Evidence("sev-snp", b"x", b""), now=NOW, policy=POLICY)


def test_garbage_certificates_are_refused_with_our_error(gpu: SyntheticGpu) -> None:
    evidence = Evidence("nvidia-gpu", build_report(gpu.device, gpu.spec), b"not a chain")
    with pytest.raises(DecodeError):
        gpu.verifier().verify(evidence, now=NOW, policy=POLICY)


def test_too_many_rims_is_a_usage_error(gpu: SyntheticGpu) -> None:
    with pytest.raises(UsageError):
        NvidiaGpuVerifier((gpu.device.root,), (gpu.rim_ca.root,), rim_documents=(b"x",) * 65)


@pytest.mark.parametrize("chunk", range(4))
def test_each_byte_flip_in_the_synthetic_report_is_refused(gpu: SyntheticGpu, chunk: int) -> None:
    raw = build_report(gpu.device, gpu.spec)
    chain = gpu.device.chain_pem()
    verifier = gpu.verifier()
    verifier.verify(Evidence("nvidia-gpu", raw, chain), now=NOW, policy=POLICY)
    for pos in range(chunk, len(raw), 4):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01
        with pytest.raises(PeerError):
            verifier.verify(Evidence("nvidia-gpu", bytes(flipped), chain), now=NOW, policy=POLICY)


def test_vbios_rim_of_another_board_with_the_same_version_does_not_refuse_an_honest_gpu(
    gpu: SyntheticGpu,
) -> None:
    driver, vbios = gpu.rims
    other_board = sign_rim(
        gpu.rim_ca, rim_xml("96.00.9f.00.01", {i: (b"\x42" * 48,) for i in range(6, 12)})
    )
    result = verify(gpu, rims=(driver, other_board, vbios))
    assert result.checks[-1].detail == "12 golden measurements match"
    with pytest.raises(VerificationError, match="measurement not in the signed RIM"):
        verify(gpu, rims=(driver, other_board))
