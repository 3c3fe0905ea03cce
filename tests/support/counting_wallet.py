"""A token wallet that counts what it hands out, for tests that balance tokens issued against
tokens spent (the multi-process cluster tests)."""

from __future__ import annotations

from privcloud.sdk.wallet import Wallet


class CountingWallet(Wallet):
    """A wallet counting the tokens it hands out (each leaves it for good)."""

    handed = 0

    async def authorization(self, *, fetch: bool = True) -> bytes:
        value = await super().authorization(fetch=fetch)
        self.handed += 1
        return value

    async def settle(self) -> None:
        """Stop the background refill and fetch the batch it may have left pending (sent, and
        perhaps charged, but not yet answered): the issuer answers it again, charging once.
        Afterwards what the issuer charged is exactly what this wallet received."""
        await self.close()  # cancels the refill; the issuer session reopens on next use
        if self.pending:
            await self.fetch()
        await self.close()
