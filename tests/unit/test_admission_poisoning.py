"""Admission poisoning: one directory entry whose vendor certificate is malformed in a way that
``cryptography`` reports with exception types of its own (``InvalidVersion``,
``DuplicateExtension``: plain ``Exception`` subclasses, not ``ValueError``) used to escape
``load_certificate`` — and ``Client.refresh()`` then admitted no node at all.

Each malformation is refused with our :class:`DecodeError` wherever certificates enter: the
SEV-SNP VCEK (DER, PEM, GHCB certificate table) and every certificate of the PCK chain inside a
TDX quote; and ``admit_all`` refuses exactly that entry, with a fixed reason, and admits the rest.
Both with the real vectors (../shared/vectors/attestation, see PROVENANCE.md there) and with
synthetic chains (tests/support/attest_synthetic.py), so the synthetic half runs without the
vectors.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Callable

import pytest
from test_admission import (
    DEV_ROOT,
    MRTD,
    RTMRS,
    SimNode,
    World,
    _snp_node,
    _tdx_node,
    manifest,
)

from attest_synthetic import (
    T0,
    build_tdx_quote,
    make_vcek,
    pem,
    real_snp_report,
    real_tdx_quote,
    real_vcek,
    sign_snp_report,
    synthetic_amd,
    synthetic_intel,
    synthetic_snp_report,
)
from der_mutations import (
    der_to_pem,
    extension_index,
    pem_to_ders,
    quote_with_chain,
    split_quote,
    with_duplicated_extension,
    with_extension_value,
    with_version,
)
from privcloud.attest import (
    TEE_SEV_SNP,
    TEE_TDX,
    Evidence,
    Policy,
    TrustRoots,
    verify_evidence,
)
from privcloud.attest.sevsnp import GUID_VCEK, extract_vcek
from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.x509 import Curve, EcPrivateKey, load_certificate, load_certificates
from privcloud.errors import (
    CryptoError,
    DecodeError,
    PrivcloudError,
    UsageError,
    VerificationError,
)
from privcloud.trust import admission
from privcloud.trust.admission import INTERNAL_REFUSAL, ClientPolicy, admit_all
from privcloud.trust.directory import NodeDescriptor

CHIP = bytes(range(64))
ALLOW_DEBUG = Policy(allow_debug=True)
#: basicConstraints (2.5.29.19) as its OID TLV, to find it among a certificate's extensions.
_BASIC_CONSTRAINTS_OID = bytes.fromhex("0603551d13")

#: The two malformations of the issue, each a function of a certificate's DER.
POISONS: dict[str, Callable[[bytes], bytes]] = {
    "invalid-version-5": lambda der: with_version(der, 0x05),
    "invalid-version-3": lambda der: with_version(der, 0x03),
    "invalid-version-minus-1": lambda der: with_version(der, 0xFF),
    "duplicate-extension": lambda der: with_duplicated_extension(der, 0),
}


# --- SEV-SNP: the VCEK --------------------------------------------------------------------


def _synthetic_snp() -> tuple[bytes, bytes, TrustRoots]:
    amd = synthetic_amd()
    key, vcek = make_vcek(amd, CHIP)
    return synthetic_snp_report(key, chip_id=CHIP), vcek, amd.roots


def _real_snp() -> tuple[bytes, bytes, TrustRoots]:
    return real_snp_report(), real_vcek(), TrustRoots.pinned()


SNP_SOURCES = {"synthetic": _synthetic_snp, "real": _real_snp}


def _vcek_forms(vcek: bytes) -> dict[str, bytes]:
    """The three ways a node may send its VCEK: DER, PEM, a GHCB certificate table."""
    table = GUID_VCEK + struct.pack("<II", 48, len(vcek)) + bytes(24) + vcek
    return {"der": vcek, "pem": der_to_pem(vcek), "ghcb-table": table}


@pytest.mark.parametrize("source", sorted(SNP_SOURCES))
@pytest.mark.parametrize("poison", sorted(POISONS))
def test_admission_poisoning_vcek_is_a_decode_error_everywhere_it_enters(
    source: str, poison: str
) -> None:
    report, vcek, roots = SNP_SOURCES[source]()
    bad = POISONS[poison](vcek)
    with pytest.raises(DecodeError):
        load_certificate(bad, allow_non_positive_serial=True)
    for form, certs in _vcek_forms(bad).items():
        with pytest.raises(DecodeError):
            extract_vcek(certs)
        with pytest.raises(DecodeError):
            verify_evidence(
                Evidence(TEE_SEV_SNP, report, certs), now=T0, policy=ALLOW_DEBUG, roots=roots
            )
        # The control: the unpoisoned VCEK in the same form verifies.
        good = _vcek_forms(vcek)[form]
        verify_evidence(
            Evidence(TEE_SEV_SNP, report, good), now=T0, policy=ALLOW_DEBUG, roots=roots
        )


def test_admission_poisoning_vcek_error_is_ours_with_the_foreign_cause_chained() -> None:
    _, vcek, _ = _synthetic_snp()
    with pytest.raises(DecodeError, match=r"^malformed certificate$") as caught:
        load_certificate(with_version(vcek, 0x05))
    # Wrapped once, at the crypto boundary, `from` the library's exception (not a PrivcloudError).
    assert caught.value.__cause__ is not None
    assert not isinstance(caught.value.__cause__, PrivcloudError)
    assert type(caught.value.__cause__).__name__ == "InvalidVersion"
    with pytest.raises(DecodeError) as caught:
        load_certificate(with_duplicated_extension(vcek, 0))
    assert type(caught.value.__cause__).__name__ == "DuplicateExtension"


def test_admission_poisoning_malformed_basic_constraints_is_refused_at_load() -> None:
    # cryptography decodes extension values lazily; load_certificate forces them, so a
    # basicConstraints that does not parse fails here, not later inside verify_chain.
    _, vcek, _ = _synthetic_snp()
    index = extension_index(vcek, _BASIC_CONSTRAINTS_OID)
    for junk in (b"\x30\x03\x01\x01\x05", b"\x30\x01", b"\x04\x00", b""):
        with pytest.raises(DecodeError):
            load_certificate(with_extension_value(vcek, index, junk))


def test_admission_poisoning_pem_bundle_without_a_certificate_is_a_decode_error() -> None:
    # extract_vcek takes the first certificate of a PEM bundle: a bundle of none must not
    # become an IndexError.
    junk = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(DecodeError):
        load_certificates(junk)
    with pytest.raises(DecodeError):
        extract_vcek(junk)


# --- TDX: the PCK chain inside the quote -------------------------------------------------


def _synthetic_tdx() -> tuple[bytes, TrustRoots]:
    return build_tdx_quote(synthetic_intel()), synthetic_intel().roots


def _real_tdx() -> tuple[bytes, TrustRoots]:
    return real_tdx_quote(), TrustRoots.pinned()


TDX_SOURCES = {"synthetic": _synthetic_tdx, "real": _real_tdx}


@pytest.mark.parametrize("source", sorted(TDX_SOURCES))
@pytest.mark.parametrize("poison", sorted(POISONS))
@pytest.mark.parametrize("position", [0, 1, 2], ids=["pck-leaf", "pck-ca", "root"])
def test_admission_poisoning_pck_chain_certificate_in_tdx_quote_is_a_decode_error(
    source: str, poison: str, position: int
) -> None:
    quote, roots = TDX_SOURCES[source]()
    parts = split_quote(quote)
    ders = pem_to_ders(parts.chain)
    assert len(ders) == 3
    ders[position] = POISONS[poison](ders[position])
    poisoned = quote_with_chain(parts, b"".join(der_to_pem(d) for d in ders))
    with pytest.raises(DecodeError):
        verify_evidence(Evidence(TEE_TDX, poisoned), now=T0, policy=Policy(), roots=roots)
    # The control: the quote rebuilt around its own chain verifies.
    rebuilt = quote_with_chain(parts, parts.chain)
    assert rebuilt == quote
    verify_evidence(Evidence(TEE_TDX, rebuilt), now=T0, policy=Policy(), roots=roots)


# --- admission: the poisoned entry is refused on its own ---------------------------------

SNP_MEASUREMENT = b"\x5a" * 48


def _mixed_world() -> tuple[World, TrustRoots]:
    """A release for the simulated TEE, SEV-SNP and TDX, and roots for all three."""
    world = World.build(
        manifest(snp_measurement=SNP_MEASUREMENT, tdx_measurement=MRTD + b"".join(RTMRS)),
        now=int(T0),
    )
    roots = TrustRoots(
        amd=synthetic_amd().roots.amd,
        intel=synthetic_intel().roots.intel,
        insecure_simulated_keys=(DEV_ROOT.public_key().to_bytes(),),
    )
    return world, roots


def _honest_nodes(world: World) -> list[NodeDescriptor]:
    sim = SimNode(world.release.simulated_measurement)
    return [
        dataclasses.replace(sim.descriptor(world.bundle(sim.evidence(world.now))), node_id="sim"),
        dataclasses.replace(_snp_node(world), node_id="snp"),
        dataclasses.replace(_tdx_node(world), node_id="tdx"),
    ]


def _with_certificates(node: NodeDescriptor, certificates: bytes) -> NodeDescriptor:
    assert node.bundle is not None
    evidence = dataclasses.replace(node.bundle.evidence, certificates=certificates)
    return dataclasses.replace(
        node, node_id="poisoned", bundle=dataclasses.replace(node.bundle, evidence=evidence)
    )


def _with_quote(node: NodeDescriptor, quote: bytes) -> NodeDescriptor:
    assert node.bundle is not None
    evidence = dataclasses.replace(node.bundle.evidence, raw=quote)
    return dataclasses.replace(
        node, node_id="poisoned", bundle=dataclasses.replace(node.bundle, evidence=evidence)
    )


def _admit_all(
    world: World, roots: TrustRoots, nodes: list[NodeDescriptor]
) -> tuple[list[str], list[tuple[str, str]]]:
    admitted, refused = admit_all(
        nodes,
        policy=ClientPolicy.insecure_local_dev(),
        roots=roots,
        log_state=world.state,
        now=world.now,
    )
    return [a.descriptor.node_id for a in admitted], refused


def _poisoned_vcek_is_refused_alone(poison: str) -> None:
    world, roots = _mixed_world()
    honest = _honest_nodes(world)
    snp = honest[1]
    assert snp.bundle is not None
    bad = _with_certificates(snp, POISONS[poison](snp.bundle.evidence.certificates))
    # The bad entry first, in the middle and last: it never stops the others.
    for at in range(len(honest) + 1):
        nodes = [*honest[:at], bad, *honest[at:]]
        admitted, refused = _admit_all(world, roots, nodes)
        assert admitted == ["sim", "snp", "tdx"]
        assert refused == [("poisoned", "malformed certificate")]


def test_admission_poisoning_vcek_invalid_version_is_refused_alone() -> None:
    _poisoned_vcek_is_refused_alone("invalid-version-5")


def test_admission_poisoning_vcek_duplicate_extension_is_refused_alone() -> None:
    _poisoned_vcek_is_refused_alone("duplicate-extension")


@pytest.mark.parametrize("poison", ["invalid-version-5", "duplicate-extension"])
def test_admission_poisoning_tdx_pck_chain_is_refused_alone(poison: str) -> None:
    world, roots = _mixed_world()
    honest = _honest_nodes(world)
    tdx = honest[2]
    assert tdx.bundle is not None
    parts = split_quote(tdx.bundle.evidence.raw)
    ders = pem_to_ders(parts.chain)
    ders[0] = POISONS[poison](ders[0])
    bad = _with_quote(tdx, quote_with_chain(parts, b"".join(der_to_pem(d) for d in ders)))
    admitted, refused = _admit_all(world, roots, [bad, *honest])
    assert admitted == ["sim", "snp", "tdx"]
    # cryptography reads the version already while splitting the PEM bundle.
    assert refused == [("poisoned", "malformed PEM certificate bundle")] or refused == [
        ("poisoned", "malformed certificate")
    ]


def test_admission_poisoning_many_bad_entries_still_admit_the_honest_ones() -> None:
    # Every kind of poison at once, plus garbage evidence: each refused with a fixed reason.
    world, roots = _mixed_world()
    honest = _honest_nodes(world)
    snp, tdx = honest[1], honest[2]
    assert snp.bundle is not None and tdx.bundle is not None
    bad: list[NodeDescriptor] = []
    for i, poison in enumerate(sorted(POISONS)):
        node = _with_certificates(snp, POISONS[poison](snp.bundle.evidence.certificates))
        bad.append(dataclasses.replace(node, node_id=f"bad-{i}"))
    bad.append(dataclasses.replace(_with_quote(tdx, b"\x04\x00" * 40), node_id="bad-quote"))
    bad.append(dataclasses.replace(_with_certificates(snp, b"\x30\x00"), node_id="bad-der"))
    admitted, refused = _admit_all(world, roots, [*bad, *honest])
    assert admitted == ["sim", "snp", "tdx"]
    assert [node_id for node_id, _ in refused] == [b.node_id for b in bad]
    assert all(reason and len(reason) <= 200 for _, reason in refused)


# --- admit_all: a stray foreign exception refuses one node, never all ---------------------


def test_admission_poisoning_stray_foreign_exception_refuses_only_that_node(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Should a foreign exception ever escape a verifier again (the crypto boundary makes that a
    # bug), admit_all refuses that node only, with a fixed reason, and logs the type only.
    world, roots = _mixed_world()
    honest = _honest_nodes(world)
    real_verify = admission.verify_evidence
    canary = "CANARY-peer-bytes-in-a-foreign-message"

    def flaky(evidence: Evidence, **kwargs: object) -> object:
        if evidence.tee_type == TEE_SEV_SNP:
            raise RuntimeError(canary)
        return real_verify(evidence, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(admission, "verify_evidence", flaky)
    with caplog.at_level(logging.ERROR, logger="privcloud.trust"):
        admitted, refused = _admit_all(world, roots, honest)
    assert admitted == ["sim", "tdx"]
    assert refused == [("snp", INTERNAL_REFUSAL)]
    assert "RuntimeError" in caplog.text
    assert canary not in caplog.text


def test_admission_poisoning_interpreter_exits_are_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, roots = _mixed_world()

    def interrupted(evidence: Evidence, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(admission, "verify_evidence", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _admit_all(world, roots, _honest_nodes(world))


def test_admission_poisoning_caller_mistakes_still_propagate() -> None:
    world, roots = _mixed_world()
    nodes = _honest_nodes(world)
    for now in (float("nan"), float("inf"), True):
        with pytest.raises(UsageError):
            admit_all(
                nodes,
                policy=ClientPolicy.insecure_local_dev(),
                roots=roots,
                log_state=world.state,
                now=now,  # type: ignore[arg-type]
            )


# --- the boundary itself ------------------------------------------------------------------


class _LibraryError(Exception):
    """Stands for a foreign exception type no list would have named."""


def test_foreign_boundary_converts_every_foreign_exception_and_nothing_else() -> None:
    for foreign in (_LibraryError("x"), ValueError("x"), OverflowError(), NotImplementedError()):
        with (
            pytest.raises(VerificationError, match=r"^fixed$") as caught,
            foreign_errors(VerificationError, "fixed"),
        ):
            raise foreign
        assert caught.value.__cause__ is foreign
    # Ours, memory exhaustion and interpreter exits pass through unchanged.
    for passing in (CryptoError("ours"), MemoryError(), KeyboardInterrupt(), SystemExit()):
        with pytest.raises(type(passing)) as caught_passing, foreign_errors(DecodeError, "fixed"):
            raise passing
        assert caught_passing.value is passing


def test_foreign_boundary_keeps_certificate_accessors_ours() -> None:
    # The lazily parsed parts (public key, re-encoded extensions) are behind the boundary too.
    intel = synthetic_intel()
    pck = load_certificates(pem(intel.pck))[0]
    with pytest.raises(VerificationError):
        pck.ec_public_key(Curve.P384)  # a P-256 key
    assert pck.ec_public_key(Curve.P256).to_bytes() == intel.pck_key.public_key().to_bytes()
    _, vcek, _ = _synthetic_snp()
    sevcek = load_certificate(vcek)
    with pytest.raises(VerificationError):
        sevcek.ec_public_key(Curve.P256)
    assert sevcek.extension("1.2.3.4") is None
    assert sevcek.extension("2.5.29.19") is not None  # basicConstraints, re-encoded


def test_foreign_boundary_report_signature_with_another_key_is_ours() -> None:
    # A control for the SEV-SNP path: the poisoned-VCEK tests above fail at parsing, this one
    # at the report signature, both with our errors.
    report, vcek, roots = _synthetic_snp()
    other = sign_snp_report(report, EcPrivateKey.generate(Curve.P384))
    with pytest.raises(VerificationError):
        verify_evidence(Evidence(TEE_SEV_SNP, other, vcek), now=T0, policy=Policy(), roots=roots)
