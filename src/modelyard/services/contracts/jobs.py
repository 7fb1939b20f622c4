"""Scheduled batch jobs: a deployment scores a file on a schedule into an output, a
dataset version and, optionally, a SQL table; every scored row is collected."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.domain.jobs import BatchJob, JobRun


class Jobs(Protocol):
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
        """A job that scores ``input`` (a CSV, Parquet or JSON file, local to the server or
        ``s3://``) with ``deployment`` into ``output`` (``{run}`` and ``{date}`` filled in
        per run), every ``every`` (``1d``) from ``start`` (default: now), or only when
        asked. ``table`` (``DATABASE:TABLE``, a database the server names) also gets each
        run's rows. Both places must lie under ``MODELYARD_JOB_ROOTS``. ``explain`` (up
        to 50): each row's top factors in the output, as ``predict_file`` writes them."""
        ...

    def list_jobs(self, *, deployment: str | None = None) -> list[BatchJob]:
        """Every job (of one deployment), by name, each with its last run."""
        ...

    def get_job(self, name: str) -> BatchJob:
        """One job, with its last run."""
        ...

    def list_job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        """A job's runs, newest first."""
        ...

    def run_job(self, name: str) -> JobRun:
        """Run the job now and answer its run, succeeded or failed (a failed run opens the
        job's alert; the next successful one resolves it)."""
        ...

    def delete_job(self, name: str) -> BatchJob:
        """The job, its runs and its alert rule; outputs and dataset versions stay."""
        ...
