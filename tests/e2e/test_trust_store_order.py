"""``refresh_trusted_checkpoint`` verifies the log's signature on a checkpoint before it fetches
anything that checkpoint's size implies (C2SP tlog-tiles, "clients ... MUST verify the
checkpoint before fetching tiles"): a note the log never signed makes the client fetch no proof
and no tile. The log here is a hostile server on loopback that counts what it is asked."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import VerificationError
from privcloud.logclient import LogClient
from privcloud.sdk.trust_store import pinned_state, refresh_trusted_checkpoint
from privcloud.services.site import start_site
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey, cosign
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import Ed25519NoteSigner, add_signatures

ORIGIN = "privcloud.local/log"


@dataclass
class HostileLog:
    """Serves one checkpoint note (``/checkpoint`` and ``/v1/checkpoint``); records every other
    path it is asked for and answers it 404."""

    note: bytes = b""
    asked: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            if request.path in ("/checkpoint", "/v1/checkpoint"):
                return web.Response(body=self.note, content_type="text/plain")
            self.asked.append(request.path)
            return web.Response(status=404)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def hostile() -> AsyncIterator[HostileLog]:
    h = HostileLog()
    runner, port = await start_site(h.app(), "127.0.0.1", 0)
    h.url = f"http://127.0.0.1:{port}"
    yield h
    await runner.cleanup()


def _cosigned(signer: Ed25519NoteSigner, witness: WitnessKey, tree: MerkleTree) -> bytes:
    note = sign_checkpoint(Checkpoint(ORIGIN, tree.size(), tree.root()), [signer])
    text = note.split(b"\n\n")[0].decode() + "\n"
    return add_signatures(note, [cosign(text, witness, time.time())])


def _trusting_two_leaves() -> tuple[TrustedLogState, WitnessKey]:
    signer = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    witness = WitnessKey("privcloud.local/witness", Ed25519PrivateKey.generate())
    tree = MerkleTree()
    for e in (b"release 0", b"release 1"):
        tree.append_leaf(e)
    state = pinned_state(signer.verifier().vkey(), [witness.verifier().vkey()])
    return state.update(_cosigned(signer, witness, tree), [], time.time()), witness


@pytest.mark.parametrize("read", ["tiles", "api"])
async def test_unsigned_checkpoint_causes_no_proof_fetch(hostile: HostileLog, read: str) -> None:
    state, witness = _trusting_two_leaves()
    # A bigger tree "signed" under the log's name with another key, even cosigned by the
    # pinned witness: the client must refuse it before asking for any proof or tile.
    forger = Ed25519NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    forged = MerkleTree()
    for i in range(300):
        forged.append_leaf(b"backdoored %d" % i)
    hostile.note = _cosigned(forger, witness, forged)
    async with LogClient(hostile.url, read=read) as client:  # type: ignore[arg-type]
        with pytest.raises(VerificationError):
            await refresh_trusted_checkpoint(client, state)
        assert client.tile_requests == 0
    assert hostile.asked == []


async def test_checkpoint_of_another_origin_causes_no_proof_fetch(hostile: HostileLog) -> None:
    state, _ = _trusting_two_leaves()
    other = Ed25519NoteSigner("other.example/log", Ed25519PrivateKey.generate())
    tree = MerkleTree()
    for i in range(5):
        tree.append_leaf(b"entry %d" % i)
    hostile.note = sign_checkpoint(Checkpoint(other.name, 5, tree.root()), [other])
    async with LogClient(hostile.url, read="api") as client:
        with pytest.raises(VerificationError):
            await refresh_trusted_checkpoint(client, state)
    assert hostile.asked == []
