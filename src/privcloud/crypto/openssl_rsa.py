"""RSASP1 (RFC 8017 §5.2.1), the raw RSA private-key operation, in the system's OpenSSL.

The blind signature of RFC 9474 is a raw RSA private-key operation on a peer's value, which
``cryptography`` does not offer (it always pads). OpenSSL does, as ``EVP_PKEY_sign`` with
``RSA_NO_PADDING``: CRT with its constant-time Montgomery exponentiation (``BN_FLG_CONSTTIME``,
assembly for 1024-bit halves), base blinding, and its own check of the CRT result. It is about
four times as fast as GMP's ``mpz_powm_sec`` (docs/adr/0020-openssl-raw-rsa-for-blind-signing.md),
so we call it through :mod:`ctypes` from ``libcrypto.so.3``, the library Python's own ``ssl``
module links.

Only this module touches the foreign library. Each key is loaded once (from its PKCS#8 DER) into
an ``EVP_PKEY`` that is kept, with the key object, in a small bounded cache; each call takes its
own reference to it (so an eviction never frees a key in use) and makes and frees its own
``EVP_PKEY_CTX``, so threads may sign at once. Any
OpenSSL failure raises :class:`InternalError` and clears this thread's OpenSSL error queue.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from privcloud.errors import InternalError

_RSA_NO_PADDING: Final = 3
_KEYS_KEPT: Final = 8


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        version = lib.OpenSSL_version_num
    except (OSError, AttributeError):  # not there, or OpenSSL 1.x (no OpenSSL_version_num)
        return None
    version.restype = ctypes.c_ulong
    if version() < 0x30000000:
        return None
    lib.d2i_AutoPrivateKey.restype = ctypes.c_void_p
    lib.d2i_AutoPrivateKey.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_long,
    ]
    lib.EVP_PKEY_free.argtypes = [ctypes.c_void_p]
    lib.EVP_PKEY_free.restype = None
    lib.EVP_PKEY_up_ref.argtypes = [ctypes.c_void_p]
    lib.EVP_PKEY_CTX_new.restype = ctypes.c_void_p
    lib.EVP_PKEY_CTX_new.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.EVP_PKEY_CTX_free.argtypes = [ctypes.c_void_p]
    lib.EVP_PKEY_CTX_free.restype = None
    lib.EVP_PKEY_sign_init.argtypes = [ctypes.c_void_p]
    lib.EVP_PKEY_CTX_set_rsa_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.EVP_PKEY_sign.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    lib.ERR_clear_error.argtypes = []
    lib.ERR_clear_error.restype = None
    return lib


_LIB: Final = _load()
_LOCK = threading.Lock()
#: id(key) -> (key, EVP_PKEY*): the key object is held so that its id stays its own.
_PKEYS: dict[int, tuple[RSAPrivateKey, int]] = {}


def available() -> bool:
    """Whether the system's OpenSSL 3 libcrypto could be loaded."""
    return _LIB is not None


def _pkey(lib: ctypes.CDLL, key: RSAPrivateKey) -> int:
    """The key's ``EVP_PKEY``, with a reference taken for the caller to free."""
    with _LOCK:
        held = _PKEYS.get(id(key))
        if held is not None and held[0] is key:
            if lib.EVP_PKEY_up_ref(held[1]) != 1:
                raise InternalError("signing key is not usable")
            return held[1]
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cursor = ctypes.c_char_p(der)
        pkey = lib.d2i_AutoPrivateKey(None, ctypes.byref(cursor), len(der))
        if not pkey:
            lib.ERR_clear_error()
            raise InternalError("signing key does not load")
        if len(_PKEYS) >= _KEYS_KEPT:
            _, oldest = _PKEYS.pop(next(iter(_PKEYS)))
            lib.EVP_PKEY_free(oldest)  # the cache's reference; callers hold their own
        _PKEYS[id(key)] = (key, int(pkey))
        if lib.EVP_PKEY_up_ref(pkey) != 1:
            raise InternalError("signing key is not usable")
        return int(pkey)


def rsasp1(key: RSAPrivateKey, message: bytes) -> bytes:
    """``s = m^d mod n`` for the big-endian ``message`` of exactly modulus-length bytes, which
    the caller has checked to be below n; returns s in modulus-length bytes.

    Raises :class:`InternalError` when OpenSSL is not available or the operation fails.
    """
    lib = _LIB
    if lib is None:
        raise InternalError("OpenSSL libcrypto 3 is not available")
    size = (key.key_size + 7) // 8
    if len(message) != size:
        raise InternalError("message has the wrong length")
    pkey = _pkey(lib, key)
    ctx = lib.EVP_PKEY_CTX_new(pkey, None)
    if not ctx:
        lib.EVP_PKEY_free(pkey)
        lib.ERR_clear_error()
        raise InternalError("signing failure")
    try:
        out = ctypes.create_string_buffer(size)
        out_len = ctypes.c_size_t(size)
        ok = (
            lib.EVP_PKEY_sign_init(ctx) == 1
            and lib.EVP_PKEY_CTX_set_rsa_padding(ctx, _RSA_NO_PADDING) == 1
            and lib.EVP_PKEY_sign(ctx, out, ctypes.byref(out_len), message, size) == 1
        )
        if not ok or out_len.value != size:
            lib.ERR_clear_error()
            raise InternalError("signing failure")
        return out.raw
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
        lib.EVP_PKEY_free(pkey)
