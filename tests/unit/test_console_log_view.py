"""The device console's Log view reads the log as an admission does (docs/adr/0009, decision
7): sans network, against a stand-in log that records the consistency proofs asked for."""

from __future__ import annotations

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.device.views import log_view
from privcloud.logclient import advance_checkpoint
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner

ORIGIN = "log.example/releases"
NOW = 1_800_000_000
LOG = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.from_seed(b"\x01" * 32))
WITNESS = WitnessKey("w1.example/w", Ed25519PrivateKey.from_seed(b"\x02" * 32))


class _Log:
    base_url = "http://relay.example/log"

    def __init__(self, tree: MerkleTree, note: bytes) -> None:
        self.tree, self.note = tree, note
        self.reads: list[tuple[int, int]] = []

    async def checkpoint(self) -> bytes:
        return self.note

    async def reads_tiles(self) -> bool:
        return True

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        self.reads.append((old, new))
        return self.tree.consistency_proof(old, new)

    async def iter_entries(self, start: int, end: int) -> list[bytes]:
        return [b"entry %d" % i for i in range(start, end)]

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)


async def test_a_device_at_the_logs_size_reads_in_the_console_as_its_admissions_do() -> None:
    # The attack (a review): admissions read a step-behind reader's tiles when the device
    # trusts the log's size already; the Log view read none, which told the operator, when
    # the user opened it, that this device's last admission had seen the newest checkpoint.
    tree = MerkleTree()
    for i in range(300):
        tree.append_leaf(b"entry %d" % i)
    size = tree.size()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), [LOG, WITNESS.at(NOW)])
    state = TrustedLogState(ORIGIN, LOG.verifier(), (WITNESS.verifier(),), 1).update(note, [], NOW)
    admission, console = _Log(tree, note), _Log(tree, note)
    await advance_checkpoint(admission, state, now=NOW)  # type: ignore[arg-type]
    view = await log_view(console, state, {}, now=NOW)  # type: ignore[arg-type]
    assert view["latest"]["verified"]
    assert console.reads == admission.reads == [(size, size)]
