"""NVIDIA GPU evidence for tests: the real H100 vectors, and *synthetic* evidence signed by test
CAs that only tests pin (a device chain of five with a FWID, SPDM reports, signed RIMs).

Real vectors: ``../shared/vectors/attestation/nvidia/`` (PROVENANCE.md, "Added 2026-12-02"):
NVIDIA/nvtrust local GPU verifier samples (report, chain, RIMs, roots) and the PPCIE verifier's
``gpu_evidence.json``.
"""

from __future__ import annotations

import base64
import datetime
import json
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization

from privcloud.attest.base import Evidence
from privcloud.attest.nvidia import NvidiaGpuVerifier, pinned_nvidia_roots
from privcloud.attest.nvidia.spdm import (
    OPAQUE_DRIVER_VERSION,
    OPAQUE_FEATURE_FLAG,
    OPAQUE_FWID,
    OPAQUE_NVDEC0_STATUS,
    OPAQUE_VBIOS_VERSION,
    parse_report,
)
from privcloud.crypto.x509 import Certificate, Curve, EcPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.crypto.xmldsig_sign import sign_enveloped
from vectors import shared_vector

#: A time inside the validity of every real NVIDIA certificate used (RIM signers: 2023-06-27 to
#: 2025-06-26; device chain: 2022-03-01 to 9999).
REAL_NOW = datetime.datetime(2024, 6, 1, tzinfo=datetime.UTC).timestamp()
NOW = 1_750_000_000
KEY_USAGE_SIGN = bytes.fromhex("03020780")  # BIT STRING: digitalSignature
OID_KEY_USAGE = "2.5.29.15"
OID_FWID = "2.23.133.5.4.1"
SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
SHA384 = "http://www.w3.org/2001/04/xmlenc#sha384"


def real_path(name: str) -> bytes:
    return shared_vector("attestation", "nvidia", name).read_bytes()


def real_report() -> bytes:
    return bytes.fromhex(real_path("hopperAttestationReport.txt").decode().strip())


def real_chain() -> bytes:
    return real_path("hopperCertChain.txt")


def real_rims() -> tuple[bytes, bytes]:
    """(driver RIM 545.00, VBIOS RIM 96.00.5e.00.01): NVIDIA-signed, for other versions than
    the sample report's (550.90.07, 96.00.9f.00.01)."""
    return (
        real_path("Driver_RIM_test_no_gpu.swidtag"),
        real_path("1010_0200_882_96005E0001_PROD.swidtag"),
    )


def real_gpu_evidence() -> list[dict[str, str]]:
    """The 8 GPUs of gpu_evidence.json: ``evidence`` and ``certificate`` decoded to bytes."""
    entries = json.loads(real_path("gpu_evidence.json"))
    return [
        {
            "nonce": e["nonce"],
            "evidence": base64.b64decode(e["evidence"]),
            "certificate": base64.b64decode(e["certificate"]),
        }
        for e in entries
    ]


def pem(cert: Certificate) -> bytes:
    return cert._cert.public_bytes(serialization.Encoding.PEM)


def _ca(
    cn: str,
    key: EcPrivateKey,
    issuer: Certificate | None,
    issuer_key: EcPrivateKey,
    path_length: int | None = None,
) -> Certificate:
    request = CertificateRequest(
        common_name=cn,
        not_before=NOW - 86400 * 365 * 5,
        not_after=NOW + 86400 * 365 * 5,
        ca=True,
        path_length=path_length,
        organization="privcloud synthetic NVIDIA",
    )
    return build_certificate(request, key, issuer=issuer, issuer_key=issuer_key)


@dataclass
class SyntheticDevice:
    """A synthetic device chain (root, 3 intermediates, leaf with FWID) and its leaf key."""

    root: Certificate
    chain: list[Certificate]
    leaf_key: EcPrivateKey
    fwid: bytes

    def chain_pem(self) -> bytes:
        return b"".join(pem(c) for c in self.chain)


def synthetic_device(fwid: bytes = b"\x5a" * 48) -> SyntheticDevice:
    root_key = EcPrivateKey.generate(Curve.P384)
    root = _ca("synthetic NVIDIA Device Identity CA", root_key, None, root_key)
    issuer, issuer_key = root, root_key
    chain: list[Certificate] = []
    for cn in ("synthetic GH100 Identity", "synthetic Provisioner ICA", "synthetic GSP BROM"):
        key = EcPrivateKey.generate(Curve.P384)
        cert = _ca(cn, key, issuer, issuer_key)
        chain.insert(0, cert)
        issuer, issuer_key = cert, key
    leaf_key = EcPrivateKey.generate(Curve.P384)
    fwid_ext = bytes([0x30, 2 + 48, 0x04, 48]) + fwid
    leaf = build_certificate(
        CertificateRequest(
            common_name="synthetic GSP FMC LF",
            not_before=NOW - 86400 * 365 * 2,
            not_after=NOW + 86400 * 365,
            extensions={OID_KEY_USAGE: KEY_USAGE_SIGN, OID_FWID: fwid_ext},
        ),
        leaf_key,
        issuer=issuer,
        issuer_key=issuer_key,
    )
    return SyntheticDevice(root=root, chain=[leaf, *chain, root], leaf_key=leaf_key, fwid=fwid)


def measurements(n: int = 12) -> dict[int, bytes]:
    """0-based index -> 48-byte value."""
    return {i: bytes([i + 1]) * 48 for i in range(n)}


def opaque(fields: dict[int, bytes]) -> bytes:
    return b"".join(struct.pack("<HH", t, len(v)) + v for t, v in fields.items())


def vbios_bytes(version: str) -> bytes:
    """Inverse of SpdmReport.vbios_version: 'aa.bb.cc.dd.ee' -> 8 bytes."""
    a, b, c, d, e = (int(x, 16) for x in version.split("."))
    return bytes([d, c, b, a, e, 0, 0, 0])


@dataclass
class ReportSpec:
    nonce: bytes = b"\x00" * 32
    values: dict[int, bytes] = field(default_factory=measurements)
    driver: str = "550.90.07"
    vbios: str = "96.00.9f.00.01"
    feature_flag: int | None = 0  # SPT
    param1: int = 1
    param2: int = 0xFF


def build_report(device: SyntheticDevice, spec: ReportSpec) -> bytes:
    request = bytes([0x11, 0xE0, spec.param1, spec.param2]) + spec.nonce + b"\x00"
    record = b""
    for index, value in sorted(spec.values.items()):
        dmtf = bytes([1]) + struct.pack("<H", len(value)) + value
        record += bytes([index + 1, 1]) + struct.pack("<H", len(dmtf)) + dmtf
    fields = {
        OPAQUE_DRIVER_VERSION: spec.driver.encode() + b"\x00",
        OPAQUE_VBIOS_VERSION: vbios_bytes(spec.vbios),
        OPAQUE_NVDEC0_STATUS: b"\xaa",
        OPAQUE_FWID: device.fwid,
    }
    if spec.feature_flag is not None:
        fields[OPAQUE_FEATURE_FLAG] = struct.pack("<I", spec.feature_flag)
    op = opaque(fields)
    response = (
        bytes([0x11, 0x60, 0, 0, len(spec.values)])
        + len(record).to_bytes(3, "little")
        + record
        + b"\x11" * 32
        + struct.pack("<H", len(op))
        + op
    )
    body = request + response
    return body + device.leaf_key.sign(body)


@dataclass
class SyntheticRimCa:
    root: Certificate
    chain: list[Certificate]
    leaf_key: EcPrivateKey


def synthetic_rim_ca() -> SyntheticRimCa:
    root_key = EcPrivateKey.generate(Curve.P384)
    root = _ca("synthetic NVIDIA RIM Root", root_key, None, root_key)
    ca_key = EcPrivateKey.generate(Curve.P384)
    ca = _ca("synthetic Reference Value CA", ca_key, root, root_key, path_length=0)
    leaf_key = EcPrivateKey.generate(Curve.P384)
    leaf = build_certificate(
        CertificateRequest(
            common_name="synthetic RIM Signer",
            not_before=NOW - 86400 * 365 * 2,
            not_after=NOW + 86400 * 365,
            extensions={OID_KEY_USAGE: KEY_USAGE_SIGN},
        ),
        leaf_key,
        issuer=ca,
        issuer_key=ca_key,
    )
    return SyntheticRimCa(root=root, chain=[leaf, ca, root], leaf_key=leaf_key)


def rim_xml(
    version: str, golden: dict[int, tuple[bytes, ...]], inactive: tuple[int, ...] = ()
) -> bytes:
    resources = []
    for index in sorted({*golden, *inactive}):
        values = golden.get(index, (b"\x00" * 48,))
        hashes = " ".join(f'ns2:Hash{i}="{v.hex()}"' for i, v in enumerate(values))
        active = "True" if index in golden else "False"
        resources.append(
            f'<ns0:Resource type="Measurement" index="{index}" active="{active}" '
            f'alternatives="{len(values)}" {hashes} name="Measurement_{index}" size="48"/>'
        )
    return (
        f'<SoftwareIdentity xmlns="{SWID}" xmlns:ns0="{SWID}" xmlns:ns2="{SHA384}" '
        f'name="GH100" tagId="synthetic-{version}" version="1.0">'
        f'<ns0:Meta colloquialVersion="{version}" product="GH100"/>'
        f"<ns0:Payload>{''.join(resources)}</ns0:Payload></SoftwareIdentity>"
    ).encode()


def sign_rim(ca: SyntheticRimCa, xml: bytes) -> bytes:
    return sign_enveloped(xml, ca.leaf_key, ca.chain)


def split_golden(
    values: dict[int, bytes], driver_share: int = 6
) -> tuple[dict[int, tuple[bytes, ...]], dict[int, tuple[bytes, ...]]]:
    """Driver RIM: the first ``driver_share`` indices (with a second, unused alternative);
    VBIOS RIM: the rest."""
    items = sorted(values.items())
    driver = {i: (b"\xee" * 48, v) for i, v in items[:driver_share]}
    vbios = {i: (v,) for i, v in items[driver_share:]}
    return driver, vbios


@dataclass
class SyntheticGpu:
    """Everything for one synthetic GPU: device, RIM CA, signed RIMs, a verifier pinning them."""

    device: SyntheticDevice
    rim_ca: SyntheticRimCa
    rims: tuple[bytes, bytes]
    spec: ReportSpec

    def verifier(self, rims: tuple[bytes, ...] | None = None) -> NvidiaGpuVerifier:
        return NvidiaGpuVerifier(
            (self.device.root,),
            (self.rim_ca.root,),
            rim_documents=self.rims if rims is None else rims,
        )

    def evidence(self, spec: ReportSpec | None = None) -> Evidence:
        return Evidence(
            "nvidia-gpu", build_report(self.device, spec or self.spec), self.device.chain_pem()
        )


def synthetic_gpu(spec: ReportSpec | None = None) -> SyntheticGpu:
    spec = spec or ReportSpec()
    device = synthetic_device()
    ca = synthetic_rim_ca()
    driver, vbios = split_golden(spec.values)
    rims = (sign_rim(ca, rim_xml(spec.driver, driver)), sign_rim(ca, rim_xml(spec.vbios, vbios)))
    return SyntheticGpu(device=device, rim_ca=ca, rims=rims, spec=spec)


def real_report_verifier() -> tuple[NvidiaGpuVerifier, SyntheticRimCa]:
    """The pinned NVIDIA device root and synthetic RIMs (test RIM root) holding exactly the real
    report's measurements and versions: the real report can then verify end to end."""
    report = parse_report(real_report())
    ca = synthetic_rim_ca()
    values = report.response.measurements()
    driver, vbios = split_golden(values, driver_share=len(values) // 2)
    rims = (
        sign_rim(ca, rim_xml(report.driver_version, driver)),
        sign_rim(ca, rim_xml(report.vbios_version, vbios)),
    )
    device_root, _ = pinned_nvidia_roots()
    return NvidiaGpuVerifier((device_root,), (ca.root,), rim_documents=rims), ca
