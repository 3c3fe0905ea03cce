"""Synthetic vendor PKIs and evidence for the attestation tests.

Real evidence proves the verifiers agree with AMD's and Intel's hardware; synthetic evidence, signed
by test roots made here, reaches the policy paths (debug on, other measurements, other TCBs)
that the real samples cannot, since we do not hold the vendors' keys.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from functools import cache

from privcloud.attest import TrustRoots, sevsnp, tdx
from privcloud.crypto.x509 import Certificate, Curve, EcPrivateKey, RsaPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from vectors import shared_vector

#: 2023-06-20T00:00:00Z: inside the validity of the real VCEK, PCK chain and Intel CRLs.
T0 = 1687219200.0
#: 2030-01-01T00:00:00Z: after the VCEK's and the PCK's notAfter (2029-09).
T_EXPIRED = 1893456000.0
_YEAR = 365 * 86400.0


def real_snp_report() -> bytes:
    return shared_vector("attestation", "sev-snp", "attestation.bin").read_bytes()


def real_vcek() -> bytes:
    return shared_vector("attestation", "sev-snp", "vcek.der").read_bytes()


def real_tdx_quote_file() -> bytes:
    return shared_vector("attestation", "tdx", "tdx_prod_quote_SPR_E4.dat").read_bytes()


#: go-tdx-guest appended this to its sample, after the quote; we refuse unsigned trailing data.
TDX_SAMPLE_SUFFIX = b"\nextra bytes(only for testing purpose)\n"


def real_tdx_quote() -> bytes:
    """The real quote without go-tdx-guest's test suffix (see TDX_SAMPLE_SUFFIX)."""
    data = real_tdx_quote_file()
    assert data.endswith(TDX_SAMPLE_SUFFIX)
    return data[: -len(TDX_SAMPLE_SUFFIX)]


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + der_len(len(value)) + value


def der_int(v: int) -> bytes:
    return der_tlv(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big", signed=True))


def der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return der_tlv(0x06, bytes(out))


def der_seq(*items: bytes) -> bytes:
    return der_tlv(0x30, b"".join(items))


# --- AMD -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticAmd:
    roots: TrustRoots
    ark_key: RsaPrivateKey
    ask_key: RsaPrivateKey
    ark: Certificate
    ask: Certificate


def amd_name(cn: str) -> tuple[tuple[str, str], ...]:
    """AMD's distinguished names, attribute for attribute."""
    return (
        ("OU", "Engineering"),
        ("C", "US"),
        ("L", "Santa Clara"),
        ("ST", "CA"),
        ("O", "Advanced Micro Devices"),
        ("CN", cn),
    )


@cache
def synthetic_amd(product: str = "Milan") -> SyntheticAmd:
    """A test ARK and ASK with exactly AMD's names: name lookups alone cannot tell them apart."""
    ark_key, ask_key = RsaPrivateKey.generate(2048), RsaPrivateKey.generate(2048)
    start, end = T0 - _YEAR, T0 + 20 * _YEAR
    ark = build_certificate(
        CertificateRequest(
            f"ARK-{product}", start, end, serial=65536, ca=True, name=amd_name(f"ARK-{product}")
        ),
        ark_key,
        issuer=None,
        issuer_key=ark_key,
    )
    ask = build_certificate(
        CertificateRequest(
            f"SEV-{product}",
            start,
            end,
            serial=65537,
            ca=True,
            path_length=0,
            name=amd_name(f"SEV-{product}"),
        ),
        ask_key,
        issuer=ark,
        issuer_key=ark_key,
    )
    roots = TrustRoots(amd=(sevsnp.AmdRootChain(product, ark=ark, ask=ask),))
    return SyntheticAmd(roots, ark_key, ask_key, ark, ask)


def make_vcek(
    amd: SyntheticAmd,
    chip_id: bytes,
    tcb: tuple[int, int, int, int] = (2, 0, 5, 68),
    *,
    not_after: float = T0 + 7 * _YEAR,
    serial: int = 1,
    rsa_pss: bool = True,
) -> tuple[EcPrivateKey, bytes]:
    """A VCEK for ``chip_id`` at TCB (bootloader, tee, snp, microcode), signed by the test ASK."""
    key = EcPrivateKey.generate(Curve.P384)
    bl, tee, snp, ucode = tcb
    exts = {
        sevsnp.OID_BL_SPL: der_int(bl),
        sevsnp.OID_TEE_SPL: der_int(tee),
        sevsnp.OID_SNP_SPL: der_int(snp),
        sevsnp.OID_UCODE_SPL: der_int(ucode),
        sevsnp.OID_HWID: chip_id,
    }
    cert = build_certificate(
        CertificateRequest(
            "SEV-VCEK",
            T0 - _YEAR,
            not_after,
            serial=serial,
            extensions=exts,
            name=amd_name("SEV-VCEK"),
        ),
        key,
        issuer=amd.ask,
        issuer_key=amd.ask_key,
        rsa_pss=rsa_pss,
    )
    return key, cert.der


def set_snp_field(report: bytes, offset: int, value: bytes) -> bytes:
    return report[:offset] + value + report[offset + len(value) :]


def sign_snp_report(report: bytes, key: EcPrivateKey) -> bytes:
    """Sign bytes 0..0x2A0 and store r and s little-endian in 72-byte fields."""
    sig = key.sign(report[: sevsnp.SIGNED_SIZE])
    r, s = sig[:48], sig[48:]
    field = r[::-1] + bytes(24) + s[::-1] + bytes(24)
    return set_snp_field(report, sevsnp.SIGNED_SIZE, field)


def synthetic_snp_report(
    key: EcPrivateKey,
    *,
    chip_id: bytes,
    report_data: bytes = bytes(64),
    measurement: bytes = bytes(range(48)),
    debug: bool = False,
    tcb: tuple[int, int, int, int] = (2, 0, 5, 68),
    vmpl: int = 0,
    migration_agent: bool = False,
) -> bytes:
    """A version-2 report (ABI spec layout) with our own fields, signed by ``key``.

    Built from zeros, so the policy tests run without the shared vectors folder.
    """
    report = bytes(sevsnp.REPORT_SIZE)
    policy = 0x30000 | (sevsnp.POLICY_DEBUG_BIT if debug else 0)
    policy |= sevsnp.POLICY_MIGRATE_MA_BIT if migration_agent else 0
    bl, tee, snp, ucode = tcb
    tcb_raw = bytes([bl, tee, 0, 0, 0, 0, snp, ucode])
    report = set_snp_field(report, 0x00, struct.pack("<IIQ", 2, 0, policy))
    report = set_snp_field(report, 0x30, struct.pack("<II", vmpl, 1))  # VMPL, ECDSA P-384
    for offset in (0x38, 0x1E0, 0x1F0):  # current, committed and launch TCB
        report = set_snp_field(report, offset, tcb_raw)
    report = set_snp_field(report, 0x50, report_data)
    report = set_snp_field(report, 0x90, measurement)
    report = set_snp_field(report, 0x180, tcb_raw)
    report = set_snp_field(report, 0x1A0, chip_id)
    return sign_snp_report(report, key)


# --- Intel -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticIntel:
    roots: TrustRoots
    root: Certificate
    root_key: EcPrivateKey
    ca: Certificate
    ca_key: EcPrivateKey
    pck: Certificate
    pck_key: EcPrivateKey


def sgx_extension(pcesvn: int = 11, comps: tuple[int, ...] = (3,) * 16) -> bytes:
    base = tdx.OID_SGX_EXTENSIONS
    tcb = [der_seq(der_oid(f"{base}.2.{i + 1}"), der_int(c)) for i, c in enumerate(comps)]
    tcb.append(der_seq(der_oid(f"{base}.2.17"), der_int(pcesvn)))
    tcb.append(der_seq(der_oid(f"{base}.2.18"), der_tlv(0x04, bytes(comps))))
    return der_seq(
        der_seq(der_oid(f"{base}.1"), der_tlv(0x04, b"P" * 16)),
        der_seq(der_oid(f"{base}.2"), der_seq(*tcb)),
        der_seq(der_oid(f"{base}.3"), der_tlv(0x04, b"\x00\x00")),
        der_seq(der_oid(f"{base}.4"), der_tlv(0x04, bytes.fromhex("50806f000000"))),
        der_seq(der_oid(f"{base}.5"), der_tlv(0x0A, b"\x01")),
    )


def intel_name(cn: str) -> tuple[tuple[str, str], ...]:
    """Intel's distinguished names, attribute for attribute."""
    return (("C", "US"), ("ST", "CA"), ("L", "Santa Clara"), ("O", "Intel Corporation"), ("CN", cn))


@cache
def synthetic_intel() -> SyntheticIntel:
    """A test root, a CA and a PCK certificate with exactly Intel's names."""
    root_key, ca_key, pck_key = (EcPrivateKey.generate(Curve.P256) for _ in range(3))
    start, end = T0 - _YEAR, T0 + 5 * _YEAR
    root = build_certificate(
        CertificateRequest(
            "Intel SGX Root CA", start, end, serial=1, ca=True, name=intel_name("Intel SGX Root CA")
        ),
        root_key,
        issuer=None,
        issuer_key=root_key,
    )
    ca = build_certificate(
        CertificateRequest(
            "Intel SGX PCK Platform CA",
            start,
            end,
            serial=2,
            ca=True,
            name=intel_name("Intel SGX PCK Platform CA"),
        ),
        ca_key,
        issuer=root,
        issuer_key=root_key,
    )
    pck = build_certificate(
        CertificateRequest(
            "Intel SGX PCK Certificate",
            start,
            end,
            serial=3,
            extensions={tdx.OID_SGX_EXTENSIONS: sgx_extension()},
            name=intel_name("Intel SGX PCK Certificate"),
        ),
        pck_key,
        issuer=ca,
        issuer_key=ca_key,
    )
    return SyntheticIntel(TrustRoots(intel=(root,)), root, root_key, ca, ca_key, pck, pck_key)


def pem(cert: Certificate) -> bytes:
    b64 = base64.encodebytes(cert.der).replace(b"\n", b"")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def build_tdx_quote(
    intel: SyntheticIntel,
    *,
    report_data: bytes = bytes(64),
    mrtd: bytes = b"\x11" * 48,
    td_attributes: int = 0x10000000,
    rtmr0: bytes = b"\x22" * 48,
    rtmr1: bytes = bytes(48),
    rtmr2: bytes = bytes(48),
    rtmr3: bytes = bytes(48),
    qe_mrsigner: bytes = tdx.INTEL_TD_QE_MRSIGNER,
    qe_binds_key: bool = True,
    qe_auth_data: bytes = bytes(range(32)),
) -> bytes:
    """A TDX quote v4 with our own fields, signed through the synthetic PCK chain."""
    att_key = EcPrivateKey.generate(Curve.P256)
    att_pub = att_key.public_key().to_bytes()[1:]
    header = struct.pack("<HHIHH16s20s", 4, 2, 0x81, 0, 0, tdx.INTEL_QE_VENDOR_ID, bytes(20))
    fields = {
        "tee_tcb_svn": bytes([3, 0, 4]) + bytes(13),
        "td_attributes": td_attributes.to_bytes(8, "little"),
        "mrtd": mrtd,
        "rtmr0": rtmr0,
        "rtmr1": rtmr1,
        "rtmr2": rtmr2,
        "rtmr3": rtmr3,
        "report_data": report_data,
    }
    body = b"".join(fields.get(name, bytes(size)) for name, size in tdx._BODY_FIELDS)
    assert len(body) == tdx.BODY_SIZE
    binding = hashlib.sha256(att_pub + qe_auth_data).digest()
    if not qe_binds_key:
        binding = hashlib.sha256(b"another key").digest()
    qe = bytearray(384)
    qe[128:160] = qe_mrsigner
    qe[256:260] = struct.pack("<HH", tdx.INTEL_TD_QE_PRODID, 4)
    qe[320:352] = binding
    qe_sig = intel.pck_key.sign(bytes(qe))
    chain = pem(intel.pck) + pem(intel.ca) + pem(intel.root)
    inner = (
        bytes(qe)
        + qe_sig
        + struct.pack("<H", len(qe_auth_data))
        + qe_auth_data
        + struct.pack("<HI", 5, len(chain))
        + chain
    )
    sig_data = att_key.sign(header + body) + att_pub + struct.pack("<HI", 6, len(inner)) + inner
    return header + body + struct.pack("<I", len(sig_data)) + sig_data
