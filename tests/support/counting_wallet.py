"""A token wallet that counts what it hands out, for tests that balance tokens issued against
tokens spent (the multi-process cluster tests)."""

from __future__ import annotations

from privcloud.sdk.wallet import Wallet


class CountingWallet(Wallet):
    """A wallet counting the tokens it hands out (each leaves it for good)."""

    handed = 0

    async def authorization(self) -> bytes:
        value = await super().authorization()
        self.handed += 1
        return value
