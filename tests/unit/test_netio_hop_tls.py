"""The hops' client (privcloud.netio.hop) to ``https://`` next hops: real TLS servers on
loopback, with certificates made here by a test root. A relay run by another party than the
gateway reaches it over the Internet, so the relay's hop must verify whom it talks to."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import uvloop
from aiohttp import web

from privcloud.errors import UpstreamUnreachableError
from privcloud.netio.hop import HopClient
from privcloud.ohttp import MEDIA_REQUEST
from privcloud.services.relay import Relay
from tlskit import LOOPBACK, Pki, StandIn


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


async def through_a_relay(gateway_url: str, body: bytes) -> tuple[int, bytes]:
    """POST ``body`` as an OHTTP request to a relay (on loopback) that forwards to
    ``gateway_url``: the relay's status and body."""
    runner = web.AppRunner(Relay(gateway_url).app())
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://{LOOPBACK}:{port}/v1/ohttp",
                data=body,
                headers={"Content-Type": MEDIA_REQUEST},
            ) as resp,
        ):
            return resp.status, await resp.read()
    finally:
        await runner.cleanup()


@pytest.fixture
async def service() -> AsyncIterator[StandIn]:
    served = StandIn()
    yield served
    await served.stop()


async def refused(client: HopClient, port: int) -> UpstreamUnreachableError:
    """The error of one POST to ``https://`` loopback ``port``, which must be unreachable
    (the client is closed after it)."""
    try:
        with pytest.raises(UpstreamUnreachableError) as caught:
            await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"x", "m/x", limit=64)
    finally:
        await client.close()
    return caught.value


async def test_https_round_trip_reuses_one_verified_connection(pki: Pki, service: StandIn) -> None:
    port = await service.start(pki.server_context(LOOPBACK))
    client = HopClient(tls=pki.client_context())
    try:
        for i in range(3):
            answer = await client.post(
                f"https://{LOOPBACK}:{port}/v1/ohttp", b"sealed %d" % i, "message/x-test",
                limit=1024,
            )  # fmt: skip
            assert (answer.status, await answer.read()) == (200, b"sealed %d" % i)
    finally:
        await client.close()
    assert len(service.peers) == 3 and len(set(service.peers)) == 1


async def test_impostor_gateway_with_a_certificate_no_trusted_root_signed_is_unreachable(
    pki: Pki, service: StandIn
) -> None:
    # The client trusts the system's roots only: the test root signed nothing it accepts.
    port = await service.start(pki.server_context(LOOPBACK))
    error = await refused(HopClient(), port)
    assert LOOPBACK not in str(error) and str(port) not in str(error)
    assert service.peers == []  # nothing was delivered: the request may go elsewhere


async def test_impostor_gateway_with_a_certificate_for_another_name_is_unreachable(
    pki: Pki, service: StandIn
) -> None:
    port = await service.start(pki.server_context("gateway.other.example"))
    await refused(HopClient(tls=pki.client_context()), port)
    assert service.peers == []


async def test_downgrade_to_plain_http_behind_an_https_url_is_unreachable(
    service: StandIn,
) -> None:
    port = await service.start(None)  # the next hop speaks plain HTTP on that port
    await refused(HopClient(), port)
    assert service.peers == []


async def test_ssl_cert_file_names_the_operators_root(
    pki: Pki, service: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator whose gateway shows a certificate of a private root names it the standard
    # way; the default context reads it when the client reaches its first https next hop.
    port = await service.start(pki.server_context(LOOPBACK))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_file))
    client = HopClient()
    try:
        answer = await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"y", "m/x", limit=64)
        assert (answer.status, await answer.read()) == (200, b"y")
    finally:
        await client.close()


def test_https_round_trip_on_uvloop(pki: Pki) -> None:
    async def run() -> tuple[int, bytes]:
        served = StandIn()
        port = await served.start(pki.server_context(LOOPBACK))
        client = HopClient(tls=pki.client_context())
        try:
            answer = await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"z", "m/x", limit=64)
            return answer.status, await answer.read()
        finally:
            await client.close()
            await served.stop()

    assert uvloop.run(run()) == (200, b"z")


async def test_relay_forwards_to_an_https_gateway_its_operator_names_the_root_of(
    pki: Pki, service: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await service.start(pki.server_context(LOOPBACK))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_file))
    got = await through_a_relay(f"https://{LOOPBACK}:{port}", b"encapsulated")
    assert got == (200, b"encapsulated") and len(service.peers) == 1


async def test_relay_refuses_an_impostor_gateway(pki: Pki, service: StandIn) -> None:
    # Someone on the path between relay and gateway answers with a certificate of their own:
    # the relay passes nothing to it and answers 502.
    port = await service.start(pki.server_context(LOOPBACK))
    status, _ = await through_a_relay(f"https://{LOOPBACK}:{port}", b"encapsulated")
    assert status == 502 and service.peers == []


async def _early_answer_twice(pki: Pki) -> int:
    """A TLS next hop that answers before it read a 16 MiB body and then reads nothing: two
    requests; how many connections it saw."""
    opened = [0]

    async def early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened[0] += 1
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
            await writer.drain()
            await asyncio.sleep(0.5)  # reads nothing more
        writer.close()

    server = await asyncio.start_server(early, LOOPBACK, 0, ssl=pki.server_context(LOOPBACK))
    url = f"https://{LOOPBACK}:{server.sockets[0].getsockname()[1]}/x"
    client = HopClient(tls=pki.client_context())
    try:
        for body in (b"b" * (16 << 20), b"x"):
            answer = await client.post(url, body, "m/x", limit=64)
            assert await answer.read() == b"early"
    finally:
        await client.close()
        server.close()
    return opened[0]


async def test_an_early_answer_over_tls_leaves_its_connection_out_of_the_pool(pki: Pki) -> None:
    """TLS hands the whole request to TCP at once, so its own write buffer is empty while the
    TCP one still holds the body: the connection is not pooled, and the next request is not
    queued behind bytes the next hop never reads (it would fail as "may have run")."""
    assert await _early_answer_twice(pki) == 2


def test_an_early_answer_over_tls_on_uvloop(pki: Pki) -> None:
    assert uvloop.run(_early_answer_twice(pki)) == 2


#: A host name with an IDNA deviation character: IDNA 2003 maps "ß" to "ss" (Python's
#: ``idna`` codec: strasse.example), IDNA 2008 keeps it (xn--strae-oqa.example, as yarl and so
#: aiohttp encode it). Two names, which two operators may hold.
_DEVIATION_HOST = "straße.example"
_DEVIATION_A_LABEL = "xn--strae-oqa.example"


def _loopback_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve only :data:`_DEVIATION_A_LABEL`, to loopback (a stand-in for DNS, which these
    machines lack); returns the list of names asked, as the resolver receives them (a
    Unicode name encoded by Python's ``idna`` codec, as ``socket.getaddrinfo`` does)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.encode("idna").decode() if isinstance(host, str) else str(host)
        asked.append(name)
        if name == LOOPBACK:
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        if name != _DEVIATION_A_LABEL:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return real(LOOPBACK, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_host_name_with_a_deviation_character_is_the_host_aiohttp_reaches(
    pki: Pki, service: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relay's one-shot requests (hop client) and its other requests (aiohttp) to the same
    gateway URL reach, verify and name in ``Host`` the same host; with Python's IDNA 2003
    codec the hop client went to strasse.example instead."""
    port = await service.start(pki.server_context(_DEVIATION_A_LABEL))
    asked = _loopback_dns(monkeypatch)
    url = f"https://{_DEVIATION_HOST}:{port}"
    client = HopClient(tls=pki.client_context())
    try:
        answer = await client.post(url + "/v1/ohttp", b"sealed", "m/x", limit=64)
        assert (answer.status, await answer.read()) == (200, b"sealed")
    finally:
        await client.close()
    connector = aiohttp.TCPConnector(ssl=pki.client_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url + "/v1/directory") as resp,
    ):
        assert (resp.status, await resp.read()) == (200, StandIn.DOCUMENT)
    assert asked == [_DEVIATION_A_LABEL] * 2
    assert service.hosts == [f"{_DEVIATION_A_LABEL}:{port}"] * 2
