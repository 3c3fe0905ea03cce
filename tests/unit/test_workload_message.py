"""The workload request inside the envelope, version 2 (wire/message.py; docs/envelope.md §8):
golden bytes both ways, version 1 told apart and refused, bounds, and a round-trip property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.wire import varint
from privcloud.wire.message import (
    REQUEST_VERSION,
    WorkloadRequest,
    decode_request,
    default_deadline_s,
    encode_request,
)

#: echo, streamed, issued at 1_700_000_000, deadline 60 s, params {"a":1}, body "hi":
#: 02 version | 01 flags (stream) | c00000006553f100 issued_at (8-byte varint) | 3c deadline 60
#: | 04 "echo" | 07 '{"a":1}' | "hi"
GOLDEN_V2 = bytes.fromhex("0201c00000006553f1003c046563686f077b2261223a317d6869")
GOLDEN_V2_REQUEST = WorkloadRequest(
    "echo", {"a": 1}, b"hi", stream=True, issued_at=1_700_000_000, deadline_s=60
)
#: The same request in version 1 (no issue time, no deadline), as old clients sent it.
GOLDEN_V1 = bytes.fromhex("0101046563686f077b2261223a317d6869")
#: No issue time, no deadline: both encoded as zero.
GOLDEN_V2_BARE = bytes.fromhex("02000000046563686f027b7d")


def test_golden_request_encodes_to_the_pinned_bytes() -> None:
    assert encode_request(GOLDEN_V2_REQUEST) == GOLDEN_V2
    assert encode_request(WorkloadRequest("echo")) == GOLDEN_V2_BARE


def test_golden_bytes_decode_to_the_pinned_request() -> None:
    assert decode_request(GOLDEN_V2) == GOLDEN_V2_REQUEST
    bare = decode_request(GOLDEN_V2_BARE)
    assert (bare.issued_at, bare.deadline_s) == (None, None)


def test_version_1_request_is_told_apart_and_refused() -> None:
    assert GOLDEN_V1[0] == 1 and GOLDEN_V2[0] == REQUEST_VERSION == 2
    with pytest.raises(UnsupportedError, match="version 1"):
        decode_request(GOLDEN_V1)


@pytest.mark.parametrize("version", [0, 3, 255])
def test_unknown_request_version_is_refused(version: int) -> None:
    with pytest.raises(UnsupportedError):
        decode_request(bytes([version]) + GOLDEN_V2[1:])


def test_deadline_past_the_bound_is_refused_both_ways() -> None:
    too_long = limits.MAX_REQUEST_DEADLINE_S + 1
    with pytest.raises(UsageError):
        WorkloadRequest("echo", deadline_s=too_long)
    data = bytes((2, 0)) + varint.encode(1) + varint.encode(too_long) + GOLDEN_V2_BARE[4:]
    with pytest.raises(TooLargeError):
        decode_request(data)


@pytest.mark.parametrize("cut", range(1, 10))
def test_truncated_request_header_is_refused(cut: int) -> None:
    with pytest.raises((DecodeError, TooLargeError)):
        decode_request(GOLDEN_V2[:cut])


@pytest.mark.parametrize(
    "kwargs",
    [{"issued_at": 0}, {"issued_at": -1}, {"issued_at": True}, {"deadline_s": 0}],
)
def test_out_of_range_times_are_refused_at_construction(kwargs: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        WorkloadRequest("echo", **kwargs)  # type: ignore[arg-type]


def test_stamping_sets_whole_seconds_and_the_feature_default() -> None:
    stamped = WorkloadRequest("search").stamped(1_700_000_000.9)
    assert stamped.issued_at == 1_700_000_000
    assert (
        stamped.deadline_s == default_deadline_s("search") == limits.REQUEST_DEADLINES_S["search"]
    )
    assert (
        WorkloadRequest("transcribe").stamped(1.0).deadline_s == limits.DEFAULT_REQUEST_DEADLINE_S
    )
    assert WorkloadRequest("echo", deadline_s=5).stamped(1.0).deadline_s == 5
    assert WorkloadRequest("echo", deadline_s=5).stamped(1.0, 7).deadline_s == 7


@given(
    issued_at=st.none() | st.integers(1, varint.MAX_VARINT),
    deadline_s=st.none() | st.integers(1, limits.MAX_REQUEST_DEADLINE_S),
    stream=st.booleans(),
    body=st.binary(max_size=64),
)
def test_request_round_trips(
    issued_at: int | None, deadline_s: int | None, stream: bool, body: bytes
) -> None:
    request = WorkloadRequest(
        "f", {"k": [1, "v"]}, body, stream=stream, issued_at=issued_at, deadline_s=deadline_s
    )
    assert decode_request(encode_request(request)) == request
