"""The device's own address on one machine, so the inspector can tell the parties apart.

On a local cloud every service and the device share 127.0.0.1, so "the relay sees your address"
and "the node sees the gateway's address" would print the same string. Linux routes the whole
127.0.0.0/8 block to the loopback interface (RFC 1122 §3.2.1.3 reserves it for loopback), so the
device agent sends its own traffic from :data:`DEVICE_LOOPBACK`: the relay and the issuer, the
two parties that talk to a device, record 127.0.0.2, while the gateway records the relay's
127.0.0.1 and a node the gateway's. Where that address cannot be bound (macOS configures only
127.0.0.1) the device keeps the default, and the inspector says the addresses coincide.

:class:`DeviceClient` and :class:`DeviceWallet` are the SDK's client and wallet with only their
HTTP sessions changed: same settings as :func:`privcloud.netio.new_session` and the wallet's own
(no cookies, no User-Agent, bounded waits), plus the source address.
"""

from __future__ import annotations

import socket
from typing import Any

from privcloud import limits
from privcloud.netio import LazySession
from privcloud.netio.hop import LazyHop
from privcloud.sdk.client import Client
from privcloud.sdk.wallet import Wallet

#: The loopback address the device agent's own connections leave from.
DEVICE_LOOPBACK = "127.0.0.2"


def usable_source_address(address: str) -> bool:
    """Whether this machine lets a socket bind ``address`` (IPv4) as its source."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


class DeviceClient(Client):
    """The SDK client, its connections (relay, and the log through the relay) leaving from
    ``local_address`` (None: the system's choice)."""

    def __init__(self, relay_url: str, *, local_address: str | None, **kwargs: Any) -> None:
        super().__init__(relay_url, **kwargs)
        self.local_address = local_address
        # Client.close() closes both.
        pool = limits.CLIENT_RELAY_CONNECTIONS
        self._http = LazySession(local_address=local_address, limit=pool)
        self._hop = LazyHop(connections=pool, local_address=local_address)


class DeviceWallet(Wallet):
    """The SDK wallet, its direct connections to the issuer leaving from ``local_address``."""

    def __init__(self, issuer_url: str, *, local_address: str | None, **kwargs: Any) -> None:
        super().__init__(issuer_url, **kwargs)
        self.local_address = local_address
        # Wallet.close() closes it.
        self._issuer_http = LazySession(total=limits.ISSUER_TIMEOUT_S, local_address=local_address)
