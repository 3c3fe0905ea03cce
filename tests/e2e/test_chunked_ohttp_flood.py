"""A chunked OHTTP request of one-byte chunks (a red-team review): each chunk, 18 bytes on the
wire, cost the gateway a loop turn and an AEAD open, and a gateway decapsulates a request before
it checks its token, so anyone could send MAX_OHTTP_REQUEST of them: 1.86 million chunks held
the gateway's event loop (and every other request, /livez too) for 14 s.

A gateway on loopback now answers a request of one chunk more than
``limits.MAX_OHTTP_REQUEST_CHUNKS`` with 413 and our JSON error, without opening it, and still
decapsulates one of exactly that many chunks (its answer, 200, carries the refusal of a request
with no token inside OHTTP).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from privcloud import limits
from privcloud.ohttp import (
    MEDIA_CHUNKED_REQUEST,
    MEDIA_CHUNKED_RESPONSE,
    decode_key_configs,
    encapsulate_chunked_request,
)
from privcloud.services.gateway import Gateway
from privcloud.services.site import start_site


@pytest.fixture
async def gateway() -> AsyncIterator[str]:
    runner, port = await start_site(Gateway([]).app(), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _one_byte_chunks(
    session: aiohttp.ClientSession, base: str, chunks: int, monkeypatch: pytest.MonkeyPatch
) -> bytes:
    """A chunked request of ``chunks`` chunks, the final one counted: one byte each, the final
    one empty (sealed past the bound our own senders keep to)."""
    async with session.get(base + "/.well-known/ohttp-gateway") as r:
        config = decode_key_configs(await r.read())[-1]
    head, client = encapsulate_chunked_request(config)
    with monkeypatch.context() as patched:
        patched.setattr(limits, "MAX_OHTTP_REQUEST_CHUNKS", chunks)
        sealed = [client.seal_chunk(b"x", final=False) for _ in range(chunks - 1)]
        sealed.append(client.seal_chunk(b"", final=True))
    return head + b"".join(sealed)


async def test_a_chunked_request_of_one_byte_chunks_past_the_bound_is_refused_413_unopened(
    gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        over = await _one_byte_chunks(
            session, gateway, limits.MAX_OHTTP_REQUEST_CHUNKS + 1, monkeypatch
        )
        headers = {"Content-Type": MEDIA_CHUNKED_REQUEST}
        async with session.post(gateway + "/v1/ohttp", data=over, headers=headers) as r:
            assert r.status == 413
            assert json.loads(await r.read())["error"] == "too_large"
        at = await _one_byte_chunks(session, gateway, limits.MAX_OHTTP_REQUEST_CHUNKS, monkeypatch)
        async with session.post(gateway + "/v1/ohttp", data=at, headers=headers) as r:
            assert r.status == 413  # one-byte chunks: under the average past the first few
        monkeypatch.setattr(limits, "MIN_OHTTP_REQUEST_CHUNK_AVERAGE", 0)  # the count alone
        async with session.post(gateway + "/v1/ohttp", data=at, headers=headers) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == MEDIA_CHUNKED_RESPONSE
            await r.read()
