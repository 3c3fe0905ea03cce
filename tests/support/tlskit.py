"""TLS on loopback for tests: a test root and server certificates it signs (:class:`Pki`),
and a gateway stand-in served over TLS (:class:`StandIn`)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from privcloud.ohttp import MEDIA_CHUNKED_REQUEST, MEDIA_CHUNKED_RESPONSE, MEDIA_RESPONSE

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


class StandIn:
    """A gateway stand-in on loopback, over TLS when given a context: it answers an OHTTP
    request with its own bytes (a chunked one in three chunks), a live tunnel's opening with
    its bytes reversed, then echoes its frames, and a read of a public document (the key
    configurations, the directory) with :data:`DOCUMENT`; remembers the client port of every
    request (one port: one connection) and the ``Host`` each named."""

    #: What every document read is answered with.
    DOCUMENT = b"a public document of the gateway"

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.hosts: list[str] = []
        self.live_messages = 0
        self.runner: web.AppRunner | None = None

    async def start(self, tls: ssl.SSLContext | None) -> int:
        def seen(request: web.Request) -> None:
            assert request.transport is not None
            self.peers.append(request.transport.get_extra_info("peername")[1])
            self.hosts.append(request.host)

        async def handler(request: web.Request) -> web.StreamResponse:
            seen(request)
            body = await request.read()
            if request.content_type != MEDIA_CHUNKED_REQUEST:
                return web.Response(body=body, content_type=MEDIA_RESPONSE)
            streamed = web.StreamResponse(headers={"Content-Type": MEDIA_CHUNKED_RESPONSE})
            await streamed.prepare(request)
            for part in (body[:1], body[1:2], body[2:]):
                await streamed.write(part)
            await streamed.write_eof()
            return streamed

        async def live(request: web.Request) -> web.WebSocketResponse:
            # A live tunnel's far end: answers the opening with its own bytes reversed, then
            # echoes every frame.
            seen(request)
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                self.live_messages += 1
                data = msg.data[::-1] if self.live_messages == 1 else msg.data
                await ws.send_bytes(data)
            return ws

        async def document(request: web.Request) -> web.Response:
            seen(request)
            return web.Response(body=self.DOCUMENT, content_type="application/octet-stream")

        app = web.Application()
        app.router.add_post("/v1/ohttp", handler)
        app.router.add_get("/.well-known/ohttp-gateway", document)
        app.router.add_get("/v1/directory", document)
        app.router.add_get("/v1/live", live)
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
