"""``Redemption.consume`` (services/redemption.py) on each kind of future a spent-token store
hands back: done at once (the write ran on the caller's thread), done later (the store's
thread), failed or never done. Only a recorded spend lets the node's answer go on."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import Future

import pytest

from privcloud import limits
from privcloud.errors import UnavailableError
from privcloud.services.redemption import Redemption
from privcloud.storage.spent_tokens import settled


class _Store:
    """A spent-token store whose ``consume`` returns the future a test gives it (simulated:
    only the method Redemption.consume calls)."""

    def __init__(self, future: Future[bool]) -> None:
        self.future = future
        self.consumed = 0

    def consume(self, nonce: bytes, *, key_id: bytes) -> Future[bool]:
        self.consumed += 1
        return self.future

    def release(self, nonce: bytes, *, key_id: bytes) -> None:
        raise AssertionError("a consumed token is not released")


def _redemption(future: Future[bool]) -> tuple[Redemption, _Store, Counter[str]]:
    store, outcomes = _Store(future), Counter[str]()
    return Redemption(store, b"n" * 32, b"k" * 32, outcomes), store, outcomes  # type: ignore[arg-type]


async def test_a_spend_written_at_once_is_consumed_without_waiting() -> None:
    held, store, outcomes = _redemption(settled(True))
    await held.consume()
    await held.consume()  # the first call decides
    assert (held.settled, store.consumed, outcomes["unrecorded"]) == ("consumed", 1, 0)


@pytest.mark.parametrize("outcome", ["lapsed", "failed", "cancelled"])
async def test_a_spend_not_recorded_at_once_stops_the_answer(outcome: str) -> None:
    future: Future[bool] = Future()
    if outcome == "lapsed":
        future.set_result(False)
    elif outcome == "failed":
        future.set_exception(OSError("disk"))
    else:
        future.cancel()
    held, _, outcomes = _redemption(future)
    with pytest.raises(UnavailableError):
        await held.consume()
    assert outcomes["unrecorded"] == 1


async def test_a_spend_written_later_by_the_store_thread_is_waited_for() -> None:
    future: Future[bool] = Future()
    held, _, outcomes = _redemption(future)
    timer = threading.Timer(0.05, future.set_result, (True,))
    timer.start()
    await held.consume()
    timer.join()
    assert outcomes["unrecorded"] == 0


async def test_a_spend_whose_write_fails_later_stops_the_answer() -> None:
    future: Future[bool] = Future()
    held, _, outcomes = _redemption(future)
    timer = threading.Timer(0.05, future.set_exception, (OSError("disk"),))
    timer.start()
    with pytest.raises(UnavailableError):
        await held.consume()
    timer.join()
    assert outcomes["unrecorded"] == 1


async def test_a_spend_never_written_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "TOKEN_CONSUME_WAIT_S", 0.05)
    held, _, outcomes = _redemption(Future())
    with pytest.raises(UnavailableError):
        await asyncio.wait_for(held.consume(), 5)
    assert outcomes["unrecorded"] == 1
