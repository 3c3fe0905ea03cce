"""The log's C2SP tlog-tiles read API over loopback, its static export, and clients that follow
the log from tiles alone.

"From tiles alone" is shown with a plain static file server (aiohttp's, not our log) holding
what ``export_tiles`` wrote: it can answer nothing but ``/checkpoint`` and ``/tile/...``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from privcloud import limits
from privcloud.cli import main as cli_main
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import ForkError, TooLargeError, VerificationError
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import LogClient
from privcloud.sdk.logproofs import refresh_from_tiles, verify_entry_from_tiles
from privcloud.sdk.trust_store import pinned_state
from privcloud.services.site import start_site
from privcloud.services.tlog_tiles import IMMUTABLE, SHORT_LIVED, export_tiles, read_resource
from privcloud.storage.database import Database
from privcloud.storage.tlog_store import load_key
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.merkle import MerkleTree, leaf_hash
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.transparency.tiles import (
    TileId,
    decode_bundle,
    decode_tile,
    read_tile,
    tiles_for_size,
)

ENTRIES = [b"manifest %d" % i for i in range(600)]


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalTransparency]:
    t = await LocalTransparency.start("127.0.0.1", tmp_path / "data")
    yield t
    await t.stop()


async def _grow(t: LocalTransparency, entries: list[bytes]) -> bytes:
    """Append straight to the store (its worker is idle), publish, wait for the cosignature."""
    await asyncio.to_thread(t.log.store.append, entries)
    await t.log.publish()
    async with LogClient(t.log_url) as client:
        return await client.wait_for_checkpoint(t.log.store.size(), min_cosignatures=1)


async def _get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    target = URL(url, encoded=True)  # sent as written (no normalising of %-escapes)
    async with (
        aiohttp.ClientSession(auto_decompress=False) as s,
        s.get(target, headers=headers) as r,
    ):
        return r.status, await r.read(), dict(r.headers)


@pytest.fixture
async def static(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A plain static file server over ``tmp_path / "static"`` (what a CDN would be)."""
    root = tmp_path / "static"
    root.mkdir()
    app = web.Application()
    app.router.add_static("/", root)
    runner, port = await start_site(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", root
    await runner.cleanup()


# --- the log serves the tile API ---------------------------------------------------------------


async def test_log_serves_checkpoint_tiles_and_bundles_with_cache_headers(
    local: LocalTransparency,
) -> None:
    note = await _grow(local, ENTRIES)
    tree = MerkleTree(leaf_hash(e) for e in ENTRIES)
    base = local.log_url
    status, body, headers = await _get(base + "/checkpoint")
    assert (status, body) == (200, note)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Cache-Control"] == SHORT_LIVED

    status, body, headers = await _get(base + "/tile/0/000")
    assert (status, headers["Cache-Control"]) == (200, IMMUTABLE)
    assert headers["Content-Type"] == "application/octet-stream"
    assert decode_tile(TileId(0, 0, 256), body) == tree.leaf_hashes(0, 256)

    status, body, headers = await _get(base + "/tile/0/002.p/88")
    assert (status, headers["Cache-Control"]) == (200, SHORT_LIVED)
    assert decode_tile(TileId(0, 2, 88), body) == tree.leaf_hashes(512, 600)
    # A narrower partial tile of an older size is still the same hashes.
    status, body, _ = await _get(base + "/tile/0/002.p/10")
    assert (status, body) == (200, b"".join(tree.leaf_hashes(512, 522)))
    status, body, _ = await _get(base + "/tile/1/000.p/2")
    assert body == tree.perfect_subtree_hash(8, 0) + tree.perfect_subtree_hash(8, 1)

    status, body, headers = await _get(base + "/tile/entries/001", {"Accept-Encoding": "identity"})
    assert (status, headers["Cache-Control"]) == (200, IMMUTABLE)
    assert "Content-Encoding" not in headers
    assert decode_bundle(TileId(None, 1, 256), body) == ENTRIES[256:512]
    status, body, headers = await _get(
        base + "/tile/entries/001", headers={"Accept-Encoding": "gzip"}
    )
    assert headers["Content-Encoding"] == "gzip"
    assert decode_bundle(TileId(None, 1, 256), gzip.decompress(body)) == ENTRIES[256:512]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tile/0/003", 404),  # beyond the tree
        ("/tile/0/002", 404),  # not full yet
        ("/tile/0/002.p/89", 404),  # wider than the tree's
        ("/tile/1/000", 404),
        ("/tile/entries/002.p/100", 404),
        ("/tile/0/x000/002", 400),  # non-canonical
        ("/tile/00/000", 400),
        ("/tile/0/000.p/256", 400),
        ("/tile/64/000", 400),
        ("/tile/0/%30%30%30", 400),  # a percent-encoded spelling of /tile/0/000
    ],
)
async def test_tiles_the_tree_does_not_have_are_refused(
    local: LocalTransparency, path: str, status: int
) -> None:
    await _grow(local, ENTRIES)
    assert (await _get(local.log_url + path))[0] == status


async def test_entry_too_large_for_a_bundle_is_refused_at_append(local: LocalTransparency) -> None:
    async with LogClient(local.log_url) as client:
        with pytest.raises(TooLargeError):
            await client.append(b"x" * (limits.MAX_TLOG_TILED_ENTRY_BYTES + 1), local.operator_key)
        appended = await client.append(b"x" * limits.MAX_TLOG_TILED_ENTRY_BYTES, local.operator_key)
    assert appended.index == 0


# --- clients read tiles ------------------------------------------------------------------------


async def test_log_client_proofs_come_from_tiles_and_equal_the_proof_endpoints(
    local: LocalTransparency,
) -> None:
    await _grow(local, ENTRIES[:300])
    await _grow(local, ENTRIES[300:])
    async with LogClient(local.log_url) as tiles, LogClient(local.log_url, read="api") as api:
        for index, size in [(0, 600), (299, 300), (513, 600), (12, 13)]:
            assert await tiles.inclusion_proof(index, size) == await api.inclusion_proof(
                index, size
            )
        for old, new in [(300, 600), (1, 600), (256, 512), (0, 600), (600, 600)]:
            assert await tiles.consistency_proof(old, new) == await api.consistency_proof(old, new)
        assert tiles.tile_requests > 0 and api.tile_requests == 0
        assert await tiles.bundle_entries(250, 520, 600) == ENTRIES[250:520]


async def test_client_verifies_checkpoint_inclusion_and_consistency_from_tiles_alone(
    local: LocalTransparency, static: tuple[str, Path]
) -> None:
    url, root = static
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    first = await _grow(local, ENTRIES[:300])
    assert export_tiles(local.log.store, first, root) > 0
    async with LogClient(url, read="tiles") as client:
        state = await refresh_from_tiles(client, state, time.time())
        assert state.checkpoint.size == 300
        await verify_entry_from_tiles(client, state, ENTRIES[299], 299)
        second = await _grow(local, ENTRIES[300:])
        export_tiles(local.log.store, second, root)
        state = await refresh_from_tiles(client, state, time.time())  # consistency 300 -> 600
        assert state.checkpoint_note == second
        for index in (0, 255, 256, 599):
            await verify_entry_from_tiles(client, state, ENTRIES[index], index)
        with pytest.raises(VerificationError):
            await verify_entry_from_tiles(client, state, b"another entry", 5)
    # Exporting again writes only what changed: the partial tiles and the checkpoint.
    assert export_tiles(local.log.store, second, root) == 4


async def test_tile_served_with_a_wrong_hash_is_detected_by_the_client(
    local: LocalTransparency, static: tuple[str, Path]
) -> None:
    url, root = static
    note = await _grow(local, ENTRIES)
    export_tiles(local.log.store, note, root)
    tile = root / "tile" / "0" / "001"
    body = bytearray(tile.read_bytes())
    body[32 * 7] ^= 1  # leaf 263's hash
    tile.write_bytes(bytes(body))
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(url, read="tiles") as client:
        state = await refresh_from_tiles(client, state, time.time())
        with pytest.raises(VerificationError):  # the sibling's proof uses the wrong hash
            await verify_entry_from_tiles(client, state, ENTRIES[262], 262)
        # Leaf 263's own proof never reads its hash (the client hashes the entry itself).
        await verify_entry_from_tiles(client, state, ENTRIES[263], 263)
        await verify_entry_from_tiles(client, state, ENTRIES[100], 100)  # other tiles are fine


async def test_split_view_checkpoint_of_the_same_size_is_a_fork(
    local: LocalTransparency, static: tuple[str, Path], tmp_path: Path
) -> None:
    """The log shows one client a tree and signs another of the same size for someone else:
    the client that trusts the first refuses the second as a fork."""
    url, root = static
    note = await _grow(local, ENTRIES[:300])
    export_tiles(local.log.store, note, root)
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(url, read="tiles") as client:
        state = await refresh_from_tiles(client, state, time.time())
        other = Checkpoint(local.log.origin, 300, hashlib.sha256(b"other tree").digest())
        key = load_key(tmp_path / "data" / "log" / "log.key")
        forked = sign_checkpoint(other, [Ed25519NoteSigner(local.log.origin, key)])
        (root / "checkpoint").write_bytes(forked)
        with pytest.raises(ForkError):
            await refresh_from_tiles(client, state, time.time())


async def test_oversize_tile_from_a_server_is_refused(
    local: LocalTransparency, static: tuple[str, Path]
) -> None:
    url, root = static
    note = await _grow(local, ENTRIES)
    export_tiles(local.log.store, note, root)
    (root / "tile" / "0" / "000").write_bytes(b"\x00" * (limits.MAX_TLOG_TILE_BYTES + 1))
    async with LogClient(url, read="tiles") as client:
        with pytest.raises(TooLargeError):
            await client.tile(TileId(0, 0, 256))


async def test_auto_mode_falls_back_to_the_proof_endpoints_without_a_tile_api(
    local: LocalTransparency,
) -> None:
    """A base URL without ``/checkpoint`` (a relay that passes only ``/v1/`` reads): the
    client uses the JSON proofs, which the caller verifies the same way."""
    await _grow(local, ENTRIES[:20])
    app = web.Application()

    async def forward(request: web.Request) -> web.Response:
        status, body, _ = await _get(local.log_url + request.path_qs)
        return web.Response(status=status, body=body)

    app.router.add_get("/v1/{rest:.+}", forward)
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        async with LogClient(f"http://127.0.0.1:{port}") as client:
            assert await client.checkpoint() == local.log.checkpoint_note
            assert len(await client.inclusion_proof(3, 20)) == 5
            assert client.tile_requests == 0
    finally:
        await runner.cleanup()


async def test_right_edge_tile_with_a_wrong_hash_fails_the_refresh(
    local: LocalTransparency, static: tuple[str, Path]
) -> None:
    url, root = static
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    export_tiles(local.log.store, await _grow(local, ENTRIES[:300]), root)
    async with LogClient(url, read="tiles") as client:
        state = await refresh_from_tiles(client, state, time.time())
        export_tiles(local.log.store, await _grow(local, ENTRIES[300:]), root)
        partial = root / "tile" / "0" / "002.p" / "88"
        partial.write_bytes(b"\x00" * 32 + partial.read_bytes()[32:])
        with pytest.raises(VerificationError):
            await refresh_from_tiles(client, state, time.time())


async def test_export_command_and_audit_of_the_static_copy(
    local: LocalTransparency,
    static: tuple[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``privcloud log export-tiles`` writes a copy a plain web server can host, and ``privcloud
    log audit`` checks the whole log from that copy: checkpoint, every entry, proofs."""
    url, root = static
    await _grow(local, ENTRIES)
    data = str(tmp_path / "data" / "log")
    args = ["log", "export-tiles", "--data-dir", data, "--out", str(root)]
    assert await asyncio.to_thread(cli_main, args) == 0
    audit = ["log", "audit", "--log", url, "--log-vkey", local.log_vkey]
    audit += ["--witness-vkey", local.witness_vkeys[0]]
    assert await asyncio.to_thread(cli_main, audit) == 0
    out = capsys.readouterr().out
    assert "entries       600 re-hashed; the root matches" in out
    assert "audit OK" in out


async def test_a_wrong_tile_is_not_kept_after_the_proof_failed(
    local: LocalTransparency, static: tuple[str, Path]
) -> None:
    """A tile corrupted on the way (a faulty cache) fails the proof once; once the origin serves
    it right again, the client recovers instead of keeping the bad copy."""
    url, root = static
    note = await _grow(local, ENTRIES)
    export_tiles(local.log.store, note, root)
    tile = root / "tile" / "0" / "001"
    good = tile.read_bytes()
    tile.write_bytes(good[:32] + bytes(32) + good[64:])  # leaf 257's hash
    state = pinned_state(local.log_vkey, local.witness_vkeys)
    async with LogClient(url, read="tiles") as client:
        state = await refresh_from_tiles(client, state, time.time())
        with pytest.raises(VerificationError):
            await verify_entry_from_tiles(client, state, ENTRIES[256], 256)
        tile.write_bytes(good)
        await verify_entry_from_tiles(client, state, ENTRIES[256], 256)


def test_tiles_from_the_store_on_sqlite_and_postgresql(store_url: str, tmp_path: Path) -> None:
    """Every tile and bundle of a 600-leaf tree, read from the log's store on either back end,
    is what the in-memory tree and the entries give; the export writes them all."""
    store = Database.from_url(store_url).log("tiles.test/log")
    try:
        store.append(ENTRIES)
        tree = MerkleTree(leaf_hash(e) for e in ENTRIES)
        for tile in tiles_for_size(600):
            body = read_resource(store, tile)
            if tile.level is None:
                first = tile.index * 256
                assert decode_bundle(tile, body) == ENTRIES[first : first + tile.width]
            else:
                assert body == read_tile(tree, tile)
        signer = Ed25519NoteSigner("tiles.test/log", Ed25519PrivateKey.from_seed(b"\x05" * 32))
        note = sign_checkpoint(Checkpoint("tiles.test/log", 600, tree.root()), [signer])
        assert export_tiles(store, note, tmp_path / "out") == len(tiles_for_size(600)) + 1
        assert (tmp_path / "out" / "tile" / "1" / "000.p" / "2").read_bytes() == read_tile(
            tree, TileId(1, 0, 2)
        )
    finally:
        store.close()
