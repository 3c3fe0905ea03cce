"""The witness service (``privcloud witness``): C2SP tlog-witness ``add-checkpoint`` over HTTP.

A thin aiohttp shell: the procedure (eight numbered steps: parse, checks, cosign) is
:func:`privcloud.transparency.witness.add_checkpoint`; the record per log origin lives in
:class:`~privcloud.storage.witness_store.WitnessStore` (SQLite), whose one transaction per
submission makes steps 4-8 atomic.

Routes (https://c2sp.org/tlog-witness)::

    POST /add-checkpoint     body: "old <size>\\n", <=63 base64 proof lines, "\\n", signed note
                             200 text/plain: the cosignature line
                             404 unknown origin; 403 no (valid) log signature; 400 old > size;
                             409 text/x.tlog.size "<recorded size>\\n" (also a rollback);
                             422 JSON fork / inconsistent (bad proof, wrong empty root)
    GET  /<hex SHA-256 of the origin>/checkpoint
                             the last checkpoint cosigned for that log, with the log's and the
                             witness's signatures (monitor retrieval); 404 if none
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.errors import ConfigError, DecodeError, NotFoundError, PeerError, UnavailableError
from privcloud.services.http import Metrics, read_body
from privcloud.services.site import new_app
from privcloud.storage.sqlite import corrupt_error
from privcloud.storage.witness_store import WitnessRecord, WitnessStore
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.errors import ForkError
from privcloud.transparency.note import Ed25519NoteVerifier, parse_note
from privcloud.transparency.witness import (
    MEDIA_TLOG_SIZE,
    InconsistentCheckpointError,
    SizeConflictError,
    Witnessed,
    add_checkpoint,
    encode_size_body,
)

log = logging.getLogger("privcloud.witness")


class _StoreLedger:
    """The witness's SQLite store as the procedure's :class:`WitnessLedger`."""

    def __init__(self, store: WitnessStore) -> None:
        self.store = store

    def update(
        self, origin: str, decide: Callable[[Witnessed | None], tuple[Witnessed, bytes]]
    ) -> bytes:
        def run(stored: WitnessRecord | None) -> tuple[WitnessRecord, bytes]:
            old = None if stored is None else Witnessed(**dataclasses.asdict(stored))
            new, line = decide(old)
            return WitnessRecord(**dataclasses.asdict(new)), line

        return self.store.update(origin, run)


class Witness:
    """One witness: its key, the logs it watches, its store; serves ``/add-checkpoint``."""

    def __init__(
        self,
        key: WitnessKey,
        log_keys: Sequence[Ed25519NoteVerifier],
        store: WitnessStore,
        *,
        clock: Clock | None = None,
    ) -> None:
        """``log_keys``: the logs' note keys; each key's name is the origin it signs for."""
        if len(log_keys) > limits.MAX_WITNESS_LOGS:
            raise ConfigError("too many logs for one witness")
        self.key = key
        self.store = store
        self.clock = clock if clock is not None else SystemClock()
        self.logs: dict[str, list[Ed25519NoteVerifier]] = {}
        for k in log_keys:
            self.logs.setdefault(k.name, []).append(k)
        self._origins = {hashlib.sha256(o.encode()).hexdigest(): o for o in self.logs}
        self.metrics = Metrics("witness")
        self._ledger = _StoreLedger(store)
        try:
            self.check_records()
        except BaseException:
            store.close()
            raise
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="witness-db")

    def check_records(self) -> None:
        """Refuse to serve from a damaged store (run at start): a witness that lost or misread
        its record would cosign a rollback or a fork.

        1. Every record's note is a checkpoint of the record's origin, size and root.
        2. For a log this witness watches, one of the log's keys signed that note.

        Raises :class:`ConfigError` naming the database.
        """
        for origin in self.store.origins():
            try:
                record = self.store.get(origin)
                if record is None:
                    raise DecodeError("record vanished")
                parsed = parse_note(record.note)
                checkpoint = Checkpoint.decode(parsed.text.decode("utf-8"))
                if (checkpoint.origin, checkpoint.size, checkpoint.root_hash) != (
                    origin,
                    record.size,
                    record.root_hash,
                ):
                    raise DecodeError("record does not match its note")
                if origin in self.logs:
                    open_checkpoint(parsed, self.logs[origin], origin=origin)
            except (PeerError, UnavailableError, UnicodeDecodeError) as exc:
                raise corrupt_error(
                    f"the witness database {self.store.name}",
                    "a record does not match the checkpoint note its log signed",
                ) from exc

    @property
    def vkey(self) -> str:
        """The witness's cosignature/v1 verifier key, for clients and logs to pin."""
        return self.key.verifier().vkey()

    def app(self) -> web.Application:
        """The aiohttp application. One application per witness object."""
        app = new_app("witness", self.metrics)
        app.router.add_post("/add-checkpoint", self.handle_add_checkpoint, name="add_checkpoint")
        app.router.add_get(
            "/{origin_hash:[0-9a-f]{64}}/checkpoint", self.handle_checkpoint, name="checkpoint"
        )
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()

    def submit(self, body: bytes) -> bytes:
        """Run the whole procedure on one request body; returns the cosignature line.

        Blocking (one store transaction); the HTTP handler runs it on the witness's worker.
        """
        return add_checkpoint(
            body, logs=self.logs, key=self.key, ledger=self._ledger, now=self.clock.now()
        )

    async def handle_add_checkpoint(self, request: web.Request) -> web.Response:
        body = await read_body(request, limit=limits.MAX_WITNESS_REQUEST_BYTES)
        loop = asyncio.get_running_loop()
        try:
            line = await loop.run_in_executor(self._executor, self.submit, body)
        except SizeConflictError as exc:
            return web.Response(
                status=409, body=encode_size_body(exc.recorded_size), content_type=MEDIA_TLOG_SIZE
            )
        except ForkError as exc:
            log.warning("witness refused a checkpoint: %s", exc.code)
            return web.json_response({"error": exc.code, "message": str(exc)}, status=422)
        except InconsistentCheckpointError as exc:
            log.warning("witness refused a checkpoint: %s", exc.code)
            raise
        return web.Response(body=line, content_type="text/plain", charset="utf-8")

    async def handle_checkpoint(self, request: web.Request) -> web.Response:
        """C2SP monitor retrieval: the latest cosigned checkpoint of the log whose origin hashes
        to the path's hex SHA-256 (logs this witness watches only)."""
        origin = self._origins.get(request.match_info["origin_hash"])
        if origin is None:
            raise NotFoundError("no such log")
        loop = asyncio.get_running_loop()
        record = await loop.run_in_executor(self._executor, self.store.get, origin)
        if record is None:
            raise NotFoundError("no checkpoint cosigned for this log yet")
        return web.Response(
            body=record.note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )


__all__ = ["Witness"]
