"""The one-shot command line's token pacing (privcloud.cli.pacing; docs/tokens.md, "The command
line"). The attack (a review): each command built a wallet, spent a token and exited, cancelling
the refill its request set off; every batch_size-th command then found the wallet empty and
fetched a batch at its first admission, milliseconds before its request, and the issuer (who
knows the device) and the gateway tied the fetch to the request. Sans network: the wallet's
fetch is counted, the request recorded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from privcloud.cli import pacing
from privcloud.clock import FixedClock
from privcloud.sdk.wallet import Wallet
from privcloud.sdk.wallet_state import HeldToken, WalletConfig

DELAY = (5.0, 60.0)


NOW = 1_000_000


def _client(fetched_at: int | None, pending: bool = False) -> tuple[Any, list[str]]:
    events: list[str] = []

    async def settle() -> None:
        events.append("refill")

    wallet = SimpleNamespace(
        fetched_at=fetched_at,
        config=WalletConfig(refill_delay_s=DELAY),
        refill_pending=pending,
        settle_refill=settle,
    )
    return SimpleNamespace(wallet=wallet, clock=FixedClock(NOW)), events


async def _command(client: Any, events: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async def sleep(seconds: float) -> None:
        events.append(f"wait {seconds:.0f}")

    monkeypatch.setattr(pacing.asyncio, "sleep", sleep)
    async with pacing.paced(client, lambda _: None):
        events.append("request")


async def test_an_issuer_and_gateway_cannot_tie_a_commands_fetch_to_its_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, events = _client(fetched_at=NOW)  # its first admission fetched a batch
    await _command(client, events, monkeypatch)
    [wait, request] = events
    assert request == "request" and DELAY[0] <= float(wait.split()[1]) <= DELAY[1]
    # A command stopped while it waited and run again two seconds after the fetch waits too
    # (a review: the new process had fetched nothing itself, and sent at once).
    client, events = _client(fetched_at=NOW - 2)
    await _command(client, events, monkeypatch)
    [wait, request] = events
    assert DELAY[0] - 2 <= float(wait.split()[1]) <= DELAY[1] - 2
    # A command whose wallet's last batch is older than any delay, or that never fetched,
    # sends at once.
    for fetched_at in (NOW - int(DELAY[1]), None):
        client, events = _client(fetched_at=fetched_at)
        await _command(client, events, monkeypatch)
        assert events == ["request"]


async def test_a_commands_refill_runs_before_it_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    client, events = _client(fetched_at=None, pending=True)
    await _command(client, events, monkeypatch)
    assert events == ["request", "refill"]


async def test_a_settled_refill_fetches_where_closing_cancels_it() -> None:
    config = WalletConfig(issuer_name="issuer.example", batch_size=8, refill_delay_s=(0.05, 0.05))
    fetches: list[int] = []
    for settle in (False, True):
        wallet = Wallet("http://127.0.0.1:1", config=config, clock=FixedClock(1_000_000))

        async def counted(count: int | None) -> int:
            fetches.append(1)
            return 0

        wallet._fetch = counted  # type: ignore[method-assign]
        wallet._current_key = lambda: None  # type: ignore[method-assign]
        digest = wallet._purse.challenge_digest
        wallet._purse.add([HeldToken(bytes(98), b"k", digest, expires=2_000_000)])
        await wallet.for_request(first=False)  # below the low-water mark: a refill is due
        assert wallet.refill_pending
        if settle:
            await wallet.settle_refill()
        await wallet.close()
        await asyncio.sleep(0.1)
        assert len(fetches) == int(settle)
