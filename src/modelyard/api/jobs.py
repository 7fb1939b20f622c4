"""``/api/v1/jobs``: scheduled batch jobs and their runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelyard.api.deps import ScopeDep
from modelyard.api.schemas import errors
from modelyard.domain.jobs import BatchJob, JobRun
from modelyard.wire.jobs import JobBody

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=errors(400, 401, 403, 404, 422))

Name = Annotated[str, Path(min_length=1, max_length=128)]


@router.post("", response_model=BatchJob, status_code=201, responses=errors(409))
def create_job(body: JobBody, api: ScopeDep) -> BatchJob:
    return api.jobs.create_job(
        body.name,
        body.deployment,
        body.input,
        body.output,
        every=body.every,
        start=body.start,
        table=body.table,
        max_error_rate=body.max_error_rate,
        explain=body.explain,
    )


@router.get("", response_model=list[BatchJob])
def list_jobs(
    api: ScopeDep, deployment: Annotated[str | None, Query(max_length=128)] = None
) -> list[BatchJob]:
    return api.jobs.list_jobs(deployment=deployment)


@router.get("/{name}", response_model=BatchJob)
def get_job(name: Name, api: ScopeDep) -> BatchJob:
    return api.jobs.get_job(name)


@router.delete("/{name}", response_model=BatchJob)
def delete_job(name: Name, api: ScopeDep) -> BatchJob:
    return api.jobs.delete_job(name)


@router.get("/{name}/runs", response_model=list[JobRun])
def list_job_runs(
    name: Name, api: ScopeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[JobRun]:
    return api.jobs.list_job_runs(name, limit=limit)


@router.post("/{name}/runs", response_model=JobRun, status_code=201)
def run_job(name: Name, api: ScopeDep) -> JobRun:
    """Runs the job now, in this request: the answer is the finished run (``state``
    ``succeeded`` or ``failed``, with its ``error``)."""
    return api.jobs.run_job(name)
