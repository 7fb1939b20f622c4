"""Request bodies of the registry routes, and the shapes that have no entity of their own.
The HTTP SDK sends these very models, so a body is defined once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from modelyard.domain.entities import Model, ModelVersion
from modelyard.domain.names import KEY_PATTERN

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=5000)]
Metric = Annotated[float, Field(allow_inf_nan=False)]
DIGEST = r"^sha256:[0-9a-f]{64}$"


class Body(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class SearchBody(Body):
    filter: str = Field(default="", max_length=10_000, description="Filter expression.")
    order_by: list[str] = Field(default_factory=list, max_length=10)
    max_results: int = Field(default=100, ge=1, le=1000)
    page_token: str | None = Field(default=None, max_length=1000)
    environment: str | None = Field(default=None, max_length=128)


class AliasBody(Body):
    version: int = Field(ge=1, le=2**31 - 1)


class TagsBody(Body):
    set: dict[Key, TagValue] = Field(default_factory=dict, description="Tags to set.")
    remove: list[Key] = Field(default_factory=list, description="Tag keys to remove.")


class ModelUpdateBody(TagsBody):
    description: str | None = Field(default=None, max_length=10_000)


class MetricsBody(Body):
    metrics: dict[Key, Metric]


class ArchiveBody(Body):
    restore: bool = False


class PackageBody(Body):
    manifest: str = Field(min_length=1, max_length=10 << 20, description="modelyard.yaml text")
    environment: str | None = Field(default=None, max_length=128)


class PackageStarted(BaseModel):
    digest: str
    missing: list[str] = Field(description="File digests the server lacks: upload these.")


class CommitBody(Body):
    package_digest: str = Field(pattern=DIGEST)
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    metrics: dict[Key, Metric] = Field(default_factory=dict)
    params: dict[Key, TagValue] = Field(default_factory=dict)
    datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    eval_datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    description: str = Field(default="", max_length=10_000)
    source: str | None = Field(default=None, max_length=4000)
    git_commit: str | None = Field(default=None, max_length=64)


class EnsembleBody(Body):
    members: list[Annotated[str, Field(max_length=300)]] = Field(
        min_length=1, max_length=64, description="Member versions, NAME:VERSION each."
    )
    combine: str = Field(default="mean", max_length=16, description="mean, weighted, vote, script")
    weights: list[Metric] | None = Field(default=None, max_length=64)
    script: str | None = Field(default=None, max_length=1 << 20, description="combine.py source")
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    eval_datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    description: str = Field(default="", max_length=10_000)


class CompileBody(Body):
    to: str = Field(default="onnx", max_length=16, description="The format: onnx.")
    dataset: str | None = Field(default=None, max_length=300, description="Rows to verify on.")


class PackageManifest(BaseModel):
    digest: str
    manifest: str = Field(description="The package's modelyard.yaml, byte for byte.")


@dataclass(frozen=True, slots=True)
class ModelDetail:
    """A model and its versions, oldest first."""

    model: Model
    versions: list[ModelVersion]
