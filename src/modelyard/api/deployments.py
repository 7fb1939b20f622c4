"""``/api/v1/deployments``: create, update, roll back, list, show, delete, keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep
from modelyard.api.schemas import Strict, errors
from modelyard.domain.deployments import Deployment, Revision

router = APIRouter(
    prefix="/api/v1/deployments", tags=["deployments"], responses=errors(400, 401, 403, 404, 422)
)
Name = Annotated[str, Path(max_length=128)]
ModelSpecs = Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=64)]


class OptionsIn(Strict):
    max_batch_size: int | None = Field(None, ge=1, le=1_000_000)
    max_wait_ms: float | None = Field(None, ge=0, le=1000)
    max_queue: int | None = Field(None, ge=1, le=1_000_000)
    timeout_ms: float | None = Field(None, ge=1, le=3_600_000)
    max_body_bytes: int | None = Field(None, ge=1024, le=2**31)
    unseen_categories: Literal["allow", "reject"] | None = None
    sampling: float | None = Field(None, ge=0, le=1)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class DeploymentIn(Strict):
    name: str = Field(max_length=128)
    models: ModelSpecs = Field(description="NAME:VERSION[=WEIGHT], NAME@ALIAS, ENV/NAME:VERSION")
    shadows: ModelSpecs = Field(default_factory=list, description="shadow NAME:VERSION[=PCT]")
    environment: str | None = Field(None, max_length=128)
    description: str = Field("", max_length=10_000)
    options: OptionsIn | None = None


class DeploymentUpdateIn(Strict):
    models: ModelSpecs | None = Field(None, description="replace the live models")
    shadows: ModelSpecs | None = Field(None, description="replace the shadows ([] removes)")
    options: OptionsIn | None = None


class RollbackIn(Strict):
    to: int | None = Field(None, ge=1, description="revision to re-apply (default: previous)")


class KeysIn(Strict):
    regenerate: Literal["primary", "secondary"]


class VariantOut(BaseModel):
    name: str
    environment: str
    model: str
    version: int
    package_digest: str
    weight: float
    role: str


class RevisionOut(BaseModel):
    number: int
    action: str
    rolled_back_to: int | None
    variants: list[VariantOut]
    options: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def from_entity(cls, r: Revision) -> RevisionOut:
        return cls(
            number=r.number,
            action=r.action,
            rolled_back_to=r.rolled_back_to,
            variants=[VariantOut(**v.to_dict()) for v in r.variants],
            options=r.options.to_dict(),
            created_by=r.created_by,
            created_at=r.created_at,
        )


class KeyOut(BaseModel):
    slot: str
    prefix: str
    created_at: datetime


class DeploymentOut(BaseModel):
    name: str
    environment: str
    description: str
    revision: RevisionOut
    keys: list[KeyOut]
    scoring_url: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    new_keys: dict[str, str] = Field(
        default_factory=dict, description="scoring keys just made: shown this once"
    )

    @classmethod
    def from_entity(cls, d: Deployment) -> DeploymentOut:
        return cls(
            name=d.name,
            environment=d.environment,
            description=d.description,
            revision=RevisionOut.from_entity(d.revision),
            keys=[KeyOut(slot=k.slot, prefix=k.prefix, created_at=k.created_at) for k in d.keys],
            scoring_url=f"/v1/deployments/{d.name}/predict",
            created_by=d.created_by,
            created_at=d.created_at,
            updated_at=d.updated_at,
            new_keys=d.new_keys,
        )


@router.post("", response_model=DeploymentOut, status_code=201, responses=errors(409))
def create(body: DeploymentIn, svc: ServicesDep, who: PrincipalDep) -> DeploymentOut:
    created = svc.deployments.create(
        body.name,
        body.models,
        actor=who,
        environment=body.environment,
        shadows=body.shadows,
        options=body.options.changes() if body.options else None,
        description=body.description,
    )
    return DeploymentOut.from_entity(created)


@router.get("", response_model=list[DeploymentOut])
def list_deployments(
    svc: ServicesDep,
    who: PrincipalDep,
    environment: Annotated[str | None, Query(max_length=128)] = None,
) -> list[DeploymentOut]:
    found = svc.deployments.list_deployments(actor=who, environment=environment)
    return [DeploymentOut.from_entity(d) for d in found]


@router.get("/{name}", response_model=DeploymentOut)
def show(name: Name, svc: ServicesDep, who: PrincipalDep) -> DeploymentOut:
    return DeploymentOut.from_entity(svc.deployments.get(name, actor=who))


@router.patch("/{name}", response_model=DeploymentOut)
def update(
    name: Name, body: DeploymentUpdateIn, svc: ServicesDep, who: PrincipalDep
) -> DeploymentOut:
    updated = svc.deployments.update(
        name,
        body.models,
        actor=who,
        shadows=body.shadows,
        options=body.options.changes() if body.options else None,
    )
    return DeploymentOut.from_entity(updated)


@router.get("/{name}/revisions", response_model=list[RevisionOut])
def revisions(name: Name, svc: ServicesDep, who: PrincipalDep) -> list[RevisionOut]:
    return [RevisionOut.from_entity(r) for r in svc.deployments.revisions(name, actor=who)]


@router.post("/{name}/rollback", response_model=DeploymentOut)
def rollback(name: Name, body: RollbackIn, svc: ServicesDep, who: PrincipalDep) -> DeploymentOut:
    return DeploymentOut.from_entity(svc.deployments.rollback(name, actor=who, to=body.to))


@router.post("/{name}/keys", response_model=DeploymentOut)
def keys(name: Name, body: KeysIn, svc: ServicesDep, who: PrincipalDep) -> DeploymentOut:
    return DeploymentOut.from_entity(
        svc.deployments.regenerate_key(name, body.regenerate, actor=who)
    )


@router.delete("/{name}", response_model=DeploymentOut)
def delete(name: Name, svc: ServicesDep, who: PrincipalDep) -> DeploymentOut:
    return DeploymentOut.from_entity(svc.deployments.delete(name, actor=who))
