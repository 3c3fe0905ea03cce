"""The device's token wallet: enrols with the issuer once, fetches anonymous tokens in batches,
keeps them on the device and hands out one per request (docs/trust-model.md#anonymous-tokens,
docs/tokens.md).

Who learns what:

* The **issuer** is contacted *directly* by the wallet, on its own HTTP session: it learns the
  device id (requests are signed with the device key) and how many tokens it took, never which
  requests they pay for (the token requests it signs are blinded).
* The **relay and gateway** only ever see a token inside the OHTTP-encapsulated request the
  :class:`~privcloud.sdk.Client` sends. The device key, the device id and the issuer's address
  never travel that path. The only thing the wallet itself asks the relay for (its
  ``consistency_url``) is the issuer's *public* directory, passed through unchanged.

Key consistency (docs/adr/0009): an issuer key is used only when its key statement is in the
trusted log (:mod:`privcloud.sdk.keyproofs`, attached by the :class:`~privcloud.sdk.Client`),
at most ``MAX_ISSUER_VALID_KEYS`` at once, and the directory must be the same directly and
through the relay (:class:`PolicyError`): through ``consistency_url``, by default the relay of the
client the wallet is given to (``{relay_url}/issuer``), so the issuer cannot show one device a
logged key other devices are not shown.

Challenges: the wallet answers only the one challenge fixed for every device (token type 2, its
pinned issuer name, an empty redemption context, its pinned origin): a 401 with any other is
refused (:class:`TaggableChallengeError`) and the tokens held are kept (docs/tokens.md).

Timing: refills start in the background below ``low_water`` (a quarter of a batch by default),
after a random delay of :data:`REFILL_DELAY_S`, so an issuance seldom falls right before or after
a redemption; only a wallet that runs truly empty fetches on the request path.

Tokens are bearer credentials: kept in memory, and in ``path`` (owner-only, 0600) when a file is
given; a token is taken out of the wallet before it is sent and never offered twice, even when
the request fails.

Charged only for tokens it receives (docs/adr/0011): each batch gets a random batch id, signed
with the request, and is kept as a :class:`~privcloud.sdk.wallet_state.PendingBatch` — written
to the file *before* it is sent — until the issuer answers or refuses it. A time-out, a lost
connection or a 5xx leaves it pending, and the next fetch (or the next run of the app) sends the
same id and body again before any new batch; the issuer charges a batch id once and answers its
retries again.

This module times the refills and hands tokens out; :mod:`privcloud.sdk.wallet_issuance` holds
the wallet's state and its exchanges with the issuer (enrolment, keys, batches), and
:mod:`privcloud.sdk.wallet_state` its I/O-free parts.
"""

from __future__ import annotations

import asyncio

from privcloud import limits
from privcloud.errors import NoTokenLeftError, PrivcloudError, UnavailableError
from privcloud.privacypass import encode_authorization
from privcloud.sdk.wallet_issuance import DeviceAttester, WalletIssuance
from privcloud.sdk.wallet_state import (
    REFILL_DELAY_S,
    HeldToken,
    SpentToken,
    WalletConfig,
    fixed_challenge_key,
)


class Wallet(WalletIssuance):
    """Anonymous tokens for one gateway (origin), from one issuer.

    ``issuer_url`` is the issuer's base URL (reached directly, never through the relay);
    ``config`` how the wallet behaves (:class:`~privcloud.sdk.wallet_state.WalletConfig`);
    ``attester`` the device's hardware keystore: with it the wallet enrols by Android hardware
    key attestation (docs/tokens.md#attested-enrolment) and its id at the issuer derives from
    the attested key. Without it, ``enrolment_code`` is the operator's one-time code for the
    first :meth:`enrol` (INSECURE: only development clouds accept codes). With ``path``, the
    device key, enrolment state and tokens persist in that file (0600); the attested id does
    not, so an attested wallet enrols again after a restart (same key: same id, same quota).

    Issuer keys are proven in the transparency log through the log of the
    :class:`~privcloud.sdk.Client` the wallet is given to (:meth:`use_key_log`). A wallet used
    on its own refuses to fetch (:class:`KeyConsistencyError`) unless the config sets
    ``insecure_unlogged_keys``: then it trusts whatever keys the issuer shows it — INSECURE.

    What it holds and its exchanges with the issuer are
    :class:`~privcloud.sdk.wallet_issuance.WalletIssuance`'s; here, refills and spending.
    """

    # --- refills -------------------------------------------------------------------------------

    @property
    def refill_pending(self) -> bool:
        """Whether a background refill is scheduled or running."""
        return self._refill is not None and not self._refill.done()

    async def settle_refill(self) -> None:
        """Wait for the background refill a request set off, if one is pending: for a process
        about to exit, whose :meth:`close` would cancel it. Its next start would then find the
        wallet empty and fetch at its first admission, right before that run's request,
        where the issuer and the gateway tie the two (a review: the command line did so at
        every batch). A refill's failure is noted, never raised."""
        if self._refill is not None:
            await asyncio.gather(self._refill, return_exceptions=True)

    async def close(self) -> None:
        if self._refill is not None:
            self._refill.cancel()
            await asyncio.gather(self._refill, return_exceptions=True)
            self._refill = None
        await self._issuer_http.close()

    async def prefetch(self) -> int:
        """Fetch a batch when fewer than ``low_water`` usable tokens are left."""
        if len(self) >= self.low_water:
            return 0
        return await self.fetch()

    async def prefetch_or_note(self) -> None:
        """:meth:`prefetch`, a failure of which is noted as a failed refill's (the next is the
        client's background admission's to schedule, :meth:`schedule_refill`; a request
        finding the wallet empty names its code) rather than raised. A client's first
        admission fills its wallet so."""
        try:
            await self.prefetch()
        except PrivcloudError as exc:
            self._note_refill(exc.code)
        else:
            self._note_refill(None)  # (a review: the mark outlived a successful fill)

    # --- spending ------------------------------------------------------------------------------

    def _take(self) -> HeldToken | None:
        return self._purse.take(self._clock.now())

    async def authorization(self, *, fetch: bool = True) -> bytes:
        """An ``Authorization`` field value carrying one fresh token; fetches when empty (and
        ``fetch``). The client passes False: an issuance on a request's path is one the issuer
        could tie to it, so it raises :class:`NoTokenLeftError` instead and schedules a
        refill (docs/adr/0009, decision 7).

        The token leaves the wallet for good (it is never offered twice).
        """
        held = self._take()
        if held is None and not fetch:
            self.schedule_refill()
            if self._refill_failed is not None:
                raise NoTokenLeftError(
                    f"no token left: the last refill failed ({self._refill_failed}); the next "
                    "runs in the background"
                )
            raise NoTokenLeftError("no token left: a refill runs in the background")
        if held is None:
            async with self._lock:
                held = self._take()
                if held is None:
                    await self._fetch(None)
                    held = self._take()
        if held is None:
            raise UnavailableError("no token could be fetched")
        self._save()
        self.schedule_refill()
        return encode_authorization(held.token).encode("ascii")

    async def for_request(self, *, first: bool) -> bytes:
        """:meth:`authorization` for a request's send or a live call's opening: from the purse
        only (an issuance on a request's path is one the issuer ties to it; docs/adr/0009,
        decision 7), but for the ``first`` send when the config is
        ``insecure_fetch_on_request_path`` (load tests and benchmarks)."""
        return await self.authorization(fetch=first and self.config.insecure_fetch_on_request_path)

    def schedule_refill(self, *, ahead: bool = False) -> None:
        """Below the low-water mark, start a background refill after a random delay (unless one
        is pending): issuance then never directly precedes a redemption. With ``ahead`` (the
        client's background admission, at random times), tokens count only if they are still
        usable ``WALLET_REFILL_AHEAD_S`` from now: those of an issuer key about to end would
        otherwise all expire at once, and no request may fetch on its path to make up for
        them (docs/tokens.md). Not after a request: the issuer, who chooses when its key ends,
        would choose the window in which a request sets off an issuance.

        After a refill failed, only ``ahead`` schedules one: an issuer refusing this device's
        batches (its answer, its choice) would otherwise keep the wallet low or empty and see,
        in the refill each request then set off, when its user tried a feature, though nothing
        was sent (a review of docs/adr/0009). The client's background admissions, at random
        times, try again."""
        if self._refill_failed is not None and not ahead:
            return
        at = self._clock.now() + (limits.WALLET_REFILL_AHEAD_S if ahead else 0.0)
        if (self._refill is None or self._refill.done()) and not self._purse.has_usable(
            self.low_water, at
        ):
            self._refill = asyncio.create_task(self._background_refill(ahead=ahead))

    async def _background_refill(self, *, ahead: bool = False) -> None:
        """Refill below the low-water mark after a random delay (``refill_delay_s``), off the
        request path: the request that crossed the mark neither waits for issuance nor is
        followed at once by an issuance the issuer could correlate with it, and the tokens
        still held cover the requests made meanwhile."""
        await asyncio.sleep(self._jitter.uniform(*self.config.refill_delay_s))
        async with self._lock:
            horizon = self._clock.now() + limits.WALLET_REFILL_AHEAD_S
            short = len(self) < self.low_water
            try:
                if not short and ahead and self._purse.usable(horizon) < self.low_water:
                    # Ahead only under a key that outlasts the tokens (else each look would
                    # fetch a batch that ends as soon); the keys known may be older than the
                    # successor the issuer published since: read them again first.
                    if not self._outlasts(horizon):
                        await self.refresh_keys()
                    short = self._outlasts(horizon)
                if short:
                    await self._fetch(None)
            except PrivcloudError as exc:
                self._note_refill(exc.code)
            else:
                self._note_refill(None)

    def _note_refill(self, failed: str | None) -> None:
        """Note how the last refill ended (its error code, or None), in the wallet file too: a
        restarted app must not schedule a refill at each request either."""
        if failed != self._refill_failed:
            self._refill_failed = failed
            self._save()

    def _outlasts(self, moment: float) -> bool:
        """Whether the key a fetch would use now is still valid at ``moment``."""
        key = self._current_key()
        return key is not None and (key.expires is None or key.expires > moment)

    async def on_challenge(self, www_authenticate: str | bytes) -> None:
        """Check the challenge of a 401 before the client retries with another token.

        Every field of the challenge could tag a device if the gateway chose it per device, so
        the wallet accepts only the one challenge fixed for all devices (docs/tokens.md): token
        type 2, the pinned issuer name, an **empty** redemption context, the pinned origin.
        The challenge is never adopted, and nothing is dropped or fetched because of it: not
        even the issuer's directory, since a fetch straight after the gateway's answer would
        let the issuer, who sees who fetches, tie that request to this device. Its
        ``token-key`` field (the gateway writes it as it likes) is never used either, nor does
        it change anything the wallet does later: the wallet fetches only under keys it proved
        logged, and reads the issuer's directory on its own schedule (hourly, or when its keys
        run out). A wallet that read it early because a 401 named a key it did not hold would
        show the issuer, at its next fetch, which device got that 401 (a fourth review).

        Raises :class:`TaggableChallengeError` for any other challenge (a per-device
        redemption context, another origin), :class:`AuthenticationError` when no challenge
        names our issuer.
        """
        fixed_challenge_key(www_authenticate, self.challenge, self.issuer_name)


__all__ = [
    "REFILL_DELAY_S",
    "DeviceAttester",
    "HeldToken",
    "SpentToken",
    "Wallet",
    "WalletConfig",
]
