"""Fuzz target: the transparency log's text formats (C2SP signed-note, tlog-checkpoint,
tlog-cosignature, tlog-witness) and the client's log state.

Operations, with the fixed log and witness keys of :mod:`fuzz.fixtures`:

* ``parse_note``; ``checkpoint`` (:meth:`Checkpoint.decode` of the text, UTF-8 with surrogate
  escapes); ``open_checkpoint`` (signature and origin checked);
* ``cosignatures``: the witnesses' cosignature lines of a note;
* ``state_update``: a client that trusts nothing yet given ``note`` (up to the first NUL) and
  a consistency proof (the 32-byte hashes after it);
* ``vkey``, ``note_verifier``, ``cosignature_verifier``: verifier key strings;
* ``add_checkpoint``, ``size_body``: the witness protocol's request and 409 bodies;
* ``log_state``: a client's stored state (JSON);
* ``append_authorization``: the operator's signature header of a log append.
"""

from __future__ import annotations

from fuzz import fixtures, harness
from privcloud.transparency.append_auth import parse_append_authorization
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import CosignatureVerifier, verify_cosignatures
from privcloud.transparency.note import Ed25519NoteVerifier, parse_note, parse_vkey
from privcloud.transparency.witness import decode_add_checkpoint, decode_size_body

_LOG = [fixtures.log_signer().verifier()]
_WITNESSES = [w.verifier() for w in fixtures.witnesses()]
_STATE = fixtures.log_state()
#: When the fixed checkpoints were cosigned (make_corpus.py cosigns them then).
LOG_NOW = 1_750_000_000


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _state_update(data: bytes) -> None:
    note, _, proof = data.partition(b"\x00")
    hashes = [proof[i : i + 32] for i in range(0, len(proof), 32)]
    _STATE.update(note, hashes, LOG_NOW)


OPS: harness.Ops = (
    ("parse_note", parse_note),
    ("checkpoint", lambda data: Checkpoint.decode(_text(data))),
    ("open_checkpoint", lambda data: open_checkpoint(data, _LOG, origin=fixtures.LOG_ORIGIN)),
    ("cosignatures", lambda data: verify_cosignatures(data, _WITNESSES)),
    ("state_update", _state_update),
    ("vkey", lambda data: parse_vkey(_text(data))),
    ("note_verifier", lambda data: Ed25519NoteVerifier.from_vkey(_text(data))),
    ("cosignature_verifier", lambda data: CosignatureVerifier.from_vkey(_text(data))),
    ("add_checkpoint", decode_add_checkpoint),
    ("size_body", decode_size_body),
    ("log_state", TrustedLogState.from_json),
    ("append_authorization", lambda data: parse_append_authorization(_text(data))),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
