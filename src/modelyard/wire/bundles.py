"""Request bodies of signing keys and trusted keys."""

from __future__ import annotations

from pydantic import Field

from modelyard.wire.registry import Body


class KeyBody(Body):
    name: str = Field(max_length=128)


class TrustBody(Body):
    name: str = Field(max_length=128)
    public_key: str = Field(max_length=128, description="base64 of the 32 raw Ed25519 bytes")
