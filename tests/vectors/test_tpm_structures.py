"""TPM 2.0 structures, the vTPM container and the TCG event log: golden bytes both ways (the real
GCP Shielded VM AK, quote and signature, the real COS log; PROVENANCE.md "Added 2026-12-02"),
and malformed input refused with our errors."""

from __future__ import annotations

import pytest

from gcp_kit import real_cos_log, real_shielded_vm, synthetic_ak, vtpm_container
from privcloud.attest.tpm import structures as st
from privcloud.attest.tpm.eventlog import encode_event_log, parse_event_log
from privcloud.attest.tpm.evidence import encode_container, parse_container
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError


def test_real_ak_public_decodes_and_encodes_to_the_same_bytes() -> None:
    raw = real_shielded_vm().ak_public
    ak = st.parse_public(raw)
    assert (ak.type, ak.name_alg, ak.scheme, ak.scheme_hash) == (
        st.ALG_RSA,
        st.ALG_SHA256,
        st.ALG_RSASSA,
        st.ALG_SHA1,
    )
    assert ak.attributes & st.AK_ATTRIBUTES == st.AK_ATTRIBUTES and ak.exponent == 65537
    assert len(ak.modulus) == 256 and ak.name()[:2] == b"\x00\x0b"
    assert raw.endswith(ak.modulus)
    again = st.encode_public(
        key_type=ak.type,
        name_alg=ak.name_alg,
        attributes=ak.attributes,
        scheme=ak.scheme,
        scheme_hash=ak.scheme_hash,
        modulus=ak.modulus,
        exponent=ak.exponent,
    )
    # The real key carries a 32-byte authPolicy; ours encodes an empty one.
    assert st.parse_public(again).modulus == ak.modulus


def test_real_quote_and_signature_decode_and_encode_to_the_same_bytes() -> None:
    real = real_shielded_vm()
    q = st.parse_attest(real.quote)
    again = st.encode_attest(
        extra_data=q.extra_data,
        selections=q.selections,
        pcr_digest=q.pcr_digest,
        qualified_signer=q.qualified_signer,
        clock=q.clock,
        reset_count=q.reset_count,
        restart_count=q.restart_count,
        firmware_version=q.firmware_version,
    )
    assert again == real.quote
    sig = st.parse_signature(real.signature)
    assert (sig.alg, sig.hash_alg, len(sig.sig)) == (st.ALG_RSASSA, st.ALG_SHA1, 256)
    assert st.encode_signature(sig) == real.signature


@pytest.mark.parametrize("kind", ["rsa", "ecc"])
def test_synthetic_ak_public_round_trips(kind: str) -> None:
    raw = synthetic_ak(kind).public
    ak = st.parse_public(raw)
    fields = dict(
        key_type=ak.type,
        name_alg=ak.name_alg,
        attributes=ak.attributes,
        scheme=ak.scheme,
        scheme_hash=ak.scheme_hash,
    )
    if kind == "rsa":
        assert st.encode_public(**fields, modulus=ak.modulus, exponent=ak.exponent) == raw
    else:
        assert st.encode_public(**fields, curve=ak.curve, x=ak.x, y=ak.y) == raw


def test_real_event_logs_decode_and_encode_to_the_same_bytes() -> None:
    for raw in (real_cos_log(), real_shielded_vm().event_log):
        assert encode_event_log(parse_event_log(raw)) == raw


def test_container_round_trips() -> None:
    ev = vtpm_container(synthetic_ak())
    raw = encode_container(ev)
    assert parse_container(raw) == ev
    assert encode_container(parse_container(raw)) == raw


def test_quote_with_wrong_magic_or_type_is_refused() -> None:
    quote = real_shielded_vm().quote
    with pytest.raises(DecodeError, match="magic"):
        st.parse_attest(b"\x00" + quote[1:])
    with pytest.raises(DecodeError, match="not a quote"):
        st.parse_attest(quote[:4] + b"\x80\x17" + quote[6:])  # TPM_ST_ATTEST_CERTIFY


@pytest.mark.parametrize("cut", [0, 1, 5, 50, 100])
def test_truncated_structures_are_refused(cut: int) -> None:
    real = real_shielded_vm()
    with pytest.raises(DecodeError):
        st.parse_attest(real.quote[:cut])
    with pytest.raises(DecodeError):
        st.parse_signature(real.signature[:cut])
    with pytest.raises(DecodeError):
        st.parse_public(real.ak_public[:cut])


def test_trailing_bytes_are_refused() -> None:
    real = real_shielded_vm()
    with pytest.raises(DecodeError, match="trailing"):
        st.parse_attest(real.quote + b"\x00")
    with pytest.raises(DecodeError, match="trailing"):
        parse_container(encode_container(vtpm_container(synthetic_ak())) + b"\x00")


def test_unknown_algorithms_are_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        st.parse_signature(b"\x00\x15\x00\x0b\x00\x00")  # TPM_ALG_RSAES is no signature
    with pytest.raises(UnsupportedError):
        st.digest(0x0012, b"")  # SM3_256


def test_event_log_errors() -> None:
    raw = real_cos_log()
    with pytest.raises(DecodeError):
        parse_event_log(raw[:-3])
    with pytest.raises(TooLargeError):
        parse_event_log(bytes(61 * 1024))
    bad_pcr = (99).to_bytes(4, "little") + raw[4:]
    with pytest.raises(DecodeError, match="PCR index"):
        parse_event_log(bad_pcr)
