"""Synthetic Android key attestation chains, minted under a test root that only tests pin.

Google's hardware attestation keys cannot be had, so the issuer's flow is tested with chains
of the same shape (root -> intermediate -> attested key with a KeyDescription) under
"synthetic Android attestation root". The KeyDescription is DER written here field by field
after the AOSP schema; the real chains (tests/vectors/test_android_attestation.py) show that
the parser reads Google's own encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from privcloud.crypto.x509 import Certificate, Curve, EcPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.deviceattest import AndroidPolicy
from privcloud.deviceattest.keydescription import KEY_DESCRIPTION_OID

NOW = 1_790_000_000.0  # 2026-09-21
#: The synthetic app's signing certificate digest; tests allow ("com.example.privcloud", APP).
APP = bytes(range(100, 132))
YEAR = 365 * 86400.0


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def integer(value: int, tag: int = 0x02) -> bytes:
    return tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def explicit(number: int, inner: bytes) -> bytes:
    """A context-specific constructed [number] EXPLICIT tag (high tag form past 30)."""
    if number < 31:
        head = bytes([0xA0 | number])
    else:
        digits = []
        while number:
            digits.append(number & 0x7F)
            number >>= 7
        digits.reverse()
        head = bytes([0xBF]) + bytes([d | 0x80 for d in digits[:-1]] + [digits[-1]])
    return head + _length(len(inner)) + inner


@dataclass(frozen=True)
class Record:
    """The fields of a synthetic KeyDescription."""

    challenge: bytes
    version: int = 300
    attestation_level: int = 1
    keymint_level: int = 1
    locked: bool = True
    boot_state: int = 0
    patch_level: int = 202608
    origin: int = 0
    purposes: tuple[int, ...] = (2,)
    extra_hw: bytes = b""
    #: attestationApplicationId: (package names, signing certificate digests); None: absent.
    app: tuple[tuple[str, ...], tuple[bytes, ...]] | None = (("com.example.privcloud",), (APP,))

    def encode(self) -> bytes:
        root = tlv(
            0x30,
            tlv(0x04, bytes(32))
            + tlv(0x01, b"\xff" if self.locked else b"\x00")
            + integer(self.boot_state, 0x0A)
            + tlv(0x04, bytes(range(32))),
        )
        purposes = b"".join(integer(p) for p in self.purposes)
        hw = (
            explicit(1, tlv(0x31, purposes))
            + explicit(2, integer(3))
            + explicit(3, integer(256))
            + explicit(10, integer(1))
            + explicit(503, tlv(0x05, b""))
            + explicit(702, integer(self.origin))
            + explicit(704, root)
            + explicit(705, integer(150000))
            + explicit(706, integer(self.patch_level))
            + self.extra_hw
        )
        sw = explicit(701, integer(1_700_000_000_000))
        if self.app is not None:
            packages = b"".join(
                tlv(0x30, tlv(0x04, name.encode()) + integer(1)) for name in self.app[0]
            )
            digests = b"".join(tlv(0x04, d) for d in self.app[1])
            app_id = tlv(0x30, tlv(0x31, packages) + tlv(0x31, digests))
            sw += explicit(709, tlv(0x04, app_id))
        return tlv(
            0x30,
            integer(self.version)
            + integer(self.attestation_level, 0x0A)
            + integer(self.version)
            + integer(self.keymint_level, 0x0A)
            + tlv(0x04, self.challenge)
            + tlv(0x04, b"")
            + tlv(0x30, sw)
            + tlv(0x30, hw),
        )


@dataclass
class SyntheticAndroid:
    """A test root and intermediate; :meth:`device` mints attested keys under them."""

    root_key: EcPrivateKey = field(default_factory=lambda: EcPrivateKey.generate(Curve.P384))
    intermediate_key: EcPrivateKey = field(
        default_factory=lambda: EcPrivateKey.generate(Curve.P256)
    )
    root: Certificate = field(init=False)
    intermediate: Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.root = build_certificate(
            CertificateRequest(
                "synthetic Android attestation root", NOW - 5 * YEAR, NOW + 10 * YEAR, 7, ca=True
            ),
            self.root_key,
            issuer=None,
            issuer_key=self.root_key,
        )
        self.intermediate = build_certificate(
            CertificateRequest(
                "synthetic attestation intermediate", NOW - YEAR, NOW + 5 * YEAR, 0x2A5, ca=True
            ),
            self.intermediate_key,
            issuer=self.root,
            issuer_key=self.root_key,
        )

    def policy(self, **changes: object) -> AndroidPolicy:
        """Production's policy, pinning the synthetic root instead of Google's."""
        policy = AndroidPolicy(
            roots=(self.root,), allowed_apps=frozenset({("com.example.privcloud", APP)})
        )
        return replace(policy, **changes)  # type: ignore[arg-type]

    def chain(
        self,
        key: EcPrivateKey,
        record: Record | bytes,
        *,
        not_after: float = NOW + YEAR,
        issuer: Certificate | None = None,
        issuer_key: EcPrivateKey | None = None,
    ) -> list[bytes]:
        """DER chain, leaf first, root last, for ``key`` with ``record`` (or raw extension)."""
        value = record.encode() if isinstance(record, Record) else record
        leaf = build_certificate(
            CertificateRequest(
                "Android Keystore Key",
                NOW - 86400,
                not_after,
                1,
                extensions={KEY_DESCRIPTION_OID: value},
            ),
            key,
            issuer=issuer or self.intermediate,
            issuer_key=issuer_key or self.intermediate_key,
        )
        return [leaf.der, (issuer or self.intermediate).der, self.root.der]


@dataclass
class SyntheticDevice:
    """A phone with a Keystore: one hardware key, attested under a :class:`SyntheticAndroid`."""

    android: SyntheticAndroid
    record_changes: dict[str, object] = field(default_factory=dict)
    key: EcPrivateKey = field(default_factory=lambda: EcPrivateKey.generate(Curve.P256))

    def attest(self, challenge: bytes) -> Sequence[bytes]:
        return self.android.chain(self.key, Record(challenge, **self.record_changes))  # type: ignore[arg-type]

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256/SHA-256, X9.62 DER as Keystore returns it."""
        raw = self.key.sign(message)
        r, s = (int.from_bytes(raw[i : i + 32], "big") for i in (0, 32))
        return tlv(0x30, integer(r) + integer(s))
