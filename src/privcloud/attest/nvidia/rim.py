"""NVIDIA reference integrity manifests (RIMs): signed SWID tags (ISO/IEC 19770-2:2015, TCG RIM
Information Model binding) carrying the golden measurements of a GPU driver or VBIOS.

:func:`verify_rim` — the RIM checks of NVIDIA's local GPU verifier, offline:

1. Parse (at most ``limits.MAX_NVIDIA_RIM_BYTES``; no DTD or entities;
   :func:`privcloud.crypto.xmldsig.parse_signed_document`).
2. The signer chain of ``ds:KeyInfo`` verifies up to a *pinned* NVIDIA RIM root at ``now``
   (ECDSA only; validity, CA flags, path lengths; CRLs the operator supplied, when given); the
   signer is an end entity whose key usage allows digital signatures, on P-384.
3. The enveloped XML signature verifies with the signer (:func:`~privcloud.crypto.xmldsig.
   verify_enveloped`); everything below is read from the *signed* canonical bytes only.
4. ``Meta/@colloquialVersion`` is the driver or VBIOS version; ``Payload/Resource`` entries give,
   per measurement index, whether it is active, its size and up to
   ``limits.MAX_RIM_ALTERNATIVES`` SHA-384 values (``Hash0``, ``Hash1``, ...). A repeated index,
   a value of the wrong size or no measurement at all is refused.
"""

from __future__ import annotations

import enum
import hashlib
import xml.etree.ElementTree as StdET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from defusedxml import ElementTree as SafeET

from privcloud import limits
from privcloud.crypto.der import der_header
from privcloud.crypto.x509 import (
    Certificate,
    Crl,
    Curve,
    SignatureAlgorithm,
    load_certificate,
    verify_chain,
)
from privcloud.crypto.xmldsig import parse_signed_document, verify_enveloped
from privcloud.errors import DecodeError, TooLargeError, VerificationError

SWID_NS: Final = "{http://standards.iso.org/iso/19770/-2/2015/schema.xsd}"
SHA384_NS: Final = "{http://www.w3.org/2001/04/xmlenc#sha384}"
MEASUREMENT_SIZE: Final = 48
_ECDSA = frozenset({SignatureAlgorithm.ECDSA_SHA384, SignatureAlgorithm.ECDSA_SHA256})
_KEY_USAGE_OID: Final = "2.5.29.15"


class RimKind(enum.Enum):
    """What a RIM describes."""

    DRIVER = "driver"
    VBIOS = "vbios"


@dataclass(frozen=True)
class ReferenceMeasurement:
    """The golden values of one measurement index (any one of ``values`` matches)."""

    index: int
    name: str
    active: bool
    values: tuple[bytes, ...]


@dataclass(frozen=True)
class Rim:
    """A verified RIM: only :func:`verify_rim` makes one."""

    product: str
    version: str
    measurements: Mapping[int, ReferenceMeasurement]
    signer_chain: tuple[str, ...]
    #: SHA-384 of the RIM document as given (names it in the trail and in policy).
    digest: bytes
    tag_id: str = ""
    manufacturer_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "measurements", MappingProxyType(dict(self.measurements)))

    def active(self) -> dict[int, ReferenceMeasurement]:
        return {i: m for i, m in self.measurements.items() if m.active}


def _digital_signature_allowed(cert: Certificate) -> bool:
    """keyUsage present with digitalSignature (bit 0) set."""
    raw = cert.extension(_KEY_USAGE_OID)
    if raw is None:
        return False
    tag, start, end = der_header(raw, 0)
    if tag != 0x03 or end - start < 2:
        return False
    return bool(raw[start + 1] & 0x80)


def check_signer(leaf: Certificate) -> None:
    """An end-entity signer: keyUsage digitalSignature, a P-384 key (:class:`VerificationError`)."""
    if not _digital_signature_allowed(leaf):
        raise VerificationError("signer certificate may not sign data")
    leaf.ec_public_key(Curve.P384)


def verify_rim(
    data: bytes,
    roots: Sequence[Certificate],
    *,
    now: float,
    crls: Sequence[Crl] = (),
) -> Rim:
    """Steps 1 to 4 of the module docstring. Raises :class:`DecodeError`,
    :class:`TooLargeError` or :class:`VerificationError`."""
    if len(data) > limits.MAX_NVIDIA_RIM_BYTES:
        raise TooLargeError("RIM too large")
    # 1. Parse.
    document = parse_signed_document(
        data, max_bytes=limits.MAX_NVIDIA_RIM_BYTES, max_elements=limits.MAX_RIM_ELEMENTS
    )
    if len(document.certificates) > limits.MAX_X509_CHAIN_CERTIFICATES:
        raise DecodeError("RIM carries too many certificates")
    chain = [load_certificate(der) for der in document.certificates]
    # 2. Signer chain up to a pinned RIM root.
    path = verify_chain(chain, roots, at=now, allowed_algorithms=_ECDSA, crls=crls)
    check_signer(chain[0])
    # 3. The signature; from here on only the signed bytes are read.
    signed = verify_enveloped(document, chain[0], now=now)
    # 4. Version and golden measurements.
    return read_signed_rim(signed, tuple(c.subject for c in path), hashlib.sha384(data).digest())


def read_signed_rim(signed: bytes, signer_chain: tuple[str, ...], digest: bytes) -> Rim:
    """Step 4 on canonical bytes a verified signature covers (never on unverified input)."""
    try:
        root = SafeET.fromstring(signed, forbid_dtd=True, forbid_entities=True)
    except (StdET.ParseError, ValueError) as exc:
        raise DecodeError("signed RIM is not well-formed XML") from exc
    if root.tag != SWID_NS + "SoftwareIdentity":
        raise DecodeError("RIM is not a SWID tag")
    meta = root.find(SWID_NS + "Meta")
    payload = root.find(SWID_NS + "Payload")
    if meta is None or payload is None:
        raise DecodeError("RIM lacks Meta or Payload")
    version = (meta.get("colloquialVersion") or "").strip().lower()
    if not version:
        raise DecodeError("RIM names no version")
    measurements: dict[int, ReferenceMeasurement] = {}
    for resource in payload:
        if len(measurements) >= limits.MAX_RIM_MEASUREMENTS:
            raise TooLargeError("RIM has too many measurements")
        measurement = _read_resource(resource)
        if measurement.index in measurements:
            raise DecodeError("RIM repeats a measurement index")
        measurements[measurement.index] = measurement
    if not any(m.active for m in measurements.values()):
        raise DecodeError("RIM has no active measurement")
    manufacturer = ""
    for key, value in meta.attrib.items():
        if key.endswith("}FirmwareManufacturerId"):
            manufacturer = value
    return Rim(
        product=(meta.get("product") or root.get("name") or "").strip(),
        version=version,
        measurements=measurements,
        signer_chain=signer_chain,
        digest=digest,
        tag_id=root.get("tagId") or "",
        manufacturer_id=manufacturer,
    )


def _int_attr(element: StdET.Element, name: str, low: int, high: int) -> int:
    text = element.get(name)
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 6:
        raise DecodeError("RIM resource has a malformed number")
    value = int(text)
    if not low <= value <= high:
        raise DecodeError("RIM resource number out of range")
    return value


def _read_resource(resource: StdET.Element) -> ReferenceMeasurement:
    if resource.tag != SWID_NS + "Resource":
        raise DecodeError("RIM payload holds something other than resources")
    index = _int_attr(resource, "index", 0, 254)
    alternatives = _int_attr(resource, "alternatives", 1, limits.MAX_RIM_ALTERNATIVES)
    size = _int_attr(resource, "size", MEASUREMENT_SIZE, MEASUREMENT_SIZE)
    active_text = resource.get("active")
    if active_text not in ("True", "False"):
        raise DecodeError("RIM resource has a malformed active flag")
    values = []
    for i in range(alternatives):
        text = resource.get(f"{SHA384_NS}Hash{i}")
        if text is None or len(text) != 2 * size:
            raise DecodeError("RIM measurement value missing or of the wrong size")
        try:
            values.append(bytes.fromhex(text))
        except ValueError as exc:
            raise DecodeError("RIM measurement value is not hex") from exc
    return ReferenceMeasurement(
        index=index,
        name=(resource.get("name") or "")[:64],
        active=active_text == "True",
        values=tuple(values),
    )
