"""Redemption at the gateway (services/redemption.py, storage/spent_tokens.py): every refusal is
a 401 carrying a fresh ``WWW-Authenticate: PrivateToken`` challenge, a token is accepted once
(held for one request, then consumed or released; a reservation of a killed gateway lapses
after the TTL), and tokens never reach the gateway's logs.

The cross-process tests are in test_redemption_processes.py; faults injected on real services
(nodes that die or refuse, the SDK's retry) in test_redemption_faults.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from privcloud import errors, limits
from privcloud.clock import FixedClock
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.ohttp import MEDIA_REQUEST, decode_key_configs
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    Token,
    TokenChallenge,
    b64url_encode,
    client_begin,
    client_finalize,
    encode_authorization,
    parse_www_authenticate,
)
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    decode_batch_response,
    encode_batch_request,
    encode_enrolment,
    parse_issuer_directory,
    sign_device_request,
)
from privcloud.sdk.core import TokenRequiredError, build_request
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_core import error_response as error_bhttp
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.services.node import Node
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.services.site import start_site
from privcloud.storage.database import Database
from privcloud.storage.issuer_store import IssuerStore
from privcloud.storage.spent_tokens import (
    MemorySpentTokenStore,
    SpentTokenStore,
    SqliteSpentTokenStore,
)
from privcloud.trust.keys import issuer_step
from privcloud.wire import bhttp
from privcloud.wire.message import WorkloadRequest

ISSUER = "issuer.test"
ORIGIN = "privcloud.gateway"


def challenge_for(origin: str = ORIGIN, issuer: str = ISSUER) -> bytes:
    return TokenChallenge(TOKEN_TYPE_BLIND_RSA, issuer.encode(), b"", origin.encode()).encode()


class Mint:
    """An issuer core plus one enrolled device: makes real tokens for any challenge."""

    def __init__(self, path: Path, clock: FixedClock) -> None:
        self.clock = clock
        self.core = IssuerCore(
            IssuerStore(path),
            IssuerConfig(insecure_operator_codes=True, quota=10_000),
            clock=clock,
        )
        self.device = Ed25519PrivateKey.generate()
        self.core.enrol(encode_enrolment(self.device, self.core.new_enrolment_code()))

    def tokens(self, n: int, challenge: bytes | None = None) -> list[bytes]:
        challenge = challenge or challenge_for()
        _, keys = parse_issuer_directory(self.core.directory())
        (key,) = [k for k in keys if k.not_before == issuer_step(self.clock.now())]
        begun = [client_begin(challenge, key.key) for _ in range(n)]
        body = encode_batch_request([r for r, _ in begun])
        auth = sign_device_request(self.device, "POST", BATCH_PATH, body, now=self.clock.now())
        answer, _ = self.core.issue("POST", BATCH_PATH, auth.headers(), body)
        responses = decode_batch_response(answer, expected=n)
        return [client_finalize(s, r).encode() for (_, s), r in zip(begun, responses, strict=True)]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(time.time())


@pytest.fixture
def mint(tmp_path: Path, clock: FixedClock) -> Iterator[Mint]:
    m = Mint(tmp_path / "issuer.sqlite3", clock)
    yield m
    m.core.store.close()


@pytest.fixture
async def authorizer(mint: Mint, clock: FixedClock) -> AsyncIterator[TokenAuthorizer]:
    a = TokenAuthorizer(MemorySpentTokenStore(), issuer_name=ISSUER, clock=clock)
    a.install_directory(mint.core.directory())
    yield a
    await a.close()


def inner(authorization: bytes | None) -> bhttp.Request:
    headers: tuple[bhttp.Field, ...] = ((b"content-type", b"application/privcloud-envelope"),)
    if authorization is not None:
        headers += ((b"authorization", authorization),)
    return bhttp.Request(b"POST", b"https", b"privcloud.gateway", b"/v1/envelope", headers)


def auth_field(token: bytes) -> bytes:
    return encode_authorization(token).encode()


async def refused(a: TokenAuthorizer, authorization: bytes | None) -> TokenRefusedError:
    with pytest.raises(TokenRefusedError) as info:
        await a(inner(authorization))
    exc = info.value
    assert exc.http_status == 401
    # Every refusal carries our challenge and the issuer key to use (RFC 9577 §2.1).
    (challenge,) = parse_www_authenticate(exc.www_authenticate)
    assert challenge.challenge == a.challenge
    assert challenge.token_challenge().origin_info == ORIGIN.encode()
    assert challenge.token_challenge().redemption_context == b""  # so tokens can be prefetched
    return exc


async def test_a_valid_token_is_accepted_once(authorizer: TokenAuthorizer, mint: Mint) -> None:
    (token,) = mint.tokens(1)
    await (await authorizer(inner(auth_field(token)))).consume()
    exc = await refused(authorizer, auth_field(token))
    assert "already spent" in str(exc)
    assert authorizer.outcomes == {"accepted": 1, "spent": 1}


async def test_request_without_token_gets_a_challenge(authorizer: TokenAuthorizer) -> None:
    exc = await refused(authorizer, None)
    assert str(exc) == "a PrivateToken is required"


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"PrivateToken",
        b"PrivateToken token=",
        b'PrivateToken token="!!!"',
        b"PrivateToken token=AAAA, token=AAAA",
        b"PrivateToken abc==",
        b"Bearer abc",
        b'PrivateToken token="AAAA", PrivateToken token="AAAA"',
        b"PrivateToken token=" + b"A" * 9000,
        b"PrivateToken token=\xff\xfe",
    ],
)
async def test_malformed_authorization_fields_are_refused(
    authorizer: TokenAuthorizer, value: bytes
) -> None:
    exc = await refused(authorizer, value)
    assert str(exc) in {"malformed Authorization field", "malformed token"}


async def test_truncated_or_other_type_token_is_refused(
    authorizer: TokenAuthorizer, mint: Mint
) -> None:
    (token,) = mint.tokens(1)
    assert str(await refused(authorizer, auth_field(token[:-1]))) == "malformed token"
    other_type = b"\x00\x01" + token[2:]
    assert str(await refused(authorizer, auth_field(other_type))) == "unsupported token type"


async def test_forged_token_is_refused(authorizer: TokenAuthorizer, mint: Mint) -> None:
    (token,) = mint.tokens(1)
    forged = token[:-1] + bytes([token[-1] ^ 1])
    assert str(await refused(authorizer, auth_field(forged))) == "token signature does not verify"
    # A token made up from scratch, with the right key id and challenge, fails the same way.
    parsed = Token.decode(token)
    made_up = replace(parsed, nonce=bytes(32), authenticator=bytes(256)).encode()
    assert str(await refused(authorizer, auth_field(made_up))) == "token signature does not verify"
    # The genuine token still works: refusals spend nothing.
    await (await authorizer(inner(auth_field(token)))).consume()


async def test_token_with_an_unknown_key_id_is_refused(
    authorizer: TokenAuthorizer, tmp_path: Path, clock: FixedClock
) -> None:
    other = Mint(tmp_path / "other.sqlite3", clock)  # same name, another key: not published
    (token,) = other.tokens(1)
    assert str(await refused(authorizer, auth_field(token))) == "token names an unknown issuer key"
    other.core.store.close()


async def test_token_for_another_origins_challenge_is_refused(
    authorizer: TokenAuthorizer, mint: Mint
) -> None:
    (elsewhere,) = mint.tokens(1, challenge_for(origin="other.example"))
    assert str(await refused(authorizer, auth_field(elsewhere))) == "token is for another challenge"
    (other_issuer,) = mint.tokens(1, challenge_for(issuer="evil.example"))
    assert str(await refused(authorizer, auth_field(other_issuer))) == (
        "token is for another challenge"
    )


async def test_token_of_an_expired_key_is_refused(
    authorizer: TokenAuthorizer, mint: Mint, clock: FixedClock
) -> None:
    (token,) = mint.tokens(1)
    clock.advance(limits.ISSUER_KEY_LIFETIME_S)  # its privcloud-expires has passed; no refresh
    assert str(await refused(authorizer, auth_field(token))) == (
        "token issuer key expired or not yet valid"
    )


async def test_key_dropped_from_the_directory_stops_being_accepted(
    authorizer: TokenAuthorizer, mint: Mint, tmp_path: Path, clock: FixedClock
) -> None:
    (token,) = mint.tokens(1)
    other = Mint(tmp_path / "other.sqlite3", clock)
    authorizer.install_directory(other.core.directory())  # the issuer withdrew the old key
    assert str(await refused(authorizer, auth_field(token))) == "token names an unknown issuer key"
    other.core.store.close()


async def test_refusal_is_an_inner_401_with_the_challenge_header(
    authorizer: TokenAuthorizer,
) -> None:
    exc = await refused(authorizer, None)
    response = error_bhttp(exc)
    assert response.status == 401
    assert response.header(b"www-authenticate") == exc.www_authenticate.encode()
    # Other errors carry no challenge.
    assert error_bhttp(errors.NotFoundError("x")).header(b"www-authenticate") is None


async def test_sqlite_store_refuses_a_second_spend_and_purges_expired(tmp_path: Path) -> None:
    store = SqliteSpentTokenStore(tmp_path / "spent.sqlite3")
    key_id, nonce = b"k" * 32, b"n" * 32
    await store.spend(nonce, key_id=key_id, expires=100)
    with pytest.raises(errors.ReplayError):
        await store.spend(nonce, key_id=key_id, expires=100)
    await store.spend(nonce, key_id=b"j" * 32, expires=100)  # (key id, nonce) is the key
    assert await store.purge(100) == 0  # kept past the key's expiry for clock skew
    assert await store.purge(100 + limits.SPENT_TOKEN_PURGE_SKEW_S) == 2
    await store.spend(nonce, key_id=key_id, expires=200)  # gone after its key's expiry
    await store.close()
    assert os.stat(tmp_path / "spent.sqlite3").st_mode & 0o777 == 0o600


def test_authorizer_refuses_a_spend_policy_it_does_not_know() -> None:
    with pytest.raises(errors.UsageError, match="at-check, when-accepted"):
        TokenAuthorizer(MemorySpentTokenStore(), issuer_name=ISSUER, spend="never")  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SpentTokenStore]:
    s: SpentTokenStore
    if request.param == "memory":
        s = MemorySpentTokenStore()
    elif request.param == "sqlite":
        s = SqliteSpentTokenStore(tmp_path / "spent.sqlite3")
    else:
        s = Database.from_url(request.getfixturevalue("postgres_url")).spent_tokens()
    yield s
    await s.close()


async def test_held_token_is_refused_until_released_then_spendable(store: SpentTokenStore) -> None:
    key_id, nonce = b"k" * 32, b"n" * 32
    await store.reserve(nonce, key_id=key_id, expires=2**40)
    for again in (store.reserve, store.spend):  # a concurrent double spend: held, refused
        with pytest.raises(errors.ReplayError):
            await again(nonce, key_id=key_id, expires=2**40)
    store.release(nonce, key_id=key_id)  # no node took the request: not charged
    await store.reserve(nonce, key_id=key_id, expires=2**40)
    store.consume(nonce, key_id=key_id)  # a node took it: spent for good
    store.release(nonce, key_id=key_id)  # (a release after the consume changes nothing)
    with pytest.raises(errors.ReplayError):
        await store.reserve(nonce, key_id=key_id, expires=2**40)


async def test_reservation_of_a_killed_gateway_lapses_after_the_ttl(tmp_path: Path) -> None:
    """Two gateway processes share the store. The first reserves a token and dies before it
    consumes or releases it (its heartbeat stops: here its clock stands still). The token stays
    held for the TTL after its last heartbeat, then the second one can spend it, once."""
    path, key_id, nonce = tmp_path / "spent.sqlite3", b"k" * 32, b"n" * 32
    start = time.time()
    dead = SqliteSpentTokenStore(path, clock=FixedClock(start))
    alive_clock = FixedClock(start)
    alive = SqliteSpentTokenStore(path, clock=alive_clock)
    try:
        await dead.reserve(nonce, key_id=key_id, expires=2**40)
        alive_clock.advance(limits.TOKEN_RESERVATION_TTL_S - 1)
        with pytest.raises(errors.ReplayError):
            await alive.reserve(nonce, key_id=key_id, expires=2**40)
        alive_clock.advance(1)
        await alive.reserve(nonce, key_id=key_id, expires=2**40)  # taken over
        alive.consume(nonce, key_id=key_id)
        with pytest.raises(errors.ReplayError):
            await alive.spend(nonce, key_id=key_id, expires=2**40)
        # The dead one's late release finds the token is no longer its own: nothing changes.
        dead.release(nonce, key_id=key_id)
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT holder FROM spent_tokens").fetchall() == [(0,)]
    finally:
        await dead.close()
        await alive.close()


async def test_closing_a_gateway_gives_back_the_tokens_it_holds(tmp_path: Path) -> None:
    path, key_id = tmp_path / "spent.sqlite3", b"k" * 32
    first = SqliteSpentTokenStore(path)
    await first.reserve(b"a" * 32, key_id=key_id, expires=2**40)
    await first.reserve(b"b" * 32, key_id=key_id, expires=2**40)
    first.consume(b"b" * 32, key_id=key_id)
    assert first.held() == 1
    await first.close()  # shut down while a request was in flight: it will never consume it
    second = SqliteSpentTokenStore(path)
    try:
        await second.spend(b"a" * 32, key_id=key_id, expires=2**40)
        with pytest.raises(errors.ReplayError):
            await second.spend(b"b" * 32, key_id=key_id, expires=2**40)
    finally:
        await second.close()


async def test_store_made_before_two_phase_spending_keeps_its_tokens_spent(tmp_path: Path) -> None:
    path, key_id, nonce = tmp_path / "spent.sqlite3", b"k" * 32, b"n" * 32
    with sqlite3.connect(path) as db:  # the table as it was: no holder column
        db.execute(
            "CREATE TABLE spent_tokens (key_id BLOB NOT NULL, nonce BLOB NOT NULL, "
            "expires INTEGER NOT NULL, PRIMARY KEY (key_id, nonce)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO spent_tokens VALUES (?, ?, ?)", (key_id, nonce, 2**40))
    store = SqliteSpentTokenStore(path)
    try:
        with pytest.raises(errors.ReplayError):
            await store.reserve(nonce, key_id=key_id, expires=2**40)
        await store.reserve(b"m" * 32, key_id=key_id, expires=2**40)
        store.consume(b"m" * 32, key_id=key_id)
    finally:
        await store.close()


async def test_token_of_expired_key_is_refused_after_purge_with_clock_skew(
    mint: Mint, clock: FixedClock, tmp_path: Path
) -> None:
    """Two gateway processes share one spent-token store; the second one's clock runs five
    minutes behind. The first purges the store just after the key expired: the second, which
    still takes the key for valid, must still find the token spent."""
    (token,) = mint.tokens(1)
    # The key the token is of (on a step's last day the directory lists the next one too).
    keys = parse_issuer_directory(mint.core.directory())[1]
    (key,) = [k for k in keys if k.not_before == issuer_step(mint.clock.now())]
    assert key.expires is not None
    path = tmp_path / "shared-spent.sqlite3"
    right = FixedClock(key.expires - 60)
    behind = FixedClock(key.expires - 60 - 300)
    first = TokenAuthorizer(SqliteSpentTokenStore(path), issuer_name=ISSUER, clock=right)
    second = TokenAuthorizer(SqliteSpentTokenStore(path), issuer_name=ISSUER, clock=behind)
    try:
        for a in (first, second):
            a.install_directory(mint.core.directory())
        await (await first(inner(auth_field(token)))).consume()  # a minute before the key expires
        right.advance(61)
        behind.advance(61)  # the second still sees the key valid for four more minutes
        await first.store.purge(right.now())  # the key has expired: nothing may be dropped yet
        assert str(await refused(first, auth_field(token))) == (
            "token issuer key expired or not yet valid"
        )
        assert str(await refused(second, auth_field(token))) == "token already spent"
        # Once the margin has passed, the row goes; any process within the margin of the right
        # time refuses the key by then.
        right.advance(limits.SPENT_TOKEN_PURGE_SKEW_S)
        behind.advance(limits.SPENT_TOKEN_PURGE_SKEW_S)
        assert await first.store.purge(right.now()) == 1
        assert str(await refused(second, auth_field(token))) == (
            "token issuer key expired or not yet valid"
        )
    finally:
        await first.close()
        await second.close()


# --- through a real gateway, over HTTP -------------------------------------------------------


@pytest.fixture
async def gateway_with_tokens(
    mint: Mint, tmp_path: Path
) -> AsyncIterator[tuple[str, Gateway, Node]]:
    node = Node("node-1")
    nrunner, nport = await start_site(node.app(), "127.0.0.1", 0)
    authorizer = TokenAuthorizer(
        SqliteSpentTokenStore(tmp_path / "spent.sqlite3"), issuer_name=ISSUER
    )
    authorizer.install_directory(mint.core.directory())
    gateway = Gateway([f"http://127.0.0.1:{nport}"], authorizer=authorizer)
    grunner, gport = await start_site(gateway.app(), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{gport}", gateway, node
    await grunner.cleanup()
    await nrunner.cleanup()


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_gateway_answers_401_inside_ohttp_keeps_serving_and_never_logs_tokens(
    gateway_with_tokens: tuple[str, Gateway, Node], mint: Mint
) -> None:
    url, _, node = gateway_with_tokens
    capture = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    tokens = mint.tokens(2)
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/.well-known/ohttp-gateway") as r:
                config = decode_key_configs(await r.read())[0]
            descriptor = node.descriptor  # the node we seal to (admission is tested elsewhere)

            async def send(authorization: bytes | None) -> bytes:
                body, _, reader = build_request(
                    config,
                    [descriptor],
                    WorkloadRequest("echo", {}, b"paid"),
                    authorization=authorization,
                )
                async with s.post(
                    url + "/v1/ohttp", data=body, headers={"Content-Type": MEDIA_REQUEST}
                ) as r:
                    assert r.status == 200  # errors travel inside the encapsulation
                    reader.feed(await r.read())
                (event,) = reader.close()
                return event.data

            forged = tokens[0][:-1] + bytes([tokens[0][-1] ^ 1])  # "= 0" was genuine 1 in 256
            for bad in (None, b"PrivateToken token=AAAA", auth_field(forged)):
                with pytest.raises(TokenRequiredError) as info:
                    await send(bad)
                assert parse_www_authenticate(info.value.www_authenticate)
            assert await send(auth_field(tokens[0])) == b"paid"
            with pytest.raises(TokenRequiredError):
                await send(auth_field(tokens[0]))  # replay
            assert await send(auth_field(tokens[1])) == b"paid"  # still serving
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    logged = "\n".join(capture.lines)
    for token in tokens:
        for form in (
            b64url_encode(token),
            token.hex(),
            b64url_encode(token[2:34]),
            token[2:34].hex(),
            hashlib.sha256(token).hexdigest(),
        ):
            assert form not in logged
    assert "token refused: spent" in logged  # the reason codes are logged, nothing more
