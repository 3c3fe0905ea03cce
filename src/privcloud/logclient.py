"""Client of the transparency log service (HTTP; the SDK, the services and the CLI use it).

:class:`LogClient` reads a log (``privcloud log``, :mod:`privcloud.services.tlog`): its latest
checkpoint, proofs, entries, leaf lookups; every answer is read with a bound and checked for shape
before it is returned, and errors are ours (a remote ``{"error": code}`` becomes the matching
class of :mod:`privcloud.errors`, a network failure :class:`UnavailableError`). Nothing here
*trusts* what it reads: checkpoints are verified by
:class:`~privcloud.transparency.client_state.TrustedLogState` (see
:func:`privcloud.sdk.trust_store.refresh_trusted_checkpoint`) and proofs by
:mod:`privcloud.transparency.merkle`.

Operator appends (``POST /v1/entries``) are signed as
:mod:`privcloud.transparency.append_auth` says (:meth:`LogClient.append`).

The helpers the other services need are :func:`publish_entry` and :meth:`LogClient.prove_entry`.

Proofs and entries come from the log's C2SP tlog-tiles read API (``/checkpoint``, ``/tile/...``;
:mod:`privcloud.transparency.tiles`): the client fetches the few tiles a proof needs (in
parallel, hash tiles cached) and computes the same RFC 9162 proof the log would serve, so a
CDN or a static copy (``privcloud log export-tiles``) can answer for the log. ``read`` picks
the API: ``"tiles"``, ``"api"`` (the JSON proof endpoints ``/v1/proof/...``), or ``"auto"``
(the default: tiles, unless the base URL answers 404 for ``/checkpoint``, as a log without
tiles or an older relay that only passes ``/v1/`` reads does). Either way the proofs are
checked by the caller against a signed root, so the choice changes where the hashes come from,
not what is trusted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiohttp

from privcloud import limits
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    UNDECIDED_ERRORS,
    DecodeError,
    NotFoundError,
    PrivcloudError,
    TooLargeError,
    UnavailableError,
    UsageError,
)
from privcloud.netio import new_session, read_bounded
from privcloud.transparency.append_auth import ENTRIES_PATH, sign_append
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.merkle import HASH_SIZE, consistency_proof, inclusion_proof, leaf_hash
from privcloud.transparency.note import parse_note
from privcloud.transparency.tiles import (
    CHECKPOINT_PATH,
    TileHashes,
    TileId,
    bundles_for_range,
    decode_bundle,
    tiles_for_consistency,
    tiles_for_inclusion,
    tiles_for_root,
)
from privcloud.trust.admission import LogProofs, proofs_key
from privcloud.trust.directory import NodeDescriptor
from privcloud.wire import jsonio

_POLL_S: Final = 0.05
#: Hash tiles a client keeps (at most 8 KiB each): a tile's bytes never change.
_CLIENT_TILE_CACHE: Final = 64
#: How long an ``"auto"`` probe's answer is remembered for a base URL (one process).
_PROBE_MEMORY_S: Final = 600.0
#: Base URLs whose probe is remembered (the memory is emptied when full).
_PROBE_MEMORY_URLS: Final = 64
ReadApi = Literal["auto", "tiles", "api"]
#: Base URL -> (API found by an ``"auto"`` probe, monotonic time of the probe).
_probed: dict[str, tuple[ReadApi, float]] = {}


# --- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppendResult:
    """Where an appended entry is: its index and RFC 9162 leaf hash."""

    index: int
    leaf_hash: bytes
    #: ``False`` when the log already held the entry (HTTP 200 instead of 201).
    created: bool


@dataclass(frozen=True)
class EntryProof:
    """An entry's index, a checkpoint note that covers it (unverified) and the inclusion proof.

    Verify with ``state.update(note, ...)`` / ``verify_inclusion_against`` before trusting it.
    """

    index: int
    checkpoint_note: bytes
    size: int
    proof: tuple[bytes, ...]


def _b64_hash(value: object) -> bytes:
    if not isinstance(value, str):
        raise DecodeError("malformed log answer")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise DecodeError("malformed log answer") from exc
    if len(raw) != HASH_SIZE:
        raise DecodeError("malformed log answer")
    return raw


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecodeError("malformed log answer")
    return value


def _hashes(value: object) -> list[bytes]:
    if not isinstance(value, list) or len(value) > limits.MAX_TLOG_PROOF_HASHES:
        raise DecodeError("malformed log answer")
    return [_b64_hash(v) for v in value]


def _check_proof_args(ordered: bool, size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not ordered:
        raise UsageError("proof arguments out of order")
    if not 0 <= size <= limits.MAX_TLOG_TREE_SIZE:
        raise UsageError("tree size out of range")


def checkpoint_size(note: bytes) -> int:
    """The tree size a signed checkpoint note *claims*, without verifying anything."""
    return Checkpoint.decode(parse_note(note).text.decode("utf-8")).size


# --- the client ------------------------------------------------------------------------------


class LogClient:
    """Async client of one log, at ``base_url`` (e.g. ``http://127.0.0.1:8490``).

    Use as ``async with LogClient(url) as log: ...`` (or call :meth:`close`). Every method
    raises our errors: the log's own refusals as the class its error code names
    (:class:`~privcloud.errors.NotFoundError`, :class:`~privcloud.errors.AuthenticationError`,
    ...), a malformed answer as :class:`DecodeError`, network trouble as
    :class:`UnavailableError`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        read: ReadApi = "auto",
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise UsageError("log URL must be http(s)")
        if read not in ("auto", "tiles", "api"):
            raise UsageError("read must be auto, tiles or api")
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._read: ReadApi = read
        self._tiles: OrderedDict[TileId, bytes] = OrderedDict()
        #: Tile and bundle requests made (a figure for tests and benchmarks).
        self.tile_requests = 0

    async def __aenter__(self) -> LogClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session(total=limits.UPSTREAM_TOTAL_TIMEOUT_S)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: Iterable[int] = (200,),
        limit: int = limits.MAX_TLOG_RESPONSE_BYTES,
    ) -> tuple[int, bytes]:
        try:
            async with self.session.request(
                method, self.base_url + path, params=params, data=data, headers=headers
            ) as resp:
                body = await read_bounded(resp.content, limit)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("log unreachable") from exc
        if status not in ok:
            raise jsonio.decode_error_body(body, status, peer="log")
        return status, body

    async def _json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        _, body = await self._request("GET", path, params=params)
        doc = jsonio.loads(body, max_bytes=limits.MAX_TLOG_RESPONSE_BYTES)
        if not isinstance(doc, dict):
            raise DecodeError("malformed log answer")
        return doc

    # --- reads -------------------------------------------------------------------------------

    async def checkpoint(self) -> bytes:
        """The log's latest signed checkpoint note, with the cosignatures it collected.

        Unverified; only its size is bounded (``limits.MAX_NOTE_BYTES``) and its form checked.
        """
        if await self._api() == "tiles":
            body = await self._tiles_checkpoint()
            if body is not None:
                return body
        _, body = await self._request("GET", "/v1/checkpoint", limit=limits.MAX_NOTE_BYTES)
        parse_note(body)
        return body

    # --- the tile API (C2SP tlog-tiles) --------------------------------------------------------

    async def _api(self) -> ReadApi:
        """``"tiles"`` or ``"api"``; in ``"auto"`` mode, probe ``/checkpoint`` once (the answer is
        remembered per base URL for ``_PROBE_MEMORY_S``, so short-lived clients do not probe)."""
        if self._read == "auto":
            known = _probed.get(self.base_url)
            if known is not None and time.monotonic() - known[1] < _PROBE_MEMORY_S:
                self._read = known[0]
            else:
                self._read = "tiles" if await self._tiles_checkpoint() is not None else "api"
                if len(_probed) >= _PROBE_MEMORY_URLS:
                    _probed.clear()
                _probed[self.base_url] = (self._read, time.monotonic())
        return self._read

    async def reads_tiles(self) -> bool:
        """Whether this client reads the log by its tiles (C2SP tlog-tiles)."""
        return await self._api() == "tiles"

    async def tiles_checkpoint(self) -> bytes:
        """``GET /checkpoint`` of the tile API: the signed note, unverified (form checked)."""
        body = await self._tiles_checkpoint(probe=False)
        assert body is not None  # a 404 raised
        return body

    async def _tiles_checkpoint(self, *, probe: bool | None = None) -> bytes | None:
        """``GET /checkpoint``; ``None`` on a 404 when probing (``"auto"`` mode: no tile API)."""
        probe = self._read == "auto" if probe is None else probe
        ok = (200, 404) if probe else (200,)
        status, body = await self._request(
            "GET", "/" + CHECKPOINT_PATH, ok=ok, limit=limits.MAX_NOTE_BYTES
        )
        if status == 404:
            return None
        parse_note(body)
        return body

    async def tile(self, tile: TileId) -> bytes:
        """The body of one tile or entry bundle, bounded (``MAX_TLOG_TILE_BYTES`` /
        ``MAX_TLOG_BUNDLE_BYTES``) but unverified. Hash tiles (full or partial: the width is
        part of the name) are cached."""
        cached = self._tiles.get(tile)
        if cached is not None:
            self._tiles.move_to_end(tile)
            return cached
        self.tile_requests += 1
        if tile.is_bundle:
            body = await self._bundle(tile)
        else:
            _, body = await self._request(
                "GET", "/" + tile.path(), limit=limits.MAX_TLOG_TILE_BYTES
            )
        if not tile.is_bundle:  # a tile's URL names its width: its bytes never change
            self._tiles[tile] = body
            if len(self._tiles) > _CLIENT_TILE_CACHE:
                self._tiles.popitem(last=False)
        return body

    def forget_tiles(self) -> None:
        """Empty the tile cache (after a proof from tiles failed: a wrong tile, e.g. from a
        faulty cache on the way, must not stay)."""
        self._tiles.clear()

    async def _bundle(self, bundle: TileId) -> bytes:
        """An entry bundle, gzip or identity (C2SP: clients SHOULD accept both), inflated
        within ``MAX_TLOG_BUNDLE_BYTES``."""
        url = self.base_url + "/" + bundle.path()
        headers = {"Accept-Encoding": "gzip, identity"}
        limit = limits.MAX_TLOG_BUNDLE_BYTES
        try:
            async with self.session.get(url, headers=headers) as resp:
                body = await read_bounded(resp.content, limit)
                status, coding = resp.status, resp.headers.get("Content-Encoding", "identity")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("log unreachable") from exc
        if status != 200:
            raise jsonio.decode_error_body(body, status, peer="log")
        if coding == "identity":
            return body
        if coding != "gzip":
            raise DecodeError("entry bundle in an encoding not asked for")
        inflate = zlib.decompressobj(wbits=31)
        try:
            out = inflate.decompress(body, limit + 1)
        except zlib.error as exc:
            raise DecodeError("malformed gzip entry bundle") from exc
        if len(out) > limit:
            raise TooLargeError("entry bundle too large")
        if not inflate.eof or inflate.unused_data:
            raise DecodeError("malformed gzip entry bundle")
        return out

    async def _fetch_all(self, tiles: Iterable[TileId]) -> dict[TileId, bytes]:
        gate = asyncio.Semaphore(limits.TLOG_TILE_FETCH_CONCURRENCY)

        async def one(t: TileId) -> tuple[TileId, bytes]:
            async with gate:
                return t, await self.tile(t)

        return dict(await asyncio.gather(*(one(t) for t in tiles)))

    async def tile_hashes(self, size: int, tiles: Iterable[TileId]) -> TileHashes:
        """The tree of ``size`` leaves over the given tiles, fetched (unverified: check it with
        :func:`~privcloud.transparency.tiles.check_tiles_root` or a proof's verification)."""
        return TileHashes(size, await self._fetch_all(tiles))

    async def root_tiles(self, size: int) -> TileHashes:
        """The tiles of the right edge of the tree of ``size`` leaves (its root's inputs)."""
        return await self.tile_hashes(size, tiles_for_root(size))

    async def bundle_entries(self, start: int, end: int, size: int) -> list[bytes]:
        """Entries ``start`` to ``end`` (exclusive) from the entry bundles of the tree of
        ``size`` leaves (a size some checkpoint has). Unverified: hash them and compare."""
        bundles = bundles_for_range(start, end, size)
        fetched = await self._fetch_all(bundles)
        out: list[bytes] = []
        for b in bundles:
            first = b.index * 256
            entries = decode_bundle(b, fetched[b])
            out += entries[max(0, start - first) : end - first]
        return out

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves (from tiles
        or the proof endpoint, see the module docstring); unverified."""
        if await self._api() == "tiles":
            _check_proof_args(0 <= index < size, size)
            store = await self.tile_hashes(size, tiles_for_inclusion(index, size))
            return inclusion_proof(store, index, size)
        doc = await self._json("/v1/proof/inclusion", {"index": str(index), "size": str(size)})
        if _int(doc.get("index")) != index or _int(doc.get("size")) != size:
            raise DecodeError("log answered for another proof")
        return _hashes(doc.get("hashes"))

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of ``old`` leaves to that of ``new`` (from
        tiles or the proof endpoint); unverified."""
        if await self._api() == "tiles":
            _check_proof_args(0 <= old <= new, new)
            store = await self.tile_hashes(new, tiles_for_consistency(old, new))
            return consistency_proof(store, old, new)
        doc = await self._json("/v1/proof/consistency", {"old": str(old), "new": str(new)})
        if _int(doc.get("old")) != old or _int(doc.get("new")) != new:
            raise DecodeError("log answered for another proof")
        return _hashes(doc.get("hashes"))

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Entries ``start`` to ``end`` (exclusive). The log may return fewer (a prefix; at least
        one); use :meth:`iter_entries` for a whole range."""
        doc = await self._json("/v1/entries", {"start": str(start), "end": str(end)})
        raw = doc.get("entries")
        if not isinstance(raw, list) or not 0 < len(raw) <= end - start:
            raise DecodeError("malformed log answer")
        out = []
        for item in raw:
            if not isinstance(item, str):
                raise DecodeError("malformed log answer")
            try:
                out.append(base64.b64decode(item, validate=True))
            except binascii.Error as exc:
                raise DecodeError("malformed log answer") from exc
        return out

    async def entry_pages(self, start: int, end: int) -> AsyncIterator[list[bytes]]:
        """Entries ``start`` to ``end`` (exclusive), one page (one request) at a time, each at
        most ``limits.MAX_TLOG_ENTRIES_PER_READ`` entries: for ranges too big to hold at once."""
        pos = start
        while pos < end:
            page = await self.entries(pos, min(end, pos + limits.MAX_TLOG_ENTRIES_PER_READ))
            pos += len(page)
            yield page

    async def iter_entries(self, start: int, end: int) -> list[bytes]:
        """All entries ``start`` to ``end`` (exclusive), fetched page by page, in one list."""
        return [e async for page in self.entry_pages(start, end) for e in page]

    async def leaf_index(self, hash_: bytes) -> int:
        """Index of the leaf whose RFC 9162 leaf hash is ``hash_``; :class:`NotFoundError` if the
        log holds no such leaf."""
        if not isinstance(hash_, bytes) or len(hash_) != HASH_SIZE:
            raise UsageError("a leaf hash is 32 bytes")
        doc = await self._json("/v1/leaf", {"hash": base64.b64encode(hash_).decode()})
        return _int(doc.get("index"))

    async def wait_for_checkpoint(
        self, min_size: int, *, min_cosignatures: int = 0, timeout: float = 10.0
    ) -> bytes:
        """Poll until the log serves a checkpoint of at least ``min_size`` leaves carrying at
        least ``min_cosignatures`` signature lines besides the log's own; return that note.

        The note is unverified. Raises :class:`UnavailableError` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            note = await self.checkpoint()
            if (
                checkpoint_size(note) >= min_size
                and len(parse_note(note).signatures) - 1 >= min_cosignatures
            ):
                return note
            if time.monotonic() >= deadline:
                raise UnavailableError("log did not publish a covering checkpoint in time")
            await asyncio.sleep(_POLL_S)

    async def prove_entry(
        self, entry: bytes, *, min_cosignatures: int = 0, timeout: float = 10.0
    ) -> EntryProof:
        """Find ``entry`` in the log, wait for a checkpoint that covers it, fetch its proof.

        Raises :class:`NotFoundError` if the log does not hold the entry. Nothing returned is
        verified yet (see :class:`EntryProof`).
        """
        index = await self.leaf_index(leaf_hash(entry))
        note = await self.wait_for_checkpoint(
            index + 1, min_cosignatures=min_cosignatures, timeout=timeout
        )
        size = checkpoint_size(note)
        proof = await self.inclusion_proof(index, size)
        return EntryProof(index, note, size, tuple(proof))

    # --- the operator's write ----------------------------------------------------------------

    async def append(
        self, entry: bytes, operator_key: Ed25519PrivateKey, *, now: float | None = None
    ) -> AppendResult:
        """Append ``entry`` as the operator; idempotent (an entry already there keeps its index)."""
        if not isinstance(entry, bytes):
            raise UsageError("an entry is bytes")
        ts = int(time.time() if now is None else now)
        headers = {
            "Authorization": sign_append(operator_key, entry, ts),
            "Content-Type": "application/octet-stream",
        }
        status, body = await self._request(
            "POST", ENTRIES_PATH, data=entry, headers=headers, ok=(200, 201), limit=64 * 1024
        )
        doc = jsonio.loads(body)  # already bounded by the read
        if not isinstance(doc, dict):
            raise DecodeError("malformed log answer")
        index, hash_ = _int(doc.get("index")), _b64_hash(doc.get("leaf_hash"))
        result = AppendResult(index, hash_, created=status == 201)
        if result.leaf_hash != leaf_hash(entry):
            raise DecodeError("log answered with another leaf hash")
        return result


async def publish_entry(log_url: str, operator_key: Ed25519PrivateKey, entry: bytes) -> int:
    """Append ``entry`` (e.g. a release manifest) to the log at ``log_url``; return its index.

    Idempotent: publishing the same bytes again returns the same index. Raises
    :class:`AuthenticationError` if the log does not know ``operator_key``,
    :class:`~privcloud.errors.TooLargeError` past ``limits.MAX_TLOG_ENTRY_BYTES``.
    """
    async with LogClient(log_url) as client:
        return (await client.append(entry, operator_key)).index


# --- following a log (devices, and the gateway's check of its nodes) -------------------------


async def consistency_reads(log: LogClient, old: int, new: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``old`` leaves to that of ``new``, read as
    every device reads it: none when the old tree is empty or larger (a rollback, refused
    later), and when the sizes are equal, none but the tiles a reader one step behind reads
    (the new tree's right edge) from a tile reader: read alike, the tiles do not tell whether
    this reader trusted this size already (a device's last admission; docs/adr/0009, decision
    7)."""
    if 0 < old < new:
        return await log.consistency_proof(old, new)
    if 0 < old == new and await log.reads_tiles():
        await log.consistency_proof(old, new)
    return []


async def advance_checkpoint(
    log: LogClient, state: TrustedLogState, *, now: float
) -> TrustedLogState:
    """Move ``state`` to the log's newest checkpoint, or raise.

    1. Fetch the log's checkpoint note and verify the log's signature and origin on it
       (:class:`VerificationError`) before anything else is fetched: C2SP tlog-tiles has
       clients verify a checkpoint before they fetch what its size implies, so a forged note
       cannot make the client ask for proofs (or tiles) of a tree the log never signed.
    2. Fetch the RFC 9162 consistency proof from the trusted size to the signed size (none
       when the trusted tree is empty, or, but for a tile reader's same reads, when the sizes
       are equal; none for a smaller note, which step 3 refuses as a rollback).
    3. :meth:`TrustedLogState.update`: log signature and origin, no rollback
       (:class:`RollbackError`), no fork (:class:`ForkError`), enough fresh witness cosignatures
       (:class:`MissingCosignatureError`), the consistency proof (:class:`VerificationError`).
    """
    # 1.
    note = await log.checkpoint()
    new_size = open_checkpoint(note, [state.log_key], origin=state.origin).size
    # 2.
    proof = await consistency_reads(log, state.checkpoint.size, new_size)
    # 3.
    return state.update(note, proof, now)


#: What a log's answer to a node's proof says nothing about the node by (fetch_log_proofs).
_NO_VERDICT: tuple[type[PrivcloudError], ...] = (*UNDECIDED_ERRORS, NotFoundError)


async def fetch_log_proofs(
    log: LogClient,
    state: TrustedLogState,
    nodes: list[NodeDescriptor],
    *,
    strict: bool = False,
    inclusion: dict[int, tuple[bytes, ...]] | None = None,
) -> dict[str, LogProofs]:
    """For each node whose bundle proves its release against another checkpoint than the
    trusted one, fetch from the log the inclusion proof at the trusted size (or, for a newer
    checkpoint, the consistency proof to it). Nothing fetched is trusted: admission verifies it.
    A node whose proofs the log answers with anything else wrong (a malformed answer) gets
    none, and admission refuses it; ``strict`` raises the log's error instead, which is no
    verdict on the node (a logged directory, admitted whole, and the gateway's check of its
    nodes: docs/adr/0033). An answer that says the log could not answer now (out of reach,
    busy, slow: :data:`~privcloud.errors.UNDECIDED_ERRORS`) or a 404 for a proof at a size
    the device trusts (a reader behind) raises :class:`UnavailableError` either way. Only a
    checkpoint the log signed makes anything be fetched: one that does not verify is the
    node's fault (no proof; admission refuses it), and cannot make the log refuse a size it
    never reached. ``inclusion`` caches inclusion proofs at the trusted size by leaf index,
    across calls. The answer is keyed by :func:`proofs_key`."""
    trusted = state.checkpoint.size
    inclusion = {} if inclusion is None else inclusion
    out: dict[str, LogProofs] = {}
    for node in nodes:
        bundle = node.bundle
        if bundle is None:
            continue
        try:
            size = open_checkpoint(bundle.checkpoint, [state.log_key], origin=state.origin).size
        except PrivcloudError:
            continue
        try:
            if size > trusted:
                proof = await log.consistency_proof(trusted, size) if trusted else []
                out[proofs_key(node)] = LogProofs(consistency=tuple(proof))
            elif size < trusted and bundle.log_index < trusted:
                if bundle.log_index not in inclusion:
                    hashes = await log.inclusion_proof(bundle.log_index, trusted)
                    inclusion[bundle.log_index] = tuple(hashes)
                out[proofs_key(node)] = LogProofs(inclusion=inclusion[bundle.log_index])
        except UnavailableError:
            raise  # the log is out of reach: no verdict on the node (the admission fails whole)
        except _NO_VERDICT as exc:
            # Busy, slow or broken, or a 404 for a proof at a size the device trusts (a reader
            # behind, a log that will not serve what it signed): no verdict either, nor a
            # refusal of some nodes, which would let a flood of the log, or a lagging reader,
            # narrow the nodes this device admits. The admission fails whole and is tried again.
            raise UnavailableError("the log could not answer now") from exc
        except PrivcloudError:
            if strict:
                raise
    return out
