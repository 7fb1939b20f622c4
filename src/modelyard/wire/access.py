"""Request bodies of users, roles and tokens."""

from __future__ import annotations

from pydantic import Field

from modelyard.wire.registry import Body


class UserBody(Body):
    name: str = Field(min_length=1, max_length=128)
    is_admin: bool = False


class GrantBody(Body):
    environment: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=16)


class TokenBody(Body):
    name: str = Field(min_length=1, max_length=128)
    user: str | None = Field(default=None, max_length=128)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
