"""A live session's audio worker ends when cancelled, even when a frame woke it in the same
turn of the event loop (privcloud.services.live_node._Session._work).

On Python 3.11, ``asyncio.wait_for`` returns the inner result instead of raising when the
awaited future is done by the time the cancel is delivered: the worker, waiting for audio with
it, swallowed the cancel of its session's shutdown and looped on, so the session never ended
and held one of the node's live-session slots for good (found under CPU load in
test_audio_flood_through_the_full_path_is_cut_off). The endpoint and node are stand-ins (only
the attributes the worker reads); the worker is the real one."""

from __future__ import annotations

import asyncio
import types
from typing import Any, cast

from privcloud.services.live_node import _Session


async def test_a_worker_woken_in_the_same_turn_as_its_cancel_ends() -> None:
    endpoint = types.SimpleNamespace(taking_audio=True, working=False)  # cut off mid-call
    node = types.SimpleNamespace(pace=lambda: 0.0)
    session = _Session(ws=None, endpoint=cast(Any, endpoint), pipeline=None, node=cast(Any, node))  # type: ignore[arg-type]
    work = asyncio.ensure_future(session._work())
    await asyncio.sleep(0.01)  # the worker waits for audio
    session.wake.set()  # a frame arrives ...
    await asyncio.sleep(0)  # ... its wait is done ...
    work.cancel()  # ... and the session's shutdown cancels the worker in the same turn
    done, _ = await asyncio.wait([work], timeout=3.0)
    assert done and work.cancelled()
    assert endpoint.working is False
