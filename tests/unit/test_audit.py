"""The log audit's decisions, in memory (privcloud.transparency.audit; docs/transparency.md §6).

The "log" here is a Merkle tree over one history whose entries were then swapped: the audit
re-hashes the entries it was served and uses the log's own inclusion proofs to find the first
one that does not belong to the signed tree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud.errors import UsageError, VerificationError
from privcloud.transparency.audit import FirstBadLeaf, check_entries, proof_sample
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.merkle import MerkleTree, leaf_hash

ORIGIN = "example.test/log"


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(b"entry %d" % i) for i in range(n)]


def _search(served: list[bytes], signed: MerkleTree) -> tuple[int, int]:
    """Run the search against the signed tree's proofs; (first bad index, proofs fetched)."""
    size = len(served)
    search = FirstBadLeaf(served, size)
    fetched = 0
    while (wanted := search.wanted()) is not None:
        search.feed(*[signed.inclusion_proof(i, size) for i in wanted])
        fetched += 2
    return search.index, fetched


def test_served_entries_that_give_the_signed_root_pass() -> None:
    leaves = _leaves(11)
    check_entries(leaves, Checkpoint(ORIGIN, 11, MerkleTree(leaves).root()))
    check_entries([], Checkpoint(ORIGIN, 0, MerkleTree().root()))


def test_swapped_entry_is_refused_and_named() -> None:
    """A log that serves other bytes for entry 6 than it signed: the audit names entry 6."""
    signed = MerkleTree(_leaves(11))
    served = _leaves(11)
    served[6] = leaf_hash(b"swapped")
    with pytest.raises(VerificationError):
        check_entries(served, Checkpoint(ORIGIN, 11, signed.root()))
    assert _search(served, signed)[0] == 6


def test_dropped_or_extra_entries_are_refused() -> None:
    leaves = _leaves(5)
    checkpoint = Checkpoint(ORIGIN, 5, MerkleTree(leaves).root())
    for served in (leaves[:4], [*leaves, leaf_hash(b"extra")]):
        with pytest.raises(VerificationError):
            check_entries(served, checkpoint)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=300), st.data())
def test_search_names_the_first_bad_entry_in_log_n_proofs(size: int, data: st.DataObject) -> None:
    bad = sorted(
        data.draw(st.sets(st.integers(min_value=0, max_value=size - 1), min_size=1, max_size=4))
    )
    signed = MerkleTree(_leaves(size))
    served = _leaves(size)
    for i in bad:
        served[i] = leaf_hash(b"forged %d" % i)
    found, fetched = _search(served, signed)
    assert found == bad[0]
    assert fetched <= 2 * (size - 1).bit_length()


def test_truncated_proof_from_the_log_is_refused_not_a_crash() -> None:
    served = _leaves(8)
    served[3] = leaf_hash(b"x")
    search = FirstBadLeaf(served, 8)
    with pytest.raises(VerificationError):
        search.feed([], [])


def test_search_is_driven_in_order() -> None:
    with pytest.raises(UsageError):
        FirstBadLeaf(_leaves(3), 4)
    one = FirstBadLeaf(_leaves(1), 1)
    assert one.wanted() is None and one.index == 0
    search = FirstBadLeaf(_leaves(4), 4)
    assert search.wanted() == (0, 2)
    with pytest.raises(UsageError):
        _ = search.index


def test_proof_sample_spreads_from_the_first_to_the_last_leaf() -> None:
    assert proof_sample(0, 16) == []
    assert proof_sample(5, 16) == [0, 1, 2, 3, 4]
    assert proof_sample(100, 3) == [0, 49, 99]
    assert proof_sample(100, 1) == [99]
    assert proof_sample(100, 0) == []
    sample = proof_sample(10_000, 16)
    assert len(sample) == 16 and sample[0] == 0 and sample[-1] == 9_999


def test_a_key_statement_logged_twice_fails_the_audit() -> None:
    # An honest log's append is idempotent; a second leaf of one statement lets the log answer
    # either index to a device's leaf lookup (a review of docs/adr/0009).
    from privcloud.cli.tlog_audit import _check_key_statements
    from privcloud.ohttp import GatewayKey
    from privcloud.trust.keys import KeyStatement

    statement = KeyStatement.for_ohttp("gw", GatewayKey.generate(key_id=1).config, 0, 3600)
    _check_key_statements([(0, statement)])
    with pytest.raises(VerificationError):
        _check_key_statements([(0, statement), (7, statement)])


def test_a_post_quantum_gateway_key_shorter_than_a_day_fails_the_audit() -> None:
    # Hybrid keys shorter than a directory step let a gateway hand over between two at every
    # step, neither due to be named, and name only classical keys without the audit's
    # downgrade rule seeing it (a review of ADR 0033, decision 7).
    from privcloud import limits
    from privcloud.cli.tlog_audit import _check_key_statements
    from privcloud.crypto.hpke import KemId
    from privcloud.ohttp import GatewayKey
    from privcloud.trust.keys import KeyStatement

    config = GatewayKey.generate(key_id=1, kem=KemId.MLKEM768_X25519).config
    day, t = limits.MIN_HYBRID_KEY_VALIDITY_S, limits.HYBRID_KEY_RULE_SINCE
    _check_key_statements([(0, KeyStatement.for_ohttp("gw", config, t, t + day))])
    with pytest.raises(VerificationError):
        _check_key_statements([(0, KeyStatement.for_ohttp("gw", config, t, t + 55 * 60))])
    # One from before the rule is held to none (a log keeps it for ever).
    _check_key_statements([(0, KeyStatement.for_ohttp("gw", config, 0, 55 * 60))])


def test_gateway_key_new_refuses_a_post_quantum_key_the_audit_would_then_fail(
    tmp_path: object,
) -> None:
    # Once logged, a hybrid key shorter than a day would fail every later audit of the log
    # (a review): the operator's command refuses to make one; a classical one it makes.
    from pathlib import Path

    from privcloud import limits
    from privcloud.crypto.hpke import KemId
    from privcloud.errors import ConfigError
    from privcloud.services.gateway_key import add_key

    assert isinstance(tmp_path, Path)
    short = limits.MIN_HYBRID_KEY_VALIDITY_S - 1
    with pytest.raises(ConfigError):
        add_key(tmp_path / "keys.json", now=0, lifetime_s=short)
    add_key(tmp_path / "keys.json", now=0, lifetime_s=short, kem=KemId.DHKEM_X25519_HKDF_SHA256)
    add_key(tmp_path / "keys.json", now=0, lifetime_s=limits.MIN_HYBRID_KEY_VALIDITY_S)
