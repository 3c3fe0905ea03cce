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
    frame (a side that stopped reading); ``drain_s`` takes one per that many seconds."""

    def __init__(self, *, stalled: bool = False, drain_s: float = 0.0) -> None:
        self.inbox: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self.reads = 0
        self.sent: list[bytes] = []
        self.closed: int | None = None
        self.stalled = stalled
        self.drain_s = drain_s

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
        if self.drain_s:
            await asyncio.sleep(self.drain_s)  # a path that drains a frame per drain_s
        self.sent.append(data)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed is None:
            self.closed = code
        return True


async def _at_the_cadence(side: _Side, count: int) -> None:
    for _ in range(count):
        side.frames(1)
        await asyncio.sleep(limits.LIVE_FRAME_INTERVAL_MS / 1000)


async def test_a_gateway_that_stops_reading_cannot_time_the_devices_tcp_window() -> None:
    device, gateway = _Side(), _Side(stalled=True)
    feeder = asyncio.ensure_future(_at_the_cadence(device, 200))
    # The device's frames keep being read while the gateway takes none, up to a burst's worth
    # held for it; then the tunnel ends (both sides closed), long before its lifetime.
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    feeder.cancel()
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


async def _flood(gateway: _Side, count: int) -> None:
    gateway.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"answer", None))
    for _ in range(count):
        gateway.frames(1)
        await asyncio.sleep(0.001)  # as fast as its socket goes: 25 times the cadence


async def _frames_taken_from_a_flooding_gateway(device_drain_s: float) -> int:
    device, gateway = _Side(drain_s=device_drain_s), _Side()
    feeder = asyncio.ensure_future(_flood(gateway, 500))
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    feeder.cancel()
    assert device.closed is not None and gateway.closed is not None
    return gateway.reads


async def test_a_gateway_sending_faster_than_the_cadence_cannot_time_the_relays_path() -> None:
    # The attack (a review, 2026-12-07): a gateway sends the device frames as fast as it can;
    # the relay passes them on as fast as its path to the device drains, holding the rest, and
    # when the relay stopped taking frames (its hold full) told the gateway how fast that path
    # drains. Now a hop takes a burst of frames ahead of the cadence, then ends the tunnel: when
    # depends on the gateway's own sending alone, the same for a fast path and a slow one.
    fast = await _frames_taken_from_a_flooding_gateway(0.004)
    slow = await _frames_taken_from_a_flooding_gateway(0.02)
    # The answer and the burst, what the cadence earned while they came (a frame or two), and
    # the one over: before the fix, 55 from the fast path and 44 from the slow one.
    burst = limits.LIVE_TUNNEL_BURST_FRAMES
    assert burst + 1 <= fast <= burst + 4 and burst + 1 <= slow <= burst + 4


async def test_frames_at_the_cadence_pass_after_a_stalled_paths_burst() -> None:
    device, gateway = _Side(), _Side()
    gateway.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"answer", None))
    burst = limits.LIVE_TUNNEL_BURST_FRAMES - 2  # what a path held for 1.5 s, at once

    async def stalled_then_the_cadence() -> None:
        gateway.frames(burst)
        await asyncio.sleep(limits.LIVE_FRAME_INTERVAL_MS / 1000)
        await _at_the_cadence(gateway, 10)
        gateway.inbox.put_nowait(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1000, ""))

    feeder = asyncio.ensure_future(stalled_then_the_cadence())
    await asyncio.wait_for(pipe(device, gateway, answer=True, lifetime_s=60), 5)  # type: ignore[arg-type]
    await feeder
    assert len(device.sent) == 1 + burst + 10
