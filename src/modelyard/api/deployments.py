"""``/api/v1/deployments``: create, update, roll back, list, show, delete, keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.deployments import (
    MAX_WAIT_SECONDS,
    BatchTarget,
    Deployment,
    Revision,
    Rollout,
)
from modelyard.wire.deployments import (
    DeploymentBody,
    DeploymentUpdateBody,
    KeysBody,
    RollbackBody,
)

router = APIRouter(
    prefix="/api/v1/deployments", tags=["deployments"], responses=errors(400, 401, 403, 404, 422)
)
Name = Annotated[str, Path(max_length=128)]


@router.post("", response_model=Deployment, status_code=201, responses=errors(409))
def create_deployment(body: DeploymentBody, api: ScopeDep) -> Deployment:
    """The answer's ``new_keys`` hold both scoring keys: shown this once."""
    return api.deployments.create_deployment(
        body.name,
        body.models,
        environment=body.environment,
        shadows=body.shadows,
        options=body.options.changes() if body.options else None,
        description=body.description,
    )


@router.get("", response_model=list[Deployment])
def list_deployments(
    api: ScopeDep, environment: Annotated[str | None, Query(max_length=128)] = None
) -> list[Deployment]:
    return api.deployments.list_deployments(environment=environment)


@router.get("/{name}", response_model=Deployment)
def get_deployment(name: Name, api: ScopeDep) -> Deployment:
    return api.deployments.get_deployment(name)


@router.patch("/{name}", response_model=Deployment)
def update_deployment(name: Name, body: DeploymentUpdateBody, api: ScopeDep) -> Deployment:
    return api.deployments.update_deployment(
        name,
        body.models,
        shadows=body.shadows,
        options=body.options.changes() if body.options else None,
    )


@router.post("/{name}/wait", response_model=Rollout, responses=errors(503))
def wait_deployment(
    name: Name,
    api: ScopeDep,
    revision: Annotated[int | None, Query(ge=1)] = None,
    timeout: Annotated[float, Query(gt=0, le=MAX_WAIT_SECONDS)] = 60.0,
) -> Rollout:
    """Answers once every live server worker serves the revision; 503 ``not_ready`` when
    it failed to load in one, or after ``timeout`` seconds."""
    return api.deployments.wait_deployment(name, revision=revision, timeout=timeout)


@router.get("/{name}/revisions", response_model=list[Revision])
def list_revisions(name: Name, api: ScopeDep) -> list[Revision]:
    return api.deployments.list_revisions(name)


@router.post("/{name}/rollback", response_model=Deployment)
def rollback_deployment(name: Name, body: RollbackBody, api: ScopeDep) -> Deployment:
    return api.deployments.rollback_deployment(name, to=body.to)


@router.post("/{name}/keys", response_model=Deployment)
def regenerate_key(name: Name, body: KeysBody, api: ScopeDep) -> Deployment:
    """The answer's ``new_keys`` holds the new key: shown this once."""
    return api.deployments.regenerate_key(name, body.regenerate)


@router.get("/{name}/batch-target", response_model=BatchTarget)
def batch_target(
    name: Name, api: ScopeDep, variant: Annotated[str | None, Query(max_length=300)] = None
) -> BatchTarget:
    """The variant a batch job scores a file with (default: the heaviest live one)."""
    return api.deployments.batch_target(name, variant=variant)


@router.delete("/{name}", response_model=Deployment)
def delete_deployment(name: Name, api: ScopeDep) -> Deployment:
    return api.deployments.delete_deployment(name)
