"""The tunnel hops' pipe (privcloud.services.live_tunnel.pipe) with stand-in sockets: each side
is read on its own, so a side that stops reading cannot close the other's TCP window.

The attack (a review of the live sessions, 2026-12-07): the relay's pipe read the device's next
frame only after passing the last one to the gateway. A gateway that stopped reading stalled
the relay's writer, the relay stopped reading the device, and its TCP window to the device
closed; when the gateway read again, the device's frames resumed a round trip between the relay
and the device later, which is what the relay exists to hide."""

from __future__ import annotations

import asyncio

import aiohttp

from privcloud import limits
from privcloud.services.live_tunnel import WIRE_FRAME, pipe


class _Side:
    """A WebSocket stand-in: ``inbox`` holds what it will receive; ``stalled`` never takes a
    frame (a side that stopped reading)."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.inbox: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self.reads = 0
        self.sent: list[bytes] = []
        self.closed: int | None = None
        self.stalled = stalled

    def frames(self, count: int) -> None:
        for i in range(count):
            frame = i.to_bytes(4, "big") + bytes(WIRE_FRAME - 4)
            self.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, frame, None))

    async def receive(self) -> aiohttp.WSMessage:
        msg = await self.inbox.get()
        self.reads += 1
        return msg

    async def send_bytes(self, data: bytes) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        self.sent.append(data)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed is None:
            self.closed = code
        return True


async def test_a_gateway_that_stops_reading_cannot_time_the_devices_tcp_window() -> None:
    device, gateway = _Side(), _Side(stalled=True)
    device.frames(200)
    # The device's frames keep being read while the gateway takes none, up to a second's worth
    # held for it; then the tunnel ends (both sides closed), long before its lifetime.
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    held = limits.LIVE_TUNNEL_QUEUE_FRAMES
    assert held + 1 <= device.reads <= held + 2  # (and one in the stalled write, if it began)
    assert device.closed is not None and gateway.closed is not None


async def test_frames_pass_in_order_both_ways_and_a_refusal_after_them() -> None:
    device, gateway = _Side(), _Side()
    device.frames(30)
    answer = aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"answer", None)
    gateway.inbox.put_nowait(answer)
    gateway.frames(10)
    refusal = aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 4503, "unavailable")
    gateway.inbox.put_nowait(refusal)
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    assert device.sent[0] == b"answer" and len(device.sent) == 11
    assert [int.from_bytes(f[:4], "big") for f in device.sent[1:]] == list(range(10))
    assert device.closed == 4503
    sent = [int.from_bytes(f[:4], "big") for f in gateway.sent]
    assert sent == list(range(len(sent)))  # in order (as many as came before the refusal)


async def test_an_answer_passes_before_the_close_that_follows_it() -> None:
    # (An OHTTP answer carrying a refusal, then a plain close: the answer must reach the device.)
    device, gateway = _Side(), _Side()
    gateway.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"answer", None))
    gateway.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1000, ""))
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    assert device.sent == [b"answer"] and device.closed == 1000
