"""The transparency log's checkpoints and cosignatures, sans-IO (docs/transparency.md §3).

:class:`LogCore` decides; the log service (:mod:`privcloud.services.tlog`) reads its store, keeps
the time and talks HTTP. Tree sizes and roots, the time (any monotonic clock, in seconds) and
the witnesses' answers go in; out come the signed checkpoint note to serve and persist, which
witnesses to ask from which old size, and when to run again.

One round of :meth:`LogCore.plan` / :meth:`LogCore.finish`:

1. If the tree grew, sign a checkpoint for the new size (C2SP tlog-checkpoint); the
   cosignatures collected for the old one no longer apply.
2. Ask witnesses (C2SP tlog-witness ``add-checkpoint``, one :class:`CosignExchange` each, with a
   consistency proof from the size that witness cosigned last): all of them after a new
   checkpoint or when cosignatures are due for refresh, otherwise only those whose cosignature
   of the current checkpoint is missing.
3. Attach each returned cosignature that verifies under that witness's pinned key
   (:func:`~privcloud.transparency.witness.cosignature_line`); a refused, malformed or missing
   one is left out and the checkpoint is served without it.

Timers (:meth:`LogCore.next_deadline`, :meth:`LogCore.batch_delay`): after appends, at most one
checkpoint per ``checkpoint_interval_s``; every ``cosign_refresh_s`` all witnesses are asked
again so cosignatures stay fresh; while one is missing, the witnesses without a cosignature are
asked again ``witness_retry_s`` after the last round.
"""

from __future__ import annotations

from collections.abc import Sequence

from privcloud import limits
from privcloud.errors import ConfigError, DecodeError, PrivcloudError, UnavailableError
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from privcloud.transparency.cosignature import CosignatureVerifier
from privcloud.transparency.note import Ed25519NoteSigner, Ed25519NoteVerifier, add_signatures
from privcloud.transparency.witness import (
    MEDIA_TLOG_SIZE,
    cosignature_line,
    decode_size_body,
    encode_add_checkpoint,
)


class CosignExchange:
    """One witness's ``add-checkpoint`` exchange for one signed checkpoint.

    Drive it as::

        while (old := exchange.next_old_size()) is not None:
            body = exchange.request_body(consistency_proof(old, exchange.size))
            status, media, payload = <POST body to the witness>   # or exchange.unreachable()
            exchange.receive(status, media, payload)

    Afterwards :attr:`line` is the verified cosignature line (or ``None``, with
    :attr:`problem` saying why, content-free) and :attr:`known_size` the size the witness is
    now known to have cosigned.
    """

    def __init__(
        self, verifier: CosignatureVerifier, signed: bytes, size: int, old_size: int
    ) -> None:
        self.verifier = verifier
        self.signed = signed
        self.size = size
        self.known_size = old_size
        self.line: bytes | None = None
        self.problem: str | None = None
        self._resent = False
        self._next: int | None = self._from(old_size)

    @property
    def name(self) -> str:
        return self.verifier.name

    def _from(self, old_size: int) -> int | None:
        if old_size > self.size:
            self.problem = "the witness has cosigned a larger tree than this log holds"
            return None
        return old_size

    def next_old_size(self) -> int | None:
        """The old size of the next request (its consistency proof starts there), or ``None``
        when the exchange is over."""
        return self._next

    def request_body(self, proof: Sequence[bytes]) -> bytes:
        """The ``add-checkpoint`` body for :meth:`next_old_size`, with ``proof`` from it."""
        if self._next is None:
            raise PrivcloudError("the exchange is over")
        return encode_add_checkpoint(self._next, proof, self.signed)

    def receive(self, status: int, media_type: str, payload: bytes) -> None:
        """The witness's answer to the last request (status, media type, bounded body)."""
        self._next = None
        if status == 409 and media_type == MEDIA_TLOG_SIZE:
            try:
                self.known_size = decode_size_body(payload)
            except DecodeError:
                self.problem = "the witness answered a malformed size"
                return
            if self._resent:  # one resend only: a witness cannot keep the log busy
                self.problem = "the witness named another size again"
                return
            self._resent = True
            self._next = self._from(self.known_size)  # C2SP: resend from the witness's size
            return
        if status != 200:
            self.problem = f"the witness refused the checkpoint (status {status})"
            return
        try:
            self.line = cosignature_line(self.verifier, self.signed, self.signed + payload)
        except PrivcloudError as exc:
            self.problem = f"the witness answered a bad cosignature ({exc.code})"
            return
        self.known_size = self.size

    def unreachable(self) -> None:
        """The request got no answer (network failure, timeout, oversize body)."""
        self._next = None
        self.problem = "the witness is unreachable"


class LogCore:
    """The checkpoint a log serves and the cosignatures it collects for it (module docstring)."""

    def __init__(
        self,
        signer: Ed25519NoteSigner,
        witnesses: Sequence[CosignatureVerifier] = (),
        *,
        checkpoint_interval_s: float = limits.TLOG_CHECKPOINT_INTERVAL_S,
        cosign_refresh_s: float = limits.TLOG_COSIGN_REFRESH_S,
        witness_retry_s: float = limits.TLOG_WITNESS_RETRY_S,
    ) -> None:
        """Raises :class:`ConfigError` for witnesses of one name or too many of them.

        Call :meth:`start` before anything else.
        """
        if len({w.name for w in witnesses}) != len(witnesses):
            raise ConfigError("witness names must be distinct")
        if len(witnesses) > limits.MAX_TLOG_WITNESSES:
            raise ConfigError("too many witnesses")
        self.signer = signer
        self.origin = signer.name
        self.verifier: Ed25519NoteVerifier = signer.verifier()
        self.witnesses = tuple(witnesses)
        self.interval_s = checkpoint_interval_s
        self.refresh_s = cosign_refresh_s
        self.retry_s = witness_retry_s
        self._checkpoint: Checkpoint | None = None
        self._signed = b""
        self._note = b""
        #: Verified cosignature line per witness name, for the current checkpoint only.
        self._cosignatures: dict[str, bytes] = {}
        #: Size each witness is believed to have cosigned last.
        self._witness_size: dict[str, int] = {}
        self._last_publish = -float("inf")
        self._last_full_round = -float("inf")

    # --- what is served ----------------------------------------------------------------------

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint served now."""
        if self._checkpoint is None:
            raise PrivcloudError("the log core has not started")
        return self._checkpoint

    @property
    def signed(self) -> bytes:
        """The current checkpoint note with the log's signature only."""
        return self._signed

    @property
    def note(self) -> bytes:
        """The note served now: the log's signature line, then every attached cosignature."""
        return self._note

    def witness_size(self, name: str) -> int:
        """The size witness ``name`` is believed to have cosigned last (0 if unknown)."""
        return self._witness_size.get(name, 0)

    # --- start -------------------------------------------------------------------------------

    def open_stored(self, note: bytes) -> Checkpoint:
        """The checkpoint of a note this log persisted, once it verifies under the log's key.

        Raises :class:`UnavailableError`: a stored note that does not verify means a damaged
        or foreign database, which the log must not serve.
        """
        try:
            return open_checkpoint(note, [self.verifier], origin=self.origin)
        except PrivcloudError as exc:
            raise UnavailableError("log's stored checkpoint does not verify") from exc

    def start(
        self,
        size: int,
        root: bytes,
        *,
        stored: bytes | None = None,
        stored_tree_root: bytes | None = None,
    ) -> None:
        """Sign the tree of ``size`` leaves (root ``root``) and serve it.

        ``stored`` is the note the log last persisted, and ``stored_tree_root`` the root its
        tree has *now* at that note's size (``None`` if the tree is smaller). Raises
        :class:`UnavailableError` unless the tree still holds the stored checkpoint: a database
        that lost or changed signed entries would make the log sign a fork. The stored note's
        cosignatures are kept when its checkpoint is the current one and they still verify.
        """
        last = None if stored is None else self.open_stored(stored)
        if last is not None:
            if last.size > size or stored_tree_root != last.root_hash:
                raise UnavailableError("log database does not match its last checkpoint")
            self._witness_size = {w.name: last.size for w in self.witnesses}
        self.sign(size, root)
        if stored is not None and last is not None and last.size == size:
            for w in self.witnesses:
                try:
                    self._cosignatures[w.name] = cosignature_line(w, self._signed, stored)
                except PrivcloudError:
                    continue  # absent or no longer valid: asked for again
        self._note = self._assemble()

    # --- rounds ------------------------------------------------------------------------------

    def needs_signing(self, size: int) -> bool:
        """Whether the tree (now of ``size`` leaves) grew past the served checkpoint."""
        return self._checkpoint is None or size != self._checkpoint.size

    def sign(self, size: int, root: bytes) -> None:
        """Step 1: sign a checkpoint for the tree of ``size`` leaves with root ``root``."""
        self._checkpoint = Checkpoint(self.origin, size, root)
        self._signed = sign_checkpoint(self._checkpoint, [self.signer])
        self._cosignatures = {}

    def plan(self, *, refresh: bool = False) -> list[CosignExchange]:
        """Step 2: the exchanges of this round, one per witness to ask."""
        size = self.checkpoint.size
        return [
            CosignExchange(w, self._signed, size, self.witness_size(w.name))
            for w in self.witnesses
            if refresh or w.name not in self._cosignatures
        ]

    def finish(self, exchanges: Sequence[CosignExchange], now: float) -> bytes | None:
        """Step 3: attach the cosignatures the exchanges got; note when the round ran.

        Returns the new note to persist and serve, or ``None`` if the served note is unchanged.
        An exchange for another checkpoint than the current one is ignored.
        """
        for ex in exchanges:
            if ex.signed != self._signed:
                continue
            self._witness_size[ex.name] = ex.known_size
            if ex.line is not None:
                self._cosignatures[ex.name] = ex.line
        self._last_publish = now
        if len(exchanges) == len(self.witnesses):
            self._last_full_round = now
        note = self._assemble()
        if note == self._note:
            return None
        self._note = note
        return note

    def _assemble(self) -> bytes:
        lines = [self._cosignatures[n] for n in sorted(self._cosignatures)]
        return add_signatures(self._signed, lines)

    # --- timers ------------------------------------------------------------------------------

    def missing_cosignatures(self) -> bool:
        """Whether some witness has not cosigned the current checkpoint."""
        return len(self._cosignatures) < len(self.witnesses)

    def next_deadline(self) -> float:
        """When a round is due even if nothing is appended: the refresh of all cosignatures,
        or sooner the retry of missing ones."""
        due = self._last_full_round + self.refresh_s
        if self.missing_cosignatures():
            due = min(due, self._last_publish + self.retry_s)
        return due

    def batch_delay(self, now: float) -> float:
        """How long to wait before a round at ``now``: at most one per ``checkpoint_interval_s``."""
        return max(0.0, self._last_publish + self.interval_s - now)

    def refresh_due(self, now: float) -> bool:
        """Whether a round at ``now`` must ask every witness again (cosignatures growing old)."""
        return now - self._last_full_round >= self.refresh_s


__all__ = ["CosignExchange", "LogCore"]
