"""Scheduled batch jobs: a deployment scores a file (local or object store) on a schedule
into an output file, a dataset version and, optionally, a SQL table. Plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The signal of the alert rule each job owns: it fires when a run fails.
JOB_FAILED = "job_failed"


def job_rule_name(job: str) -> str:
    """The alert rule a job's failures open alerts under (no rule a user makes has ':')."""
    return f"job:{job}"


def job_dataset(job: str) -> str:
    """The dataset each run's output becomes a version of."""
    return f"{job}-output"


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    job: str
    number: int  # 1, 2, … per job
    trigger: str  # schedule | manual
    state: str  # running | succeeded | failed
    started_at: datetime
    finished_at: datetime | None
    output: str | None  # the URI written (placeholders filled in)
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    dataset: str | None = None  # ENV/NAME:VERSION of the output
    table_rows: int | None = None  # rows appended to the SQL table
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BatchJob:
    id: int
    name: str
    deployment: str
    environment: str
    input: str
    output: str  # {run} and {date} are filled in per run
    every_seconds: int | None  # None: run only when asked
    next_run_at: datetime | None
    max_error_rate: float
    created_by: str
    created_at: datetime
    table: str | None = None  # DATABASE:TABLE (a database named in MODELYARD_JOB_DATABASES)
    explain: int = 0  # each row's top factors in the output
    last_run: JobRun | None = None
