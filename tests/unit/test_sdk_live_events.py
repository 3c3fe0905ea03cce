"""The device's unread live events are bounded (:class:`privcloud.sdk.live.LiveCall`): an app
that stops reading a call's events cannot make the SDK hold the rest of the call's speech."""

from __future__ import annotations

import asyncio
from typing import cast

from privcloud import limits
from privcloud.live.protocol import LiveEvent
from privcloud.sdk.client import Client
from privcloud.sdk.live import LiveCall

#: The largest speech record a node may send (30 s).
_BIG = b"\0\0" * (limits.MAX_LIVE_AUDIO_BYTES // 2)


def _call() -> LiveCall:
    # No session is opened: only the event queue of the call object is exercised.
    return LiveCall(cast(Client, object()))


async def _read_all(call: LiveCall) -> list[LiveEvent]:
    call._events.put_nowait(None)  # the end of the call, as _run puts it
    return [event async for event in call.events()]


def test_an_app_that_stops_reading_cannot_grow_the_unread_events_past_the_bound() -> None:
    call = _call()
    sent = 40
    for i in range(sent):
        call._emit(LiveEvent(0, "audio", audio=_BIG, start_s=float(i), end_s=float(i) + 30))
    held = sum(len(e.audio) for e in call._events._queue if isinstance(e, LiveEvent))  # type: ignore[attr-defined]
    assert held <= limits.MAX_LIVE_DEVICE_EVENT_BYTES
    events = asyncio.run(_read_all(call))
    assert call.dropped_events == sent - len(events) > 0
    # The newest are kept, in order: what plays next is the most recent speech.
    assert [e.start_s for e in events] == [float(i) for i in range(call.dropped_events, sent)]


def test_events_the_app_reads_make_room_again() -> None:
    call = _call()
    per_round = limits.MAX_LIVE_DEVICE_EVENT_BYTES // (len(_BIG) + 64)

    async def rounds() -> list[LiveEvent]:
        reader = call.events()
        got = []
        for r in range(3):
            for i in range(per_round):
                call._emit(LiveEvent(1, "audio", audio=_BIG, start_s=float(r), end_s=float(r + i)))
            got += [await anext(reader) for _ in range(per_round)]
        return got

    assert len(asyncio.run(rounds())) == 3 * per_round
    assert call.dropped_events == 0
