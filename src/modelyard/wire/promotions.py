"""Request bodies of evaluations, gates, promotions and experiment runs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from modelyard.domain.promotions import DEFAULT_APPROVALS
from modelyard.wire.registry import Body

Ref = Annotated[str, Field(max_length=300)]


class EvaluateBody(Body):
    version: Ref = Field(description="[environment/]name:version or name@alias")
    dataset: Ref = Field(description="[environment/]name[:version]")
    label: str | None = Field(None, max_length=250)
    environment: str | None = Field(None, max_length=128)


class CompareBody(Body):
    versions: list[Ref] = Field(min_length=2, max_length=20)
    dataset: Ref | None = None


class GatesBody(Body):
    evaluation: str | None = Field(
        None, max_length=300, description="dataset it must be evaluated on"
    )
    thresholds: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50, description="e.g. 'f1_macro >= 0.6'"
    )
    beat_champion: str | None = Field(None, max_length=250, description="a metric")
    approvals: int = Field(DEFAULT_APPROVALS, ge=0, le=10)
    self_approval: bool = False


class PromoteBody(Body):
    version: Ref
    to: str = Field(max_length=128)
    note: str = Field("", max_length=10_000)


class DecisionBody(Body):
    comment: str = Field("", max_length=10_000)


class RunBody(Body):
    name: str = Field(max_length=300)
    params: dict[str, Any] = Field(default_factory=dict)
    data_fingerprint: str = Field(max_length=80)
    rows: int = Field(ge=0)
    metrics: dict[Annotated[str, Field(max_length=250)], float] = Field(default_factory=dict)
    environment: str | None = Field(None, max_length=128)
