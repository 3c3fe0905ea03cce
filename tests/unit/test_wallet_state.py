"""The wallet file keeps a pending batch (sdk/wallet_state.py; docs/adr/0011): written before
the batch is sent, read back after a crash, so the restarted app retries the same batch (the
issuer charges it once). Sans-IO: bytes in, bytes out."""

from __future__ import annotations

import json

import pytest

from privcloud import errors, limits
from privcloud.crypto import blindrsa
from privcloud.privacypass import IssuerKey, b64url_encode, client_begin, client_finalize
from privcloud.privacypass.issuance import PublishedKey, encode_batch_request
from privcloud.privacypass.tokens import issuer_evaluate
from privcloud.sdk.wallet_state import (
    HeldToken,
    PendingBatch,
    TokenPurse,
    WalletConfig,
    decode_wallet_file,
    encode_wallet_file,
)

URL = "https://issuer.example"
SEED = bytes(range(32))


@pytest.fixture(scope="module")
def private_key() -> blindrsa.PrivateKey:
    return blindrsa.generate_private_key(2048)


def _pending(private_key: blindrsa.PrivateKey, n: int = 3) -> tuple[PendingBatch, list[bytes]]:
    key = IssuerKey.from_public_key(private_key.public_key())
    challenge = WalletConfig().challenge("issuer.example")
    begun = [client_begin(challenge, key) for _ in range(n)]
    requests = [r for r, _ in begun]
    batch = PendingBatch(
        bytes(16),
        PublishedKey(key, 100, 10**10),
        encode_batch_request(requests),
        tuple(s for _, s in begun),
    )
    return batch, requests


def test_pending_batch_survives_the_wallet_file_and_still_unblinds(
    private_key: blindrsa.PrivateKey,
) -> None:
    """A restarted wallet finalizes the answer to the batch its previous run sent."""
    batch, requests = _pending(private_key)
    purse = TokenPurse(WalletConfig().challenge("issuer.example"))
    data = encode_wallet_file(URL, SEED, True, purse, batch)
    seed, enrolled, tokens, restored, failed, fetched_at = decode_wallet_file(data, URL)
    assert (seed, enrolled, tokens) == (SEED, True, [])
    assert restored == batch and len(restored) == 3
    key_id = batch.key.key.key_id
    for state, request in zip(restored.states, requests, strict=True):
        client_finalize(state, issuer_evaluate(private_key, request, key_id))
    # No pending batch: no member at all, and a file without one reads back as None.
    plain = encode_wallet_file(URL, SEED, True, purse)
    assert "pending" not in json.loads(plain)
    assert decode_wallet_file(plain, URL)[3] is None
    assert failed is None and fetched_at is None and decode_wallet_file(plain, URL)[4] is None
    noted = encode_wallet_file(URL, SEED, True, purse, refill_failed="unavailable")
    assert decode_wallet_file(noted, URL)[4] == "unavailable"
    doc = json.loads(noted)
    timed = encode_wallet_file(URL, SEED, True, purse, fetched_at=1_800_000_000)
    assert decode_wallet_file(timed, URL).fetched_at == 1_800_000_000
    bad = json.loads(timed)
    bad["fetched-at"] = "yesterday"
    with pytest.raises(errors.ConfigError):
        decode_wallet_file(json.dumps(bad).encode(), URL)
    doc["refill-failed"] = "an address 203.0.113.9"  # only a code is read back
    with pytest.raises(errors.ConfigError):
        decode_wallet_file(json.dumps(doc).encode(), URL)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.update({"batch-id": b64url_encode(bytes(15))}),
        lambda p: p.update({"body": b64url_encode(b"\x00")}),
        lambda p: p["states"].pop(),
        lambda p: p["states"][0].update({"nonce": b64url_encode(bytes(31))}),
        lambda p: p.update({"token-key": "AAAA"}),
        lambda p: p.update({"states": "x"}),
        lambda p: p.pop("body"),
    ],
    ids=[
        "short-id",
        "bad-body",
        "state-missing",
        "short-nonce",
        "bad-key",
        "states-type",
        "no-body",
    ],
)
def test_damaged_pending_batch_does_not_load(
    private_key: blindrsa.PrivateKey, damage: object
) -> None:
    batch, _ = _pending(private_key, 2)
    purse = TokenPurse(WalletConfig().challenge("issuer.example"))
    doc = json.loads(encode_wallet_file(URL, SEED, True, purse, batch))
    damage(doc["pending"])  # type: ignore[operator]
    with pytest.raises(errors.ConfigError):
        decode_wallet_file(json.dumps(doc).encode(), URL)


def test_pending_batch_is_valid_by_construction(private_key: blindrsa.PrivateKey) -> None:
    batch, _ = _pending(private_key, 2)
    with pytest.raises(errors.UsageError):
        PendingBatch(bytes(8), batch.key, batch.body, batch.states)
    with pytest.raises(errors.UsageError):
        PendingBatch(batch.batch_id, batch.key, batch.body, batch.states[:1])
    assert batch.usable(10**10 - 1) and not batch.usable(10**10)
    with pytest.raises(errors.UsageError):
        WalletConfig(issuer_timeout_s=0)


def test_has_usable_counts_only_tokens_for_the_challenge_and_unexpired() -> None:
    """The refill check (``has_usable``) agrees with the full count (``usable``)."""
    purse = TokenPurse(WalletConfig().challenge("issuer.example"))
    mine, other = purse.challenge_digest, bytes(32)
    purse.add(
        [HeldToken(bytes(98), b"k", other)]  # another challenge: never usable here
        + [HeldToken(bytes(98), b"k", mine, expires=100)] * 2  # usable before 100 only
        + [HeldToken(bytes(98), b"k", mine)] * 3
    )
    for now in (50.0, 100.0):
        count = purse.usable(now)
        assert count == (5 if now < 100 else 3)
        assert purse.has_usable(count, now) and not purse.has_usable(count + 1, now)
    assert purse.has_usable(0, 100.0)


def test_take_drops_expired_tokens_once_the_first_expires() -> None:
    """A take skips the whole-purse sweep while no held token can have expired, and sweeps
    (freeing their room) as soon as one has: an expired token is never handed out."""
    purse = TokenPurse(WalletConfig().challenge("issuer.example"))
    mine = purse.challenge_digest
    purse.add([HeldToken(bytes(98), b"early", mine, expires=100)])
    purse.add(
        [HeldToken(bytes(98), b"late", mine, expires=200)] * 2
        + [HeldToken(bytes(98), b"never", mine)] * 2
    )
    room = purse.room
    first = purse.take(50.0)
    assert first is not None and first.key_id == b"early"
    assert purse.room == room + 1
    taken = purse.take(250.0)  # both "late" tokens have expired: dropped, not handed out
    assert taken is not None and taken.key_id == b"never"
    assert purse.room == room + 4
    purse.add([HeldToken(bytes(98), b"soon", mine, expires=300)])
    assert [t.key_id for t in purse.tokens] == [b"never", b"soon"]
    again = purse.take(400.0)
    assert again is not None and again.key_id == b"never"
    assert purse.take(400.0) is None and purse.tokens == []


def test_a_purse_holding_expired_tokens_unseen_frees_their_room_when_nothing_is_usable() -> None:
    """Tokens put in the list in place (not through ``add``) are not in the cached first
    expiry; once no token is usable the purse sweeps anyway, so a wallet full of expired
    tokens can refill (its batch size is the room left)."""
    purse = TokenPurse(WalletConfig().challenge("issuer.example"))
    mine = purse.challenge_digest
    purse.tokens.extend([HeldToken(bytes(98), b"k", mine, expires=100)] * 5)
    assert purse.take(200.0) is None
    assert purse.tokens == [] and purse.room == limits.MAX_WALLET_TOKENS
    purse.tokens = [HeldToken(bytes(98), b"k", mine, expires=100)]  # assigned: sweeps at 100
    assert purse.take(150.0) is None and purse.tokens == []
