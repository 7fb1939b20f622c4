"""Request bodies of the dataset routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from modelyard.wire.registry import Body

Columns = Annotated[list[Annotated[str, Field(max_length=250)]], Field(max_length=1000)]


class SnapshotBody(Body):
    name: str = Field(max_length=300, description="the dataset to add a version to")
    environment: str | None = Field(
        None, max_length=128, description="default: the source's environment"
    )
    deployment: str | None = Field(None, max_length=128, description="copy collected rows")
    dataset: str | None = Field(None, max_length=300, description="or copy a dataset version")
    since: str | None = Field(None, max_length=64, description="ISO time or 1h, 7d...")
    until: str | None = Field(None, max_length=64)
    with_feedback: bool = False
    drop: Columns = Field(default_factory=list, description="columns left out")
    mask: Columns = Field(default_factory=list, description="columns replaced by keyed hashes")
    description: str = Field("", max_length=10_000)
