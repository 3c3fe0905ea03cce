"""Fuzz target: Intel TDX quotes (attest/tdx.py).

Operations: ``parse_quote``; and ``verify``: the whole verifier at the fixed time
:data:`fuzz.fixtures.T0`, trusting Intel's pinned SGX root and the test root of
:mod:`fuzz.fixtures`, with a policy that lets good evidence through.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.attest.base import TEE_TDX, Evidence
from privcloud.attest.tdx import TdxVerifier, parse_quote, pinned_intel_root

_VERIFIER = TdxVerifier((pinned_intel_root(), fixtures.intel_pki().root))


def _verify(data: bytes) -> None:
    _VERIFIER.verify(Evidence(TEE_TDX, data), now=fixtures.T0, policy=fixtures.OPEN_POLICY)


OPS: harness.Ops = (
    ("parse_quote", parse_quote),
    ("verify", _verify),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
