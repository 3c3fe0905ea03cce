"""Intel TCB Info (v3, and the TDX 1.5 form with module identities) and QE Identity: the real
PCS responses of ../shared/vectors carry Intel's own signatures over exactly the bytes we
extract; every byte flip in a signed region is refused; the attacks on collateral are refused.

Provenance: ../shared/vectors/PROVENANCE.md (sample_tcbInfo_response, sample_qeIdentity_response,
sample_tcbinfo_response_v5, rootcrl.der: google/go-tdx-guest testing/testdata). The TCB Signing
certificate is not among them: see tests/support/intel_collateral_kit.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from attest_synthetic import T0, intel_name, pem, synthetic_intel
from intel_collateral_kit import (
    T_V5,
    build_tdx_quote_v5,
    real,
    real_collateral_v3,
    real_content,
    real_key_chain,
    real_tcb_signing_public_key,
    sign_document,
    signing_material,
    synthetic_collateral,
    synthetic_tcb_info,
)
from privcloud import limits
from privcloud.attest import TEE_TDX, Evidence, Policy, TrustRoots, verify_evidence
from privcloud.attest.intel_collateral import IntelCollateral, SignedDocument
from privcloud.crypto.x509 import Curve, EcPrivateKey, load_crl
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.errors import (
    DecodeError,
    PeerError,
    PolicyError,
    TooLargeError,
    UsageError,
    VerificationError,
)

_TEST_ROOTS = (synthetic_intel().root,)
_DOCS = {
    "tcb-info-v3": ("sample_tcbInfo_response", "tcbInfo", T0),
    "tcb-info-v5": ("sample_tcbinfo_response_v5", "tcbInfo", T_V5),
    "qe-identity": ("sample_qeIdentity_response", "enclaveIdentity", T0),
}


def _doc(name: str) -> tuple[bytes, str, float]:
    file, member, at = _DOCS[name]
    return real(file), member, at


def test_real_documents_are_signed_by_one_intel_key() -> None:
    # The key the three real documents share is Intel's TCB Signing key (SEC1, P-256).
    key = real_tcb_signing_public_key()
    assert key.hex().startswith("0443451bcc73c9d5917caf766e61af3fe98087dd")


@pytest.mark.parametrize("name", sorted(_DOCS))
def test_real_document_verifies_at_a_time_inside_its_validity(name: str) -> None:
    body, member, at = _doc(name)
    doc = SignedDocument.parse(body, real_key_chain(), member)
    doc.verify(_TEST_ROOTS, now=at, crls=())
    # Intel's root CRL of 2023 lists no TCB Signing certificate; it is for the real root only.
    assert load_crl(real("rootcrl.der")).issuer.endswith("CN=Intel SGX Root CA")


@pytest.mark.parametrize("name", sorted(_DOCS))
def test_byte_flip_in_signed_collateral_body_is_refused(name: str) -> None:
    body, member, at = _doc(name)
    start = len(member) + 4
    end = body.rindex(b',"signature":"')
    assert body[start : start + 1] == b"{" and body[end - 1 : end] == b"}"
    chain = real_key_chain()
    for offset in range(start, end):
        evil = body[:offset] + bytes([body[offset] ^ 1]) + body[offset + 1 :]
        with pytest.raises(PeerError):
            SignedDocument.parse(evil, chain, member).verify(_TEST_ROOTS, now=at, crls=())


def test_tcb_info_signature_invalid_is_refused() -> None:
    body, member, at = _doc("tcb-info-v3")
    cut = body.rindex(b'"}') - 1
    evil = body[:cut] + (b"0" if body[cut : cut + 1] != b"0" else b"1") + body[cut + 1 :]
    with pytest.raises(VerificationError):
        SignedDocument.parse(evil, real_key_chain(), member).verify(_TEST_ROOTS, now=at, crls=())
    # A valid signature by another key under the same root.
    other = sign_document(member, real_content("sample_tcbInfo_response", member))
    with pytest.raises(VerificationError):
        SignedDocument.parse(other, real_key_chain(), member).verify(_TEST_ROOTS, now=at, crls=())


def test_tcb_info_expired_is_refused() -> None:
    body, member, _ = _doc("tcb-info-v3")
    doc = SignedDocument.parse(body, real_key_chain(), member)
    doc.verify(_TEST_ROOTS, now=doc.next_update, crls=())
    with pytest.raises(VerificationError):
        doc.verify(_TEST_ROOTS, now=doc.next_update + 1, crls=())
    with pytest.raises(VerificationError):
        doc.verify(_TEST_ROOTS, now=doc.issue_date - 1, crls=())
    # Through the verifier: the whole quote is refused once the collateral is stale.
    intel = synthetic_intel()
    info = synthetic_tcb_info(next_update="2023-06-19T00:00:00Z")
    roots = TrustRoots(intel=_TEST_ROOTS, intel_collateral=synthetic_collateral(info))
    with pytest.raises(VerificationError):
        verify_evidence(
            Evidence(TEE_TDX, build_tdx_quote_v5(intel)), now=T0, policy=Policy(), roots=roots
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrsigner", "00" * 32),
        ("isvprodid", 3),
        ("attributes", "13" + "00" * 15),
        ("miscselect", "00000001"),
    ],
)
def test_qe_identity_mismatch_is_refused(field: str, value: Any) -> None:
    intel = synthetic_intel()
    qe = real_content("sample_qeIdentity_response", "enclaveIdentity")
    qe[field] = value
    roots = TrustRoots(intel=_TEST_ROOTS, intel_collateral=synthetic_collateral(qe_identity=qe))
    with pytest.raises(VerificationError) as exc:
        verify_evidence(
            Evidence(TEE_TDX, build_tdx_quote_v5(intel)), now=T0, policy=Policy(), roots=roots
        )
    assert not isinstance(exc.value, PolicyError)


def test_quoting_enclave_out_of_date_makes_the_tcb_out_of_date() -> None:
    intel = synthetic_intel()
    qe = real_content("sample_qeIdentity_response", "enclaveIdentity")
    qe["tcbLevels"] = [
        {"tcb": {"isvsvn": 8}, "tcbDate": "2023-06-01T00:00:00Z", "tcbStatus": "UpToDate"},
        {
            "tcb": {"isvsvn": 2},
            "tcbDate": "2023-01-01T00:00:00Z",
            "tcbStatus": "OutOfDate",
            "advisoryIDs": ["INTEL-SA-00999"],
        },
    ]
    roots = TrustRoots(intel=_TEST_ROOTS, intel_collateral=synthetic_collateral(qe_identity=qe))
    quote = Evidence(TEE_TDX, build_tdx_quote_v5(intel))
    with pytest.raises(PolicyError):
        verify_evidence(quote, now=T0, policy=Policy(), roots=roots)
    allow = Policy(allowed_tcb_statuses=frozenset({"OutOfDate"}))
    result = verify_evidence(quote, now=T0, policy=allow, roots=roots)
    assert (result.tcb_status, result.advisory_ids) == ("OutOfDate", ("INTEL-SA-00999",))
    qe["tcbLevels"] = qe["tcbLevels"][:1]  # the QE's ISVSVN 4 reaches no level
    roots = TrustRoots(intel=_TEST_ROOTS, intel_collateral=synthetic_collateral(qe_identity=qe))
    with pytest.raises(VerificationError):
        verify_evidence(quote, now=T0, policy=allow, roots=roots)


def _lookalike_chain() -> tuple[EcPrivateKey, bytes]:
    """A root and TCB Signing certificate with Intel's exact names, pinned nowhere."""
    root_key, key = EcPrivateKey.generate(Curve.P256), EcPrivateKey.generate(Curve.P256)
    start, end = T0 - 86400, T0 + 86400
    cn = "Intel SGX Root CA"
    root = build_certificate(
        CertificateRequest(cn, start, end, ca=True, name=intel_name(cn)),
        root_key,
        issuer=None,
        issuer_key=root_key,
    )
    cn = "Intel SGX TCB Signing"
    leaf = build_certificate(
        CertificateRequest(cn, start, end, serial=2, name=intel_name(cn)),
        key,
        issuer=root,
        issuer_key=root_key,
    )
    return key, pem(leaf) + pem(root)


def test_collateral_signed_by_unpinned_root_is_refused() -> None:
    key, chain = _lookalike_chain()
    info = sign_document("tcbInfo", synthetic_tcb_info(), key)
    qe = sign_document(
        "enclaveIdentity", real_content("sample_qeIdentity_response", "enclaveIdentity"), key
    )
    collateral = IntelCollateral.from_pcs(tcb_infos=[(info, chain)], qe_identity=(qe, chain))
    roots = TrustRoots(intel=_TEST_ROOTS, intel_collateral=collateral)
    quote = Evidence(TEE_TDX, build_tdx_quote_v5(synthetic_intel()))
    with pytest.raises(VerificationError):
        verify_evidence(quote, now=T0, policy=Policy(), roots=roots)
    # The real documents through a chain to the test root, trusting only the pinned Intel root.
    doc = SignedDocument.parse(real("sample_tcbInfo_response"), real_key_chain(), "tcbInfo")
    with pytest.raises(VerificationError):
        doc.verify(TrustRoots.pinned().intel, now=T0, crls=())


def test_collateral_signed_by_a_pck_ca_instead_of_tcb_signing_is_refused() -> None:
    intel = synthetic_intel()
    chain = pem(intel.ca) + pem(intel.root)
    body = sign_document("tcbInfo", synthetic_tcb_info(), intel.ca_key)
    with pytest.raises(VerificationError):
        SignedDocument.parse(body, chain, "tcbInfo").verify(_TEST_ROOTS, now=T0, crls=())


def test_real_v3_collateral_reports_the_real_v4_quote_unsupported() -> None:
    # The SPR quote's PCK (SGX components 3,3,2,2,2,1,0,2) is below every level of the 2023
    # TCB Info (5,5,2,2,3,1,0,3): Intel's rules give "not supported", which is refused.
    from attest_synthetic import real_tdx_quote

    roots = TrustRoots(
        intel=(TrustRoots.pinned().intel[0], *_TEST_ROOTS), intel_collateral=real_collateral_v3()
    )
    with pytest.raises(VerificationError):
        verify_evidence(Evidence(TEE_TDX, real_tdx_quote()), now=T0, policy=Policy(), roots=roots)


def _mutated(change: Any) -> bytes:
    doc = json.loads(real("sample_tcbInfo_response"))
    change(doc["tcbInfo"])
    return sign_document("tcbInfo", doc["tcbInfo"])


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"tcbInfo":{},"signature":"00"}',
        b'{"tcbInfo":1,"signature":"' + b"0" * 128 + b'"}',
        b'{"signature":"' + b"0" * 128 + b'","tcbInfo":{}}',
        b'{"tcbInfo":{"a":1},"tcbInfo":{"a":1},"signature":"' + b"0" * 128 + b'"}',
        b'{"tcbInfo":{"a":1.5},"signature":"' + b"0" * 128 + b'"}',
        b'{"tcbInfo":{"a":1},"signature":"' + b"0" * 128 + b'","x":1}',
        b'{ "tcbInfo":{"a":1},"signature":"' + b"0" * 128 + b'"}',
        b"\xff",
        b"[" * 10000,
    ],
)
def test_malformed_collateral_document_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        SignedDocument.parse(body, signing_material()[2], "tcbInfo")


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.update(id="SGX"),
        lambda t: t.update(version=2),
        lambda t: t.update(fmspc="50806f00"),
        lambda t: t.update(issueDate="2023-13-01T00:00:00Z"),
        lambda t: t.update(nextUpdate="tomorrow"),
        lambda t: t["tcbLevels"][0].update(tcbStatus="Fine"),
        lambda t: t["tcbLevels"][0]["tcb"]["sgxtcbcomponents"].pop(),
        lambda t: t["tcbLevels"][0]["tcb"].update(pcesvn=-1),
        lambda t: t["tcbLevels"][0]["tcb"].update(pcesvn=True),
        lambda t: t["tcbLevels"][0].update(advisoryIDs=[1]),
        lambda t: t["tdxModule"].update(mrsigner="00"),
    ],
)
def test_malformed_tcb_info_content_is_a_decode_error(change: Any) -> None:
    chain = signing_material()[2]
    with pytest.raises(DecodeError):
        IntelCollateral.from_pcs(
            tcb_infos=[(_mutated(change), chain)],
            qe_identity=(real("sample_qeIdentity_response"), real_key_chain()),
        )


def test_oversized_collateral_is_refused() -> None:
    big = b'{"tcbInfo":' + b" " * limits.MAX_INTEL_COLLATERAL_BYTES + b"}"
    with pytest.raises(TooLargeError):
        SignedDocument.parse(big, signing_material()[2], "tcbInfo")
    levels = synthetic_tcb_info()
    levels["tcbLevels"] = levels["tcbLevels"] * (limits.MAX_INTEL_TCB_LEVELS // 2 + 1)
    with pytest.raises(TooLargeError):
        synthetic_collateral(levels)


def test_two_tcb_infos_for_one_fmspc_are_a_usage_error() -> None:
    chain = signing_material()[2]
    info = sign_document("tcbInfo", synthetic_tcb_info())
    qe = (real("sample_qeIdentity_response"), real_key_chain())
    with pytest.raises(UsageError):
        IntelCollateral.from_pcs(tcb_infos=[(info, chain), (info, chain)], qe_identity=qe)
