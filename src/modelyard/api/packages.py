"""Package upload and download: how a remote client registers and loads models.

Upload: ``POST /api/v1/packages`` with the manifest (the server records it as pending
and answers which files it lacks) → ``PUT /api/v1/packages/{digest}/files/{sha}`` for
each, streamed and checked against its digest → ``POST /api/v1/models/{env}/{name}/versions``
makes the version visible. An upload that stops half-way leaves a pending package that
``doctor --gc`` removes; nothing becomes visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep, spooled_body
from modelyard.api.models import Env, Name, Ver, _ref
from modelyard.api.schemas import BINARY_BODY, Key, Strict, TagValue, VersionOut, errors
from modelyard.artifacts.store import CHUNK

router = APIRouter(prefix="/api/v1", tags=["packages"], responses=errors(400, 401, 403, 404, 422))

DIGEST = r"^sha256:[0-9a-f]{64}$"
Digest = Annotated[str, Path(pattern=DIGEST, description="sha256:<64 hex digits>")]


class PackageIn(Strict):
    manifest: str = Field(min_length=1, max_length=10 << 20, description="modelyard.yaml text")
    environment: str | None = Field(default=None, max_length=128)


class PackageOut(Strict):
    digest: str
    missing: list[str] = Field(description="File digests the server lacks: upload these.")


class CommitIn(Strict):
    package_digest: str = Field(pattern=DIGEST)
    tags: dict[Key, TagValue] = Field(default_factory=dict)
    metrics: dict[Key, Annotated[float, Field(allow_inf_nan=False)]] = Field(default_factory=dict)
    params: dict[Key, TagValue] = Field(default_factory=dict)
    datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    eval_datasets: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)
    description: str = Field(default="", max_length=10_000)
    source: str | None = Field(default=None, max_length=4000)
    git_commit: str | None = Field(default=None, max_length=64)


@router.post("/packages", response_model=PackageOut, status_code=201)
def begin(body: PackageIn, svc: ServicesDep, who: PrincipalDep) -> PackageOut:
    digest, missing = svc.registry.begin_upload(
        body.manifest, actor=who, environment=body.environment
    )
    return PackageOut(digest=digest, missing=missing)


@router.put(
    "/packages/{digest}/files/{file_digest}",
    status_code=204,
    response_class=Response,
    openapi_extra=BINARY_BODY,
)
async def upload(
    digest: Digest, file_digest: Digest, request: Request, svc: ServicesDep, who: PrincipalDep
) -> Response:
    # spooled: memory stays bounded whatever the size; the service hashes as it stores
    async with spooled_body(request, svc) as spool:
        await run_in_threadpool(
            svc.registry.upload_file,
            digest,
            file_digest,
            spool,
            actor=who,
        )
    return Response(status_code=204)


@router.post(
    "/models/{env}/{name}/versions",
    response_model=VersionOut,
    status_code=201,
    responses=errors(409),
)
def commit(env: Env, name: Name, body: CommitIn, svc: ServicesDep, who: PrincipalDep) -> VersionOut:
    version = svc.registry.commit_upload(
        name,
        body.package_digest,
        actor=who,
        environment=env,
        tags=body.tags,
        metrics=body.metrics,
        params=body.params,
        datasets=body.datasets,
        eval_datasets=body.eval_datasets,
        description=body.description,
        source_uri=body.source,
        git_commit=body.git_commit,
    )
    return VersionOut.from_entity(version)


class ManifestOut(BaseModel):
    digest: str
    manifest: str = Field(description="The package's modelyard.yaml, byte for byte.")


@router.get("/models/{env}/{name}/versions/{version}/manifest", response_model=ManifestOut)
def manifest(
    env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep
) -> ManifestOut:
    found, text = svc.registry.version_manifest(_ref(env, name, version), actor=who)
    return ManifestOut(digest=found.package_digest, manifest=text)


@router.get(
    "/models/{env}/{name}/versions/{version}/files/{file_digest}",
    response_model=None,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
def download(
    env: Env, name: Name, version: Ver, file_digest: Digest, svc: ServicesDep, who: PrincipalDep
) -> StreamingResponse:
    reader = svc.registry.open_file(_ref(env, name, version), file_digest, actor=who)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(), media_type="application/octet-stream", headers={"Modelyard-Digest": file_digest}
    )
