"""``/api/v1/datasets``: register (upload), list, show, versions, download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from modelyard.api.deps import PrincipalDep, ServicesDep, spooled_body
from modelyard.api.models import Env
from modelyard.api.schemas import BINARY_BODY, Strict, errors
from modelyard.artifacts.store import CHUNK
from modelyard.domain.datasets import DatasetVersion
from modelyard.domain.names import NAME_PATTERN

router = APIRouter(
    prefix="/api/v1/datasets", tags=["datasets"], responses=errors(400, 401, 403, 404, 422)
)
Name = Annotated[str, Path(pattern=NAME_PATTERN, description="Dataset name.")]
Ver = Annotated[str, Path(pattern=r"^([1-9][0-9]{0,8}|latest)$", description="A number or latest.")]


class ColumnOut(BaseModel):
    name: str
    type: str


class DatasetOut(BaseModel):
    environment: str
    name: str
    version: int
    ref: str
    digest: str
    format: str
    size_bytes: int
    rows: int
    columns: list[ColumnOut]
    profile: dict[str, Any]
    source: str
    description: str
    created_by: str
    created_at: datetime
    used_by: list[str]

    @classmethod
    def of(cls, d: DatasetVersion) -> DatasetOut:
        return cls.model_validate(d.to_dict())


def _ref(env: str, name: str, version: str) -> str:
    return f"{env}/{name}" + ("" if version == "latest" else f":{version}")


@router.get("", response_model=list[DatasetOut])
def list_datasets(
    svc: ServicesDep, who: PrincipalDep, env: Annotated[str | None, Query(max_length=128)] = None
) -> list[DatasetOut]:
    """The latest version of every dataset you may read."""
    return [DatasetOut.of(d) for d in svc.datasets.list_datasets(actor=who, environment=env)]


@router.post(
    "/{env}/{name}/versions",
    response_model=DatasetOut,
    status_code=201,
    openapi_extra=BINARY_BODY,
)
async def register(
    env: Env,
    name: Name,
    request: Request,
    svc: ServicesDep,
    who: PrincipalDep,
    format: Annotated[Literal["csv", "parquet"], Query()],
    description: Annotated[str, Query(max_length=10_000)] = "",
    source: Annotated[str | None, Query(max_length=2000)] = None,
) -> DatasetOut:
    """Register the body (a CSV or Parquet file) as the next version of a dataset."""
    async with spooled_body(request, svc) as spool:
        found = await run_in_threadpool(
            svc.datasets.register_stream,
            f"{env}/{name}",
            spool,
            actor=who,
            format=format,
            description=description,
            source_uri=source,
        )
    return DatasetOut.of(found)


Columns = Annotated[list[Annotated[str, Field(max_length=250)]], Field(max_length=1000)]


class SnapshotIn(Strict):
    deployment: str | None = Field(None, max_length=128, description="copy collected rows")
    dataset: str | None = Field(None, max_length=300, description="or copy a dataset version")
    since: str | None = Field(None, max_length=64, description="ISO time or 1h, 7d...")
    until: str | None = Field(None, max_length=64)
    with_feedback: bool = False
    drop: Columns = Field(default_factory=list, description="columns left out")
    mask: Columns = Field(default_factory=list, description="columns replaced by keyed hashes")
    description: str = Field("", max_length=10_000)


@router.post("/{env}/{name}/snapshot", response_model=DatasetOut, status_code=201)
async def snapshot(
    env: Env, name: Name, body: SnapshotIn, svc: ServicesDep, who: PrincipalDep
) -> DatasetOut:
    """Register a deployment's collected live inputs (with ``actual`` labels from feedback
    when asked), or a copy of a dataset version, as the next version of a dataset in
    ``env``, with columns dropped or masked."""
    found = await run_in_threadpool(
        svc.monitoring.snapshot,
        name,
        deployment=body.deployment,
        dataset=body.dataset,
        actor=who,
        since=body.since,
        until=body.until,
        with_feedback=body.with_feedback,
        environment=env,
        description=body.description,
        drop=body.drop,
        mask=body.mask,
    )
    return DatasetOut.of(found)


@router.get("/{env}/{name}/versions", response_model=list[DatasetOut])
def versions(env: Env, name: Name, svc: ServicesDep, who: PrincipalDep) -> list[DatasetOut]:
    return [DatasetOut.of(d) for d in svc.datasets.versions(f"{env}/{name}", actor=who)]


@router.get("/{env}/{name}/versions/{version}", response_model=DatasetOut)
def show(env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep) -> DatasetOut:
    return DatasetOut.of(svc.datasets.get(_ref(env, name, version), actor=who))


@router.get(
    "/{env}/{name}/versions/{version}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def content(
    env: Env, name: Name, version: Ver, svc: ServicesDep, who: PrincipalDep
) -> StreamingResponse:
    """The stored file, byte for byte (verified against its digest as it is read)."""
    found, reader = svc.datasets.open(_ref(env, name, version), actor=who)

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
