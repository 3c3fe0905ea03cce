"""The Android Keystore attestation record: KeyDescription (OID 1.3.6.1.4.1.11129.2.1.17).

Schema: AOSP ``hardware/interfaces/security/keymint/aidl/android/hardware/security/keymint/
KeyCreationResult.aidl`` (and developer.android.com "Verifying hardware-backed key pairs with
key attestation")::

    KeyDescription ::= SEQUENCE {
        attestationVersion         INTEGER,
        attestationSecurityLevel   SecurityLevel,      -- ENUMERATED
        keyMintVersion             INTEGER,            -- keymasterVersion before KeyMint
        keyMintSecurityLevel       SecurityLevel,
        attestationChallenge       OCTET STRING,
        uniqueId                   OCTET STRING,
        softwareEnforced           AuthorizationList,
        hardwareEnforced           AuthorizationList } -- teeEnforced before KeyMint
    AuthorizationList ::= SEQUENCE { each field [tag] EXPLICIT ... OPTIONAL }
    RootOfTrust ::= SEQUENCE { verifiedBootKey OCTET STRING, deviceLocked BOOLEAN,
                               verifiedBootState ENUMERATED, verifiedBootHash OCTET STRING }

The AuthorizationList is read by tag number, as Google's reference parser does: a tag this
module does not know is skipped (its TLV must still be DER), a tag it knows must carry its type,
and a tag seen twice is refused (two patch levels would be ambiguous). Pure functions over bytes
(docs/adr/0016 says why this walks DER with :func:`privcloud.crypto.der.der_element`).
Raises :class:`~privcloud.errors.DecodeError` only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from privcloud import limits
from privcloud.crypto.der import der_element
from privcloud.errors import DecodeError

#: The extension OID of the attestation record in the attested key's certificate.
KEY_DESCRIPTION_OID: Final = "1.3.6.1.4.1.11129.2.1.17"

_UNIVERSAL, _CONTEXT = 0, 2
_BOOLEAN, _INTEGER, _OCTETS, _NULL, _ENUMERATED, _SEQUENCE, _SET = 1, 2, 4, 5, 10, 16, 17


class SecurityLevel(enum.IntEnum):
    """Where the key lives (KeyMint ``SecurityLevel``)."""

    SOFTWARE = 0
    TRUSTED_ENVIRONMENT = 1
    STRONG_BOX = 2


class VerifiedBootState(enum.IntEnum):
    """Verified boot's verdict on the running system (``RootOfTrust.verifiedBootState``)."""

    VERIFIED = 0
    SELF_SIGNED = 1
    UNVERIFIED = 2
    FAILED = 3


class KeyOrigin(enum.IntEnum):
    """How the key came to be (``Tag::ORIGIN``)."""

    GENERATED = 0
    DERIVED = 1
    IMPORTED = 2
    RESERVED = 3
    SECURELY_IMPORTED = 4


class KeyPurpose(enum.IntEnum):
    """What the key may do (``Tag::PURPOSE``)."""

    ENCRYPT = 0
    DECRYPT = 1
    SIGN = 2
    VERIFY = 3
    WRAP_KEY = 5
    AGREE_KEY = 6
    ATTEST_KEY = 7


# Tags read (KeyMint Tag.aidl numbers, without the type bits).
TAG_PURPOSE: Final = 1
TAG_ALGORITHM: Final = 2
TAG_ORIGIN: Final = 702
TAG_ROOT_OF_TRUST: Final = 704
TAG_OS_VERSION: Final = 705
TAG_OS_PATCH_LEVEL: Final = 706
TAG_ATTESTATION_APPLICATION_ID: Final = 709
TAG_VENDOR_PATCH_LEVEL: Final = 718
TAG_BOOT_PATCH_LEVEL: Final = 719
_SET_TAGS: Final = frozenset({1, 5, 6, 203})
_INT_TAGS: Final = frozenset(
    {2, 3, 10, 200, 400, 401, 402, 405, 504, 505, 701, 702, 705, 706, 718, 719}
)
_NULL_TAGS: Final = frozenset({303, 305, 503, 506, 507, 508, 509, 600, 703, 720})
_OCTET_TAGS: Final = frozenset({601, 709, 710, 711, 712, 713, 714, 715, 716, 717, 723, 724})


@dataclass(frozen=True, slots=True)
class RootOfTrust:
    """The boot state the secure hardware saw."""

    verified_boot_key: bytes
    device_locked: bool
    verified_boot_state: VerifiedBootState
    verified_boot_hash: bytes | None


@dataclass(frozen=True, slots=True)
class AuthorizationList:
    """The fields of one AuthorizationList that policy reads; ``tags``: every tag present."""

    tags: frozenset[int]
    purposes: frozenset[int] = frozenset()
    integers: dict[int, int] = field(default_factory=dict)
    root_of_trust: RootOfTrust | None = None
    #: The raw attestationApplicationId (DER, parse with :func:`parse_application_id`).
    application_id: bytes | None = None

    def integer(self, tag: int) -> int | None:
        return self.integers.get(tag)


@dataclass(frozen=True, slots=True)
class KeyDescription:
    """A parsed attestation record."""

    attestation_version: int
    attestation_security_level: SecurityLevel
    keymint_version: int
    keymint_security_level: SecurityLevel
    attestation_challenge: bytes = field(repr=False)
    unique_id: bytes = field(repr=False)
    software_enforced: AuthorizationList
    hardware_enforced: AuthorizationList


# --- DER primitives ---------------------------------------------------------------------------


def _children(data: bytes, start: int, end: int) -> list[tuple[int, bool, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        element = der_element(data, pos, end)
        out.append(element)
        pos = element[4]
        if len(out) > limits.MAX_AUTHORIZATION_LIST_ENTRIES:
            raise DecodeError("too many DER elements")
    return out


def _expect(element: tuple[int, bool, int, int, int], number: int, *, constructed: bool) -> None:
    cls, cons, num, _, _ = element
    if cls != _UNIVERSAL or num != number or cons != constructed:
        raise DecodeError("unexpected DER type in KeyDescription")


def _integer(data: bytes, element: tuple[int, bool, int, int, int], number: int = _INTEGER) -> int:
    _expect(element, number, constructed=False)
    value = data[element[3] : element[4]]
    if not value or len(value) > 9:
        raise DecodeError("bad DER INTEGER")
    if len(value) > 1 and (
        (value[0] == 0 and value[1] < 0x80) or (value[0] == 0xFF and value[1] >= 0x80)
    ):
        raise DecodeError("non-minimal DER INTEGER")
    return int.from_bytes(value, "big", signed=True)


def _octets(data: bytes, element: tuple[int, bool, int, int, int]) -> bytes:
    _expect(element, _OCTETS, constructed=False)
    return bytes(data[element[3] : element[4]])


def _boolean(data: bytes, element: tuple[int, bool, int, int, int]) -> bool:
    _expect(element, _BOOLEAN, constructed=False)
    value = data[element[3] : element[4]]
    if value not in (b"\x00", b"\xff"):
        raise DecodeError("bad DER BOOLEAN")
    return value == b"\xff"


def _enum(data: bytes, element: tuple[int, bool, int, int, int], kind: type[enum.IntEnum]) -> int:
    value = _integer(data, element, _ENUMERATED)
    try:
        return kind(value)
    except ValueError as exc:
        raise DecodeError("unknown enumerated value in KeyDescription") from exc


def _non_negative(value: int) -> int:
    if value < 0:
        raise DecodeError("negative value in KeyDescription")
    return value


# --- structures -------------------------------------------------------------------------------


def _root_of_trust(data: bytes, element: tuple[int, bool, int, int, int]) -> RootOfTrust:
    _expect(element, _SEQUENCE, constructed=True)
    parts = _children(data, element[3], element[4])
    if len(parts) not in (3, 4):  # verifiedBootHash since attestation version 3
        raise DecodeError("bad RootOfTrust")
    return RootOfTrust(
        verified_boot_key=_octets(data, parts[0]),
        device_locked=_boolean(data, parts[1]),
        verified_boot_state=VerifiedBootState(_enum(data, parts[2], VerifiedBootState)),
        verified_boot_hash=_octets(data, parts[3]) if len(parts) == 4 else None,
    )


def _authorization_list(data: bytes, element: tuple[int, bool, int, int, int]) -> AuthorizationList:
    _expect(element, _SEQUENCE, constructed=True)
    tags: set[int] = set()
    purposes: set[int] = set()
    integers: dict[int, int] = {}
    root: RootOfTrust | None = None
    application: bytes | None = None
    for cls, cons, tag, start, end in _children(data, element[3], element[4]):
        if cls != _CONTEXT or not cons:
            raise DecodeError("AuthorizationList entry is not an explicit tag")
        if tag in tags:
            raise DecodeError("AuthorizationList repeats a tag")
        tags.add(tag)
        inner = _children(data, start, end)
        if len(inner) != 1:
            raise DecodeError("explicit tag must wrap one value")
        value = inner[0]
        if tag in _SET_TAGS:
            _expect(value, _SET, constructed=True)
            members = _children(data, value[3], value[4])
            if len(members) > limits.MAX_AUTHORIZATION_SET_MEMBERS:
                raise DecodeError("too many members in an AuthorizationList set")
            numbers = {_non_negative(_integer(data, m)) for m in members}
            if tag == TAG_PURPOSE:
                purposes = numbers
        elif tag in _INT_TAGS:
            integers[tag] = _non_negative(_integer(data, value))
        elif tag in _NULL_TAGS:
            _expect(value, _NULL, constructed=False)
            if value[3] != value[4]:
                raise DecodeError("bad DER NULL")
        elif tag in _OCTET_TAGS:
            octets = _octets(data, value)
            if tag == TAG_ATTESTATION_APPLICATION_ID:
                application = octets
        elif tag == TAG_ROOT_OF_TRUST:
            root = _root_of_trust(data, value)
        else:  # a tag of a later KeyMint: its TLV parsed, its meaning not read
            _walk(data, value, depth=2)
    return AuthorizationList(frozenset(tags), frozenset(purposes), integers, root, application)


@dataclass(frozen=True, slots=True)
class ApplicationId:
    """Which app asked Keystore for the key: its package names (several when apps share a
    user id) and the SHA-256 digests of its signing certificates."""

    packages: frozenset[str]
    signature_digests: frozenset[bytes]


def parse_application_id(data: bytes) -> ApplicationId:
    """Parse ``AttestationApplicationId ::= SEQUENCE { packageInfos SET OF SEQUENCE {
    packageName OCTET STRING, version INTEGER }, signatureDigests SET OF OCTET STRING }``;
    raises :class:`DecodeError`."""
    top = der_element(data, 0, len(data))
    if top[4] != len(data):
        raise DecodeError("trailing bytes after the application id")
    _expect(top, _SEQUENCE, constructed=True)
    parts = _children(data, top[3], top[4])
    if len(parts) != 2:
        raise DecodeError("bad application id")
    _expect(parts[0], _SET, constructed=True)
    _expect(parts[1], _SET, constructed=True)
    packages = set()
    for info in _children(data, parts[0][3], parts[0][4]):
        _expect(info, _SEQUENCE, constructed=True)
        fields = _children(data, info[3], info[4])
        if len(fields) != 2:
            raise DecodeError("bad package info")
        _non_negative(_integer(data, fields[1]))
        try:
            packages.add(_octets(data, fields[0]).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DecodeError("package name is not UTF-8") from exc
    digests = frozenset(_octets(data, d) for d in _children(data, parts[1][3], parts[1][4]))
    return ApplicationId(frozenset(packages), digests)


def _walk(data: bytes, element: tuple[int, bool, int, int, int], *, depth: int) -> None:
    """Check that a value we do not interpret is well-formed DER, to a bounded depth."""
    if depth > limits.MAX_KEY_DESCRIPTION_DEPTH:
        raise DecodeError("KeyDescription nested too deeply")
    if element[1]:
        for child in _children(data, element[3], element[4]):
            _walk(data, child, depth=depth + 1)


def parse_key_description(data: bytes) -> KeyDescription:
    """Parse the KeyDescription extension value (DER); raises :class:`DecodeError`.

    Eight fields exactly (the schema of attestation version 3 and later, and of 1-2, which have
    the same top level); security levels and boot states outside their enumerations refused.
    """
    if len(data) > limits.MAX_KEY_DESCRIPTION_BYTES:
        raise DecodeError("KeyDescription too large")
    top = der_element(data, 0, len(data))
    if top[4] != len(data):
        raise DecodeError("trailing bytes after KeyDescription")
    _expect(top, _SEQUENCE, constructed=True)
    parts = _children(data, top[3], top[4])
    if len(parts) != 8:
        raise DecodeError("KeyDescription has the wrong number of fields")
    challenge = _octets(data, parts[4])
    if len(challenge) > limits.MAX_ATTESTATION_CHALLENGE_BYTES:
        raise DecodeError("attestation challenge too long")
    return KeyDescription(
        attestation_version=_non_negative(_integer(data, parts[0])),
        attestation_security_level=SecurityLevel(_enum(data, parts[1], SecurityLevel)),
        keymint_version=_non_negative(_integer(data, parts[2])),
        keymint_security_level=SecurityLevel(_enum(data, parts[3], SecurityLevel)),
        attestation_challenge=challenge,
        unique_id=_octets(data, parts[5]),
        software_enforced=_authorization_list(data, parts[6]),
        hardware_enforced=_authorization_list(data, parts[7]),
    )


__all__ = [
    "KEY_DESCRIPTION_OID",
    "TAG_ALGORITHM",
    "TAG_ATTESTATION_APPLICATION_ID",
    "TAG_BOOT_PATCH_LEVEL",
    "TAG_ORIGIN",
    "TAG_OS_PATCH_LEVEL",
    "TAG_OS_VERSION",
    "TAG_PURPOSE",
    "TAG_ROOT_OF_TRUST",
    "TAG_VENDOR_PATCH_LEVEL",
    "ApplicationId",
    "AuthorizationList",
    "KeyDescription",
    "KeyOrigin",
    "KeyPurpose",
    "RootOfTrust",
    "SecurityLevel",
    "VerifiedBootState",
    "parse_application_id",
    "parse_key_description",
]
