"""The transparency log service (``privcloud log``): release manifests in an RFC 9162 Merkle log.

A thin aiohttp shell around :mod:`privcloud.transparency` (proofs, notes, checkpoints) and
:class:`~privcloud.storage.tlog_store.TlogStore` (SQLite). Reads are public; appends need the
operator's Ed25519 signature (scheme in :mod:`privcloud.transparency.append_auth`).

Routes (docs/transparency.md has the full contract)::

    POST /v1/entries                          body: the entry; Authorization: Signature ...
                                              201 {"index", "leaf_hash"} (200 if already there)
    GET  /v1/checkpoint                       text/plain; charset=utf-8: signed note + cosignatures
    GET  /v1/proof/inclusion?index=I&size=N   {"index", "size", "hashes": [b64...]}
    GET  /v1/proof/consistency?old=M&new=N    {"old", "new", "hashes": [b64...]}
    GET  /v1/entries?start=A&end=B            {"entries": [b64...]}   (a prefix if too large)
    GET  /v1/leaf?hash=B64                    {"index"} or 404
    GET  /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]
                                              C2SP tlog-tiles (:mod:`.tlog_tiles`)

Checkpoints: after appends the log signs a checkpoint for the new size, asks every configured
witness to cosign it and serves the note with the good cosignatures attached; it asks again to
refresh them and to retry failed witnesses. Those decisions and timers are
:class:`~privcloud.transparency.log_core.LogCore`'s (sans-IO); this module reads the store and
runs the HTTP exchanges. The served note is persisted. On start the log re-hashes its entries
(all of them; the newest and a random sample for a big log) and refuses to serve a database
whose entries do not match their hashes, or whose tree does not match the checkpoint it last
signed (it would fork).

Store work runs on one thread (SQLite is synchronous), keeping the event loop free; appends
and checkpoint signing pass the public reads queued there, which are bounded
(:class:`~privcloud.services.store_thread.StoreThread`).
The read routes other than the checkpoint are :class:`LogReads`, which the log readers
(:mod:`privcloud.services.tlog_reader`, ``privcloud log --read-only``) serve too.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.errors import (
    ConfigError,
    DecodeError,
    NotFoundError,
    PeerError,
    PrivcloudError,
    ReplayError,
    UnavailableError,
    UsageError,
)
from privcloud.fileio import file_error
from privcloud.netio import new_session, read_bounded
from privcloud.services.http import Metrics, read_body
from privcloud.services.site import new_app
from privcloud.services.store_thread import StoreThread
from privcloud.services.tlog_tiles import TileServer
from privcloud.storage.database import open_database
from privcloud.storage.sqlite import corrupt_error
from privcloud.storage.tlog_store import Appended, TlogStore, load_or_create_key
from privcloud.transparency.append_auth import (
    ENTRIES_PATH,
    check_append_key_and_time,
    operator_key_id,
    parse_append_authorization,
    verify_append_authorization,
)
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.cosignature import CosignatureVerifier
from privcloud.transparency.log_core import CosignExchange, LogCore
from privcloud.transparency.merkle import (
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    tree_root,
)
from privcloud.transparency.note import Ed25519NoteSigner, b64encode

log = logging.getLogger("privcloud.tlog")

T = TypeVar("T")

#: Default origin (and log key name) of a log.
DEFAULT_ORIGIN: Final = "privcloud.local/log"
LOG_KEY_FILE: Final = "log.key"
OPERATOR_KEY_FILE: Final = "operator.key"
LOG_DB_FILE: Final = "log.db"

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class TransparencyLog:
    """One log: its store, its note key, its operators and witnesses. Serves :meth:`app`.

    Checkpoint and cosignature decisions are :class:`~privcloud.transparency.log_core.LogCore`'s;
    this class reads the store, keeps the time, runs the publisher task and talks HTTP.
    """

    def __init__(
        self,
        store: TlogStore,
        signer: Ed25519NoteSigner,
        operator_keys: Sequence[bytes],
        witnesses: Sequence[WitnessEndpoint] = (),
        *,
        clock: Clock | None = None,
        checkpoint_interval_s: float = limits.TLOG_CHECKPOINT_INTERVAL_S,
        cosign_refresh_s: float = limits.TLOG_COSIGN_REFRESH_S,
        witness_retry_s: float = limits.TLOG_WITNESS_RETRY_S,
        witness_timeout_s: float = limits.TLOG_WITNESS_TIMEOUT_S,
    ) -> None:
        """Open the log over ``store`` (whose origin must be ``signer``'s name).

        Raises :class:`ConfigError` for an inconsistent configuration, and naming the
        database if its entries do not match its hashes or its tree does not match the last
        checkpoint this log signed (a damaged or rolled-back database).
        """
        if signer.name != store.origin:
            raise ConfigError("the log key's name must be the log's origin")
        if not operator_keys:
            raise ConfigError("a log needs at least one operator key")
        self.core = LogCore(
            signer,
            [w.verifier for w in witnesses],
            checkpoint_interval_s=checkpoint_interval_s,
            cosign_refresh_s=cosign_refresh_s,
            witness_retry_s=witness_retry_s,
        )
        self.store = store
        self.origin = store.origin
        self.operator_keys = {operator_key_id(k): k for k in operator_keys}
        self.witnesses = {w.verifier.name: w for w in witnesses}
        self.clock = clock if clock is not None else SystemClock()
        self.metrics = Metrics("log")
        #: The operator's private key, when this process holds it (the local cloud, a dev log).
        self.operator_key: Ed25519PrivateKey | None = None
        self._witness_timeout = witness_timeout_s
        #: Where every store step runs: the log's own first, public reads bounded.
        self.store_thread = StoreThread("tlog-db")
        self._lock = asyncio.Lock()
        self._dirty: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._restore()

    # --- checkpoints -------------------------------------------------------------------------

    @property
    def vkey(self) -> str:
        """The log's note verifier key (type 0x01) for clients and witnesses to pin."""
        return self.core.verifier.vkey()

    @property
    def checkpoint_note(self) -> bytes:
        """The signed checkpoint note served now, with the cosignatures collected for it."""
        return self.core.note

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint served now."""
        return self.core.checkpoint

    def _restore(self) -> None:
        """Check the store, then sign its tree and serve it:

        1. the stored hashes are those of the stored entries (``TlogStore.verify_tree``: every
           entry of a log up to ``TLOG_VERIFY_ALL_MAX_BYTES``, else the newest and a sample);
        2. the tree still has the root of the checkpoint this log last signed (a database that
           lost or changed signed entries would make the log sign a fork).

        Raises :class:`ConfigError` naming the database when either fails.
        """
        checked = self.store.verify_tree()
        size = self.store.size()
        note = self.store.load_checkpoint()
        then: bytes | None = None
        try:
            if note is not None:
                last = self.core.open_stored(note)
                then = tree_root(self.store, last.size) if last.size <= size else None
            self.core.start(size, tree_root(self.store, size), stored=note, stored_tree_root=then)
        except UnavailableError as exc:
            raise corrupt_error(
                f"the log database {self.store.name}",
                "it does not hold the checkpoint the log last signed: serving it would sign a fork",
            ) from exc
        log.info("log database verified (%s of its entries), tree size %d", checked, size)

    async def publish(self, *, refresh: bool = False) -> bytes:
        """One round: sign a checkpoint if the tree grew, ask witnesses, serve what came back.

        Which witnesses are asked is the core's decision (all after a new checkpoint or with
        ``refresh``, else those missing). Returns the note now served.
        """
        async with self._lock:
            size = self.store.size()
            if self.core.needs_signing(size):
                self.core.sign(size, await self._run(tree_root, self.store, size))
            exchanges = self.core.plan(refresh=refresh)
            await asyncio.gather(*(self._exchange(ex) for ex in exchanges))
            for ex in exchanges:
                if ex.problem is not None:
                    log.warning("witness %s: %s", ex.name, ex.problem)
            note = self.core.finish(exchanges, time.monotonic())
            if note is not None:
                await self._run(self.store.save_checkpoint, note)
            return self.core.note

    async def _publisher(self) -> None:
        """Background: publish after appends (batched), retry witnesses, refresh cosignatures."""
        assert self._dirty is not None
        while True:
            try:
                wait = self.core.next_deadline() - time.monotonic()
                async with asyncio.timeout(max(0.0, wait)):
                    await self._dirty.wait()
            except TimeoutError:
                pass
            delay = self.core.batch_delay(time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)
            self._dirty.clear()
            try:
                await self.publish(refresh=self.core.refresh_due(time.monotonic()))
            except asyncio.CancelledError:
                raise
            except PrivcloudError as exc:
                log.warning("log checkpoint publication failed: %s", exc.code)
            except Exception as exc:  # noqa: BLE001 - the publisher must outlive one bad round
                # No traceback: it could carry peer bytes into the log (STYLE.md §11).
                log.error("log checkpoint publication failed: %s", type(exc).__name__)  # noqa: TRY400

    async def _exchange(self, ex: CosignExchange) -> None:
        """Run one witness's ``add-checkpoint`` exchange over HTTP (C2SP tlog-witness)."""
        url = self.witnesses[ex.name].url + "/add-checkpoint"
        while (old := ex.next_old_size()) is not None:
            proof = await self._run(consistency_proof, self.store, old, ex.size)
            try:
                async with self.session.post(
                    url,
                    data=ex.request_body(proof),
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                    timeout=aiohttp.ClientTimeout(total=self._witness_timeout),
                ) as resp:
                    payload = await read_bounded(resp.content, limits.MAX_WITNESS_RESPONSE_BYTES)
                    ex.receive(resp.status, resp.content_type, payload)
            except (aiohttp.ClientError, TimeoutError, PrivcloudError):
                ex.unreachable()

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """A step of the log's own (appends, checkpoints): before the queued public reads."""
        return await self.store_thread.write(fn, *args)

    def app(self) -> web.Application:
        """The aiohttp application. One application per log object; stopping it closes the store."""
        # A peer gone cancels its handler: its queued read leaves the store thread's bound.
        app = new_app("log", self.metrics, cancel_on_disconnect=True)
        r = app.router
        r.add_post(ENTRIES_PATH, self.handle_append, name="append")
        r.add_get("/v1/checkpoint", self.handle_checkpoint, name="checkpoint")
        LogReads(self.store, self.store_thread.read).add_routes(r)
        TileServer(self.store, self.store_thread.read, lambda: self.core.note).add_routes(r)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self._dirty = asyncio.Event()
        self._dirty.set()  # collect cosignatures for the restored checkpoint at once
        self._task = asyncio.create_task(self._publisher())

    async def _stop(self, _: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self._run(self.store.close)
        self.store_thread.shutdown()

    # --- handlers ----------------------------------------------------------------------------

    async def handle_append(self, request: web.Request) -> web.Response:
        """Operator append: authenticate, bound, store (idempotently), schedule a checkpoint."""
        auth = parse_append_authorization(request.headers.get("Authorization"))
        now = self.clock.now()
        check_append_key_and_time(auth, self.operator_keys, now)  # before reading a body
        # An entry bundle (C2SP tlog-tiles) holds entries of at most 65,535 bytes.
        limit = min(limits.MAX_TLOG_ENTRY_BYTES, limits.MAX_TLOG_TILED_ENTRY_BYTES)
        body = await read_body(request, limit=limit)
        if not body:
            raise DecodeError("empty entry")
        verify_append_authorization(auth, self.operator_keys, "POST", ENTRIES_PATH, body, now)
        # Shielded: the operator's peer gone (its handler cancelled) leaves the append and the
        # checkpoint it calls for to finish; its outcome is then read by nobody but this
        # callback (else asyncio logs "exception was never retrieved").
        step = asyncio.ensure_future(
            self._append(auth.replay_tag, auth.remember_until(), now, body)
        )
        step.add_done_callback(lambda done: done.cancelled() or done.exception())
        appended = await asyncio.shield(step)
        return web.json_response(
            {"index": appended.index, "leaf_hash": b64encode(appended.leaf_hash)},
            status=200 if appended.existed else 201,
        )

    async def _append(self, tag: bytes, until: float, now: float, entry: bytes) -> Appended:
        appended = await self._run(self._append_once, tag, until, now, entry)
        if not appended.existed and self._dirty is not None:
            self._dirty.set()
        return appended

    def _append_once(self, tag: bytes, until: float, now: float, entry: bytes) -> Appended:
        """On the store thread, one step: remember the request's tag, then append. (Two steps
        let the queued reads run between them, and a caller gone between them spent its tag.)
        Raises :class:`ReplayError` for a tag already seen."""
        if not self.store.remember_tag(tag, until, now, limits.MAX_TLOG_AUTH_TAGS):
            raise ReplayError("operator request already seen")
        (appended,) = self.store.append([entry])
        return appended

    async def handle_checkpoint(self, _: web.Request) -> web.Response:
        return web.Response(
            body=self.core.note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )


class LogReads:
    """The JSON read routes (proofs, entries, leaf lookup) over a store, on the worker ``run``:
    served by the sequencer and by its readers alike."""

    def __init__(self, store: TlogStore, run: Callable[..., Awaitable[Any]]) -> None:
        self.store = store
        self._run = run

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the ``/v1/`` read routes other than the checkpoint."""
        router.add_get(ENTRIES_PATH, self.handle_entries, name="entries")
        router.add_get("/v1/proof/inclusion", self.handle_inclusion, name="inclusion")
        router.add_get("/v1/proof/consistency", self.handle_consistency, name="consistency")
        router.add_get("/v1/leaf", self.handle_leaf, name="leaf")

    async def handle_inclusion(self, request: web.Request) -> web.Response:
        index, size = _int_param(request, "index"), _int_param(request, "size")
        self._check_size(size)
        if index >= size:
            raise PeerError("leaf index outside the tree size")
        hashes = await self._run(inclusion_proof, self.store, index, size)
        return web.json_response(
            {"index": index, "size": size, "hashes": [b64encode(h) for h in hashes]}
        )

    async def handle_consistency(self, request: web.Request) -> web.Response:
        old, new = _int_param(request, "old"), _int_param(request, "new")
        self._check_size(new)
        if old > new:
            raise PeerError("old size exceeds the new size")
        hashes = await self._run(consistency_proof, self.store, old, new)
        return web.json_response({"old": old, "new": new, "hashes": [b64encode(h) for h in hashes]})

    async def handle_entries(self, request: web.Request) -> web.Response:
        start, end = _int_param(request, "start"), _int_param(request, "end")
        self._check_size(end)
        if start >= end:
            raise PeerError("empty or reversed entry range")
        if end - start > limits.MAX_TLOG_ENTRIES_PER_READ:
            raise PeerError("entry range too long")
        entries = await self._run(
            self.store.entries, start, end, limits.MAX_TLOG_ENTRIES_READ_BYTES
        )
        return web.json_response({"entries": [b64encode(e) for e in entries]})

    async def handle_leaf(self, request: web.Request) -> web.Response:
        values = request.query.getall("hash", [])
        if len(values) != 1:
            raise DecodeError("missing or repeated query parameter")
        h = _hash_param(values[0])
        index = await self._run(self.store.index_of, h)
        if index is None:
            raise NotFoundError("no such leaf")
        return web.json_response({"index": index})

    def _check_size(self, size: int) -> None:
        if size > self.store.size():  # the size the store last saw: no database read
            raise NotFoundError("the log has not reached this tree size")


def _int_param(request: web.Request, name: str) -> int:
    values = request.query.getall(name, [])
    if len(values) != 1 or not _DECIMAL.fullmatch(values[0]):
        raise DecodeError("missing or malformed query parameter")
    value = int(values[0])
    if value > limits.MAX_TLOG_TREE_SIZE:
        raise DecodeError("missing or malformed query parameter")
    return value


def _hash_param(text: str) -> bytes:
    """A leaf hash in standard base64 (percent-encoded in the URL) or base64url."""
    if len(text) != 44:
        raise DecodeError("malformed leaf hash")
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise DecodeError("malformed leaf hash") from exc
    if len(raw) != HASH_SIZE:
        raise DecodeError("malformed leaf hash")
    return raw


# --- the log's side of the witness protocol ----------------------------------------------------


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness a log asks for cosignatures: its base URL and its cosignature/v1 key."""

    url: str
    verifier: CosignatureVerifier

    @classmethod
    def parse(cls, spec: str) -> WitnessEndpoint:
        """``URL=VKEY`` (the witness's base URL and its type-0x04 vkey); :class:`ConfigError`."""
        url, sep, vkey = spec.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ConfigError("a witness is given as URL=VKEY")
        try:
            return cls(url.rstrip("/"), CosignatureVerifier.from_vkey(vkey))
        except PrivcloudError as exc:
            raise ConfigError("invalid witness verifier key") from exc


# --- configuration from a data directory -----------------------------------------------------


def open_log(
    data_dir: str | os.PathLike[str],
    *,
    origin: str = DEFAULT_ORIGIN,
    witnesses: Sequence[WitnessEndpoint] = (),
    operator_public_keys: Sequence[bytes] = (),
    clock: Clock | None = None,
    checkpoint_interval_s: float = limits.TLOG_CHECKPOINT_INTERVAL_S,
    cosign_refresh_s: float = limits.TLOG_COSIGN_REFRESH_S,
    witness_retry_s: float = limits.TLOG_WITNESS_RETRY_S,
    witness_timeout_s: float = limits.TLOG_WITNESS_TIMEOUT_S,
    database: str | None = None,
) -> TransparencyLog:
    """A log kept in ``data_dir``: ``log.db`` (or the store at the URL ``database``:
    :class:`~privcloud.storage.database.Database`), ``log.key`` (made 0600 on first start) and, when
    no ``operator_public_keys`` are given, ``operator.key`` (0600), whose private key is then
    available as ``log.operator_key``.

    The other options are :class:`TransparencyLog`'s. Raises :class:`ConfigError` naming the
    file and the cause (disk full, permission, corrupt database, malformed key file), also for
    an origin that cannot be a note key name (no spaces, no ``+``).
    """
    path = Path(data_dir)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error("create", f"the log data directory {path}", exc) from exc
    log_key, _ = load_or_create_key(path / LOG_KEY_FILE, role="the log key")
    try:
        signer = Ed25519NoteSigner(origin, log_key)
    except UsageError as exc:
        raise ConfigError("a log origin must be a valid note key name") from exc
    operator_key: Ed25519PrivateKey | None = None
    keys = list(operator_public_keys)
    if not keys:
        operator_key, _ = load_or_create_key(path / OPERATOR_KEY_FILE, role="the operator key")
        keys = [operator_key.public_bytes()]
    store = open_database(database, path / LOG_DB_FILE).log(origin)
    try:
        tlog = TransparencyLog(
            store,
            signer,
            keys,
            witnesses,
            clock=clock,
            checkpoint_interval_s=checkpoint_interval_s,
            cosign_refresh_s=cosign_refresh_s,
            witness_retry_s=witness_retry_s,
            witness_timeout_s=witness_timeout_s,
        )
    except BaseException:
        store.close()
        raise
    tlog.operator_key = operator_key
    return tlog
