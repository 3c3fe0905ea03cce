"""A recording (and optionally tampering) TCP proxy on loopback, for end-to-end tests.

It stands in front of a service and records every byte each direction carries, and the peer
address it was reached from: exactly what the party behind it receives from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

Tamper = Callable[[bytes, int], bytes]


@dataclass
class Connection:
    peer: tuple[str, int]
    inbound: bytearray = field(default_factory=bytearray)  # towards the service
    outbound: bytearray = field(default_factory=bytearray)  # from the service


class Proxy:
    """Forward ``listen -> target``; ``tamper_outbound(data, offset)`` may alter responses,
    ``cut_outbound_after`` closes the connection after that many response bytes."""

    def __init__(
        self,
        target_port: int,
        *,
        host: str = "127.0.0.1",
        tamper_outbound: Tamper | None = None,
        tamper_inbound: Tamper | None = None,
        cut_outbound_after: int | None = None,
    ) -> None:
        self.host = host
        self.target_port = target_port
        self.tamper_outbound = tamper_outbound
        self.tamper_inbound = tamper_inbound
        self.cut_outbound_after = cut_outbound_after
        self.connections: list[Connection] = []
        self._server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def inbound(self) -> bytes:
        return b"".join(bytes(c.inbound) for c in self.connections)

    def outbound(self) -> bytes:
        return b"".join(bytes(c.outbound) for c in self.connections)

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Connection(peer=writer.get_extra_info("peername")[:2])
        self.connections.append(conn)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, inbound: bool) -> None:
            buf = conn.inbound if inbound else conn.outbound
            tamper = self.tamper_inbound if inbound else self.tamper_outbound
            try:
                while data := await src.read(65536):
                    offset = len(buf)
                    if tamper is not None:
                        data = tamper(data, offset)
                    if not inbound and self.cut_outbound_after is not None:
                        room = self.cut_outbound_after - offset
                        if room <= 0:
                            break
                        data = data[:room]
                    buf += data
                    dst.write(data)
                    await dst.drain()
                    if (
                        not inbound
                        and self.cut_outbound_after is not None
                        and len(buf) >= self.cut_outbound_after
                    ):
                        break
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort() if self.cut_outbound_after is not None else dst.close()

        try:
            await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
