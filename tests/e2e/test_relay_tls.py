"""A relay of another operator than the gateway's (the point of OHTTP) reaches the gateway
over the Internet: ``privcloud relay --gateway https://...``, in its own process, against a
gateway stand-in serving TLS on loopback with a certificate of a test root
(tests/support/tlskit.py). Both of the relay's clients verify it: the pooled one-shot hop
(privcloud.netio.hop) and aiohttp's (chunked requests, live tunnels, the public documents).
The operator names a private root the standard way, ``SSL_CERT_FILE`` in the environment the
relay starts with."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from privcloud.ohttp import MEDIA_CHUNKED_REQUEST, MEDIA_REQUEST
from privcloud.services.live_tunnel import WIRE_FRAME
from tlskit import LOOPBACK, Pki, StandIn


@contextlib.asynccontextmanager
async def relay_process(gateway_url: str, root: Path | None) -> AsyncIterator[str]:
    """``privcloud relay`` forwarding to ``gateway_url``, trusting ``root`` besides the
    system's roots when given (``SSL_CERT_FILE``); yields its base URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if root is not None:
        env["SSL_CERT_FILE"] = str(root)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "privcloud.cli", "relay", "--gateway", gateway_url, "--port", "0",
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        match = re.search(r":(\d+)\s*$", line)
        assert match, line
        yield f"http://{LOOPBACK}:{match.group(1)}"
    finally:
        proc.terminate()
        await proc.wait()


async def post(relay: str, media: str, body: bytes) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{relay}/v1/ohttp", data=body, headers={"Content-Type": media}) as resp,
    ):
        return resp.status, await resp.read()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[Pki, StandIn, str]]:
    pki = Pki(tmp_path)
    served = StandIn()
    port = await served.start(pki.server_context(LOOPBACK))
    yield pki, served, f"https://{LOOPBACK}:{port}"
    await served.stop()


async def read(relay: str, path: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(relay + path) as resp:
        return resp.status, await resp.read()


#: The gateway's public documents a device reads through the relay (aiohttp's session there).
DOCUMENTS = ("/.well-known/ohttp-gateway", "/v1/directory")


async def test_relay_process_forwards_one_shot_and_chunked_and_reads_from_an_https_gateway(
    gateway: tuple[Pki, StandIn, str],
) -> None:
    pki, served, url = gateway
    async with relay_process(url, pki.root_file) as relay:
        assert await post(relay, MEDIA_REQUEST, b"one shot") == (200, b"one shot")
        assert await post(relay, MEDIA_CHUNKED_REQUEST, b"chunked") == (200, b"chunked")
        for path in DOCUMENTS:
            assert await read(relay, path) == (200, StandIn.DOCUMENT)
    assert len(served.peers) == 4


async def test_relay_process_passes_nothing_to_an_impostor_gateway(
    gateway: tuple[Pki, StandIn, str],
) -> None:
    # The relay trusts the system's roots only: whoever answers at the gateway's address with
    # a certificate of the test root is not the gateway.
    _, served, url = gateway
    async with relay_process(url, None) as relay:
        assert (await post(relay, MEDIA_REQUEST, b"one shot"))[0] == 502
        assert (await post(relay, MEDIA_CHUNKED_REQUEST, b"chunked"))[0] == 502
        # An impostor's key configurations would open every request sealed to them.
        for path in DOCUMENTS:
            assert (await read(relay, path))[0] == 502
    assert served.peers == []


async def tunnel(relay: str) -> tuple[bytes, bytes] | int | None:
    """A live tunnel through the relay: the answer to an opening and the echo of one frame,
    or the close code the relay ended it with."""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{relay}/v1/live") as ws:
        await ws.send_bytes(b"opening")
        answer = await ws.receive(timeout=30)
        if answer.type != aiohttp.WSMsgType.BINARY:
            return ws.close_code
        frame = bytes(range(256)) * (WIRE_FRAME // 256) + b"f" * (WIRE_FRAME % 256)
        await ws.send_bytes(frame)
        echo = await ws.receive(timeout=30)
        assert echo.type == aiohttp.WSMsgType.BINARY and echo.data == frame
        return answer.data, echo.data[:4]


async def test_relay_process_tunnels_a_live_session_to_an_https_gateway(
    gateway: tuple[Pki, StandIn, str],
) -> None:
    pki, served, url = gateway
    async with relay_process(url, pki.root_file) as relay:
        assert await tunnel(relay) == (b"gninepo", bytes(range(4)))
    assert served.live_messages == 2


async def test_relay_process_opens_no_live_tunnel_to_an_impostor_gateway(
    gateway: tuple[Pki, StandIn, str],
) -> None:
    _, served, url = gateway
    async with relay_process(url, None) as relay:
        assert await tunnel(relay) == 4502  # a refusal: the next hop unreachable (502)
    assert served.peers == [] and served.live_messages == 0
