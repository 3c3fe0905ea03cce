"""The crypto boundary under mutation: garbage made from real certificates, CRLs, SEV-SNP reports
and TDX quotes is refused with our errors, never a crash.

Invariant (STYLE.md §9): every public parse/verify entry point — :func:`load_certificate`,
:func:`load_certificates`, :func:`load_crl`, :func:`verify_chain`, the certificate accessors,
:func:`der_oid_map` / the PCK extensions, and ``verify_evidence`` for SEV-SNP and TDX at a fixed
``now`` inside the vectors' validity — either succeeds or raises a
:class:`~privcloud.errors.PrivcloudError` subclass. Anything else is an *escape*: the class of
bug behind "admission poisoning", where ``cryptography``'s ``InvalidVersion`` left
``load_certificate`` and stopped the admission of every node.

Mutations (tests/support/der_mutations.py): byte flips, truncations, insertions, deletions, DER tag
and length tweaks (off by one, non-minimal, indefinite, huge, zero), and structural edits that keep
the DER well-formed (a TLV duplicated, dropped, swapped, retagged or given random contents, every
enclosing length fixed) so they reach ``cryptography``'s lazy semantic parsing. Seeds: the real
vectors (../shared/vectors/attestation) when present, the pinned AMD and Intel roots (package
data), and synthetic chains, reports and quotes — so the test never skips.

A fixed seed: a failure names the target and iteration, and reproduces. Counts are sized to run
in well under a minute; signature verification makes whole-evidence mutations the costly ones,
so there are fewer of those and many more certificate mutations (run with ``-s`` for counts).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import der_mutations as dm
from attest_synthetic import (
    T0,
    build_tdx_quote,
    der_oid,
    make_vcek,
    pem,
    real_snp_report,
    real_tdx_quote,
    real_vcek,
    sgx_extension,
    synthetic_amd,
    synthetic_intel,
    synthetic_snp_report,
)
from privcloud.attest import (
    TEE_SEV_SNP,
    TEE_SIMULATED,
    TEE_TDX,
    Evidence,
    Policy,
    TrustRoots,
    verify_evidence,
)
from privcloud.attest.sevsnp import GUID_VCEK, extract_vcek, pinned_amd_roots
from privcloud.attest.tdx import OID_SGX_EXTENSIONS, parse_pck_extensions, pinned_intel_root
from privcloud.crypto.der import der_oid_map
from privcloud.crypto.x509 import (
    Certificate,
    Curve,
    SignatureAlgorithm,
    load_certificate,
    load_certificates,
    load_crl,
    verify_chain,
)
from privcloud.crypto.x509_issue import build_crl
from privcloud.errors import PrivcloudError
from vectors import shared_vector

SEED = 0x5EED_2026
#: Everything permissive: the fuzz goes as deep as the evidence allows.
ANY_POLICY = Policy(
    allowed_tee_types=frozenset({TEE_SEV_SNP, TEE_TDX, TEE_SIMULATED}),
    allow_insecure_simulated=True,
    allow_debug=True,
    sev_snp_required_vmpl=None,
    allow_sev_snp_migration_agent=True,
)
_PSS = frozenset({SignatureAlgorithm.RSASSA_PSS_SHA384})
_ECDSA = frozenset({SignatureAlgorithm.ECDSA_SHA256})
_OIDS = (
    "1.3.6.1.4.1.3704.1.3.1",
    "1.3.6.1.4.1.3704.1.4",
    "1.2.840.113741.1.13.1",
    "2.5.29.19",
    "2.5.29.15",
    "2.5.29.14",
    "2.5.29.35",
    "2.5.29.31",
)


def _vector(fn: Callable[[], bytes]) -> bytes | None:
    """A real vector, or ``None`` when ../shared/vectors is absent (no skip: synthetic seeds
    still run)."""
    try:
        return fn()
    except pytest.skip.Exception:
        return None


def _crl_vector(name: str) -> bytes | None:
    return _vector(lambda: shared_vector("attestation", "tdx", name).read_bytes())


# --- seeds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnpCase:
    report: bytes
    vcek: bytes
    roots: TrustRoots


@dataclass(frozen=True)
class TdxCase:
    quote: bytes
    roots: TrustRoots
    parts: dm.QuoteParts
    chain_ders: tuple[bytes, ...]


@dataclass(frozen=True)
class Corpus:
    certificates: tuple[bytes, ...]
    pem_bundles: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    snp: tuple[SnpCase, ...]
    tdx: tuple[TdxCase, ...]
    sgx_extensions: tuple[bytes, ...]


def _tdx_case(quote: bytes, roots: TrustRoots) -> TdxCase:
    parts = dm.split_quote(quote)
    return TdxCase(quote, roots, parts, tuple(dm.pem_to_ders(parts.chain)))


@functools.cache
def corpus() -> Corpus:
    amd, intel = synthetic_amd(), synthetic_intel()
    key, vcek = make_vcek(amd, bytes(range(64)))
    certs = [vcek, amd.ark.der, amd.ask.der, intel.root.der, intel.ca.der, intel.pck.der]
    certs += [c.der for r in pinned_amd_roots() for c in (r.ark, r.ask)]
    certs.append(pinned_intel_root().der)
    snp = [SnpCase(synthetic_snp_report(key, chip_id=bytes(range(64))), vcek, amd.roots)]
    crls = [
        build_crl(
            intel.ca,
            intel.ca_key,
            revoked_serials=[7, 9],
            this_update=T0 - 86400,
            next_update=T0 + 86400,
        ).der
    ]
    synthetic_crl = load_crl(crls[0])
    tdx = [
        _tdx_case(build_tdx_quote(intel), TrustRoots(intel=(intel.root,), crls=(synthetic_crl,)))
    ]
    real = _vector(real_vcek)
    if real is not None:
        certs.append(real)
        snp.append(SnpCase(real_snp_report(), real, TrustRoots.pinned()))
    real_crls = [c for c in (_crl_vector("pckcrl"), _crl_vector("rootcrl.der")) if c is not None]
    crls += real_crls
    quote = _vector(real_tdx_quote)
    if quote is not None:
        case = _tdx_case(quote, TrustRoots.pinned(crls=real_crls))
        tdx.append(case)
        certs += case.chain_ders
    bundles = [case.parts.chain for case in tdx] + [pem(intel.pck) + pem(intel.ca)]
    pck = load_certificates(pem(intel.pck))[0]
    sgx = [sgx_extension(), pck.extension(OID_SGX_EXTENSIONS) or b""]
    return Corpus(tuple(certs), tuple(bundles), tuple(crls), tuple(snp), tuple(tdx), tuple(sgx))


@functools.cache
def _trees(der: bytes) -> tuple[dm.Tlv, list[tuple[int, int]]]:
    return dm.parse(der), dm.header_offsets(der)


#: The inputs the current iteration made: kept with an escape, which the synthetic parts of the
#: corpus (fresh keys each run) would otherwise not let anyone reproduce from the seed.
_MADE: list[bytes] = []


def mutate_der(rng: random.Random, der: bytes) -> bytes:
    """One or two mutations of a DER document, structural or raw."""
    _MADE.append(data := _mutate_der(rng, der))
    return data


def _mutate_der(rng: random.Random, der: bytes) -> bytes:
    tree, headers = _trees(der)
    data = der
    for _ in range(rng.choice((1, 1, 1, 2))):
        op = rng.randrange(10)
        if not data:
            return data
        if op < 3 and data is der:
            data = dm.structural(rng, tree)
        elif op < 5 and data is der:
            data = dm.tweak_length(rng, data, headers)
        elif op < 7:
            data = dm.flip(rng, data)
        elif op == 7:
            data = dm.truncate(rng, data)
        elif op == 8:
            data = dm.insert(rng, data)
        else:
            data = dm.delete(rng, data)
    # A structural edit can be a no-op (a node swapped with itself): mutate for real then.
    return data if data != der else dm.flip(rng, der)


def mutate_raw(rng: random.Random, data: bytes) -> bytes:
    """Byte-level mutations of a binary report or quote (flips mostly: they keep the layout)."""
    _MADE.append(made := _mutate_raw(rng, data))
    return made


def _mutate_raw(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(8)
    if op < 5:
        return dm.flip(rng, data)
    if op == 5:
        return dm.truncate(rng, data)
    if op == 6:
        return dm.insert(rng, data)
    return dm.delete(rng, data)


# --- what each target does with one mutated input ------------------------------------------


def _touch(cert: Certificate) -> None:
    """Every accessor of a loaded certificate: each succeeds or raises our error."""
    _ = (cert.subject, cert.issuer, cert.subject_common_name, cert.not_before, cert.not_after)
    _ = (cert.serial_number, cert.signature_algorithm, cert.fingerprint_sha256, repr(cert))
    for oid in _OIDS:
        with contextlib.suppress(PrivcloudError):
            cert.extension(oid)
    for curve in Curve:
        with contextlib.suppress(PrivcloudError):
            cert.ec_public_key(curve)


def _certificate(rng: random.Random, c: Corpus) -> None:
    data = mutate_der(rng, rng.choice(c.certificates))
    _touch(load_certificate(data, allow_non_positive_serial=rng.random() < 0.5))


def _pem_bundle(rng: random.Random, c: Corpus) -> None:
    bundle = rng.choice(c.pem_bundles)
    data = mutate_raw(rng, bundle) if rng.random() < 0.5 else _pem_with_mutated_der(rng, bundle)
    for cert in load_certificates(data, allow_non_positive_serial=True):
        _touch(cert)


def _pem_with_mutated_der(rng: random.Random, bundle: bytes) -> bytes:
    ders = dm.pem_to_ders(bundle)
    i = rng.randrange(len(ders))
    ders[i] = mutate_der(rng, ders[i])
    return b"".join(dm.der_to_pem(d) for d in ders)


def _vcek_chain(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.snp)
    root = case.roots.amd[0]
    ask = root.ask
    if rng.random() < 0.8:
        vcek = load_certificate(mutate_der(rng, case.vcek), allow_non_positive_serial=True)
    else:
        vcek = load_certificate(case.vcek, allow_non_positive_serial=True)
        ask = load_certificate(mutate_der(rng, root.ask.der))
    verify_chain([vcek, ask], [root.ark], at=T0, allowed_algorithms=_PSS)


def _pck_chain(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.tdx)
    ders = list(case.chain_ders)
    i = rng.randrange(len(ders))
    ders[i] = mutate_der(rng, ders[i])
    chain = [load_certificate(d) for d in ders]
    verify_chain(chain, case.roots.intel, at=T0, allowed_algorithms=_ECDSA, crls=case.roots.crls)


def _crl(rng: random.Random, c: Corpus) -> None:
    crl = load_crl(mutate_der(rng, rng.choice(c.crls)))
    _ = (crl.issuer, crl.this_update, crl.next_update)
    case = c.tdx[0]
    chain = [load_certificate(d) for d in case.chain_ders]
    with contextlib.suppress(PrivcloudError):
        verify_chain(chain, case.roots.intel, at=T0, allowed_algorithms=_ECDSA, crls=[crl])


def _sgx_extensions(rng: random.Random, c: Corpus) -> None:
    data = mutate_der(rng, rng.choice(c.sgx_extensions))
    with contextlib.suppress(PrivcloudError):
        der_oid_map(data)
    intel = synthetic_intel()
    cert = load_certificate(dm.with_extension_value(intel.pck.der, _sgx_index(), data))
    parse_pck_extensions(cert)


@functools.cache
def _sgx_index() -> int:
    return dm.extension_index(synthetic_intel().pck.der, der_oid(OID_SGX_EXTENSIONS))


def _snp_vcek_in_evidence(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.snp)
    vcek = mutate_der(rng, case.vcek)
    form = rng.randrange(3)
    certs = vcek if form == 0 else dm.der_to_pem(vcek) if form == 1 else _ghcb(vcek)
    if rng.random() < 0.02:
        extract_vcek(certs)
    verify_evidence(
        Evidence(TEE_SEV_SNP, case.report, certs), now=T0, policy=ANY_POLICY, roots=case.roots
    )


def _ghcb(vcek: bytes) -> bytes:
    return (
        GUID_VCEK + (48).to_bytes(4, "little") + len(vcek).to_bytes(4, "little") + bytes(24) + vcek
    )


def _snp_report(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.snp)
    report = mutate_raw(rng, case.report)
    verify_evidence(
        Evidence(TEE_SEV_SNP, report, case.vcek), now=T0, policy=ANY_POLICY, roots=case.roots
    )


def _tdx_chain_in_quote(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.tdx)
    ders = list(case.chain_ders)
    i = rng.randrange(len(ders))
    ders[i] = mutate_der(rng, ders[i])
    chain = b"".join(dm.der_to_pem(d) for d in ders)
    if rng.random() < 0.1:  # or the PEM text itself
        chain = mutate_raw(rng, case.parts.chain)
    quote = dm.quote_with_chain(case.parts, chain)
    verify_evidence(Evidence(TEE_TDX, quote), now=T0, policy=ANY_POLICY, roots=case.roots)


def _tdx_quote(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.tdx)
    quote = mutate_raw(rng, case.quote)
    verify_evidence(Evidence(TEE_TDX, quote), now=T0, policy=ANY_POLICY, roots=case.roots)


def _tdx_crl(rng: random.Random, c: Corpus) -> None:
    case = rng.choice(c.tdx)
    crl = load_crl(mutate_der(rng, rng.choice(c.crls)))
    roots = TrustRoots(intel=case.roots.intel, crls=(*case.roots.crls, crl))
    verify_evidence(Evidence(TEE_TDX, case.quote), now=T0, policy=ANY_POLICY, roots=roots)


#: target name -> (what it does with one mutation, how many mutations).
TARGETS: dict[str, tuple[Callable[[random.Random, Corpus], None], int]] = {
    "load_certificate": (_certificate, 150_000),
    "load_certificates(PEM)": (_pem_bundle, 15_000),
    "verify_chain(VCEK->ASK->ARK)": (_vcek_chain, 25_000),
    "verify_chain(PCK chain, CRLs)": (_pck_chain, 15_000),
    "load_crl": (_crl, 15_000),
    "der_oid_map/parse_pck_extensions": (_sgx_extensions, 8_000),
    "verify_evidence(SEV-SNP, mutated VCEK)": (_snp_vcek_in_evidence, 20_000),
    "verify_evidence(SEV-SNP, mutated report)": (_snp_report, 2_500),
    "verify_evidence(TDX, mutated PCK chain)": (_tdx_chain_in_quote, 12_000),
    "verify_evidence(TDX, mutated quote)": (_tdx_quote, 2_500),
    "verify_evidence(TDX, mutated CRL)": (_tdx_crl, 1_500),
}


def run_target(name: str, count: int) -> tuple[collections.Counter[str], list[str]]:
    """Run ``count`` mutations of target ``name``; returns the outcomes and the escapes."""
    fn, _ = TARGETS[name]
    c = corpus()
    rng = random.Random(f"{SEED}:{name}")
    outcomes: collections.Counter[str] = collections.Counter()
    escapes: list[str] = []
    for i in range(count):
        _MADE.clear()
        try:
            fn(rng, c)
        except PrivcloudError as exc:
            outcomes[type(exc).__name__] += 1
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # pyo3's PanicException is a BaseException
            outcomes["ESCAPE " + type(exc).__name__] += 1
            escapes.append(
                f"{name} #{i}: {type(exc).__module__}.{type(exc).__name__}: {exc!r:.120}"
                f" (inputs in {_keep(_MADE)})"
            )
        else:
            outcomes["ok"] += 1
    return outcomes, escapes


def _keep(inputs: list[bytes]) -> str:
    """Write an escape's mutated inputs to a new directory; returns its path."""
    folder = Path(tempfile.mkdtemp(prefix="privcloud-fuzz-escape-"))
    for n, data in enumerate(inputs):
        (folder / f"input-{n}.bin").write_bytes(data)
    return str(folder)


@pytest.mark.parametrize("name", list(TARGETS))
def test_mutated_input_raises_only_our_errors(name: str) -> None:
    _, count = TARGETS[name]
    start = time.perf_counter()
    outcomes, escapes = run_target(name, count)
    elapsed = time.perf_counter() - start
    print(f"\n{name}: {count} mutations in {elapsed:.1f} s: {dict(outcomes.most_common())}")
    assert sum(outcomes.values()) == count
    kinds = sorted({e.split(": ")[1] for e in escapes})
    assert not escapes, f"{len(escapes)} escapes, classes {kinds}; first: {escapes[:5]}"


def test_fuzz_total_is_a_few_hundred_thousand_mutations() -> None:
    assert sum(count for _, count in TARGETS.values()) >= 250_000
