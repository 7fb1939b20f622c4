"""The request body that creates a batch job."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from modelyard.wire.registry import Body


class JobBody(Body):
    name: str = Field(min_length=1, max_length=128)
    deployment: str = Field(min_length=1, max_length=128)
    input: str = Field(min_length=1, max_length=2000)
    output: str = Field(min_length=1, max_length=2000)
    every: str | int | None = Field(default=None, description="30m, 1d, or seconds")
    start: str | datetime | None = Field(default=None, description="first run (with every)")
    table: str | None = Field(default=None, max_length=300, description="DATABASE:TABLE")
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    explain: int = Field(default=0, ge=0, le=50, description="top factors per row")
