"""vTPM evidence (tee_type ``vtpm``): TPM 2.0 quotes with event-log replay
(docs/trust-model.md#vtpm).

Steps of :meth:`VtpmVerifier.verify`, raising at the first failure:

1. **Parse** the container (:mod:`.evidence`), the AK's TPMT_PUBLIC and the event log.
2. **The AK is trusted**, by at least one of (the first that applies is recorded):

   a. *a TEE report binds it*: the nested SEV-SNP report verifies up to the pinned AMD roots
      (:class:`~privcloud.attest.sevsnp.SevSnpVerifier`, with the policy's SEV-SNP rules) and
      its report data is ``report_data_for(TPMT_PUBLIC, AK_LABEL)``;
   b. *a certificate chain certifies it*: ``Evidence.certificates`` chains up to an AK root the
      operator configured (Google's "EK/AK CA Root", checked against the fingerprint pinned here
      by :func:`gce_ak_root`) and the leaf's key is the AK;
   c. *the operator pinned it*: SHA-256 of the TPMT_PUBLIC is in ``pinned_aks`` (what GCE's
      ``getShieldedInstanceIdentity`` returns for the instance, recorded by the operator).

3. **Quotes**: each verifies (:func:`.quote.verify_quote`: restricted AK, magic and type,
   signature, PCR digest over the presented values); one quote per bank; all carry the same
   extraData.
4. **The node key is bound**: extraData = SHA-256(report data) — the NodeClaims report data the
   container carries, which then becomes the result's report data for
   :func:`~privcloud.attest.base.check_claims`.
5. **The event log replays**: at least one bank is both quoted and logged; in every such bank
   each PCR the log extends is quoted and equals the replayed value.
6. **vTPM policy**: secure boot on (from the SecureBoot variable event in PCR 7), the kernel
   command line and the dm-verity root hash in it (how COS measures its image) in the allowed
   sets when set.
7. **Common policy** (:func:`~privcloud.attest.base.check_policy`) on the result: the
   measurement is SHA-384 over the strongest verified bank's quoted PCRs; every quoted PCR is a
   register ``pcr<i>.<bank>``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from privcloud.attest.base import (
    TEE_SEV_SNP,
    TEE_VTPM,
    AttestationResult,
    Check,
    Evidence,
    PinnedVerifier,
    Policy,
    check_policy,
    report_data_for,
)
from privcloud.attest.sevsnp import SevSnpVerifier
from privcloud.attest.tpm.eventlog import Facts, parse_event_log, read_facts, replay
from privcloud.attest.tpm.evidence import VtpmEvidence, parse_container
from privcloud.attest.tpm.quote import verify_quote
from privcloud.attest.tpm.structures import (
    ALG_ECC,
    ALG_RSA,
    HASH_NAMES,
    HASH_SIZES,
    Attest,
    TpmPublic,
    parse_public,
)
from privcloud.crypto.ecdsa import Curve
from privcloud.crypto.pkcs1 import RsaPublicKey, verify_pkcs1_chain
from privcloud.crypto.x509 import Certificate, Crl, load_certificates
from privcloud.errors import ConfigError, PolicyError, VerificationError

#: Domain label of the SEV-SNP report data that binds an AK (step 2a).
AK_LABEL: Final = b"privcloud vtpm ak v1"
#: Domain label of the vTPM measurement (step 7).
MEASUREMENT_LABEL: Final = b"privcloud vtpm pcrs v1"
#: SHA-256 of Google's "EK/AK CA Root" certificate (DER), as published in google/go-tpm-tools
#: ``server/ca-certs/gcp_ek_ak_ca_root.crt`` (valid 2022-07-08 to 2122-07-08). The certificate
#: itself is configured by the operator; this pin decides whether it is the right one.
GCE_EK_AK_ROOT_SHA256: Final = bytes.fromhex(
    "594759594b9b61524f6c8ef668f7177f7b9066bc0674f2f49fe9e052be78beb2"
)
_VERITY_ROOT = re.compile(r"(?:^|\s)root_hexdigest=([0-9a-f]{64})(?=[\s\"]|$)")


def gce_ak_root(data: bytes) -> Certificate:
    """Load Google's EK/AK CA root from the operator's file; :class:`ConfigError` unless it is
    the certificate pinned by :data:`GCE_EK_AK_ROOT_SHA256`."""
    certs = load_certificates(data)
    if len(certs) != 1 or not hmac.compare_digest(
        certs[0].fingerprint_sha256, GCE_EK_AK_ROOT_SHA256
    ):
        raise ConfigError("not Google's pinned EK/AK CA Root certificate")
    return certs[0]


@dataclass(frozen=True)
class VtpmTrust:
    """What the operator configures for vTPM evidence (docs/trust.md#vtpm)."""

    #: AK certificate roots (Google's EK/AK CA Root, through :func:`gce_ak_root`).
    ak_roots: tuple[Certificate, ...] = ()
    #: SHA-256 of AK TPMT_PUBLICs the operator recorded (GCE getShieldedInstanceIdentity).
    pinned_aks: frozenset[bytes] = frozenset()
    #: Accept SHA-1 quote signatures and a SHA-1-only log (older Shielded VM images). Off.
    allow_sha1: bool = False
    #: Refuse a log that does not show secure boot enabled.
    require_secure_boot: bool = True
    #: When set, the measured kernel command line must be one of these.
    allowed_kernel_cmdlines: frozenset[str] | None = None
    #: When set, the dm-verity root hash (hex) in the kernel command line must be one of these.
    allowed_verity_roots: frozenset[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ak_roots", tuple(self.ak_roots))
        object.__setattr__(self, "pinned_aks", frozenset(self.pinned_aks))


def verity_root(cmdline: str | None) -> str | None:
    """The dm-verity ``root_hexdigest`` in a COS kernel command line, or ``None``."""
    found = _VERITY_ROOT.findall(cmdline or "")
    if len(found) > 1:
        raise VerificationError("kernel command line names two verity roots")
    return found[0] if found else None


class VtpmVerifier(PinnedVerifier[Certificate]):
    """Verifies vTPM evidence (module docstring). ``snp`` verifies a nested SEV-SNP report."""

    tee_type = TEE_VTPM

    def __init__(
        self,
        trust: VtpmTrust | None,
        *,
        snp: SevSnpVerifier | None = None,
        crls: Sequence[Crl] = (),
    ) -> None:
        super().__init__(trust.ak_roots if trust is not None else (), crls=crls)
        self._trust = trust
        self._snp = snp

    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        trust = self._trust
        if trust is None:
            raise VerificationError(
                "no vTPM trust configured: set TrustRoots.vtpm (AK roots or pinned AKs)"
            )
        # 1. Parse.
        ev = parse_container(evidence.raw)
        ak = parse_public(ev.ak_public)
        log = parse_event_log(ev.event_log)
        checks: list[Check] = []
        # 2. The AK is trusted.
        snp_result = self._check_ak(ak, ev, evidence.certificates, trust, now, policy, checks)
        # 3. Quotes.
        quotes = [
            verify_quote(ak, q.attest, q.signature, ev.pcrs, allow_sha1=trust.allow_sha1)
            for q in ev.quotes
        ]
        quoted = _quoted_banks(quotes)
        checks.append(Check("quote-signature", f"{len(quotes)} quote(s), PCR digest matches"))
        # 4. The node key is bound.
        if len(ev.report_data) != 64 or not all(
            hmac.compare_digest(q.extra_data, hashlib.sha256(ev.report_data).digest())
            for q in quotes
        ):
            raise VerificationError("quote nonce does not bind the node's report data")
        checks.append(Check("nonce-binds-node", "extraData = SHA-256(report data)"))
        # 5. Replay.
        verified = _check_replay(log.banks, replay(log), quoted, ev, trust.allow_sha1)
        checks.append(
            Check("event-log-replay", "banks " + ",".join(HASH_NAMES[a] for a in verified))
        )
        # 6. vTPM policy.
        facts = read_facts(log)
        _check_facts(facts, trust, checks)
        # 7. Result and common policy.
        result = _result(ak, ev, quoted, verified, snp_result, tuple(checks))
        check_policy(result, policy, now=now)
        return result

    def _check_ak(
        self,
        ak: TpmPublic,
        ev: VtpmEvidence,
        certificates: bytes,
        trust: VtpmTrust,
        now: float,
        policy: Policy,
        checks: list[Check],
    ) -> AttestationResult | None:
        """Step 2; returns the verified SEV-SNP result when a report binds the AK."""
        if ev.tee_type:
            if ev.tee_type != TEE_SEV_SNP or self._snp is None:
                raise VerificationError("AK not bound: TEE type cannot bind a vTPM key")
            snp_policy = dataclasses.replace(
                policy,
                allowed_tee_types=frozenset({TEE_SEV_SNP}),
                allowed_measurements=None,
                allowed_registers={},
            )
            nested = Evidence(TEE_SEV_SNP, ev.tee_raw, ev.tee_certificates)
            snp = self._snp.verify(nested, now=now, policy=snp_policy)
            if not hmac.compare_digest(snp.report_data, report_data_for(ak.raw, AK_LABEL)):
                raise VerificationError("AK not bound: SEV-SNP report data is not the AK's")
            checks.append(Check("ak-bound-to-tee", f"SEV-SNP {snp.product} report binds the AK"))
            return snp
        if certificates:
            chain = load_certificates(certificates)
            path = verify_pkcs1_chain(chain, self._roots, at=now, crls=self._crls)
            _check_cert_key(chain[0], ak)
            checks.append(Check("ak-certified", f"AK certificate chain to {path[-1].subject}"))
            return None
        if hashlib.sha256(ak.raw).digest() in trust.pinned_aks:
            checks.append(Check("ak-pinned", "AK recorded by the operator"))
            return None
        raise VerificationError("AK not bound to a TEE report, a certificate or a pinned key")


def _check_cert_key(cert: Certificate, ak: TpmPublic) -> None:
    """The certificate's subject key is the AK."""
    if ak.type == ALG_RSA:
        ours = RsaPublicKey.from_numbers(ak.modulus, ak.exponent)
        if RsaPublicKey.from_certificate(cert).numbers() == ours.numbers():
            return
    elif ak.type == ALG_ECC:
        curve = Curve.P256 if len(ak.x) <= 32 else Curve.P384
        n = curve.size
        point = b"\x04" + ak.x.rjust(n, b"\x00") + ak.y.rjust(n, b"\x00")
        if cert.ec_public_key(curve).to_bytes() == point:
            return
    raise VerificationError("AK certificate is for another key")


def _quoted_banks(quotes: Sequence[Attest]) -> dict[int, tuple[int, ...]]:
    """The PCRs each bank's quote selects; one quote per bank."""
    out: dict[int, tuple[int, ...]] = {}
    for q in quotes:
        for sel in q.selections:
            if sel.hash_alg in out:
                raise VerificationError("a PCR bank is quoted twice")
            out[sel.hash_alg] = sel.indices
    return out


def _check_replay(
    log_banks: tuple[int, ...],
    replayed: dict[int, dict[int, bytes]],
    quoted: dict[int, tuple[int, ...]],
    ev: VtpmEvidence,
    allow_sha1: bool,
) -> tuple[int, ...]:
    """Step 5; returns the verified banks, strongest first."""
    verified = tuple(sorted((a for a in log_banks if a in quoted), key=lambda a: -HASH_SIZES[a]))
    if not verified or (not allow_sha1 and all(HASH_SIZES[a] == 20 for a in verified)):
        raise VerificationError("no PCR bank is both quoted and logged")
    for alg in verified:
        for index, value in replayed[alg].items():
            if index not in quoted[alg]:
                raise VerificationError("event log extends a PCR the quote does not cover")
            if not hmac.compare_digest(ev.pcrs[alg][index], value):
                raise VerificationError("PCR replay mismatch: event log does not give the PCRs")
    return verified


def _check_facts(facts: Facts, trust: VtpmTrust, checks: list[Check]) -> None:
    """Step 6."""
    if trust.require_secure_boot and facts.secure_boot is not True:
        raise PolicyError("secure boot is not enabled in the event log")
    if trust.allowed_kernel_cmdlines is not None and (
        facts.kernel_cmdline not in trust.allowed_kernel_cmdlines
    ):
        raise PolicyError("kernel command line not allowed by policy")
    root = verity_root(facts.kernel_cmdline)
    if trust.allowed_verity_roots is not None and root not in trust.allowed_verity_roots:
        raise PolicyError("image (dm-verity root) not allowed by policy")
    checks.append(
        Check(
            "boot-policy",
            f"secure boot {'on' if facts.secure_boot else 'unknown/off'}"
            + (f", image verity root {root[:16]}" if root else ""),
        )
    )


def _result(
    ak: TpmPublic,
    ev: VtpmEvidence,
    quoted: dict[int, tuple[int, ...]],
    verified: tuple[int, ...],
    snp: AttestationResult | None,
    checks: tuple[Check, ...],
) -> AttestationResult:
    strongest = verified[0]
    parts = [MEASUREMENT_LABEL, b"\x00", strongest.to_bytes(2, "big")]
    parts += [bytes([i]) + ev.pcrs[strongest][i] for i in quoted[strongest]]
    registers = {
        f"pcr{i}.{HASH_NAMES[alg]}": ev.pcrs[alg][i] for alg in verified for i in quoted[alg]
    }
    ak_name = f"TPM AK {ak.name().hex()[:16]}"
    return AttestationResult(
        tee_type=TEE_VTPM,
        measurement=hashlib.sha384(b"".join(parts)).digest(),
        report_data=ev.report_data,
        debug=snp.debug if snp is not None else False,
        tcb=dict(snp.tcb) if snp is not None else {},
        platform_id=snp.platform_id if snp is not None else b"",
        signer_chain=(ak_name, *(snp.signer_chain if snp is not None else ())),
        registers=registers,
        product=f"vTPM on SEV-SNP {snp.product}" if snp is not None else "vTPM",
        checks=checks,
    )
