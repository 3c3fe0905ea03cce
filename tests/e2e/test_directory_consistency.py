"""Directory consistency (docs/adr/0033-logged-node-directory.md): a device seals only to the
nodes of a directory whose statement is in the trusted, witness-cosigned log and names exactly
those nodes, so the gateway (or a relay) cannot show one device nodes of its own and link its
requests by their recipients. Each attack test is named after the attack and runs on real
services over loopback; the attacker sits in front of the real relay and rewrites the directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from cloudkit import Cloud, pass_on, start_cloud
from privcloud import errors, limits
from privcloud.clock import Clock
from privcloud.sdk import Client
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_key import KeyRing
from privcloud.services.keylog import KeyLog
from privcloud.services.site import start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.directory import (
    NodeDescriptor,
    decode_directory_document,
    encode_directory,
)
from privcloud.trust.directory_statement import DirectoryStatement

POLICY = ClientPolicy.insecure_local_dev()
GATEWAY = "privcloud.gateway"

Rewrite = Callable[[list[NodeDescriptor], bytes | None], bytes]


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


class DirectoryRewriter:
    """An attacker in front of the real relay: it rewrites the node directory it passes on,
    and counts the requests sent through it. Everything else passes through unchanged."""

    def __init__(self, upstream: str, rewrite: Rewrite) -> None:
        self.upstream = upstream
        self.rewrite = rewrite
        self.posts = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/directory", self.directory)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def directory(self, request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as s, s.get(self.upstream + request.path) as r:
            nodes, statement = decode_directory_document(await r.read())
        return web.Response(body=self.rewrite(nodes, statement), content_type="application/json")

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST":
            self.posts += 1
        return await pass_on(request, self.upstream, body)


async def _refresh_through(
    cloud: Cloud,
    attacker: DirectoryRewriter,
    *,
    insecure_unlogged_directory: bool = False,
    clock: Clock | None = None,
) -> None:
    """Admit through the attacker (the log read through it too), then make one request;
    raises what the client raises."""
    runner, port = await start_site(attacker.app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    trust = cloud.client_trust()
    trust = type(trust)(f"{url}/log", trust.log, trust.roots)
    client = Client(
        url,
        policy=POLICY,
        trust=trust,
        insecure_unlogged_directory=insecure_unlogged_directory,
        clock=clock,
    )
    try:
        await client.refresh()
        assert (await client.call("echo", None, b"through")).data == b"through"
    finally:
        await client.close()
        await runner.cleanup()


async def test_the_logged_directory_is_proven_and_used(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        statement = client.trail.directory_statement
        assert statement is not None and statement.service == GATEWAY
        assert set(statement.key_ids) == {a.descriptor.key_id for a in client.trail.admitted}
        assert len(statement.key_ids) == 3
        assert (await client.call("echo", None, b"ok")).data == b"ok"


async def test_directory_subset_for_one_device_is_refused_before_any_request(
    cloud: Cloud,
) -> None:
    # The logged statement passed on as it is, one of its nodes left out: the device would
    # seal to the two others only, which the gateway could recognise.
    def drop_one(nodes: list[NodeDescriptor], statement: bytes | None) -> bytes:
        return encode_directory(nodes[1:], statement)

    attacker = DirectoryRewriter(cloud.relay_url, drop_one)
    with pytest.raises(errors.DirectoryConsistencyError, match="not the logged one"):
        await _refresh_through(cloud, attacker)
    assert attacker.posts == 0


async def test_directory_of_its_own_for_one_device_is_refused_when_not_logged(
    cloud: Cloud,
) -> None:
    # A subset with a statement made for it, which the operator did not log.
    def own(nodes: list[NodeDescriptor], _: bytes | None) -> bytes:
        start = _grid(time.time())
        mine = DirectoryStatement.for_nodes(
            GATEWAY, nodes[:1], start, start + limits.DIRECTORY_STATEMENT_LIFETIME_S
        )
        return encode_directory(nodes[:1], mine.encode())

    attacker = DirectoryRewriter(cloud.relay_url, own)
    with pytest.raises(errors.DirectoryConsistencyError, match="not logged"):
        await _refresh_through(cloud, attacker)
    assert attacker.posts == 0


async def test_directory_stripped_of_its_statement_is_refused_unless_insecure(
    cloud: Cloud,
) -> None:
    def strip(nodes: list[NodeDescriptor], _: bytes | None) -> bytes:
        return encode_directory(nodes)

    attacker = DirectoryRewriter(cloud.relay_url, strip)
    with pytest.raises(errors.DirectoryConsistencyError, match="no logged statement"):
        await _refresh_through(cloud, attacker)
    assert attacker.posts == 0
    # A client told to accept unlogged directories (INSECURE) uses it.
    await _refresh_through(cloud, attacker, insecure_unlogged_directory=True)
    assert attacker.posts == 1


def _misdated(node: NodeDescriptor) -> NodeDescriptor:
    """``node`` with its bundle's issue time moved by a second: its evidence binds other
    claims, so admission refuses it."""
    assert node.bundle is not None
    bundle = dataclasses.replace(node.bundle, issued_at=node.bundle.issued_at - 1)
    return dataclasses.replace(node, bundle=bundle)


async def test_bundles_broken_for_one_device_make_it_refuse_the_whole_directory(
    cloud: Cloud,
) -> None:
    # The logged statement and its entries passed on, but the bundles of all listed nodes
    # except one made to fail admission (the issue time moved, so the evidence binds other
    # claims). Were each failing node refused alone, the device would seal to the one left,
    # which the gateway recognises: it must refuse the directory instead.
    def break_all_but_one(nodes: list[NodeDescriptor], statement: bytes | None) -> bytes:
        return encode_directory(nodes[:1] + [_misdated(n) for n in nodes[1:]], statement)

    attacker = DirectoryRewriter(cloud.relay_url, break_all_but_one)
    with pytest.raises(errors.DirectoryConsistencyError, match="refused whole"):
        await _refresh_through(cloud, attacker)
    assert attacker.posts == 0


async def test_bundles_swapped_between_listed_nodes_make_the_device_refuse_the_directory(
    cloud: Cloud,
) -> None:
    # Each listed entry with another listed node's bundle (all genuine, all fresh).
    def swap(nodes: list[NodeDescriptor], statement: bytes | None) -> bytes:
        bundles = [n.bundle for n in nodes]
        rotated = bundles[1:] + bundles[:1]
        out = [dataclasses.replace(n, bundle=b) for n, b in zip(nodes, rotated, strict=True)]
        return encode_directory(out, statement)

    attacker = DirectoryRewriter(cloud.relay_url, swap)
    with pytest.raises(errors.DirectoryConsistencyError, match="refused whole"):
        await _refresh_through(cloud, attacker)
    assert attacker.posts == 0


async def test_a_node_set_aside_by_the_device_policy_is_no_reason_to_refuse(
    cloud: Cloud,
) -> None:
    # A device whose policy takes nothing to us-east sets node-3 aside on its logged region
    # (the same for every such device, whatever its bundle): the rest of the directory is
    # admitted, even with node-3's bundle broken on the way.
    def break_us_east(nodes: list[NodeDescriptor], statement: bytes | None) -> bytes:
        out = [_misdated(n) if n.region == "us-east" else n for n in nodes]
        return encode_directory(out, statement)

    attacker = DirectoryRewriter(cloud.relay_url, break_us_east)
    runner, port = await start_site(attacker.app(), "127.0.0.1", 0)
    trust = cloud.client_trust()
    eu_only = ClientPolicy.insecure_local_dev(allowed_regions=frozenset({"eu-west"}))
    url = f"http://127.0.0.1:{port}"
    client = Client(url, policy=eu_only, trust=type(trust)(f"{url}/log", trust.log, trust.roots))
    try:
        await client.refresh()
        assert client.trail.refused == [("node-3", "node region not allowed by policy")]
        assert {a.descriptor.node_id for a in client.trail.admitted} == {"node-1", "node-2"}
    finally:
        await client.close()
        await runner.cleanup()


async def test_a_node_the_gateway_check_refuses_is_listed_no_more(cloud: Cloud) -> None:
    # An honest gateway checks each node as devices will before it lists it (docs/adr/0033).
    # Its policy now takes no node in us-east: node-3 fails, its logged entry too, so the next
    # statement leaves it out and devices admit the rest; passing again, it stays out until
    # the next step.
    check = cloud.gateway.node_check
    assert check is not None and check.refused == {}
    devices_policy = check.policy
    check.policy = dataclasses.replace(devices_policy, allowed_regions=frozenset({"eu-west"}))
    check.recheck()
    await cloud.gateway.log_directory()  # (or its health loop did, just before)
    assert check.refused == {"node-3": "node region not allowed by policy"}
    statement = cloud.gateway.directory.statement
    assert statement is not None and len(statement.key_ids) == 2
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert {a.descriptor.node_id for a in client.trail.admitted} == {"node-1", "node-2"}
        assert client.trail.directory_statement == statement
    async with aiohttp.ClientSession() as s, s.get(cloud.gateway_proxy.url + "/healthz") as r:
        assert (await r.json())["refused_nodes"] == 1
    # Passing again, it stays out until the next step (no statement per flap).
    check.policy = devices_policy
    check.recheck()
    assert not await cloud.gateway.log_directory()
    assert check.refused == {} and cloud.gateway.directory.statement == statement


async def test_a_node_whose_renewed_bundle_fails_is_served_with_its_logged_one(
    cloud: Cloud,
) -> None:
    # node-2's renewed bundle is a day old (its clock): refused by the check, but the entry it
    # was logged with (the same boot key, so the same measured software) still passes, so the
    # gateway keeps it listed with that bundle, and devices admit all three.
    from privcloud.clock import FixedClock

    check = cloud.gateway.node_check
    assert check is not None
    before = cloud.gateway.directory.statement
    cloud.nodes[1].clock = FixedClock(time.time() - 25 * 3600)
    cloud.nodes[1].reattest()
    await cloud.gateway.check_nodes()
    assert not await cloud.gateway.log_directory()
    assert check.refused == {"node-2": "node bundle is stale"}
    assert cloud.gateway.directory.statement == before
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert len(client.trail.admitted) == 3


@pytest.mark.parametrize(
    "failure",
    [errors.UnavailableError("log unavailable"), errors.NotFoundError("not reached yet")],
    ids=["out-of-reach", "behind"],
)
async def test_a_log_out_of_reach_is_no_verdict_on_a_node(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, failure: errors.PrivcloudError
) -> None:
    # The log's proofs cannot be fetched (a review found one failed fetch refused a healthy
    # node for five minutes, and every device with it): the gateway's check records nothing,
    # and a device raises UnavailableError, not a verdict on the directory. A 404 for a proof
    # at the trusted size (a reader behind) is the same: UnavailableError (fetch_log_proofs).
    from privcloud.logclient import LogClient

    check = cloud.gateway.node_check
    assert check is not None
    await publish_entry_and_wait(cloud)  # the log grows: the nodes' proofs must be fetched

    async def out_of_reach(*_: object) -> list[bytes]:
        raise failure

    monkeypatch.setattr(LogClient, "inclusion_proof", out_of_reach)
    check.recheck()
    with pytest.raises(errors.UnavailableError):
        await check.check(cloud.gateway.table.healthy(), time.time())
    assert check.refused == {}
    # The device: only the nodes' release proofs fail (its key and directory proofs pass), and
    # it gets the log's error, not a verdict on the directory.
    monkeypatch.undo()
    release = cloud.gateway.nodes[0].descriptor
    assert release is not None and release.bundle is not None
    genuine = LogClient.inclusion_proof

    async def release_out_of_reach(self: LogClient, index: int, size: int) -> list[bytes]:
        if index == release.bundle.log_index:  # type: ignore[union-attr]
            raise failure
        return await genuine(self, index, size)

    monkeypatch.setattr(LogClient, "inclusion_proof", release_out_of_reach)
    client = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
    try:
        with pytest.raises(errors.UnavailableError):
            await client.refresh()
    finally:
        await client.close()
    monkeypatch.undo()
    await check.check(cloud.gateway.table.healthy(), time.time())
    assert check.refused == {}
    assert all(check.passed(n, time.time()) for n in cloud.gateway.table.healthy())


@pytest.mark.parametrize("broken", ["log index", "issue time"])
@pytest.mark.parametrize("under", ["another node id", "its own node id"])
async def test_a_copy_of_a_nodes_entry_with_a_broken_bundle_cannot_push_it_out(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, under: str, broken: str
) -> None:
    # A node host (or anyone between the gateway and a node) serves node-1's public entry with
    # a broken bundle, under another node id or its own, beside the genuine one: node-1 still
    # passes and stays listed (a review found the copy held node-1's key out, and, under the
    # same id, that the copy's log proofs were used for the genuine entry).
    check = cloud.gateway.node_check
    assert check is not None
    await publish_entry_and_wait(cloud)  # proofs must be fetched for every bundle
    victim = cloud.gateway.nodes[0].descriptor
    assert victim is not None and victim.bundle is not None
    copy = dataclasses.replace(  # fails at admission step 4 (its proof) or 2 (its evidence)
        _misdated(victim) if broken == "issue time" else victim,
        node_id="node-9" if under == "another node id" else victim.node_id,
    )
    if broken == "log index":
        bundle = dataclasses.replace(victim.bundle, log_index=victim.bundle.log_index + 1)
        copy = dataclasses.replace(copy, bundle=bundle)
    real = cloud.gateway.table.healthy
    monkeypatch.setattr(cloud.gateway.table, "healthy", lambda: [*real(), copy])
    check.recheck()
    await cloud.gateway.log_directory()
    statement = cloud.gateway.directory.statement
    assert statement is not None and victim.key_id in statement.key_ids
    assert check.passed(victim, time.time()) and check.failed(copy)
    # Nor while node-1 misses a health check: the copy comes from no address node-1 was
    # listed from (a review held node-1 out for the step so, under its own id).
    others = [n for n in real() if n.key_id != victim.key_id]
    monkeypatch.setattr(cloud.gateway.table, "healthy", lambda: [*others, copy])
    await cloud.gateway.log_directory()
    assert cloud.gateway.directory.statement == statement


async def test_a_bundle_naming_a_tree_the_log_never_signed_cannot_stop_the_check(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node host writes a made-up size into its bundle's checkpoint: were it believed, the
    # log's "no such tree" would stop the check for every node (a review found that). Only a
    # checkpoint the log signed makes a proof be fetched: that node alone is refused.
    from privcloud.logclient import checkpoint_size
    from privcloud.transparency.note import parse_note

    check = cloud.gateway.node_check
    assert check is not None
    victim = cloud.gateway.nodes[0].descriptor
    assert victim is not None and victim.bundle is not None
    size = parse_note(victim.bundle.checkpoint).text.split(b"\n")[1]
    forged = victim.bundle.checkpoint.replace(  # its signature lines kept, now not matching
        b"\n" + size + b"\n", b"\n" + str(int(size) + 1000).encode() + b"\n", 1
    )
    assert checkpoint_size(forged) == int(size) + 1000
    bad = dataclasses.replace(victim, bundle=dataclasses.replace(victim.bundle, checkpoint=forged))
    real = cloud.gateway.table.healthy
    others = [n for n in real() if n.key_id != victim.key_id]
    monkeypatch.setattr(cloud.gateway.table, "healthy", lambda: [bad, *others])
    check.recheck()
    await check.check(cloud.gateway.table.healthy(), time.time())  # no log error escapes
    assert set(check.refused) == {victim.node_id}
    assert all(check.passed(n, time.time()) for n in others)


async def test_a_bundle_showing_the_log_forked_raises_the_alarm_and_nothing_stands_in(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A bundle whose checkpoint the log signed and the witnesses cosigned, naming another tree
    # of the size the gateway trusts: the log forked (its key and its witnesses' were used
    # twice). That is no matter of the bundle's age or proof, so the node's earlier entry does
    # not stand in for it (as it does for a stale bundle): the node is refused, and the
    # gateway logs an error, the operator's alarm.
    from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
    from privcloud.transparency.cosignature import cosign

    check = cloud.gateway.node_check
    transparency = cloud.transparency
    assert check is not None and transparency is not None
    victim = cloud.gateway.nodes[1].descriptor
    assert victim is not None and victim.bundle is not None
    trusted = transparency.log.checkpoint
    other = Checkpoint(trusted.origin, trusted.size, secrets.token_bytes(32), trusted.extensions)
    signed = sign_checkpoint(other, [transparency.log.core.signer])
    forked = signed + cosign(other.encode(), transparency.witness.key, time.time())
    bad = dataclasses.replace(victim, bundle=dataclasses.replace(victim.bundle, checkpoint=forked))
    real = cloud.gateway.table.healthy
    others = [n for n in real() if n.key_id != victim.key_id]
    monkeypatch.setattr(cloud.gateway.table, "healthy", lambda: [bad, *others])
    check.recheck()
    with caplog.at_level("ERROR", logger="privcloud.gateway"):
        await check.check(cloud.gateway.table.healthy(), time.time())
    assert check.state.checkpoint.size == trusted.size  # (the fork is of the tree it trusts)
    assert check.refused == {victim.node_id: "log signed two different trees of the same size"}
    assert check.failed(bad) and not check.failed_on_its_bundle_alone(bad)
    assert any("shows the log forked" in r.getMessage() for r in caplog.records)
    assert all(check.passed(n, time.time()) for n in others)


def test_a_node_check_whose_policy_admits_too_short_a_bundle_age_is_refused(
    cloud: Cloud,
) -> None:
    # Its margin would refuse every node before its hourly renewal (a review set the age to
    # 600 s: every node "stale", silently).
    from privcloud.services.gateway_admission import NodeCheck

    check = cloud.gateway.node_check
    assert check is not None
    short = dataclasses.replace(check.config.policy, max_bundle_age_s=7000)
    with pytest.raises(errors.ConfigError, match="renewal"):
        NodeCheck(dataclasses.replace(check.config, policy=short))


async def test_two_entries_sharing_a_node_id_on_two_releases_are_both_admitted(
    cloud: Cloud,
) -> None:
    # A second node claims the id node-1 (the evidence does not bind node ids) and runs another
    # logged release, at another log index: the device must use each entry's own proofs (a
    # review had one's lent to the other, and every device refuse the whole directory).
    from privcloud.services.gateway_core import NodeRecord
    from privcloud.services.node import Node

    t = cloud.transparency
    assert t is not None and cloud.insecure_tee_key is not None
    release = cloud.nodes[0].manifest
    other = dataclasses.replace(release, package_version=release.package_version + ".post1")
    await publish_entry_and_wait(cloud, other.encode())
    twin = Node(
        "node-1",
        region="eu-west",
        provider="local",
        manifest=other,
        insecure_tee_key=cloud.insecure_tee_key,
        log_url=t.log_url,
    )
    runner, port = await start_site(twin.app(), "127.0.0.1", 0)
    try:
        cloud.gateway.table.records.append(NodeRecord(f"http://127.0.0.1:{port}"))
        await cloud.gateway.check_nodes()
        await cloud.gateway.log_directory()
        statement = cloud.gateway.directory.statement
        assert statement is not None and len(statement.key_ids) == 4
        async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
            assert len(client.trail.admitted) == 4
    finally:
        await runner.cleanup()


async def test_a_bundle_stripped_of_its_cosignatures_is_refused_by_the_gateway(
    cloud: Cloud,
) -> None:
    # A device whose trusted checkpoint lags takes a bundle's newer checkpoint only with the
    # witnesses' cosignatures: served without them, such devices alone would refuse the
    # directory (a review split devices so). The gateway refuses that bundle, and lists the
    # node with the one it was logged with.
    check = cloud.gateway.node_check
    node = cloud.nodes[1]
    assert check is not None and node.core.descriptor.bundle is not None
    bundle = node.core.descriptor.bundle
    text, signatures = bundle.checkpoint.split(b"\n\n", 1)
    stripped = text + b"\n\n" + signatures.splitlines(keepends=True)[0]  # the log's alone
    node.core.descriptor = dataclasses.replace(
        node.core.descriptor, bundle=dataclasses.replace(bundle, checkpoint=stripped)
    )
    before = cloud.gateway.directory.statement
    await cloud.gateway.check_nodes()
    await cloud.gateway.log_directory()
    assert check.refused == {"node-2": "node's checkpoint: too few fresh witness cosignatures"}
    assert cloud.gateway.directory.statement == before
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert len(client.trail.admitted) == 3


async def test_a_down_node_whose_logged_entry_fails_is_not_kept_listed(cloud: Cloud) -> None:
    # A node that goes down stays listed until the next step, with its logged entry; but if
    # that entry now fails the check (here: the fleet's policy leaves its region), it is
    # dropped at once rather than withheld, which would have every device refuse the
    # directory until the step ends.
    check = cloud.gateway.node_check
    assert check is not None
    await cloud.node_proxies[2].stop()
    await cloud.gateway.check_nodes()
    check.policy = dataclasses.replace(check.policy, allowed_regions=frozenset({"eu-west"}))
    check.recheck()
    await cloud.gateway.log_directory()
    statement = cloud.gateway.directory.statement
    assert statement is not None and len(statement.key_ids) == 2
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert {a.descriptor.node_id for a in client.trail.admitted} == {"node-1", "node-2"}


async def test_a_verdict_stands_for_the_recheck_time_only(cloud: Cloud) -> None:
    # A bundle that passed is taken again after RECHECK_S (so one that ages past the policy's
    # limit stops being served); a check within it asks nothing of the log.
    from privcloud.services.gateway_admission import RECHECK_S

    check = cloud.gateway.node_check
    assert check is not None
    now = time.time()
    healthy = cloud.gateway.table.healthy()
    await check.check(healthy, now)
    assert all(check.passed(n, now) for n in healthy)
    assert not any(check.passed(n, now + RECHECK_S) for n in healthy)
    await check.check(healthy, now + RECHECK_S)
    assert all(check.passed(n, now + RECHECK_S) for n in healthy)


async def publish_entry_and_wait(cloud: Cloud, entry: bytes | None = None) -> None:
    """Append ``entry`` (random bytes by default) to the cloud's log and wait for a cosigned
    checkpoint covering it."""
    from privcloud.logclient import LogClient, publish_entry

    t = cloud.transparency
    assert t is not None
    entry = secrets.token_bytes(16) if entry is None else entry
    index = await publish_entry(t.log_url, t.operator_key, entry)
    async with LogClient(t.log_url) as log:
        await log.wait_for_checkpoint(index + 1, min_cosignatures=1)


def test_the_gateway_checks_with_margins_over_the_devices_policy(cloud: Cloud) -> None:
    # A bundle the gateway passes must not be refused by a device minutes later (a review
    # reproduced one 30 s from its age limit): the check asks for its recheck time and the
    # clock skew more, and half the skew into the future.
    from privcloud.services.gateway_admission import RECHECK_S

    check = cloud.gateway.node_check
    assert check is not None
    devices = check.config.policy
    assert check.policy.max_bundle_age_s == (
        devices.max_bundle_age_s - RECHECK_S - devices.max_clock_skew_s
    )
    assert check.policy.max_clock_skew_s == devices.max_clock_skew_s / 2


async def test_directory_statement_replayed_after_its_validity_is_refused(cloud: Cloud) -> None:
    # A statement the operator did log, but one whose validity has passed: a device is not
    # kept on an old directory for ever.
    start = _grid(time.time()) - limits.DIRECTORY_STATEMENT_LIFETIME_S  # ended at the last step
    attacker = await _serving_logged(cloud, start)
    with pytest.raises(errors.DirectoryConsistencyError, match="not valid now"):
        await _refresh_through(cloud, attacker)


async def test_the_older_of_two_valid_statements_served_to_everyone_is_refused(
    cloud: Cloud,
) -> None:
    # Logged, valid, but a step old: served to every device, it would make every admission
    # end at that statement's end, where the gateway could fail all background admissions
    # at once and put every device's next admission on a request's path (docs/adr/0009,
    # decision 7, a fourth review).
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    now = time.time()
    start = _grid(now) - half  # the step before: valid until the end of this step
    # Past the late seconds into this step (the device's clock moved on to them if need be),
    # where the step before is taken no more.
    ahead = max(0.0, _grid(now) + limits.DIRECTORY_STATEMENT_LATE_S + 5 - now)
    clock = type("Clock", (), {"now": lambda self: time.time() + ahead})()
    attacker = await _serving_logged(cloud, start)
    with pytest.raises(errors.DirectoryConsistencyError, match="a step old"):
        await _refresh_through(cloud, attacker, clock=clock)


async def test_a_key_retired_early_fails_new_admissions_until_the_next_statement(
    cloud: Cloud,
) -> None:
    # The cost of ADR 0033, decision 7, in honest use: a key taken out of the gateway early
    # (retired) is named by the served directory statement until the next is logged, seconds
    # later. A device admitting meanwhile refuses the directory (a named key not served); one
    # holding an admission keeps it; then the next statement names the key no more.
    ring = cloud.gateway.ring
    kept = tuple(r for r in ring.records if r.key.config.post_quantum)  # the classical retired
    assert kept and len(kept) < len(ring.records)
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as holding:
        cloud.gateway.ring = type(ring)(kept)  # retired, no statement logged yet
        try:
            fresh = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust())
            with pytest.raises(errors.DirectoryConsistencyError, match="withheld"):
                await fresh.refresh()
            await fresh.close()
            assert (await holding.call("echo", None, b"meanwhile")).data == b"meanwhile"
            assert await cloud.gateway.log_directory()
            statement = cloud.gateway.directory.statement
            assert statement is not None and statement.keys == tuple(
                sorted(r.statement.leaf_hash for r in kept)
            )
            async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
                assert (await c.call("echo", None, b"after")).data == b"after"
        finally:
            cloud.gateway.ring = ring
            await cloud.gateway.log_directory()


async def test_a_node_down_stays_listed_and_requests_go_to_the_others(cloud: Cloud) -> None:
    # A node that goes down writes no entry (it stays listed until the next step of the
    # validity grid): requests sealed to it go to the envelope's other recipients.
    before = cloud.gateway.directory.statement
    assert before is not None and len(before.key_ids) == 3
    await cloud.node_proxies[2].stop()
    await cloud.gateway.check_nodes()
    assert not await cloud.gateway.log_directory()
    assert cloud.gateway.directory.statement == before
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        assert client.trail.directory_statement == before
        for _ in range(3):
            assert (await client.call("echo", None, b"two left")).data == b"two left"


async def test_log_audit_flags_a_directory_per_device_in_the_log(cloud: Cloud) -> None:
    # An operator that logs what it shows each device: every such directory would pass the
    # device's checks, but all are in public view, and the audit counts them.
    from privcloud.cli import main

    assert cloud.transparency is not None and cloud.key_log is not None
    args = ["log", "audit", "--log", cloud.transparency.log_url]
    args += ["--log-vkey", cloud.transparency.log_vkey]
    assert await asyncio.to_thread(main, args) == 0  # the gateway's one directory
    start = _grid(time.time())
    per_device = [
        DirectoryStatement(
            GATEWAY,
            ((secrets.token_bytes(32), secrets.token_bytes(32)),),
            start,
            start + limits.DIRECTORY_STATEMENT_LIFETIME_S,
        )
        for _ in range(limits.MAX_DIRECTORIES_VALID_AT_ONCE)
    ]
    await cloud.key_log.publish(per_device)
    assert await asyncio.to_thread(main, args) == 1
    # A fleet that starts many nodes at once gives the audit a higher bound.
    higher = str(limits.MAX_DIRECTORIES_VALID_AT_ONCE + 2)
    assert await asyncio.to_thread(main, [*args, "--most-directories", higher]) == 0


async def test_log_audit_flags_directories_off_the_validity_grid(cloud: Cloud) -> None:
    # Short statements back to back (one per device that refreshes then) never overlap: the
    # audit refuses any statement off the grid every gateway uses, as devices do.
    from privcloud.cli import main

    assert cloud.transparency is not None and cloud.key_log is not None
    args = ["log", "audit", "--log", cloud.transparency.log_url]
    args += ["--log-vkey", cloud.transparency.log_vkey]
    now = int(time.time())
    nodes = [r.descriptor for r in cloud.gateway.nodes if r.descriptor is not None]
    await cloud.key_log.publish([DirectoryStatement.for_nodes(GATEWAY, nodes[:1], now, now + 3)])
    assert await asyncio.to_thread(main, args) == 1


async def test_log_audit_flags_a_directory_naming_no_post_quantum_key_while_one_was_valid(
    cloud: Cloud,
) -> None:
    # Devices choose among the keys the statement names and prefer a hybrid one: a statement
    # naming only a classical key moves every device shown it off post-quantum protection. The
    # device cannot tell (an honest gateway may offer classical keys alone); the audit can.
    from privcloud.cli import main
    from privcloud.crypto.hpke import KemId
    from privcloud.ohttp import GatewayKey
    from privcloud.trust.keys import KeyStatement

    assert cloud.transparency is not None and cloud.key_log is not None
    args = ["log", "audit", "--log", cloud.transparency.log_url]
    args += ["--log-vkey", cloud.transparency.log_vkey]
    start = _grid(time.time())
    # A hybrid key begun before this step, named by the gateway's statement: no downgrade.
    await cloud.rotate_gateway_key(retire_old=False, begun_s=int(time.time()) - start + 3600)
    assert await asyncio.to_thread(main, args) == 0
    classical = GatewayKey.generate(key_id=7, kem=KemId.DHKEM_X25519_HKDF_SHA256).config
    key = KeyStatement.for_ohttp(GATEWAY, classical, start - 3600, start + 86400)
    nodes = [r.descriptor for r in cloud.gateway.nodes if r.descriptor is not None]
    lifetime = limits.DIRECTORY_STATEMENT_LIFETIME_S
    downgrade = DirectoryStatement.for_nodes(GATEWAY, nodes, start, start + lifetime, [key])
    await cloud.key_log.publish([key, downgrade])
    assert await asyncio.to_thread(main, args) == 1


async def _serving_logged(cloud: Cloud, start: int) -> DirectoryRewriter:
    """An attacker serving the cloud's nodes with a statement of them it logged, valid from
    ``start`` for the lifetime (a step old, or ended)."""
    assert cloud.key_log is not None
    nodes = [r.descriptor for r in cloud.gateway.nodes if r.descriptor is not None]
    statement = DirectoryStatement.for_nodes(
        GATEWAY, nodes, start, start + limits.DIRECTORY_STATEMENT_LIFETIME_S
    )
    await cloud.key_log.publish([statement])

    def serve(served: list[NodeDescriptor], _: bytes | None) -> bytes:
        return encode_directory(served, statement.encode())

    return DirectoryRewriter(cloud.relay_url, serve)


def _grid(now: float) -> int:
    """The start of the current step of the directory statements' validity grid."""
    half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
    return int(now) // half * half


async def test_a_gateway_without_a_logged_directory_is_not_ready(cloud: Cloud) -> None:
    # Its log is out of reach (port 9): it serves an unlogged directory, which devices refuse,
    # so its readiness says 503 and a load balancer sends devices elsewhere.
    assert cloud.transparency is not None
    key_log = KeyLog("http://127.0.0.1:9", cloud.transparency.operator_key)
    gateway = Gateway([p.url for p in cloud.node_proxies], directory_log=key_log)
    runner, port = await start_site(gateway.app(), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 503 and (await r.json())["logged_nodes"] == 0
            async with s.get(f"{cloud.gateway_proxy.url}/healthz") as r:
                assert r.status == 200 and (await r.json())["logged_nodes"] == 3
    finally:
        await runner.cleanup()


async def test_the_directory_statement_names_the_service_of_the_gateways_keys(
    cloud: Cloud,
) -> None:
    # A gateway whose keys name another service logs its directory under that name; one with
    # no key offered logs nothing (it has no name to give, and serves no device anyway).
    assert cloud.key_log is not None
    now = time.time()
    ring = KeyRing().with_missing_keys("gw.example", limits.OHTTP_KEY_LIFETIME_S, now)
    named = Gateway([p.url for p in cloud.node_proxies], ring=ring, directory_log=cloud.key_log)
    keyless = Gateway(
        [p.url for p in cloud.node_proxies], ring=KeyRing(), directory_log=cloud.key_log
    )
    try:
        for gateway in (named, keyless):
            await gateway.check_nodes()
        assert await named.log_directory()
        assert named.directory.statement is not None
        assert named.directory.statement.service == "gw.example"
        assert not await keyless.log_directory() and keyless.directory.statement is None
    finally:
        for gateway in (named, keyless):
            await gateway._stop(web.Application())  # its client sessions
