"""vTPM quotes: the real GCP Shielded VM quote set (signature, PCR digest, event-log replay), the
real COS confidential-VM log, and synthetic quotes by test AKs over the PCRs that real log
replays to, for binding and policy; each attack named after itself.

Provenance: ../shared/vectors/PROVENANCE.md, "Added 2026-12-02" (windows_gcp_shielded_vm.json
from google/go-attestation, cos-101-amd-sev.bin from google/go-tpm-tools); see
tests/support/gcp_kit.py for what is real and what is synthetic.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from attest_synthetic import T0, make_vcek, synthetic_amd, synthetic_snp_report
from gcp_kit import (
    CLAIMS,
    YEAR,
    cos_pcrs,
    real_cos_log,
    real_shielded_vm,
    synthetic_ak,
    vtpm_container,
    vtpm_evidence,
)
from privcloud.attest import (
    TEE_SEV_SNP,
    AttestationResult,
    NodeClaims,
    Policy,
    TrustRoots,
    check_claims,
    report_data_for,
    verify_evidence,
)
from privcloud.attest.base import TEE_VTPM
from privcloud.attest.tpm import structures as st
from privcloud.attest.tpm.eventlog import (
    EV_EFI_VARIABLE_DRIVER_CONFIG,
    Event,
    encode_event_log,
    parse_event_log,
    read_facts,
    replay,
)
from privcloud.attest.tpm.quote import verify_quote
from privcloud.attest.tpm.verifier import AK_LABEL, VtpmTrust, gce_ak_root, verity_root
from privcloud.crypto.ecdsa import RsaPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.errors import (
    ConfigError,
    DecodeError,
    PeerError,
    PolicyError,
    VerificationError,
)

POLICY = Policy(allowed_tee_types=frozenset({TEE_VTPM}))
COS_VERITY_ROOT = "48d436350a7e83bde985cd3f7e79fa443557743b42243803ce31104ca4719c5d"


def pinned(ak_public: bytes, **fields: object) -> TrustRoots:
    trust = VtpmTrust(pinned_aks=frozenset({hashlib.sha256(ak_public).digest()}), **fields)  # type: ignore[arg-type]
    return TrustRoots(vtpm=trust)


def verify(ev, roots: TrustRoots, certificates: bytes = b"", policy: Policy = POLICY):  # type: ignore[no-untyped-def]
    return verify_evidence(vtpm_evidence(ev, certificates), now=T0, policy=policy, roots=roots)


# --- the real Shielded VM quote set ----------------------------------------------------------


def test_real_shielded_vm_quote_signature_and_pcr_digest_verify() -> None:
    real = real_shielded_vm()
    ak = st.parse_public(real.ak_public)
    attest = verify_quote(ak, real.quote, real.signature, real.pcrs, allow_sha1=True)
    assert attest.selections == (st.PcrSelection(st.ALG_SHA1, tuple(range(24))),)
    assert attest.extra_data == b""  # the real quote's nonce binds nothing of ours


def test_real_shielded_vm_event_log_replays_to_the_quoted_pcrs() -> None:
    real = real_shielded_vm()
    log = parse_event_log(real.event_log)
    assert not log.crypto_agile and log.banks == (st.ALG_SHA1,)
    replayed = replay(log)[st.ALG_SHA1]
    assert set(replayed) == {0, 4, 5, 7, 11, 12, 13, 14}
    for index, value in replayed.items():
        assert real.pcrs[st.ALG_SHA1][index] == value
    assert read_facts(log).secure_boot is True


def test_real_sha1_quote_is_refused_unless_sha1_is_allowed() -> None:
    real = real_shielded_vm()
    ak = st.parse_public(real.ak_public)
    with pytest.raises(VerificationError, match="hash not allowed"):
        verify_quote(ak, real.quote, real.signature, real.pcrs)


def test_real_quote_nonce_binds_no_node_key_so_full_verification_refuses() -> None:
    """The real set verifies up to step 4 (with its AK pinned, SHA-1 allowed) and stops there:
    its extraData is empty, so no node key is bound."""
    real = real_shielded_vm()
    ev = vtpm_container(synthetic_ak())
    ev = dataclasses.replace(
        ev,
        ak_public=real.ak_public,
        quotes=(type(ev.quotes[0])(real.quote, real.signature),),
        pcrs=real.pcrs,
        event_log=real.event_log,
    )
    with pytest.raises(VerificationError, match="nonce does not bind"):
        verify(ev, pinned(real.ak_public, allow_sha1=True, require_secure_boot=True))


@pytest.mark.parametrize("part", ["quote", "signature"])
def test_real_quote_every_byte_flip_in_signed_regions_is_refused(part: str) -> None:
    real = real_shielded_vm()
    ak = st.parse_public(real.ak_public)
    data = real.quote if part == "quote" else real.signature
    for i in range(len(data)):
        flipped = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        q, s = (flipped, real.signature) if part == "quote" else (real.quote, flipped)
        with pytest.raises(PeerError):
            verify_quote(ak, q, s, real.pcrs, allow_sha1=True)


def test_real_quote_every_pcr_value_flip_is_refused() -> None:
    real = real_shielded_vm()
    ak = st.parse_public(real.ak_public)
    bank = real.pcrs[st.ALG_SHA1]
    for index, value in bank.items():
        for i in range(len(value)):
            pcrs = {st.ALG_SHA1: dict(bank, **{})}
            pcrs[st.ALG_SHA1][index] = value[:i] + bytes([value[i] ^ 0x80]) + value[i + 1 :]
            with pytest.raises(VerificationError, match="PCR digest"):
                verify_quote(ak, real.quote, real.signature, pcrs, allow_sha1=True)


def test_real_quote_under_another_ak_is_refused() -> None:
    real = real_shielded_vm()
    other = st.parse_public(synthetic_ak().public)
    with pytest.raises(VerificationError):
        verify_quote(other, real.quote, real.signature, real.pcrs, allow_sha1=True)


# --- the real COS confidential VM log ---------------------------------------------------------


def test_real_cos_log_replays_every_bank_and_reads_boot_facts() -> None:
    log = parse_event_log(real_cos_log())
    assert log.crypto_agile and log.banks == (st.ALG_SHA1, st.ALG_SHA256, st.ALG_SHA384)
    replayed = replay(log)
    assert all(set(bank) == set(replayed[st.ALG_SHA256]) for bank in replayed.values())
    facts = read_facts(log)
    assert facts.secure_boot is True
    assert facts.kernel_cmdline is not None and "dm_verity" in facts.kernel_cmdline
    assert verity_root(facts.kernel_cmdline) == COS_VERITY_ROOT


# --- synthetic quotes over the real COS log: the whole verifier -------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ecc"])
def test_synthetic_vtpm_evidence_verifies_and_binds_node_claims(kind: str) -> None:
    ak = synthetic_ak(kind)
    result = verify(vtpm_container(ak), pinned(ak.public))
    assert isinstance(result, AttestationResult) and result.tee_type == TEE_VTPM
    check_claims(result, CLAIMS)
    assert len(result.measurement) == 48
    assert result.registers["pcr7.sha256"] == cos_pcrs()[st.ALG_SHA256][7]
    assert [c.name for c in result.checks] == [
        "ak-pinned",
        "quote-signature",
        "nonce-binds-node",
        "event-log-replay",
        "boot-policy",
    ]


def test_synthetic_vtpm_every_byte_flip_in_the_quote_is_refused() -> None:
    ak = synthetic_ak("ecc")
    ev = vtpm_container(ak)
    quote = ev.quotes[0]
    roots = pinned(ak.public)
    for i in range(len(quote.attest)):
        attest = quote.attest[:i] + bytes([quote.attest[i] ^ 0x01]) + quote.attest[i + 1 :]
        bad = dataclasses.replace(ev, quotes=(type(quote)(attest, quote.signature),))
        with pytest.raises(PeerError):
            verify(bad, roots)


def test_pcr_replay_mismatch_is_refused() -> None:
    """PCR 4 (the boot loader) presented and quoted with another value than the log gives."""
    ak = synthetic_ak()
    pcrs = cos_pcrs()
    pcrs[st.ALG_SHA256][4] = hashlib.sha256(b"another boot loader").digest()
    with pytest.raises(VerificationError, match="PCR replay mismatch"):
        verify(vtpm_container(ak, pcrs=pcrs), pinned(ak.public))


def test_pcr_values_not_the_quoted_ones_are_refused() -> None:
    ak = synthetic_ak()
    quoted = cos_pcrs()
    quoted[st.ALG_SHA256][9] = bytes(32)
    with pytest.raises(VerificationError, match="PCR digest"):
        verify(vtpm_container(ak, quoted_pcrs=quoted), pinned(ak.public))


def test_event_data_rewritten_under_its_digest_is_refused() -> None:
    """The kernel command line changed in the log while its digests (and PCRs) stay."""
    ak = synthetic_ak()
    raw = real_cos_log()
    tampered = raw.replace(b"module.sig_enforce=1", b"module.sig_enforce=0")
    assert tampered != raw
    with pytest.raises(DecodeError, match="kernel command line digest"):
        verify(vtpm_container(ak, event_log=tampered), pinned(ak.public))


def _log_with_secure_boot(value: bytes) -> bytes:
    log = parse_event_log(real_cos_log())
    events = []
    for e in log.events:
        if e.type == EV_EFI_VARIABLE_DRIVER_CONFIG and "SecureBoot".encode("utf-16-le") in e.data:
            data = e.data[:-1] + value
            events.append(Event(e.pcr, e.type, {a: st.digest(a, data) for a in log.banks}, data))
        else:
            events.append(e)
    return encode_event_log(dataclasses.replace(log, events=tuple(events)))


def test_secure_boot_off_is_refused() -> None:
    ak = synthetic_ak()
    log = _log_with_secure_boot(b"\x00")
    replayed = replay(parse_event_log(log))[st.ALG_SHA256]
    pcrs = cos_pcrs()
    pcrs[st.ALG_SHA256].update(replayed)
    ev = vtpm_container(ak, pcrs=pcrs, event_log=log)
    with pytest.raises(PolicyError, match="secure boot"):
        verify(ev, pinned(ak.public))
    verify(ev, pinned(ak.public, require_secure_boot=False))


def test_wrong_image_verity_root_is_refused() -> None:
    ak = synthetic_ak()
    ev = vtpm_container(ak)
    verify(ev, pinned(ak.public, allowed_verity_roots=frozenset({COS_VERITY_ROOT})))
    with pytest.raises(PolicyError, match="dm-verity"):
        verify(ev, pinned(ak.public, allowed_verity_roots=frozenset({"00" * 32})))


def test_kernel_command_line_not_allowed_is_refused() -> None:
    ak = synthetic_ak()
    with pytest.raises(PolicyError, match="kernel command line"):
        verify(vtpm_container(ak), pinned(ak.public, allowed_kernel_cmdlines=frozenset({"ro"})))


def test_pcr_register_policy_pins_pcr7() -> None:
    ak = synthetic_ak()
    pcr7 = cos_pcrs()[st.ALG_SHA256][7]
    ok = Policy(allowed_tee_types=frozenset({TEE_VTPM}), allowed_registers={"pcr7.sha256": {pcr7}})
    verify(vtpm_container(ak), pinned(ak.public), policy=ok)
    bad = dataclasses.replace(ok, allowed_registers={"pcr7.sha256": frozenset({bytes(32)})})
    with pytest.raises(PolicyError, match="register"):
        verify(vtpm_container(ak), pinned(ak.public), policy=bad)


def test_quote_nonce_not_binding_the_node_key_is_refused() -> None:
    ak = synthetic_ak()
    other = NodeClaims(b"\x02" * 32, int(T0), "eu-west", "gcp", (0x20, 1, 3)).report_data()
    ev = vtpm_container(ak, extra_data=hashlib.sha256(other).digest())
    with pytest.raises(VerificationError, match="nonce does not bind"):
        verify(ev, pinned(ak.public))


def test_report_data_swapped_after_quoting_is_refused() -> None:
    """The container's report data replaced by another node's: the quote still binds the old."""
    ak = synthetic_ak()
    ev = vtpm_container(ak)
    swapped = dataclasses.replace(ev, report_data=bytes(64))
    with pytest.raises(VerificationError, match="nonce does not bind"):
        verify(swapped, pinned(ak.public))


def test_ak_not_bound_is_refused() -> None:
    ak = synthetic_ak()
    with pytest.raises(VerificationError, match="AK not bound"):
        verify(vtpm_container(ak), TrustRoots(vtpm=VtpmTrust()))


def test_ak_that_is_not_a_restricted_signing_key_is_refused() -> None:
    ak = synthetic_ak("rsa", attributes=st.ATTR_SIGN | st.ATTR_FIXED_TPM)
    with pytest.raises(VerificationError, match="restricted"):
        verify(vtpm_container(ak), pinned(ak.public))


def test_default_trust_refuses_vtpm_evidence() -> None:
    ak = synthetic_ak()
    ev = vtpm_container(ak)
    with pytest.raises(PolicyError, match="TEE type not allowed"):
        verify(ev, TrustRoots.pinned(), policy=Policy())
    with pytest.raises(VerificationError, match=r"TrustRoots\.vtpm"):
        verify(ev, TrustRoots.pinned())


# --- the AK bound to a SEV-SNP report, or certified ------------------------------------------


def _snp_bound(
    ak_public: bytes, *, debug: bool = False
) -> tuple[TrustRoots, tuple[str, bytes, bytes]]:
    amd = synthetic_amd()
    chip = bytes(range(64))
    key, vcek = make_vcek(amd, chip)
    report = synthetic_snp_report(
        key, chip_id=chip, report_data=report_data_for(ak_public, AK_LABEL), debug=debug
    )
    roots = dataclasses.replace(amd.roots, vtpm=VtpmTrust())
    return roots, (TEE_SEV_SNP, report, vcek)


def test_ak_bound_by_a_sev_snp_report_verifies() -> None:
    ak = synthetic_ak()
    roots, tee = _snp_bound(ak.public)
    result = verify(vtpm_container(ak, tee=tee), roots)
    assert result.checks[0].name == "ak-bound-to-tee"
    assert result.product.startswith("vTPM on SEV-SNP") and result.platform_id == bytes(range(64))
    check_claims(result, CLAIMS)


def test_ak_not_bound_sev_snp_report_for_another_key_is_refused() -> None:
    ak = synthetic_ak()
    roots, tee = _snp_bound(synthetic_ak("ecc").public)
    with pytest.raises(VerificationError, match="AK not bound"):
        verify(vtpm_container(ak, tee=tee), roots)


def test_sev_snp_debug_guest_behind_the_vtpm_is_refused() -> None:
    ak = synthetic_ak()
    roots, tee = _snp_bound(ak.public, debug=True)
    with pytest.raises(PolicyError, match="debug"):
        verify(vtpm_container(ak, tee=tee), roots)


def _ak_cert(ak_key: RsaPrivateKey) -> tuple[object, bytes]:
    ca_key = RsaPrivateKey.generate(2048)
    ca = build_certificate(
        CertificateRequest("synthetic EK/AK CA", T0 - YEAR, T0 + YEAR, ca=True),
        ca_key,
        issuer=None,
        issuer_key=ca_key,
        rsa_pss=False,
    )
    leaf = build_certificate(
        CertificateRequest("synthetic AK", T0 - YEAR, T0 + YEAR),
        ak_key,
        issuer=ca,
        issuer_key=ca_key,
        rsa_pss=False,
    )
    return ca, leaf.der


def test_ak_certified_by_a_configured_ak_root_verifies() -> None:
    ak = synthetic_ak()
    assert isinstance(ak.key, RsaPrivateKey)
    ca, der = _ak_cert(ak.key)
    roots = TrustRoots(vtpm=VtpmTrust(ak_roots=(ca,)))  # type: ignore[arg-type]
    assert verify(vtpm_container(ak), roots, certificates=der).checks[0].name == "ak-certified"


def test_ak_certificate_from_an_unpinned_root_is_refused() -> None:
    ak = synthetic_ak()
    assert isinstance(ak.key, RsaPrivateKey)
    _, der = _ak_cert(ak.key)
    other_ca, _ = _ak_cert(RsaPrivateKey.generate(2048))
    with pytest.raises(VerificationError):
        verify(
            vtpm_container(ak), TrustRoots(vtpm=VtpmTrust(ak_roots=(other_ca,))), certificates=der
        )  # type: ignore[arg-type]


def test_ak_certificate_for_another_key_is_refused() -> None:
    ak = synthetic_ak()
    ca, der = _ak_cert(RsaPrivateKey.generate(2048))
    with pytest.raises(VerificationError, match="another key"):
        verify(vtpm_container(ak), TrustRoots(vtpm=VtpmTrust(ak_roots=(ca,))), certificates=der)  # type: ignore[arg-type]


def test_gce_ak_root_other_than_the_pinned_one_is_a_config_error() -> None:
    ca, _ = _ak_cert(RsaPrivateKey.generate(2048))
    with pytest.raises(ConfigError, match="EK/AK CA Root"):
        gce_ak_root(ca.der)  # type: ignore[attr-defined]


def test_kernel_command_line_measured_twice_is_refused() -> None:
    """A second kernel_cmdline event (well-formed, measured): which one booted is ambiguous."""
    log = parse_event_log(real_cos_log())
    line = next(e for e in log.events if e.data.startswith(b"kernel_cmdline: "))
    text = b"ro init=/bin/sh"
    extra = Event(
        8, line.type, {a: st.digest(a, text) for a in log.banks}, b"kernel_cmdline: " + text
    )
    raw = encode_event_log(dataclasses.replace(log, events=(*log.events, extra)))
    with pytest.raises(DecodeError, match="measured twice"):
        read_facts(parse_event_log(raw))
