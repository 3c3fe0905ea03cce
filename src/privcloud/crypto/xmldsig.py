"""Enveloped XML signatures (W3C XML Signature Syntax and Processing 1.1) over a whole document,
for NVIDIA's signed reference integrity manifests (SWID tags, ISO/IEC 19770-2).

Why a library: XML-DSig is canonicalization, transforms and reference resolution — a classic
home of signature-wrapping bugs. ``signxml`` (over ``lxml``) does the standard part; this module
narrows it to the one shape NVIDIA signs and wraps every foreign exception (it imports
``cryptography``, so it lives in :mod:`privcloud.crypto`):

1. :func:`parse_signed_document`: at most ``max_bytes``; ``defusedxml`` refuses any DTD, entity
   declaration or external reference before ``lxml`` (entities off, no network, no huge trees)
   parses it; at most ``max_elements`` elements; exactly one ``ds:Signature`` in the document,
   a direct child of the root; the signer certificates of ``ds:KeyInfo/ds:X509Data`` as DER.
2. :func:`verify_enveloped`: exactly one ``ds:Reference``, with ``URI=""`` (the whole
   document), transforms exactly *enveloped-signature* then C14N 1.0 or 1.1; ECDSA P-384 with
   SHA-384 over ``ds:SignedInfo`` by the caller's (already chain-verified) certificate, SHA-384
   digest of the document. Returns the canonical bytes that were signed: callers read those,
   never the input ("see what is signed").

Raises :class:`~privcloud.errors.DecodeError` (malformed or hostile XML) and
:class:`~privcloud.errors.VerificationError` (a check failed); nothing foreign.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Any, Final

from defusedxml import ElementTree as _SafeET
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier

from privcloud.crypto.boundary import foreign_errors
from privcloud.crypto.x509 import Certificate
from privcloud.errors import DecodeError, VerificationError

DS_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
_DS = "{" + DS_NS + "}"
ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#: The only whitespace a base64 certificate may hold (XML Schema base64Binary's line breaks).
_B64_SPACE: Final = {ord(c): None for c in " \t\r\n"}
C14N_METHODS: Final = frozenset(
    {"http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"}
)


def hardened_parser() -> Any:
    """A hardened ``lxml`` parser: no entities, no network, no DTD, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


@dataclass(frozen=True)
class SignedDocument:
    """A parsed, not yet verified, enveloped-signature document."""

    #: DER certificates of ``ds:KeyInfo/ds:X509Data``, in document order (signer first).
    certificates: tuple[bytes, ...]
    data: bytes


def parse_signed_document(data: bytes, *, max_bytes: int, max_elements: int) -> SignedDocument:
    """Step 1 of the module docstring. Raises :class:`DecodeError`."""
    if len(data) > max_bytes:
        raise DecodeError("signed XML document too large")
    with foreign_errors(DecodeError, "XML document refused (DTD, entity or malformed)"):
        _SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    with foreign_errors(DecodeError, "malformed XML document"):
        root = etree.fromstring(data, parser=hardened_parser())
        signatures = []
        for count, element in enumerate(root.iter(), start=1):
            if count > max_elements:
                raise DecodeError("XML document has too many elements")
            if element.tag == _DS + "Signature":
                signatures.append(element)
        if len(signatures) != 1 or signatures[0].getparent() is not root:
            raise DecodeError("XML document needs one enveloped signature under its root")
        texts = [
            c.text or ""
            for c in signatures[0].iterfind(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
        ]
    if not texts:
        raise DecodeError("XML signature carries no certificate")
    try:
        ders = tuple(base64.b64decode(t.translate(_B64_SPACE), validate=True) for t in texts)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("XML signature certificate is not base64") from exc
    return SignedDocument(certificates=ders, data=bytes(data))


def _check_reference_shape(root: Any) -> None:
    """One Reference to the whole document; transforms: enveloped, then C14N."""
    signature = root.find(_DS + "Signature")
    references = signature.findall(f"{_DS}SignedInfo/{_DS}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise VerificationError("XML signature must cover the whole document")
    transforms = [t.get("Algorithm") for t in references[0].iterfind(f"{_DS}Transforms/*")]
    if len(transforms) != 2 or transforms[0] != ENVELOPED or transforms[1] not in C14N_METHODS:
        raise VerificationError("XML signature transforms not allowed")


def verify_enveloped(document: SignedDocument, signer: Certificate, *, now: float) -> bytes:
    """Step 2 of the module docstring; returns the canonical signed bytes.

    ``signer`` must already be verified up to a pinned root by the caller; its validity at
    ``now`` is checked again here. Raises :class:`VerificationError`.
    """
    with foreign_errors(VerificationError, "XML signature does not verify"):
        root = etree.fromstring(document.data, parser=hardened_parser())
        _check_reference_shape(root)
        config = SignatureConfiguration(
            location="./",
            expect_references=1,
            signature_methods=frozenset({SignatureMethod.ECDSA_SHA384}),
            digest_algorithms=frozenset({DigestAlgorithm.SHA384}),
            verification_time=datetime.datetime.fromtimestamp(now, datetime.UTC),
        )
        result = XMLVerifier().verify(
            document.data, x509_cert=signer._cert, parser=hardened_parser(), expect_config=config
        )
    if isinstance(result, list):  # expect_references=1 returns one result; fail closed
        raise VerificationError("XML signature must have one reference")
    return bytes(result.signed_data)
