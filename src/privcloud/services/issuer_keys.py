"""The token issuer's key schedule: its RFC 9578 blind-RSA keys over the issuer store.

:class:`IssuerKeys` rotates the keys on the one schedule every issuer keeps (making each
successor one overlap ahead, dropping expired ones), keeps the live keys loaded, renders them
as the RFC 9578 §4 directory and as key statements for the transparency log (docs/adr/0009),
and finds the key a token request names.
Blocking (SQLite, RSA key generation); :class:`~privcloud.services.issuer_core.IssuerCore`
drives it, and the times it works with come from there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from privcloud import limits
from privcloud.crypto import blindrsa
from privcloud.errors import UnknownKeyError
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    DirectoryKey,
    IssuerDirectory,
    IssuerKey,
)
from privcloud.privacypass.issuance import BATCH_PATH, EXPIRES_MEMBER
from privcloud.storage.issuer_store import IssuerStore, StoredKey
from privcloud.trust.keys import KeyStatement, issuer_step, on_issuer_schedule
from privcloud.wire import jsonio

log = logging.getLogger("privcloud.issuer")


@dataclass(frozen=True)
class LiveKey:
    """One loaded token key: its stored row, its private key and its public form."""

    stored: StoredKey = field(repr=False)
    private_key: blindrsa.PrivateKey = field(repr=False)
    public: IssuerKey

    def usable(self, now: float) -> bool:
        return self.stored.not_before <= now < self.stored.expires


class IssuerKeys:
    """The issuer's token keys in ``store`` and the live ones, loaded (newest first).
    Thread-safe for concurrent calls: the loaded keys are replaced whole."""

    def __init__(self, store: IssuerStore) -> None:
        self._store = store
        self._keys: tuple[LiveKey, ...] = ()

    def rotate(self, now: int) -> None:
        """Bring the key schedule up to date at ``now`` and reload the keys. Every issuer keeps
        one schedule (``ISSUER_KEY_STEP_S``, ``ISSUER_KEY_LIFETIME_S``; docs/adr/0009,
        decision 8), which devices and the log audit check.

        1. Drop expired keys (the store forgets them, private part included), and keys off the
           schedule (made before it; devices of this release never fetch under them, and the
           gateway refuses their tokens once the directory no longer lists them).
        2. With no key valid now, make the key of the current step, valid from its start.
        3. When the newest key enters its last two overlaps, make its successor, the next
           step's key: published one overlap ahead, both valid for one overlap.
        Several processes sharing the store may race here; a key is only added while the
        newest key is still the one this process saw, so at most one successor appears.
        """
        self._store.delete_expired_keys(now)
        stored = self._store.keys()
        off = [k.key_id for k in stored if not on_issuer_schedule(k.not_before, k.expires)]
        if off:
            self._store.delete_keys(off)
            log.warning("issuer: %d token keys off the key schedule dropped", len(off))
            stored = self._store.keys()
        lifetime, step = limits.ISSUER_KEY_LIFETIME_S, limits.ISSUER_KEY_STEP_S
        if not any(k.not_before <= now < k.expires for k in stored):
            start = issuer_step(now)
            self._add_key(stored, start, start + lifetime)
            stored = self._store.keys()
        newest = stored[0]
        if now >= newest.expires - 2 * (lifetime - step):
            start = newest.not_before + step
            self._add_key(stored, start, start + lifetime)
            stored = self._store.keys()
        self._keys = tuple(self._load(k) for k in stored)

    def _add_key(self, stored: list[StoredKey], not_before: int, expires: int) -> None:
        taken = {k.key_id[-1] for k in stored}
        while True:  # truncated key ids (one byte) of live keys must differ (RFC 9578 §6.1)
            private_key = blindrsa.generate_private_key(2048)
            public = IssuerKey.from_public_key(private_key.public_key())
            if public.truncated_key_id not in taken:
                break
        key = StoredKey(
            public.key_id, blindrsa.private_key_to_der(private_key), not_before, expires
        )
        newest = stored[0].not_before if stored else None
        if self._store.add_key_if_newest(key, newest):
            log.info("issuer: new token key, valid from %d to %d", not_before, expires)

    def _load(self, stored: StoredKey) -> LiveKey:
        for live in self._keys:
            if live.stored.key_id == stored.key_id:
                return live
        private_key = blindrsa.private_key_from_der(stored.private_key)
        return LiveKey(stored, private_key, IssuerKey.from_public_key(private_key.public_key()))

    def directory_document(self, public_url: str | None) -> IssuerDirectory:
        """The RFC 9578 §4 directory: keys not yet expired, newest first; the
        issuer-request-uri is :data:`BATCH_PATH` under ``public_url`` (the path alone when
        unset)."""
        uri = (public_url or "").rstrip("/") + BATCH_PATH
        keys = tuple(
            DirectoryKey(TOKEN_TYPE_BLIND_RSA, k.public.spki, k.stored.not_before)
            for k in self._keys
        )
        return IssuerDirectory(uri, keys)

    def key_statements(self, issuer_name: str) -> list[KeyStatement]:
        """The key statement of every live key, for the transparency log (docs/adr/0009):
        devices use a key only once its statement is logged."""
        return [
            KeyStatement.for_token_key(
                issuer_name, k.public.spki, k.stored.not_before, k.stored.expires
            )
            for k in self._keys
        ]

    def directory(self, public_url: str | None) -> bytes:
        """The directory as served, each key with its expiry in :data:`EXPIRES_MEMBER`."""
        document = jsonio.loads(self.directory_document(public_url).encode())
        for entry, key in zip(document["token-keys"], self._keys, strict=True):
            entry[EXPIRES_MEMBER] = key.stored.expires
        return json.dumps(document, separators=(",", ":")).encode("ascii")

    def signer(self, truncated_key_id: int, now: float) -> LiveKey:
        """The live key with this truncated key id that is valid at ``now``.

        Raises :class:`UnknownKeyError` when there is none.
        """
        for key in self._keys:
            if key.public.truncated_key_id == truncated_key_id and key.usable(now):
                return key
        raise UnknownKeyError("token request names no current issuer key")


__all__ = ["IssuerKeys", "LiveKey"]
