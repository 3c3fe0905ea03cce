"""Anonymous tokens end to end over loopback sockets, with a recording proxy in front of every
hop and of the issuer (tests/support/cloudkit.py, ``tokens=True``):

    wallet -> [issuer proxy] -> issuer                       (direct, device identity)
    client -> [relay proxy] -> relay -> [gateway proxy] -> gateway (token) -> nodes

Named after what each test proves: who may learn what (docs/trust-model.md#parties and
docs/trust-model.md#anonymous-tokens).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from cloudkit import Cloud, start_cloud
from privcloud import errors
from privcloud.privacypass import Token, b64url_encode, parse_authorization
from privcloud.privacypass.issuance import (
    DEVICE_ID_SIZE,
    decode_batch_request,
    decode_batch_response,
)
from privcloud.sdk import Client
from privcloud.services.redemption import TokenAuthorizer
from privcloud.trust.admission import ClientPolicy

POLICY = ClientPolicy.insecure_local_dev()
CANARY = b"CANARY-tokens-e2e"


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    c = await start_cloud(tokens=True)
    yield c
    await c.stop()


class Capture(logging.Handler):
    """Every log record of every privcloud logger, by the service that wrote it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, *services: str) -> str:
        lines = []
        for r in self.records:
            message = r.getMessage()
            owner = r.name.removeprefix("privcloud.")
            if owner == "http":  # the shared middleware names its service first
                owner = message.split(" ", 1)[0]
            if owner == "redemption":
                owner = "gateway"
            if owner in services:
                lines.append(message)
        return "\n".join(lines)


@pytest.fixture
def capture() -> Iterable[Capture]:
    handler = Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def _forms(value: bytes) -> list[bytes]:
    """The ways a value could show up in a byte blob: raw, hex, base64 and base64url."""
    b64 = base64.b64encode(value)
    return [value, value.hex().encode(), b64, b64url_encode(value).encode(), b64.rstrip(b"=")]


def _absent(values: Iterable[bytes], blob: bytes, where: str) -> None:
    for value in values:
        for form in [*_forms(value), *_forms(hashlib.sha256(value).digest())]:
            assert form not in blob, f"a value of the other side appears in {where}"


def _db_bytes(path: Path) -> bytes:
    """The whole database file and its WAL: every byte the store keeps, live or not."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


async def test_issuer_and_gateway_records_cannot_be_linked(cloud: Cloud, capture: Capture) -> None:
    """Unlinkability, compared record by record.

    Issuer side (what the issuer keeps or sees): every row of its SQLite tables ``devices``,
    ``enrolment_codes``, ``used_challenges``, ``quota``, ``request_nonces``,
    ``issuance_batches`` (batch ids and the SHA-256 of each batch body, docs/adr/0011) and the
    raw bytes of its database file and WAL; every byte it received and sent (its recording
    proxy: device ids, device signatures and nonces, batch ids, blinded messages, blind
    signatures); every log line of the issuer.

    Gateway side (what the gateway keeps or sees at redemption): every row of ``spent_tokens``
    (``token_holders`` too, in the raw bytes) and the raw bytes of its database and WAL; each
    redeemed token (nonce, authenticator, the whole token) as decoded from the Authorization
    field; every log line of the gateway.

    Checked: no per-user value of one side appears, raw, hex, base64(url), or as its SHA-256,
    anywhere on the other side; the unblinded authenticators differ from every blind signature;
    and the only values both sides share are public and the same for every user (the issuer key
    id and the challenge digest).
    """
    assert cloud.issuer is not None and cloud.token_dir is not None
    wallet = cloud.new_wallet(batch_size=6)
    sent: list[bytes] = []
    original = wallet.authorization

    async def recording(*, fetch: bool = True) -> bytes:
        value = await original(fetch=fetch)
        sent.append(value)
        return value

    wallet.authorization = recording  # type: ignore[method-assign]
    trust = cloud.client_trust()
    async with Client(cloud.relay_url, policy=POLICY, wallet=wallet, trust=trust) as c:
        for _ in range(8):  # two batches
            if len(wallet) == 0:
                await wallet.fetch()  # (as the refill would, in the background)
            assert (await c.call("echo", None, CANARY)).data == CANARY
    tokens = [Token.decode(parse_authorization(v)) for v in sent]

    issuer_db = cloud.token_dir / "issuer.sqlite3"
    gateway_db = cloud.token_dir / "spent-tokens.sqlite3"
    assert cloud.issuer_proxy is not None
    issuer_wire = cloud.issuer_proxy.inbound() + cloud.issuer_proxy.outbound()

    # --- what the issuer side holds, per user -------------------------------------------------
    tables = (
        "devices", "enrolment_codes", "used_challenges", "quota", "request_nonces",
        "issuance_batches",
    )  # fmt: skip
    issuer_rows = {t: _rows(issuer_db, t) for t in tables}
    assert [len(r) for r in issuer_rows.values()] == [1, 0, 0, 1, 2, 2]  # 1 device, 2 batches
    ((device_id, device_key),) = issuer_rows["devices"]
    (quota_row,) = issuer_rows["quota"]
    assert quota_row[0] == device_id and quota_row[2] == 12  # device, period index, count
    assert quota_row[1] < 10**6  # a period number (days), not a time
    blinded, blind_sigs = [], []
    batch_bodies = _http_bodies(cloud.issuer_proxy.inbound(), b"POST /v1/token-batch")
    for body in batch_bodies:
        blinded += [r[3:] for r in decode_batch_request(body)]
    for body in _http_bodies(cloud.issuer_proxy.outbound(), b"HTTP/1.1 200"):
        if body[:1] != b"{":  # batch answers (not directory JSON)
            blind_sigs += decode_batch_response(body, expected=6)
    assert len(blinded) == len(blind_sigs) == 12
    issuer_values: list[bytes] = [bytes(device_id), bytes(device_key)]
    issuer_values += [bytes(n) for _, n, _ in issuer_rows["request_nonces"]]
    issuer_values += blinded + blind_sigs
    # A batch row: the device, the random id it chose, SHA-256 of the body it sent (blinded
    # messages, independent of the tokens they become) and the quota period's number.
    batch_rows = issuer_rows["issuance_batches"]
    assert {bytes(h) for _, _, h, _ in batch_rows} == {
        hashlib.sha256(b).digest() for b in batch_bodies
    }
    assert {bytes(d) for d, _, _, _ in batch_rows} == {bytes(device_id)}
    assert {p for _, _, _, p in batch_rows} == {quota_row[1]}  # no time finer than the period
    for _, batch_id, body_hash, _ in batch_rows:
        assert b64url_encode(bytes(batch_id)).encode() in issuer_wire  # sent by the device
        issuer_values += [bytes(batch_id), bytes(body_hash)]
    issuer_blob = _db_bytes(issuer_db) + issuer_wire + capture.text("issuer").encode()

    # --- what the gateway side holds, per token ----------------------------------------------
    spent = _rows(gateway_db, "spent_tokens")
    assert len(spent) == 8
    assert {bytes(n) for _, n, _, _ in spent} == {t.nonce for t in tokens}
    assert {holder for *_, holder in spent} == {0}  # spent: no reservation left
    gateway_values: list[bytes] = []
    for t in tokens:
        gateway_values += [t.nonce, t.authenticator, t.encode(), t.authenticator_input()]
    gateway_blob = _db_bytes(gateway_db) + capture.text("gateway").encode()
    gateway_blob += b"".join(v for v in sent)

    # --- the comparison ------------------------------------------------------------------------
    _absent(gateway_values, issuer_blob, "the issuer's records, traffic or logs")
    _absent(issuer_values, gateway_blob, "the gateway's records or logs")
    assert not {t.authenticator for t in tokens} & set(blind_sigs)
    # Shared and public: one key id and one challenge digest for every token of every user.
    assert len({t.token_key_id for t in tokens}) == 1
    assert len({t.challenge_digest for t in tokens}) == 1
    assert capture.text("gateway") and capture.text("issuer")  # both sides did log


def _http_bodies(stream: bytes, start: bytes) -> list[bytes]:
    """Bodies of the HTTP/1.1 messages in a recorded byte stream that start with ``start``
    (Content-Length framing, as aiohttp sends these)."""
    out, pos = [], 0
    while (pos := stream.find(start, pos)) != -1:
        head_end = stream.index(b"\r\n\r\n", pos)
        head = stream[pos:head_end].decode("latin-1").lower()
        length = next(
            int(line.split(":", 1)[1])
            for line in head.split("\r\n")
            if line.startswith("content-length:")
        )
        out.append(stream[head_end + 4 : head_end + 4 + length])
        pos = head_end + 4 + length
    return out


async def test_relay_gateway_and_nodes_never_see_the_device_identity(cloud: Cloud) -> None:
    wallet = cloud.new_wallet(batch_size=3)
    trust = cloud.client_trust()
    async with Client(cloud.relay_url, policy=POLICY, wallet=wallet, trust=trust) as c:
        for _ in range(4):
            if len(wallet) == 0:
                await wallet.fetch()  # (as the refill would, in the background)
            await c.call("echo", None, CANARY)
    assert wallet.fetched == 6
    device_id = wallet.device_id
    device_key = wallet._device_key.public_bytes()
    identity = [device_id, device_key]
    markers = [
        b"privcloud-device",
        b"privcloud-signature",
        b"privcloud-nonce",
        b"privcloud-batch",
        b"/v1/enrol",  # not "enrol" alone: base64 of keys on the path has it 1 run in ~1,500
    ]
    assert cloud.issuer_proxy is not None
    issuer_port = str(cloud.issuer_proxy.port).encode()
    for name, proxy in [
        ("relay", cloud.relay_proxy),
        ("gateway", cloud.gateway_proxy),
        *[(f"node {i}", p) for i, p in enumerate(cloud.node_proxies)],
    ]:
        seen = proxy.inbound() + proxy.outbound()
        _absent(identity, seen, name)
        for marker in markers:
            assert marker not in seen.lower(), name
        assert b"127.0.0.1:" + issuer_port not in seen, name  # not even the issuer's address
    # Positive control: the issuer did see the device id, in the signed request headers.
    issuer_seen = cloud.issuer_proxy.inbound()
    assert b64url_encode(device_id).encode() in issuer_seen
    assert len(device_id) == DEVICE_ID_SIZE


async def test_wallet_retries_once_with_a_fresh_token_after_a_401(cloud: Cloud) -> None:
    wallet = cloud.new_wallet(batch_size=4)
    assert isinstance(cloud.gateway.authorizer, TokenAuthorizer)
    trust = cloud.client_trust()
    async with Client(cloud.relay_url, policy=POLICY, wallet=wallet, trust=trust) as c:
        replay = wallet._tokens[0]  # the token the next request will spend
        await c.call("echo", None, b"one")
        # A restored backup (or a copied wallet file) brings the spent token back: the gateway
        # refuses it, the client takes the challenge in and retries once with a fresh token.
        wallet._tokens.insert(0, replay)
        assert (await c.call("echo", None, b"two")).data == b"two"
        # The same on the streaming path (chunked OHTTP): the 401 arrives as a sealed stream.
        wallet._tokens.insert(0, replay)
        events = [e async for e in c.stream("echo_stream", {"parts": 2}, b"three")]
        assert [e.final for e in events] == [False, False, True]
    assert cloud.gateway.authorizer.outcomes == {"accepted": 3, "spent": 2}


async def test_wallet_for_another_origin_refuses_the_gateways_challenge(cloud: Cloud) -> None:
    # The challenge is pinned, never adopted: a gateway naming another origin (or context) than
    # the one the device was configured with is refused, and the wallet keeps its tokens.
    wallet = cloud.new_wallet(batch_size=2, origin_name="some.other.origin")
    trust = cloud.client_trust()
    async with Client(cloud.relay_url, policy=POLICY, wallet=wallet, trust=trust) as c:
        held, fetched = len(wallet), wallet.fetched
        with pytest.raises(errors.TaggableChallengeError):
            await c.call("echo", None, b"ok")
        assert (len(wallet), wallet.fetched) == (held - 1, fetched)
    assert isinstance(cloud.gateway.authorizer, TokenAuthorizer)
    assert wallet.challenge != cloud.gateway.authorizer.challenge
    assert cloud.gateway.authorizer.outcomes["wrong_challenge"] == 1


async def test_client_without_a_wallet_gets_401_with_a_challenge(cloud: Cloud) -> None:
    async with Client(cloud.relay_url, policy=POLICY, trust=cloud.client_trust()) as c:
        with pytest.raises(errors.AuthenticationError) as info:
            await c.call("echo", None, CANARY)
        with pytest.raises(errors.AuthenticationError):
            async for _ in c.stream("echo_stream", {"parts": 2}, CANARY):
                pass
    assert b"PrivateToken challenge=" in info.value.www_authenticate  # type: ignore[attr-defined]
    # Both 401s were answered inside OHTTP (HTTP 200 outside); the metrics count them as 401.
    counters = cloud.gateway.metrics.counters
    assert counters["inner_requests{route=ohttp,status=401}"] == 2
