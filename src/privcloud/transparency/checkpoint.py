"""C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint): a log's signed tree head.

The note text is at least three non-empty lines, each ending in a newline::

    <origin>
    <tree size, ASCII decimal, no leading zeroes>
    <base64 of the RFC 6962 root hash>
    [<extension line>...]

Signed checkpoints are signed notes (:mod:`privcloud.transparency.note`); the log's key name
should equal the origin. Witness cosignatures are further signature lines on the same note
(:mod:`privcloud.transparency.cosignature`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from privcloud import limits
from privcloud.errors import DecodeError, UsageError, VerificationError
from privcloud.transparency.merkle import HASH_SIZE
from privcloud.transparency.note import (
    NoteSigner,
    NoteVerifier,
    ParsedNote,
    b64decode_strict,
    b64encode,
    is_utf8_text,
    parse_note,
    sign_note,
    verify_note,
)

#: A decimal tree size without leading zeroes, of at most as many digits as MAX_TLOG_TREE_SIZE.
_SIZE = re.compile(rf"0|[1-9][0-9]{{0,{len(str(limits.MAX_TLOG_TREE_SIZE)) - 1}}}")


def _line_ok(line: str) -> bool:
    return line != "" and "\n" not in line and is_utf8_text(line)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: ``origin`` (the log's identity), ``size``, ``root_hash`` and extension lines.

    Valid by construction: the constructor raises :class:`UsageError` for a value no checkpoint
    can hold (an empty origin, a control character or newline in a line, a size outside
    ``[0, limits.MAX_TLOG_TREE_SIZE]``, a root that is not 32 bytes).
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not _line_ok(self.origin):
            raise UsageError("invalid checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise UsageError("checkpoint size must be an int")
        if not 0 <= self.size <= limits.MAX_TLOG_TREE_SIZE:
            raise UsageError("checkpoint size out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise UsageError("checkpoint root hash must be 32 bytes")
        if not isinstance(self.extensions, tuple) or not all(
            isinstance(e, str) and _line_ok(e) for e in self.extensions
        ):
            raise UsageError("invalid checkpoint extension line")

    def encode(self) -> str:
        """The note text: origin, size, base64 root and extension lines, each newline-ended."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def decode(cls, text: str) -> Checkpoint:
        """Parse note text into a checkpoint; raises :class:`DecodeError` if malformed.

        Strict: the size has no leading zeroes or signs and fits ``limits.MAX_TLOG_TREE_SIZE``;
        the root is canonical padded base64 of exactly 32 bytes; no line is empty.
        """
        if not isinstance(text, str) or not text.endswith("\n"):
            raise DecodeError("checkpoint text must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise DecodeError("checkpoint has fewer than three lines")
        origin, size_s, root_s, *extensions = lines
        if not all(_line_ok(line) for line in lines):
            raise DecodeError("checkpoint has an empty or invalid line")
        if not _SIZE.fullmatch(size_s):
            raise DecodeError("malformed checkpoint size")
        size = int(size_s)
        if size > limits.MAX_TLOG_TREE_SIZE:
            raise DecodeError("checkpoint size out of range")
        root = b64decode_strict(root_s)
        if len(root) != HASH_SIZE:
            raise DecodeError("checkpoint root hash must be 32 bytes")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> bytes:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.encode(), signers)


def open_checkpoint(
    note: bytes | ParsedNote,
    log_verifiers: Sequence[NoteVerifier],
    *,
    origin: str | None = None,
    required: Collection[str] | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint with the log's key(s) and decode it.

    1. Parse the note (:class:`DecodeError`, :class:`TooLargeError`).
    2. Verify the log's signature (signed-note rules; :class:`VerificationError` if no known
       log key signed or one's signature is bad). Other lines (cosignatures) are ignored here.
    3. Decode the text as a checkpoint (:class:`DecodeError`).
    4. If ``origin`` is given, the checkpoint's origin must equal it (:class:`VerificationError`).
    """
    parsed = note if isinstance(note, ParsedNote) else parse_note(note)
    verify_note(parsed, log_verifiers, required=required)
    checkpoint = Checkpoint.decode(parsed.text.decode("utf-8"))
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError("checkpoint is for another log")
    return checkpoint
