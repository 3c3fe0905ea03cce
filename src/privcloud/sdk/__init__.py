"""The device SDK."""

from privcloud.sdk.client import Client, Result, SyncClient, Trail

__all__ = ["Client", "Result", "SyncClient", "Trail"]
