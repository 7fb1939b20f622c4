"""Request bodies of the deployment routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from modelyard.wire.registry import Body

ModelSpecs = Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=64)]


class OptionsBody(Body):
    max_batch_size: int | None = Field(None, ge=1, le=1_000_000)
    max_wait_ms: float | None = Field(None, ge=0, le=1000)
    max_queue: int | None = Field(None, ge=1, le=1_000_000)
    timeout_ms: float | None = Field(None, ge=1, le=3_600_000)
    max_body_bytes: int | None = Field(None, ge=1024, le=2**31)
    unseen_categories: Literal["allow", "reject"] | None = None
    non_finite: Literal["allow", "reject"] | None = None
    sampling: float | None = Field(None, ge=0, le=1)
    cpu: float | None = Field(None, ge=0.05, le=256, description="cores per replica")
    memory_mb: int | None = Field(None, ge=64, le=4_194_304, description="MiB per replica")
    min_replicas: int | None = Field(None, ge=1, le=1000)
    max_replicas: int | None = Field(None, ge=1, le=1000)
    maturity_days: float | None = Field(
        None, ge=0, le=3650, description="outcomes count this many days after scoring"
    )
    maturity_column: str | None = Field(
        None, max_length=128, description="...or after the date in this input or key column"
    )
    amount_column: str | None = Field(
        None, max_length=128, description="an input or key column holding each row's amount"
    )
    keys: list[str] | None = Field(
        None,
        max_length=16,
        description="key columns: echoed in answers, kept with collected rows, never "
        "given to the model",
    )

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class DeploymentBody(Body):
    name: str = Field(max_length=128)
    models: ModelSpecs = Field(description="NAME:VERSION[=WEIGHT], NAME@ALIAS, ENV/NAME:VERSION")
    shadows: ModelSpecs = Field(default_factory=list, description="shadow NAME:VERSION[=PCT]")
    environment: str | None = Field(None, max_length=128)
    description: str = Field("", max_length=10_000)
    options: OptionsBody | None = None


class DeploymentUpdateBody(Body):
    models: ModelSpecs | None = Field(None, description="replace the live models")
    shadows: ModelSpecs | None = Field(None, description="replace the shadows ([] removes)")
    options: OptionsBody | None = None


class RollbackBody(Body):
    to: int | None = Field(None, ge=1, description="revision to re-apply (default: previous)")


class KeysBody(Body):
    regenerate: Literal["primary", "secondary"]


class KubernetesManifests(Body):
    deployment: str
    revision: int = Field(description="the revision the manifests were rendered from")
    files: dict[str, str] = Field(description="file name -> YAML, for kubectl apply -k")


class ServingChanges(Body):
    changes: int = Field(
        description="how many times what serves has changed; while equal, so are the states"
    )


class CollectedAccepted(Body):
    accepted: int = Field(description="rows stored; 0: this file was stored before")


class ServedVariant(Body):
    name: str
    environment: str
    model: str
    version: int
    package_digest: str
    weight: float
    role: str
    explain_reference: dict[str, float | str | None] | None = Field(
        None, description="the row top factors start from (absent without a baseline)"
    )


class ServedState(Body):
    """A deployment's current revision, as a scoring service follows it."""

    name: str
    environment: str
    revision: int
    key_hashes: list[str] = Field(description="sha256 of the two scoring keys (never a key)")
    variants: list[ServedVariant]
    options: dict[str, int | float | str | list[str]]
