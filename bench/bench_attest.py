"""Time end-to-end verification of the real SEV-SNP and TDX samples (target: admission <= 5 ms).

Run: .venv/bin/python bench/bench_attest.py   (needs ../shared/vectors)
"""

from __future__ import annotations

import statistics
import timeit
from pathlib import Path

from privcloud.attest import TEE_SEV_SNP, TEE_TDX, Evidence, Policy, TrustRoots, verify_evidence

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "attestation"
T0 = 1687219200.0  # 2023-06-20T00:00:00Z, inside the samples' validity


def _time(label: str, fn: object, number: int = 200) -> None:
    runs = [timeit.timeit(fn, number=number) / number * 1e3 for _ in range(7)]  # type: ignore[arg-type]
    print(f"{label:44s} min {min(runs):.3f} ms   median {statistics.median(runs):.3f} ms")


def main() -> None:
    snp = Evidence(
        TEE_SEV_SNP,
        (VECTORS / "sev-snp" / "attestation.bin").read_bytes(),
        (VECTORS / "sev-snp" / "vcek.der").read_bytes(),
    )
    quote = (VECTORS / "tdx" / "tdx_prod_quote_SPR_E4.dat").read_bytes()
    quote = quote[: quote.index(b"\nextra bytes(only for testing purpose)")]
    tdx = Evidence(TEE_TDX, quote)
    crls = [(VECTORS / "tdx" / n).read_bytes() for n in ("pckcrl", "rootcrl.der")]
    roots = TrustRoots.pinned()
    roots_crl = TrustRoots.pinned(crls=crls)
    allow_debug = Policy(allow_debug=True)  # the SNP sample was taken with DEBUG on

    def run_snp() -> None:
        verify_evidence(snp, now=T0, policy=allow_debug, roots=roots)

    def run_tdx() -> None:
        verify_evidence(tdx, now=T0, policy=Policy(), roots=roots)

    def run_tdx_crl() -> None:
        verify_evidence(tdx, now=T0, policy=Policy(), roots=roots_crl)

    _time("SEV-SNP report + VCEK -> ASK -> ARK", run_snp)
    _time("TDX quote v4, PCK chain, QE report", run_tdx)
    _time("TDX quote v4, PCK chain, QE report, 2 CRLs", run_tdx_crl)


if __name__ == "__main__":
    main()
