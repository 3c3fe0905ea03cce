"""Seeds from ``../shared/vectors`` (RFC examples, real SEV-SNP and TDX evidence).

Never committed: ``../shared/vectors/PROVENANCE.md`` asks that its files are not copied into
the project, and a fresh clone has no ``../shared``. ``make_corpus.py`` writes these seeds to
``build/fuzz/seeds-shared/<target>/`` (ignored by git); the unit test builds them in memory
when the folder is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

from fuzz import ROOT, fuzz_android_attestation, fuzz_eventlog, fuzz_rim, fuzz_spdm
from fuzz.seeds import each, streams

#: Where the shared vectors live: next to the repository, as for tests/support/vectors.py.
SHARED_VECTORS: Final = ROOT.parent / "shared" / "vectors"


def shared_bhttp(vectors: Path) -> list[bytes]:
    doc = json.loads((vectors / "bhttp" / "rfc9292_examples.json").read_text())
    values = [bytes.fromhex(v) for k, v in doc.items() if isinstance(v, str) and "http11" not in k]
    t = "fuzz_bhttp"
    return (
        each(t, "decode_request", values)
        + each(t, "decode_response", values)
        + streams(t, "response_stream", values)
    )


def shared_ohttp(vectors: Path) -> list[bytes]:
    t = "fuzz_ohttp"
    one = json.loads((vectors / "ohttp" / "rfc9458_appendix_a.json").read_text())
    chunked = json.loads((vectors / "ohttp" / "chunked_ohttp_draft_example.json").read_text())
    configs = [bytes.fromhex(one["key_config"]), bytes.fromhex(chunked["key_config"])]
    return (
        each(t, "key_config", configs)
        + each(t, "decode_key_configs", [len(c).to_bytes(2, "big") + c for c in configs])
        + each(t, "decapsulate_request", [bytes.fromhex(one["encapsulated_request"])])
        + each(t, "decapsulate_response", [bytes.fromhex(one["encapsulated_response"])])
        + streams(t, "chunked_request", [bytes.fromhex(chunked["encapsulated_request"])])
        + streams(t, "chunked_response", [bytes.fromhex(chunked["encapsulated_response"])])
    )


def shared_privacypass_headers(vectors: Path) -> list[bytes]:
    doc = json.loads((vectors / "privacypass" / "auth_scheme_header_v14.json").read_text())
    values = [case["WWW-Authenticate"].encode() for case in doc]
    return each("fuzz_privacypass_headers", "www_authenticate_bytes", values)


def shared_privacypass_tokens(vectors: Path) -> list[bytes]:
    t = "fuzz_privacypass_tokens"
    pub = json.loads((vectors / "privacypass" / "pub_verif_rfc9578.go.json").read_text())
    auth = json.loads((vectors / "privacypass" / "auth_scheme_token_v14.json").read_text())
    return (
        each(t, "token", [bytes.fromhex(v["token"]) for v in pub])
        + each(t, "token_request", [bytes.fromhex(v["token_request"]) for v in pub])
        + each(t, "token_response", [bytes.fromhex(v["token_response"]) for v in pub])
        + each(t, "token_challenge", [bytes.fromhex(v["token_challenge"]) for v in pub])
        + each(t, "verify_token", [bytes.fromhex(v["token"]) for v in pub])
        + each(t, "token", [bytes.fromhex(v["token_authenticator_input"]) for v in auth])
    )


def shared_sevsnp(vectors: Path) -> list[bytes]:
    report = (vectors / "attestation" / "sev-snp" / "attestation.bin").read_bytes()
    vcek = (vectors / "attestation" / "sev-snp" / "vcek.der").read_bytes()
    t = "fuzz_sevsnp"
    return (
        each(t, "parse_report", [report])
        + each(t, "extract_vcek", [vcek])
        + each(t, "verify", [report + vcek])
    )


def shared_tdx(vectors: Path) -> list[bytes]:
    folder = vectors / "attestation" / "tdx"
    quote = (folder / "tdx_prod_quote_SPR_E4.dat").read_bytes()
    suffix = b"\nextra bytes(only for testing purpose)\n"  # go-tdx-guest's test suffix
    quotes = [quote.removesuffix(suffix), (folder / "quote_v5_sample.dat").read_bytes()]
    return each("fuzz_tdx", "parse_quote", quotes) + each("fuzz_tdx", "verify", quotes)


def shared_intel_collateral(vectors: Path) -> list[bytes]:
    folder = vectors / "attestation" / "tdx"
    t = "fuzz_intel_collateral"
    infos = [
        (folder / name).read_bytes()
        for name in ("sample_tcbInfo_response", "sample_tcbinfo_response_v5")
    ]
    qe = (folder / "sample_qeIdentity_response").read_bytes()
    return (
        each(t, "signed_tcb_info", infos)
        + each(t, "signed_qe_identity", [qe])
        + each(t, "tcb_status", [json.dumps(json.loads(i)["tcbInfo"]).encode() for i in infos])
        + each(t, "qe_status", [json.dumps(json.loads(qe)["enclaveIdentity"]).encode()])
    )


SHARED: Final[dict[str, Callable[[Path], list[bytes]]]] = {
    "fuzz_bhttp": shared_bhttp,
    "fuzz_ohttp": shared_ohttp,
    "fuzz_privacypass_headers": shared_privacypass_headers,
    "fuzz_privacypass_tokens": shared_privacypass_tokens,
    "fuzz_sevsnp": shared_sevsnp,
    "fuzz_tdx": shared_tdx,
    "fuzz_intel_collateral": shared_intel_collateral,
    "fuzz_eventlog": fuzz_eventlog.shared_seeds,
    "fuzz_android_attestation": fuzz_android_attestation.shared_seeds,
    "fuzz_spdm": fuzz_spdm.shared_seeds,
    "fuzz_rim": fuzz_rim.shared_seeds,
}


def shared_seeds(target: str, vectors: Path = SHARED_VECTORS) -> list[bytes]:
    """The shared-vector seeds of ``target`` (empty when it has none or the folder is absent)."""
    make = SHARED.get(target)
    return make(vectors) if make is not None and vectors.is_dir() else []
