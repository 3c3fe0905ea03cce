"""Fuzz target: NVIDIA GPU evidence (attest/nvidia/spdm.py, gpu.py).

Operations: ``parse_report`` (SPDM GET_MEASUREMENTS request + MEASUREMENTS response) and
``verify``: the whole GPU verifier at :data:`T` with this module's fixed synthetic device root
and signed RIMs pinned, so that good evidence passes every step. Its input is ``u16 report
length || report || PEM device chain``.
"""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path
from typing import Final

from fuzz import fixtures, harness
from privcloud.attest.base import Evidence
from privcloud.attest.nvidia import GpuPolicy, NvidiaGpuVerifier
from privcloud.attest.nvidia.spdm import parse_report
from privcloud.crypto.ecdsa import Curve, EcPrivateKey
from privcloud.crypto.x509 import Certificate
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.crypto.xmldsig_sign import sign_enveloped

#: The fixed "now" of this target, inside the synthetic certificates' validity.
T: Final = fixtures.T0
_YEAR = 365 * 86400
FWID: Final = b"\x5a" * 48
DRIVER: Final = "550.90.07"
VBIOS: Final = "96.00.9f.00.01"
VALUES: Final = {i: bytes([i + 1]) * 48 for i in range(8)}
_SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
_SHA384 = "http://www.w3.org/2001/04/xmlenc#sha384"


def _cert(
    cn: str,
    key: EcPrivateKey,
    issuer: Certificate | None,
    issuer_key: EcPrivateKey,
    *,
    ca: bool,
    extensions: dict[str, bytes] | None = None,
) -> Certificate:
    request = CertificateRequest(
        common_name=cn,
        not_before=T - _YEAR,
        not_after=T + 20 * _YEAR,
        ca=ca,
        extensions=extensions,
    )
    return build_certificate(request, key, issuer=issuer, issuer_key=issuer_key)


def chain_of(
    cns: tuple[str, ...], leaf_extensions: dict[str, bytes]
) -> tuple[list[Certificate], EcPrivateKey]:
    """A root and CAs named ``cns`` (root first), then a signing leaf; fixed keys. Returns the
    chain leaf first, root last, and the leaf key."""
    root_key = fixtures._ec_key(Curve.P384, cns[0])
    issuer = _cert(cns[0], root_key, None, root_key, ca=True)
    chain, issuer_key = [issuer], root_key
    for cn in cns[1:]:
        key = fixtures._ec_key(Curve.P384, cn)
        issuer = _cert(cn, key, issuer, issuer_key, ca=True)
        chain.insert(0, issuer)
        issuer_key = key
    leaf_key = fixtures._ec_key(Curve.P384, cns[0] + " leaf")
    extensions = {"2.5.29.15": bytes.fromhex("03020780"), **leaf_extensions}
    leaf = _cert("leaf", leaf_key, issuer, issuer_key, ca=False, extensions=extensions)
    return [leaf, *chain], leaf_key


@cache
def device() -> tuple[list[Certificate], EcPrivateKey]:
    fwid = {"2.23.133.5.4.1": bytes([0x30, 50, 0x04, 48]) + FWID}
    return chain_of(("fuzz NVIDIA device root", "fuzz identity", "fuzz ica", "fuzz brom"), fwid)


@cache
def rim_signer() -> tuple[list[Certificate], EcPrivateKey]:
    return chain_of(("fuzz NVIDIA RIM root", "fuzz reference value CA"), {})


def rim_xml(version: str, indices: range) -> bytes:
    resources = "".join(
        f'<ns0:Resource type="Measurement" index="{i}" active="True" alternatives="1" '
        f'ns2:Hash0="{VALUES[i].hex()}" name="m{i}" size="48"/>'
        for i in indices
    )
    return (
        f'<SoftwareIdentity xmlns="{_SWID}" xmlns:ns0="{_SWID}" xmlns:ns2="{_SHA384}" '
        f'name="GH100" tagId="fuzz-{version}" version="1.0">'
        f'<ns0:Meta colloquialVersion="{version}" product="GH100"/>'
        f"<ns0:Payload>{resources}</ns0:Payload></SoftwareIdentity>"
    ).encode()


@cache
def rims() -> tuple[bytes, bytes]:
    chain, key = rim_signer()
    return (
        sign_enveloped(rim_xml(DRIVER, range(4)), key, chain),
        sign_enveloped(rim_xml(VBIOS, range(4, 8)), key, chain),
    )


@cache
def verifier() -> NvidiaGpuVerifier:
    return NvidiaGpuVerifier((device()[0][-1],), (rim_signer()[0][-1],), rim_documents=rims())


def report(feature_flag: int = 0) -> bytes:
    """A good report signed by the fixed device leaf."""
    request = bytes([0x11, 0xE0, 1, 0xFF]) + bytes(32) + b"\x00"
    record = b"".join(
        bytes([i + 1, 1]) + struct.pack("<H", 51) + b"\x01" + struct.pack("<H", 48) + v
        for i, v in VALUES.items()
    )
    vbios = bytes([0x00, 0x9F, 0x00, 0x96, 0x01, 0, 0, 0])
    fields = {3: DRIVER.encode() + b"\x00", 6: vbios, 11: b"\xaa", 20: FWID}
    fields[36] = struct.pack("<I", feature_flag)
    opaque = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in fields.items())
    response = (
        bytes([0x11, 0x60, 0, 0, len(VALUES)])
        + len(record).to_bytes(3, "little")
        + record
        + bytes(32)
        + struct.pack("<H", len(opaque))
        + opaque
    )
    body = request + response
    return body + device()[1].sign(body)


def chain_pem() -> bytes:
    return b"".join(fixtures.pem(c) for c in device()[0])


def verify_input(raw: bytes, chain: bytes) -> bytes:
    return struct.pack(">H", len(raw)) + raw + chain


def _verify(data: bytes) -> None:
    if len(data) < 2:
        return
    size = int.from_bytes(data[:2], "big")
    evidence = Evidence("nvidia-gpu", data[2 : 2 + size], data[2 + size :])
    verifier().verify(evidence, now=T, policy=GpuPolicy())


OPS: harness.Ops = (
    ("parse_report", parse_report),
    ("verify", _verify),
)


def own_seeds() -> list[bytes]:
    good, ppcie = report(), report(feature_flag=2)
    return [
        harness.seed(OPS, "parse_report", good),
        harness.seed(OPS, "verify", verify_input(good, chain_pem())),
        harness.seed(OPS, "verify", verify_input(ppcie, chain_pem())),
    ]


def shared_seeds(vectors: Path) -> list[bytes]:
    """The real H100 sample report and its chain (../shared/vectors)."""
    folder = vectors / "attestation" / "nvidia"
    raw = bytes.fromhex((folder / "hopperAttestationReport.txt").read_text().strip())
    chain = (folder / "hopperCertChain.txt").read_bytes()
    return [
        harness.seed(OPS, "parse_report", raw),
        harness.seed(OPS, "verify", verify_input(raw, chain)),
    ]


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
