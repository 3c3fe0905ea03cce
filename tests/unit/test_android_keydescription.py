"""The KeyDescription reader (deviceattest/keydescription.py) over the strict DER element reader
(crypto/der.der_element): golden bytes both ways with the synthetic encoder, high tag numbers,
DER's minimal forms, and a property test. The real records are in
tests/vectors/test_android_attestation.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from android_synthetic import Record, explicit, integer, tlv
from privcloud import limits
from privcloud.crypto.der import der_element
from privcloud.deviceattest.keydescription import (
    TAG_OS_PATCH_LEVEL,
    SecurityLevel,
    VerifiedBootState,
    parse_key_description,
)
from privcloud.deviceattest.status import parse_status_list, serial_key
from privcloud.errors import DecodeError, TooLargeError


def test_der_element_reads_a_high_tag_number() -> None:
    data = explicit(704, tlv(0x05, b""))
    assert data[:3] == b"\xbf\x85\x40"
    assert der_element(data, 0, len(data)) == (2, True, 704, 4, 6)


@pytest.mark.parametrize(
    "data",
    [
        b"\xbf\x80\x85\x40\x00",  # tag number with a leading 0x80 byte
        b"\xbf\x1e\x00",  # a low number in the high form
        b"\x04\x81\x05abcde",  # a long length form for a short length
        b"\x04\x82\x00\x80" + bytes(128),  # a length with a leading zero byte
        b"\x04\x05abc",  # runs past the end
        b"\xbf\x85",  # truncated tag
    ],
    ids=["tag-0x80", "low-tag-high-form", "long-short-length", "zero-led-length", "overrun", "cut"],
)
def test_non_der_or_truncated_element_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        der_element(data, 0, len(data))


def test_synthetic_record_reads_back_field_by_field() -> None:
    record = parse_key_description(Record(b"c" * 32, keymint_level=1, patch_level=202607).encode())
    assert record.attestation_version == 300
    assert record.attestation_security_level == SecurityLevel.TRUSTED_ENVIRONMENT
    assert record.attestation_challenge == b"c" * 32
    hw = record.hardware_enforced
    assert hw.integer(TAG_OS_PATCH_LEVEL) == 202607 and hw.purposes == {2}
    assert hw.root_of_trust is not None
    assert hw.root_of_trust.verified_boot_state == VerifiedBootState.VERIFIED
    assert hw.root_of_trust.device_locked is True


@pytest.mark.parametrize(
    "record",
    [
        Record(b"c", attestation_level=3),  # no such security level
        Record(b"c", boot_state=4),  # no such boot state
        Record(b"c", extra_hw=explicit(706, integer(1))),  # a tag twice
        Record(b"c", extra_hw=explicit(705, tlv(0x04, b"x"))),  # wrong type for a known tag
        Record(b"c", extra_hw=tlv(0x02, b"\x01")),  # an untagged entry
        Record(b"c", patch_level=-1),  # negative
        Record(b"c" * (limits.MAX_ATTESTATION_CHALLENGE_BYTES + 1)),
    ],
    ids=["level", "boot-state", "repeated-tag", "wrong-type", "untagged", "negative", "long-nonce"],
)
def test_malformed_record_is_refused(record: Record) -> None:
    with pytest.raises(DecodeError):
        parse_key_description(record.encode())


def test_non_minimal_integer_and_boolean_are_refused() -> None:
    good = Record(b"c").encode()
    assert b"\x01\x01\xff" in good
    with pytest.raises(DecodeError):
        parse_key_description(good.replace(b"\x01\x01\xff", b"\x01\x01\x01"))
    padded = good.replace(integer(300), b"\x02\x03\x00\x01\x2c", 1)
    with pytest.raises(DecodeError):
        parse_key_description(padded)


def test_record_nested_too_deeply_under_an_unknown_tag_is_refused() -> None:
    deep = tlv(0x04, b"")
    for _ in range(limits.MAX_KEY_DESCRIPTION_DEPTH + 2):
        deep = tlv(0x30, deep)
    with pytest.raises(DecodeError):
        parse_key_description(Record(b"c", extra_hw=explicit(799, deep)).encode())


@given(
    challenge=st.binary(max_size=limits.MAX_ATTESTATION_CHALLENGE_BYTES),
    level=st.sampled_from([0, 1, 2]),
    locked=st.booleans(),
    boot=st.integers(0, 3),
    patch=st.integers(0, 2**40),
    purposes=st.lists(st.integers(0, 7), max_size=limits.MAX_AUTHORIZATION_SET_MEMBERS),
)
def test_any_encoded_record_reads_back(
    challenge: bytes, level: int, locked: bool, boot: int, patch: int, purposes: list[int]
) -> None:
    record = Record(
        challenge,
        attestation_level=level,
        keymint_level=level,
        locked=locked,
        boot_state=boot,
        patch_level=patch,
        purposes=tuple(purposes),
    )
    parsed = parse_key_description(record.encode())
    assert parsed.attestation_challenge == challenge
    assert parsed.keymint_security_level == level
    hw = parsed.hardware_enforced
    assert hw.integer(TAG_OS_PATCH_LEVEL) == patch and hw.purposes == set(purposes)
    assert hw.root_of_trust is not None and hw.root_of_trust.device_locked is locked


@given(st.integers(1, 2**160))
def test_status_list_serial_keys_round_trip(serial: int) -> None:
    document = b'{"entries": {"' + serial_key(serial).upper().encode() + b'": {"status": "X"}}}'
    assert parse_status_list(document).status_of(serial) is not None


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b'{"entries": []}',
        b'{"entries": {"zz": {"status": "REVOKED"}}}',
        b'{"entries": {"01": {"status": 1}}}',
        b'{"entries": {"1": {"status": "REVOKED"}, "01": {"status": "REVOKED"}}}',
        b'{"entries": {"1": {"status": "A"}, "1": {"status": "B"}}}',
    ],
    ids=["array", "entries-array", "not-hex", "status-number", "same-serial", "duplicate-key"],
)
def test_malformed_status_list_is_refused(document: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_status_list(document)


def test_status_list_over_its_bound_is_refused() -> None:
    with pytest.raises(TooLargeError):
        parse_status_list(b" " * (limits.MAX_ATTESTATION_STATUS_LIST_BYTES + 1))
