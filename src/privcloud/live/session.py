"""Opening a live session: the device's hello, sealed to one attested node's HPKE key, and the
per-direction frame keys both ends export from it (docs/adr/0023-live-sessions.md).

Hello (the gateway reads the cleartext prefix to route it, nothing else)::

    prefix = version (u8, = 1) || kem (u16) || kdf (u16) || aead (u16) || key_id (32 bytes)
    hello  = prefix || enc || HPKE.Seal(ctx, aad = prefix, pt = params)
    ctx    = SetupBaseS(pk_node, info = "privcloud live v1 session" || prefix)
    params = issued_at (u64) || deadline_s (u32) || 4 language tags (8 bytes each, zero-padded):
             the languages spoken on channels 0 and 1, then the targets they are translated to

Frame keys (:mod:`privcloud.live.frames`), from the same context::

    device_key   = ctx.Export("privcloud live v1 device key",   Nk)
    device_nonce = ctx.Export("privcloud live v1 device nonce", Nn)
    node_key     = ctx.Export("privcloud live v1 node key",     Nk)
    node_nonce   = ctx.Export("privcloud live v1 node nonce",   Nn)

A node that has opened the hello and serves no live translation proves that refusal to the
device (the gateway, which writes every answer the device reads, cannot forge one)::

    refusal_key   = ctx.Export("privcloud live v1 node refusal", 32)
    refusal_proof = HKDF-Expand-SHA256(refusal_key, "status" || status (u16) || code, 16)

``code`` is the refusal's error code (ASCII), so neither the status nor the code can be moved.

The HPKE primitives and the key ids are the envelope's (:mod:`privcloud.crypto.hpke`,
:func:`privcloud.envelope.key_id_for`, :class:`privcloud.envelope.Recipient`); only the
labels are this protocol's. The node proves it holds the key by its first frame (ACCEPT): only
a holder of the node's private key can seal under ``node_key``. A hello opens once per node
boot (the node's replay cache) and only within ``limits.REQUEST_CLOCK_SKEW_S`` of its issue
time. Sans-IO: bytes, the time and randomness in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.crypto import Random, system_random
from privcloud.crypto.hpke import (
    Context,
    KemId,
    PrivateKey,
    Suite,
    setup_base_recipient,
    setup_base_sender,
)
from privcloud.crypto.symmetric import (
    Aead,
    AeadId,
    KdfId,
    constant_time_equal,
    hkdf_expand,
    sha256,
)
from privcloud.envelope import KEY_ID_SIZE, Recipient
from privcloud.errors import DecodeError, ReplayError, UnsupportedError, UsageError
from privcloud.live.frames import FrameOpener, FrameSealer, wire_size

VERSION: Final = 1
LABEL_INFO: Final = b"privcloud live v1 session"
LABEL_DEVICE_KEY: Final = b"privcloud live v1 device key"
LABEL_DEVICE_NONCE: Final = b"privcloud live v1 device nonce"
LABEL_NODE_KEY: Final = b"privcloud live v1 node key"
LABEL_NODE_NONCE: Final = b"privcloud live v1 node nonce"
LABEL_NODE_REFUSAL: Final = b"privcloud live v1 node refusal"
#: Bytes of a node's refusal proof (:meth:`SessionKeys.refusal_proof`).
REFUSAL_PROOF_SIZE: Final = 16
#: Bytes of the hello's cleartext prefix.
PREFIX_SIZE: Final = 1 + 2 + 2 + 2 + KEY_ID_SIZE
#: Bytes of one language tag in the parameters.
_TAG_SIZE: Final = 8
#: Bytes of the sealed parameters' plaintext.
PARAMS_SIZE: Final = 8 + 4 + 4 * _TAG_SIZE
_TAG = re.compile(r"[a-z]{2,4}(-[a-z0-9]{1,3})?")


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise UsageError("a language tag is 2-4 lowercase letters, optionally a -subtag")
    return tag


@dataclass(frozen=True)
class SessionParams:
    """What the device asks for: the issue time (Unix seconds), the session's length, and the
    languages of the two channels and their translation targets."""

    issued_at: int
    deadline_s: int
    languages: tuple[str, str]
    targets: tuple[str, str]

    def __post_init__(self) -> None:
        if not 1 <= self.deadline_s <= limits.MAX_LIVE_SESSION_S:
            raise UsageError("a live session lasts 1 s to MAX_LIVE_SESSION_S")
        if not 0 <= self.issued_at < 1 << 63:
            raise UsageError("issue time out of range")
        for tag in (*self.languages, *self.targets):
            _check_tag(tag)

    def encode(self) -> bytes:
        tags = b"".join(
            t.encode().ljust(_TAG_SIZE, b"\0") for t in (*self.languages, *self.targets)
        )
        return self.issued_at.to_bytes(8, "big") + self.deadline_s.to_bytes(4, "big") + tags

    @classmethod
    def decode(cls, data: bytes) -> SessionParams:
        """Raises :class:`DecodeError` for a malformed parameter block."""
        if len(data) != PARAMS_SIZE:
            raise DecodeError("live session parameters of the wrong size")
        tags = []
        for i in range(4):
            raw = data[12 + i * _TAG_SIZE : 12 + (i + 1) * _TAG_SIZE]
            tag = raw.rstrip(b"\0")
            if b"\0" in tag or not tag.isascii():
                raise DecodeError("malformed language tag")
            tags.append(tag.decode())
        try:
            return cls(
                issued_at=int.from_bytes(data[:8], "big"),
                deadline_s=int.from_bytes(data[8:12], "big"),
                languages=(tags[0], tags[1]),
                targets=(tags[2], tags[3]),
            )
        except UsageError as exc:
            raise DecodeError("live session parameters out of range") from exc


@dataclass(frozen=True)
class HelloPrefix:
    """The hello's cleartext: which suite and which node key it is sealed to."""

    suite: Suite
    key_id: bytes

    def encode(self) -> bytes:
        s = self.suite
        ids = int(s.kem).to_bytes(2, "big") + int(s.kdf).to_bytes(2, "big")
        return bytes([VERSION]) + ids + int(s.aead).to_bytes(2, "big") + self.key_id


def parse_prefix(hello: bytes) -> HelloPrefix:
    """The cleartext prefix of a hello (what the gateway routes by). Raises
    :class:`DecodeError` (too short), :class:`UnsupportedError` (version, suite)."""
    if len(hello) < PREFIX_SIZE:
        raise DecodeError("live hello too short")
    if hello[0] != VERSION:
        raise UnsupportedError("unsupported live session version")
    kem, kdf, aead = (int.from_bytes(hello[i : i + 2], "big") for i in (1, 3, 5))
    try:
        suite = Suite(KemId(kem), KdfId(kdf), AeadId(aead))
    except ValueError as exc:
        raise UnsupportedError("unsupported live session suite") from exc
    if suite.aead == AeadId.EXPORT_ONLY:
        raise UnsupportedError("unsupported live session suite")
    return HelloPrefix(suite, bytes(hello[7:PREFIX_SIZE]))


def hello_size(suite: Suite) -> int:
    """Bytes of every hello in ``suite``."""
    return PREFIX_SIZE + suite.kem.enc_size + PARAMS_SIZE + suite.aead.tag_size


class SessionKeys:
    """One end's frame sealer (its direction) and opener (the peer's), and the key of the
    node's refusal proofs. Never logged."""

    __slots__ = ("_refusal_key", "opener", "sealer", "wire")

    def __init__(self, ctx: Context, suite: Suite, *, device: bool) -> None:
        aead_id: AeadId = suite.aead
        mine, theirs = (
            ((LABEL_DEVICE_KEY, LABEL_DEVICE_NONCE), (LABEL_NODE_KEY, LABEL_NODE_NONCE))
            if device
            else ((LABEL_NODE_KEY, LABEL_NODE_NONCE), (LABEL_DEVICE_KEY, LABEL_DEVICE_NONCE))
        )
        self.wire = wire_size(suite)
        self.sealer = FrameSealer(
            Aead(aead_id, ctx.export(mine[0], aead_id.key_size)),
            ctx.export(mine[1], aead_id.nonce_size),
        )
        self.opener = FrameOpener(
            Aead(aead_id, ctx.export(theirs[0], aead_id.key_size)),
            ctx.export(theirs[1], aead_id.nonce_size),
            self.wire,
            expect_accept=device,
        )
        self._refusal_key = ctx.export(LABEL_NODE_REFUSAL, 32)

    def refusal_proof(self, status: int, code: str) -> bytes:
        """The node's proof that it refused this session with HTTP ``status`` and error
        ``code`` (the node sends it with its refusal; only the two ends of the session can
        compute it)."""
        if not 100 <= status <= 599 or not code.isascii() or not 0 < len(code) <= 64:
            raise UsageError("a refusal is an HTTP status and an ASCII error code")
        info = b"status" + status.to_bytes(2, "big") + code.encode("ascii")
        return hkdf_expand(KdfId.HKDF_SHA256, self._refusal_key, info, REFUSAL_PROOF_SIZE)

    def proves_refusal(self, status: int, code: str, proof: bytes) -> bool:
        """Device side: whether ``proof`` is the node's for a refusal with ``status`` and
        ``code``."""
        if not 100 <= status <= 599 or not code.isascii() or not 0 < len(code) <= 64:
            return False
        if len(proof) != REFUSAL_PROOF_SIZE:
            return False
        return constant_time_equal(self.refusal_proof(status, code), proof)

    def __repr__(self) -> str:
        return "SessionKeys(<secret>)"


def start_session(
    node: Recipient, params: SessionParams, *, rand: Random = system_random
) -> tuple[bytes, SessionKeys]:
    """Device side: the hello for ``node`` (an admitted node's key) and the session's keys."""
    prefix = HelloPrefix(node.suite, node.key_id).encode()
    enc, ctx = setup_base_sender(node.suite, node.public_key, LABEL_INFO + prefix, rand=rand)
    sealed = ctx.seal(params.encode(), prefix)
    return prefix + enc + sealed, SessionKeys(ctx, node.suite, device=True)


@dataclass(frozen=True)
class OpenedHello:
    """A hello the node opened: what the device asked for, the session's keys, and the hello's
    hash (the node's replay cache keeps it)."""

    params: SessionParams
    keys: SessionKeys
    digest: bytes


def open_hello(hello: bytes, key_for: Callable[[bytes], PrivateKey], now: float) -> OpenedHello:
    """Node side: open ``hello`` with the boot key ``key_for(key_id)`` at ``now``.

    1. The prefix parses (:func:`parse_prefix`); the hello has its suite's exact size.
    2. ``key_for`` finds our key by id (it raises :class:`UnknownKeyError` otherwise) and the
       key is of the hello's KEM.
    3. HPKE opens the parameters, with the prefix as AAD and in the info (:class:`CryptoError`).
    4. The issue time lies within ``limits.REQUEST_CLOCK_SKEW_S`` of ``now``, either way
       (:class:`ReplayError`); remembering the digest is the caller's (its replay cache).
    """
    prefix = parse_prefix(hello)
    suite = prefix.suite
    if len(hello) != hello_size(suite):
        raise DecodeError("live hello of the wrong size")
    key = key_for(prefix.key_id)
    if key.kem != suite.kem:
        raise UnsupportedError("live hello suite does not match the key")
    head = bytes(hello[:PREFIX_SIZE])
    enc_end = PREFIX_SIZE + suite.kem.enc_size
    ctx = setup_base_recipient(suite, bytes(hello[PREFIX_SIZE:enc_end]), key, LABEL_INFO + head)
    params = SessionParams.decode(ctx.open(bytes(hello[enc_end:]), head))
    if abs(params.issued_at - now) > limits.REQUEST_CLOCK_SKEW_S:
        raise ReplayError("live hello issued outside the allowed window")
    return OpenedHello(params, SessionKeys(ctx, suite, device=False), sha256(bytes(hello)))


__all__ = [
    "PARAMS_SIZE",
    "PREFIX_SIZE",
    "REFUSAL_PROOF_SIZE",
    "VERSION",
    "HelloPrefix",
    "OpenedHello",
    "SessionKeys",
    "SessionParams",
    "hello_size",
    "open_hello",
    "parse_prefix",
    "start_session",
]
