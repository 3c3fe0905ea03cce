"""The gateway's OHTTP keys: a key ring with validity periods, rotated without a restart
(docs/adr/0009-key-consistency.md).

Every key has a validity ``[not_before, not_after)`` and a *key statement*
(:class:`~privcloud.trust.keys.KeyStatement`) that the operator appends to the transparency log
before devices may use it. Rotation without an outage:

1. ``privcloud gateway new-key`` adds a key to the ring file (valid from now, or from a given
   time) and, with ``--log``, appends its statement to the log;
2. every gateway process re-reads the ring file when it changes (``GATEWAY_KEY_RELOAD_S``) and
   from then on *offers* the new key first and *accepts* both;
3. devices move to the new key once its statement is in a checkpoint they trust; until then
   they keep using the old one, which the gateway still accepts;
4. the old key is dropped when its validity ends; a device still holding it gets RFC 9458 §5.3's
   key-mismatch answer (before the gateway sees its token) and retries with the new key.

Two KEMs side by side (docs/adr/0014-post-quantum-hpke.md): the gateway offers a classical
X25519 key and a hybrid post-quantum ML-KEM-768 + X25519 key, each with its own statement and
rotation; a new key is hybrid unless asked otherwise, and :func:`load_or_create` adds a key of
each KEM in ``GATEWAY_KEMS`` that has none offered (an older ring file gains a hybrid key).

File (``--key-file``, mode 0600, replaced atomically; several gateway processes share it)::

    {"version": 2, "keys": [{"key_id": n, "kem": 32, "private_key": base64,
                              "service": "privcloud.gateway", "not_before": t, "not_after": t},
                             ...]}
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from privcloud import limits
from privcloud.crypto.hpke import KemId, load_private_key
from privcloud.errors import ConfigError, PrivcloudError, UsageError
from privcloud.fileio import file_error, write_atomic
from privcloud.ohttp import GatewayKey
from privcloud.ohttp.keyconfig import MLKEM768_X25519, X25519, default_suites
from privcloud.trust.keys import DEFAULT_GATEWAY_SERVICE, KeyStatement
from privcloud.wire import jsonio

_VERSION = 2
#: Service name a gateway's statements carry unless configured: the inner requests' authority.
DEFAULT_SERVICE = DEFAULT_GATEWAY_SERVICE
#: The KEMs a gateway offers a key of: the hybrid post-quantum one and, for devices that do
#: not speak it yet, X25519.
GATEWAY_KEMS: tuple[KemId, ...] = (MLKEM768_X25519, X25519)


@dataclass(frozen=True)
class GatewayKeyRecord:
    """One OHTTP key of the gateway with its validity."""

    key: GatewayKey
    service: str
    not_before: int
    not_after: int

    @property
    def statement(self) -> KeyStatement:
        """The key statement to log for this key."""
        return KeyStatement.for_ohttp(
            self.service, self.key.config, self.not_before, self.not_after
        )

    def offered_at(self, now: float) -> bool:
        return self.not_before <= now < self.not_after


@dataclass(frozen=True)
class KeyRing:
    """The gateway's keys (sans-IO, immutable: a change makes a new ring)."""

    records: tuple[GatewayKeyRecord, ...] = ()

    def offered(self, now: float) -> list[GatewayKeyRecord]:
        """Keys to publish now: hybrid post-quantum keys first (what devices should prefer),
        then the newest (latest ``not_before``) first."""
        live = [r for r in self.records if r.offered_at(now)]
        # Ties (keys from the same second): the one added last first (sorted() is stable).
        return sorted(
            reversed(live), key=lambda r: (r.key.config.post_quantum, r.not_before), reverse=True
        )

    def decapsulation_keys(self, now: float) -> dict[int, GatewayKey]:
        """Keys requests may use now: every key not yet expired (one valid soon is accepted too,
        for a device whose clock runs ahead)."""
        return {r.key.key_id: r.key for r in self.records if now < r.not_after}

    def without_expired(self, now: float) -> KeyRing:
        return KeyRing(tuple(r for r in self.records if now < r.not_after))

    def with_new_key(
        self,
        service: str,
        not_before: int,
        lifetime_s: int,
        now: float,
        kem: KemId = MLKEM768_X25519,
    ) -> tuple[KeyRing, GatewayKeyRecord]:
        """This ring (less expired keys) with a fresh key of ``kem``; its key id differs from
        every live key's (RFC 9458 key ids are one byte)."""
        if not 0 < lifetime_s <= limits.MAX_KEY_STATEMENT_VALIDITY_S:
            raise UsageError("key lifetime must be 1 s .. MAX_KEY_STATEMENT_VALIDITY_S")
        ring = self.without_expired(now)
        taken = {r.key.key_id for r in ring.records}
        free = [i for i in range(256) if i not in taken]
        if not free:
            raise UsageError("no free OHTTP key id")
        key = GatewayKey.generate(key_id=secrets.choice(free), kem=kem)
        record = GatewayKeyRecord(key, service, not_before, not_before + lifetime_s)
        return KeyRing((*ring.records, record)), record

    def with_missing_keys(
        self,
        service: str,
        lifetime_s: int,
        now: float,
        kems: tuple[KemId, ...] = GATEWAY_KEMS,
    ) -> KeyRing:
        """This ring with a fresh key, valid from ``now``, for each of ``kems`` none of whose
        keys is offered at ``now``."""
        ring = self
        for kem in kems:
            if not any(r.key.config.kem == kem for r in ring.offered(now)):
                ring, _ = ring.with_new_key(service, int(now), lifetime_s, now, kem)
        return ring

    def encode(self) -> bytes:
        keys = [
            {
                "key_id": r.key.key_id,
                "kem": int(r.key.private_key.kem),
                "private_key": base64.b64encode(r.key.private_key.private_bytes()).decode(),
                "service": r.service,
                "not_before": r.not_before,
                "not_after": r.not_after,
            }
            for r in self.records
        ]
        return json.dumps({"version": _VERSION, "keys": keys}).encode("ascii")

    @classmethod
    def decode(cls, raw: bytes) -> KeyRing:
        """Raises :class:`ConfigError` (a local file: the operator's to fix)."""
        if len(raw) > limits.MAX_GATEWAY_KEY_FILE_BYTES:
            raise ConfigError("gateway key file too large: check --key-file")
        malformed = "gateway key file is malformed: check --key-file"
        try:
            doc = jsonio.loads(raw, max_bytes=limits.MAX_GATEWAY_KEY_FILE_BYTES)
            version, items = doc["version"], doc["keys"]
        except (KeyError, TypeError, PrivcloudError) as exc:
            raise ConfigError(malformed) from exc
        if version != _VERSION:
            raise ConfigError(
                "gateway key file is of another version: move it away, a new one is made"
            )
        try:
            records = tuple(_record(item) for item in items)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigError(malformed) from exc
        if len({r.key.key_id for r in records}) != len(records):
            raise ConfigError("gateway key file repeats a key id: check --key-file")
        return cls(records)


def _record(item: dict[str, object]) -> GatewayKeyRecord:
    malformed = ConfigError("gateway key file is malformed: check --key-file")
    kem_id, key_id = item["kem"], item["key_id"]
    service, not_before, not_after = item["service"], item["not_before"], item["not_after"]
    if not isinstance(key_id, int) or not 0 <= key_id <= 0xFF or not isinstance(kem_id, int):
        raise malformed
    if not isinstance(service, str) or not isinstance(not_before, int):
        raise malformed
    if not isinstance(not_after, int) or not_after <= not_before:
        raise malformed
    try:
        private = load_private_key(KemId(kem_id), base64.b64decode(str(item["private_key"])))
    except PrivcloudError as exc:
        raise malformed from exc
    key = GatewayKey(key_id, private, default_suites(private.kem))
    return GatewayKeyRecord(key, service, not_before, not_after)


# --- the ring file ---------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise writers of one ring file (gateway workers, ``new-key``) with a lock file."""
    try:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise file_error("lock", f"the gateway key file {path.name}", exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_ring(path: str | os.PathLike[str]) -> KeyRing:
    """The ring stored at ``path``; :class:`ConfigError` naming the fix when it cannot load."""
    try:
        return KeyRing.decode(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise ConfigError("gateway key file does not exist: check --key-file") from exc
    except OSError as exc:
        raise file_error("read", f"the gateway key file {Path(path).name}", exc) from exc


def _write_ring(path: Path, ring: KeyRing) -> None:
    """Atomically (:func:`~privcloud.fileio.write_atomic`): 0600, fsync'd, renamed."""
    try:
        write_atomic(path, ring.encode())
    except OSError as exc:
        raise file_error("write", f"the gateway key file {path.name}", exc) from exc


def load_or_create(
    path: str | os.PathLike[str],
    *,
    now: float,
    service: str = DEFAULT_SERVICE,
    lifetime_s: int = limits.OHTTP_KEY_LIFETIME_S,
    kems: tuple[KemId, ...] = GATEWAY_KEMS,
) -> KeyRing:
    """The ring at ``path``, with a key valid now added for each of ``kems`` that has none
    (created when the file does not exist). Safe for several processes starting together."""
    file = Path(path)
    with _locked(file):
        ring = read_ring(file) if file.exists() else KeyRing()
        grown = ring.with_missing_keys(service, lifetime_s, now, kems)
        if grown is not ring:
            ring = grown
            _write_ring(file, ring)
    return ring


def add_key(
    path: str | os.PathLike[str],
    *,
    now: float,
    not_before: int | None = None,
    service: str = DEFAULT_SERVICE,
    lifetime_s: int = limits.OHTTP_KEY_LIFETIME_S,
    kem: KemId = MLKEM768_X25519,
) -> GatewayKeyRecord:
    """Add a fresh key of ``kem`` (hybrid by default) to the ring at ``path`` (expired keys are
    dropped); return it. Running gateways pick it up within ``GATEWAY_KEY_RELOAD_S``. Raises
    :class:`ConfigError` for a hybrid key shorter than ``MIN_HYBRID_KEY_VALIDITY_S``: once
    logged, it would fail every later audit of the log (docs/adr/0033, decision 7)."""
    if kem.post_quantum and lifetime_s < limits.MIN_HYBRID_KEY_VALIDITY_S:
        raise ConfigError("a post-quantum gateway key must last a day at least (the log audit)")
    file = Path(path)
    with _locked(file):
        ring = read_ring(file) if file.exists() else KeyRing()
        start = int(now) if not_before is None else not_before
        ring, record = ring.with_new_key(service, start, lifetime_s, now, kem)
        _write_ring(file, ring)
    return record


__all__ = [
    "DEFAULT_SERVICE",
    "GATEWAY_KEMS",
    "GatewayKeyRecord",
    "KeyRing",
    "add_key",
    "load_or_create",
    "read_ring",
    "remove_key",
]


def remove_key(path: str | os.PathLike[str], key_id: int) -> None:
    """Take the key ``key_id`` out of the ring at ``path`` before its validity ends (a key
    thought compromised); devices still using it get the key-mismatch answer and move on."""
    file = Path(path)
    with _locked(file):
        ring = read_ring(file)
        _write_ring(file, KeyRing(tuple(r for r in ring.records if r.key.key_id != key_id)))
