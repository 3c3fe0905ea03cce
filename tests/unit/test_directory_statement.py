"""Directory statements (docs/adr/0033, privcloud.trust.directory_statement) and the gateway's
logged directory (privcloud.services.gateway_directory), sans-IO: the format, the device's
checks, the monitor's count, and which directory the gateway serves when."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest

from privcloud import errors, limits
from privcloud.crypto.hpke import (
    MLKEM768X25519_SHA256_CHACHA20,
    X25519_SHA256_AES128GCM,
    KemId,
    generate_keypair,
)
from privcloud.envelope import key_id_for
from privcloud.ohttp import GatewayKey, KeyConfig, SymmetricSuite
from privcloud.services.gateway_directory import LoggedDirectory, named_keys_of
from privcloud.services.gateway_key import GatewayKeyRecord
from privcloud.trust.directory import NodeDescriptor, NodeKey, decode_directory_document
from privcloud.trust.directory_statement import (
    DirectoryStatement,
    check_directory,
    downgrades,
    entry_digest,
    most_valid_at_once,
    named_keys,
    node_line,
)
from privcloud.trust.keys import KeyStatement

NOW = 1_764_651_600  # on the validity grid (a multiple of half an hour)
GATEWAY = "privcloud.gateway"


def _node(name: str) -> NodeDescriptor:
    key = generate_keypair(X25519_SHA256_AES128GCM.kem).public_bytes
    return NodeDescriptor(
        node_id=name,
        key_id=key_id_for(X25519_SHA256_AES128GCM.kem, key),
        suite=X25519_SHA256_AES128GCM,
        public_key=key,
        region="eu-west",
        provider="local",
        tee="simulated",
    )


NODES = [_node(f"node-{i}") for i in range(1, 4)]


def _statement(
    nodes: list[NodeDescriptor] = NODES, keys: tuple[KeyStatement, ...] = (), **kw: int
) -> DirectoryStatement:
    times = {"not_before": NOW, "not_after": NOW + 3600, **kw}
    return DirectoryStatement.for_nodes(
        GATEWAY, nodes, times["not_before"], times["not_after"], keys
    )


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _key_statement(n: int) -> KeyStatement:
    suite = SymmetricSuite(X25519_SHA256_AES128GCM.kdf, X25519_SHA256_AES128GCM.aead)
    config = KeyConfig(n, X25519_SHA256_AES128GCM.kem, bytes([n]) * 32, (suite,))
    return KeyStatement.for_ohttp(GATEWAY, config, NOW, NOW + 86400)


# --- the format ------------------------------------------------------------------------------


def test_statement_golden_bytes_both_ways() -> None:
    # Two nodes: key ids SHA-256 of "a" and of "b", in byte order (0x3e.. before 0xca..), entry
    # digests SHA-256 of "d" and of "c"; the JSON written by hand: keys sorted, standard base64,
    # no spaces.
    a, b, c, d = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c", b"d"))
    golden = (
        b'{"nodes":[["PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0=",'
        b'"GKw+c0PwFokMUQ6T+TUmEWnZ4/VlQ2Qpgw+vCTT0+OQ="],'
        b'["ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=",'
        b'"Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78Y="]],"not_after":1764656400,'
        b'"not_before":1764652800,"schema":"privcloud.node-directory/v1",'
        b'"service":"privcloud.gateway"}'
    )
    statement = DirectoryStatement(GATEWAY, ((b, d), (a, c)), 1_764_652_800, 1_764_656_400, None)
    assert statement.encode() == golden
    assert DirectoryStatement.decode(golden) == statement  # (version 1: decoded for audits)
    assert statement.key_ids == (b, a)


def test_statement_v2_golden_bytes_both_ways() -> None:
    # Version 2 adds the leaf hash of each gateway key statement (here SHA-256 of "k").
    a, b, c, d, k = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c", b"d", b"k"))
    golden = (
        b'{"keys":["%s"],'
        % b"glTDKakoUPbVOd03b0gW7idkUX2l4CNVFK9DMWRIDXo="
        + b'"nodes":[["PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0=",'
        b'"GKw+c0PwFokMUQ6T+TUmEWnZ4/VlQ2Qpgw+vCTT0+OQ="],'
        b'["ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=",'
        b'"Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78Y="]],"not_after":1764656400,'
        b'"not_before":1764652800,"schema":"privcloud.node-directory/v2",'
        b'"service":"privcloud.gateway"}'
    )
    statement = DirectoryStatement(GATEWAY, ((b, d), (a, c)), 1_764_652_800, 1_764_656_400, (k,))
    assert statement.encode() == golden
    assert DirectoryStatement.decode(golden) == statement


@pytest.mark.parametrize(
    "keys",
    [
        [_h(b"2"), _h(b"1")] if _h(b"2") > _h(b"1") else [_h(b"1"), _h(b"2")],  # unsorted
        [_h(b"1"), _h(b"1")],  # twice
        [b"\x01" * 31],  # not a leaf hash
        [_h(bytes([i])) for i in range(limits.MAX_KEY_STATEMENTS + 1)],  # too many
    ],
)
def test_statement_with_malformed_keys_is_refused(keys: list[bytes]) -> None:
    with pytest.raises((errors.DecodeError, errors.TooLargeError)):
        DirectoryStatement(GATEWAY, (), NOW, NOW + 3600, tuple(keys))


def test_a_v1_statement_names_no_key_and_is_refused_for_use() -> None:
    v1 = dataclasses.replace(_statement(), keys=None)
    assert DirectoryStatement.decode(v1.encode()) == v1
    with pytest.raises(errors.DirectoryConsistencyError, match="names no gateway key"):
        named_keys(v1, [], [], NOW)


def test_a_named_key_withheld_from_the_device_is_refused() -> None:
    # The gateway shows one device the statement's keys less its hybrid one: a downgrade, and
    # a key set of that device's own (docs/adr/0009, decision 7).
    one, two = _key_statement(1), _key_statement(2)
    statement = _statement(keys=(one, two))
    shown = [two, one, _key_statement(3)]
    assert named_keys(statement, shown, shown, NOW) == [two, one]  # 3: not named
    with pytest.raises(errors.DirectoryConsistencyError, match="withheld"):
        named_keys(statement, [one], [one], NOW)
    # Served, valid, but its proof failed (a log read broken for this device): refused too.
    with pytest.raises(errors.DirectoryConsistencyError, match="failed its proof"):
        named_keys(statement, [one, two], [one], NOW)


def test_a_named_key_ended_or_ending_is_passed_over_and_one_not_begun_refused() -> None:
    # Ended, or ending sooner than an honest gateway names a key (a statement replayed from
    # earlier in the step would keep the device on it past its end): logged validity, not an
    # answer of the gateway, so the device chooses among the others. One not begun on the
    # device's clock is never named by an honest gateway (it would split devices by clock).
    def key(n: int, not_before: float, not_after: float) -> KeyStatement:
        config = _key_statement(n).key_config
        return KeyStatement.for_ohttp(GATEWAY, config, int(not_before), int(not_after))

    one = _key_statement(1)
    ended = key(2, NOW - 7200, NOW - 10)
    ending = key(3, NOW - 7200, NOW + limits.DIRECTORY_KEY_AHEAD_S - limits.KEY_STATEMENT_SKEW_S)
    statement = _statement(keys=(one, ended, ending))
    assert named_keys(statement, [one, ended, ending], [one, ending], NOW) == [one]
    with pytest.raises(errors.DirectoryConsistencyError, match="names is valid now"):
        named_keys(_statement(keys=(ended, ending)), [ended, ending], [ending], NOW)
    later = key(4, NOW + limits.KEY_STATEMENT_SKEW_S + 1, NOW + 9000)
    with pytest.raises(errors.DirectoryConsistencyError, match="not begun"):
        named_keys(_statement(keys=(one, later)), [one, later], [one], NOW)


def test_entry_digest_covers_the_entry_but_its_evidence() -> None:
    node = NODES[0]
    digest = entry_digest(node)
    assert entry_digest(dataclasses.replace(node, evidence=b"renewed")) == digest
    for change in (
        {"features": ("echo", "summarize")},
        {"node_id": "node-9"},
        {"region": "us-east"},
        {"tee": "sev-snp"},
    ):
        assert entry_digest(dataclasses.replace(node, **change)) != digest  # type: ignore[arg-type]


def test_statement_names_each_nodes_key_id_sorted() -> None:
    statement = _statement(list(reversed(NODES)))
    assert statement.key_ids == tuple(sorted(n.key_id for n in NODES))
    assert statement == _statement()
    with pytest.raises(errors.DecodeError, match="share a key"):
        DirectoryStatement.for_nodes(GATEWAY, [NODES[0], NODES[0]], NOW, NOW + 60)


def _doc(**changes: object) -> bytes:
    doc = json.loads(_statement().encode())
    doc.update(changes)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


@pytest.mark.parametrize(
    "data",
    [
        _doc(schema="privcloud.node-directory/v3"),
        _doc(schema="privcloud.node-directory/v1"),  # (with keys: not a version-1 statement)
        _doc(keys="x"),
        _doc(keys=["!!"]),
        _doc(keys=[base64.b64encode(bytes(31)).decode()]),
        _doc(extra=1),
        _doc(not_after=NOW),
        _doc(not_before=True),
        _doc(service=""),
        _doc(nodes=["AAAA"]),
        _doc(nodes="x"),
        _doc(nodes=[base64.b64encode(bytes(32)).decode()] * 2),
        b"{}",
        _statement().encode().replace(b":", b": ", 1),  # not canonical
        b"\xff",
        b"[]",
    ],
)
def test_malformed_statement_is_refused_with_our_error(data: bytes) -> None:
    with pytest.raises((errors.DecodeError, errors.UnsupportedError)):
        DirectoryStatement.decode(data)


def test_unsorted_nodes_are_not_canonical() -> None:
    ids = json.loads(_statement().encode())["nodes"]
    with pytest.raises(errors.DecodeError):
        DirectoryStatement.decode(_doc(nodes=list(reversed(ids))))


def test_statement_size_and_node_count_are_bounded() -> None:
    with pytest.raises(errors.TooLargeError):
        DirectoryStatement.decode(b" " * (limits.MAX_DIRECTORY_STATEMENT_BYTES + 1))
    many = tuple(sorted((hashlib.sha256(b"%d" % i).digest(), bytes(32)) for i in range(257)))
    with pytest.raises(errors.TooLargeError):
        DirectoryStatement(GATEWAY, many, NOW, NOW + 60)
    largest = DirectoryStatement(GATEWAY, many[: limits.MAX_DIRECTORY_NODES], NOW, NOW + 60)
    assert len(largest.encode()) <= limits.MAX_DIRECTORY_STATEMENT_BYTES
    assert DirectoryStatement.decode(largest.encode()) == largest


# --- the device's checks ----------------------------------------------------------------------


def test_the_logged_directory_passes() -> None:
    check_directory(_statement(), list(reversed(NODES)), service=GATEWAY, now=NOW + 10)


def test_directory_subset_for_one_device_is_refused() -> None:
    with pytest.raises(errors.DirectoryConsistencyError, match="not the logged one"):
        check_directory(_statement(), NODES[:2], service=GATEWAY, now=NOW)


def test_directory_with_a_node_of_its_own_added_is_refused() -> None:
    with pytest.raises(errors.DirectoryConsistencyError, match="not the logged one"):
        check_directory(_statement(), [*NODES, _node("extra")], service=GATEWAY, now=NOW)


@pytest.mark.parametrize(
    "change", [{"features": ("echo",)}, {"node_id": "renamed"}, {"pq_key": None}]
)
def test_directory_entry_changed_for_one_device_is_refused(change: dict[str, object]) -> None:
    # The same node, shown with another feature list (a request of a feature then goes to the
    # nodes the gateway chose for this device), another name, or without its hybrid key (the
    # envelope then names the classical key ids).
    hybrid = generate_keypair(KemId.MLKEM768_X25519).public_bytes
    pq = NodeKey(key_id_for(KemId.MLKEM768_X25519, hybrid), MLKEM768X25519_SHA256_CHACHA20, hybrid)
    first = dataclasses.replace(NODES[0], features=("echo", "summarize"), pq_key=pq)
    logged = [first, *NODES[1:]]
    statement = _statement(logged)
    changed = [dataclasses.replace(first, **change), *logged[1:]]  # type: ignore[arg-type]
    with pytest.raises(errors.DirectoryConsistencyError, match="not the logged one"):
        check_directory(statement, changed, service=GATEWAY, now=NOW)


def test_directory_listing_a_node_twice_is_refused() -> None:
    with pytest.raises(errors.DirectoryConsistencyError, match="twice"):
        check_directory(_statement(), [*NODES, NODES[0]], service=GATEWAY, now=NOW)


def test_directory_statement_of_another_gateway_is_refused() -> None:
    with pytest.raises(errors.DirectoryConsistencyError, match="another gateway"):
        check_directory(_statement(), NODES, service="other.gateway", now=NOW)


@pytest.mark.parametrize("now", [NOW - limits.KEY_STATEMENT_SKEW_S - 1, NOW + 3600, NOW + 10**6])
def test_directory_statement_outside_its_validity_is_refused(now: int) -> None:
    with pytest.raises(errors.DirectoryConsistencyError, match="not valid now"):
        check_directory(_statement(), NODES, service=GATEWAY, now=now)


def test_older_of_two_valid_statements_is_refused_past_the_late_seconds() -> None:
    # The gateway serves every device the statement of the step before: every admission would
    # end at one grid time, the older statement's end (docs/adr/0009, decision 7).
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    last = NOW + half + limits.DIRECTORY_STATEMENT_LATE_S  # into the next step by the late s
    check_directory(_statement(), NODES, service=GATEWAY, now=last)
    with pytest.raises(errors.DirectoryConsistencyError, match="a step old"):
        check_directory(_statement(), NODES, service=GATEWAY, now=last + 1)


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [
        (NOW, NOW + 86400),  # longer than the lifetime
        (NOW, NOW + 3),  # shorter: back to back, one per device that refreshes then
        (NOW + 3, NOW + 3603),  # the lifetime, off the grid
    ],
)
def test_directory_statement_off_the_validity_grid_is_refused(
    not_before: int, not_after: int
) -> None:
    odd = _statement(not_before=not_before, not_after=not_after)
    with pytest.raises(errors.DirectoryConsistencyError, match="grid"):
        check_directory(odd, NODES, service=GATEWAY, now=not_before + 1)


def test_most_valid_at_once_counts_overlapping_directories_per_gateway() -> None:
    a = _statement()
    b = _statement(NODES[:2], not_before=NOW + 1800, not_after=NOW + 5400)
    c = _statement(NODES[1:], not_before=NOW + 3600, not_after=NOW + 7200)  # after a ends
    other = DirectoryStatement.for_nodes("other.gateway", NODES, NOW, NOW + 60)
    assert most_valid_at_once([a, b, c, other]) == {GATEWAY: 2, "other.gateway": 1}
    per_device = [_statement([n], not_before=NOW + i) for i, n in enumerate(NODES)]
    assert most_valid_at_once([a, *per_device])[GATEWAY] == 4


# --- the gateway's logged directory -----------------------------------------------------------


def _due(
    directory: LoggedDirectory, healthy: list[NodeDescriptor], now: int
) -> DirectoryStatement | None:
    """What the gateway would log now, adopted as if logged at once."""
    due = directory.wanted(healthy, now)
    if due is None:
        return None
    directory.adopt(*due)
    return due[0]


def test_gateway_serves_only_its_logged_directory() -> None:
    directory = LoggedDirectory(GATEWAY)
    # Nothing logged yet: the healthy nodes, without a statement (devices refuse that).
    nodes, statement = decode_directory_document(directory.document(NODES, NODES))
    assert len(nodes) == 3 and statement is None
    due = directory.wanted(NODES, NOW + 100)
    assert due is not None
    wanted, named = due
    assert set(wanted.key_ids) == {n.key_id for n in NODES} and len(named) == 3
    assert wanted.not_before == NOW  # the step it falls in
    assert wanted.not_after - wanted.not_before == limits.DIRECTORY_STATEMENT_LIFETIME_S
    # A node that came up is not served before a statement names it.
    new = _node("new")
    nodes, statement = decode_directory_document(directory.document(NODES, [*NODES, new]))
    assert statement is None and len(nodes) == 3
    directory.adopt(wanted, named)
    nodes, statement = decode_directory_document(directory.document(NODES, [*NODES, new]))
    assert statement == wanted.encode() and {n.key_id for n in nodes} == set(wanted.key_ids)
    check_directory(wanted, nodes, service=GATEWAY, now=NOW + 100)
    assert directory.wanted(NODES, NOW + 200) is None  # nothing changed


def test_a_node_down_stays_listed_until_the_next_step_and_a_new_one_comes_at_once() -> None:
    directory = LoggedDirectory(GATEWAY)
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    first = _due(directory, NODES, NOW + 5)
    assert first is not None
    # A node misses a health check: nothing to log for its absence.
    assert directory.wanted(NODES[:2], NOW + 60) is None
    # A new node comes up: listed at once, beside the one that is down.
    extra = _node("node-4")
    grown = _due(directory, [*NODES[:2], extra], NOW + 90)
    assert grown is not None and set(grown.key_ids) == {n.key_id for n in [*NODES, extra]}
    nodes, _ = decode_directory_document(directory.document(NODES[:2], NODES[:2]))
    check_directory(grown, nodes, service=GATEWAY, now=NOW + 90)  # the old entry is served
    # The next step lists the healthy nodes only, at once (the set changed).
    renewed = _due(directory, [*NODES[:2], extra], NOW + half + 1)
    assert renewed is not None and renewed.not_before == NOW + half
    assert set(renewed.key_ids) == {n.key_id for n in [*NODES[:2], extra]}


def test_a_node_that_restarted_replaces_its_old_entry() -> None:
    # A restart is a new boot key under the same node id: listed at once, in place of the old
    # entry (else the node would be listed twice, once dead, and devices leaving out the dead
    # one by its node id would leave out the live one too).
    directory = LoggedDirectory(GATEWAY)
    assert _due(directory, NODES, NOW + 5) is not None
    back = _node("node-3")
    restarted = _due(directory, [*NODES[:2], back], NOW + 60)
    assert restarted is not None
    assert set(restarted.key_ids) == {n.key_id for n in [*NODES[:2], back]}


def test_gateway_renews_its_statement_each_step_and_replicas_agree() -> None:
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    first, second = LoggedDirectory(GATEWAY), LoggedDirectory(GATEWAY)
    a = _due(first, NODES, NOW + 5)
    b = _due(second, list(reversed(NODES)), NOW + half - 1)
    assert a is not None and a == b and a.encode() == b.encode()
    assert first.wanted(NODES, NOW + half - 1) is None
    # A renewal of the same nodes waits for the clock skew (the last one is served meanwhile).
    assert first.wanted(NODES, NOW + half + 1) is None
    renewed = _due(first, NODES, NOW + half + limits.KEY_STATEMENT_SKEW_S)
    assert renewed is not None and renewed.not_before == NOW + half
    assert first.wanted([], NOW + 2 * half + 100) is None  # no node healthy: the last stays


def test_a_change_of_the_gateways_keys_is_logged_at_once_and_named() -> None:
    directory = LoggedDirectory(GATEWAY)
    one, two = _key_statement(1), _key_statement(2)
    due = directory.wanted(NODES, NOW + 5, keys=[one])
    assert due is not None and due[0].keys == (one.leaf_hash,)
    directory.adopt(*due)
    assert directory.wanted(NODES, NOW + 6, keys=[one]) is None  # nothing changed
    rotated = directory.wanted(NODES, NOW + 7, keys=[two, one])  # a new key, within the step
    assert rotated is not None and rotated[0].keys == tuple(sorted([one.leaf_hash, two.leaf_hash]))
    assert rotated[0].not_before == NOW


def test_the_gateway_names_a_key_from_a_skew_after_its_start_until_before_its_end() -> None:
    # (docs/adr/0033, decision 7) A device whose clock is a skew behind, and a cache holding
    # the key statements 10 s, find a named key served and valid; devices move off a key
    # before it ends. A gateway just started (no key begun a skew ago) names its keys at once.
    def record(not_before: float, not_after: float) -> GatewayKeyRecord:
        key = GatewayKey.generate(key_id=int(not_before) % 200 + 1)
        return GatewayKeyRecord(key, GATEWAY, int(not_before), int(not_after))

    skew, ahead = limits.KEY_STATEMENT_SKEW_S, limits.DIRECTORY_KEY_AHEAD_S
    old = record(NOW - 86400, NOW + 86400)
    new = record(NOW - skew + 1, NOW + 86400)  # begun under a skew ago
    ending = record(NOW - 86400, NOW + ahead - 1)
    assert named_keys_of([new, old, ending], NOW) == [old.statement]
    assert named_keys_of([new, old], NOW + 1) == [new.statement, old.statement]
    assert named_keys_of([new], NOW) == [new.statement]  # just started: named at once
    assert named_keys_of([ending], NOW) == []  # ends within the look-ahead: none


def test_the_statement_names_the_gateway_its_keys_name() -> None:
    directory = LoggedDirectory(GATEWAY)
    due = directory.wanted(NODES, NOW, "gw.example")
    assert due is not None and due[0].service == "gw.example"


def test_a_listed_node_the_check_refused_stays_out_until_the_next_step() -> None:
    # The gateway's check refused node-2 (docs/adr/0033, decision 5): the next statement
    # leaves it out at once, and it stays out within the step even when it passes again.
    directory = LoggedDirectory(GATEWAY)
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    assert _due(directory, NODES, NOW + 5) is not None
    dropped = directory.wanted([NODES[0], NODES[2]], NOW + 60, refused={NODES[1].key_id})
    assert dropped is not None
    directory.adopt(*dropped)
    assert set(dropped[0].key_ids) == {NODES[0].key_id, NODES[2].key_id}
    for t in (NOW + 70, NOW + 80, NOW + half - 1):  # it passes again: held out
        assert directory.wanted(NODES, t) is None
    # A restart (a new boot key) is no flap: listed at once.
    back = _node("node-2")
    restarted = _due(directory, [NODES[0], back, NODES[2]], NOW + 90)
    assert restarted is not None and back.key_id in restarted.key_ids
    # The next step takes every healthy node that passes.
    renewed = _due(directory, NODES, NOW + half + limits.KEY_STATEMENT_SKEW_S)
    assert renewed is not None and set(renewed.key_ids) == {n.key_id for n in NODES}


def test_a_node_never_listed_in_the_step_is_listed_once_it_passes() -> None:
    # One starting, refused until its bundle comes (a review found it held out for the step).
    directory = LoggedDirectory(GATEWAY)
    assert _due(directory, NODES[:2], NOW + 5) is not None
    assert directory.wanted(NODES[:2], NOW + 10, refused={NODES[2].key_id}) is None
    grown = _due(directory, NODES, NOW + 20)
    assert grown is not None and len(grown.key_ids) == 3


def test_nodes_flapping_apart_add_one_statement_each_per_step() -> None:
    # Four of seven nodes whose check flaps independently, every few seconds of a step: at
    # most one statement more per node, not one per subset (a review counted 32 valid at once
    # without the hold-out, against the audit's 16).
    import random

    nodes = [_node(f"node-{i}") for i in range(1, 8)]
    directory = LoggedDirectory(GATEWAY)
    made = {_due(directory, nodes, NOW + 5)}
    rng = random.Random(7)
    for t in range(NOW + 10, NOW + 1790, 2):
        failing = {n.key_id for n in nodes[:4] if rng.random() < 0.5}
        due = directory.wanted([n for n in nodes if n.key_id not in failing], t, refused=failing)
        if due is not None:
            directory.adopt(*due)
            made.add(due[0])
    assert len(made) <= 1 + 4


def test_an_entry_whose_logged_bundle_failed_is_withheld_from_the_directory() -> None:
    directory = LoggedDirectory(GATEWAY)
    statement = _due(directory, NODES, NOW + 5)
    assert statement is not None
    nodes, _ = decode_directory_document(directory.document(NODES, []))
    assert len(nodes) == 3  # the logged entries, none fresher known
    nodes, _ = decode_directory_document(directory.document(NODES, [], withheld={NODES[1].key_id}))
    assert [n.node_id for n in nodes] == ["node-1", "node-3"]
    with pytest.raises(errors.DirectoryConsistencyError):  # devices refuse it meanwhile
        check_directory(statement, nodes, service=GATEWAY, now=NOW + 5)


def test_a_listed_entry_that_changes_within_the_step_keeps_its_logged_form() -> None:
    # Node ids and features are not bound by the evidence: a node host that changes them at
    # each health check would otherwise make a statement per change (a review made 21 valid
    # at once). The change is listed at the next step.
    directory = LoggedDirectory(GATEWAY)
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    first = _due(directory, NODES, NOW + 5)
    assert first is not None
    for i in range(20):
        changed = dataclasses.replace(NODES[2], features=(f"feature-{i}",))
        assert directory.wanted([*NODES[:2], changed], NOW + 10 + i) is None
    nodes, _ = decode_directory_document(directory.document(NODES, [*NODES[:2], changed]))
    check_directory(first, nodes, service=GATEWAY, now=NOW + 40)  # the logged form is served
    renewed = _due(directory, [*NODES[:2], changed], NOW + half + limits.KEY_STATEMENT_SKEW_S)
    assert renewed is not None and node_line(changed) in renewed.nodes


def test_set_aside_judges_the_logged_labels_alone() -> None:
    # What a device's policy excludes whatever bundle it is shown (docs/adr/0033, decision 5):
    # TEE type, the simulated TEE without the development policy, region, provider.
    from privcloud.trust.admission import ClientPolicy, set_aside

    dev = ClientPolicy.insecure_local_dev(
        allowed_regions=frozenset({"eu-west"}), allowed_providers=frozenset({"local"})
    )
    node = NODES[0]
    assert set_aside(node, dev) is None
    assert set_aside(node, ClientPolicy()) == "TEE type not allowed by policy"
    assert set_aside(dataclasses.replace(node, region="us-east"), dev) == (
        "node region not allowed by policy"
    )
    assert set_aside(dataclasses.replace(node, provider="other"), dev) == (
        "node provider not allowed by policy"
    )
    lenient = dataclasses.replace(
        ClientPolicy(),
        attestation=dataclasses.replace(
            ClientPolicy().attestation,
            allowed_tee_types=frozenset({"simulated", "sev-snp"}),
        ),
    )
    assert set_aside(node, lenient) == "insecure simulated evidence refused by policy"
    assert set_aside(dataclasses.replace(node, tee="sev-snp"), lenient) is None


# --- the audit: a statement that names no post-quantum key while one was valid -----------------


def _hybrid_key_statement(
    n: int, not_before: int = NOW, not_after: int = NOW + 86400
) -> KeyStatement:
    kem = MLKEM768X25519_SHA256_CHACHA20
    suite = SymmetricSuite(kem.kdf, kem.aead)
    config = KeyConfig(n, kem.kem, generate_keypair(kem.kem).public_bytes, (suite,))
    return KeyStatement.for_ohttp(GATEWAY, config, not_before, not_after)


def test_a_statement_naming_only_a_classical_key_while_a_hybrid_one_was_valid_is_a_downgrade() -> (
    None
):
    classical = _key_statement(1)
    hybrid = _hybrid_key_statement(2, not_before=NOW - limits.KEY_STATEMENT_SKEW_S)
    step = {"not_before": NOW + 1800, "not_after": NOW + 5400}
    honest = _statement(keys=(classical, hybrid), **step)
    downgraded = _statement(keys=(classical,), **step)
    logged = [(0, classical), (1, hybrid)]
    assert downgrades([(2, honest)], logged) == []
    assert downgrades([(2, downgraded)], logged) == [downgraded]
    # Beside an honest statement too: the devices shown this one alone are downgraded.
    assert downgrades([(2, honest), (3, downgraded)], logged) == [downgraded]
    # Naming a newer hybrid key instead is no downgrade.
    newer = _hybrid_key_statement(3)
    assert downgrades([(3, _statement(keys=(newer,), **step))], [*logged, (2, newer)]) == []


def test_no_downgrade_where_no_honest_gateway_would_have_named_the_hybrid_key() -> None:
    classical = _key_statement(1)
    step = {"not_before": NOW, "not_after": NOW + 3600}
    only_classical = _statement(keys=(classical,), **step)
    cases = [
        # begun less than the skew before the statement's step: named from the next step on
        ((0, _hybrid_key_statement(2, not_before=NOW)), 2),
        # ending less than DIRECTORY_KEY_AHEAD_S after the step (named by no statement then)
        ((0, _hybrid_key_statement(2, not_after=NOW + 1800 + limits.DIRECTORY_KEY_AHEAD_S - 1)), 2),
        # logged after the statement
        ((3, _hybrid_key_statement(2, not_before=NOW - 600)), 2),
        # another gateway's
        (
            (
                0,
                KeyStatement.for_ohttp(
                    "other.gateway",
                    KeyConfig.decode(_hybrid_key_statement(2).key),
                    NOW - 600,
                    NOW + 86400,
                ),
            ),
            2,
        ),
    ]
    for key, index in cases:
        assert downgrades([(index, only_classical)], [(1, classical), key]) == []
    v1 = dataclasses.replace(only_classical, keys=None)
    late = (0, _hybrid_key_statement(2, not_before=NOW - 600))
    assert downgrades([(2, v1)], [late]) == []
    assert downgrades([(2, only_classical)], [late]) == [only_classical]
    # A key in its last hour is still due while an honest gateway names it (a review: the
    # rule asked for the statement's whole hour, which left every hybrid key's last unguarded).
    end = NOW + 1800 + limits.DIRECTORY_KEY_AHEAD_S
    ending = (0, _hybrid_key_statement(2, not_before=NOW - 600, not_after=end))
    assert downgrades([(2, only_classical)], [ending]) == [only_classical]


def test_a_statement_naming_no_hybrid_key_during_a_handover_of_hybrid_keys_is_a_downgrade() -> None:
    # A review (ADR 0033, decision 7, "not caught"): with two hybrid keys handing over in the
    # middle of a step, neither was due for the whole step, so a statement naming neither
    # passed the audit at every rotation. An honest gateway names one of them whenever in the
    # step it logs: the old until DIRECTORY_KEY_AHEAD_S before its end, the new from
    # KEY_STATEMENT_SKEW_S after its start.
    classical = _key_statement(1)
    skew, ahead = limits.KEY_STATEMENT_SKEW_S, limits.DIRECTORY_KEY_AHEAD_S
    step = {"not_before": NOW, "not_after": NOW + 3600}
    old = _hybrid_key_statement(2, not_before=NOW - 86400, not_after=NOW + 1200 + ahead)
    new = _hybrid_key_statement(3, not_before=NOW + 1200 - skew, not_after=NOW + 86400)
    logged = [(0, classical), (1, old), (2, new)]
    only_classical = _statement(keys=(classical,), **step)
    assert downgrades([(3, only_classical)], logged) == [only_classical]
    for named in (old, new):
        assert downgrades([(3, _statement(keys=(classical, named), **step))], logged) == []
    # A gap between them (the new one named a second after the old one is no longer) is no
    # excuse (a review: it exempted the whole step); a gap of a step or more is (an honest
    # gateway logging in it names no hybrid key either: a downgrade of everyone, in public).
    late = _hybrid_key_statement(3, not_before=NOW + 1201 - skew, not_after=NOW + 86400)
    assert downgrades([(3, only_classical)], [(0, classical), (1, old), (2, late)]) == [
        only_classical
    ]
    gap = limits.MAX_HYBRID_KEY_GAP_S
    later = _hybrid_key_statement(3, not_before=NOW + 1200 + gap - skew, not_after=NOW + 86400)
    assert downgrades([(3, only_classical)], [(0, classical), (1, old), (2, later)]) == []
    # The new key logged after the statement covers nothing of it.
    assert downgrades([(2, only_classical)], [(0, classical), (1, old), (3, new)]) == []
