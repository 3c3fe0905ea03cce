"""Token redemption at the gateway: the :data:`~privcloud.services.gateway.Authorizer` that
checks the ``Authorization: PrivateToken`` field of the *inner* (Binary HTTP) request.

The gateway is the Privacy Pass origin (RFC 9576 §3): it sends one fixed challenge —
``TokenChallenge(type 2, issuer_name, redemption_context = empty, origin_info = origin name)``
— so a device can fetch tokens ahead of time, verifies tokens with the issuer's public keys
(fetched from the issuer directory at start and refreshed), and accepts each token once.

When a token is charged is the authorizer's ``spend`` policy (ADR 0029, docs/tokens.md):

* ``"at-check"`` (the default): the check spends it, in the one statement that also makes it
  once-only. A request that then reaches no working node has still cost its token; our devices
  never show a token twice anyway (a retry takes a fresh one, so the gateway cannot link the
  two), and the request path writes to the store once instead of twice.
* ``"when-accepted"``: two phases (OpenPCC's nonce locker: check and lock, then consume or
  release): the check *reserves* the token; the gateway consumes it once a node accepted the
  request and releases it when no node did, for an operator whose devices count on that.

Either way the check hands back a :class:`Redemption` for the gateway to consume or release;
under ``"at-check"`` it is settled already and both do nothing.

A refused request is answered, inside the encapsulated response, with 401 and a
``WWW-Authenticate: PrivateToken challenge=..., token-key=...`` field
(:class:`TokenRefusedError`). Tokens are never logged: refusals log a fixed reason code.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock, SystemClock
from privcloud.errors import (
    AuthenticationError,
    CryptoError,
    DecodeError,
    PrivcloudError,
    ReplayError,
    TokenRefusedError,
    TooLargeError,
    UnavailableError,
    UnknownKeyError,
    UnsupportedError,
    UpstreamError,
    UsageError,
)
from privcloud.netio import LazySession, read_bounded
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    PrivateTokenChallenge,
    Token,
    TokenChallenge,
    challenge_digest,
    encode_www_authenticate,
    parse_authorization,
    verify_token,
)
from privcloud.privacypass.directory import WELL_KNOWN_PATH
from privcloud.privacypass.issuance import PublishedKey, issuer_name_for, parse_issuer_directory
from privcloud.storage.spent_tokens import NEVER, SpentTokenStore
from privcloud.wire import bhttp

log = logging.getLogger("privcloud.redemption")

#: Default origin name: the authority of every inner request (``privcloud.sdk.core``).
DEFAULT_ORIGIN: Final = "privcloud.gateway"
#: Seconds a key may be used before its ``not-before`` (clock skew between issuer and gateway).
KEY_CLOCK_SKEW_S: Final = 60
#: When a token is charged: at the check, or once a node accepted the request (module doc).
SpendPolicy = Literal["at-check", "when-accepted"]
SPEND_POLICIES: Final[tuple[str, ...]] = get_args(SpendPolicy)


class Redemption:
    """One token held for one request: :meth:`consume` once a node accepted the request,
    :meth:`release` when none did. The first of the two decides; later calls do nothing, so a
    ``finally: release()`` after a consume is harmless. :meth:`release` neither blocks nor
    raises; :meth:`consume` returns once the spend is durable (docs/tokens.md#spending)."""

    __slots__ = ("_key_id", "_nonce", "_outcomes", "_store", "settled")

    def __init__(
        self,
        store: SpentTokenStore,
        nonce: bytes,
        key_id: bytes,
        outcomes: Counter[str],
        *,
        spent: bool = False,
    ) -> None:
        self._store, self._nonce, self._key_id, self._outcomes = store, nonce, key_id, outcomes
        #: ``None`` while held, then ``"consumed"`` or ``"released"``; ``"consumed"`` from the
        #: start for a token the check spent (``spent``).
        self.settled: str | None = "consumed" if spent else None

    async def consume(self) -> None:
        """The token is spent for good (a node accepted the request). Returns once the spend
        is durable, so a gateway killed after it cannot leave a reservation that lapses and
        buys a second answer. Raises :class:`UnavailableError` when the store did not record
        it within :data:`~privcloud.limits.TOKEN_CONSUME_WAIT_S` or the reservation had
        lapsed: the caller must not send the node's answer on."""
        if self.settled is not None:
            return
        self.settled = "consumed"
        future = self._store.consume(self._nonce, key_id=self._key_id)
        if future.done():  # written on this thread already: no loop round trip to wait for
            spent = not future.cancelled() and future.exception() is None and future.result()
        else:
            try:  # (asyncio.timeout: wait_for may swallow a cancel on Python 3.11)
                async with asyncio.timeout(limits.TOKEN_CONSUME_WAIT_S):
                    spent = await asyncio.shield(asyncio.wrap_future(future))
            except Exception:  # noqa: BLE001 - timed out, or the store's write failed: unrecorded
                spent = False
        if not spent:
            self._outcomes["unrecorded"] += 1
            raise UnavailableError("spent-token store unavailable")

    def release(self) -> None:
        """The token can be spent again (no node accepted the request)."""
        if self.settled is None:
            self.settled = "released"
            self._outcomes["released"] += 1
            self._store.release(self._nonce, key_id=self._key_id)


@dataclass
class TokenAuthorizer:
    """Checks one token per inner request and spends or reserves it (an ``Authorizer`` for the
    gateway): the caller consumes or releases the :class:`Redemption` it gets.

    Give it the issuer's base URL (the directory is fetched from there and refreshed every
    ``refresh_s`` seconds) or fixed ``keys``. ``issuer_name`` defaults to the authority of
    ``issuer_url``, as the wallet assumes. ``spend``: when a token is charged (module doc).
    """

    store: SpentTokenStore
    issuer_url: str | None = None
    issuer_name: str | None = None
    origin_name: str = DEFAULT_ORIGIN
    keys: Iterable[PublishedKey] = ()
    clock: Clock = field(default_factory=SystemClock)
    refresh_s: float = 60.0
    outcomes: Counter[str] = field(default_factory=Counter)
    spend: SpendPolicy = "at-check"

    def __post_init__(self) -> None:
        if self.spend not in SPEND_POLICIES:
            raise UsageError(f"spend must be one of {', '.join(SPEND_POLICIES)}")
        if self.issuer_name is None:
            if self.issuer_url is None:
                raise UsageError("an issuer name or URL is required")
            self.issuer_name = issuer_name_for(self.issuer_url)
        self.challenge = TokenChallenge(
            TOKEN_TYPE_BLIND_RSA, self.issuer_name.encode(), b"", self.origin_name.encode()
        ).encode()
        self.challenge_digest = challenge_digest(self.challenge)
        self._keys: dict[bytes, PublishedKey] = {}
        self._preferred: PublishedKey | None = None
        self._install(list(self.keys))
        self._http = LazySession(total=limits.ISSUER_TIMEOUT_S)
        self._task: asyncio.Task[None] | None = None
        self._refresh_lock = asyncio.Lock()

    # --- keys --------------------------------------------------------------------------------

    def _install(self, keys: list[PublishedKey]) -> None:
        self._keys = {k.key.key_id: k for k in keys}
        now = self.clock.now()
        valid = [k for k in keys if k.valid_at(now, skew=KEY_CLOCK_SKEW_S)]
        self._preferred = valid[0] if valid else (keys[0] if keys else None)

    def install_directory(self, data: bytes) -> None:
        """Replace the accepted keys by those of a directory document (keys it no longer
        lists stop being accepted at once). Raises :class:`DecodeError`."""
        self._install(parse_issuer_directory(data)[1])

    async def refresh(self) -> None:
        """Fetch the issuer directory; raises :class:`UnavailableError` when it cannot."""
        if self.issuer_url is None:
            return
        url = self.issuer_url.rstrip("/") + WELL_KNOWN_PATH
        try:
            async with self._http.get().get(url) as resp:
                payload = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
                if resp.status != 200:
                    raise UpstreamError("issuer answered with an error")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("issuer unreachable") from exc
        self.install_directory(payload)

    def attach(self, app: web.Application) -> None:
        """Fetch the directory when ``app`` starts, refresh it on a timer, close on cleanup."""
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, _: web.Application) -> None:
        try:
            await self.refresh()
        except PrivcloudError as exc:
            log.warning("gateway: issuer directory unavailable at start: %s", exc.code)
        self._task = asyncio.create_task(self._refresh_loop())

    async def _stop(self, _: web.Application) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._http.close()
        await self.store.close()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
                await self.store.purge(self.clock.now())
            except PrivcloudError as exc:
                log.warning("gateway: issuer directory refresh failed: %s", exc.code)

    # --- the check ---------------------------------------------------------------------------

    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` value: our challenge and the issuer key to use now."""
        if self._preferred is None:
            raise UnavailableError("no issuer key known")
        return encode_www_authenticate(
            PrivateTokenChallenge(self.challenge, self._preferred.key.spki)
        )

    def _refuse(self, reason: str, message: str) -> TokenRefusedError:
        self.outcomes[reason] += 1
        log.info("gateway: token refused: %s", reason)
        return TokenRefusedError(message, www_authenticate=self.www_authenticate())

    async def __call__(self, inner: bhttp.Request) -> Redemption:
        """Spend or reserve the inner request's token (the ``spend`` policy), or raise. The
        caller must end the :class:`Redemption`: consume it when a node accepted the request,
        else release it (both do nothing for a token spent at the check).

        1. Without a known issuer key, refresh the directory (503 when it stays unknown).
        2. The ``Authorization`` field parses as one PrivateToken credential.
        3. The token parses and is of type 0x0002.
        4. Its key id names a key of the directory, valid now (not expired).
        5. It is bound to our challenge, and its authenticator verifies (RFC 9578 §6.4).
        6. Its nonce is neither spent nor held by a request in flight; spending it
           (``"at-check"``: done) or reserving it is one statement, atomic across gateway
           processes (then 7 or 8, by the caller).
        7. A node accepted the request (it answered with a response head): consume.
        8. No node did (none healthy, unreachable, a 5xx before any byte): release.
        Steps 2-6 refuse with :class:`TokenRefusedError` (401 and a fresh challenge).
        """
        # 1. Keys.
        if not self._keys:
            async with self._refresh_lock:
                if not self._keys:
                    await self.refresh()
            if not self._keys:
                raise UnavailableError("no issuer key known")
        # 2. The credential.
        field_value = inner.header(b"authorization")
        if field_value is None:
            raise self._refuse("missing", "a PrivateToken is required")
        try:
            encoded = parse_authorization(field_value)
        except (DecodeError, TooLargeError, UnsupportedError) as exc:
            raise self._refuse("malformed_header", "malformed Authorization field") from exc
        # 3. The token.
        try:
            token = Token.decode(encoded)
        except UnsupportedError as exc:
            raise self._refuse("unsupported_type", "unsupported token type") from exc
        except DecodeError as exc:
            raise self._refuse("malformed_token", "malformed token") from exc
        # 4. The key.
        accepted = self._keys.get(token.token_key_id)
        if accepted is None:
            raise self._refuse("unknown_key", "token names an unknown issuer key")
        now = self.clock.now()
        if not accepted.valid_at(now, skew=KEY_CLOCK_SKEW_S):
            raise self._refuse("expired_key", "token issuer key expired or not yet valid")
        # 5. Challenge binding and signature.
        try:
            verify_token(token, accepted.key, challenge_digest=self.challenge_digest)
        except AuthenticationError as exc:
            raise self._refuse("wrong_challenge", "token is for another challenge") from exc
        except (CryptoError, UnknownKeyError) as exc:
            raise self._refuse("bad_signature", "token signature does not verify") from exc
        # 6. Once: spent now, or held for this request only.
        expires = accepted.expires if accepted.expires is not None else NEVER
        spent = self.spend == "at-check"
        claim = self.store.spend if spent else self.store.reserve
        try:
            await claim(token.nonce, key_id=token.token_key_id, expires=expires)
        except ReplayError as exc:
            raise self._refuse("spent", "token already spent") from exc
        self.outcomes["accepted"] += 1
        return Redemption(self.store, token.nonce, token.token_key_id, self.outcomes, spent=spent)


__all__ = [
    "DEFAULT_ORIGIN",
    "SPEND_POLICIES",
    "Redemption",
    "SpendPolicy",
    "TokenAuthorizer",
    "TokenRefusedError",
]
