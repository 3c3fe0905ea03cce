"""The gateway's hold on a node's answer while it charges the request's token (ADR 0030): an
answer whose token write is cancelled is closed, so its connection slot comes back."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from types import SimpleNamespace
from typing import Any, cast

import pytest
from test_netio_hop import echo, serve

from privcloud.netio.hop import HopClient
from privcloud.services.gateway import Gateway
from privcloud.services.redemption import Redemption
from privcloud.storage.spent_tokens import SpentTokenStore


class StuckStore:
    """A spent-token store whose write never completes (a stalled disk, say)."""

    def consume(self, nonce: bytes, *, key_id: bytes) -> concurrent.futures.Future[bool]:
        return concurrent.futures.Future()


async def test_a_cancelled_token_write_gives_the_answers_slot_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, url = await serve(echo())
    gateway = Gateway([])
    hop = HopClient(connections=1)
    gateway._hop._client = hop  # one slot, to see it come back
    held = Redemption(cast(SpentTokenStore, StuckStore()), b"n" * 32, b"k" * 32, Counter())

    async def authorizer(_: Any) -> Redemption:
        return held

    async def to_a_recipient(envelope: bytes, send: Any) -> Any:
        return await send(url, envelope)

    gateway.authorizer = authorizer
    monkeypatch.setattr(gateway, "_to_a_recipient", to_a_recipient)
    exchange = SimpleNamespace(inner=lambda: SimpleNamespace(content=b"sealed"))
    try:
        forward = asyncio.create_task(gateway._forward(exchange, gateway._post_one_shot))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)  # the node's head is in; the token's write hangs
        assert not forward.done()
        forward.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forward
        # The one slot came back: the next exchange does not wait for it.
        answer = await asyncio.wait_for(hop.post(url, b"next", "m/x", limit=64), 2.0)
        assert await answer.read() == b"next"
    finally:
        await hop.close()
        await server.stop()
