"""Oblivious HTTP key configurations (RFC 9458 §3) and a gateway's private key.

Wire format of one key configuration (RFC 9458 §3.1)::

    Key Config {
      Key Identifier (8),
      HPKE KEM ID (16),
      HPKE Public Key (Npk * 8),
      HPKE Symmetric Algorithms Length (16) = 4..65532,
      HPKE Symmetric Algorithms (32) ...,     # each: HPKE KDF ID (16), HPKE AEAD ID (16)
    }

``application/ohttp-keys`` (RFC 9458 §3.2) is a sequence of key configurations, each prefixed
by its length as a 2-byte integer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from privcloud.crypto import Random, hpke, system_random
from privcloud.crypto.hpke import KemId, PrivateKey
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.limits import MAX_DIRECTORY_BYTES, MAX_OHTTP_KEY_CONFIGS, MAX_OHTTP_SUITES_PER_CONFIG

MEDIA_KEYS = "application/ohttp-keys"


@dataclass(frozen=True)
class SymmetricSuite:
    """An HPKE (KDF, AEAD) pair a key configuration offers.

    The export-only AEAD (0xFFFF) is refused: OHTTP encrypts with the AEAD.
    """

    kdf: KdfId
    aead: AeadId

    def __post_init__(self) -> None:
        try:
            kdf = KdfId(self.kdf)
            aead = AeadId(self.aead)
        except ValueError as exc:
            raise UsageError("unknown HPKE KDF or AEAD identifier") from exc
        if aead == AeadId.EXPORT_ONLY:
            raise UsageError("OHTTP needs an AEAD that can encrypt")
        object.__setattr__(self, "kdf", kdf)
        object.__setattr__(self, "aead", aead)

    @property
    def response_nonce_size(self) -> int:
        """max(Nn, Nk): the size of a response nonce and of the exported response secret."""
        return max(self.aead.nonce_size, self.aead.key_size)

    def hpke_suite(self, kem: KemId) -> hpke.Suite:
        """The full HPKE suite this pair forms with ``kem``."""
        return hpke.Suite(kem, self.kdf, self.aead)


#: The suites a generated gateway key offers, in order of preference.
DEFAULT_SUITES: tuple[SymmetricSuite, ...] = (
    SymmetricSuite(KdfId.HKDF_SHA256, AeadId.AES_128_GCM),
    SymmetricSuite(KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305),
)

#: The KEM a generated gateway key uses by default.
X25519 = KemId.DHKEM_X25519_HKDF_SHA256
#: The hybrid post-quantum KEM (ML-KEM-768 + X25519, draft-ietf-hpke-pq; ADR 0014).
MLKEM768_X25519 = KemId.MLKEM768_X25519
#: The suites a generated hybrid key offers: the one the draft's vectors pin (ADR 0014).
HYBRID_SUITES: tuple[SymmetricSuite, ...] = (
    SymmetricSuite(KdfId.HKDF_SHA256, AeadId.CHACHA20_POLY1305),
)


def default_suites(kem: KemId) -> tuple[SymmetricSuite, ...]:
    """The (KDF, AEAD) pairs a generated key of ``kem`` offers."""
    return HYBRID_SUITES if kem.post_quantum else DEFAULT_SUITES


@dataclass(frozen=True)
class KeyConfig:
    """One OHTTP key configuration (RFC 9458 §3.1), valid by construction.

    Construction raises :class:`UsageError` for an out-of-range key id, a public key of the wrong
    length, or an empty or oversize suite list. Peer bytes go through :meth:`decode`.
    """

    key_id: int
    kem: KemId
    public_key: bytes
    suites: tuple[SymmetricSuite, ...]

    @property
    def post_quantum(self) -> bool:
        """Whether requests to this configuration are protected against a quantum attacker."""
        return self.kem.post_quantum

    def __post_init__(self) -> None:
        if not 0 <= self.key_id <= 0xFF:
            raise UsageError("OHTTP key id must fit in one byte")
        try:
            kem = KemId(self.kem)
        except ValueError as exc:
            raise UsageError("unknown HPKE KEM identifier") from exc
        object.__setattr__(self, "kem", kem)
        object.__setattr__(self, "public_key", bytes(self.public_key))
        object.__setattr__(self, "suites", tuple(self.suites))
        if len(self.public_key) != kem.public_key_size:
            raise UsageError("public key has the wrong length for its KEM")
        if not self.suites:
            raise UsageError("a key configuration needs at least one suite")
        if len(self.suites) > MAX_OHTTP_SUITES_PER_CONFIG:
            raise UsageError("too many suites in one key configuration")
        if not all(isinstance(s, SymmetricSuite) for s in self.suites):
            raise UsageError("suites must be SymmetricSuite values")

    def encode(self) -> bytes:
        """Serialize as in RFC 9458 §3.1."""
        algorithms = b"".join(
            int(s.kdf).to_bytes(2, "big") + int(s.aead).to_bytes(2, "big") for s in self.suites
        )
        return (
            self.key_id.to_bytes(1, "big")
            + int(self.kem).to_bytes(2, "big")
            + self.public_key
            + len(algorithms).to_bytes(2, "big")
            + algorithms
        )

    @classmethod
    def decode(cls, data: bytes) -> KeyConfig:
        """Parse exactly one key configuration (RFC 9458 §3.1); all of ``data`` must be used.

        Symmetric algorithm pairs naming a KDF or AEAD we do not implement (or the export-only
        AEAD) are skipped. Raises :class:`DecodeError` for malformed bytes or an invalid public
        key, :class:`UnsupportedError` for an unknown KEM or when no pair is usable, and
        :class:`TooLargeError` for more pairs than ``MAX_OHTTP_SUITES_PER_CONFIG``.
        """
        data = bytes(data)
        # 1. Key Identifier and KEM ID; an unknown KEM leaves Npk unknown, so stop there.
        if len(data) < 3:
            raise DecodeError("truncated OHTTP key configuration")
        key_id = data[0]
        try:
            kem = KemId(int.from_bytes(data[1:3], "big"))
        except ValueError as exc:
            raise UnsupportedError("unsupported HPKE KEM in key configuration") from exc
        # 2. The public key and the length of the algorithm list.
        pk_end = 3 + kem.public_key_size
        if len(data) < pk_end + 2:
            raise DecodeError("truncated OHTTP key configuration")
        public_key = data[3:pk_end]
        algorithms_len = int.from_bytes(data[pk_end : pk_end + 2], "big")
        if algorithms_len == 0 or algorithms_len % 4:
            raise DecodeError("malformed symmetric algorithm list")
        if algorithms_len // 4 > MAX_OHTTP_SUITES_PER_CONFIG:
            raise TooLargeError("too many symmetric algorithms in key configuration")
        if len(data) != pk_end + 2 + algorithms_len:
            raise DecodeError("OHTTP key configuration has the wrong length")
        # 3. The (KDF, AEAD) pairs, keeping the ones we implement.
        suites: list[SymmetricSuite] = []
        for off in range(pk_end + 2, len(data), 4):
            kdf_id = int.from_bytes(data[off : off + 2], "big")
            aead_id = int.from_bytes(data[off + 2 : off + 4], "big")
            if kdf_id not in _KDFS or aead_id not in _ENCRYPTING_AEADS:
                continue
            suites.append(SymmetricSuite(KdfId(kdf_id), AeadId(aead_id)))
        if not suites:
            raise UnsupportedError("no supported symmetric algorithms in key configuration")
        # 4. The public key must be a valid point for its KEM.
        hpke.check_public_key(kem, public_key)
        return cls(key_id, kem, public_key, tuple(suites))


_KDFS = frozenset(int(k) for k in KdfId)
_ENCRYPTING_AEADS = frozenset(int(a) for a in AeadId if a != AeadId.EXPORT_ONLY)


def encode_key_configs(configs: Sequence[KeyConfig]) -> bytes:
    """Serialize ``application/ohttp-keys`` (RFC 9458 §3.2): each config with a 2-byte length.

    Raises :class:`UsageError` for an empty list or more than ``MAX_OHTTP_KEY_CONFIGS``.
    """
    if not configs:
        raise UsageError("no key configurations to encode")
    if len(configs) > MAX_OHTTP_KEY_CONFIGS:
        raise UsageError("too many key configurations")
    out = bytearray()
    for config in configs:
        encoded = config.encode()
        out += len(encoded).to_bytes(2, "big") + encoded
    return bytes(out)


def decode_key_configs(data: bytes) -> list[KeyConfig]:
    """Parse ``application/ohttp-keys`` (RFC 9458 §3.2) and return the supported configs.

    Configurations with an unsupported KEM or no supported suite are skipped, as RFC 9458 §3.2
    lets clients do; the result may therefore be empty. Raises :class:`DecodeError` for malformed
    input (including empty input) and :class:`TooLargeError` for a document over
    ``MAX_DIRECTORY_BYTES`` or holding more than ``MAX_OHTTP_KEY_CONFIGS`` configurations.
    """
    data = bytes(data)
    if len(data) > MAX_DIRECTORY_BYTES:
        raise TooLargeError("key configuration document too large")
    if not data:
        raise DecodeError("empty key configuration document")
    configs: list[KeyConfig] = []
    count = 0
    off = 0
    while off < len(data):
        if off + 2 > len(data):
            raise DecodeError("truncated key configuration length")
        length = int.from_bytes(data[off : off + 2], "big")
        off += 2
        if length == 0 or off + length > len(data):
            raise DecodeError("malformed key configuration length")
        count += 1
        if count > MAX_OHTTP_KEY_CONFIGS:
            raise TooLargeError("too many key configurations")
        with contextlib.suppress(UnsupportedError):  # RFC 9458 §3.2: skip what we cannot use
            configs.append(KeyConfig.decode(data[off : off + length]))
        off += length
    return configs


class GatewayKey:
    """A gateway's private key together with the key configuration it publishes."""

    __slots__ = ("_config", "private_key")

    def __init__(
        self, key_id: int, private_key: PrivateKey, suites: tuple[SymmetricSuite, ...]
    ) -> None:
        """Raises :class:`UsageError` for an invalid key id or suite list."""
        self.private_key = private_key
        self._config = KeyConfig(key_id, private_key.kem, private_key.public_bytes, tuple(suites))

    @classmethod
    def generate(
        cls,
        key_id: int,
        *,
        suites: tuple[SymmetricSuite, ...] | None = None,
        kem: KemId = X25519,
        rand: Random = system_random,
    ) -> GatewayKey:
        """A fresh key pair for ``kem`` from ``rand``, offering ``suites`` (by default
        :func:`default_suites` of ``kem``)."""
        chosen = default_suites(kem) if suites is None else suites
        return cls(key_id, hpke.generate_keypair(kem, rand), chosen)

    @property
    def config(self) -> KeyConfig:
        """The public key configuration clients encrypt to."""
        return self._config

    @property
    def key_id(self) -> int:
        return self._config.key_id

    def __repr__(self) -> str:
        return f"GatewayKey(key_id={self.key_id}, kem={self._config.kem.name})"
