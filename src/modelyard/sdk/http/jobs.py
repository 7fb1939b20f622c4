"""Scheduled batch jobs over HTTP."""

from __future__ import annotations

from datetime import datetime

from modelyard.domain.jobs import BatchJob, JobRun
from modelyard.sdk.http.transport import Http


class HttpJobs:
    def __init__(self, http: Http) -> None:
        self.http = http

    def create_job(
        self,
        name: str,
        deployment: str,
        input: str,
        output: str,
        *,
        every: str | int | None = None,
        start: str | datetime | None = None,
        table: str | None = None,
        max_error_rate: float = 0.0,
        explain: int = 0,
    ) -> BatchJob:
        body: dict[str, object] = {
            "name": name,
            "deployment": deployment,
            "input": input,
            "output": output,
            "every": every,
            "start": start.isoformat() if isinstance(start, datetime) else start,
            "table": table,
            "max_error_rate": max_error_rate,
            "explain": explain,
        }
        return self.http.post("/api/v1/jobs", BatchJob, body)

    def list_jobs(self, *, deployment: str | None = None) -> list[BatchJob]:
        return self.http.get("/api/v1/jobs", list[BatchJob], deployment=deployment)

    def get_job(self, name: str) -> BatchJob:
        return self.http.get(f"/api/v1/jobs/{name}", BatchJob)

    def list_job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        return self.http.get(f"/api/v1/jobs/{name}/runs", list[JobRun], limit=limit)

    def run_job(self, name: str) -> JobRun:
        # the run happens in the request: as long as the job takes, not a call's minute
        return self.http.call("POST", f"/api/v1/jobs/{name}/runs", JobRun, timeout=None)

    def delete_job(self, name: str) -> BatchJob:
        return self.http.delete(f"/api/v1/jobs/{name}", BatchJob)
