"""The token issuer: Privacy Pass publicly verifiable tokens (RFC 9578, type 0x0002).

It authenticates devices, charges their quota and signs blinded token requests in batches; it
never sees the tokens it helps make, so it cannot link an issuance to a later redemption at the
gateway (DESIGN.md §1, §4). What it stores is listed in :mod:`privcloud.storage.issuer_store`;
the wire formats and the threat model are in docs/tokens.md.

Routes::

    GET  /.well-known/private-token-issuer-directory   the active keys (RFC 9578 §4)
    POST /v1/enrol/challenge                           a fresh attestation challenge (JSON)
    POST /v1/enrol                                     register a device key: Android hardware
                                                       key attestation, or (INSECURE, local
                                                       development cloud only) a one-time code
    POST /v1/token-batch                               signed issuance: a batch of N requests
                                                       (application/privcloud-token-batch-request)
                                                       or one (application/private-token-request)
    GET  /healthz, /metrics

:class:`IssuerCore` holds the procedures (blocking: SQLite and RSA); :class:`Issuer` is the
aiohttp shell that runs them on worker threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.crypto import Random, blindrsa, system_random
from privcloud.crypto.symmetric import sha256
from privcloud.deviceattest import (
    AndroidPolicy,
    AttestationStatusList,
    parse_status_list,
    verify_android_attestation,
)
from privcloud.errors import (
    AuthenticationError,
    ConfigError,
    DecodeError,
    DeviceAttestationError,
    PolicyError,
    PrivcloudError,
    ReplayError,
    UnavailableError,
    UnknownKeyError,
)
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    DirectoryKey,
    IssuerDirectory,
    IssuerKey,
    TokenRequest,
    b64url_encode,
    issuer_evaluate,
)
from privcloud.privacypass.directory import MEDIA_TYPE as DIRECTORY_MEDIA_TYPE
from privcloud.privacypass.directory import WELL_KNOWN_PATH
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    ENROL_CHALLENGE_PATH,
    ENROL_PATH,
    ENROLMENT_CHALLENGE_SIZE,
    EXPIRES_MEMBER,
    MEDIA_BATCH_REQUEST,
    MEDIA_BATCH_RESPONSE,
    AttestedEnrolment,
    DeviceAuth,
    Enrolment,
    decode_batch_request,
    decode_enrolment_request,
    encode_batch_response,
    verify_device_request,
)
from privcloud.privacypass.tokens import TOKEN_REQUEST_SIZE
from privcloud.services.http import Metrics, read_body, require_media_type
from privcloud.services.keylog import KeyLog
from privcloud.services.site import new_app
from privcloud.storage.issuer_store import IssuerStore, StoredKey
from privcloud.trust.keys import KeyStatement
from privcloud.wire import jsonio

log = logging.getLogger("privcloud.issuer")

#: RFC 9578 §8.2 media types of a single (unbatched) issuance.
MEDIA_TOKEN_REQUEST: Final = "application/private-token-request"  # noqa: S105
MEDIA_TOKEN_RESPONSE: Final = "application/private-token-response"  # noqa: S105
_DAY: Final = 24 * 3600
_CHALLENGE_LABEL: Final = b"privcloud enrolment challenge v1\x00"
#: Environment variable of a fault-injection hook for tests (INSECURE: never set it in
#: production): seconds the issuer stalls after a request's charge is committed and before it
#: signs, so that a test can kill it, or time a client out, at exactly that point.
INSECURE_TEST_STALL_ENV: Final = "PRIVCLOUD_INSECURE_TEST_ISSUER_STALL_AFTER_CHARGE_S"


@dataclass(frozen=True)
class IssuerConfig:
    """How an issuer behaves. Times are seconds.

    ``quota`` tokens per device per ``period_s``. Keys live ``key_lifetime_s``; the next key is
    published ``key_overlap_s`` before it becomes valid and becomes valid ``key_overlap_s``
    before the current one expires, so tokens of the old key stay spendable while clients move.
    ``public_url`` is the base of the issuer-request-uri the directory publishes (the path
    alone when unset; clients resolve it against the URL they fetched the directory from).
    """

    quota: int = 1000
    period_s: int = _DAY
    key_lifetime_s: int = 7 * _DAY
    key_overlap_s: int = _DAY
    enrolment_code_ttl_s: int = 7 * _DAY
    public_url: str | None = None
    rotation_check_s: float = 60.0
    #: What Android hardware key attestation the issuer accepts (docs/adr/0016).
    android_policy: AndroidPolicy = field(default_factory=AndroidPolicy)
    #: Attested enrolment needs the operator's attestation status list (revocation).
    require_status_list: bool = True
    #: INSECURE (local development cloud only): accept one-time operator codes.
    insecure_operator_codes: bool = False

    def __post_init__(self) -> None:
        if self.quota < 1 or self.period_s < 1:
            raise ConfigError("quota and period must be positive")
        if self.key_overlap_s < 1 or self.key_lifetime_s <= 2 * self.key_overlap_s:
            raise ConfigError("key lifetime must exceed twice the overlap")


@dataclass(frozen=True)
class _LiveKey:
    stored: StoredKey = field(repr=False)
    private_key: blindrsa.PrivateKey = field(repr=False)
    public: IssuerKey

    def usable(self, now: float) -> bool:
        return self.stored.not_before <= now < self.stored.expires


def nonce_expiry(timestamp: int) -> int:
    """When the issuer may forget a request nonce: after the request's timestamp window has
    closed (a replay is then refused as stale), rounded *up* to a whole
    :data:`~privcloud.limits.ISSUANCE_NONCE_EXPIRY_BUCKET_S`, so that the stored value does
    not record when the request was made (only its coarse bucket)."""
    bucket = limits.ISSUANCE_NONCE_EXPIRY_BUCKET_S
    closes = timestamp + int(limits.ISSUANCE_REQUEST_WINDOW_S) + 1
    return -(-closes // bucket) * bucket


def _challenge_hash(challenge: bytes) -> bytes:
    """The store key of an enrolment challenge (domain-separated from operator codes)."""
    return sha256(_CHALLENGE_LABEL + challenge)


def new_enrolment_code(store: IssuerStore, *, now: float, ttl_s: int) -> str:
    """Make a one-time device enrolment code valid for ``ttl_s`` seconds (operator side).

    How enrolment is authorised: the operator hands each device (at provisioning, or after
    its own account check) one such code; the device proves possession of its key and uses the
    code up. Only the code's SHA-256 is stored, so a copy of the database enrols nobody.
    """
    code = secrets.token_urlsafe(18)
    store.add_enrolment_code(sha256(code.encode()), int(now) + ttl_s)
    return code


class IssuerCore:
    """The issuer's procedures over its store. Blocking; thread-safe for concurrent calls
    (each store call is one transaction; the key cache is replaced whole)."""

    def __init__(
        self,
        store: IssuerStore,
        config: IssuerConfig | None = None,
        *,
        clock: Clock | None = None,
        rand: Random = system_random,
        attestation_status: AttestationStatusList | None = None,
    ) -> None:
        self.store = store
        self.config = config if config is not None else IssuerConfig()
        #: The operator's attestation status list (replace it whole to update it).
        self.attestation_status = attestation_status
        if self.config.insecure_operator_codes:
            log.warning("INSECURE: this issuer enrols devices with operator codes")
        if self.config.android_policy.insecure:
            log.warning("INSECURE: this issuer's Android attestation policy is insecure")
        if not self.config.android_policy.allowed_apps:
            log.warning("issuer: no allowed Android app: any app on a genuine device may enrol")
        self.clock = clock if clock is not None else SystemClock()
        self._rand = rand
        self._keys: tuple[_LiveKey, ...] = ()
        #: Test seam (fault injection; INSECURE, tests only): called with the tokens charged
        #: (0 for a retried batch) once step 4 of :meth:`issue` has committed, before signing.
        self.after_charge: Callable[[int], None] | None = None
        self.rotate()

    # --- keys ------------------------------------------------------------------------------

    def rotate(self) -> None:
        """Bring the key schedule up to date at the current time and reload the keys.

        1. Drop expired keys (the store forgets them, private part included).
        2. With no key valid now, make one valid from now.
        3. When the newest key enters its last two overlaps, make its successor, valid from
           one overlap before the newest key expires: published one overlap ahead, both valid
           for one overlap.
        Several processes sharing the store may race here; a key is only added while the
        newest key is still the one this process saw, so at most one successor appears.
        """
        now = int(self.clock.now())
        cfg = self.config
        self.store.delete_expired_keys(now)
        stored = self.store.keys()
        if not any(k.not_before <= now < k.expires for k in stored):
            self._add_key(stored, now, now + cfg.key_lifetime_s)
            stored = self.store.keys()
        newest = stored[0]
        if now >= newest.expires - 2 * cfg.key_overlap_s:
            start = newest.expires - cfg.key_overlap_s
            self._add_key(stored, start, start + cfg.key_lifetime_s)
            stored = self.store.keys()
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
        if self.store.add_key_if_newest(key, newest):
            log.info("issuer: new token key, valid from %d to %d", not_before, expires)

    def _load(self, stored: StoredKey) -> _LiveKey:
        for live in self._keys:
            if live.stored.key_id == stored.key_id:
                return live
        private_key = blindrsa.private_key_from_der(stored.private_key)
        return _LiveKey(stored, private_key, IssuerKey.from_public_key(private_key.public_key()))

    def directory_document(self) -> IssuerDirectory:
        """The RFC 9578 §4 directory: keys not yet expired, newest first."""
        uri = (self.config.public_url or "").rstrip("/") + BATCH_PATH
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

    def directory(self) -> bytes:
        """The directory as served, each key with its expiry in :data:`EXPIRES_MEMBER`."""
        document = jsonio.loads(self.directory_document().encode())
        for entry, key in zip(document["token-keys"], self._keys, strict=True):
            entry[EXPIRES_MEMBER] = key.stored.expires
        return json.dumps(document, separators=(",", ":")).encode("ascii")

    # --- enrolment ---------------------------------------------------------------------------

    def new_enrolment_code(self) -> str:
        """Make a one-time enrolment code (operator side); only its hash is stored."""
        return new_enrolment_code(
            self.store, now=self.clock.now(), ttl_s=self.config.enrolment_code_ttl_s
        )

    def new_challenge(self) -> tuple[bytes, int]:
        """A fresh attestation challenge and its expiry; kept (hashed) in the store's
        enrolment-code table, so that any issuer process sharing the store accepts it once."""
        challenge = secrets.token_bytes(ENROLMENT_CHALLENGE_SIZE)
        expires = int(self.clock.now()) + limits.ENROLMENT_CHALLENGE_TTL_S
        self.store.add_enrolment_code(_challenge_hash(challenge), expires)
        return challenge, expires

    def enrol(self, body: bytes) -> tuple[bytes, bool]:
        """Register the device of an enrolment request; returns ``(device id, attested)``.

        Raises :class:`DecodeError`/:class:`TooLargeError` for a malformed body,
        :class:`AuthenticationError` for a bad proof or code, :class:`ReplayError` for a key
        enrolled before, :class:`DeviceAttestationError` for a refused attestation and
        :class:`PolicyError` for an operator code on an issuer that refuses them.
        """
        request = decode_enrolment_request(body)
        if isinstance(request, AttestedEnrolment):
            return self._enrol_attested(request), True
        return self._enrol_with_code(request), False

    def _enrol_attested(self, request: AttestedEnrolment) -> bytes:
        """1. The chain verifies under the policy, for the challenge it carries.
        2. The attested key signed the enrolment message (proof of possession).
        3. The challenge is the issuer's, unused and current; the device id (the quota
           identity) derives from the attested key. A new device is registered and the
           challenge used up, atomically. For a device already registered the challenge is
           used up on its own (one atomic statement); then, with the same request key, the
           device is enrolled again (same id, same quota); with another it is refused
           (``replay``). Either way each challenge is accepted once: it enrols or re-enrols
           exactly one device.
        """
        now = self.clock.now()
        if self.attestation_status is None and self.config.require_status_list:
            raise UnavailableError("no attestation status list loaded")
        attested = verify_android_attestation(
            request.chain,
            challenge=request.challenge,
            at=now,
            policy=self.config.android_policy,
            status=self.attestation_status,
        )
        attested.verify_key_proof(request.key_proof, request.message)
        device_id = attested.device_id
        try:
            self.store.enrol(
                _challenge_hash(request.challenge), device_id, request.device_public_key, now
            )
            log.info("issuer: a device enrolled (attested)")
        except AuthenticationError as exc:
            raise DeviceAttestationError("challenge: unknown, used or expired") from exc
        except ReplayError:
            if not self.store.use_enrolment_code(_challenge_hash(request.challenge), now):
                raise DeviceAttestationError("challenge: unknown, used or expired") from None
            if self.store.device_key(device_id) != request.device_public_key:
                raise ReplayError("attested or request key enrolled with another") from None
            log.info("issuer: a device enrolled again (attested); its quota is kept")
        return device_id

    def _enrol_with_code(self, enrolment: Enrolment) -> bytes:
        """INSECURE (development clouds): a one-time operator code stands in for attestation."""
        if not self.config.insecure_operator_codes:
            raise PolicyError("operator enrolment codes are refused (device attestation required)")
        log.warning("INSECURE: a device enrols with an operator code, not attested")
        device_id = enrolment.device_id
        self.store.enrol(
            sha256(enrolment.code.encode()),
            device_id,
            enrolment.device_public_key,
            self.clock.now(),
        )
        log.info("issuer: a device enrolled")
        return device_id

    # --- issuance ----------------------------------------------------------------------------

    def issue(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | Callable[[str], str | None],
        body: bytes,
        *,
        batch: bool = True,
    ) -> tuple[bytes, int]:
        """Authenticate, charge and sign one issuance request; returns ``(body, charged)``.

        1. The request carries a device signature (else 401).
        2. The device is enrolled (else 401), and its signature covers this request within
           the time window (else 401).
        3. The body parses: 1..MAX_TOKEN_BATCH TokenRequests of type 0x0002 (400/413/415);
           each names (by its truncated key id) a key valid now (else 422).
        4. The request nonce is new (else ``replay``). A request with a batch id that this
           device's batch record holds with the same body hash is a retry: nothing is charged.
           The same id with another body is refused (``replay``). Otherwise the device's quota
           for this period covers the batch (else 429) and is charged, and the batch id and
           body hash are recorded with the charge, atomically (docs/adr/0011). Nothing is
           charged for a refused request.
        5. Each request is signed (RFC 9578 §6.2); the answers keep the request order. Blind
           RSA signing is deterministic, so a retry gets the same answer without any answer
           being stored. Should signing fail, an un-batched request's charge is given back; a
           batch keeps it, and its retry is answered.
        Nothing of the body (blinded messages) or of the answer is kept or logged, but for a
        batch its SHA-256 until the period after the charge's ends.

        Returns ``(body, tokens charged)``: 0 tokens for an answered retry.
        """
        now = self.clock.now()
        # 1-2. Who is asking, and did they sign exactly this?
        auth = DeviceAuth.from_headers(headers)
        public_key = self.store.device_key(auth.device_id)
        if public_key is None:
            raise AuthenticationError("unknown device")
        verify_device_request(
            public_key, auth, method, path, body, now=now, registered_id=auth.device_id
        )
        # 3. What is asked, and with which keys.
        if batch:
            requests = decode_batch_request(body)
        else:
            if len(body) != TOKEN_REQUEST_SIZE:
                raise DecodeError("token request has the wrong length")
            requests = [body]
        signers = [
            self._signer(TokenRequest.decode(r).truncated_token_key_id, now) for r in requests
        ]
        # 4. Replay, retry and quota, atomically.
        period = int(now) // self.config.period_s
        charged = self.store.admit(
            auth.device_id,
            auth.nonce,
            nonce_expires=nonce_expiry(auth.timestamp),
            period=period,
            count=len(requests),
            quota=self.config.quota,
            batch=None if auth.batch_id is None else (auth.batch_id, sha256(body)),
        )
        if self.after_charge is not None:
            self.after_charge(charged)
        # 5. Sign.
        try:
            answers = [
                issuer_evaluate(key.private_key, request, key.public.key_id, rand=self._rand)
                for key, request in zip(signers, requests, strict=True)
            ]
        except PrivcloudError:
            if auth.batch_id is None and charged:
                self.store.refund(auth.device_id, period, charged)
            raise
        body_out = encode_batch_response(answers) if batch else answers[0]
        return body_out, charged

    def _signer(self, truncated_key_id: int, now: float) -> _LiveKey:
        for key in self._keys:
            if key.public.truncated_key_id == truncated_key_id and key.usable(now):
                return key
        raise UnknownKeyError("token request names no current issuer key")

    def purge(self) -> None:
        """Drop expired nonces and codes, and quota and batch rows of past periods."""
        now = self.clock.now()
        self.store.purge(now, period=int(now) // self.config.period_s)


def _insecure_stall_hook() -> Callable[[int], None] | None:
    """The fault-injection hook named by :data:`INSECURE_TEST_STALL_ENV`, or None (the
    default). Loud: a warning when it is installed and on every use."""
    value = os.environ.get(INSECURE_TEST_STALL_ENV)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError as exc:
        raise ConfigError(f"{INSECURE_TEST_STALL_ENV} must be a number of seconds") from exc
    log.warning("INSECURE: issuer test hook %s=%s is set", INSECURE_TEST_STALL_ENV, value)

    def stall(charged: int) -> None:
        log.warning("INSECURE test hook: charged %d tokens, stalling %s s", charged, seconds)
        time.sleep(seconds)

    return stall


class Issuer:
    """The issuer service: an aiohttp shell over :class:`IssuerCore`."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        config: IssuerConfig | None = None,
        *,
        store: IssuerStore | None = None,
        clock: Clock | None = None,
        rand: Random = system_random,
    ) -> None:
        if store is None:
            if data_dir is None:
                raise ConfigError("the issuer needs a data directory or a store")
            store = IssuerStore(Path(data_dir) / "issuer.sqlite3")
        self.core = IssuerCore(store, config, clock=clock, rand=rand)
        self.core.after_charge = _insecure_stall_hook()
        self.metrics = Metrics("issuer")
        self._task: asyncio.Task[None] | None = None
        #: Where the issuer logs its keys' statements, and the issuer name they carry (set
        #: both to publish; a key made by rotation is logged a whole overlap before use).
        self.key_log: KeyLog | None = None
        self.issuer_name: str | None = None
        #: The operator's attestation status list file, read again on the maintenance timer
        #: when it changes (:meth:`reload_attestation_status`).
        self.attestation_status_path: Path | None = None
        self._status_stamp: tuple[int, int] | None = None

    def reload_attestation_status(self) -> bool:
        """Read the status list file again if it changed; returns whether it was replaced.
        A list that does not read or parse is refused (logged) and the previous one kept."""
        path = self.attestation_status_path
        if path is None:
            return False
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._status_stamp:
                return False
            if stat.st_size > limits.MAX_ATTESTATION_STATUS_LIST_BYTES:
                raise DecodeError("attestation status list too large")
            status = parse_status_list(path.read_bytes())
        except OSError:
            log.warning("issuer: attestation status list unreadable; the previous one is kept")
            return False
        except PrivcloudError as exc:
            log.warning("issuer: attestation status list refused (%s); kept the previous", exc.code)
            return False
        self.core.attestation_status = status
        self._status_stamp = stamp
        log.info("issuer: attestation status list loaded (%d entries)", len(status.entries))
        return True

    async def publish_key_statements(self) -> None:
        """Log the statement of every live key (idempotent); a no-op without ``key_log``."""
        if self.key_log is not None and self.issuer_name is not None:
            await self.key_log.publish(self.core.key_statements(self.issuer_name))

    @property
    def config(self) -> IssuerConfig:
        return self.core.config

    def app(self) -> web.Application:
        app = new_app("issuer", self.metrics)
        app.router.add_get(WELL_KNOWN_PATH, self.handle_directory, name="directory")
        app.router.add_post(ENROL_CHALLENGE_PATH, self.handle_challenge, name="enrol-challenge")
        app.router.add_post(ENROL_PATH, self.handle_enrol, name="enrol")
        app.router.add_post(BATCH_PATH, self.handle_issue, name="issue")
        app.router.add_get("/healthz", self.handle_health, name="health")
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self._task = asyncio.create_task(self._maintain())

    async def _stop(self, _: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _maintain(self) -> None:
        """Log the keys' statements (with ``key_log``), then rotate keys and drop expired
        nonces and codes, on a timer; statements of new keys are logged as they appear."""
        try:
            await self.publish_key_statements()
        except PrivcloudError as exc:
            log.warning("issuer: logging key statements failed: %s", exc.code)
        while True:
            await asyncio.sleep(self.config.rotation_check_s)
            try:
                await asyncio.to_thread(self.core.rotate)
                await asyncio.to_thread(self.core.purge)
                await asyncio.to_thread(self.reload_attestation_status)
                await self.publish_key_statements()
            except PrivcloudError as exc:
                log.warning("issuer: maintenance failed: %s", exc.code)

    async def handle_health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "issuer"})

    async def handle_directory(self, _: web.Request) -> web.Response:
        max_age = int(min(self.config.key_overlap_s / 4, 3600))
        return web.Response(
            body=self.core.directory(),
            content_type=DIRECTORY_MEDIA_TYPE,
            headers={"Cache-Control": f"max-age={max_age}"},
        )

    async def handle_challenge(self, _: web.Request) -> web.Response:
        challenge, expires = await asyncio.to_thread(self.core.new_challenge)
        return web.json_response(
            {"challenge": b64url_encode(challenge), "expires": expires},
            headers={"Cache-Control": "no-store"},
        )

    async def handle_enrol(self, request: web.Request) -> web.Response:
        require_media_type(request, "application/json")
        body = await read_body(request, limit=limits.MAX_ATTESTED_ENROLMENT_BODY_BYTES)
        device_id, attested = await asyncio.to_thread(self.core.enrol, body)
        self.metrics.counters["enrolments_attested" if attested else "enrolments_insecure"] += 1
        return web.json_response(
            {"device-id": b64url_encode(device_id), "attested": attested}, status=201
        )

    def _count_issued(self, work: asyncio.Future[tuple[bytes, int]]) -> None:
        if work.cancelled() or work.exception() is not None:
            return
        count = work.result()[1]
        self.metrics.counters["tokens_issued"] += count
        if not count:
            self.metrics.counters["batches_answered_again"] += 1

    async def handle_issue(self, request: web.Request) -> web.Response:
        media = require_media_type(request, MEDIA_BATCH_REQUEST, MEDIA_TOKEN_REQUEST)
        body = await read_body(request, limit=limits.MAX_TOKEN_BATCH_REQUEST_BYTES)
        batch = media == MEDIA_BATCH_REQUEST
        headers = {name.lower(): value for name, value in request.headers.items()}
        work = asyncio.ensure_future(
            asyncio.to_thread(
                self.core.issue, request.method, request.path, headers, body, batch=batch
            )
        )
        # Counted when the work ends, even if the device has gone (its handler is cancelled):
        # the tokens were charged and signed, and a retry's answer adds 0.
        work.add_done_callback(self._count_issued)
        answer, _ = await asyncio.shield(work)
        return web.Response(
            body=answer, content_type=MEDIA_BATCH_RESPONSE if batch else MEDIA_TOKEN_RESPONSE
        )


__all__ = [
    "INSECURE_TEST_STALL_ENV",
    "Issuer",
    "IssuerConfig",
    "IssuerCore",
    "new_enrolment_code",
    "nonce_expiry",
]
