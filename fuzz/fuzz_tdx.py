"""Fuzz target: Intel TDX quotes, versions 4 and 5 (attest/tdx.py, attest/tdx_quote.py).

Operations: ``parse_quote``; ``verify``: the whole verifier at the fixed time
:data:`fuzz.fixtures.T0`, trusting Intel's pinned SGX root and the test root of
:mod:`fuzz.fixtures`, with a policy that lets good evidence through; and
``verify_with_collateral``: the same with the fuzz target's signed TCB Info and QE Identity
(:mod:`fuzz.fuzz_intel_collateral`), so that quotes reach the TCB status rules.
"""

from __future__ import annotations

from functools import cache

from fuzz import fixtures, harness
from fuzz.fuzz_intel_collateral import QE_IDENTITY, TCB_INFO, signed
from privcloud.attest.base import TEE_TDX, Evidence
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.attest.tdx import TdxVerifier, parse_quote, pinned_intel_root

_ROOTS = (pinned_intel_root(), fixtures.intel_pki().root)
_VERIFIER = TdxVerifier(_ROOTS)


@cache
def _collateral_verifier() -> TdxVerifier:
    chain = fixtures.intel_tcb_signing()[1]
    collateral = IntelCollateral.from_pcs(
        tcb_infos=[(signed("tcbInfo", TCB_INFO), chain)],
        qe_identity=(signed("enclaveIdentity", QE_IDENTITY), chain),
    )
    return TdxVerifier(_ROOTS, collateral=collateral)


def _verify(data: bytes) -> None:
    _VERIFIER.verify(Evidence(TEE_TDX, data), now=fixtures.T0, policy=fixtures.OPEN_POLICY)


def _verify_with_collateral(data: bytes) -> None:
    _collateral_verifier().verify(
        Evidence(TEE_TDX, data), now=fixtures.T0, policy=fixtures.OPEN_POLICY
    )


OPS: harness.Ops = (
    ("parse_quote", parse_quote),
    ("verify", _verify),
    ("verify_with_collateral", _verify_with_collateral),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
