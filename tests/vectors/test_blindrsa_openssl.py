"""The blind signer's two RSASP1 paths — the system's OpenSSL (crypto/openssl_rsa.py, the one
used where it loads) and GMP's constant-time powm — against the RFC 9474 Appendix A vectors.

Vectors: ../shared/vectors/blind-rsa/test_vectors_rfc9474.json (RFC 9474 Appendix A, as shipped
by cloudflare/blindrsa-ts), 4096-bit key; plus fresh 2048-bit keys, the size Privacy Pass uses.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from privcloud.crypto import blindrsa, openssl_rsa
from privcloud.errors import DecodeError, InternalError
from vectors import shared_vector


def _vectors() -> list[dict[str, Any]]:
    return list(json.loads(shared_vector("blind-rsa", "test_vectors_rfc9474.json").read_text()))


def _key(v: dict[str, Any]) -> rsa.RSAPrivateKey:
    p, q, d, e = (int(v[name], 16) for name in ("p", "q", "d", "e"))
    return rsa.RSAPrivateNumbers(
        p=p, q=q, d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    ).private_key()  # fmt: skip


def test_openssl_libcrypto_3_is_loaded() -> None:
    # Without it the signer falls back to GMP, four times slower: fail rather than drift.
    assert openssl_rsa.available()


@pytest.mark.parametrize("path", ["openssl", "gmp"])
def test_every_vector_blind_signature_is_byte_exact_on_both_paths(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "gmp":
        monkeypatch.setattr(openssl_rsa, "available", lambda: False)
    for v in _vectors():
        blind_sig = blindrsa.blind_sign(_key(v), bytes.fromhex(v["blinded_msg"]))
        assert blind_sig.hex() == v["blind_sig"]


def test_both_paths_agree_on_fresh_2048_bit_keys() -> None:
    for _ in range(3):
        key = blindrsa.generate_private_key(2048)
        priv = key.private_numbers()
        m = int.from_bytes(os.urandom(256), "big") % priv.public_numbers.n
        ours = blindrsa._rsasp1_gmp(priv, m, os.urandom)
        assert openssl_rsa.rsasp1(key, m.to_bytes(256, "big")) == ours.to_bytes(256, "big")


def test_a_message_of_the_wrong_length_never_reaches_openssl() -> None:
    key = blindrsa.generate_private_key(2048)
    with pytest.raises(InternalError):
        openssl_rsa.rsasp1(key, bytes(255))
    with pytest.raises(DecodeError):  # and blind_sign refuses it first
        blindrsa.blind_sign(key, bytes(255))


def test_a_faulty_openssl_result_is_never_released(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Bellcore attack: a wrong CRT half leaks a factor of n; the s^e = m check stops it.
    key = blindrsa.generate_private_key(2048)
    monkeypatch.setattr(openssl_rsa, "rsasp1", lambda _key, m: (int.from_bytes(m, "big") + 1)
                        .to_bytes(256, "big"))  # fmt: skip
    blinded = (12345).to_bytes(256, "big")
    with pytest.raises(InternalError, match="signing failure"):
        blindrsa.blind_sign(key, blinded)


def test_many_keys_and_threads_sign_correctly() -> None:
    # More keys than the handle cache keeps, signed from several threads at once: every answer
    # must verify (an evicted handle freed while in use would crash or corrupt).
    keys = [blindrsa.generate_private_key(2048) for _ in range(10)]
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(20):
                key = keys[(offset + i) % len(keys)]
                n = key.public_key().public_numbers().n
                blindrsa.blind_sign(key, (int.from_bytes(os.urandom(256), "big") % n)
                                    .to_bytes(256, "big"))  # fmt: skip
        except BaseException as exc:  # collected for the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
