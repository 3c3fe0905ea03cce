"""The log's checkpoint and cosignature state machine, in memory (transparency/log_core.py).

No sockets, no SQLite, no sleeping: the tree is a MerkleTree, each witness is the sans-IO
witness procedure over a MemoryLedger, and time is a number the test moves. The tests feed the
core sizes, roots, witness answers and times, and check what it decides.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import ConfigError, PrivcloudError, UnavailableError
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from privcloud.transparency.cosignature import WitnessKey, verify_cosignatures
from privcloud.transparency.log_core import CosignExchange, LogCore
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner, parse_note
from privcloud.transparency.witness import (
    MEDIA_TLOG_SIZE,
    MemoryLedger,
    SizeConflictError,
    add_checkpoint,
    encode_add_checkpoint,
    encode_size_body,
)

ORIGIN = "example.test/log"
SIGNER = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x01" * 32))
W1 = WitnessKey("witness.test/w1", Ed25519PrivateKey.from_seed(b"\x02" * 32))
W2 = WitnessKey("witness.test/w2", Ed25519PrivateKey.from_seed(b"\x03" * 32))
T0 = 1000.0
INTERVAL, REFRESH, RETRY = 0.5, 3600.0, 5.0

Answer = tuple[int, str, bytes]
#: A witness as the log sees it: request body in, (status, media type, body) out; None: down.
Remote = Callable[[bytes], Answer | None]


class Witness:
    """The sans-IO witness procedure with its own record, answering as its HTTP shell would."""

    def __init__(self, key: WitnessKey = W1) -> None:
        self.key = key
        self.ledger = MemoryLedger()
        self.asked = 0

    def __call__(self, body: bytes) -> Answer:
        self.asked += 1
        logs = {ORIGIN: [SIGNER.verifier()]}
        try:
            line = add_checkpoint(body, logs=logs, key=self.key, ledger=self.ledger, now=T0)
        except SizeConflictError as exc:
            return 409, MEDIA_TLOG_SIZE, encode_size_body(exc.recorded_size)
        except PrivcloudError as exc:
            return exc.http_status, "application/json", b'{"error": "%s"}' % exc.code.encode()
        return 200, "text/plain", line

    @property
    def size(self) -> int:
        record = self.ledger.records.get(ORIGIN)
        return 0 if record is None else record.size


class Log:
    """A core over an in-memory tree, driven the way services/tlog.py drives it."""

    def __init__(self, *witnesses: WitnessKey, leaves: int = 0) -> None:
        self.tree = MerkleTree()
        self.append(leaves)
        self.core = LogCore(
            SIGNER,
            [w.verifier() for w in witnesses],
            checkpoint_interval_s=INTERVAL,
            cosign_refresh_s=REFRESH,
            witness_retry_s=RETRY,
        )
        self.core.start(self.tree.size(), self.tree.root())
        self.persisted: list[bytes] = []

    def append(self, n: int) -> None:
        for _ in range(n):
            self.tree.append_leaf(b"entry %d" % self.tree.size())

    def publish(self, remotes: dict[str, Remote], now: float, *, refresh: bool = False) -> bytes:
        """One round, as TransparencyLog.publish runs it."""
        if self.core.needs_signing(self.tree.size()):
            self.core.sign(self.tree.size(), self.tree.root())
        exchanges = self.core.plan(refresh=refresh)
        for ex in exchanges:
            run_exchange(ex, self.tree, remotes[ex.name])
        note = self.core.finish(exchanges, now)
        if note is not None:
            self.persisted.append(note)
        return self.core.note


def run_exchange(ex: CosignExchange, tree: MerkleTree, remote: Remote) -> None:
    while (old := ex.next_old_size()) is not None:
        proof = tree.consistency_proof(old, ex.size) if 0 < old < ex.size else []
        answer = remote(ex.request_body(proof))
        if answer is None:
            ex.unreachable()
        else:
            ex.receive(*answer)


def cosigners(note: bytes, *keys: WitnessKey) -> list[str]:
    return sorted(c.name for c in verify_cosignatures(note, [k.verifier() for k in keys]))


# --- signing and attaching ---------------------------------------------------------------------


def test_checkpoint_is_signed_for_the_tree_and_resigned_only_when_it_grows() -> None:
    log = Log(leaves=3)
    checkpoint = open_checkpoint(log.core.note, [SIGNER.verifier()], origin=ORIGIN)
    assert (checkpoint.size, checkpoint.root_hash) == (3, log.tree.root())
    assert not log.core.needs_signing(3)
    log.append(2)
    assert log.core.needs_signing(5)
    log.publish({}, T0)
    assert log.core.checkpoint.size == 5 and log.persisted == [log.core.note]


def test_cosignatures_of_honest_witnesses_are_attached_in_name_order() -> None:
    w1, w2 = Witness(W1), Witness(W2)
    log = Log(W2, W1, leaves=4)
    note = log.publish({W1.name: w1, W2.name: w2}, T0)
    assert cosigners(note, W1, W2) == [W1.name, W2.name]
    names = [s.name for s in parse_note(note).signatures]
    assert names == [ORIGIN, W1.name, W2.name]
    assert log.core.witness_size(W1.name) == 4 and w1.size == 4
    assert not log.core.missing_cosignatures()


def test_cosignature_under_another_key_than_the_pinned_one_is_not_attached() -> None:
    impostor = Witness(WitnessKey(W1.name, Ed25519PrivateKey.from_seed(b"\x09" * 32)))
    log = Log(W1, leaves=2)
    note = log.publish({W1.name: impostor}, T0)
    assert len(parse_note(note).signatures) == 1  # the log's own only
    assert log.core.missing_cosignatures()


def test_cosignature_for_another_checkpoint_is_not_attached() -> None:
    """A witness (or a network attacker) answering with a valid line over an older tree."""
    log = Log(W1, leaves=2)
    older = sign_checkpoint(Checkpoint(ORIGIN, 1, log.tree.root(1)), [SIGNER])
    status, _, line = Witness()(encode_add_checkpoint(0, [], older))
    assert status == 200
    note = log.publish({W1.name: lambda _: (200, "text/plain", line)}, T0)
    assert len(parse_note(note).signatures) == 1


def test_refused_and_unreachable_witnesses_do_not_stop_publication() -> None:
    log = Log(W1, W2, leaves=1)
    note = log.publish({W1.name: lambda _: None, W2.name: lambda _: (500, "text/plain", b"")}, T0)
    assert open_checkpoint(note, [SIGNER.verifier()], origin=ORIGIN).size == 1
    assert len(parse_note(note).signatures) == 1


# --- the witness's size ------------------------------------------------------------------------


def test_witness_409_is_followed_once_from_the_size_it_names() -> None:
    """A witness that cosigned size 3 before the log lost track of it (a restart without a
    stored note): the log resends with a proof from 3 and gets the cosignature."""
    w1 = Witness()
    log = Log(W1, leaves=3)
    log.publish({W1.name: w1}, T0)
    log.core = LogCore(SIGNER, [W1.verifier()])  # forgets which size the witness cosigned
    log.append(4)
    log.core.start(log.tree.size(), log.tree.root())
    note = log.publish({W1.name: w1}, T0)
    assert cosigners(note, W1) == [W1.name] and w1.size == 7
    assert w1.asked == 3  # first round 1; this round: "old 0" -> 409 "3", then "old 3"


def test_witness_that_names_another_size_again_is_dropped_after_one_resend() -> None:
    sizes = iter([b"1\n", b"2\n", b"3\n"])

    def shifty(_: bytes) -> Answer:
        return 409, MEDIA_TLOG_SIZE, next(sizes)

    log = Log(W1, leaves=5)
    [ex] = log.core.plan()
    run_exchange(ex, log.tree, shifty)
    assert ex.line is None and ex.problem is not None and ex.known_size == 2


def test_witness_claiming_a_larger_tree_than_the_log_holds_is_not_asked() -> None:
    log = Log(W1, leaves=2)
    log.publish({W1.name: lambda _: (409, MEDIA_TLOG_SIZE, b"9\n")}, T0)
    assert log.core.witness_size(W1.name) == 9
    [ex] = log.core.plan()
    assert ex.next_old_size() is None and ex.problem is not None


def test_malformed_size_answer_is_a_failure_not_a_resend() -> None:
    log = Log(W1, leaves=2)
    [ex] = log.core.plan()
    run_exchange(ex, log.tree, lambda _: (409, MEDIA_TLOG_SIZE, b"007\n"))
    assert ex.line is None and ex.problem is not None and ex.known_size == 0


# --- timers ------------------------------------------------------------------------------------


def test_appends_are_batched_at_most_one_checkpoint_per_interval() -> None:
    log = Log()
    assert log.core.batch_delay(T0) == 0.0
    log.publish({}, T0)
    assert log.core.batch_delay(T0 + 0.1) == pytest.approx(INTERVAL - 0.1)
    assert log.core.batch_delay(T0 + INTERVAL) == 0.0


def test_missing_cosignature_is_retried_and_only_the_missing_witness_is_asked() -> None:
    w1, w2 = Witness(W1), Witness(W2)
    down = True
    log = Log(W1, W2, leaves=2)

    def w2_flaky(body: bytes) -> Answer | None:
        return None if down else w2(body)

    log.publish({W1.name: w1, W2.name: w2_flaky}, T0)
    assert log.core.missing_cosignatures()
    assert log.core.next_deadline() == T0 + RETRY
    down = False
    [ex] = log.core.plan()  # no refresh due: W2 only
    assert ex.name == W2.name
    note = log.publish({W1.name: w1, W2.name: w2_flaky}, T0 + RETRY)
    assert cosigners(note, W1, W2) == [W1.name, W2.name] and w1.asked == 1
    assert log.core.next_deadline() == T0 + REFRESH  # the last full round was at T0


def test_refresh_asks_every_witness_again_for_an_unchanged_checkpoint() -> None:
    w1 = Witness()
    log = Log(W1, leaves=2)
    log.publish({W1.name: w1}, T0)
    assert not log.core.refresh_due(T0 + REFRESH - 1) and log.core.refresh_due(T0 + REFRESH)
    assert log.core.plan() == []  # nothing missing, no refresh: nobody to ask
    log.publish({W1.name: w1}, T0 + REFRESH, refresh=True)
    assert w1.asked == 2 and w1.ledger.records[ORIGIN].size == 2
    assert log.core.next_deadline() == T0 + 2 * REFRESH


def test_exchange_for_a_replaced_checkpoint_is_ignored() -> None:
    w1 = Witness()
    log = Log(W1, leaves=2)
    [ex] = log.core.plan()
    run_exchange(ex, log.tree, w1)
    log.append(1)
    log.core.sign(log.tree.size(), log.tree.root())  # a new checkpoint meanwhile
    assert log.core.finish([ex], T0) is not None  # the new checkpoint, without that line
    assert len(parse_note(log.core.note).signatures) == 1


# --- restart -----------------------------------------------------------------------------------


def test_restart_keeps_the_stored_cosignatures_of_an_unchanged_tree() -> None:
    log = Log(W1, leaves=3)
    stored = log.publish({W1.name: Witness()}, T0)
    again = LogCore(SIGNER, [W1.verifier()])
    again.start(3, log.tree.root(), stored=stored, stored_tree_root=log.tree.root())
    assert again.note == stored and not again.missing_cosignatures()
    assert again.witness_size(W1.name) == 3
    log.append(2)  # grown since: the stored cosignature is of an older checkpoint
    grown = LogCore(SIGNER, [W1.verifier()])
    grown.start(5, log.tree.root(), stored=stored, stored_tree_root=log.tree.root(3))
    assert grown.missing_cosignatures() and grown.witness_size(W1.name) == 3


def test_restart_refuses_a_database_that_lost_or_changed_signed_entries() -> None:
    """Serving on would make the log sign a fork of the history it already signed."""
    log = Log(leaves=4)
    stored = log.core.note
    core = LogCore(SIGNER)
    with pytest.raises(UnavailableError):  # rolled back: the tree is smaller
        core.start(2, log.tree.root(2), stored=stored, stored_tree_root=None)
    with pytest.raises(UnavailableError):  # changed: another root at the signed size
        core.start(4, b"\x00" * 32, stored=stored, stored_tree_root=b"\x00" * 32)


def test_restart_refuses_a_stored_note_of_another_log_key() -> None:
    other = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x07" * 32))
    foreign = sign_checkpoint(Checkpoint(ORIGIN, 0, MerkleTree().root()), [other])
    with pytest.raises(UnavailableError):
        LogCore(SIGNER).start(0, MerkleTree().root(), stored=foreign, stored_tree_root=None)


def test_witnesses_must_have_distinct_names() -> None:
    with pytest.raises(ConfigError):
        LogCore(SIGNER, [W1.verifier(), W1.verifier()])
