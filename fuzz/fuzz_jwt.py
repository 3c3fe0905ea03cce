"""Fuzz target: Google Confidential Space attestation tokens (attest/gcp.py).

Operations: ``parse_token`` (compact JWS, header, claims, x5c); ``verify``: the whole
verifier at :data:`fuzz.fixtures.T0` (input: 64 bytes of report data, then the token) with the
fixed *synthetic* test CA of this module pinned, so that good tokens pass every step; and
``claims``: a claims JSON document through the claim, platform and nonce checks (what follows a
valid signature, which mutated tokens rarely reach).
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any, Final

from fuzz import fixtures, harness
from privcloud.attest.base import TEE_GCP_CONFIDENTIAL_SPACE, Evidence, Policy
from privcloud.attest.gcp import (
    ConfidentialSpaceTrust,
    ConfidentialSpaceVerifier,
    check_token_claims,
    json_object,
    nonce_for,
    parse_token,
)
from privcloud.crypto.ecdsa import RsaPrivateKey
from privcloud.crypto.pkcs1 import Hash, rsa_sign
from privcloud.crypto.x509 import Certificate
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate

AUDIENCE: Final = "https://privcloud.example/attestation"
REPORT_DATA: Final = bytes(range(64))
POLICY: Final = Policy(allowed_tee_types=frozenset({TEE_GCP_CONFIDENTIAL_SPACE}), allow_debug=True)
_YEAR: Final = 365 * 86400.0


@cache
def pki() -> tuple[tuple[Certificate, ...], RsaPrivateKey]:
    """The synthetic chain (leaf, intermediate, root) and the leaf's key, fixed keys."""
    keys = [fixtures._rsa_key(f"synthetic cs {n}") for n in ("root", "mid", "leaf")]
    certs: list[Certificate] = []
    for i, name in enumerate(("root", "intermediate", "signer")):
        req = CertificateRequest(
            f"synthetic Confidential Space {name}",
            fixtures.T0 - _YEAR,
            fixtures.T0 + _YEAR,
            serial=i + 1,
            ca=i < 2,
        )
        issuer = certs[-1] if certs else None
        certs.append(
            build_certificate(
                req, keys[i], issuer=issuer, issuer_key=keys[max(i - 1, 0)], rsa_pss=False
            )
        )
    return tuple(reversed(certs)), keys[2]


@cache
def _verifier() -> ConfidentialSpaceVerifier:
    root = pki()[0][-1]
    return ConfidentialSpaceVerifier(ConfidentialSpaceTrust((root,), AUDIENCE))


def claims(**overrides: Any) -> dict[str, Any]:
    """Claims of the real token's shape (cs_claims_sample_real.json), dated at T0."""
    t = int(fixtures.T0)
    out: dict[str, Any] = {
        "aud": AUDIENCE,
        "exp": t + 3600,
        "iat": t,
        "nbf": t,
        "iss": "https://confidentialcomputing.googleapis.com",
        "sub": "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
        "eat_nonce": [nonce_for(REPORT_DATA)],
        "secboot": True,
        "oemid": 11129,
        "hwmodel": "GCP_AMD_SEV",
        "swname": "CONFIDENTIAL_SPACE",
        "swversion": ["230600"],
        "dbgstat": "disabled-since-boot",
        "google_service_accounts": ["svc@p.iam.gserviceaccount.com"],
        "submods": {
            "container": {
                "image_reference": "example/image@sha256:" + "60" * 32,
                "image_digest": "sha256:" + "60" * 32,
                "restart_policy": "Never",
                "image_id": "sha256:" + "30" * 32,
                "env_override": None,
                "cmd_override": None,
                "env": {"HOSTNAME": "i"},
                "args": ["/bootstrap"],
            },
            "gce": {"zone": "z", "project_id": "p", "instance_name": "i", "instance_id": "1"},
            "confidential_space": {"support_attributes": ["LATEST", "STABLE", "USABLE"]},
        },
    }
    out.update(overrides)
    return out


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(body: dict[str, Any]) -> bytes:
    chain, key = pki()
    header = {
        "alg": "RS256",
        "typ": "JWT",
        "x5c": [base64.b64encode(c.der).decode() for c in chain],
    }
    signed = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(body).encode())
    return (signed + "." + _b64url(rsa_sign(key, signed.encode(), Hash.SHA256))).encode()


def _verify(data: bytes) -> None:
    evidence = Evidence(TEE_GCP_CONFIDENTIAL_SPACE, data)
    _verifier().verify(evidence, now=fixtures.T0, policy=POLICY)


def _claims(data: bytes) -> None:
    trust = ConfidentialSpaceTrust(pki()[0][-1:], AUDIENCE)
    check_token_claims(json_object(data), REPORT_DATA, trust, now=fixtures.T0, skew=300.0)


OPS: harness.Ops = (("parse_token", parse_token), ("verify", _verify), ("claims", _claims))


def own_seeds() -> list[bytes]:
    tokens = [token(claims()), token(claims(dbgstat="enabled", eat_nonce=nonce_for(REPORT_DATA)))]
    documents = [json.dumps(claims()).encode(), json.dumps(claims(dbgstat="enabled")).encode()]
    return (
        [harness.seed(OPS, "parse_token", t) for t in tokens]
        + [harness.seed(OPS, "verify", REPORT_DATA + t) for t in tokens]
        + [harness.seed(OPS, "claims", d) for d in documents]
    )


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
