"""The gateway's OHTTP key on disk, so that several gateway processes (``privcloud gateway
--workers N``, or replicas behind a load balancer) answer with one key configuration.

File: JSON ``{"version": 1, "key_id": n, "kem": 32, "private_key": base64}``, mode 0600, written
once, atomically (created with ``O_EXCL``: a second writer loses and reads the first's key).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from privcloud import limits
from privcloud.crypto.hpke import KemId, load_private_key
from privcloud.errors import ConfigError, PrivcloudError
from privcloud.ohttp import GatewayKey
from privcloud.ohttp.keyconfig import DEFAULT_SUITES

_VERSION = 1


def load_or_create(path: str | os.PathLike[str]) -> GatewayKey:
    """The key stored at ``path``, created there first if the file does not exist.

    Raises :class:`ConfigError` naming the fix for an unreadable or malformed file.
    """
    file = Path(path)
    if not file.exists():
        key = GatewayKey.generate(key_id=int.from_bytes(os.urandom(1), "big"))
        doc = {
            "version": _VERSION,
            "key_id": key.key_id,
            "kem": int(key.private_key.kem),
            "private_key": base64.b64encode(key.private_key.private_bytes()).decode("ascii"),
        }
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create(file)  # another worker wrote it first: use theirs
        except OSError as exc:
            raise ConfigError("cannot create the gateway key file: check --key-file") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError("gateway key file is unreadable: check --key-file") from exc
    if len(raw) > limits.MAX_GATEWAY_KEY_FILE_BYTES:
        raise ConfigError("gateway key file too large: check --key-file")
    try:
        doc = json.loads(raw)
        version, kem_id, key_id = doc["version"], doc["kem"], doc["key_id"]
        private_bytes = base64.b64decode(doc["private_key"], validate=True)
        private = load_private_key(KemId(kem_id), private_bytes)
    except (ValueError, KeyError, TypeError, binascii.Error, PrivcloudError) as exc:
        raise ConfigError("gateway key file is malformed: check --key-file") from exc
    if version != _VERSION or not isinstance(key_id, int) or not 0 <= key_id <= 0xFF:
        raise ConfigError("gateway key file is malformed: check --key-file")
    return GatewayKey(key_id, private, DEFAULT_SUITES)
