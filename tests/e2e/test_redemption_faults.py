"""Token spending under faults, on real services over loopback (issue "Hardening": "a token is
spent before the gateway knows a node can serve it").

Under the ``"when-accepted"`` policy (two phases, the fixtures' default here) the gateway
reserves a request's token, consumes it once a node answered with a response head, and releases
it on every failure before that; under ``"at-check"`` (the gateway's default, ADR 0029) the check
spends it. Either way the SDK sends a request that reached no working node once more, with a
fresh token, to k nodes drawn afresh from every admitted node (docs/tokens.md, "Redemption
steps"; docs/adr/0033, decision 6). Each test is named after the fault it injects, and
counts the spent-token rows against the calls that succeeded: nothing charged twice, no
reservation left behind, and, in two phases, nothing charged for a failure.

The gateway killed between reserve and consume (a subprocess, SIGKILL, restart) is in
test_redemption_processes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from cloudkit import Cloud, start_cloud
from netproxy import Proxy
from privcloud import errors, limits
from privcloud.envelope import MEDIA_TYPE_STREAM, parse_header
from privcloud.ohttp import MEDIA_REQUEST, KeyConfig, decode_key_configs
from privcloud.sdk import Client
from privcloud.sdk.core import TokenRequiredError, build_request
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.gateway import Gateway
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.node import Node
from privcloud.services.redemption import TokenAuthorizer
from privcloud.services.site import start_site
from privcloud.storage.spent_tokens import SqliteSpentTokenStore
from privcloud.trust.admission import AdmittedNode, ClientPolicy
from privcloud.wire.message import WorkloadRequest

POLICY = ClientPolicy.insecure_local_dev()
DEAD_URL = "http://127.0.0.1:1"  # nothing listens there: connection refused


def holders(path: Path) -> list[int]:
    """The ``holder`` of every spent-token row: 0 = consumed, else a reservation."""
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT holder FROM spent_tokens")]


# --- through the SDK, on a whole cloud -------------------------------------------------------


@pytest.fixture
async def cloud(request: pytest.FixtureRequest) -> AsyncIterator[Cloud]:
    c = await start_cloud(tokens=True, spend=getattr(request, "param", "when-accepted"))
    yield c
    await c.stop()


def _spent_db(cloud: Cloud) -> Path:
    assert cloud.token_dir is not None
    return cloud.token_dir / "spent-tokens.sqlite3"


class NodeKiller:
    """A proxy in front of every node (the gateway is pointed at them). The first node to answer
    an envelope "dies" then: its answer is dropped before a byte of it reaches the gateway, its
    connections are cut, and it refuses connections from then on."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.proxies: list[Proxy] = []
        self.killed: str | None = None
        self._kills: set[asyncio.Task[None]] = set()

    async def start(self) -> NodeKiller:
        records = self.cloud.gateway.table.records
        for index, (record, upstream) in enumerate(
            zip(records, self.cloud.node_proxies, strict=True)
        ):
            proxy = Proxy(upstream.port, tamper_outbound=self._tamper(index))
            await proxy.start()
            self.proxies.append(proxy)
            record.url = proxy.url
        return self

    def _tamper(self, index: int) -> Callable[[bytes, int], bytes]:
        node_id = self.cloud.nodes[index].descriptor.node_id

        def tamper(data: bytes, _: int) -> bytes:
            if self.killed == node_id:
                return b""
            if self.killed is None and MEDIA_TYPE_STREAM.encode() in data:
                self.killed = node_id  # the node worked, but dies before the gateway hears it
                task = asyncio.get_running_loop().create_task(self.proxies[index].stop())
                self._kills.add(task)
                return b""
            return data

        return tamper

    async def stop(self) -> None:
        await asyncio.gather(*self._kills)
        for proxy in self.proxies:
            await proxy.stop()


@pytest.mark.parametrize("streamed", [False, True], ids=["call", "stream"])
async def test_node_killed_mid_request_with_k2_succeeds_on_another_node_charging_one_token(
    cloud: Cloud, streamed: bool
) -> None:
    killer = await NodeKiller(cloud).start()
    wallet = cloud.new_wallet(batch_size=16)
    trust = cloud.client_trust()
    successes = 0
    try:
        # k=2 of 3: a retry drawn afresh may name the dead node, never it alone, and the
        # gateway tries the other recipient when it cannot connect to one.
        async with Client(
            cloud.relay_url, policy=POLICY, trust=trust, wallet=wallet, k=2
        ) as client:
            for n in range(6):
                body = f"request {n}".encode()
                if streamed:
                    events = [e async for e in client.stream("echo_stream", {"parts": 2}, body)]
                    assert b"".join(e.data for e in events) == body
                else:
                    assert (await client.call("echo", None, body)).data == body
                successes += 1
                assert killer.killed is not None  # the first request met the dying node
    finally:
        await killer.stop()
    # One row per call that succeeded, every one consumed: the token of the request the node
    # never answered was released, not charged, and no reservation is left.
    assert holders(_spent_db(cloud)) == [0] * successes
    authorizer = cloud.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    assert authorizer.outcomes == {"accepted": successes + 1, "released": 1}
    # The retry carried a fresh token: the device used one more than it was charged for.
    assert wallet.fetched - len(wallet) == successes + 1


@pytest.mark.parametrize("cloud", ["at-check"], indirect=True)
async def test_node_killed_mid_request_at_check_charges_the_lost_request_and_the_retry(
    cloud: Cloud,
) -> None:
    """Spent at the check: the request the dying node took cost its token, the retry (on
    another node, with a fresh token) its own. Every row is spent, none is held."""
    killer = await NodeKiller(cloud).start()
    wallet = cloud.new_wallet(batch_size=16)
    try:
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet, k=2
        ) as client:
            for n in range(3):
                body = f"request {n}".encode()
                assert (await client.call("echo", None, body)).data == body
            assert killer.killed is not None
    finally:
        await killer.stop()
    assert holders(_spent_db(cloud)) == [0] * 4
    authorizer = cloud.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    assert authorizer.outcomes == {"accepted": 4}
    assert wallet.fetched - len(wallet) == 4


async def test_node_the_gateway_cannot_reach_costs_one_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cloud.node_proxies[0].stop()
    cloud.node_proxies[0].target_port = 1  # node-1 is down; the gateway has not noticed yet
    wallet = cloud.new_wallet(batch_size=16)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet, k=2
    ) as client:
        choose = client._choose
        dead = next(a for a in client.trail.admitted if a.descriptor.node_id == "node-1")
        first = True

        def first_to_the_dead_node(feature: str, regions: object = None) -> list[AdmittedNode]:
            nonlocal first
            if first:
                first = False
                return [dead]
            return choose(feature, regions)  # type: ignore[arg-type]

        monkeypatch.setattr(client, "_choose", first_to_the_dead_node)
        assert (await client.call("echo", None, b"ok")).data == b"ok"
        assert len(client.trail.chosen) == 2  # the retry: two of the three, drawn afresh
    assert holders(_spent_db(cloud)) == [0]
    assert wallet.fetched - len(wallet) == 2


async def test_error_from_a_node_that_took_the_request_is_charged_once_and_not_retried(
    cloud: Cloud,
) -> None:
    wallet = cloud.new_wallet(batch_size=16)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet, k=1
    ) as client:
        with pytest.raises(errors.DecodeError):  # the workload refuses its parameters
            async for _ in client.stream("echo_stream", {"parts": 0}, b"x"):
                pass
        # No admitted node serves it: decided on the device, nothing sent, nobody to blame.
        with pytest.raises(errors.NoHealthyNodeError):
            await client.call("no_such_feature", None, b"x")
    assert holders(_spent_db(cloud)) == [0]
    assert wallet.fetched - len(wallet) == 1


async def test_gateway_failing_a_request_cannot_narrow_the_devices_later_draws(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack (ADR 0033, decision 6): the gateway answers one request of a device "no
    healthy node", though its node is up. A device that then left that node out of its next
    requests for two minutes (as it did) sealed them to nodes no other device draws from, and
    the gateway recognised them. Now its later requests land on that node at the rate every
    device's do, and so does the retry: no draw depends on an answer the gateway wrote."""
    gateway = cloud.gateway
    forward = gateway._to_a_recipient
    failed: list[bytes] = []

    async def fail_the_first(envelope: bytes, send: Any) -> Any:
        if not failed:
            failed.append(envelope)
            raise errors.NoHealthyNodeError("no healthy node among the request's recipients")
        return await forward(envelope, send)

    monkeypatch.setattr(gateway, "_to_a_recipient", fail_the_first)
    wallet = cloud.new_wallet(batch_size=64)  # (43 requests: none fetched on a path)
    async with Client(
        cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet, k=1
    ) as client:
        choose = client._choose
        draws: list[list[str]] = []

        def first_to_node_1(feature: str, regions: object = None) -> list[AdmittedNode]:
            serving = client._serving(feature, regions)  # type: ignore[arg-type]
            draws.append(sorted(a.descriptor.node_id for a in serving))
            if len(draws) == 1:
                return [a for a in serving if a.descriptor.node_id == "node-1"]
            return choose(feature, regions)  # type: ignore[arg-type]

        monkeypatch.setattr(client, "_choose", first_to_node_1)
        admissions = client._admissions
        assert (await client.call("echo", None, b"first")).data == b"first"
        assert failed and len(draws) == 2
        assert draws[1] == ["node-1", "node-2", "node-3"]  # the retry: from every node
        assert client._admissions == admissions  # and no admission the gateway set off
        landed = set()
        for n in range(40):  # P(node-1 drawn by none of 40 at k=1 of 3) = (2/3)^40 < 1e-7
            assert (await client.call("echo", None, f"later {n}".encode())).data
            landed.update(client.trail.chosen)
        assert landed == {"node-1", "node-2", "node-3"}
        assert all(d == ["node-1", "node-2", "node-3"] for d in draws)


async def test_gateway_walking_a_request_to_the_node_it_wants_buys_one_more_draw_only() -> None:
    """The attack (a red-team review of decision 6's first form): the gateway fails every
    attempt whose recipients lack node-6. A retry that left out the first attempt's nodes
    named node-6 every time with 6 nodes and k=3; drawn afresh, a request reaches it only
    when one of its two uniform draws does (3/4), and fails otherwise."""
    cloud = await start_cloud(regions=("eu-west",) * 6, tokens=True)
    try:
        gateway = cloud.gateway
        forward = gateway._to_a_recipient
        wanted = next(n.descriptor for n in cloud.nodes if n.descriptor.node_id == "node-6")

        async def steer(envelope: bytes, send: Any) -> Any:
            # (the gateway reads the recipients' key ids in the envelope's cleartext header)
            if not set(parse_header(envelope).key_ids) & set(wanted.key_ids):
                raise errors.NoHealthyNodeError("no healthy node among the request's recipients")
            return await forward(envelope, send)

        gateway._to_a_recipient = steer  # type: ignore[method-assign]
        wallet = cloud.new_wallet(batch_size=64)
        async with Client(
            cloud.relay_url, policy=POLICY, trust=cloud.client_trust(), wallet=wallet, k=3
        ) as client:
            reached = 0
            for _ in range(40):  # P(all 40 reach it) = (3/4)^40 < 1e-5
                if len(wallet) < limits.MAX_TOKENS_PER_REQUEST:
                    # (as the refill would, in the background: 40 requests of 1 or 2 tokens
                    # each, 60 on average, passed one batch of 64 about one run in 25)
                    await wallet.fetch()
                with contextlib.suppress(errors.NoHealthyNodeError):
                    await client.call("echo", None, b"x")
                    reached += 1
        assert 0 < reached < 40
    finally:
        await cloud.stop()


# --- one gateway, one node, faults injected at the node ------------------------------------

Fault = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Rig:
    """A gateway with tokens in front of one node whose envelope route can be made to fail."""

    url: str
    gateway: Gateway
    node: Node
    store: Path
    wallet: Wallet
    config: KeyConfig
    session: aiohttp.ClientSession
    faults: list[Fault] = field(default_factory=list)
    served: int = 0

    async def send(self, authorization: bytes) -> bytes:
        """One request with ``authorization``: the echoed body, or our error."""
        body, _, reader = build_request(
            self.config,
            [self.node.descriptor],
            WorkloadRequest("echo", {}, b"paid"),
            authorization=authorization,
        )
        async with self.session.post(
            self.url + "/v1/ohttp", data=body, headers={"Content-Type": MEDIA_REQUEST}
        ) as r:
            assert r.status == 200  # errors travel inside the encapsulation
            reader.feed(await r.read())
        (event,) = reader.close()
        return event.data


@pytest.fixture
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    spend = getattr(request, "param", "when-accepted")
    issuer = Issuer(tmp_path / "issuer", IssuerConfig(insecure_operator_codes=True, quota=100))
    irunner, iport = await start_site(issuer.app(), "127.0.0.1", 0)
    issuer_url = f"http://127.0.0.1:{iport}"
    node = Node("node-1")
    holder: list[Rig] = []
    original = node.handle_envelope

    async def envelope(request: web.Request) -> web.StreamResponse:
        r = holder[0]
        if r.faults:
            return await r.faults.pop(0)(request)
        r.served += 1
        return await original(request)

    node.handle_envelope = envelope  # type: ignore[method-assign]
    nrunner, nport = await start_site(node.app(), "127.0.0.1", 0)
    store = tmp_path / "spent.sqlite3"
    authorizer = TokenAuthorizer(SqliteSpentTokenStore(store), issuer_url=issuer_url, spend=spend)
    gateway = Gateway([f"http://127.0.0.1:{nport}"], authorizer=authorizer)
    grunner, gport = await start_site(gateway.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{gport}"
    wallet = Wallet(
        issuer_url,
        enrolment_code=issuer.core.new_enrolment_code(),
        config=WalletConfig(batch_size=4, insecure_unlogged_keys=True),
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/.well-known/ohttp-gateway") as r:
            config = decode_key_configs(await r.read())[0]
        holder.append(Rig(url, gateway, node, store, wallet, config, session))
        yield holder[0]
    await wallet.close()
    await grunner.cleanup()
    await nrunner.cleanup()
    await irunner.cleanup()
    issuer.core.store.close()


async def _node_503(_: web.Request) -> web.StreamResponse:
    return web.json_response({"error": "unavailable", "message": "node busy"}, status=503)


async def _head_then_cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": MEDIA_TYPE_STREAM})
    await response.prepare(request)
    await response.write(b"\x00")
    assert request.transport is not None
    request.transport.abort()  # the node took the request (its head is out) and then died
    return response


async def _send_failing_before_a_node_accepted(
    rig: Rig, fault: str, authorization: bytes
) -> Callable[[], Awaitable[None]]:
    """Send with ``fault`` injected before any node accepts (and check the error the device
    gets); returns what heals the node."""
    record = rig.gateway.table.records[0]
    url = record.url
    if fault == "node 503":
        rig.faults.append(_node_503)
    else:
        record.url = DEAD_URL
        record.healthy = fault == "connection refused"  # refused: the gateway did not know yet
    expected = errors.UnavailableError if fault == "node 503" else errors.NoHealthyNodeError
    with pytest.raises(expected):
        await rig.send(authorization)

    async def heal() -> None:
        record.url = url
        await rig.gateway.check_nodes()

    return heal


@pytest.mark.parametrize("fault", ["no healthy node", "connection refused", "node 503"])
async def test_failure_before_a_node_accepted_releases_the_token(rig: Rig, fault: str) -> None:
    authorization = await rig.wallet.authorization()
    heal = await _send_failing_before_a_node_accepted(rig, fault, authorization)
    assert holders(rig.store) == []  # not charged, not held
    await heal()
    # The same token is good for the next request (the SDK sends a fresh one: docs/tokens.md).
    assert await rig.send(authorization) == b"paid"
    assert holders(rig.store) == [0]
    authorizer = rig.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    assert authorizer.outcomes == {"accepted": 2, "released": 1}


@pytest.mark.parametrize("rig", ["at-check"], indirect=True)
@pytest.mark.parametrize("fault", ["no healthy node", "connection refused", "node 503"])
async def test_failure_before_a_node_accepted_still_charges_a_token_spent_at_the_check(
    rig: Rig, fault: str
) -> None:
    authorization = await rig.wallet.authorization()
    heal = await _send_failing_before_a_node_accepted(rig, fault, authorization)
    assert holders(rig.store) == [0]  # spent, not held: nothing is left to lapse or release
    await heal()
    with pytest.raises(TokenRequiredError, match="token already spent"):
        await rig.send(authorization)
    assert rig.served == 0
    authorizer = rig.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    assert authorizer.outcomes == {"accepted": 1, "spent": 1}


async def test_node_stream_cut_after_its_head_still_consumes_the_token(rig: Rig) -> None:
    authorization = await rig.wallet.authorization()
    rig.faults.append(_head_then_cut)
    with pytest.raises(errors.UpstreamError):
        await rig.send(authorization)
    assert holders(rig.store) == [0]  # the node answered: it did work, the token is spent
    with pytest.raises(TokenRequiredError, match="token already spent"):
        await rig.send(authorization)


@pytest.mark.parametrize("rig", ["when-accepted", "at-check"], indirect=True)
async def test_concurrent_double_spend_of_a_held_token_is_refused_exactly_once(rig: Rig) -> None:
    authorization = await rig.wallet.authorization()
    arrived, go = asyncio.Event(), asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await go.wait()  # the token stays held (reserved, or spent at the check) meanwhile
        rig.served += 1
        return await Node.handle_envelope(rig.node, request)

    rig.faults.append(stall)
    first = asyncio.create_task(rig.send(authorization))
    await asyncio.wait_for(arrived.wait(), 10)
    (row,) = holders(rig.store)
    authorizer = rig.gateway.authorizer
    assert isinstance(authorizer, TokenAuthorizer)
    assert (row == 0) == (authorizer.spend == "at-check")  # spent, or held until the answer
    outcomes = await asyncio.gather(
        *(rig.send(authorization) for _ in range(12)), return_exceptions=True
    )
    assert all(isinstance(o, TokenRequiredError) for o in outcomes), outcomes
    assert {str(o) for o in outcomes} == {"token already spent"}
    assert rig.served == 0  # none of them reached the node
    go.set()
    assert await first == b"paid"
    assert rig.served == 1
    assert holders(rig.store) == [0]
    with pytest.raises(TokenRequiredError, match="token already spent"):
        await rig.send(authorization)
