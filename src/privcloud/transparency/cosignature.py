"""C2SP tlog cosignatures, Ed25519 ``cosignature/v1`` (https://c2sp.org/tlog-cosignature).

A witness that has checked a checkpoint's consistency adds a note signature line to it::

    — <witness name> base64(key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64))

* key ID = ``SHA-256(<name> || "\\n" || 0x04 || 32-byte public key)[:4]`` (signature type 0x04,
  "timestamped Ed25519 witness cosignatures").
* The Ed25519 signature covers ``"cosignature/v1\\n" || "time " || <timestamp, ASCII decimal, no
  leading zeroes> || "\\n" || <whole checkpoint note text, final newline included, no signature
  lines>``. Extension lines are part of the signed text.
* The timestamp is POSIX seconds and MUST NOT exceed ``2**63 - 1``; verifiers MAY reject
  timestamps in the future. Witness vkeys use signature type 0x04.

Implementation choices where the spec leaves room:

* A vkey of type 0x01 is *not* accepted as a witness key (transparency-dev/formats converts it);
  configure witnesses with their 0x04 vkey, so one string always means one key ID.
* The cosigner name is not part of the Ed25519 signed message (the spec says so), hence the spec's
  rule that one Ed25519 key serves one cosigner only.
* The ML-DSA-44 cosignature (type 0x06, ``subtree/v1``) is implemented for checkpoints
  (``start`` = 0; the ML-DSA section at the end of this module). A witness's key chooses the
  algorithm (:class:`WitnessKey` takes either key); verifiers of either type sit side by side in
  a client's witness list, and :meth:`CosignatureVerifier.from_vkey` reads either vkey type.
* ``cosign`` takes the time as an argument and truncates it to whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from privcloud.crypto.signing import (
    ED25519_PUBLIC_KEY_SIZE,
    MLDSA44_PUBLIC_KEY_SIZE,
    MLDSA44_SIGNATURE_SIZE,
    Ed25519PrivateKey,
    MLDSA44PrivateKey,
    ed25519_verify,
    mldsa44_verify,
)
from privcloud.errors import (
    CryptoError,
    DecodeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.note import (
    NoteSignature,
    ParsedNote,
    format_vkey,
    is_valid_key_name,
    key_id,
    parse_note,
    parse_vkey,
)

#: Signature type byte of Ed25519 cosignature/v1 (signed-note §"Signature types").
ALG_COSIGNATURE_V1: Final = 0x04
#: Largest timestamp a cosignature may carry.
MAX_TIMESTAMP: Final = 2**63 - 1
_TIMESTAMP_SIZE: Final = 8
_SIGNATURE_SIZE: Final = 64
_HEADER: Final = b"cosignature/v1\n"


def cosignature_message(checkpoint_text: bytes, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosignature/v1 signs for note text ``checkpoint_text`` at a time."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise UsageError("cosignature timestamp out of range")
    return _HEADER + b"time " + str(timestamp).encode() + b"\n" + checkpoint_text


def split_cosignature(signature: bytes) -> tuple[int, bytes]:
    """Split the bytes after the key ID into ``(timestamp, Ed25519 signature)``.

    Raises :class:`DecodeError` unless it is 72 bytes with a timestamp ``<= 2**63 - 1``.
    """
    if len(signature) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
        raise DecodeError("malformed cosignature")
    timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
    if timestamp > MAX_TIMESTAMP:
        raise DecodeError("cosignature timestamp out of range")
    return timestamp, signature[_TIMESTAMP_SIZE:]


@dataclass(frozen=True)
class WitnessKey:
    """A witness's signing identity: its name and Ed25519 or ML-DSA-44 key (one key per
    cosigner); the key's type chooses the cosignature type (0x04 or 0x06)."""

    name: str
    private_key: Ed25519PrivateKey | MLDSA44PrivateKey = field(repr=False)
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError("invalid witness name")
        kid = key_id(self.name, self.algorithm, self.private_key.public_bytes())
        object.__setattr__(self, "key_id", kid)

    @property
    def algorithm(self) -> int:
        """The signature type byte: 0x04 (Ed25519) or 0x06 (ML-DSA-44)."""
        if isinstance(self.private_key, MLDSA44PrivateKey):
            return ALG_COSIGNATURE_MLDSA44
        return ALG_COSIGNATURE_V1

    def at(self, timestamp: int) -> CosignatureSigner:
        """A note signer that cosigns with this fixed timestamp."""
        return CosignatureSigner(self, timestamp)

    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        if isinstance(self.private_key, MLDSA44PrivateKey):
            return MLDSACosignatureVerifier(self.name, self.private_key.public_bytes())
        return CosignatureVerifier(self.name, self.private_key.public_bytes())


@dataclass(frozen=True)
class CosignatureSigner:
    """A :class:`~privcloud.transparency.note.NoteSigner` for cosignature/v1 at a fixed time."""

    witness: WitnessKey
    timestamp: int

    def __post_init__(self) -> None:
        if isinstance(self.timestamp, bool) or not isinstance(self.timestamp, int):
            raise UsageError("cosignature timestamp must be an int")
        if not 0 <= self.timestamp <= MAX_TIMESTAMP:
            raise UsageError("cosignature timestamp out of range")

    @property
    def name(self) -> str:
        return self.witness.name

    @property
    def key_id(self) -> bytes:
        return self.witness.key_id

    def sign(self, text: bytes) -> bytes:
        """``timestamp (8, big-endian) || Ed25519(cosignature_message(text, timestamp))``, or
        for an ML-DSA-44 witness ``timestamp || ML-DSA-44(mldsa_cosignature_message(...))``."""
        key = self.witness.private_key
        if isinstance(key, MLDSA44PrivateKey):
            message = mldsa_cosignature_message(self.witness.name, text, self.timestamp)
        else:
            message = cosignature_message(text, self.timestamp)
        return self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + key.sign(message)


def cosign(checkpoint_text: str, witness: WitnessKey, now: float) -> bytes:
    """Witness side: the cosignature line (with its newline) for a checkpoint at time ``now``.

    The caller (the witness service) must already have verified the log's signature and the
    checkpoint's consistency with the last one it cosigned. Raises :class:`DecodeError` if
    ``checkpoint_text`` is not a checkpoint, :class:`UsageError` for a bad time.
    """
    Checkpoint.decode(checkpoint_text)
    if not math.isfinite(now) or now < 0:
        raise UsageError("invalid time")
    signer = witness.at(int(now))
    sig = signer.sign(checkpoint_text.encode("utf-8"))
    return NoteSignature(witness.name, witness.key_id, sig).line()


@dataclass(frozen=True)
class CosignatureVerifier:
    """Verifies one witness's cosignature/v1 lines; a note verifier for type 0x04."""

    name: str
    public_key: bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError("invalid witness name")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise UsageError("an Ed25519 public key is 32 bytes")
        kid = key_id(self.name, ALG_COSIGNATURE_V1, self.public_key)
        object.__setattr__(self, "key_id", kid)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Parse a witness vkey (type 0x04). :class:`DecodeError`, :class:`UnsupportedError`."""
        name, _, alg, public_key = parse_vkey(vkey)
        if alg == ALG_COSIGNATURE_MLDSA44:
            return MLDSACosignatureVerifier.from_mldsa_vkey(name, public_key)
        if alg != ALG_COSIGNATURE_V1:
            raise UnsupportedError("verifier key is not a cosignature/v1 key")
        if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
            raise DecodeError("malformed verifier key")
        return cls(name, public_key)

    def vkey(self) -> str:
        """This key as a vkey string (type 0x04)."""
        return format_vkey(self.name, ALG_COSIGNATURE_V1, self.public_key)

    def verify_timestamped(self, text: bytes, signature: bytes) -> int:
        """Check a cosignature over note text ``text``; return its timestamp.

        Raises :class:`VerificationError` (a malformed value counts as a bad signature).
        Says nothing about whether the time is acceptable: that is the caller's policy.
        """
        try:
            timestamp, sig = split_cosignature(signature)
            ed25519_verify(self.public_key, cosignature_message(text, timestamp), sig)
        except (DecodeError, CryptoError) as exc:
            raise VerificationError("cosignature does not verify") from exc
        return timestamp

    def verify(self, text: bytes, signature: bytes) -> None:
        """Note-verifier interface: as :meth:`verify_timestamped`, ignoring the time."""
        self.verify_timestamped(text, signature)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, and when it says it signed."""

    name: str
    key_id: bytes
    timestamp: int


def verify_cosignatures(
    note: bytes | ParsedNote, witnesses: Iterable[CosignatureVerifier]
) -> tuple[Cosignature, ...]:
    """Verify the cosignature lines of known witnesses on a signed checkpoint.

    1. Lines whose ``(name, key ID)`` matches no witness are ignored (the log's own signature
       among them).
    2. A known witness's line that does not verify refuses the whole note
       (:class:`VerificationError`; signed-note: clients SHOULD reject it).
    3. One result per witness, with the latest timestamp if it cosigned more than once.

    Freshness and quorum are the caller's policy (see :mod:`.client_state`). Raises
    :class:`DecodeError`/:class:`TooLargeError` for a malformed note.
    """
    parsed = note if isinstance(note, ParsedNote) else parse_note(note)
    known: dict[tuple[str, bytes], CosignatureVerifier] = {}
    for w in witnesses:
        if (w.name, w.key_id) in known:
            raise UsageError("two witnesses share a name and key ID")
        known[(w.name, w.key_id)] = w
    best: dict[tuple[str, bytes], int] = {}
    for line in parsed.signatures:
        k = (line.name, line.key_id)
        verifier = known.get(k)
        if verifier is None:
            continue
        timestamp = verifier.verify_timestamped(parsed.text, line.signature)
        best[k] = max(timestamp, best.get(k, timestamp))
    return tuple(Cosignature(name, kid, ts) for (name, kid), ts in best.items())


# --- ML-DSA-44 cosignatures (C2SP tlog-cosignature, type 0x06, "subtree/v1") ---------------------
#
#     — <witness name> base64(key ID (4) || timestamp (8) || ML-DSA-44 signature (2420))
#
# * key ID = ``SHA-256(<name> || "\n" || 0x06 || 1312-byte public key)[:4]``.
# * The signature (FIPS 204 ML-DSA-44, pure, empty context) covers the ``cosigned_message``:
#   ``"subtree/v1\n\0" || u8 len || name || u64 timestamp || u8 len || origin || u64 start
#   || u64 end || root hash (32)``; for a checkpoint ``start`` = 0 and ``end`` = its size.
#   Extension lines are not signed (the spec says so), and the name is.

#: Signature type byte of ML-DSA-44 (sub)tree cosignatures (signed-note §"Signature types").
ALG_COSIGNATURE_MLDSA44: Final = 0x06
_MLDSA_LABEL: Final = b"subtree/v1\n\x00"


def _u8_prefixed(value: str) -> bytes:
    raw = value.encode("utf-8")
    if not 1 <= len(raw) <= 0xFF:
        raise UsageError("cosigned name or origin must be 1..255 bytes")
    return bytes([len(raw)]) + raw


def mldsa_cosignature_message(name: str, checkpoint_text: bytes, timestamp: int) -> bytes:
    """The ``cosigned_message`` an ML-DSA-44 cosignature signs for a checkpoint (``start`` = 0).

    Raises :class:`DecodeError` if ``checkpoint_text`` is not a checkpoint, :class:`UsageError`
    for a timestamp out of range or an over-long name or origin.
    """
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise UsageError("cosignature timestamp out of range")
    try:
        checkpoint = Checkpoint.decode(checkpoint_text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DecodeError("checkpoint is not UTF-8") from exc
    return b"".join(
        (
            _MLDSA_LABEL,
            _u8_prefixed(name),
            timestamp.to_bytes(8, "big"),
            _u8_prefixed(checkpoint.origin),
            (0).to_bytes(8, "big"),
            checkpoint.size.to_bytes(8, "big"),
            checkpoint.root_hash,
        )
    )


@dataclass(frozen=True)
class MLDSACosignatureVerifier(CosignatureVerifier):
    """Verifies one witness's ML-DSA-44 cosignature lines; a note verifier for type 0x06. A
    :class:`CosignatureVerifier`, so it stands in any witness list beside Ed25519 ones."""

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise UsageError("invalid witness name")
        if (
            not isinstance(self.public_key, bytes)
            or len(self.public_key) != MLDSA44_PUBLIC_KEY_SIZE
        ):
            raise UsageError("an ML-DSA-44 public key is 1312 bytes")
        kid = key_id(self.name, ALG_COSIGNATURE_MLDSA44, self.public_key)
        object.__setattr__(self, "key_id", kid)

    @classmethod
    def from_mldsa_vkey(cls, name: str, public_key: bytes) -> MLDSACosignatureVerifier:
        """From a parsed type-0x06 vkey's name and key material (:class:`DecodeError`)."""
        if len(public_key) != MLDSA44_PUBLIC_KEY_SIZE:
            raise DecodeError("malformed verifier key")
        return cls(name, public_key)

    def vkey(self) -> str:
        """This key as a vkey string (type 0x06)."""
        return format_vkey(self.name, ALG_COSIGNATURE_MLDSA44, self.public_key)

    def verify_timestamped(self, text: bytes, signature: bytes) -> int:
        """Check an ML-DSA-44 cosignature over checkpoint text ``text``; return its timestamp.

        Raises :class:`VerificationError` (a malformed value counts as a bad signature).
        """
        if len(signature) != _TIMESTAMP_SIZE + MLDSA44_SIGNATURE_SIZE:
            raise VerificationError("cosignature does not verify")
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise VerificationError("cosignature does not verify")
        try:
            message = mldsa_cosignature_message(self.name, text, timestamp)
            mldsa44_verify(self.public_key, message, signature[_TIMESTAMP_SIZE:])
        except (DecodeError, CryptoError, UsageError) as exc:
            raise VerificationError("cosignature does not verify") from exc
        return timestamp
