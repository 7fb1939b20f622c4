"""Scoring elsewhere: ``/api/v1/serving`` (what ``modelyard serve`` follows, for a
scoring-only credential), a deployment's edge export and the rows a device scored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ScopeDep, services, spooled_answer, spooled_body, streamed
from modelyard.api.limits import UNBOUNDED
from modelyard.api.schemas import BINARY_BODY, errors
from modelyard.services.edge import MAX_COLLECTED_BYTES
from modelyard.wire.deployments import (
    CollectedAccepted,
    KubernetesManifests,
    ServedState,
    ServingChanges,
)
from modelyard.wire.registry import DIGEST, PackageManifest

router = APIRouter(prefix="/api/v1", tags=["edge"], responses=errors(400, 401, 403, 404, 422))
Name = Annotated[str, Path(max_length=128)]
Digest = Annotated[str, Path(pattern=DIGEST, description="sha256:<64 hex digits>")]
_BINARY = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
}


@router.get("/serving/states", response_model=list[ServedState], response_model_exclude_none=True)
def serving_states(
    api: ScopeDep, deployment: Annotated[list[str] | None, Query(max_length=128)] = None
) -> list[ServedState]:
    """The current revision of each deployment the caller may score (``deployment``: only
    those), with the hashes of its scoring keys."""
    return [ServedState.model_validate(s.to_dict()) for s in api.edge.serving_states(deployment)]


@router.get("/serving/changes", response_model=ServingChanges)
def serving_changes(api: ScopeDep) -> ServingChanges:
    """A count that moves whenever what serves changes (any deployment): poll it, and read
    ``/serving/states`` only when it moved."""
    return ServingChanges(changes=api.edge.serving_changes())


@router.get("/serving/packages/{digest}", response_model=PackageManifest)
def serving_manifest(digest: Digest, api: ScopeDep) -> PackageManifest:
    """The manifest of a package that a deployment the caller may score serves."""
    return PackageManifest(digest=digest, manifest=api.edge.serving_manifest(digest))


@router.get(
    "/serving/packages/{digest}/files/{file_digest}",
    response_class=StreamingResponse,
    responses={200: _BINARY},
)
async def write_serving_file(
    request: Request, digest: Digest, file_digest: Digest, api: ScopeDep
) -> StreamingResponse:
    """One file of such a package."""
    home = services(request).settings.resolved_home
    spool, _ = await spooled_answer(home, _written, api, digest, file_digest)
    return streamed(spool, "application/octet-stream", {"Modelyard-Digest": file_digest})


def _written(api: ScopeDep, digest: str, file_digest: str, out: object) -> dict[str, int]:
    return {"size": api.edge.write_serving_file(digest, file_digest, out)}  # type: ignore[arg-type]


@router.get("/deployments/{name}/edge", response_class=StreamingResponse, responses={200: _BINARY})
async def write_edge(
    request: Request, name: Name, api: ScopeDep, key: Annotated[str, Query(max_length=128)]
) -> StreamingResponse:
    """The signed edge export of a deployment, as a tar (``modelyard export --edge``
    unpacks and verifies it)."""
    home = services(request).settings.resolved_home
    spool, info = await spooled_answer(home, api.edge.write_edge, name, key=key)
    headers = {
        "Modelyard-Revision": str(info["revision"]),
        "Modelyard-Key-Id": info["key_id"],
        "Modelyard-Files": str(info["files"]),
    }
    return streamed(spool, "application/x-tar", headers)


@router.get("/deployments/{name}/kubernetes", response_model=KubernetesManifests)
def kubernetes_manifests(
    name: Name,
    api: ScopeDep,
    image: Annotated[str | None, Query(max_length=255)] = None,
    server: Annotated[str | None, Query(max_length=2048)] = None,
) -> KubernetesManifests:
    """The Kubernetes objects that run the deployment's scoring (``modelyard k8s render``):
    Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, a kustomization and
    a KServe InferenceService, as YAML files by name."""
    return KubernetesManifests.model_validate(
        api.edge.kubernetes_manifests(name, image=image, server=server)
    )


@router.post(
    "/deployments/{name}/collected",
    response_model=CollectedAccepted,
    openapi_extra=BINARY_BODY,
    max_body_size=UNBOUNDED,  # spooled, up to MAX_COLLECTED_BYTES
    responses=errors(413),
)
async def upload_collected(request: Request, name: Name, api: ScopeDep) -> CollectedAccepted:
    """A Parquet file of rows a device scored (``modelyard edge sync``); sending the same
    file again stores nothing (``accepted``: 0)."""
    svc = services(request)
    async with spooled_body(request, svc, MAX_COLLECTED_BYTES) as spool:
        data = spool.read()
    accepted = await run_in_threadpool(api.edge.upload_collected, name, data)
    return CollectedAccepted(accepted=accepted)
