"""Key consistency (docs/adr/0009-key-consistency.md): every key the operator serves a device —
the gateway's OHTTP key configurations, the issuer's token keys — is used only with an inclusion
proof of its key statement in the trusted, witness-cosigned log; the token challenge is the one
fixed for every device. Each attack test is named after the attack and runs on real services
over loopback.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from cloudkit import Cloud, pass_on, start_cloud
from privcloud import errors, limits
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.ohttp import MEDIA_KEYS, GatewayKey, encode_key_configs
from privcloud.privacypass import TOKEN_TYPE_BLIND_RSA, TokenChallenge
from privcloud.privacypass.headers import (
    PrivateTokenChallenge,
    encode_www_authenticate,
    parse_www_authenticate,
)
from privcloud.sdk import Client
from privcloud.sdk.trust_store import pinned_state
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.services.site import start_site
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.merkle import leaf_hash
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.keys import (
    KEY_STATEMENTS_PATH,
    MEDIA_KEY_STATEMENTS,
    KeyKind,
    KeyStatement,
    check_key_count,
    check_statement,
    decode_statement_list,
    encode_statement_list,
    most_valid_at_once,
    verify_logged,
)
from privcloud.wire import bhttp

POLICY = ClientPolicy.insecure_local_dev()
NOW = 1_764_652_800
GATEWAY = "privcloud.gateway"
#: The statement of RFC 9458 Appendix A's key configuration, valid 7 days from NOW (base64 by
#: the standard library, the JSON written out by hand).
GOLDEN = (
    b'{"key":"AQAgMeHwWnQBAhFSIOmvkY9zhnSuyV9U224E63Baro55gVUACAABAAEAAQAD",'
    b'"kind":"ohttp-key-config","not_after":1765257600,"not_before":1764652800,'
    b'"schema":"privcloud.key-statement/v1","service":"privcloud.gateway"}'
)


def _ohttp_statement(
    not_before: int = NOW, not_after: int = NOW + 7 * 86400, key_id: int = 7
) -> KeyStatement:
    key = GatewayKey.generate(key_id=key_id)
    return KeyStatement.for_ohttp(GATEWAY, key.config, not_before, not_after)


# --- the statement format (sans-IO) ----------------------------------------------------------


def test_statement_golden_bytes_both_ways() -> None:
    config = bytes.fromhex(
        "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003"
    )
    statement = KeyStatement(KeyKind.OHTTP, GATEWAY, config, NOW, NOW + 604800)
    assert statement.encode() == GOLDEN
    assert KeyStatement.decode(GOLDEN) == statement
    assert statement.key_config.key_id == 1  # the RFC 9458 Appendix A key configuration
    assert statement.leaf_hash == leaf_hash(GOLDEN)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.replace(b'{"key"', b'{ "key"'),  # not canonical
        lambda b: b.replace(b"/v1", b"/v2"),  # another schema
        lambda b: b.replace(b'"kind":"ohttp-key-config"', b'"kind":"other"'),
        lambda b: b.replace(b"1765257600", b"1764652800"),  # empty validity
        lambda b: b.replace(b'"key":"AQAg', b'"key":"AQAh'),  # KEM 0x0021: unsupported
        lambda b: b[:-1] + b',"extra":1}',
        lambda b: b"[" * 5000,
        lambda b: b + b" " * limits.MAX_KEY_STATEMENT_BYTES,
    ],
    ids=["spaces", "schema", "kind", "empty", "key", "extra-field", "nested", "too-large"],
)
def test_malformed_statement_is_refused_with_our_error(mutate: object) -> None:
    assert callable(mutate)
    with pytest.raises(errors.PeerError):
        KeyStatement.decode(mutate(GOLDEN))


def test_statement_of_another_gateway_is_refused() -> None:
    statement = KeyStatement.for_ohttp("evil.gateway", GatewayKey.generate(1).config, NOW, NOW + 9)
    with pytest.raises(errors.KeyConsistencyError):
        check_statement(statement, kind=KeyKind.OHTTP, service=GATEWAY, now=NOW)
    with pytest.raises(errors.KeyConsistencyError):
        check_statement(statement, kind=KeyKind.ISSUER, service="evil.gateway", now=NOW)


@pytest.mark.parametrize(
    ("not_before", "not_after", "now"),
    [
        (NOW, NOW + limits.MAX_KEY_STATEMENT_VALIDITY_S + 1, NOW),  # valid for too long
        (NOW, NOW + 100, NOW + 100),  # expired
        (NOW + limits.KEY_STATEMENT_SKEW_S + 1, NOW + 1000, NOW),  # not valid yet
    ],
    ids=["too-long", "expired", "not-yet"],
)
def test_statement_outside_its_validity_is_refused(
    not_before: int, not_after: int, now: int
) -> None:
    statement = _ohttp_statement(not_before, not_after)
    with pytest.raises(errors.KeyConsistencyError):
        check_statement(statement, kind=KeyKind.OHTTP, service=GATEWAY, now=now)


def test_key_partitioning_by_many_valid_keys_is_refused() -> None:
    statements = [_ohttp_statement(key_id=i) for i in range(3)]
    check_key_count(statements[:2], NOW, limits.MAX_OHTTP_VALID_KEYS)
    with pytest.raises(errors.KeyConsistencyError):
        check_key_count(statements, NOW, limits.MAX_OHTTP_VALID_KEYS)


def test_statement_beyond_the_trusted_checkpoint_is_refused() -> None:
    signer = Ed25519NoteSigner("example.org/log", Ed25519PrivateKey.generate())
    witness = WitnessKey("example.org/witness", Ed25519PrivateKey.generate())
    nothing_trusted = pinned_state(signer.verifier().vkey(), [witness.verifier().vkey()])
    with pytest.raises(errors.KeyConsistencyError):
        verify_logged(_ohttp_statement(), 0, [], nothing_trusted)


def test_statement_list_round_trip_and_bounds() -> None:
    statements = [_ohttp_statement(key_id=i) for i in range(2)]
    assert decode_statement_list(encode_statement_list(statements)) == statements
    with pytest.raises(errors.TooLargeError):
        encode_statement_list([statements[0]] * (limits.MAX_KEY_STATEMENTS + 1))
    with pytest.raises(errors.DecodeError):
        decode_statement_list(b'{"statements":["not base64!"]}')


# --- attacks on the running cloud ------------------------------------------------------------


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud(tokens=True)
    yield c
    await c.stop()


class SwappingRelay:
    """An attacker relay in front of the real one: it serves a key configuration of its own (so
    it could decapsulate, read the token and node set, and re-encapsulate to the real gateway)
    and counts the requests it would read. Everything else passes through."""

    def __init__(self, upstream: str, *, keep_real: bool, extra: int = 1) -> None:
        self.upstream = upstream
        self.keep_real = keep_real
        self.own = [GatewayKey.generate(key_id=200 + i) for i in range(extra)]
        self.posts = 0
        self.key_ids_seen: list[int] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(KEY_STATEMENTS_PATH, self.statements)
        app.router.add_get("/.well-known/ohttp-gateway", self.configs)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def _upstream(self, request: web.Request, body: bytes = b"") -> web.Response:
        return await pass_on(request, self.upstream, body)

    async def statements(self, request: web.Request) -> web.Response:
        now = int(time.time())
        own = [KeyStatement.for_ohttp(GATEWAY, k.config, now, now + 86400) for k in self.own]
        real: list[KeyStatement] = []
        if self.keep_real:
            async with aiohttp.ClientSession() as s, s.get(self.upstream + request.path) as r:
                real = decode_statement_list(await r.read())
        body = encode_statement_list([*own, *real])
        return web.Response(body=body, content_type=MEDIA_KEY_STATEMENTS)

    async def configs(self, _: web.Request) -> web.Response:
        return web.Response(
            body=encode_key_configs([k.config for k in self.own]), content_type=MEDIA_KEYS
        )

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST":
            self.posts += 1
            self.key_ids_seen.append(body[0])  # the OHTTP header's key id
        return await self._upstream(request, body)


async def _attacker(relay: SwappingRelay) -> tuple[web.AppRunner, str]:
    runner, port = await start_site(relay.app(), "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{port}"


async def test_relay_key_swap_is_refused_before_any_request(cloud: Cloud) -> None:
    attacker = SwappingRelay(cloud.relay_url, keep_real=False)
    runner, url = await _attacker(attacker)
    try:
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        client = Client(url, policy=POLICY, trust=trust, wallet=cloud.new_wallet(batch_size=2))
        with pytest.raises(errors.KeyConsistencyError):
            await client.refresh()
        with pytest.raises(errors.KeyConsistencyError):
            await client.call("echo", None, b"secret")
        await client.close()
    finally:
        await runner.cleanup()
    assert attacker.posts == 0  # nothing was ever sent under the relay's key


async def test_relay_key_swap_beside_the_real_key_is_never_used(cloud: Cloud) -> None:
    attacker = SwappingRelay(cloud.relay_url, keep_real=True)
    runner, url = await _attacker(attacker)
    try:
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        wallet = cloud.new_wallet(batch_size=3)  # (one a request: none is fetched on its path)
        async with Client(url, policy=POLICY, trust=trust, wallet=wallet) as client:
            for _ in range(3):
                assert (await client.call("echo", None, b"ok")).data == b"ok"
            assert len(client.trail.keys_refused) == 1
            assert "not in the log" in client.trail.keys_refused[0]
    finally:
        await runner.cleanup()
    real = {r.key.key_id for r in cloud.gateway.ring.records}
    assert attacker.posts == 3 and set(attacker.key_ids_seen) <= real


async def test_key_partitioning_with_extra_logged_keys_is_refused(cloud: Cloud) -> None:
    # Even keys the operator did log are refused when more are offered at once than rotation
    # needs: a gateway cannot keep a pool of logged keys to hand out one per device.
    assert cloud.key_log is not None
    now = int(time.time())
    extra = [GatewayKey.generate(key_id=100 + i) for i in range(limits.MAX_OHTTP_VALID_KEYS)]
    statements = [KeyStatement.for_ohttp(GATEWAY, k.config, now, now + 86400) for k in extra]
    await cloud.key_log.publish(statements)
    attacker = SwappingRelay(cloud.relay_url, keep_real=True, extra=0)
    attacker.statements_extra = statements  # type: ignore[attr-defined]

    async def statements_handler(request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as s, s.get(cloud.relay_url + request.path) as r:
            real = decode_statement_list(await r.read())
        body = encode_statement_list([*statements, *real])
        return web.Response(body=body, content_type=MEDIA_KEY_STATEMENTS)

    attacker.statements = statements_handler  # type: ignore[method-assign]
    runner, url = await _attacker(attacker)
    try:
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        client = Client(url, policy=POLICY, trust=trust)
        with pytest.raises(errors.KeyConsistencyError):
            await client.refresh()
        await client.close()
    finally:
        await runner.cleanup()
    assert attacker.posts == 0


def _tagging_challenge(cloud: Cloud) -> str:
    """The gateway's challenge, with a fresh random redemption context: one digest per device."""
    authorizer = cloud.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    fixed = parse_www_authenticate(authorizer.www_authenticate())[0].token_challenge()
    tagged = TokenChallenge(
        TOKEN_TYPE_BLIND_RSA, fixed.issuer_name, secrets.token_bytes(32), fixed.origin_info
    )
    spki = parse_www_authenticate(authorizer.www_authenticate())[0].token_key
    return encode_www_authenticate([PrivateTokenChallenge(tagged.encode(), spki)])


async def test_challenge_tagging_per_device_context_is_refused_and_tokens_kept(
    cloud: Cloud,
) -> None:
    wallet = cloud.new_wallet(batch_size=8)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
    ) as client:
        assert (await client.call("echo", None, b"first")).data == b"first"
        fixed_challenge, held, fetched = wallet.challenge, len(wallet), wallet.fetched
        tagging = _tagging_challenge(cloud)
        real = cloud.gateway.authorizer

        async def tag(inner: bhttp.Request) -> None:
            raise TokenRefusedError("a PrivateToken is required", www_authenticate=tagging)

        cloud.gateway.authorizer = tag
        with pytest.raises(errors.TaggableChallengeError):
            await client.call("echo", None, b"second")
        # The tagged challenge was not adopted; no token was dropped and none fetched (which
        # would also have told the issuer when a redemption happened).
        assert wallet.challenge == fixed_challenge
        assert (len(wallet), wallet.fetched) == (held - 1, fetched)
        cloud.gateway.authorizer = real
        assert (await client.call("echo", None, b"third")).data == b"third"


async def test_challenge_with_an_unlogged_token_key_is_never_adopted(cloud: Cloud) -> None:
    # The gateway names a key of its own: the device resends once with another of its tokens
    # (under the issuer's logged key), never fetches under the gateway's key, and the second
    # 401 reaches the caller (docs/adr/0009, decisions 4 and 6).
    from privcloud.crypto import blindrsa
    from privcloud.privacypass import IssuerKey

    wallet = cloud.new_wallet(batch_size=4)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
    ) as client:
        own = IssuerKey.from_public_key(blindrsa.generate_private_key(2048).public_key())
        authorizer = cloud.gateway.authorizer
        assert isinstance(authorizer, TokenAuthorizer)
        header = encode_www_authenticate([PrivateTokenChallenge(authorizer.challenge, own.spki)])

        async def own_key(inner: bhttp.Request) -> None:
            raise TokenRefusedError("a PrivateToken is required", www_authenticate=header)

        cloud.gateway.authorizer = own_key
        held, keys = len(wallet), list(wallet._keys)
        with pytest.raises(errors.TokenRequiredError):
            await client.call("echo", None, b"x")
        assert len(wallet) == held - 2 and wallet._keys == keys


async def test_issuer_key_not_in_the_log_is_refused() -> None:
    cloud = await start_cloud(tokens=True)
    try:
        # Another issuer key appears in the directory only (never logged): the wallet uses
        # only logged keys; with the logged one gone it refuses to fetch at all. The refused
        # prefetch fails no admission (an admission failed for it would be made again on each
        # request's path, signed batch included): the request fails on the device, naming it.
        assert cloud.issuer is not None
        cloud.issuer.core.store.delete_expired_keys(2**40)  # every key gone
        cloud.issuer.core.rotate()  # a fresh key, not logged
        await cloud.relay._refresh_issuer_copy()  # (shown through the relay too)
        wallet = cloud.new_wallet(batch_size=2, consistency_url=None)
        client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet)
        await client.refresh()
        with pytest.raises(errors.NoTokenLeftError, match=errors.KeyConsistencyError.code):
            await client.call("echo", None, b"x")
        assert wallet.fetched == 0
        await client.close()
    finally:
        await cloud.stop()


async def test_issuer_showing_one_device_a_newer_logged_key_is_refused_by_default() -> None:
    """Key partitioning with a logged key: the issuer logs a successor key and shows it only to
    who reads its directory directly (the wallet, whose device it knows), not through the
    relay. A wallet built without a ``consistency_url`` compares the two paths all the same,
    through the relay of the client it is given to, and refuses: without that it would prove
    the key in the log and fetch under it, the only device to (docs/adr/0009)."""
    cloud = await start_cloud(tokens=True)
    try:
        wallet = cloud.new_wallet(batch_size=2, consistency_url=None)
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
        ) as client:
            await client.refresh()
            before = wallet._current_key()
            assert before is not None
            await cloud.add_issuer_key(to_relay=False)
            with pytest.raises(errors.PolicyError, match="other keys"):
                await wallet.refresh_keys()
            assert wallet._current_key() == before
    finally:
        await cloud.stop()


def test_most_valid_at_once_counts_overlaps_per_service() -> None:
    a = _ohttp_statement(NOW, NOW + 100, key_id=1)
    b = _ohttp_statement(NOW + 50, NOW + 200, key_id=2)
    c = _ohttp_statement(NOW + 100, NOW + 300, key_id=3)  # starts as a ends: no overlap with a
    other = KeyStatement.for_ohttp("other.gateway", GatewayKey.generate(4).config, NOW, NOW + 9)
    assert most_valid_at_once([a, b, c, other]) == {
        (KeyKind.OHTTP, GATEWAY): 2,
        (KeyKind.OHTTP, "other.gateway"): 1,
    }
    d = _ohttp_statement(NOW + 60, NOW + 70, key_id=5)
    assert most_valid_at_once([a, b, c, d])[(KeyKind.OHTTP, GATEWAY)] == 3


async def test_log_audit_flags_key_partitioning_in_the_log(cloud: Cloud) -> None:
    from privcloud.cli import main

    assert cloud.transparency is not None and cloud.key_log is not None
    args = ["log", "audit", "--log", cloud.transparency.log_url]
    args += ["--log-vkey", cloud.transparency.log_vkey]
    assert await asyncio.to_thread(main, args) == 0  # one gateway key, one issuer key
    now = int(time.time())
    extra = [GatewayKey.generate(key_id=150 + i) for i in range(limits.MAX_OHTTP_VALID_KEYS)]
    await cloud.key_log.publish(
        [KeyStatement.for_ohttp(GATEWAY, k.config, now, now + 3600) for k in extra]
    )
    assert await asyncio.to_thread(main, args) == 1  # three keys of one gateway at once
