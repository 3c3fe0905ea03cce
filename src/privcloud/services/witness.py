"""The witness service (``privcloud witness``): C2SP tlog-witness ``add-checkpoint`` over HTTP.

A witness is a name and an Ed25519 key (a C2SP ``cosignature/v1`` key), configured with the
public keys of the logs it watches; a log's origin is its key's name. For each origin it keeps
the latest checkpoint it cosigned (:mod:`privcloud.storage.witness_store`) and cosigns a new one
only if it provably extends that one. This is what stops a log from showing different trees to
different clients: it would need the witnesses to cosign both.

The log's side of the protocol is here too (:func:`request_cosignature`, :class:`WitnessEndpoint`).

Route (https://c2sp.org/tlog-witness)::

    POST /add-checkpoint     body: "old <size>\\n", <=63 base64 proof lines, "\\n", signed note
                             200 text/plain: the cosignature line(s)

Procedure of :func:`add_checkpoint` (sans-IO; each step raises one of our errors):

1. Parse the body (400, :class:`DecodeError`; 413 past ``limits.MAX_WITNESS_REQUEST_BYTES``).
2. The checkpoint's origin must be one the witness is configured for (404,
   :class:`NotFoundError`).
3. A configured key of that log must have signed it, and every configured key's signature that
   is present must verify (403, :class:`VerificationError`).
4. A checkpoint smaller than the recorded one is a rollback (409, :class:`RollbackError`).
5. The old size must not exceed the checkpoint size (400).
6. The old size must equal the recorded size (0 if none): otherwise 409 with the recorded size
   as ``text/x.tlog.size`` (:class:`SizeConflictError`), so an honest log can resend.
7. At an unchanged size the root must be the recorded one: a different root is a fork (409,
   :class:`ForkError`).
8. The RFC 9162 consistency proof from the recorded checkpoint must verify (422,
   :class:`InconsistentCheckpointError`).
9. Cosign (C2SP tlog-cosignature) with the current time and record the checkpoint; steps 4-9
   run inside one store transaction, so concurrent submissions cannot roll the record back.

Where this is stricter than C2SP: a rollback and a fork are answered 409 with our JSON error
(``{"error": "rollback"|"fork", ...}``) rather than with the size body, since no resend can fix
them; the size body is kept for the one conflict an honest log can resolve (step 6).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.errors import (
    ConfigError,
    DecodeError,
    NotFoundError,
    PeerError,
    PrivcloudError,
    TooLargeError,
    UpstreamError,
    UsageError,
    VerificationError,
)
from privcloud.netio import read_bounded
from privcloud.services.http import Metrics, new_app, read_body
from privcloud.storage.witness_store import WitnessRecord, WitnessStore
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.cosignature import (
    CosignatureVerifier,
    WitnessKey,
    cosign,
    verify_cosignatures,
)
from privcloud.transparency.errors import ForkError, RollbackError
from privcloud.transparency.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from privcloud.transparency.note import (
    Ed25519NoteVerifier,
    add_signatures,
    b64decode_strict,
    b64encode,
    parse_note,
)

log = logging.getLogger("privcloud.witness")

#: Media type of the 409 answer that carries the witness's recorded size (C2SP tlog-witness).
MEDIA_TLOG_SIZE: Final = "text/x.tlog.size"
#: Most consistency proof lines in one request (C2SP: clients MUST NOT send more than 63).
MAX_PROOF_LINES: Final = 63
_OLD_LINE = re.compile(rb"old (0|[1-9][0-9]{0,18})")
_SIZE_BODY = re.compile(rb"(0|[1-9][0-9]{0,18})\n")


class SizeConflictError(PeerError):
    """The submission's old size is not the size the witness recorded (C2SP: 409 + the size)."""

    http_status = 409
    code = "conflict"

    def __init__(self, recorded_size: int) -> None:
        super().__init__("old size does not match the witness's latest checkpoint")
        self.recorded_size = recorded_size


class InconsistentCheckpointError(VerificationError):
    """The consistency proof from the recorded checkpoint does not verify (C2SP: 422)."""

    http_status = 422
    code = "inconsistent"


# --- the add-checkpoint request body ---------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` request: old size, consistency proof, signed note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def encode_add_checkpoint(old_size: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The request body: ``old <size>``, one base64 line per proof hash, an empty line, the note."""
    if isinstance(old_size, bool) or not 0 <= old_size <= limits.MAX_TLOG_TREE_SIZE:
        raise UsageError("old size out of range")
    if len(proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in proof):
        raise UsageError("invalid consistency proof")
    lines = [f"old {old_size}", *(b64encode(h) for h in proof)]
    return "".join(line + "\n" for line in lines).encode() + b"\n" + note


def decode_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse a request body strictly; raises :class:`DecodeError` or :class:`TooLargeError`."""
    if len(body) > limits.MAX_WITNESS_REQUEST_BYTES:
        raise TooLargeError("request too large")
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise DecodeError("malformed add-checkpoint request")
    lines = head.split(b"\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise DecodeError("malformed old size line")
    old_size = int(match.group(1))
    if old_size > limits.MAX_TLOG_TREE_SIZE:
        raise DecodeError("old size out of range")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise DecodeError("too many consistency proof lines")
    proof = tuple(b64decode_strict(line) for line in lines[1:])
    if any(len(h) != HASH_SIZE for h in proof):
        raise DecodeError("a proof hash is 32 bytes")
    return AddCheckpoint(old_size, proof, note)


# --- the procedure ---------------------------------------------------------------------------


def add_checkpoint(
    request: AddCheckpoint,
    record: WitnessRecord | None,
    log_keys: Sequence[Ed25519NoteVerifier],
    witness: WitnessKey,
    now: float,
) -> tuple[WitnessRecord, bytes]:
    """Steps 2-9 of the module procedure for one origin; returns ``(new record, cosignature)``.

    ``log_keys`` are the keys configured for the checkpoint's origin (empty: unknown origin);
    ``record`` is what the witness recorded for it. Pure: the caller persists the record.
    """
    parsed = parse_note(request.note)
    # 2. Origin known?
    origin = Checkpoint.decode(_text(parsed.text)).origin
    if not log_keys:
        raise NotFoundError("unknown log origin")
    # 3. Log signature.
    checkpoint = open_checkpoint(parsed, list(log_keys), origin=origin)
    recorded_size = 0 if record is None else record.size
    recorded_root = EMPTY_ROOT if record is None else record.root_hash
    # 4. Rollback.
    if checkpoint.size < recorded_size:
        raise RollbackError("checkpoint is older than the witness's latest")
    # 5. Old size not beyond the checkpoint.
    if request.old_size > checkpoint.size:
        raise PeerError("old size exceeds the checkpoint size")
    # 6. Old size is what the witness recorded.
    if request.old_size != recorded_size:
        raise SizeConflictError(recorded_size)
    # 7. Same size, other root: a fork.
    if checkpoint.size == recorded_size and checkpoint.root_hash != recorded_root:
        raise ForkError("log signed two different trees of the same size")
    # 8. Append-only.
    try:
        verify_consistency(
            recorded_size, checkpoint.size, recorded_root, checkpoint.root_hash, request.proof
        )
    except VerificationError as exc:
        raise InconsistentCheckpointError("consistency proof does not verify") from exc
    # 9. Cosign and record.
    line = cosign(_text(parsed.text), witness, now)
    new = WitnessRecord(origin, checkpoint.size, checkpoint.root_hash, request.note, now)
    return new, line


def _text(data: bytes) -> str:
    return data.decode("utf-8")  # parse_note already checked it is UTF-8


# --- the service -----------------------------------------------------------------------------


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
        self.metrics = Metrics("witness")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="witness-db")

    @property
    def vkey(self) -> str:
        """The witness's cosignature/v1 verifier key, for clients and logs to pin."""
        return self.key.verifier().vkey()

    def app(self) -> web.Application:
        """The aiohttp application. One application per witness object."""
        app = new_app("witness", self.metrics)
        app.router.add_post("/add-checkpoint", self.handle_add_checkpoint, name="add_checkpoint")
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()

    def submit(self, body: bytes) -> bytes:
        """Run the whole procedure on one request body; returns the cosignature line(s).

        Blocking (one store transaction); the HTTP handler runs it on the witness's worker.
        """
        # 1.
        request = decode_add_checkpoint(body)
        origin = Checkpoint.decode(_text(parse_note(request.note).text)).origin
        keys = self.logs.get(origin, [])
        if not keys:
            raise NotFoundError("unknown log origin")
        now = self.clock.now()
        return self.store.update(
            origin, lambda record: add_checkpoint(request, record, keys, self.key, now)
        )

    async def handle_add_checkpoint(self, request: web.Request) -> web.Response:
        body = await read_body(request, limit=limits.MAX_WITNESS_REQUEST_BYTES)
        loop = asyncio.get_running_loop()
        try:
            line = await loop.run_in_executor(self._executor, self.submit, body)
        except SizeConflictError as exc:
            return web.Response(
                status=409,
                body=f"{exc.recorded_size}\n".encode(),
                content_type=MEDIA_TLOG_SIZE,
            )
        except (RollbackError, ForkError) as exc:
            log.warning("witness refused a checkpoint: %s", exc.code)
            return web.json_response({"error": exc.code, "message": str(exc)}, status=409)
        except InconsistentCheckpointError as exc:
            log.warning("witness refused a checkpoint: %s", exc.code)
            raise
        return web.Response(body=line, content_type="text/plain", charset="utf-8")


# --- the log's side of the protocol ------------------------------------------------------------


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


def cosignature_line(
    witness: WitnessEndpoint, signed: bytes, note: bytes, *, strict: bool = False
) -> bytes | None:
    """The (last) cosignature line of ``witness`` in ``note``, checked over ``signed``'s text.

    ``note`` is the signed checkpoint ``signed`` with more signature lines. Returns ``None`` if
    there is none or (unless ``strict``) it does not verify; when ``strict``, raises
    :class:`UpstreamError`, :class:`VerificationError` or :class:`DecodeError` instead.
    """
    v = witness.verifier
    try:
        parsed = parse_note(note)
        if parsed.text != parse_note(signed).text:
            raise UpstreamError("cosignature is for another checkpoint")
        lines = [s.line() for s in parsed.signatures if (s.name, s.key_id) == (v.name, v.key_id)]
        if not lines:
            raise UpstreamError("witness answered without its cosignature")
        line = lines[-1]
        verify_cosignatures(add_signatures(signed, [line]), [v])
    except PrivcloudError:
        if strict:
            raise
        return None
    return line


async def request_cosignature(
    session: aiohttp.ClientSession,
    witness: WitnessEndpoint,
    signed: bytes,
    size: int,
    old_size: int,
    proof_from: Callable[[int], Awaitable[list[bytes]]],
    *,
    timeout_s: float = limits.TLOG_WITNESS_TIMEOUT_S,
) -> tuple[bytes | None, int]:
    """One C2SP ``add-checkpoint`` exchange for the signed checkpoint ``signed`` of ``size``.

    ``old_size`` is the size the witness is believed to have cosigned last; ``proof_from(m)``
    gives the consistency proof from ``m`` to ``size``. After a 409 carrying the witness's size
    the request is resent once from that size. Returns ``(verified cosignature line or None,
    the witness's size as now known)``; failures are logged (content-free), never raised.
    """
    old = old_size
    for _ in range(2):
        if old > size:
            log.warning("a witness has cosigned a larger tree than this log holds")
            return None, old
        body = encode_add_checkpoint(old, await proof_from(old), signed)
        try:
            async with session.post(
                f"{witness.url}/add-checkpoint",
                data=body,
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                payload = await read_bounded(resp.content, limits.MAX_WITNESS_RESPONSE_BYTES)
                status, media = resp.status, resp.content_type
        except (aiohttp.ClientError, TimeoutError, PrivcloudError):
            log.warning("a witness is unreachable")
            return None, old
        if status == 409 and media == MEDIA_TLOG_SIZE:
            match = _SIZE_BODY.fullmatch(payload)
            if match is None:
                log.warning("a witness answered a malformed size")
                return None, old
            old = int(match.group(1))
            continue
        if status != 200:
            log.warning("a witness refused the checkpoint: status %d", status)
            return None, old
        try:
            line = cosignature_line(witness, signed, signed + payload, strict=True)
        except PrivcloudError as exc:
            log.warning("a witness answered a bad cosignature: %s", exc.code)
            return None, old
        return line, size
    return None, old
