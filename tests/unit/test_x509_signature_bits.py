"""privcloud.crypto.x509 refuses a certificate whose signatureValue BIT STRING declares unused
bits: ``cryptography`` loads it (when the declared padding bits happen to be zero), so without
the check one signed certificate would have a second encoding, and a second fingerprint."""

from __future__ import annotations

import base64

import pytest

from attest_synthetic import T0
from privcloud.crypto.der import der_header
from privcloud.crypto.x509 import Curve, EcPrivateKey, load_certificate, load_certificates
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.errors import DecodeError


def _signed_with_an_even_last_byte() -> tuple[bytes, int]:
    """A self-signed certificate whose signature's last byte is even (so one unused bit would
    be a zero pad, which ``cryptography`` accepts), and where its BIT STRING's content starts."""
    for _ in range(64):
        key = EcPrivateKey.generate(Curve.P256)
        der = build_certificate(
            CertificateRequest("unused bits", T0 - 60, T0 + 60), key, issuer=None, issuer_key=key
        ).der
        _, start, _ = der_header(der, 0)
        _, _, pos = der_header(der, start)
        _, _, pos = der_header(der, pos)
        tag, value_start, value_end = der_header(der, pos)
        assert tag == 0x03 and der[value_start] == 0
        if der[value_end - 1] % 2 == 0:
            return der, value_start
    raise AssertionError("no even last signature byte in 64 signatures")


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def test_certificate_with_nonzero_unused_bits_in_signature_is_refused() -> None:
    der, at = _signed_with_an_even_last_byte()
    assert load_certificate(der).der == der
    second_encoding = der[:at] + b"\x01" + der[at + 1 :]
    with pytest.raises(DecodeError, match=r"^certificate signature has unused bits$"):
        load_certificate(second_encoding)
    with pytest.raises(DecodeError, match=r"^certificate signature has unused bits$"):
        load_certificates(_pem(second_encoding))


def test_certificate_without_a_signature_bit_string_is_refused() -> None:
    der, at = _signed_with_an_even_last_byte()
    as_octets = der[: at - 2] + b"\x04" + der[at - 1 :]  # the BIT STRING's tag made OCTET STRING
    with pytest.raises(DecodeError):
        load_certificate(as_octets)
