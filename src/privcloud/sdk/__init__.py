"""The device SDK."""

from privcloud.sdk.client import Client
from privcloud.sdk.client_types import ClientTrust, Result, Trail
from privcloud.sdk.sync import SyncClient

__all__ = ["Client", "ClientTrust", "Result", "SyncClient", "Trail"]
