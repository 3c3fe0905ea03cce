"""Real NVIDIA H100 evidence (../shared/vectors/attestation/nvidia/, PROVENANCE.md "Added
2026-12-02"): NVIDIA/nvtrust's sample SPDM report and device chain, its sample driver and VBIOS
RIMs, NVIDIA's device identity and RIM roots (pinned in privcloud/attest/roots/nvidia), and the
PPCIE verifier's 8-GPU gpu_evidence.json. Verified at a fixed time inside their validity.

The sample report's nonce was chosen by NVIDIA's test, not by our node: it is checked against
the report's own request (and, for gpu_evidence.json, the nonce NVIDIA recorded beside it); our
binding is tested on synthetic evidence (tests/unit/test_nvidia_*.py). The sample RIMs are for
other driver/VBIOS versions than the sample report, so the real report verifies end to end only
against RIMs holding its own measurements, signed by a test RIM root.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime

import pytest

from nvidia_kit import (
    REAL_NOW,
    real_chain,
    real_gpu_evidence,
    real_report,
    real_report_verifier,
    real_rims,
)
from privcloud.attest import Evidence, NodeClaims
from privcloud.attest.nvidia import (
    GpuPolicy,
    NvidiaGpuVerifier,
    check_gpu_binding,
    gpu_id,
    pinned_nvidia_roots,
)
from privcloud.attest.nvidia.rim import verify_rim
from privcloud.attest.nvidia.spdm import parse_report
from privcloud.crypto.der import der_header
from privcloud.crypto.x509 import load_certificates
from privcloud.errors import PeerError, PolicyError, VerificationError

POLICY = GpuPolicy()
AFTER_RIM_EXPIRY = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()


def pinned_verifier(rims: tuple[bytes, ...] = ()) -> NvidiaGpuVerifier:
    device, rim = pinned_nvidia_roots()
    return NvidiaGpuVerifier((device,), (rim,), rim_documents=rims)


def real_evidence() -> Evidence:
    return Evidence("nvidia-gpu", real_report(), real_chain())


def test_real_report_parses() -> None:
    report = parse_report(real_report())
    assert report.request.nonce.hex() == (
        "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"
    )
    assert len(report.response.blocks) == 64
    assert all(len(b.value) == 48 for b in report.response.blocks)
    assert report.driver_version == "550.90.07"
    assert report.vbios_version == "96.00.9f.00.01"
    assert report.feature_flag is None  # opaque data version 0 (Hopper)
    assert report.nvdec0_disabled
    assert len(report.fwid) == 48


def test_real_report_verifies_up_to_the_pinned_nvidia_root() -> None:
    report, path, checks = pinned_verifier().verify_report(
        real_evidence(), now=REAL_NOW, policy=POLICY
    )
    assert [c.subject_common_name for c in path] == [
        "GH100 A01 GSP FMC LF",
        "GH100 A01 GSP BROM",
        "NVIDIA GH100 Provisioner ICA 1",
        "NVIDIA GH100 Identity",
        "NVIDIA Device Identity CA",
    ]
    assert [c.name for c in checks] == [
        "gpu-device-chain",
        "gpu-fwid",
        "gpu-report-signature",
        "gpu-cc-mode",
    ]
    # The nonce policy for NVIDIA's sample: the one in the report's own request.
    assert report.request.nonce == real_report()[4:36]


def test_real_report_verifies_end_to_end_against_rims_of_its_own_measurements() -> None:
    verifier, _ = real_report_verifier()
    result = verifier.verify(real_evidence(), now=REAL_NOW, policy=POLICY)
    assert result.product == "GH100 A01 GSP BROM"
    assert result.mode == "CC (by measurements)"
    assert result.checks[-1].detail == "63 golden measurements match"  # index 35: NVDEC0 off
    assert result.gpu_id == gpu_id(real_chain())


def test_real_report_nonce_does_not_bind_our_node_claims() -> None:
    verifier, _ = real_report_verifier()
    result = verifier.verify(real_evidence(), now=REAL_NOW, policy=POLICY)
    claims = NodeClaims(b"k" * 32, 1, "eu", "local", (32, 1, 1), gpus=(result.gpu_id,))
    with pytest.raises(VerificationError, match="nonce does not bind"):
        check_gpu_binding(result, claims)


def test_real_rims_verify_up_to_the_pinned_nvidia_rim_root() -> None:
    _, root = pinned_nvidia_roots()
    driver_raw, vbios_raw = real_rims()
    driver = verify_rim(driver_raw, [root], now=REAL_NOW)
    vbios = verify_rim(vbios_raw, [root], now=REAL_NOW)
    assert (driver.version, vbios.version) == ("545.00", "96.00.5e.00.01")
    assert driver.signer_chain[-1] == "CN=NVIDIA CoRIM signing Root CA,O=NVIDIA,C=US"
    assert len(driver.active()) == 21 and len(vbios.active()) == 12
    assert driver.manufacturer_id == "5703"


def test_real_rims_for_other_versions_do_not_admit_the_sample_report() -> None:
    verifier = pinned_verifier(real_rims())
    with pytest.raises(VerificationError, match="no valid signed RIM for the GPU's driver"):
        verifier.verify(real_evidence(), now=REAL_NOW, policy=POLICY)


def test_real_rim_signed_by_an_expired_signer_is_refused() -> None:
    _, root = pinned_nvidia_roots()
    with pytest.raises(VerificationError, match="not valid at the verification time"):
        verify_rim(real_rims()[0], [root], now=AFTER_RIM_EXPIRY)


def test_real_rim_under_an_unpinned_root_is_refused() -> None:
    device, _ = pinned_nvidia_roots()  # the device root did not sign RIM chains
    with pytest.raises(VerificationError, match="pinned root"):
        verify_rim(real_rims()[0], [device], now=REAL_NOW)


def test_real_device_chain_to_an_unpinned_root_is_refused() -> None:
    _, rim_root = pinned_nvidia_roots()
    verifier = NvidiaGpuVerifier((rim_root,), (rim_root,))
    with pytest.raises(VerificationError, match="pinned root"):
        verifier.verify_report(real_evidence(), now=REAL_NOW, policy=POLICY)


def test_real_ppcie_gpus_verify_and_carry_nvidias_nonce() -> None:
    verifier = pinned_verifier()
    ppcie = dataclasses.replace(POLICY, allowed_modes=frozenset({"PPCIE"}))
    for entry in real_gpu_evidence():
        evidence = Evidence("nvidia-gpu", entry["evidence"], entry["certificate"])
        report, _, checks = verifier.verify_report(evidence, now=REAL_NOW, policy=ppcie)
        assert report.request.nonce.hex() == entry["nonce"]
        assert checks[-1].detail == "PPCIE"


def test_real_gpu_in_ppcie_mode_is_not_in_cc_mode_and_is_refused() -> None:
    entry = real_gpu_evidence()[0]
    evidence = Evidence("nvidia-gpu", entry["evidence"], entry["certificate"])
    with pytest.raises(PolicyError, match="not in confidential-computing mode"):
        pinned_verifier().verify_report(evidence, now=REAL_NOW, policy=POLICY)


# --- byte flips in every signed region -------------------------------------------------------


@pytest.mark.parametrize("chunk", range(8))
def test_each_byte_flip_in_the_real_report_is_refused(chunk: int) -> None:
    """Every byte of the request, the response and the signature."""
    raw, chain = real_report(), real_chain()
    verifier = pinned_verifier()
    for pos in range(chunk, len(raw), 8):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01
        evidence = Evidence("nvidia-gpu", bytes(flipped), chain)
        with pytest.raises(PeerError):
            verifier.verify_report(evidence, now=REAL_NOW, policy=POLICY)


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def _signature_unused_bits_position(der: bytes) -> int:
    """Offset of the unused-bits byte of the outer signature BIT STRING (outside the signed
    TBSCertificate: ``cryptography`` ignores it, so flipping it changes no signed byte)."""
    _, start, _ = der_header(der, 0)
    _, _, tbs_end = der_header(der, start)
    _, _, alg_end = der_header(der, tbs_end)
    _, bits_start, _ = der_header(der, alg_end)
    return bits_start


@pytest.mark.parametrize("index", range(4))
def test_byte_flips_in_the_real_device_certificates_are_refused(index: int) -> None:
    """Each certificate of the chain below the pinned root: every byte of the leaf, every 9th
    byte of the others, but the signature BIT STRING's unused-bits byte (not signed)."""
    certs = [c.der for c in load_certificates(real_chain())]
    verifier = pinned_verifier()
    step = 1 if index == 0 else 9
    unsigned = _signature_unused_bits_position(certs[index])
    for pos in range(0, len(certs[index]), step):
        if pos == unsigned:
            continue
        flipped = bytearray(certs[index])
        flipped[pos] ^= 0x01
        chain = b"".join(_pem(bytes(flipped) if i == index else c) for i, c in enumerate(certs))
        with pytest.raises(PeerError):
            verifier.verify_report(
                Evidence("nvidia-gpu", real_report(), chain), now=REAL_NOW, policy=POLICY
            )


@pytest.mark.parametrize("which", [0, 1])
def test_byte_flips_in_the_real_rims_are_refused(which: int) -> None:
    """Every byte of ds:SignedInfo and ds:SignatureValue, every 47th byte elsewhere."""
    _, root = pinned_nvidia_roots()
    raw = real_rims()[which]
    start = raw.index(b"<ds:SignedInfo>")
    end = raw.index(b"<ds:KeyInfo>")
    positions = sorted({*range(0, len(raw), 47), *range(start, end)})
    for pos in positions:
        flipped = bytearray(raw)
        flipped[pos] ^= 0x01
        with pytest.raises(PeerError):
            verify_rim(bytes(flipped), [root], now=REAL_NOW)
