"""Fuzz target: NVIDIA RIMs, signed SWID tags (crypto/xmldsig.py, attest/nvidia/rim.py).

Operations: ``parse_signed_document`` (the hardened XML parse and KeyInfo certificates),
``verify_rim`` (the whole RIM check at :data:`fuzz.fuzz_spdm.T` with the fixed synthetic RIM
root pinned, so that the seeds pass) and ``read_signed`` (the SWID reader on canonical bytes, as
if signed: it reaches the measurement parser that signatures otherwise shield from mutations).
"""

from __future__ import annotations

from pathlib import Path

from fuzz import fuzz_spdm, harness
from privcloud import limits
from privcloud.attest.nvidia.rim import read_signed_rim, verify_rim
from privcloud.crypto.xmldsig import parse_signed_document


def _parse(data: bytes) -> None:
    parse_signed_document(
        data, max_bytes=limits.MAX_NVIDIA_RIM_BYTES, max_elements=limits.MAX_RIM_ELEMENTS
    )


def _verify(data: bytes) -> None:
    verify_rim(data, [fuzz_spdm.rim_signer()[0][-1]], now=fuzz_spdm.T)


def _read(data: bytes) -> None:
    read_signed_rim(data, (), b"")


OPS: harness.Ops = (
    ("parse_signed_document", _parse),
    ("verify_rim", _verify),
    ("read_signed", _read),
)


def own_seeds() -> list[bytes]:
    driver, vbios = fuzz_spdm.rims()
    return [
        harness.seed(OPS, "parse_signed_document", driver),
        harness.seed(OPS, "verify_rim", driver),
        harness.seed(OPS, "verify_rim", vbios),
        harness.seed(OPS, "read_signed", fuzz_spdm.rim_xml("1.0", range(8))),
    ]


def shared_seeds(vectors: Path) -> list[bytes]:
    """NVIDIA's sample driver and VBIOS RIMs (../shared/vectors)."""
    folder = vectors / "attestation" / "nvidia"
    docs = [p.read_bytes() for p in sorted(folder.glob("*.swidtag"))]
    return [
        harness.seed(OPS, op, d) for d in docs for op in ("parse_signed_document", "verify_rim")
    ]


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
