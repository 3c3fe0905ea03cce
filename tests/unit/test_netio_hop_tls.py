"""The hops' client (privcloud.netio.hop) to ``https://`` next hops: real TLS servers on
loopback, with certificates made here by a test root. A relay run by another party than the
gateway reaches it over the Internet, so the relay's hop must verify whom it talks to."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import uvloop
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from privcloud.errors import UpstreamUnreachableError
from privcloud.netio.hop import HopClient
from privcloud.ohttp import MEDIA_REQUEST, MEDIA_RESPONSE
from privcloud.services.relay import Relay

LOOPBACK = "127.0.0.1"


class Pki:
    """A test root and server certificates it signs, as PEM files under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "privcloud test root")])
        self.root = (
            self._builder(name, name, self.root_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )
        self.root_file = directory / "root.pem"
        self.root_file.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(subject: x509.Name, issuer: x509.Name, key: object) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A server context whose certificate (signed by the root) names ``names`` (IP
        addresses or DNS names)."""
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        cert = (
            self._builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]),
                self.root.subject,
                key.public_key(),
            )
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        chain = self.directory / f"server-{len(list(self.directory.iterdir()))}.pem"
        chain.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root_file))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


class Service:
    """An aiohttp echo service on loopback (a gateway stand-in: it answers an OHTTP request
    with its own bytes as the response), over TLS when given a context; remembers the client
    port of every request (one port: one connection)."""

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.runner: web.AppRunner | None = None

    async def start(self, tls: ssl.SSLContext | None) -> int:
        async def handler(request: web.Request) -> web.Response:
            assert request.transport is not None
            self.peers.append(request.transport.get_extra_info("peername")[1])
            return web.Response(body=await request.read(), content_type=MEDIA_RESPONSE)

        app = web.Application()
        app.router.add_post("/v1/ohttp", handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, LOOPBACK, 0, ssl_context=tls)
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


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
async def service() -> AsyncIterator[Service]:
    served = Service()
    yield served
    await served.stop()


async def test_https_round_trip_reuses_one_verified_connection(pki: Pki, service: Service) -> None:
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
    pki: Pki, service: Service
) -> None:
    # The client trusts the system's roots only: the test root signed nothing it accepts.
    port = await service.start(pki.server_context(LOOPBACK))
    client = HopClient()
    try:
        with pytest.raises(UpstreamUnreachableError) as caught:
            await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"x", "m/x", limit=64)
    finally:
        await client.close()
    assert LOOPBACK not in str(caught.value) and str(port) not in str(caught.value)
    assert service.peers == []  # nothing was delivered: the request may go elsewhere


async def test_impostor_gateway_with_a_certificate_for_another_name_is_unreachable(
    pki: Pki, service: Service
) -> None:
    port = await service.start(pki.server_context("gateway.other.example"))
    client = HopClient(tls=pki.client_context())
    try:
        with pytest.raises(UpstreamUnreachableError):
            await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"x", "m/x", limit=64)
    finally:
        await client.close()
    assert service.peers == []


async def test_downgrade_to_plain_http_behind_an_https_url_is_unreachable(
    service: Service,
) -> None:
    port = await service.start(None)  # the next hop speaks plain HTTP on that port
    client = HopClient()
    try:
        with pytest.raises(UpstreamUnreachableError):
            await client.post(f"https://{LOOPBACK}:{port}/v1/ohttp", b"x", "m/x", limit=64)
    finally:
        await client.close()
    assert service.peers == []


async def test_ssl_cert_file_names_the_operators_root(
    pki: Pki, service: Service, monkeypatch: pytest.MonkeyPatch
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
        served = Service()
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
    pki: Pki, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = await service.start(pki.server_context(LOOPBACK))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.root_file))
    got = await through_a_relay(f"https://{LOOPBACK}:{port}", b"encapsulated")
    assert got == (200, b"encapsulated") and len(service.peers) == 1


async def test_relay_refuses_an_impostor_gateway(pki: Pki, service: Service) -> None:
    # Someone on the path between relay and gateway answers with a certificate of their own:
    # the relay passes nothing to it and answers 502.
    port = await service.start(pki.server_context(LOOPBACK))
    status, _ = await through_a_relay(f"https://{LOOPBACK}:{port}", b"encapsulated")
    assert status == 502 and service.peers == []
