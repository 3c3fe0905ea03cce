"""When a wallet refills (privcloud.sdk.wallet, docs/tokens.md): never on a request's path, so
in the background before its tokens run out, the tokens of an issuer key about to end
included. Sans network: the fetch is counted, not sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from privcloud import limits
from privcloud.clock import FixedClock
from privcloud.sdk.wallet import Wallet
from privcloud.sdk.wallet_state import HeldToken, WalletConfig

NOW = 1_000_000.0


def _wallet(key_expires: float | None) -> tuple[Wallet, list[int]]:
    """A wallet whose fetches are counted and whose current key ends at ``key_expires``;
    reading the issuer's keys again (counted as 0) finds a successor that lasts a week."""
    wallet = Wallet(
        "http://127.0.0.1:1",
        enrolment_code="code",
        clock=FixedClock(NOW),
        config=WalletConfig(issuer_name="issuer.example", batch_size=8, refill_delay_s=(0, 0)),
    )
    fetches: list[int] = []

    async def counted(count: int | None) -> int:
        fetches.append(1)
        return 0

    wallet._fetch = counted  # type: ignore[method-assign]
    key = [SimpleNamespace(expires=key_expires)]
    wallet._current_key = lambda: key[0]  # type: ignore[assignment, method-assign, return-value]

    async def read_keys() -> None:
        fetches.append(0)
        key[0] = SimpleNamespace(expires=NOW + 7 * 86400)

    wallet.refresh_keys = read_keys  # type: ignore[method-assign]
    return wallet, fetches


def _hold(wallet: Wallet, count: int, expires: float) -> None:
    digest = wallet._purse.challenge_digest
    wallet._purse.add([HeldToken(bytes(98), b"k", digest, expires=int(expires))] * count)


async def _settle(wallet: Wallet) -> None:
    if wallet._refill is not None:
        await asyncio.wait_for(wallet._refill, 5)


async def test_tokens_of_a_key_about_to_end_are_refilled_before_they_all_expire() -> None:
    # Eight tokens, all of an issuer key ending in ten minutes; its successor is the key the
    # wallet fetches under. Counted now they are plenty; counted ahead, none.
    wallet, fetches = _wallet(key_expires=NOW + 7 * 86400)
    _hold(wallet, 8, NOW + 600)
    wallet.schedule_refill(ahead=True)  # (the client's background admission)
    await _settle(wallet)
    assert fetches == [1]


async def test_a_request_looks_at_the_tokens_usable_now_only() -> None:
    # After a request the wallet refills below the mark now, not ahead: the issuer chooses when
    # its key ends, and so would choose when a request sets off an issuance (a review).
    wallet, fetches = _wallet(key_expires=NOW + 7 * 86400)
    _hold(wallet, 8, NOW + 600)
    wallet.schedule_refill()
    await _settle(wallet)
    assert fetches == []


async def test_keys_known_from_before_the_successor_are_read_again_before_refilling() -> None:
    # The wallet last read the issuer's keys before the successor was published: the key it
    # knows ends with its tokens. It reads the keys again (0), then fetches under the
    # successor (1), rather than let every token expire at once.
    wallet, fetches = _wallet(key_expires=NOW + 600)
    _hold(wallet, 8, NOW + 600)
    wallet.schedule_refill(ahead=True)
    await _settle(wallet)
    assert fetches == [0, 1]


async def test_no_batch_is_fetched_ahead_under_a_key_that_ends_as_soon() -> None:
    # The only key ends within the look-ahead too: a batch under it would end as soon, so the
    # wallet waits (until fewer than the low-water mark are usable now).
    wallet, fetches = _wallet(key_expires=NOW + limits.WALLET_REFILL_AHEAD_S / 2)
    _hold(wallet, 8, NOW + limits.WALLET_REFILL_AHEAD_S / 2)

    async def no_successor() -> None:
        fetches.append(0)

    wallet.refresh_keys = no_successor  # type: ignore[method-assign]
    wallet.schedule_refill(ahead=True)
    await _settle(wallet)
    assert fetches == [0]  # (the keys read again: still no successor, so no batch)


async def test_a_wallet_with_lasting_tokens_fetches_nothing() -> None:
    wallet, fetches = _wallet(key_expires=NOW + 7 * 86400)
    _hold(wallet, 8, NOW + 7 * 86400)
    wallet.schedule_refill(ahead=True)
    await _settle(wallet)
    assert fetches == [] and wallet._refill is None


async def test_an_issuer_refusing_a_wallets_batches_learns_nothing_of_its_users_attempts() -> None:
    # The attack (a review of docs/adr/0009): the issuer answers this device's batches with a
    # 503 (its choice) and keeps its wallet empty. Each feature the user then tries fails on
    # the device, sending nothing, but set off a refill that reached the issuer, signed, a few
    # seconds later: the issuer learnt when the user tried. After a failed refill only the
    # client's background admissions, at random times, try again.
    from privcloud.errors import NoTokenLeftError, UnavailableError

    wallet, _ = _wallet(key_expires=NOW + 7 * 86400)
    contacts: list[float] = []

    async def refused(count: int | None) -> int:
        contacts.append(1)
        raise UnavailableError("issuer answered status 503")

    wallet._fetch = refused  # type: ignore[method-assign]
    for _ in range(4):  # the user tries a private feature four times
        with pytest.raises(NoTokenLeftError):  # nothing goes to the relay
            await wallet.for_request(first=True)
        await _settle(wallet)
    # One refill: the one the wallet's running out set off (a refill follows a request by
    # 5-60 s by design, docs/tokens.md "Known limits"), not one per attempt.
    assert len(contacts) == 1
    wallet.schedule_refill(ahead=True)  # (the client's background admission)
    await _settle(wallet)
    assert len(contacts) == 2
    # A refill that succeeds lets requests schedule refills again.

    async def answered(count: int | None) -> int:
        contacts.append(1)
        return 0

    wallet._fetch = answered  # type: ignore[method-assign]
    wallet.schedule_refill(ahead=True)
    await _settle(wallet)
    wallet.schedule_refill()
    await _settle(wallet)
    assert len(contacts) == 4


async def test_an_issuer_refusing_batches_learns_nothing_of_attempts_after_a_restart(
    tmp_path: Path,
) -> None:
    # The same attack across a restart of the app (a review): the failed refill's mark was
    # held in memory only, so after a restart each request that found the wallet empty set
    # off a refill again. It is kept in the wallet file.
    from privcloud.errors import NoTokenLeftError, UnavailableError

    contacts: list[float] = []

    async def refused(count: int | None) -> int:
        contacts.append(1)
        raise UnavailableError("issuer answered status 503")

    config = WalletConfig(issuer_name="issuer.example", batch_size=8, refill_delay_s=(0, 0))
    path = tmp_path / "wallet.json"
    for run in range(2):  # the app, then the app restarted
        wallet = Wallet("http://127.0.0.1:1", config=config, path=path, clock=FixedClock(NOW))
        wallet._fetch = refused  # type: ignore[method-assign]
        if run == 0:
            await wallet.prefetch_or_note()  # the first admission's fill, refused
        for _ in range(3):  # the user tries a private feature
            with pytest.raises(NoTokenLeftError, match="unavailable"):
                await wallet.for_request(first=False)
            await _settle(wallet)
    assert len(contacts) == 1


async def test_a_refused_batch_does_not_stop_refills_after_a_successful_fill(
    tmp_path: Path,
) -> None:
    # A review: the mark a refused batch wrote to the wallet file outlived a restarted app's
    # successful fill at its first admission, so its requests set off no refill after it.
    from privcloud.errors import UnavailableError

    config = WalletConfig(issuer_name="issuer.example", batch_size=8, refill_delay_s=(0, 0))
    path = tmp_path / "wallet.json"
    wallet = Wallet("http://127.0.0.1:1", config=config, path=path, clock=FixedClock(NOW))

    async def refused(count: int | None) -> int:
        raise UnavailableError("issuer answered status 503")

    wallet._fetch = refused  # type: ignore[method-assign]
    await wallet.prefetch_or_note()
    restarted = Wallet("http://127.0.0.1:1", config=config, path=path, clock=FixedClock(NOW))

    async def filled(count: int | None) -> int:
        _hold(restarted, 8, NOW + 86400)
        return 8

    restarted._fetch = filled  # type: ignore[method-assign]
    restarted._current_key = lambda: None  # type: ignore[method-assign]
    await restarted.prefetch_or_note()
    assert b"refill-failed" not in path.read_bytes()
    for _ in range(7):  # requests take it below the low-water mark
        await restarted.for_request(first=False)
    assert restarted.refill_pending
    await restarted.close()
