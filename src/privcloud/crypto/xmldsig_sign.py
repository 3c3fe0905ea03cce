"""Sign XML documents with an enveloped signature — for tests and development tooling only.

Synthetic signed RIMs (a test RIM CA's SWID tags) let tests reach the measurement and policy
paths of the GPU verifier without NVIDIA's keys. Nothing on a verification path imports this
module. The shape is the one :func:`privcloud.crypto.xmldsig.verify_enveloped` accepts: one
reference to the whole document, enveloped-signature then C14N 1.1, ECDSA P-384 / SHA-384, the
signer chain in ``ds:KeyInfo/ds:X509Data``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

from privcloud.crypto.ecdsa import Curve, EcPrivateKey
from privcloud.crypto.x509 import Certificate
from privcloud.crypto.xmldsig import hardened_parser
from privcloud.errors import UsageError

_C14N11 = "http://www.w3.org/2006/12/xml-c14n11"


def sign_enveloped(document: bytes, key: EcPrivateKey, chain: Sequence[Certificate]) -> bytes:
    """``document`` with an enveloped signature by ``key`` (P-384), ``chain`` (signer first) in
    its KeyInfo. For tests and tooling only."""
    if key.curve is not Curve.P384 or not chain:
        raise UsageError("a P-384 key and its certificate chain are needed")
    root = etree.fromstring(document, parser=hardened_parser())
    pems = [c._cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain]
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="ecdsa-sha384",
        digest_algorithm="sha384",
        c14n_algorithm=_C14N11,
    )
    signed = signer.sign(root, key=key._key, cert=pems)
    return bytes(etree.tostring(signed))
