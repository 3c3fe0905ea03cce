"""Every untrusted size is bounded, in one place: :mod:`privcloud.limits` (STYLE.md §7).

Two kinds of test: a scan of the source tree that refuses a ``MAX_``/``MIN_`` constant defined
anywhere but ``limits.py`` (spec-fixed wire constants are allow-listed below, each with its
reason), and checks that the bounds nest: what a client may send fits every hop's bound.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from privcloud import limits
from privcloud.crypto.hpke import KemId, Suite, derive_keypair
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.envelope import (
    MEDIA_TYPE_REQUEST,
    Recipient,
    envelope_overhead,
    open_request,
    seal_request,
)
from privcloud.envelope.padding import FRAMING
from privcloud.errors import TooLargeError, UsageError
from privcloud.ohttp import GatewayKey, decapsulate_request, encapsulate_request
from privcloud.wire import bhttp
from privcloud.wire.message import (
    ENVELOPE_ROUTE,
    WorkloadRequest,
    decode_request,
    encode_request,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "privcloud"

#: A name that reads as a bound: ``MAX_X``/``MIN_X``, private (``_MAX_X``) or a default
#: (``DEFAULT_MAX_X``).
_BOUND_NAME = re.compile(r"^_*(?:DEFAULT_)?(?:MAX|MIN)_")

#: Constants named like bounds that are *not* limits: values fixed by a specification or a wire
#: format, which no configuration may change. Key: (path under src/privcloud, name).
SPEC_FIXED: dict[tuple[str, str], str] = {
    ("wire/varint.py", "MAX_VARINT"): "RFC 9000 §16: the largest value a QUIC varint encodes",
    ("envelope/padding.py", "_MAX_LENGTH"): "docs/envelope.md §5: range of the u32 length prefix",
    ("envelope/padding.py", "MIN_BUCKET"): (
        "docs/envelope.md §5: the smallest padding bucket, a sender rule, not a bound on input"
    ),
    ("transparency/cosignature.py", "MAX_TIMESTAMP"): (
        "C2SP tlog-cosignature: the u64 timestamp, kept in the signed 64-bit range"
    ),
    ("privacypass/directory.py", "_MAX_TIMESTAMP"): (
        "the signed 64-bit range of a JSON not-before timestamp"
    ),
    ("transparency/witness.py", "MAX_PROOF_LINES"): (
        "C2SP tlog-witness: clients MUST NOT send more than 63 consistency proof lines"
    ),
    ("trust/canonical.py", "MAX_INT"): (
        "the signed 64-bit range of integers in a canonical manifest"
    ),
    ("trust/statement.py", "_MAX_TIME"): "the range of a logged statement's unix times (2^62)",
    ("privacypass/issuance.py", "_MAX_TIMESTAMP_DIGITS"): (
        "the device-signature format: its timestamp field has at most 12 decimal digits"
    ),
    ("privacypass/issuance.py", "_MAX_EXPIRES"): (
        "the range of a key-expiry timestamp, kept within SQLite integer arithmetic"
    ),
}

#: Bounds still defined outside limits.py in code owned elsewhere. Each should move to
#: privcloud.limits; drop the entry in the same change (a stale entry fails the test).
PENDING: dict[tuple[str, str], str] = {}

#: Unit helpers of limits.py, not bounds.
_UNITS = frozenset({"KiB", "MiB"})


def _assigned_names(body: list[ast.stmt]) -> list[tuple[str, int]]:
    """Names bound by assignments among ``body``, looking into if/try/with blocks and class
    bodies (a bound hidden in a class is still a bound), but not into functions."""
    found: list[tuple[str, int]] = []
    for node in body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.ClassDef):
            nested = list(node.body)
            for extra in ("orelse", "finalbody"):
                nested += getattr(node, extra, [])
            for handler in getattr(node, "handlers", []):
                nested += handler.body
            found += _assigned_names(nested)
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    found.append((name.id, node.lineno))
    return found


def _bounds_outside_limits() -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "limits.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line in _assigned_names(tree.body):
            if _BOUND_NAME.search(name):
                found[(rel, name)] = line
    return found


def test_no_bound_is_defined_outside_the_limits_module() -> None:
    found = _bounds_outside_limits()
    stray = sorted(key for key in found if key not in SPEC_FIXED and key not in PENDING)
    assert not stray, "bounds on untrusted input belong in privcloud.limits:\n" + "\n".join(
        f"  src/privcloud/{rel}:{found[(rel, name)]}: {name}" for rel, name in stray
    )


def test_allow_lists_name_only_constants_that_exist() -> None:
    found = _bounds_outside_limits()
    stale = sorted(key for key in (*SPEC_FIXED, *PENDING) if key not in found)
    assert not stale, f"stale allow-list entries (moved or renamed? drop them): {stale}"


def test_every_limit_is_final_and_says_what_it_bounds() -> None:
    lines = (SRC / "limits.py").read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    problems = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            problems += [f"{n}: annotate it Final" for n in names if n not in _UNITS]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            if name in _UNITS:
                continue
            if not (isinstance(node.annotation, ast.Name) and node.annotation.id == "Final"):
                problems.append(f"{name}: annotate it Final")
            if not lines[node.lineno - 2].startswith("#:"):
                problems.append(f"{name}: no '#:' comment on the line above saying what it bounds")
    assert not problems, "\n".join(problems)


def test_limit_names_are_unique_per_protocol() -> None:
    # A name defined twice in limits.py silently keeps only the second value.
    tree = ast.parse((SRC / "limits.py").read_text(encoding="utf-8"))
    names = [
        node.target.id
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    ]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


# --- the bounds nest: what a client may send fits every hop -----------------------------------


def test_envelope_leaves_room_for_ohttp_and_bhttp_framing_in_an_http_body() -> None:
    headroom = limits.MAX_HTTP_BODY - limits.MAX_ENVELOPE_REQUEST
    assert headroom >= 64 * limits.KiB
    assert limits.MAX_ENVELOPE_REQUEST <= limits.MAX_BHTTP_MESSAGE
    assert limits.MAX_OHTTP_REQUEST <= limits.MAX_HTTP_BODY


def test_a_largest_envelope_travels_through_ohttp_within_the_http_body_bound() -> None:
    # The inner request the SDK builds, with a large authorization value on top.
    inner = bhttp.encode_request(
        bhttp.Request(
            method=b"POST",
            scheme=b"https",
            authority=b"privcloud.gateway",
            path=ENVELOPE_ROUTE,
            headers=(
                (b"content-type", MEDIA_TYPE_REQUEST.encode()),
                (b"authorization", b"PrivateToken token=" + b"A" * 8 * limits.KiB),
            ),
            content=bytes(limits.MAX_ENVELOPE_REQUEST),
        )
    )
    assert len(inner) <= limits.MAX_BHTTP_MESSAGE
    key = GatewayKey.generate(1)
    enc_request, _ = encapsulate_request(key.config, inner)
    assert len(enc_request) <= limits.MAX_OHTTP_REQUEST <= limits.MAX_HTTP_BODY
    request, _ = decapsulate_request({key.key_id: key}, enc_request)
    assert len(bhttp.decode_request(request).content) == limits.MAX_ENVELOPE_REQUEST


def test_a_largest_workload_request_fits_an_envelope_for_any_suite_and_recipient_count() -> None:
    worst = max(
        envelope_overhead(Suite(kem, kdf, aead), limits.MAX_ENVELOPE_RECIPIENTS)
        for kem in KemId
        for kdf in KdfId
        for aead in AeadId
        if aead != AeadId.EXPORT_ONLY
    )
    assert FRAMING + limits.MAX_WORKLOAD_INPUT + worst <= limits.MAX_ENVELOPE_REQUEST


def test_a_largest_workload_request_is_sealed_opened_and_decoded() -> None:
    keys = [
        derive_keypair(KemId.DHKEM_X25519_HKDF_SHA256, bytes([i]) * 32)
        for i in range(limits.MAX_ENVELOPE_RECIPIENTS)
    ]
    recipients = [Recipient.from_public_key(k.public_bytes) for k in keys]
    params = {"language": "en"}
    framing = len(encode_request(WorkloadRequest("echo", params)))
    request = WorkloadRequest("echo", params, bytes(limits.MAX_WORKLOAD_INPUT - framing))
    encoded = encode_request(request)
    assert len(encoded) == limits.MAX_WORKLOAD_INPUT
    envelope, _ = seal_request(recipients, encoded)
    assert len(envelope) <= limits.MAX_ENVELOPE_REQUEST
    plaintext, _ = open_request(envelope, recipients[-1].key_id, keys[-1])
    assert decode_request(plaintext) == request


def test_a_workload_request_one_byte_too_large_is_refused_both_ways() -> None:
    params = {"language": "en"}
    framing = len(encode_request(WorkloadRequest("echo", params)))
    too_big = WorkloadRequest("echo", params, bytes(limits.MAX_WORKLOAD_INPUT - framing + 1))
    with pytest.raises(UsageError, match="workload request too large"):
        encode_request(too_big)
    fits = encode_request(
        WorkloadRequest("echo", params, bytes(limits.MAX_WORKLOAD_INPUT - framing))
    )
    with pytest.raises(TooLargeError, match="workload request too large"):
        decode_request(fits + b"\x00")


def test_a_node_chunk_fits_one_ohttp_chunk() -> None:
    """The gateway forwards each sealed chunk of a node's stream as one chunked-OHTTP chunk:
    its frame (header, padded ciphertext, the largest tag) with Binary HTTP content framing (a
    varint of at most 8 bytes) must fit MAX_OHTTP_CHUNK."""
    from privcloud.envelope.stream import CHUNK_HEADER_SIZE, TOP_CHUNK_BUCKET

    assert TOP_CHUNK_BUCKET + 16 == limits.MAX_ENVELOPE_CHUNK_CIPHERTEXT
    assert CHUNK_HEADER_SIZE + limits.MAX_ENVELOPE_CHUNK_CIPHERTEXT + 8 <= limits.MAX_OHTTP_CHUNK


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("localhost", False),
        ("127.0.0.1.example", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_one_loopback_check_takes_addresses_not_names(host: str, loopback: bool) -> None:
    from privcloud.netio import is_loopback

    assert is_loopback(host) is loopback
    assert is_loopback("localhost", allow_localhost=True)
