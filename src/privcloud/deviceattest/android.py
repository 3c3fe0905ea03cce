"""Android hardware key attestation: is this key in the secure hardware of a genuine device?

The device makes a key in Android Keystore with the issuer's challenge as its attestation
challenge; Keystore returns the key's certificate chain, whose leaf carries the KeyDescription
(:mod:`privcloud.deviceattest.keydescription`). :func:`verify_android_attestation` decides, at
a given time, under an :class:`AndroidPolicy` (developer.android.com "Verify hardware-backed
key pairs with key attestation"; Google's reference verifier, google/android-key-attestation).
Sans-IO: chain bytes, the challenge, the time and the operator's status list come in.

Each refusal is a :class:`~privcloud.errors.DeviceAttestationError` whose message starts with
its :class:`Reason`.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Final

from privcloud import limits
from privcloud.crypto.x509 import (
    Certificate,
    SignatureAlgorithm,
    load_certificate,
    load_certificates,
    verify_chain,
)
from privcloud.deviceattest.keydescription import (
    KEY_DESCRIPTION_OID,
    TAG_ORIGIN,
    TAG_OS_PATCH_LEVEL,
    KeyDescription,
    KeyOrigin,
    KeyPurpose,
    SecurityLevel,
    VerifiedBootState,
    parse_application_id,
    parse_key_description,
)
from privcloud.deviceattest.status import AttestationStatusList
from privcloud.errors import DecodeError, DeviceAttestationError, VerificationError

log = logging.getLogger("privcloud.deviceattest")

#: Domain separation of the quota identity derived from the attested key.
_DEVICE_ID_LABEL: Final = b"privcloud android attested key v1\x00"
DEVICE_ID_SIZE: Final = 16
_ALLOWED: Final = frozenset(
    {
        SignatureAlgorithm.ECDSA_SHA256,
        SignatureAlgorithm.ECDSA_SHA384,
        SignatureAlgorithm.RSA_PKCS1V15_SHA256,
    }
)


class Reason(enum.StrEnum):
    """Why an attestation is refused: the first word of the error message."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    EXPIRED = "expired"
    UNTRUSTED_ROOT = "untrusted_root"
    CHAIN = "chain"
    REVOKED = "revoked"
    VERSION = "version"
    SECURITY_LEVEL = "security_level"
    CHALLENGE = "challenge"
    ROOT_OF_TRUST = "root_of_trust"
    PATCH_LEVEL = "patch_level"
    ORIGIN = "origin"
    PURPOSE = "purpose"
    APPLICATION = "application"
    KEY_PROOF = "key_proof"


def _refuse(reason: Reason, text: str) -> DeviceAttestationError:
    return DeviceAttestationError(f"{reason}: {text}")


@cache
def google_roots() -> tuple[Certificate, ...]:
    """Google's hardware attestation roots, pinned in ``roots/google/`` (README there): the
    RSA-4096 root (its 2016 and 2022 certificates, one key) and Key Attestation CA1 (P-384)."""
    folder = resources.files("privcloud.deviceattest").joinpath("roots", "google")
    return tuple(
        load_certificates(entry.read_bytes())[0]
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".pem")
    )


@dataclass(frozen=True)
class AndroidPolicy:
    """What an issuer accepts. The defaults are production's.

    ``min_os_patch_level`` is YYYYMM (0: any); ``max_patch_age_months`` refuses a patch level
    older than that many months before the verification time (None: no moving floor).
    ``insecure_allow_unlocked`` accepts an unlocked bootloader or unverified boot: INSECURE,
    for development devices only; logged on every use. ``allowed_apps``: ``(package name,
    SHA-256 of a signing certificate)`` pairs; the key must have been made by one of these apps
    (attestationApplicationId). Empty: not checked, and then any app on a genuine device can
    make attested keys (the issuer warns at start).
    """

    min_security_level: SecurityLevel = SecurityLevel.TRUSTED_ENVIRONMENT
    min_attestation_version: int = 3
    min_os_patch_level: int = 0
    max_patch_age_months: int | None = 24
    allowed_origins: frozenset[KeyOrigin] = frozenset({KeyOrigin.GENERATED})
    required_purpose: KeyPurpose = KeyPurpose.SIGN
    insecure_allow_unlocked: bool = False
    allowed_apps: frozenset[tuple[str, bytes]] = frozenset()
    roots: tuple[Certificate, ...] = field(default_factory=google_roots, repr=False)

    @property
    def insecure(self) -> bool:
        return self.insecure_allow_unlocked or self.min_security_level < (
            SecurityLevel.TRUSTED_ENVIRONMENT
        )


@dataclass(frozen=True)
class AndroidAttestation:
    """An accepted attestation: what the issuer records and shows."""

    key: Certificate = field(repr=False)
    #: The quota identity: :func:`attested_device_id` of the key.
    device_id: bytes
    security_level: SecurityLevel
    attestation_version: int
    os_patch_level: int
    verified_boot_state: VerifiedBootState
    device_locked: bool
    #: SHA-256 of the pinned root certificate the chain led to.
    root_fingerprint: bytes

    def verify_key_proof(self, signature: bytes, message: bytes) -> None:
        """Check that the attested (hardware) key signed ``message``; proof of possession."""
        try:
            self.key.verify_signature(signature, message)
        except VerificationError as exc:
            raise _refuse(Reason.KEY_PROOF, "the attested key did not sign") from exc


def attested_device_id(spki: bytes) -> bytes:
    """The quota identity of an attested key: 16 bytes of SHA-256(label || SPKI DER)."""
    return hashlib.sha256(_DEVICE_ID_LABEL + spki).digest()[:DEVICE_ID_SIZE]


def _months(yyyymm: int) -> int:
    return (yyyymm // 100) * 12 + (yyyymm % 100) - 1


def _patch_month(value: int) -> int:
    """OS patch level as YYYYMM (KeyMint writes YYYYMM; some vendors YYYYMMDD)."""
    return value // 100 if value > 999999 else value


def _utc_month(at: float) -> int:
    days = int(at // 86400)  # civil-from-days (Howard Hinnant), months only
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year * 100 + month


def _load_chain(chain: Sequence[bytes]) -> list[Certificate]:
    if not 2 <= len(chain) <= limits.MAX_ANDROID_ATTESTATION_CERTIFICATES:
        raise _refuse(Reason.TOO_LARGE, "attestation chain length out of bounds")
    if sum(len(c) for c in chain) > limits.MAX_ANDROID_ATTESTATION_CHAIN_BYTES:
        raise _refuse(Reason.TOO_LARGE, "attestation chain too large")
    try:
        return [load_certificate(der) for der in chain]
    except DecodeError as exc:
        raise _refuse(Reason.MALFORMED, "a certificate does not parse") from exc


def _path_to_roots(
    certs: list[Certificate], roots: Sequence[Certificate], at: float
) -> tuple[Certificate, ...]:
    """Steps 2-3: validity, then the chain up to a pinned root (pinned by key: a chain's own
    copy of a root whose key is pinned is dropped; the pinned certificate anchors)."""
    pinned_keys = {r.public_key_info() for r in roots}
    path = list(certs)
    top = path[-1]
    if len(path) > 1 and top.subject == top.issuer and top.public_key_info() in pinned_keys:
        path.pop()
    for cert in path:
        if not cert.not_before <= at <= cert.not_after:
            raise _refuse(Reason.EXPIRED, "a certificate is not valid at the verification time")
    anchors = [r for r in roots if r.not_before <= at <= r.not_after]
    if not anchors:
        raise _refuse(Reason.EXPIRED, "no pinned root is valid at the verification time")
    try:
        return verify_chain(path, anchors, at=at, allowed_algorithms=_ALLOWED)
    except VerificationError as exc:
        if str(exc) == "certificate chain does not lead to a pinned root":
            raise _refuse(Reason.UNTRUSTED_ROOT, "chain does not lead to a pinned root") from exc
        raise _refuse(Reason.CHAIN, "certificate chain does not verify") from exc


def _check_status(path: Sequence[Certificate], status: AttestationStatusList | None) -> None:
    if status is None:
        return
    for cert in path:
        if status.status_of(cert.serial_number) is not None:
            raise _refuse(Reason.REVOKED, "a certificate of the chain is on the status list")


def _record(path: Sequence[Certificate]) -> KeyDescription:
    try:
        if any(c.extension(KEY_DESCRIPTION_OID) is not None for c in path[1:]):
            raise _refuse(Reason.CHAIN, "an issuing certificate carries a KeyDescription")
        value = path[0].extension(KEY_DESCRIPTION_OID)
        if value is None:
            raise _refuse(Reason.MALFORMED, "the leaf has no KeyDescription")
        return parse_key_description(value)
    except DecodeError as exc:
        raise _refuse(Reason.MALFORMED, "the KeyDescription does not parse") from exc


def _check_policy(
    record: KeyDescription, policy: AndroidPolicy, challenge: bytes, at: float
) -> tuple[int, VerifiedBootState, bool]:
    """Steps 6-11 on the parsed record; returns (patch level, boot state, locked)."""
    if record.attestation_version < policy.min_attestation_version:
        raise _refuse(Reason.VERSION, "attestation version below the policy's minimum")
    levels = {record.attestation_security_level, record.keymint_security_level}
    if len(levels) != 1 or min(levels) < policy.min_security_level or min(levels) == 0:
        raise _refuse(Reason.SECURITY_LEVEL, "the key is not in the required secure hardware")
    if not hmac.compare_digest(record.attestation_challenge, challenge):
        raise _refuse(Reason.CHALLENGE, "attestation challenge is not the one the issuer sent")
    hw = record.hardware_enforced
    root = hw.root_of_trust
    if root is None:
        raise _refuse(Reason.ROOT_OF_TRUST, "no hardware-enforced RootOfTrust")
    unlocked = not root.device_locked or root.verified_boot_state != VerifiedBootState.VERIFIED
    if unlocked and not policy.insecure_allow_unlocked:
        raise _refuse(Reason.ROOT_OF_TRUST, "bootloader unlocked or boot not verified")
    if unlocked:
        log.warning("INSECURE: accepting a device with an unlocked bootloader or unverified boot")
    patch = hw.integer(TAG_OS_PATCH_LEVEL)
    if patch is None:
        raise _refuse(Reason.PATCH_LEVEL, "no hardware-enforced OS patch level")
    month = _patch_month(patch)
    if month < policy.min_os_patch_level or (
        policy.max_patch_age_months is not None
        and _months(_utc_month(at)) - _months(month) > policy.max_patch_age_months
    ):
        raise _refuse(Reason.PATCH_LEVEL, "OS patch level older than the policy allows")
    if hw.integer(TAG_ORIGIN) not in {int(o) for o in policy.allowed_origins}:
        raise _refuse(Reason.ORIGIN, "the key was not generated in the secure hardware")
    if int(policy.required_purpose) not in hw.purposes:
        raise _refuse(Reason.PURPOSE, "the key may not be used for the required purpose")
    if policy.allowed_apps:
        _check_application(record, policy.allowed_apps)
    return month, root.verified_boot_state, root.device_locked


def _check_application(record: KeyDescription, allowed: frozenset[tuple[str, bytes]]) -> None:
    """Step 12: one allowed (package, signing digest) pair is in attestationApplicationId."""
    raw = record.hardware_enforced.application_id or record.software_enforced.application_id
    if raw is None:
        raise _refuse(Reason.APPLICATION, "no attestation application id")
    try:
        app = parse_application_id(raw)
    except DecodeError as exc:
        raise _refuse(Reason.MALFORMED, "the attestation application id does not parse") from exc
    if not any(p in app.packages and d in app.signature_digests for p, d in allowed):
        raise _refuse(Reason.APPLICATION, "the key was not made by an allowed app")


def verify_android_attestation(
    chain: Sequence[bytes],
    *,
    challenge: bytes,
    at: float,
    policy: AndroidPolicy,
    status: AttestationStatusList | None,
) -> AndroidAttestation:
    """Verify an attestation chain (DER, leaf first) for ``challenge`` at time ``at``.

    1. Bounds: 2..MAX_ANDROID_ATTESTATION_CERTIFICATES certificates, their total size; each
       parses (``too_large``, ``malformed``).
    2. Every certificate is valid at ``at`` (``expired``).
    3. The chain leads to a pinned root with allowed signature algorithms (``untrusted_root``,
       ``chain``).
    4. No serial of the chain is on the operator's status list (``revoked``).
    5. Only the leaf carries a KeyDescription, and it parses (``chain``, ``malformed``).
    6. Attestation version at least the policy's (``version``).
    7. attestationSecurityLevel equals keyMintSecurityLevel, is not Software and is at least
       the policy's (``security_level``).
    8. The attestation challenge is ``challenge`` (``challenge``).
    9. Hardware-enforced RootOfTrust: verified boot Verified and device locked, unless the
       policy is insecure (``root_of_trust``).
    10. Hardware-enforced OS patch level within the policy (``patch_level``).
    11. Origin generated in hardware; purpose includes the policy's (``origin``, ``purpose``).
    12. With ``allowed_apps``: the attestation application id names an allowed package and
        one of its signing digests (``application``).

    Returns the accepted :class:`AndroidAttestation`; raises :class:`DeviceAttestationError`.
    """
    certs = _load_chain(chain)
    path = _path_to_roots(certs, policy.roots, at)
    _check_status(path, status)
    record = _record(path)
    month, boot, locked = _check_policy(record, policy, challenge, at)
    return AndroidAttestation(
        key=path[0],
        device_id=attested_device_id(path[0].public_key_info()),
        security_level=record.attestation_security_level,
        attestation_version=record.attestation_version,
        os_patch_level=month,
        verified_boot_state=boot,
        device_locked=locked,
        root_fingerprint=path[-1].fingerprint_sha256,
    )


__all__ = [
    "AndroidAttestation",
    "AndroidPolicy",
    "Reason",
    "attested_device_id",
    "google_roots",
    "verify_android_attestation",
]
