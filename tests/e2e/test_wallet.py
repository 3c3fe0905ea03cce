"""The device wallet (sdk/wallet.py) against a real issuer over loopback HTTP: enrolment once,
batch prefetch, refetch when empty, never the same token twice, a 0600 file, quota errors, and
the checks it makes on a gateway's challenge. The wallet with a client, relay and gateway (retry
on 401; no device identity on the relay path) is in test_tokens_e2e.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from privcloud import errors, limits
from privcloud.crypto import blindrsa
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    IssuerKey,
    PrivateTokenChallenge,
    Token,
    TokenChallenge,
    b64url_encode,
    encode_www_authenticate,
    parse_authorization,
)
from privcloud.privacypass.directory import MEDIA_TYPE, WELL_KNOWN_PATH
from privcloud.privacypass.issuance import EXPIRES_MEMBER, parse_issuer_directory
from privcloud.sdk.wallet import REFILL_DELAY_S, Wallet, WalletConfig
from privcloud.sdk.wallet_state import HeldToken
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.trust.keys import issuer_step


@pytest.fixture
async def issuer(tmp_path: Path) -> AsyncIterator[tuple[str, Issuer]]:
    issuer = Issuer(tmp_path / "issuer", IssuerConfig(insecure_operator_codes=True, quota=20))
    runner, port = await start_site(issuer.app(), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", issuer
    await runner.cleanup()
    issuer.core.store.close()


def _wallet(issuer: tuple[str, Issuer], *, path: Path | None = None, **config: Any) -> Wallet:
    url, service = issuer
    code = service.core.new_enrolment_code()
    # These tests are about issuance itself: the wallet runs without a log (INSECURE, named so);
    # key consistency through the log is tested in test_key_consistency.py.
    config.setdefault("insecure_unlogged_keys", True)
    return Wallet(url, enrolment_code=code, path=path, config=WalletConfig(**config))


def _issued(service: Issuer) -> int:
    with sqlite3.connect(service.core.store.path) as db:
        return int(db.execute("SELECT COALESCE(SUM(used), 0) FROM quota").fetchone()[0])


async def test_wallet_enrols_once_and_prefetches_a_batch(issuer: tuple[str, Issuer]) -> None:
    wallet = _wallet(issuer, batch_size=5, low_water=2)
    try:
        assert await wallet.prefetch() == 5
        assert (len(wallet), wallet.enrolled, _issued(issuer[1])) == (5, True, 5)
        assert await wallet.prefetch() == 0  # above the low-water mark: nothing fetched
        await wallet.enrol()  # a no-op once enrolled
    finally:
        await wallet.close()


async def test_empty_wallet_refetches_and_never_hands_out_a_token_twice(
    issuer: tuple[str, Issuer],
) -> None:
    wallet = _wallet(issuer, batch_size=2)
    try:
        fields = [await wallet.authorization() for _ in range(5)]  # 3 batches of 2
    finally:
        await wallet.close()
    tokens = [Token.decode(parse_authorization(f)) for f in fields]
    assert len({t.nonce for t in tokens}) == 5
    assert wallet.fetched == 6 and len(wallet) == 1
    assert {t.challenge_digest for t in tokens} == {tokens[0].challenge_digest}
    assert len(wallet.spent) == 5 and "nonce hash" in wallet.spent[0].describe()


async def test_quota_exhaustion_reaches_the_caller_as_429(issuer: tuple[str, Issuer]) -> None:
    wallet = _wallet(issuer, batch_size=16)
    try:
        await wallet.fetch()
        with pytest.raises(errors.RateLimitedError):
            await wallet.fetch()  # 16 + 16 > 20
        assert await wallet.fetch(4) == 4  # what is left of the quota still comes
    finally:
        await wallet.close()


async def test_wallet_without_a_log_refuses_unproven_issuer_keys(
    issuer: tuple[str, Issuer],
) -> None:
    wallet = _wallet(issuer, insecure_unlogged_keys=False)
    try:
        with pytest.raises(errors.KeyConsistencyError):
            await wallet.fetch()
        assert len(wallet) == 0 and wallet.fetched == 0
    finally:
        await wallet.close()


async def test_a_wallet_the_issuer_does_not_know_gets_401(issuer: tuple[str, Issuer]) -> None:
    url, _ = issuer
    wallet = Wallet(url, config=WalletConfig(insecure_unlogged_keys=True))
    wallet.enrolled = True  # claims to be enrolled, but never was
    try:
        with pytest.raises(errors.AuthenticationError):
            await wallet.fetch()
        with pytest.raises(errors.UsageError):
            await Wallet(
                url, config=WalletConfig(insecure_unlogged_keys=True)
            ).fetch()  # not enrolled and no code
    finally:
        await wallet.close()


async def test_bad_enrolment_code_is_refused(issuer: tuple[str, Issuer]) -> None:
    url, _ = issuer
    wallet = Wallet(
        url, enrolment_code="not-a-code", config=WalletConfig(insecure_unlogged_keys=True)
    )
    try:
        with pytest.raises(errors.AuthenticationError):
            await wallet.enrol()
        assert not wallet.enrolled
    finally:
        await wallet.close()


async def test_wallet_file_is_owner_only_and_restores(
    issuer: tuple[str, Issuer], tmp_path: Path
) -> None:
    path = tmp_path / "device" / "wallet.json"
    wallet = _wallet(issuer, batch_size=4, path=path)
    try:
        await wallet.fetch()
        first = await wallet.authorization()
    finally:
        await wallet.close()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["wallet.json"]  # no temporary left
    restored = Wallet(issuer[0], path=path, config=WalletConfig(insecure_unlogged_keys=True))
    try:
        assert restored.device_id == wallet.device_id and restored.enrolled
        assert len(restored) == 3
        assert first not in {await restored.authorization() for _ in range(3)}
    finally:
        await restored.close()
    with pytest.raises(errors.ConfigError):
        Wallet(
            "http://127.0.0.1:1", path=path, config=WalletConfig(insecure_unlogged_keys=True)
        )  # a file for another issuer
    path.write_bytes(b"{not json")
    with pytest.raises(errors.ConfigError):
        Wallet(issuer[0], path=path, config=WalletConfig(insecure_unlogged_keys=True))


async def test_challenge_naming_a_key_the_issuer_does_not_publish_is_not_adopted(
    issuer: tuple[str, Issuer],
) -> None:
    # The token-key field is never used (docs/adr/0009, decision 6): an unknown one neither
    # becomes the wallet's key nor changes when it reads the issuer's directory.
    wallet = _wallet(issuer, batch_size=1)
    try:
        await wallet.fetch()
        keys = list(wallet._keys)
        foreign = IssuerKey.from_public_key(blindrsa.generate_private_key().public_key())
        value = encode_www_authenticate(PrivateTokenChallenge(wallet.challenge, foreign.spki))
        read_at = wallet._keys_at
        await wallet.on_challenge(value)
        assert wallet._keys == keys and wallet._keys_at == read_at
        other_issuer = TokenChallenge(TOKEN_TYPE_BLIND_RSA, b"evil.example", b"", b"o").encode()
        value = encode_www_authenticate(PrivateTokenChallenge(other_issuer, foreign.spki))
        with pytest.raises(errors.AuthenticationError, match="another issuer"):
            await wallet.on_challenge(value)
        assert len(wallet) == 1  # nothing changed
    finally:
        await wallet.close()


@pytest.mark.parametrize(
    ("context", "origin"),
    [(b"", b"new.origin"), (b"\x01" * 32, b"old.origin"), (b"\x02" * 32, b"new.origin")],
    ids=["other-origin", "per-device-context", "both"],
)
async def test_challenge_other_than_the_fixed_one_is_refused_and_tokens_kept(
    issuer: tuple[str, Issuer], context: bytes, origin: bytes
) -> None:
    _, service = issuer
    wallet = _wallet(issuer, batch_size=2, origin_name="old.origin")
    try:
        await wallet.fetch()
        fixed = wallet.challenge
        _, keys = parse_issuer_directory(service.core.directory())
        challenge = TokenChallenge(
            TOKEN_TYPE_BLIND_RSA, wallet.issuer_name.encode(), context, origin
        ).encode()
        with pytest.raises(errors.TaggableChallengeError):
            await wallet.on_challenge(
                encode_www_authenticate(PrivateTokenChallenge(challenge, keys[0].key.spki))
            )
        assert wallet.challenge == fixed and len(wallet) == 2 and wallet.fetched == 2
        token = Token.decode(parse_authorization(await wallet.authorization()))
        assert token.challenge_digest == hashlib.sha256(fixed).digest()
    finally:
        await wallet.close()


async def test_directory_sending_issuance_elsewhere_is_refused(tmp_path: Path) -> None:
    issuer = Issuer(
        tmp_path / "i",
        IssuerConfig(insecure_operator_codes=True, public_url="http://elsewhere.example"),
    )
    document = issuer.core.directory()

    async def directory(_: web.Request) -> web.Response:
        return web.Response(body=document)

    app = web.Application()
    app.router.add_get(WELL_KNOWN_PATH, directory)
    runner, port = await start_site(app, "127.0.0.1", 0)
    wallet = Wallet(f"http://127.0.0.1:{port}", config=WalletConfig(insecure_unlogged_keys=True))
    try:
        assert json.loads(document)["issuer-request-uri"].startswith("http://elsewhere.example")
        with pytest.raises(errors.DecodeError, match="origin"):
            await wallet.refresh_keys()
    finally:
        await wallet.close()
        await runner.cleanup()
        issuer.core.store.close()


@pytest.mark.slow
def test_issuer_and_wallet_commands(tmp_path: Path) -> None:
    """privcloud issuer serve / new-code / revoke and privcloud wallet enrol / fetch / show."""
    cli = [sys.executable, "-m", "privcloud.cli"]
    data = str(tmp_path / "issuer")
    server = subprocess.Popen(
        [
            *cli,
            "issuer",
            "serve",
            "--data-dir",
            data,
            "--port",
            "0",
            "--quota",
            "5",
            "--insecure-operator-codes",
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        match = re.search(rb"http://127\.0\.0\.1:\d+", server.stdout.readline())
        assert match is not None
        url = match.group(0).decode()
        wallet = str(tmp_path / "wallet.json")

        def run(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([*cli, *args], capture_output=True, timeout=60, check=False)

        made = run("issuer", "new-code", "--data-dir", data)
        assert made.returncode == 0, made.stderr
        code = made.stdout.decode().strip()
        enrol = run("wallet", "enrol", "--issuer", url, "--code", code, "--file", wallet)
        assert enrol.returncode == 0, enrol.stderr
        enrolled = json.loads(enrol.stdout)
        assert enrolled["enrolled"] is True
        again = run("wallet", "enrol", "--issuer", url, "--code", code, "--file", wallet)
        assert again.returncode == 0  # enrolled already (the file says so): nothing is sent
        fetched = json.loads(
            run(
                "wallet",
                "fetch",
                "--insecure-unlogged-keys",
                "--issuer",
                url,
                "--file",
                wallet,
                "--count",
                "4",
            ).stdout
        )
        assert fetched == {"fetched": 4, "held": 4}
        over = run(
            "wallet",
            "fetch",
            "--insecure-unlogged-keys",
            "--issuer",
            url,
            "--file",
            wallet,
            "--count",
            "4",
        )
        assert over.returncode == 1 and b"RateLimitedError" in over.stderr
        shown = json.loads(run("wallet", "show", "--issuer", url, "--file", wallet).stdout)
        assert shown["tokens"] == 4 and shown["device-id"] == enrolled["device-id"]
        assert os.stat(wallet).st_mode & 0o777 == 0o600
        revoked = run("issuer", "revoke", "--data-dir", data, "--", enrolled["device-id"])
        assert revoked.stdout.strip() == b"revoked", revoked.stderr
        after = run(
            "wallet",
            "fetch",
            "--insecure-unlogged-keys",
            "--issuer",
            url,
            "--file",
            wallet,
            "--count",
            "1",
        )
        assert after.returncode == 1 and b"AuthenticationError" in after.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


async def _serve_directory(document: bytes) -> tuple[str, web.AppRunner]:
    """A server that answers the issuer directory route with ``document``."""

    async def directory(_: web.Request) -> web.Response:
        return web.Response(body=document, content_type=MEDIA_TYPE)

    app = web.Application()
    app.router.add_get(WELL_KNOWN_PATH, directory)
    runner, port = await start_site(app, "127.0.0.1", 0)
    return f"http://127.0.0.1:{port}", runner


def _directory_with(keys: list[tuple[bytes, int, int]]) -> bytes:
    """A directory listing ``(spki, not_before, expires)`` keys."""
    entries = [
        {
            "token-type": TOKEN_TYPE_BLIND_RSA,
            "token-key": b64url_encode(spki),
            "not-before": not_before,
            EXPIRES_MEMBER: expires,
        }
        for spki, not_before, expires in keys
    ]
    return json.dumps({"issuer-request-uri": "/v1/token-batch", "token-keys": entries}).encode()


async def test_directory_with_too_many_keys_is_refused() -> None:
    """Key partitioning: an issuer that lists a key per device (or per group) must list many
    keys valid at once; rotation overlap needs only two, so a third valid key is refused."""
    now = int(time.time())
    spkis = [
        IssuerKey.from_public_key(blindrsa.generate_private_key().public_key()).spki
        for _ in range(limits.MAX_ISSUER_VALID_KEYS + 1)
    ]
    valid = [(spki, now - 60, now + 3600) for spki in spkis]
    url, runner = await _serve_directory(_directory_with(valid))
    wallet = Wallet(url, config=WalletConfig(insecure_unlogged_keys=True))
    try:
        with pytest.raises(errors.PolicyError, match="too many"):
            await wallet.refresh_keys()
        assert wallet._current_key() is None  # nothing was adopted
    finally:
        await wallet.close()
        await runner.cleanup()
    # The same keys, one of them not yet valid (a published successor), are accepted; the
    # wallet fetches under the key of the issuer key schedule's step.
    step, lifetime = issuer_step(now - limits.KEY_STATEMENT_SKEW_S), limits.ISSUER_KEY_LIFETIME_S
    successor = step + limits.ISSUER_KEY_STEP_S
    keys = [(spkis[0], step, step + lifetime), (spkis[1], now - 60, now + 3600)]
    url, runner = await _serve_directory(
        _directory_with([*keys, (spkis[2], successor, successor + lifetime)])
    )
    wallet = Wallet(url, config=WalletConfig(insecure_unlogged_keys=True))
    try:
        await wallet.refresh_keys()
        current = wallet._current_key()
        assert current is not None and current.key.spki == spkis[0]
    finally:
        await wallet.close()
        await runner.cleanup()


async def test_per_device_issuer_key_is_detected(issuer: tuple[str, Issuer]) -> None:
    """Key partitioning by an issuer (and gateway) that show one device a key of its own on the
    direct path, where they see its address: the directory read through the relay, where they
    do not, lists other keys, and the wallet refuses to fetch."""
    url, service = issuer
    relay = Relay("http://127.0.0.1:1", issuer_url=url)
    rrunner, rport = await start_site(relay.app(), "127.0.0.1", 0)
    consistency_url = f"http://127.0.0.1:{rport}/issuer"
    # Honest: both paths show the same directory, and the wallet fetches.
    honest = _wallet(issuer, batch_size=2, consistency_url=consistency_url)
    try:
        assert await honest.fetch() == 2
    finally:
        await honest.close()
    # Partitioned: the direct path serves this device its own key (still a single valid key,
    # so the key-count bound alone would not catch it).
    _, keys = parse_issuer_directory(service.core.directory())
    own = IssuerKey.from_public_key(blindrsa.generate_private_key().public_key()).spki
    assert keys[0].not_before is not None and keys[0].expires is not None
    document = _directory_with([(own, keys[0].not_before, keys[0].expires)])
    direct_url, drunner = await _serve_directory(document)
    wallet = Wallet(
        direct_url,
        config=WalletConfig(consistency_url=consistency_url, insecure_unlogged_keys=True),
    )
    wallet.enrolled = True  # nothing reaches the issuing step
    try:
        with pytest.raises(errors.PolicyError, match="other keys"):
            await wallet.fetch()
        assert wallet.fetched == 0 and wallet._current_key() is None
    finally:
        await wallet.close()
        await drunner.cleanup()
        await rrunner.cleanup()


async def test_refill_starts_above_empty_after_a_random_delay(
    issuer: tuple[str, Issuer],
) -> None:
    """Timing linkage: a wallet refills in the background once below a low-water mark well
    above zero (a quarter of a batch), after a random delay, so that no issuance happens on
    the request path unless the wallet ran truly empty."""
    assert REFILL_DELAY_S[0] >= 5.0 and REFILL_DELAY_S[1] >= 30.0
    wallet = _wallet(issuer, batch_size=8, refill_delay_s=(0.05, 0.1))
    assert wallet.low_water == 2
    try:
        await wallet.fetch()
        for _ in range(6):  # 8 -> 2: still at the mark, nothing starts
            await wallet.authorization()
        assert wallet._refill is None
        await wallet.authorization()  # 1 left: below the mark, a delayed refill starts
        assert wallet.fetched == 8 and wallet._refill is not None
        await wallet._refill
        assert wallet.fetched == 16 and len(wallet) == 9
    finally:
        await wallet.close()


async def test_tokens_of_a_key_the_issuer_no_longer_lists_are_dropped_at_the_next_key_read() -> (
    None
):
    """A key revoked (or dropped off the issuer key schedule at an upgrade): each of its tokens
    would be refused with a 401 and the request retried with the next, of the same key. The
    wallet drops them when it reads the issuer's keys, so that a refill comes."""
    now = int(time.time())
    step, lifetime = issuer_step(now), limits.ISSUER_KEY_LIFETIME_S
    spki = IssuerKey.from_public_key(blindrsa.generate_private_key().public_key()).spki
    url, runner = await _serve_directory(_directory_with([(spki, step, step + lifetime)]))
    wallet = Wallet(url, config=WalletConfig(insecure_unlogged_keys=True))
    digest = wallet._purse.challenge_digest
    listed = IssuerKey.from_spki(spki).key_id
    wallet._purse.add(
        [HeldToken(bytes(98), b"dropped key", digest, expires=step + lifetime)] * 3
        + [HeldToken(bytes(98), listed, digest, expires=step + lifetime)] * 2
    )
    try:
        await wallet.refresh_keys()
        assert [t.key_id for t in wallet._purse.tokens] == [listed, listed]
    finally:
        await wallet.close()
        await runner.cleanup()
