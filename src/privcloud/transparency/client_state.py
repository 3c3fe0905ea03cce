"""The log state a client trusts, and the one procedure that moves it forward (sans-IO).

A client pins the log's origin and key, its witnesses' keys and how many of them must cosign.
It keeps the last checkpoint it accepted. :meth:`TrustedLogState.update` accepts a newer
checkpoint only if it is signed by the log, cosigned recently by enough witnesses, no smaller
than the trusted one, not a different tree of the same size, and provably an append-only
extension of it. The state serialises to JSON bytes that the SDK stores.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UsageError
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.cosignature import CosignatureVerifier, verify_cosignatures
from privcloud.transparency.errors import ForkError, MissingCosignatureError, RollbackError
from privcloud.transparency.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from privcloud.transparency.note import Ed25519NoteVerifier, parse_note
from privcloud.wire import jsonio

_STATE_VERSION: Final = 1


@dataclass(frozen=True)
class TrustedLogState:
    """What a client trusts about one log. Immutable: :meth:`update` returns a new state.

    ``checkpoint_note`` is the last accepted signed checkpoint (``None``: nothing accepted yet,
    which trusts only the empty tree). Construction checks the policy (:class:`UsageError`) and
    re-verifies the stored note's log signature and origin.
    """

    origin: str
    log_key: Ed25519NoteVerifier
    witnesses: tuple[CosignatureVerifier, ...]
    required_witnesses: int
    checkpoint_note: bytes | None = None
    max_cosignature_age_s: float = limits.MAX_TLOG_COSIGNATURE_AGE_S
    max_clock_skew_s: float = limits.MAX_TLOG_CLOCK_SKEW_S
    checkpoint: Checkpoint = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise UsageError("origin must be a non-empty string")
        if not isinstance(self.log_key, Ed25519NoteVerifier):
            raise UsageError("log key must be an Ed25519 note verifier")
        ws = self.witnesses
        if not isinstance(ws, tuple) or not all(isinstance(w, CosignatureVerifier) for w in ws):
            raise UsageError("witnesses must be a tuple of cosignature verifiers")
        if len(ws) > limits.MAX_TLOG_WITNESSES:
            raise UsageError("too many witnesses")
        if len({w.name for w in ws}) != len(ws) or len({w.public_key for w in ws}) != len(ws):
            raise UsageError("witness names and keys must be distinct")
        n = self.required_witnesses
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(ws):
            raise UsageError("required witnesses must be between 1 and the number of witnesses")
        for limit in (self.max_cosignature_age_s, self.max_clock_skew_s):
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise UsageError("time limits must be numbers")
            if not math.isfinite(limit) or limit < 0:
                raise UsageError("time limits must be finite and not negative")
        if self.checkpoint_note is None:
            checkpoint = Checkpoint(self.origin, 0, EMPTY_ROOT)
        else:
            checkpoint = open_checkpoint(self.checkpoint_note, [self.log_key], origin=self.origin)
        object.__setattr__(self, "checkpoint", checkpoint)

    # --- the procedure ---------------------------------------------------------------------

    def update(
        self, signed_checkpoint: bytes, consistency_proof: Sequence[bytes], now: float
    ) -> TrustedLogState:
        """Accept ``signed_checkpoint`` if it safely extends the trusted one; return the new state.

        1. Parse the note and verify the log's signature over it, and its origin (C2SP
           signed-note, tlog-checkpoint). Bad or missing → :class:`VerificationError`.
        2. Refuse a smaller tree than the trusted one → :class:`RollbackError`.
        3. Refuse a tree of the same size with another root → :class:`ForkError` (the log
           signed two different trees of one size).
        4. Require cosignatures (C2SP tlog-cosignature) from at least ``required_witnesses``
           distinct pinned witnesses with timestamps in ``[now - max_cosignature_age_s,
           now + max_clock_skew_s]``; a bad cosignature from a pinned witness refuses the note
           (:class:`VerificationError`); too few → :class:`MissingCosignatureError`.
        5. Verify the RFC 9162 consistency proof from the trusted checkpoint
           (:class:`VerificationError`). Equal checkpoints need an empty proof.

        Steps 2 and 3 run before 4 so that a rollback or a fork by the log is reported as such
        even when its evidence carries no (fresh) cosignatures.
        """
        if not isinstance(now, int | float) or not math.isfinite(now):
            raise UsageError("invalid time")
        # 1.
        parsed = parse_note(signed_checkpoint)
        new = open_checkpoint(parsed, [self.log_key], origin=self.origin)
        old = self.checkpoint
        # 2.
        if new.size < old.size:
            raise RollbackError("checkpoint is older than the trusted one")
        # 3.
        if new.size == old.size and new.root_hash != old.root_hash:
            raise ForkError("log signed two different trees of the same size")
        # 4.
        cosignatures = verify_cosignatures(parsed, self.witnesses)
        oldest, newest = now - self.max_cosignature_age_s, now + self.max_clock_skew_s
        fresh = {c.name for c in cosignatures if oldest <= c.timestamp <= newest}
        if len(fresh) < self.required_witnesses:
            raise MissingCosignatureError("too few fresh witness cosignatures")
        # 5.
        verify_consistency(old.size, new.size, old.root_hash, new.root_hash, consistency_proof)
        return dataclasses.replace(self, checkpoint_note=signed_checkpoint)

    # --- persistence -----------------------------------------------------------------------

    def to_json(self) -> bytes:
        """The state as UTF-8 JSON, for the SDK to store."""
        doc: dict[str, Any] = {
            "version": _STATE_VERSION,
            "origin": self.origin,
            "log_key": self.log_key.vkey(),
            "witnesses": [w.vkey() for w in self.witnesses],
            "required_witnesses": self.required_witnesses,
            "checkpoint": (
                None if self.checkpoint_note is None else self.checkpoint_note.decode("utf-8")
            ),
            "max_cosignature_age_s": self.max_cosignature_age_s,
            "max_clock_skew_s": self.max_clock_skew_s,
        }
        return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> TrustedLogState:
        """Load a state written by :meth:`to_json`; re-verifies the stored checkpoint's signature.

        Raises :class:`TooLargeError` beyond ``limits.MAX_TLOG_STATE_BYTES``,
        :class:`DecodeError` if the bytes are not a valid state, and :class:`VerificationError`
        if the stored checkpoint's log signature does not verify.
        """
        if not isinstance(data, bytes):
            raise DecodeError("state is bytes")
        if len(data) > limits.MAX_TLOG_STATE_BYTES:
            raise TooLargeError("state too large")
        doc = jsonio.loads(data, max_bytes=limits.MAX_TLOG_STATE_BYTES)
        if not isinstance(doc, dict) or doc.get("version") != _STATE_VERSION:
            raise DecodeError("unknown state version")
        try:
            witnesses = doc["witnesses"]
            note = doc["checkpoint"]
            if not isinstance(witnesses, list) or len(witnesses) > limits.MAX_TLOG_WITNESSES:
                raise DecodeError("malformed witnesses")
            if note is not None and not isinstance(note, str):
                raise DecodeError("malformed checkpoint")
            return cls(
                origin=_str(doc["origin"]),
                log_key=Ed25519NoteVerifier.from_vkey(_str(doc["log_key"])),
                witnesses=tuple(CosignatureVerifier.from_vkey(_str(w)) for w in witnesses),
                required_witnesses=doc["required_witnesses"],
                checkpoint_note=None if note is None else _utf8(note),
                max_cosignature_age_s=doc["max_cosignature_age_s"],
                max_clock_skew_s=doc["max_clock_skew_s"],
            )
        except KeyError as exc:
            raise DecodeError("state lacks a field") from exc
        except UsageError as exc:
            raise DecodeError("state holds an invalid policy") from exc


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise DecodeError("expected a string")
    return value


def _utf8(value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DecodeError("string is not valid Unicode") from exc


def verify_inclusion_against(
    state: TrustedLogState, leaf: bytes, index: int, proof: Sequence[bytes]
) -> None:
    """Check that ``leaf`` (the leaf's contents) is entry ``index`` of the trusted checkpoint.

    RFC 9162 §2.1.3.2 against the state's checkpoint. Raises :class:`VerificationError`.
    """
    checkpoint = state.checkpoint
    verify_inclusion(leaf_hash(leaf), index, checkpoint.size, proof, checkpoint.root_hash)
