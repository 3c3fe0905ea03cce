"""HKDF (``privcloud.crypto.symmetric``) against RFC 5869's own test cases, and its one-block
shortcut against ``cryptography``'s HKDF-Expand.

Vectors: RFC 5869 Appendix A.1 (SHA-256, basic) and A.3 (SHA-256, empty salt and info),
copied from the RFC text (https://www.rfc-editor.org/rfc/rfc5869#appendix-A).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from privcloud.crypto.symmetric import KdfId, hkdf_expand, hkdf_extract

RFC5869 = [
    (  # A.1
        "0b" * 22,
        "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (  # A.3
        "0b" * 22,
        "",
        "",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(("ikm", "salt", "info", "length", "prk", "okm"), RFC5869)
def test_rfc5869_vectors(ikm: str, salt: str, info: str, length: int, prk: str, okm: str) -> None:
    got_prk = hkdf_extract(KdfId.HKDF_SHA256, bytes.fromhex(salt), bytes.fromhex(ikm))
    assert got_prk.hex() == prk
    assert hkdf_expand(KdfId.HKDF_SHA256, got_prk, bytes.fromhex(info), length).hex() == okm
    # Every prefix of the output, one block or more, is the same key stream.
    for size in (1, 12, 16, 31, 32, 33, 41):
        assert (
            hkdf_expand(KdfId.HKDF_SHA256, got_prk, bytes.fromhex(info), size).hex()
            == (okm[: 2 * size])
        )


@pytest.mark.parametrize("kdf", [KdfId.HKDF_SHA256, KdfId.HKDF_SHA384, KdfId.HKDF_SHA512])
@pytest.mark.parametrize("length", [0, 1, 12, 16, 32, 48, 64, 65, 100])
def test_expand_agrees_with_cryptography(kdf: KdfId, length: int) -> None:
    algorithm = {32: hashes.SHA256(), 48: hashes.SHA384(), 64: hashes.SHA512()}[kdf.hash_size]
    prk, info = bytes(range(kdf.hash_size)), b"privcloud envelope v1 request key"
    expected = HKDFExpand(algorithm, length, info).derive(prk) if length else b""
    assert hkdf_expand(kdf, prk, info, length) == expected
