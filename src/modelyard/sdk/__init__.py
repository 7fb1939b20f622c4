"""The SDK: ``Client`` on the embedded services or on a server over HTTP."""

from modelyard.sdk.client import Client

__all__ = ["Client"]
