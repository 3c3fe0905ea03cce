"""A witness's key file: Ed25519 (cosignature type 0x04) or ML-DSA-44 (type 0x06).

An Ed25519 key file is the log's format (:func:`~privcloud.storage.tlog_store.load_or_create_key`,
unchanged, so existing witnesses keep their key). An ML-DSA-44 key file is one line,
``privcloud-ml-dsa-44-seed-v1 <base64 of the 32-byte FIPS 204 seed>``, written the same way:
atomically, created once, owner-only (0600); a file readable by others is refused.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Final

from privcloud import limits
from privcloud.crypto.signing import Ed25519PrivateKey, MLDSA44PrivateKey
from privcloud.errors import ConfigError, UsageError
from privcloud.fileio import file_error, write_atomic
from privcloud.storage.tlog_store import load_key, load_or_create_key

#: The key types a witness can have (``privcloud witness --key-type``).
KEY_TYPE_ED25519: Final = "ed25519"
KEY_TYPE_MLDSA44: Final = "ml-dsa-44"
WITNESS_KEY_TYPES: Final = (KEY_TYPE_ED25519, KEY_TYPE_MLDSA44)

_MLDSA_HEADER: Final = "privcloud-ml-dsa-44-seed-v1 "
#: Longest key file we read (an ML-DSA-44 line is 73 bytes).

WitnessPrivateKey = Ed25519PrivateKey | MLDSA44PrivateKey


def key_type_of(key: WitnessPrivateKey) -> str:
    """``"ed25519"`` or ``"ml-dsa-44"``."""
    return KEY_TYPE_MLDSA44 if isinstance(key, MLDSA44PrivateKey) else KEY_TYPE_ED25519


def load_or_create_witness_key(
    path: str | os.PathLike[str], key_type: str | None = None, *, role: str = "the witness key"
) -> tuple[WitnessPrivateKey, bool]:
    """Load the witness key at ``path``, or create one of ``key_type`` (default Ed25519).

    An existing file keeps its type: with ``key_type`` None it is loaded whatever its type;
    with a ``key_type`` that differs from the file's, :class:`ConfigError` (a witness never
    changes its key silently: clients pin it). Returns ``(key, created)``.
    """
    if key_type is not None and key_type not in WITNESS_KEY_TYPES:
        raise ConfigError(f"unknown witness key type: use one of {', '.join(WITNESS_KEY_TYPES)}")
    p = Path(path)
    if key_type == KEY_TYPE_MLDSA44:
        created = MLDSA44PrivateKey.generate()
        text = _MLDSA_HEADER + base64.b64encode(created.seed_bytes()).decode() + "\n"
        try:
            write_atomic(p, text.encode("ascii"), replace=False)
        except FileExistsError:
            pass
        except OSError as exc:
            raise file_error("create", f"{role} {p.name}", exc) from exc
        else:
            return created, True
        key: WitnessPrivateKey = load_witness_key(p, role=role)
        fresh = False
    elif _is_mldsa_file(p):
        key, fresh = load_witness_key(p, role=role), False
    else:
        key, fresh = load_or_create_key(p, role=role)
    if key_type is not None and key_type_of(key) != key_type:
        raise ConfigError(
            f"{role} {p.name} is an {key_type_of(key)} key, not {key_type}: "
            f"use --key-type {key_type_of(key)} or another data directory"
        )
    return key, fresh


def load_witness_key(
    path: str | os.PathLike[str], *, role: str = "the witness key"
) -> WitnessPrivateKey:
    """Load a witness key file of either type; :class:`ConfigError` naming ``role``, the file's
    name and the fault if it is missing, unreadable, malformed or readable by others."""
    p = Path(path)
    if not _is_mldsa_file(p):
        return load_key(p, role=role)
    what = f"{role} {p.name}"
    try:
        info = p.stat()
        with p.open("rb") as fh:
            raw = fh.read(limits.MAX_WITNESS_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise file_error("read", what, exc) from exc
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"{what} is readable by others: chmod 600 it")
    text = raw.decode("ascii", errors="replace")
    if len(raw) > limits.MAX_WITNESS_KEY_FILE_BYTES or not text.endswith("\n"):
        raise ConfigError(f"{what} is malformed (not a privcloud ML-DSA-44 key file)")
    try:
        seed = base64.b64decode(text[len(_MLDSA_HEADER) : -1], validate=True)
        return MLDSA44PrivateKey.from_seed(seed)
    except (binascii.Error, ValueError, UsageError) as exc:
        raise ConfigError(f"{what} is malformed (not a privcloud ML-DSA-44 key file)") from exc


def _is_mldsa_file(path: Path) -> bool:
    """Whether ``path`` starts with the ML-DSA-44 header (False if it cannot be read: the
    Ed25519 loader then reports why)."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(_MLDSA_HEADER)) == _MLDSA_HEADER.encode("ascii")
    except OSError:
        return False
