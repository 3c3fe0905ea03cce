"""Answers the operator can write at will must not single out one device (docs/adr/0033,
decision 6; docs/adr/0009, decision 6).

The gateway can answer any request with RFC 9458's key mismatch (it holds the key: it is a
claim), a 401, or "no healthy node"; the issuer knows which device fetches its directory and can
order its keys per device. A device that reacted to such an answer with something visible (a
key other devices do not use, a direct contact with the issuer, an issuance on the request
path) would hand the operator a way to tag it or tie that request to it. Each test is named
after the attack; each was reproduced by a red-team review of 2026-12-07 against the code
before the fix, and fails with the fix taken out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from test_live_session import DRAIN_S, echo_factory

from cloudkit import Interceptor, behind, pass_on, refuse_first, start_cloud
from privcloud import errors, limits
from privcloud.crypto.hpke import KemId
from privcloud.ohttp import GatewayKey
from privcloud.privacypass.headers import PrivateTokenChallenge, encode_www_authenticate
from privcloud.sdk import Client
from privcloud.sdk.live import LiveCall
from privcloud.sdk.wallet import Wallet
from privcloud.services.gateway_core import key_mismatch_problem
from privcloud.services.live_gateway import LiveGateway
from privcloud.services.redemption import TokenAuthorizer, TokenRefusedError
from privcloud.services.site import start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.keys import (
    KEY_STATEMENTS_PATH,
    MEDIA_KEY_STATEMENTS,
    KeyStatement,
    decode_statement_list,
    encode_statement_list,
)
from privcloud.wire import bhttp

POLICY = ClientPolicy.insecure_local_dev()
GATEWAY = "privcloud.gateway"


def issuances(wallet: Wallet) -> list[float]:
    """When ``wallet`` sends each issuance batch from now on (signed with the device key: the
    issuer knows who sends it)."""
    times: list[float] = []
    send = wallet._send_pending

    async def counting() -> int:
        times.append(time.monotonic())
        return await send()

    wallet._send_pending = counting  # type: ignore[method-assign]
    return times


class WithholdingGateway(Interceptor):
    """The gateway's position in front of the relay: it serves every key fetch the logged
    statements without ``hidden`` (a key it logged just now), except the next fetch when
    ``show_next`` (the one that follows a key mismatch it claimed), and every directory fetch
    meanwhile the directory it served before logging that key (:meth:`hide_new_key`: logged,
    valid, of the same step, naming the keys it shows); it can serve the next key fetch in the
    other order (``reverse_next``), fail one key fetch, answer one OHTTP request with a key
    mismatch and one checkpoint read with a "fork"; it counts directory fetches and notes each
    request's OHTTP key id (in the clear)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.hidden: int | None = None
        self.mismatch_next = False
        self.show_next = False
        self.reverse_next = False
        self.fail_keys_next = False
        self.fail_keys = False  # (every key fetch, while set)
        self.forge_fork_next = False
        self.directory_gets = 0
        self.key_ids: list[int] = []
        #: The directory document served while ``hidden`` is set (one not naming it).
        self.unnamed: bytes | None = None

    async def hide_new_key(self, cloud: Any) -> int:
        """Log a new gateway key (and, as the gateway does, a directory statement naming it),
        and hide it: from the key fetches as above, and from the directory fetches, which are
        served the directory logged before it."""
        async with aiohttp.ClientSession() as s, s.get(self.upstream + "/v1/directory") as r:
            self.unnamed = await r.read()
        time.sleep(1.1)  # (a later not_before than the first key's: the newest)
        self.hidden = await cloud.rotate_gateway_key(retire_old=False, begun_s=0)  # logged

        return self.hidden

    def routes(self, app: web.Application) -> None:
        app.router.add_get(KEY_STATEMENTS_PATH, self.statements)

    async def statements(self, request: web.Request) -> web.Response:
        if self.fail_keys_next or self.fail_keys:
            self.fail_keys_next = False
            return web.Response(status=503)
        async with aiohttp.ClientSession() as s, s.get(self.upstream + request.path) as r:
            served = decode_statement_list(await r.read())
        if self.show_next:
            self.show_next = False  # the device that got the mismatch: it sees the new key
        else:
            served = [s for s in served if s.key_config.key_id != self.hidden]
        if self.reverse_next:
            self.reverse_next = False
            served.reverse()
        return web.Response(body=encode_statement_list(served), content_type=MEDIA_KEY_STATEMENTS)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "GET" and request.path == "/v1/directory":
            self.directory_gets += 1
            if self.hidden is not None and self.unnamed is not None:
                return web.Response(body=self.unnamed, content_type="application/json")
        if (
            self.forge_fork_next
            and request.path.startswith("/log/")
            and "checkpoint" in request.path
        ):
            self.forge_fork_next = False  # a log's refusal is an error body: anyone can write it
            return web.json_response({"error": "fork", "message": "split view"}, status=500)
        if request.method == "POST" and request.path == "/v1/ohttp":
            if self.mismatch_next:
                self.mismatch_next = False
                return web.json_response(
                    key_mismatch_problem(), status=400, content_type="application/problem+json"
                )
            self.key_ids.append(body[0])
        return await pass_on(request, self.upstream, body)


async def test_gateway_tagging_one_device_by_its_ohttp_key_fails() -> None:
    cloud = await start_cloud(tokens=True)
    attacker = WithholdingGateway(cloud.relay_url)
    runner, port = await start_site(attacker.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    clients: list[Client] = []
    try:
        await cloud.rotate_gateway_key(retire_old=False)  # two logged keys (rotation overlap)
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        clients = [
            Client(url, policy=POLICY, trust=trust, wallet=cloud.new_wallet(batch_size=8))
            for _ in range(3)
        ]
        victim, *others = clients
        for c in clients:
            await c.refresh()
        assert len({c.trail.key_config_id for c in clients}) == 1
        # A mismatch on the victim's request; its key fetch that follows is served reversed.
        attacker.mismatch_next = attacker.reverse_next = True
        assert (await victim.call("echo", None, b"r1")).data == b"r1"
        assert not attacker.reverse_next  # (the victim's key fetch took it)
        seen: dict[str, set[int]] = {"victim": set(), "others": set()}
        for _ in range(2):
            for name, c in [("victim", victim), ("others", others[0]), ("others", others[1])]:
                n = len(attacker.key_ids)
                assert (await c.call("echo", None, b"x")).data == b"x"
                seen[name].update(attacker.key_ids[n:])
        assert seen["victim"] == seen["others"] and len(seen["others"]) == 1
    finally:
        for c in clients:
            await c.close()
        await runner.cleanup()
        await cloud.stop()


async def test_issuer_tagging_one_device_by_its_token_key_fails() -> None:
    cloud = await start_cloud(tokens=True)
    try:
        assert cloud.issuer is not None
        await cloud.add_issuer_key()  # two logged (the issuer publishes its successor ahead)
        name = cloud.issuer.issuer_name
        wallets = [cloud.new_wallet(batch_size=4, issuer_name=name) for _ in range(3)]
        target = wallets[0]
        read = target._read_directory

        async def reordered(base_url: str) -> Any:
            directory, keys = await read(base_url)
            if base_url == target.issuer_url:  # the direct fetch: the issuer knows who asks
                keys = list(reversed(keys))
            return directory, keys

        target._read_directory = reordered  # type: ignore[method-assign]
        clients = [
            Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=w)
            for w in wallets
        ]
        try:
            for c in clients:
                await c.refresh()
                for _ in range(2):
                    assert (await c.call("echo", None, b"x")).data == b"x"
        finally:
            for c in clients:
                await c.close()
        key_ids = [{s.key_id for s in w.spent} for w in wallets]
        assert key_ids[0] == key_ids[1] == key_ids[2] and len(key_ids[0]) == 1
    finally:
        await cloud.stop()


async def test_a_401_naming_an_unknown_token_key_sets_off_no_contact_with_the_issuer() -> None:
    cloud = await start_cloud(tokens=True)
    try:
        wallet = cloud.new_wallet(batch_size=8)
        direct: list[float] = []
        read = wallet._read_directory

        async def counting(base_url: str) -> Any:
            if base_url == wallet.issuer_url:
                direct.append(time.monotonic())
            return await read(base_url)

        wallet._read_directory = counting  # type: ignore[method-assign]
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
        ) as client:
            assert (await client.call("echo", None, b"x")).data == b"x"
            before = len(direct)
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            unknown = b"\x30" + b"\x00" * 293  # the fixed challenge, any token-key
            header = encode_www_authenticate([PrivateTokenChallenge(authorizer.challenge, unknown)])

            async def refuse(inner: bhttp.Request) -> None:
                raise TokenRefusedError("a PrivateToken is required", www_authenticate=header)

            cloud.gateway.authorizer = refuse
            with pytest.raises(errors.TokenRequiredError):  # resent once, refused again
                await client.call("echo", None, b"r")
        assert len(direct) == before  # the issuer heard nothing from this device
    finally:
        await cloud.stop()


@contextlib.asynccontextmanager
async def _token_device(
    **wallet: Any,
) -> AsyncIterator[tuple[Any, Wallet, Client, TokenAuthorizer, str]]:
    """A token cloud and one admitted device with a wallet of ``wallet`` settings: the cloud,
    the wallet, the client, the gateway's authorizer and the challenge it answers a 401
    with."""
    cloud = await start_cloud(tokens=True)
    try:
        w = cloud.new_wallet(**wallet)
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=w
        ) as client:
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            yield cloud, w, client, authorizer, authorizer.www_authenticate()
    finally:
        await cloud.stop()


async def test_gateway_burning_tokens_to_force_an_issuance_on_the_request_path_fails() -> None:
    answered: list[str] = []
    async with _token_device(batch_size=3) as (cloud, wallet, client, authorizer, header):
        fetches = issuances(wallet)
        script = ["401", "no-healthy-node", "401"]

        async def scripted(inner: bhttp.Request) -> Any:
            step = script.pop(0) if script else "pass"
            answered.append(step)
            if step == "401":
                raise TokenRefusedError("a PrivateToken is required", www_authenticate=header)
            if step == "no-healthy-node":
                raise errors.NoHealthyNodeError("no healthy node")
            return await authorizer(inner)

        before = len(fetches)
        cloud.gateway.authorizer = scripted
        with pytest.raises(errors.NoHealthyNodeError):
            await client.call("echo", None, b"r")
    assert len(answered) == limits.MAX_TOKENS_PER_REQUEST == 2  # no third token burnt
    assert len(fetches) == before  # and no issuance on the request path


async def test_a_retry_with_an_empty_wallet_fails_rather_than_fetch_on_the_request_path() -> None:
    cloud = await start_cloud(tokens=True)
    try:
        wallet = cloud.new_wallet(batch_size=1)  # one token: the first attempt's
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet
        ) as client:
            authorizer = cloud.gateway.authorizer
            assert isinstance(authorizer, TokenAuthorizer)
            assert len(wallet) == 1
            fetched = wallet.fetched

            async def no_node(inner: bhttp.Request) -> Any:
                raise errors.NoHealthyNodeError("no healthy node")

            cloud.gateway.authorizer = no_node
            with pytest.raises(errors.NoHealthyNodeError) as raised:
                await client.call("echo", None, b"r")
            assert isinstance(raised.value.__cause__, errors.NoTokenLeftError)
            assert wallet.fetched == fetched and len(wallet) == 0
    finally:
        await cloud.stop()


async def test_401s_on_chosen_requests_cannot_bring_an_issuance_onto_a_request() -> None:
    """The attack (a fourth review of decision 7): a 401 on a request's first send makes it
    spend a second token. Answered so again and again, a wallet ran empty before its refill
    (at a random time) came, and the device's next request fetched tokens on its path, an
    issuance the issuer ties to that request. (A reserve of tokens kept from resends, tried
    first, showed the gateway by the missing resend when a device's refill was due.) Now no
    request fetches tokens on its path: an empty wallet fails it and schedules a refill."""
    refill = (3600.0, 3600.0)
    async with _token_device(batch_size=4, refill_delay_s=refill) as device:
        cloud, wallet, client, authorizer, header = device
        fetches = issuances(wallet)
        fresh = [False]  # (a request's first send, which the gateway answers with a 401)

        async def first_send_refused(inner: bhttp.Request) -> Any:
            if fresh[0]:
                fresh[0] = False
                raise TokenRefusedError("a PrivateToken is required", www_authenticate=header)
            return await authorizer(inner)

        before = len(fetches)
        cloud.gateway.authorizer = first_send_refused
        for i in range(2):  # two tokens each: the whole batch
            fresh[0] = True
            assert (await client.call("echo", None, b"%d" % i)).data == b"%d" % i
        assert len(wallet) == 0
        cloud.gateway.authorizer = authorizer
        with pytest.raises(errors.NoTokenLeftError):
            await client.call("echo", None, b"mine")
    assert len(fetches) == before  # no issuance on a request's path


async def test_a_key_shown_to_one_device_once_is_used_for_that_resend_only() -> None:
    """The attack (the second review): the gateway logs a new key, shows it only to the key
    fetch that follows a mismatch it claimed on the victim's request, and withholds it from
    every other fetch. A device that remembered every key it proved kept the new key, alone,
    for the key's whole life; one that took it as its admission's key kept it until its next
    re-admission. Now the key that fetch shows seals that one resend, and the device's next
    requests go under the key every device uses (docs/adr/0009, decision 7)."""
    cloud = await start_cloud()
    gateway = WithholdingGateway(cloud.relay_url)
    runner, port = await start_site(gateway.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    clients: list[Client] = []
    try:
        await gateway.hide_new_key(cloud)
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        clients = [Client(url, policy=POLICY, trust=trust) for _ in range(3)]
        victim, *others = clients
        for c in clients:
            await c.refresh()
        gateway.mismatch_next = gateway.show_next = True
        assert (await victim.call("echo", None, b"r1")).data == b"r1"
        assert gateway.key_ids[-1] == gateway.hidden  # (shown once, the resend used it)
        seen: dict[str, set[int]] = {"victim": set(), "others": set()}
        for name, c in [("victim", victim), ("others", others[0]), ("others", others[1])]:
            n = len(gateway.key_ids)
            assert (await c.call("echo", None, b"x")).data == b"x"
            seen[name].update(gateway.key_ids[n:])
        assert seen["victim"] == seen["others"] and gateway.hidden not in seen["victim"]
    finally:
        for c in clients:
            await c.close()
        await runner.cleanup()
        await cloud.stop()


@pytest.mark.parametrize("failure", ["keys-503", "forged-fork"])
async def test_a_failed_key_refresh_after_a_mismatch_sets_off_no_whole_readmission(
    failure: str,
) -> None:
    """The attack (the second review): the gateway claims a key mismatch, then fails the key
    fetch that follows. The device dropped its whole admission then, so its next request
    re-admitted everything, directory included, where a statement logged just then could be
    served to it alone. Now it keeps its nodes and proves the keys again, keys only."""
    cloud = await start_cloud()
    gateway = WithholdingGateway(cloud.relay_url)
    runner, port = await start_site(gateway.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        async with Client(url, policy=POLICY, trust=trust) as client:
            before = gateway.directory_gets
            admitted = [a.descriptor.node_id for a in client.trail.admitted]
            gateway.mismatch_next = True
            if failure == "keys-503":
                gateway.fail_keys_next = True
            else:  # (the fourth review: a fork "from the log", written by whoever serves it)
                gateway.forge_fork_next = True
            with pytest.raises(errors.PrivcloudError):
                await client.call("echo", None, b"r1")
            assert [a.descriptor.node_id for a in client.trail.admitted] == admitted
            assert (await client.call("echo", None, b"r2")).data == b"r2"
            assert gateway.directory_gets == before
    finally:
        await runner.cleanup()
        await cloud.stop()


@pytest.mark.parametrize("answer", ["401", "503"])
async def test_a_live_refusal_the_gateway_writes_sets_off_no_issuance(
    answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack (the second review): with one token left, the gateway refuses a live call's
    opening (a 401, or a 503 of its own writing); the device fetched a batch on the spot,
    signed with its key, 1.7 ms after the refusal. Now only a call's first opening may fetch:
    the call fails instead."""
    cloud = await start_cloud(tokens=True)
    try:
        for node in cloud.nodes:
            node.live.pipelines = echo_factory
            node.live.drain_s = DRAIN_S
        wallet = cloud.new_wallet(batch_size=1, refill_delay_s=(100.0, 100.0))
        fetches = issuances(wallet)
        authorizer = cloud.gateway.authorizer
        assert isinstance(authorizer, TokenAuthorizer)
        header = authorizer.www_authenticate()
        real_open = LiveGateway._open
        refusals: list[float] = []

        async def refusing_once(self: LiveGateway, exchange: Any) -> Any:
            if not refusals:
                refusals.append(time.monotonic())
                if answer == "401":
                    raise TokenRefusedError("a PrivateToken is required", www_authenticate=header)
                raise errors.UnavailableError("live translation unavailable")
            return await real_open(self, exchange)

        monkeypatch.setattr(LiveGateway, "_open", refusing_once)
        async with Client(
            cloud.relay_url, policy=POLICY, wallet=wallet, trust=cloud.client_trust()
        ) as client:
            assert len(wallet) == 1
            before = len(fetches)
            call = LiveCall(client, deadline_s=5)
            refused = errors.NoTokenLeftError if answer == "401" else errors.UnavailableError
            with pytest.raises(refused):
                await call.start()
            await call.aclose()
        assert refusals and len(fetches) == before
    finally:
        await cloud.stop()


async def test_a_401_naming_an_unknown_token_key_leaves_no_mark_on_the_next_fetch() -> None:
    """The attack (a fourth review): the gateway answers one request of the victim with a 401
    naming a key the wallet does not hold. A wallet that then read the issuer's directory early
    showed the issuer, at its next fetch (a directory read beside the signed batch), which
    device got that 401. Now both devices' next fetches look the same."""
    cloud = await start_cloud(tokens=True)
    clients: list[Client] = []
    try:
        wallets = [cloud.new_wallet(batch_size=8) for _ in range(2)]
        seen: list[list[str]] = [[], []]
        for wallet, log in zip(wallets, seen, strict=True):
            read, send = wallet._read_directory, wallet._send_pending

            async def reading(base_url: str, log: list[str] = log, read: Any = read) -> Any:
                log.append("directory")  # direct to the issuer or through the relay
                return await read(base_url)

            async def sending(log: list[str] = log, send: Any = send) -> int:
                log.append("batch")  # signed with the device key
                return await send()

            wallet._read_directory = reading  # type: ignore[method-assign]
            wallet._send_pending = sending  # type: ignore[method-assign]
        clients = [
            Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=w)
            for w in wallets
        ]
        for client in clients:
            assert (await client.call("echo", None, b"x")).data == b"x"
        authorizer = cloud.gateway.authorizer
        assert isinstance(authorizer, TokenAuthorizer)
        unknown = b"\x30" + b"\x00" * 293
        header = encode_www_authenticate([PrivateTokenChallenge(authorizer.challenge, unknown)])
        cloud.gateway.authorizer = refuse_first(authorizer, header)
        for client in clients:  # the victim's request is tagged; both resends go through
            assert (await client.call("echo", None, b"r")).data == b"r"
        for log in seen:
            log.clear()
        for wallet in wallets:
            await wallet.fetch()  # each device's next fetch, at its own time
        assert seen[0] == seen[1] == ["batch"]
    finally:
        for client in clients:
            await client.close()
        await cloud.stop()


async def test_a_mismatch_claimed_past_the_directorys_validity_sets_off_no_readmission() -> None:
    """The attack (a fifth review): the gateway holds a request until the directory statement's
    validity is over (statements sit on a one-hour grid), then claims a key mismatch. A device
    that admitted again whole then fetched the directory at once, a fetch tied to the request
    the gateway chose. Now it proves the keys again only and resends to the draw it made; the
    next request admits again, at its own time."""
    cloud = await start_cloud()
    gateway = WithholdingGateway(cloud.relay_url)
    offset = [0.0]
    clock = type("Clock", (), {"now": lambda self: time.time() + offset[0]})()
    forward = gateway.forward
    held_until: list[float] = []

    async def holding(request: web.Request) -> web.Response:
        if request.method == "POST" and request.path == "/v1/ohttp" and gateway.mismatch_next:
            offset[0] = held_until[0] - time.time()  # held until then (time passing, simulated)
        return await forward(request)

    gateway.forward = holding  # type: ignore[method-assign]
    runner, port = await start_site(gateway.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        trust = cloud.client_trust()
        trust = type(trust)(f"{url}/log", trust.log, trust.roots)
        async with Client(url, policy=POLICY, trust=trust, clock=clock) as client:
            statement = client.trail.directory_statement
            assert statement is not None
            before = gateway.directory_gets
            held_until.append(statement.not_after)
            gateway.mismatch_next = True
            with contextlib.suppress(errors.PrivcloudError):
                await client.call("echo", None, b"r1")
            assert gateway.directory_gets == before
    finally:
        await runner.cleanup()
        await cloud.stop()


class HoldingGateway(WithholdingGateway):
    """The withholding gateway that also notes the log reads it passes on, claims a key
    mismatch on the next ``mismatches`` requests, and holds key fetches while ``hold`` is
    set and not yet released (counting those that arrive)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.log_reads: list[str] = []
        self.mismatches = 0
        self.hold: asyncio.Event | None = None
        self.key_fetches = 0
        self.cloud: Any = None  # (the cloud behind it, for the tests)

    async def statements(self, request: web.Request) -> web.Response:
        self.key_fetches += 1
        if self.hold is not None:
            await self.hold.wait()
        return await super().statements(request)

    async def forward(self, request: web.Request) -> web.Response:
        if request.path.startswith("/log/"):
            self.log_reads.append(request.path_qs)
        if request.method == "POST" and request.path == "/v1/ohttp" and self.mismatches:
            self.mismatches -= 1
            await request.read()
            return web.json_response(
                key_mismatch_problem(), status=400, content_type="application/problem+json"
            )
        return await super().forward(request)


@contextlib.asynccontextmanager
async def _behind(
    kind: type[HoldingGateway] = HoldingGateway, *, tokens: bool = False
) -> AsyncIterator[tuple[HoldingGateway, str, Any]]:
    """:func:`cloudkit.behind` with a gateway of ``kind``, its ``cloud`` set."""
    async with behind(kind, tokens=tokens) as (cloud, gateway, url, trust):
        gateway.cloud = cloud
        yield gateway, url, trust


@contextlib.asynccontextmanager
async def _two_devices() -> AsyncIterator[tuple[HoldingGateway, Client, Client]]:
    """A cloud with two logged, valid gateway keys, the newer one hidden by the gateway, and
    two admitted devices behind it (victim, other)."""
    async with _behind() as (gateway, url, trust):
        await gateway.hide_new_key(gateway.cloud)
        clients = [Client(url, policy=POLICY, trust=trust) for _ in range(2)]
        try:
            for c in clients:
                await c.refresh()
            yield gateway, clients[0], clients[1]
        finally:
            for c in clients:
                await c.close()


async def test_a_key_fetch_after_a_claimed_mismatch_leaves_no_mark_on_later_log_reads() -> None:
    """The attack (a review of decision 7): the key fetch after a mismatch the gateway claimed
    proved the key it showed there alone, and the device kept that proof (and the checkpoint
    the fetch moved to). At its next background admission, served both logged keys, it then
    skipped the log lookups every other device made, and the gateway knew whose admission it
    was and could answer it with the key of its choice. Now nothing of that fetch stays."""
    async with _two_devices() as (gateway, victim, other):
        gateway.mismatch_next = gateway.show_next = True
        assert (await victim.call("echo", None, b"r1")).data == b"r1"
        assert gateway.key_ids[-1] == gateway.hidden  # (the resend went under it)
        gateway.hidden = None  # every fetch is served both logged keys from now on
        reads: dict[str, list[str]] = {}
        for name, c in [("victim", victim), ("other", other)]:
            n = len(gateway.log_reads)
            await c.refresh()  # (what the background admission runs)
            reads[name] = sorted(gateway.log_reads[n:])
        assert reads["victim"] == reads["other"]


async def test_a_background_admission_the_gateway_fails_moves_no_admission_onto_a_request() -> None:
    """The attack (a review of decision 7): the gateway fails a background admission's key
    fetch (it need not know whose). The device dropped its admission, so its next request
    admitted on its own path, a fetch the gateway tied to it and answered with a key shown to
    that device alone. Now a failed background admission leaves the one held as it is."""
    async with _two_devices() as (gateway, victim, _):
        admitted = victim.trail
        gateway.fail_keys_next = True
        with pytest.raises(errors.PrivcloudError):
            async with victim._refresh_lock:  # (what the background runs, at its time)
                await victim._refresh_unlocked(keep_on_failure=True)
        assert victim.trail is admitted and not victim._expired()
        gateway.show_next = True  # the next key fetch, whoever's, would show the hidden key
        directory_gets, n = gateway.directory_gets, len(gateway.key_ids)
        for i in range(3):
            assert (await victim.call("echo", None, b"%d" % i)).data == b"%d" % i
        assert gateway.directory_gets == directory_gets
        assert gateway.hidden not in gateway.key_ids[n:]


async def test_a_resend_key_fetch_does_not_wait_for_a_background_admission_held_open() -> None:
    """The attack (a review of decision 7): the gateway holds a background admission's key
    fetch open and claims key mismatches on requests. The resend's key fetch waited for the
    refresh lock that admission held, so the request whose fetch did not come was the
    device's whose admission it held (and two mismatched requests of one device fetched one
    after the other). Now a resend's key fetch takes no lock."""
    async with _two_devices() as (gateway, victim, other):
        gateway.hidden = None
        gateway.hold = asyncio.Event()
        before = gateway.key_fetches
        background = asyncio.ensure_future(victim.refresh())  # (the background admission)
        while gateway.key_fetches == before:
            await asyncio.sleep(0.01)
        gateway.mismatches = 3
        calls = [asyncio.ensure_future(c.call("echo", None, b"x")) for c in (victim, victim, other)]
        for _ in range(200):
            if gateway.key_fetches - before == 4:
                break
            await asyncio.sleep(0.01)
        assert gateway.key_fetches - before == 4  # the background's and the three resends'
        gateway.hold.set()
        await background
        assert [(await c).data for c in calls] == [b"x"] * 3


async def test_a_request_finding_its_admission_over_does_not_wait_for_one_held_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack (a fourth review of decision 7): the gateway holds a background admission's
    key fetch open. A request that found the admission over (here: the last one failed on a
    request's path) waited for the refresh lock that admission held, so the gateway chose when
    that device's requests left: right after the answer it wrote, tied to it. Now the request
    stops the background admission and admits on its own."""
    from privcloud.sdk import client_admission as admission_module

    monkeypatch.setattr(admission_module, "READMIT_AFTER_S", 0.4)  # (seconds, for the test)
    async with (
        _behind() as (gateway, url, trust),
        Client(url, policy=POLICY, trust=trust) as client,
    ):
        held = gateway.hold = asyncio.Event()
        before = gateway.key_fetches
        while gateway.key_fetches == before:  # the background admission's, held
            await asyncio.sleep(0.01)
        gateway.hold = None  # (only that one)
        client._admitted_at = float("-inf")  # as after an admission failed on a request
        try:
            result = await asyncio.wait_for(client.call("echo", None, b"x"), 10)
            assert result.data == b"x"
            assert not held.is_set()
        finally:
            held.set()


async def test_a_key_ending_before_the_directory_puts_no_admission_on_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack (a fourth review of decision 7): a gateway that serves every device the
    older of two valid keys, until it ends, makes every admission end at that key's end. A
    device's next request then admitted on its path (a directory fetch tied to it, served
    what the gateway liked); the gateway could fail every background admission of the last
    minute to make sure. Now the admission lasts as long as its directory statement, and a
    request after its key's end is sealed under a key fetched for it alone."""
    monkeypatch.setattr(limits, "DIRECTORY_KEY_AHEAD_S", 1)  # (a key of 3 s is named)
    async with _behind() as (gateway, url, trust):
        time.sleep(1.1)  # (a later not_before than the first key's)
        short = await gateway.cloud.rotate_gateway_key(
            retire_old=False,
            lifetime_s=limits.KEY_STATEMENT_SKEW_S + 3,  # (ends in 3 s)
        )
        async with Client(url, policy=POLICY, trust=trust) as client:
            statement = client.trail.key_statement
            assert statement is not None and statement.key_config.key_id == short
            await asyncio.sleep(max(0.0, statement.not_after - time.time()) + 0.2)
            directories, keys = gateway.directory_gets, gateway.key_fetches
            assert (await client.call("echo", None, b"after")).data == b"after"
            assert gateway.directory_gets == directories  # no admission
            assert gateway.key_fetches == keys + 1  # one key, for that request
            assert client.trail.key_statement == statement  # (kept until the next admission)


async def test_a_gateway_failing_every_background_admission_is_seen(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The attack (a review of decision 7): the gateway fails every background admission, for
    the half hour that brings every device's admission to its end at one time; requests still
    go out under the admission held, so nothing showed it. Now the client counts them and
    warns from the second on (naming no address and nothing fetched)."""
    from privcloud.sdk import client_admission as admission_module

    monkeypatch.setattr(admission_module, "READMIT_AFTER_S", 0.4)  # (seconds, for the test)
    async with (
        _behind() as (gateway, url, trust),
        Client(url, policy=POLICY, trust=trust) as client,
    ):
        caplog.set_level("WARNING", logger="privcloud")
        gateway.fail_keys = True
        for _ in range(300):
            if client.background_failures >= 2:
                break
            await asyncio.sleep(0.01)
        assert client.background_failures >= 2
        warned = [r.getMessage() for r in caplog.records if "in a row" in r.getMessage()]
        assert warned and "127.0.0.1" not in warned[0]
        assert (await client.call("echo", None, b"x")).data == b"x"  # (the admission held)
        gateway.fail_keys = False
        for _ in range(300):
            if client.background_failures == 0:
                break
            await asyncio.sleep(0.01)
        assert client.background_failures == 0


class ExtraKeyGateway(HoldingGateway):
    """The holding gateway that adds ``extra`` (a key statement it logged, not named by its
    directory statement) to the next ``extra_fetches`` key fetches it serves."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.extra: KeyStatement | None = None
        self.extra_fetches = 0

    async def statements(self, request: web.Request) -> web.Response:
        response = await super().statements(request)
        if self.extra is None or not self.extra_fetches:
            return response
        self.extra_fetches -= 1
        assert isinstance(response.body, bytes)
        served = [self.extra, *decode_statement_list(response.body)]
        return web.Response(body=encode_statement_list(served), content_type=MEDIA_KEY_STATEMENTS)


async def test_a_logged_key_shown_to_one_background_admission_is_not_chosen() -> None:
    """The attack (a fourth review of decision 7): the gateway logs a hybrid key of its own
    and shows it to one background admission alone. That device chose it (the newest hybrid
    key it proved), and every request it sealed under it until its next admission carried a
    key id no other device used; the memory of hybrid keys then kept it on that key. Now a
    device chooses among the keys its directory statement names (ADR 0033, decision 7), the
    same for every device shown that statement."""
    async with _behind(ExtraKeyGateway) as (gateway, url, trust):
        assert isinstance(gateway, ExtraKeyGateway)
        cloud = gateway.cloud
        now = int(time.time())
        key = GatewayKey.generate(key_id=200, kem=KemId.MLKEM768_X25519)
        gateway.extra = KeyStatement.for_ohttp(GATEWAY, key.config, now, now + 86400)
        await cloud.key_log.publish([gateway.extra])
        gateway.extra_fetches = 1
        async with Client(url, policy=POLICY, trust=trust) as victim:
            chosen = victim.trail.key_statement
            assert gateway.extra_fetches == 0  # (it was shown the key)
            assert chosen is not None and chosen != gateway.extra
            async with Client(url, policy=POLICY, trust=trust) as other:
                assert other.trail.key_statement == chosen  # one key for both


class TilelessLogGateway(HoldingGateway):
    """The holding gateway whose log (the operator's) answers the tile API with 404, so that
    a device that fell back to the log's JSON proof endpoints would name its trusted size in
    each consistency read (``/v1/proof/consistency?old=N``)."""

    async def forward(self, request: web.Request) -> web.Response:
        if request.path == "/log/checkpoint" or request.path.startswith("/log/tile/"):
            self.log_reads.append(request.path_qs)
            return web.Response(status=404)
        return await super().forward(request)


async def _grow_log(cloud: Any, tag: bytes, *, entries: int = 1) -> None:
    """The operator appends ``entries`` of its own and waits for a cosigned checkpoint."""
    from privcloud.logclient import LogClient

    t = cloud.transparency
    async with LogClient(t.log_url) as log:
        for i in range(entries):
            result = await log.append(b"operator padding %s %d" % (tag, i), t.operator_key)
        await log.wait_for_checkpoint(result.index + 1, min_cosignatures=1, timeout=60)


async def _resend_reads(gateway: HoldingGateway, client: Client) -> list[str]:
    """The log reads of the key fetch after a mismatch the gateway claims on one request."""
    n = len(gateway.log_reads)
    gateway.mismatches = 1
    assert (await client.call("echo", None, b"x")).data == b"x"
    return sorted(gateway.log_reads[n:])


async def test_a_resend_key_fetch_does_not_name_the_devices_last_admission() -> None:
    """The attack (a second review of decision 7): every log read of a device starts with a
    consistency proof from the size its last admission trusted. Through the log's JSON
    endpoint (``?old=N``), which a device fell back to when the operator's log served no
    tiles, that size named the admission: the gateway linked each request it claimed a
    mismatch on to the device's last admission, and so to each other. Devices now read the
    log by its tiles only (shared by every device whose trusted size falls in the same tile);
    a log without them is refused."""
    async with _two_devices() as (gateway, victim, other):
        gateway.hidden = None
        await _grow_log(gateway.cloud, b"1")
        await other.refresh()  # (the two devices' last admissions trusted different sizes)
        await _grow_log(gateway.cloud, b"2")
        first = await _resend_reads(gateway, victim)
        assert first == await _resend_reads(gateway, other)
        assert not any("proof/consistency" in r for r in first)


async def test_a_log_without_tiles_is_refused_rather_than_read_by_size() -> None:
    """The same attack's other half: the operator's log answers the tile API with 404. The
    device's admission fails (and a background one keeps the admission held) instead of
    asking ``/v1/proof/consistency?old=N``."""
    async with _behind(TilelessLogGateway) as (gateway, url, trust):
        client = Client(url, policy=POLICY, trust=trust)
        with pytest.raises(errors.PrivcloudError):
            await client.refresh()
        await client.close()
        assert gateway.log_reads and not any("/v1/proof/" in r for r in gateway.log_reads)


async def test_a_key_proven_at_a_background_admission_does_not_show_in_a_later_resend() -> None:
    """The attack (a second review of decision 7): the gateway showed the newer logged key to
    one background admission (whoever's), then served the usual key to every later one. The
    device kept that key's proof, so at any later mismatch the gateway claimed it skipped the
    log lookup every other device made, and its requests were recognised for the key's life.
    Now a resend's key fetch proves every key afresh."""
    async with _two_devices() as (gateway, victim, other):
        gateway.show_next = True
        await victim.refresh()  # a background admission the gateway showed the newer key
        await other.refresh()
        for c in (victim, other):
            await c.refresh()  # the next ones, served as to everyone: same key, same size
        assert victim.trail.key_config_id == other.trail.key_config_id != gateway.hidden
        assert victim.log_state is not None and other.log_state is not None
        assert victim.log_state.checkpoint.size == other.log_state.checkpoint.size
        reads = {}
        for name, c in [("victim", victim), ("other", other)]:
            gateway.show_next = True  # the resend's fetch is shown both logged keys
            reads[name] = await _resend_reads(gateway, c)
        assert reads["victim"] == reads["other"]


async def test_an_aged_admission_is_renewed_in_the_background_never_before_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack (ADR 0009, decision 6, the limit it left open): once its admission was
    ``READMIT_AFTER_S`` old, a device admitted again right before its next request, fetching
    the key statements and the directory within milliseconds of it: a fetch the gateway ties
    to that request and can serve a logged key or directory statement of its choosing, by
    which it then recognises the device's later requests. Now no request admits while the
    admission's logged validity lasts, and the client admits again in the background, at
    random times (docs/adr/0009, decision 7)."""
    from privcloud.sdk import client_admission as admission_module

    async with _behind() as (gateway, url, trust):
        async with Client(url, policy=POLICY, trust=trust) as client:
            before = gateway.directory_gets
            client._admitted_at -= 3600  # an hour old: requests used to admit again first
            for i in range(3):
                assert (await client.call("echo", None, b"%d" % i)).data == b"%d" % i
            assert gateway.directory_gets == before
        monkeypatch.setattr(admission_module, "READMIT_AFTER_S", 0.4)  # (seconds, for the test)
        async with Client(url, policy=POLICY, trust=trust) as client:
            admissions, before = client._admissions, gateway.directory_gets
            await asyncio.sleep(2.0)  # no request at all
            assert client._admissions >= admissions + 3
            assert gateway.directory_gets >= before + 3


async def test_a_statement_shown_to_one_background_admission_marks_no_later_one() -> None:
    """The attack (a third review of decision 7): the gateway shows the newer logged key to
    one background admission (whoever's), then to every later one. The device of the first
    had kept its proof and skipped the log lookups every other device made at every later
    admission: the gateway knew whose background admission it served, and could answer its
    directory fetch with a statement of its choosing. Now every admission proves every
    statement afresh."""
    async with _two_devices() as (gateway, victim, other):
        gateway.show_next = True
        await victim.refresh()  # one background admission shown the newer key
        gateway.hidden = None
        reads = {}
        for name, c in [("victim", victim), ("other", other)]:
            n = len(gateway.log_reads)
            await c.refresh()  # the next background admissions, served alike
            reads[name] = sorted(gateway.log_reads[n:])
        assert reads["victim"] == reads["other"]


async def test_the_wallets_key_proofs_do_not_name_the_devices_last_admission() -> None:
    """The attack (a third review of decision 7): the wallet proved the issuer's keys at the
    size the device trusted, its last admission's, and the partial tiles of that tree name
    the size exactly; the read comes right before an issuance the issuer ties to the device
    (and on a request's path when the wallet is empty). Then the wallet proved them at the
    log's newest checkpoint, but reached it from the trusted size, whose tiles a consistency
    proof reads (a review: way 4 of the fourth review). Now it reaches the newest checkpoint
    from the pinned state, the same on every device."""
    async with _behind(tokens=True) as (gateway, url, trust):
        cloud = gateway.cloud
        clients = [
            Client(url, policy=POLICY, trust=trust, wallet=cloud.new_wallet(batch_size=4))
            for _ in range(2)
        ]
        victim, other = clients
        try:
            for c in clients:
                await c.refresh()
            await cloud.add_issuer_key()  # a new logged key, proven at the wallets' next read
            await victim.refresh()  # (background admissions)
            await _grow_log(cloud, b"1", entries=256)  # a tile's worth: the sizes' tiles differ
            await other.refresh()  # a trusted size a tile more than the victim's
            assert victim.log_state is not None and other.log_state is not None
            assert victim.log_state.checkpoint.size != other.log_state.checkpoint.size
            reads = {}
            for name, c in [("victim", victim), ("other", other)]:
                assert c.wallet is not None
                n = len(gateway.log_reads)
                await c.wallet.refresh_keys()  # (before an issuance)
                reads[name] = sorted(gateway.log_reads[n:])
            assert reads["victim"] == reads["other"]
        finally:
            for c in clients:
                await c.close()


async def test_an_issuer_refusing_a_device_from_its_start_sees_no_attempt_of_its_user() -> None:
    """The attack (a review of ADR 0009, decision 8): the issuer answers one device's batches
    with a 503 from the app's start. The first admission's prefetch failed, the admission
    failed closed with it, and each feature the user then tried admitted again on its own
    path, prefetch and signed batch included, within milliseconds of the attempt. Now a
    refused prefetch fails no admission: the requests fail on the device (naming the refill's
    error) and only background admissions, at random times, try again."""
    cloud = await start_cloud(tokens=True)
    try:
        wallet = cloud.new_wallet(batch_size=8)
        contacts = issuances(wallet)
        assert cloud.issuer is not None

        def refuse(_: int) -> None:  # the issuer answers this device 503 (after its charge)
            raise errors.UnavailableError("issuer store unavailable")

        cloud.issuer.core.after_charge = refuse
        client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet)
        try:
            for i in range(3):  # the user tries a feature three times
                with pytest.raises(errors.NoTokenLeftError, match="unavailable"):
                    await client.call("echo", None, b"%d" % i)
            assert len(contacts) == 1  # the first admission's, at the app's start
        finally:
            await client.close()
    finally:
        await cloud.stop()
