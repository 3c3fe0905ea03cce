"""The wallet's side of issuance: :class:`WalletIssuance`, the part of the token wallet below its
spending and refill timing (:class:`~privcloud.sdk.wallet.Wallet` builds on it; its module's doc
says who learns what).

What it holds, in memory and in its file (owner-only, 0600; the format is
:mod:`privcloud.sdk.wallet_state`'s), and its direct connection to the issuer: enrolment (an
operator's code, or Android hardware key attestation: :class:`DeviceAttester`), the issuer's keys
(its directory, read directly and through the relay, each key proven in the transparency log;
docs/adr/0009), and batches of blinded token requests, each kept pending, in the file first,
until the issuer answers or refuses it (docs/adr/0011).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.crypto import Random, system_random
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.x509 import load_certificate
from privcloud.deviceattest import attested_device_id
from privcloud.errors import (
    ConfigError,
    CryptoError,
    DecodeError,
    KeyConsistencyError,
    PeerError,
    PolicyError,
    PrivcloudError,
    ReplayError,
    UnavailableError,
    UsageError,
)
from privcloud.fileio import write_atomic
from privcloud.netio import LazySession, read_bounded
from privcloud.privacypass import b64url_decode, client_begin, client_finalize
from privcloud.privacypass.directory import WELL_KNOWN_PATH, IssuerDirectory
from privcloud.privacypass.issuance import (
    BATCH_ID_SIZE,
    ENROL_CHALLENGE_PATH,
    ENROL_PATH,
    ENROLMENT_CHALLENGE_SIZE,
    MEDIA_BATCH_REQUEST,
    PublishedKey,
    decode_batch_response,
    device_id_for,
    encode_attested_enrolment,
    encode_batch_request,
    encode_enrolment,
    issuer_name_for,
    parse_issuer_directory,
    sign_device_request,
)
from privcloud.sdk.keyproofs import KeyProofs
from privcloud.sdk.wallet_state import (
    DIRECTORY_MAX_AGE_S,
    HeldToken,
    PendingBatch,
    SpentToken,
    TokenPurse,
    WalletConfig,
    check_directory,
    decode_wallet_file,
    encode_wallet_file,
    key_set,
)
from privcloud.trust.keys import issuer_step
from privcloud.wire import jsonio
from privcloud.wire.jsonio import decode_error_body


class DeviceAttester(Protocol):
    """The device's hardware keystore (Android Keystore on a phone): one signing key in secure
    hardware, attested for a challenge."""

    def attest(self, challenge: bytes) -> Sequence[bytes]:
        """The key's attestation certificate chain (DER, leaf first) for ``challenge``."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with the attested key (ECDSA DER or RSA PKCS#1 v1.5, SHA-256)."""
        ...


def _challenge_from(payload: bytes) -> bytes:
    """The issuer's enrolment challenge from its JSON answer; :class:`DecodeError` otherwise."""
    answer = jsonio.loads(payload, max_bytes=limits.MAX_DIRECTORY_BYTES)
    text = answer.get("challenge") if isinstance(answer, dict) else None
    if not isinstance(text, str) or len(text) > 4 * ENROLMENT_CHALLENGE_SIZE:
        raise DecodeError("issuer sent no enrolment challenge")
    challenge = b64url_decode(text)
    if len(challenge) != ENROLMENT_CHALLENGE_SIZE:
        raise DecodeError("issuer sent no enrolment challenge")
    return challenge


class WalletIssuance:
    """A :class:`~privcloud.sdk.wallet.Wallet`'s state and its exchanges with the issuer (see
    the module's doc); constructed as :class:`~privcloud.sdk.wallet.Wallet` says."""

    def __init__(
        self,
        issuer_url: str,
        *,
        config: WalletConfig | None = None,
        device_key: Ed25519PrivateKey | None = None,
        enrolment_code: str | None = None,
        attester: DeviceAttester | None = None,
        path: str | Path | None = None,
        clock: Clock | None = None,
        rand: Random = system_random,
    ) -> None:
        self.config = config if config is not None else WalletConfig()
        self.issuer_url = issuer_url.rstrip("/")
        self.issuer_name = self.config.issuer_name or issuer_name_for(self.issuer_url)
        self.path = Path(path) if path is not None else None
        self._clock = clock if clock is not None else SystemClock()
        self._rand = rand
        self._enrolment_code = enrolment_code
        self._attester = attester
        #: The id an attested enrolment derived from the attested key (None: not attested).
        self._attested_id: bytes | None = None
        self._key_proofs: KeyProofs | None = None
        self._relay_copy: str | None = None
        self._purse = TokenPurse(self.config.challenge(self.issuer_name))
        self._keys: list[PublishedKey] = []
        self._request_url: str | None = None
        self._keys_at = float("-inf")
        self._issuer_http = LazySession(total=self.config.issuer_timeout_s)
        self._pending: PendingBatch | None = None
        self._lock = asyncio.Lock()
        self._refill: asyncio.Task[None] | None = None
        #: The error code of the last refill, when it failed (the issuer refused, or was out of
        #: reach): only the client's background admission schedules the next
        #: (:meth:`schedule_refill`). None: it did not fail.
        self._refill_failed: str | None = None
        self._jitter = secrets.SystemRandom()
        self.enrolled = False
        self.fetched = 0
        #: When the last batch came (Unix seconds; kept in the wallet file), None: never.
        self.fetched_at: int | None = None
        if self.path is not None and self.path.exists():
            self._device_key = self._load()
            if attester is not None:
                self.enrolled = False  # the attested id is not in the file: enrol again
        else:
            self._device_key = device_key or Ed25519PrivateKey.generate(rand)

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    @property
    def low_water(self) -> int:
        return self.config.low_water_mark

    @property
    def consistency_url(self) -> str | None:
        """The second path to the issuer's directory: the config's, else the client's relay's."""
        return self.config.consistency_url or self._relay_copy

    @property
    def spent(self) -> list[SpentToken]:
        """The last tokens handed out (key id and a hash of the nonce: the user's trail)."""
        return self._purse.spent

    @property
    def _tokens(self) -> list[HeldToken]:
        return self._purse.tokens

    @property
    def pending(self) -> int:
        """Tokens of the batch sent to the issuer and not yet answered (0: none); the next
        fetch sends it again before starting another."""
        return 0 if self._pending is None else len(self._pending)

    # --- state -----------------------------------------------------------------------------

    @property
    def device_id(self) -> bytes:
        """This device's id at the issuer: derived from the attested hardware key once an
        attested enrolment succeeded, else from the device (request) public key."""
        if self._attested_id is not None:
            return self._attested_id
        return device_id_for(self._device_key.public_bytes())

    @property
    def attested(self) -> bool:
        """Whether this wallet enrolled by hardware key attestation (False: operator code)."""
        return self._attested_id is not None

    def use_key_log(self, proofs: KeyProofs, *, relay_copy: str | None = None) -> None:
        """Prove issuer keys in the transparency log through ``proofs`` (the client's), and,
        unless the config names a ``consistency_url``, compare the issuer's directory with
        ``relay_copy`` (the client's relay's ``/issuer`` pass-through): a logged key the issuer
        shows this device alone would otherwise be proven, and used (docs/adr/0009)."""
        self._key_proofs = proofs
        self._relay_copy = relay_copy.rstrip("/") if relay_copy else None
        self._keys_at = float("-inf")  # keys read before were not proven: read them again

    @property
    def challenge(self) -> bytes:
        """The TokenChallenge the wallet's tokens answer (the one fixed for every device)."""
        return self._purse.challenge

    def __len__(self) -> int:
        """Tokens held that are usable now for the challenge."""
        return self._purse.usable(self._clock.now())

    # --- the issuer (direct connection only) ----------------------------------------------------

    @property
    def _http(self) -> aiohttp.ClientSession:
        return self._issuer_http.get()  # its own session: the issuer only ever sees this one

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        limit: int = limits.MAX_DIRECTORY_BYTES,
    ) -> tuple[int, bytes]:
        try:
            async with self._http.request(method, url, data=body or None, headers=headers) as r:
                payload = await read_bounded(r.content, limit)
                return r.status, payload
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("issuer unreachable") from exc

    async def enrol(self, code: str | None = None) -> None:
        """Register the device key with the issuer, once (a no-op when already enrolled).

        Raises :class:`AuthenticationError` for a bad or used code, :class:`UsageError` without
        a code.
        """
        if self.enrolled:
            return
        if self._attester is not None and code is None:
            await self._enrol_attested(self._attester)
            return
        code = code or self._enrolment_code
        if code is None:
            raise UsageError("the wallet is not enrolled and has no enrolment code")
        status, payload = await self._exchange(
            "POST",
            self.issuer_url + ENROL_PATH,
            body=encode_enrolment(self._device_key, code),
            headers={"Content-Type": "application/json"},
        )
        if status != 201:
            error = decode_error_body(payload, status, peer="issuer")
            if not isinstance(error, ReplayError):  # replay: this key was enrolled before
                raise error
        self.enrolled = True
        self._enrolment_code = None
        self._save()

    async def _enrol_attested(self, attester: DeviceAttester) -> None:
        """1. Take a fresh challenge from the issuer. 2. Have the hardware keystore attest its
        key for it. 3. Send the chain with both proofs; the issuer answers the device id, which
        must be the one derived from the attested key we sent."""
        status, payload = await self._exchange("POST", self.issuer_url + ENROL_CHALLENGE_PATH)
        if status != 200:
            raise decode_error_body(payload, status, peer="issuer")
        challenge = _challenge_from(payload)
        chain = list(attester.attest(challenge))
        if not chain:
            raise UsageError("the attester returned no certificate chain")
        expected = attested_device_id(load_certificate(chain[0]).public_key_info())
        body = encode_attested_enrolment(self._device_key, challenge, chain, attester.sign)
        status, payload = await self._exchange(
            "POST",
            self.issuer_url + ENROL_PATH,
            body=body,
            headers={"Content-Type": "application/json"},
        )
        if status != 201:
            raise decode_error_body(payload, status, peer="issuer")
        answer = jsonio.loads(payload, max_bytes=limits.MAX_DIRECTORY_BYTES)
        given = answer.get("device-id") if isinstance(answer, dict) else None
        if not isinstance(given, str) or b64url_decode(given) != expected:
            raise DecodeError("issuer answered another device id than the attested key's")
        self._attested_id = expected
        self.enrolled = True
        self._save()

    async def _read_directory(self, base_url: str) -> tuple[IssuerDirectory, list[PublishedKey]]:
        status, payload = await self._exchange("GET", base_url + WELL_KNOWN_PATH)
        if status != 200:
            raise decode_error_body(payload, status, peer="issuer")
        return parse_issuer_directory(payload)

    async def refresh_keys(self) -> None:
        """Fetch the issuer directory directly from the issuer and, with ``consistency_url``,
        over that second path too, at the same time.

        Raises :class:`PolicyError` when more than ``MAX_ISSUER_VALID_KEYS`` keys are valid at
        once, or when the two paths do not list the same keys (key partitioning), and
        :class:`DecodeError` for a directory that sends issuance to another origin.
        """
        if self.consistency_url is None:
            directory, keys = await self._read_directory(self.issuer_url)
        else:
            (directory, keys), (_, seen) = await asyncio.gather(
                self._read_directory(self.issuer_url),
                self._read_directory(self.consistency_url),
            )
            if key_set(keys) != key_set(seen):
                raise PolicyError(
                    "the issuer shows this device other keys than it shows through the relay"
                )
        now = self._clock.now()
        request_url = check_directory(self.issuer_url, directory, keys, now)
        listed = {k.key.key_id for k in keys}
        if self._key_proofs is not None:
            keys = await self._key_proofs.prove_issuer_keys(keys, self.issuer_name, now=now)
        elif not self.config.insecure_unlogged_keys:
            raise KeyConsistencyError(
                "issuer keys cannot be proven in the transparency log: give the wallet to a "
                "Client with ClientTrust"
            )
        self._keys, self._request_url = keys, request_url
        self._keys_at = now
        # Tokens of a key the issuer no longer lists (revoked, or dropped off the schedule at
        # an upgrade) would each be refused with a 401: drop them, so that a refill comes. Of
        # a key it lists, though no wallet of this release fetches under it (off the schedule)
        # or its proof failed, kept: the gateway takes them.
        held = self._purse.tokens
        if any(t.key_id not in listed for t in held):
            self._purse.tokens = [t for t in held if t.key_id in listed]
            self._save()

    def _current_key(self) -> PublishedKey | None:
        """The key to fetch tokens under: the one of the issuer key schedule's current step
        (its ``not_before`` the step's start, a skew ago), a rule over the clock and the
        logged keys alone; None when the wallet knows none. Not the directory's order (RFC
        9578 §4 lets the issuer rank its keys): the issuer knows which device fetches its
        directory, so an order of its choosing could give one device a key no other device
        uses, and the gateway would see that key's id on its every token (docs/adr/0009,
        decision 6). Nor the newest key known: an issuer that logged a step's key late would
        have made a window of the fetches between the two logs (decision 8); a missing key
        fails the fetch instead."""
        now = self._clock.now()
        # A step's key from KEY_STATEMENT_SKEW_S into the step (the one before is valid a day
        # longer): an issuer signs under a key from its start only, on its own clock.
        step = issuer_step(now - limits.KEY_STATEMENT_SKEW_S)
        due = [k for k in self._keys if k.not_before == step and k.valid_at(now)]
        return max(due, key=lambda k: k.key.key_id, default=None)

    async def fetch(self, count: int | None = None) -> int:
        """Fetch one batch of tokens for the current challenge; returns how many arrived.

        A batch sent before and left unanswered (a time-out, a lost connection, a crash of the
        app or of the issuer) is sent again first, and its tokens are the ones that arrive
        (``count`` then plays no part); a new batch starts only once none is pending. Enrols
        first when needed. Raises :class:`UnavailableError` when the issuer does not answer
        (the batch stays pending), :class:`RateLimitedError` when the device's quota is spent,
        :class:`AuthenticationError` when the issuer does not know the device.
        """
        async with self._lock:
            return await self._fetch(count)

    async def _fetch(self, count: int | None) -> int:
        await self.enrol()
        key = self._current_key()
        stale = self._clock.now() - self._keys_at > DIRECTORY_MAX_AGE_S
        if key is None or self._request_url is None or stale:
            await self.refresh_keys()
            key = self._current_key()
        if self._pending is not None and not self._pending.usable(self._clock.now()):
            self._set_pending(None)  # its key expired: its tokens would be refused anyway
        if self._pending is None:
            if key is None or self._request_url is None:
                raise UnavailableError("the issuer publishes no usable key")
            count = min(count or self.batch_size, limits.MAX_TOKEN_BATCH, self._purse.room)
            if count <= 0:
                return 0
            # 1. Blind N fresh token inputs (nonces and blinds stay on the device), under a
            #    fresh random batch id; kept (in the file first) until the issuer answers.
            begun = [client_begin(self.challenge, key.key, rand=self._rand) for _ in range(count)]
            body = encode_batch_request([request for request, _ in begun])
            batch_id = self._rand(BATCH_ID_SIZE)
            self._set_pending(PendingBatch(batch_id, key, body, tuple(s for _, s in begun)))
        return await self._send_pending()

    def _set_pending(self, pending: PendingBatch | None) -> None:
        """Keep (or drop) the pending batch; a new one reaches the file durably before it is
        sent, so that a crash of the app after the issuer charged it still finds it."""
        self._pending = pending
        self._save(durable=pending is not None)

    async def _send_pending(self) -> int:
        """Send the pending batch (again) and keep its tokens; returns how many arrived.

        2. Sign the request — batch id and body — with the device key (a fresh nonce and
           timestamp each attempt) and send it to the issuer.
        3. Unblind each answer; client_finalize verifies it under the issuer key.
        The batch stays pending after a time-out, a lost connection, a 5xx or a malformed
        answer (the issuer answers a retry again, charging once); it is dropped when the issuer
        refuses it (4xx: nothing was charged, or it can no longer be answered) or when its
        answer does not verify.
        """
        pending = self._pending
        assert pending is not None and self._request_url is not None
        path = urlsplit(self._request_url).path
        auth = sign_device_request(
            self._device_key,
            "POST",
            path,
            pending.body,
            now=self._clock.now(),
            rand=self._rand,
            batch_id=pending.batch_id,
            device_id=self.device_id,
        )
        status, payload = await self._exchange(
            "POST",
            self._request_url,
            body=pending.body,
            headers={"Content-Type": MEDIA_BATCH_REQUEST, **auth.headers()},
            limit=limits.MAX_TOKEN_BATCH_RESPONSE_BYTES,
        )
        if status != 200:
            error = decode_error_body(payload, status, peer="issuer")
            if isinstance(error, PeerError) and 400 <= status < 500 and status != 408:
                self._set_pending(None)  # refused: not charged, or no longer answerable
            raise error
        answers = decode_batch_response(payload, expected=len(pending))
        held = []
        try:
            for state, answer in zip(pending.states, answers, strict=True):
                token = client_finalize(state, answer)
                held.append(
                    HeldToken(
                        token.encode(),
                        token.token_key_id,
                        token.challenge_digest,
                        pending.key.expires,
                    )
                )
        except CryptoError:
            self._set_pending(None)
            raise
        # Tokens in and the pending batch out, in one write of the file.
        self._purse.add(held)
        self._pending = None
        self.fetched += len(held)
        self.fetched_at = int(self._clock.now())
        self._save()
        return len(held)

    # --- the file ------------------------------------------------------------------------------

    def _save(self, *, durable: bool = False) -> None:
        if self.path is None:
            return
        data = encode_wallet_file(
            self.issuer_url,
            self._device_key.seed_bytes(),
            self.enrolled,
            self._purse,
            self._pending,
            self._refill_failed,
            self.fetched_at,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # No fsync by default: a token a crash brings back is refused once (401), and a pending
        # batch a crash brings back is answered again. A new pending batch is written durably.
        write_atomic(self.path, data, durable=durable)

    def _load(self) -> Ed25519PrivateKey:
        """Read the wallet file back; raises :class:`ConfigError` when it does not load."""
        assert self.path is not None
        try:
            with self.path.open("rb") as fh:
                data = fh.read(limits.MAX_WALLET_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError("wallet file does not load") from exc
        stored = decode_wallet_file(data, self.issuer_url)
        self.enrolled, self._pending = stored.enrolled, stored.pending
        self._refill_failed, self.fetched_at = stored.refill_failed, stored.fetched_at
        self._purse.add(stored.tokens)
        try:
            return Ed25519PrivateKey.from_seed(stored.seed)
        except PrivcloudError as exc:
            raise ConfigError("wallet file does not load") from exc
