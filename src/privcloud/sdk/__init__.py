"""The device SDK."""

from privcloud.sdk.client import Client, ClientTrust, Result, Trail
from privcloud.sdk.sync import SyncClient

__all__ = ["Client", "ClientTrust", "Result", "SyncClient", "Trail"]
