"""Google Confidential Space attestation tokens, verified offline.

No genuine signed token exists offline: every token here is minted with exactly the claims of a
real one (../shared/vectors/attestation/confidential-space/cs_claims_sample_real.json,
PROVENANCE.md "Added 2026-12-02"), re-dated and bound to our node, under a *synthetic* test CA
that only these tests pin. The production default (no configured root) refuses.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json

import pytest

from attest_synthetic import T0
from gcp_kit import (
    AUDIENCE,
    CLAIMS,
    REPORT_DATA,
    b64url,
    cs_claims,
    cs_evidence,
    cs_trust,
    mint_token,
    real_cs_claims,
    synthetic_cs_pki,
)
from privcloud.attest import Policy, TrustRoots, check_claims, verify_evidence
from privcloud.attest.base import TEE_GCP_CONFIDENTIAL_SPACE, AttestationResult
from privcloud.attest.gcp import MEASUREMENT_LABEL, PKI_ROOT_ENDPOINT, production_roots
from privcloud.crypto.ecdsa import RsaPrivateKey
from privcloud.errors import ConfigError, PeerError, PolicyError, VerificationError

POLICY = Policy(allowed_tee_types=frozenset({TEE_GCP_CONFIDENTIAL_SPACE}))
DIGEST = real_cs_claims()["submods"]["container"]["image_digest"]


def verify(
    token: bytes,
    *,
    roots: TrustRoots | None = None,
    policy: Policy = POLICY,
    now: float = T0,
    report_data: bytes = REPORT_DATA,
) -> AttestationResult:
    roots = roots or TrustRoots(confidential_space=cs_trust())
    evidence = cs_evidence(token, report_data)
    return verify_evidence(evidence, now=now, policy=policy, roots=roots)


def test_minted_claims_have_exactly_the_real_shape() -> None:
    real, minted = real_cs_claims(), cs_claims()
    assert set(minted) == set(real) | {"eat_nonce"}
    assert minted["submods"] == real["submods"]


def test_synthetic_token_of_the_real_shape_verifies_and_binds_node_claims() -> None:
    result = verify(mint_token(cs_claims()))
    check_claims(result, CLAIMS)
    assert result.product == "GCP_AMD_SEV" and not result.debug
    assert result.tcb["swversion"] == 230600
    assert result.issued_at == T0 - 60
    expected = hashlib.sha384(MEASUREMENT_LABEL + b"\x00" + DIGEST.encode()).digest()
    assert hmac.compare_digest(result.measurement, expected)
    assert result.signer_chain[-1].startswith("CN=synthetic Confidential Space root,")
    assert [c.name for c in result.checks] == [
        "token-signature",
        "platform-claims",
        "nonce-binds-node",
    ]


def test_single_string_eat_nonce_binds_too() -> None:
    from privcloud.attest.gcp import nonce_for

    verify(mint_token(cs_claims(eat_nonce=nonce_for(REPORT_DATA))))


def test_every_byte_flip_in_the_signed_token_is_refused() -> None:
    token = mint_token(cs_claims())
    signed_end = token.rindex(b".")
    for i in range(0, len(token)):
        if i == signed_end:
            continue
        flipped = token[:i] + bytes([token[i] ^ 0x01]) + token[i + 1 :]
        with pytest.raises(PeerError):
            verify(flipped)


def test_non_canonical_base64url_signature_is_refused() -> None:
    """Spare bits set in the signature's last character: same bytes, another token text."""
    token = mint_token(cs_claims())
    head, sig = token.rsplit(b".", 1)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = bytes([alphabet[alphabet.index(sig[-1:]) ^ 1]])  # RSA-2048: 4 spare bits
    with pytest.raises(PeerError):
        verify(head + b"." + sig[:-1] + twin)


def test_token_from_an_unpinned_root_is_refused() -> None:
    """Same names, another key: a CA that is not the pinned one."""
    impostor = synthetic_cs_pki("synthetic Confidential Space root ")
    with pytest.raises(VerificationError, match="pinned root"):
        verify(mint_token(cs_claims(), pki=impostor))


def test_token_signed_by_a_key_other_than_the_x5c_leaf_is_refused() -> None:
    with pytest.raises(VerificationError, match="signature"):
        verify(mint_token(cs_claims(), key=RsaPrivateKey.generate(2048)))


def test_debug_token_is_refused() -> None:
    token = mint_token(cs_claims(dbgstat="enabled"))
    with pytest.raises(PolicyError, match="debug"):
        verify(token)
    assert verify(token, policy=dataclasses.replace(POLICY, allow_debug=True)).debug


def test_debug_image_without_support_attributes_is_refused() -> None:
    claims = cs_claims()
    claims["submods"]["confidential_space"]["support_attributes"] = []
    with pytest.raises(PolicyError, match="support attributes"):
        verify(mint_token(claims))


def test_wrong_image_digest_is_refused() -> None:
    trust = cs_trust(allowed_image_digests=frozenset({DIGEST}))
    verify(mint_token(cs_claims()), roots=TrustRoots(confidential_space=trust))
    claims = cs_claims()
    claims["submods"]["container"]["image_digest"] = "sha256:" + "ab" * 32
    with pytest.raises(PolicyError, match="image digest"):
        verify(mint_token(claims), roots=TrustRoots(confidential_space=trust))


def test_wrong_image_digest_gives_another_measurement_than_the_release() -> None:
    release = verify(mint_token(cs_claims())).measurement
    claims = cs_claims()
    claims["submods"]["container"]["image_digest"] = "sha256:" + "ab" * 32
    policy = dataclasses.replace(POLICY, allowed_measurements=frozenset({release}))
    with pytest.raises(PolicyError, match="measurement"):
        verify(mint_token(claims), policy=policy)


def test_expired_token_is_refused() -> None:
    with pytest.raises(VerificationError, match="expired"):
        verify(mint_token(cs_claims()), now=T0 + 2 * 3600)


def test_token_not_yet_valid_is_refused() -> None:
    with pytest.raises(VerificationError, match="not yet valid"):
        verify(mint_token(cs_claims()), now=T0 - 3600)


def _unsigned(header: dict[str, object], claims: dict[str, object], sig: bytes = b"") -> bytes:
    parts = (json.dumps(header).encode(), json.dumps(claims).encode(), sig)
    return ".".join(b64url(p) for p in parts).encode()


def test_alg_none_is_refused() -> None:
    with pytest.raises(VerificationError, match="algorithm not allowed"):
        verify(_unsigned({"alg": "none", "typ": "JWT"}, cs_claims()))


def test_alg_confusion_hs256_with_the_leaf_key_as_secret_is_refused() -> None:
    pki = synthetic_cs_pki()
    header = {"alg": "HS256", "typ": "JWT", "x5c": [base64.b64encode(pki.leaf.der).decode()]}
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(cs_claims()).encode())
    mac = hmac.new(pki.leaf.der, head.encode(), hashlib.sha256).digest()
    with pytest.raises(VerificationError, match="algorithm not allowed"):
        verify((head + "." + b64url(mac)).encode())


@pytest.mark.parametrize("alg", ["PS256", "ES256", "RS384", "rs256", None])
def test_any_other_alg_is_refused(alg: str | None) -> None:
    with pytest.raises(VerificationError, match="algorithm not allowed"):
        verify(mint_token(cs_claims(), header={"alg": alg}))


def test_crit_header_is_refused() -> None:
    with pytest.raises(VerificationError, match="header"):
        verify(mint_token(cs_claims(), header={"crit": ["exp"]}))


@pytest.mark.parametrize(
    ("claim", "value", "error"),
    [
        ("aud", "https://sts.googleapis.com", VerificationError),
        ("iss", "https://attacker.example", VerificationError),
        ("swname", "GCE", PolicyError),
        ("hwmodel", "GCP_SHIELDED_VM", PolicyError),
        ("secboot", False, PolicyError),
        ("oemid", 1, VerificationError),
        ("exp", "later", VerificationError),
    ],
)
def test_claim_outside_policy_is_refused(claim: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(mint_token(cs_claims(**{claim: value})))


def test_token_nonce_not_binding_the_node_key_is_refused() -> None:
    token = mint_token(cs_claims(report_data=bytes(64)))
    with pytest.raises(VerificationError, match="nonce does not bind"):
        verify(token)


def test_token_replayed_for_another_nodes_report_data_is_refused() -> None:
    with pytest.raises(VerificationError, match="nonce does not bind"):
        verify(mint_token(cs_claims()), report_data=bytes(64))


def test_production_default_refuses_and_names_what_to_configure() -> None:
    token = mint_token(cs_claims())
    with pytest.raises(PolicyError, match="TEE type not allowed"):
        verify(token, roots=TrustRoots.pinned(), policy=Policy())
    with pytest.raises(VerificationError, match="no Confidential Space root configured"):
        verify(token, roots=TrustRoots.pinned())
    with pytest.raises(ConfigError, match="attestation-pki-root"):
        production_roots()
    assert PKI_ROOT_ENDPOINT.startswith("https://confidentialcomputing.googleapis.com/")


def test_audience_in_a_list_is_accepted() -> None:
    verify(mint_token(cs_claims(aud=["https://other.example", AUDIENCE])))


@pytest.mark.parametrize(
    "overrides",
    [
        {"eat_nonce": ["\u00e9" * 20, "\ud800"]},
        {"exp": 10**400},
        {"iat": -1},
    ],
)
def test_hostile_claim_values_are_refused_with_our_errors(overrides: dict[str, object]) -> None:
    with pytest.raises(PeerError):
        verify(mint_token(cs_claims(**overrides)))


def test_non_numeric_swversion_gives_no_tcb_component() -> None:
    assert "swversion" not in verify(mint_token(cs_claims(swversion=["\u00b2"]))).tcb


def test_support_attributes_of_the_wrong_type_are_refused() -> None:
    claims = cs_claims()
    claims["submods"]["confidential_space"]["support_attributes"] = [{"STABLE": 1}]
    with pytest.raises(VerificationError, match="support attributes"):
        verify(mint_token(claims))
