"""Builders for vTPM and Confidential Space tests: the real vectors, and synthetic evidence.

Real (../shared/vectors/PROVENANCE.md, "Added 2026-12-02"):
* ``attestation/tpm/windows_gcp_shielded_vm.json`` — a GCP Shielded VM's AK (RSA-2048,
  RSASSA-SHA1), one SHA-1 quote of all 24 PCRs, the PCR values and a SHA-1 event log
  (google/go-attestation ``attest/testdata``);
* ``attestation/tpm/cos-101-amd-sev.bin`` — a COS 101 confidential VM's crypto-agile log
  (SHA-1, SHA-256, SHA-384 banks) (google/go-tpm-tools ``internal/test/eventlogs``);
* ``attestation/confidential-space/cs_claims_sample_real.json`` — the claims of a real token.

Synthetic (named so): attestation keys made here quote the PCRs that the real COS log replays
to, and a test CA ("synthetic Confidential Space root") signs tokens of the real claim shape.
No genuine signed token exists offline, and the real quote's nonce binds no key of ours.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from attest_synthetic import T0
from privcloud.attest.base import TEE_GCP_CONFIDENTIAL_SPACE, TEE_VTPM, Evidence, NodeClaims
from privcloud.attest.gcp import ConfidentialSpaceTrust, nonce_for
from privcloud.attest.tpm import structures as st
from privcloud.attest.tpm.eventlog import parse_event_log, replay
from privcloud.attest.tpm.evidence import Quote, VtpmEvidence, encode_container
from privcloud.attest.tpm.quote import pcr_composite
from privcloud.crypto.ecdsa import Curve, EcPrivateKey, RsaPrivateKey
from privcloud.crypto.pkcs1 import Hash, rsa_public_numbers, rsa_sign
from privcloud.crypto.x509 import Certificate
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from vectors import shared_vector

YEAR = 365 * 86400.0
#: A node's claims, for binding tests.
CLAIMS = NodeClaims(b"\x01" * 32, int(T0), "eu-west", "gcp", (0x20, 1, 3))
REPORT_DATA = CLAIMS.report_data()


# --- real vectors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RealShieldedVm:
    ak_public: bytes
    quote: bytes
    signature: bytes
    pcrs: dict[int, dict[int, bytes]]
    event_log: bytes


@cache
def real_shielded_vm() -> RealShieldedVm:
    doc = json.loads(
        shared_vector("attestation", "tpm", "windows_gcp_shielded_vm.json").read_text()
    )
    b64 = base64.b64decode
    assert {p["DigestAlg"] for p in doc["Log"]["PCRs"]} == {3}  # Go's crypto.SHA1
    pcrs = {st.ALG_SHA1: {p["Index"]: b64(p["Digest"]) for p in doc["Log"]["PCRs"]}}
    return RealShieldedVm(
        b64(doc["AK"]["Public"]),
        b64(doc["Quote"]["Quote"]),
        b64(doc["Quote"]["Signature"]),
        pcrs,
        b64(doc["Log"]["Raw"]),
    )


@cache
def real_cos_log() -> bytes:
    return shared_vector("attestation", "tpm", "cos-101-amd-sev.bin").read_bytes()


@cache
def real_cs_claims() -> dict[str, Any]:
    path = shared_vector("attestation", "confidential-space", "cs_claims_sample_real.json")
    claims: dict[str, Any] = json.loads(path.read_text())
    return claims


# --- synthetic vTPM --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticAk:
    """A test attestation key and its TPMT_PUBLIC."""

    key: RsaPrivateKey | EcPrivateKey
    public: bytes

    def sign(self, data: bytes) -> bytes:
        """A TPMT_SIGNATURE over ``data`` (RSASSA-SHA256 or ECDSA-P256-SHA256)."""
        if isinstance(self.key, RsaPrivateKey):
            sig = rsa_sign(self.key, data, Hash.SHA256)
            return st.encode_signature(st.Signature(st.ALG_RSASSA, st.ALG_SHA256, sig=sig))
        raw = self.key.sign(data)
        return st.encode_signature(
            st.Signature(st.ALG_ECDSA, st.ALG_SHA256, r=raw[:32], s=raw[32:])
        )


@cache
def synthetic_ak(kind: str = "rsa", attributes: int = st.AK_ATTRIBUTES) -> SyntheticAk:
    if kind == "rsa":
        key = RsaPrivateKey.generate(2048)
        n, e = rsa_public_numbers(key)
        public = st.encode_public(
            key_type=st.ALG_RSA,
            name_alg=st.ALG_SHA256,
            attributes=attributes,
            scheme=st.ALG_RSASSA,
            scheme_hash=st.ALG_SHA256,
            modulus=n,
            exponent=e,
        )
        return SyntheticAk(key, public)
    ec = EcPrivateKey.generate(Curve.P256)
    point = ec.public_key().to_bytes()
    public = st.encode_public(
        key_type=st.ALG_ECC,
        name_alg=st.ALG_SHA256,
        attributes=attributes,
        scheme=st.ALG_ECDSA,
        scheme_hash=st.ALG_SHA256,
        curve=st.ECC_NIST_P256,
        x=point[1:33],
        y=point[33:],
    )
    return SyntheticAk(ec, public)


def cos_pcrs() -> dict[int, dict[int, bytes]]:
    """All 24 PCRs of the SHA-256 bank as the real COS log leaves them (reset values elsewhere)."""
    replayed = replay(parse_event_log(real_cos_log()))[st.ALG_SHA256]
    bank = {i: bytes(32) for i in range(24)}
    bank.update({i: b"\xff" * 32 for i in range(17, 23)})
    bank.update(replayed)
    return {st.ALG_SHA256: bank}


def mint_quote(
    ak: SyntheticAk,
    pcrs: dict[int, dict[int, bytes]],
    extra_data: bytes,
    *,
    bank: int = st.ALG_SHA256,
    indices: tuple[int, ...] = tuple(range(24)),
    **attest_fields: Any,
) -> Quote:
    """A quote by ``ak`` of ``indices`` in ``bank`` over ``pcrs``, with ``extra_data``."""
    selection = (st.PcrSelection(bank, indices),)
    probe = st.parse_attest(
        st.encode_attest(extra_data=b"", selections=selection, pcr_digest=bytes(32))
    )
    digest = pcr_composite(probe, pcrs, st.ALG_SHA256)
    attest = st.encode_attest(
        extra_data=extra_data, selections=selection, pcr_digest=digest, **attest_fields
    )
    return Quote(attest, ak.sign(attest))


def vtpm_container(
    ak: SyntheticAk,
    *,
    report_data: bytes = REPORT_DATA,
    extra_data: bytes | None = None,
    pcrs: dict[int, dict[int, bytes]] | None = None,
    quoted_pcrs: dict[int, dict[int, bytes]] | None = None,
    event_log: bytes | None = None,
    tee: tuple[str, bytes, bytes] = ("", b"", b""),
) -> VtpmEvidence:
    """Synthetic vTPM evidence: the real COS log, a quote of its PCRs by ``ak``."""
    pcrs = cos_pcrs() if pcrs is None else pcrs
    nonce = hashlib.sha256(report_data).digest() if extra_data is None else extra_data
    quote = mint_quote(ak, quoted_pcrs if quoted_pcrs is not None else pcrs, nonce)
    log = real_cos_log() if event_log is None else event_log
    return VtpmEvidence(ak.public, report_data, (quote,), pcrs, log, *tee)


def vtpm_evidence(ev: VtpmEvidence, certificates: bytes = b"") -> Evidence:
    return Evidence(TEE_VTPM, encode_container(ev), certificates)


# --- synthetic Confidential Space ------------------------------------------------------------

AUDIENCE = "https://privcloud.example/attestation"


@dataclass(frozen=True)
class SyntheticCsPki:
    """A test CA in the shape of Google's: root, intermediate, signing leaf (all RSA)."""

    root: Certificate
    intermediate: Certificate
    leaf: Certificate
    leaf_key: RsaPrivateKey


def _ca(
    name: str,
    key: RsaPrivateKey,
    issuer: tuple[Certificate, RsaPrivateKey] | None,
    *,
    ca: bool,
    not_after: float = T0 + 10 * YEAR,
) -> Certificate:
    req = CertificateRequest(name, T0 - YEAR, not_after, ca=ca, organization="synthetic")
    parent, parent_key = issuer if issuer is not None else (None, key)
    return build_certificate(req, key, issuer=parent, issuer_key=parent_key, rsa_pss=False)


@cache
def synthetic_cs_pki(label: str = "synthetic Confidential Space root") -> SyntheticCsPki:
    root_key, mid_key, leaf_key = (RsaPrivateKey.generate(2048) for _ in range(3))
    root = _ca(label, root_key, None, ca=True)
    mid = _ca("synthetic Confidential Space intermediate", mid_key, (root, root_key), ca=True)
    leaf = _ca("synthetic Confidential Space signer", leaf_key, (mid, mid_key), ca=False)
    return SyntheticCsPki(root, mid, leaf, leaf_key)


def cs_trust(**overrides: Any) -> ConfidentialSpaceTrust:
    fields: dict[str, Any] = {"roots": (synthetic_cs_pki().root,), "audience": AUDIENCE}
    fields.update(overrides)
    return ConfidentialSpaceTrust(**fields)


def cs_claims(report_data: bytes = REPORT_DATA, **overrides: Any) -> dict[str, Any]:
    """The real token's claims, re-dated around T0, for our audience, binding ``report_data``."""
    claims = copy.deepcopy(real_cs_claims())
    claims.update(
        aud=AUDIENCE,
        iat=int(T0) - 60,
        nbf=int(T0) - 60,
        exp=int(T0) + 3540,
        eat_nonce=[nonce_for(report_data)],
    )
    claims.update(overrides)
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(
    claims: dict[str, Any],
    *,
    pki: SyntheticCsPki | None = None,
    header: dict[str, Any] | None = None,
    key: RsaPrivateKey | None = None,
) -> bytes:
    """A compact RS256 JWS with x5c = leaf, intermediate, root."""
    pki = pki or synthetic_cs_pki()
    head = {
        "alg": "RS256",
        "kid": "synthetic",
        "typ": "JWT",
        "x5c": [base64.b64encode(c.der).decode() for c in (pki.leaf, pki.intermediate, pki.root)],
    }
    head.update(header or {})
    signed = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = rsa_sign(key or pki.leaf_key, signed.encode(), Hash.SHA256)
    return (signed + "." + b64url(sig)).encode()


def cs_evidence(token: bytes, report_data: bytes = REPORT_DATA) -> Evidence:
    return Evidence(TEE_GCP_CONFIDENTIAL_SPACE, report_data + token)
