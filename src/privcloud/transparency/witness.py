"""C2SP tlog-witness ``add-checkpoint`` (https://c2sp.org/tlog-witness), sans-IO: both sides.

A witness is a name and an Ed25519 key (a C2SP ``cosignature/v1`` key), configured with the
public keys of the logs it watches; a log's origin is its key's name. For each origin it keeps
the latest checkpoint it cosigned and cosigns a new one only if it provably extends that one.
This is what stops a log from showing different trees to different clients: it would need the
witnesses to cosign both. The HTTP shell is :mod:`privcloud.services.witness`; the log's shell
is :mod:`privcloud.services.tlog` (its decisions: :mod:`privcloud.transparency.log_core`).

Request (``POST /add-checkpoint``)::

    old <size>\\n  <=63 base64 consistency-proof lines  \\n  the signed checkpoint note

Answers: ``200 text/plain`` with the cosignature line; ``409 text/x.tlog.size`` with
``"<recorded size>\\n"`` (:func:`encode_size_body`) when the old size is not the recorded one.

Procedure of :func:`add_checkpoint` (docs/transparency.md §3; each step raises one of our errors):

1. Parse the body (400, :class:`DecodeError`; 413 past ``limits.MAX_WITNESS_REQUEST_BYTES``).
2. The checkpoint's origin must be one the witness is configured for (404,
   :class:`NotFoundError`).
3. A configured key of that log must have signed it, and every configured key's signature that
   is present must verify (403, :class:`VerificationError`).
4. The old size must not exceed the checkpoint size (400, :class:`PeerError`).
5. The old size must equal the recorded size (0 if none): otherwise 409 with the recorded size
   as ``text/x.tlog.size`` (:class:`SizeConflictError`), so an honest log can resend. A
   rollback (a checkpoint smaller than the recorded one) always ends here or at step 4: its
   old size is at most its size, so it cannot be the recorded size.
6. At an unchanged size the root must be the recorded one: a different root is a fork (422,
   :class:`ForkError`; C2SP: "If they don't match, the witness MUST respond with a 422").
7. The RFC 9162 consistency proof from the recorded checkpoint must verify (422,
   :class:`InconsistentCheckpointError`); so must an empty tree's root and an empty proof
   from size 0.
8. Cosign (C2SP tlog-cosignature) with the witness's time and record the checkpoint with the
   cosignature attached (what the monitoring endpoint serves). Steps 4-8 run inside one
   :meth:`WitnessLedger.update`, atomic in the store, so concurrent submissions cannot roll
   the record back.

The statuses and their order are C2SP's (404, 403, 400, 409 with the size, 422). The 422 body
is our JSON error (``{"error": "fork"|"inconsistent", ...}``): the spec leaves it open.

The log's side: :func:`encode_add_checkpoint`, :func:`decode_size_body` and
:func:`cosignature_line` (which line of the answer is the witness's, checked with its key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from privcloud import limits
from privcloud.errors import (
    DecodeError,
    InconsistentCheckpointError,
    NotFoundError,
    PeerError,
    SizeConflictError,
    TooLargeError,
    UpstreamError,
    UsageError,
    VerificationError,
)
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.cosignature import (
    CosignatureVerifier,
    WitnessKey,
    cosign,
    verify_cosignatures,
)
from privcloud.transparency.errors import ForkError
from privcloud.transparency.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from privcloud.transparency.note import (
    Ed25519NoteVerifier,
    add_signatures,
    b64decode_strict,
    b64encode,
    parse_note,
)

#: Media type of the 409 answer that carries the witness's recorded size (C2SP tlog-witness).
MEDIA_TLOG_SIZE: Final = "text/x.tlog.size"
#: Most consistency proof lines in one request (C2SP: clients MUST NOT send more than 63).
MAX_PROOF_LINES: Final = 63
_OLD_LINE = re.compile(rb"old (0|[1-9][0-9]{0,18})")
_SIZE_BODY = re.compile(rb"(0|[1-9][0-9]{0,18})\n")


# --- the add-checkpoint request body and the 409 size body -------------------------------------


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


def encode_size_body(size: int) -> bytes:
    """The body of a 409 ``text/x.tlog.size`` answer: the recorded size and a newline."""
    return f"{size}\n".encode()


def decode_size_body(body: bytes) -> int:
    """The size a 409 ``text/x.tlog.size`` answer carries; :class:`DecodeError` if malformed."""
    match = _SIZE_BODY.fullmatch(body)
    if match is None or int(match.group(1)) > limits.MAX_TLOG_TREE_SIZE:
        raise DecodeError("malformed witness size answer")
    return int(match.group(1))


# --- what the witness records, and where -------------------------------------------------------


@dataclass(frozen=True)
class Witnessed:
    """The latest checkpoint a witness cosigned for one origin."""

    origin: str
    size: int
    root_hash: bytes
    #: The signed note as submitted (kept as evidence).
    note: bytes
    updated: float


class WitnessLedger(Protocol):
    """The witness's record per origin, read and replaced atomically (C2SP tlog-witness)."""

    def update(
        self, origin: str, decide: Callable[[Witnessed | None], tuple[Witnessed, bytes]]
    ) -> bytes:
        """Read ``origin``'s record, call ``decide`` on it, store the record it returns, all in
        one atomic step; return the bytes ``decide`` returned. If ``decide`` raises, nothing is
        stored and the exception propagates."""
        ...


class MemoryLedger:
    """A :class:`WitnessLedger` in a dict (tests, a witness without persistence)."""

    def __init__(self) -> None:
        self.records: dict[str, Witnessed] = {}

    def update(
        self, origin: str, decide: Callable[[Witnessed | None], tuple[Witnessed, bytes]]
    ) -> bytes:
        record, result = decide(self.records.get(origin))
        if record.origin != origin:
            raise UsageError("a decision must keep the record's origin")
        self.records[origin] = record
        return result


# --- the procedure -----------------------------------------------------------------------------


def add_checkpoint(
    body: bytes,
    *,
    logs: Mapping[str, Sequence[Ed25519NoteVerifier]],
    key: WitnessKey,
    ledger: WitnessLedger,
    now: float,
) -> bytes:
    """Run the module's procedure on one request body; returns the cosignature line.

    ``logs`` maps each watched origin to its log's keys; ``now`` is the witness's time (the
    cosignature's timestamp). Raises the error of the step that refused (module docstring).
    """
    # 1. Parse the body.
    request = decode_add_checkpoint(body)
    parsed = parse_note(request.note)
    text = parsed.text.decode("utf-8")  # parse_note checked it is UTF-8
    # 2. The origin is one this witness watches.
    origin = Checkpoint.decode(text).origin
    log_keys = list(logs.get(origin, ()))
    if not log_keys:
        raise NotFoundError("unknown log origin")
    # 3. The log signed it (and no configured key's signature fails).
    checkpoint = open_checkpoint(parsed, log_keys, origin=origin)

    def decide(record: Witnessed | None) -> tuple[Witnessed, bytes]:
        recorded_size = 0 if record is None else record.size
        recorded_root = EMPTY_ROOT if record is None else record.root_hash
        # 4. Old size not beyond the checkpoint.
        if request.old_size > checkpoint.size:
            raise PeerError("old size exceeds the checkpoint size")
        # 5. Old size is what the witness recorded (also refuses every rollback).
        if request.old_size != recorded_size:
            raise SizeConflictError(recorded_size)
        # 6. Same size, other root: a fork.
        if checkpoint.size == recorded_size and checkpoint.root_hash != recorded_root:
            raise ForkError("log signed two different trees of the same size")
        # 7. Append-only.
        try:
            verify_consistency(
                recorded_size, checkpoint.size, recorded_root, checkpoint.root_hash, request.proof
            )
        except VerificationError as exc:
            raise InconsistentCheckpointError("consistency proof does not verify") from exc
        # 8. Cosign and record.
        line = cosign(text, key, now)
        note = add_signatures(request.note, [line])
        return Witnessed(origin, checkpoint.size, checkpoint.root_hash, note, now), line

    return ledger.update(origin, decide)


# --- the log's side --------------------------------------------------------------------------


def cosignature_line(verifier: CosignatureVerifier, signed: bytes, note: bytes) -> bytes:
    """The (last) cosignature line of the witness ``verifier`` names in ``note``, verified.

    ``signed`` is the log's signed checkpoint; ``note`` is it with more signature lines (a
    stored note, or ``signed`` followed by a witness's answer). Raises :class:`UpstreamError`
    when the note is of another checkpoint or holds no line of that witness,
    :class:`VerificationError` when the line does not verify and :class:`DecodeError` for a
    malformed note.
    """
    parsed = parse_note(note)
    if parsed.text != parse_note(signed).text:
        raise UpstreamError("cosignature is for another checkpoint")
    ident = (verifier.name, verifier.key_id)
    lines = [s.line() for s in parsed.signatures if (s.name, s.key_id) == ident]
    if not lines:
        raise UpstreamError("witness answered without its cosignature")
    line = lines[-1]
    verify_cosignatures(add_signatures(signed, [line]), [verifier])
    return line


__all__ = [
    "MAX_PROOF_LINES",
    "MEDIA_TLOG_SIZE",
    "AddCheckpoint",
    "InconsistentCheckpointError",
    "MemoryLedger",
    "SizeConflictError",
    "WitnessLedger",
    "Witnessed",
    "add_checkpoint",
    "cosignature_line",
    "decode_add_checkpoint",
    "decode_size_body",
    "encode_add_checkpoint",
    "encode_size_body",
]
