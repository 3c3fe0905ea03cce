"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and verifier keys.

A signed note is a UTF-8 text ending in a newline, a blank line, then one or more signature
lines ``— <key name> <base64(4-byte key ID || signature)>``. The key ID of an Ed25519 key is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``. Verifier keys ("vkeys") are written
``<name>+<8 hex digits of the key ID>+<base64(signature type || public key)>``, as
golang.org/x/mod/sumdb/note does.

Opening a note (``open_note``): signatures from keys the caller does not know are ignored, even
if they share a name or a key ID (but not both) with a known key; a signature from a known key
must verify or the whole note is refused; at least one known key (or every key in a required
set) must have signed. Where this module is stricter than the spec or the Go reference, the
docstring says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from privcloud import limits
from privcloud.crypto.signing import (
    ED25519_PUBLIC_KEY_SIZE,
    Ed25519PrivateKey,
    ed25519_verify,
)
from privcloud.errors import (
    CryptoError,
    DecodeError,
    TooLargeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)

#: Signature type byte of plain Ed25519 note signatures (signed-note §"Signature types").
ALG_ED25519: Final = 0x01

KEY_ID_SIZE: Final = 4
_SIG_PREFIX: Final = "\u2014 ".encode()  # em dash, space
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


# --- names, key IDs, base64 ------------------------------------------------------------------


def is_utf8_text(text: str) -> bool:
    """``text`` encodes to UTF-8 (no lone surrogates) and has no control character but newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def is_valid_key_name(name: str) -> bool:
    """Key names are non-empty and contain no Unicode space and no ``+`` (signed-note)."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and is_utf8_text(name)
        and not any(ch.isspace() for ch in name)
    )


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || alg || public key)[:4]``: the 4-byte key ID of a key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:KEY_ID_SIZE]


def b64decode_strict(text: str | bytes) -> bytes:
    """Standard base64 (RFC 4648 §4), padded and canonical; raises :class:`DecodeError`.

    Canonical (re-encoding gives the same text) is stricter than Go's decoder, which accepts
    non-zero padding bits; it keeps each signature line to one spelling.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        out = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("malformed base64") from exc
    if base64.b64encode(out) != raw:
        raise DecodeError("non-canonical base64")
    return out


def b64encode(data: bytes) -> str:
    """Standard padded base64 as text."""
    return base64.b64encode(data).decode("ascii")


def parse_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    """Split a verifier key into ``(name, key ID, signature type, public key)``.

    Checks the syntax and that the key ID matches the key. Raises :class:`DecodeError`.
    """
    if not isinstance(vkey, str) or len(vkey) > limits.MAX_NOTE_VKEY_CHARS:
        raise DecodeError("malformed verifier key")
    name, sep1, rest = vkey.partition("+")
    hash16, sep2, key64 = rest.partition("+")
    if not sep1 or not sep2 or not is_valid_key_name(name) or not _HEX8.fullmatch(hash16):
        raise DecodeError("malformed verifier key")
    blob = b64decode_strict(key64)
    if len(blob) < 2:
        raise DecodeError("malformed verifier key")
    kid = bytes.fromhex(hash16)
    if key_id(name, blob[0], blob[1:]) != kid:
        raise DecodeError("verifier key ID does not match its key")
    return name, kid, blob[0], blob[1:]


def format_vkey(name: str, alg: int, public_key: bytes) -> str:
    """``<name>+<hex key ID>+<base64(alg || public key)>``."""
    if not is_valid_key_name(name):
        raise UsageError("invalid key name")
    kid = key_id(name, alg, public_key)
    return f"{name}+{kid.hex()}+{b64encode(bytes([alg]) + public_key)}"


# --- signers and verifiers -------------------------------------------------------------------


class NoteSigner(Protocol):
    """Something that can add one signature line to a note."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes:
        """The signature bytes that follow the key ID in the line, over note text ``text``."""
        ...


class NoteVerifier(Protocol):
    """Checks signature lines of one key, identified by ``(name, key_id)``."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> None:
        """Return only if ``signature`` (after the key ID) is valid for ``text``.

        Raises :class:`VerificationError`.
        """
        ...


@dataclass(frozen=True)
class Ed25519NoteSigner:
    """Signs note text with Ed25519 (signature type 0x01)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError("invalid key name")
        kid = key_id(self.name, ALG_ED25519, self.private_key.public_bytes())
        object.__setattr__(self, "key_id", kid)

    def sign(self, text: bytes) -> bytes:
        """Ed25519 over the note text."""
        return self.private_key.sign(text)

    def verifier(self) -> Ed25519NoteVerifier:
        """The matching verifier."""
        return Ed25519NoteVerifier(self.name, self.private_key.public_bytes())


@dataclass(frozen=True)
class Ed25519NoteVerifier:
    """Verifies Ed25519 note signatures (signature type 0x01) of one named key."""

    name: str
    public_key: bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError("invalid key name")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise UsageError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id(self.name, ALG_ED25519, self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519NoteVerifier:
        """Parse a vkey of signature type 0x01.

        Raises :class:`DecodeError` if malformed, :class:`UnsupportedError` for another type.
        """
        name, _, alg, public_key = parse_vkey(vkey)
        if alg != ALG_ED25519:
            raise UnsupportedError("verifier key is not an Ed25519 note key")
        if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise DecodeError("malformed verifier key")
        return cls(name, public_key)

    def vkey(self) -> str:
        """This key as a vkey string."""
        return format_vkey(self.name, ALG_ED25519, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> None:
        """Ed25519 over the note text; raises :class:`VerificationError`."""
        try:
            ed25519_verify(self.public_key, text, signature)
        except CryptoError as exc:
            raise VerificationError("note signature does not verify") from exc


# --- the note format ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line, not yet verified."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> bytes:
        """The line as it appears in a note, with its final newline."""
        blob = b64encode(self.key_id + self.signature)
        return _SIG_PREFIX + self.name.encode() + b" " + blob.encode() + b"\n"


@dataclass(frozen=True)
class ParsedNote:
    """A note split into its text and its signature lines; nothing verified yet."""

    text: bytes
    signatures: tuple[NoteSignature, ...]


def _check_text_chars(data: bytes) -> str:
    """Valid UTF-8 with no ASCII control character other than newline; return it decoded."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("note is not valid UTF-8") from exc
    if any(ord(ch) < 0x20 and ch != "\n" for ch in s):
        raise DecodeError("note contains a control character")
    return s


def parse_note(note: bytes) -> ParsedNote:
    """Split a signed note into text and signature lines without verifying anything.

    Raises :class:`TooLargeError` beyond ``limits.MAX_NOTE_BYTES`` or
    ``limits.MAX_NOTE_SIGNATURES``, and :class:`DecodeError` if the note is malformed.
    """
    if not isinstance(note, bytes):
        raise DecodeError("a note is bytes")
    if len(note) > limits.MAX_NOTE_BYTES:
        raise TooLargeError("note too large")
    _check_text_chars(note)
    # The text is separated from the signatures by the last empty line in the note.
    split = note.rfind(b"\n\n")
    if split < 0:
        raise DecodeError("note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith(b"\n"):
        raise DecodeError("note has no signature block")
    lines = block[:-1].split(b"\n")
    if len(lines) > limits.MAX_NOTE_SIGNATURES:
        raise TooLargeError("note has too many signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise DecodeError("malformed signature line")
        name_b, sep, b64 = line[len(_SIG_PREFIX) :].partition(b" ")
        name = name_b.decode("utf-8")  # already checked to be UTF-8
        if not sep or not is_valid_key_name(name) or not b64:
            raise DecodeError("malformed signature line")
        blob = b64decode_strict(b64)
        if len(blob) < KEY_ID_SIZE + 1:
            raise DecodeError("malformed signature line")
        signatures.append(NoteSignature(name, blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:]))
    return ParsedNote(text, tuple(signatures))


def _check_signable_text(text: str) -> bytes:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise UsageError("note text must end in a newline")
    if not is_utf8_text(text):
        raise UsageError("note text has characters a note may not contain")
    return text.encode("utf-8")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """The signed note: ``text``, a blank line, one signature line per signer, in order.

    Raises :class:`UsageError` if ``text`` does not end in a newline or has a control
    character, if a signer's name is invalid, if there are no signers, or if the result would
    exceed the note bounds.
    """
    data = _check_signable_text(text)
    if not signers:
        raise UsageError("a note needs at least one signature")
    if len(signers) > limits.MAX_NOTE_SIGNATURES:
        raise UsageError("too many signers")
    for s in signers:
        if not is_valid_key_name(s.name) or len(s.key_id) != KEY_ID_SIZE:
            raise UsageError("invalid signer")
    lines = [NoteSignature(s.name, s.key_id, s.sign(data)).line() for s in signers]
    out = data + b"\n" + b"".join(lines)
    if len(out) > limits.MAX_NOTE_BYTES:
        raise UsageError("signed note would be too large")
    return out


def add_signatures(note: bytes, lines: Iterable[bytes]) -> bytes:
    """Append signature lines (each ending in a newline, e.g. from a witness) to a signed note.

    Lines identical to one already present are dropped. Raises :class:`DecodeError` if the
    note or a line is malformed, :class:`TooLargeError` if the result exceeds the bounds.
    """
    parsed = parse_note(note)
    have = {s.line() for s in parsed.signatures}
    out = note
    for line in lines:
        extra = parse_note(b"x\n\n" + line).signatures
        if len(extra) != 1:
            raise DecodeError("expected exactly one signature line")
        if line not in have:
            have.add(line)
            out += line
    parse_note(out)  # re-check the bounds
    return out


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        k = (v.name, bytes(v.key_id))
        if k in known:
            raise UsageError("two verifiers share a key name and key ID")
        known[k] = v
    return known


def verify_note(
    parsed: ParsedNote,
    verifiers: Iterable[NoteVerifier],
    *,
    required: Collection[str] | None = None,
) -> tuple[str, ...]:
    """Verify the signatures of known keys; return the names of the keys that signed, in order.

    1. Signatures whose ``(name, key ID)`` matches no verifier are ignored.
    2. Every signature from a known key must verify, or :class:`VerificationError` is raised
       for the whole note (signed-note: clients SHOULD reject it). Duplicate lines of one key
       are all checked.
    3. If ``required`` is given, each of those names must have signed; otherwise at least one
       known key must have. Otherwise :class:`VerificationError`.
    """
    known = _index_verifiers(verifiers)
    signed: list[str] = []
    for sig in parsed.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        v.verify(parsed.text, sig.signature)
        if sig.name not in signed:
            signed.append(sig.name)
    if required is not None and any(name not in signed for name in required):
        raise VerificationError("note lacks a required signature")
    if not signed:
        raise VerificationError("note has no signature from a known key")
    return tuple(signed)


def open_note(
    note: bytes,
    verifiers: Iterable[NoteVerifier],
    *,
    required: Collection[str] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Parse and verify a signed note; return ``(text, names of the known keys that signed)``.

    Raises :class:`DecodeError` / :class:`TooLargeError` for a malformed or oversize note and
    :class:`VerificationError` if a known key's signature is bad or no (or not every required)
    known key signed. See :func:`verify_note` for the rules.
    """
    parsed = parse_note(note)
    names = verify_note(parsed, verifiers, required=required)
    return parsed.text.decode("utf-8"), names
