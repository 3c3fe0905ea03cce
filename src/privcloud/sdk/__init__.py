"""The device SDK."""

from privcloud.sdk.client import Client, ClientTrust, Result, SyncClient, Trail

__all__ = ["Client", "ClientTrust", "Result", "SyncClient", "Trail"]
