"""Hybrid post-quantum protection through every hop (docs/adr/0014-post-quantum-hpke.md): the
device encapsulates to the gateway's hybrid ML-KEM-768 + X25519 OHTTP key configuration and
seals the envelope to the nodes' hybrid keys, over real services on loopback with a recording
proxy in front of each hop; and the downgrade attacks — a relay or gateway that strips the
hybrid configuration from the key statements, or a node's hybrid key from the directory — are
detected or refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from cloudkit import Cloud, Interceptor, start_cloud
from privcloud import errors
from privcloud.crypto.hpke import KemId
from privcloud.envelope import parse_header
from privcloud.ohttp import GatewayKey
from privcloud.sdk import Client
from privcloud.services.site import start_site
from privcloud.trust.admission import ClientPolicy
from privcloud.trust.keys import (
    KEY_STATEMENTS_PATH,
    MEDIA_KEY_STATEMENTS,
    KeyStatement,
    decode_statement_list,
    encode_statement_list,
)

POLICY = ClientPolicy.insecure_local_dev()
CANARY = b"CANARY-post-quantum-recording"
#: The hybrid suite's ids as they appear on the wire: KEM 0x647A, HKDF-SHA256, ChaCha20-Poly1305.
HYBRID_IDS = bytes.fromhex("647a00010003")


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud()
    yield c
    await c.stop()


def _bodies(raw: bytes) -> list[bytes]:
    """The bodies of the HTTP/1.1 requests (content-length framed) in a proxy's recording."""
    bodies = []
    while b"\r\n\r\n" in raw:
        head, raw = raw.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        bodies.append(raw[:length])
        raw = raw[length:]
    return bodies


async def test_request_through_all_hops_uses_the_hybrid_suite(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as client:
        config = client.trail.key_statement.key_config if client.trail.key_statement else None
        assert config is not None and config.kem == KemId.MLKEM768_X25519
        assert all(a.descriptor.pq_key is not None for a in client.trail.admitted)
        result = await client.call("echo", None, CANARY)
        assert result.data == CANARY
        events = [e async for e in client.stream("echo_stream", {"parts": 3}, CANARY)]
        assert b"".join(e.data for e in events[:-1]) == CANARY
    # Relay -> gateway: OHTTP requests (one-shot and chunked) to the hybrid key configuration.
    posts = [b for b in _bodies(cloud.gateway_proxy.inbound()) if b]
    assert len(posts) == 2
    for body in posts:
        assert body[0] == config.key_id and body[1:7] == HYBRID_IDS
        assert CANARY not in body
    # Gateway -> node: envelopes sealed to the nodes' hybrid keys (header: version, suite, ids).
    envelopes = [b for p in cloud.node_proxies for b in _bodies(p.inbound()) if b]
    assert len(envelopes) == 2
    hybrid_ids = {n.descriptor.pq_key.key_id for n in cloud.nodes if n.descriptor.pq_key}
    for envelope in envelopes:
        header = parse_header(envelope)
        assert header.suite.kem == KemId.MLKEM768_X25519
        assert set(header.key_ids) <= hybrid_ids
        assert CANARY not in envelope


class StrippingRelay(Interceptor):
    """An attacker in front of the real relay (or a gateway doing the same): it drops the
    hybrid post-quantum statements from the key statement list, and with ``strip_nodes`` the
    nodes' hybrid keys from the directory, so that devices fall back to X25519. Everything else
    passes through."""

    def __init__(self, upstream: str, *, strip_nodes: bool = False) -> None:
        super().__init__(upstream)
        self.strip_nodes = strip_nodes
        self.active = True
        self.posts = 0

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {"Content-Type": request.content_type} if body else {}
        if request.method == "POST":
            self.posts += 1
        async with (
            aiohttp.ClientSession() as s,
            s.request(
                request.method, self.upstream + request.path_qs, data=body or None, headers=headers
            ) as r,
        ):
            payload, media, status = await r.read(), r.content_type, r.status
        if self.active and request.path == KEY_STATEMENTS_PATH:
            kept = [s for s in decode_statement_list(payload) if not s.key_config.post_quantum]
            payload, media = encode_statement_list(kept), MEDIA_KEY_STATEMENTS
        if self.active and self.strip_nodes and request.path == "/v1/directory":
            doc = json.loads(payload)
            for node in doc["nodes"]:
                node.pop("pq", None)
            payload = json.dumps(doc).encode()
        return web.Response(status=status, body=payload, content_type=media)


async def _via(cloud: Cloud, attacker: StrippingRelay) -> tuple[web.AppRunner, str]:
    runner, port = await start_site(attacker.app(), "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{port}"


def _client(cloud: Cloud, url: str, **kwargs: bool) -> Client:
    trust = cloud.client_trust()
    trust = type(trust)(f"{url}/log", trust.log, trust.roots)
    return Client(url, policy=POLICY, trust=trust, **kwargs)


async def test_downgrade_strip_hybrid_keyconfig_is_refused_by_require_post_quantum(
    cloud: Cloud,
) -> None:
    attacker = StrippingRelay(cloud.relay_url)
    runner, url = await _via(cloud, attacker)
    try:
        # (The logged directory names the hybrid key: the strip is refused as a withheld key
        # before the policy is asked; without a logged directory, by the policy.)
        client = _client(cloud, url, require_post_quantum=True)
        with pytest.raises(errors.DirectoryConsistencyError, match="withheld"):
            await client.refresh()
        with pytest.raises(errors.DirectoryConsistencyError, match="withheld"):
            await client.call("echo", None, CANARY)
        await client.close()
        client = _client(cloud, url, require_post_quantum=True, insecure_unlogged_directory=True)
        with pytest.raises(errors.DowngradeError):
            await client.refresh()
        await client.close()
    finally:
        await runner.cleanup()
    assert attacker.posts == 0  # nothing was sent under the classical key


async def test_downgrade_strip_hybrid_keyconfig_after_it_was_proven_is_detected(
    cloud: Cloud,
) -> None:
    # The device proved the hybrid statement once; a relay that later withholds it while it is
    # still valid is caught by the key-consistency memory, even under the default policy. (With
    # a logged directory no memory is needed: the statement names the key, the test above.)
    attacker = StrippingRelay(cloud.relay_url)
    attacker.active = False
    runner, url = await _via(cloud, attacker)
    try:
        client = _client(cloud, url, insecure_unlogged_directory=True)
        await client.refresh()
        assert client.trail.key_statement is not None
        assert client.trail.key_statement.key_config.post_quantum
        attacker.active = True
        with pytest.raises(errors.DowngradeError):
            await client.refresh()
        posts = attacker.posts
        with pytest.raises(errors.DowngradeError):
            await client.call("echo", None, CANARY)
        assert attacker.posts == posts  # refused before anything was sent
        await client.close()
    finally:
        await runner.cleanup()


async def test_downgrade_strip_hybrid_keyconfig_on_first_contact_falls_back_to_logged_x25519(
    cloud: Cloud,
) -> None:
    # The documented default (ADR 0014) without a logged directory (INSECURE): a device that
    # never saw a hybrid configuration and does not require one accepts the logged classical
    # configuration; the request still works and the console shows it as classical. With one,
    # the strip is refused (the first test).
    attacker = StrippingRelay(cloud.relay_url)
    runner, url = await _via(cloud, attacker)
    try:
        async with _client(cloud, url, insecure_unlogged_directory=True) as client:
            assert (await client.call("echo", None, CANARY)).data == CANARY
            statement = client.trail.key_statement
            assert statement is not None and not statement.key_config.post_quantum
    finally:
        await runner.cleanup()


async def test_downgrade_strip_hybrid_node_keys_from_the_directory_refuses_the_nodes(
    cloud: Cloud,
) -> None:
    # Two defences. The directory's logged statement names each entry with its hybrid key, so
    # a directory with the hybrid keys removed is not the logged one (ADR 0033). And the
    # nodes' evidence binds their hybrid keys (NodeClaims v2): even with the directory check
    # off (INSECURE), the stripped entries no longer match the report data, so no node is
    # admitted to seal to classically.
    attacker = StrippingRelay(cloud.relay_url, strip_nodes=True)
    runner, url = await _via(cloud, attacker)
    try:
        with pytest.raises(errors.DirectoryConsistencyError, match="not the logged one"):
            async with _client(cloud, url):
                pass
        async with _client(cloud, url, insecure_unlogged_directory=True) as client:
            assert client.trail.admitted == []
            assert client.trail.refused
            assert all("report data" in why for _, why in client.trail.refused)
            with pytest.raises(errors.NoHealthyNodeError):
                await client.call("echo", None, CANARY)
    finally:
        await runner.cleanup()
    assert attacker.posts == 0


async def test_classical_only_gateway_key_list_is_refused_when_post_quantum_is_required(
    cloud: Cloud,
) -> None:
    # A gateway whose ring lost its hybrid key (not an attack on the path: the operator's own
    # configuration) is refused by a device that requires post-quantum protection, and still
    # served by one that does not.
    now = time.time()
    cloud.gateway.ring = type(cloud.gateway.ring)(
        tuple(r for r in cloud.gateway.ring.records if not r.key.config.post_quantum)
    )
    assert cloud.gateway.ring.offered(now)
    await cloud.gateway.log_directory()  # (as its health loop does within seconds)
    strict = Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust(),
                    require_post_quantum=True)  # fmt: skip
    with pytest.raises(errors.DowngradeError):
        await strict.refresh()
    await strict.close()
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as relaxed:
        assert (await relaxed.call("echo", None, CANARY)).data == CANARY


def test_hybrid_statement_is_a_logged_key_statement_like_the_classical_one() -> None:
    key = GatewayKey.generate(key_id=9, kem=KemId.MLKEM768_X25519)
    statement = KeyStatement.for_ohttp("privcloud.gateway", key.config, 0, 86400)
    assert KeyStatement.decode(statement.encode()) == statement
    assert statement.key_config.post_quantum
    assert len(statement.encode()) < 4096  # limits.MAX_KEY_STATEMENT_BYTES
