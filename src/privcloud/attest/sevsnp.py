"""AMD SEV-SNP attestation reports, verified up to AMD's pinned roots.

References: AMD *SEV Secure Nested Paging Firmware ABI Specification* (pub. 56860), Table 23
"ATTESTATION_REPORT Structure" and §2.2 "TCB_VERSION"; AMD *Versioned Chip Endorsement Key
(VCEK) Certificate and KDS Interface Specification* (pub. 57230), Table 8 "VCEK extensions";
the GHCB specification (pub. 56421) §4.1.8.1 for the extended-report certificate table.

Verification procedure (:meth:`SevSnpVerifier.verify`):

1. Parse the report: exactly 0x4A0 bytes, version 2 to 5, SIGNATURE_ALGO 1 (ECDSA P-384 with
   SHA-384), signed by a VCEK (SIGNING_KEY 0), chip id not masked.
2. Take the VCEK from ``Evidence.certificates`` (DER, PEM — first certificate — or the GHCB
   certificate table that configfs-tsm's ``auxblob`` holds). Any ASK/ARK the node sends is
   ignored: the ASK and ARK come from the pinned package data (``roots/amd/``).
3. Verify VCEK → ASK → ARK at ``now``: validity windows, CA flags, RSASSA-PSS SHA-384 signatures,
   CRLs when given. The product line (Milan, Genoa, Turin) is the one whose pinned chain
   verified.
4. Verify the report signature (bytes 0x000..0x29F) with the VCEK's P-384 key.
5. The VCEK's TCB extensions (blSPL, teeSPL, snpSPL, ucodeSPL, and fmcSPL on Turin) equal
   REPORTED_TCB, and its hwID equals CHIP_ID: the VCEK is the key of this chip at this TCB.
6. Policy: the report comes from VMPL ``policy.sev_snp_required_vmpl`` (0, the most privileged
   level, by default: a less privileged guest component cannot have its own key bound), the
   guest policy's MIGRATE_MA bit (18) is off unless ``allow_sev_snp_migration_agent`` (a
   migration agent can export guest memory), then the common checks — DEBUG bit (19) off, TCB
   minimums, measurement and register allow-lists (:func:`privcloud.attest.base.check_policy`).

The VCEK quirk: AMD issues VCEKs with serial number 0, which RFC 5280 forbids; the VCEK (and only
it) is loaded with ``allow_non_positive_serial=True`` (see
:func:`privcloud.crypto.x509.load_certificate`).
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Final

from privcloud import limits
from privcloud.attest.base import (
    TEE_SEV_SNP,
    AttestationResult,
    Evidence,
    PinnedVerifier,
    Policy,
    check_policy,
)
from privcloud.crypto.x509 import (
    Certificate,
    Curve,
    SignatureAlgorithm,
    der_integer,
    load_certificate,
    load_certificates,
    verify_chain,
)
from privcloud.errors import (
    DecodeError,
    PolicyError,
    TooLargeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)

REPORT_SIZE: Final = 0x4A0
SIGNED_SIZE: Final = 0x2A0
SUPPORTED_VERSIONS: Final = frozenset({2, 3, 4, 5})
SIG_ALGO_ECDSA_P384_SHA384: Final = 1
POLICY_DEBUG_BIT: Final = 1 << 19
POLICY_MIGRATE_MA_BIT: Final = 1 << 18

# VCEK extension OIDs (pub. 57230, Table 8).
OID_PRODUCT_NAME: Final = "1.3.6.1.4.1.3704.1.2"
OID_BL_SPL: Final = "1.3.6.1.4.1.3704.1.3.1"
OID_TEE_SPL: Final = "1.3.6.1.4.1.3704.1.3.2"
OID_SNP_SPL: Final = "1.3.6.1.4.1.3704.1.3.3"
OID_UCODE_SPL: Final = "1.3.6.1.4.1.3704.1.3.8"
OID_FMC_SPL: Final = "1.3.6.1.4.1.3704.1.3.9"
OID_HWID: Final = "1.3.6.1.4.1.3704.1.4"

# GHCB certificate table GUIDs (RFC 4122 byte order, as written by the host).
GUID_VCEK: Final = bytes.fromhex("63da758de6644564adc5f4b93be8accd")
_CERT_TABLE_ENTRY = struct.Struct("<16sII")

PRODUCTS: Final = ("Milan", "Genoa", "Turin")

_PSS_ONLY = frozenset({SignatureAlgorithm.RSASSA_PSS_SHA384})


@dataclass(frozen=True)
class TcbVersion:
    """A decoded TCB_VERSION (ABI §2.2). The byte layout differs on Turin."""

    bootloader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None

    @classmethod
    def decode(cls, raw: bytes, product: str) -> TcbVersion:
        if product == "Turin":
            return cls(bootloader=raw[1], tee=raw[2], snp=raw[3], microcode=raw[7], fmc=raw[0])
        return cls(bootloader=raw[0], tee=raw[1], snp=raw[6], microcode=raw[7])

    def as_dict(self) -> dict[str, int]:
        out = {
            "bootloader": self.bootloader,
            "tee": self.tee,
            "snp": self.snp,
            "microcode": self.microcode,
        }
        if self.fmc is not None:
            out["fmc"] = self.fmc
        return out


@dataclass(frozen=True)
class SnpReport:
    """The fields of an ATTESTATION_REPORT this verifier uses (offsets from Table 23)."""

    version: int
    guest_svn: int
    policy: int
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    flags: int
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    reported_tcb_raw: bytes
    chip_id: bytes
    signature_r: int
    signature_s: int
    signed_bytes: bytes

    @property
    def debug(self) -> bool:
        return bool(self.policy & POLICY_DEBUG_BIT)

    @property
    def signing_key(self) -> int:
        """0: VCEK, 1: VLEK, 7: none."""
        return (self.flags >> 2) & 0x7

    @property
    def chip_id_masked(self) -> bool:
        return bool(self.flags & 0x2)


def parse_report(raw: bytes) -> SnpReport:
    """Decode an attestation report; checks its size and version, nothing cryptographic."""
    if len(raw) > REPORT_SIZE:
        raise TooLargeError("SEV-SNP report too large")
    if len(raw) < REPORT_SIZE:
        raise DecodeError("SEV-SNP report truncated")
    version, guest_svn, policy = struct.unpack_from("<IIQ", raw, 0x00)
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedError("unsupported SEV-SNP report version")
    vmpl, signature_algo = struct.unpack_from("<II", raw, 0x30)
    (flags,) = struct.unpack_from("<I", raw, 0x48)
    sig = raw[SIGNED_SIZE : SIGNED_SIZE + 144]
    r_le, s_le = sig[:72], sig[72:]
    # r and s are 72-byte little-endian fields holding 48-byte values, zero padded.
    if any(r_le[48:]) or any(s_le[48:]):
        raise DecodeError("SEV-SNP signature component out of range")
    return SnpReport(
        version=version,
        guest_svn=guest_svn,
        policy=policy,
        family_id=raw[0x10:0x20],
        image_id=raw[0x20:0x30],
        vmpl=vmpl,
        signature_algo=signature_algo,
        flags=flags,
        report_data=raw[0x50:0x90],
        measurement=raw[0x90:0xC0],
        host_data=raw[0xC0:0xE0],
        id_key_digest=raw[0xE0:0x110],
        author_key_digest=raw[0x110:0x140],
        report_id=raw[0x140:0x160],
        reported_tcb_raw=raw[0x180:0x188],
        chip_id=raw[0x1A0:0x1E0],
        signature_r=int.from_bytes(r_le, "little"),
        signature_s=int.from_bytes(s_le, "little"),
        signed_bytes=raw[:SIGNED_SIZE],
    )


def extract_vcek(certificates: bytes) -> Certificate:
    """The VCEK from DER, PEM (first certificate) or a GHCB certificate table.

    Raises :class:`TooLargeError` or :class:`DecodeError` (a certificate that does not parse —
    a bad X.509 version, a duplicated extension, ... — is a :class:`DecodeError` from
    :func:`~privcloud.crypto.x509.load_certificate`, never a foreign exception).
    """
    if len(certificates) > limits.MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES:
        raise TooLargeError("SEV-SNP certificates too large")
    if not certificates:
        raise DecodeError("SEV-SNP evidence carries no VCEK")
    if certificates[:1] == b"\x30":
        return load_certificate(certificates, allow_non_positive_serial=True)
    if certificates.lstrip().startswith(b"-----BEGIN"):
        return load_certificates(certificates, allow_non_positive_serial=True)[0]
    return load_certificate(_from_cert_table(certificates), allow_non_positive_serial=True)


def _from_cert_table(table: bytes) -> bytes:
    """Find the VCEK in a GHCB certificate table: entries (GUID, offset, length) ending with an
    all-zero entry; offsets count from the table's start."""
    for i in range(limits.MAX_SEVSNP_CERT_TABLE_ENTRIES):
        pos = i * _CERT_TABLE_ENTRY.size
        if pos + _CERT_TABLE_ENTRY.size > len(table):
            break
        guid, offset, length = _CERT_TABLE_ENTRY.unpack_from(table, pos)
        if guid == bytes(16) and offset == 0 and length == 0:
            break
        if guid == GUID_VCEK:
            if offset + length > len(table) or length == 0:
                raise DecodeError("certificate table entry out of bounds")
            return table[offset : offset + length]
    raise DecodeError("no VCEK in SEV-SNP certificate table")


@dataclass(frozen=True)
class AmdRootChain:
    """A pinned ARK and the ASK it signed, for one product line."""

    product: str
    ark: Certificate
    ask: Certificate

    @classmethod
    def from_pem(cls, product: str, pem: bytes) -> AmdRootChain:
        """Load ``ASK || ARK`` (AMD's ``cert_chain`` order)."""
        certs = load_certificates(pem)
        if len(certs) != 2:
            raise UsageError("an AMD root chain is an ASK and an ARK")
        return cls(product=product, ask=certs[0], ark=certs[1])


@functools.cache
def pinned_amd_roots() -> tuple[AmdRootChain, ...]:
    """AMD's ARK/ASK pairs for Milan, Genoa and Turin, from the package data in ``roots/amd``."""
    base = resources.files("privcloud.attest").joinpath("roots", "amd")
    return tuple(
        AmdRootChain.from_pem(p, base.joinpath(f"{p.lower()}.pem").read_bytes()) for p in PRODUCTS
    )


class SevSnpVerifier(PinnedVerifier[AmdRootChain]):
    """Verifies SEV-SNP evidence against pinned AMD roots (see the module docstring)."""

    tee_type = TEE_SEV_SNP

    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """Steps 1 to 6 of the module docstring, raising at the first failure."""
        # 1. Parse.
        report = parse_report(evidence.raw)
        if report.signature_algo != SIG_ALGO_ECDSA_P384_SHA384:
            raise UnsupportedError("unsupported SEV-SNP signature algorithm")
        if report.signing_key == 1:
            raise UnsupportedError("VLEK-signed SEV-SNP reports are not supported")
        if report.signing_key != 0:
            raise VerificationError("SEV-SNP report is not signed by a VCEK")
        if report.chip_id_masked:
            raise VerificationError("SEV-SNP chip id is masked; the VCEK cannot be bound")
        # 2. The VCEK from the evidence.
        vcek = extract_vcek(evidence.certificates)
        # 3. VCEK -> pinned ASK -> pinned ARK, at `now`.
        path, product = self._verify_vcek_chain(vcek, now)
        # 4. The report signature.
        if not 0 < report.signature_r < 2**384 or not 0 < report.signature_s < 2**384:
            raise VerificationError("SEV-SNP report signature does not verify")
        signature = report.signature_r.to_bytes(48, "big") + report.signature_s.to_bytes(48, "big")
        vcek.ec_public_key(Curve.P384).verify(signature, report.signed_bytes)
        # 5. The VCEK belongs to this chip at this TCB.
        reported = TcbVersion.decode(report.reported_tcb_raw, product)
        _check_vcek_binds(vcek, reported, report.chip_id, product)
        # 6. Policy.
        tcb = reported.as_dict()
        tcb["guest_svn"] = report.guest_svn
        result = AttestationResult(
            tee_type=TEE_SEV_SNP,
            measurement=report.measurement,
            report_data=report.report_data,
            debug=report.debug,
            tcb=tcb,
            platform_id=report.chip_id,
            signer_chain=tuple(c.subject for c in path),
            registers={
                "host_data": report.host_data,
                "id_key_digest": report.id_key_digest,
                "author_key_digest": report.author_key_digest,
                "family_id": report.family_id,
                "image_id": report.image_id,
                "guest_policy": report.policy.to_bytes(8, "little"),
                "vmpl": report.vmpl.to_bytes(4, "little"),
            },
            product=product,
        )
        check_snp_policy(report, policy)
        check_policy(result, policy, now=now)
        return result

    def _verify_vcek_chain(
        self, vcek: Certificate, now: float
    ) -> tuple[tuple[Certificate, ...], str]:
        candidates = [r for r in self._roots if r.ask.subject == vcek.issuer]
        if not candidates:
            raise VerificationError("VCEK is not issued by a pinned AMD signing key")
        error: VerificationError | None = None
        for root in candidates:
            try:
                path = verify_chain(
                    [vcek, root.ask],
                    [root.ark],
                    at=now,
                    allowed_algorithms=_PSS_ONLY,
                    crls=self._crls,
                )
            except VerificationError as exc:
                error = exc
                continue
            return path, root.product
        raise error or VerificationError("VCEK chain does not verify")


def check_snp_policy(report: SnpReport, policy: Policy) -> None:
    """Step 6, the SEV-SNP part: VMPL and migration agent (:class:`PolicyError`)."""
    required = policy.sev_snp_required_vmpl
    if required is not None and report.vmpl != required:
        raise PolicyError("SEV-SNP report is not from the required VMPL")
    if report.policy & POLICY_MIGRATE_MA_BIT and not policy.allow_sev_snp_migration_agent:
        raise PolicyError("SEV-SNP guest policy allows a migration agent")


def _spl(vcek: Certificate, oid: str) -> int:
    value = vcek.extension(oid)
    if value is None:
        raise VerificationError("VCEK lacks a TCB extension")
    try:
        return der_integer(value)
    except DecodeError as exc:
        raise VerificationError("VCEK TCB extension is malformed") from exc


def _check_vcek_binds(vcek: Certificate, tcb: TcbVersion, chip_id: bytes, product: str) -> None:
    """Step 5: the VCEK's SPL extensions equal REPORTED_TCB, its hwID equals CHIP_ID."""
    expected = {
        OID_BL_SPL: tcb.bootloader,
        OID_TEE_SPL: tcb.tee,
        OID_SNP_SPL: tcb.snp,
        OID_UCODE_SPL: tcb.microcode,
    }
    if tcb.fmc is not None:
        expected[OID_FMC_SPL] = tcb.fmc
    for oid, value in expected.items():
        if _spl(vcek, oid) != value:
            raise VerificationError("VCEK TCB does not match the report's REPORTED_TCB")
    hwid = vcek.extension(OID_HWID)
    if hwid is not None and len(hwid) == 66 and hwid[:2] == b"\x04\x40":
        hwid = hwid[2:]  # tolerate an OCTET STRING wrapper
    # Turin VCEKs name the chip by the first 8 bytes of CHIP_ID (untested: no Turin sample).
    if hwid is None or not (
        hwid == chip_id or (product == "Turin" and len(hwid) == 8 and hwid == chip_id[:8])
    ):
        raise VerificationError("VCEK hwID does not match the report's CHIP_ID")
