"""Where a client keeps the log checkpoint it trusts, and the one call that moves it forward.

A device must remember the last checkpoint it accepted *across restarts*: otherwise a log could
roll it back, or show it a forked tree, simply by waiting for the app to restart. So:

* :func:`pinned_state` builds the trust policy from out-of-band configuration (the log's vkey,
  the witnesses' vkeys, how many must cosign) with nothing accepted yet;
* a :class:`TrustStore` (:class:`FileTrustStore` on disk, :class:`MemoryTrustStore` in memory)
  loads the stored checkpoint *under that policy* and saves new states, refusing to save one
  that is older than, or forks from, what it holds;
* the same store remembers, per log, the hybrid (post-quantum) OHTTP key statements the device
  proved (:meth:`TrustStore.load_hybrid_statements`), so a restarted app still detects a relay
  that strips the hybrid configuration (docs/adr/0014-post-quantum-hpke.md);
* :func:`refresh_trusted_checkpoint` fetches the log's newest checkpoint, verifies the log's
  signature on it, only then fetches the consistency proof from the trusted one, and runs
  :meth:`TrustedLogState.update`, which refuses a rollback (:class:`RollbackError`), a fork
  (:class:`ForkError`), missing cosignatures (:class:`MissingCosignatureError`) and a proof
  that does not verify.

Typical use::

    store = FileTrustStore(app_dir / "trust")
    state = store.load(pinned_state(LOG_VKEY, WITNESS_VKEYS))
    async with LogClient(log_url) as log:
        state = await refresh_trusted_checkpoint(log, state, store=store)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from privcloud import limits
from privcloud.errors import ConfigError, DecodeError, PrivcloudError, UnavailableError, UsageError
from privcloud.fileio import write_atomic
from privcloud.logclient import LogClient, advance_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import CosignatureVerifier
from privcloud.transparency.errors import ForkError, RollbackError
from privcloud.transparency.note import Ed25519NoteVerifier
from privcloud.trust.keys import KeyStatement
from privcloud.wire import jsonio


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where command-line clients keep their trusted checkpoints unless told otherwise:
    ``$XDG_STATE_HOME/privcloud``, else ``~/.local/state/privcloud`` (XDG Base Directory
    specification). ``env`` defaults to :data:`os.environ`. A relative ``XDG_STATE_HOME`` is
    ignored, as the specification says."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME", "")
    if base and Path(base).is_absolute():
        return Path(base) / "privcloud"
    try:
        home = Path.home()
    except RuntimeError as exc:  # no HOME and no passwd entry (some containers)
        raise ConfigError("no home directory for the trust state: pass --trust-state DIR") from exc
    return home / ".local" / "state" / "privcloud"


def pinned_state(
    log_vkey: str, witness_vkeys: Sequence[str], required_witnesses: int | None = None
) -> TrustedLogState:
    """The trust policy for one log, nothing accepted yet (it trusts only the empty tree).

    The origin is the log key's name. ``required_witnesses`` defaults to all of them. Raises
    :class:`ConfigError` for a malformed vkey or an impossible quorum.
    """
    try:
        log_key = Ed25519NoteVerifier.from_vkey(log_vkey)
        witnesses = tuple(CosignatureVerifier.from_vkey(v) for v in witness_vkeys)
        n = len(witnesses) if required_witnesses is None else required_witnesses
        return TrustedLogState(log_key.name, log_key, witnesses, n)
    except PrivcloudError as exc:
        raise ConfigError("invalid log trust configuration") from exc


def _adopt(pinned: TrustedLogState, stored: bytes | None) -> TrustedLogState:
    """``pinned``'s policy with the stored checkpoint (re-verified against ``pinned``'s log key)."""
    if stored is None:
        return pinned
    previous = TrustedLogState.from_json(stored)
    if previous.origin != pinned.origin:
        raise DecodeError("stored trust state is for another log")
    if previous.checkpoint_note is None:
        return pinned
    return dataclasses.replace(pinned, checkpoint_note=previous.checkpoint_note)


def _check_forward(stored: bytes | None, new: TrustedLogState) -> None:
    """Refuse to replace a stored state by an older or forked one."""
    if stored is None:
        return
    old = TrustedLogState.from_json(stored).checkpoint
    if new.checkpoint.size < old.size:
        raise RollbackError("checkpoint is older than the trusted one")
    if new.checkpoint.size == old.size and new.checkpoint.root_hash != old.root_hash:
        raise ForkError("log signed two different trees of the same size")


def log_identity(state: TrustedLogState) -> str:
    """What a stored checkpoint belongs to: the log's origin *and* its pinned key.

    A log that comes back under the same origin with a new key (a local cloud started again) is
    another log to the client, with a trust state of its own; rollback and fork protection apply
    per identity, and an attacker cannot use a new key to reset them, since the client pins the
    key it trusts.
    """
    return f"{state.origin}\n{state.log_key.vkey()}"


class TrustStore(Protocol):
    """Persists one trusted checkpoint per log (origin and pinned key)."""

    def load(self, pinned: TrustedLogState) -> TrustedLogState:
        """``pinned`` (the configured policy) with the stored checkpoint for its origin, if any.

        The stored checkpoint is re-verified against the pinned log key
        (:class:`VerificationError` if it no longer verifies). A checkpoint in ``pinned`` itself
        is used only when nothing is stored.
        """
        ...

    def save(self, state: TrustedLogState) -> None:
        """Store ``state``; refuses (:class:`RollbackError`, :class:`ForkError`) a state behind or
        beside the stored one for the same origin."""
        ...

    def load_hybrid_statements(self, log: TrustedLogState) -> list[KeyStatement]:
        """The hybrid OHTTP key statements this device proved in ``log``'s log (none stored:
        empty). :class:`DecodeError` for a damaged record (never read as "none proven")."""
        ...

    def save_hybrid_statements(
        self, log: TrustedLogState, statements: Sequence[KeyStatement], now: float
    ) -> None:
        """Remember ``statements`` (proven hybrid OHTTP statements of ``log``'s log) next to
        those already stored; expired ones are dropped (:func:`merge_hybrid_statements`)."""
        ...


#: Version of the stored hybrid-statement record (a file beside the checkpoint's; a store
#: written before it existed has none, read as "nothing proven yet").
HYBRID_RECORD_VERSION = 1


def merge_hybrid_statements(
    old: Sequence[KeyStatement], new: Sequence[KeyStatement], now: float
) -> list[KeyStatement]:
    """``old`` and ``new`` without duplicates or statements expired at ``now``; the longest
    valid first, at most ``limits.MAX_KEY_STATEMENTS``."""
    by_leaf = {s.leaf_hash: s for s in [*old, *new] if now < s.not_after}
    ordered = sorted(by_leaf.values(), key=lambda s: (-s.not_after, s.leaf_hash))
    return ordered[: limits.MAX_KEY_STATEMENTS]


def encode_hybrid_record(statements: Sequence[KeyStatement]) -> bytes:
    """``{"version": 1, "hybrid_ohttp": [base64 of each statement's log entry]}``."""
    entries = [base64.b64encode(s.encode()).decode("ascii") for s in statements]
    doc = {"version": HYBRID_RECORD_VERSION, "hybrid_ohttp": entries}
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def decode_hybrid_record(data: bytes) -> list[KeyStatement]:
    """Parse :func:`encode_hybrid_record`'s output; :class:`DecodeError` (or
    :class:`TooLargeError`) for anything else, including a hybrid-less statement."""
    doc = jsonio.loads(data, max_bytes=limits.MAX_KEY_STATEMENTS_DOC_BYTES)
    if not isinstance(doc, dict) or doc.get("version") != HYBRID_RECORD_VERSION:
        raise DecodeError("unknown hybrid key record version")
    entries = doc.get("hybrid_ohttp")
    if not isinstance(entries, list) or len(entries) > limits.MAX_KEY_STATEMENTS:
        raise DecodeError("malformed hybrid key record")
    out = []
    for entry in entries:
        if not isinstance(entry, str):
            raise DecodeError("malformed hybrid key record")
        try:
            statement = KeyStatement.decode(base64.b64decode(entry, validate=True))
        except binascii.Error as exc:
            raise DecodeError("malformed hybrid key record") from exc
        if not statement.key_config.post_quantum:
            raise DecodeError("hybrid key record holds a classical key")
        out.append(statement)
    return out


class MemoryTrustStore:
    """A :class:`TrustStore` in memory (tests, short-lived tools)."""

    def __init__(self) -> None:
        self._states: dict[str, bytes] = {}
        self._hybrid: dict[str, list[KeyStatement]] = {}

    def load(self, pinned: TrustedLogState) -> TrustedLogState:
        return _adopt(pinned, self._states.get(log_identity(pinned)))

    def save(self, state: TrustedLogState) -> None:
        _check_forward(self._states.get(log_identity(state)), state)
        self._states[log_identity(state)] = state.to_json()

    def load_hybrid_statements(self, log: TrustedLogState) -> list[KeyStatement]:
        return list(self._hybrid.get(log_identity(log), []))

    def save_hybrid_statements(
        self, log: TrustedLogState, statements: Sequence[KeyStatement], now: float
    ) -> None:
        old = self._hybrid.get(log_identity(log), [])
        self._hybrid[log_identity(log)] = merge_hybrid_statements(old, statements, now)


class FileTrustStore:
    """A :class:`TrustStore` in a directory the caller owns: one ``<hash of log identity>.json``
    per log (:func:`log_identity`: origin and pinned key).

    Writes are atomic and durable (a temporary file in the same directory, ``fsync``, rename,
    ``fsync`` of the directory); files are 0600 and a directory it creates is 0700. A lock file
    serialises processes that share the directory, so two of them cannot move the state back.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path_for(self, state: TrustedLogState) -> Path:
        """The file that holds the state of ``state``'s log."""
        name = hashlib.sha256(log_identity(state).encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{name}.json"

    def load(self, pinned: TrustedLogState) -> TrustedLogState:
        with self._locked():
            return _adopt(pinned, self._read(self.path_for(pinned)))

    def save(self, state: TrustedLogState) -> None:
        path = self.path_for(state)
        data = state.to_json()
        with self._locked():
            _check_forward(self._read(path), state)
            self._write(path, data)

    def hybrid_path_for(self, log: TrustedLogState) -> Path:
        """The file that remembers the hybrid OHTTP statements proven in ``log``'s log."""
        return self.path_for(log).with_suffix(".hybrid.json")

    def load_hybrid_statements(self, log: TrustedLogState) -> list[KeyStatement]:
        with self._locked():
            data = self._read(self.hybrid_path_for(log), limits.MAX_KEY_STATEMENTS_DOC_BYTES)
        return [] if data is None else decode_hybrid_record(data)

    def save_hybrid_statements(
        self, log: TrustedLogState, statements: Sequence[KeyStatement], now: float
    ) -> None:
        path = self.hybrid_path_for(log)
        with self._locked():
            data = self._read(path, limits.MAX_KEY_STATEMENTS_DOC_BYTES)
            old = [] if data is None else decode_hybrid_record(data)
            self._write(path, encode_hybrid_record(merge_hybrid_statements(old, statements, now)))

    # --- files -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError("trust store directory is not usable") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _read(path: Path, max_bytes: int = limits.MAX_TLOG_STATE_BYTES) -> bytes | None:
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UnavailableError("trust store cannot be read") from exc
        return data  # from_json bounds and checks it

    def _write(self, path: Path, data: bytes) -> None:
        try:
            write_atomic(path, data)  # 0600, fsync'd, renamed, directory fsync'd
        except OSError as exc:
            raise UnavailableError("trust store cannot be written") from exc


async def refresh_trusted_checkpoint(
    log: LogClient,
    state: TrustedLogState,
    *,
    now: float | None = None,
    store: TrustStore | None = None,
) -> TrustedLogState:
    """Move ``state`` to the log's newest checkpoint, or raise; save it in ``store`` if given.

    1.-3. :func:`~privcloud.logclient.advance_checkpoint`: the log's signed note first, then the
       consistency proof from the trusted size, then :meth:`TrustedLogState.update` (rollback,
       fork, witness cosignatures, consistency).
    4. Save the new state (the store refuses to go backwards, too).
    """
    if now is None:
        now = time.time()
    elif not isinstance(now, int | float):
        raise UsageError("invalid time")
    # 1.-3.
    new_state = await advance_checkpoint(log, state, now=now)
    # 4.
    if store is not None:
        store.save(new_state)
    return new_state
