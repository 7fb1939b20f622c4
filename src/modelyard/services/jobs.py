"""Scheduled batch jobs: ``create_job`` names a deployment, an input, an output and a
period; the server's scheduler runs each job once per due time (``run_due``), and anyone
who may deploy runs one now (``run_job``). What a run does is ``services.job_runs``.

Each job owns an alert rule (``job:NAME``, signal ``job_failed``) that no scheduler
evaluates: a failed run opens an alert under it (audited ``alert.fired``, so webhooks
hear of it), the next successful run resolves it.

Several server workers run the scheduler: a job is claimed by moving its ``next_run_at``
with a guarded UPDATE (as alert rules are), so exactly one worker runs each due time.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from modelyard.domain.auth import Permission, Principal
from modelyard.domain.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.domain.jobs import JOB_FAILED, BatchJob, JobRun, job_rule_name
from modelyard.domain.monitoring import parse_duration, parse_moment
from modelyard.domain.names import check_name
from modelyard.runtimes.explain import explain_count
from modelyard.services.alerts import change_alert
from modelyard.services.auth import require
from modelyard.services.deployments import DeploymentService, deployment_id
from modelyard.services.job_runs import JobFailed, Places, execute
from modelyard.store.unit import Store, Tx
from modelyard.wire.codec import Codec

if TYPE_CHECKING:
    from modelyard.services.scope import Scope

log = logging.getLogger("modelyard.jobs")
MIN_EVERY = timedelta(minutes=1)
#: When a job's own alert rule is due: never (runs fire and resolve its alerts).
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


class JobService:
    def __init__(
        self,
        store: Store,
        deployments: DeploymentService,
        places: Places,
        runner: Scope,
        principal: Principal,
    ) -> None:
        self.store = store
        self.deployments = deployments
        self.places = places
        self.runner = runner  # the scheduler's scope: runs register the output
        self.principal = principal

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
        """A job scoring ``input`` with ``deployment`` into ``output`` (``{run}`` and
        ``{date}`` are filled in per run) every ``every`` from ``start`` (default: now),
        or only when asked; ``table`` (``DATABASE:TABLE``) also gets each run's rows;
        ``explain``: each row's top factors in the output."""
        found = self.deployments.get_deployment(deployment)
        require(self.principal, Permission.DEPLOY, found.environment)
        check_name(name, "job name")
        if len(name) > 100:
            raise InvalidInput("a job name has at most 100 characters")
        source = self.places.check_uri(input, "input")
        target = self.places.check_uri(output, "output")
        if source == target:
            raise InvalidInput("the job's output must differ from its input")
        if table is not None:
            self.places.check_table(table)
        top = explain_count(explain)
        rate = float(max_error_rate)
        if not (math.isfinite(rate) and 0 <= rate <= 1):
            raise InvalidInput("the error threshold must be between 0 and 1")
        period = None if every is None else parse_duration(every, "schedule")
        if period is not None and period < MIN_EVERY:
            raise InvalidInput("a job runs at most every minute")
        now = datetime.now(UTC)
        first = parse_moment(start, now, "--start") or now
        if start is not None and period is None:
            raise InvalidInput("--start needs --every")
        with self.store.write() as tx:
            dep = deployment_id(tx, deployment)
            if tx.jobs.find(name) is not None:
                raise AlreadyExists(f"job {name!r} already exists")
            job = tx.jobs.add(
                name=name,
                deployment_id=dep,
                input_uri=source,
                output_uri=target,
                table_name=table,
                max_error_rate=rate,
                explain=top,
                every_seconds=None if period is None else int(period.total_seconds()),
                next_run_at=None if period is None else first,
                created_by=self.principal.name,
            )
            _own_rule(tx, dep, job, self.principal.name)
            tx.audit.append(
                actor=self.principal.name,
                action="job.created",
                subject=_subject(job),
                after=Codec().encode(job),
            )
        return job

    def list_jobs(self, *, deployment: str | None = None) -> list[BatchJob]:
        with self.store.read() as tx:
            dep = None if deployment is None else deployment_id(tx, deployment)
            found = tx.jobs.all(dep)
        return [j for j in found if self.principal.can(Permission.READ, j.environment)]

    def get_job(self, name: str) -> BatchJob:
        with self.store.read() as tx:
            job = _find(tx, name)
        require(self.principal, Permission.READ, job.environment)
        return job

    def list_job_runs(self, name: str, *, limit: int = 20) -> list[JobRun]:
        """A job's runs, newest first."""
        with self.store.read() as tx:
            job = _find(tx, name)
            require(self.principal, Permission.READ, job.environment)
            return tx.jobs.runs(job, max(1, min(limit, 1000)))

    def delete_job(self, name: str) -> BatchJob:
        """The job, its runs and its alert rule (outputs and dataset versions stay)."""
        with self.store.write() as tx:
            job = _find(tx, name)
            require(self.principal, Permission.DEPLOY, job.environment)
            rule = tx.alerts.find_rule(deployment_id(tx, job.deployment), job_rule_name(name))
            if rule is not None:
                tx.alerts.delete_rule(rule.id)
            tx.jobs.delete(job.id)
            tx.audit.append(
                actor=self.principal.name,
                action="job.deleted",
                subject=_subject(job),
                before=Codec().encode(job),
            )
        return job

    # -- running --------------------------------------------------------------------------
    def run_job(self, name: str, *, now: datetime | None = None) -> JobRun:
        """Run the job now (its schedule is unchanged); the run, succeeded or failed."""
        with self.store.read() as tx:
            job = _find(tx, name)
        require(self.principal, Permission.DEPLOY, job.environment)
        return self._run(job, "manual", now or datetime.now(UTC))

    def run_due(self, now: datetime | None = None) -> list[JobRun]:
        """Run every job whose time has come (the scheduler's tick), one after another."""
        now = now or datetime.now(UTC)
        with self.store.read() as tx:
            due = tx.jobs.due(now)
        runs = []
        for planned in due:
            with self.store.write() as tx:
                claimed = tx.jobs.claim(planned, now)
                job = tx.jobs.get(planned.job_id) if claimed else None
            if job is not None:  # else another worker took this run
                runs.append(self._run(job, "schedule", now))
        return runs

    def _run(self, job: BatchJob, trigger: str, now: datetime) -> JobRun:
        """Run ``job`` as of ``now`` (its rows are collected at that time; it finishes as
        long after ``now`` as it took)."""
        with self.store.write() as tx:
            run = tx.jobs.start_run(job, trigger, now)
        started = time.monotonic()
        try:
            done = dataclasses.asdict(execute(job, run, now, self.runner, self.places))
            error = None
        except JobFailed as e:
            done, error = {}, str(e)
        finished = now + timedelta(seconds=time.monotonic() - started)
        return self._finish(job, run, finished, done=done, error=error)

    def _finish(
        self,
        job: BatchJob,
        run: JobRun,
        now: datetime,
        *,
        done: dict[str, object],
        error: str | None,
    ) -> JobRun:
        with self.store.write() as tx:
            tx.jobs.finish_run(
                run.id,
                state="failed" if error else "succeeded",
                finished_at=now,
                error=error,
                **done,
            )
            finished = tx.jobs.run(job.name, run.id)
            tx.audit.append(
                actor=self.principal.name,
                action="job.run",
                subject=_subject(job),
                after=Codec().encode(finished),
            )
            _alert(tx, job, finished, now)
        if error:
            log.warning("run %d of batch job %s failed: %s", run.number, job.name, error)
        return finished


def _find(tx: Tx, name: str) -> BatchJob:
    found = tx.jobs.find(name)
    if found is None:
        raise NotFound(f"job {name!r} does not exist")
    return found


def _subject(job: BatchJob) -> str:
    return f"job:{job.environment}/{job.name}"


def _own_rule(tx: Tx, deployment: int, job: BatchJob, actor: str) -> None:
    """The alert rule a job's failed runs fire under (never evaluated by a scheduler)."""
    tx.alerts.add_rule(
        deployment_id=deployment,
        name=job_rule_name(job.name),
        signal=JOB_FAILED,
        feature=None,
        op=">",
        threshold=0.0,
        window_seconds=job.every_seconds or 86400,
        every_seconds=job.every_seconds or 86400,
        actor=actor,
        next_run_at=NEVER,
    )


def _alert(tx: Tx, job: BatchJob, run: JobRun, now: datetime) -> None:
    """A failed run opens the job's alert (once); a successful one resolves it."""
    rule = tx.alerts.find_rule(deployment_id(tx, job.deployment), job_rule_name(job.name))
    if rule is None:
        return
    failed = run.state == "failed"
    message = f"{job.deployment}: run {run.number} of batch job {job.name} failed: {run.error}"
    change_alert(tx, rule, failed, float(failed), message, now, job_run=run.number)
