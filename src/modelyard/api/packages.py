"""Package upload and download: how a remote client registers and loads models.

A package of up to 8 MiB travels in one request, ``POST /api/v1/models/{environment}/
{name}/upload`` (a tar of the metadata, the manifest and the files). A larger one:
``POST /api/v1/packages`` with the manifest (the server records it as pending
and answers which files it lacks) → ``PUT /api/v1/packages/{digest}/files/{sha}`` for
each, streamed and checked against its digest → ``POST /api/v1/models/{environment}/
{name}/versions`` makes the version visible. An upload that stops half-way leaves a
pending package that ``doctor --gc`` removes; nothing becomes visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.api.deps import BodyStream, ScopeDep
from modelyard.api.limits import UNBOUNDED
from modelyard.api.models import MODEL, VERSION, Env, Name, Ver, ref
from modelyard.api.schemas import BINARY_BODY, errors
from modelyard.artifacts.digests import CHUNK
from modelyard.domain.entities import ModelVersion
from modelyard.domain.errors import ModelyardError, PayloadTooLarge
from modelyard.services.metadata import draft
from modelyard.wire import archive
from modelyard.wire.registry import DIGEST, CommitBody, PackageBody, PackageManifest, PackageStarted

router = APIRouter(prefix="/api/v1", tags=["packages"], responses=errors(400, 401, 403, 404, 422))

Digest = Annotated[str, Path(pattern=DIGEST, description="sha256:<64 hex digits>")]


@router.post("/packages", response_model=PackageStarted, status_code=201)
def begin(body: PackageBody, api: ScopeDep) -> PackageStarted:
    digest, missing = api.versions.begin_upload(body.manifest, environment=body.environment)
    return PackageStarted(digest=digest, missing=missing)


@router.put(
    "/packages/{digest}/files/{file_digest}",
    max_body_size=UNBOUNDED,  # streamed to the store: at most the size its manifest says
    status_code=204,
    response_class=Response,
    openapi_extra=BINARY_BODY,
)
async def upload(digest: Digest, file_digest: Digest, request: Request, api: ScopeDep) -> Response:
    # streamed: memory stays bounded whatever the size, and the service hashes and stores
    # the bytes as they arrive (written to disk once)
    body = BodyStream(request)
    try:
        await run_in_threadpool(api.versions.upload_file, digest, file_digest, body.reader())
    except ModelyardError:
        await body.drain()
        raise
    return Response(status_code=204)


ARCHIVE_BODY = archive.MAX_BYTES + (1 << 20)  # the package and its metadata


@router.post(
    MODEL + "/upload",
    response_model=ModelVersion,
    status_code=201,
    responses=errors(409, 413),
    max_body_size=ARCHIVE_BODY,
    openapi_extra={
        "requestBody": {
            "content": {archive.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def register_archive(
    environment: Env, name: Name, request: Request, api: ScopeDep
) -> ModelVersion:
    """A small package (up to 8 MiB) and its metadata in one request: a tar of
    ``metadata.json``, ``modelyard.yaml`` and ``files/sha256-<hex>`` (``wire.archive``)."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > ARCHIVE_BODY:
        raise PayloadTooLarge(
            f"a one-request package is at most {archive.MAX_BYTES} bytes, with a Content-Length"
        )
    body = await request.body()
    return await run_in_threadpool(api.versions.add_archive, name, body, environment=environment)


@router.post(
    MODEL + "/versions", response_model=ModelVersion, status_code=201, responses=errors(409)
)
def commit(environment: Env, name: Name, body: CommitBody, api: ScopeDep) -> ModelVersion:
    found = draft(
        tags=body.tags,
        metrics=body.metrics,
        params=body.params,
        datasets=body.datasets,
        eval_datasets=body.eval_datasets,
        description=body.description,
        source=body.source,
        git_commit=body.git_commit,
    )
    return api.versions.commit_upload(name, body.package_digest, found, environment=environment)


@router.get(VERSION + "/manifest", response_model=PackageManifest)
def manifest(environment: Env, name: Name, version: Ver, api: ScopeDep) -> PackageManifest:
    found, text = api.registry.version_manifest(ref(environment, name, version))
    return PackageManifest(digest=found.package_digest, manifest=text)


@router.get(
    VERSION + "/files/{file_digest}",
    response_model=None,
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
def download(
    environment: Env, name: Name, version: Ver, file_digest: Digest, api: ScopeDep
) -> StreamingResponse:
    reader = api.registry.open_file(ref(environment, name, version), file_digest)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(), media_type="application/octet-stream", headers={"Modelyard-Digest": file_digest}
    )
