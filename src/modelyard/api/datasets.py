"""``/api/v1/datasets``: register (upload), list, show, versions, download."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ScopeDep, services, spooled_body
from modelyard.api.limits import UNBOUNDED
from modelyard.api.models import Env
from modelyard.api.schemas import BINARY_BODY, errors
from modelyard.artifacts.digests import CHUNK
from modelyard.domain.datasets import DatasetVersion
from modelyard.domain.names import NAME_PATTERN
from modelyard.wire.datasets import SnapshotBody

router = APIRouter(
    prefix="/api/v1/datasets", tags=["datasets"], responses=errors(400, 401, 403, 404, 422)
)
Name = Annotated[str, Path(pattern=NAME_PATTERN, description="Dataset name.")]
Ver = Annotated[str, Path(pattern=r"^([1-9][0-9]{0,8}|latest)$", description="A number or latest.")]


def _ref(environment: str, name: str, version: str) -> str:
    return f"{environment}/{name}" + ("" if version == "latest" else f":{version}")


@router.get("", response_model=list[DatasetVersion])
def list_datasets(
    api: ScopeDep, environment: Annotated[str | None, Query(max_length=128)] = None
) -> list[DatasetVersion]:
    """The latest version of every dataset you may read."""
    return api.datasets.list_datasets(environment=environment)


@router.post(
    "/{environment}/{name}/versions",
    response_model=DatasetVersion,
    status_code=201,
    openapi_extra=BINARY_BODY,
    max_body_size=UNBOUNDED,  # spooled to disk, up to MODELYARD_MAX_UPLOAD_BYTES
)
async def register_dataset(
    environment: Env,
    name: Name,
    request: Request,
    api: ScopeDep,
    format: Annotated[Literal["csv", "parquet"], Query()],
    description: Annotated[str, Query(max_length=10_000)] = "",
    source: Annotated[str | None, Query(max_length=2000)] = None,
) -> DatasetVersion:
    """Register the body (a CSV or Parquet file) as the next version of a dataset."""
    svc = services(request)
    async with spooled_body(request, svc, svc.settings.max_upload_bytes) as spool:
        return await run_in_threadpool(
            api.datasets.register_stream,
            f"{environment}/{name}",
            spool,
            format=format,
            description=description,
            source_uri=source,
        )


@router.post("/snapshots", response_model=DatasetVersion, status_code=201)
async def snapshot_dataset(body: SnapshotBody, api: ScopeDep) -> DatasetVersion:
    """Register a deployment's collected live inputs (with ``actual`` labels from feedback
    when asked), or a copy of a dataset version, as the next version of dataset ``name``
    (in ``environment``, default the source's), with columns dropped or masked."""
    return await run_in_threadpool(
        api.monitoring.snapshot_dataset,
        body.name,
        deployment=body.deployment,
        dataset=body.dataset,
        since=body.since,
        until=body.until,
        with_feedback=body.with_feedback,
        environment=body.environment,
        description=body.description,
        drop=body.drop,
        mask=body.mask,
    )


@router.get("/{environment}/{name}/versions", response_model=list[DatasetVersion])
def list_dataset_versions(environment: Env, name: Name, api: ScopeDep) -> list[DatasetVersion]:
    return api.datasets.list_dataset_versions(f"{environment}/{name}")


@router.get("/{environment}/{name}/versions/{version}", response_model=DatasetVersion)
def get_dataset(environment: Env, name: Name, version: Ver, api: ScopeDep) -> DatasetVersion:
    return api.datasets.get_dataset(_ref(environment, name, version))


@router.get(
    "/{environment}/{name}/versions/{version}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def content(environment: Env, name: Name, version: Ver, api: ScopeDep) -> StreamingResponse:
    """The stored file, byte for byte (verified against its digest as it is read)."""
    found, reader = api.datasets.open(_ref(environment, name, version))

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            "Modelyard-Digest": found.digest,
            "Modelyard-Format": found.format,
            "Modelyard-Dataset": found.ref,
        },
    )
