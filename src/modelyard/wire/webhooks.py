"""Request bodies of webhook subscriptions, and the answer to a test."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from modelyard.wire.registry import Body


class WebhookBody(Body):
    url: str = Field(min_length=1, max_length=2000)
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=50, description="Patterns: version.created, alias.*, *"
    )
    environment: str | None = Field(default=None, max_length=128)
    secret: str | None = Field(default=None, min_length=16, max_length=128)


class TestQueued(BaseModel):
    delivery_id: int
