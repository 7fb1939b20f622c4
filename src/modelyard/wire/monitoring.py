"""Request bodies of the monitoring and alert routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from modelyard.wire.registry import Body


class RuleBody(Body):
    deployment: str = Field(max_length=128)
    name: str = Field(max_length=128)
    signal: str = Field(max_length=64)
    threshold: float
    op: Literal[">", ">=", "<", "<="] = ">"
    feature: str | None = Field(None, max_length=250)
    window: str = Field("1h", max_length=32, description="e.g. 15m, 1h, 7d")
    every: str = Field("5m", max_length=32, description="how often the scheduler evaluates")
    offset: str | None = Field(
        None, max_length=32, description="the window ends this long before now (e.g. 60d)"
    )
    segment: str | None = Field(
        None, max_length=380, description="COLUMN=VALUE: only the rows of that segment"
    )


class EvaluateAlertsBody(Body):
    deployment: str = Field(max_length=128)
