"""Scheduled batch jobs and their runs: ``Jobs`` reads and writes them inside one
transaction and answers with entities, never rows.

Several server workers run the scheduler: ``claim`` moves a job's ``next_run_at`` with an
UPDATE guarded by the time it was read, so exactly one worker takes each run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from modelyard.domain.jobs import BatchJob, JobRun
from modelyard.store.tables import BatchJobRow, BatchJobRunRow, DeploymentRow, core

_JOBS = core(BatchJobRow)
_RUNS = core(BatchJobRunRow)
_JOBS_OF = sa.select(BatchJobRow, DeploymentRow).join(
    DeploymentRow, DeploymentRow.id == BatchJobRow.deployment_id
)


@dataclass(frozen=True, slots=True)
class DueJob:
    """A job's run whose time has come: claim it with the ``planned`` time read."""

    job_id: int
    planned: datetime


def _run(row: BatchJobRunRow, job: str) -> JobRun:
    return JobRun(
        id=row.id,
        job=job,
        number=row.number,
        trigger=row.trigger,
        state=row.state,
        started_at=row.started_at,
        finished_at=row.finished_at,
        output=row.output_uri,
        rows=row.rows,
        scored=row.scored,
        rejected=row.rejected,
        dataset=row.dataset,
        table_rows=row.table_rows,
        error=row.error,
    )


class Jobs:
    """Batch jobs of deployments and their runs, in one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _job(self, row: BatchJobRow, dep: DeploymentRow) -> BatchJob:
        last = self.session.scalars(
            sa.select(BatchJobRunRow)
            .where(BatchJobRunRow.job_id == row.id)
            .order_by(BatchJobRunRow.number.desc())
            .limit(1)
        ).first()
        return BatchJob(
            id=row.id,
            name=row.name,
            deployment=dep.name,
            environment=dep.environment,
            input=row.input_uri,
            output=row.output_uri,
            table=row.table_name,
            max_error_rate=row.max_error_rate,
            explain=row.explain,
            every_seconds=row.every_seconds,
            next_run_at=row.next_run_at,
            created_by=row.created_by,
            created_at=row.created_at,
            last_run=None if last is None else _run(last, row.name),
        )

    def add(self, **values: Any) -> BatchJob:
        """A new job (``values``: its columns)."""
        job_id = self.session.execute(
            sa.insert(_JOBS).values(**values).returning(_JOBS.c.id)
        ).scalar_one()
        found = self.get(job_id)
        assert found is not None
        return found

    def get(self, job_id: int) -> BatchJob | None:
        found = self.session.execute(_JOBS_OF.where(BatchJobRow.id == job_id)).one_or_none()
        return None if found is None else self._job(*found)

    def find(self, name: str) -> BatchJob | None:
        found = self.session.execute(_JOBS_OF.where(BatchJobRow.name == name)).one_or_none()
        return None if found is None else self._job(*found)

    def all(self, deployment_id: int | None = None) -> list[BatchJob]:
        """Jobs of one deployment (``None``: of all), by name."""
        q = _JOBS_OF
        if deployment_id is not None:
            q = q.where(BatchJobRow.deployment_id == deployment_id)
        return [self._job(j, d) for j, d in self.session.execute(q.order_by(BatchJobRow.name))]

    def delete(self, job_id: int) -> None:
        """The job and its runs (they cascade)."""
        self.session.execute(sa.delete(_JOBS).where(_JOBS.c.id == job_id))

    # -- scheduling -----------------------------------------------------------------------
    def due(self, now: datetime) -> list[DueJob]:
        """Runs planned at or before ``now``."""
        rows = self.session.execute(
            sa.select(_JOBS.c.id, _JOBS.c.next_run_at).where(_JOBS.c.next_run_at <= now)
        )
        return [DueJob(job_id, planned) for job_id, planned in rows]

    def claim(self, run: DueJob, now: datetime) -> bool:
        """Take a due run: move the job's next run to its first planned time after ``now``
        (runs missed while no server ran are not made up), only if no one moved it since
        ``run`` was read. False: another worker took it (or the job is gone)."""
        every = self.session.scalar(
            sa.select(_JOBS.c.every_seconds).where(_JOBS.c.id == run.job_id)
        )
        if not every:
            return False
        periods = max(1, math.floor((now - run.planned).total_seconds() / every) + 1)
        claimed = self.session.execute(
            sa.update(_JOBS)
            .where(_JOBS.c.id == run.job_id, _JOBS.c.next_run_at == run.planned)
            .values(next_run_at=run.planned + timedelta(seconds=every * periods))
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, job: BatchJob, trigger: str, now: datetime) -> JobRun:
        """A new run, ``running``, numbered after the job's last."""
        number = 1 + (
            self.session.scalar(
                sa.select(sa.func.max(_RUNS.c.number)).where(_RUNS.c.job_id == job.id)
            )
            or 0
        )
        run_id = self.session.execute(
            sa.insert(_RUNS)
            .values(
                job_id=job.id,
                number=number,
                trigger=trigger,
                state="running",
                started_at=now,
                rows=0,
                scored=0,
                rejected=0,
            )
            .returning(_RUNS.c.id)
        ).scalar_one()
        return self.run(job.name, run_id)

    def finish_run(self, run_id: int, **values: Any) -> None:
        """Record how a run ended (``values``: state, finished_at, counts, error, …)."""
        self.session.execute(sa.update(_RUNS).where(_RUNS.c.id == run_id).values(**values))

    def run(self, job: str, run_id: int) -> JobRun:
        row = self.session.get(BatchJobRunRow, run_id)
        assert row is not None
        return _run(row, job)

    def runs(self, job: BatchJob, limit: int = 20) -> list[JobRun]:
        """A job's runs, newest first."""
        rows = self.session.scalars(
            sa.select(BatchJobRunRow)
            .where(BatchJobRunRow.job_id == job.id)
            .order_by(BatchJobRunRow.number.desc())
            .limit(limit)
        )
        return [_run(r, job.name) for r in rows]
