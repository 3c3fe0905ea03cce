"""Fuzz target: AMD SEV-SNP evidence (attest/sevsnp.py).

Operations: ``parse_report``; ``extract_vcek`` (DER, PEM or a GHCB certificate table); and
``verify``: the whole verifier at the fixed time :data:`fuzz.fixtures.T0`, trusting AMD's
pinned roots and the test ARK/ASK of :mod:`fuzz.fixtures`, with a policy that lets good
evidence through. Its input is the report (the first 0x4A0 bytes) followed by the VCEK.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.attest.base import TEE_SEV_SNP, Evidence
from privcloud.attest.sevsnp import (
    REPORT_SIZE,
    SevSnpVerifier,
    extract_vcek,
    parse_report,
    pinned_amd_roots,
)

_VERIFIER = SevSnpVerifier((*pinned_amd_roots(), fixtures.amd_pki().chain))


def _verify(data: bytes) -> None:
    evidence = Evidence(TEE_SEV_SNP, data[:REPORT_SIZE], data[REPORT_SIZE:])
    _VERIFIER.verify(evidence, now=fixtures.T0, policy=fixtures.OPEN_POLICY)


OPS: harness.Ops = (
    ("parse_report", parse_report),
    ("extract_vcek", extract_vcek),
    ("verify", _verify),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
