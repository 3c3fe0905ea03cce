"""The token issuer's procedures (RFC 9578 publicly verifiable tokens, type 0x0002), without
HTTP: device enrolment and signed, charged issuance over the issuer store.

:class:`IssuerConfig` says how an issuer behaves; :class:`IssuerCore` holds the procedures
(blocking: SQLite and RSA; thread-safe), with its keys in
:class:`~privcloud.services.issuer_keys.IssuerKeys`. The aiohttp shell that serves them is
:mod:`privcloud.services.issuer`; what the issuer stores is listed in
:mod:`privcloud.storage.issuer_store`; the wire formats and the threat model are in
docs/tokens.md.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.crypto import Random, system_random
from privcloud.crypto.symmetric import sha256
from privcloud.deviceattest import (
    AndroidPolicy,
    AttestationStatusList,
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
)
from privcloud.privacypass import IssuerDirectory, TokenRequest, issuer_evaluate
from privcloud.privacypass.issuance import (
    ENROLMENT_CHALLENGE_SIZE,
    AttestedEnrolment,
    DeviceAuth,
    Enrolment,
    decode_batch_request,
    decode_enrolment_request,
    encode_batch_response,
    verify_device_request,
)
from privcloud.privacypass.tokens import TOKEN_REQUEST_SIZE
from privcloud.services.issuer_keys import IssuerKeys
from privcloud.storage.issuer_store import IssuerStore
from privcloud.trust.keys import KeyStatement

log = logging.getLogger("privcloud.issuer")

_DAY: Final = 24 * 3600
_CHALLENGE_LABEL: Final = b"privcloud enrolment challenge v1\x00"
#: Name of the key that authenticates the issuer's challenges (``IssuerStore.shared_secret``).
_CHALLENGE_KEY: Final = "enrolment-challenge-mac-v1"
#: A challenge: its expiry (u32, Unix seconds), random bytes, and a tag over both.
_CHALLENGE_EXPIRY_BYTES: Final = 4
_CHALLENGE_TAG_BYTES: Final = 16
_CHALLENGE_TAG_LABEL: Final = b"privcloud enrolment challenge tag v1\x00"
_SKEW: Final = limits.ISSUER_CLOCK_SKEW_S
ENROLMENT_CODE_BYTES: Final = 20  # 160 bits: 32 base32 characters, no padding


@dataclass(frozen=True)
class IssuerConfig:
    """How an issuer behaves. Times are seconds.

    ``quota`` tokens per device per ``period_s``. Keys follow the one schedule every issuer
    keeps (``limits.ISSUER_KEY_STEP_S``, ``ISSUER_KEY_LIFETIME_S``): the next key is published a
    day before it becomes valid and becomes valid a day before the current one expires, so
    tokens of the old key stay spendable while clients move.
    ``public_url`` is the base of the issuer-request-uri the directory publishes (the path
    alone when unset; clients resolve it against the URL they fetched the directory from).
    """

    quota: int = 1000
    period_s: int = _DAY
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

    The code is 160 random bits in lower-case base32 (a-z, 2-7): 32 characters that survive
    a command line, a URL and being read aloud. (URL-safe base64 began with "-" one time in
    64, and ``privcloud wallet enrol --code -x...`` then read the code as an option.)
    """
    code = base64.b32encode(secrets.token_bytes(ENROLMENT_CODE_BYTES)).decode("ascii").lower()
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
        self._keys = IssuerKeys(store)
        self._challenge_key = store.shared_secret(_CHALLENGE_KEY, secrets.token_bytes(32))
        #: Test seam (fault injection; INSECURE, tests only): called with the tokens charged
        #: (0 for a retried batch) once step 4 of :meth:`issue` has committed, before signing.
        self.after_charge: Callable[[int], None] | None = None
        self.rotate()

    # --- keys (the schedule is :class:`~privcloud.services.issuer_keys.IssuerKeys`) ---------

    def rotate(self) -> None:
        """Bring the key schedule up to date at the current time and reload the keys
        (:meth:`IssuerKeys.rotate <privcloud.services.issuer_keys.IssuerKeys.rotate>`)."""
        self._keys.rotate(int(self.clock.now()))

    def directory_document(self) -> IssuerDirectory:
        """The RFC 9578 §4 directory: keys not yet expired, newest first."""
        return self._keys.directory_document(self.config.public_url)

    def key_statements(self, issuer_name: str) -> list[KeyStatement]:
        """The key statement of every live key, for the transparency log (docs/adr/0009):
        devices use a key only once its statement is logged."""
        return self._keys.key_statements(issuer_name)

    def directory(self) -> bytes:
        """The directory as served, each key with its expiry in ``EXPIRES_MEMBER``."""
        return self._keys.directory(self.config.public_url)

    # --- enrolment ---------------------------------------------------------------------------

    def new_enrolment_code(self) -> str:
        """Make a one-time enrolment code (operator side); only its hash is stored."""
        return new_enrolment_code(
            self.store, now=self.clock.now(), ttl_s=self.config.enrolment_code_ttl_s
        )

    def new_challenge(self) -> tuple[bytes, int]:
        """A fresh attestation challenge and its expiry: the expiry, random bytes and a tag
        over both under a key the issuer processes of one store share. Nothing is written:
        anyone may ask for challenges, and each used to be a row kept for its lifetime
        (about 1,700 rows a second from one client, unbounded: a red-team review,
        2026-12-07). A challenge is written when an attested enrolment uses it, once."""
        expires = int(self.clock.now()) + limits.ENROLMENT_CHALLENGE_TTL_S
        random_size = ENROLMENT_CHALLENGE_SIZE - _CHALLENGE_EXPIRY_BYTES - _CHALLENGE_TAG_BYTES
        body = expires.to_bytes(_CHALLENGE_EXPIRY_BYTES, "big") + secrets.token_bytes(random_size)
        return body + self._challenge_tag(body), expires

    def _challenge_tag(self, body: bytes) -> bytes:
        tag = hmac.digest(self._challenge_key, _CHALLENGE_TAG_LABEL + body, "sha256")
        return tag[:_CHALLENGE_TAG_BYTES]

    def _challenge_expiry(self, challenge: bytes, now: float) -> int:
        """The expiry of ``challenge``, one this issuer made and still current. Raises
        :class:`DeviceAttestationError` otherwise (the text a used one gets too)."""
        body, tag = challenge[:-_CHALLENGE_TAG_BYTES], challenge[-_CHALLENGE_TAG_BYTES:]
        expires = int.from_bytes(body[:_CHALLENGE_EXPIRY_BYTES], "big")
        if (
            len(challenge) != ENROLMENT_CHALLENGE_SIZE
            or not hmac.compare_digest(tag, self._challenge_tag(body))
            or not now < expires <= now + limits.ENROLMENT_CHALLENGE_TTL_S + _SKEW
        ):
            raise DeviceAttestationError("challenge: unknown, used or expired")
        return expires

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
        """0. The challenge is one an issuer of this store made (its tag) and current: checked
           first, reading nothing.
        1. The chain verifies under the policy, for the challenge it carries.
        2. The attested key signed the enrolment message (proof of possession).
        3. The challenge is unused (its first use writes it); the device id (the quota
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
        expires = self._challenge_expiry(request.challenge, now)
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
                _challenge_hash(request.challenge),
                device_id,
                request.device_public_key,
                now,
                challenge_expires=expires,
            )
            log.info("issuer: a device enrolled (attested)")
        except AuthenticationError as exc:
            raise DeviceAttestationError("challenge: unknown, used or expired") from exc
        except ReplayError:
            challenge = _challenge_hash(request.challenge)
            if not self.store.use_enrolment_code(challenge, now, challenge_expires=expires):
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
            self._keys.signer(TokenRequest.decode(r).truncated_token_key_id, now) for r in requests
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

    def purge(self) -> None:
        """Drop expired nonces and codes, and quota and batch rows of past periods."""
        now = self.clock.now()
        self.store.purge(now, period=int(now) // self.config.period_s)


__all__ = [
    "IssuerConfig",
    "IssuerCore",
    "new_enrolment_code",
    "nonce_expiry",
]
