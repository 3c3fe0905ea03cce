"""The token wallet's I/O-free parts: its configuration, the tokens it holds, and its file format
(no network, no files, no clock of its own; :mod:`privcloud.sdk.wallet` is the I/O shell).

:class:`WalletConfig` is what an app chooses once (as python-tuf's ``UpdaterConfig``);
:class:`TokenPurse` holds the tokens for the one challenge every device answers and hands them
out once each; :class:`PendingBatch` is a batch sent to the issuer and not yet answered (kept for
its retry, docs/adr/0011); :func:`encode_wallet_file` / :func:`decode_wallet_file` are the file
format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final, NamedTuple
from urllib.parse import urljoin, urlsplit

from privcloud import limits
from privcloud.crypto.symmetric import sha256
from privcloud.errors import (
    AuthenticationError,
    ConfigError,
    DecodeError,
    PolicyError,
    PrivcloudError,
    TaggableChallengeError,
    UsageError,
)
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    IssuerKey,
    TokenChallenge,
    b64url_decode,
    b64url_encode,
    parse_www_authenticate,
)
from privcloud.privacypass.directory import IssuerDirectory
from privcloud.privacypass.issuance import BATCH_ID_SIZE, PublishedKey, decode_batch_request
from privcloud.privacypass.tokens import NONCE_SIZE, ClientState
from privcloud.sdk.core import INNER_AUTHORITY
from privcloud.wire import jsonio

#: Range of the uniformly random delay before a background refill, in seconds: long enough that
#: the issuance cannot be told apart from the redemptions around it by time (a refill starts
#: after the request that crossed the low-water mark, never right before or after it), short
#: enough that the tokens left above zero usually last until it lands.
REFILL_DELAY_S: Final[tuple[float, float]] = (5.0, 60.0)
#: Seconds after which a fetch first re-reads the issuer directory (to follow key rotation).
DIRECTORY_MAX_AGE_S: Final = 3600.0
_FILE_VERSION: Final = 1
#: An error code as the exception tree writes them (``unavailable``, ``rate_limited``).
_CODE_RE: Final = re.compile(r"[a-z][a-z_]{0,31}")


@dataclass(frozen=True)
class WalletConfig:
    """How a wallet behaves; valid by construction (:class:`UsageError` otherwise).

    ``issuer_name`` and ``origin_name`` make the one challenge the wallet answers (by default
    the issuer URL's authority and the SDK's inner authority). ``batch_size`` tokens are fetched
    at a time; below ``low_water`` usable tokens (default: a quarter of a batch, at least 1) a
    refill starts in the background after a random delay in ``refill_delay_s``.
    ``consistency_url`` is a second path to the issuer's public directory that hides the
    device's address from the issuer: the keys must be the same over both paths. Without it, a
    wallet given to a :class:`~privcloud.sdk.Client` takes the client's relay's
    ``{relay_url}/issuer``. ``insecure_unlogged_keys`` lets a wallet used without a
    :class:`~privcloud.sdk.Client` trust issuer keys that are not proven in the log: INSECURE.
    ``issuer_timeout_s`` bounds each exchange with the issuer; a batch that times out is kept
    and retried (charged once, docs/adr/0011). ``insecure_fetch_on_request_path`` lets a
    :class:`~privcloud.sdk.Client` fetch a batch for a request's first token when the purse is
    empty, an issuance the issuer can tie to that request: INSECURE for devices (it gives up
    the unlinkability of that request), for load tests and benchmarks that outrun any refill;
    without it an empty purse fails the request and schedules a refill (docs/tokens.md).
    """

    issuer_name: str | None = None
    origin_name: str = INNER_AUTHORITY.decode()
    batch_size: int = 16
    low_water: int | None = None
    consistency_url: str | None = None
    refill_delay_s: tuple[float, float] = REFILL_DELAY_S
    insecure_unlogged_keys: bool = False
    issuer_timeout_s: float = limits.ISSUER_TIMEOUT_S
    insecure_fetch_on_request_path: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= limits.MAX_TOKEN_BATCH:
            raise UsageError("batch size must be 1..MAX_TOKEN_BATCH")
        if not 0.0 < self.issuer_timeout_s <= limits.ISSUER_TIMEOUT_S:
            raise UsageError("issuer timeout must be 0 < seconds <= ISSUER_TIMEOUT_S")
        if self.low_water is not None and not 0 <= self.low_water <= limits.MAX_WALLET_TOKENS:
            raise UsageError("low water must be 0..MAX_WALLET_TOKENS")
        low, high = self.refill_delay_s
        if not 0.0 <= low <= high:
            raise UsageError("refill delay must be a range of seconds (low <= high)")
        if self.consistency_url is not None:
            object.__setattr__(self, "consistency_url", self.consistency_url.rstrip("/") or None)

    @property
    def low_water_mark(self) -> int:
        """Usable tokens below which a refill starts."""
        return self.low_water if self.low_water is not None else max(1, self.batch_size // 4)

    def challenge(self, issuer_name: str) -> bytes:
        """The one TokenChallenge the wallet answers: type 2, ``issuer_name``, an empty
        redemption context, the configured origin (docs/tokens.md)."""
        return TokenChallenge(
            TOKEN_TYPE_BLIND_RSA, issuer_name.encode(), b"", self.origin_name.encode()
        ).encode()


@dataclass(frozen=True, slots=True)
class HeldToken:
    """A token in the wallet: its bytes, the key that signed it and when that key expires."""

    token: bytes = field(repr=False)
    key_id: bytes
    challenge_digest: bytes
    expires: int | None = None

    @property
    def nonce(self) -> bytes:
        return self.token[2:34]


@dataclass(frozen=True, slots=True)
class SpentToken:
    """What the device may show about a token it sent: the key id and a short hash of the
    nonce (for the user's own trail; never the token)."""

    key_id: bytes
    nonce_hash: bytes

    def describe(self) -> str:
        return f"key id {self.key_id.hex()[:16]}…, nonce hash {self.nonce_hash.hex()[:16]}…"


class TokenPurse:
    """The tokens held for one challenge; each is handed out once, then gone for good."""

    def __init__(self, challenge: bytes, tokens: list[HeldToken] | None = None) -> None:
        self.challenge = challenge
        self._digest = sha256(challenge)
        self._tokens: list[HeldToken] = []
        self._first_expiry: float | None = None
        self.tokens = list(tokens or [])[: limits.MAX_WALLET_TOKENS]
        #: The last tokens handed out, as the user's trail shows them.
        self.spent: list[SpentToken] = []

    @property
    def tokens(self) -> list[HeldToken]:
        """The tokens held, oldest first."""
        return self._tokens

    @tokens.setter
    def tokens(self, tokens: list[HeldToken]) -> None:
        self._tokens = tokens
        #: When the first held token expires (``None``: none does): until then a take has no
        #: expired token to drop, and does not look through the whole purse for one.
        self._first_expiry = self._earliest()

    def _earliest(self) -> float | None:
        return min((t.expires for t in self.tokens if t.expires is not None), default=None)

    @property
    def challenge_digest(self) -> bytes:
        """SHA-256 of the challenge: what each token answering it is bound to."""
        return self._digest

    def _usable(self, held: HeldToken, now: float) -> bool:
        return held.challenge_digest == self._digest and (
            held.expires is None or now < held.expires
        )

    def usable(self, now: float) -> int:
        """How many tokens answer the challenge and have not expired at ``now``."""
        return sum(1 for t in self.tokens if self._usable(t, now))

    def has_usable(self, count: int, now: float) -> bool:
        """Whether at least ``count`` tokens are usable at ``now``: stops at the ``count``-th
        (checked on every request, where counting a full wallet cost ~80 µs)."""
        if count <= 0:
            return True
        for t in self.tokens:
            if self._usable(t, now):
                count -= 1
                if count == 0:
                    return True
        return False

    @property
    def room(self) -> int:
        """How many more tokens fit (``MAX_WALLET_TOKENS``)."""
        return limits.MAX_WALLET_TOKENS - len(self.tokens)

    def add(self, tokens: list[HeldToken]) -> None:
        """Keep newly issued tokens (up to the room left)."""
        self.tokens = self._tokens + tokens[: self.room]

    def take(self, now: float) -> HeldToken | None:
        """Hand out one usable token (dropping expired ones); None when there is none."""
        if self._first_expiry is not None and now >= self._first_expiry:
            self._drop_expired(now)
        for index, held in enumerate(self._tokens):
            if self._usable(held, now):
                del self._tokens[index]
                self.spent.append(SpentToken(held.key_id, sha256(held.nonce)))
                del self.spent[:-16]
                return held
        self._drop_expired(now)  # none usable: free the room of any the list held unseen
        return None

    def _drop_expired(self, now: float) -> None:
        self.tokens = [t for t in self._tokens if t.expires is None or now < t.expires]


@dataclass(frozen=True)
class PendingBatch:
    """A batch the wallet sent (or is about to send) to the issuer and holds no answer for:
    the id the device chose for it, the key its requests are blinded for, the request body
    and each token's client state (nonce and unblinding inverse: secret, they link the batch to
    its tokens; never logged or sent). Kept, in memory and in the wallet file, until the issuer
    answers or refuses it; each retry re-signs the same id and body, which the issuer charges
    once (docs/adr/0011)."""

    batch_id: bytes
    key: PublishedKey
    body: bytes = field(repr=False)
    states: tuple[ClientState, ...] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.batch_id) != BATCH_ID_SIZE:
            raise UsageError("a batch id is 16 bytes")
        if len(decode_batch_request(self.body)) != len(self.states):
            raise UsageError("a pending batch needs one client state per token request")

    def __len__(self) -> int:
        return len(self.states)

    def usable(self, now: float) -> bool:
        """Whether its tokens would still be usable (its key has not expired)."""
        return self.key.expires is None or now < self.key.expires


def check_directory(
    issuer_url: str, directory: IssuerDirectory, keys: list[PublishedKey], now: float
) -> str:
    """The directory's issuance URL, after the wallet's checks of the directory itself.

    Raises :class:`PolicyError` when more than ``MAX_ISSUER_VALID_KEYS`` keys are valid at
    ``now`` (key partitioning), :class:`DecodeError` when issuance is sent to another origin
    (the device's identity goes to the issuer only).
    """
    if sum(1 for k in keys if k.valid_at(now)) > limits.MAX_ISSUER_VALID_KEYS:
        raise PolicyError("the issuer directory lists too many valid keys")
    request_url: str = urljoin(issuer_url + "/", directory.issuer_request_uri)
    if urlsplit(request_url)[:2] != urlsplit(issuer_url)[:2]:
        raise DecodeError("issuer-request-uri is not on the issuer's origin")
    return request_url


def fixed_challenge_key(www_authenticate: str | bytes, fixed: bytes, issuer_name: str) -> bytes:
    """The token key named by the challenge for our issuer in a 401's ``WWW-Authenticate``,
    provided that challenge is exactly ``fixed``, the one every device answers.

    Raises :class:`TaggableChallengeError` for any other challenge of our issuer (a per-device
    redemption context, another origin), :class:`AuthenticationError` when none names our
    issuer, our decode errors for a malformed field.
    """
    for item in parse_www_authenticate(www_authenticate):
        challenge = item.token_challenge()
        if challenge.token_type != TOKEN_TYPE_BLIND_RSA:
            continue
        if challenge.issuer_name != issuer_name.encode():
            continue
        if item.challenge != fixed:
            raise TaggableChallengeError(
                "gateway sent a challenge other than the one fixed for every device"
            )
        return item.token_key
    raise AuthenticationError("gateway asks for tokens of another issuer")


def key_set(keys: list[PublishedKey]) -> set[tuple[bytes, int | None, int | None]]:
    """What two copies of an issuer directory must agree on: each key and its validity."""
    return {(k.key.spki, k.not_before, k.expires) for k in keys}


# --- the wallet file ---------------------------------------------------------------------------


def _encode_pending(pending: PendingBatch) -> dict[str, object]:
    return {
        "batch-id": b64url_encode(pending.batch_id),
        "token-key": b64url_encode(pending.key.key.spki),
        "not-before": pending.key.not_before,
        "expires": pending.key.expires,
        "body": b64url_encode(pending.body),
        "states": [
            {
                "nonce": b64url_encode(state.nonce),
                "challenge-digest": b64url_encode(state.challenge_digest),
                "inv": b64url_encode(state.inv),
            }
            for state in pending.states
        ],
    }


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _decode_pending(doc: dict[str, object]) -> PendingBatch:
    """Raises ValueError, KeyError, TypeError, AttributeError or PrivcloudError when the member
    is malformed (the caller turns them into :class:`ConfigError`)."""
    key = IssuerKey.from_spki(b64url_decode(str(doc["token-key"])))
    states = doc["states"]
    if not isinstance(states, list):
        raise TypeError("states")
    decoded = []
    for state in states:
        nonce = b64url_decode(state["nonce"])
        if len(nonce) != NONCE_SIZE:
            raise ValueError("nonce")
        decoded.append(
            ClientState(
                key, nonce, b64url_decode(state["challenge-digest"]), b64url_decode(state["inv"])
            )
        )
    return PendingBatch(
        b64url_decode(str(doc["batch-id"])),
        PublishedKey(key, _optional_int(doc["not-before"]), _optional_int(doc["expires"])),
        b64url_decode(str(doc["body"])),
        tuple(decoded),
    )


def encode_wallet_file(
    issuer_url: str,
    device_seed: bytes,
    enrolled: bool,
    purse: TokenPurse,
    pending: PendingBatch | None = None,
    refill_failed: str | None = None,
    fetched_at: int | None = None,
) -> bytes:
    """The wallet file: JSON with the issuer, the device key's seed, the enrolment state, the
    challenge, the tokens, the pending batch (``"pending"``, when there is one) and the error
    code of the last refill when it failed (``"refill-failed"``: after a restart too, only the
    client's background admissions try again; docs/adr/0009, decision 7) and when the last
    batch came (``"fetched-at"``, Unix seconds: the command line paces its request after it,
    ``cli/pacing.py``). It holds bearer credentials, the device key and the unblinding state
    of a pending batch: keep it 0600."""
    document: dict[str, object] = {
        "version": _FILE_VERSION,
        "issuer": issuer_url,
        "device-key": b64url_encode(device_seed),
        "enrolled": enrolled,
        "challenge": b64url_encode(purse.challenge),
        "tokens": [
            {
                "token": b64url_encode(t.token),
                "key-id": b64url_encode(t.key_id),
                "challenge-digest": b64url_encode(t.challenge_digest),
                "expires": t.expires,
            }
            for t in purse.tokens
        ],
    }
    if pending is not None:
        document["pending"] = _encode_pending(pending)
    if refill_failed is not None:
        document["refill-failed"] = refill_failed
    if fetched_at is not None:
        document["fetched-at"] = fetched_at
    return json.dumps(document, separators=(",", ":")).encode("ascii")


class WalletFile(NamedTuple):
    """What a wallet file holds (:func:`decode_wallet_file`)."""

    seed: bytes
    enrolled: bool
    tokens: list[HeldToken]
    pending: PendingBatch | None
    refill_failed: str | None
    fetched_at: int | None


def decode_wallet_file(data: bytes, issuer_url: str) -> WalletFile:
    """What the wallet file for ``issuer_url`` holds.

    The stored challenge is checked for shape only: the wallet answers its configured one, and
    tokens for another are never usable (their digest differs). Raises :class:`ConfigError`
    (a local file: the user's to fix) when it does not load or is for another issuer.
    """
    if len(data) > limits.MAX_WALLET_FILE_BYTES:
        raise ConfigError("wallet file too large")
    try:
        doc = jsonio.loads(data, max_bytes=limits.MAX_WALLET_FILE_BYTES)
        version, issuer = doc.get("version"), doc.get("issuer")
        seed = b64url_decode(doc["device-key"])
        enrolled = bool(doc["enrolled"])
        b64url_decode(doc["challenge"])
        tokens = [
            HeldToken(
                b64url_decode(t["token"]),
                b64url_decode(t["key-id"]),
                b64url_decode(t["challenge-digest"]),
                t["expires"] if isinstance(t["expires"], int) else None,
            )
            for t in doc["tokens"]
        ]
        pending = _decode_pending(doc["pending"]) if doc.get("pending") is not None else None
        failed = doc.get("refill-failed")
        fetched_at = doc.get("fetched-at")
    except (ValueError, KeyError, TypeError, AttributeError, PrivcloudError) as exc:
        raise ConfigError("wallet file does not load") from exc
    if version != _FILE_VERSION or issuer != issuer_url:
        raise ConfigError("wallet file is for another issuer or version")
    if failed is not None and not (isinstance(failed, str) and _CODE_RE.fullmatch(failed)):
        raise ConfigError("wallet file does not load")
    if fetched_at is not None and (type(fetched_at) is not int or fetched_at < 0):
        raise ConfigError("wallet file does not load")
    return WalletFile(
        seed, enrolled, tokens[: limits.MAX_WALLET_TOKENS], pending, failed, fetched_at
    )


__all__ = [
    "DIRECTORY_MAX_AGE_S",
    "REFILL_DELAY_S",
    "HeldToken",
    "PendingBatch",
    "SpentToken",
    "TokenPurse",
    "WalletConfig",
    "WalletFile",
    "decode_wallet_file",
    "encode_wallet_file",
    "check_directory",
    "fixed_challenge_key",
    "key_set",
]
