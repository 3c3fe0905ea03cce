"""Fuzz target: TPM 2.0 structures and vTPM evidence (attest/tpm/structures.py, evidence.py,
quote.py, verifier.py).

Operations: ``parse_public`` (TPMT_PUBLIC), ``parse_attest`` (TPMS_ATTEST), ``parse_signature``
(TPMT_SIGNATURE), ``parse_container`` (the vTPM evidence container) and ``verify``: the whole
vTPM verifier at :data:`fuzz.fixtures.T0` with the fixed test AK of this module pinned, so that
good evidence passes every step.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Final

from fuzz import fixtures, harness
from fuzz.fuzz_eventlog import boot_log
from privcloud.attest.base import TEE_SEV_SNP, TEE_VTPM, Evidence, Policy
from privcloud.attest.sevsnp import SevSnpVerifier
from privcloud.attest.tpm import structures as st
from privcloud.attest.tpm.eventlog import parse_event_log, replay
from privcloud.attest.tpm.evidence import (
    Quote,
    VtpmEvidence,
    encode_container,
    parse_container,
)
from privcloud.attest.tpm.quote import pcr_composite
from privcloud.attest.tpm.verifier import VtpmTrust, VtpmVerifier
from privcloud.crypto.ecdsa import Curve, EcPrivateKey

#: The report data the seeds' quotes bind.
REPORT_DATA: Final = bytes(range(64))
POLICY: Final = Policy(allowed_tee_types=frozenset({TEE_VTPM, TEE_SEV_SNP}), allow_debug=True)


@cache
def ak() -> tuple[bytes, EcPrivateKey]:
    """The fixed test AK (ECDSA P-256): its TPMT_PUBLIC and private key."""
    key = fixtures._ec_key(Curve.P256, "vtpm ak")
    point = key.public_key().to_bytes()
    public = st.encode_public(
        key_type=st.ALG_ECC,
        name_alg=st.ALG_SHA256,
        attributes=st.AK_ATTRIBUTES,
        scheme=st.ALG_ECDSA,
        scheme_hash=st.ALG_SHA256,
        curve=st.ECC_NIST_P256,
        x=point[1:33],
        y=point[33:],
    )
    return public, key


@cache
def _verifier() -> VtpmVerifier:
    trust = VtpmTrust(pinned_aks=frozenset({hashlib.sha256(ak()[0]).digest()}))
    return VtpmVerifier(trust, snp=SevSnpVerifier((fixtures.amd_pki().chain,)))


def evidence(*, log: bytes | None = None) -> bytes:
    """A good container: the boot log, all 24 SHA-256 PCRs, one quote by :func:`ak`."""
    public, key = ak()
    log = boot_log() if log is None else log
    bank = {i: bytes(32) for i in range(24)}
    bank.update(replay(parse_event_log(log)).get(st.ALG_SHA256, {}))
    pcrs = {st.ALG_SHA256: bank}
    sel = (st.PcrSelection(st.ALG_SHA256, tuple(range(24))),)
    probe = st.parse_attest(st.encode_attest(extra_data=b"", selections=sel, pcr_digest=b""))
    attest = st.encode_attest(
        extra_data=hashlib.sha256(REPORT_DATA).digest(),
        selections=sel,
        pcr_digest=pcr_composite(probe, pcrs, st.ALG_SHA256),
    )
    raw = key.sign(attest)
    sig = st.encode_signature(st.Signature(st.ALG_ECDSA, st.ALG_SHA256, r=raw[:32], s=raw[32:]))
    return encode_container(VtpmEvidence(public, REPORT_DATA, (Quote(attest, sig),), pcrs, log))


def _verify(data: bytes) -> None:
    _verifier().verify(Evidence(TEE_VTPM, data), now=fixtures.T0, policy=POLICY)


OPS: harness.Ops = (
    ("parse_public", st.parse_public),
    ("parse_attest", st.parse_attest),
    ("parse_signature", st.parse_signature),
    ("parse_container", parse_container),
    ("verify", _verify),
)


def own_seeds() -> list[bytes]:
    good = evidence()
    ev = parse_container(good)
    seeds = [harness.seed(OPS, "parse_public", ev.ak_public)]
    seeds += [harness.seed(OPS, "parse_attest", q.attest) for q in ev.quotes]
    seeds += [harness.seed(OPS, "parse_signature", q.signature) for q in ev.quotes]
    seeds += [harness.seed(OPS, "parse_container", good)]
    seeds += [harness.seed(OPS, "verify", e) for e in (good, evidence(log=boot_log(agile=False)))]
    return seeds


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
