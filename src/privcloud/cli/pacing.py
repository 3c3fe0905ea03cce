"""Token pacing of the one-shot command-line client (``privcloud call``; docs/tokens.md, "The
command line").

An app's wallet refills in the background, at a random time after the request that took it
below its low-water mark, and fetches at its first admission only when it starts empty. A
command is an app that starts, sends one request and exits: its refill, cancelled at the exit,
never ran, so each ``batch_size``-th command found the wallet empty and fetched a batch at its
first admission, milliseconds before its request; the issuer (who knows the device) and the
gateway (who sees the request) tied the two every time (a review). So a command sends its
request a refill's random delay after the wallet's last batch at the earliest (the time is
kept in the wallet file: a command stopped while it waited, then run again, waits too; a
second review), and one whose request set a refill off lets it run before exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

from privcloud.sdk import Client


@contextlib.asynccontextmanager
async def paced(client: Client, note: Callable[[str], None]) -> AsyncIterator[Client]:
    """``client`` (admitted) for one request, paced as above; ``note`` tells the user why
    the command waits."""
    wallet = client.wallet
    if wallet is not None and wallet.fetched_at is not None:
        delay = secrets.SystemRandom().uniform(*wallet.config.refill_delay_s)
        wait = wallet.fetched_at + delay - client.clock.now()
        if wait > 0:
            note(
                f"tokens fetched: the request waits {wait:.0f} s, so that the issuer cannot "
                "tie the fetch to it (docs/tokens.md)"
            )
            await asyncio.sleep(wait)
    yield client
    if wallet is not None and wallet.refill_pending:
        note("refilling the token wallet before exiting, at a random time (Ctrl-C skips it)")
        await wallet.settle_refill()
